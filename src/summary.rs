//! The result of a run: the socioeconomic balance sheet per arm and per difference
//! against the counterfactual, with uncertainty over replications. This is the public
//! result type that every exporter (JSON, CSV, terminal, HTML) reads; its JSON form is
//! `summary.json`, whose schema the README documents.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::balance::{self, COMPONENTS, NET, SheetRow, Valuation};
use crate::engine::{RepResult, outcome_months};
use crate::model::Model;
use crate::stats::{Stat, prob_positive};

pub const SEXES: [&str; 3] = ["all", "women", "men"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub rehabsim_version: String,
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    pub replications: u32,
    pub persons: u64,
    pub horizon_months: u32,
    pub horizon_steps: u32,
    pub step: String,
    pub price_year: Option<i64>,
    pub currency: String,
    pub discount_rate: f64,
    pub measure_discount_rate: f64,
    pub counting: String,
    pub overrides: Vec<String>,
    pub counterfactual: String,
    pub arms: IndexMap<String, ArmSummary>,
    pub differences: IndexMap<String, DiffSummary>,
    /// Yearly cost of one person-year in each state relative to regular work, per actor.
    pub exclusion_cost: ExclusionCost,
    pub diagnostics: Diagnostics,
    /// EVPI of the choice between all arms, per actor (see `analysis::evpi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evpi: Option<crate::analysis::evpi::EvpiAll>,
    /// The same balance sheet with the cohort noise averaged out (`run --expected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<crate::analysis::expected::Expected>,
    /// `"cohort"` for exact expected values (`run --cohort`, see docs/general-models.md);
    /// absent for the microsimulation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    pub person_steps: u64,
    /// Probability rows pushed above 1 by multipliers and rescaled (documented clamp).
    pub clamped_rows: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorSummary {
    pub label: String,
    pub label_sv: String,
    pub net: Stat,
    pub production: Stat,
    pub transfers: Stat,
    pub resources: Stat,
    pub investment: Stat,
    /// Net per participant (or per person for an arm without a programme).
    pub net_per_participant: Stat,
    pub women: SexSplit,
    pub men: SexSplit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SexSplit {
    pub net: Stat,
    pub production: Stat,
    pub transfers: Stat,
    pub resources: Stat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffActor {
    #[serde(flatten)]
    pub sheet: ActorSummary,
    /// Probability that the actor comes out ahead (difference > 0).
    #[serde(deserialize_with = "crate::stats::f64_or_nan")]
    pub prob_positive: f64,
    pub payback: Payback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payback {
    /// Months; `null` means "never within the horizon" at that quantile.
    pub median_month: Option<f64>,
    pub p05_month: Option<f64>,
    pub p95_month: Option<f64>,
    /// Share of replications in which the actor never pays back within the horizon.
    pub never_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    pub label: String,
    pub counterfactual: bool,
    pub organisation: String,
    pub location: String,
    pub programme: Option<String>,
    /// Persons who started the programme.
    pub participants: Stat,
    /// Persons who entered the cohort within the horizon.
    pub persons: Stat,
    pub per_participant_denominator: String,
    pub actors: IndexMap<String, ActorSummary>,
    pub outcomes: IndexMap<String, OutcomeAt>,
    /// Mean months per person in each state over the horizon, by sex.
    pub months_in_state: IndexMap<String, IndexMap<String, Stat>>,
    pub measures: IndexMap<String, MeasureSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffSummary {
    pub arm: String,
    pub counterfactual: String,
    pub actors: IndexMap<String, DiffActor>,
    /// Differences in outcome shares (percentage points as fractions).
    pub outcomes: IndexMap<String, OutcomeAt>,
    pub measures: IndexMap<String, MeasureSummary>,
    /// Incremental cost (society's negative net) per unit of each measure.
    pub cost_per_unit: IndexMap<String, Option<f64>>,
    /// Mean cumulative discounted difference per actor by month (for payback charts).
    pub cumulative: IndexMap<String, Vec<f64>>,
    /// The net difference per actor in each replication, in replication order (the
    /// report's histogram of society's difference).
    #[serde(default)]
    pub per_replication: IndexMap<String, Vec<f64>>,
    /// Switching values per actor: the share of the programme's effect, and the extra
    /// person-years in success states, at which it pays for itself (`analysis::break_even`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_even: Option<IndexMap<String, crate::analysis::break_even::BreakEven>>,
    /// EVPI of the choice between the counterfactual and this arm, per actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evpi: Option<IndexMap<String, crate::analysis::evpi::Evpi>>,
}

/// Shares of persons in each state at a number of months since entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeAt {
    /// Mean number of persons observed at this checkpoint.
    pub persons: f64,
    pub all: IndexMap<String, Stat>,
    pub women: IndexMap<String, Stat>,
    pub men: IndexMap<String, Stat>,
    /// Among those who started the programme.
    pub participants: IndexMap<String, Stat>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureSummary {
    pub label: String,
    pub unit: String,
    pub all: Stat,
    pub women: Stat,
    pub men: Stat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExclusionCost {
    pub reference_state: String,
    /// `state → actor → {real, financial, total}` SEK per year.
    pub states: IndexMap<String, IndexMap<String, ExclusionCell>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExclusionCell {
    pub real: f64,
    pub financial: f64,
    pub total: f64,
}

/// Per-replication values that later analyses (PSA, EVPI, break-even) reuse.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub rows: Vec<SheetRow>,
    /// `[arm][replication]`.
    pub valuations: Vec<Vec<Valuation>>,
}

fn sheet(
    row: &SheetRow,
    vals: &[&Valuation],
    ri: usize,
    sub: Option<&[&Valuation]>,
    denom: &[f64],
) -> ActorSummary {
    let comp = |c: usize, sex: Option<usize>| -> Stat {
        let xs: Vec<f64> = vals
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let x = match sex {
                    None => v.total(ri, c),
                    Some(s) => v.by_sex[ri][s][c],
                };
                x - sub.map_or(0.0, |s| match sex {
                    None => s[k].total(ri, c),
                    Some(sx) => s[k].by_sex[ri][sx][c],
                })
            })
            .collect();
        Stat::of(&xs)
    };
    let per: Vec<f64> = vals
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let x = v.total(ri, NET) - sub.map_or(0.0, |s| s[k].total(ri, NET));
            if denom[k] > 0.0 {
                x / denom[k]
            } else {
                f64::NAN
            }
        })
        .collect();
    let split = |s: usize| SexSplit {
        net: comp(0, Some(s)),
        production: comp(1, Some(s)),
        transfers: comp(2, Some(s)),
        resources: comp(3, Some(s)),
    };
    ActorSummary {
        label: row.label.clone(),
        label_sv: row.label_sv.clone(),
        net: comp(0, None),
        production: comp(1, None),
        transfers: comp(2, None),
        resources: comp(3, None),
        investment: comp(4, None),
        net_per_participant: Stat::of(&per),
        women: split(0),
        men: split(1),
    }
}

fn outcome_shares(
    m: &Model,
    reps: &[RepResult],
    arm: usize,
    sub: Option<usize>,
) -> IndexMap<String, OutcomeAt> {
    let months = outcome_months(m);
    let s_n = m.states.len();
    let mut out = IndexMap::new();
    for (k, mo) in months.iter().enumerate() {
        let share = |r: &RepResult, a: usize, s: usize, sexes: &[usize], part: bool| -> f64 {
            let o = if part {
                &r.arms[a].outcomes_participants
            } else {
                &r.arms[a].outcomes
            };
            let n: f64 = (0..s_n)
                .flat_map(|x| sexes.iter().map(move |&sx| (x, sx)))
                .map(|(x, sx)| o[(k * s_n + x) * 2 + sx])
                .sum();
            if n <= 0.0 {
                return f64::NAN;
            }
            let c: f64 = sexes.iter().map(|&sx| o[(k * s_n + s) * 2 + sx]).sum();
            c / n
        };
        let table = |sexes: &[usize], part: bool| -> IndexMap<String, Stat> {
            m.states
                .iter()
                .enumerate()
                .map(|(s, st)| {
                    let xs: Vec<f64> = reps
                        .iter()
                        .map(|r| {
                            share(r, arm, s, sexes, part)
                                - sub.map_or(0.0, |b| share(r, b, s, sexes, part))
                        })
                        .collect();
                    (st.id.clone(), Stat::of(&xs))
                })
                .collect()
        };
        let persons = reps
            .iter()
            .map(|r| {
                (0..s_n * 2)
                    .map(|x| r.arms[arm].outcomes[k * s_n * 2 + x])
                    .sum::<f64>()
            })
            .sum::<f64>()
            / reps.len().max(1) as f64;
        out.insert(
            mo.to_string(),
            OutcomeAt {
                persons,
                all: table(&[0, 1], false),
                women: table(&[0], false),
                men: table(&[1], false),
                participants: table(&[0, 1], true),
            },
        );
    }
    out
}

fn measures(
    m: &Model,
    vals: &[&Valuation],
    sub: Option<&[&Valuation]>,
) -> IndexMap<String, MeasureSummary> {
    m.measures
        .iter()
        .enumerate()
        .map(|(i, me)| {
            let get = |sexes: &[usize]| -> Stat {
                let xs: Vec<f64> = vals
                    .iter()
                    .enumerate()
                    .map(|(k, v)| {
                        sexes.iter().map(|&s| v.measures[i][s]).sum::<f64>()
                            - sub.map_or(0.0, |b| {
                                sexes.iter().map(|&s| b[k].measures[i][s]).sum::<f64>()
                            })
                    })
                    .collect();
                Stat::of(&xs)
            };
            (
                me.id.clone(),
                MeasureSummary {
                    label: me.label.clone(),
                    unit: me.unit.clone(),
                    all: get(&[0, 1]),
                    women: get(&[0]),
                    men: get(&[1]),
                },
            )
        })
        .collect()
}

fn opt_quantile(sorted: &[Option<u32>], p: f64) -> Option<f64> {
    // "Never" sorts after every month; a quantile that lands on it is `None`.
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let idx = ((n - 1) as f64 * p).round() as usize;
    sorted[idx].map(f64::from)
}

/// Build the summary of a run from its replications (in replication order) and their
/// valuations (`ev.valuations[arm][k]` is arm `arm` of `reps[k]`, see `crate::keep`); the
/// replications' ledgers are not read.
pub fn summarize(
    models: &[Model],
    cf: usize,
    reps: &[RepResult],
    ev: Evaluated,
    overrides: &[String],
) -> (Summary, Evaluated) {
    let base = &models[cf];
    let mps = base.months_per_step();
    let persons_of = |a: usize| -> Vec<f64> {
        reps.iter()
            .map(|r| {
                let arm = &r.arms[a];
                let h = arm.points - 1;
                (0..arm.states)
                    .map(|s| arm.occ(h, s, 0) + arm.occ(h, s, 1))
                    .sum()
            })
            .collect()
    };
    let participants_of = |a: usize| -> Vec<f64> {
        reps.iter()
            .map(|r| r.arms[a].participants[0] + r.arms[a].participants[1])
            .collect()
    };
    let denominators = |a: usize| -> (Vec<f64>, &'static str) {
        if models[a].arm.programme.is_some() {
            (participants_of(a), "participants")
        } else {
            (persons_of(a), "persons")
        }
    };
    let mut arms = IndexMap::new();
    for (a, m) in models.iter().enumerate() {
        let vals: Vec<&Valuation> = ev.valuations[a].iter().collect();
        let (denom, dname) = denominators(a);
        let actors = ev
            .rows
            .iter()
            .enumerate()
            .map(|(ri, row)| (row.id.clone(), sheet(row, &vals, ri, None, &denom)))
            .collect();
        let mut months_in_state = IndexMap::new();
        for (s, st) in m.states.iter().enumerate() {
            let mut by = IndexMap::new();
            for (label, sexes) in [("all", vec![0, 1]), ("women", vec![0]), ("men", vec![1])] {
                let xs: Vec<f64> = reps
                    .iter()
                    .map(|r| {
                        let arm = &r.arms[a];
                        let h = arm.points - 1;
                        let n: f64 = (0..arm.states)
                            .flat_map(|x| sexes.iter().map(move |&sx| (x, sx)))
                            .map(|(x, sx)| arm.occ(h, x, sx))
                            .sum();
                        let months: f64 = (0..h)
                            .flat_map(|p| sexes.iter().map(move |&sx| (p, sx)))
                            .map(|(p, sx)| arm.occ(p, s, sx))
                            .sum::<f64>()
                            * f64::from(mps);
                        if n > 0.0 { months / n } else { f64::NAN }
                    })
                    .collect();
                by.insert(label.to_string(), Stat::of(&xs));
            }
            months_in_state.insert(st.id.clone(), by);
        }
        arms.insert(
            m.arm.id.clone(),
            ArmSummary {
                label: m.arm.label.clone(),
                counterfactual: m.arm.counterfactual,
                organisation: m.arm.organisation.id.clone(),
                location: m.arm.location_id().to_string(),
                programme: m.arm.programme.as_ref().map(|p| p.id.clone()),
                participants: Stat::of(&participants_of(a)),
                persons: Stat::of(&persons_of(a)),
                per_participant_denominator: dname.to_string(),
                actors,
                outcomes: outcome_shares(m, reps, a, None),
                months_in_state,
                measures: measures(m, &vals, None),
            },
        );
    }
    let mut differences = IndexMap::new();
    let arm_ids: Vec<String> = models.iter().map(|m| m.arm.id.clone()).collect();
    let mean_of = |xs: &[f64]| Stat::of(xs).mean;
    let cf_vals: Vec<&Valuation> = ev.valuations[cf].iter().collect();
    for (a, m) in models.iter().enumerate() {
        if a == cf {
            continue;
        }
        let vals: Vec<&Valuation> = ev.valuations[a].iter().collect();
        let (denom, _) = denominators(a);
        let mut actors = IndexMap::new();
        let mut cumulative = IndexMap::new();
        let mut per_replication = IndexMap::new();
        for (ri, row) in ev.rows.iter().enumerate() {
            let diffs: Vec<f64> = vals
                .iter()
                .zip(&cf_vals)
                .map(|(v, c)| v.total(ri, NET) - c.total(ri, NET))
                .collect();
            let mut paybacks: Vec<Option<u32>> = vals
                .iter()
                .zip(&cf_vals)
                .map(|(v, c)| {
                    let d: Vec<f64> = v.series[ri]
                        .iter()
                        .zip(&c.series[ri])
                        .map(|(x, y)| x - y)
                        .collect();
                    balance::payback_month(&d, mps)
                })
                .collect();
            let never = paybacks.iter().filter(|p| p.is_none()).count() as f64
                / paybacks.len().max(1) as f64;
            paybacks.sort_by_key(|p| p.unwrap_or(u32::MAX));
            let h = base.horizon as usize;
            let mut cum = vec![0.0; h];
            for (v, c) in vals.iter().zip(&cf_vals) {
                let mut acc = 0.0;
                for t in 0..h {
                    acc += v.series[ri][t] - c.series[ri][t];
                    cum[t] += acc;
                }
            }
            for x in &mut cum {
                *x /= vals.len().max(1) as f64;
            }
            cumulative.insert(row.id.clone(), cum);
            per_replication.insert(row.id.clone(), diffs.clone());
            actors.insert(
                row.id.clone(),
                DiffActor {
                    sheet: sheet(row, &vals, ri, Some(&cf_vals), &denom),
                    prob_positive: prob_positive(&diffs),
                    payback: Payback {
                        median_month: opt_quantile(&paybacks, 0.5),
                        p05_month: opt_quantile(&paybacks, 0.05),
                        p95_month: opt_quantile(&paybacks, 0.95),
                        never_share: never,
                    },
                },
            );
        }
        let meas = measures(m, &vals, Some(&cf_vals));
        let society = ev.rows.len() - 1;
        let cost_per_unit = meas
            .iter()
            .map(|(id, ms)| {
                let cost = -vals
                    .iter()
                    .zip(&cf_vals)
                    .map(|(v, c)| v.total(society, NET) - c.total(society, NET))
                    .sum::<f64>()
                    / vals.len().max(1) as f64;
                let units = ms.all.mean;
                (
                    id.clone(),
                    if units.abs() > 1e-12 {
                        Some(cost / units)
                    } else {
                        None
                    },
                )
            })
            .collect();
        differences.insert(
            format!("{} - {}", m.arm.id, base.arm.id),
            DiffSummary {
                arm: m.arm.id.clone(),
                counterfactual: base.arm.id.clone(),
                actors,
                outcomes: outcome_shares(m, reps, a, Some(cf)),
                measures: meas,
                cost_per_unit,
                cumulative,
                per_replication,
                break_even: None,
                evpi: Some(crate::analysis::evpi::by_row(
                    &ev,
                    &[cf, a],
                    &arm_ids,
                    1.0,
                    mean_of(&persons_of(cf)),
                    Some(mean_of(&participants_of(a))),
                )),
            },
        );
    }
    let (reference, cells) = balance::exclusion_cost(base, &ev.rows);
    let mut ex_states = IndexMap::new();
    for (s, cell) in cells.iter().enumerate() {
        if let Some(v) = cell {
            let per_actor = ev
                .rows
                .iter()
                .zip(v)
                .map(|(row, &(real, fin))| {
                    (
                        row.id.clone(),
                        ExclusionCell {
                            real,
                            financial: fin,
                            total: real + fin,
                        },
                    )
                })
                .collect();
            ex_states.insert(base.states[s].id.clone(), per_actor);
        }
    }
    let _ = COMPONENTS;
    let summary = Summary {
        rehabsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: base.name.clone(),
        description: base.description.clone(),
        seed: base.seed,
        replications: reps.len() as u32,
        persons: base.population.persons,
        horizon_months: base.horizon * mps,
        horizon_steps: base.horizon,
        step: if base.steps_per_year == 1 {
            "year".into()
        } else {
            "month".into()
        },
        price_year: base.price_year,
        currency: base.currency.clone(),
        discount_rate: base.accounting.discount_rate,
        measure_discount_rate: base.accounting.measure_discount_rate,
        counting: base.accounting.counting.name().to_string(),
        overrides: overrides.to_vec(),
        counterfactual: base.arm.id.clone(),
        arms,
        differences,
        exclusion_cost: ExclusionCost {
            reference_state: base.states[reference].id.clone(),
            states: ex_states,
        },
        diagnostics: Diagnostics {
            person_steps: reps
                .iter()
                .flat_map(|r| r.arms.iter())
                .map(|a| a.person_steps)
                .sum(),
            clamped_rows: reps
                .iter()
                .flat_map(|r| r.arms.iter())
                .map(|a| a.clamped)
                .sum(),
        },
        evpi: Some(crate::analysis::evpi::EvpiAll {
            arms: arm_ids.clone(),
            actors: crate::analysis::evpi::by_row(
                &ev,
                &(0..models.len()).collect::<Vec<_>>(),
                &arm_ids,
                1.0,
                mean_of(&persons_of(cf)),
                None,
            ),
        }),
        expected: None,
        mode: None,
    };
    (summary, ev)
}
