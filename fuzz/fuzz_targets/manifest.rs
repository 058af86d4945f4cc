//! A bundle manifest as the publisher reads it (`sglci_core::bundle::fetch_within`): the bytes
//! are stored as a run's manifest beside one file, then decoded and verified against small
//! limits. Never a panic; a manifest that passes names only files within the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sglci_core::bundle::{fetch_within, BundleLimits};
use sglci_core::store::{Key, MemoryStore, ObjectStore};

fuzz_target!(|data: &[u8]| {
    let store = MemoryStore::default();
    let Ok(key) = Key::new("runs/mi30x/20251210/r1/manifest.json") else {
        return;
    };
    let _ = store.put(&key, data);
    if let Ok(file) = Key::new("runs/mi30x/20251210/r1/files/a.log") {
        let _ = store.put(&file, b"hello\n");
    }
    let limits = BundleLimits {
        max_file_bytes: 1 << 16,
        max_total_bytes: 1 << 18,
        max_files: 64,
    };
    if let Ok((m, files)) = fetch_within(&store, &key, &limits) {
        assert!(files.len() <= limits.max_files);
        assert!(m.files.iter().all(|f| f.bytes <= limits.max_file_bytes));
    }
});
