//! Efficiency (F70), pure: tokens/s per GPU and model FLOPs utilisation (MFU) from a model's
//! shape, the measured throughput or forward times, the GPU count and the hardware's peak.
//!
//! # The formula
//!
//! From the model's `config.json` ([`ModelShape::parse`]):
//!
//! - **Matmul FLOPs per token** `F = 2 × (L × attention + dense layers × MLP + MoE layers ×
//!   (router + top-k experts + shared experts) + vocab × hidden)`: two FLOPs per weight each
//!   token meets, the LM head included (tied or not), the embedding lookup excluded. MLPs are
//!   gated (three matrices). Attention weights are the Q, K, V and O projections, or for MLA
//!   (DeepSeek) the low-rank Q and KV projections as the checkpoint stores them.
//! - **Attention FLOPs** per token attending to `c` earlier tokens: `A × c` with
//!   `A = 2 × L × heads × (d_qk + d_v)` (scores and the weighted sum; for MLA
//!   `d_qk = qk_nope + qk_rope`, `d_v = v_head`, as the model is written, without absorption).
//! - **Prefill** of a batch `B` of `I` tokens: `B × (I × F + A × I(I+1)/2)` (causal).
//!   **A decode step** at context `c`: `B × (F + A × c)`, with `c = I + O/2` for the median step
//!   of `O` output tokens.
//! - **Serving** at input and output throughputs `Tin`, `Tout` (tokens/s) and request throughput
//!   `R`: mean lengths `I = Tin/R`, `O = Tout/R`; FLOPs/s = `Tin × (F + A × (I+1)/2) + Tout ×
//!   (F + A × (I + O/2))`. Without `R` the attention term is left out (a lower bound).
//! - **MFU** = FLOPs/s ÷ (GPUs × the peak of the hardware for the GEMMs' type).
//!   **Tokens/s per GPU** = the total token throughput (input + output) ÷ GPUs.
//!
//! Checked against hand-computed values for Llama-3-8B (8.03 B parameters) and DeepSeek-V3
//! (671 B total, 37.6 B active) in this module's tests.

use serde::{Deserialize, Serialize};

/// The number type the GEMMs run in, which picks the peak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Bf16,
    Fp8,
    Fp4,
}

impl Dtype {
    /// From SGLang's `--quantization` value or a checkpoint's `quant_method`.
    pub fn from_quantization(q: &str) -> Option<Self> {
        let q = q.to_ascii_lowercase();
        if q.contains("fp4") || q.contains("mxfp4") || q == "w4a4" {
            Some(Self::Fp4)
        } else if q.contains("fp8") || q == "w8a8_fp8" || q == "w4a8" {
            Some(Self::Fp8)
        } else {
            None
        }
    }
}

/// Dense peak TFLOPS per GPU (no structured sparsity), from the vendors' data sheets:
///
/// | hardware | BF16 | FP8 | FP4 | source |
/// |---|---:|---:|---:|---|
/// | mi30x (MI300X) | 1307.4 | 2614.9 | – | AMD Instinct MI300X data sheet |
/// | mi325x (MI325X) | 1307.4 | 2614.9 | – | AMD Instinct MI325X data sheet |
/// | mi35x (MI355X) | 2516.6 | 5033.2 | 10066.3 | AMD Instinct MI355X data sheet |
/// | h100 (H100 SXM) | 989.4 | 1978.9 | – | NVIDIA H100 Tensor Core GPU data sheet |
/// | h200 (H200 SXM) | 989.4 | 1978.9 | – | NVIDIA H200 Tensor Core GPU data sheet |
/// | b200 (HGX B200) | 2250 | 4500 | 9000 | NVIDIA HGX B200 data sheet |
///
/// A type the hardware lacks (FP4 before MI355X and B200) runs at its FP8 rate.
pub fn peak_tflops(hardware: &str, dtype: Dtype) -> Option<f64> {
    let (bf16, fp8, fp4) = match hardware {
        "mi30x" | "mi325x" => (1307.4, 2614.9, None),
        "mi35x" => (2516.6, 5033.2, Some(10066.3)),
        "h100" | "h200" => (989.4, 1978.9, None),
        "b200" => (2250.0, 4500.0, Some(9000.0)),
        _ => return None,
    };
    Some(match dtype {
        Dtype::Bf16 => bf16,
        Dtype::Fp8 => fp8,
        Dtype::Fp4 => fp4.unwrap_or(fp8),
    })
}

