//! Redaction throughput over the predecessor corpus (`../shared/fixtures/sglang-ci-log`, or
//! `SGLCI_CORPUS`), side by side with the byte clean-up every parser already does
//! (`text::clean`), in alternating rounds; prints the medians and their ratio for
//! BENCHMARKS.md. `cargo bench -p sglci-core --bench redact`.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark prints its figures for BENCHMARKS.md"
)]

use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = std::env::var_os("SGLCI_CORPUS").map_or_else(
        || {
            std::path::PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/fixtures/sglang-ci-log"
            ))
        },
        std::path::PathBuf::from,
    );
    let Ok(files) = sglci_core::backend::files_under(&dir) else {
        println!("skipped: no corpus at {} (set SGLCI_CORPUS)", dir.display());
        return;
    };
    let mb = files.iter().map(|(_, b)| b.len()).sum::<usize>() as f64 / 1e6;
    let (mut clean, mut redact) = (Vec::new(), Vec::new());
    let mut changed = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let n: usize = files
            .iter()
            .map(|(_, b)| sglci_core::text::clean(b).len())
            .sum();
        clean.push(t.elapsed().as_secs_f64());
        std::hint::black_box(n);
        let t = Instant::now();
        changed = files
            .iter()
            .filter(|(_, b)| {
                matches!(
                    sglci_core::redact::redact_bytes(b),
                    std::borrow::Cow::Owned(_)
                )
            })
            .count();
        redact.push(t.elapsed().as_secs_f64());
    }
    let (c, r) = (median(clean), median(redact));
    println!(
        "corpus: {} files, {mb:.1} MB; 5 alternating rounds, one thread, medians:",
        files.len()
    );
    println!("| text::clean | {c:.2} s | {:.0} MB/s |", mb / c);
    println!("| redact::redact_bytes | {r:.2} s | {:.0} MB/s |", mb / r);
    println!(
        "redaction / clean-up time: {:.1}x; files changed by redaction: {changed}",
        r / c
    );
}
