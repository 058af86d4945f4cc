//! GitHub only runs `.github/workflows/`; `workflows/` is the source. They must agree.

use std::path::Path;

#[test]
fn github_workflows_mirror_the_sources() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("workflows"))
        .expect("workflows/")
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            let name = path.file_name().expect("name");
            let mirror = root.join(".github/workflows").join(name);
            let a = std::fs::read(&path).expect("source");
            let b = std::fs::read(&mirror).unwrap_or_else(|e| {
                panic!("{} has no mirror {}: {e}", path.display(), mirror.display())
            });
            assert_eq!(a, b, "{} and {} differ", path.display(), mirror.display());
            checked += 1;
        }
    }
    assert!(checked > 0);
}
