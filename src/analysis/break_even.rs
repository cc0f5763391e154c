//! Break-even (a switching value, HM Treasury Green Book): how much of the programme's
//! effect, and how many extra person-years in work, each actor needs for the programme to
//! pay for itself over the horizon.
//!
//! **The effect scale `s`.** The programme acts on moves into success states through one
//! multiplier while a person takes part, `M = effect × organisation.success_multiplier ×
//! location.success_multiplier`, and through an after-effect that starts as a share of
//! `M − 1` and decays. Scaling the effect by `s` replaces `M` by `max(0, 1 + s·(M − 1))`
//! (by adjusting `effect`), so the after-effect scales with it: `s = 1` is the modelled
//! programme, `s = 0` a programme that costs what it costs and keeps its other features
//! (its organisation's hand-over rules, dropout, places) but does not change anyone's
//! chance of moving into work. The switching value of a balance-sheet row is the smallest
//! `s ≥ 0` at which the row's mean discounted difference (arm − counterfactual) is ≥ 0:
//! 0 when the row gains even without the effect, "not reached" above [`MAX_SCALE`].
//!
//! **Root finding, with common random numbers.** The difference is evaluated on the grid
//! [`GRID`] by re-running the programme arm with the effect scaled, in the same
//! replications with the same seed (every person meets the same random numbers, so the
//! curve in `s` is smooth up to the graininess of a finite cohort; `s = 1` is the run
//! itself). Each row's root is read by linear interpolation in the first bracket where its
//! mean difference reaches zero. The bracket is narrowed by regula falsi — one more run of
//! the programme arm at the interpolated root, at most [`MAX_STEPS`] times per row — only
//! while the interpolation error, estimated from the curvature of the three nearest
//! evaluations, exceeds a quarter of the Monte Carlo standard error of the mean difference
//! there (or 0.1 % of the bracket's span with one replication): a precision beyond the
//! estimate's own noise would be paid for in run time and mean nothing. Every evaluation
//! serves every row. On the default scenario this is three to five runs of one arm.
//!
//! **Uncertainty, per replication.** Each replication (one parameter draw and one cohort)
//! gets its own switching value, read from the same curve of evaluations; the 90 %
//! interval and the share of replications that do not break even by [`MAX_SCALE`] are
//! reported. That is the spread a project of this size faces, consistent with every other
//! interval in the summary; a bootstrap of the mean's root would only measure the Monte
//! Carlo error of the estimate, which shrinks with more replications and is not what a
//! decision-maker is uncertain about.
//!
//! **Extra person-years.** The same evaluations give the extra person-years in success
//! states (undiscounted, arm − counterfactual, the cohort) at the switching value: the
//! simulated counterpart of `PARAMETERS.md` T4 (investment ÷ the PV gain per additional
//! person-year), which it equals when the gain per person-year is constant.

use indexmap::IndexMap;
use rayon::prelude::*;

use crate::balance::{self, NET};
use crate::ledger::{self, ArmRep};
use crate::model::Model;
use crate::scenario::Scenario;
use crate::stats::Stat;
use crate::summary::{BreakEven, Switching};
use crate::{Error, RunOutput, engine};

/// The largest effect scale searched.
pub const MAX_SCALE: f64 = 4.0;
/// Effect scales always evaluated (so per-replication values share one grid).
pub const GRID: [f64; 4] = [0.0, 1.0, 2.0, MAX_SCALE];
/// Brackets narrower than this are not narrowed further.
pub const TOL_SCALE: f64 = 0.01;
/// Most regula-falsi runs per balance-sheet row.
pub const MAX_STEPS: usize = 4;
/// A difference at least this (half an öre, as for payback) counts as "pays for itself".
const ZERO: f64 = -0.005;