/// Mixture of experts: what a MoE layer holds and what one token uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moe {
    pub experts: u64,
    pub per_token: u64,
    pub expert_intermediate: u64,
    /// Intermediate size of all shared experts together (0: none).
    pub shared_intermediate: u64,
    /// Dense layers before the first MoE layer (DeepSeek's `first_k_dense_replace`).
    pub first_dense: u64,
}

/// Multi-head latent attention (DeepSeek V2/V3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mla {
    /// 0: Q is projected directly.
    pub q_lora_rank: u64,
    pub kv_lora_rank: u64,
    pub qk_nope: u64,
    pub qk_rope: u64,
    pub v_head: u64,
}

/// What the formula needs of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelShape {
    pub layers: u64,
    pub hidden: u64,
    pub heads: u64,
    pub kv_heads: u64,
    pub head_dim: u64,
    pub intermediate: u64,
    pub vocab: u64,
    pub tied_embeddings: bool,
    pub moe: Option<Moe>,
    pub mla: Option<Mla>,
    /// The checkpoint's quantization, when it says (`fp8`).
    pub dtype: Option<Dtype>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct ShapeError {
    pub file: String,
    pub reason: String,
}

/// The largest size of any dimension (a bound that keeps the arithmetic in range).
pub const MAX_DIM: u64 = 1 << 24;

/// `config.json`'s keys, under the names model families use.
#[derive(Deserialize, Default)]
struct RawConfig {
    #[serde(alias = "n_layer", alias = "num_layers", alias = "n_layers")]
    num_hidden_layers: Option<u64>,
    #[serde(alias = "n_embd", alias = "d_model")]
    hidden_size: Option<u64>,
    #[serde(alias = "n_head")]
    num_attention_heads: Option<u64>,
    num_key_value_heads: Option<u64>,
    head_dim: Option<u64>,
    #[serde(alias = "ffn_dim", alias = "n_inner")]
    intermediate_size: Option<u64>,
    vocab_size: Option<u64>,
    tie_word_embeddings: Option<bool>,
    #[serde(alias = "num_experts", alias = "num_local_experts")]
    n_routed_experts: Option<u64>,
    num_experts_per_tok: Option<u64>,
    moe_intermediate_size: Option<u64>,
    n_shared_experts: Option<u64>,
    shared_expert_intermediate_size: Option<u64>,
    first_k_dense_replace: Option<u64>,
    q_lora_rank: Option<u64>,
    kv_lora_rank: Option<u64>,
    qk_nope_head_dim: Option<u64>,
    qk_rope_head_dim: Option<u64>,
    v_head_dim: Option<u64>,
    quantization_config: Option<Quantization>,
    text_config: Option<Box<RawConfig>>,
}

#[derive(Deserialize, Default)]
struct Quantization {
    quant_method: Option<String>,
}

