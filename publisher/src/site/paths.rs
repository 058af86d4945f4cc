//! Where each page lives in the site, as paths relative to the site root. One function per page
//! kind, so that links and the files written always agree.

/// A file-name-safe form of any string: ASCII letters, digits, `.`, `_` and `-` are kept, `/`
/// becomes `--`, anything else `_`. Deterministic and injective enough for run folders.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => out.push(c),
            '.' if !out.is_empty() => out.push(c),
            '/' => out.push_str("--"),
            _ => out.push('_'),
        }
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

pub fn run_page(run_dir: &str) -> String {
    format!("runs/{}.html", slug(run_dir))
}

pub fn run_report(run_dir: &str) -> String {
    format!("runs/{}.md", slug(run_dir))
}

pub fn hardware_index(hw: &str) -> String {
    format!("hw/{}/index.html", slug(hw))
}

pub fn night_page(hw: &str, date: &str) -> String {
    format!("hw/{}/{}.html", slug(hw), slug(date))
}

pub fn year_page(hw: &str, year: &str) -> String {
    format!("hw/{}/year-{}.html", slug(hw), slug(year))
}

pub fn daily_summary(hw: &str, date: &str) -> String {
    format!("hw/{}/{}-summary.md", slug(hw), slug(date))
}

pub fn model_page(hw: &str, model: &str) -> String {
    format!("models/{}/{}.html", slug(hw), slug(model))
}

pub fn sanity_page(hw: &str) -> String {
    format!("sanity/{}.html", slug(hw))
}

/// A recorded A/B comparison's compare page.
pub fn ab_page(ab_id: &str) -> String {
    format!("ab/{}.html", slug(ab_id))
}

/// The list of recorded A/B comparisons.
pub fn ab_index() -> String {
    "ab/index.html".to_owned()
}

/// A static plot (without extension: `.svg` and `.png` are written side by side).
pub fn plot(dir: &str, id: &str) -> String {
    format!("plots/{}/{}", slug(dir), slug(id))
}

/// `../` repeated to climb from a page back to the site root.
pub fn root_of(page: &str) -> String {
    "../".repeat(page.matches('/').count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_roots() {
        assert_eq!(
            slug("online_benchmark_log/mi30x/GROK1/v0.5.6-rocm700-mi30x-20251209_online"),
            "online_benchmark_log--mi30x--GROK1--v0.5.6-rocm700-mi30x-20251209_online"
        );
        assert_eq!(slug("../x y"), "_.--x_y");
        assert_eq!(slug(""), "_");
        assert_eq!(root_of("index.html"), "");
        assert_eq!(root_of("hw/mi30x/20251209.html"), "../../");
    }
}
