//! Reduced-layer models (`--mconf full|<N>l`), pure: the model's `config.json` with fewer
//! layers, for fast iteration on an architecture with SGLang's dummy weights.
//!
//! [`reduce`] rewrites every key that names a layer count, at the top and in nested model
//! configurations (`text_config`, `language_config`, `llm_config`, …):
//!
//! - the layer count itself (`num_hidden_layers`, `num_layers`, `n_layer`, `n_layers`,
//!   `num_decoder_layers`) becomes N;
//! - DeepSeek's `first_k_dense_replace` (dense layers before the MoE ones) becomes at most N − 1,
//!   so a reduced MoE model keeps at least one MoE layer, which is the point of benchmarking it;
//! - MTP's `num_nextn_predict_layers` and Qwen's `max_window_layers` become at most N;
//! - per-layer lists (`layer_types`, `no_rope_layers`, …: a `*layer*` list as long as the
//!   original count) are cut to N entries; layer index lists (`mlp_only_layers`, `moe_layers`)
//!   keep the indexes below N.
//!
//! Every change is reported, so the run's evidence says what the reduced model is. The JSON is
//! the model's own format, kept whole: only the named keys change.

use serde_json::{Map, Value};

/// `--mconf`: the full model, or the first N layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mconf {
    #[default]
    Full,
    Layers(u32),
}

impl std::str::FromStr for Mconf {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "full" {
            return Ok(Self::Full);
        }
        let n = s
            .strip_suffix('l')
            .or_else(|| s.strip_suffix('L'))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| (1..=1024).contains(n));
        n.map(Self::Layers).ok_or_else(|| {
            format!("`{s}`: `full` or a layer count such as `2l` (1 to 1024 layers)")
        })
    }
}

impl std::fmt::Display for Mconf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Full => f.write_str("full"),
            Self::Layers(n) => write!(f, "{n}l"),
        }
    }
}

/// One key the reduction changed (`text_config.num_hidden_layers`: 61 → 2).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub key: String,
    pub from: Value,
    pub to: Value,
}

/// A reduced `config.json`: its text and what changed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reduced {
    #[serde(skip)]
    pub text: String,
    /// The model's layer count before.
    pub layers_before: u64,
    pub layers: u32,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct MconfError {
    pub file: String,
    pub reason: String,
}

const COUNT_KEYS: &[&str] = &[
    "num_hidden_layers",
    "num_layers",
    "n_layer",
    "n_layers",
    "num_decoder_layers",
];

/// `config.json` (`text`, named `file` in errors) with `layers` layers.
pub fn reduce(text: &str, layers: u32, file: &str) -> Result<Reduced, MconfError> {
    let err = |reason: String| MconfError {
        file: file.to_owned(),
        reason,
    };
    let mut doc: Value = serde_json::from_str(text)
        .map_err(|e| err(format!("not JSON: {e} (hint: the model's config.json)")))?;
    let top = doc
        .as_object_mut()
        .ok_or_else(|| err("not a JSON object (hint: the model's config.json)".to_owned()))?;
    let mut changes = Vec::new();
    let before = reduce_object(top, layers, "", &mut changes).map_err(err)?;
    let Some(before) = before else {
        return Err(err(format!(
            "no layer count (hint: one of {} at the top or in text_config)",
            COUNT_KEYS.join(", ")
        )));
    };
    let text = serde_json::to_string_pretty(&doc).map_err(|e| err(e.to_string()))? + "\n";
    Ok(Reduced {
        text,
        layers_before: before,
        layers,
        changes,
    })
}

/// Reduces one configuration object and the configurations nested in it; returns the first
/// layer count found (this object's, else a nested one's).
fn reduce_object(
    obj: &mut Map<String, Value>,
    n: u32,
    path: &str,
    changes: &mut Vec<Change>,
) -> Result<Option<u64>, String> {
    let at = |k: &str| format!("{path}{k}");
    let mut count = None;
    for k in COUNT_KEYS {
        if let Some(v) = obj.get(*k) {
            let before = v
                .as_u64()
                .ok_or_else(|| format!("`{}` is not a count: {v}", at(k)))?;
            if u64::from(n) > before {
                return Err(format!(
                    "`{}` is {before}: cannot run {n} layers (hint: --mconf {before}l or fewer)",
                    at(k)
                ));
            }
            count.get_or_insert(before);
            set(obj, k, Value::from(n), &at(k), changes);
        }
    }
    if let Some(before) = count {
        let clamp = |key: &str, max: u64, obj: &mut Map<String, Value>, changes: &mut Vec<_>| {
            if let Some(v) = obj.get(key).and_then(Value::as_u64) {
                if v > max {
                    set(obj, key, Value::from(max), &at(key), changes);
                }
            }
        };
        clamp(
            "first_k_dense_replace",
            u64::from(n.saturating_sub(1)),
            obj,
            changes,
        );
        clamp("num_nextn_predict_layers", u64::from(n), obj, changes);
        clamp("max_window_layers", u64::from(n), obj, changes);
        let lists: Vec<String> = obj
            .iter()
            .filter(|(k, v)| k.contains("layer") && v.is_array())
            .map(|(k, _)| k.clone())
            .collect();
        for k in lists {
            let Some(list) = obj.get(&k).and_then(Value::as_array) else {
                continue;
            };
            let new: Vec<Value> = if list.len() as u64 == before {
                list.iter().take(n as usize).cloned().collect()
            } else if list.iter().all(|i| i.as_u64().is_some_and(|i| i < before)) {
                list.iter()
                    .filter(|i| i.as_u64().is_some_and(|i| i < u64::from(n)))
                    .cloned()
                    .collect()
            } else {
                continue;
            };
            if new.len() != list.len() {
                set(obj, &k, Value::Array(new), &at(&k), changes);
            }
        }
    }
    let nested: Vec<String> = obj
        .iter()
        .filter(|(_, v)| v.is_object())
        .map(|(k, _)| k.clone())
        .collect();
    for k in nested {
        if let Some(Value::Object(inner)) = obj.get_mut(&k) {
            if COUNT_KEYS.iter().any(|c| inner.contains_key(*c))
                || inner.values().any(Value::is_object)
            {
                let found = reduce_object(inner, n, &format!("{path}{k}."), changes)?;
                count = count.or(found);
            }
        }
    }
    Ok(count)
}

