//! F10, the prefill/decode disaggregation test (predecessor.md 1.9): a prefill worker and a
//! decode worker on split GPUs, the SGLang router in PD mode in front of them, a health wait
//! with a functional probe, four HTTP tests and GSM8K through the router. The run folder is the
//! predecessor's `test/pd/pd_log/<hw>/<TAG>/` with `prefill.log`, `decode.log`,
//! `load_balance.log`, `test_gsm8k.log` and `test_summary.txt`, which is rewritten after every
//! step so that a run that dies leaves `PENDING` tests (the publisher reads it as such).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use sglci_core::failure::{Evidence, FailureClass};

use super::server::{http_ready, service_died, spawn_logged, wait_until, Running, Waited};
use super::{keep_as_backup, read, stop, write, Context, JobOutcome, Origin, Progress, Stop};
use crate::engine::{run_to_end, Engine, EngineError, RunEnd};
use crate::plan::{JobSpec, PdPlan, PdService, PlannedJob};

/// A test's state in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pending,
    Pass,
    Fail,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
        }
    }
}

/// What `test_summary.txt` says at one moment. Pure data; [`render_summary`] writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub tag: String,
    pub hardware: String,
    pub model: String,
    pub model_path: String,
    pub image: String,
    pub hostname: String,
    pub engine: String,
    pub prefill: (u16, String),
    pub decode: (u16, String),
    pub router_port: u16,
    /// Router, prefill, decode startup and the health wait, in seconds (None: not reached).
    pub steps: [Option<u64>; 4],
    /// Tests 1–4: verdict and seconds.
    pub tests: [(Verdict, u64); 4],
    /// Test 6: accuracy (None: no result), verdict, seconds.
    pub gsm8k: (Option<f64>, Verdict, u64),
    pub questions: u32,
    pub parallel: u32,
    pub total_s: u64,
    pub log_dir: String,
    pub completed: bool,
}

pub const STEP_NAMES: [&str; 4] = [
    "Router Startup",
    "Prefill Server Startup",
    "Decode Server Startup",
    "Health Check Wait",
];
pub const TEST_NAMES: [&str; 4] = [
    "Health Check",
    "Model Info",
    "Simple Completion",
    "Code Generation",
];

/// `test_summary.txt` in the predecessor's layout (predecessor.md 3.11).
pub fn render_summary(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "SGLang PD Disaggregation Test Summary");
    let _ = writeln!(o, "======================================\n");
    let _ = writeln!(o, "Docker Tag: {}", s.tag);
    let _ = writeln!(o, "Hardware: {}", s.hardware);
    let _ = writeln!(o, "Model: {}", s.model);
    let _ = writeln!(o, "Model Path: {}", s.model_path);
    let _ = writeln!(o, "Docker Image: {}", s.image);
    let _ = writeln!(o, "Hostname: {}\n", s.hostname);
    let _ = writeln!(o, "Configuration:");
    let _ = writeln!(o, "- IP Address: 127.0.0.1");
    for (role, (port, gpus)) in [("Prefill", &s.prefill), ("Decode", &s.decode)] {
        let _ = writeln!(o, "- {role} Server: Port {port}, GPUs {gpus}");
    }
    let _ = writeln!(o, "- Load Balancer: Port {}", s.router_port);
    let _ = writeln!(o, "- Network: Loopback (lo)");
    let _ = writeln!(o, "- Execution: {}\n", s.engine);
    let _ = writeln!(o, "Setup Steps (with runtime):");
    for (i, (name, secs)) in STEP_NAMES.iter().zip(s.steps).enumerate() {
        let _ = writeln!(o, "- Step {} - {name}: {}s", i + 1, secs.unwrap_or(0));
    }
    let _ = writeln!(o, "\nTest Results (with runtime):");
    for (i, (name, (v, secs))) in TEST_NAMES.iter().zip(s.tests).enumerate() {
        let _ = writeln!(o, "- Test {} - {name}: {} ({secs}s)", i + 1, v.word());
    }
    let (acc, v, secs) = s.gsm8k;
    let acc = match (acc, v) {
        (Some(a), _) => format!("{a:.4}"),
        (None, Verdict::Pending) => "PENDING".to_owned(),
        (None, _) => "FAILED".to_owned(),
    };
    let _ = writeln!(
        o,
        "- Test 6 - GSM8K Accuracy: {acc} [{}] ({secs}s)",
        v.word()
    );
    let setup: u64 = s.steps.iter().flatten().sum();
    let _ = writeln!(o, "\nTiming Summary:");
    let _ = writeln!(o, "- Total Time (Setup + Tests): {}s", s.total_s);
    let _ = writeln!(o, "- Setup Time (Steps 1-4): {setup}s");
    let _ = writeln!(o, "- GSM8K Test Duration: {secs}s");
    let qps = if secs > 0 && v != Verdict::Pending {
        format!("{:.2}", f64::from(s.questions) / secs as f64)
    } else {
        "N/A".to_owned()
    };
    let _ = writeln!(o, "- GSM8K Questions per Second: {qps}");
    let _ = writeln!(o, "- GSM8K Parallelism: {} concurrent requests", s.parallel);
    let _ = writeln!(o, "- GSM8K Timeout: 600s per request\n");
    let _ = writeln!(o, "Log Files:");
    for (what, file) in [
        ("Load Balancer", "load_balance.log"),
        ("Prefill Server", "prefill.log"),
        ("Decode Server", "decode.log"),
        ("GSM8K Results", "test_gsm8k.log"),
    ] {
        let _ = writeln!(o, "- {what}: {}/{file}", s.log_dir);
    }
    if s.completed {
        let _ = writeln!(o, "\nTest completed in nightly mode (sglci-runner).");
    }
    o
}

