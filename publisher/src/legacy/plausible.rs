//! The last step of a build: every measured value in the rows is checked against
//! [`sglci_core::plausible`]; an implausible one (not finite, negative, beyond any real
//! benchmark) is dropped from its row and recorded in the quarantine table with its file, field
//! and reason, so the rest of the run still counts and nothing is lost silently. Free text
//! (host names, notes, errors, evidence, reasons) is redacted and cut to a bounded length here
//! too, whatever parser produced it.

use sglci_core::plausible::{check, Quantity};
use sglci_core::records::QuarantineRow;

use crate::rows::Rows;

/// The quarantine kind of a dropped value.
pub const VALUE_KIND: &str = "implausible_value";

/// Checks one optional field; on failure clears it and records why.
fn field(
    value: &mut Option<f64>,
    q: Quantity,
    table: &str,
    name: &str,
    file: &str,
    out: &mut Vec<QuarantineRow>,
) {
    if let Some(v) = *value {
        if let Err(reason) = check(v, q) {
            *value = None;
            out.push(QuarantineRow {
                file: file.to_owned(),
                kind: VALUE_KIND.to_owned(),
                reason: format!(
                    "{table}.{name}: {reason}; the value was dropped (hint: the log is corrupt or was tampered with)"
                ),
                bytes: 0,
            });
        }
    }
}

/// Checks every listed field of every row of one table.
macro_rules! check_fields {
    ($rows:expr, $table:literal, $file:ident, $out:ident, [$($f:ident: $q:ident),* $(,)?]) => {
        for r in $rows.iter_mut() {
            let file = r.$file.clone();
            $( field(&mut r.$f, Quantity::$q, $table, stringify!($f), &file, $out); )*
        }
    };
}

/// The longest free-text field kept (a line of evidence, a reason quoting a cell).
pub const MAX_FREE_TEXT: usize = 500;

/// A free-text field: redacted and cut to [`MAX_FREE_TEXT`] characters.
trait FreeText {
    fn clip(&mut self);
}

impl FreeText for String {
    fn clip(&mut self) {
        let needs = self.len() > MAX_FREE_TEXT || sglci_core::redact::redact(self) != *self;
        if needs {
            *self = sglci_core::text::evidence(self, MAX_FREE_TEXT);
        }
    }
}

impl FreeText for Option<String> {
    fn clip(&mut self) {
        if let Some(s) = self {
            s.clip();
        }
    }
}

/// Redacts and bounds every free-text field of the rows.
pub fn clip_free_text(rows: &mut Rows) {
    macro_rules! clip {
        ($rows:expr, [$($f:ident),*]) => {
            for r in $rows.iter_mut() {
                $( r.$f.clip(); )*
            }
        };
    }
    clip!(rows.runs, [host, note]);
    clip!(rows.serving, [host]);
    clip!(rows.sanity, [error]);
    clip!(rows.sanity_models, [error]);
    clip!(rows.pd, [evidence]);
    clip!(rows.unit, [machine, evidence]);
    clip!(rows.tasks, [reason, evidence]);
    // File paths were redacted as they were read (`parse_file`); they are identities, not cut.
    clip!(rows.quarantine, [reason]);
}

/// Drops implausible values from `rows`, adding one quarantine row per value dropped.
pub fn drop_implausible(rows: &mut Rows) {
    let mut out = Vec::new();
    let q = &mut out;
    check_fields!(rows.serving, "serving", run_dir, q, [
        e2e_ms: Duration, ttft_ms: Duration, itl_ms: Duration, tpot_ms: Duration,
        mean_e2e_ms: Duration, p99_ttft_ms: Duration, p99_itl_ms: Duration,
        output_throughput: Rate, request_throughput: Rate, input_throughput: Rate,
        total_throughput: Rate, kv_cache_gb: Rate, gsm8k_accuracy: Accuracy,
    ]);
    check_fields!(rows.accuracy, "accuracy", run_dir, q, [accuracy: Accuracy]);
    check_fields!(rows.offline, "offline", run_dir, q, [
        prefill_latency_s: Duration, decode_median_latency_s: Duration, e2e_latency_s: Duration,
        prefill_throughput: Rate, decode_median_throughput: Rate, e2e_throughput: Rate,
    ]);
    check_fields!(rows.sanity, "sanity", file, q, [accuracy: Accuracy]);
    check_fields!(rows.sanity_models, "sanity_models", run_dir, q, [
        accuracy: Accuracy, required: Accuracy,
    ]);
    check_fields!(rows.pd, "pd", run_dir, q, [gsm8k_accuracy: Accuracy]);
    check_fields!(rows.upstream_coverage, "upstream_coverage", file, q, [coverage_pct: Percent]);
    check_fields!(rows.tasks, "tasks", task, q, [
        gsm8k_accuracy: Accuracy, runtime_minutes: Duration,
    ]);
    rows.quarantine.extend(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sglci_core::records::{LoadKind, ServingRow};

    fn serving(e2e: f64, tput: f64) -> ServingRow {
        let mut r = ServingRow::blank(
            "mi30x",
            "m",
            "online/r1",
            "t",
            "20251210",
            LoadKind::Concurrency,
            1,
        );
        r.e2e_ms = Some(e2e);
        r.ttft_ms = Some(1.0);
        r.output_throughput = Some(tput);
        r
    }

    #[test]
    fn extreme_values_are_dropped_and_quarantined_with_their_field() {
        let mut rows = Rows {
            serving: vec![
                serving(1.7e308, 1.0),
                serving(120.0, -5.0),
                serving(120.0, 900.0),
            ],
            ..Rows::default()
        };
        drop_implausible(&mut rows);
        assert_eq!(rows.serving[0].e2e_ms, None);
        assert_eq!(rows.serving[0].ttft_ms, Some(1.0));
        assert_eq!(rows.serving[1].output_throughput, None);
        assert_eq!(rows.serving[2].output_throughput, Some(900.0));
        let reasons: Vec<_> = rows.quarantine.iter().map(|q| q.reason.as_str()).collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].starts_with("serving.e2e_ms: "), "{reasons:?}");
        assert!(
            reasons[1].starts_with("serving.output_throughput: "),
            "{reasons:?}"
        );
        assert!(rows
            .quarantine
            .iter()
            .all(|q| q.kind == VALUE_KIND && q.file == "online/r1"));
    }
}
