//! The predecessor's saved Teams Adaptive Card (`alert_log/<hw>/daily_summary_*.json`).

use serde::Serialize;

use crate::error::ParseError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertCard {
    pub version: Option<String>,
    /// The first TextBlock (e.g. `2025-10-20 Daily CI Summary Report`).
    pub title: Option<String>,
    /// Every TextBlock text and FactSet fact, in document order.
    pub texts: Vec<String>,
    pub actions: Vec<String>,
}

fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            match map.get("type").and_then(|t| t.as_str()) {
                Some("TextBlock") => {
                    if let Some(t) = map.get("text").and_then(|t| t.as_str()) {
                        out.push(t.to_owned());
                    }
                }
                Some("FactSet") => {
                    for f in map
                        .get("facts")
                        .and_then(|f| f.as_array())
                        .into_iter()
                        .flatten()
                    {
                        let title = f.get("title").and_then(|t| t.as_str()).unwrap_or("");
                        let value = f.get("value").and_then(|t| t.as_str()).unwrap_or("");
                        out.push(format!("{title} {value}"));
                    }
                    return;
                }
                _ => {}
            }
            for (k, child) in map {
                if k != "actions" {
                    walk(child, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
        _ => {}
    }
}

pub fn parse(text: &str) -> Result<AlertCard, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ParseError::invalid(e.line(), format!("not JSON: {e}")))?;
    let content = v
        .get("attachments")
        .and_then(|a| a.get(0))
        .and_then(|a| a.get("content"))
        .ok_or_else(|| ParseError::missing("`attachments[0].content` (an Adaptive Card)"))?;
    let mut texts = Vec::new();
    walk(
        content.get("body").unwrap_or(&serde_json::Value::Null),
        &mut texts,
    );
    let actions = content
        .get("actions")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("title").and_then(|t| t.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(AlertCard {
        version: content
            .get("version")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        title: texts.first().cloned(),
        texts,
        actions,
    })
}
