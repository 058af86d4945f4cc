//! What the image holds, asked from inside it: the SGLang version and commit, the torch build,
//! and its ROCm (HIP) or CUDA version. The probe is one Python program run in the job's engine
//! (the container, or this machine for local runs); it prints one JSON object and never fails
//! (a missing package is a missing field). Parsing is pure.

use serde::Deserialize;

/// The probe: `python3 -c PROBE`. The SGLang commit comes from pip's `direct_url.json` (a VCS
/// install) or from the git checkout the package lives in (SGLang's images install it editable
/// from `/sgl-workspace/sglang`).
pub const PROBE: &str = r#"
import json, os, subprocess
out = {}
try:
    import importlib.metadata as md
    out["sglang_version"] = md.version("sglang")
    try:
        du = json.loads(md.distribution("sglang").read_text("direct_url.json") or "{}")
        c = du.get("vcs_info", {}).get("commit_id")
        if c: out["sglang_commit"] = c
    except Exception:
        pass
except Exception:
    pass
try:
    import importlib.util
    spec = importlib.util.find_spec("sglang")
    if spec and spec.origin and "sglang_commit" not in out:
        d = os.path.dirname(os.path.abspath(spec.origin))
        r = subprocess.run(["git", "-C", d, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if r.returncode == 0 and r.stdout.strip(): out["sglang_commit"] = r.stdout.strip()
except Exception:
    pass
try:
    import torch
    out["torch"] = torch.__version__
    if getattr(torch.version, "hip", None): out["rocm"] = torch.version.hip
    if getattr(torch.version, "cuda", None): out["cuda"] = torch.version.cuda
except Exception:
    pass
print("SGLCI_PROBE " + json.dumps(out))
"#;

/// The line prefix the probe's answer carries (the log may hold other lines: warnings).
pub const PREFIX: &str = "SGLCI_PROBE ";

/// What the probe found; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Probe {
    pub sglang_version: Option<String>,
    pub sglang_commit: Option<String>,
    pub torch: Option<String>,
    pub rocm: Option<String>,
    pub cuda: Option<String>,
}

/// The last probe line of `log`; fields that are not short printable text are dropped (the
/// image is untrusted).
pub fn parse(log: &str) -> Result<Probe, String> {
    let line = log
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(PREFIX))
        .ok_or("no probe answer (hint: is python3 in the image?)")?;
    let mut p: Probe = serde_json::from_str(line).map_err(|e| format!("probe answer: {e}"))?;
    for f in [
        &mut p.sglang_version,
        &mut p.sglang_commit,
        &mut p.torch,
        &mut p.rocm,
        &mut p.cuda,
    ] {
        if f.as_ref().is_some_and(|v| {
            v.is_empty() || v.len() > 80 || !v.chars().all(|c| c.is_ascii_graphic())
        }) {
            *f = None;
        }
    }
    Ok(p)
}

/// The build field of a run label from the probed versions: ROCm `6.3.42131` is `rocm630`,
/// `7.0.51831` is `rocm700`; CUDA `12.9` is `cu129`.
pub fn build_of(p: &Probe) -> Option<String> {
    let digits = |v: &str, n: usize| -> Option<String> {
        let mut parts = v.split('.');
        let major = parts.next()?.parse::<u32>().ok()?;
        let minor = parts
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(0);
        let patch = if n == 3 {
            // ROCm tags keep one patch digit; HIP reports a build number there.
            parts
                .next()
                .and_then(|x| x.parse::<u32>().ok())
                .filter(|x| *x < 10)
                .unwrap_or(0)
                .to_string()
        } else {
            String::new()
        };
        Some(format!("{major}{minor}{patch}"))
    };
    if let Some(r) = &p.rocm {
        return digits(r, 3).map(|d| format!("rocm{d}"));
    }
    p.cuda
        .as_deref()
        .and_then(|c| digits(c, 2))
        .map(|d| format!("cu{d}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_and_cleaned() {
        let p = parse(
            "warning: something\nSGLCI_PROBE {\"sglang_version\": \"0.5.6.post2\", \"torch\": \"2.9.0+rocm7.0\", \"rocm\": \"7.0.51831\", \"sglang_commit\": \"bad value with spaces\"}\n",
        )
        .expect("probe");
        assert_eq!(p.sglang_version.as_deref(), Some("0.5.6.post2"));
        assert_eq!(p.sglang_commit, None);
        assert_eq!(build_of(&p).as_deref(), Some("rocm700"));
        let c = Probe {
            cuda: Some("12.9".into()),
            ..Probe::default()
        };
        assert_eq!(build_of(&c).as_deref(), Some("cu129"));
        let r = Probe {
            rocm: Some("6.3.1".into()),
            ..Probe::default()
        };
        assert_eq!(build_of(&r).as_deref(), Some("rocm631"));
        assert!(parse("nothing here").is_err());
        assert_eq!(build_of(&Probe::default()), None);
    }
}
