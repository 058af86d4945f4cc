//! F5 GSM8K: the gate rule (pure) and sglci's own few-shot client for OpenAI-compatible
//! servers (the CPU smoke suite's llama.cpp has no SGLang `/generate`, so `bench_sglang.py`
//! cannot drive it).
//!
//! The gate follows the predecessor (predecessor.md 2.4): up to N runs; a run at or above the
//! threshold ends the gate early; runs below `exclude_below` are discarded as broken; otherwise
//! the mean of the valid runs is compared with the threshold. The client prints what
//! `bench_sglang.py` prints (`Accuracy:`, `Invalid:`, `Latency:`, `Output throughput:`), so one
//! parser reads both.

use serde::{Deserialize, Serialize};

/// The questions shipped with the project for the smoke suite.
pub const SMOKE_QUESTIONS: &str = include_str!("../../suites/smoke/gsm8k.jsonl");

/// One GSM8K item: the question and the worked answer ending in `#### N`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Item {
    pub question: String,
    pub answer: String,
}

/// Parses GSM8K JSONL; errors name the line.
pub fn parse_items(text: &str, file: &str) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item: Item = serde_json::from_str(line).map_err(|e| {
            format!(
                "{file}:{}: {e} (hint: one JSON object per line with `question` and `answer`)",
                i + 1
            )
        })?;
        if expected_answer(&item.answer).is_none() {
            return Err(format!(
                "{file}:{}: the answer has no `#### <number>` line",
                i + 1
            ));
        }
        out.push(item);
    }
    Ok(out)
}

/// The number after `####`.
pub fn expected_answer(answer: &str) -> Option<i64> {
    let tail = answer.rsplit("####").next()?;
    tail.trim().replace(',', "").parse().ok()
}

/// The last integer in a completion (bench_sglang's `get_answer_value`), or `None` (invalid).
pub fn answer_value(text: &str) -> Option<i64> {
    let cleaned = text.replace(',', "");
    let mut last = None;
    let mut cur = String::new();
    for c in cleaned.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (c == '-' && cur.is_empty()) {
            cur.push(c);
        } else {
            if let Ok(v) = cur.parse::<i64>() {
                last = Some(v);
            }
            cur.clear();
        }
    }
    last
}

/// The few-shot prompt: `shots` worked examples, then the question.
pub fn prompt(shots: &[Item], question: &str) -> String {
    let mut p = String::new();
    for s in shots {
        p.push_str(&format!(
            "Question: {}\nAnswer: {}\n\n",
            s.question, s.answer
        ));
    }
    p.push_str(&format!("Question: {question}\nAnswer:"));
    p
}

/// The completion up to where the model starts the next question.
pub fn first_answer(completion: &str) -> &str {
    let end = ["Question:", "\n\n"]
        .iter()
        .filter_map(|m| completion.find(m))
        .min()
        .unwrap_or(completion.len());
    &completion[..end]
}

/// One scored client run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// Questions asked, answered correctly, and without a number in the answer (or failed).
    pub questions: usize,
    pub correct: usize,
    pub invalid_answers: usize,
    pub accuracy: f64,
    pub invalid: f64,
    pub latency_s: f64,
    pub output_throughput: f64,
}

