//! Pure: a predecessor log-tree path → what kind of file it is and which run it belongs to.
//!
//! Layout (formats.md 1, predecessor.md 3.1): `online_benchmark_log/<hwfolder>/<MODEL>/<run dir>/…`,
//! `test/sanity_check_log/<hw>/<TAG>/…`, `test/pd/pd_log/<hw>/<TAG>[_rerun]/…`,
//! `test/unit-test-backend-8-gpu-CAR-amd/<hw>/<TAG>[-RC].log`, `cron_log/<hw>/<YYYYMMDD>/…`,
//! `upstream_ci/ci_report/…`, `alert_log/<hw>/…`, `plot/<hw>/<MODEL>/online/…`.
//! The hardware folder is never trusted: `unknown/` holds mi35x runs and some folders are
//! misnamed. Hardware comes from the image tag.

use sglci_core::tag::valid_date;
use sglci_core::ImageTag;

/// Every kind of file the backfill knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    OnlineCsv,
    OfflineCsv,
    ClientLog,
    BenchJsonl,
    Gsm8kLog,
    ServerLog,
    OnlineTiming,
    PlotsLog,
    SanityTiming,
    SanityClient,
    SanityWarmup,
    SanityServer,
    PdSummary,
    PdGsm8k,
    PdServer,
    PdRouter,
    PdMain,
    UnitTest,
    Cron,
    Upstream,
    UpstreamMarkdown,
    Alert,
    /// `ab_log/<hw>/<ab id>/comparison.json`: an A/B comparison record.
    AbRecord,
    /// A torch profiler trace under a run folder's `profile/` (F22).
    Trace,
    /// `efficiency.json` in an online or offline run folder: the model's shape, GPUs and type
    /// (F70), for tokens/s per GPU and MFU.
    Efficiency,
    PlotImage,
    /// Recognised as not data (README, screenshots, the derived SQLite DB, `.gitkeep`).
    NotData,
    Unrecognized,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnlineCsv => "online_csv",
            Self::OfflineCsv => "offline_csv",
            Self::ClientLog => "client_log",
            Self::BenchJsonl => "bench_jsonl",
            Self::Gsm8kLog => "gsm8k_log",
            Self::ServerLog => "server_log",
            Self::OnlineTiming => "online_timing",
            Self::PlotsLog => "plots_log",
            Self::SanityTiming => "sanity_timing",
            Self::SanityClient => "sanity_client",
            Self::SanityWarmup => "sanity_warmup",
            Self::SanityServer => "sanity_server",
            Self::PdSummary => "pd_summary",
            Self::PdGsm8k => "pd_gsm8k",
            Self::PdServer => "pd_server",
            Self::PdRouter => "pd_router",
            Self::PdMain => "pd_main",
            Self::UnitTest => "unit_test",
            Self::Cron => "cron",
            Self::Upstream => "upstream_report",
            Self::UpstreamMarkdown => "upstream_markdown",
            Self::Alert => "alert_card",
            Self::AbRecord => "ab_record",
            Self::Efficiency => "efficiency",
            Self::Trace => "trace",
            Self::PlotImage => "plot_image",
            Self::NotData => "not_data",
            Self::Unrecognized => "unrecognized",
        }
    }
}

/// Where a file sits in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// An online run folder: `run_dir` relative to the root, `model` the model folder.
    Online {
        run_dir: String,
        model: String,
        tag: ImageTag,
        variant: String,
        load: Option<u32>,
        run: Option<u32>,
    },
    Offline {
        run_dir: String,
        model: String,
        tag: ImageTag,
        mode: String,
    },
    Sanity {
        run_dir: String,
        tag: ImageTag,
        model: Option<String>,
        trial: Option<String>,
    },
    Pd {
        run_dir: String,
        tag: ImageTag,
    },
    Unit {
        tag: ImageTag,
    },
    Cron {
        hardware: String,
        date: String,
        file: String,
    },
    Upstream {
        date: String,
    },
    Alert,
    Plot,
    /// An A/B comparison's folder (`ab_log/<hw>/<ab id>`).
    Ab {
        folder: String,
    },
    None,
}

impl Place {
    /// The run folder a file belongs to, for kinds grouped by folder.
    pub fn run_dir(&self) -> Option<&str> {
        match self {
            Place::Online { run_dir, .. }
            | Place::Offline { run_dir, .. }
            | Place::Sanity { run_dir, .. }
            | Place::Pd { run_dir, .. } => Some(run_dir),
            _ => None,
        }
    }

