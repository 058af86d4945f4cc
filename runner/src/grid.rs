//! Offline grids from a file (`--grid FILE`), pure: the latency pipeline's `bsz_seq.csv` form
//! and TOML lists.
//!
//! The CSV form has one grid per line, `{batch sizes};{sequence lengths}`:
//!
//! ```text
//! # decode-heavy sweep
//! {1,2,4,8,16,32};{1024,2048}
//! {64,128};{4096}
//! ```
//!
//! Each line is the product of its two lists (the sequence length is the input length); blank
//! lines and `#` comments are skipped. The TOML form is `batch_sizes = [...]` and
//! `input_lens = [...]` (and optionally `output_lens`), either at the top or as `[[grid]]`
//! tables, one per product. The cells are the union of the products, in file order, each once.
//! Errors name the file, the line and the column.

use serde::Deserialize;

/// One grid: its batch sizes, input lengths and (optionally) output lengths.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridLine {
    pub batch_sizes: Vec<u32>,
    pub input_lens: Vec<u32>,
    #[serde(default)]
    pub output_lens: Option<Vec<u32>>,
}

/// Every grid of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    pub lines: Vec<GridLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {reason} (hint: one grid per line, `{{1,2,4}};{{1024,2048}}`, or TOML `batch_sizes = [...]` and `input_lens = [...]`)")]
pub struct GridError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// The largest value a cell may take (batch size or length): beyond it is a typo.
const MAX_VALUE: u32 = 1 << 22;

impl Grid {
    /// The (batch size, input length, output lengths) cells, each once, in file order; a line
    /// without output lengths takes `default_outputs`.
    pub fn cells(&self, default_outputs: &[u32]) -> Vec<(u32, u32, u32)> {
        let mut out = Vec::new();
        for l in &self.lines {
            let outputs = l.output_lens.as_deref().unwrap_or(default_outputs);
            for &b in &l.batch_sizes {
                for &i in &l.input_lens {
                    for &o in outputs {
                        if !out.contains(&(b, i, o)) {
                            out.push((b, i, o));
                        }
                    }
                }
            }
        }
        out
    }
}

/// Parses a grid file: TOML when it has `=` outside braces, else the CSV form.
pub fn parse(text: &str, file: &str) -> Result<Grid, GridError> {
    let toml_like = text
        .lines()
        .map(str::trim)
        .any(|l| !l.starts_with('#') && (l.contains('=') || l.starts_with("[[")));
    if toml_like {
        parse_toml(text, file)
    } else {
        parse_csv(text, file)
    }
}

fn err(file: &str, line: usize, column: usize, reason: impl Into<String>) -> GridError {
    GridError {
        file: file.to_owned(),
        line,
        column,
        reason: reason.into(),
    }
}

/// `{a,b,c}` at byte `at` of `line`: the values and the byte after the `}`.
fn braced(
    line: &str,
    at: usize,
    file: &str,
    n: usize,
    what: &str,
) -> Result<(Vec<u32>, usize), GridError> {
    let col = |b: usize| line[..b.min(line.len())].chars().count() + 1;
    let rest = &line[at..];
    let skipped = rest.len() - rest.trim_start().len();
    let open = at + skipped;
    if !line[open..].starts_with('{') {
        return Err(err(
            file,
            n,
            col(open),
            format!("expected `{{` to open the {what}"),
        ));
    }
    let close = match line[open + 1..].find(['}', ';', '{']).map(|i| open + 1 + i) {
        Some(i) if line.as_bytes()[i] == b'}' => i,
        Some(i) => {
            return Err(err(
                file,
                n,
                col(i),
                format!("expected `}}` to close the {what}"),
            ))
        }
        None => {
            return Err(err(
                file,
                n,
                col(line.len()),
                format!("the {what} has no closing `}}`"),
            ))
        }
    };
    let mut values = Vec::new();
    let mut pos = open + 1;
    for item in line[open + 1..close].split(',') {
        let lead = item.len() - item.trim_start().len();
        let v = item.trim();
        let value = v
            .parse::<u32>()
            .ok()
            .filter(|x| (1..=MAX_VALUE).contains(x))
            .ok_or_else(|| {
                err(
                    file,
                    n,
                    col(pos + lead),
                    format!("`{v}` in the {what} is not a whole number from 1 to {MAX_VALUE}"),
                )
            })?;
        values.push(value);
        pos += item.len() + 1;
    }
    Ok((values, close + 1))
}

