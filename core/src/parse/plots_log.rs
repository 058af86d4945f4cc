//! `process_and_generate_online_plots.log`: the plot generator's stdout. It reprocesses the last
//! 30 days of the model's folder, so it is not evidence about the folder that holds it; we keep
//! only what it says about itself.

use serde::Serialize;

use crate::error::ParseError;
use crate::text;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlotsLog {
    pub model: Option<String>,
    pub load_metric: Option<String>,
    pub plots_saved: Vec<String>,
    pub complete: bool,
    pub warnings: usize,
}

pub fn parse(bytes: &[u8]) -> Result<PlotsLog, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let cleaned = text::clean(bytes);
    let mut p = PlotsLog {
        model: None,
        load_metric: None,
        plots_saved: Vec::new(),
        complete: false,
        warnings: 0,
    };
    for raw in text::lines(&cleaned) {
        let line = raw.trim();
        if let Some(v) = text::after(line, "Model:") {
            p.model.get_or_insert_with(|| v.to_owned());
        } else if let Some(v) = text::after(line, "Load metric:") {
            p.load_metric = Some(v.to_owned());
        } else if let Some(v) = text::after(line, "Plot saved to:") {
            p.plots_saved
                .push(v.rsplit('/').next().unwrap_or(v).to_owned());
        } else if line.contains("=== COMPLETE ===") {
            p.complete = true;
        } else if line.starts_with("Warning") {
            p.warnings += 1;
        }
    }
    Ok(p)
}
