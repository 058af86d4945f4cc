//! The workflows call the binaries with flags that exist and offer only suites and hardware the
//! runner knows: a renamed flag breaks this test, not the nightly.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn workflows() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("workflows/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).expect("read"),
            )
        })
        .collect();
    out.sort();
    out
}

/// `(binary, subcommand, flags)` for every invocation, with `\` continuations joined.
fn invocations(text: &str) -> Vec<(String, String, BTreeSet<String>)> {
    let joined = text.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        for bin in ["sglci-runner", "sglci-publisher"] {
            let needle = format!("/release/{bin}\"");
            let Some(at) = line.find(&needle) else {
                continue;
            };
            let words: Vec<&str> = line[at + needle.len()..].split_whitespace().collect();
            // Global options (`--store history`) may come before the subcommand.
            let mut i = 0;
            while words.get(i).is_some_and(|w| w.starts_with("--")) {
                i += 2;
            }
            let Some(sub) = words.get(i) else { continue };
            let flags = words
                .iter()
                .filter_map(|w| {
                    let w = w
                        .trim_start_matches("${JOB:+")
                        .trim_start_matches("${SGLCI_MODEL_MOUNT:+");
                    w.starts_with("--")
                        .then(|| w.split('=').next().unwrap_or(w).to_owned())
                })
                .collect();
            out.push((bin.to_owned(), (*sub).to_owned(), flags));
        }
    }
    out
}

fn help(bin: &str, sub: &str) -> String {
    let exe = match bin {
        "sglci-runner" => env!("CARGO_BIN_EXE_sglci-runner").to_owned(),
        _ => {
            // The publisher is built next to the runner in the same target directory.
            let dir = Path::new(env!("CARGO_BIN_EXE_sglci-runner"))
                .parent()
                .expect("dir")
                .to_owned();
            let p = dir.join("sglci-publisher");
            if !p.exists() {
                let ok = Command::new(env!("CARGO"))
                    .args([
                        "build",
                        "-q",
                        "-p",
                        "sglci-publisher",
                        "--bin",
                        "sglci-publisher",
                    ])
                    .status()
                    .expect("cargo build");
                assert!(ok.success());
            }
            p.display().to_string()
        }
    };
    let out = Command::new(&exe)
        .args([sub, "--help"])
        .output()
        .expect("help");
    assert!(
        out.status.success(),
        "{bin} {sub} --help failed: is `{sub}` a subcommand?"
    );
    let top = Command::new(&exe).arg("--help").output().expect("help");
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&top.stdout)
    )
}

