//! Calibration: fit one multiplier θ_k per chosen scenario value so that the scenario's
//! `[targets.*]` (observed outcome shares) are met.
//!
//! Each chosen key path names a number, an array of numbers (e.g. a piecewise hazard) or
//! an uncertain value (`{ dist = … }`, also `per_person` / `per_event` tables); the value
//! at the path is replaced by θ_k times itself (`Scalable::scaled`). For an uncertain value
//! the *random variable* is multiplied by θ_k ([`scale_dist_table`]): every draw becomes θ_k
//! times what it would have been, so its spread scales with it and its coefficient of
//! variation is kept.
//! Families that cannot be scaled that way (beta, geometric, poisson: bounded or
//! discrete) are refused with a message naming what to calibrate instead.
//!
//! The objective is Σ_targets ((simulated share − target share) / tolerance)². A target's
//! simulated share is the mean over replications of the share of persons (or of programme
//! participants) in its states at its month since entry ([`target_shares`]). Every
//! evaluation runs the same replications with the same seed (common random numbers), so
//! the objective is a deterministic function of θ and the optimiser sees no Monte Carlo
//! noise between neighbouring θ (it is piecewise constant at the scale of one person's
//! decision flipping). One parameter: golden-section search over ln θ; several:
//! Nelder–Mead over ln θ, kept inside the bounds by projection. Both stop at a maximum
//! number of evaluations or when ln θ is pinned to within `xtol`.
//!
//! Everything here is built on the public pipeline (`Source` → `set_path` → `compile` →
//! [`crate::run()`]); nothing in the engine knows about calibration.
//!
//! # Where things are
//!
//! * here: the calibration itself, in steps ([`calibrate_with_progress`]): check
//!   the configuration, set up the problem (the values to scale, the targets to
//!   meet), search, and report the fit.
//! * `types.rs`: what to fit ([`Config`]) and what comes back ([`Calibration`]).
//! * `scale.rs`: reading the value at a key path and multiplying it by θ
//!   ([`scale_dist_table`] for a distribution).
//! * `shares.rs`: the simulated share of each target in a run ([`target_shares`]).
//! * `search.rs`: golden-section search and Nelder–Mead over ln θ.
//! * `report.rs`: the terminal report ([`render`]) and the JSON ([`to_json`]).

mod report;
mod scale;
mod search;
mod shares;
mod types;

pub use report::{render, to_json};
pub use scale::scale_dist_table;
pub use shares::target_shares;
pub use types::{Calibration, Config, FittedParam, TargetFit, TargetShare};

use toml::Value;

use crate::scenario::{Scenario, Source, set_path, split_path};
use crate::{Error, RunOptions};
use scale::{Scalable, round_sig, round_value};
use search::{golden_section, nelder_mead};

/// Fit the multipliers; see the module docs.
pub fn calibrate(source: &Source, cfg: &Config) -> Result<Calibration, Error> {
    calibrate_with_progress(source, cfg, &|_, _, _| {})
}

/// As [`calibrate`], calling `progress(evaluation, θ, objective)` after each evaluation.
pub fn calibrate_with_progress(
    source: &Source,
    cfg: &Config,
    progress: &dyn Fn(usize, &[f64], f64),
) -> Result<Calibration, Error> {
    check_config(cfg)?;
    let problem = Problem::new(source, cfg)?;
    let found = search(&problem, progress)?;
    Ok(problem.report(&found))
}

/// What can be checked before the scenario is read: at least one value, each named
/// once, bounds around the starting multiplier 1, and at least one evaluation.
fn check_config(cfg: &Config) -> Result<(), Error> {
    if cfg.params.is_empty() {
        return Err(Error::Input(
            "name at least one value to fit with `--param KEY.PATH`, e.g. `--param programmes.arena.effect`".into(),
        ));
    }
    for (i, p) in cfg.params.iter().enumerate() {
        if cfg.params[..i].contains(p) {
            return Err(Error::Input(format!(
                "`--param {p}` is given twice: each value gets one multiplier"
            )));
        }
    }
    let (lo, hi) = cfg.bounds;
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= 1.0 && hi >= 1.0 && lo < hi) {
        return Err(Error::Input(format!(
            "the multiplier bounds must satisfy 0 < low ≤ 1 ≤ high (the fit starts at 1), found {lo},{hi}; e.g. `--bounds 0.1,10`"
        )));
    }
    if cfg.max_evals < 1 {
        return Err(Error::Input("`--max-evals` must be at least 1".into()));
    }
    Ok(())
}

