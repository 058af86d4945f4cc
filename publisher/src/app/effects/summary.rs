//! The daily summary as an effect: a scheduled invocation (an EventBridge schedule per hardware,
//! or `notify summary --scheduled` from cron) enqueues one summary card per hardware and card
//! sink, then the outbox sends it. Its id names the hardware and the night, so a schedule that
//! fires twice sends one card.

use serde::Deserialize;

use super::{enqueue, Context, Effect, EffectId, Sinks};
use crate::app::{summary_notification, AppError};
use crate::site::templates::Templates;

/// Which night a scheduled summary reports on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NightChoice {
    /// The date of the invocation (UTC): a summary in the evening, as the predecessor's.
    Today,
    /// The day before: a summary the next morning.
    Yesterday,
    /// A given night, `YYYYMMDD`.
    Date(String),
}

/// The scheduled event's input: `{"daily_summary": {"hardware": ["mi30x"], "night": "today"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryRequest {
    pub hardware: Vec<String>,
    #[serde(default = "today")]
    pub night: NightChoice,
}

fn today() -> NightChoice {
    NightChoice::Today
}

impl SummaryRequest {
    /// The night, given the invocation's date (`YYYYMMDD`). Pure.
    pub fn date(&self, today: &str) -> Result<String, String> {
        let day = sglci_core::date::day_number;
        match &self.night {
            NightChoice::Today => Ok(today.to_owned()),
            NightChoice::Yesterday => day(today)
                .map(|d| sglci_core::date::date_of_day(d - 1))
                .ok_or_else(|| format!("`{today}` is not a date")),
            NightChoice::Date(d) if day(d).is_some() && d.len() == 8 => Ok(d.clone()),
            NightChoice::Date(d) => Err(format!(
                "daily_summary.night `{d}`: not a date (hint: \"today\", \"yesterday\" or {{\"date\": \"YYYYMMDD\"}})"
            )),
        }
    }
}

/// Enqueues the summary of `date` for each hardware and card sink; returns how many were added
/// (a summary already sent or pending is not added again).
pub fn enqueue_summaries(
    sinks: &Sinks,
    cx: &Context<'_>,
    templates: &Templates,
    logs_base: &str,
    hardware: &[String],
    date: &str,
    now: &str,
) -> Result<usize, AppError> {
    let mut added = 0;
    if sinks.config.cards.is_empty() {
        return Err(AppError::NotifyUsage(
            "the daily summary needs a card target (hint: --notify teams, dir:PATH or stdout; SGLCI_NOTIFY for the Lambda)".to_owned(),
        ));
    }
    for hw in hardware {
        let card = summary_notification(
            cx.store,
            templates,
            hw,
            date,
            logs_base,
            sinks.config.dashboard.as_deref(),
        )?;
        for sink in &sinks.config.cards {
            let id = EffectId::new(&[sink.name(), "summary", hw, date]);
            let effect = Effect::Card {
                sink: sink.clone(),
                card: card.clone(),
            };
            if enqueue(cx.store, &id, effect, now)? {
                added += 1;
            }
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_inputs() {
        let r: SummaryRequest =
            serde_json::from_str(r#"{"hardware": ["mi30x", "mi35x"]}"#).expect("default night");
        assert_eq!(r.date("20251211"), Ok("20251211".to_owned()));
        let r: SummaryRequest =
            serde_json::from_str(r#"{"hardware": ["mi30x"], "night": "yesterday"}"#).expect("y");
        assert_eq!(r.date("20260301"), Ok("20260228".to_owned()));
        let r: SummaryRequest =
            serde_json::from_str(r#"{"hardware": ["mi30x"], "night": {"date": "2025121"}}"#)
                .expect("parses");
        assert!(r.date("20251211").expect_err("bad").contains("hint"));
        assert!(serde_json::from_str::<SummaryRequest>(r#"{"hw": ["mi30x"]}"#).is_err());
    }
}
