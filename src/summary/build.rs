//! Building a [`Summary`] from a run's replications (in replication order) and their
//! valuations: per arm, per difference against the counterfactual, the cost of a year of
//! exclusion, and the EVPI. Every statistic is over replications, in a fixed order.

use indexmap::IndexMap;

use crate::analysis::evpi::{self, EvpiAll};
use crate::balance::{self, Evaluated, NET, SheetRow, Valuation};
use crate::engine::{RepResult, outcome_months};
use crate::model::Model;
use crate::stats::{Stat, prob_positive};

use super::types::*;

/// Build the summary of a run from its replications (in replication order) and their
/// valuations (`ev.valuations[arm][k]` is arm `arm` of `reps[k]`, see `run::keep`); the
/// replications' ledgers are not read.
pub fn summarize(
    models: &[Model],
    cf: usize,
    reps: &[RepResult],
    ev: Evaluated,
    overrides: &[String],
) -> (Summary, Evaluated) {
    let run = Run {
        models,
        cf,
        reps,
        ev: &ev,
        mps: models[cf].months_per_step(),
    };
    let base = &models[cf];
    let mps = run.mps;
    let arm_ids: Vec<String> = models.iter().map(|m| m.arm.id.clone()).collect();
    let arms = (0..models.len())
        .map(|a| (models[a].arm.id.clone(), run.arm(a)))
        .collect();
    let differences = (0..models.len())
        .filter(|&a| a != cf)
        .map(|a| {
            (
                format!("{} - {}", models[a].arm.id, base.arm.id),
                run.difference(a, &arm_ids),
            )
        })
        .collect();
    let summary = Summary {
        format: FORMAT.to_string(),
        format_version: FORMAT_VERSION,
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
        exclusion_cost: run.exclusion_cost(),
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
        evpi: Some(EvpiAll {
            arms: arm_ids.clone(),
            actors: evpi::by_row(
                &ev,
                &(0..models.len()).collect::<Vec<_>>(),
                &arm_ids,
                1.0,
                mean_of(&run.persons_of(cf)),
                None,
            ),
        }),
        expected: None,
        mode: None,
    };
    (summary, ev)
}

fn mean_of(xs: &[f64]) -> f64 {
    Stat::of(xs).mean
}

/// What the parts of a summary are computed from.
struct Run<'a> {
    models: &'a [Model],
    cf: usize,
    reps: &'a [RepResult],
    ev: &'a Evaluated,
    mps: u32,
}

