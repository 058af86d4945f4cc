//! `sglci-runner gsm8k`: the few-shot GSM8K client for OpenAI-compatible servers (the shell
//! around [`crate::gsm8k`]). Greedy decoding, the questions after the shots, `parallel` requests
//! in flight; prints what `bench_sglang.py` prints.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::gsm8k::{self, Item, Score};

/// What to ask and where.
#[derive(Debug, Clone)]
pub struct Request {
    /// `http://127.0.0.1:30000`.
    pub base_url: String,
    pub items: Vec<Item>,
    pub shots: usize,
    pub questions: usize,
    pub parallel: usize,
    pub max_tokens: u32,
    /// The request's `model`, for servers and routers that require one.
    pub model: Option<String>,
}

fn ask(
    agent: &ureq::Agent,
    url: &str,
    prompt: &str,
    req: &Request,
) -> Result<(String, u64), String> {
    let mut body = serde_json::json!({
        "prompt": prompt,
        "max_tokens": req.max_tokens,
        "temperature": 0,
        "stop": ["Question:", "\n\n"],
    });
    if let Some(m) = &req.model {
        body["model"] = serde_json::Value::String(m.clone());
    }
    let resp: serde_json::Value = agent
        .post(url)
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
        .map_err(|e| match e {
            ureq::Error::Status(code, r) => {
                format!("HTTP {code}: {}", r.into_string().unwrap_or_default())
            }
            ureq::Error::Transport(t) => format!("{t}"),
        })?
        .into_string()
        .map_err(|e| format!("reading the response: {e}"))
        .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("not JSON: {e}")))?;
    let text = resp["choices"][0]["text"]
        .as_str()
        .ok_or("no choices[0].text in the response")?
        .to_owned();
    let tokens = resp["usage"]["completion_tokens"].as_u64().unwrap_or(0);
    Ok((text, tokens))
}

/// Asks every question; a failed request is scored invalid and its error returned (in order),
/// for the log.
pub fn run(req: &Request) -> Result<(Score, Vec<String>), String> {
    if req.items.len() <= req.shots {
        return Err(format!(
            "{} questions with {} shots leaves none to ask (hint: fewer --num-shots)",
            req.items.len(),
            req.shots
        ));
    }
    let (shots, rest) = req.items.split_at(req.shots);
    if rest.len() < req.questions {
        // Asking fewer than requested would make the accuracy mean something else.
        return Err(format!(
            "{} questions asked for, but the data has {} after the {} shots (hint: a larger GSM8K file with --data, or fewer --num-questions)",
            req.questions,
            rest.len(),
            req.shots
        ));
    }
    let asked: Vec<Item> = rest.iter().take(req.questions.max(1)).cloned().collect();
    let url = format!("{}/v1/completions", req.base_url.trim_end_matches('/'));
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(600))
        .build();
    let results: Mutex<Vec<Option<(String, u64)>>> = Mutex::new(vec![None; asked.len()]);
    let errors: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..req.parallel.clamp(1, asked.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = asked.get(i) else { break };
                let prompt = gsm8k::prompt(shots, &item.question);
                match ask(&agent, &url, &prompt, req) {
                    Ok(r) => {
                        if let Ok(mut v) = results.lock() {
                            v[i] = Some(r);
                        }
                    }
                    Err(e) => {
                        if let Ok(mut v) = errors.lock() {
                            v.push((i, format!("Error: question {}: {e}", i + 1)));
                        }
                    }
                }
            });
        }
    });
    let latency = start.elapsed().as_secs_f64();
    let completions = results
        .into_inner()
        .map_err(|_| "a client thread panicked".to_owned())?;
    if completions.iter().all(Option::is_none) {
        return Err(format!("every request to {url} failed"));
    }
    let mut errors = errors.into_inner().unwrap_or_default();
    errors.sort();
    Ok((
        gsm8k::score(&asked, &completions, latency),
        errors.into_iter().map(|(_, e)| e).collect(),
    ))
}
