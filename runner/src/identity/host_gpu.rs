//! The host's GPUs by product name, from the vendor tools' machine-readable output; pure.
//!
//! - `nvidia-smi --query-gpu=name --format=csv,noheader`: one name per line (`NVIDIA H200`).
//! - `rocm-smi --showproductname --json`: `{"card0": {"Card Series": "AMD Instinct MI300X", …}}`.
//! - `amd-smi static --asic --json`: a list (or `{"gpu_data": [...]}`) of
//!   `{"gpu": 0, "asic": {"market_name": "AMD Instinct MI300X", …}}`.
//!
//! A product name maps to the platform names the suites and the history use: MI300X and MI325X
//! are `mi30x`, MI350X and MI355X are `mi35x`; `NVIDIA H100 80GB HBM3` is `h100`.

use serde::Serialize;
use sglci_core::Hardware;

/// The GPUs one vendor tool reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostGpus {
    /// The first GPU's product name.
    pub product: String,
    pub count: u32,
    pub hardware: Hardware,
}

/// The platform a product name is, if sglci knows it.
pub fn hardware_of_product(name: &str) -> Option<Hardware> {
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // AMD: `MI300X`, `MI325X`, `MI355X`, `MI250X` → `mi30x`, `mi30x`, `mi35x`, `mi25x`.
    for w in &words {
        if let Some(d) = w.strip_prefix("MI") {
            let digits: String = d.chars().take_while(char::is_ascii_digit).collect();
            if digits.len() == 3 {
                let family = match &digits[..2] {
                    "32" => "30",
                    f => f,
                };
                return format!("mi{family}x").parse().ok();
            }
        }
    }
    // NVIDIA: the first word that is a known platform (`GB200` before `B200`).
    words
        .iter()
        .find_map(|w| w.to_ascii_lowercase().parse::<Hardware>().ok())
        .filter(|h| !h.is_amd() && h.as_str() != "cpu")
}

fn gpus(tool: &str, names: Vec<String>) -> Result<HostGpus, String> {
    let first = names
        .first()
        .ok_or_else(|| format!("{tool}: no GPU listed"))?;
    let hardware = hardware_of_product(first).ok_or_else(|| {
        format!("{tool}: `{first}` is not a GPU sglci knows (hint: pass --hardware)")
    })?;
    if let Some(other) = names
        .iter()
        .find(|n| hardware_of_product(n) != Some(hardware.clone()))
    {
        return Err(format!(
            "{tool}: mixed GPUs (`{first}` and `{other}`): sglci runs on one platform per host"
        ));
    }
    Ok(HostGpus {
        product: first.clone(),
        count: names.len() as u32,
        hardware,
    })
}

/// `nvidia-smi --query-gpu=name --format=csv,noheader`.
pub fn parse_nvidia_names(text: &str) -> Result<HostGpus, String> {
    let names = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    gpus("nvidia-smi", names)
}

/// `rocm-smi --showproductname --json`: the `Card Series` (else `Card SKU`/`Card Model`) of each
/// `cardN`, in card order.
pub fn parse_rocm_product_json(text: &str) -> Result<HostGpus, String> {
    const TOOL: &str = "rocm-smi --showproductname";
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{TOOL}: not JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{TOOL}: not an object"))?;
    let mut cards: Vec<(u32, String)> = obj
        .iter()
        .filter_map(|(card, m)| {
            let index = card.strip_prefix("card")?.parse().ok()?;
            let name = ["Card Series", "Card SKU", "Card Model", "Card series"]
                .iter()
                .filter_map(|k| m.get(*k)?.as_str())
                .find(|n| hardware_of_product(n).is_some())
                .or_else(|| m.get("Card Series")?.as_str())?;
            Some((index, name.to_owned()))
        })
        .collect();
    cards.sort();
    gpus(TOOL, cards.into_iter().map(|(_, n)| n).collect())
}

/// `amd-smi static --asic --json`: each GPU's `asic.market_name`.
pub fn parse_amd_smi_static(text: &str) -> Result<HostGpus, String> {
    const TOOL: &str = "amd-smi static";
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{TOOL}: not JSON: {e}"))?;
    let list = v
        .as_array()
        .or_else(|| v.get("gpu_data").and_then(|g| g.as_array()))
        .ok_or_else(|| format!("{TOOL}: expected a list of GPUs"))?;
    let names = list
        .iter()
        .map(|g| {
            g.pointer("/asic/market_name")
                .and_then(|n| n.as_str())
                .map(str::to_owned)
                .ok_or_else(|| format!("{TOOL}: a GPU without asic.market_name"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    gpus(TOOL, names)
}

/// A vendor tool to ask, and how to read it.
#[derive(Debug)]
pub struct NameProbe {
    pub tool: &'static str,
    pub args: &'static [&'static str],
    pub parse: fn(&str) -> Result<HostGpus, String>,
}

/// The tools to ask, in order: NVIDIA's, then AMD's two.
pub const NAME_PROBES: [NameProbe; 3] = [
    NameProbe {
        tool: "nvidia-smi",
        args: &["--query-gpu=name", "--format=csv,noheader"],
        parse: parse_nvidia_names,
    },
    NameProbe {
        tool: "amd-smi",
        args: &["static", "--asic", "--json"],
        parse: parse_amd_smi_static,
    },
    NameProbe {
        tool: "rocm-smi",
        args: &["--showproductname", "--json"],
        parse: parse_rocm_product_json,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_names_map_to_platforms() {
        for (name, hw) in [
            ("AMD Instinct MI300X", Some("mi30x")),
            ("AMD Instinct MI325X", Some("mi30x")),
            ("AMD Instinct MI355X", Some("mi35x")),
            ("AMD INSTINCT MI300X (MCM) OAM AC MBA", Some("mi30x")),
            ("NVIDIA H200", Some("h200")),
            ("NVIDIA H100 80GB HBM3", Some("h100")),
            ("NVIDIA GB200", Some("gb200")),
            ("NVIDIA B200", Some("b200")),
            ("NVIDIA A100-SXM4-80GB", Some("a100")),
            ("NVIDIA GeForce RTX 4090", None),
            ("", None),
        ] {
            assert_eq!(
                hardware_of_product(name).as_ref().map(Hardware::as_str),
                hw,
                "{name}"
            );
        }
    }

    #[test]
    fn each_tool_is_read() {
        let n = parse_nvidia_names("NVIDIA H200\nNVIDIA H200\n").expect("nvidia");
        assert_eq!((n.hardware.as_str(), n.count), ("h200", 2));
        let r = parse_rocm_product_json(
            r#"{"card1": {"Card Series": "AMD Instinct MI300X", "Card Model": "0x74a1"},
                "card0": {"Card Series": "AMD Instinct MI300X"}}"#,
        )
        .expect("rocm");
        assert_eq!((r.hardware.as_str(), r.count), ("mi30x", 2));
        let a =
            parse_amd_smi_static(r#"[{"gpu": 0, "asic": {"market_name": "AMD Instinct MI355X"}}]"#)
                .expect("amd");
        assert_eq!(a.hardware.as_str(), "mi35x");
        let mixed = parse_nvidia_names("NVIDIA H200\nNVIDIA H100 80GB HBM3\n").expect_err("mixed");
        assert!(mixed.contains("mixed"), "{mixed}");
        assert!(parse_nvidia_names("").is_err());
        assert!(parse_rocm_product_json("[").is_err());
    }
}