/// Scores completions against items (`None` = the request failed: counted invalid and wrong).
pub fn score(items: &[Item], completions: &[Option<(String, u64)>], latency_s: f64) -> Score {
    let n = items.len().max(1) as f64;
    let mut correct = 0usize;
    let mut invalid = 0usize;
    let mut tokens = 0u64;
    for (item, c) in items.iter().zip(completions) {
        match c {
            Some((text, t)) => {
                tokens += t;
                match answer_value(first_answer(text)) {
                    Some(v) if Some(v) == expected_answer(&item.answer) => correct += 1,
                    Some(_) => {}
                    None => invalid += 1,
                }
            }
            None => invalid += 1,
        }
    }
    Score {
        questions: items.len(),
        correct,
        invalid_answers: invalid,
        accuracy: round3(correct as f64 / n),
        invalid: round3(invalid as f64 / n),
        latency_s: round3(latency_s),
        output_throughput: round3(tokens as f64 / latency_s.max(1e-9)),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// What `bench_sglang.py` prints at the end.
pub fn render_score(s: &Score) -> String {
    format!(
        "Accuracy: {:.3}\nInvalid: {:.3}\nLatency: {:.3} s\nOutput throughput: {:.3} token/s\n",
        s.accuracy, s.invalid, s.latency_s, s.output_throughput
    )
}

/// What the predecessor's PD GSM8K client (`bench_gsm8k_pd.py`) printed: a header with the
/// settings, a progress line, the `RESULTS` block and the first request errors.
pub fn render_pd_report(
    s: &Score,
    errors: &[String],
    host: &str,
    shots: usize,
    parallel: usize,
    max_tokens: u32,
    loaded: usize,
) -> String {
    let rule = "=".repeat(70);
    let qps = s.questions as f64 / s.latency_s.max(1e-9);
    let exact = s.correct as f64 / s.questions.max(1) as f64;
    let mut out = format!(
        "{rule}\nGSM8K Benchmark - PD Testing\n{rule}\nHost: {host}\nNum Questions: {}\n\
         Parallelism: {parallel}\nNum Shots: {shots}\nMax New Tokens: {max_tokens}\n{rule}\n\
         Loaded {loaded} examples\n\nRunning benchmark with {parallel} parallel requests...\n\
         Progress: {n}/{n} questions ({qps:.2} QPS, Acc: {exact:.4})\n\n{rule}\nRESULTS\n{rule}\n\
         Total Questions: {n}\nCorrect: {}\nIncorrect: {}\nInvalid: {}\nAccuracy: {exact:.4}\n\
         Invalid Rate: {:.4}\nTotal Time: {:.2}s\nQuestions per Second: {qps:.2}\n{rule}\n",
        s.questions,
        s.correct,
        s.questions - s.correct,
        s.invalid_answers,
        s.invalid_answers as f64 / s.questions.max(1) as f64,
        s.latency_s,
        n = s.questions,
    );
    if !errors.is_empty() {
        out.push_str("\nSample Errors (first 5):\n");
        for (i, e) in errors.iter().take(5).enumerate() {
            out.push_str(&format!("\n{}.\n   {e}\n", i + 1));
        }
    }
    out
}

/// The gate's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    pub passed: bool,
    /// The accuracy the gate decided on (the early-exit run, or the mean of valid runs).
    pub accuracy: Option<f64>,
    /// Runs that were needed.
    pub runs_used: usize,
    pub early_exit: bool,
    /// Runs the gate may use.
    pub attempts: usize,
    pub valid_runs: usize,
    pub excluded_runs: usize,
}

/// What to do after one more run.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Run,
    Done(Gate),
}

/// The gate rule over the runs so far (`None` = the run printed no accuracy: excluded).
pub fn gate(runs: &[Option<f64>], attempts: u32, threshold: f64, exclude_below: f64) -> Next {
    if let Some(i) = runs.iter().position(|a| a.is_some_and(|a| a >= threshold)) {
        return Next::Done(Gate {
            passed: true,
            accuracy: runs[i],
            runs_used: i + 1,
            early_exit: true,
            attempts: attempts as usize,
            valid_runs: i + 1 - excluded(&runs[..=i], exclude_below),
            excluded_runs: excluded(&runs[..=i], exclude_below),
        });
    }
    if runs.len() < attempts as usize {
        return Next::Run;
    }
    let valid: Vec<f64> = runs
        .iter()
        .flatten()
        .copied()
        .filter(|a| *a >= exclude_below)
        .collect();
    let mean = (!valid.is_empty()).then(|| round3(valid.iter().sum::<f64>() / valid.len() as f64));
    Next::Done(Gate {
        passed: mean.is_some_and(|m| m >= threshold),
        accuracy: mean,
        runs_used: runs.len(),
        early_exit: false,
        attempts: attempts as usize,
        valid_runs: valid.len(),
        excluded_runs: runs.len() - valid.len(),
    })
}

