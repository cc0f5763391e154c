//! The sections that are charts (`chart_section.html`): the cumulative difference over
//! time, the distribution of society's difference, the tornado diagram and who is where
//! over time.

use askama::Template;

use super::input::{Tornado, TornadoRow};
use super::shared::{Ctx, Figure};
use crate::i18n::{Lang, fill};
use crate::output::charts;

/// A section of headings, charts and notes.
#[derive(Template)]
#[template(path = "chart_section.html")]
pub(super) struct ChartSection {
    id: &'static str,
    heading: &'static str,
    items: Vec<Item>,
}

enum Item {
    /// The `<h3>` of a difference, when there are several.
    Heading(String),
    Figure(Figure),
    /// Why a chart is missing.
    Note(String),
}

/// Each difference's heading (if any) followed by what `f` makes of it.
fn per_difference(c: &Ctx, mut f: impl FnMut(&crate::summary::DiffSummary) -> Item) -> Vec<Item> {
    let mut items = Vec::new();
    for d in c.s().differences.values() {
        items.extend(c.diff_heading(d).map(Item::Heading));
        items.push(f(d));
    }
    items
}

/// The mean cumulative discounted difference of each actor that it touches, month by
/// month, with a dot at the payback month.
pub(super) fn over_time(c: &Ctx) -> ChartSection {
    let s = c.s();
    let t = c.t;
    let l = c.l;
    let mps = s
        .horizon_months
        .checked_div(s.horizon_steps)
        .map_or(1.0, f64::from);
    let items = per_difference(c, |d| {
        let mut curves = Vec::new();
        for (i, (id, cum)) in d.cumulative.iter().enumerate() {
            let Some(da) = d.actors.get(id) else { continue };
            if cum.iter().all(|x| x.abs() < 500.0) {
                continue;
            }
            let points: Vec<(f64, f64)> = std::iter::once((0.0, 0.0))
                .chain(
                    cum.iter()
                        .enumerate()
                        .map(|(k, &y)| ((k + 1) as f64 * mps, y)),
                )
                .collect();
            let mut label = c.pick(&da.sheet.label, &da.sheet.label_sv).to_string();
            let mark = da.payback.median_month.and_then(|m| {
                let k = (m / mps).round() as usize;
                points.get(k).copied()
            });
            if let Some(m) = da.payback.median_month.filter(|_| mark.is_some()) {
                label = format!(
                    "{label}, {}",
                    fill(t.payback_legend, &[("month", &l.number(m, 0))])
                );
            }
            curves.push(charts::Curve {
                label,
                colour: if id == "society" {
                    charts::PALETTE[11]
                } else {
                    charts::colour(i)
                },
                points,
                mark,
                width: if id == "society" || id == "public_sector" {
                    3
                } else {
                    2
                },
            });
        }
        let svg = charts::curves(
            &curves,
            t.month_axis,
            &c.unit,
            &|v| l.thousands(v),
            t.h_cumulative,
        );
        Item::Figure(Figure {
            kind: "cumulative",
            key: Ctx::diff_key(d),
            caption: t.h_cumulative.to_string(),
            note: t.cumulative_note.to_string(),
            svg,
        })
    });
    ChartSection {
        id: "over-time",
        heading: t.h_cumulative,
        items,
    }
}

/// A histogram of society's difference over the replications.
pub(super) fn uncertainty(c: &Ctx) -> ChartSection {
    let t = c.t;
    let l = c.l;
    let items = per_difference(c, |d| {
        match (d.per_replication.get("society"), d.actors.get("society")) {
            (Some(values), Some(soc)) if !values.is_empty() => {
                let note = fill(
                    t.histogram_note,
                    &[
                        ("reps", &l.number(values.len() as f64, 0)),
                        ("p", &l.pct(soc.prob_positive, 0)),
                    ],
                );
                let svg = charts::histogram(
                    values,
                    &format!(
                        "{} ({})",
                        c.pick(&soc.sheet.label, &soc.sheet.label_sv),
                        c.unit
                    ),
                    t.replications_axis,
                    &|v| l.thousands(v),
                    t.h_histogram,
                );
                Item::Figure(Figure {
                    kind: "histogram",
                    key: Ctx::diff_key(d),
                    caption: t.h_histogram.to_string(),
                    note,
                    svg,
                })
            }
            _ => Item::Note(t.histogram_missing.to_string()),
        }
    });
    ChartSection {
        id: "uncertainty",
        heading: t.h_histogram,
        items,
    }
}

