//! Validated identity newtypes: [`ImageTag`], [`Hardware`], [`RunId`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValueError;

/// The GPU platform a run executed on: from the run label (a nightly tag, or the identity the
/// runner learnt from the host), never from a folder's other parts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hardware(String);

/// Whose accelerator a [`Hardware`] is: it picks the devices, the GPU tool and the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Amd,
    Nvidia,
    Cpu,
}

const NVIDIA: &[&str] = &["h100", "h200", "h20", "b200", "gb200", "a100", "l40s"];

impl Hardware {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for AMD Instinct platforms (`mi30x`, `mi35x`, ...).
    pub fn is_amd(&self) -> bool {
        self.0.starts_with("mi")
    }

    /// Whose accelerator this is.
    pub fn vendor(&self) -> Vendor {
        if self.is_amd() {
            Vendor::Amd
        } else if self.0 == "cpu" {
            Vendor::Cpu
        } else {
            Vendor::Nvidia
        }
    }
}

impl FromStr for Hardware {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let amd = s
            .strip_prefix("mi")
            .and_then(|r| r.strip_suffix('x'))
            .is_some_and(|d| (2..=3).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
        if amd || NVIDIA.contains(&s) || s == "cpu" {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValueError {
                kind: "hardware",
                value: s.to_owned(),
                hint: "expected an AMD platform like `mi30x`/`mi35x`, an NVIDIA one like `h100`, or `cpu`",
            })
        }
    }
}

impl TryFrom<String> for Hardware {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Hardware> for String {
    fn from(h: Hardware) -> Self {
        h.0
    }
}

impl fmt::Display for Hardware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A run label in the nightly tag's shape: `v<ver>[.postN|rcN]-<build>-<hardware>-<YYYYMMDD>[-RC|-g<commit>]`.
///
/// Example: `v0.5.6.post2-rocm700-mi30x-20251216`. The date is the image date (Pacific time),
/// which is what every table keys on; runs often execute the next day. Nightly ROCm images are
/// tagged exactly like this. Every other image (a release, a PR or commit build, an NVIDIA
/// image) gets a label of the same shape from its identity (`sglci-runner tag`), so run folders
/// are named alike whatever was tested: `<build>` is `rocm<NNN>`, `cu<NNN>` (CUDA 12.9 is
/// `cu129`), `cpu`, or a bare `rocm`/`cu` when the version is unknown; the `-g<hex>` suffix
/// names the SGLang commit of a non-nightly image, so two builds of one day stay apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageTag {
    raw: String,
    version: String,
    rocm: String,
    hardware: Hardware,
    date: String,
    release_candidate: bool,
    commit: Option<String>,
}

impl ImageTag {
    pub fn as_str(&self) -> &str {
        &self.raw
    }
    /// SGLang version without the leading `v`, e.g. `0.5.6.post2`.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// The platform build, e.g. `rocm700`, `cu129` or `cpu`.
    pub fn rocm(&self) -> &str {
        &self.rocm
    }
    pub fn hardware(&self) -> &Hardware {
        &self.hardware
    }
    /// Image date `YYYYMMDD`.
    pub fn date(&self) -> &str {
        &self.date
    }
    /// The `-RC` suffix after the date.
    pub fn is_release_candidate(&self) -> bool {
        self.release_candidate
    }
    /// The `-g<hex>` suffix: the SGLang commit of a non-nightly image.
    pub fn commit(&self) -> Option<&str> {
        self.commit.as_deref()
    }

    /// Builds a label from its parts (validated like a parsed one).
    pub fn label(
        version: &str,
        build: &str,
        hardware: &Hardware,
        date: &str,
        commit: Option<&str>,
    ) -> Result<Self, ValueError> {
        let mut raw = format!("v{version}-{build}-{hardware}-{date}");
        if let Some(c) = commit {
            raw.push_str("-g");
            raw.push_str(&c[..c.len().min(COMMIT_LEN)]);
        }
        raw.parse()
    }