#[test]
fn workflows_use_flags_the_binaries_have() {
    let mut checked = 0;
    for (name, text) in workflows() {
        for (bin, sub, flags) in invocations(&text) {
            let h = help(&bin, &sub);
            for f in flags {
                assert!(
                    h.contains(&format!("{f} ")) || h.contains(&format!("{f}\n")) || h.contains(&format!("{f} <")),
                    "workflows/{name}: `{bin} {sub}` has no `{f}` (hint: the flag was renamed; update the workflow)"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} flags found: the parser missed the invocations"
    );
}

/// The choices a workflow offers for `suite` and `hardware` inputs.
fn choices(text: &str, input: &str) -> Vec<String> {
    let Some(at) = text.find(&format!("\n      {input}:\n")) else {
        return Vec::new();
    };
    let block = &text[at..];
    let Some(opts) = block.find("options:") else {
        return Vec::new();
    };
    block[opts..]
        .lines()
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| {
            l.trim()
                .trim_start_matches("- ")
                .trim_matches('"')
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn dispatch_inputs_offer_real_suites_and_hardware() {
    let suites: BTreeSet<&str> = sglci_runner::suites::BUNDLED
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let mut seen = 0;
    for (name, text) in workflows() {
        for s in choices(&text, "suite") {
            assert!(
                suites.contains(s.as_str()),
                "workflows/{name}: suite `{s}` is not a bundled suite"
            );
            seen += 1;
        }
        for h in choices(&text, "hardware") {
            assert!(
                sglci_runner::suite::HARDWARE.contains(&h.as_str()),
                "workflows/{name}: hardware `{h}`"
            );
            seen += 1;
        }
    }
    assert!(seen >= 8, "{seen}");
    // The nightly's default suites are bundled too.
    let nightly = workflows()
        .into_iter()
        .find(|(n, _)| n == "nightly.yml")
        .expect("nightly")
        .1;
    let line = nightly
        .lines()
        .find(|l| l.contains("suites=\"${SUITE:-"))
        .expect("default suites");
    let defaults = line
        .split(":-")
        .nth(1)
        .expect("defaults")
        .trim_end_matches("}\"");
    for s in defaults.split_whitespace() {
        assert!(suites.contains(s), "nightly default suite `{s}`");
    }
}

/// The `run: |` block of the step named `step`, dedented.
fn step_script(text: &str, step: &str) -> String {
    let at = text
        .find(&format!("- name: {step}\n"))
        .unwrap_or_else(|| panic!("no step `{step}`"));
    let block = &text[at..];
    let run = block.find("run: |\n").expect("a run block") + "run: |\n".len();
    let lines: Vec<&str> = block[run..]
        .lines()
        .take_while(|l| l.trim().is_empty() || l.starts_with("          "))
        .collect();
    lines
        .iter()
        .map(|l| l.get(10..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// F20's PR flow: a `/sglci ab …` comment starts the A/B only for users with write access, the
/// self-hosted job never checks out the PR, the comment reaches the shell only through the
/// environment, and the parse step (run here, as the workflow runs it) accepts the documented
/// form and refuses anything else.
#[test]
fn the_pr_comment_trigger_is_guarded_and_parsed_safely() {
    let text = workflows()
        .into_iter()
        .find(|(n, _)| n == "pr-compare.yml")
        .expect("pr-compare")
        .1;
    assert!(text.contains("  issue_comment:\n    types: [created]"));
    let guard = text
        .split("  request:\n")
        .nth(1)
        .and_then(|t| t.split("runs-on:").next())
        .expect("the request job's condition");
    for must in [
        "github.event.issue.pull_request",
        "startsWith(github.event.comment.body, '/sglci ab ')",
        r#"contains(fromJSON('["OWNER", "MEMBER", "COLLABORATOR"]'), github.event.comment.author_association)"#,
    ] {
        assert!(guard.contains(must), "the guard lacks {must}");
    }
    assert!(text.contains("ref: ${{ github.event.repository.default_branch }}"));
    assert!(
        !text.contains("github.event.pull_request.head"),
        "never the PR's code"
    );
    // The comment only ever appears as an environment value.
    for (i, line) in text.lines().enumerate() {
        if line.contains("github.event.comment.body") {
            assert!(
                line.trim_start().starts_with("COMMENT:") || line.contains("startsWith("),
                "line {}: the comment body is interpolated: {line}",
                i + 1
            );
        }
    }
    let script = step_script(&text, "Parse the request");
    let parse = |comment: &str| -> Result<std::collections::BTreeMap<String, String>, String> {
        let out_file = tempfile::NamedTempFile::new().expect("tmp");
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("EVENT", "issue_comment")
            .env("COMMENT", comment)
            .env("ISSUE", "1234")
            .env("DEFAULT_HARDWARE", "mi30x")
            .env("GITHUB_OUTPUT", out_file.path())
            .output()
            .expect("bash");
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        Ok(std::fs::read_to_string(out_file.path())
            .expect("outputs")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    };
    let o = parse("/sglci ab lmsysorg/sglang:v0.5.6-cu129-amd64\nthanks!").expect("minimal");
    assert_eq!(o["candidate"], "lmsysorg/sglang:v0.5.6-cu129-amd64");
    assert_eq!(
        (o["baseline"].as_str(), o["suite"].as_str()),
        ("", "grok-online")
    );
    assert_eq!(
        (
            o["pr"].as_str(),
            o["hardware"].as_str(),
            o["rounds"].as_str()
        ),
        ("1234", "mi30x", "3")
    );
    let digest = format!("rocm/sgl-dev@sha256:{}", "ab".repeat(32));
    let o = parse(&format!(
        "/sglci ab me/sglang:pr-1 {digest} deepseek-online"
    ))
    .expect("full");
    assert_eq!(o["baseline"], digest);
    assert_eq!(o["suite"], "deepseek-online");
    for hostile in [
        "/sglci ab img;touch${IFS}/tmp/x",
        "/sglci ab $(id)",
        "/sglci ab `id`",
        "/sglci ab a b c d",
        "/sglci ab",
        "/sglci ab me/x:1 me/y:2 Bad_Suite",
        "/sglci abc me/x:1",
    ] {
        let err = parse(hostile).expect_err(hostile);
        assert!(err.contains("::error::"), "{hostile}: {err}");
    }
}
