//! One function per `sglci-runner` command: each takes its parsed arguments and returns the
//! command's stdout (JSON, or a report), or a [`RunnerError`] whose `exit_code()` the binary
//! exits with. `run` is in [`crate::run`].

mod exec;
mod gsm8k;
mod parse;

use sglci_core::ImageTag;

use crate::cli::{Cli, CliCommand, CliShip};
use crate::docker::DockerEngine;
use crate::error::RunnerError;
use crate::host::hub_fetch;
use crate::ship::{self, RunInfo, Shipped};
use crate::{destination, image};

/// Runs the command `cli` names.
pub fn dispatch(cli: Cli) -> Result<String, RunnerError> {
    match cli.command {
        CliCommand::Ship(args) => ship_dir(&args),
        CliCommand::Resolve {
            hardware,
            rocm,
            date,
            fallback_days,
            repo,
            hub_url,
            max_pages,
        } => {
            let first = match date {
                Some(d) if sglci_core::tag::valid_date(&d) => d,
                Some(d) => {
                    return Err(RunnerError::config(
                        format!("--date `{d}`"),
                        "expected YYYYMMDD",
                    ))
                }
                None => image::pacific_date(sglci_core::clock::unix_now(), 0),
            };
            let dates = image::fallback_dates(&first, fallback_days);
            let mut fetch = hub_fetch();
            let r = image::resolve(
                &hub_url, &repo, &hardware, &rocm, &dates, max_pages, &mut fetch,
            )?;
            json(&r)
        }
        CliCommand::Exec(args) => exec::exec(&args),
        CliCommand::Run(args) => crate::run::run(&args),
        CliCommand::Ab(args) => crate::ab::ab(&args),
        CliCommand::Gsm8k(args) => gsm8k::gsm8k(&args),
        CliCommand::Cleanup { run_id } => {
            let removed = DockerEngine::connect()?.cleanup(run_id.as_deref())?;
            Ok(serde_json::json!({ "removed": removed }).to_string())
        }
        CliCommand::Plan {
            suite,
            hardware,
            image,
            tailor,
        } => plan(&suite, &hardware, image.as_deref(), &tailor),
        CliCommand::Flush(b) => {
            let (store, queue) = destination::open(&b)?;
            let report = ship::flush(store.as_ref(), queue.as_ref(), &b.spool)?;
            if report.kept.is_empty() && report.set_aside.is_empty() {
                json(&report)
            } else {
                Err(RunnerError::Machine(format!(
                    "{} bundle(s) still spooled, {} set aside: {}",
                    report.kept.len(),
                    report.set_aside.len(),
                    serde_json::to_string(&report).unwrap_or_default()
                )))
            }
        }
        CliCommand::Tag {
            image,
            hardware,
            date,
        } => {
            let (identity, label) = implied(&image, hardware.as_deref(), date)?;
            json(&Implied {
                hardware: label.hardware().to_string(),
                date: label.date().to_owned(),
                version: label.version().to_owned(),
                build: label.rocm().to_owned(),
                commit: label.commit().map(str::to_owned),
                release_candidate: label.is_release_candidate(),
                identity,
            })
        }
        CliCommand::Parse { kind, file } => parse::parse(kind, &file),
    }
}

/// `tag`'s answer: the identity and the run label's fields.
#[derive(serde::Serialize)]
struct Implied {
    #[serde(flatten)]
    identity: sglci_core::ImageIdentity,
    hardware: String,
    date: String,
    version: String,
    build: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    release_candidate: bool,
}