impl ModelShape {
    /// The shape of the model a `config.json` describes (`file` names it in errors); a
    /// multimodal config's `text_config` is the language model.
    pub fn parse(text: &str, file: &str) -> Result<Self, ShapeError> {
        let err = |reason: String| ShapeError {
            file: file.to_owned(),
            reason,
        };
        let raw: RawConfig =
            serde_json::from_str(text).map_err(|e| err(format!("not a model config.json: {e}")))?;
        let dtype = raw
            .quantization_config
            .as_ref()
            .and_then(|q| q.quant_method.as_deref())
            .and_then(Dtype::from_quantization);
        let raw = match raw.text_config {
            Some(t) if raw.num_hidden_layers.is_none() => *t,
            _ => raw,
        };
        let need = |v: Option<u64>, key: &str| {
            v.filter(|v| (1..=MAX_DIM).contains(v)).ok_or_else(|| {
                err(format!(
                    "`{key}` is missing or out of range (hint: the model's own config.json, or --model-config FILE)"
                ))
            })
        };
        let layers = need(raw.num_hidden_layers, "num_hidden_layers")?;
        let hidden = need(raw.hidden_size, "hidden_size")?;
        let heads = need(raw.num_attention_heads, "num_attention_heads")?;
        let intermediate = need(raw.intermediate_size, "intermediate_size")?;
        let vocab = need(raw.vocab_size, "vocab_size")?;
        let moe = match raw.n_routed_experts.filter(|e| *e > 1) {
            Some(experts) => {
                let expert_intermediate = raw.moe_intermediate_size.unwrap_or(intermediate);
                Some(Moe {
                    experts,
                    per_token: need(raw.num_experts_per_tok, "num_experts_per_tok")?,
                    expert_intermediate,
                    shared_intermediate: raw
                        .shared_expert_intermediate_size
                        .unwrap_or(raw.n_shared_experts.unwrap_or(0) * expert_intermediate),
                    first_dense: raw.first_k_dense_replace.unwrap_or(0).min(layers),
                })
            }
            None => None,
        };
        let mla = match raw.kv_lora_rank {
            Some(kv) => Some(Mla {
                q_lora_rank: raw.q_lora_rank.unwrap_or(0),
                kv_lora_rank: kv,
                qk_nope: need(raw.qk_nope_head_dim, "qk_nope_head_dim")?,
                qk_rope: raw.qk_rope_head_dim.unwrap_or(0),
                v_head: need(raw.v_head_dim, "v_head_dim")?,
            }),
            None => None,
        };
        let shape = Self {
            layers,
            hidden,
            heads,
            kv_heads: raw.num_key_value_heads.unwrap_or(heads).max(1),
            head_dim: raw.head_dim.unwrap_or(hidden / heads).max(1),
            intermediate,
            vocab,
            tied_embeddings: raw.tie_word_embeddings.unwrap_or(false),
            moe,
            mla,
            dtype,
        };
        shape.check().map_err(err)?;
        Ok(shape)
    }

    /// Every size within [`MAX_DIM`], experts per token within the experts, dense layers within
    /// the layers: what the arithmetic below relies on.
    pub fn check(&self) -> Result<(), String> {
        let mut sizes = vec![
            ("layers", self.layers),
            ("hidden", self.hidden),
            ("heads", self.heads),
            ("kv_heads", self.kv_heads),
            ("head_dim", self.head_dim),
            ("intermediate", self.intermediate),
            ("vocab", self.vocab),
        ];
        if let Some(m) = &self.moe {
            sizes.extend([
                ("experts", m.experts),
                ("per_token", m.per_token),
                ("expert_intermediate", m.expert_intermediate),
                ("shared_intermediate", m.shared_intermediate),
            ]);
            if m.per_token > m.experts || m.first_dense > self.layers {
                return Err(
                    "more experts per token than experts, or more dense layers than layers"
                        .to_owned(),
                );
            }
        }
        if let Some(m) = &self.mla {
            sizes.extend([
                ("q_lora_rank", m.q_lora_rank),
                ("kv_lora_rank", m.kv_lora_rank),
                ("qk_nope", m.qk_nope),
                ("qk_rope", m.qk_rope),
                ("v_head", m.v_head),
            ]);
        }
        for (k, v) in sizes {
            if v > MAX_DIM || (v == 0 && matches!(k, "layers" | "hidden" | "heads" | "vocab")) {
                return Err(format!("`{k}` = {v} is out of range (1 to {MAX_DIM})"));
            }
        }
        Ok(())
    }

    /// Weights of one layer's attention. Sizes are bounded by [`MAX_DIM`], so every count here
    /// fits a `u128`.
    fn attention(&self) -> u128 {
        let w = u128::from;
        let (h, n) = (w(self.hidden), w(self.heads));
        match &self.mla {
            Some(m) => {
                let (q_lora, kv_lora) = (w(m.q_lora_rank), w(m.kv_lora_rank));
                let qk = w(m.qk_nope) + w(m.qk_rope);
                let q = if q_lora > 0 {
                    h * q_lora + q_lora * n * qk
                } else {
                    h * n * qk
                };
                q + h * (kv_lora + w(m.qk_rope))
                    + kv_lora * n * (w(m.qk_nope) + w(m.v_head))
                    + n * w(m.v_head) * h
            }
            None => {
                let d = w(self.head_dim);
                h * n * d * 2 + h * w(self.kv_heads) * d * 2
            }
        }
    }

