//! The report's charts as standalone SVG documents (strings), drawn with `plotters`' SVG
//! backend: no system fonts (text is left to the browser's `sans-serif`), no bitmaps.
//!
//! Each function takes plain series (labels already in the report's language, numbers
//! formatted by the caller's closures) and returns one `<svg>` element as [`Markup`]:
//! plotters escapes every text it writes (and [`esc`] the accessible name), so labels
//! taken from a scenario file cannot inject markup.
//! Legends are drawn in a margin beside the plot so that they never hide data.

use std::error::Error;

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::escape::{Markup, esc};

/// Formats an axis value for display.
pub type Fmt<'a> = &'a dyn Fn(f64) -> String;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<(), Box<dyn Error>>;

const FONT: &str = "sans-serif";
/// plotters divides the size by 1.24 when it writes `font-size`: 16 → 12.9 px.
const TEXT: u32 = 16;
const WIDTH: u32 = 860;
const LEGEND: u32 = 250;

/// A colour-blind-safe palette (Okabe–Ito, then Paul Tol's muted colours).
pub const PALETTE: [RGBColor; 12] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(204, 121, 167),
    RGBColor(136, 34, 85),
    RGBColor(68, 170, 153),
    RGBColor(17, 119, 51),
    RGBColor(153, 153, 51),
    RGBColor(51, 34, 136),
    RGBColor(0, 0, 0),
];
pub const GREY: RGBColor = RGBColor(150, 150, 150);
/// Bars of an actor that comes out ahead / that pays.
pub const GAIN: RGBColor = RGBColor(0, 114, 178);
pub const PAY: RGBColor = RGBColor(213, 94, 0);
const INK: RGBColor = RGBColor(40, 40, 40);

pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `#rrggbb`, for HTML swatches that match a chart's colour.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn text_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

/// Run `draw` on a fresh SVG canvas and return the document, with `role="img"` and an
/// accessible name on the root element. A drawing error (which would be a bug: the data
/// are checked before) gives a small SVG that says so instead of a broken page.
fn svg(size: (u32, u32), aria: &str, draw: impl FnOnce(&Area) -> Drawn) -> Markup {
    let mut buf = String::new();
    let result = {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(Box::<dyn Error>::from)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Box::<dyn Error>::from))
    };
    if let Err(e) = result {
        buf.clear();
        let root = SVGBackend::with_string(&mut buf, (WIDTH, 40)).into_drawing_area();
        let _ = root.draw(&Text::new(
            format!("chart could not be drawn: {e}"),
            (10, 12),
            text_style(TEXT),
        ));
        let _ = root.present();
    }
    let attrs = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" ",
        esc(aria)
    );
    Markup::trusted(buf.replacen("<svg ", &attrs, 1))
}

/// How a legend entry shows its series.
#[derive(Debug, Clone, Copy)]
pub enum Swatch {
    Line,
    /// A line on a translucent band (fan charts).
    Band,
    Block,
    Dot,
}

fn legend(area: &Area, entries: &[(String, RGBColor, Swatch)]) -> Drawn {
    let style = text_style(TEXT).pos(Pos::new(HPos::Left, VPos::Center));
    let mut y = 22;
    for (label, c, swatch) in entries {
        match swatch {
            Swatch::Line => {
                area.draw(&PathElement::new(vec![(8, y), (30, y)], c.stroke_width(3)))?
            }
            Swatch::Band => {
                area.draw(&Rectangle::new(
                    [(8, y - 7), (30, y + 7)],
                    c.mix(0.2).filled(),
                ))?;
                area.draw(&PathElement::new(vec![(8, y), (30, y)], c.stroke_width(2)))?;
            }
            Swatch::Block => area.draw(&Rectangle::new([(10, y - 6), (28, y + 6)], c.filled()))?,
            Swatch::Dot => area.draw(&Circle::new((19, y), 5, c.filled()))?,
        }
        for line in wrap(label, LEGEND_CHARS) {
            area.draw(&Text::new(line, (38, y), style.clone()))?;
            y += 17;
        }
        y += 5;
    }
    Ok(())
}

/// Pixel height of a legend of these labels.
fn legend_height<'a>(labels: impl IntoIterator<Item = &'a str>) -> u32 {
    22 + labels
        .into_iter()
        .map(|l| wrap(l, LEGEND_CHARS).len() as u32 * 17 + 5)
        .sum::<u32>()
}

