//! The seed of a branch's repository: what a push needs from the branch without the files'
//! contents. A fresh container (a cold Lambda: its git cache is empty) would otherwise fetch the
//! whole branch before its first push, 110,000 files at 100x history, and libgit2 cannot fetch
//! without blobs. So after each push the publisher leaves, in its own object store, one pack of
//! the branch's commits and the trees of the commit it pushed (plus the blobs a push reads, the
//! site's stamp); a fresh repository plants it, and its fetch then asks for nothing when the
//! branch has not moved since, or for what came after otherwise.
//!
//! Why a push works without the other blobs: the new tree is built from blob ids (the site
//! manifest's, or the blobs written for the new files), a file whose id the branch's tree holds
//! is not read, trees are written as raw objects (libgit2's tree builder would insist that every
//! blob be present), and libgit2's pack builder marks the blobs of the remote's tree
//! uninteresting without reading them. What needs a blob that is not there fails as a git error;
//! the push is then made again in a scratch repository without the seed (see `in_workspace`):
//! a seed costs speed when it does not fit, never a publish.
//!
//! The seed's bytes are a header line naming the tip (`sglci-git-seed 1 <40 hex>\n`), then the
//! pack. They come from the publisher's own bucket, but are read as untrusted: the header must
//! parse, the pack is indexed by libgit2 (which hashes every object, so a seed cannot pass off
//! an object under another id), and the tip must be a commit in it.

use git2::{Oid, Repository};

/// Where a branch's seed is kept (the publisher's object store, one object per remote and
/// branch). Read once per fresh repository, written after each push that landed.
pub trait SeedStore {
    /// The seed's bytes; `Ok(None)` when there is none.
    fn read(&self) -> Result<Option<Vec<u8>>, String>;
    fn write(&self, bytes: &[u8]) -> Result<(), String>;
}

/// A seed larger than this is not read (a few MB at 100x history: trees and commits only).
pub const MAX_SEED_BYTES: usize = 256 << 20;

/// At most this many commits go into a seed; a longer history (a log repository after many
/// years) leaves none, as a seed cut short would leave commits without their parents.
pub const MAX_SEED_COMMITS: usize = 500_000;

const MAGIC: &[u8] = b"sglci-git-seed 1 ";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SeedError {
    #[error("the seed does not start with `sglci-git-seed 1 <commit>` (hint: it is written again by the next push)")]
    Header,
    #[error("the seed is {0} bytes, more than {MAX_SEED_BYTES} (hint: it is not read)")]
    TooLarge(usize),
    #[error("the seed's pack: {0}")]
    Pack(String),
    #[error("the seed's tip {0} is not a commit of its pack")]
    Tip(Oid),
}

/// The seed's bytes: its header, then the pack.
pub fn encode(tip: Oid, pack: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 41 + pack.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(tip.to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(pack);
    out
}

/// The tip and the pack of a seed's bytes (pure: no repository).
pub fn decode(bytes: &[u8]) -> Result<(Oid, &[u8]), SeedError> {
    if bytes.len() > MAX_SEED_BYTES {
        return Err(SeedError::TooLarge(bytes.len()));
    }
    let rest = bytes.strip_prefix(MAGIC).ok_or(SeedError::Header)?;
    let (hex, pack) = match rest.get(..41) {
        Some([hex @ .., b'\n']) => (hex, &rest[41..]),
        _ => return Err(SeedError::Header),
    };
    if !hex
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err(SeedError::Header);
    }
    let tip = std::str::from_utf8(hex)
        .ok()
        .and_then(|h| Oid::from_str(h).ok())
        .ok_or(SeedError::Header)?;
    Ok((tip, pack))
}

/// The seed of `tip` in `repo`: every commit reachable from it, every tree of its tree, and the
/// blobs at `paths` in that tree (those a push reads: the stamp its guard checks). `Ok(None)`
/// when the history is longer than [`MAX_SEED_COMMITS`].
pub(super) fn make(
    repo: &Repository,
    tip: Oid,
    paths: &[&str],
) -> Result<Option<Vec<u8>>, git2::Error> {
    let mut pb = repo.packbuilder()?;
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    let mut commits = 0;
    for c in walk {
        pb.insert_object(c?, None)?;
        commits += 1;
        if commits > MAX_SEED_COMMITS {
            return Ok(None);
        }
    }
    let tree = repo.find_commit(tip)?.tree()?;
    let mut trees = vec![tree.id()];
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = trees.pop() {
        if !seen.insert(id) {
            continue;
        }
        pb.insert_object(id, None)?;
        let t = repo.find_tree(id)?;
        trees.extend(
            t.iter()
                .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
                .map(|e| e.id()),
        );
    }
    for path in paths {
        if let Ok(e) = tree.get_path(std::path::Path::new(path)) {
            if e.kind() == Some(git2::ObjectType::Blob) {
                pb.insert_object(e.id(), None)?;
            }
        }
    }
    let mut buf = git2::Buf::new();
    pb.write_buf(&mut buf)?;
    Ok(Some(encode(tip, &buf)))
}

