//! Plot structure: the SVG and PNG output of a chart has the series, points, labels and gaps the
//! chart says, not only a file.

use sglci_core::date::day_number;
use sglci_publisher::rows::Rows;
use sglci_publisher::site::chart::{model_charts, Chart, Point, Series};
use sglci_publisher::site::plot::{chart_svg, figure_png, figure_svg, timeline_svg, TimelineRow};

fn pt(date: &str, value: f64) -> Point {
    Point {
        day: day_number(date).expect("date"),
        date: date.to_owned(),
        value,
        tag: format!("v0.5.6-rocm700-mi30x-{date}"),
        href: None,
    }
}

fn chart() -> Chart {
    Chart {
        id: "e2e".to_owned(),
        title: "Median E2E latency, GROK1".to_owned(),
        y_label: "ms".to_owned(),
        series: vec![
            Series {
                label: "RR=1".to_owned(),
                color: "#1f77b4".to_owned(),
                // A gap of 10 nights between the 3rd and 4th point: two line segments.
                points: vec![
                    pt("20251201", 100.0),
                    pt("20251202", 101.0),
                    pt("20251203", 99.0),
                    pt("20251213", 130.0),
                ],
            },
            Series {
                label: "RR=8".to_owned(),
                color: "#ff7f0e".to_owned(),
                points: vec![pt("20251201", 300.0), pt("20251202", 310.0)],
            },
        ],
        markers: vec![sglci_publisher::site::chart::Marker {
            day: day_number("20251213").expect("date"),
            label: "regression open +30.0 % from v0.5.6-rocm700-mi30x-20251213".to_owned(),
            kind: "regression",
        }],
    }
}

/// The text content of every `<text>` element.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_owned())
        })
        .collect()
}

fn count(svg: &str, needle: &str) -> usize {
    svg.matches(needle).count()
}

#[test]
fn svg_has_series_points_labels_and_gaps() {
    let svg = chart_svg(&chart(), (900, 420)).expect("svg");
    assert!(svg.starts_with("<svg"));
    // Points: one circle each.
    assert_eq!(count(&svg, "<circle"), 6, "one circle per point");
    // Lines: RR=1 in two segments (the gap), RR=8 in one, plus two legend samples.
    let polylines = count(&svg, "<polyline");
    let segment_lines = svg
        .split("<polyline")
        .skip(1)
        .filter(|p| p.contains("stroke=\"#1F77B4\"") || p.contains("stroke=\"#1f77b4\""))
        .count();
    assert!(polylines >= 3, "{polylines} polylines");
    // The regression mark: one red vertical line.
    let marks = svg
        .split("<polyline")
        .skip(1)
        .filter(|p| p.to_ascii_uppercase().contains("STROKE=\"#CF222E\""))
        .count();
    assert_eq!(marks, 1, "one regression marker");
    assert_eq!(segment_lines, 3, "RR=1: two segments and its legend sample");
    // Title, axis label, legend labels and real dates on the x axis.
    let t = texts(&svg);
    for text in ["Median E2E latency, GROK1", "ms", "RR=1", "RR=8"] {
        assert!(t.iter().any(|x| x == text), "missing {text} in {t:?}");
    }
    // Real dates on the x axis; distinct labels never repeat (no overlaps from rounding).
    let dates: Vec<&String> = t.iter().filter(|x| x.starts_with("2025-12-")).collect();
    assert!(dates.len() >= 3, "{dates:?}");
    let mut uniq = dates.clone();
    uniq.dedup();
    assert_eq!(dates, uniq, "x labels repeat");
}

#[test]
fn figure_and_png() {
    let charts = vec![chart(), chart()];
    let svg = figure_svg(Some("GROK1 on mi30x"), &charts, 2, (1400, 420)).expect("svg");
    assert_eq!(count(&svg, "<circle"), 12);
    assert!(svg.contains("GROK1 on mi30x"));
    let png = figure_png(Some("GROK1 on mi30x"), &charts, 2, (1000, 400)).expect("png");
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!((info.width, info.height), (1000, 400));
    // Not blank: the series colours are there.
    let px = &buf[..info.buffer_size()];
    let has = |r: u8, g: u8, b: u8| px.chunks(3).any(|c| c == [r, g, b]);
    assert!(has(0x1f, 0x77, 0xb4), "series colour RR=1 drawn");
    assert!(has(0xff, 0x7f, 0x0e), "series colour RR=8 drawn");
}

#[test]
fn timeline_cells() {
    let rows = vec![
        TimelineRow {
            name: "Grok Online Benchmark".to_owned(),
            cells: vec![
                (day_number("20251201").expect("d"), "pass".to_owned()),
                (day_number("20251202").expect("d"), "fail".to_owned()),
            ],
        },
        TimelineRow {
            name: "Unit Tests".to_owned(),
            cells: vec![(day_number("20251202").expect("d"), "not run".to_owned())],
        },
    ];
    let svg = timeline_svg("t", "Task status", &rows, (900, 200)).expect("svg");
    let t = texts(&svg);
    assert!(t.iter().any(|x| x == "Grok Online Benchmark") && t.iter().any(|x| x == "Unit Tests"));
    // Three cells, one per (task, night), each a filled rectangle in its state colour.
    let cells = svg
        .split("<rect")
        .skip(1)
        .filter(|r| {
            ["#2EA043", "#CF222E", "#9A6700"]
                .iter()
                .any(|c| r.to_ascii_uppercase().contains(c))
        })
        .count();
    assert_eq!(cells, 3);
}