/// Characters per legend line (the legend margin is `LEGEND` pixels wide).
const LEGEND_CHARS: usize = 30;

/// `s` in lines of at most `n` characters, broken at spaces (a longer word is cut), at
/// most two lines (the second ends in an ellipsis when text is left over).
fn wrap(s: &str, n: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let len = cur.chars().count();
        if len > 0 && len + 1 + word.chars().count() > n {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    if lines.len() > 2 {
        let rest = lines[1..].join(" ");
        lines.truncate(1);
        lines.push(rest);
    }
    lines.into_iter().map(|l| clip(&l, n)).collect()
}

/// At most `n` characters, with an ellipsis when cut (legends and axis labels).
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// `[lo, hi]` widened by `pad` of its length on both sides (and made non-empty).
fn padded(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    (lo - pad * span, hi + pad * span)
}

/// The smallest and largest finite value; `(0, 0)` when there is none.
fn finite_range<'a>(xs: impl IntoIterator<Item = &'a f64>) -> (f64, f64) {
    let (lo, hi) = xs
        .into_iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if lo.is_finite() { (lo, hi) } else { (0.0, 0.0) }
}

/// Pixel width of the left label area for these labels.
fn label_width(labels: impl IntoIterator<Item = usize>) -> u32 {
    let longest = labels.into_iter().max().unwrap_or(4) as u32;
    (longest * 7 + 16).clamp(60, 400)
}

/// One state (or series) of a fan chart: `(x, mean, p05, p95)` points.
#[derive(Debug, Clone)]
pub struct Band {
    pub label: String,
    pub colour: RGBColor,
    pub points: Vec<[f64; 4]>,
}

/// Mean lines with their 90 % bands (one `<polygon>` band and one `<polyline>` line per
/// series, in that order of drawing: all bands first so that no band hides a line).
pub fn fan_chart(bands: &[Band], x_desc: &str, y_desc: &str, fmt_y: Fmt, aria: &str) -> Markup {
    let (x0, x1) = finite_range(bands.iter().flat_map(|b| b.points.iter().map(|p| &p[0])));
    let (_, y1) = finite_range(bands.iter().flat_map(|b| b.points.iter().map(|p| &p[3])));
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let y1 = if y1.is_finite() && y1 > 0.0 {
        (y1 * 1.05).min(1.0)
    } else {
        1.0
    };
    let height = 380u32.max(20 + legend_height(bands.iter().map(|b| b.label.as_str())));
    svg((WIDTH, height), aria, |root| {
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, 0.0..y1)?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(245, 245, 245))
            .max_light_lines(1)
            .bold_line_style(RGBColor(215, 215, 215))
            .label_style(text_style(TEXT))
            .axis_desc_style(text_style(TEXT))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .y_label_formatter(&|v| fmt_y(*v))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        for b in bands {
            let mut poly: Vec<(f64, f64)> = b.points.iter().map(|p| (p[0], p[3])).collect();
            poly.extend(b.points.iter().rev().map(|p| (p[0], p[2])));
            let poly: Vec<(f64, f64)> = poly.into_iter().filter(|p| p.1.is_finite()).collect();
            chart.draw_series(std::iter::once(Polygon::new(
                poly,
                b.colour.mix(0.15).filled(),
            )))?;
        }
        for b in bands {
            let line: Vec<(f64, f64)> = b
                .points
                .iter()
                .filter(|p| p[1].is_finite())
                .map(|p| (p[0], p[1]))
                .collect();
            chart.draw_series(std::iter::once(PathElement::new(
                line,
                b.colour.stroke_width(2),
            )))?;
        }
        let entries: Vec<_> = bands
            .iter()
            .map(|b| (b.label.clone(), b.colour, Swatch::Band))
            .collect();
        legend(&side, &entries)
    })
}

type RowChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordi32>>>;

/// The row labels of a horizontal bar chart, first row at the top, right-aligned left of
/// the axis. (plotters' own segment labels skip a chart of a single row.)
fn row_labels(root: &Area, chart: &RowChart, labels: &[String], x0: f64) -> Drawn {
    let n = labels.len() as i32;
    let style = text_style(TEXT).pos(Pos::new(HPos::Right, VPos::Center));
    for (i, label) in labels.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(x0, SegmentValue::CenterOf(n - 1 - i as i32)));
        root.draw(&Text::new(label.clone(), (x - 8, y), style.clone()))?;
    }
    Ok(())
}

