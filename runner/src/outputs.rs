//! The run folder's own account of itself, in the predecessor's formats (predecessor.md 3.4,
//! 3.5) so that the publisher reads runner bundles with the same parsers as the legacy tree and
//! the log repository keeps one layout: the timing summary (re-rendered after every step, so a
//! run that dies leaves a truncated one, which the publisher reads as "did not complete") and the
//! online CSV. Pure: values in, text out.

use std::fmt::Write as _;

use crate::suite::SweepBy;

/// One client run's duration.
#[derive(Debug, Clone, PartialEq)]
pub struct PointTiming {
    pub load: u32,
    pub run: u32,
    pub seconds: u64,
}

/// Median latencies (and output throughput) of the best run at one load.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadResult {
    pub load: u32,
    pub e2e_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub itl_ms: Option<f64>,
    pub output_throughput: Option<f64>,
}

/// The GSM8K block.
#[derive(Debug, Clone, PartialEq)]
pub struct GsmBlock {
    pub duration_s: u64,
    pub gate: crate::gsm8k::Gate,
    pub threshold: f64,
}

/// Everything the timing summary says, filled in as the run goes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timing {
    pub started_at: String,
    pub command: String,
    pub hardware: String,
    pub rocm: String,
    pub image: String,
    pub model_path: String,
    pub hostname: String,
    /// Extra header lines (`Attention backend: …`).
    pub header: Vec<(String, String)>,
    /// `All logs already complete - skipping server startup` (resume with nothing left to do).
    pub resumed_complete: bool,
    pub server_startup_s: Option<u64>,
    pub gsm8k: Option<GsmBlock>,
    pub by: Option<SweepBy>,
    pub serving_start: Option<String>,
    pub points: Vec<PointTiming>,
    /// Loads whose runs are all done: (load, total seconds).
    pub completed_loads: Vec<(u32, u64)>,
    pub serving_end: Option<(String, u64)>,
    pub performance: Vec<LoadResult>,
    /// `(RuntimeError count, error lines, critical count)` from the server log.
    pub server_check: Option<(u64, Vec<String>, u64)>,
    pub shutdown_s: Option<u64>,
    /// Why the run stopped early, when it did: the reason and its evidence.
    pub stopped: Option<(String, sglci_core::failure::Evidence)>,
    pub ended: Option<(String, u64)>,
}

fn load_word(by: SweepBy, capital: bool) -> &'static str {
    match (by, capital) {
        (SweepBy::RequestRate, true) => "Rate",
        (SweepBy::RequestRate, false) => "rate",
        (SweepBy::Concurrency, true) => "Concurrency",
        (SweepBy::Concurrency, false) => "concurrency",
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "N/A".to_owned(), |v| format!("{v:.2} ms"))
}