/// Plants a seed in `repo` (a fresh one): its pack indexed into the object database, its tip
/// recorded as what the repository has seen of the branch (`refs/sglci/have`, which the next
/// fetch names to the remote). Returns the tip.
pub(super) fn plant(repo: &Repository, bytes: &[u8]) -> Result<Oid, SeedError> {
    use std::io::Write;
    let (tip, pack) = decode(bytes)?;
    let pack_error = |e: git2::Error| SeedError::Pack(e.message().to_owned());
    let odb = repo.odb().map_err(pack_error)?;
    let mut w = odb.packwriter().map_err(pack_error)?;
    w.write_all(pack)
        .map_err(|e| SeedError::Pack(e.to_string()))?;
    w.commit().map_err(pack_error)?;
    if repo.find_commit(tip).is_err() {
        return Err(SeedError::Tip(tip));
    }
    repo.reference("refs/sglci/have", tip, true, "sglci: seed")
        .map_err(pack_error)?;
    Ok(tip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_decode_or_are_refused() {
        let tip = Oid::from_str("0123456789abcdef0123456789abcdef01234567").expect("oid");
        let bytes = encode(tip, b"PACK...");
        assert_eq!(decode(&bytes), Ok((tip, &b"PACK..."[..])));
        for bad in [
            &b""[..],
            b"sglci-git-seed 1 ",
            b"sglci-git-seed 2 0123456789abcdef0123456789abcdef01234567\nPACK",
            b"sglci-git-seed 1 0123456789abcdef0123456789abcdef0123456\nPACK",
            b"sglci-git-seed 1 0123456789ABCDEF0123456789abcdef01234567\nPACK",
            b"sglci-git-seed 1 0123456789abcdef0123456789abcdef01234567 PACK",
            b"sglci-git-seed 1 +123456789abcdef0123456789abcdef01234567\n",
        ] {
            assert_eq!(decode(bad), Err(SeedError::Header), "{bad:?}");
        }
    }

    /// A seed's bytes come from a bucket: cut, flipped or spliced, planting one is an error or
    /// a seed whose tip is a commit, never a panic or a hang.
    #[test]
    fn damaged_seeds_are_refused_or_planted_whole() {
        let tmp = tempfile::tempdir().expect("tmp");
        let repo = Repository::init_bare(tmp.path().join("src")).expect("repo");
        let sig = git2::Signature::now("t", "t@example.invalid").expect("sig");
        let mut parent = None;
        for i in 0..3 {
            let blob = repo.blob(format!("page {i}\n").as_bytes()).expect("blob");
            let mut b = repo.treebuilder(None).expect("tb");
            b.insert("index.html", blob, 0o100644).expect("insert");
            let tree = repo.find_tree(b.write().expect("tree")).expect("tree");
            let parents: Vec<git2::Commit<'_>> = parent
                .map(|p| repo.find_commit(p).expect("parent"))
                .into_iter()
                .collect();
            let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
            parent = Some(
                repo.commit(None, &sig, &sig, "c", &tree, &refs)
                    .expect("commit"),
            );
        }
        let tip = parent.expect("tip");
        let good = make(&repo, tip, &["index.html"])
            .expect("make")
            .expect("seed");
        let planted = Repository::init_bare(tmp.path().join("good")).expect("repo");
        assert_eq!(plant(&planted, &good), Ok(tip));
        let index = planted.find_commit(tip).expect("tip").tree().expect("tree");
        assert!(planted
            .find_blob(index.get_name("index.html").expect("entry").id())
            .is_ok());
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..120 {
            let mut bytes = good.clone();
            match i % 3 {
                0 => bytes.truncate(next() as usize % good.len()),
                1 => {
                    for _ in 0..1 + next() % 4 {
                        let at = next() as usize % bytes.len();
                        bytes[at] ^= 1 << (next() % 8);
                    }
                }
                _ => {
                    let at = next() as usize % bytes.len();
                    let len = (next() as usize % 64).min(bytes.len() - at);
                    let junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                    bytes.splice(at..at + len, junk);
                }
            }
            let repo = Repository::init_bare(tmp.path().join(format!("m{i}"))).expect("repo");
            if let Ok(t) = plant(&repo, &bytes) {
                assert!(
                    repo.find_commit(t).is_ok(),
                    "mutation {i}: tip planted without its commit"
                );
            }
        }
    }
}