impl Run<'_> {
    /// Persons in the cohort at the horizon, per replication.
    fn persons_of(&self, a: usize) -> Vec<f64> {
        self.reps
            .iter()
            .map(|r| {
                let arm = &r.arms[a];
                let h = arm.points - 1;
                (0..arm.states)
                    .map(|s| arm.occ(h, s, 0) + arm.occ(h, s, 1))
                    .sum()
            })
            .collect()
    }

    /// Persons who started the programme, per replication.
    fn participants_of(&self, a: usize) -> Vec<f64> {
        self.reps
            .iter()
            .map(|r| r.arms[a].participants[0] + r.arms[a].participants[1])
            .collect()
    }

    /// What "per participant" divides by: participants, or persons without a programme.
    fn denominators(&self, a: usize) -> (Vec<f64>, &'static str) {
        if self.models[a].arm.programme.is_some() {
            (self.participants_of(a), "participants")
        } else {
            (self.persons_of(a), "persons")
        }
    }

    fn valuations(&self, a: usize) -> Vec<&Valuation> {
        self.ev.valuations[a].iter().collect()
    }

    /// The balance sheet, outcomes and measures of arm `a`.
    fn arm(&self, a: usize) -> ArmSummary {
        let m = &self.models[a];
        let vals = self.valuations(a);
        let (denom, dname) = self.denominators(a);
        let actors = self
            .ev
            .rows
            .iter()
            .enumerate()
            .map(|(ri, row)| (row.id.clone(), sheet(row, &vals, ri, None, &denom)))
            .collect();
        ArmSummary {
            label: m.arm.label.clone(),
            counterfactual: m.arm.counterfactual,
            organisation: m.arm.organisation.id.clone(),
            location: m.arm.location_id().to_string(),
            programme: m.arm.programme.as_ref().map(|p| p.id.clone()),
            participants: Stat::of(&self.participants_of(a)),
            persons: Stat::of(&self.persons_of(a)),
            per_participant_denominator: dname.to_string(),
            actors,
            outcomes: outcome_shares(m, self.reps, a, None),
            months_in_state: self.months_in_state(a),
            measures: measures(m, &vals, None),
        }
    }

    /// Mean months per person in each state over the horizon, by sex.
    fn months_in_state(&self, a: usize) -> IndexMap<String, IndexMap<String, Stat>> {
        let mps = self.mps;
        let mut months_in_state = IndexMap::new();
        for (s, st) in self.models[a].states.iter().enumerate() {
            let mut by = IndexMap::new();
            for (label, sexes) in [("all", vec![0, 1]), ("women", vec![0]), ("men", vec![1])] {
                let xs: Vec<f64> = self
                    .reps
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
        months_in_state
    }

    /// Arm `a` against the counterfactual.
    fn difference(&self, a: usize, arm_ids: &[String]) -> DiffSummary {
        let (m, cf) = (&self.models[a], self.cf);
        let base = &self.models[cf];
        let vals = self.valuations(a);
        let cf_vals = self.valuations(cf);
        let (denom, _) = self.denominators(a);
        let mut actors = IndexMap::new();
        let mut cumulative = IndexMap::new();
        let mut per_replication = IndexMap::new();
        for (ri, row) in self.ev.rows.iter().enumerate() {
            let (actor, cum, diffs) = self.actor_difference(ri, row, &vals, &cf_vals, &denom);
            cumulative.insert(row.id.clone(), cum);
            per_replication.insert(row.id.clone(), diffs);
            actors.insert(row.id.clone(), actor);
        }
        let meas = measures(m, &vals, Some(&cf_vals));
        let society = self.ev.rows.len() - 1;
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
        DiffSummary {
            arm: m.arm.id.clone(),
            counterfactual: base.arm.id.clone(),
            actors,
            outcomes: outcome_shares(m, self.reps, a, Some(cf)),
            measures: meas,
            cost_per_unit,
            cumulative,
            per_replication,
            break_even: None,
            evpi: Some(evpi::by_row(
                self.ev,
                &[cf, a],
                arm_ids,
                1.0,
                mean_of(&self.persons_of(cf)),
                Some(mean_of(&self.participants_of(a))),
            )),
        }
    }

    /// One sheet row of a difference: its sheet, chance of gain and payback; the mean
    /// cumulative difference by step; the difference in each replication.
    fn actor_difference(
        &self,
        ri: usize,
        row: &SheetRow,
        vals: &[&Valuation],
        cf_vals: &[&Valuation],
        denom: &[f64],
    ) -> (DiffActor, Vec<f64>, Vec<f64>) {
        let mps = self.mps;
        let diffs: Vec<f64> = vals
            .iter()
            .zip(cf_vals)
            .map(|(v, c)| v.total(ri, NET) - c.total(ri, NET))
            .collect();
        let mut paybacks: Vec<Option<u32>> = vals
            .iter()
            .zip(cf_vals)
            .map(|(v, c)| {
                let d: Vec<f64> = v.series[ri]
                    .iter()
                    .zip(&c.series[ri])
                    .map(|(x, y)| x - y)
                    .collect();
                balance::payback_month(&d, mps)
            })
            .collect();
        let never =
            paybacks.iter().filter(|p| p.is_none()).count() as f64 / paybacks.len().max(1) as f64;
        paybacks.sort_by_key(|p| p.unwrap_or(u32::MAX));
        let h = self.models[self.cf].horizon as usize;
        let mut cum = vec![0.0; h];
        for (v, c) in vals.iter().zip(cf_vals) {
            let mut acc = 0.0;
            for t in 0..h {
                acc += v.series[ri][t] - c.series[ri][t];
                cum[t] += acc;
            }
        }
        for x in &mut cum {
            *x /= vals.len().max(1) as f64;
        }
        let actor = DiffActor {
            sheet: sheet(row, vals, ri, Some(cf_vals), denom),
            prob_positive: prob_positive(&diffs),
            payback: Payback {
                median_month: opt_quantile(&paybacks, 0.5),
                p05_month: opt_quantile(&paybacks, 0.05),
                p95_month: opt_quantile(&paybacks, 0.95),
                never_share: never,
            },
        };
        (actor, cum, diffs)
    }

    /// The yearly cost of one person-year in each state, per actor, from the scenario's
    /// own unit costs.
    fn exclusion_cost(&self) -> ExclusionCost {
        let base = &self.models[self.cf];
        let (reference, cells) = balance::exclusion_cost(base, &self.ev.rows);
        let mut states = IndexMap::new();
        for (s, cell) in cells.iter().enumerate() {
            if let Some(v) = cell {
                let per_actor = self
                    .ev
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
                states.insert(base.states[s].id.clone(), per_actor);
            }
        }
        ExclusionCost {
            reference_state: base.states[reference].id.clone(),
            states,
        }
    }
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