    /// (dense layers, MoE layers).
    fn layer_split(&self) -> (u128, u128) {
        match &self.moe {
            Some(m) => (
                u128::from(m.first_dense),
                u128::from(self.layers.saturating_sub(m.first_dense)),
            ),
            None => (u128::from(self.layers), 0),
        }
    }

    /// Norm weights: two per layer (and MLA's two low-rank norms), and the final one.
    fn norms(&self) -> u128 {
        let w = u128::from;
        let mla = self
            .mla
            .as_ref()
            .map_or(0, |m| w(m.q_lora_rank) + w(m.kv_lora_rank));
        w(self.layers) * (2 * w(self.hidden) + mla) + w(self.hidden)
    }

    /// The embedding table and, untied, the LM head.
    fn embeddings(&self) -> u128 {
        u128::from(self.vocab) * u128::from(self.hidden) * if self.tied_embeddings { 1 } else { 2 }
    }

    /// Every weight of the model (without MTP layers).
    pub fn params(&self) -> u128 {
        let w = u128::from;
        let (dense, moe_layers) = self.layer_split();
        let h = w(self.hidden);
        let moe = self.moe.as_ref().map_or(0, |m| {
            h * w(m.experts)
                + 3 * h * (w(m.experts) * w(m.expert_intermediate) + w(m.shared_intermediate))
        });
        self.embeddings()
            + w(self.layers) * self.attention()
            + dense * 3 * h * w(self.intermediate)
            + moe_layers * moe
            + self.norms()
    }

    /// The weights one token uses: [`Self::params`] with only the top-k experts of each MoE layer.
    pub fn active_params(&self) -> u128 {
        self.params() - self.inactive_expert_params()
    }

    fn inactive_expert_params(&self) -> u128 {
        let w = u128::from;
        let (_, moe_layers) = self.layer_split();
        self.moe.as_ref().map_or(0, |m| {
            moe_layers
                * 3
                * w(self.hidden)
                * w(m.expert_intermediate)
                * w(m.experts.saturating_sub(m.per_token))
        })
    }

    /// Matmul FLOPs per token (`F` in the module's overview).
    pub fn flops_per_token(&self) -> f64 {
        // The active weights less the embedding table, plus the LM head as a matmul.
        let matmul = self.active_params() - self.embeddings() - self.norms()
            + u128::from(self.vocab) * u128::from(self.hidden);
        2.0 * matmul as f64
    }

    /// Attention FLOPs per token per context token (`A` in the module's overview).
    pub fn attention_flops_per_context(&self) -> f64 {
        let (qk, v) = match &self.mla {
            Some(m) => (m.qk_nope + m.qk_rope, m.v_head),
            None => (self.head_dim, self.head_dim),
        };
        2.0 * self.layers as f64 * self.heads as f64 * (qk as f64 + v as f64)
    }

    /// FLOPs of one prefill of `batch` sequences of `input` tokens.
    pub fn prefill_flops(&self, batch: u64, input: u64) -> f64 {
        let (i, b) = (input as f64, batch as f64);
        b * (i * self.flops_per_token() + self.attention_flops_per_context() * i * (i + 1.0) / 2.0)
    }

    /// FLOPs of the median decode step of `batch` sequences (`input` tokens, `output` new).
    pub fn decode_step_flops(&self, batch: u64, input: u64, output: u64) -> f64 {
        let context = input as f64 + output as f64 / 2.0;
        batch as f64 * (self.flops_per_token() + self.attention_flops_per_context() * context)
    }
}

/// What the runner records beside a run's results (`efficiency.json`) so the publisher can
/// compute the efficiency columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfficiencyInput {
    pub schema: u32,
    /// GPUs the job used, over all nodes.
    pub gpus: u32,
    /// The GEMMs' type (`--quantization`, else the checkpoint's, else BF16).
    pub dtype: Dtype,
    pub model: ModelShape,
}

pub const EFFICIENCY_SCHEMA: u32 = 1;

