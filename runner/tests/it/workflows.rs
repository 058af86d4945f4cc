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
