//! Static plots with plotters: SVG for the site (and as the charts' fallback without JavaScript),
//! PNG for chat messages and PR comments. Pure: a [`Chart`] in, bytes out, no files.
//!
//! Text is laid out with an embedded font (DejaVu Sans), so the output does not depend on the
//! fonts of the machine, which a Lambda does not have.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::chart::Chart;
use sglci_core::date::{date_of_day, iso};

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// A line is broken where two consecutive nights are further apart than this, so that a gap in
/// the data shows as a gap.
pub const GAP_DAYS: i64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("plot {id}: {reason}")]
    Draw { id: String, reason: String },
    #[error("plot {id}: encoding PNG: {reason}")]
    Png { id: String, reason: String },
    #[error("the embedded font does not load")]
    Font,
}

fn font() -> Result<(), PlotError> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    let ok = *LOADED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

fn draw_err(id: &str) -> impl Fn(String) -> PlotError + '_ {
    move |reason| PlotError::Draw {
        id: id.to_owned(),
        reason,
    }
}

fn rgb(hex: &str) -> RGBColor {
    let h = hex.trim_start_matches('#');
    let c = |i: usize| u8::from_str_radix(h.get(i..i + 2).unwrap_or("80"), 16).unwrap_or(128);
    RGBColor(c(0), c(2), c(4))
}

/// Axis bounds around the values, with some air.
fn y_range(chart: &Chart) -> (f64, f64) {
    let vals = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.value));
    safe_range(vals)
}

/// The largest magnitude an axis shows; values beyond it are drawn at the edge. Rows are
/// checked on the way in ([`crate::legacy::plausible`]), so this only guards old histories and
/// bugs: plotters' tick maths spins forever on a range that overflows.
const AXIS_LIMIT: f64 = 1e12;

/// A finite, non-empty range whatever the values (none, one, equal, infinite, NaN, 1e308 next
/// to 1): never `inf`, never `lo >= hi`, never a span too small for `f64` ticks.
pub fn safe_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .map(|v| v.clamp(-AXIS_LIMIT, AXIS_LIMIT))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    // Air of 8 % of the span, and at least a millionth of the magnitude (or 5 % of it for a flat
    // series), so neighbouring ticks stay distinct in f64.
    let magnitude = lo.abs().max(hi.abs()).max(1.0);
    let span = hi - lo;
    let pad = if span > 0.0 {
        (span * 0.08).max(magnitude * 1e-6)
    } else {
        magnitude * 0.05
    };
    (lo - pad, hi + pad)
}

/// Draws one chart into an area.
fn draw_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    font_px: u32,
) -> Result<(), String> {
    let (lo, hi) = chart.day_range().unwrap_or((0, 1));
    let (x0, x1) = (lo.saturating_sub(1) as f64, hi.saturating_add(1) as f64);
    let (y0, y1) = y_range(chart);
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let mut cc = ChartBuilder::on(area)
        .caption(&chart.title, (FAMILY, font_px + 3))
        .margin(12)
        .x_label_area_size(font_px * 2 + 6)
        .y_label_area_size(font_px * 4 + 10)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)?;
    let span_days = (x1 - x0).max(1.0);
    // Enough decimals to tell neighbouring ticks apart, no more.
    let step = (y1 - y0) / 6.0;
    let decimals = if step > 0.0 {
        (-step.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        2
    };
    // At most one label per ~110 px of axis, never more than one a day: no overlaps.
    let width = area.dim_in_pixel().0 as f64;
    let n_labels = ((width / 110.0) as usize).clamp(2, span_days as usize + 1);
    cc.configure_mesh()
        .x_labels(n_labels)
        .y_labels(6)
        .x_label_formatter(&|x| iso(&date_of_day(x.round() as i64)))
        .y_label_formatter(&|y| format!("{y:.*}", decimals))
        .y_desc(&chart.y_label)
        .label_style((FAMILY, font_px))
        .axis_desc_style((FAMILY, font_px))
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(e)?;
    for s in &chart.series {
        let color = rgb(&s.color);
        // Segments between gaps.
        let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut last: Option<i64> = None;
        for p in s.points.iter().filter(|p| p.value.is_finite()) {
            if last.is_none_or(|d| p.day - d > GAP_DAYS) {
                segments.push(Vec::new());
            }
            if let Some(seg) = segments.last_mut() {
                seg.push((p.day as f64, p.value.clamp(y0, y1)));
            }
            last = Some(p.day);
        }
        let mut first = true;
        for seg in segments {
            let drawn = cc
                .draw_series(LineSeries::new(seg, color.stroke_width(2)))
                .map_err(e)?;
            if first {
                drawn
                    .label(s.label.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
                first = false;
            }
        }
        cc.draw_series(
            s.points
                .iter()
                .filter(|p| p.value.is_finite())
                .map(|p| Circle::new((p.day as f64, p.value.clamp(y0, y1)), 3, color.filled())),
        )
        .map_err(e)?;
    }
    // Marks: red at each regression's first bad night, blue at triage notes.
    for m in &chart.markers {
        let x = m.day as f64;
        let color = if m.kind == "note" {
            RGBColor(9, 105, 218)
        } else {
            RGBColor(207, 34, 46)
        };
        cc.draw_series(std::iter::once(PathElement::new(
            vec![(x, y0), (x, y1)],
            color.stroke_width(2),
        )))
        .map_err(e)?;
    }
    if chart.series.len() > 1 || chart.series.iter().any(|s| !s.label.is_empty()) {
        cc.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font((FAMILY, font_px))
            .draw()
            .map_err(e)?;
    }
    Ok(())
}

/// Lays charts out in a grid of `cols` columns.
fn draw_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: Option<&str>,
    charts: &[Chart],
    cols: usize,
    font_px: u32,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let body = match title {
        Some(t) => root.titled(t, (FAMILY, font_px + 8)).map_err(e)?,
        None => root.clone(),
    };
    let cols = cols.max(1);
    let rows = charts.len().div_ceil(cols).max(1);
    let areas = body.split_evenly((rows, cols));
    for (area, chart) in areas.iter().zip(charts) {
        draw_chart(area, chart, font_px)?;
    }
    root.present().map_err(e)
}

