//! Pure: parsed files → history rows. Groups files into runs, applies the best-of-runs rule,
//! and derives task status per (night, hardware, task).

use std::collections::{BTreeMap, BTreeSet};

use sglci_core::efficiency::{EfficiencyInput, OfflineCell};
use sglci_core::failure::FailureClass;
use sglci_core::parse::bench_serving::ClientLog;
use sglci_core::parse::cron::{self, CronLog};
use sglci_core::parse::gsm8k::{FinalKind, Gsm8kLog};
use sglci_core::parse::online_csv::OnlineCsv;
use sglci_core::parse::sanity::{SanitySection, SanityTiming};
use sglci_core::parse::server_log::ServerLog;
use sglci_core::parse::timing::OnlineTiming;
use sglci_core::records::*;
use sglci_core::status::{self, OnlineEvidence, Verdict, TASKS};
use sglci_core::ImageTag;

use super::classify::{FileKind, Place};
use super::parse_file::{FileResult, Parsed};
use crate::rows::Rows;

/// Every table the backfill produces, plus counts for the report.
#[derive(Debug, Default)]
pub struct Backfill {
    /// Every table's rows.
    pub rows: Rows,
    /// Files per kind: (interpreted, quarantined).
    pub kinds: BTreeMap<&'static str, (usize, usize)>,
}

struct OnlineRun<'a> {
    run_dir: &'a str,
    model: &'a str,
    tag: &'a ImageTag,
    variant: &'a str,
    files: Vec<&'a FileResult>,
}