    /// The image tag of the run, when the path names one.
    pub fn tag(&self) -> Option<&ImageTag> {
        match self {
            Place::Online { tag, .. }
            | Place::Offline { tag, .. }
            | Place::Sanity { tag, .. }
            | Place::Pd { tag, .. }
            | Place::Unit { tag } => Some(tag),
            _ => None,
        }
    }
}

/// The result of classifying a path: a kind and a place, or the reason it was not recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub kind: FileKind,
    pub place: Place,
    /// Why the file cannot be interpreted, decided from the path alone.
    pub reject: Option<String>,
}

fn reject(kind: FileKind, why: impl Into<String>) -> Classified {
    Classified {
        kind,
        place: Place::None,
        reject: Some(why.into()),
    }
}

/// Not data, but part of a run folder: kept with the run (its page links it), not parsed.
fn kept(place: Place, why: impl Into<String>) -> Classified {
    Classified {
        kind: FileKind::NotData,
        place,
        reject: Some(why.into()),
    }
}

fn ok(kind: FileKind, place: Place) -> Classified {
    Classified {
        kind,
        place,
        reject: None,
    }
}

/// `<tag>_<MODEL>_<QUANT>_online<suffix>`: the tag and the variant (the suffix after `_online`
/// without its leading underscore, spec section 3).
pub fn parse_run_dir(name: &str) -> Option<(ImageTag, String)> {
    let (tag, rest) = ImageTag::parse_prefix(name).ok()?;
    let at = rest.rfind("_online")?;
    let suffix = &rest[at + "_online".len()..];
    Some((tag, suffix.strip_prefix('_').unwrap_or(suffix).to_owned()))
}

/// `sglang_client_log_GROK1_aiter_8_run1_20251210_115124.log` → (8, 1);
/// `sglang_serving_benchmark_concurrency_128_run1_20251216_100533.log` → (128, 1).
fn client_load(file: &str) -> Option<(u32, u32)> {
    let stem = file.strip_suffix(".log")?;
    let body = if let Some(rest) = stem.strip_prefix("sglang_serving_benchmark_concurrency_") {
        rest
    } else {
        let rest = stem.strip_prefix("sglang_client_log_")?;
        match rest.find("_aiter_").or_else(|| rest.find("_triton_")) {
            Some(i) => rest[i + 1..].split_once('_')?.1,
            // Any other backend (sglci's smoke suite writes `_llamacpp_`): the name ends in
            // `<load>_run<k>_<YYYYMMDD>_<HHMMSS>`, read from the right.
            None => {
                let mut right = rest.rsplitn(5, '_');
                let (time, date, run, load) =
                    (right.next()?, right.next()?, right.next()?, right.next()?);
                let digits =
                    |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
                if !(digits(time, 6) && digits(date, 8) && run.starts_with("run")) {
                    return None;
                }
                &rest[rest.len() - (load.len() + run.len() + date.len() + time.len() + 3)..]
            }
        }
    };
    let mut parts = body.split('_');
    let load = parts.next()?.parse().ok()?;
    let run = parts.next()?.strip_prefix("run")?.parse().ok()?;
    Some((load, run))
}

/// `<tag>_<MODEL>_<QUANT>_offline[_long_context|_dummy]` → the tag and the mode.
pub fn parse_offline_dir(name: &str) -> Option<(ImageTag, String)> {
    let (tag, rest) = ImageTag::parse_prefix(name).ok()?;
    let at = rest.rfind("_offline")?;
    let mode = match &rest[at + "_offline".len()..] {
        "" => "normal",
        "_long_context" => "long_context",
        "_dummy" => "dummy",
        _ => return None,
    };
    Some((tag, mode.to_owned()))
}

fn offline(parts: &[&str]) -> Classified {
    // offline_benchmark_log / hwfolder / MODEL / run dir / file (the predecessor's local
    // `offline/MODEL/dir/file` layout is accepted too).
    let n = parts.len();
    if n < 4 {
        return reject(
            FileKind::Unrecognized,
            "expected `offline_benchmark_log/<hw>/<MODEL>/<run dir>/<file>`",
        );
    }
    // `<run dir>/profile/<trace>`: the run folder is one level up.
    let traced = n >= 5 && parts[n - 2] == "profile";
    let top = if traced { n - 1 } else { n };
    let (model, dir, file) = (parts[top - 3], parts[top - 2], parts[n - 1]);
    let Some((tag, mode)) = parse_offline_dir(dir) else {
        return reject(FileKind::Unrecognized, format!("folder `{dir}` is not an offline run folder `<tag>_<MODEL>_<QUANT>_offline[_long_context|_dummy]`"));
    };
    let place = Place::Offline {
        run_dir: parts[..top - 1].join("/"),
        model: model.to_owned(),
        tag,
        mode,
    };
    if traced {
        return trace_file(file, place);
    }
    if file == "efficiency.json" {
        return ok(FileKind::Efficiency, place);
    }
    if !file.ends_with(".csv") || file.contains("summary") {
        return kept(place, format!("`{file}` is not an offline result CSV (logs and config are kept with the run, not parsed)"));
    }
    ok(FileKind::OfflineCsv, place)
}