/// One chart as SVG text.
pub fn chart_svg(chart: &Chart, size: (u32, u32)) -> Result<String, PlotError> {
    figure_svg(None, std::slice::from_ref(chart), 1, size)
}

/// Several charts in a grid, as SVG text.
pub fn figure_svg(
    title: Option<&str>,
    charts: &[Chart],
    cols: usize,
    size: (u32, u32),
) -> Result<String, PlotError> {
    font()?;
    let id = charts.first().map_or("figure", |c| c.id.as_str());
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        draw_grid(&root, title, charts, cols, 13).map_err(draw_err(id))?;
    }
    Ok(buf)
}

/// Several charts in a grid, as PNG bytes (for chat cards and PR comments).
pub fn figure_png(
    title: Option<&str>,
    charts: &[Chart],
    cols: usize,
    size: (u32, u32),
) -> Result<Vec<u8>, PlotError> {
    font()?;
    let id = charts.first().map_or("figure", |c| c.id.as_str());
    let (w, h) = size;
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        draw_grid(&root, title, charts, cols, 14).map_err(draw_err(id))?;
    }
    encode_png(id, &pixels, size)
}

fn encode_png(id: &str, rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, PlotError> {
    let err = |e: png::EncodingError| PlotError::Png {
        id: id.to_owned(),
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Default);
    // Charts are mostly flat colour in horizontal bands: "Up" leaves rows of zeros, which
    // deflate compresses faster and smaller than the default "Sub" (measured on the site's
    // figures: 0.65 of the time, 0.89 of the bytes).
    enc.set_filter(png::FilterType::Up);
    enc.set_adaptive_filter(png::AdaptiveFilterType::NonAdaptive);
    let mut writer = enc.write_header().map_err(err)?;
    writer.write_image_data(rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// One row of the task-status timeline.
#[derive(Debug, Clone)]
pub struct TimelineRow {
    pub name: String,
    /// (day, state) with state one of `pass`, `fail`, `not run`, `unknown`.
    pub cells: Vec<(i64, String)>,
}

pub fn state_color(state: &str) -> RGBColor {
    match state {
        "pass" => RGBColor(46, 160, 67),
        "fail" => RGBColor(207, 34, 46),
        "not run" => RGBColor(154, 103, 0),
        _ => RGBColor(208, 215, 222),
    }
}

/// The task-status timeline: one row per task, one cell per night, coloured by state.
pub fn timeline_svg(
    id: &str,
    title: &str,
    rows: &[TimelineRow],
    size: (u32, u32),
) -> Result<String, PlotError> {
    font()?;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        draw_timeline(&root, title, rows).map_err(draw_err(id))?;
    }
    Ok(buf)
}

fn draw_timeline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    rows: &[TimelineRow],
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let days = rows.iter().flat_map(|r| r.cells.iter().map(|c| c.0));
    let (lo, hi) = days.fold((i64::MAX, i64::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (0, 1) };
    let n = rows.len().max(1) as i32;
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    let width = root.dim_in_pixel().0 as f64;
    let span = (hi - lo + 1) as f64;
    let n_labels = ((width / 110.0) as usize).clamp(2, span as usize + 1);
    let mut cc = ChartBuilder::on(root)
        .caption(title, (FAMILY, 16))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(210)
        .build_cartesian_2d(lo as f64..(hi + 1) as f64, 0f64..f64::from(n))
        .map_err(e)?;
    cc.configure_mesh()
        .disable_mesh()
        .x_labels(n_labels)
        .y_labels(rows.len() * 2 + 1)
        .x_label_formatter(&|x| iso(&date_of_day(x.floor() as i64)))
        .y_label_formatter(&|y| {
            // Labels sit at the middle of each row; other ticks stay blank.
            let i = (y - 0.5).round();
            if (y - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                let row = n - 1 - i as i32;
                names.get(row as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style((FAMILY, 12))
        .draw()
        .map_err(e)?;
    for (i, r) in rows.iter().enumerate() {
        let y = f64::from(n - 1 - i as i32);
        cc.draw_series(r.cells.iter().map(|(day, state)| {
            Rectangle::new(
                [
                    (*day as f64 + 0.08, y + 0.12),
                    (*day as f64 + 0.92, y + 0.88),
                ],
                state_color(state).filled(),
            )
        }))
        .map_err(e)?;
    }
    root.present().map_err(e)
}
