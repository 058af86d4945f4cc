//! The deploy library (`--deploy NAME`): how a job is spread over GPUs and nodes, chosen per
//! run instead of fixed inside a suite.
//!
//! A deploy file (`suites/deploy/<name>.toml`, embedded; or any file by path) gives the
//! parallelism flags SGLang takes, the node count, the GPUs per node and optionally environment:
//!
//! ```toml
//! name = "tp8ep8"
//! description = "8-way TP, experts split 8 ways"
//! nnodes = 1
//! gpus_per_node = 8
//! [args]
//! "--tp" = 8
//! "--ep" = 8
//! ```
//!
//! Applied to a job, a deploy **owns the parallelism**: every parallelism flag the suite's layers
//! set (`--tp`, `--tp-size`, `--tensor-parallel-size`, and the same for EP, DP and PP, and
//! `--enable-dp-attention`) is removed from the server's and the offline benchmark's arguments,
//! then the deploy's arguments are added. So `--deploy tp8` over a suite that says `--ep 8`
//! runs without EP, and the command line never holds two spellings of one setting. It is the
//! last layer (after the variant's hardware layer), so it wins over every suite layer.
//!
//! Parsing is pure; errors name the file and the key.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Value;

use crate::suite::{invalid, Args, JobConfig, JobLayer, Kind, SuiteError};

/// Flags that say how a job is parallelised, by setting; every spelling SGLang accepts.
const PARALLELISM: &[&[&str]] = &[
    &["--tp", "--tp-size", "--tensor-parallel-size"],
    &["--ep", "--ep-size", "--expert-parallel-size"],
    &["--dp", "--dp-size", "--data-parallel-size"],
    &["--pp", "--pp-size", "--pipeline-parallel-size"],
    &["--enable-dp-attention"],
];

/// Flags a deploy may not set: the runner owns them (multi-node from `--nnodes`/`--node-rank`/
/// `--master`; the model from the suite and `--mconf`).
const RESERVED: &[&str] = &[
    "--nnodes",
    "--node-rank",
    "--dist-init-addr",
    "--model",
    "--model-path",
    "--port",
];

/// The bundled deploy files.
pub const BUNDLED: &[(&str, &str)] = &[
    ("tp1", include_str!("../../suites/deploy/tp1.toml")),
    ("tp8", include_str!("../../suites/deploy/tp8.toml")),
    ("tp8ep8", include_str!("../../suites/deploy/tp8ep8.toml")),
    (
        "tp8ep8dp8",
        include_str!("../../suites/deploy/tp8ep8dp8.toml"),
    ),
    (
        "tp16ep16",
        include_str!("../../suites/deploy/tp16ep16.toml"),
    ),
];

/// A parsed deploy file.
#[derive(Debug, Clone, PartialEq)]
pub struct Deploy {
    pub file: String,
    pub name: String,
    pub description: String,
    /// Nodes the job spans (1: one host).
    pub nnodes: u32,
    pub gpus_per_node: u32,
    pub args: Args,
    pub env: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default = "one")]
    nnodes: u32,
    gpus_per_node: u32,
    #[serde(default)]
    args: Args,
    #[serde(default)]
    env: BTreeMap<String, String>,
}

fn one() -> u32 {
    1
}

/// Parses a deploy file; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Deploy, SuiteError> {
    let d: DeployFile = toml::from_str(text).map_err(|e| SuiteError::Toml {
        file: file.to_owned(),
        reason: format!(
            "{} (hint: name, description, nnodes, gpus_per_node, [args], [env])",
            e.message()
        ),
    })?;
    if d.name.is_empty()
        || !d
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(file, "name", "letters, digits, `-` and `_` only"));
    }
    if !(1..=64).contains(&d.nnodes) {
        return Err(invalid(file, "nnodes", "between 1 and 64"));
    }
    if !(1..=64).contains(&d.gpus_per_node) {
        return Err(invalid(file, "gpus_per_node", "between 1 and 64"));
    }
    for (k, v) in &d.args {
        let at = format!("args.{k}");
        if !k.starts_with("--") {
            return Err(invalid(file, &at, "flags start with `--`"));
        }
        if RESERVED.contains(&k.as_str()) {
            return Err(invalid(
                file,
                &at,
                "set by the runner (hint: multi-node runs take `--nnodes`, `--node-rank` and `--master` on the command line; the model comes from the suite)",
            ));
        }
        if !matches!(
            v,
            Value::String(_) | Value::Integer(_) | Value::Float(_) | Value::Boolean(true)
        ) {
            return Err(invalid(
                file,
                &at,
                format!(
                    "a flag's value is a string, a number or true, not {}",
                    v.type_str()
                ),
            ));
        }
    }
    let deploy = Deploy {
        file: file.to_owned(),
        name: d.name,
        description: d.description,
        nnodes: d.nnodes,
        gpus_per_node: d.gpus_per_node,
        args: d.args,
        env: d.env,
    };
    let gpus = parallel_gpus(&deploy.args);
    if gpus != deploy.gpus() {
        return Err(invalid(
            file,
            "args",
            format!(
                "the flags use {gpus} GPU(s) but nnodes × gpus_per_node is {} (hint: TP × PP GPUs, times DP unless --enable-dp-attention)",
                deploy.gpus()
            ),
        ));
    }
    Ok(deploy)
}

/// A bundled deploy by name, or a deploy file by path (with a `/` or a `.toml` suffix).
pub fn load(name_or_file: &str) -> Result<Deploy, SuiteError> {
    crate::suite::load_named(
        name_or_file,
        BUNDLED,
        "suites/deploy",
        "--deploy",
        "deploy",
        parse,
    )
}