/// The timing summary as it stands.
pub fn render_timing(t: &Timing) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "TIMING SUMMARY LOG\n==================");
    let _ = writeln!(w, "Script started at: {}", t.started_at);
    let _ = writeln!(w, "Timezone: UTC (+0000)");
    let _ = writeln!(w, "Command: {}", t.command);
    let _ = writeln!(w, "Hardware: {}", t.hardware);
    let _ = writeln!(w, "ROCM Version: {}", t.rocm);
    let _ = writeln!(w, "Docker image: {}", t.image);
    let _ = writeln!(w, "Model: {}", t.model_path);
    let _ = writeln!(w, "Hostname: {}", t.hostname);
    let _ = writeln!(w, "Mode: online");
    for (k, v) in &t.header {
        let _ = writeln!(w, "{k}: {v}");
    }
    let _ = writeln!(w);
    if t.resumed_complete {
        let _ = writeln!(w, "All logs already complete - skipping server startup");
    }
    if let Some(n) = t.server_startup_s {
        let _ = writeln!(w, "Server startup time: {n} seconds\n");
    }
    if let Some(g) = &t.gsm8k {
        let _ = writeln!(w, "GSM8K Test Results:");
        let _ = writeln!(w, "  Total duration: {} seconds", g.duration_s);
        let acc = g.gate.accuracy.unwrap_or(0.0);
        if g.gate.early_exit {
            let _ = writeln!(w, "  Accuracy: {acc:.3} (Required: {})", g.threshold);
            let _ = writeln!(
                w,
                "  Early exit: Passed on run {}, skipped {} run(s)",
                g.gate.runs_used,
                g.gate.attempts.saturating_sub(g.gate.runs_used)
            );
        } else {
            let _ = writeln!(w, "  Average accuracy: {acc:.3}");
            let _ = writeln!(w, "  Total runs: {}", g.gate.runs_used);
            let _ = writeln!(w, "  Valid runs: {}", g.gate.valid_runs);
            let _ = writeln!(w, "  Excluded runs: {}", g.gate.excluded_runs);
        }
        let _ = writeln!(w, "  GSM8K threshold: {}", g.threshold);
        let _ = writeln!(w, "  GSM8K accuracy: {acc:.3}\n");
    }
    if let (Some(by), Some(start)) = (t.by, &t.serving_start) {
        let _ = writeln!(w, "Client Benchmark Results:");
        let _ = writeln!(w, "  Start time: {start}");
        let mut done = t.completed_loads.iter().peekable();
        for p in &t.points {
            let _ = writeln!(
                w,
                "  {} {}, Run {}: {} seconds",
                load_word(by, true),
                p.load,
                p.run,
                p.seconds
            );
            // A load's completion line follows its last run.
            while let Some((l, secs)) = done.peek() {
                if *l != p.load {
                    break;
                }
                let later_run = t
                    .points
                    .iter()
                    .skip_while(|q| !std::ptr::eq(*q, p))
                    .skip(1)
                    .any(|q| q.load == *l);
                if later_run {
                    break;
                }
                let _ = writeln!(
                    w,
                    "Completed {} {l} - Total time: {secs} seconds",
                    load_word(by, false)
                );
                done.next();
            }
        }
        if let Some((end, total)) = &t.serving_end {
            let _ = writeln!(w, "  End time: {end}");
            let _ = writeln!(w, "  Total duration: {total} seconds");
        }
        let _ = writeln!(w);
    }
    if let (Some(by), false) = (t.by, t.performance.is_empty()) {
        let _ = writeln!(w, "Performance Summary:\n===================");
        for r in &t.performance {
            let head = match by {
                SweepBy::RequestRate => "Request Rate",
                SweepBy::Concurrency => "Concurrency",
            };
            let _ = writeln!(w, "{head} {}:", r.load);
            let _ = writeln!(w, "  E2E Latency: {}", ms(r.e2e_ms));
            let _ = writeln!(w, "  TTFT: {}", ms(r.ttft_ms));
            let _ = writeln!(w, "  ITL: {}", ms(r.itl_ms));
            let _ = writeln!(
                w,
                "  Output throughput: {}",
                r.output_throughput
                    .map_or_else(|| "N/A".to_owned(), |v| format!("{v:.2} tok/s"))
            );
            let _ = writeln!(w);
        }
        let _ = writeln!(w);
    }
    if let Some((reason, ev)) = &t.stopped {
        let _ = writeln!(w, "Run failed: {reason}");
        let _ = writeln!(w, "Failure class: {}", ev.class);
        let _ = writeln!(w, "Failure evidence: {}\n", ev.line);
    }
    if let Some((runtime, lines, critical)) = &t.server_check {
        let _ = writeln!(w, "Server Error Check:");
        let _ = writeln!(w, "  RuntimeError count: {runtime}");
        for l in lines.iter().take(3) {
            let _ = writeln!(w, "    {l}");
        }
        let pass = *runtime == 0 && *critical == 0;
        let _ = writeln!(
            w,
            "  Server error status: {}",
            if pass { "PASS" } else { "FAIL" }
        );
        let _ = writeln!(w, "  Critical error count: {critical}");
    }
    if let Some(n) = t.shutdown_s {
        let _ = writeln!(w, "Server shutdown time: {n} seconds");
    }
    if let Some((end, total)) = &t.ended {
        let _ = writeln!(w, "\n========================================");
        let _ = writeln!(w, "OVERALL SCRIPT SUMMARY");
        let _ = writeln!(w, "========================================");
        let _ = writeln!(w, "Script ended at: {end}");
        let _ = writeln!(
            w,
            "Total execution time: {total} seconds ({} minutes)",
            total / 60
        );
        let _ = writeln!(w, "========================================");
    }
    s
}