/// A parameter value of `tornado.json` (a number or a text) for display.
fn param_value(l: Lang, v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => l.number(x, 0),
            Some(x) => {
                // Shortest round-trip digits, in the language's notation.
                let s = format!("{x}");
                match l {
                    Lang::Sv => s.replace('.', ",").replace('-', "\u{2212}"),
                    Lang::En => s.replace('-', "\u{2212}"),
                }
            }
            None => n.to_string(),
        },
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The one-way sensitivity run's bars, widest swing first.
pub(super) fn tornado(c: &Ctx, tor: &Tornado) -> ChartSection {
    let t = c.t;
    let l = c.l;
    let mut rows: Vec<&TornadoRow> = tor.rows.iter().collect();
    rows.sort_by(|a, b| {
        let sw = |r: &TornadoRow| (r.net_high - r.net_low).abs();
        sw(b).total_cmp(&sw(a))
    });
    let bars: Vec<charts::TornadoBar> = rows
        .iter()
        .map(|r| charts::TornadoBar {
            label: format!(
                "{} ({} / {})",
                r.parameter,
                param_value(l, &r.low_value),
                param_value(l, &r.high_value)
            ),
            low: r.net_low,
            high: r.net_high,
        })
        .collect();
    let actor = c
        .s()
        .differences
        .get(&tor.difference)
        .and_then(|d| d.actors.get(&tor.actor))
        .map_or_else(
            || tor.actor.clone(),
            |a| c.pick(&a.sheet.label, &a.sheet.label_sv).to_string(),
        );
    let svg = charts::tornado(
        &bars,
        tor.base,
        [t.tornado_low, t.tornado_high],
        &format!("{actor} ({})", c.unit),
        &|v| l.thousands(v),
        t.h_tornado,
    );
    let note = fill(
        t.tornado_note,
        &[
            ("actor", &actor),
            ("base", &l.thousands(tor.base)),
            ("unit", &c.unit),
        ],
    );
    ChartSection {
        id: "tornado",
        heading: t.h_tornado,
        items: vec![Item::Figure(Figure {
            kind: "tornado",
            key: tor.difference.clone(),
            caption: t.h_tornado.to_string(),
            note,
            svg,
        })],
    }
}

/// Each arm's share of persons per state over time, with 90 % bands.
pub(super) fn occupancy(c: &Ctx) -> ChartSection {
    let t = c.t;
    let l = c.l;
    let states: Vec<(String, String)> = c
        .base()
        .map(|m| {
            m.states
                .iter()
                .map(|st| (st.id.clone(), c.state_label(&st.id)))
                .collect()
        })
        .unwrap_or_default();
    let mut items = Vec::new();
    for (arm_id, arm) in &c.s().arms {
        let Some(occ) = c.r.occupancy.arms.get(arm_id) else {
            items.push(Item::Note(format!(
                "{}: {}",
                arm.label, t.occupancy_missing
            )));
            continue;
        };
        let bands: Vec<charts::Band> = states
            .iter()
            .enumerate()
            .filter_map(|(i, (id, label))| {
                occ.get(id).map(|pts| charts::Band {
                    label: label.clone(),
                    colour: charts::colour(i),
                    points: pts.clone(),
                })
            })
            .collect();
        let svg = charts::fan_chart(
            &bands,
            t.month_axis,
            t.share_axis,
            &|v| l.pct(v, 0),
            &format!("{} — {}", t.h_occupancy, arm.label),
        );
        items.push(Item::Figure(Figure {
            kind: "occupancy",
            key: arm_id.clone(),
            caption: arm.label.clone(),
            note: t.occupancy_note.to_string(),
            svg,
        }));
    }
    ChartSection {
        id: "occupancy",
        heading: t.h_occupancy,
        items,
    }
}