fn excluded(runs: &[Option<f64>], exclude_below: f64) -> usize {
    runs.iter()
        .filter(|a| a.is_none_or(|a| a < exclude_below))
        .count()
}

/// The lines after one run's raw output: its accuracy and whether it counts.
pub fn render_run(run: usize, accuracy: Option<f64>, seconds: u64, exclude_below: f64) -> String {
    let a = accuracy.unwrap_or(0.0);
    let mut s = format!("Run {run} completed in {seconds} seconds\n");
    match accuracy {
        Some(a) => s.push_str(&format!("Run {run}: Accuracy: {a:.3}\n")),
        None => s.push_str(&format!("Run {run}: Accuracy not found, defaulting to 0\n")),
    }
    if accuracy.is_some_and(|a| a >= exclude_below) {
        s.push_str(&format!(
            "  ✓ Run {run} included in average (accuracy: {a:.3})\n"
        ));
    } else {
        s.push_str(&format!(
            "  ✗ Run {run} excluded from average (accuracy: {a:.3} < {exclude_below})\n"
        ));
    }
    s
}

/// The closing lines of the GSM8K client log, in the predecessor's words (formats the
/// publisher's GSM8K parser reads: predecessor.md 3.6).
pub fn render_verdict(g: &Gate, threshold: f64, mode: &str) -> String {
    let Some(a) = g.accuracy else {
        return format!(
            "Average Accuracy over 0 valid runs for mode {mode}: 0.000\nAverage accuracy (0.000) is below threshold ({threshold}).\n"
        );
    };
    if g.early_exit {
        format!(
            "Accuracy: {a:.3} (Required: {threshold})\nEarly exit: Passed on run {}, skipped {} run(s)\nAccuracy meets threshold ({threshold})\n",
            g.runs_used,
            g.attempts.saturating_sub(g.runs_used)
        )
    } else if g.passed {
        format!(
            "Average Accuracy over {} valid runs for mode {mode}: {a:.3}\nAverage accuracy meets threshold ({threshold}).\n",
            g.valid_runs
        )
    } else {
        format!(
            "Average Accuracy over {} valid runs for mode {mode}: {a:.3}\nAverage accuracy ({a:.3}) is below threshold ({threshold}).\n",
            g.valid_runs
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_questions_parse() {
        let items = parse_items(SMOKE_QUESTIONS, "gsm8k.jsonl").expect("parse");
        assert!(items.len() >= 20);
        assert_eq!(expected_answer(&items[0].answer), Some(5));
    }

    #[test]
    fn bad_item_names_the_line() {
        let e = parse_items("{\"question\":\"q\",\"answer\":\"no number\"}\n", "q.jsonl")
            .expect_err("no ####");
        assert!(e.starts_with("q.jsonl:1:"), "{e}");
        let e = parse_items("\n{bad\n", "q.jsonl").expect_err("bad json");
        assert!(e.starts_with("q.jsonl:2:"), "{e}");
    }

    #[test]
    fn answers_are_the_last_number_before_the_next_question() {
        assert_eq!(
            answer_value(first_answer(" 3 + 2 = 5 apples.\n#### 5\n\nQuestion: 7")),
            Some(5)
        );
        assert_eq!(answer_value(" it is 1,200 "), Some(1200));
        assert_eq!(answer_value(" no idea"), None);
        assert_eq!(answer_value("-4 degrees"), Some(-4));
    }

    #[test]
    fn scores_count_wrong_and_invalid() {
        let items = parse_items(SMOKE_QUESTIONS, "q").expect("parse");
        let c = vec![
            Some((" 3 + 2 = 5.\n#### 5".to_owned(), 10)),
            Some((" #### 9".to_owned(), 10)),
            Some((" I do not know".to_owned(), 10)),
            None,
        ];
        let s = score(&items[..4], &c, 2.0);
        assert_eq!(s.accuracy, 0.25);
        assert_eq!(s.invalid, 0.5);
        assert_eq!(s.output_throughput, 15.0);
    }

    #[test]
    fn gate_rule() {
        // Early exit on the first run at the threshold.
        let Next::Done(g) = gate(&[Some(0.7), Some(0.85)], 5, 0.8, 0.1) else {
            panic!("early exit")
        };
        assert!(g.passed && g.early_exit && g.runs_used == 2);
        // Keep going while below and attempts remain.
        assert_eq!(gate(&[Some(0.7)], 5, 0.8, 0.1), Next::Run);
        // Mean of valid runs; a crashed run (0.0) and a silent run are excluded.
        let Next::Done(g) = gate(&[Some(0.7), Some(0.0), None, Some(0.76)], 4, 0.8, 0.1) else {
            panic!("done")
        };
        assert_eq!(
            (g.passed, g.accuracy, g.valid_runs, g.excluded_runs),
            (false, Some(0.73), 2, 2)
        );
        // Every run broken: no accuracy at all.
        let Next::Done(g) = gate(&[None, Some(0.01)], 2, 0.8, 0.1) else {
            panic!("done")
        };
        assert_eq!((g.passed, g.accuracy), (false, None));
    }

    #[test]
    fn pd_report_parses_back() {
        let s = Score {
            questions: 20,
            correct: 11,
            invalid_answers: 2,
            accuracy: 0.55,
            invalid: 0.1,
            latency_s: 12.5,
            output_throughput: 3.0,
        };
        let errors = vec!["Error: question 4: HTTP 503: busy".to_owned()];
        let text = render_pd_report(&s, &errors, "http://127.0.0.1:30028", 3, 4, 128, 24);
        let g = sglci_core::parse::pd::parse_gsm8k(text.as_bytes()).expect("parse");
        assert_eq!(g.total_questions, Some(20));
        assert_eq!(g.correct, Some(11));
        assert_eq!(g.accuracy, Some(0.55));
        assert_eq!(g.invalid_rate, Some(0.1));
        assert_eq!(g.total_time_s, Some(12.5));
        assert_eq!(g.first_error.as_deref(), Some("question 4: HTTP 503: busy"));
        assert!(g.progress.is_some_and(|p| p.contains("20/20")));
    }

    #[test]
    fn verdict_lines_parse_back() {
        let runs = [Some(0.7), Some(0.76)];
        let Next::Done(g) = gate(&runs, 2, 0.8, 0.1) else {
            panic!("done")
        };
        let mut log = String::new();
        for (i, a) in runs.iter().enumerate() {
            log.push_str(&format!(
                "Executing GSM8K test Run {} for mode llamacpp...\n",
                i + 1
            ));
            log.push_str(&render_score(&Score {
                questions: 10,
                correct: 7,
                invalid_answers: 0,
                accuracy: a.unwrap_or(0.0),
                invalid: 0.0,
                latency_s: 1.0,
                output_throughput: 1.0,
            }));
            log.push_str(&render_run(i + 1, *a, 3, 0.1));
        }
        log.push_str(&render_verdict(&g, 0.8, "llamacpp"));
        let parsed = sglci_core::parse::gsm8k::parse_log(log.as_bytes()).expect("parse");
        assert_eq!(parsed.final_accuracy, Some(0.73));
        assert_eq!(parsed.runs.len(), 2);
        assert_eq!(parsed.threshold_met, Some(false));
        // Early exit.
        let Next::Done(g) = gate(&[Some(0.9)], 3, 0.8, 0.1) else {
            panic!("done")
        };
        let log = format!(
            "{}{}",
            render_run(1, Some(0.9), 3, 0.1),
            render_verdict(&g, 0.8, "m")
        );
        let parsed = sglci_core::parse::gsm8k::parse_log(log.as_bytes()).expect("parse");
        assert_eq!(parsed.final_accuracy, Some(0.9));
        assert_eq!(parsed.threshold_met, Some(true));
    }
}