impl Deploy {
    /// Every GPU the deployment uses, over all nodes.
    pub fn gpus(&self) -> u32 {
        self.nnodes * self.gpus_per_node
    }
}

impl JobLayer for Deploy {
    fn name(&self) -> &str {
        &self.name
    }

    fn file(&self) -> &str {
        &self.file
    }

    fn nnodes(&self) -> u32 {
        self.nnodes
    }

    /// The job with this deployment's parallelism (see the module's overview). Kinds without
    /// SGLang arguments (PD, unit, image check, upstream) refuse a deploy.
    fn apply(&self, kind: Kind, config: &mut JobConfig, at: &str) -> Result<(), SuiteError> {
        if matches!(
            kind,
            Kind::Pd | Kind::Unit | Kind::ImageCheck | Kind::Upstream
        ) {
            return Err(invalid(
                &self.file,
                at,
                format!("a deploy applies to online, offline and sanity jobs, not to a {kind:?} job (hint: PD suites split GPUs with `pd.prefill_gpus`/`decode_gpus`)"),
            ));
        }
        let targets = config
            .server
            .iter_mut()
            .map(|s| &mut s.args)
            .chain(config.offline.iter_mut().map(|o| &mut o.args));
        for args in targets {
            args.retain(|flag, _| !is_parallelism(flag));
            args.extend(self.args.clone());
        }
        if let Some(o) = config.offline.as_mut() {
            for extra in o.at_batch_size.values_mut() {
                extra.retain(|flag, _| !is_parallelism(flag));
            }
        }
        config.env.extend(self.env.clone());
        Ok(())
    }
}

fn is_parallelism(flag: &str) -> bool {
    PARALLELISM.iter().any(|g| g.contains(&flag))
}

/// The value of the first spelling of a setting present in `args`.
fn setting(args: &Args, group: &[&str]) -> Option<u32> {
    group.iter().find_map(|f| match args.get(*f)? {
        Value::Integer(i) => u32::try_from(*i).ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

/// A command line's flags as an argument table (`--flag value`, or `true` for a bare flag).
pub fn args_of(argv: &[String]) -> Args {
    let mut out = Args::new();
    let mut i = 0;
    while i < argv.len() {
        if let Some(flag) = argv[i].strip_prefix("--").map(|_| argv[i].clone()) {
            match argv.get(i + 1).filter(|v| !v.starts_with("--")) {
                Some(v) => {
                    let value = v
                        .parse::<i64>()
                        .map_or_else(|_| Value::String(v.clone()), Value::Integer);
                    out.insert(flag, value);
                    i += 2;
                    continue;
                }
                None => {
                    out.insert(flag, Value::Boolean(true));
                }
            }
        }
        i += 1;
    }
    out
}

/// The GPUs a job's SGLang arguments use: TP × PP, times DP unless DP attention puts the DP
/// ranks inside the TP group (SGLang's rule). 1 when nothing is set.
pub fn parallel_gpus(args: &Args) -> u32 {
    let tp = setting(args, PARALLELISM[0]).unwrap_or(1).max(1);
    let dp = setting(args, PARALLELISM[2]).unwrap_or(1).max(1);
    let pp = setting(args, PARALLELISM[3]).unwrap_or(1).max(1);
    let dp_attention = matches!(
        args.get("--enable-dp-attention"),
        Some(Value::Boolean(true))
    );
    tp * pp * if dp_attention { 1 } else { dp }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_deploy_parses_and_counts_its_gpus() {
        for (name, text) in BUNDLED {
            let d = parse(text, name).expect(name);
            assert_eq!(&d.name, name);
        }
        assert_eq!(load("tp8ep8dp8").expect("bundled").gpus(), 8);
        assert_eq!(load("tp16ep16").expect("bundled").nnodes, 2);
    }

    #[test]
    fn errors_name_the_key_and_list_the_known_deploys() {
        let e = load("tp4").expect_err("unknown").to_string();
        assert!(e.contains("tp1, tp8, tp8ep8, tp8ep8dp8, tp16ep16"), "{e}");
        let e = parse(
            "name = \"x\"\ngpus_per_node = 8\n[args]\n\"--tp\" = 4\n",
            "d.toml",
        )
        .expect_err("4 of 8")
        .to_string();
        assert!(e.contains("d.toml: args: the flags use 4 GPU(s)"), "{e}");
        let e = parse(
            "name = \"x\"\ngpus_per_node = 1\n[args]\n\"--nnodes\" = 2\n",
            "d.toml",
        )
        .expect_err("reserved")
        .to_string();
        assert!(e.contains("args.--nnodes: set by the runner"), "{e}");
        let e = parse("name = \"x\"\ngpus = 1\n", "d.toml")
            .expect_err("unknown key")
            .to_string();
        assert!(e.contains("unknown field `gpus`"), "{e}");
    }

    #[test]
    fn gpus_follow_sglang_rule_for_dp_attention() {
        let args = |pairs: &[(&str, Value)]| -> Args {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect()
        };
        assert_eq!(parallel_gpus(&args(&[])), 1);
        assert_eq!(
            parallel_gpus(&args(&[
                ("--tp-size", Value::Integer(4)),
                ("--dp", Value::Integer(2))
            ])),
            8
        );
        assert_eq!(
            parallel_gpus(&args(&[
                ("--tp", Value::Integer(8)),
                ("--dp", Value::Integer(8)),
                ("--enable-dp-attention", Value::Boolean(true))
            ])),
            8
        );
    }
}