/// One row of an interval bar chart.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Horizontal bars from zero to the mean (blue when positive, orange when negative) with
/// the 90 % interval as a line with end caps; the first row at the top.
pub fn interval_bars(bars: &[Bar], x_desc: &str, fmt: Fmt, aria: &str) -> Markup {
    let n = bars.len().max(1) as i32;
    let (lo, hi) = finite_range(bars.iter().flat_map(|b| [&b.mean, &b.lo, &b.hi]));
    let (x0, x1) = padded(lo.min(0.0), hi.max(0.0), 0.05);
    let height = 70 + 30 * n as u32;
    let lw = label_width(bars.iter().map(|b| b.label.chars().count().min(40)));
    svg((WIDTH, height), aria, |root| {
        let labels: Vec<String> = bars.iter().map(|b| clip(&b.label, 40)).collect();
        let row = |i: usize| n - 1 - i as i32;
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .margin_right(24)
            .x_label_area_size(44)
            .y_label_area_size(lw)
            .build_cartesian_2d(x0..x1, (0..n - 1).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(RGBColor(245, 245, 245))
            .max_light_lines(1)
            .bold_line_style(RGBColor(215, 215, 215))
            .label_style(text_style(TEXT))
            .axis_desc_style(text_style(TEXT))
            .y_labels(1)
            .y_label_formatter(&|_| String::new())
            .set_tick_mark_size(LabelAreaPosition::Left, 0)
            .x_label_formatter(&|v| fmt(*v))
            .x_desc(x_desc)
            .draw()?;
        row_labels(root, &chart, &labels, x0)?;
        let top = |r: i32| {
            if r + 1 < n {
                SegmentValue::Exact(r + 1)
            } else {
                SegmentValue::Last
            }
        };
        for (i, b) in bars.iter().enumerate() {
            if !b.mean.is_finite() {
                continue;
            }
            let r = row(i);
            let c = if b.mean >= 0.0 { GAIN } else { PAY };
            let mut rect = Rectangle::new(
                [(0.0, SegmentValue::Exact(r)), (b.mean, top(r))],
                c.mix(0.85).filled(),
            );
            rect.set_margin(6, 6, 0, 0);
            chart.draw_series(std::iter::once(rect))?;
            if b.lo.is_finite() && b.hi.is_finite() {
                let y = SegmentValue::CenterOf(r);
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(b.lo, y.clone()), (b.hi, y)],
                    INK.stroke_width(2),
                )))?;
                for x in [b.lo, b.hi] {
                    let cap = EmptyElement::at((x, SegmentValue::CenterOf(r)))
                        + PathElement::new(vec![(0, -6), (0, 6)], INK.stroke_width(2));
                    chart.draw_series(std::iter::once(cap))?;
                }
            }
        }
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, SegmentValue::Exact(0)), (0.0, SegmentValue::Last)],
            INK.stroke_width(1),
        )))?;
        Ok(())
    })
}

/// One line of a line chart, with an optional marked point (e.g. the payback month).
#[derive(Debug, Clone)]
pub struct Curve {
    pub label: String,
    pub colour: RGBColor,
    pub points: Vec<(f64, f64)>,
    pub mark: Option<(f64, f64)>,
    pub width: u32,
}

/// Lines over time with a dashed zero line and a dot on each marked point.
pub fn curves(curves: &[Curve], x_desc: &str, y_desc: &str, fmt_y: Fmt, aria: &str) -> Markup {
    let (x0, x1) = finite_range(curves.iter().flat_map(|c| c.points.iter().map(|p| &p.0)));
    let (y0, y1) = finite_range(curves.iter().flat_map(|c| c.points.iter().map(|p| &p.1)));
    let x0 = if x0.is_finite() { x0.min(0.0) } else { 0.0 };
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let (y0, y1) = padded(y0.min(0.0), y1.max(0.0), 0.05);
    let height = 400u32.max(20 + legend_height(curves.iter().map(|c| c.label.as_str())));
    svg((WIDTH, height), aria, |root| {
        let (plot, side) = root.split_horizontally(WIDTH - LEGEND);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(245, 245, 245))
            .max_light_lines(1)
            .bold_line_style(RGBColor(215, 215, 215))
            .label_style(text_style(TEXT))
            .axis_desc_style(text_style(TEXT))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .y_label_formatter(&|v| fmt_y(*v))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(x0, 0.0), (x1, 0.0)],
            6,
            4,
            INK.stroke_width(1),
        )))?;
        for c in curves {
            chart.draw_series(std::iter::once(PathElement::new(
                c.points.clone(),
                c.colour.stroke_width(c.width),
            )))?;
        }
        for c in curves {
            if let Some(p) = c.mark {
                chart.draw_series(std::iter::once(Circle::new(p, 6, WHITE.filled())))?;
                chart.draw_series(std::iter::once(Circle::new(p, 4, c.colour.filled())))?;
            }
        }
        let entries: Vec<_> = curves
            .iter()
            .map(|c| (c.label.clone(), c.colour, Swatch::Line))
            .collect();
        legend(&side, &entries)
    })
}

