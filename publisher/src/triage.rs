//! Triage (F68, F69): mute or acknowledge a regression, and attach notes to data points, from a
//! small file people edit in the log repository, so that nothing needs a code change and every
//! decision says who, when and why. Pure: `parse(&str)` and lookups; the caller reads the file.
//!
//! ```toml
//! [[mute]]                       # no notifications while it lasts; still shown, marked muted
//! finding = "mi30x/GROK1/standard/request_rate/e2e_ms@20251112"   # or a prefix ending in *
//! who = "alice"
//! when = "2025-12-11"
//! why = "known aiter change; the fix lands next week"
//! until = "2026-01-15"           # optional
//!
//! [[ack]]                        # seen and owned; notifications continue
//! finding = "mi30x/DeepSeek-V3-0324/*"
//! who = "bob"
//! when = "2025-12-12"
//! why = "tracked in ROCm/aiter#123"
//!
//! [[note]]                       # a note on one night of a series
//! series = "mi30x/GROK1/standard"
//! date = "2025-12-10"
//! kind = "expected"              # expected | accepted | fixed-by | other
//! text = "new default attention backend"
//! who = "carol"
//! when = "2025-12-11"
//! ```

use serde::{Deserialize, Serialize};

use sglci_core::date::day_number;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triage {
    #[serde(default)]
    pub mute: Vec<Decision>,
    #[serde(default)]
    pub ack: Vec<Decision>,
    #[serde(default)]
    pub note: Vec<Note>,
}

/// A mute or an acknowledgement of findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// A finding id, or a prefix of ids ending in `*`.
    pub finding: String,
    pub who: String,
    pub when: String,
    pub why: String,
    #[serde(default)]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    Expected,
    Accepted,
    FixedBy,
    Other,
}

/// A triage note on one night of a series (`hardware/model/variant`, `standard` for none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub series: String,
    pub date: String,
    pub kind: NoteKind,
    pub text: String,
    pub who: String,
    pub when: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TriageError {
    #[error("{file}: {reason} (hint: see the example at the top of publisher/src/triage.rs)")]
    Syntax { file: String, reason: String },
    #[error("{file}: [[{table}]] entry {index}: `{field}` {reason}")]
    Invalid {
        file: String,
        table: &'static str,
        index: usize,
        field: &'static str,
        reason: String,
    },
}

/// `2025-12-10` or `20251210` → `20251210`.
fn compact(d: &str) -> Option<String> {
    let c: String = d.chars().filter(|c| *c != '-').collect();
    day_number(&c).map(|_| c)
}

/// Parses and validates a triage file; `file` names it in errors. Dates come back as
/// `YYYYMMDD`.
pub fn parse(text: &str, file: &str) -> Result<Triage, TriageError> {
    let mut t: Triage = toml::from_str(text).map_err(|e| TriageError::Syntax {
        file: file.to_owned(),
        reason: e.to_string().trim().to_owned(),
    })?;
    let bad = |table: &'static str, index: usize, field: &'static str, reason: &str| {
        TriageError::Invalid {
            file: file.to_owned(),
            table,
            index: index + 1,
            field,
            reason: reason.to_owned(),
        }
    };
    for (table, list) in [("mute", &mut t.mute), ("ack", &mut t.ack)] {
        for (i, d) in list.iter_mut().enumerate() {
            if d.finding.trim().is_empty() {
                return Err(bad(table, i, "finding", "is empty"));
            }
            for (field, v) in [("who", &d.who), ("why", &d.why)] {
                if v.trim().is_empty() {
                    return Err(bad(table, i, field, "is empty: say who decided and why"));
                }
            }
            d.when = compact(&d.when)
                .ok_or_else(|| bad(table, i, "when", "is not a date YYYY-MM-DD"))?;
            if let Some(u) = &d.until {
                d.until = Some(
                    compact(u).ok_or_else(|| bad(table, i, "until", "is not a date YYYY-MM-DD"))?,
                );
            }
        }
    }
    for (i, n) in t.note.iter_mut().enumerate() {
        if n.series.split('/').count() != 3 {
            return Err(bad(
                "note",
                i,
                "series",
                "is not hardware/model/variant (standard for none)",
            ));
        }
        n.date =
            compact(&n.date).ok_or_else(|| bad("note", i, "date", "is not a date YYYY-MM-DD"))?;
        n.when =
            compact(&n.when).ok_or_else(|| bad("note", i, "when", "is not a date YYYY-MM-DD"))?;
        if n.who.trim().is_empty() || n.text.trim().is_empty() {
            return Err(bad("note", i, "who", "and `text` must both be given"));
        }
    }
    Ok(t)
}

