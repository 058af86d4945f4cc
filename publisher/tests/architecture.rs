//! Tidy checks of the invariants in ARCHITECTURE.md: the pure core does no I/O and reads no
//! clock (outside its `backend/` shell); polars stays inside the history modules.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").filter_map(Result::ok) {
        let p = entry.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}

const FORBIDDEN_IN_PURE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "SystemTime::now",
    "Instant::now",
    "tokio::",
    "std::env::var",
];

fn assert_clean(file: &Path, forbidden: &[&str]) {
    let text = std::fs::read_to_string(file).expect("source");
    for f in forbidden {
        assert!(
            !text.contains(f),
            "{} uses `{f}`, which the pure core must not",
            file.display()
        );
    }
}

#[test]
fn core_is_pure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src");
    let files = rust_files(&root);
    assert!(files.len() > 10);
    // `backend/` is the shell side of the store and queue (directory, spool, S3, SQS).
    let shell = root.join("backend");
    for f in files.iter().filter(|f| !f.starts_with(&shell)) {
        assert_clean(f, FORBIDDEN_IN_PURE);
    }
    assert!(files.iter().any(|f| f.starts_with(&shell)));
}

#[test]
fn publisher_pure_modules_do_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for m in [
        "legacy/classify.rs",
        "legacy/parse_file.rs",
        "legacy/build.rs",
        "table.rs",
        "config.rs",
    ] {
        assert_clean(&src.join(m), FORBIDDEN_IN_PURE);
    }
}

#[test]
fn polars_stays_in_the_history_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for f in rust_files(&src) {
        let rel = f
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        if ["table.rs", "history.rs", "app.rs"].contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("source");
        assert!(
            !text.contains("polars::"),
            "{rel} uses polars outside table/history"
        );
    }
}
