//! The site in a real browser: headless Chromium driven by playwright-core (Node), against the
//! site rendered from the sample history and served by `serve` on loopback.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium` or `$CHROMIUM`) and playwright-core
//! (`$SGLCI_NODE_MODULES`, default `~/.cache/sglci-node/node_modules`); `.ci/run` installs them
//! and sets `SGLCI_REQUIRE_BROWSER=1`, which turns their absence into a failure instead of a skip.

#![allow(
    clippy::print_stderr,
    reason = "a skipped test says so on the terminal"
)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use sglci_publisher::app;
use sglci_publisher::serve::{serve, ServeConfig};
use sglci_publisher::site::templates::Templates;
use sglci_publisher::site::SiteOptions;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/legacy")
}

fn tools() -> Result<(PathBuf, PathBuf), String> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.is_file() {
        return Err(format!("no Chromium at {}", chromium.display()));
    }
    let modules = std::env::var_os("SGLCI_NODE_MODULES")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/sglci-node/node_modules"))
        })
        .ok_or("no HOME")?;
    if !modules.join("playwright-core").is_dir() {
        return Err(format!("no playwright-core in {}", modules.display()));
    }
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node_ok {
        return Err("no node on PATH".to_owned());
    }
    Ok((chromium, modules))
}

/// Distinct colours in a PNG: a blank or broken page has very few.
fn distinct_colours(file: &Path) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(file).expect("screenshot"),
    ));
    let mut reader = decoder.read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("frame");
    let step = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(step)
        .map(|c| (c[0], c[1], c[2]))
        .collect::<HashSet<_>>()
        .len()
}

#[test]
fn pages_load_cleanly_and_charts_respond() {
    let (chromium, modules) = match tools() {
        Ok(t) => t,
        Err(why) => {
            assert!(
                std::env::var("SGLCI_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "browser test required but {why} (hint: run .ci/run, which installs chromium and playwright-core)"
            );
            eprintln!("SKIPPED browser test: {why}");
            return;
        }
    };
    let work = tempfile::tempdir().expect("tmp");
    let store = work.path().join("store");
    app::ingest_legacy(&sglci_core::backend::DirStore::new(&store), &samples())
        .expect("ingest samples");
    let opts = SiteOptions {
        generated_at: "2026-01-01 00:00 UTC".to_owned(),
        ..SiteOptions::default()
    };
    let site = app::render_full(
        &sglci_core::backend::DirStore::new(&store),
        &Templates::embedded().expect("templates"),
        &opts,
    )
    .expect("site");
    let out = work.path().join("site");
    app::write_site(&out, &site, true).expect("write site");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let cfg = ServeConfig {
        site: out.clone(),
        logs: vec![samples()],
    };
    std::thread::spawn(move || serve(listener, cfg));

    // The script imports playwright-core from a node_modules beside it.
    let driver = work.path().join("driver");
    std::fs::create_dir_all(&driver).expect("mkdir");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check_site.mjs"),
        driver.join("check_site.mjs"),
    )
    .expect("copy script");
    std::os::unix::fs::symlink(&modules, driver.join("node_modules")).expect("symlink");
    let shots = std::env::var_os("SGLCI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().join("shots"));
    let result = Command::new("node")
        .arg(driver.join("check_site.mjs"))
        .arg(format!("http://127.0.0.1:{port}/"))
        .arg(&out)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "browser check failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("{}")).expect("JSON report");
    let pages = report["pages"].as_u64().unwrap_or(0);
    let html = site.keys().filter(|k| k.ends_with(".html")).count() as u64;
    assert_eq!(pages, html, "every page was loaded");
    assert!(report["tooltip"]
        .as_str()
        .is_some_and(|t| t.contains("v0.") && t.contains("20")));
    assert!(
        report["staticPlots"].as_u64().unwrap_or(0) >= 3,
        "static plots without JavaScript"
    );
    assert!(
        report["abVerdicts"][0]
            .as_str()
            .is_some_and(|v| v.starts_with("B:")),
        "the A/B page shows the candidate's verdict: {report}"
    );
    for name in ["home", "model", "run", "model-hover", "model-nojs", "ab"] {
        let file = shots.join(format!("{name}.png"));
        let colours = distinct_colours(&file);
        assert!(
            colours > 40,
            "{name} screenshot looks blank: {colours} colours"
        );
    }
    let model = &report["shots"][1];
    assert!(model["charts"].as_u64().unwrap_or(0) >= 3, "{model}");
    assert!(model["points"].as_u64().unwrap_or(0) >= 10, "{model}");
}