/// Bin edges for `values`: about √n bins (5 to 40) of equal width, with zero on an edge
/// so that no bin mixes gains and losses.
pub fn bin_edges(values: &[f64]) -> Vec<f64> {
    let (lo, hi) = finite_range(values);
    if hi <= lo {
        let w = lo.abs().max(1.0) * 0.05;
        return vec![lo - w, lo + w];
    }
    let n = values.iter().filter(|x| x.is_finite()).count();
    let k = ((n as f64).sqrt().ceil() as usize).clamp(5, 40);
    let w = (hi - lo) / k as f64;
    let first = (lo / w).floor();
    let last = (hi / w).floor() + 1.0;
    let bins = (last - first).max(1.0) as usize;
    (0..=bins).map(|i| (first + i as f64) * w).collect()
}

/// Counts of `values` in the bins of `edges` (a value on an inner edge goes to the bin
/// above it; the last edge is inclusive).
pub fn bin_counts(values: &[f64], edges: &[f64]) -> Vec<usize> {
    let k = edges.len().saturating_sub(1);
    let mut counts = vec![0usize; k];
    for &x in values.iter().filter(|x| x.is_finite()) {
        let i = edges[1..]
            .partition_point(|&e| e <= x)
            .min(k.saturating_sub(1));
        if k > 0 {
            counts[i] += 1;
        }
    }
    counts
}

/// A histogram: one `<rect>` per non-empty bin, blue above zero and orange below, and a
/// dashed line at zero.
pub fn histogram(values: &[f64], x_desc: &str, y_desc: &str, fmt: Fmt, aria: &str) -> Markup {
    let edges = bin_edges(values);
    let counts = bin_counts(values, &edges);
    let (x0, x1) = (edges[0].min(0.0), edges[edges.len() - 1].max(0.0));
    let (x0, x1) = padded(x0, x1, 0.02);
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    svg((WIDTH, 360), aria, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .margin_right(24)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, 0.0..top)?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(245, 245, 245))
            .max_light_lines(1)
            .bold_line_style(RGBColor(215, 215, 215))
            .label_style(text_style(TEXT))
            .axis_desc_style(text_style(TEXT))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|v| fmt(*v))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()?;
        let bars = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &c)| {
                let mid = 0.5 * (edges[i] + edges[i + 1]);
                let col = if mid > 0.0 { GAIN } else { PAY };
                let mut r = Rectangle::new(
                    [(edges[i], 0.0), (edges[i + 1], c as f64)],
                    col.mix(0.85).filled(),
                );
                r.set_margin(0, 0, 1, 1);
                r
            });
        chart.draw_series(bars)?;
        chart.draw_series(std::iter::once(DashedPathElement::new(
            vec![(0.0, 0.0), (0.0, top)],
            6,
            4,
            INK.stroke_width(2),
        )))?;
        Ok(())
    })
}

/// One parameter of a tornado diagram: the result at its low and at its high value.
#[derive(Debug, Clone)]
pub struct TornadoBar {
    pub label: String,
    pub low: f64,
    pub high: f64,
}

