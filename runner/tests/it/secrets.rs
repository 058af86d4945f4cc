//! Nothing secret leaves the machine (F15, issue "Hardening"): the planted forms of
//! `core/tests/secret-forms.txt` (values made at run time) go into a run's server, client and
//! GSM8K logs, an environment dump, a results file and a file name; the run is shipped by the
//! real `sglci-runner ship`, ingested, rendered as a site and as markdown, notified to `dir:`,
//! exported and published to bare git repositories; no byte of any output holds a value.

use std::path::{Path, PathBuf};

use sglci_core::backend::{DirStore, SpoolQueue};
use sglci_core::store::ObjectStore;
use sglci_publisher::app;

const FOLDER: &str = "v0.5.6.post1-rocm700-mi30x-20251210_GROK1_MOE-I4F8_online";
const IMAGE: &str = "v0.5.6.post1-rocm700-mi30x-20251210";

/// The sample run with the forms planted in six places; returns the run root.
fn planted_run(root: &Path, forms: &[(String, String, Vec<String>)]) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/legacy/online_benchmark_log/mi30x/GROK1")
        .join(FOLDER);
    let run = root.join("run");
    let dir = run.join("online_benchmark_log/mi30x/GROK1").join(FOLDER);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for e in std::fs::read_dir(&src).expect("sample") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, dir.join(p.file_name().expect("name"))).expect("copy");
    }
    let client = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().contains("_aiter_1_run1"))
        .expect("a client log");
    let gsm8k = dir.join("sglang_client_log_GROK1_gsm8k_aiter.log");
    let places: [(PathBuf, bool); 5] = [
        (dir.join("sglang_server_log_GROK1.log"), false),
        (client, true),
        (gsm8k, true),
        (dir.join("environment.txt"), false),
        (dir.join("results.jsonl"), false),
    ];
    for (i, (path, prepend)) in places.iter().enumerate() {
        let lines: String = forms
            .iter()
            .skip(i)
            .step_by(places.len())
            .map(|(_, line, _)| format!("{line}\n"))
            .collect();
        let old = std::fs::read(path).unwrap_or_default();
        let mut bytes = lines.into_bytes();
        if *prepend {
            bytes.extend(old);
        }
        std::fs::write(path, bytes).expect("plant");
    }
    // A file whose name holds a token, and a secret in a file with an unknown extension.
    let (_, token_line, _) = forms
        .iter()
        .find(|(f, _, _)| f == "github-classic")
        .expect("form");
    let token = token_line.split_whitespace().nth(1).expect("token");
    std::fs::write(dir.join(format!("debug_{token}.log")), "debug\n").expect("write");
    std::fs::write(dir.join("launch.cfg"), format!("{}\n", forms[4].1)).expect("write");
    run
}

/// Every file under `dir`, as (path, bytes).
fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    if !dir.exists() {
        return Vec::new();
    }
    sglci_core::backend::files_under(dir).expect("read outputs")
}

/// Every blob and commit message of every branch of a bare repository.
fn git_contents(repo: &Path) -> Vec<(String, Vec<u8>)> {
    let r = git2::Repository::open_bare(repo).expect("open");
    let mut out = Vec::new();
    for b in r.branches(None).expect("branches") {
        let (b, _) = b.expect("branch");
        let commit = b.get().peel_to_commit().expect("commit");
        out.push(("message".into(), commit.message_bytes().to_vec()));
        commit
            .tree()
            .expect("tree")
            .walk(git2::TreeWalkMode::PreOrder, |dir, e| {
                let path = format!("{dir}{}", e.name().unwrap_or(""));
                let bytes = r
                    .find_blob(e.id())
                    .map(|b| b.content().to_vec())
                    .unwrap_or_default();
                out.push((path, bytes));
                git2::TreeWalkResult::Ok
            })
            .expect("walk");
    }
    out
}