fn matches(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => pattern == id,
    }
}

/// How triage treats a finding on a given day.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Treatment<'a> {
    Muted(&'a Decision),
    Acknowledged(&'a Decision),
}

impl Triage {
    /// The mute in force for a finding on `today` (`YYYYMMDD`), else its acknowledgement.
    pub fn treatment(&self, id: &str, today: &str) -> Option<Treatment<'_>> {
        let active = |d: &&Decision| {
            matches(&d.finding, id) && d.until.as_deref().is_none_or(|u| u >= today)
        };
        self.mute
            .iter()
            .find(active)
            .map(Treatment::Muted)
            .or_else(|| self.ack.iter().find(active).map(Treatment::Acknowledged))
    }

    /// Notes of one series (`hardware/model/variant`).
    pub fn notes_of<'a>(&'a self, series: &'a str) -> impl Iterator<Item = &'a Note> + 'a {
        self.note.iter().filter(move |n| n.series == series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[[mute]]
finding = "mi30x/GROK1/standard/request_rate/e2e_ms@20251112"
who = "alice"
when = "2025-12-11"
why = "known aiter change"
until = "2026-01-15"

[[ack]]
finding = "mi30x/DeepSeek-V3-0324/*"
who = "bob"
when = "2025-12-12"
why = "tracked upstream"

[[note]]
series = "mi30x/GROK1/standard"
date = "2025-12-10"
kind = "fixed-by"
text = "aiter 0.1.6"
who = "carol"
when = "2025-12-11"
"#;

    #[test]
    fn parse_and_treat() {
        let t = parse(EXAMPLE, "triage.toml").expect("valid");
        let id = "mi30x/GROK1/standard/request_rate/e2e_ms@20251112";
        assert!(
            matches!(t.treatment(id, "20251220"), Some(Treatment::Muted(d)) if d.who == "alice")
        );
        assert_eq!(t.treatment(id, "20260116"), None, "the mute expired");
        assert!(matches!(
            t.treatment(
                "mi30x/DeepSeek-V3-0324/standard/concurrency/itl_ms@20251121",
                "20251220"
            ),
            Some(Treatment::Acknowledged(_))
        ));
        assert_eq!(t.notes_of("mi30x/GROK1/standard").count(), 1);
        assert_eq!(t.note[0].date, "20251210");
    }

    #[test]
    fn errors_name_the_file_entry_and_field() {
        let e = parse(
            "[[mute]]\nfinding = \"x\"\nwho = \"a\"\nwhen = \"soon\"\nwhy = \"b\"\n",
            "log/triage.toml",
        )
        .expect_err("bad date");
        assert_eq!(
            e.to_string(),
            "log/triage.toml: [[mute]] entry 1: `when` is not a date YYYY-MM-DD"
        );
        let e = parse("[[mute]]\nfinding = \"x\"\nwho = \"a\"\nwhen = \"2025-12-01\"\nwhy = \"b\"\ncolour = 1\n", "t.toml")
            .expect_err("unknown field");
        assert!(
            e.to_string().starts_with("t.toml: ") && e.to_string().contains("colour"),
            "{e}"
        );
        let e = parse(
            "[[ack]]\nfinding = \"x\"\nwho = \"\"\nwhen = \"2025-12-01\"\nwhy = \"b\"\n",
            "t.toml",
        )
        .expect_err("no who");
        assert!(e.to_string().contains("`who` is empty"), "{e}");
        assert!(parse("", "t.toml").expect("empty is fine").mute.is_empty());
    }
}