fn parse_csv(text: &str, file: &str) -> Result<Grid, GridError> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let col = |b: usize| line[..b.min(line.len())].chars().count() + 1;
        let (batch_sizes, after) = braced(line, 0, file, n, "batch sizes")?;
        let semi = line[after..].trim_start();
        let at = line.len() - semi.len();
        if !semi.starts_with(';') {
            return Err(err(
                file,
                n,
                col(at),
                "expected `;` between the batch sizes and the sequence lengths",
            ));
        }
        let (input_lens, end) = braced(line, at + 1, file, n, "sequence lengths")?;
        if !line[end..].trim().is_empty() {
            let extra = end + (line[end..].len() - line[end..].trim_start().len());
            return Err(err(
                file,
                n,
                col(extra),
                "unexpected text after the sequence lengths",
            ));
        }
        lines.push(GridLine {
            batch_sizes,
            input_lens,
            output_lens: None,
        });
    }
    if lines.is_empty() {
        return Err(err(file, 1, 1, "no grid in the file"));
    }
    Ok(Grid { lines })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlGrids {
    grid: Vec<GridLine>,
}

fn parse_toml(text: &str, file: &str) -> Result<Grid, GridError> {
    let located = |e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|s| {
                let before = &text[..s.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (line, column)
            })
            .unwrap_or((1, 1));
        err(file, line, column, e.message().trim().replace('\n', "; "))
    };
    let lines = if text.lines().any(|l| l.trim_start().starts_with("[[grid]]")) {
        toml::from_str::<TomlGrids>(text).map_err(located)?.grid
    } else {
        vec![toml::from_str::<GridLine>(text).map_err(located)?]
    };
    for (i, l) in lines.iter().enumerate() {
        let all = l
            .batch_sizes
            .iter()
            .chain(&l.input_lens)
            .chain(l.output_lens.iter().flatten());
        if l.batch_sizes.is_empty()
            || l.input_lens.is_empty()
            || all.clone().any(|v| !(1..=MAX_VALUE).contains(v))
        {
            return Err(err(
                file,
                1,
                1,
                format!(
                    "grid {}: the lists must be non-empty, of whole numbers from 1 to {MAX_VALUE}",
                    i + 1
                ),
            ));
        }
    }
    Ok(Grid { lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells, or where an error is and a part of its message.
    type Want<'a> = Result<&'a [(u32, u32, u32)], (usize, usize, &'a str)>;

    /// `text` parses to `cells` (with outputs `[128]` by default), or fails at `(line, column)`.
    fn check(text: &str, want: Want<'_>) {
        match (parse(text, "g.csv"), want) {
            (Ok(g), Ok(cells)) => assert_eq!(g.cells(&[128]), cells, "{text}"),
            (Err(e), Err((line, column, part))) => {
                assert_eq!((e.line, e.column), (line, column), "{e}");
                assert!(e.to_string().contains(part), "{e}");
                assert!(e.to_string().starts_with("g.csv:"), "{e}");
            }
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn the_seed_form() {
        check(
            "# sweep\n{1,2};{1024,2048}\n\n{2, 4} ; {1024}  # tail\n",
            Ok(&[
                (1, 1024, 128),
                (1, 2048, 128),
                (2, 1024, 128),
                (2, 2048, 128),
                (4, 1024, 128),
            ]),
        );
        check("{1,2};{1024", Err((1, 12, "no closing")));
        check(
            "{8;{512}",
            Err((1, 3, "expected `}` to close the batch sizes")),
        );
        check("{1,x};{1024}", Err((1, 4, "`x` in the batch sizes")));
        check("{1,2},{1024}", Err((1, 6, "expected `;`")));
        check("{1};{8} more", Err((1, 9, "unexpected text")));
        check("\n\n1,2;{8}", Err((3, 1, "expected `{`")));
        check("{0};{8}", Err((1, 2, "from 1 to")));
        check("# nothing\n", Err((1, 1, "no grid")));
    }

    #[test]
    fn toml_lists() {
        check(
            "batch_sizes = [1, 8]\ninput_lens = [512]\noutput_lens = [16]\n",
            Ok(&[(1, 512, 16), (8, 512, 16)]),
        );
        check(
            "[[grid]]\nbatch_sizes = [1]\ninput_lens = [512]\n\n[[grid]]\nbatch_sizes = [2]\ninput_lens = [512, 1024]\n",
            Ok(&[(1, 512, 128), (2, 512, 128), (2, 1024, 128)]),
        );
        check(
            "batch_sizes = [1, \"x\"]\ninput_lens = [1]\n",
            Err((1, 19, "")),
        );
        check(
            "batch_sizes = [1]\ninput_lenz = [1]\n",
            Err((2, 1, "unknown field")),
        );
        check(
            "batch_sizes = []\ninput_lens = [1]\n",
            Err((1, 1, "non-empty")),
        );
    }
}