/// Arm model `m` with the programme's effect on moves into success states scaled by `s`
/// (module docs): the excess hazard ratio of the programme, organisation and location
/// together is scaled, and the effect alone absorbs the change. The new effect must stay
/// within the multiplier bound validation holds every effect to.
pub fn effect_scaled(m: &Model, s: f64) -> Result<Model, Error> {
    let mut m = m.clone();
    if s == 1.0 {
        return Ok(m);
    }
    // Each sex's effect (values by sex): the same share of each.
    if let Some(men) = m.men.take() {
        m.men = Some(Box::new(effect_scaled(&men, s)?));
    }
    if let Some(p) = &mut m.arm.programme {
        let other = p
            .organisation
            .as_ref()
            .map_or(1.0, |o| o.success_multiplier)
            * p.location.success_multiplier;
        if other > 0.0 {
            let total = p.effect * other;
            p.effect = (1.0 + s * (total - 1.0)).max(0.0) / other;
        }
        if p.effect.is_nan() || p.effect > crate::limits::MAX_MULTIPLIER {
            return Err(Error::Input(format!(
                "break-even: the programme `{}` with its effect scaled by {s} would have an effect of {}, above the largest multiplier {:e}; the scenario's combined effect is too large to search",
                p.id,
                p.effect,
                crate::limits::MAX_MULTIPLIER
            )));
        }
    }
    Ok(m)
}

/// Person-years spent in success states over the horizon (both sexes).
pub fn success_years(m: &Model, rep: &ArmRep) -> f64 {
    let h = rep.points.saturating_sub(1);
    let mut steps = 0.0;
    for p in 0..h {
        for (s, st) in m.states.iter().enumerate() {
            if st.success {
                steps += rep.occ(p, s, 0) + rep.occ(p, s, 1);
            }
        }
    }
    steps * f64::from(m.months_per_step()) / 12.0
}

/// Differences of every replication at one effect scale.
#[derive(Debug, Clone)]
struct Point {
    scale: f64,
    /// `[replication][row]` discounted difference arm − counterfactual.
    diff: Vec<Vec<f64>>,
    /// `[replication]` extra person-years in success states.
    years: Vec<f64>,
}

/// One replication at one scale: the difference of every row and the extra person-years.
type RowDiffs = (Vec<f64>, f64);

