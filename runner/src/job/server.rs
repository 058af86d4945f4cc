//! Starting a service and knowing when it is ready or dead, for every kind that starts one: the
//! online and sanity servers ([`start_server`]: HTTP readiness or its log line, fast failure
//! with the class its log shows), PD's workers and router ([`wait_until`] over the [`Running`]
//! services), and a service that dies under load ([`service_died`]: its own last words, else the
//! `server_exited` marker added to its log).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use sglci_core::failure::{self, Evidence, FailureClass, SERVER_EXITED_MARKER};

use super::{append, read, stop, Context, Stop};
use crate::engine::{Engine, ProcId};
use crate::plan::ServerPlan;

/// The server's failure from its log, or the fallback.
pub(crate) fn server_failure(log: &Path, fallback: Evidence) -> Evidence {
    let text = sglci_core::text::clean(&read(log)).into_owned();
    failure::classify(text.lines())
        .map(|e| Evidence {
            class: e.class,
            line: sglci_core::redact::redact(&e.line),
        })
        .unwrap_or(fallback)
}

/// Whether the server answers: the first readiness endpoint that returns 200 (SGLang's
/// `/health_generate`, `/health`, `/get_model_info`; OpenAI servers' `/v1/models`).
pub(crate) fn http_ready(port: u16) -> bool {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(3))
        .build();
    [
        "/health_generate",
        "/health",
        "/get_model_info",
        "/v1/models",
    ]
    .iter()
    .any(|p| {
        agent
            .get(&format!("http://127.0.0.1:{port}{p}"))
            .call()
            .is_ok_and(|r| r.status() == 200)
    })
}

/// `Some(reason)` when the server process has exited.
pub(crate) fn server_gone(engine: &mut dyn Engine, id: ProcId) -> Option<String> {
    match engine.status(id) {
        Ok(Some(exit)) => Some(format!("the server process ended ({exit})")),
        _ => None,
    }
}

/// A service died (the server under load, a PD worker or the router): say so in its log (the
/// publisher's classifier reads the marker) unless its own last words name a more specific cause.
/// `why` is what ended it ("the server process ended (signal 9)").
pub(crate) fn service_died(log: &Path, name: &str, why: &str, during: &str) -> Stop {
    let line = format!("{SERVER_EXITED_MARKER}: {why} during {during}");
    let ev = server_failure(
        log,
        Evidence {
            class: FailureClass::ServerExited,
            line: line.clone(),
        },
    );
    if let Err(e) = append(log, &format!("\n{line}\n")) {
        tracing::warn!("{e}");
    }
    Stop {
        reason: format!("the {name} exited during {during}"),
        evidence: ev,
    }
}

/// Starts `argv` in the background after writing what was started, with which environment, at
/// the top of its log: the first thing to read when a server misbehaves. Secrets among it are
/// redacted before the log leaves the machine (F15).
pub(crate) fn spawn_logged(
    engine: &mut dyn Engine,
    name: &str,
    argv: &[String],
    env: &BTreeMap<String, String>,
    log: &Path,
    now: i64,
) -> Result<ProcId, Stop> {
    let env_line: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    append(
        log,
        &format!(
            "sglci-runner: starting the {name} at {}: {}\nsglci-runner: environment: {}\n",
            sglci_core::date::utc_datetime(now),
            argv.join(" "),
            env_line.join(" ")
        ),
    )
    .map_err(|e| {
        stop(
            format!("the {name} log cannot be written"),
            FailureClass::Infrastructure,
            e.to_string(),
        )
    })?;
    engine.spawn(argv, env, log).map_err(|e| {
        stop(
            format!("the {name} could not be started"),
            FailureClass::Infrastructure,
            e.to_string(),
        )
    })
}

