//! The socioeconomic balance sheet of one arm in one replication: discounting, the
//! per-actor split into production, transfers and resources, the public sector and
//! society totals, the cumulative series that payback reads, and the yearly cost of
//! exclusion per actor (Nilsson–Wadeskog's classic figure).
//!
//! Conventions (exact formulas in docs/model.md): point `p` of the trace is weighted by
//! the counting convention and discounted by `(1 + r)^(-max(0, p - d) / k)`; step-level
//! flows of step `t` are valued at `t` (start), `t + 1` (end) or `t + 1/2` (half step).

use crate::ledger::ArmRep;
use crate::model::*;

/// Components of an actor's net, in this order.
pub const COMPONENTS: [&str; 5] = ["net", "production", "transfers", "resources", "investment"];
pub const NET: usize = 0;
pub const PRODUCTION: usize = 1;
pub const TRANSFERS: usize = 2;
pub const RESOURCES: usize = 3;
/// Programme investment ("insatskostnad"): the part of `resources` from items marked
/// `investment = true`.
pub const INVESTMENT: usize = 4;

/// A row of the balance sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetRow {
    pub id: String,
    pub label: String,
    pub label_sv: String,
    /// Actor indices summed in this row.
    pub actors: Vec<usize>,
}

/// The rows: every actor but *outside*, then the public sector, then society.
pub fn sheet_rows(m: &Model) -> Vec<SheetRow> {
    let mut rows: Vec<SheetRow> = m
        .actors
        .iter()
        .enumerate()
        .filter(|(_, a)| !a.outside)
        .map(|(i, a)| SheetRow {
            id: a.id.clone(),
            label: a.label.clone(),
            label_sv: a.label_sv.clone(),
            actors: vec![i],
        })
        .collect();
    rows.push(SheetRow {
        id: "public_sector".into(),
        label: "Public sector total".into(),
        label_sv: "Offentlig sektor totalt".into(),
        actors: m
            .actors
            .iter()
            .enumerate()
            .filter(|(_, a)| a.public)
            .map(|(i, _)| i)
            .collect(),
    });
    rows.push(SheetRow {
        id: "society".into(),
        label: "Society as a whole".into(),
        label_sv: "Samhället totalt".into(),
        actors: m
            .actors
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.outside)
            .map(|(i, _)| i)
            .collect(),
    });
    rows
}

/// Discounted values of one arm in one replication.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Valuation {
    /// `[row][sex][component]` discounted SEK; sex 0 women, 1 men.
    pub by_sex: Vec<[[f64; 5]; 2]>,
    /// `[row][step]` discounted net SEK accruing in each step (both sexes).
    pub series: Vec<Vec<f64>>,
    /// `[measure][sex]` discounted outcome measure units.
    pub measures: Vec<[f64; 2]>,
}

impl Valuation {
    pub fn total(&self, row: usize, component: usize) -> f64 {
        self.by_sex[row][0][component] + self.by_sex[row][1][component]
    }
}

/// Signed contribution of a line's posting to actor `a`, by component.
fn contribution(m: &Model, line: &Line, a: usize) -> Option<(usize, f64)> {
    let item = &m.items[line.item];
    let sign = if line.payee == a {
        1.0
    } else if line.payer == a {
        -1.0
    } else {
        return None;
    };
    let comp = match item.class {
        Class::Production => PRODUCTION,
        Class::Transfer => TRANSFERS,
        Class::Resource => RESOURCES,
    };
    Some((comp, sign))
}

/// Weights of point `p` onto steps: `(step, weight)` pairs.
fn point_steps(acc: &Accounting, p: usize, h: usize) -> [(usize, f64); 2] {
    match acc.counting {
        Counting::Start => [
            (p.min(h.saturating_sub(1)), f64::from(u8::from(p < h))),
            (0, 0.0),
        ],
        Counting::End => [(p.saturating_sub(1), f64::from(u8::from(p > 0))), (0, 0.0)],
        Counting::HalfStep => [
            (p.saturating_sub(1), if p > 0 { 0.5 } else { 0.0 }),
            (p.min(h.saturating_sub(1)), if p < h { 0.5 } else { 0.0 }),
        ],
    }
}

pub fn value(m: &Model, rep: &ArmRep, rows: &[SheetRow]) -> Valuation {
    value_with(m, &m.accounting, rep, rows)
}

