//! F2 parsers on tool output scenarios (`tests/data/gpu/`), and the idle verdict.

use std::path::Path;

use sglci_runner::gpu::{
    busy, parse_amd_smi_json, parse_nvidia_smi_csv, parse_rocm_smi_json, parse_rocm_smi_table,
};

fn data(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/gpu")
            .join(name),
    )
    .expect("scenario")
}

#[test]
fn rocm_smi_json_idle_node() {
    let g = parse_rocm_smi_json(&data("rocm_smi_idle.json")).expect("parses");
    assert_eq!(g.len(), 8, "the `system` entry is not a GPU");
    assert_eq!(
        g.iter().map(|x| x.index).collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );
    assert!(busy(&g, 15.0, 15.0).is_empty());
}

#[test]
fn rocm_smi_table_names_the_busy_gpu() {
    let g = parse_rocm_smi_table(&data("rocm_smi_busy.table.txt")).expect("parses");
    assert_eq!(g.len(), 8, "header and separator lines are skipped");
    let b = busy(&g, 15.0, 15.0);
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].index, b[0].busy_pct, b[0].mem_pct), (4, 100.0, 92.0));
}

#[test]
fn amd_smi_memory_left_behind_is_busy() {
    let g = parse_amd_smi_json(&data("amd_smi_leftover_memory.json")).expect("parses");
    let b = busy(&g, 5.0, 5.0);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].index, 1);
    assert!((b[0].mem_pct - 92.08).abs() < 0.01, "{}", b[0].mem_pct);
}

/// Captured on a real H200 (driver 580, CUDA 13): idle, and while a process held 4 GB and ran
/// matmuls.
#[test]
fn nvidia_smi_csv() {
    let idle = parse_nvidia_smi_csv(&data("nvidia_smi_h200_idle.csv")).expect("parses");
    assert_eq!(idle.len(), 1);
    assert!(busy(&idle, 5.0, 5.0).is_empty());
    let held = parse_nvidia_smi_csv(&data("nvidia_smi_h200_busy.csv")).expect("parses");
    let b = busy(&held, 5.0, 5.0);
    assert_eq!(b.len(), 1, "{held:?}");
    assert_eq!(b[0].index, 0);
    // 4,047 of 143,771 MiB is 2.8 %: busy by its 100 % utilisation, not by memory.
    assert!(busy(&held, 101.0, 5.0).is_empty());
    assert_eq!(busy(&held, 101.0, 2.0).len(), 1);
}

#[test]
fn bad_output_is_an_error_that_says_why() {
    for (text, f) in [
        ("", parse_rocm_smi_table as fn(&str) -> _),
        ("{}", parse_rocm_smi_json),
        ("not json", parse_amd_smi_json),
        ("0, 3, 512", parse_nvidia_smi_csv),
        (
            "index, utilization.gpu [%], memory.used [MiB], memory.total [MiB]",
            parse_nvidia_smi_csv,
        ),
    ] {
        let e = f(text).expect_err(text);
        assert!(!e.to_string().is_empty());
    }
    let e = parse_nvidia_smi_csv("index, utilization.gpu").expect_err("header");
    assert!(e.to_string().contains("noheader"), "{e}");
    let e = parse_rocm_smi_json(r#"{"card0": {"GPU use (%)": "0"}}"#).expect_err("no memory");
    assert!(
        e.to_string().contains("card0") && e.to_string().contains("VRAM"),
        "{e}"
    );
}

/// The host's GPU names as a real H200 printed them: the hardware label comes from them.
#[test]
fn nvidia_names_from_a_real_h200() {
    let g =
        sglci_runner::identity::host_gpu::parse_nvidia_names(&data("nvidia_smi_h200_names.csv"))
            .expect("parses");
    assert_eq!(g.product, "NVIDIA H200");
    assert_eq!(g.count, 1);
    assert_eq!(g.hardware.as_str(), "h200");
}

/// The busiest sample while the H200 proof's server held the GPU (issue 21): 3 GB of 140 GB
/// but 26 % use, so the idle gate calls it busy by its use.
#[test]
fn nvidia_smi_while_a_real_server_holds_the_gpu() {
    let g = parse_nvidia_smi_csv(&data("nvidia_smi_h200_serving.csv")).expect("parses");
    assert_eq!(g.len(), 1);
    assert!(g[0].mem_pct > 2.0 && g[0].mem_pct < 3.0, "{:?}", g[0]);
    assert_eq!(
        busy(
            &g,
            sglci_runner::gpu::MAX_BUSY_PCT,
            sglci_runner::gpu::MAX_MEM_PCT
        )
        .len(),
        1
    );
}
