//! F14 failure taxonomy: every failed task gets a class and the line that proves it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a task failed. Infrastructure classes are kept apart from product regressions (F60).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    ImageMissing,
    PullFailed,
    GpuBusy,
    ServerStartTimeout,
    /// The server process died after it was ready (during the gate or the sweep).
    ServerExited,
    GpuOutOfMemory,
    MemoryAccessFault,
    ImportError,
    NcclError,
    JitDeadlock,
    AccuracyBelowThreshold,
    ClientErrors,
    Timeout,
    Cancelled,
    Infrastructure,
    /// The task failed but no known marker explains why.
    Unclassified,
}

impl FailureClass {
    pub const ALL: [FailureClass; 16] = [
        Self::ImageMissing,
        Self::PullFailed,
        Self::GpuBusy,
        Self::ServerStartTimeout,
        Self::ServerExited,
        Self::GpuOutOfMemory,
        Self::MemoryAccessFault,
        Self::ImportError,
        Self::NcclError,
        Self::JitDeadlock,
        Self::AccuracyBelowThreshold,
        Self::ClientErrors,
        Self::Timeout,
        Self::Cancelled,
        Self::Infrastructure,
        Self::Unclassified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ImageMissing => "image_missing",
            Self::PullFailed => "pull_failed",
            Self::GpuBusy => "gpu_busy",
            Self::ServerStartTimeout => "server_start_timeout",
            Self::ServerExited => "server_exited",
            Self::GpuOutOfMemory => "gpu_out_of_memory",
            Self::MemoryAccessFault => "memory_access_fault",
            Self::ImportError => "import_error",
            Self::NcclError => "nccl_error",
            Self::JitDeadlock => "jit_deadlock",
            Self::AccuracyBelowThreshold => "accuracy_below_threshold",
            Self::ClientErrors => "client_errors",
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
            Self::Infrastructure => "infrastructure",
            Self::Unclassified => "unclassified",
        }
    }

    /// Failures of the machine or the pipeline rather than of the software under test; such runs
    /// never serve as baselines and never alert as regressions.
    pub fn is_infrastructure(self) -> bool {
        matches!(
            self,
            Self::ImageMissing
                | Self::PullFailed
                | Self::GpuBusy
                | Self::Cancelled
                | Self::Infrastructure
        )
    }
}

impl std::str::FromStr for FailureClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown failure class `{s}`"))
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The line prefix sglci-runner appends to the server log when the server process died after it
/// was ready; the publisher's classifier reads it back.
pub const SERVER_EXITED_MARKER: &str = "sglci-runner: server exited unexpectedly";

/// Substring markers, most specific first. They are matched as substrings because real logs glue
/// them to progress-bar text.
const MARKERS: &[(&str, FailureClass)] = &[
    (
        "Memory access fault by GPU",
        FailureClass::MemoryAccessFault,
    ),
    (
        "RuntimeError: Not enough memory",
        FailureClass::GpuOutOfMemory,
    ),
    ("OutOfMemoryError", FailureClass::GpuOutOfMemory),
    ("CUDA out of memory", FailureClass::GpuOutOfMemory),
    ("HIP out of memory", FailureClass::GpuOutOfMemory),
    ("HIP error: out of memory", FailureClass::GpuOutOfMemory),
    ("Error: Out of memory", FailureClass::GpuOutOfMemory),
    ("Kernel compilation deadlock", FailureClass::JitDeadlock),
    ("Aiter JIT builder hung", FailureClass::JitDeadlock),
    ("waiting for baton release", FailureClass::JitDeadlock),
    ("ModuleNotFoundError:", FailureClass::ImportError),
    ("ImportError:", FailureClass::ImportError),
    ("OSError: Can't load", FailureClass::ImportError),
    ("NCCL error", FailureClass::NcclError),
    ("RCCL error", FailureClass::NcclError),
    ("ncclInternalError", FailureClass::NcclError),
    ("ncclUnhandledCudaError", FailureClass::NcclError),
    (
        "No accelerator (CUDA, XPU, HPU) is available",
        FailureClass::Infrastructure,
    ),
    ("Driver not initialized", FailureClass::Infrastructure),
    ("amdgpu not found in modules", FailureClass::Infrastructure),
    ("No space left on device", FailureClass::Infrastructure),
    (
        "Cannot connect to the Docker daemon",
        FailureClass::Infrastructure,
    ),
    ("Failed to pull", FailureClass::PullFailed),
    ("manifest unknown", FailureClass::PullFailed),
    (
        "Could not find and pull any valid",
        FailureClass::ImageMissing,
    ),
    (
        "Could not find and obtain any valid",
        FailureClass::ImageMissing,
    ),
    ("No image found for today", FailureClass::ImageMissing),
    // "GPU is busy" alone is not a failure: the predecessor printed it and carried on.
    ("GPU still busy after", FailureClass::GpuBusy),
    (
        "server failed to start in time",
        FailureClass::ServerStartTimeout,
    ),
    (
        "Health check failed after",
        FailureClass::ServerStartTimeout,
    ),
    ("Server startup: FAILED", FailureClass::ServerStartTimeout),
    // Written by sglci-runner when the server process dies under load (nothing else may say why).
    (SERVER_EXITED_MARKER, FailureClass::ServerExited),
    ("timed out", FailureClass::Timeout),
    ("Timeout", FailureClass::Timeout),
    ("SIGTERM", FailureClass::Cancelled),
    ("output.error=", FailureClass::ClientErrors),
    ("ConnectionRefusedError", FailureClass::ClientErrors),
    ("Remote end closed connection", FailureClass::ClientErrors),
];

/// A classified failure with the line that shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub class: FailureClass,
    pub line: String,
}

/// Classifies one line, if any marker is in it.
pub fn classify_line(line: &str) -> Option<FailureClass> {
    MARKERS
        .iter()
        .find(|(m, _)| line.contains(m))
        .map(|&(_, c)| c)
}

/// The first (most specific) failure evidenced in `lines`: markers are ranked by their order in
/// the table, so a memory fault wins over the timeout it caused.
pub fn classify<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<Evidence> {
    let mut best: Option<(usize, &str)> = None;
    for line in lines {
        if let Some(rank) = MARKERS.iter().position(|(m, _)| line.contains(m)) {
            if best.is_none_or(|(b, _)| rank < b) {
                best = Some((rank, line));
            }
        }
    }
    best.map(|(rank, line)| Evidence {
        class: MARKERS[rank].1,
        line: crate::text::evidence(line, 240),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_marker_wins() {
        let lines = [
            "Timeout waiting",
            "x Memory access fault by GPU node-5 (Agent handle: 0x1)",
        ];
        let ev = classify(lines).expect("evidence");
        assert_eq!(ev.class, FailureClass::MemoryAccessFault);
        assert!(ev.line.starts_with("x Memory access fault"));
    }

    #[test]
    fn infrastructure_classes() {
        assert!(FailureClass::ImageMissing.is_infrastructure());
        assert!(!FailureClass::GpuOutOfMemory.is_infrastructure());
        assert_eq!(classify(["all good"]), None);
    }
}