    /// Finds a tag at the start of `s` (e.g. a run folder `…-20251216_GROK1_MOE-I4F8_online`),
    /// returning the tag and the rest of the string.
    pub fn parse_prefix(s: &str) -> Result<(Self, &str), ValueError> {
        // The tag ends at the first `_` (folder names) or at the end.
        let end = s.find('_').unwrap_or(s.len());
        let tag = s[..end].parse()?;
        Ok((tag, &s[end..]))
    }

    /// Strips a registry/repository prefix (`rocm/sgl-dev:`) before parsing.
    pub fn from_image(image: &str) -> Result<Self, ValueError> {
        let tag = image.rsplit_once(':').map_or(image, |(_, t)| t);
        tag.trim().trim_matches('"').parse()
    }
}

/// How many hex digits of a commit a label keeps.
pub const COMMIT_LEN: usize = 10;

fn tag_error(value: &str, hint: &'static str) -> ValueError {
    ValueError {
        kind: "image tag",
        value: value.to_owned(),
        hint,
    }
}

/// `0.5.6 | 0.5.6.post2 | 0.5.3rc0`.
pub fn valid_version(v: &str) -> bool {
    let (core, suffix) = match v.find(".post") {
        Some(i) => (&v[..i], Some(&v[i + 5..])),
        None => match v.find("rc") {
            Some(i) => (&v[..i], Some(&v[i + 2..])),
            None => (v, None),
        },
    };
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    (2..=3).contains(&parts.len()) && parts.iter().all(|p| numeric(p)) && suffix.is_none_or(numeric)
}

/// `rocm<digits>`, `cu<digits>`, `cpu`, or a bare `rocm`/`cu` (version unknown).
pub fn valid_build(b: &str) -> bool {
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit()) && d.len() <= 4;
    b == "cpu"
        || b.strip_prefix("rocm").is_some_and(digits)
        || b.strip_prefix("cu").is_some_and(digits)
}

/// `g` and 7 to [`COMMIT_LEN`] lowercase hex digits.
fn commit_suffix(s: &str) -> Option<&str> {
    s.strip_prefix('g').filter(|h| {
        (7..=COMMIT_LEN).contains(&h.len())
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl FromStr for ImageTag {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const HINT: &str = "expected `v<version>-<build>-<hardware>-<YYYYMMDD>[-RC|-g<commit>]`, e.g. `v0.5.6.post2-rocm700-mi30x-20251216`";
        let mut parts = s.split('-');
        let (Some(v), Some(rocm), Some(hw), Some(date)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(tag_error(s, HINT));
        };
        let (release_candidate, commit) = match parts.next() {
            None => (false, None),
            Some("RC") => (true, None),
            Some(g) => match commit_suffix(g) {
                Some(c) => (false, Some(c.to_owned())),
                None => return Err(tag_error(s, HINT)),
            },
        };
        if parts.next().is_some() {
            return Err(tag_error(s, HINT));
        }
        let version = v
            .strip_prefix('v')
            .filter(|v| valid_version(v))
            .ok_or_else(|| tag_error(s, HINT))?;
        if !valid_build(rocm) {
            return Err(tag_error(
                s,
                "the second field must be the build: `rocm<digits>` (e.g. `rocm700`), `cu<digits>` (e.g. `cu129`) or `cpu`",
            ));
        }
        let hardware: Hardware = hw
            .parse()
            .map_err(|_| tag_error(s, "the third field must be a hardware name like `mi30x`"))?;
        if !valid_date(date) {
            return Err(tag_error(
                s,
                "the fourth field must be an image date `YYYYMMDD`",
            ));
        }
        Ok(Self {
            raw: s.to_owned(),
            version: version.to_owned(),
            rocm: rocm.to_owned(),
            hardware,
            date: date.to_owned(),
            release_candidate,
            commit,
        })
    }
}

/// `YYYYMMDD` with a plausible month and day.
pub fn valid_date(d: &str) -> bool {
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let month: u32 = d[4..6].parse().unwrap_or(0);
    let day: u32 = d[6..8].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day) && d.starts_with("20")
}

impl TryFrom<String> for ImageTag {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ImageTag> for String {
    fn from(t: ImageTag) -> Self {
        t.raw
    }
}

impl fmt::Display for ImageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Identifies one run: ASCII letters, digits, `.`, `_`, `-`, `+`; 1 to 160 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RunId {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 160
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
            && !s.starts_with('.');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValueError {
                kind: "run id",
                value: s.to_owned(),
                hint: "use 1-160 characters from [A-Za-z0-9._+-], not starting with `.`",
            })
        }
    }
}