fn set(obj: &mut Map<String, Value>, key: &str, to: Value, at: &str, changes: &mut Vec<Change>) {
    if let Some(from) = obj.insert(key.to_owned(), to.clone()) {
        if from != to {
            changes.push(Change {
                key: at.to_owned(),
                from,
                to,
            });
        }
    }
}

/// Whether a model directory's file stays out of a reduced model's directory: its weights (dummy
/// loading reads none, and a link to hundreds of gigabytes invites mistakes) and its
/// `config.json` (the reduced one replaces it).
pub fn not_linked(name: &str) -> bool {
    [
        ".safetensors",
        ".bin",
        ".pt",
        ".pth",
        ".gguf",
        ".index.json",
    ]
    .iter()
    .any(|s| name.ends_with(s))
        || name == "config.json"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mconf_parses_full_and_layer_counts() {
        assert_eq!("full".parse::<Mconf>(), Ok(Mconf::Full));
        assert_eq!("2l".parse::<Mconf>(), Ok(Mconf::Layers(2)));
        assert_eq!("4L".parse::<Mconf>(), Ok(Mconf::Layers(4)));
        for bad in ["0l", "2", "l", "two", "-1l", "2048l"] {
            assert!(bad.parse::<Mconf>().is_err(), "{bad}");
        }
        assert_eq!(Mconf::Layers(2).to_string(), "2l");
    }

    #[test]
    fn a_deepseek_config_keeps_one_moe_layer_and_one_mtp_layer() {
        let text = r#"{"architectures":["DeepseekV3ForCausalLM"],"num_hidden_layers":61,
            "first_k_dense_replace":3,"num_nextn_predict_layers":1,"n_routed_experts":256,
            "quantization_config":{"quant_method":"fp8","weight_block_size":[128,128]}}"#;
        let r = reduce(text, 2, "config.json").expect("reduces");
        let v: Value = serde_json::from_str(&r.text).expect("json");
        assert_eq!(v["num_hidden_layers"], 2);
        assert_eq!(v["first_k_dense_replace"], 1);
        assert_eq!(v["num_nextn_predict_layers"], 1);
        assert_eq!(v["n_routed_experts"], 256);
        assert_eq!(v["quantization_config"]["weight_block_size"][1], 128);
        assert_eq!(r.layers_before, 61);
        let keys: Vec<&str> = r.changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["num_hidden_layers", "first_k_dense_replace"]);
    }

    #[test]
    fn nested_configs_per_layer_lists_and_index_lists_are_cut() {
        let text = r#"{"model_type":"x","text_config":{"num_hidden_layers":4,
            "layer_types":["sliding","full","sliding","full"],"mlp_only_layers":[0,3],
            "max_window_layers":4}}"#;
        let r = reduce(text, 2, "c.json").expect("reduces");
        let v: Value = serde_json::from_str(&r.text).expect("json");
        assert_eq!(v["text_config"]["num_hidden_layers"], 2);
        assert_eq!(
            v["text_config"]["layer_types"],
            serde_json::json!(["sliding", "full"])
        );
        assert_eq!(v["text_config"]["mlp_only_layers"], serde_json::json!([0]));
        assert_eq!(v["text_config"]["max_window_layers"], 2);
        assert_eq!(r.changes.len(), 4);
        assert_eq!(r.changes[0].key, "text_config.num_hidden_layers");
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let e = reduce("{\"num_hidden_layers\": 2}", 4, "m/config.json").expect_err("more");
        assert!(
            e.to_string()
                .contains("m/config.json: `num_hidden_layers` is 2"),
            "{e}"
        );
        let e = reduce("{\"hidden_size\": 2}", 2, "c.json").expect_err("none");
        assert!(e.to_string().contains("no layer count"), "{e}");
        assert!(reduce("[1]", 2, "c.json").is_err());
        assert!(reduce("{\"n_layer\": \"x\"}", 2, "c.json").is_err());
    }
}
