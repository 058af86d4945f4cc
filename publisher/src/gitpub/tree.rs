//! Trees built in memory and written as raw objects: a push names blobs by id, and a seeded
//! repository (see [`super::seed`]) holds the branch's trees without its blobs, which libgit2's
//! tree builder would insist on.

use std::collections::BTreeMap;

use git2::{Oid, Repository};

/// A nested tree, built in memory.
#[derive(Default)]
pub(super) struct Dir {
    files: BTreeMap<String, Oid>,
    dirs: BTreeMap<String, Dir>,
}

impl Dir {
    pub(super) fn insert(&mut self, parts: &[&str], blob: Oid) {
        match parts {
            [name] => {
                self.files.insert((*name).to_owned(), blob);
            }
            [dir, rest @ ..] => self
                .dirs
                .entry((*dir).to_owned())
                .or_default()
                .insert(rest, blob),
            [] => {}
        }
    }

    /// Writes the tree on top of `base` (entries not mentioned are kept; a file wins over a
    /// folder of the same name). Written as a raw object: the blobs it names need not be in
    /// `repo` (a seeded repository holds the branch's trees, not its files).
    pub(super) fn write(
        &self,
        repo: &Repository,
        base: Option<&git2::Tree<'_>>,
    ) -> Result<Oid, git2::Error> {
        let mut entries: BTreeMap<Vec<u8>, (i32, Oid)> = base
            .map(|t| {
                t.iter()
                    .map(|e| (e.name_bytes().to_vec(), (e.filemode(), e.id())))
                    .collect()
            })
            .unwrap_or_default();
        for (name, sub) in &self.dirs {
            let existing = base
                .and_then(|t| t.get_name(name))
                .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
                .map(|e| repo.find_tree(e.id()))
                .transpose()?;
            let oid = sub.write(repo, existing.as_ref())?;
            entries.insert(name.as_bytes().to_vec(), (TREE_MODE, oid));
        }
        for (name, oid) in &self.files {
            entries.insert(name.as_bytes().to_vec(), (FILE_MODE, *oid));
        }
        repo.odb()?
            .write(git2::ObjectType::Tree, &tree_object(&entries))
    }
}

const TREE_MODE: i32 = 0o040000;
const FILE_MODE: i32 = 0o100644;

/// A tree object's bytes: entries in git's order (a folder's name compares as if it ended in
/// `/`), each `<octal mode> <name>\0<20-byte id>`.
fn tree_object(entries: &BTreeMap<Vec<u8>, (i32, Oid)>) -> Vec<u8> {
    let key = |(name, (mode, _)): &(&Vec<u8>, &(i32, Oid))| {
        name.iter()
            .chain((*mode == TREE_MODE).then_some(&b'/'))
            .copied()
            .collect::<Vec<u8>>()
    };
    let mut sorted: Vec<_> = entries.iter().collect();
    sorted.sort_by_cached_key(key);
    let mut out = Vec::with_capacity(entries.len() * 64);
    for (name, (mode, oid)) in sorted {
        out.extend_from_slice(format!("{mode:o} ").as_bytes());
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(oid.as_bytes());
    }
    out
}

pub(super) fn valid(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
        && !path.split('/').any(|p| p == ".git")
}

/// The files at a tree, as (path, blob id), recursively.
pub(super) fn listing(repo: &Repository, tree: &git2::Tree<'_>) -> BTreeMap<String, Oid> {
    let mut out = BTreeMap::new();
    let _ = tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) {
            out.insert(format!("{dir}{}", entry.name().unwrap_or("")), entry.id());
        }
        git2::TreeWalkResult::Ok
    });
    let _ = repo;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raw trees are the trees libgit2's builder writes: git's order (a folder sorts as if its
    /// name ended in `/`), modes, and a file winning over a folder of the same name.
    #[test]
    fn raw_trees_are_the_trees_git_writes() {
        let tmp = tempfile::tempdir().expect("tmp");
        let repo = Repository::init_bare(tmp.path()).expect("repo");
        let blob = |s: &str| repo.blob(s.as_bytes()).expect("blob");
        let paths = [
            "a",
            "a.b",
            "a-b",
            "a0",
            "b/c",
            "b.c",
            "b-",
            "c/d/e",
            "c.d/e",
            "c/d.e",
            "\u{e9}t\u{e9}",
            "Z",
            "_",
            "x/y",
        ];
        let mut dir = Dir::default();
        for p in paths {
            dir.insert(&p.split('/').collect::<Vec<_>>(), blob(p));
        }
        let ours = dir.write(&repo, None).expect("write");
        // The same tree through libgit2's builder, folder by folder.
        fn built(repo: &Repository, d: &Dir) -> Oid {
            let mut b = repo.treebuilder(None).expect("builder");
            for (name, sub) in &d.dirs {
                b.insert(name, built(repo, sub), 0o040000).expect("insert");
            }
            for (name, oid) in &d.files {
                b.insert(name, *oid, 0o100644).expect("insert");
            }
            b.write().expect("tree")
        }
        assert_eq!(ours, built(&repo, &dir));
        // On top of a base: its entries kept (modes too), ours added, a file over a folder.
        let base = repo.find_tree(ours).expect("tree");
        let mut more = Dir::default();
        more.insert(&["x"], blob("x as a file"));
        more.insert(&["c", "d", "f"], blob("f"));
        let merged = repo
            .find_tree(more.write(&repo, Some(&base)).expect("write"))
            .expect("tree");
        let listed = listing(&repo, &merged);
        assert_eq!(listed.get("x"), Some(&blob("x as a file")));
        assert_eq!(listed.get("c/d/f"), Some(&blob("f")));
        assert_eq!(listed.get("c/d/e"), Some(&blob("c/d/e")));
        assert_eq!(listed.len(), paths.len() - 1 + 2);
    }
}