/// Parses `efficiency.json`.
pub fn parse_input(text: &str) -> Result<EfficiencyInput, crate::ParseError> {
    let e: EfficiencyInput = serde_json::from_str(text)
        .map_err(|e| crate::ParseError::invalid(e.line(), e.to_string()))?;
    if e.schema != EFFICIENCY_SCHEMA || e.gpus == 0 || e.gpus > 4096 {
        return Err(crate::ParseError::invalid(
            1,
            format!(
                "schema {} with {} GPU(s) (expected schema {EFFICIENCY_SCHEMA}, 1 to 4096 GPUs)",
                e.schema, e.gpus
            ),
        ));
    }
    e.model
        .check()
        .map_err(|reason| crate::ParseError::invalid(1, reason))?;
    Ok(e)
}

/// The two efficiency columns of a row.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Efficiency {
    pub tokens_per_s_per_gpu: Option<f64>,
    pub mfu: Option<f64>,
}

fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && *v > 0.0)
}

impl EfficiencyInput {
    fn peak_flops(&self, hardware: &str) -> Option<f64> {
        peak_tflops(hardware, self.dtype).map(|t| t * 1e12 * f64::from(self.gpus))
    }

    /// A serving load's efficiency from its throughputs (tokens/s and requests/s).
    pub fn serving(
        &self,
        hardware: &str,
        input_tps: Option<f64>,
        output_tps: Option<f64>,
        request_tps: Option<f64>,
    ) -> Efficiency {
        let (tin, tout) = (positive(input_tps), positive(output_tps));
        let total = match (tin, tout) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
        let m = &self.model;
        let flops = total.map(|_| {
            let (tin, tout) = (tin.unwrap_or(0.0), tout.unwrap_or(0.0));
            let (a, mean_in, mean_out) = match positive(request_tps) {
                Some(r) => (m.attention_flops_per_context(), tin / r, tout / r),
                None => (0.0, 0.0, 0.0),
            };
            tin * (m.flops_per_token() + a * (mean_in + 1.0) / 2.0)
                + tout * (m.flops_per_token() + a * (mean_in + mean_out / 2.0))
        });
        Efficiency {
            tokens_per_s_per_gpu: total.map(|t| t / f64::from(self.gpus)),
            mfu: flops.zip(self.peak_flops(hardware)).map(|(f, p)| f / p),
        }
    }

    /// An offline cell's efficiency: prefill and median decode step MFU, and the end-to-end
    /// tokens/s per GPU and MFU, from `bench_one_batch`'s forward times (seconds).
    pub fn offline(&self, hardware: &str, cell: &OfflineCell) -> OfflineEfficiency {
        let m = &self.model;
        let peak = self.peak_flops(hardware);
        let (b, i, o) = (cell.batch, cell.input, cell.output);
        let prefill = m.prefill_flops(b, i);
        let decode = m.decode_step_flops(b, i, o);
        let per =
            |flops: f64, secs: Option<f64>| positive(secs).zip(peak).map(|(s, p)| flops / s / p);
        // The whole batch: one prefill and O − 1 decode steps (the prefill yields the first
        // token), approximated by the median step.
        let e2e_flops = prefill + decode * o.saturating_sub(1) as f64;
        OfflineEfficiency {
            prefill_mfu: per(prefill, cell.prefill_latency_s),
            decode_mfu: per(decode, cell.decode_latency_s),
            e2e: Efficiency {
                tokens_per_s_per_gpu: positive(cell.e2e_latency_s)
                    .map(|s| (b * (i + o)) as f64 / s / f64::from(self.gpus)),
                mfu: per(e2e_flops, cell.e2e_latency_s),
            },
        }
    }
}

/// One `bench_one_batch` cell's sizes and forward times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OfflineCell {
    pub batch: u64,
    pub input: u64,
    pub output: u64,
    pub prefill_latency_s: Option<f64>,
    pub decode_latency_s: Option<f64>,
    pub e2e_latency_s: Option<f64>,
}

/// [`EfficiencyInput::offline`]'s answer.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OfflineEfficiency {
    pub prefill_mfu: Option<f64>,
    pub decode_mfu: Option<f64>,
    pub e2e: Efficiency,
}