/// As [`value`], with the counting and discounting conventions `acc` (a replication's
/// own accounting when it differs from the model's central one). The rates are the
/// replication's own in any case (`ArmRep::discount_rate`). Needs the arm's ledger.
pub fn value_with(m: &Model, acc: &Accounting, rep: &ArmRep, rows: &[SheetRow]) -> Valuation {
    let h = m.horizon as usize;
    let k = m.steps_per_year;
    let r = rep.discount_rate;
    // Per line: discounted amount by sex, and per step.
    let n_lines = m.lines.len();
    let mut line_sex = vec![[0.0f64; 2]; n_lines];
    let mut line_step = vec![vec![0.0f64; h]; n_lines];
    for p in 0..=h {
        let w = acc.point_weight(p, h);
        if w == 0.0 {
            continue;
        }
        let d = acc.discount(r, p as f64, k);
        let steps = point_steps(acc, p, h);
        for li in 0..n_lines {
            let f = rep.point_flow(p, li, 0) + rep.point_flow(p, li, 1);
            for sex in 0..2 {
                line_sex[li][sex] += w * d * rep.point_flow(p, li, sex) as f64 / 100.0;
            }
            if f != 0 {
                for &(st, sw) in &steps {
                    if sw > 0.0 {
                        line_step[li][st] += sw * d * f as f64 / 100.0;
                    }
                }
            }
        }
    }
    for t in 0..h {
        let d = acc.discount(r, acc.step_time(t), k);
        for li in 0..n_lines {
            let f = rep.step_flow(t, li, 0) + rep.step_flow(t, li, 1);
            for sex in 0..2 {
                line_sex[li][sex] += d * rep.step_flow(t, li, sex) as f64 / 100.0;
            }
            line_step[li][t] += d * f as f64 / 100.0;
        }
    }
    let mut by_sex = vec![[[0.0f64; 5]; 2]; rows.len()];
    let mut series = vec![vec![0.0f64; h]; rows.len()];
    for (ri, row) in rows.iter().enumerate() {
        for &a in &row.actors {
            for (li, line) in m.lines.iter().enumerate() {
                let Some((comp, sign)) = contribution(m, line, a) else {
                    continue;
                };
                let investment = m.items[line.item].investment && comp == RESOURCES;
                for sex in 0..2 {
                    let v = sign * line_sex[li][sex];
                    by_sex[ri][sex][comp] += v;
                    by_sex[ri][sex][NET] += v;
                    if investment {
                        by_sex[ri][sex][INVESTMENT] += v;
                    }
                }
                for (t, s) in series[ri].iter_mut().enumerate() {
                    *s += sign * line_step[li][t];
                }
            }
        }
    }
    let mr = rep.measure_discount_rate;
    let mut measures = vec![[0.0f64; 2]; m.measures.len()];
    for p in 0..=h {
        let w = acc.point_weight(p, h);
        if w == 0.0 {
            continue;
        }
        let d = acc.discount(mr, p as f64, k);
        for (mi, v) in measures.iter_mut().enumerate() {
            for (sex, x) in v.iter_mut().enumerate() {
                *x += w * d * rep.measures[(p * rep.measures_n + mi) * 2 + sex];
            }
        }
    }
    Valuation {
        by_sex,
        series,
        measures,
    }
}

/// The first month after which the cumulative discounted difference stays ≥ 0, or
/// `None` if it is negative at the horizon ("never within the horizon").
pub fn payback_month(diff_series: &[f64], months_per_step: u32) -> Option<u32> {
    let mut cum = 0.0;
    let mut first_ok: Option<usize> = None;
    for (t, v) in diff_series.iter().enumerate() {
        cum += v;
        // A tolerance of half an öre keeps float noise in exact-zero differences from
        // being read as a loss.
        if cum >= -0.005 {
            first_ok.get_or_insert(t);
        } else {
            first_ok = None;
        }
    }
    first_ok.map(|t| (t as u32 + 1) * months_per_step)
}

/// Yearly flows (undiscounted SEK) per sheet row of a reference person — attributes at
/// their expected values, long-term in the state (clock at 12 months), not in a
/// programme — in each state, relative to the same person in regular work: the cost of
/// one person-year of exclusion per actor, split into real (production and resources)
/// and financial (transfers) parts. Returns `[state][row] = (real, financial)`; `None`
/// for the reference state itself and for absorbing states.
/// `(real, financial)` yearly SEK per sheet row, for each state (`None` where not defined).
pub type ExclusionTable = Vec<Option<Vec<(f64, f64)>>>;