/// Run programme arm `arm` with its effect scaled by each of `scales` in every
/// replication of `base` and return, per scale and replication, the difference of every
/// row and the extra person-years. A replication's models are compiled once for all the
/// scales (with uncertain values that compile costs about as much as a run of the arm).
fn evaluate(
    scenario: &Scenario,
    base: &RunOutput,
    arm: usize,
    scales: &[f64],
) -> Result<Vec<Point>, Error> {
    let runs: Vec<f64> = scales.iter().copied().filter(|&s| s != 1.0).collect();
    let parallel_persons = base.reps.len() < rayon::current_num_threads();
    let cf = scenario.counterfactual;
    let rows = &base.evaluated.rows;
    let vals = &base.evaluated.valuations;
    // Replication `k` (`rep`) of the arm with its effect scaled by `s`: the difference of
    // every row and the extra person-years.
    // `cf_ledger` is the counterfactual's ledger in this replication when displacement
    // needs it (the run dropped it after valuing).
    let run_scaled = |models: &[Model],
                      k: usize,
                      rep: &engine::RepResult,
                      cf_ledger: Option<&ArmRep>,
                      s: f64| {
        let m = effect_scaled(&models[arm], s)?;
        let mut res =
            engine::run_replication(std::slice::from_ref(&m), rep.replication, parallel_persons);
        let mut arm_rep = res
            .arms
            .pop()
            .ok_or_else(|| Error::Internal("a replication returned no arm".into()))?;
        let pair = [models[cf].clone(), m];
        if let Some(cf_rep) = cf_ledger {
            let mut reps = vec![cf_rep.clone(), arm_rep];
            ledger::apply_displacement(&pair, &mut reps);
            arm_rep = reps.swap_remove(1);
        }
        let v = balance::value(&pair[1], &arm_rep, rows);
        let c = &vals[cf][k];
        let diff: Vec<f64> = (0..rows.len())
            .map(|ri| v.total(ri, NET) - c.total(ri, NET))
            .collect();
        let years = success_years(&pair[1], &arm_rep) - success_years(&pair[0], &rep.arms[cf]);
        Ok::<_, Error>((diff, years))
    };
    let per_rep: Vec<Result<Vec<RowDiffs>, Error>> = base
        .reps
        .par_iter()
        .enumerate()
        .map(|(k, rep)| {
            let models = scenario.models_for(rep.replication)?;
            // Arms do not interact, so the counterfactual run alone is the same arm as in
            // the run (one cohort, common random numbers).
            let rerun;
            let cf_ledger = if models[cf].accounting.displacement <= 0.0 {
                None
            } else if rep.arms[cf].has_ledger() {
                Some(&rep.arms[cf])
            } else {
                let one = std::slice::from_ref(&models[cf]);
                rerun = engine::run_replication(one, rep.replication, parallel_persons);
                rerun.arms.first()
            };
            runs.iter()
                .map(|&s| run_scaled(&models, k, rep, cf_ledger, s))
                .collect()
        })
        .collect();
    let mut at_scale: Vec<Point> = runs
        .iter()
        .map(|&s| Point {
            scale: s,
            diff: Vec::with_capacity(per_rep.len()),
            years: Vec::with_capacity(per_rep.len()),
        })
        .collect();
    for r in per_rep {
        for (p, (d, y)) in at_scale.iter_mut().zip(r?) {
            p.diff.push(d);
            p.years.push(y);
        }
    }
    let mut at_scale = at_scale.into_iter();
    scales
        .iter()
        .map(|&s| {
            if s == 1.0 {
                Ok(the_run(scenario, base, arm))
            } else {
                at_scale
                    .next()
                    .ok_or_else(|| Error::Internal("one point per scale other than 1".into()))
            }
        })
        .collect()
}

/// The modelled programme (scale 1): the run itself.
fn the_run(scenario: &Scenario, base: &RunOutput, arm: usize) -> Point {
    let cf = scenario.counterfactual;
    let rows = &base.evaluated.rows;
    let vals = &base.evaluated.valuations;
    let models = &scenario.arms;
    let diff = (0..base.reps.len())
        .map(|k| {
            (0..rows.len())
                .map(|ri| vals[arm][k].total(ri, NET) - vals[cf][k].total(ri, NET))
                .collect()
        })
        .collect();
    let years = base
        .reps
        .iter()
        .map(|r| {
            success_years(&models[arm], &r.arms[arm]) - success_years(&models[cf], &r.arms[cf])
        })
        .collect();
    Point {
        scale: 1.0,
        diff,
        years,
    }
}

/// The first bracket `[lo, lo + 1]` of a curve sampled at increasing scales in which it
/// reaches zero, with the interpolation weight of the root in it: `(lo, w)` means
/// `scale[lo] + w·(scale[lo+1] − scale[lo])`. `Some((0, 0.0))` when it starts at or above
/// zero; `None` when it never reaches zero.
fn first_crossing(g: &[f64]) -> Option<(usize, f64)> {
    if g.first().is_some_and(|&x| x >= ZERO) {
        return Some((0, 0.0));
    }
    let j = g.iter().position(|&x| x >= ZERO)?;
    let (a, b) = (g[j - 1], g[j]);
    Some((j - 1, (-a / (b - a)).clamp(0.0, 1.0)))
}

fn at(values: &[f64], (lo, w): (usize, f64)) -> f64 {
    if w == 0.0 {
        values[lo]
    } else {
        values[lo] + w * (values[lo + 1] - values[lo])
    }
}