#[cfg(test)]
mod tests {
    use super::*;

    const LLAMA_3_8B: &str = r#"{"architectures":["LlamaForCausalLM"],"hidden_size":4096,
        "intermediate_size":14336,"num_attention_heads":32,"num_hidden_layers":32,
        "num_key_value_heads":8,"tie_word_embeddings":false,"torch_dtype":"bfloat16",
        "vocab_size":128256}"#;

    const DEEPSEEK_V3: &str = r#"{"architectures":["DeepseekV3ForCausalLM"],
        "first_k_dense_replace":3,"hidden_size":7168,"intermediate_size":18432,
        "kv_lora_rank":512,"moe_intermediate_size":2048,"n_routed_experts":256,
        "n_shared_experts":1,"num_attention_heads":128,"num_experts_per_tok":8,
        "num_hidden_layers":61,"num_key_value_heads":128,"num_nextn_predict_layers":1,
        "q_lora_rank":1536,"qk_nope_head_dim":128,"qk_rope_head_dim":64,
        "quantization_config":{"quant_method":"fp8"},"tie_word_embeddings":false,
        "v_head_dim":128,"vocab_size":129280}"#;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    /// Llama-3-8B by hand: per layer Q and O 4096², K and V 4096×1024, MLP 3×4096×14336, two
    /// norms: 218,112,000; × 32 = 6,979,584,000; embeddings and LM head 2×128256×4096 =
    /// 1,050,673,152; final norm 4,096. Total 8,030,261,248 (the published 8.03 B).
    #[test]
    fn llama_3_8b_by_hand() {
        let m = ModelShape::parse(LLAMA_3_8B, "llama").expect("parses");
        assert_eq!(m.params(), 8_030_261_248);
        assert_eq!(m.active_params(), m.params());
        // F = 2 × (32 × 218,103,808 + 525,336,576) = 15,009,316,864.
        assert!(close(m.flops_per_token(), 15_009_316_864.0));
        // A = 2 × 32 layers × 32 heads × (128 + 128) = 524,288.
        assert!(close(m.attention_flops_per_context(), 524_288.0));
        assert_eq!(m.dtype, None);

        let e = EfficiencyInput {
            schema: 1,
            gpus: 1,
            dtype: Dtype::Bf16,
            model: m,
        };
        // Prefill, B 1, I 1024, 0.1 s on an H200 (989.4 TFLOPS):
        // 1024 × F + A × 1024 × 1025 / 2 = 15,369,540,468,736 + 275,146,342,400
        // = 15,644,686,811,136 FLOPs → 156.4469 TFLOPS → MFU 0.158123.
        // Decode, B 32, I 1024, O 128, 12 ms median step: context 1088,
        // 32 × (F + A × 1088) = 498,551,750,656 FLOPs → 41.546 TFLOPS → MFU 0.0419911.
        let cell = OfflineCell {
            batch: 1,
            input: 1024,
            output: 128,
            prefill_latency_s: Some(0.1),
            decode_latency_s: None,
            e2e_latency_s: Some(2.0),
        };
        let off = e.offline("h200", &cell);
        assert!(close(
            off.prefill_mfu.expect("prefill"),
            15_644_686_811_136.0 / 0.1 / 989.4e12
        ));
        assert!((off.prefill_mfu.expect("prefill") - 0.158123).abs() < 1e-6);
        // (1024 + 128) tokens in 2 s on one GPU.
        assert_eq!(off.e2e.tokens_per_s_per_gpu, Some(576.0));
        let decode = e.offline(
            "h200",
            &OfflineCell {
                batch: 32,
                decode_latency_s: Some(0.012),
                ..cell
            },
        );
        assert!(close(
            decode.decode_mfu.expect("decode"),
            498_551_750_656.0 / 0.012 / 989.4e12
        ));
        assert!((decode.decode_mfu.expect("decode") - 0.041_991_1).abs() < 1e-6);
        // No peak for the CPU: tokens/s per GPU still, MFU none.
        assert_eq!(e.offline("cpu", &cell).prefill_mfu, None);
    }

    /// DeepSeek-V3 by hand. MLA attention per layer: Q 7168×1536 + 1536×128×192, KV
    /// 7168×576 + 512×128×256, O 128×128×7168 = 187,105,280. Three dense MLPs of
    /// 3×7168×18432 = 396,361,728. 58 MoE layers of router 7168×256 and 257 experts (256 routed
    /// and one shared) of 3×7168×2048 = 44,040,192: 11,320,164,352 each. Embeddings and LM head
    /// 2×129280×7168 = 1,853,358,080. Norms 61 × (2×7168 + 1536 + 512) + 7168 = 1,006,592.
    /// Total 671,026,404,352 (the published 671 B); active (8 of 256 routed experts):
    /// 37,552,282,624 (the published 37 B).
    #[test]
    fn deepseek_v3_by_hand() {
        let m = ModelShape::parse(DEEPSEEK_V3, "dsv3").expect("parses");
        assert_eq!(m.params(), 671_026_404_352);
        assert_eq!(m.active_params(), 37_552_282_624);
        assert_eq!(m.dtype, Some(Dtype::Fp8));
        // F = 2 × (61 × 187,105,280 + 3 × 396,361,728 + 58 × 398,196,736 + 926,679,040)
        //   = 73,249,193,984.
        assert!(close(m.flops_per_token(), 73_249_193_984.0));
        // A = 2 × 61 × 128 × (192 + 128) = 4,997,120.
        assert!(close(m.attention_flops_per_context(), 4_997_120.0));

        // Serving on 8 MI300X at FP8 (8 × 2614.9 TFLOPS): 10,000 input and 1,000 output tokens/s
        // at 10 requests/s (means 1,000 in, 100 out):
        // 10,000 × (F + A × 500.5) + 1,000 × (F + A × 1,050)
        // = 757,502,525,440,000 + 78,496,169,984,000 = 835,998,695,424,000 FLOPs/s.
        let e = EfficiencyInput {
            schema: 1,
            gpus: 8,
            dtype: Dtype::Fp8,
            model: m,
        };
        let s = e.serving("mi30x", Some(10_000.0), Some(1_000.0), Some(10.0));
        assert_eq!(s.tokens_per_s_per_gpu, Some(1_375.0));
        assert!(close(
            s.mfu.expect("mfu"),
            835_998_695_424_000.0 / (8.0 * 2614.9e12)
        ));
        assert!((s.mfu.expect("mfu") - 0.039_963_2).abs() < 1e-6);
        // Without the request rate, the attention term is left out.
        let lower = e.serving("mi30x", Some(10_000.0), Some(1_000.0), None);
        assert!(close(
            lower.mfu.expect("mfu"),
            11_000.0 * 73_249_193_984.0 / (8.0 * 2614.9e12)
        ));
        assert_eq!(
            e.serving("mi30x", None, None, Some(1.0)),
            Efficiency::default()
        );
    }

    #[test]
    fn peaks_and_types() {
        assert_eq!(peak_tflops("mi35x", Dtype::Fp4), Some(10066.3));
        assert_eq!(peak_tflops("h200", Dtype::Fp4), Some(1978.9));
        assert_eq!(peak_tflops("cpu", Dtype::Bf16), None);
        assert_eq!(Dtype::from_quantization("fp8"), Some(Dtype::Fp8));
        assert_eq!(Dtype::from_quantization("modelopt_fp4"), Some(Dtype::Fp4));
        assert_eq!(Dtype::from_quantization("awq"), None);
    }

    #[test]
    fn bad_configs_name_the_key() {
        let e = ModelShape::parse("{\"hidden_size\": 8}", "m/config.json").expect_err("no layers");
        assert!(
            e.to_string()
                .starts_with("m/config.json: `num_hidden_layers`"),
            "{e}"
        );
        assert!(ModelShape::parse("[]", "c").is_err());
        let vl = r#"{"text_config":{"num_hidden_layers":2,"hidden_size":64,"num_attention_heads":4,
            "intermediate_size":128,"vocab_size":100}}"#;
        assert_eq!(ModelShape::parse(vl, "vl").expect("nested").layers, 2);
        assert!(parse_input("{\"schema\":1}").is_err());
    }
}