/// One functional HTTP test (tests 1–4 and the probe): `Ok` when the status is 200 and the body
/// has what the test looks for.
fn http_test(port: u16, model: &str, test: usize, timeout: Duration) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new().timeout(timeout).build();
    let base = format!("http://127.0.0.1:{port}");
    let completion = |prompt: &str, max_tokens: u32, temperature: f64| {
        serde_json::json!({
            "model": model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
        })
        .to_string()
    };
    let resp = match test {
        1 => agent.get(&format!("{base}/health")).call(),
        2 => agent.get(&format!("{base}/v1/models")).call(),
        3 => agent
            .post(&format!("{base}/v1/completions"))
            .set("Content-Type", "application/json")
            .send_string(&completion("The capital of France is", 50, 0.7)),
        4 => agent
            .post(&format!("{base}/v1/completions"))
            .set("Content-Type", "application/json")
            .send_string(&completion(
                "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
                100,
                0.3,
            )),
        // The health wait's probe: a 5-token completion.
        _ => agent
            .post(&format!("{base}/v1/completions"))
            .set("Content-Type", "application/json")
            .send_string(&completion("Hello", 5, 0.0)),
    };
    let body = match resp {
        Ok(r) => r
            .into_string()
            .map_err(|e| format!("reading the body: {e}"))?,
        Err(ureq::Error::Status(code, r)) => {
            let body = r.into_string().unwrap_or_default();
            return Err(format!(
                "HTTP {code}: {}",
                sglci_core::text::evidence(&body, 200)
            ));
        }
        Err(ureq::Error::Transport(t)) => return Err(t.to_string()),
    };
    let json = || serde_json::from_str::<serde_json::Value>(&body);
    match test {
        1 => Ok(()),
        2 => match json() {
            Ok(v) if v["data"].as_array().is_some_and(|d| !d.is_empty()) => Ok(()),
            _ => Err(format!(
                "/v1/models lists no model: {}",
                sglci_core::text::evidence(&body, 200)
            )),
        },
        _ => match json() {
            Ok(v) if v["choices"][0]["text"].is_string() => Ok(()),
            _ => Err(format!(
                "no choices in the completion: {}",
                sglci_core::text::evidence(&body, 200)
            )),
        },
    }
}