impl TryFrom<String> for RunId {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RunId> for String {
    fn from(r: RunId) -> Self {
        r.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_shape_parses() {
        for (raw, version, hw, date, rc) in [
            (
                "v0.5.6.post2-rocm700-mi30x-20251216",
                "0.5.6.post2",
                "mi30x",
                "20251216",
                false,
            ),
            (
                "v0.5.3rc0-rocm630-mi30x-20250920",
                "0.5.3rc0",
                "mi30x",
                "20250920",
                false,
            ),
            (
                "v0.5.4-rocm700-mi35x-20251024",
                "0.5.4",
                "mi35x",
                "20251024",
                false,
            ),
            (
                "v0.5.5.post3-rocm700-mi30x-20251122-RC",
                "0.5.5.post3",
                "mi30x",
                "20251122",
                true,
            ),
        ] {
            let tag: ImageTag = raw.parse().expect(raw);
            assert_eq!(tag.version(), version);
            assert_eq!(tag.hardware().as_str(), hw);
            assert_eq!(tag.date(), date);
            assert_eq!(tag.is_release_candidate(), rc);
            assert_eq!(tag.to_string(), raw);
        }
        let label: ImageTag = "v0.5.6-cu129-h200-20251216-g1a2b3c4d5e"
            .parse()
            .expect("label");
        assert_eq!(label.rocm(), "cu129");
        assert_eq!(label.commit(), Some("1a2b3c4d5e"));
        let h200: Hardware = "h200".parse().expect("hw");
        let built = ImageTag::label("0.5.6", "cu", &h200, "20251216", Some("1a2b3c4d5e6f7a8b"))
            .expect("label");
        assert_eq!(built.as_str(), "v0.5.6-cu-h200-20251216-g1a2b3c4d5e");
    }

    #[test]
    fn bad_tags_are_rejected_with_a_hint() {
        for raw in [
            "",
            "latest",
            "v0.5.6-rocm700-mi30x",
            "v0.5.6-rocm700-gfx942-20251216",
            "v0.5.6-rocm700-mi30x-2025121",
            "v0.5.6-rocm700-mi30x-20251316",
            "0.5.6-rocm700-mi30x-20251216",
            "v0.5.6-rocm700-mi30x-20251216-XX",
            "v0.5.6-rocm700-mi30x-20251216-g12",
            "v0.5.6-rocm700-mi30x-20251216-gXYZ1234",
            "v0.5.6-cuda12-mi30x-20251216",
        ] {
            let err = raw.parse::<ImageTag>().expect_err(raw);
            assert!(err.to_string().contains("invalid image tag"), "{err}");
        }
    }

    #[test]
    fn prefix_and_image_forms() {
        let (tag, rest) =
            ImageTag::parse_prefix("v0.5.6-rocm700-mi35x-20251204_GROK1_MOE-I4F8_online")
                .expect("prefix");
        assert_eq!(tag.hardware().as_str(), "mi35x");
        assert_eq!(rest, "_GROK1_MOE-I4F8_online");
        let tag =
            ImageTag::from_image("rocm/sgl-dev:v0.5.6-rocm700-mi30x-20251204").expect("image");
        assert_eq!(tag.date(), "20251204");
    }

    #[test]
    fn hardware_and_run_id_validate() {
        assert!("mi30x".parse::<Hardware>().is_ok());
        assert!("h100".parse::<Hardware>().is_ok());
        assert!("unknown".parse::<Hardware>().is_err());
        assert!("mi3x".parse::<Hardware>().is_err());
        assert!("20251216-grok1-abc".parse::<RunId>().is_ok());
        assert!("../etc".parse::<RunId>().is_err());
        assert!("a b".parse::<RunId>().is_err());
    }
}