/// A file under a run folder's `profile/`: a trace (`*.json` or `*.json.gz`), else kept.
fn trace_file(file: &str, place: Place) -> Classified {
    if file.ends_with(".json.gz") || file.ends_with(".json") {
        ok(FileKind::Trace, place)
    } else {
        kept(
            place,
            format!("`{file}` in a profile folder is not a torch trace (kept with the run)"),
        )
    }
}

fn online(parts: &[&str]) -> Classified {
    // online_benchmark_log / hwfolder / MODEL / run dir / file (or profile / trace)
    let traced = parts.len() == 6 && parts[4] == "profile";
    if parts.len() != 5 && !traced {
        return reject(
            FileKind::Unrecognized,
            "expected `online_benchmark_log/<hw>/<MODEL>/<run dir>/<file>`",
        );
    }
    let (model, dir, file) = (parts[2], parts[3], parts[parts.len() - 1]);
    let Some((tag, variant)) = parse_run_dir(dir) else {
        return reject(
            FileKind::Unrecognized,
            format!("folder `{dir}` is not a run folder `<tag>_<MODEL>_<QUANT>_online[_variant]`"),
        );
    };
    let run_dir = parts[..4].join("/");
    let place = |load: Option<(u32, u32)>| Place::Online {
        run_dir: run_dir.clone(),
        model: model.to_owned(),
        tag: tag.clone(),
        variant: variant.clone(),
        load: load.map(|l| l.0),
        run: load.map(|l| l.1),
    };
    if traced {
        return trace_file(file, place(None));
    }
    if file.ends_with(".csv") {
        return ok(FileKind::OnlineCsv, place(None));
    }
    if file.ends_with(".jsonl") {
        return ok(FileKind::BenchJsonl, place(None));
    }
    if file.starts_with("sglang_client_log_") && file.contains("_gsm8k") {
        return ok(FileKind::Gsm8kLog, place(None));
    }
    if let Some(load) = client_load(file) {
        return ok(FileKind::ClientLog, place(Some(load)));
    }
    match file {
        "sglang_server.log"
        | "server_output_aiter.log"
        | "server.log"
        | "server_output_triton.log" => ok(FileKind::ServerLog, place(None)),
        "process_and_generate_online_plots.log" => ok(FileKind::PlotsLog, place(None)),
        "efficiency.json" => ok(FileKind::Efficiency, place(None)),
        // sglci-runner's typed account of the run (F16). The rows come from the logs beside it,
        // through the same parsers as the legacy tree, so it is kept, not parsed.
        "results.json" => kept(
            place(None),
            "sglci-runner results (the numbers are read from the logs beside it)",
        ),
        f if f.starts_with("timing_summary_") && f.ends_with(".log") => {
            ok(FileKind::OnlineTiming, place(None))
        }
        _ => reject(
            FileKind::Unrecognized,
            format!("unknown file `{file}` in an online run folder"),
        ),
    }
}

/// `GPT-OSS-120B_mi30x_client_try2.log` → model `GPT-OSS-120B`.
fn sanity_model(stem: &str) -> Option<String> {
    stem.rsplit_once('_')
        .map(|(m, _hw)| m.to_owned())
        .filter(|m| !m.is_empty())
}

fn sanity(parts: &[&str]) -> Classified {
    // test / sanity_check_log / hw / TAG / file
    if parts.len() != 5 {
        return reject(
            FileKind::Unrecognized,
            "expected `test/sanity_check_log/<hw>/<TAG>/<file>`",
        );
    }
    let Ok(tag) = parts[3].parse::<ImageTag>() else {
        return reject(
            FileKind::Unrecognized,
            format!("folder `{}` is not an image tag", parts[3]),
        );
    };
    let run_dir = parts[..4].join("/");
    let file = parts[4];
    let place = |model: Option<String>, trial: Option<String>| Place::Sanity {
        run_dir: run_dir.clone(),
        tag: tag.clone(),
        model,
        trial,
    };
    if file.starts_with("timing_summary_") && file.ends_with(".log") {
        return ok(FileKind::SanityTiming, place(None, None));
    }
    if let Some(stem) = file.strip_suffix(".log") {
        if let Some((head, n)) = stem.rsplit_once("_client_try") {
            if n.parse::<u32>().is_ok() {
                return ok(
                    FileKind::SanityClient,
                    place(sanity_model(head), Some(n.to_owned())),
                );
            }
        }
        if let Some(head) = stem.strip_suffix("_warmup") {
            return ok(
                FileKind::SanityWarmup,
                place(sanity_model(head), Some("warmup".to_owned())),
            );
        }
        if let Some(head) = stem.strip_suffix("_server") {
            return ok(FileKind::SanityServer, place(sanity_model(head), None));
        }
    }
    reject(
        FileKind::Unrecognized,
        format!("unknown file `{file}` in a sanity folder"),
    )
}