/// F10: runs the PD test of `job`; the caller tears the engine down.
pub fn run_pd(
    job: &PlannedJob,
    ctx: &mut Context<'_>,
    engine: &mut dyn Engine,
    image: &str,
) -> Result<JobOutcome, EngineError> {
    let JobSpec::Pd(plan) = &job.spec else {
        return Err(EngineError::NotThisKind {
            job: job.id.clone(),
            kind: "pd",
        });
    };
    let now = ctx.clock;
    let started = now();
    let tag = ctx.tag.as_str().to_owned();
    let rel = job
        .run_folder
        .clone()
        .unwrap_or_else(|| format!("test/pd/pd_log/{}/{{tag}}", ctx.tag.hardware()))
        .replace("{tag}", &tag);
    let folder = ctx.root.join(&rel);
    if folder.exists() {
        // A second run of the same image keeps the first (the predecessor's `_rerun` folders).
        keep_as_backup(&folder, started)?;
    }
    std::fs::create_dir_all(&folder).map_err(|source| EngineError::Log {
        path: folder.clone(),
        source,
    })?;
    let flag = |name: &str| {
        plan.gsm8k
            .argv
            .iter()
            .skip_while(|a| *a != name)
            .nth(1)
            .and_then(|v| v.parse().ok())
    };
    let mut run = PdRun {
        plan,
        summary: Summary {
            tag: tag.clone(),
            hardware: ctx.tag.hardware().to_string(),
            model: job.model.clone(),
            model_path: job.model_path.clone().unwrap_or_else(|| job.model.clone()),
            image: image.to_owned(),
            hostname: ctx.hostname.clone(),
            engine: engine.describe(),
            prefill: (plan.prefill.port, plan.prefill.gpus.clone()),
            decode: (plan.decode.port, plan.decode.gpus.clone()),
            router_port: plan.router.port,
            steps: [None; 4],
            tests: [(Verdict::Pending, 0); 4],
            gsm8k: (None, Verdict::Pending, 0),
            questions: flag("--num-questions").unwrap_or(0),
            parallel: flag("--parallel").unwrap_or(1),
            total_s: 0,
            log_dir: folder.display().to_string(),
            completed: false,
        },
        logs: [
            ("prefill server", folder.join("prefill.log")),
            ("decode server", folder.join("decode.log")),
            ("router", folder.join("load_balance.log")),
        ],
        running: Running { ids: Vec::new() },
        deadline: Instant::now() + Duration::from_secs(u64::from(job.timeout_minutes) * 60),
        folder,
    };
    run.save()?;
    let result = run.steps(ctx, engine);
    run.summary.total_s = (now() - started).max(0) as u64;
    run.summary.completed = true;
    run.save()?;
    let failure = result?;
    let pass = format!(
        "all 4 HTTP tests passed, GSM8K {:.4} through the router",
        run.summary.gsm8k.0.unwrap_or_default()
    );
    let outcome = JobOutcome {
        threshold: Some(plan.gsm8k.threshold),
        ..JobOutcome::new(
            &job.id,
            &Origin::of(ctx),
            image,
            &rel,
            (started, now()),
            failure,
            pass,
        )
    };
    outcome.save(&run.folder)?;
    Ok(outcome)
}