#[test]
fn planted_secrets_never_reach_any_output() {
    let forms = sglci_core::redact::planted_forms(0x5eed_f00d);
    assert!(forms.len() >= 30);
    let values: Vec<String> = forms.iter().flat_map(|(_, _, v)| v.clone()).collect();
    let tmp = tempfile::tempdir().expect("tmp");
    let run = planted_run(tmp.path(), &forms);
    let store_dir = tmp.path().join("store");
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();

    // Ship with the real runner binary.
    let ship = std::process::Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
        .arg("ship")
        .arg(&run)
        .args([
            "--run-id",
            "planted",
            "--image",
            IMAGE,
            "--suite",
            "grok-online",
        ])
        .arg("--store")
        .arg(&store_dir)
        .arg("--spool")
        .arg(tmp.path().join("spool"))
        .output()
        .expect("ship");
    assert!(
        ship.status.success(),
        "{}",
        String::from_utf8_lossy(&ship.stderr)
    );
    outputs.push(("ship stdout".into(), ship.stdout));
    outputs.push(("ship stderr".into(), ship.stderr));

    // Ingest with the site kept up to date, then markdown, notifications and exports.
    let store = DirStore::new(&store_dir);
    let templates = sglci_publisher::site::templates::Templates::embedded().expect("templates");
    let site = tmp.path().join("site");
    let job = app::SiteJob {
        target: app::SiteTarget::Dir(site.clone()),
        templates: &templates,
        opts: sglci_publisher::site::SiteOptions {
            png: false,
            ..Default::default()
        },
    };
    let queue = SpoolQueue::new(&store_dir.join("queue"));
    let report =
        app::ingest_pending(&store, &queue, Some(&job), "2025-12-11T06:00:00Z").expect("ingest");
    assert_eq!(report.ingested.len(), 1, "{report:?}");
    outputs.push(("ingest report".into(), format!("{report:?}").into_bytes()));
    let md = app::daily_summary(&store, &templates, "mi30x", None, "logs/").expect("summary");
    outputs.push(("summary".into(), md.into_bytes()));
    let notes = tmp.path().join("notes");
    for what in [
        app::NotifyWhat::Summary {
            hardware: vec!["mi30x".into()],
            date: None,
        },
        app::NotifyWhat::Cards {
            hardware: "mi30x".into(),
            date: None,
        },
        app::NotifyWhat::Regressions,
    ] {
        let receipts = app::notify(
            &store,
            what,
            &format!("dir:{}", notes.display()),
            None,
            "logs/",
            &Default::default(),
            &Default::default(),
        )
        .expect("notify");
        outputs.push(("receipts".into(), receipts.join("\n").into_bytes()));
    }
    for schema in sglci_core::records::ALL_SCHEMAS {
        let mut csv = Vec::new();
        app::export(&store, *schema, app::Format::Csv, &mut csv).expect("export");
        outputs.push((format!("export {}", schema.name), csv));
    }

    // Publish the raw logs and the site to bare repositories.
    let logs_repo = tmp.path().join("logs.git");
    let pages_repo = tmp.path().join("pages.git");
    git2::Repository::init_bare(&logs_repo).expect("bare");
    git2::Repository::init_bare(&pages_repo).expect("bare");
    let logs = app::log_files(&store, &Default::default()).expect("log files");
    assert!(logs.skipped.is_empty(), "{:?}", logs.skipped);
    use sglci_publisher::gitpub::{files_under, push, Dest, Mode};
    push(
        Dest::new(logs_repo.to_str().expect("utf8"), "log", None),
        &logs.files,
        Mode::Append,
        "logs",
    )
    .expect("push logs");
    let site_files = files_under(&site).expect("site");
    push(
        Dest::new(pages_repo.to_str().expect("utf8"), "gh-pages", None),
        &site_files,
        Mode::Replace { keep: 3 },
        "site",
    )
    .expect("push site");

    for dir in [&store_dir, &site, &notes, &tmp.path().join("spool")] {
        outputs.extend(all_files(dir));
    }
    outputs.extend(git_contents(&logs_repo));
    outputs.extend(git_contents(&pages_repo));
    assert!(
        outputs.len() > 100,
        "the outputs were found: {}",
        outputs.len()
    );
    let mut leaks = Vec::new();
    for (name, bytes) in &outputs {
        for v in &values {
            if name.contains(v.as_str()) || memmem(bytes, v.as_bytes()) {
                let family = forms
                    .iter()
                    .find(|(_, _, vs)| vs.contains(v))
                    .map_or("?", |(f, _, _)| f.as_str());
                leaks.push(format!("{family} in {name}"));
            }
        }
    }
    leaks.sort();
    leaks.dedup();
    assert!(
        leaks.is_empty(),
        "secrets reached the outputs:\n{}",
        leaks.join("\n")
    );
    // The run itself still counts: its numbers were ingested.
    let serving = sglci_publisher::history::History::new(&store)
        .read(sglci_core::records::SERVING)
        .expect("serving");
    assert!(!serving.rows.is_empty());
    let _ = store.list("runs/").expect("list");
}

fn memmem(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
