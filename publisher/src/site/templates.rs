//! The site's templates and static assets: `site-templates/` embedded in the binary (so a Lambda
//! is one file), or read from a directory with `--templates DIR` for fast local iteration.

use std::collections::BTreeMap;
use std::path::Path;

use tera::Tera;

/// Every file of `site-templates/` the site uses: templates (`*.html`, `*.md`) and assets
/// (`static/*`). `tests::embedded_list_matches_directory` keeps this list and the directory in step.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../../site-templates/base.html"),
    ),
    (
        "macros.html",
        include_str!("../../../site-templates/macros.html"),
    ),
    (
        "index.html",
        include_str!("../../../site-templates/index.html"),
    ),
    (
        "night.html",
        include_str!("../../../site-templates/night.html"),
    ),
    (
        "year.html",
        include_str!("../../../site-templates/year.html"),
    ),
    (
        "model.html",
        include_str!("../../../site-templates/model.html"),
    ),
    ("run.html", include_str!("../../../site-templates/run.html")),
    (
        "sanity.html",
        include_str!("../../../site-templates/sanity.html"),
    ),
    (
        "upstream.html",
        include_str!("../../../site-templates/upstream.html"),
    ),
    (
        "downloads.html",
        include_str!("../../../site-templates/downloads.html"),
    ),
    (
        "regressions.html",
        include_str!("../../../site-templates/regressions.html"),
    ),
    (
        "downloads_year.html",
        include_str!("../../../site-templates/downloads_year.html"),
    ),
    (
        "daily_summary.md",
        include_str!("../../../site-templates/daily_summary.md"),
    ),
    (
        "run_report.md",
        include_str!("../../../site-templates/run_report.md"),
    ),
    (
        "static/style.css",
        include_str!("../../../site-templates/static/style.css"),
    ),
    (
        "static/chart.js",
        include_str!("../../../site-templates/static/chart.js"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {name}: {reason}")]
    Parse { name: String, reason: String },
    #[error("reading templates from {dir}: {source} (hint: --templates takes a copy of site-templates/)")]
    Read { dir: String, source: std::io::Error },
    #[error(
        "{dir} has no `{name}` (hint: --templates takes a copy of site-templates/ with every file)"
    )]
    Missing { dir: String, name: String },
}

/// Parsed templates and the raw static assets.
#[derive(Debug)]
pub struct Templates {
    pub tera: Tera,
    pub assets: BTreeMap<String, Vec<u8>>,
}

/// The full chain of a tera error, which tera keeps in `source()`.
pub fn chain(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = cur {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        cur = s.source();
    }
    msg
}

impl Templates {
    /// The templates compiled into the binary.
    pub fn embedded() -> Result<Self, TemplateError> {
        Self::from_files(
            EMBEDDED
                .iter()
                .map(|(n, t)| ((*n).to_owned(), (*t).to_owned())),
        )
    }

    /// The same files read from a directory (a working copy of `site-templates/`).
    pub fn from_dir(dir: &Path) -> Result<Self, TemplateError> {
        let mut files = Vec::new();
        for (name, _) in EMBEDDED {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    TemplateError::Missing {
                        dir: dir.display().to_string(),
                        name: (*name).to_owned(),
                    }
                } else {
                    TemplateError::Read {
                        dir: dir.display().to_string(),
                        source,
                    }
                }
            })?;
            files.push(((*name).to_owned(), text));
        }
        Self::from_files(files.into_iter())
    }

    fn from_files(files: impl Iterator<Item = (String, String)>) -> Result<Self, TemplateError> {
        let mut tera = Tera::default();
        // Markdown is escaped by the `md` filter where it matters, never as HTML.
        tera.autoescape_on(vec![".html"]);
        tera.register_filter("md", md_filter);
        let mut assets = BTreeMap::new();
        let mut templates = Vec::new();
        for (name, text) in files {
            if name.starts_with("static/") {
                assets.insert(name, text.into_bytes());
            } else {
                templates.push((name, text));
            }
        }
        tera.add_raw_templates(templates)
            .map_err(|e| TemplateError::Parse {
                name: "site-templates".to_owned(),
                reason: chain(&e),
            })?;
        Ok(Self { tera, assets })
    }
}

/// Escapes text for a GitHub-flavoured markdown table cell or line: markdown punctuation and
/// HTML are neutralised and line breaks become spaces.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn md_filter(
    value: &tera::Value,
    _: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let s = match value {
        tera::Value::String(s) => s.clone(),
        tera::Value::Null => String::new(),
        other => other.to_string(),
    };
    Ok(tera::Value::String(escape_markdown(&s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_matches_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../site-templates");
        let mut on_disk = Vec::new();
        for sub in ["", "static"] {
            for e in std::fs::read_dir(dir.join(sub)).expect("site-templates") {
                let p = e.expect("entry").path();
                let name = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_owned();
                if p.is_file() && name != "README.md" {
                    on_disk.push(if sub.is_empty() {
                        name
                    } else {
                        format!("{sub}/{name}")
                    });
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = EMBEDDED.iter().map(|(n, _)| (*n).to_owned()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
        Templates::embedded().expect("templates parse");
        Templates::from_dir(&dir).expect("templates parse from the directory");
    }

    #[test]
    fn markdown_escaping() {
        assert_eq!(escape_markdown("a|b *c* <x>"), "a\\|b \\*c\\* &lt;x&gt;");
        assert_eq!(
            escape_markdown("[link](http://e)\nnext"),
            "\\[link\\](http://e) next"
        );
    }
}
