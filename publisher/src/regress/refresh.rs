//! Refreshing stored findings for the models whose rows changed, and only those.
//!
//! Detection is independent per (hardware, model): a configuration's series, its accuracy gate
//! and the exclusions of its points depend on that model's serving, offline and accuracy rows
//! and on the infrastructure failures of its own runs, nothing else. So each model's detection
//! input gets a digest; a publish recomputes the models whose digest changed (the ones its
//! nights touched, and any whose oldest month left the detection window) and keeps the stored
//! findings of every other model as they are.
//!
//! Invariant: [`refresh`] returns exactly what [`detect_rows`] returns on the same rows, in the
//! same order (findings ordered by hardware and model, each model's in detection order),
//! whatever the stored state it starts from: a digest is a function of the model's input
//! alone, and detection of a model a function of its digest's input.

use std::collections::{BTreeMap, BTreeSet};

use sglci_core::records::RegressionRow;

use super::{detect, DetectConfig};
use crate::rows::Rows;

/// `hardware/model`: the key of a model's digest.
pub fn model_key(hardware: &str, model: &str) -> String {
    format!("{hardware}/{model}")
}

/// Every finding of `rows`, as stored: ordered by (hardware, model), each model's findings in
/// detection order.
pub fn detect_rows(rows: &Rows, cfg: &DetectConfig) -> Vec<RegressionRow> {
    let mut out: Vec<RegressionRow> = detect(rows, cfg).iter().map(|f| f.to_row()).collect();
    out.sort_by(|a, b| (&a.hardware, &a.model).cmp(&(&b.hardware, &b.model)));
    out
}

/// The detector's version, part of every digest: bump it when detection changes, so that stored
/// findings are computed again.
pub const DETECTOR_VERSION: u32 = 1;

/// The digest of each model's detection input (see the module docs), with the detector's
/// version and parameters.
pub fn input_digests(rows: &Rows, cfg: &DetectConfig) -> BTreeMap<String, String> {
    use sha2::Digest;
    let seed = format!("sglci detector {DETECTOR_VERSION} {cfg:?}\n");
    let mut hashers: BTreeMap<String, sha2::Sha256> = BTreeMap::new();
    // A model's digest, started with the detector's version and parameters.
    fn of<'m>(
        hashers: &'m mut BTreeMap<String, sha2::Sha256>,
        seed: &str,
        key: &str,
    ) -> &'m mut sha2::Sha256 {
        use sha2::Digest;
        hashers.entry(key.to_owned()).or_insert_with(|| {
            let mut h = sha2::Sha256::new();
            h.update(seed.as_bytes());
            h
        })
    }
    let mut run_model: BTreeMap<&str, String> = BTreeMap::new();
    for r in &rows.serving {
        let key = model_key(&r.hardware, &r.model);
        hash_row(of(&mut hashers, &seed, &key), b"s", r);
        run_model.insert(&r.run_dir, key);
    }
    for r in &rows.offline {
        let key = model_key(&r.hardware, &r.model);
        hash_row(of(&mut hashers, &seed, &key), b"o", r);
        run_model.insert(&r.run_dir, key);
    }
    for r in &rows.accuracy {
        let key = model_key(&r.hardware, &r.model);
        hash_row(of(&mut hashers, &seed, &key), b"a", r);
        run_model.insert(&r.run_dir, key);
    }
    // An infrastructure failure excludes its run's points: it is the input of the run's model.
    for t in &rows.tasks {
        let infra = t.failure_class.is_some_and(|c| c.is_infrastructure());
        let model = t.source.as_deref().and_then(|s| run_model.get(s));
        if let (true, Some(key)) = (infra, model) {
            hash_row(of(&mut hashers, &seed, key), b"t", &t.source);
        }
    }
    hashers
        .into_iter()
        .map(|(k, h)| {
            let hex: String = h.finalize()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (k, hex)
        })
        .collect()
}

/// What a detection starts from: the findings stored last time and the digests they were
/// computed from.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub findings: &'a [RegressionRow],
    pub inputs: &'a BTreeMap<String, String>,
}

/// The findings of `rows`, recomputing only the models whose input changed since `stored`
/// (all of them without it).
#[derive(Debug, Clone, PartialEq)]
pub struct Refreshed {
    pub findings: Vec<RegressionRow>,
    /// Each model's input digest, to store with the findings.
    pub inputs: BTreeMap<String, String>,
    /// The models detection ran on.
    pub recomputed: BTreeSet<String>,
}

pub fn refresh(rows: &Rows, cfg: &DetectConfig, stored: Option<Stored<'_>>) -> Refreshed {
    let inputs = input_digests(rows, cfg);
    let Some(stored) = stored else {
        return Refreshed {
            findings: detect_rows(rows, cfg),
            recomputed: inputs.keys().cloned().collect(),
            inputs,
        };
    };
    let dirty: BTreeSet<String> = inputs
        .iter()
        .filter(|(k, d)| stored.inputs.get(*k) != Some(*d))
        .map(|(k, _)| k.clone())
        .collect();
    let mut findings: Vec<RegressionRow> = stored
        .findings
        .iter()
        .filter(|f| {
            let key = model_key(&f.hardware, &f.model);
            inputs.contains_key(&key) && !dirty.contains(&key)
        })
        .cloned()
        .collect();
    if !dirty.is_empty() {
        findings.extend(detect_rows(&only_models(rows, &dirty), cfg));
        findings.sort_by(|a, b| (&a.hardware, &a.model).cmp(&(&b.hardware, &b.model)));
    }
    Refreshed {
        findings,
        inputs,
        recomputed: dirty,
    }
}

/// The detection input of the given models (tasks are kept whole: they are looked up by run).
fn only_models(rows: &Rows, keys: &BTreeSet<String>) -> Rows {
    let keep = |hw: &str, model: &str| keys.contains(&model_key(hw, model));
    Rows {
        serving: rows
            .serving
            .iter()
            .filter(|r| keep(&r.hardware, &r.model))
            .cloned()
            .collect(),
        offline: rows
            .offline
            .iter()
            .filter(|r| keep(&r.hardware, &r.model))
            .cloned()
            .collect(),
        accuracy: rows
            .accuracy
            .iter()
            .filter(|r| keep(&r.hardware, &r.model))
            .cloned()
            .collect(),
        tasks: rows.tasks.clone(),
        ..Rows::default()
    }
}

/// Feeds a row's kind and serialized form to a digest. Serializing a record cannot fail (no maps with
/// non-string keys); a failure would only make the digest differ, so the model is detected again.
fn hash_row(h: &mut sha2::Sha256, tag: &[u8], row: &impl serde::Serialize) {
    use sha2::Digest;
    h.update(tag);
    if let Ok(bytes) = serde_json::to_vec(row) {
        h.update(&bytes);
    }
    h.update(b"\n");
}