/// The server-log error check the predecessor printed: `RuntimeError:` lines and critical
/// markers (`CUDA error|OutOfMemoryError|Fatal`).
pub fn server_check(server_log: &str) -> (u64, Vec<String>, u64) {
    let mut runtime = 0;
    let mut lines = Vec::new();
    let mut critical = 0;
    for l in server_log.lines() {
        if l.contains("RuntimeError:") {
            runtime += 1;
            if lines.len() < 3 {
                lines.push(sglci_core::redact::redact(l.trim()));
            }
        }
        if ["CUDA error", "OutOfMemoryError", "Fatal"]
            .iter()
            .any(|m| l.contains(m))
        {
            critical += 1;
        }
    }
    (runtime, lines, critical)
}

/// The online CSV: three tab-separated sections over the sweep's loads.
pub fn render_csv(
    model: &str,
    tag: &str,
    by: SweepBy,
    loads: &[u32],
    row_label: &str,
    results: &[LoadResult],
) -> String {
    let mut s = format!("Online mode - {model} ({tag})\n");
    let head = match by {
        SweepBy::RequestRate => "request rate",
        SweepBy::Concurrency => "concurrency",
    };
    type Metric = fn(&LoadResult) -> Option<f64>;
    let sections: [(&str, Metric); 3] = [
        ("Median E2E Latency (ms, lower better)", |r| r.e2e_ms),
        ("Median TTFT (ms, lower better)", |r| r.ttft_ms),
        ("Median ITL (ms, lower better)", |r| r.itl_ms),
    ];
    for (title, get) in sections {
        let _ = writeln!(s, "\n{title}");
        let _ = write!(s, "{head}");
        for l in loads {
            let _ = write!(s, "\t{l}");
        }
        let _ = write!(s, "\n{row_label}");
        for l in loads {
            let v = results.iter().find(|r| r.load == *l).and_then(get);
            let _ = write!(s, "\t{}", v.map_or_else(String::new, |v| format!("{v:.2}")));
        }
        let _ = writeln!(s);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gsm8k::Gate;

    fn sample() -> Timing {
        Timing {
            started_at: "2026-11-25 01:00:00 UTC".into(),
            command: "sglci-runner run --suite smoke".into(),
            hardware: "cpu".into(),
            rocm: "cpu".into(),
            image: "v0.4.9.post2-cpu-cpu-20261125".into(),
            model_path: "/m/gemma.gguf".into(),
            hostname: "host-1".into(),
            header: vec![("Attention backend".into(), "llamacpp".into())],
            server_startup_s: Some(4),
            gsm8k: Some(GsmBlock {
                duration_s: 30,
                gate: Gate {
                    passed: true,
                    accuracy: Some(0.75),
                    runs_used: 1,
                    early_exit: true,
                    attempts: 2,
                    valid_runs: 1,
                    excluded_runs: 0,
                },
                threshold: 0.5,
            }),
            by: Some(SweepBy::RequestRate),
            serving_start: Some("2026-11-25 01:01:00 UTC".into()),
            points: vec![
                PointTiming {
                    load: 1,
                    run: 1,
                    seconds: 20,
                },
                PointTiming {
                    load: 2,
                    run: 1,
                    seconds: 15,
                },
            ],
            completed_loads: vec![(1, 20), (2, 15)],
            serving_end: Some(("2026-11-25 01:02:00 UTC".into(), 35)),
            performance: vec![
                LoadResult {
                    load: 1,
                    e2e_ms: Some(900.5),
                    ttft_ms: Some(50.0),
                    itl_ms: Some(12.0),
                    output_throughput: Some(30.0),
                },
                LoadResult {
                    load: 2,
                    e2e_ms: Some(1900.5),
                    ttft_ms: None,
                    itl_ms: Some(13.0),
                    output_throughput: None,
                },
            ],
            server_check: Some((0, vec![], 0)),
            shutdown_s: Some(1),
            stopped: None,
            ended: Some(("2026-11-25 01:02:01 UTC".into(), 121)),
            ..Timing::default()
        }
    }

    #[test]
    fn timing_summary_parses_back() {
        let text = render_timing(&sample());
        let t = sglci_core::parse::timing::parse(text.as_bytes()).expect("parse");
        assert!(t.completed());
        assert_eq!(t.hostname.as_deref(), Some("host-1"));
        assert_eq!(t.gsm8k_accuracy, Some(0.75));
        // The gate's threshold travels to the publisher, which judges the run by it.
        assert_eq!(t.gsm8k_threshold, Some(0.5));
        assert_eq!(t.server_startup_s, Some(4));
        assert_eq!(t.performance.len(), 2);
        assert_eq!(t.performance[0].e2e_ms, Some(900.5));
        assert_eq!(t.performance[1].ttft_ms, None);
        assert_eq!(t.server_error_pass, Some(true));
        assert_eq!(t.total_execution_s, Some(121));
        insta::assert_snapshot!("timing_summary", text);
    }

    #[test]
    fn the_runners_verdict_parses_back() {
        let mut t = sample();
        t.stopped = Some((
            "the server exited during request rate 2, run 1".into(),
            sglci_core::failure::Evidence {
                class: sglci_core::failure::FailureClass::ServerExited,
                line: "sglci-runner: server exited unexpectedly: signal 9".into(),
            },
        ));
        let parsed = sglci_core::parse::timing::parse(render_timing(&t).as_bytes()).expect("parse");
        let f = parsed.runner_failure.expect("runner failure");
        assert_eq!(
            f.class,
            Some(sglci_core::failure::FailureClass::ServerExited)
        );
        assert!(f.reason.contains("request rate 2"));
        assert!(f.evidence.is_some_and(|e| e.contains("signal 9")));
    }

    #[test]
    fn a_run_that_stops_leaves_an_incomplete_summary() {
        let mut t = sample();
        t.performance.clear();
        t.server_check = None;
        t.shutdown_s = None;
        t.ended = None;
        t.serving_end = None;
        let parsed = sglci_core::parse::timing::parse(render_timing(&t).as_bytes()).expect("parse");
        assert!(!parsed.completed());
    }

    #[test]
    fn csv_parses_back() {
        let s = sample();
        let text = render_csv(
            "GEMMA3-270M",
            "v0.4.9.post2-cpu-cpu-20261125",
            SweepBy::RequestRate,
            &[1, 2, 4],
            "CPU-llamacpp, host-1",
            &s.performance,
        );
        let c = sglci_core::parse::online_csv::parse(&text).expect("parse");
        use sglci_core::records::Metric;
        assert_eq!(c.value(Metric::E2e, 1), Some(900.5));
        assert_eq!(c.value(Metric::Ttft, 2), None);
        assert_eq!(c.value(Metric::Itl, 4), None);
        assert_eq!(c.loads(), vec![1, 2, 4]);
    }

    #[test]
    fn server_check_counts_errors_and_redacts() {
        let log = "ok\nRuntimeError: boom token=abcdefabcdefabcdef\nFatal Python error\n";
        let (r, lines, c) = server_check(log);
        assert_eq!((r, c), (1, 1));
        assert!(!lines[0].contains("abcdefabcdef"), "{lines:?}");
    }
}

/// A run that could not start, as the predecessor's cron log of the job it replaces.
#[derive(Debug, Clone)]
pub struct Preflight<'a> {
    pub command: &'a str,
    pub run_id: &'a str,
    pub started_at: &'a str,
    pub machine: &'a str,
    pub image: &'a str,
    /// The failure, with its marker (`GPU still busy after`, `Failed to pull`).
    pub line: &'a str,
}

/// The cron log lines the publisher's cron parser reads: start, machine, image, the failure,
/// `Result: FAILED`.
pub fn render_preflight_log(p: &Preflight<'_>) -> String {
    format!(
        "=== sglci-runner {} ===\nRun: {}\nStart time: {}\nMachine: {}\nImage: {}\n{}\nResult: FAILED\n",
        p.command, p.run_id, p.started_at, p.machine, p.image, p.line
    )
}