/// Quantiles of values where `None` ("not reached") ranks above every number (type 7
/// between two numbers; `None` when either neighbour is `None`).
fn quantiles(values: &[Option<f64>]) -> [Option<f64>; 3] {
    let mut v: Vec<Option<f64>> = values.to_vec();
    v.sort_by(|a, b| match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    [0.05, 0.5, 0.95].map(|p| {
        if v.is_empty() {
            return None;
        }
        let h = (v.len() - 1) as f64 * p;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(v.len() - 1);
        match (v[lo], v[hi]) {
            (Some(a), Some(b)) => Some(a + (h - lo as f64) * (b - a)),
            _ => None,
        }
    })
}

fn switching(estimate: Option<f64>, per_rep: &[Option<f64>]) -> Switching {
    let [p05, p50, p95] = quantiles(per_rep);
    Switching {
        estimate,
        p05,
        p50,
        p95,
        not_reached_share: per_rep.iter().filter(|x| x.is_none()).count() as f64
            / per_rep.len().max(1) as f64,
    }
}

struct Curve {
    points: Vec<Point>,
}

impl Curve {
    fn scales(&self) -> Vec<f64> {
        self.points.iter().map(|p| p.scale).collect()
    }
    fn mean(&self, row: usize) -> Vec<f64> {
        self.points
            .iter()
            .map(|p| p.diff.iter().map(|d| d[row]).sum::<f64>() / p.diff.len().max(1) as f64)
            .collect()
    }
    fn insert(&mut self, p: Point) {
        let i = self.points.partition_point(|q| q.scale < p.scale);
        self.points.insert(i, p);
    }
    /// Standard error of the mean difference of `row` at point `j` (NaN with one replication).
    fn standard_error(&self, j: usize, row: usize) -> f64 {
        let xs: Vec<f64> = self.points[j].diff.iter().map(|d| d[row]).collect();
        let n = xs.len() as f64;
        if xs.len() < 2 {
            return f64::NAN;
        }
        let m = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
        (var / n).sqrt()
    }
    fn has(&self, s: f64) -> bool {
        self.points.iter().any(|p| p.scale == s)
    }
}

/// Break-even of every balance-sheet row for programme arm `arm`, from a finished run,
/// and the number of runs of the arm it took.
pub fn for_arm(
    scenario: &Scenario,
    base: &RunOutput,
    arm: usize,
) -> Result<(IndexMap<String, BreakEven>, usize), Error> {
    let rows = &base.evaluated.rows;
    let mut curve = Curve { points: Vec::new() };
    for p in evaluate(scenario, base, arm, &GRID)? {
        curve.insert(p);
    }
    for ri in 0..rows.len() {
        for _ in 0..MAX_STEPS {
            let scales = curve.scales();
            let g = curve.mean(ri);
            let Some((lo, w)) = first_crossing(&g) else {
                break;
            };
            if g[lo] >= ZERO || scales[lo + 1] - scales[lo] <= TOL_SCALE {
                break;
            }
            let (a, b) = (scales[lo], scales[lo + 1]);
            let c = a + w * (b - a);
            // The error of linear interpolation at c, from the curvature of the three
            // nearest points, against the Monte Carlo standard error of the mean there.
            let k = if lo >= 1 { lo - 1 } else { lo };
            let error = if k + 2 < scales.len() {
                let (x0, x1, x2) = (scales[k], scales[k + 1], scales[k + 2]);
                let dd =
                    ((g[k + 2] - g[k + 1]) / (x2 - x1) - (g[k + 1] - g[k]) / (x1 - x0)) / (x2 - x0);
                dd.abs() * (c - a) * (b - c)
            } else {
                f64::INFINITY
            };
            let se =
                curve.standard_error(lo, ri) * (1.0 - w) + curve.standard_error(lo + 1, ri) * w;
            let tol = if se.is_finite() && se > 0.0 {
                0.25 * se
            } else {
                1e-3 * (g[lo + 1] - g[lo]).abs()
            };
            if error <= tol {
                break;
            }
            // Regula falsi, kept 1 % of the bracket away from its ends so that each run
            // narrows it.
            let c = a + w.clamp(0.01, 0.99) * (b - a);
            if curve.has(c) {
                break;
            }
            let [p] = <[Point; 1]>::try_from(evaluate(scenario, base, arm, &[c])?)
                .map_err(|_| Error::Internal("one scale gives one point".into()))?;
            let gc = p.diff.iter().map(|d| d[ri]).sum::<f64>() / p.diff.len().max(1) as f64;
            curve.insert(p);
            if gc.abs() <= tol {
                break;
            }
        }
    }
    let scales = curve.scales();
    let reps = base.reps.len();
    let one = curve
        .points
        .iter()
        .find(|p| p.scale == 1.0)
        .ok_or_else(|| {
            Error::Internal("break-even: the modelled effect was not evaluated".into())
        })?;
    let modelled = Stat::of(&one.years);
    let mean_years: Vec<f64> = curve
        .points
        .iter()
        .map(|p| p.years.iter().sum::<f64>() / p.years.len().max(1) as f64)
        .collect();
    let mut out = IndexMap::new();
    for (ri, row) in rows.iter().enumerate() {
        let g = curve.mean(ri);
        let cross = first_crossing(&g);
        let scale_est = cross.map(|c| at(&scales, c));
        let years_est = cross.map(|c| at(&mean_years, c));
        let mut scale_rep = Vec::with_capacity(reps);
        let mut years_rep = Vec::with_capacity(reps);
        for k in 0..reps {
            let d: Vec<f64> = curve.points.iter().map(|p| p.diff[k][ri]).collect();
            let y: Vec<f64> = curve.points.iter().map(|p| p.years[k]).collect();
            let c = first_crossing(&d);
            scale_rep.push(c.map(|c| at(&scales, c)));
            years_rep.push(c.map(|c| at(&y, c)));
        }
        out.insert(
            row.id.clone(),
            BreakEven {
                effect_scale: switching(scale_est, &scale_rep),
                extra_person_years: switching(years_est, &years_rep),
                modelled_person_years: modelled,
            },
        );
    }
    // `s = 1` is the run itself.
    Ok((out, curve.points.len() - 1))
}

/// Break-even for every programme arm of a finished run, written into its summary;
/// returns the number of runs of a programme arm it took.
pub fn attach(scenario: &Scenario, run: &mut RunOutput) -> Result<usize, Error> {
    let mut runs = 0;
    for a in 0..scenario.arms.len() {
        if a == scenario.counterfactual || scenario.arms[a].arm.programme.is_none() {
            continue;
        }
        let (be, n) = for_arm(scenario, run, a)?;
        runs += n;
        let key = super::difference_key(scenario, a);
        if let Some(d) = run.summary.differences.get_mut(&key) {
            d.break_even = Some(be);
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossing_and_interpolation() {
        assert_eq!(first_crossing(&[1.0, 2.0]), Some((0, 0.0)));
        assert_eq!(first_crossing(&[-1.0, -0.5]), None);
        let c = first_crossing(&[-4.0, -2.0, 6.0]).unwrap();
        assert_eq!(c, (1, 0.25));
        assert_eq!(at(&[0.0, 1.0, 2.0], c), 1.25);
        // A curve that dips back below zero: the first crossing counts.
        assert_eq!(first_crossing(&[-1.0, 1.0, -1.0, 2.0]), Some((0, 0.5)));
    }

    #[test]
    fn quantiles_rank_not_reached_last() {
        let v = [Some(1.0), None, Some(0.0), Some(2.0), Some(3.0)];
        let [p05, p50, p95] = quantiles(&v);
        assert!((p05.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(p50, Some(2.0));
        assert_eq!(p95, None);
        assert_eq!(switching(None, &v).not_reached_share, 0.2);
    }
}
