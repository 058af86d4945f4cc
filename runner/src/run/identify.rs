//! The shell side of a run's identity: ask the host's vendor tool for its GPUs' names, `docker
//! inspect` the image, and run the probe inside it (a container of the image, or this machine
//! for local runs). Each answer is optional: what no one can say stays unknown, and only a
//! disagreement about the hardware stops the run ([`crate::identity::identify`]).

use std::path::Path;
use std::time::Duration;

use sglci_core::Hardware;

use crate::cli::CliEngine;
use crate::container::{self, Placement};
use crate::docker::{DockerEngine, DockerJob};
use crate::engine::{run_to_end, Engine, LocalEngine, RunEnd};
use crate::identity::{host_gpu, probe, HostGpus, ImageFacts, Probe};

/// The host's GPUs, from the first vendor tool that answers (none on a CPU run). Tools of the
/// other vendor are skipped when the hardware is known.
pub(crate) fn host_gpus(hardware: Option<&Hardware>) -> Option<HostGpus> {
    use sglci_core::Vendor;
    let vendor = hardware.map(Hardware::vendor);
    if vendor == Some(Vendor::Cpu) {
        return None;
    }
    for p in &host_gpu::NAME_PROBES {
        let nvidia = p.tool == "nvidia-smi";
        if vendor.is_some_and(|v| (v == Vendor::Nvidia) != nvidia) {
            continue;
        }
        let Ok(out) = std::process::Command::new(p.tool).args(p.args).output() else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        match (p.parse)(&String::from_utf8_lossy(&out.stdout)) {
            Ok(g) => {
                tracing::info!(product = %g.product, count = g.count, hardware = %g.hardware, "host GPUs");
                return Some(g);
            }
            Err(e) => tracing::warn!("{e}"),
        }
    }
    None
}

/// `docker inspect` of the image (after the pull).
pub(crate) fn image_facts(image: &str) -> Option<ImageFacts> {
    match DockerEngine::connect().and_then(|d| d.image_facts(image)) {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::warn!("{e}");
            None
        }
    }
}

/// Runs the probe where the jobs will run; its output is kept in `log`.
pub(crate) fn probe_image(kind: CliEngine, placement: &Placement<'_>, log: &Path) -> Option<Probe> {
    let argv = [
        "python3".to_owned(),
        "-c".to_owned(),
        probe::PROBE.to_owned(),
    ];
    let mut engine: Box<dyn Engine> = match kind {
        CliEngine::Local => Box::new(LocalEngine::default()),
        CliEngine::Docker => {
            let spec = container::spec(placement);
            match DockerEngine::connect().and_then(|d| DockerJob::start(d, &spec)) {
                Ok(j) => Box::new(j),
                Err(e) => {
                    tracing::warn!("probe container: {e}");
                    return None;
                }
            }
        }
    };
    let ended = run_to_end(
        engine.as_mut(),
        &argv,
        &Default::default(),
        log,
        Duration::from_secs(120),
        &mut |_| None,
    );
    engine.teardown();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    match (ended, probe::parse(&text)) {
        (Ok(RunEnd::Exited(_)), Ok(p)) => Some(p),
        (ended, parsed) => {
            tracing::warn!(
                ?ended,
                ?parsed,
                "the image could not be probed; its versions stay unknown"
            );
            None
        }
    }
}