/// One row per (night, hardware, task) candidate with how strong it is.
type TaskKey = (String, String, &'static str);

fn verdict_rank(v: &Verdict) -> u8 {
    v.state.rank()
}

struct TaskCandidate {
    verdict: Verdict,
    docker_tag: Option<String>,
    accuracy: Option<f64>,
    runtime_minutes: Option<f64>,
    source: String,
}

#[derive(Default)]
struct TaskBoard {
    /// Evidence from run folders and result files (decides).
    runs: BTreeMap<TaskKey, Vec<TaskCandidate>>,
    /// Evidence from cron logs (used when no run evidence exists).
    cron: BTreeMap<TaskKey, Vec<TaskCandidate>>,
    /// Nights with a cron folder per hardware.
    cron_days: BTreeSet<(String, String)>,
}

impl TaskBoard {
    fn add_run(&mut self, date: &str, hw: &str, task: &'static str, c: TaskCandidate) {
        self.runs
            .entry((date.to_owned(), hw.to_owned(), task))
            .or_default()
            .push(c);
    }
}

/// Builds every table from the parsed files. Deterministic: rows come out sorted.
pub fn build(files: &[FileResult]) -> Backfill {
    let mut out = Backfill::default();
    for f in files {
        out.rows.files.push(file_row(f));
        let entry = out.kinds.entry(f.kind.as_str()).or_default();
        match &f.outcome {
            Ok(_) => entry.0 += 1,
            Err(reason) => {
                entry.1 += 1;
                out.rows.quarantine.push(QuarantineRow {
                    file: f.rel.clone(),
                    kind: f.kind.as_str().to_owned(),
                    reason: reason.clone(),
                    bytes: f.bytes as i64,
                });
            }
        }
    }
    let mut board = TaskBoard::default();
    online_runs(files, &mut out, &mut board);
    offline_runs(files, &mut out, &mut board);
    sanity_runs(files, &mut out, &mut board);
    pd_runs(files, &mut out, &mut board);
    unit_logs(files, &mut out, &mut board);
    cron_logs(files, &mut out, &mut board);
    upstream(files, &mut out);
    ab_records(files, &mut out);
    trace_rows(files, &mut out);
    out.rows.tasks = task_table(board);
    super::plausible::drop_implausible(&mut out.rows);
    super::plausible::clip_free_text(&mut out.rows);
    sort_all(&mut out);
    out.rows.add_row_years();
    out
}

/// Where a file sits: its run folder, hardware and night, as far as the path says.
fn file_row(f: &FileResult) -> FileRow {
    let (hardware, date) = match (&f.place, f.place.tag()) {
        (_, Some(tag)) => (
            Some(tag.hardware().to_string()),
            Some(tag.date().to_owned()),
        ),
        (Place::Cron { hardware, date, .. }, None) => (Some(hardware.clone()), Some(date.clone())),
        (Place::Upstream { date }, None) => (None, Some(date.clone())),
        _ => (None, None),
    };
    FileRow {
        file: f.rel.clone(),
        kind: f.kind.as_str().to_owned(),
        run_dir: f.place.run_dir().map(str::to_owned),
        hardware,
        date,
        bytes: f.bytes as i64,
        quarantined: f.outcome.is_err(),
    }
}

fn sort_all(out: &mut Backfill) {
    out.rows.files.sort_by(|a, b| a.file.cmp(&b.file));
    out.rows.runs.sort_by(|a, b| {
        (&a.hardware, &a.date, &a.run_dir).cmp(&(&b.hardware, &b.date, &b.run_dir))
    });
    out.rows.serving.sort_by(|a, b| {
        (&a.hardware, &a.model, &a.date, &a.run_dir, a.load).cmp(&(
            &b.hardware,
            &b.model,
            &b.date,
            &b.run_dir,
            b.load,
        ))
    });
    out.rows.accuracy.sort_by(|a, b| {
        (&a.hardware, &a.model, &a.date, &a.run_dir).cmp(&(
            &b.hardware,
            &b.model,
            &b.date,
            &b.run_dir,
        ))
    });
    out.rows.offline.sort_by(|a, b| {
        (
            &a.hardware,
            &a.model,
            &a.date,
            &a.run_dir,
            a.batch_size,
            a.input_len,
        )
            .cmp(&(
                &b.hardware,
                &b.model,
                &b.date,
                &b.run_dir,
                b.batch_size,
                b.input_len,
            ))
    });
    out.rows.sanity.sort_by(|a, b| {
        (&a.hardware, &a.date, &a.run_dir, &a.model, &a.trial).cmp(&(
            &b.hardware,
            &b.date,
            &b.run_dir,
            &b.model,
            &b.trial,
        ))
    });
    out.rows.sanity_models.sort_by(|a, b| {
        (&a.hardware, &a.date, &a.run_dir, &a.model).cmp(&(
            &b.hardware,
            &b.date,
            &b.run_dir,
            &b.model,
        ))
    });
    out.rows.pd.sort_by(|a, b| {
        (&a.hardware, &a.date, &a.run_dir).cmp(&(&b.hardware, &b.date, &b.run_dir))
    });
    out.rows
        .unit
        .sort_by(|a, b| (&a.hardware, &a.date, &a.file).cmp(&(&b.hardware, &b.date, &b.file)));
    out.rows
        .image_check
        .sort_by(|a, b| (&a.hardware, &a.date, &a.file).cmp(&(&b.hardware, &b.date, &b.file)));
    out.rows
        .upstream_coverage
        .sort_by(|a, b| (&a.date, &a.file).cmp(&(&b.date, &b.file)));
    out.rows.quarantine.sort_by(|a, b| a.file.cmp(&b.file));
}

/// Files grouped by run folder, for places matching `pred`, with the run's image tag.
fn runs_where(
    files: &[FileResult],
    pred: impl Fn(&Place) -> bool,
) -> BTreeMap<String, (&ImageTag, Vec<&FileResult>)> {
    let mut map: BTreeMap<String, (&ImageTag, Vec<&FileResult>)> = BTreeMap::new();
    for f in files.iter().filter(|f| pred(&f.place)) {
        if let (Some(dir), Some(tag)) = (f.place.run_dir(), f.place.tag()) {
            map.entry(dir.to_owned())
                .or_insert_with(|| (tag, Vec::new()))
                .1
                .push(f);
        }
    }
    map
}

/// Timing summaries are named `timing_summary_<YYYYMMDD_HHMMSS>.log`; the newest is the last
/// in name order (one summary per restart).
fn newest<'a, T>(
    files: &[&'a FileResult],
    kind: FileKind,
    pick: impl Fn(&'a Parsed) -> Option<&'a T>,
) -> Option<(&'a str, &'a T)> {
    files
        .iter()
        .filter(|f| f.kind == kind)
        .filter_map(|f| {
            f.outcome
                .as_ref()
                .ok()
                .and_then(&pick)
                .map(|v| (f.rel.as_str(), v))
        })
        .max_by(|a, b| a.0.cmp(b.0))
}

fn online_runs(files: &[FileResult], out: &mut Backfill, board: &mut TaskBoard) {
    for (_, (_, fs)) in runs_where(files, |p| matches!(p, Place::Online { .. })) {
        let Place::Online {
            run_dir,
            model,
            tag,
            variant,
            ..
        } = &fs[0].place
        else {
            continue;
        };
        let run = OnlineRun {
            run_dir,
            model,
            tag,
            variant,
            files: fs.clone(),
        };
        online_run(&run, out, board);
    }
}

/// What an online run folder's files say, parsed once for its rows and its status.
struct OnlineFacts<'a> {
    timing: Option<&'a OnlineTiming>,
    gsm8k: Option<&'a Gsm8kLog>,
    server: Option<&'a ServerLog>,
    csv: Option<&'a OnlineCsv>,
    clients: Vec<(&'a FileResult, &'a ClientLog)>,
    /// Client logs that exist, parsed or not (an empty one still counts as an attempt).
    attempted_files: Vec<&'a FileResult>,
    hardware: String,
    date: String,
    host: Option<String>,
    load_kind: Option<LoadKind>,
    accuracy: Option<f64>,
    efficiency: Option<&'a EfficiencyInput>,
}

fn online_run(run: &OnlineRun<'_>, out: &mut Backfill, board: &mut TaskBoard) {
    let facts = online_facts(run);
    accuracy_row(run, &facts, out);
    let (loads, with_result) = serving_rows(run, &facts, out);
    run_row(run, &facts, out);
    online_status(run, &facts, (loads, with_result), board);
}

fn online_facts<'a>(run: &OnlineRun<'a>) -> OnlineFacts<'a> {
    let parsed = |kind: FileKind| {
        run.files
            .iter()
            .filter(move |f| f.kind == kind)
            .filter_map(|f| f.outcome.as_ref().ok().map(|p| (*f, p)))
    };
    let timing: Option<&OnlineTiming> = newest(&run.files, FileKind::OnlineTiming, |p| match p {
        Parsed::OnlineTiming(t) => Some(t),
        _ => None,
    })
    .map(|(_, t)| t);
    let gsm8k: Option<&Gsm8kLog> = parsed(FileKind::Gsm8kLog).find_map(|(_, p)| match p {
        Parsed::Gsm8k(g) => Some(g),
        _ => None,
    });
    let server: Option<&ServerLog> = parsed(FileKind::ServerLog).find_map(|(_, p)| match p {
        Parsed::Server(s) => Some(s),
        _ => None,
    });
    let csv: Option<&OnlineCsv> = parsed(FileKind::OnlineCsv).find_map(|(_, p)| match p {
        Parsed::OnlineCsv(c) => Some(c),
        _ => None,
    });
    let clients: Vec<(&FileResult, &ClientLog)> = parsed(FileKind::ClientLog)
        .filter_map(|(f, p)| match p {
            Parsed::Client(c) => Some((f, c.as_ref())),
            _ => None,
        })
        .collect();
    // Client logs that exist but failed to parse (empty) still count as attempts.
    let attempted_files: Vec<&FileResult> = run
        .files
        .iter()
        .copied()
        .filter(|f| f.kind == FileKind::ClientLog)
        .collect();
    let hardware = run.tag.hardware().as_str().to_owned();
    let date = run.tag.date().to_owned();
    let host = timing
        .and_then(|t| t.hostname.clone())
        .or_else(|| csv.and_then(|c| c.host().map(str::to_owned)));
    let load_kind = csv.and_then(|c| c.load_kind).or_else(|| {
        attempted_files.first().map(|f| {
            if f.rel.contains("_concurrency_") {
                LoadKind::Concurrency
            } else {
                LoadKind::RequestRate
            }
        })
    });
    let accuracy = gsm8k
        .and_then(|g| g.final_accuracy)
        .or_else(|| timing.and_then(|t| t.gsm8k_accuracy));
    let efficiency = parsed(FileKind::Efficiency).find_map(|(_, p)| match p {
        Parsed::Efficiency(e) => Some(e.as_ref()),
        _ => None,
    });
    OnlineFacts {
        timing,
        gsm8k,
        server,
        csv,
        clients,
        attempted_files,
        hardware,
        date,
        host,
        load_kind,
        accuracy,
        efficiency,
    }
}