/// Bars from the base value to the result at each parameter's low value and at its high
/// value, widest swing at the top, with the base value as a vertical line.
pub fn tornado(
    rows: &[TornadoBar],
    base: f64,
    legend_labels: [&str; 2],
    x_desc: &str,
    fmt: Fmt,
    aria: &str,
) -> Markup {
    let n = rows.len().max(1) as i32;
    let (lo, hi) = finite_range(rows.iter().flat_map(|r| [&r.low, &r.high]).chain([&base]));
    let (x0, x1) = padded(lo, hi, 0.05);
    let height = 110 + 30 * n as u32;
    let lw = label_width(rows.iter().map(|r| r.label.chars().count().min(56)));
    let colours = [PALETTE[1], PALETTE[0]];
    svg((WIDTH, height), aria, |root| {
        let (head, body) = root.split_vertically(36);
        legend(
            &head.margin(0, 0, lw as i32, 0),
            &[(legend_labels[0].to_string(), colours[0], Swatch::Block)],
        )?;
        legend(
            &head.margin(0, 0, lw as i32 + 260, 0),
            &[(legend_labels[1].to_string(), colours[1], Swatch::Block)],
        )?;
        let labels: Vec<String> = rows.iter().map(|r| clip(&r.label, 56)).collect();
        let mut chart = ChartBuilder::on(&body)
            .margin(12)
            .margin_right(24)
            .x_label_area_size(44)
            .y_label_area_size(lw)
            .build_cartesian_2d(x0..x1, (0..n - 1).into_segmented())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(RGBColor(245, 245, 245))
            .max_light_lines(1)
            .bold_line_style(RGBColor(215, 215, 215))
            .label_style(text_style(TEXT))
            .axis_desc_style(text_style(TEXT))
            .y_labels(1)
            .y_label_formatter(&|_| String::new())
            .set_tick_mark_size(LabelAreaPosition::Left, 0)
            .x_label_formatter(&|v| fmt(*v))
            .x_desc(x_desc)
            .draw()?;
        row_labels(root, &chart, &labels, x0)?;
        for (i, r) in rows.iter().enumerate() {
            let y = n - 1 - i as i32;
            let top = if y + 1 < n {
                SegmentValue::Exact(y + 1)
            } else {
                SegmentValue::Last
            };
            for (v, c) in [(r.low, colours[0]), (r.high, colours[1])] {
                if !v.is_finite() {
                    continue;
                }
                let mut rect = Rectangle::new(
                    [(base, SegmentValue::Exact(y)), (v, top.clone())],
                    c.mix(0.85).filled(),
                );
                rect.set_margin(6, 6, 0, 0);
                chart.draw_series(std::iter::once(rect))?;
            }
        }
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(base, SegmentValue::Exact(0)), (base, SegmentValue::Last)],
            INK.stroke_width(2),
        )))?;
        Ok(())
    })
}

/// One panel of a grouped bar chart: a bar per series in each group.
#[derive(Debug, Clone)]
pub struct Panel {
    pub title: String,
    pub groups: Vec<String>,
    /// `(label, colour, value per group)`.
    pub series: Vec<(String, RGBColor, Vec<f64>)>,
}