fn pd(parts: &[&str]) -> Classified {
    // test / pd / pd_log / hw / TAG[_rerun] / file
    if parts.len() == 5 && parts[4] == ".gitkeep" {
        return reject(FileKind::NotData, "placeholder `.gitkeep`");
    }
    if parts.len() != 6 {
        return reject(
            FileKind::Unrecognized,
            "expected `test/pd/pd_log/<hw>/<TAG>[_rerun]/<file>`",
        );
    }
    let dir = parts[4];
    let tag_part = dir.split('_').next().unwrap_or(dir);
    let Ok(tag) = tag_part.parse::<ImageTag>() else {
        return reject(
            FileKind::Unrecognized,
            format!("folder `{dir}` does not start with an image tag"),
        );
    };
    let place = Place::Pd {
        run_dir: parts[..5].join("/"),
        tag,
    };
    match parts[5] {
        "test_summary.txt" => ok(FileKind::PdSummary, place),
        "test_gsm8k.log" => ok(FileKind::PdGsm8k, place),
        "prefill.log" | "decode.log" => ok(FileKind::PdServer, place),
        "load_balance.log" => ok(FileKind::PdRouter, place),
        "main_execution.log" => ok(FileKind::PdMain, place),
        f => reject(
            FileKind::Unrecognized,
            format!("unknown file `{f}` in a PD folder"),
        ),
    }
}

fn unit(parts: &[&str]) -> Classified {
    // test / unit-test-backend-8-gpu-CAR-amd / hw / TAG[-RC].log
    if parts.len() != 4 {
        return reject(
            FileKind::Unrecognized,
            "expected `test/unit-test-backend-8-gpu-CAR-amd/<hw>/<TAG>.log`",
        );
    }
    let Some(stem) = parts[3].strip_suffix(".log") else {
        return reject(FileKind::Unrecognized, "unit-test logs end in `.log`");
    };
    match stem.parse::<ImageTag>() {
        Ok(tag) => ok(FileKind::UnitTest, Place::Unit { tag }),
        Err(e) => reject(
            FileKind::Unrecognized,
            format!("file name is not `<TAG>.log`: {e}"),
        ),
    }
}