/// What a calibration fits: the scenario (with the configuration's replications), the
/// values its multipliers scale and the targets they should meet.
struct Problem<'c> {
    cfg: &'c Config,
    base: Source,
    /// One per `cfg.params`, in that order.
    scalables: Vec<Scalable>,
    /// The scenario as written (θ = 1), compiled; its targets are the ones to meet.
    start: Scenario,
    /// Indices into the targets of `start`: the ones to fit, in the order asked for.
    chosen: Vec<usize>,
}

impl<'c> Problem<'c> {
    /// Read the values to scale and compile the scenario as written; errors name the
    /// scenario file.
    fn new(source: &Source, cfg: &'c Config) -> Result<Self, Error> {
        let mut base = source.clone();
        if let Some(n) = cfg.replications {
            base.apply_overrides(&[format!("scenario.replications={n}")])?;
        }
        let scalables: Vec<Scalable> = cfg
            .params
            .iter()
            .map(|p| Scalable::read(&base.doc, p))
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Input(format!("{}: {e}", base.path.display())))?;

        let start = base.compile()?;
        let chosen = choose_targets(&base, &start, cfg)?;
        Ok(Problem {
            cfg,
            base,
            scalables,
            start,
            chosen,
        })
    }

    /// One evaluation: the scenario with every value scaled, compiled and run.
    fn shares_at(&self, theta: &[f64]) -> Result<Vec<TargetShare>, Error> {
        let mut src = self.base.clone();
        for ((path, s), &th) in self.cfg.params.iter().zip(&self.scalables).zip(theta) {
            let v = s
                .scaled(th)
                .map_err(|e| Error::Input(format!("`{path}`: {e}")))?;
            set_path(&mut src.doc, &split_path(path), v)
                .map_err(|e| Error::Input(format!("`{path}`: {e}")))?;
        }
        let sc = src.compile()?;
        let out = crate::run(&sc, &RunOptions::default())?;
        target_shares(&sc, &out)
    }

    /// Σ over the chosen targets of ((simulated share − target share) / tolerance)².
    fn objective(&self, sh: &[TargetShare]) -> f64 {
        let all_targets = &self.start.base().targets;
        self.chosen
            .iter()
            .map(|&i| {
                let t = &all_targets[i];
                ((sh[i].mean - t.share) / t.tolerance).powi(2)
            })
            .sum()
    }

    /// The bounds on ln θ, where the search runs.
    fn ln_bounds(&self) -> (f64, f64) {
        let (lo, hi) = self.cfg.bounds;
        (lo.ln(), hi.ln())
    }
}

