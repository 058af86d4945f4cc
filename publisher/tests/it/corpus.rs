//! Corpus test over the whole predecessor slice in `../shared/fixtures/sglang-ci-log/`
//! (set `SGLCI_CORPUS` to point elsewhere). When the folder is absent the test says so and
//! passes without checking anything.

#![allow(
    clippy::print_stderr,
    reason = "the corpus test reports what it checked and skipped on stderr"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use sglci_core::records::Metric;
use sglci_publisher::legacy::{self, parse_file::Parsed};

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("SGLCI_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/sglang-ci-log")
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: corpus folder {} is absent; the corpus test checked nothing",
            dir.display()
        );
        None
    }
}

#[test]
fn whole_corpus() {
    let Some(dir) = corpus() else { return };
    let files = legacy::scan(&dir).expect("scan");
    let all = legacy::list_files(&dir).expect("list").files;
    let b = legacy::build(&files);

    // No panic got us here. Every file is interpreted or quarantined with a reason.
    assert_eq!(files.len(), all.len());
    for f in &files {
        if let Err(reason) = &f.outcome {
            assert!(!reason.is_empty(), "{} quarantined without a reason", f.rel);
            assert!(
                b.rows.quarantine.iter().any(|q| q.file == f.rel),
                "{} quarantined but not listed",
                f.rel
            );
        }
    }
    let quarantined = files.iter().filter(|f| f.outcome.is_err()).count();
    assert_eq!(quarantined, b.rows.quarantine.len());
    // Only empty files and the `.gitkeep` placeholder are quarantined in this slice.
    for q in &b.rows.quarantine {
        assert!(
            q.bytes == 0 || q.file.ends_with(".gitkeep"),
            "unexpected quarantine: {q:?}"
        );
    }

    // The predecessor's CSVs are the oracle: every non-empty cell equals the best-of-runs value
    // derived from the client logs.
    let mut cells = 0;
    let mut checked = 0;
    let mut without_log = Vec::new();
    let mut mismatches = Vec::new();
    for f in &files {
        let Ok(Parsed::OnlineCsv(csv)) = &f.outcome else {
            continue;
        };
        let run_dir = f.rel.rsplit_once('/').map(|(d, _)| d).expect("in a folder");
        for cell in csv.rows.iter().filter(|r| r.value.is_some()) {
            cells += 1;
            let row = b
                .rows
                .serving
                .iter()
                .find(|s| s.run_dir == run_dir && s.load == i64::from(cell.load));
            let Some(row) = row.filter(|r| r.source == "client_log") else {
                without_log.push(format!("{run_dir} load {} {:?}", cell.load, cell.metric));
                continue;
            };
            let ours = match cell.metric {
                Metric::E2e => row.e2e_ms,
                Metric::Ttft => row.ttft_ms,
                Metric::Itl => row.itl_ms,
            };
            checked += 1;
            if ours != cell.value {
                mismatches.push(format!(
                    "{run_dir} load {} {:?}: csv {:?} ours {:?}",
                    cell.load, cell.metric, cell.value, ours
                ));
            }
        }
    }
    eprintln!("CSV cells: {cells}, checked against client logs: {checked}, without a client log result: {}", without_log.len());
    for w in &without_log {
        eprintln!("  no client log: {w}");
    }
    assert!(
        mismatches.is_empty(),
        "{} CSV cells differ from the client logs:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(checked > 0);

    // Counts per hardware and model.
    let mut runs: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in b.rows.runs.iter().filter(|r| r.kind == "online") {
        *runs
            .entry((r.hardware.clone(), r.model.clone().unwrap_or_default()))
            .or_default() += 1;
    }
    let mut loads: BTreeMap<(String, String), usize> = BTreeMap::new();
    for s in b.rows.serving.iter().filter(|s| s.e2e_ms.is_some()) {
        *loads
            .entry((s.hardware.clone(), s.model.clone()))
            .or_default() += 1;
    }
    let mut trials: BTreeMap<(String, String), usize> = BTreeMap::new();
    for t in &b.rows.sanity {
        *trials
            .entry((t.hardware.clone(), t.model.clone()))
            .or_default() += 1;
    }
    let fmt = |m: &BTreeMap<(String, String), usize>| {
        m.iter()
            .map(|((h, n), c)| format!("{h} {n}: {c}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!("online_runs_per_hw_model", fmt(&runs));
    insta::assert_snapshot!("loads_with_result_per_hw_model", fmt(&loads));
    insta::assert_snapshot!("sanity_trials_per_hw_model", fmt(&trials));
    let kinds = b
        .kinds
        .iter()
        .map(|(k, (ok, bad))| format!("{k}: {ok} interpreted, {bad} quarantined"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("files_per_kind", kinds);
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for t in &b.rows.tasks {
        *states
            .entry(format!("{} {}", t.task, t.status.as_str()))
            .or_default() += 1;
    }
    insta::assert_snapshot!(
        "task_states",
        states
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