/// Panels side by side on a shared y axis (e.g. women | men), legend on the right.
pub fn grouped_bars(
    panels: &[Panel],
    x_desc: &str,
    y_desc: &str,
    fmt_y: Fmt,
    aria: &str,
) -> Markup {
    let (_, hi) = finite_range(
        panels
            .iter()
            .flat_map(|p| p.series.iter().flat_map(|s| s.2.iter())),
    );
    let top = if hi.is_finite() && hi > 0.0 {
        (hi * 1.12).min(1.0)
    } else {
        1.0
    };
    let legend_h = legend_height(
        panels
            .first()
            .map(|p| p.series.iter().map(|s| s.0.as_str()).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    let height = 360u32.max(50 + legend_h);
    svg((WIDTH, height), aria, |root| {
        let (plots, side) = root.split_horizontally(WIDTH - LEGEND);
        let areas = plots.split_evenly((1, panels.len().max(1)));
        for (p, area) in panels.iter().zip(&areas) {
            let k = p.groups.len().max(1) as i32;
            let mut chart = ChartBuilder::on(area)
                .margin(10)
                .caption(&p.title, text_style(TEXT + 2))
                .x_label_area_size(44)
                .y_label_area_size(56)
                .build_cartesian_2d((0..k - 1).into_segmented(), 0.0..top)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .light_line_style(RGBColor(245, 245, 245))
                .max_light_lines(1)
                .bold_line_style(RGBColor(215, 215, 215))
                .label_style(text_style(TEXT))
                .axis_desc_style(text_style(TEXT))
                .x_labels(k as usize)
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(g) | SegmentValue::Exact(g) => {
                        p.groups.get(*g as usize).cloned().unwrap_or_default()
                    }
                    SegmentValue::Last => String::new(),
                })
                .y_label_formatter(&|v| fmt_y(*v))
                .x_desc(x_desc)
                .y_desc(y_desc)
                .draw()?;
            let seg = f64::from(chart.plotting_area().dim_in_pixel().0) / f64::from(k as u32);
            let m = p.series.len().max(1) as f64;
            let bar = seg * 0.72 / m;
            for (j, (_, c, values)) in p.series.iter().enumerate() {
                for (g, &v) in values.iter().enumerate() {
                    if !v.is_finite() {
                        continue;
                    }
                    let g = g as i32;
                    let end = if g + 1 < k {
                        SegmentValue::Exact(g + 1)
                    } else {
                        SegmentValue::Last
                    };
                    let left = seg * 0.14 + j as f64 * bar;
                    let right = (seg - left - bar).max(0.0);
                    let mut rect =
                        Rectangle::new([(SegmentValue::Exact(g), 0.0), (end, v)], c.filled());
                    rect.set_margin(0, 0, left.round() as u32, right.round() as u32);
                    chart.draw_series(std::iter::once(rect))?;
                }
            }
        }
        let entries: Vec<_> = panels
            .first()
            .map(|p| {
                p.series
                    .iter()
                    .map(|(l, c, _)| (l.clone(), *c, Swatch::Block))
                    .collect()
            })
            .unwrap_or_default();
        legend(&side.margin(30, 0, 0, 0), &entries)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_a_bin_edge_and_every_value_is_counted() {
        let v = [-3.0, -1.0, -0.5, 0.0, 0.2, 0.9, 2.5, 7.0];
        let e = bin_edges(&v);
        assert!(e.contains(&0.0), "{e:?}");
        assert!(e[0] <= -3.0 && *e.last().unwrap() >= 7.0);
        let c = bin_counts(&v, &e);
        assert_eq!(c.iter().sum::<usize>(), v.len());
        // 0.0 lies on an edge and counts in the bin above it, with the gains.
        let zero_bin = e.iter().position(|&x| x == 0.0).unwrap();
        assert!(c[zero_bin] >= 2);
    }

    #[test]
    fn legend_labels_wrap_at_spaces() {
        assert_eq!(
            wrap("Business as usual (siloed agencies)", 30),
            ["Business as usual (siloed", "agencies)"]
        );
        assert_eq!(wrap("short", 30), ["short"]);
        assert_eq!(
            wrap("a b c d e f", 3),
            ["a b", "c d e f"].map(|s| clip(s, 3))
        );
    }

    #[test]
    fn degenerate_data_still_gives_a_chart() {
        let fmt: Fmt = &|v| format!("{v}");
        let nan = f64::NAN;
        let svgs = [
            fan_chart(&[], "x", "y", fmt, "a"),
            fan_chart(
                &[Band {
                    label: "s".into(),
                    colour: GREY,
                    points: vec![[0.0, nan, nan, nan]],
                }],
                "x",
                "y",
                fmt,
                "a",
            ),
            interval_bars(&[], "x", fmt, "a"),
            interval_bars(
                &[Bar {
                    label: "b".into(),
                    mean: nan,
                    lo: nan,
                    hi: nan,
                }],
                "x",
                fmt,
                "a",
            ),
            curves(&[], "x", "y", fmt, "a"),
            histogram(&[], "x", "y", fmt, "a"),
            histogram(&[nan, 3.0], "x", "y", fmt, "a"),
            tornado(&[], 0.0, ["l", "h"], "x", fmt, "a"),
            grouped_bars(&[], "x", "y", fmt, "a"),
        ];
        for s in svgs.iter().map(Markup::as_str) {
            assert!(s.starts_with("<svg class=\"chart\""), "{s}");
            assert!(!s.contains("could not be drawn"), "{s}");
        }
    }

    #[test]
    fn constant_values_make_one_bin() {
        let e = bin_edges(&[5.0, 5.0]);
        assert_eq!(bin_counts(&[5.0, 5.0], &e), vec![2]);
    }

    #[test]
    fn chart_text_is_escaped() {
        let s = interval_bars(
            &[Bar {
                label: "<script>x</script>".into(),
                mean: 1.0,
                lo: 0.0,
                hi: 2.0,
            }],
            "a & b",
            &|v| format!("{v}"),
            "\"aria\"",
        )
        .into_string();
        assert!(!s.contains("<script>"));
        assert!(s.contains("&lt;script&gt;x&lt;/script&gt;"), "{s}");
        assert!(s.contains("a &amp; b"));
        assert!(
            s.starts_with("<svg class=\"chart\" role=\"img\" aria-label=\"&quot;aria&quot;\" ")
        );
    }
}
