//! Markdown escaping for text that came from logs (model names, evidence lines, image tags):
//! shared by the site's `md` filter, the regression report, the comparison and the
//! notifications, so a hostile log line cannot open a link, a table cell or an HTML tag.

/// Escapes text for a GitHub-flavoured markdown table cell or line: markdown punctuation and
/// HTML are neutralised and line breaks become spaces.
pub fn escape(s: &str) -> String {
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
