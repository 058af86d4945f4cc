//! Any image reference, and what its tag's spelling suggests.
//!
//! [`ImageRef`] validates `[registry[:port]/]repository[:tag][@sha256:<64 hex>]` the way Docker
//! does (lowercase path components, a tag of at most 128 characters, a SHA-256 digest).
//! [`TagHints`] reads a tag's fields: a nightly tag says everything ([`ImageTag`]); a release
//! (`v0.5.5.post3-rocm700-mi30x`, `v0.5.6-cu129-amd64`) says its version, build and perhaps
//! its hardware; `20250623` is a dated dev build; a hex tag names a commit. These are hints: the
//! runner learns the rest from the image (digest, OCI labels, versions inside it) and the host
//! (its GPUs), and a hint that disagrees with the host is an error.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValueError;
use crate::tag::{valid_build, valid_date, valid_version, Hardware, ImageTag};

/// A validated Docker image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// As given.
    raw: String,
    /// `[registry/]repository`, e.g. `lmsysorg/sglang`.
    repository: String,
    tag: Option<String>,
    /// `sha256:<64 hex>`.
    digest: Option<String>,
}

fn ref_error(value: &str, hint: &'static str) -> ValueError {
    ValueError {
        kind: "image reference",
        value: crate::text::evidence(value, 200),
        hint,
    }
}

const REF_HINT: &str = "expected `repository[:tag]` or `repository@sha256:<64 hex digits>`, e.g. `lmsysorg/sglang:v0.5.6-cu129-amd64`";

impl ImageRef {
    pub fn as_str(&self) -> &str {
        &self.raw
    }
    pub fn repository(&self) -> &str {
        &self.repository
    }
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }
    /// What the tag's spelling suggests (nothing for a digest-only reference).
    pub fn hints(&self) -> TagHints {
        self.tag.as_deref().map(TagHints::of).unwrap_or_default()
    }
}

/// A registry host (`host[:port]`, with a `.` or a `:`, or `localhost`) or a repository path
/// component (`[a-z0-9]+([._-]+[a-z0-9]+)*`).
fn valid_component(c: &str, first: bool) -> bool {
    let host = first
        && (c.contains('.') || c.contains(':') || c == "localhost")
        && c.split(':').count() <= 2
        && c.split(':')
            .nth(1)
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
        && c.split(':').next().is_some_and(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        });
    let path = !c.is_empty()
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && c.as_bytes()[0].is_ascii_alphanumeric()
        && c.as_bytes()[c.len() - 1].is_ascii_alphanumeric();
    host || path
}

fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && !t.starts_with(['.', '-'])
}

fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl FromStr for ImageRef {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 512 || s.trim() != s {
            return Err(ref_error(s, REF_HINT));
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) if valid_digest(d) => (n, Some(d.to_owned())),
            Some(_) => {
                return Err(ref_error(
                    s,
                    "a digest is `sha256:` and 64 lowercase hex digits",
                ))
            }
            None => (s, None),
        };
        // The tag follows the last `:` after the last `/` (a registry port has a `/` after it).
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(&name_tag[last_slash + i + 1..]),
            ),
            None => (name_tag, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(ref_error(
                    s,
                    "a tag is 1-128 characters from [A-Za-z0-9_.-], not starting with `.` or `-`",
                ));
            }
        }
        let parts: Vec<&str> = repository.split('/').collect();
        let ok = parts.len() <= 8
            && parts
                .iter()
                .enumerate()
                .all(|(i, c)| valid_component(c, i == 0 && parts.len() > 1));
        if !ok {
            return Err(ref_error(
                s,
                "a repository is lowercase `[registry[:port]/]name[/name…]`, e.g. `rocm/sgl-dev`",
            ));
        }
        if tag.is_none() && digest.is_none() {
            return Err(ref_error(
                s,
                "name the image exactly: add `:tag` or `@sha256:…` (sglci never assumes `latest`)",
            ));
        }
        Ok(Self {
            raw: s.to_owned(),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            digest,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// What kind of image a tag's spelling suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// `v<ver>-rocm<NNN>-<hw>-<YYYYMMDD>[-RC]`: the nightly images.
    Nightly,
    /// `v<ver>[-<build>][-<hw>][-<arch>]`: a release.
    Release,
    /// A date (`20250623`), as `rocm/sgl-dev` dev builds are tagged.
    Dated,
    /// A commit hash (7-40 hex digits, optionally `g`/`sha-` prefixed).
    Commit,
    /// Anything else (`latest`, `pr-1234`, a digest only).
    #[default]
    Other,
}

/// The fields a tag's spelling suggests. Every field is a hint the image and host confirm.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TagHints {
    pub kind: ImageKind,
    /// SGLang version without `v`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `rocm700`, `cu129`, `cpu`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hardware: Option<Hardware>,
    /// `YYYYMMDD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Lowercase hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The nightly tag itself, when it is one.
    #[serde(skip)]
    pub nightly: Option<ImageTag>,
}

/// Where a run's image date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateSource {
    /// The tag spells it (nightly and dated tags).
    Tag,
    /// The image's creation time (`org.opencontainers.image.created`, else Docker's `Created`).
    Created,
    /// Neither: the day the run started.
    Run,
}

/// What a run learnt about the image it tested and the GPUs it ran on (F16): recorded in the
/// bundle's manifest and shown on the run page. `None` is "not known", never a guess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageIdentity {
    /// The reference as given (`lmsysorg/sglang:v0.5.6-cu129-amd64`, `repo@sha256:…`).
    pub reference: String,
    pub kind: ImageKind,
    /// The run label that names the run folders (`v<ver>-<build>-<hw>-<date>[…]`).
    pub label: String,
    pub date_source: DateSource,
    /// The repository digest (`repo@sha256:…`), when the image came from a registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Docker's image id (`sha256:…`, the config's digest): identifies local images too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// OCI `org.opencontainers.image.revision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// OCI `org.opencontainers.image.version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// OCI `org.opencontainers.image.created`, else Docker's `Created` (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sglang_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sglang_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rocm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda: Option<String>,
    /// The host's GPU product name (`AMD Instinct MI300X`, `NVIDIA H200`) and count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_count: Option<u32>,
}