/// The targets to fit: all of them unless the configuration names some, and each with
/// a tolerance above 0, since its residual is divided by it.
fn choose_targets(base: &Source, start: &Scenario, cfg: &Config) -> Result<Vec<usize>, Error> {
    let all_targets = &start.base().targets;
    if all_targets.is_empty() {
        return Err(Error::Input(format!(
            "{} has no calibration targets: add `[targets.<id>]` with `arm`, `states`, `month`, `share` and `tolerance` (docs/calibration.md)",
            base.path.display()
        )));
    }
    let chosen: Vec<usize> = match &cfg.targets {
        None => (0..all_targets.len()).collect(),
        Some(ids) => {
            let mut v = Vec::new();
            for id in ids {
                match all_targets.iter().position(|t| &t.id == id) {
                    Some(i) => v.push(i),
                    None => {
                        return Err(Error::Input(format!(
                            "`{id}` is not a target of {}; its targets are: {}",
                            base.path.display(),
                            all_targets
                                .iter()
                                .map(|t| t.id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                }
            }
            v
        }
    };
    for &i in &chosen {
        let t = &all_targets[i];
        if t.tolerance <= 0.0 {
            return Err(Error::Input(format!(
                "target `{}` has tolerance 0: the residual is divided by it; give the accuracy you expect, e.g. `tolerance = 0.05`",
                t.id
            )));
        }
    }
    Ok(chosen)
}

/// How the search went, with the evaluation at θ = 1 it started from.
struct Found {
    method: &'static str,
    evaluations: usize,
    /// ln θ was pinned to within `xtol` before the budget ran out.
    converged: bool,
    /// Per value: the search ended against a bound (golden-section only).
    touched: Vec<bool>,
    start_shares: Vec<TargetShare>,
    f_start: f64,
    /// The best point (ln θ), its objective and its shares.
    best: (Vec<f64>, f64, Vec<TargetShare>),
}

/// Evaluate θ = 1, then search ln θ within the bounds (one value: golden-section;
/// several: Nelder–Mead), keeping the best point. Refuses a fit in which no evaluation
/// moved the targets: the values are then not the ones the targets depend on.
fn search(problem: &Problem, progress: &dyn Fn(usize, &[f64], f64)) -> Result<Found, Error> {
    let cfg = problem.cfg;
    let k = cfg.params.len();
    let ones = vec![1.0; k];
    let start_shares = problem.shares_at(&ones)?;
    let f_start = problem.objective(&start_shares);
    progress(1, &ones, f_start);

    let mut evals = 1usize;
    let mut best = (vec![0.0; k], f_start, start_shares.clone());
    let mut moved = false;
    let mut f = |x: &[f64]| -> f64 {
        let theta: Vec<f64> = x.iter().map(|v| v.exp()).collect();
        evals += 1;
        // A θ at which the scenario is invalid (e.g. a probability pushed above 1) is
        // simply worse than any valid one.
        let fx = match problem.shares_at(&theta) {
            Ok(sh) => {
                let fx = problem.objective(&sh);
                moved |= fx != f_start;
                // Ties go to the later point: on a plateau that runs into a bound the
                // search ends at the bound itself.
                if fx <= best.1 {
                    best = (x.to_vec(), fx, sh);
                }
                fx
            }
            Err(_) => f64::INFINITY,
        };
        progress(evals, &theta, fx);
        fx
    };
    let (lx, hx) = problem.ln_bounds();
    let budget = cfg.max_evals.saturating_sub(1);
    let (method, (converged, touched)) = if k == 1 {
        (
            "golden-section search over ln θ",
            golden_section(&mut f, lx, hx, cfg.xtol, budget),
        )
    } else {
        (
            "Nelder–Mead over ln θ (bounded by projection)",
            (
                nelder_mead(&mut f, f_start, k, lx, hx, cfg.xtol, budget),
                vec![false; k],
            ),
        )
    };
    if !moved && evals > 1 {
        return Err(Error::Input(format!(
            "the targets do not respond to {}: all {evals} evaluations gave the same shares — check that the chosen arm uses the value (an arm's `set` replaces the base value for that arm: point at `arms.<arm>.set.\"<key>\"` instead)",
            cfg.params
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(Found {
        method,
        evaluations: evals,
        converged,
        touched,
        start_shares,
        f_start,
        best,
    })
}

impl Problem<'_> {
    /// The calibration: the fitted values, the targets at θ = 1 and at the fit, and
    /// how the search went.
    fn report(&self, found: &Found) -> Calibration {
        let base_model = self.start.base();
        Calibration {
            scenario: self.base.path.display().to_string(),
            seed: base_model.seed,
            replications: base_model.replications,
            method: found.method.into(),
            evaluations: found.evaluations,
            converged: found.converged,
            objective_start: found.f_start,
            objective: found.best.1,
            params: self.fitted_params(found),
            targets: self.target_fits(found),
        }
    }

    /// Each value's fitted multiplier, the value before and after, and the `--set`
    /// that applies it.
    fn fitted_params(&self, found: &Found) -> Vec<FittedParam> {
        let cfg = self.cfg;
        let (lx, hx) = self.ln_bounds();
        let (bx, touched) = (&found.best.0, &found.touched);
        cfg.params
            .iter()
            .zip(&self.scalables)
            .zip(bx)
            .enumerate()
            .map(|(i, ((path, s), &x))| {
                let theta = x.exp();
                let fitted = round_value(&s.scaled(theta).unwrap_or(Value::Float(f64::NAN)));
                let fitted_text = fitted.to_string();
                FittedParam {
                    path: path.clone(),
                    multiplier: round_sig(theta),
                    at_bound: touched[i]
                        || (x - lx).abs() < 2.0 * cfg.xtol
                        || (hx - x).abs() < 2.0 * cfg.xtol,
                    original: s.original().to_string(),
                    set: format!("--set '{path}={fitted_text}'"),
                    fitted: fitted_text,
                }
            })
            .collect()
    }

    /// Each chosen target: what was asked, and the simulated share at θ = 1 and at the
    /// fit.
    fn target_fits(&self, found: &Found) -> Vec<TargetFit> {
        let (start, start_shares, bshares) = (&self.start, &found.start_shares, &found.best.2);
        let base_model = start.base();
        let all_targets = &base_model.targets;
        self.chosen
            .iter()
            .map(|&i| {
                let t = &all_targets[i];
                TargetFit {
                    id: t.id.clone(),
                    arm: start.arms[t.arm].arm.id.clone(),
                    states: t
                        .states
                        .iter()
                        .map(|&s| base_model.states[s].id.clone())
                        .collect(),
                    month: t.month,
                    participants_only: t.participants_only,
                    share: t.share,
                    tolerance: t.tolerance,
                    simulated_start: start_shares[i].mean,
                    simulated: bshares[i].mean,
                    standard_error: bshares[i].standard_error,
                    residual: (bshares[i].mean - t.share) / t.tolerance,
                    source: t.source.clone(),
                }
            })
            .collect()
    }
}
