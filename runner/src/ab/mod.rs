//! `sglci-runner ab`: interleaved A/B on one host (F20). Every job of the suite runs on every
//! image, round by round in alternating order ([`stats::schedule`]); each (round, image) is a
//! whole `run` (its server restarted, its own run folder and bundle). The measurements become
//! the comparison record ([`sglci_core::ab::AbRecord`]: paired verdicts per series and
//! candidate), written as `ab_log/<hw>/<ab id>/comparison.json` with its markdown beside it,
//! and shipped as a bundle of its own for the publisher's compare page. Prints the markdown
//! (the PR comment) or the record.

pub mod stats;

use std::path::PathBuf;

use sglci_core::ab::{candidate_verdict, AbImage, AbRecord, AB_FILE, AB_SCHEMA};

use crate::cli::{CliAb, CliReportFormat, CliRun};
use crate::error::RunnerError;
use crate::host::{hostname, say};
use crate::ship::{self, RunInfo, Shipped};

/// The most images one comparison takes (each costs a full run per round).
const MAX_IMAGES: usize = 8;

/// Runs the comparison `args` describes.
pub fn ab(args: &CliAb) -> Result<String, RunnerError> {
    let images: Vec<&str> = std::iter::once(args.baseline.as_str())
        .chain(args.candidates.iter().map(String::as_str))
        .collect();
    check(args, images.len())?;
    let suites = suites_of(args)?;
    let now = sglci_core::clock::unix_now();
    let ab_id = match &args.ab_id {
        Some(id) => id.clone(),
        None => format!(
            "ab-{}-{}-{}",
            args.suite.replace(['/', '.'], "-"),
            sglci_core::date::utc_stamp(now).replace('_', "-"),
            std::process::id()
        ),
    };
    let ab_id = ab_id
        .parse::<sglci_core::RunId>()
        .map_err(|e| RunnerError::config("--ab-id", e))?
        .to_string();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("sglci-ab"))
        .join(&ab_id);
    let mut runs: Vec<Vec<String>> = vec![vec![String::new(); args.rounds as usize]; images.len()];
    let mut identities = vec![None; images.len()];
    let mut measures = Vec::new();
    let mut failed = Vec::new();
    let mut hardware = args.hardware.clone();
    for (round, i) in stats::schedule(images.len(), args.rounds) {
        let letter = stats::letter(i);
        say(&format!(
            "A/B {ab_id}: round {} of {}, {letter} = {}",
            round + 1,
            args.rounds,
            images[i]
        ));
        let run_args = round_args(
            args,
            &suites[i],
            images[i],
            &format!("{ab_id}-r{round}-{letter}"),
            &out.join(format!("r{round}-{letter}")),
            hardware.clone(),
        );
        let report = crate::run::run_report(&run_args)?;
        if let Some(e) = &report.error {
            failed.push(format!("round {} {letter}: {e}", round + 1));
        }
        if let Some(id) = &report.image {
            hardware.get_or_insert_with(|| {
                id.label
                    .parse::<sglci_core::ImageTag>()
                    .map(|t| t.hardware().to_string())
                    .unwrap_or_default()
            });
            identities[i].get_or_insert_with(|| id.clone());
        }
        measures.extend(stats::measures_of(round, i, &report.jobs));
        runs[i][round as usize] = report.run_id;
    }
    let hardware = hardware.unwrap_or_default();
    let series = stats::series(
        &measures,
        images.len(),
        args.rounds,
        args.min_change / 100.0,
    );
    let images: Vec<AbImage> = images
        .iter()
        .enumerate()
        .map(|(i, reference)| AbImage {
            letter: stats::letter(i),
            reference: identities[i]
                .as_ref()
                .map_or_else(|| (*reference).to_owned(), |id| id.reference.clone()),
            label: identities[i]
                .as_ref()
                .map_or_else(String::new, |id| id.label.clone()),
            digest: identities[i].as_ref().and_then(|id| id.digest.clone()),
            runs: runs[i].clone(),
        })
        .collect();
    let verdicts = images
        .iter()
        .skip(1)
        .map(|img| (img.letter.clone(), candidate_verdict(&series, &img.letter)))
        .collect();
    let mut order = vec![String::new(); args.rounds as usize];
    for (round, i) in stats::schedule(images.len(), args.rounds) {
        order[round as usize].push_str(&stats::letter(i));
    }
    let record = AbRecord {
        schema: AB_SCHEMA,
        ab_id: ab_id.clone(),
        suite: args.suite.clone(),
        hardware: hardware.clone(),
        date: crate::image::pacific_date(now, 0),
        started: sglci_core::date::rfc3339(now),
        ended: sglci_core::date::rfc3339(sglci_core::clock::unix_now()),
        host: hostname(),
        rounds: args.rounds,
        order,
        images,
        series,
        verdicts,
    };
    let shipped = write_and_ship(args, &out, &record)?;
    let text = match args.format {
        CliReportFormat::Markdown => sglci_core::ab::to_markdown(&record),
        CliReportFormat::Json => serde_json::to_string_pretty(&record)
            .map_err(|e| RunnerError::Machine(e.to_string()))?,
    };
    say(&format!(
        "A/B {ab_id}: record {}",
        shipped.as_deref().unwrap_or("not shipped")
    ));
    if failed.is_empty() {
        Ok(text)
    } else {
        #[expect(
            clippy::print_stdout,
            reason = "stdout carries the comparison, also when a round failed"
        )]
        {
            println!("{text}");
        }
        Err(RunnerError::Failed(format!(
            "{} round(s) failed: {}",
            failed.len(),
            failed.join("; ")
        )))
    }
}

