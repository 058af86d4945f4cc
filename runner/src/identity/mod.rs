//! Identity from the image and the host, not from the tag's spelling (pure).
//!
//! [`identify`] combines what is known about a run's image into its [`ImageIdentity`] and its
//! run label (the nightly-shaped [`ImageTag`] that names the run folders):
//!
//! - the reference as given, and its [`TagHints`];
//! - `--hardware`, and the host's GPUs ([`host_gpu`]): any two that are known must agree, and a
//!   disagreement is an error naming both;
//! - the image's registry digest, Docker id, OCI labels and creation time ([`ImageFacts`], from
//!   `docker inspect`);
//! - what the image holds ([`probe`]: SGLang version and commit, torch, ROCm or CUDA).
//!
//! A nightly tag is its own label, as always. Any other image's label is built from the best
//! source of each field: the version from the tag, else the OCI version label, else the probed
//! SGLang version; the build from the tag, else the probed ROCm/CUDA version, else the vendor's
//! bare `rocm`/`cu`; the date from the tag, else the image's creation day (Pacific time, like
//! the nightly tags), else the run's day; and a `-g<commit>` suffix when a commit is known, so
//! two builds of one day never share run folders.

pub mod host_gpu;
pub mod probe;

use std::collections::BTreeMap;

use sglci_core::{DateSource, Hardware, ImageIdentity, ImageRef, ImageTag, TagHints, Vendor};

pub use host_gpu::HostGpus;
pub use probe::Probe;

/// OCI annotation keys sglci reads.
pub const OCI_REVISION: &str = "org.opencontainers.image.revision";
pub const OCI_VERSION: &str = "org.opencontainers.image.version";
pub const OCI_CREATED: &str = "org.opencontainers.image.created";

/// What `docker inspect` says about an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFacts {
    /// Docker's image id (`sha256:…`).
    pub id: Option<String>,
    /// `RepoDigests`: `repo@sha256:…` for each registry the image came from.
    pub repo_digests: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Docker's `Created` (RFC 3339).
    pub created: Option<String>,
}

/// Everything [`identify`] combines.
#[derive(Debug, Clone, Default)]
pub struct IdentityInputs {
    /// `--hardware`.
    pub hardware: Option<Hardware>,
    /// The host's GPUs, when a vendor tool answered.
    pub host: Option<HostGpus>,
    pub facts: Option<ImageFacts>,
    pub probe: Option<Probe>,
    /// The run's day (`YYYYMMDD`, Pacific time).
    pub run_date: String,
}

/// A reference sglci accepts for `--image`: a nightly tag alone (`v0.5.6-rocm700-mi30x-…`, which
/// names `rocm/sgl-dev`'s image, or a local build for `cpu`), or any `repo:tag` / `repo@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// What Docker is asked for.
    pub image: String,
    pub hints: TagHints,
    /// The image's own digest, when the reference pins one.
    pub pinned: Option<String>,
}

/// Parses `--image`.
pub fn reference(given: &str) -> Result<Reference, String> {
    let given = given.trim().trim_matches('"');
    if let Ok(tag) = given.parse::<ImageTag>() {
        let image = if tag.hardware().is_amd() {
            format!("{}:{given}", crate::image::DEFAULT_REPO)
        } else {
            given.to_owned()
        };
        return Ok(Reference {
            image,
            hints: TagHints::of(given),
            pinned: None,
        });
    }
    let r: ImageRef = given
        .parse()
        .map_err(|e: sglci_core::ValueError| e.to_string())?;
    Ok(Reference {
        image: r.as_str().to_owned(),
        hints: r.hints(),
        pinned: r.digest().map(str::to_owned),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("hardware disagrees: {a_what} says {a}, {b_what} says {b} (hint: run the image on the hardware it was built for, or fix --hardware)")]
    Disagree {
        a_what: &'static str,
        a: String,
        b_what: &'static str,
        b: String,
    },
    #[error("cannot tell which hardware {image} runs on: its tag does not say and no GPU tool answered (hint: pass --hardware, e.g. --hardware h200)")]
    NoHardware { image: String },
    #[error("{0}")]
    Label(String),
}

const HOST: &str = "the host's GPUs";

/// The hardware, from every source that knows it; all known ones must agree.
fn hardware_of(r: &Reference, inputs: &IdentityInputs) -> Result<Hardware, IdentityError> {
    // A CPU run (the smoke suite) may run on a host that has GPUs: they are not its hardware.
    let cpu_run = inputs
        .hardware
        .as_ref()
        .is_some_and(|h| h.vendor() == Vendor::Cpu);
    let host = inputs.host.as_ref().filter(|_| !cpu_run);
    let known: Vec<(&'static str, Hardware)> = [
        ("--hardware", inputs.hardware.clone()),
        (HOST, host.map(|h| h.hardware.clone())),
        ("the image tag", r.hints.hardware.clone()),
    ]
    .into_iter()
    .filter_map(|(what, h)| Some((what, h?)))
    .collect();
    let Some((first_what, first)) = known.first().cloned() else {
        return Err(IdentityError::NoHardware {
            image: r.image.clone(),
        });
    };
    if let Some((what, other)) = known.iter().find(|(_, h)| *h != first) {
        let product = |w: &str, h: &Hardware| match (host, w) {
            (Some(g), HOST) => format!("{h} ({} × {})", g.count, g.product),
            _ => h.to_string(),
        };
        return Err(IdentityError::Disagree {
            a_what: first_what,
            a: product(first_what, &first),
            b_what: what,
            b: product(what, other),
        });
    }
    Ok(first)
}

/// A version as the history spells it (`v0.5.6.post2` → `0.5.6.post2`), if it is one.
fn version(v: &str) -> Option<String> {
    let v = v.strip_prefix('v').unwrap_or(v);
    // pip's local versions (`0.5.6+rocm700`) keep the public part.
    let v = v.split('+').next().unwrap_or(v);
    sglci_core::tag::valid_version(v).then(|| v.to_owned())
}

/// A commit as a label keeps it: 7 or more lowercase hex digits.
fn commit(c: &str) -> Option<String> {
    let c = c.trim().to_ascii_lowercase();
    ((7..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit())).then_some(c)
}

/// `repo[:tag][@digest]` → `repo`.
fn strip_tag(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => &name[..slash + i],
        None => name,
    }
}

