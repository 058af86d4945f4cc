//! Offline benchmarks: `sglang.bench_one_batch` stdout and the predecessor's comma-separated
//! offline CSV (`TP,batch_size,IL,OL,[Backend,]Prefill_latency(s),…`). `NA` marks a failed cell.

use serde::Serialize;

use crate::error::ParseError;
use crate::text;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfflineRow {
    pub tp: u32,
    pub batch_size: u32,
    pub input_len: u32,
    pub output_len: u32,
    pub backend: Option<String>,
    pub prefill_latency_s: Option<f64>,
    pub decode_median_latency_s: Option<f64>,
    pub e2e_latency_s: Option<f64>,
    pub prefill_throughput: Option<f64>,
    pub decode_median_throughput: Option<f64>,
    pub e2e_throughput: Option<f64>,
}

pub fn parse_csv(text: &str) -> Result<Vec<OfflineRow>, ParseError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(ParseError::Empty);
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let idx = |name: &str| cols.iter().position(|c| *c == name);
    let need = |name: &'static str| idx(name).ok_or(ParseError::Missing { what: name });
    let (tp, bs, il, ol) = (need("TP")?, need("batch_size")?, need("IL")?, need("OL")?);
    let (pl, dl, el) = (
        need("Prefill_latency(s)")?,
        need("Median_decode_latency(s)")?,
        need("E2E_Latency(s)")?,
    );
    let (pt, dt, et) = (
        need("Prefill_Throughput(token/s)")?,
        need("Median_Decode_Throughput(token/s)")?,
        need("E2E_Throughput(token/s)")?,
    );
    let backend = idx("Backend");
    let mut rows = Vec::new();
    for (i, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |c: usize| cells.get(c).copied().unwrap_or("");
        let int = |c: usize, what: &str| {
            get(c).parse::<u32>().map_err(|_| {
                ParseError::invalid(i + 1, format!("{what} `{}` is not an integer", get(c)))
            })
        };
        let num = |c: usize| -> Result<Option<f64>, ParseError> {
            let v = get(c);
            if v.is_empty() || v == "NA" {
                Ok(None)
            } else {
                v.parse()
                    .map(Some)
                    .map_err(|_| ParseError::invalid(i + 1, format!("value `{v}` is not a number")))
            }
        };
        rows.push(OfflineRow {
            tp: int(tp, "TP")?,
            batch_size: int(bs, "batch_size")?,
            input_len: int(il, "IL")?,
            output_len: int(ol, "OL")?,
            backend: backend.map(|b| get(b).to_owned()).filter(|b| !b.is_empty()),
            prefill_latency_s: num(pl)?,
            decode_median_latency_s: num(dl)?,
            e2e_latency_s: num(el)?,
            prefill_throughput: num(pt)?,
            decode_median_throughput: num(dt)?,
            e2e_throughput: num(et)?,
        });
    }
    Ok(rows)
}

/// The three result lines of `bench_one_batch`, taken after the last `Benchmark` line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OneBatch {
    pub prefill_latency_s: Option<f64>,
    pub prefill_throughput: Option<f64>,
    pub decode_median_latency_s: Option<f64>,
    pub decode_median_throughput: Option<f64>,
    pub total_latency_s: Option<f64>,
    pub total_throughput: Option<f64>,
}

pub fn parse_one_batch(bytes: &[u8]) -> Result<OneBatch, ParseError> {
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let cleaned = text::clean(bytes);
    let all: Vec<&str> = text::lines(&cleaned).collect();
    let start = all
        .iter()
        .rposition(|l| l.contains("Benchmark"))
        .map_or(0, |i| i + 1);
    let mut r = OneBatch {
        prefill_latency_s: None,
        prefill_throughput: None,
        decode_median_latency_s: None,
        decode_median_throughput: None,
        total_latency_s: None,
        total_throughput: None,
    };
    let value_after = |l: &str, key: &str| text::after_substr(l, key).and_then(text::leading_f64);
    for l in &all[start..] {
        let l = l.trim();
        if l.starts_with("Prefill.") {
            r.prefill_latency_s = value_after(l, "latency:");
            r.prefill_throughput = value_after(l, "throughput:");
        } else if l.starts_with("Decode.") {
            r.decode_median_latency_s = value_after(l, "median latency:");
            r.decode_median_throughput = value_after(l, "median throughput:");
        } else if l.starts_with("Total.") {
            r.total_latency_s = value_after(l, "latency:");
            r.total_throughput = value_after(l, "throughput:");
        }
    }
    if r.total_latency_s.is_none() && r.prefill_latency_s.is_none() {
        return Err(ParseError::missing(
            "`Prefill.`/`Total.` result lines after the `Benchmark` line",
        ));
    }
    Ok(r)
}
