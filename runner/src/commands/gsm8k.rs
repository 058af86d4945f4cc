//! `gsm8k`: sglci's own GSM8K client against an OpenAI-completions server, printing what
//! `bench_sglang.py` prints (or the PD test's report).

use crate::cli::{CliGsm8k, CliGsm8kReport};
use crate::error::RunnerError;
use crate::{gsm8k, gsm8k_client};

/// The questions: a URL (the predecessor's PD client read GSM8K from GitHub; a GPU host may do
/// the same), a file, or the ones shipped with sglci.
fn questions(data: Option<&str>) -> Result<(String, String), RunnerError> {
    Ok(match data {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => (
            ureq::AgentBuilder::new()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .get(url)
                .call()
                .map_err(|e| e.to_string())
                .and_then(|r| r.into_string().map_err(|e| e.to_string()))
                .map_err(|e| {
                    RunnerError::Machine(format!(
                        "--data {url}: {e} (hint: give a local copy of the GSM8K test set)"
                    ))
                })?,
            url.to_owned(),
        ),
        Some(p) => (
            std::fs::read_to_string(p)
                .map_err(|e| RunnerError::config(format!("--data {p}"), e))?,
            p.to_owned(),
        ),
        None => (
            gsm8k::SMOKE_QUESTIONS.to_owned(),
            "suites/smoke/gsm8k.jsonl".to_owned(),
        ),
    })
}

pub(super) fn gsm8k(args: &CliGsm8k) -> Result<String, RunnerError> {
    let (text, file) = questions(args.data.as_deref())?;
    let items = gsm8k::parse_items(&text, &file).map_err(RunnerError::Config)?;
    let loaded = items.len();
    let req = gsm8k_client::Request {
        base_url: format!("{}:{}", args.host.trim_end_matches('/'), args.port),
        items,
        shots: args.num_shots,
        questions: args.num_questions,
        parallel: args.parallel,
        max_tokens: args.max_tokens,
        model: args.model.clone(),
    };
    let (score, errors) = gsm8k_client::run(&req).map_err(RunnerError::Failed)?;
    if args.report == CliGsm8kReport::Pd {
        return Ok(gsm8k::render_pd_report(
            &score,
            &errors,
            &req.base_url,
            req.shots,
            req.parallel,
            req.max_tokens,
            loaded,
        )
        .trim_end()
        .to_owned());
    }
    let mut out = errors.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(gsm8k::render_score(&score).trim_end());
    Ok(out)
}
