//! Tidy checks of the invariants in ARCHITECTURE.md: the pure core does no I/O and reads no
//! clock (outside its `backend/` shell and its one clock); the publisher's pure modules
//! (`legacy`, `regress`, `site`, `compare`, `markdown`, `table`, `config`) do no I/O either;
//! polars stays inside the history modules; no two top-level modules of a crate depend on each
//! other in a cycle; no non-test function is longer than 150 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").filter_map(Result::ok) {
        let p = entry.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out
}

const FORBIDDEN_IN_PURE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "SystemTime::now",
    "Instant::now",
    "tokio::",
    "std::env::var",
];

/// A source file without its `#[cfg(test)]` tail (unit tests may touch the disk).
fn non_test_source(file: &Path) -> String {
    let text = std::fs::read_to_string(file).expect("source");
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

fn assert_clean(file: &Path, forbidden: &[&str]) {
    let text = non_test_source(file);
    for f in forbidden {
        assert!(
            !text.contains(f),
            "{} uses `{f}`, which the pure core must not",
            file.display()
        );
    }
}

#[test]
fn core_is_pure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src");
    let files = rust_files(&root);
    assert!(files.len() > 10);
    // `backend/` is the shell side of the store and queue (directory, spool, S3, SQS);
    // `clock.rs` is the one wall clock the shells read.
    let shell = root.join("backend");
    let clock = root.join("clock.rs");
    for f in files
        .iter()
        .filter(|f| !f.starts_with(&shell) && **f != clock)
    {
        assert_clean(f, FORBIDDEN_IN_PURE);
    }
    assert!(files.iter().any(|f| f.starts_with(&shell)));
}

#[test]
fn publisher_pure_modules_do_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for dir in ["regress", "site"] {
        files.extend(rust_files(&src.join(dir)));
    }
    for m in [
        "legacy/classify.rs",
        "legacy/parse_file.rs",
        "legacy/build.rs",
        "table.rs",
        "config.rs",
        "compare.rs",
        "markdown.rs",
    ] {
        files.push(src.join(m));
    }
    assert!(files.len() > 15, "{files:?}");
    for f in files {
        assert_clean(&f, FORBIDDEN_IN_PURE);
    }
}

/// The top-level module a file of `src/` belongs to (`site/plot.rs` → `site`), or `None` for
/// the crate root and the binaries.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_owned();
    (!matches!(name.as_str(), "lib" | "main" | "bin")).then_some(name)
}

/// Which top-level modules each top-level module names as `crate::<module>` (or through a
/// grouped `use crate::{…}`), outside unit tests.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = rust_files(src);
    let mods: BTreeSet<String> = files.iter().filter_map(|f| top_module(src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(from) = top_module(src, f) else {
            continue;
        };
        // Code only: a doc comment's link to another module is not a dependency.
        let text: String = non_test_source(f)
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let deps = graph.entry(from.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .map(|n| n.trim())
                    .collect(),
                None => vec![rest],
            };
            for n in names {
                let name: String = n
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name != from && mods.contains(&name) {
                    deps.insert(name);
                }
            }
        }
    }
    graph
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_cycles_between_top_level_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in ["core", "runner", "publisher"] {
        let graph = module_graph(&root.join(krate).join("src"));
        assert!(graph.len() > 5, "{krate}: {graph:?}");
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "{krate}: the top-level modules {} depend on each other in a cycle (hint: move what both need into a module of its own)",
                cycle.join(" → ")
            );
        }
    }
    // The checker finds a planted cycle.
    let planted: BTreeMap<String, BTreeSet<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"])]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
            .collect();
    assert_eq!(
        find_cycle(&planted).map(|c| c.len()),
        Some(4),
        "a → b → c → a"
    );
}

/// Lines of each non-test function of a source file longer than `limit`, as `name (lines)`.
fn long_functions(text: &str, limit: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let trimmed = l.trim_start();
        let indent = l.len() - trimmed.len();
        let is_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "async fn ",
            "pub async fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p));
        if !is_fn {
            i += 1;
            continue;
        }
        // The body ends at the first `}` at the signature's indentation.
        let mut j = i;
        while j < lines.len() && !lines[j].trim_end().ends_with('{') {
            if lines[j].trim_end().ends_with(';') {
                break;
            }
            j += 1;
        }
        let end = (j + 1..lines.len()).find(|&k| {
            let t = lines[k].trim_start();
            lines[k].len() - t.len() == indent && t.starts_with('}')
        });
        match end {
            Some(k) => {
                if k - i + 1 > limit {
                    let name: String = trimmed
                        .split("fn ")
                        .nth(1)
                        .unwrap_or("")
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    out.push(format!("{name} ({} lines)", k - i + 1));
                }
                i = k + 1;
            }
            None => i = j + 1,
        }
    }
    out
}

#[test]
fn no_function_over_150_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut long = Vec::new();
    for krate in ["core", "runner", "publisher"] {
        for f in rust_files(&root.join(krate).join("src")) {
            for l in long_functions(&non_test_source(&f), 150) {
                long.push(format!("{}: {l}", f.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over 150 lines (hint: split them into named steps):\n{}",
        long.join("\n")
    );
    let planted = format!("fn big() {{\n{}}}\n", "    x();\n".repeat(160));
    assert_eq!(
        long_functions(&planted, 150),
        vec!["big (162 lines)".to_owned()]
    );
}

#[test]
fn polars_stays_in_the_history_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for f in rust_files(&src) {
        let rel = f
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        if ["table.rs", "history.rs"].contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("source");
        assert!(
            !text.contains("polars::"),
            "{rel} uses polars outside table/history"
        );
    }
}