fn hex_commit(s: &str) -> Option<String> {
    let h = s
        .strip_prefix("sha-")
        .or_else(|| s.strip_prefix('g'))
        .unwrap_or(s);
    let ok = (7..=40).contains(&h.len())
        && h.bytes().all(|b| b.is_ascii_hexdigit())
        // All digits is a number (a date, a build id), not a commit.
        && !h.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| h.to_ascii_lowercase())
}

impl TagHints {
    /// Reads a tag's fields (`-`-separated); unknown fields are ignored.
    pub fn of(tag: &str) -> Self {
        if let Ok(t) = tag.parse::<ImageTag>() {
            return Self {
                kind: ImageKind::Nightly,
                version: Some(t.version().to_owned()),
                build: Some(t.rocm().to_owned()),
                hardware: Some(t.hardware().clone()),
                date: Some(t.date().to_owned()),
                commit: t.commit().map(str::to_owned),
                nightly: Some(t),
            };
        }
        let mut h = Self::default();
        if valid_date(tag) {
            h.kind = ImageKind::Dated;
            h.date = Some(tag.to_owned());
            return h;
        }
        if let Some(c) = hex_commit(tag) {
            h.kind = ImageKind::Commit;
            h.commit = Some(c);
            return h;
        }
        let mut fields = tag.split('-');
        if let Some(v) = fields
            .next()
            .and_then(|v| v.strip_prefix('v'))
            .filter(|v| valid_version(v))
        {
            h.kind = ImageKind::Release;
            h.version = Some(v.to_owned());
        }
        for f in tag.split('-').skip(usize::from(h.version.is_some())) {
            if valid_build(f) && f.len() > 2 && h.build.is_none() {
                h.build = Some(f.to_owned());
            } else if let Ok(hw) = f.parse::<Hardware>() {
                h.hardware.get_or_insert(hw);
            } else if valid_date(f) {
                h.date.get_or_insert_with(|| f.to_owned());
            } else if let Some(c) = hex_commit(f).filter(|_| f.len() >= 8) {
                h.commit.get_or_insert(c);
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(s: &str) -> TagHints {
        s.parse::<ImageRef>().expect(s).hints()
    }

    #[test]
    fn references_of_every_shape() {
        let r: ImageRef = "lmsysorg/sglang:v0.5.6-cu129-amd64".parse().expect("ref");
        assert_eq!(r.repository(), "lmsysorg/sglang");
        assert_eq!(r.tag(), Some("v0.5.6-cu129-amd64"));
        let d = format!("rocm/sgl-dev@sha256:{}", "ab".repeat(32));
        let r: ImageRef = d.parse().expect("digest");
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().map(str::len), Some(71));
        let r: ImageRef = "127.0.0.1:5000/sglci/smoke:abc1234".parse().expect("port");
        assert_eq!(r.repository(), "127.0.0.1:5000/sglci/smoke");
        assert_eq!(r.tag(), Some("abc1234"));
        let both = format!("localhost:5000/x:v1@sha256:{}", "0".repeat(64));
        assert!(both.parse::<ImageRef>().is_ok());
        for bad in [
            "",
            "Upper/Case:tag",
            "repo",
            "repo:",
            "repo:-tag",
            "repo@sha256:short",
            "repo:tag with space",
            " repo:tag",
            "a//b:tag",
        ] {
            let e = bad.parse::<ImageRef>().expect_err(bad);
            assert!(e.to_string().contains("image reference"), "{e}");
        }
    }

    #[test]
    fn tags_say_what_they_can() {
        let n = hints("rocm/sgl-dev:v0.5.6.post2-rocm700-mi30x-20251216");
        assert_eq!(n.kind, ImageKind::Nightly);
        assert_eq!(n.date.as_deref(), Some("20251216"));
        let r = hints("lmsysorg/sglang:v0.5.5.post3-rocm700-mi30x");
        assert_eq!(r.kind, ImageKind::Release);
        assert_eq!(r.version.as_deref(), Some("0.5.5.post3"));
        assert_eq!(r.build.as_deref(), Some("rocm700"));
        assert_eq!(r.hardware.as_ref().map(Hardware::as_str), Some("mi30x"));
        let c = hints("lmsysorg/sglang:v0.5.6-cu129-amd64");
        assert_eq!(c.kind, ImageKind::Release);
        assert_eq!(c.build.as_deref(), Some("cu129"));
        assert_eq!(c.hardware, None);
        let b = hints("lmsysorg/sglang:v0.4.9.post2-cu128-b200");
        assert_eq!(b.hardware.as_ref().map(Hardware::as_str), Some("b200"));
        let d = hints("rocm/sgl-dev:20250623");
        assert_eq!(
            (d.kind, d.date.as_deref()),
            (ImageKind::Dated, Some("20250623"))
        );
        let g = hints("ghcr.io/me/sglang:3f2a9c1d7e");
        assert_eq!(
            (g.kind, g.commit.as_deref()),
            (ImageKind::Commit, Some("3f2a9c1d7e"))
        );
        assert_eq!(
            hints("me/sglang:sha-3F2A9C1").commit.as_deref(),
            Some("3f2a9c1")
        );
        assert_eq!(hints("me/sglang:latest").kind, ImageKind::Other);
        assert_eq!(hints("me/sglang:12345678").kind, ImageKind::Other);
    }
}