/// Classifies a path relative to the root of a predecessor log tree, `/`-separated.
pub fn classify(rel: &str) -> Classified {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["online_benchmark_log", ..] => online(&parts),
        ["offline_benchmark_log", _, _, _, _]
        | ["offline_benchmark_log", _, _, _, "profile", _]
        | ["offline", _, _, _]
        | ["offline", _, _, "profile", _] => offline(&parts),
        ["test", "sanity_check_log", ..] => sanity(&parts),
        ["test", "pd", ..] => pd(&parts),
        ["test", t, ..] if t.starts_with("unit-test-") => unit(&parts),
        ["cron_log", hw, date, file] => {
            if !valid_date(date) {
                return reject(
                    FileKind::Unrecognized,
                    format!("cron folder `{date}` is not a date `YYYYMMDD`"),
                );
            }
            if !file.contains(".log") {
                return reject(
                    FileKind::Unrecognized,
                    format!("cron file `{file}` is not a `.log`"),
                );
            }
            ok(
                FileKind::Cron,
                Place::Cron {
                    hardware: (*hw).to_owned(),
                    date: (*date).to_owned(),
                    file: (*file).to_owned(),
                },
            )
        }
        ["upstream_ci", "ci_report", file] => {
            let date = file
                .strip_prefix("sglang_ci_report_")
                .and_then(|f| f.split('.').next())
                .filter(|d| valid_date(d));
            match (date, file.rsplit('.').next()) {
                (Some(d), Some("csv")) => {
                    ok(FileKind::Upstream, Place::Upstream { date: d.to_owned() })
                }
                (Some(d), Some("md")) => ok(
                    FileKind::UpstreamMarkdown,
                    Place::Upstream { date: d.to_owned() },
                ),
                _ => reject(
                    FileKind::Unrecognized,
                    format!("`{file}` is not `sglang_ci_report_<YYYYMMDD>.csv|md`"),
                ),
            }
        }
        ["alert_log", _, file] if file.ends_with(".json") => ok(FileKind::Alert, Place::Alert),
        ["ab_log", _, _, file] if *file == sglci_core::ab::AB_FILE => ok(
            FileKind::AbRecord,
            Place::Ab {
                folder: parts[..3].join("/"),
            },
        ),
        ["ab_log", _, _, _] => reject(
            FileKind::NotData,
            "A/B markdown (rendered from its comparison.json)",
        ),
        ["plot", _, _, _, file] if file.ends_with(".png") => ok(FileKind::PlotImage, Place::Plot),
        ["dashboard_screenshots", ..] => reject(
            FileKind::NotData,
            "dashboard screenshot (an image of derived data)",
        ),
        ["database", "ci_dashboard.db"] => reject(
            FileKind::NotData,
            "the predecessor's dashboard DB is derived data; history is rebuilt from the raw files",
        ),
        ["README.md"] => reject(FileKind::NotData, "documentation"),
        _ => reject(
            FileKind::Unrecognized,
            "path does not match any known layout of the predecessor's log tree",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_dirs_and_variants() {
        let (tag, v) = parse_run_dir("v0.5.3.post1-rocm630-mi30x-20251013_DeepSeek-V3-0324_FP8_online_dp_attention_torch_compile").expect("dir");
        assert_eq!(tag.date(), "20251013");
        assert_eq!(v, "dp_attention_torch_compile");
        let (_, v) = parse_run_dir(
            "v0.5.4.post2-rocm700-mi30x-20251101_GROK2_FP8_online.backup_20251102_231834",
        )
        .expect("dir");
        assert_eq!(v, ".backup_20251102_231834");
        assert!(parse_run_dir("bench_results").is_none());
    }

    #[test]
    fn offline_folders() {
        let c = classify("offline_benchmark_log/mi30x/GROK1/v0.5.6-rocm700-mi30x-20251204_GROK1_MOE-I4F8_offline_long_context/v0.5.6-rocm700-mi30x-20251204_GROK1_MOE-I4F8_offline_long_context.csv");
        assert_eq!(c.kind, FileKind::OfflineCsv);
        assert!(matches!(c.place, Place::Offline { ref mode, .. } if mode == "long_context"));
        assert_eq!(
            classify(
                "offline/GROK1/v0.5.6-rocm700-mi30x-20251204_GROK1_MOE-I4F8_offline/config.json"
            )
            .kind,
            FileKind::NotData
        );
    }

    #[test]
    fn hardware_comes_from_the_tag() {
        let c = classify("online_benchmark_log/unknown/GROK1/v0.5.5-rocm700-mi35x-20251110_GROK1_MOE-I4F8_online/server_output_aiter.log");
        match c.place {
            Place::Online { tag, .. } => assert_eq!(tag.hardware().as_str(), "mi35x"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn client_logs_name_their_load() {
        assert_eq!(
            client_load("sglang_client_log_GROK1_aiter_16_run3_20251013_120000.log"),
            Some((16, 3))
        );
        assert_eq!(
            client_load("sglang_serving_benchmark_concurrency_128_run1_20251216_100533.log"),
            Some((128, 1))
        );
        assert_eq!(client_load("sglang_client_log_GROK1_gsm8k_aiter.log"), None);
        assert_eq!(
            client_load("sglang_client_log_GEMMA3-270M_llamacpp_0.5_run2_20261125_101500.log"),
            None,
            "loads are whole numbers"
        );
        assert_eq!(
            client_load("sglang_client_log_GEMMA3-270M_llamacpp_4_run2_20261125_101500.log"),
            Some((4, 2))
        );
        assert_eq!(
            client_load("sglang_client_log_X_llamacpp_4_run2_2026112_101500.log"),
            None
        );
    }

    #[test]
    fn sanity_names() {
        let c = classify(
            "test/sanity_check_log/mi35x/v0.5.6-rocm700-mi35x-20251215/GROK1-IN4_mi35x_warmup.log",
        );
        assert_eq!(c.kind, FileKind::SanityWarmup);
        match c.place {
            Place::Sanity { model, trial, .. } => {
                assert_eq!(model.as_deref(), Some("GROK1-IN4"));
                assert_eq!(trial.as_deref(), Some("warmup"));
            }
            other => panic!("{other:?}"),
        }
    }
}