/// Starts the server and waits until it is ready (HTTP or its log line). Fails fast when the
/// process exits, with the class its log shows.
pub(crate) fn start_server(
    server: &ServerPlan,
    env: &BTreeMap<String, String>,
    log: &Path,
    engine: &mut dyn Engine,
    ctx: &Context<'_>,
) -> Result<(ProcId, u64), Stop> {
    let t0 = (ctx.clock)();
    let id = spawn_logged(engine, "server", &server.argv, env, log, t0)?;
    let limit = Instant::now() + Duration::from_secs(u64::from(server.ready_timeout_s));
    loop {
        if let Ok(Some(exit)) = engine.status(id) {
            let fallback = Evidence {
                class: FailureClass::Unclassified,
                line: format!("server exited during startup ({exit})"),
            };
            let ev = server_failure(log, fallback);
            return Err(Stop {
                reason: format!("the server exited during startup ({exit})"),
                evidence: ev,
            });
        }
        let marker =
            !server.ready.is_empty() && sglci_core::text::clean(&read(log)).contains(&server.ready);
        if marker || http_ready(server.port) {
            // The log line can come a moment before the port answers.
            let until = Instant::now() + Duration::from_secs(30);
            while !http_ready(server.port) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(250));
            }
            return Ok((id, ((ctx.clock)() - t0).max(0) as u64));
        }
        if Instant::now() > limit {
            engine.stop(id);
            let secs = server.ready_timeout_s;
            return Err(stop(
                format!("the server was not ready within {secs} s"),
                FailureClass::ServerStartTimeout,
                format!("server failed to start in time ({secs} s)"),
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The three services' logs and process ids.
pub(crate) struct Running {
    pub(crate) ids: Vec<(&'static str, ProcId, std::path::PathBuf)>,
}

impl Running {
    /// The first service that has exited, with its log.
    pub(crate) fn dead(
        &self,
        engine: &mut dyn Engine,
    ) -> Option<(&'static str, String, std::path::PathBuf)> {
        self.ids.iter().find_map(|(name, id, log)| {
            engine
                .status(*id)
                .ok()
                .flatten()
                .map(|exit| (*name, exit.to_string(), log.clone()))
        })
    }
}

/// How a wait for the services ended.
pub(crate) enum Waited {
    Ready,
    /// A service exited (its log's class, or `server_exited`).
    Died(Stop),
    /// The limit passed; the probe's last error.
    TimedOut(String),
}

/// Polls `probe` every `every` until it succeeds, a service dies, or `limit` passes.
pub(crate) fn wait_until(
    engine: &mut dyn Engine,
    running: &Running,
    during: &str,
    limit: Instant,
    every: Duration,
    probe: &mut dyn FnMut() -> Result<(), String>,
) -> Waited {
    loop {
        if let Some((name, exit, log)) = running.dead(engine) {
            return Waited::Died(service_died(
                &log,
                name,
                &format!("the {name} process ended ({exit})"),
                during,
            ));
        }
        let last = match probe() {
            Ok(()) => return Waited::Ready,
            Err(e) => e,
        };
        if Instant::now() > limit {
            return Waited::TimedOut(last);
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_server_is_named_by_its_last_words_or_the_marker() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = dir.path().join("sglang_server.log");
        std::fs::write(&log, "loading\nserving\n").expect("write");
        let s = service_died(
            &log,
            "server",
            "the server process ended (signal 9)",
            "request rate 2, run 1",
        );
        assert_eq!(s.evidence.class, FailureClass::ServerExited);
        let text = std::fs::read_to_string(&log).expect("read");
        assert!(text.contains(SERVER_EXITED_MARKER), "{text}");
        // The publisher reads the same log back to the same class.
        let parsed = sglci_core::parse::server_log::parse(text.as_bytes());
        assert_eq!(
            parsed.failure.map(|f| f.class),
            Some(FailureClass::ServerExited)
        );

        std::fs::write(&log, "x\nHIP out of memory. Tried to allocate 2 GiB\n").expect("write");
        let s = service_died(&log, "server", "ended", "GSM8K run 1");
        assert_eq!(s.evidence.class, FailureClass::GpuOutOfMemory);
    }
}
