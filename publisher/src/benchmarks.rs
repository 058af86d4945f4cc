//! Helpers shared by the benchmark harnesses: each writes its own section of `BENCHMARKS.md`.

/// Replaces (or appends) the section between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`.
pub fn replace_section(doc: &str, name: &str, body: &str) -> String {
    let open = format!("<!-- bench:{name} -->");
    let close = format!("<!-- /bench:{name} -->");
    let section = format!("{open}\n{}\n{close}", body.trim_end());
    match (doc.find(&open), doc.find(&close)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{section}{}", &doc[..a], &doc[b + close.len()..])
        }
        _ => {
            let mut out = doc.trim_end().to_owned();
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&section);
            out.push('\n');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_replaced_in_place() {
        let doc = replace_section("# Benchmarks\n", "a", "one");
        let doc = replace_section(&doc, "b", "two");
        let doc = replace_section(&doc, "a", "three");
        assert_eq!(
            doc,
            "# Benchmarks\n\n<!-- bench:a -->\nthree\n<!-- /bench:a -->\n\n<!-- bench:b -->\ntwo\n<!-- /bench:b -->\n"
        );
    }
}