/// A PD test in progress: its services, their logs, and the summary rewritten after each step.
struct PdRun<'p> {
    plan: &'p PdPlan,
    summary: Summary,
    folder: std::path::PathBuf,
    logs: [(&'static str, std::path::PathBuf); 3],
    running: Running,
    deadline: Instant,
}

impl PdRun<'_> {
    fn save(&self) -> Result<(), EngineError> {
        write(
            &self.folder.join("test_summary.txt"),
            &render_summary(&self.summary),
        )
    }

    /// Starts service `i` (prefill, decode, router) with its log, and keeps it among the running.
    fn spawn(
        &mut self,
        engine: &mut dyn Engine,
        i: usize,
        svc: &PdService,
        now: i64,
    ) -> Result<(), Stop> {
        let (name, log) = &self.logs[i];
        let id = spawn_logged(engine, name, &svc.argv, &svc.env, log, now)?;
        self.running.ids.push((name, id, log.clone()));
        Ok(())
    }

    /// When a wait must end: the services' own limit, within the job's time.
    fn ready_limit(&self) -> Instant {
        let ready = Duration::from_secs(u64::from(self.plan.ready_timeout_s));
        Instant::now() + ready.min(self.deadline.saturating_duration_since(Instant::now()))
    }

    /// The setup steps and the tests; `Ok(Some(stop))` when the test failed.
    fn steps(
        &mut self,
        ctx: &mut Context<'_>,
        engine: &mut dyn Engine,
    ) -> Result<Option<Stop>, EngineError> {
        if let Some(stop) = self.start_workers(ctx, engine)? {
            return Ok(Some(stop));
        }
        if let Some(stop) = self.start_router(ctx, engine)? {
            return Ok(Some(stop));
        }
        if let Some(stop) = self.health_wait(ctx, engine)? {
            return Ok(Some(stop));
        }
        let failed = self.http_tests(ctx, engine)?;
        let gsm8k = self.gsm8k(ctx, engine)?;
        (ctx.progress)(Progress::Point {
            done: 5,
            total: 5,
            label: "done",
        });
        Ok(failed.or(gsm8k))
    }

    /// Steps 2 and 3: both workers start at once (they have their own GPUs), then each is timed
    /// until it answers.
    fn start_workers(
        &mut self,
        ctx: &mut Context<'_>,
        engine: &mut dyn Engine,
    ) -> Result<Option<Stop>, EngineError> {
        let now = ctx.clock;
        let plan = self.plan;
        (ctx.progress)(Progress::Step("starting the prefill and decode servers"));
        let t0 = now();
        for (i, svc) in [&plan.prefill, &plan.decode].into_iter().enumerate() {
            if let Err(stop) = self.spawn(engine, i, svc, now()) {
                return Ok(Some(stop));
            }
        }
        let limit = self.ready_limit();
        let mut ready = [false; 2];
        while !ready.iter().all(|r| *r) {
            if let Some((name, exit, log)) = self.running.dead(engine) {
                return Ok(Some(died(name, &exit, &log, "startup")));
            }
            for (i, svc) in [&plan.prefill, &plan.decode].into_iter().enumerate() {
                if !ready[i] && http_ready(svc.port) {
                    ready[i] = true;
                    self.summary.steps[1 + i] = Some((now() - t0).max(0) as u64);
                    self.save()?;
                }
            }
            if Instant::now() > limit {
                let which = if ready[0] { "decode" } else { "prefill" };
                let secs = plan.ready_timeout_s;
                return Ok(Some(stop(
                    format!("the {which} server was not ready within {secs} s"),
                    FailureClass::ServerStartTimeout,
                    format!("{which} server failed to start in time ({secs} s)"),
                )));
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Ok(None)
    }

    /// Step 1: the router, once its workers answer (it registers them at startup).
    fn start_router(
        &mut self,
        ctx: &mut Context<'_>,
        engine: &mut dyn Engine,
    ) -> Result<Option<Stop>, EngineError> {
        let now = ctx.clock;
        let plan = self.plan;
        (ctx.progress)(Progress::Step("starting the router"));
        let t1 = now();
        if let Err(stop) = self.spawn(engine, 2, &plan.router, t1) {
            return Ok(Some(stop));
        }
        let waited = wait_until(
            engine,
            &self.running,
            "router startup",
            self.ready_limit(),
            Duration::from_millis(500),
            &mut || http_test(plan.router.port, &plan.model, 1, Duration::from_secs(3)),
        );
        match waited {
            Waited::Ready => {}
            Waited::Died(stop) => return Ok(Some(stop)),
            Waited::TimedOut(_) => {
                let secs = plan.ready_timeout_s;
                return Ok(Some(stop(
                    format!("the router was not ready within {secs} s"),
                    FailureClass::ServerStartTimeout,
                    format!("router failed to answer /health in time ({secs} s)"),
                )));
            }
        }
        self.summary.steps[0] = Some((now() - t1).max(0) as u64);
        self.save()?;
        Ok(None)
    }

    /// Step 4: the health wait ends when a short completion comes back through the router.
    fn health_wait(
        &mut self,
        ctx: &mut Context<'_>,
        engine: &mut dyn Engine,
    ) -> Result<Option<Stop>, EngineError> {
        let now = ctx.clock;
        let plan = self.plan;
        (ctx.progress)(Progress::Step(
            "waiting for a completion through the router",
        ));
        let t4 = now();
        let waited = wait_until(
            engine,
            &self.running,
            "the health check wait",
            self.ready_limit(),
            Duration::from_secs(2),
            &mut || http_test(plan.router.port, &plan.model, 0, Duration::from_secs(60)),
        );
        match waited {
            Waited::Ready => self.summary.steps[3] = Some((now() - t4).max(0) as u64),
            Waited::Died(stop) => return Ok(Some(stop)),
            Waited::TimedOut(last) => {
                self.summary.steps[3] = Some((now() - t4).max(0) as u64);
                return Ok(Some(stop(
                    "no completion came back through the router",
                    FailureClass::ServerStartTimeout,
                    format!(
                        "health check failed after {} s: {last}",
                        plan.ready_timeout_s
                    ),
                )));
            }
        }
        self.save()?;
        Ok(None)
    }

    /// Tests 1–4: every test runs; the first failure is the job's.
    fn http_tests(
        &mut self,
        ctx: &mut Context<'_>,
        engine: &mut dyn Engine,
    ) -> Result<Option<Stop>, EngineError> {
        let now = ctx.clock;
        let mut failed: Option<Stop> = None;
        for test in 1..=4 {
            (ctx.progress)(Progress::Point {
                done: test - 1,
                total: 5,
                label: TEST_NAMES[test - 1],
            });
            let t = now();
            let r = http_test(
                self.plan.router.port,
                &self.plan.model,
                test,
                Duration::from_secs(600),
            );
            let verdict = if r.is_ok() {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            self.summary.tests[test - 1] = (verdict, (now() - t).max(0) as u64);
            self.save()?;
            if let (Err(e), None) = (r, &failed) {
                failed = Some(test_failed(engine, &self.running, test, &e));
            }
        }
        Ok(failed)
    }

    /// Test 6: GSM8K through the router, sglci's client in the PD report format.
    fn gsm8k(
        &mut self,
        ctx: &mut Context<'_>,
        engine: &mut dyn Engine,
    ) -> Result<Option<Stop>, EngineError> {
        let now = ctx.clock;
        let plan = self.plan;
        (ctx.progress)(Progress::Point {
            done: 4,
            total: 5,
            label: "GSM8K",
        });
        let gsm_log = self.folder.join("test_gsm8k.log");
        let argv = ctx.resolve(&plan.gsm8k.argv);
        let t6 = now();
        let left = self.deadline.saturating_duration_since(Instant::now());
        let running = &self.running;
        let end = run_to_end(engine, &argv, &plan.router.env, &gsm_log, left, &mut |e| {
            running
                .dead(e)
                .map(|(name, exit, _)| format!("the {name} process ended ({exit})"))
        })?;
        let parsed = sglci_core::parse::pd::parse_gsm8k(&read(&gsm_log)).ok();
        let acc = parsed.as_ref().and_then(|g| g.accuracy);
        let threshold = plan.gsm8k.threshold;
        let pass = acc.is_some_and(|a| a > 0.0 && a >= threshold);
        let verdict = if pass { Verdict::Pass } else { Verdict::Fail };
        self.summary.gsm8k = (acc, verdict, (now() - t6).max(0) as u64);
        self.save()?;
        if pass {
            return Ok(None);
        }
        Ok(Some(match end {
            RunEnd::Aborted(_) => match self.running.dead(engine) {
                Some((name, exit, log)) => died(name, &exit, &log, "GSM8K"),
                None => test_failed(engine, &self.running, 6, "a service exited"),
            },
            RunEnd::TimedOut => stop(
                "the job's time ran out during GSM8K",
                FailureClass::Timeout,
                "GSM8K through the router did not finish in the job's time",
            ),
            RunEnd::Exited(_) => match acc {
                Some(a) => stop(
                    format!("GSM8K accuracy {a:.4} through the router is below {threshold}"),
                    FailureClass::AccuracyBelowThreshold,
                    format!("Test 6 - GSM8K Accuracy: {a:.4} [FAIL] (threshold {threshold})"),
                ),
                None => {
                    let first = parsed.and_then(|g| g.first_error).unwrap_or_else(|| {
                        let text = sglci_core::text::clean(&read(&gsm_log)).into_owned();
                        text.lines().last().unwrap_or("no output").to_owned()
                    });
                    test_failed(engine, &self.running, 6, &first)
                }
            },
        }))
    }
}

/// A service that died, named by its own log or the `server_exited` marker.
fn died(name: &str, exit: &str, log: &Path, during: &str) -> Stop {
    service_died(
        log,
        name,
        &format!("the {name} process ended ({exit})"),
        during,
    )
}

/// A failed HTTP test: a service's own failure when its log names one, else the test's error.
fn test_failed(engine: &mut dyn Engine, running: &Running, test: usize, error: &str) -> Stop {
    if let Some((name, exit, log)) = running.dead(engine) {
        return died(name, &exit, &log, &format!("test {test}"));
    }
    let name = if test == 6 {
        "GSM8K"
    } else {
        TEST_NAMES[test - 1]
    };
    let line = format!("Test {test} - {name}: FAIL ({error})");
    let logged = running.ids.iter().find_map(|(_, _, log)| {
        let text = sglci_core::text::clean(&read(log)).into_owned();
        sglci_core::failure::classify(text.lines())
    });
    Stop {
        reason: format!("PD test {test} ({name}) failed"),
        evidence: logged.unwrap_or(Evidence {
            class: FailureClass::ClientErrors,
            line: sglci_core::redact::redact(&line),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            tag: "v0.4.9.post2-cpu-cpu-20261125".to_owned(),
            hardware: "cpu".to_owned(),
            model: "GEMMA3-270M".to_owned(),
            model_path: "/models/gemma.gguf".to_owned(),
            image: "local".to_owned(),
            hostname: "box".to_owned(),
            engine: "local".to_owned(),
            prefill: (30025, "0".to_owned()),
            decode: (30026, "1".to_owned()),
            router_port: 30028,
            steps: [None; 4],
            tests: [(Verdict::Pending, 0); 4],
            gsm8k: (None, Verdict::Pending, 0),
            questions: 20,
            parallel: 4,
            total_s: 0,
            log_dir: "/runs/test/pd/pd_log/cpu/v0.4.9.post2-cpu-cpu-20261125".to_owned(),
            completed: false,
        }
    }

    /// Every state the summary goes through parses back to what the publisher should conclude.
    #[test]
    fn summary_states_parse_back() {
        use sglci_core::parse::pd::parse_summary;
        let mut s = summary();
        let p = parse_summary(render_summary(&s).as_bytes()).expect("parse");
        assert!(p.pending() && !p.passed());
        assert_eq!(p.tests.len(), 5);
        assert_eq!(p.docker_tag.as_deref(), Some(s.tag.as_str()));

        s.steps = [Some(1), Some(12), Some(13), Some(2)];
        s.tests = [
            (Verdict::Pass, 0),
            (Verdict::Pass, 0),
            (Verdict::Pass, 3),
            (Verdict::Fail, 5),
        ];
        s.gsm8k = (Some(0.55), Verdict::Pass, 40);
        s.total_s = 75;
        s.completed = true;
        let text = render_summary(&s);
        let p = parse_summary(text.as_bytes()).expect("parse");
        assert!(!p.pending() && !p.passed(), "test 4 failed");
        assert_eq!(p.total_s, Some(75));
        assert_eq!(p.gsm8k_accuracy, Some(0.55));
        assert!(p.completed);
        assert!(text.contains("- Step 2 - Prefill Server Startup: 12s"));
        assert!(text.contains("- GSM8K Questions per Second: 0.50"));

        s.tests[3] = (Verdict::Pass, 5);
        let p = parse_summary(render_summary(&s).as_bytes()).expect("parse");
        assert!(p.passed());

        s.gsm8k = (None, Verdict::Fail, 3);
        let text = render_summary(&s);
        assert!(text.contains("- Test 6 - GSM8K Accuracy: FAILED [FAIL] (3s)"));
        assert!(!parse_summary(text.as_bytes()).expect("parse").passed());
    }
}
