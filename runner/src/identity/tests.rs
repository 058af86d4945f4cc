//! Identity scenarios: each names the reference, what the host and image say, and the label and
//! fields it must give (or the error it must name).

use super::*;
use sglci_core::ImageKind;

fn hw(s: &str) -> Hardware {
    s.parse().expect("hardware")
}

fn host(product: &str) -> HostGpus {
    host_gpu::parse_nvidia_names(product)
        .or_else(|_| {
            host_gpu::parse_amd_smi_static(&format!(
                r#"[{{"gpu":0,"asic":{{"market_name":"{product}"}}}}]"#
            ))
        })
        .expect("host")
}

fn inputs(flag: Option<&str>, gpu: Option<&str>) -> IdentityInputs {
    IdentityInputs {
        hardware: flag.map(hw),
        host: gpu.map(host),
        facts: None,
        probe: None,
        run_date: "20261202".to_owned(),
    }
}

/// One scenario: `given` with `inputs` gives `label`, or an error containing `err`.
fn check(given: &str, inputs: &IdentityInputs, want: Result<&str, &str>) -> Option<ImageIdentity> {
    match (identify(given, inputs), want) {
        (Ok((id, label)), Ok(l)) => {
            assert_eq!(label.as_str(), l, "{given}");
            assert_eq!(id.label, l);
            Some(id)
        }
        (Err(e), Err(part)) => {
            assert!(e.to_string().contains(part), "{given}: {e}");
            None
        }
        (got, want) => panic!("{given}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn nightly_tags_keep_their_own_label_and_must_match_the_host() {
    let n = "v0.5.6.post2-rocm700-mi30x-20251216";
    let id = check(n, &inputs(None, Some("AMD Instinct MI300X")), Ok(n)).expect("id");
    assert_eq!(id.reference, format!("rocm/sgl-dev:{n}"));
    assert_eq!(
        (id.kind, id.date_source),
        (ImageKind::Nightly, DateSource::Tag)
    );
    assert_eq!(id.gpu.as_deref(), Some("AMD Instinct MI300X"));
    check(
        n,
        &inputs(None, Some("AMD Instinct MI355X")),
        Err("the host's GPUs says mi35x (1 × AMD Instinct MI355X), the image tag says mi30x"),
    );
    check(
        n,
        &inputs(Some("mi35x"), None),
        Err("--hardware says mi35x, the image tag says mi30x"),
    );
}

#[test]
fn a_release_tag_takes_its_date_from_the_image() {
    let mut i = inputs(None, Some("AMD Instinct MI300X"));
    i.facts = Some(ImageFacts {
        id: Some(format!("sha256:{}", "1".repeat(64))),
        repo_digests: vec![format!("lmsysorg/sglang@sha256:{}", "2".repeat(64))],
        labels: BTreeMap::from([(OCI_CREATED.to_owned(), "2025-11-22T23:30:00Z".to_owned())]),
        created: Some("2025-11-25T00:00:00Z".to_owned()),
    });
    let id = check(
        "lmsysorg/sglang:v0.5.5.post3-rocm700-mi30x",
        &i,
        // 23:30 UTC on the 22nd is the 22nd in Pacific time; the OCI label wins over Created.
        Ok("v0.5.5.post3-rocm700-mi30x-20251122"),
    )
    .expect("id");
    assert_eq!(
        (id.kind, id.date_source),
        (ImageKind::Release, DateSource::Created)
    );
    assert!(id
        .digest
        .as_deref()
        .is_some_and(|d| d.starts_with("lmsysorg/sglang@sha256:2222")));
}

#[test]
fn a_cuda_image_on_an_h200() {
    let mut i = inputs(Some("h200"), Some("NVIDIA H200"));
    i.probe = Some(Probe {
        sglang_version: Some("0.5.6".into()),
        sglang_commit: Some("3F2A9C1D7E0011223344".into()),
        torch: Some("2.9.1+cu129".into()),
        rocm: None,
        cuda: Some("12.9".into()),
    });
    let id = check(
        "lmsysorg/sglang:v0.5.6-cu129-amd64",
        &i,
        Ok("v0.5.6-cu129-h200-20261202-g3f2a9c1d7e"),
    )
    .expect("id");
    assert_eq!(id.date_source, DateSource::Run);
    assert_eq!(id.sglang_commit.as_deref(), Some("3f2a9c1d7e0011223344"));
    check(
        "lmsysorg/sglang:v0.5.6-cu129-amd64",
        &inputs(None, None),
        Err("cannot tell which hardware"),
    );
    check(
        "lmsysorg/sglang:v0.4.9.post2-cu128-b200",
        &inputs(Some("h200"), None),
        Err("--hardware says h200, the image tag says b200"),
    );
}

#[test]
fn commit_dated_and_digest_references() {
    let mut i = inputs(Some("mi35x"), None);
    i.probe = Some(Probe {
        sglang_version: Some("0.5.7.dev0".into()),
        rocm: Some("7.0.51831".into()),
        ..Probe::default()
    });
    // The probed version is not a release version: the OCI label gives none either.
    check(
        "ghcr.io/me/sglang:3f2a9c1d7e",
        &i,
        Ok("v0.0.0-rocm700-mi35x-20261202-g3f2a9c1d7e"),
    );
    check(
        "rocm/sgl-dev:20250623",
        &i,
        Ok("v0.0.0-rocm700-mi35x-20250623"),
    );
    let d = format!("rocm/sgl-dev@sha256:{}", "ab".repeat(32));
    let id = check(&d, &i, Ok("v0.0.0-rocm700-mi35x-20261202")).expect("id");
    assert_eq!(id.digest.as_deref(), Some(d.as_str()));
    let d = format!("127.0.0.1:5000/sglci/smoke:v1@sha256:{}", "cd".repeat(32));
    let id = check(
        &d,
        &inputs(Some("h100"), None),
        Ok("v0.0.0-cu-h100-20261202"),
    )
    .expect("id");
    assert_eq!(
        id.digest.as_deref(),
        Some(format!("127.0.0.1:5000/sglci/smoke@sha256:{}", "cd".repeat(32)).as_str())
    );
    check("Bad:Ref", &i, Err("invalid image reference"));
}

#[test]
fn the_cpu_smoke_label_ignores_the_hosts_gpus() {
    check(
        "v0.4.9.post2-cpu-cpu-20261202",
        &inputs(Some("cpu"), Some("NVIDIA H200")),
        Ok("v0.4.9.post2-cpu-cpu-20261202"),
    );
}
