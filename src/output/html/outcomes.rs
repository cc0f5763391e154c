//! Outcomes (`outcomes.html`): the share of persons in the success states by months
//! since entry — a chart for women and men, a table of every arm and difference by sex —
//! and the outcome measures of each difference with society's cost per unit.

use askama::Template;
use indexmap::IndexMap;

use super::shared::{Ctx, Figure, StatCell};
use crate::i18n::{NBSP, Texts, fill};
use crate::output::charts;
use crate::stats::Stat;
use crate::summary::{DiffSummary, OutcomeAt};

#[derive(Template)]
#[template(path = "outcomes.html")]
pub(super) struct Section {
    t: &'static Texts,
    by_sex: Figure,
    note: String,
    /// The column headings: one per checkpoint month.
    months: Vec<String>,
    rows: Vec<Row>,
    measures: Vec<Measure>,
}

/// An arm (or a difference, `total`) for all, women or men: a share per checkpoint.
struct Row {
    total: bool,
    name: String,
    sex: &'static str,
    cells: Vec<String>,
}

/// An outcome measure of a difference, for all, women and men.
struct Measure {
    name: String,
    cells: [StatCell; 3],
    cost: String,
}

/// One of an outcome checkpoint's tables: all, women or men.
type Table = fn(&OutcomeAt) -> &IndexMap<String, Stat>;

/// Σ over the success states of the mean share.
fn success_share(oc: &IndexMap<String, Stat>, states: &[String]) -> f64 {
    states
        .iter()
        .filter_map(|s| oc.get(s))
        .map(|x| x.mean)
        .sum()
}

/// The success share at checkpoint `month` of the table chosen by `table`; NaN when the
/// checkpoint is missing.
fn share_at(
    outcomes: &IndexMap<String, OutcomeAt>,
    month: &str,
    success: &[String],
    table: impl Fn(&OutcomeAt) -> &IndexMap<String, Stat>,
) -> f64 {
    outcomes
        .get(month)
        .map_or(f64::NAN, |oc| success_share(table(oc), success))
}

pub(super) fn section(c: &Ctx) -> Section {
    let s = c.s();
    let t = c.t;
    let l = c.l;
    let success = c.success_states();
    let states_words = c.success_words();
    let months: Vec<String> = s
        .arms
        .values()
        .next()
        .map(|a| a.outcomes.keys().cloned().collect())
        .unwrap_or_default();
    let sexes: [(&str, Table); 3] = [
        (t.col_all, |oc| &oc.all),
        (t.col_women, |oc| &oc.women),
        (t.col_men, |oc| &oc.men),
    ];
    let mut rows = Vec::new();
    for arm in s.arms.values() {
        for (sex, table) in sexes {
            rows.push(Row {
                total: false,
                name: arm.label.clone(),
                sex,
                cells: months
                    .iter()
                    .map(|m| l.pct(share_at(&arm.outcomes, m, &success, table), 1))
                    .collect(),
            });
        }
    }
    for d in s.differences.values() {
        for (sex, table) in sexes {
            rows.push(Row {
                total: true,
                name: format!("{}: {}", t.difference_row, c.arm_label(&d.arm)),
                sex,
                cells: months
                    .iter()
                    .map(|m| {
                        let v = share_at(&d.outcomes, m, &success, table);
                        format!("{}{NBSP}{}", l.signed(v * 100.0, 1), t.pp)
                    })
                    .collect(),
            });
        }
    }
    Section {
        t,
        by_sex: by_sex(c, &months, &success, &states_words),
        note: fill(t.outcomes_note, &[("states", &states_words)]),
        months: months
            .iter()
            .map(|m| fill(t.col_month, &[("month", m)]))
            .collect(),
        rows,
        measures: s
            .differences
            .values()
            .flat_map(|d| measures(c, d))
            .collect(),
    }
}

/// Women | men: a bar per arm at each checkpoint.
fn by_sex(c: &Ctx, months: &[String], success: &[String], states_words: &str) -> Figure {
    let s = c.s();
    let t = c.t;
    let l = c.l;
    let panels: Vec<charts::Panel> = [(t.col_women, true), (t.col_men, false)]
        .iter()
        .map(|&(title, women)| charts::Panel {
            title: title.to_string(),
            groups: months.to_vec(),
            series: s
                .arms
                .values()
                .enumerate()
                .map(|(i, arm)| {
                    let values = months
                        .iter()
                        .map(|m| {
                            share_at(&arm.outcomes, m, success, |oc| {
                                if women { &oc.women } else { &oc.men }
                            })
                        })
                        .collect();
                    let colour = if arm.counterfactual {
                        charts::GREY
                    } else {
                        charts::colour(i.saturating_sub(1))
                    };
                    (arm.label.clone(), colour, values)
                })
                .collect(),
        })
        .collect();
    let svg = charts::grouped_bars(
        &panels,
        t.months_since_entry,
        t.share_axis,
        &|v| l.pct(v, 0),
        t.h_sex,
    );
    Figure {
        kind: "by-sex",
        key: String::new(),
        caption: t.h_sex.to_string(),
        note: fill(t.sex_note, &[("states", states_words)]),
        svg,
    }
}

/// The outcome measures of one difference.
fn measures(c: &Ctx, d: &DiffSummary) -> Vec<Measure> {
    let s = c.s();
    let l = c.l;
    let cell = |st: &Stat| StatCell {
        class: "m",
        mean: l.signed(st.mean, 1),
        lo: l.number(st.p05, 1),
        hi: l.number(st.p95, 1),
    };
    d.measures
        .iter()
        .map(|(id, m)| {
            let name = if s.differences.len() > 1 {
                format!("{} ({}), {}", m.label, m.unit, c.arm_label(&d.arm))
            } else {
                format!("{} ({})", m.label, m.unit)
            };
            let cost = d.cost_per_unit.get(id).copied().flatten();
            Measure {
                name,
                cells: [cell(&m.all), cell(&m.women), cell(&m.men)],
                cost: cost.map_or("–".into(), |x| {
                    format!("{} {}", l.number(x, 0), l.currency_unit(&s.currency))
                }),
            }
        })
        .collect()
}