/// Accuracy: the GSM8K log's last final line, else the timing summary's anchor.
fn accuracy_row(run: &OnlineRun<'_>, facts: &OnlineFacts<'_>, out: &mut Backfill) {
    let OnlineFacts {
        timing,
        gsm8k,
        hardware,
        date,
        ..
    } = facts;
    let (timing, gsm8k) = (*timing, *gsm8k);
    let threshold = status::run_threshold(run.model, timing);
    let (accuracy, acc_source) = match gsm8k.and_then(|g| g.final_accuracy) {
        Some(a) => (Some(a), Some("gsm8k_log")),
        None => match timing.and_then(|t| t.gsm8k_accuracy) {
            Some(a) => (Some(a), Some("timing_summary")),
            None => (None, None),
        },
    };
    let has_gsm8k_file = run.files.iter().any(|f| f.kind == FileKind::Gsm8kLog);
    if has_gsm8k_file || accuracy.is_some() {
        let runs = gsm8k.map(|g| g.runs.clone()).unwrap_or_default();
        out.rows.accuracy.push(AccuracyRow {
            hardware: hardware.clone(),
            model: run.model.to_owned(),
            run_dir: run.run_dir.to_owned(),
            docker_tag: run.tag.to_string(),
            date: date.clone(),
            variant: run.variant.to_owned(),
            accuracy,
            source: acc_source.map(str::to_owned),
            final_kind: gsm8k.and_then(|g| g.final_kind).map(|k| match k {
                FinalKind::Average { .. } => "average".to_owned(),
                FinalKind::EarlyExit => "early_exit".to_owned(),
            }),
            runs: runs
                .iter()
                .map(|r| {
                    format!(
                        "{}{}",
                        r.accuracy.map_or("none".to_owned(), |a| format!("{a}")),
                        if r.excluded { "x" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join(";"),
            valid_runs: runs.iter().filter(|r| !r.excluded).count() as i64,
            total_runs: runs.len() as i64,
            sessions: gsm8k.map_or(0, |g| i64::from(g.sessions)),
            threshold,
            passed: accuracy.map(|a| a >= threshold),
        });
    }
}

/// Serving rows, one per load seen in client logs or non-empty CSV cells; returns the loads and
/// how many of them have a result.
fn serving_rows(
    run: &OnlineRun<'_>,
    facts: &OnlineFacts<'_>,
    out: &mut Backfill,
) -> (BTreeSet<u32>, usize) {
    let OnlineFacts {
        server,
        csv,
        clients,
        attempted_files,
        hardware,
        date,
        host,
        load_kind,
        accuracy,
        efficiency,
        ..
    } = facts;
    let (server, csv, load_kind, accuracy) = (*server, *csv, *load_kind, *accuracy);
    let mut loads: BTreeSet<u32> = BTreeSet::new();
    for f in attempted_files.iter() {
        if let Place::Online { load: Some(l), .. } = f.place {
            loads.insert(l);
        }
    }
    if let Some(c) = csv {
        for r in c.rows.iter().filter(|r| r.value.is_some()) {
            loads.insert(r.load);
        }
    }
    let mut with_result = 0;
    for &load in &loads {
        let at_load: Vec<&(&FileResult, &ClientLog)> = clients
            .iter()
            .filter(|(f, _)| matches!(f.place, Place::Online { load: Some(l), .. } if l == load))
            .collect();
        let runs_seen = attempted_files
            .iter()
            .filter(|f| matches!(f.place, Place::Online { load: Some(l), .. } if l == load))
            .count();
        // Best of runs: the smallest median E2E; TTFT and ITL from that same log.
        let best = at_load
            .iter()
            .filter_map(|(f, c)| {
                c.result
                    .as_ref()
                    .and_then(|r| r.median_e2e_ms.map(|e| (e, *f, *c)))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.rel.cmp(&b.1.rel)));
        let runs_with_result = at_load
            .iter()
            .filter(|(_, c)| c.result.as_ref().is_some_and(|r| r.median_e2e_ms.is_some()))
            .count();
        let load_kind = load_kind.unwrap_or(LoadKind::RequestRate);
        let mut row = ServingRow {
            hardware: hardware.clone(),
            model: run.model.to_owned(),
            run_dir: run.run_dir.to_owned(),
            docker_tag: run.tag.to_string(),
            date: date.clone(),
            variant: run.variant.to_owned(),
            load_kind,
            load: i64::from(load),
            e2e_ms: None,
            ttft_ms: None,
            itl_ms: None,
            gsm8k_accuracy: accuracy,
            tpot_ms: None,
            output_throughput: None,
            request_throughput: None,
            input_throughput: None,
            total_throughput: None,
            mean_e2e_ms: None,
            p99_ttft_ms: None,
            p99_itl_ms: None,
            completed: None,
            requested: None,
            partial: false,
            runs: runs_seen as i64,
            runs_with_result: runs_with_result as i64,
            source: "none".to_owned(),
            best_log: None,
            host: host.clone(),
            sglang_version: run.tag.version().to_owned(),
            rocm: run.tag.rocm().to_owned(),
            kv_cache_tokens: server
                .and_then(|s| s.kv_cache.as_ref())
                .map(|k| k.tokens as i64),
            kv_cache_gb: server.and_then(|s| s.kv_cache.as_ref()).map(|k| k.size_gb),
            tokens_per_s_per_gpu: None,
            mfu: None,
        };
        if let Some((_, f, c)) = best {
            let m = c.result.as_ref().expect("best has a result");
            row.e2e_ms = m.median_e2e_ms;
            row.ttft_ms = m.median_ttft_ms;
            row.itl_ms = m.median_itl_ms;
            row.tpot_ms = m.median_tpot_ms;
            row.output_throughput = m.output_throughput;
            row.request_throughput = m.request_throughput;
            row.input_throughput = m.input_throughput;
            row.total_throughput = m.total_throughput;
            row.mean_e2e_ms = m.mean_e2e_ms;
            row.p99_ttft_ms = m.p99_ttft_ms;
            row.p99_itl_ms = m.p99_itl_ms;
            row.completed = m.successful_requests.map(|v| v as i64);
            row.requested = c.requested_prompts.map(|v| v as i64);
            row.partial = c.partial();
            row.source = "client_log".to_owned();
            row.best_log = f.rel.rsplit('/').next().map(str::to_owned);
            with_result += 1;
        } else if let Some(c) = csv {
            let (e, t, i) = (
                c.value(Metric::E2e, load),
                c.value(Metric::Ttft, load),
                c.value(Metric::Itl, load),
            );
            if e.is_some() || t.is_some() || i.is_some() {
                (row.e2e_ms, row.ttft_ms, row.itl_ms) = (e, t, i);
                row.source = "csv".to_owned();
                with_result += 1;
            }
            row.requested = at_load
                .iter()
                .find_map(|(_, c)| c.requested_prompts)
                .map(|v| v as i64);
        }
        if let Some(e) = efficiency {
            let f = e.serving(
                hardware,
                row.input_throughput,
                row.output_throughput,
                row.request_throughput,
            );
            (row.tokens_per_s_per_gpu, row.mfu) = (f.tokens_per_s_per_gpu, f.mfu);
        }
        out.rows.serving.push(row);
    }
    (loads, with_result)
}

fn run_row(run: &OnlineRun<'_>, facts: &OnlineFacts<'_>, out: &mut Backfill) {
    let OnlineFacts {
        timing,
        hardware,
        date,
        host,
        ..
    } = facts;
    out.rows.runs.push(RunRow {
        run_id: run
            .run_dir
            .rsplit('/')
            .next()
            .unwrap_or(run.run_dir)
            .to_owned(),
        run_dir: run.run_dir.to_owned(),
        kind: "online".to_owned(),
        hardware: hardware.clone(),
        docker_tag: run.tag.to_string(),
        date: date.clone(),
        model: Some(run.model.to_owned()),
        variant: Some(run.variant.to_owned()),
        host: host.clone(),
        started_at: timing.and_then(|t| t.started_at.clone()),
        files: run.files.len() as i64,
        note: run
            .variant
            .starts_with(".backup")
            .then(|| "backup copy of a run folder".to_owned()),
        ..RunRow::default()
    });
}

/// The run's verdict on the task board.
fn online_status(
    run: &OnlineRun<'_>,
    facts: &OnlineFacts<'_>,
    (loads, with_result): (BTreeSet<u32>, usize),
    board: &mut TaskBoard,
) {
    let OnlineFacts {
        timing,
        gsm8k,
        server,
        clients,
        hardware,
        date,
        ..
    } = facts;
    let (timing, gsm8k, server) = (*timing, *gsm8k, *server);
    let Some(task) = status::online_task(run.model, run.variant) else {
        return;
    };
    let only_plots = run.files.iter().all(|f| f.kind == FileKind::PlotsLog);
    let client_error = clients.iter().find_map(|(_, c)| c.first_error.as_deref());
    let evidence = OnlineEvidence {
        model: run.model,
        timing,
        gsm8k,
        server,
        loads_with_result: with_result,
        loads_attempted: loads.len(),
        expects_serving: run.variant.is_empty() || !loads.is_empty(),
        client_error,
        only_plots_log: only_plots,
    };
    let verdict = status::online_verdict(&evidence);
    board.add_run(
        date,
        hardware,
        task.id,
        TaskCandidate {
            verdict,
            docker_tag: Some(run.tag.to_string()),
            accuracy: status::run_accuracy(&evidence),
            runtime_minutes: timing
                .and_then(|t| t.total_execution_s)
                .map(|s| (s as f64 / 60.0 * 10.0).round() / 10.0),
            source: run.run_dir.to_owned(),
        },
    );
}

/// A/B comparison records: one row per candidate and series.
fn ab_records(files: &[FileResult], out: &mut Backfill) {
    for f in files {
        let (Place::Ab { folder }, Ok(Parsed::Ab(r))) = (&f.place, &f.outcome) else {
            continue;
        };
        let baseline = r
            .baseline()
            .map_or_else(String::new, |b| b.reference.clone());
        for s in &r.series {
            let base =
                sglci_core::ab::median(&s.baseline.iter().flatten().copied().collect::<Vec<_>>());
            for c in &s.candidates {
                let image = r.images.iter().find(|i| i.letter == c.letter);
                out.rows.ab.push(sglci_core::records::AbRow {
                    ab_id: r.ab_id.clone(),
                    hardware: r.hardware.clone(),
                    date: r.date.clone(),
                    suite: r.suite.clone(),
                    rounds: i64::from(r.rounds),
                    folder: folder.clone(),
                    baseline: baseline.clone(),
                    letter: c.letter.clone(),
                    candidate: image.map_or_else(String::new, |i| i.reference.clone()),
                    summary: r
                        .verdicts
                        .iter()
                        .find(|(l, _)| *l == c.letter)
                        .map_or_else(String::new, |(_, v)| v.clone()),
                    job: s.job.clone(),
                    load: i64::from(s.load),
                    metric: s.metric.clone(),
                    better: match s.better {
                        sglci_core::ab::Better::Lower => "lower",
                        sglci_core::ab::Better::Higher => "higher",
                    }
                    .to_owned(),
                    baseline_median: base,
                    candidate_median: sglci_core::ab::median(
                        &c.values.iter().flatten().copied().collect::<Vec<_>>(),
                    ),
                    median_change: c.median_change,
                    low: c.low,
                    high: c.high,
                    floor: c.floor,
                    verdict: c.verdict.as_str().to_owned(),
                });
            }
        }
    }
}

/// F22: each profiler trace's top kernels and operators, under its run folder.
fn trace_rows(files: &[FileResult], out: &mut Backfill) {
    for f in files {
        let Ok(Parsed::Trace(t)) = &f.outcome else {
            continue;
        };
        let (run_dir, model, tag) = match &f.place {
            Place::Online {
                run_dir,
                model,
                tag,
                ..
            }
            | Place::Offline {
                run_dir,
                model,
                tag,
                ..
            } => (run_dir, model, tag),
            _ => continue,
        };
        let trace = f
            .rel
            .strip_prefix(run_dir.as_str())
            .map_or(f.rel.as_str(), |r| r.trim_start_matches('/'));
        let file = trace.rsplit('/').next().unwrap_or(trace);
        let stage = ["prefill", "decode"]
            .into_iter()
            .find(|s| file.contains(s))
            .unwrap_or("all");
        for (kind, entries) in [("kernel", &t.kernels), ("operator", &t.operators)] {
            for (i, e) in entries.iter().enumerate() {
                out.rows.kernels.push(KernelRow {
                    hardware: tag.hardware().as_str().to_owned(),
                    model: model.clone(),
                    run_dir: run_dir.clone(),
                    docker_tag: tag.to_string(),
                    date: tag.date().to_owned(),
                    trace: trace.to_owned(),
                    stage: stage.to_owned(),
                    kind: kind.to_owned(),
                    position: i as i64 + 1,
                    name: e.name.clone(),
                    short: e.short.clone(),
                    calls: e.calls as i64,
                    total_us: e.total_us,
                    share: e.share,
                });
            }
        }
    }
}

fn offline_runs(files: &[FileResult], out: &mut Backfill, board: &mut TaskBoard) {
    let mut seen = BTreeSet::new();
    let efficiency: BTreeMap<&str, &EfficiencyInput> = files
        .iter()
        .filter_map(|f| match (&f.place, &f.outcome) {
            (Place::Offline { run_dir, .. }, Ok(Parsed::Efficiency(e))) => {
                Some((run_dir.as_str(), e.as_ref()))
            }
            _ => None,
        })
        .collect();
    for f in files {
        let (
            Place::Offline {
                run_dir,
                model,
                tag,
                mode,
            },
            Ok(Parsed::OfflineCsv(rows)),
        ) = (&f.place, &f.outcome)
        else {
            continue;
        };
        let hardware = tag.hardware().as_str();
        for r in rows {
            let eff = efficiency.get(run_dir.as_str()).map(|e| {
                e.offline(
                    hardware,
                    &OfflineCell {
                        batch: u64::from(r.batch_size),
                        input: u64::from(r.input_len),
                        output: u64::from(r.output_len),
                        prefill_latency_s: r.prefill_latency_s,
                        decode_latency_s: r.decode_median_latency_s,
                        e2e_latency_s: r.e2e_latency_s,
                    },
                )
            });
            let eff = eff.unwrap_or_default();
            out.rows.offline.push(OfflineResultRow {
                hardware: tag.hardware().as_str().to_owned(),
                model: model.clone(),
                run_dir: run_dir.clone(),
                docker_tag: tag.to_string(),
                date: tag.date().to_owned(),
                mode: mode.clone(),
                tp: i64::from(r.tp),
                batch_size: i64::from(r.batch_size),
                input_len: i64::from(r.input_len),
                output_len: i64::from(r.output_len),
                backend: r.backend.clone(),
                prefill_latency_s: r.prefill_latency_s,
                decode_median_latency_s: r.decode_median_latency_s,
                e2e_latency_s: r.e2e_latency_s,
                prefill_throughput: r.prefill_throughput,
                decode_median_throughput: r.decode_median_throughput,
                e2e_throughput: r.e2e_throughput,
                tokens_per_s_per_gpu: eff.e2e.tokens_per_s_per_gpu,
                mfu: eff.e2e.mfu,
                prefill_mfu: eff.prefill_mfu,
                decode_mfu: eff.decode_mfu,
            });
        }
        // One run row per offline folder, as online runs have: `compare` and the run pages find
        // runs through them.
        if seen.insert(run_dir.clone()) {
            let prefix = format!("{run_dir}/");
            out.rows.runs.push(RunRow {
                run_id: run_dir.rsplit('/').next().unwrap_or(run_dir).to_owned(),
                run_dir: run_dir.clone(),
                kind: "offline".to_owned(),
                hardware: tag.hardware().as_str().to_owned(),
                docker_tag: tag.to_string(),
                date: tag.date().to_owned(),
                model: Some(model.clone()),
                variant: Some(if mode == "normal" {
                    String::new()
                } else {
                    mode.clone()
                }),
                files: files.iter().filter(|g| g.rel.starts_with(&prefix)).count() as i64,
                ..RunRow::default()
            });
            offline_task(tag, model, run_dir, rows, board);
        }
    }
}

/// The offline grid's task on its night's board: passed when at least one cell has a result,
/// failed (unclassified: the grid's CSV keeps no reason) when every cell is `NA`.
fn offline_task(
    tag: &ImageTag,
    model: &str,
    run_dir: &str,
    rows: &[sglci_core::parse::offline::OfflineRow],
    board: &mut TaskBoard,
) {
    let Some(task) = status::offline_task(model) else {
        return;
    };
    let measured = rows.iter().filter(|r| r.e2e_latency_s.is_some()).count();
    let verdict = if measured > 0 {
        status::Verdict::pass(format!("{measured} of {} grid cells measured", rows.len()))
    } else {
        status::Verdict::fail(
            format!("none of the {} grid cells has a result", rows.len()),
            FailureClass::Unclassified,
            None,
        )
    };
    board.add_run(
        tag.date(),
        tag.hardware().as_str(),
        task.id,
        TaskCandidate {
            verdict,
            docker_tag: Some(tag.to_string()),
            accuracy: None,
            runtime_minutes: None,
            source: run_dir.to_owned(),
        },
    );
}

/// A sanity run's identity: its folder and its image tag, with the facts its rows share.
struct SanityRun<'a> {
    run_dir: &'a str,
    tag: &'a ImageTag,
    hardware: String,
    date: String,
}

/// What a sanity run's models add up to, for its task verdict.
#[derive(Default)]
struct SanityTally {
    failed_models: Vec<String>,
    first_fail: Option<(FailureClass, String)>,
    tested: usize,
}

fn sanity_runs(files: &[FileResult], out: &mut Backfill, board: &mut TaskBoard) {
    for (run_dir, (tag, fs)) in runs_where(files, |p| matches!(p, Place::Sanity { .. })) {
        let run = SanityRun {
            run_dir: &run_dir,
            tag,
            hardware: tag.hardware().as_str().to_owned(),
            date: tag.date().to_owned(),
        };
        sanity_trials(&run, &fs, out);
        let timing = newest(&fs, FileKind::SanityTiming, |p| match p {
            Parsed::SanityTiming(t) => Some(t),
            _ => None,
        });
        let tally = match timing {
            Some((timing_file, t)) => sanity_models(&run, timing_file, t, out),
            None => SanityTally::default(),
        };
        sanity_run_row_and_verdict(&run, timing, tally, fs.len(), out, board);
    }
}

/// One row per GSM8K trial log.
fn sanity_trials(run: &SanityRun<'_>, fs: &[&FileResult], out: &mut Backfill) {
    let (tag, hardware, date, run_dir) = (run.tag, &run.hardware, &run.date, run.run_dir);
    for f in fs {
        let Place::Sanity {
            model: Some(model),
            trial: Some(trial),
            ..
        } = &f.place
        else {
            continue;
        };
        let (accuracy, error) = match &f.outcome {
            Ok(Parsed::SanityTrial(t)) => (t.accuracy, t.error.clone()),
            Ok(_) => continue,
            Err(e) => (None, Some(e.clone())),
        };
        out.rows.sanity.push(SanityTrialRow {
            hardware: hardware.clone(),
            docker_tag: tag.to_string(),
            model: model.clone(),
            trial: trial.clone(),
            accuracy,
            date: date.clone(),
            run_dir: run_dir.to_owned(),
            file: f.rel.rsplit('/').next().unwrap_or(&f.rel).to_owned(),
            error,
        });
    }
}

/// One row per model of the timing summary (its final section, else its OVERALL SUMMARY line).
fn sanity_models(
    run: &SanityRun<'_>,
    timing_file: &str,
    t: &SanityTiming,
    out: &mut Backfill,
) -> SanityTally {
    let mut tally = SanityTally::default();
    let mut seen = BTreeSet::new();
    for sec in t.final_sections() {
        seen.insert(sec.model.clone());
        let (row, failure) = sanity_model_row(run, timing_file, t, sec);
        if row.status != ModelStatus::Skipped {
            tally.tested += 1;
        }
        if let Some((class, line)) = &failure {
            tally.failed_models.push(sec.model.clone());
            tally
                .first_fail
                .get_or_insert((*class, format!("{}: {line}", sec.model)));
        }
        out.rows.sanity_models.push(row);
    }
    let (tag, hardware, date, run_dir) = (run.tag, &run.hardware, &run.date, run.run_dir);
    let (failed_models, first_fail, tested) = (
        &mut tally.failed_models,
        &mut tally.first_fail,
        &mut tally.tested,
    );
    // Models only named in the OVERALL SUMMARY.
    for (model, st) in &t.overall {
        if seen.insert(model.clone()) {
            // The parser keeps only PASS, FAIL and SKIPPED lines of the OVERALL SUMMARY.
            let status = match st.as_str() {
                "PASS" => ModelStatus::Pass,
                "SKIPPED" => ModelStatus::Skipped,
                _ => ModelStatus::Fail,
            };
            if status == ModelStatus::Fail {
                failed_models.push(model.clone());
                first_fail.get_or_insert((FailureClass::Unclassified, format!("{model}: FAIL")));
            }
            if status != ModelStatus::Skipped {
                *tested += 1;
            }
            out.rows.sanity_models.push(SanityModelRow {
                hardware: hardware.clone(),
                docker_tag: tag.to_string(),
                model: model.clone(),
                date: date.clone(),
                run_dir: run_dir.to_owned(),
                status,
                accuracy: None,
                accuracy_kind: None,
                required: None,
                trials: String::new(),
                attempts: 0,
                startup_failed: false,
                failure_class: None,
                error: None,
                timing_file: timing_file
                    .rsplit('/')
                    .next()
                    .unwrap_or(timing_file)
                    .to_owned(),
            });
        }
    }
    tally
}

/// A model's row from its final section, and its failure (class and evidence) if it failed.
fn sanity_model_row(
    run: &SanityRun<'_>,
    timing_file: &str,
    t: &SanityTiming,
    sec: &SanitySection,
) -> (SanityModelRow, Option<(FailureClass, String)>) {
    let (tag, hardware, date, run_dir) = (run.tag, &run.hardware, &run.date, run.run_dir);
    let attempts = t.sections.iter().filter(|s| s.model == sec.model).count() as i64;
    let overall = t.overall_status(&sec.model);
    let status = if sec.skipped.is_some() || overall == Some("SKIPPED") {
        ModelStatus::Skipped
    } else if sec.final_pass == Some(true) || (sec.final_pass.is_none() && overall == Some("PASS"))
    {
        ModelStatus::Pass
    } else {
        ModelStatus::Fail
    };
    // W-14: report the published headline; without one, the best trial.
    let accuracy = sec
        .headline
        .or_else(|| {
            sec.trials
                .iter()
                .filter_map(|t| t.accuracy)
                .reduce(f64::max)
        })
        .or(sec.warmup_accuracy);
    let failure = (status == ModelStatus::Fail).then(|| {
        let line = sec.error.clone().unwrap_or_else(|| {
            if sec.startup_failed {
                "Server startup: FAILED".to_owned()
            } else {
                format!(
                    "accuracy {} below {}",
                    accuracy.map_or("none".into(), |a| a.to_string()),
                    sec.required.map_or("threshold".into(), |r| r.to_string())
                )
            }
        });
        let class = sglci_core::failure::classify_line(&line).unwrap_or(if sec.startup_failed {
            FailureClass::ServerStartTimeout
        } else if accuracy.is_some() {
            FailureClass::AccuracyBelowThreshold
        } else {
            FailureClass::Unclassified
        });
        (class, line)
    });
    let row = SanityModelRow {
        hardware: hardware.clone(),
        docker_tag: tag.to_string(),
        model: sec.model.clone(),
        date: date.clone(),
        run_dir: run_dir.to_owned(),
        status,
        accuracy,
        accuracy_kind: sec
            .headline_kind
            .map(|k| format!("{k:?}").to_lowercase())
            .or_else(|| accuracy.map(|_| "best_trial".to_owned())),
        required: sec.required,
        trials: sec
            .trials
            .iter()
            .map(|t| t.accuracy.map_or("none".to_owned(), |a| a.to_string()))
            .collect::<Vec<_>>()
            .join(";"),
        attempts,
        startup_failed: sec.startup_failed,
        failure_class: failure.as_ref().map(|(c, _)| *c),
        error: sec.error.clone(),
        timing_file: timing_file
            .rsplit('/')
            .next()
            .unwrap_or(timing_file)
            .to_owned(),
    };
    (row, failure)
}

/// The run's row and its verdict on the task board.
fn sanity_run_row_and_verdict(
    run: &SanityRun<'_>,
    timing: Option<(&str, &SanityTiming)>,
    tally: SanityTally,
    files: usize,
    out: &mut Backfill,
    board: &mut TaskBoard,
) {
    let (tag, hardware, date, run_dir) = (run.tag, &run.hardware, &run.date, run.run_dir);
    let SanityTally {
        failed_models,
        first_fail,
        tested,
    } = tally;
    out.rows.runs.push(RunRow {
        run_id: tag.to_string(),
        run_dir: run_dir.to_owned(),
        kind: "sanity".to_owned(),
        hardware: hardware.clone(),
        docker_tag: tag.to_string(),
        date: date.clone(),
        model: None,
        variant: None,
        host: timing.and_then(|(_, t)| t.machine.clone()),
        started_at: timing.and_then(|(_, t)| t.started_at.clone()),
        files: files as i64,
        note: None,
        ..RunRow::default()
    });
    let verdict = match (timing, first_fail) {
        (None, _) => Verdict::unknown("no sanity timing summary"),
        (Some(_), Some((class, line))) => Verdict::fail(
            format!(
                "{} of {tested} models failed: {}",
                failed_models.len(),
                failed_models.join(", ")
            ),
            class,
            Some(line),
        ),
        (Some((_, t)), None) if tested > 0 && t.finished => {
            Verdict::pass(format!("{tested} models passed"))
        }
        (Some(_), None) if tested > 0 => Verdict::fail(
            "sanity run stopped before its OVERALL SUMMARY",
            FailureClass::Unclassified,
            None,
        ),
        (Some(_), None) => Verdict::unknown("no model was tested"),
    };
    board.add_run(
        date,
        hardware,
        "sanity",
        TaskCandidate {
            verdict,
            docker_tag: Some(tag.to_string()),
            accuracy: None,
            runtime_minutes: None,
            source: run_dir.to_owned(),
        },
    );
}

fn pd_runs(files: &[FileResult], out: &mut Backfill, board: &mut TaskBoard) {
    for (run_dir, (tag, fs)) in runs_where(files, |p| matches!(p, Place::Pd { .. })) {
        let hardware = tag.hardware().as_str().to_owned();
        let date = tag.date().to_owned();
        let summary = fs.iter().find_map(|f| match &f.outcome {
            Ok(Parsed::PdSummary(s)) => Some(s),
            _ => None,
        });
        let g = fs.iter().find_map(|f| match &f.outcome {
            Ok(Parsed::PdGsm8k(g)) => Some(g),
            _ => None,
        });
        let server_failure = fs
            .iter()
            .filter(|f| f.kind == FileKind::PdServer || f.kind == FileKind::PdRouter)
            .find_map(|f| match &f.outcome {
                Ok(Parsed::Server(s)) => s.failure.clone(),
                _ => None,
            });
        let verdict = match summary {
            None => Verdict::unknown("no test_summary.txt"),
            Some(s) if s.passed() => Verdict::pass(format!(
                "all {} tests passed, GSM8K {}",
                s.tests.len(),
                s.gsm8k_accuracy.unwrap_or_default()
            )),
            Some(s) if s.pending() => {
                let wait = s
                    .steps
                    .iter()
                    .find(|(n, _)| n.contains("Health Check"))
                    .and_then(|(_, v)| *v);
                let (class, line) = server_failure.clone().map_or(
                    (
                        FailureClass::ServerStartTimeout,
                        format!(
                            "tests PENDING after a {}s health-check wait",
                            wait.unwrap_or(0)
                        ),
                    ),
                    |e| (e.class, e.line),
                );
                Verdict::fail("tests never ran (servers not healthy)", class, Some(line))
            }
            Some(s) => {
                let failed: Vec<String> = s
                    .tests
                    .iter()
                    .filter(|t| t.status != "PASS")
                    .map(|t| t.name.clone())
                    .collect();
                // The class and its evidence line always come from the same source.
                let only_gsm8k = failed.is_empty() || failed.iter().all(|n| n.contains("GSM8K"));
                let client = g.and_then(|g| g.first_error.clone());
                // A service the runner saw die explains a low accuracy, not the other way round.
                let died = server_failure
                    .as_ref()
                    .filter(|e| e.class == FailureClass::ServerExited);
                let (class, line) = if let Some(e) = died {
                    (e.class, Some(e.line.clone()))
                } else if only_gsm8k && s.gsm8k_accuracy.is_some_and(|a| a > 0.001) {
                    (
                        FailureClass::AccuracyBelowThreshold,
                        Some(format!(
                            "GSM8K accuracy {}",
                            s.gsm8k_accuracy.unwrap_or_default()
                        )),
                    )
                } else if let Some(e) = &server_failure {
                    (e.class, Some(e.line.clone()))
                } else if let Some(client) = client {
                    let class = sglci_core::failure::classify_line(&client)
                        .unwrap_or(FailureClass::ClientErrors);
                    (class, Some(client))
                } else if only_gsm8k {
                    (FailureClass::ClientErrors, None)
                } else {
                    (FailureClass::Unclassified, None)
                };
                let what = if failed.is_empty() {
                    format!("GSM8K accuracy {}", s.gsm8k_accuracy.unwrap_or_default())
                } else {
                    format!("failed: {}", failed.join(", "))
                };
                Verdict::fail(what, class, line)
            }
        };
        out.rows.pd.push(PdRow {
            hardware: hardware.clone(),
            docker_tag: tag.to_string(),
            date: date.clone(),
            model: summary.and_then(|s| s.model.clone()),
            run_dir: run_dir.clone(),
            status: verdict.state,
            gsm8k_accuracy: summary
                .and_then(|s| s.gsm8k_accuracy)
                .or_else(|| g.and_then(|g| g.accuracy)),
            gsm8k_verdict: summary.and_then(|s| s.gsm8k_verdict.clone()),
            tests_passed: summary.map_or(0, |s| {
                s.tests.iter().filter(|t| t.status == "PASS").count() as i64
            }),
            tests_total: summary.map_or(0, |s| s.tests.len() as i64),
            tests_pending: summary.map_or(0, |s| {
                s.tests.iter().filter(|t| t.status == "PENDING").count() as i64
            }),
            health_wait_s: summary.and_then(|s| {
                s.steps
                    .iter()
                    .find(|(n, _)| n.contains("Health Check"))
                    .and_then(|(_, v)| v.map(|v| v as i64))
            }),
            total_s: summary.and_then(|s| s.total_s.map(|v| v as i64)),
            gsm8k_questions: g.and_then(|g| g.total_questions.map(|v| v as i64)),
            gsm8k_correct: g.and_then(|g| g.correct.map(|v| v as i64)),
            failure_class: verdict.class,
            evidence: verdict.evidence.clone(),
        });
        out.rows.runs.push(RunRow {
            run_id: run_dir.rsplit('/').next().unwrap_or(&run_dir).to_owned(),
            run_dir: run_dir.clone(),
            kind: "pd".to_owned(),
            hardware: hardware.clone(),
            docker_tag: tag.to_string(),
            date: date.clone(),
            model: summary.and_then(|s| s.model.clone()),
            variant: run_dir
                .rsplit('/')
                .next()
                .and_then(|d| d.split_once('_'))
                .map(|(_, v)| v.to_owned()),
            host: summary.and_then(|s| s.hostname.clone()),
            started_at: None,
            files: fs.len() as i64,
            note: None,
            ..RunRow::default()
        });
        board.add_run(
            &date,
            &hardware,
            "pd",
            TaskCandidate {
                verdict,
                docker_tag: Some(tag.to_string()),
                accuracy: summary.and_then(|s| s.gsm8k_accuracy),
                runtime_minutes: None,
                source: run_dir.clone(),
            },
        );
    }
}

fn unit_logs(files: &[FileResult], out: &mut Backfill, board: &mut TaskBoard) {
    for f in files {
        let (Place::Unit { tag }, Ok(Parsed::Unit(u))) = (&f.place, &f.outcome) else {
            continue;
        };
        let hardware = tag.hardware().as_str().to_owned();
        let verdict = match u.passed() {
            Some(true) => Verdict::pass(
                u.unittest_verdict
                    .clone()
                    .unwrap_or_else(|| "Result: PASSED".into()),
            ),
            Some(false) => {
                let (class, line) = u.failure.clone().map_or(
                    (
                        FailureClass::Unclassified,
                        format!("Exit code: {}", u.exit_code.unwrap_or(-1)),
                    ),
                    |e| (e.class, e.line),
                );
                Verdict::fail(
                    format!(
                        "unit test failed (exit code {})",
                        u.exit_code.map_or("?".into(), |c| c.to_string())
                    ),
                    class,
                    Some(line),
                )
            }
            None => Verdict::fail(
                "the log ends before the result footer",
                FailureClass::Unclassified,
                None,
            ),
        };
        out.rows.unit.push(UnitRow {
            hardware: hardware.clone(),
            docker_tag: tag.to_string(),
            date: tag.date().to_owned(),
            test: u.test.clone(),
            status: verdict.state,
            exit_code: u.exit_code.map(i64::from),
            tests_ran: u.tests_ran.map(i64::from),
            duration_s: u.duration_s,
            machine: u.machine.clone(),
            failure_class: verdict.class,
            evidence: verdict.evidence.clone(),
            file: f.rel.clone(),
        });
        board.add_run(
            tag.date(),
            &hardware,
            "unit_test",
            TaskCandidate {
                verdict,
                docker_tag: Some(tag.to_string()),
                accuracy: None,
                runtime_minutes: None,
                source: f.rel.clone(),
            },
        );
    }
}

fn cron_logs(files: &[FileResult], out: &mut Backfill, board: &mut TaskBoard) {
    for f in files {
        let (
            Place::Cron {
                hardware,
                date,
                file,
            },
            Ok(Parsed::Cron(c)),
        ) = (&f.place, &f.outcome)
        else {
            continue;
        };
        board.cron_days.insert((date.clone(), hardware.clone()));
        let Some(name) = cron::parse_name(file) else {
            continue;
        };
        if name.job == "docker_image_check" {
            out.rows
                .image_check
                .push(image_check_row(date, hardware, c, &f.rel));
        }
        let Some(task) = TASKS
            .iter()
            .find(|t| t.cron_jobs.contains(&name.job.as_str()))
        else {
            continue;
        };
        let verdict = status::cron_verdict(task, c);
        board
            .cron
            .entry((date.clone(), hardware.clone(), task.id))
            .or_default()
            .push(TaskCandidate {
                verdict,
                docker_tag: c
                    .images
                    .iter()
                    .find_map(|i| ImageTag::from_image(i).ok())
                    .map(|t| t.to_string()),
                accuracy: c.gsm8k_accuracy,
                runtime_minutes: None,
                source: f.rel.clone(),
            });
    }
}

fn image_check_row(date: &str, hardware: &str, c: &CronLog, rel: &str) -> ImageCheckRow {
    let task = status::task("image_check").expect("image_check is a task");
    let v = status::cron_verdict(task, c);
    ImageCheckRow {
        date: date.to_owned(),
        hardware: hardware.to_owned(),
        status: v.state,
        missing_required: c.missing_required_images.map(i64::from),
        missing_optional: c.missing_optional_images.map(i64::from),
        images: c
            .images
            .iter()
            .map(|i| i.rsplit(':').next().unwrap_or(i))
            .collect::<Vec<_>>()
            .join(";"),
        file: rel.to_owned(),
    }
}

fn upstream(files: &[FileResult], out: &mut Backfill) {
    for f in files {
        let (Place::Upstream { date }, Ok(Parsed::Upstream(r))) = (&f.place, &f.outcome) else {
            continue;
        };
        for row in &r.rows {
            out.rows.upstream_coverage.push(CoverageRowRecord {
                date: date.clone(),
                section: row.section.clone(),
                category: row.category.clone(),
                amd: i64::from(row.amd),
                nvidia: i64::from(row.nvidia),
                coverage_pct: row.coverage_pct,
                file: f.rel.clone(),
            });
        }
    }
}

fn pick(cands: Vec<TaskCandidate>) -> Option<(TaskCandidate, usize)> {
    let n = cands.len();
    cands
        .into_iter()
        .max_by(|a, b| {
            verdict_rank(&a.verdict)
                .cmp(&verdict_rank(&b.verdict))
                .then_with(|| b.source.cmp(&a.source))
        })
        .map(|c| (c, n))
}

fn task_table(mut board: TaskBoard) -> Vec<TaskRow> {
    let mut nights: BTreeSet<(String, String)> = board.cron_days.clone();
    nights.extend(board.runs.keys().map(|(d, h, _)| (d.clone(), h.clone())));
    nights.extend(board.cron.keys().map(|(d, h, _)| (d.clone(), h.clone())));
    let mut rows = Vec::new();
    for (date, hw) in nights {
        for task in TASKS {
            let key = (date.clone(), hw.clone(), task.id);
            // A task not expected on this hardware is never "missing", but one that ran there
            // anyway (the PD suite on the CPU smoke host) is shown.
            if !task.scheduled_on(&hw)
                && !board.runs.contains_key(&key)
                && !board.cron.contains_key(&key)
            {
                continue;
            }
            let from_runs = board.runs.remove(&key).and_then(pick);
            let from_cron = board.cron.remove(&key).and_then(pick);
            let chosen = match (from_runs, from_cron) {
                (Some((c, n)), _) => Some((c, n, "run")),
                (None, Some((c, n))) => Some((c, n, "cron")),
                (None, None) => None,
            };
            let row = match chosen {
                Some((c, n, origin)) => {
                    let mut reason = c.verdict.reason.clone();
                    if n > 1 {
                        reason.push_str(&format!(" (best of {n} {origin} records)"));
                    }
                    TaskRow {
                        date: date.clone(),
                        hardware: hw.clone(),
                        task: task.id.to_owned(),
                        task_name: task.name.to_owned(),
                        status: c.verdict.state,
                        reason,
                        failure_class: c.verdict.class,
                        evidence: c.verdict.evidence,
                        docker_tag: c.docker_tag,
                        gsm8k_accuracy: c.accuracy,
                        runtime_minutes: c.runtime_minutes,
                        source: Some(c.source),
                    }
                }
                None => {
                    let cron_day = board.cron_days.contains(&(date.clone(), hw.clone()));
                    let (status, reason) = if cron_day {
                        (
                            TaskState::NotRun,
                            "no run folder and no cron log for this job that night".to_owned(),
                        )
                    } else {
                        (
                            TaskState::Unknown,
                            "no file for this task that night in the published tree".to_owned(),
                        )
                    };
                    TaskRow {
                        date: date.clone(),
                        hardware: hw.clone(),
                        task: task.id.to_owned(),
                        task_name: task.name.to_owned(),
                        status,
                        reason,
                        failure_class: None,
                        evidence: None,
                        docker_tag: None,
                        gsm8k_accuracy: None,
                        runtime_minutes: None,
                        source: None,
                    }
                }
            };
            rows.push(row);
        }
    }
    // Runs on hardware-task pairs outside the schedule (leftovers) are still reported.
    for ((date, hw, id), cands) in board.runs.into_iter().chain(board.cron) {
        if let (Some((c, _)), Some(task)) = (pick(cands), status::task(id)) {
            rows.push(TaskRow {
                date,
                hardware: hw,
                task: id.to_owned(),
                task_name: task.name.to_owned(),
                status: c.verdict.state,
                reason: c.verdict.reason,
                failure_class: c.verdict.class,
                evidence: c.verdict.evidence,
                docker_tag: c.docker_tag,
                gsm8k_accuracy: c.accuracy,
                runtime_minutes: c.runtime_minutes,
                source: Some(c.source),
            });
        }
    }
    rows.sort_by(|a, b| (&a.hardware, &a.date, &a.task).cmp(&(&b.hardware, &b.date, &b.task)));
    rows
}