pub fn exclusion_cost(m: &Model, rows: &[SheetRow]) -> (usize, ExclusionTable) {
    let (reference, women) = exclusion_cost_of(m, rows);
    let Some(men) = m.men.as_deref() else {
        return (reference, women);
    };
    // Values by sex: the cohort's average person-year, weighted by the women's share.
    let (_, men) = exclusion_cost_of(men, rows);
    let w = m.population.women_share;
    let mixed = women
        .into_iter()
        .zip(men)
        .map(|(a, b)| {
            a.zip(b).map(|(a, b)| {
                a.iter()
                    .zip(&b)
                    .map(|(x, y)| (w * x.0 + (1.0 - w) * y.0, w * x.1 + (1.0 - w) * y.1))
                    .collect()
            })
        })
        .collect();
    (reference, mixed)
}

/// [`exclusion_cost`] with one sex's values.
fn exclusion_cost_of(m: &Model, rows: &[SheetRow]) -> (usize, ExclusionTable) {
    let reference = m
        .state_index("work")
        .or_else(|| m.states.iter().position(|s| s.success))
        .unwrap_or(0);
    let means = attribute_means(m);
    let clock = f64::from(12 / m.months_per_step());
    let flows = |s: usize| -> Vec<(f64, f64)> {
        let mut amount = vec![0.0f64; m.items.len()];
        for (k, it) in m.items.iter().enumerate() {
            if !it.active || !it.phases[PHASE_NONE as usize] {
                continue;
            }
            amount[k] = match &it.kind {
                ItemKind::State {
                    states,
                    amount: a,
                    per,
                    by_time,
                } if states[s] => {
                    let f = by_time.as_ref().map_or(1.0, |b| b.at(clock));
                    (a + per.iter().map(|&(at, c)| c * means[at]).sum::<f64>()) * f * it.multiplier
                }
                ItemKind::Derived { of } => {
                    of.iter().map(|&(j, r)| amount[j] * r).sum::<f64>() * it.multiplier
                }
                // The average person's top-up (the income items come first).
                ItemKind::TopUp {
                    states,
                    norm,
                    income,
                    attributes,
                    ..
                } if states[s] => {
                    let inc: f64 = income.iter().map(|&(j, r)| amount[j] * r).sum::<f64>()
                        + attributes.iter().map(|&(a, r)| means[a] * r).sum::<f64>();
                    (norm - inc).max(0.0) * it.multiplier
                }
                _ => 0.0,
            };
        }
        rows.iter()
            .map(|row| {
                let (mut real, mut fin) = (0.0, 0.0);
                for &a in &row.actors {
                    for line in &m.lines {
                        if let Some((comp, sign)) = contribution(m, line, a) {
                            let v =
                                sign * amount[line.item] * line.share * f64::from(m.steps_per_year);
                            if comp == TRANSFERS {
                                fin += v
                            } else {
                                real += v
                            }
                        }
                    }
                }
                (real, fin)
            })
            .collect()
    };
    let base = flows(reference);
    let out = (0..m.states.len())
        .map(|s| {
            if s == reference || m.states[s].absorbing {
                return None;
            }
            let f = flows(s);
            Some(
                f.iter()
                    .zip(&base)
                    .map(|(a, b)| (a.0 - b.0, a.1 - b.1))
                    .collect(),
            )
        })
        .collect();
    (reference, out)
}

/// Expected value of each attribute (zero share and `from` copies included; the min/max
/// clamp is ignored, which the docs state).
pub fn attribute_means(m: &Model) -> Vec<f64> {
    let mut means: Vec<f64> = Vec::new();
    for at in &m.population.attributes {
        let raw = match &at.source {
            AttributeSource::Draw(d) => d.mean().clamp(at.min, at.max),
            AttributeSource::From(j) => means[*j],
        };
        means.push(raw * (1.0 - at.zero_share));
    }
    means
}

/// The valuations of a run: the sheet rows and every arm's valuation in every
/// replication, which the summary and later analyses (PSA, EVPI, break-even) reuse.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub rows: Vec<SheetRow>,
    /// `[arm][replication]`.
    pub valuations: Vec<Vec<Valuation>>,
}
