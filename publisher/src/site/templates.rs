//! The site's templates and static assets: `site-templates/` embedded in the binary (so a Lambda
//! is one file), or read from a directory with `--templates DIR` for fast local iteration.

use std::collections::BTreeMap;

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
    ("ab.html", include_str!("../../../site-templates/ab.html")),
    (
        "failures.html",
        include_str!("../../../site-templates/failures.html"),
    ),
    (
        "ab_index.html",
        include_str!("../../../site-templates/ab_index.html"),
    ),
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

    /// The names of the template and asset files (relative to `site-templates/`), for a shell
    /// that reads a working copy from disk ([`crate::app::load_templates`]).
    pub fn file_names() -> impl Iterator<Item = &'static str> {
        EMBEDDED.iter().map(|(n, _)| *n)
    }

    /// Templates and assets from `(name, text)` pairs, as named by [`Templates::file_names`].
    pub fn from_files(
        files: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, TemplateError> {
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

fn md_filter(
    value: &tera::Value,
    _: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let s = match value {
        tera::Value::String(s) => s.clone(),
        tera::Value::Null => String::new(),
        other => other.to_string(),
    };
    Ok(tera::Value::String(crate::markdown::escape(&s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_matches_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../site-templates");
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
        crate::app::load_templates(&dir).expect("templates parse from the directory");
    }

    #[test]
    fn markdown_escaping() {
        assert_eq!(
            crate::markdown::escape("a|b *c* <x>"),
            "a\\|b \\*c\\* &lt;x&gt;"
        );
        assert_eq!(
            crate::markdown::escape("[link](http://e)\nnext"),
            "\\[link\\](http://e) next"
        );
    }
}
