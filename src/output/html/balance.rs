//! The balance sheet per actor (`balance.html`): for each difference, the table of
//! counterfactual, scenario and difference with their 90 % intervals, the split of the
//! difference into production, transfers and resources, and the "who pays" chart.

use askama::Template;

use super::shared::{Ctx, Figure, StatCell, zero_difference};
use crate::i18n::{Texts, fill};
use crate::output::charts;
use crate::summary::{DiffActor, DiffSummary};

#[derive(Template)]
#[template(path = "balance.html")]
pub(super) struct Section {
    t: &'static Texts,
    note: String,
    blocks: Vec<Block>,
}

/// One difference: its heading (when there are several) and, when both of its arms are
/// in the summary, its tables.
struct Block {
    heading: Option<String>,
    tables: Option<Tables>,
}

struct Tables {
    /// "Participants: …", when the programme arm has any.
    participants: Option<String>,
    /// `data-difference`: `"<arm> - <counterfactual>"`.
    key: String,
    cf_label: String,
    arm_label: String,
    /// The heading of the per-participant (or per-person) column.
    per_head: String,
    rows: Vec<Row>,
    split: Vec<SplitRow>,
    who_pays: Figure,
}

/// An actor's line of the balance table.
struct Row {
    /// The two totals (public sector, society) are set off.
    total: bool,
    id: String,
    label: String,
    cf: StatCell,
    arm: StatCell,
    difference: StatCell,
    per_head: StatCell,
    prob: String,
    payback: String,
}

/// An actor's line of the split table: the mean difference of production, transfers,
/// resources, investment, women and men, in thousands.
struct SplitRow {
    total: bool,
    id: String,
    label: String,
    values: Vec<String>,
}

pub(super) fn section(c: &Ctx) -> Section {
    let blocks = c
        .s()
        .differences
        .values()
        .map(|d| Block {
            heading: c.diff_heading(d),
            tables: tables(c, d),
        })
        .collect();
    Section {
        t: c.t,
        note: fill(c.t.balance_note, &[("unit", &c.unit)]),
        blocks,
    }
}

fn is_total(id: &str) -> bool {
    id == "public_sector" || id == "society"
}

fn tables(c: &Ctx, d: &DiffSummary) -> Option<Tables> {
    let s = c.s();
    let t = c.t;
    let l = c.l;
    let (arm, cf) = (s.arms.get(&d.arm)?, s.arms.get(&d.counterfactual)?);
    let participants = (arm.participants.mean > 0.0).then(|| {
        fill(
            t.participants_line,
            &[
                ("mean", &l.number(arm.participants.mean, 0)),
                ("lo", &l.number(arm.participants.p05, 0)),
                ("hi", &l.number(arm.participants.p95, 0)),
                ("persons", &l.number(arm.persons.mean, 0)),
            ],
        )
    });
    let denominator = if arm.per_participant_denominator == "participants" {
        t.per_participants
    } else {
        t.per_persons
    };
    let per_head = fill(
        t.col_per_participant,
        &[
            ("denominator", denominator),
            ("unit", &l.currency_unit(&s.currency)),
        ],
    );
    let rows = d
        .actors
        .iter()
        .filter_map(|(id, da)| {
            let (cf_actor, arm_actor) = (cf.actors.get(id)?, arm.actors.get(id)?);
            let pp = &da.sheet.net_per_participant;
            Some(Row {
                total: is_total(id),
                id: id.clone(),
                label: c.pick(&da.sheet.label, &da.sheet.label_sv).to_string(),
                cf: c.stat_cell(&cf_actor.net, false),
                arm: c.stat_cell(&arm_actor.net, false),
                difference: c.stat_cell(&da.sheet.net, true),
                per_head: StatCell {
                    class: "m",
                    mean: l.signed(pp.mean, 0),
                    lo: l.number(pp.p05, 0),
                    hi: l.number(pp.p95, 0),
                },
                prob: if zero_difference(&da.sheet.net) {
                    "–".to_string()
                } else {
                    l.pct(da.prob_positive, 0)
                },
                payback: payback_text(c, da),
            })
        })
        .collect();
    let split = d
        .actors
        .iter()
        .map(|(id, da)| {
            let a = &da.sheet;
            SplitRow {
                total: is_total(id),
                id: id.clone(),
                label: c.pick(&a.label, &a.label_sv).to_string(),
                values: [
                    a.production.mean,
                    a.transfers.mean,
                    a.resources.mean,
                    a.investment.mean,
                    a.women.net.mean,
                    a.men.net.mean,
                ]
                .iter()
                .map(|x| l.signed(x / 1000.0, 0))
                .collect(),
            }
        })
        .collect();
    Some(Tables {
        participants,
        key: Ctx::diff_key(d),
        cf_label: cf.label.clone(),
        arm_label: arm.label.clone(),
        per_head,
        rows,
        split,
        who_pays: who_pays(c, d),
    })
}

fn payback_text(c: &Ctx, d: &DiffActor) -> String {
    if zero_difference(&d.sheet.net) {
        return "–".into();
    }
    match d.payback.median_month {
        Some(m) => fill(c.t.payback_month, &[("month", &c.l.number(m, 0))]),
        None => c.t.payback_never.to_string(),
    }
}

/// Each actor's difference as a bar with its interval (actors the programme does not
/// touch at all are left out).
fn who_pays(c: &Ctx, d: &DiffSummary) -> Figure {
    let bars: Vec<charts::Bar> = d
        .actors
        .values()
        .filter(|a| {
            let n = &a.sheet.net;
            !(n.mean == 0.0 && n.p05 == 0.0 && n.p95 == 0.0)
        })
        .map(|a| charts::Bar {
            label: c.pick(&a.sheet.label, &a.sheet.label_sv).to_string(),
            mean: a.sheet.net.mean,
            lo: a.sheet.net.p05,
            hi: a.sheet.net.p95,
        })
        .collect();
    let l = c.l;
    let svg = charts::interval_bars(
        &bars,
        &format!("{} ({})", c.t.col_difference, c.unit),
        &|v| l.thousands(v),
        c.t.h_who_pays,
    );
    Figure {
        kind: "who-pays",
        key: Ctx::diff_key(d),
        caption: c.t.h_who_pays.to_string(),
        note: c.t.who_pays_note.to_string(),
        svg,
    }
}
