//! `sglci-runner` end to end: help on every subcommand, tag validation, parsing a result file.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sglci-runner"))
}

#[test]
fn help_on_every_subcommand() {
    for args in [
        vec!["--help"],
        vec!["tag", "--help"],
        vec!["parse", "--help"],
    ] {
        let out = bin().args(&args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: sglci-runner"));
    }
}

#[test]
fn tag_validates() {
    let out = bin()
        .args(["tag", "rocm/sgl-dev:v0.5.6.post2-rocm700-mi35x-20251219"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["hardware"], "mi35x");
    assert_eq!(v["date"], "20251219");
    let out = bin()
        .args(["tag", "latest"])
        .env("RUNNER_LOG", "error")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid image tag"));
}

#[test]
fn parses_a_client_log() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/tests/data/client_log/grok_tpot_peak_metrics.log"
    );
    let out = bin()
        .args(["parse", "--kind", "client-log", file])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["result"]["median_e2e_ms"], 36489.7);
    let out = bin()
        .args(["parse", "--kind", "gsm8k", "/nonexistent"])
        .env("RUNNER_LOG", "error")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
}