/// The run's identity and label (see the module docs).
pub fn identify(
    given: &str,
    inputs: &IdentityInputs,
) -> Result<(ImageIdentity, ImageTag), IdentityError> {
    let r = reference(given).map_err(IdentityError::Label)?;
    let hardware = hardware_of(&r, inputs)?;
    let facts = inputs.facts.clone().unwrap_or_default();
    let probe = inputs.probe.clone().unwrap_or_default();
    let label_of = |key: &str| {
        facts
            .labels
            .get(key)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    };
    let created = label_of(OCI_CREATED).or_else(|| facts.created.clone());
    let revision = label_of(OCI_REVISION);
    let sglang_commit = probe
        .sglang_commit
        .as_deref()
        .and_then(commit)
        .or_else(|| r.hints.commit.clone())
        .or_else(|| revision.as_deref().and_then(commit));
    let (label, date_source) = match &r.hints.nightly {
        Some(tag) => (tag.clone(), DateSource::Tag),
        None => {
            let v = r
                .hints
                .version
                .clone()
                .or_else(|| label_of(OCI_VERSION).as_deref().and_then(version))
                .or_else(|| probe.sglang_version.as_deref().and_then(version))
                .unwrap_or_else(|| "0.0.0".to_owned());
            let build = r
                .hints
                .build
                .clone()
                .or_else(|| probe::build_of(&probe))
                .unwrap_or_else(|| {
                    match hardware.vendor() {
                        Vendor::Amd => "rocm",
                        Vendor::Nvidia => "cu",
                        Vendor::Cpu => "cpu",
                    }
                    .to_owned()
                });
            let created_day = created
                .as_deref()
                .and_then(sglci_core::date::parse_rfc3339)
                .map(|t| crate::image::pacific_date(t, 0));
            let (date, source) = match (&r.hints.date, created_day) {
                (Some(d), _) => (d.clone(), DateSource::Tag),
                (None, Some(d)) => (d, DateSource::Created),
                (None, None) => (inputs.run_date.clone(), DateSource::Run),
            };
            let tag = ImageTag::label(&v, &build, &hardware, &date, sglang_commit.as_deref())
                .map_err(|e| IdentityError::Label(e.to_string()))?;
            (tag, source)
        }
    };
    // The pinned digest as `repo@sha256:…`, else the one the registry gave on pull.
    let digest = r
        .pinned
        .as_ref()
        .map(|d| format!("{}@{d}", strip_tag(&r.image)))
        .or_else(|| facts.repo_digests.first().cloned());
    Ok((
        ImageIdentity {
            reference: r.image.clone(),
            kind: r.hints.kind,
            label: label.as_str().to_owned(),
            date_source,
            digest,
            image_id: facts.id.clone(),
            revision,
            version: label_of(OCI_VERSION),
            created,
            sglang_version: probe.sglang_version.clone(),
            sglang_commit,
            torch: probe.torch.clone(),
            rocm: probe.rocm.clone(),
            cuda: probe.cuda.clone(),
            gpu: inputs.host.as_ref().map(|h| h.product.clone()),
            gpu_count: inputs.host.as_ref().map(|h| h.count),
        },
        label,
    ))
}

#[cfg(test)]
mod tests;