/// The comparison's own flags: how many images, rounds and the smallest change named.
fn check(args: &CliAb, images: usize) -> Result<(), RunnerError> {
    if images > MAX_IMAGES {
        return Err(RunnerError::config(
            "--candidate",
            format!("at most {} candidates", MAX_IMAGES - 1),
        ));
    }
    if !(1..=20).contains(&args.rounds) {
        return Err(RunnerError::config("--rounds", "1 to 20 rounds"));
    }
    if !(args.min_change.is_finite() && (0.0..100.0).contains(&args.min_change)) {
        return Err(RunnerError::config(
            "--min-change",
            format!(
                "{} is not a percentage from 0 to 100 (hint: 3 is the default; 10 suits a shared VM)",
                args.min_change
            ),
        ));
    }
    Ok(())
}

/// The suite each image runs: `--suite` for the baseline; for the candidates `--candidate-suite`
/// (one for all, or one per candidate), else `--suite`.
fn suites_of(args: &CliAb) -> Result<Vec<String>, RunnerError> {
    let n = args.candidates.len();
    let candidates: Vec<String> = match args.candidate_suites.as_slice() {
        [] => vec![args.suite.clone(); n],
        [one] => vec![one.clone(); n],
        many if many.len() == n => many.to_vec(),
        many => {
            return Err(RunnerError::config(
                "--candidate-suite",
                format!(
                    "{} given for {n} candidates (hint: one for all, or one per candidate)",
                    many.len()
                ),
            ))
        }
    };
    Ok(std::iter::once(args.suite.clone())
        .chain(candidates)
        .collect())
}

/// One round of one image as a `run`.
fn round_args(
    args: &CliAb,
    suite: &str,
    image: &str,
    run_id: &str,
    out: &std::path::Path,
    hardware: Option<String>,
) -> CliRun {
    CliRun {
        suite: suite.to_owned(),
        hardware,
        image: Some(image.to_owned()),
        run_id: Some(run_id.to_owned()),
        out: Some(out.to_owned()),
        job: args.job.clone(),
        tailor: args.tailor.clone(),
        nodes: crate::cli::CliNodes::default(),
        resume: false,
        no_ship: args.no_ship,
        engine: args.engine,
        devices: args.devices.clone(),
        gpus: args.gpus.clone(),
        mounts: args.mounts.clone(),
        date: None,
        hub_url: String::new(),
        gpu_wait: args.gpu_wait,
        pull_attempts: args.pull_attempts,
        pull_backoff: args.pull_backoff,
        backends: args.backends.clone(),
    }
}

/// The record and its markdown under `ab_log/<hw>/<ab id>/`, shipped as the comparison's own
/// bundle (unless `--no-ship`). Returns the manifest key when delivered.
fn write_and_ship(
    args: &CliAb,
    out: &std::path::Path,
    record: &AbRecord,
) -> Result<Option<String>, RunnerError> {
    let folder = format!("ab_log/{}/{}", record.hardware, record.ab_id);
    let json =
        serde_json::to_vec_pretty(record).map_err(|e| RunnerError::Machine(e.to_string()))?;
    let md = sglci_core::ab::to_markdown(record).into_bytes();
    let files = vec![
        (format!("{folder}/{AB_FILE}"), json),
        (format!("{folder}/comparison.md"), md),
    ];
    for (path, bytes) in &files {
        let p = out.join(path);
        let io = |e: std::io::Error| RunnerError::Machine(format!("{}: {e}", p.display()));
        std::fs::create_dir_all(p.parent().unwrap_or(out)).map_err(io)?;
        std::fs::write(&p, bytes).map_err(io)?;
    }
    if args.no_ship {
        return Ok(None);
    }
    let (store, queue) = crate::destination::open(&args.backends)?;
    let info = RunInfo {
        run_id: record.ab_id.clone(),
        hardware: record.hardware.clone(),
        date: record.date.clone(),
        image: record
            .images
            .first()
            .map_or_else(String::new, |i| i.label.clone()),
        suite: format!("ab:{}", record.suite),
        record: None,
    };
    match ship::ship(
        store.as_ref(),
        queue.as_ref(),
        &args.backends.spool,
        &info,
        &files,
    )? {
        Shipped::Delivered { manifest } => Ok(Some(manifest.as_str().to_owned())),
        Shipped::Spooled { manifest, reason } => Err(RunnerError::Machine(format!(
            "{manifest}: not delivered ({reason}); kept in {} (hint: `sglci-runner flush`)",
            args.backends.spool.display()
        ))),
    }
}