/// What a reference implies without asking the host or the image (`tag`, `plan --image`): the
/// identity [`crate::identity::identify`] gives from the reference and `--hardware` alone.
fn implied(
    image: &str,
    hardware: Option<&str>,
    date: Option<String>,
) -> Result<(sglci_core::ImageIdentity, sglci_core::ImageTag), RunnerError> {
    let hardware = hardware
        .map(str::parse)
        .transpose()
        .map_err(|e| RunnerError::config("--hardware", e))?;
    let run_date = match date {
        Some(d) if sglci_core::tag::valid_date(&d) => d,
        Some(d) => {
            return Err(RunnerError::config(
                "--date",
                format!("`{d}` is not YYYYMMDD"),
            ))
        }
        None => image::pacific_date(sglci_core::clock::unix_now(), 0),
    };
    let inputs = crate::identity::IdentityInputs {
        hardware,
        run_date,
        ..Default::default()
    };
    crate::identity::identify(image, &inputs).map_err(|e| RunnerError::config(image, e))
}

/// A value as the command's pretty JSON.
pub(crate) fn json<T: serde::Serialize>(v: &T) -> Result<String, RunnerError> {
    serde_json::to_string_pretty(v).map_err(|e| RunnerError::Machine(e.to_string()))
}

/// `ship`: a run directory as a bundle (redacted), delivered or spooled.
fn ship_dir(args: &CliShip) -> Result<String, RunnerError> {
    let tag = ImageTag::from_image(&args.image).map_err(|e| RunnerError::config("--image", e))?;
    let run = RunInfo {
        run_id: args.run_id.clone(),
        hardware: tag.hardware().as_str().to_owned(),
        date: tag.date().to_owned(),
        image: tag.as_str().to_owned(),
        suite: args.suite.clone(),
        record: None,
    };
    let files = ship::collect(&args.dir).map_err(|e| RunnerError::Config(e.to_string()))?;
    let files = ship::redact_files(files, &sglci_core::redact::secret_values(std::env::vars()));
    if files.is_empty() {
        return Err(RunnerError::config(args.dir.display(), "no files to ship"));
    }
    let (store, queue) = destination::open(&args.backends)?;
    match ship::ship(store.as_ref(), queue.as_ref(), &args.backends.spool, &run, &files)? {
        Shipped::Delivered { manifest } => Ok(serde_json::json!({
            "delivered": manifest.as_str(), "files": files.len()
        })
        .to_string()),
        Shipped::Spooled { manifest, reason } => Err(RunnerError::Machine(format!(
            "{manifest}: not delivered ({reason}); kept in {} (hint: `sglci-runner flush` delivers it once the store and queue are back)",
            args.backends.spool.display()
        ))),
    }
}

/// `sglci-runner plan`: the resolved plan as JSON. With `--mconf <N>l` it also writes the
/// reduced configs it names (under `./sglci-runs/mconf`), so they can be read before a run; a
/// model directory that is not on this machine is only noted.
fn plan(
    suite: &str,
    hardware: &str,
    image: Option<&str>,
    tailor: &crate::cli::CliTailor,
) -> Result<String, RunnerError> {
    let root = crate::run::mconf_root(std::path::Path::new("sglci-runs"))?;
    let s = crate::suites::load_tailored(suite, tailor, &root)?;
    let mut plan = match image {
        None => crate::plan::plan(&s, hardware, None)?,
        Some(image) => {
            let (id, label) = implied(image, Some(hardware), None)?;
            let mut plan = crate::plan::plan(&s, hardware, Some(label.as_str()))?;
            plan.identity = Some(id);
            plan
        }
    };
    crate::profile::apply(
        &mut plan,
        tailor.profile,
        tailor.profile_load,
        &crate::run::absolute(std::path::Path::new("sglci-runs"))?,
    )
    .map_err(RunnerError::Config)?;
    let jobs: Vec<&crate::plan::PlannedJob> = plan.jobs.iter().collect();
    for job in jobs.iter().filter(|j| j.reduced.is_some()) {
        if let Err(e) = crate::reduced::write_all(&[job], tailor.model_config.as_deref(), &[]) {
            crate::host::say(&format!("{}: reduced config not written: {e}", job.id));
        }
    }
    json(&plan)
}