#[test]
fn model_charts_follow_the_history() {
    use sglci_core::records::ServingRow;
    let row = |date: &str, load: i64, e2e: f64| ServingRow {
        e2e_ms: Some(e2e),
        ttft_ms: Some(1.0),
        kv_cache_tokens: Some(1000),
        ..ServingRow::blank(
            "mi30x",
            "GROK1",
            &format!("online/GROK1/v0.5.6-rocm700-mi30x-{date}_online"),
            &format!("v0.5.6-rocm700-mi30x-{date}"),
            date,
            sglci_core::records::LoadKind::RequestRate,
            load,
        )
    };
    let data = Rows {
        serving: vec![
            row("20251201", 1, 10.0),
            row("20251201", 8, 80.0),
            row("20251202", 1, 11.0),
            row("20251202", 8, 81.0),
            row("20250101", 1, 5.0), // before the window
        ],
        ..Rows::default()
    };
    let from = day_number("20251101").expect("d");
    let charts = model_charts(&data, "mi30x", "GROK1", "", from);
    let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "GROK1-standard-e2e",
            "GROK1-standard-ttft",
            "GROK1-standard-kv-tokens"
        ]
    );
    let e2e = &charts[0];
    let labels: Vec<&str> = e2e.series.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["RR=1", "RR=8"]);
    assert_eq!(
        e2e.point_count(),
        4,
        "the January point is outside the window"
    );
    assert_eq!(charts[2].point_count(), 2, "KV tokens once per run");
    // Colours are a function of the label: the same on every page.
    let again = model_charts(&data, "mi30x", "GROK1", "", from);
    assert_eq!(e2e.series[1].color, again[0].series[1].color);
    assert!(e2e.series[0].points[0]
        .href
        .as_deref()
        .is_some_and(|h| h.starts_with("runs/") && h.ends_with(".html")));
}

#[test]
fn offline_figure_has_one_series_per_batch_size() {
    use sglci_core::records::OfflineResultRow;
    use sglci_publisher::site::chart::offline_charts;
    let row = |date: &str, bs: i64, lat: f64| OfflineResultRow {
        hardware: "mi30x".into(),
        model: "GROK1".into(),
        run_dir: format!("offline/GROK1/v0.5.6-rocm700-mi30x-{date}_offline"),
        docker_tag: format!("v0.5.6-rocm700-mi30x-{date}"),
        date: date.into(),
        mode: "normal".into(),
        tp: 8,
        batch_size: bs,
        input_len: 1024,
        output_len: 128,
        backend: Some("aiter".into()),
        prefill_latency_s: None,
        decode_median_latency_s: None,
        e2e_latency_s: Some(lat),
        prefill_throughput: None,
        decode_median_throughput: None,
        e2e_throughput: Some(1000.0 / lat),
        tokens_per_s_per_gpu: None,
        mfu: None,
        prefill_mfu: None,
        decode_mfu: None,
    };
    let data = Rows {
        offline: vec![
            row("20251201", 1, 1.0),
            row("20251201", 32, 2.0),
            row("20251201", 256, 4.0),
            row("20251202", 1, 1.1),
            row("20251202", 32, 2.1),
            row("20251202", 256, 4.2),
        ],
        ..Rows::default()
    };
    let charts = offline_charts(&data, "mi30x", "GROK1", "normal", 0);
    assert_eq!(charts.len(), 2, "latency and throughput");
    let labels: Vec<&str> = charts[0].series.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        ["BS=1 IL=1024", "BS=32 IL=1024", "BS=256 IL=1024"],
        "batch sizes in numeric order"
    );
    let svg = chart_svg(&charts[1], (900, 420)).expect("svg");
    assert_eq!(count(&svg, "<circle"), 6);
    assert!(texts(&svg).iter().any(|t| t == "tok/s"));
    assert!(offline_charts(&data, "mi30x", "GROK1", "long_context", 0).is_empty());
}

/// Runs `f` on a thread and fails the test if it does not finish in `secs` (a hang is the bug
/// this guards against, so the test must not hang with it).
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{what} did not finish in {secs} s"))
}

#[test]
fn extreme_values_render_in_bounded_time_on_a_finite_axis() {
    let cases: Vec<(&str, Vec<f64>)> = vec![
        ("1.7e308 next to 1", vec![1.7e308, 1.0]),
        ("f64::MAX twice", vec![f64::MAX, f64::MAX]),
        ("-f64::MAX to f64::MAX", vec![-f64::MAX, f64::MAX]),
        (
            "infinities and NaN",
            vec![f64::INFINITY, f64::NAN, f64::NEG_INFINITY, 3.0],
        ),
        ("a tiny span at a huge magnitude", vec![1e12, 1e12 + 1e-3]),
        ("subnormals", vec![5e-324, 1e-320]),
    ];
    for (name, values) in cases {
        let (lo, hi) = sglci_publisher::site::plot::safe_range(values.iter().copied());
        assert!(
            lo.is_finite() && hi.is_finite() && lo < hi,
            "{name}: {lo}..{hi}"
        );
        let mut c = chart();
        c.series[0].points = values
            .iter()
            .enumerate()
            .map(|(i, v)| pt(&format!("202512{:02}", i + 1), *v))
            .collect();
        let svg = within(30, name, move || chart_svg(&c, (640, 360)).expect("svg"));
        assert!(svg.contains("<svg"), "{name}");
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "{name}: a non-finite coordinate"
        );
    }
}
