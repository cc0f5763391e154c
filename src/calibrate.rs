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
//! [`crate::run`]); nothing in the engine knows about calibration.

use serde::Serialize;
use toml::{Table, Value};

use crate::dist::Dist;
use crate::scenario::{Scenario, Source, set_path, split_path};
use crate::{Error, RunOptions, RunOutput};

/// Tags of the tables that hold a distribution instead of a number.
const DIST_TAGS: [&str; 3] = ["dist", "per_person", "per_event"];

/// What to fit and how hard to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Key paths whose values are multiplied by the fitted θ_k (one θ per path).
    pub params: Vec<String>,
    /// Ids of the targets to fit; all of the scenario's targets when `None`.
    pub targets: Option<Vec<String>>,
    /// Replications per evaluation (overrides `scenario.replications`).
    pub replications: Option<u32>,
    /// Lowest and highest multiplier allowed; must contain 1 (the start).
    pub bounds: (f64, f64),
    /// Maximum number of objective evaluations (each is a full run).
    pub max_evals: usize,
    /// Convergence tolerance on ln θ (1e-3 ≈ 0.1 % on θ).
    pub xtol: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            params: Vec::new(),
            targets: None,
            replications: None,
            bounds: (0.1, 10.0),
            max_evals: 80,
            xtol: 1e-3,
        }
    }
}

/// The simulated share of one target, over replications.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetShare {
    pub id: String,
    /// Mean over replications of the share in the target's states.
    pub mean: f64,
    /// Monte Carlo standard error of `mean` (sd over replications / √n; NaN for n < 2).
    pub standard_error: f64,
    /// Replications in which someone was observed at the target month.
    pub replications: usize,
}

/// The fitted multiplier of one key path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FittedParam {
    pub path: String,
    pub multiplier: f64,
    /// The fit stopped within `xtol` of a bound: widen `--bounds` or question the target.
    pub at_bound: bool,
    /// The value in the scenario (TOML, inline).
    pub original: String,
    /// The fitted value (TOML, inline; numbers rounded to 6 significant digits).
    pub fitted: String,
    /// The same as a command-line override: `--set 'path=value'`.
    pub set: String,
}

/// One target: what was asked, what the scenario gives before and after the fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetFit {
    pub id: String,
    pub arm: String,
    pub states: Vec<String>,
    pub month: u32,
    pub participants_only: bool,
    pub share: f64,
    pub tolerance: f64,
    /// Simulated share at θ = 1 (the scenario as written).
    pub simulated_start: f64,
    /// Simulated share at the fitted θ.
    pub simulated: f64,
    pub standard_error: f64,
    /// (simulated − share) / tolerance at the fitted θ.
    pub residual: f64,
    pub source: String,
}

/// The result of a calibration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub scenario: String,
    pub seed: u64,
    pub replications: u32,
    pub method: String,
    pub evaluations: usize,
    /// ln θ was pinned to within `xtol` before `max_evals` ran out.
    pub converged: bool,
    /// Σ residual² at θ = 1 and at the fitted θ.
    pub objective_start: f64,
    pub objective: f64,
    pub params: Vec<FittedParam>,
    pub targets: Vec<TargetFit>,
}

/// A value that a multiplier can scale.
#[derive(Debug, Clone, PartialEq)]
enum Scalable {
    Number(f64),
    Array(Vec<f64>),
    Dist { tag: &'static str, table: Table },
}

impl Scalable {
    fn read(doc: &Table, path: &str) -> Result<Scalable, String> {
        let parts = split_path(path);
        let root = parts[0].as_str();
        if root == "scenario" || root == "targets" {
            return Err(format!(
                "`{path}`: `{root}` holds run settings or the targets themselves, not model parameters; calibrate a hazard, an effect or a share instead"
            ));
        }
        let mut cur: &Value = doc
            .get(root)
            .ok_or_else(|| format!("`{path}`: there is no `{root}` in the scenario"))?;
        for (depth, part) in parts.iter().enumerate().skip(1) {
            let walked = parts[..depth].join(".");
            cur = match cur {
                Value::Table(t) => t.get(part.as_str()).ok_or_else(|| {
                    let keys: Vec<&str> = t.keys().map(String::as_str).collect();
                    format!(
                        "`{path}`: `{walked}` has no key `{part}`; keys here are: {}",
                        if keys.is_empty() {
                            "(none)".to_string()
                        } else {
                            keys.join(", ")
                        }
                    )
                })?,
                Value::Array(a) => part
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get(i))
                    .ok_or_else(|| {
                        format!(
                            "`{path}`: `{walked}` is an array of {} values: index it with 0 to {}",
                            a.len(),
                            a.len().saturating_sub(1)
                        )
                    })?,
                other => {
                    return Err(format!(
                        "`{path}`: `{walked}` is a {}, not a table",
                        other.type_str()
                    ));
                }
            };
        }
        let number = |v: &Value| match v {
            Value::Integer(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        };
        let s = match cur {
            Value::Integer(_) | Value::Float(_) => Scalable::Number(number(cur).unwrap_or(0.0)),
            Value::Array(a) => {
                let xs: Option<Vec<f64>> = a.iter().map(number).collect();
                Scalable::Array(xs.ok_or_else(|| {
                    format!("`{path}` is an array, but not of numbers only: point at one number in it (`{path}.0`)")
                })?)
            }
            Value::Table(t) => {
                let tag = DIST_TAGS
                    .iter()
                    .find(|tag| t.contains_key(**tag))
                    .ok_or_else(|| {
                        let keys: Vec<&str> = t.keys().map(String::as_str).collect();
                        format!(
                            "`{path}` is a table ({}), not a number: point at a number in it, e.g. `{path}.{}`",
                            keys.join(", "),
                            keys.first().copied().unwrap_or("rate")
                        )
                    })?;
                Dist::from_table(t, tag).map_err(|e| format!("`{path}`: {}", e.message))?;
                let s = Scalable::Dist {
                    tag,
                    table: t.clone(),
                };
                s.scaled(1.0).map_err(|e| format!("`{path}`: {e}"))?;
                s
            }
            other => {
                return Err(format!(
                    "`{path}` is a {}, not a number: a multiplier can only scale numbers, arrays of numbers and distributions",
                    other.type_str()
                ));
            }
        };
        let all_zero = match &s {
            Scalable::Number(x) => *x == 0.0,
            Scalable::Array(xs) => xs.iter().all(|x| *x == 0.0),
            Scalable::Dist { .. } => false,
        };
        if all_zero {
            return Err(format!(
                "`{path}` is 0: a multiplier cannot move it; give it a small non-zero starting value"
            ));
        }
        Ok(s)
    }

    /// The value multiplied by `theta` (> 0).
    fn scaled(&self, theta: f64) -> Result<Value, String> {
        Ok(match self {
            Scalable::Number(x) => Value::Float(x * theta),
            Scalable::Array(xs) => {
                Value::Array(xs.iter().map(|x| Value::Float(x * theta)).collect())
            }
            Scalable::Dist { tag, table } => Value::Table(scale_dist_table(table, tag, theta)?),
        })
    }

    fn original(&self) -> Value {
        match self {
            Scalable::Dist { table, .. } => Value::Table(table.clone()),
            other => other.scaled(1.0).unwrap_or(Value::Float(f64::NAN)),
        }
    }
}

/// Multiply the random variable described by a distribution table by `theta`, keeping
/// the table's own parameterisation. Location-scale families scale every parameter (so
/// bounds, modes, medians and intervals move together); the lognormal's `mu` shifts by
/// ln θ and its `sigma` stays; the gamma's `scale` scales and its `shape` stays.
pub fn scale_dist_table(table: &Table, tag: &str, theta: f64) -> Result<Table, String> {
    let family = table.get(tag).and_then(Value::as_str).unwrap_or("");
    let keep: &[&str] = match family {
        "fixed" | "uniform" | "triangular" | "normal" => &[],
        "lognormal" => &["sigma", "mu"],
        "gamma" => &["shape"],
        "beta" => {
            return Err(
                "a beta distribution lives on [0, 1] and cannot be multiplied; calibrate a hazard or a hazard ratio instead, or write the share as a number"
                    .into(),
            );
        }
        "geometric" | "poisson" => {
            return Err(format!(
                "a {family} distribution is discrete and cannot be multiplied; calibrate a hazard or a share instead"
            ));
        }
        other => return Err(format!("`{tag} = \"{other}\"` is not a known family")),
    };
    let mut out = Table::new();
    for (k, v) in table {
        let x = match v {
            Value::Integer(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        };
        let nv = match x {
            Some(x) if k == "mu" && family == "lognormal" => Value::Float(x + theta.ln()),
            Some(x) if k != tag && !keep.contains(&k.as_str()) => Value::Float(x * theta),
            _ => v.clone(),
        };
        out.insert(k.clone(), nv);
    }
    Dist::from_table(&out, tag).map_err(|e| e.message)?;
    Ok(out)
}

/// The simulated share of every target of `scenario` in a run of it, in target order.
pub fn target_shares(scenario: &Scenario, out: &RunOutput) -> Result<Vec<TargetShare>, Error> {
    let base = scenario.base();
    let s_n = base.states.len();
    let mut result = Vec::new();
    for t in &base.targets {
        let model = &scenario.arms[t.arm];
        let months = crate::engine::outcome_months(model);
        let k = months.iter().position(|&m| m == t.month).ok_or_else(|| {
            Error::Input(format!(
                "target `{}`: month {} is not a whole number of steps ({} months each)",
                t.id,
                t.month,
                model.months_per_step()
            ))
        })?;
        let mut states = t.states.clone();
        states.sort_unstable();
        states.dedup();
        let mut xs = Vec::new();
        for r in &out.reps {
            let arm = &r.arms[t.arm];
            let o = if t.participants_only {
                &arm.outcomes_participants
            } else {
                &arm.outcomes
            };
            let at = |s: usize| o[(k * s_n + s) * 2] + o[(k * s_n + s) * 2 + 1];
            let n: f64 = (0..s_n).map(at).sum();
            if n > 0.0 {
                xs.push(states.iter().map(|&s| at(s)).sum::<f64>() / n);
            }
        }
        if xs.is_empty() {
            return Err(Error::Input(format!(
                "target `{}`: nobody{} was observed {} months after entry in arm `{}` — persons who enter late need a longer horizon, or the arm has no programme",
                t.id,
                if t.participants_only {
                    " who started the programme"
                } else {
                    ""
                },
                t.month,
                model.arm.id
            )));
        }
        let n = xs.len() as f64;
        // Sums in replication order keep the result independent of the thread count.
        let mean = xs.iter().sum::<f64>() / n;
        let se = if xs.len() < 2 {
            f64::NAN
        } else {
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt()
        };
        result.push(TargetShare {
            id: t.id.clone(),
            mean,
            standard_error: se,
            replications: xs.len(),
        });
    }
    Ok(result)
}

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

    // One evaluation: the scenario with every value scaled, compiled and run.
    let shares_at = |theta: &[f64]| -> Result<Vec<TargetShare>, Error> {
        let mut src = base.clone();
        for ((path, s), &th) in cfg.params.iter().zip(&scalables).zip(theta) {
            let v = s
                .scaled(th)
                .map_err(|e| Error::Input(format!("`{path}`: {e}")))?;
            set_path(&mut src.doc, &split_path(path), v)
                .map_err(|e| Error::Input(format!("`{path}`: {e}")))?;
        }
        let sc = src.compile()?;
        let out = crate::run(&sc, &RunOptions::default())?;
        target_shares(&sc, &out)
    };
    let objective = |sh: &[TargetShare]| -> f64 {
        chosen
            .iter()
            .map(|&i| {
                let t = &all_targets[i];
                ((sh[i].mean - t.share) / t.tolerance).powi(2)
            })
            .sum()
    };

    let k = cfg.params.len();
    let ones = vec![1.0; k];
    let start_shares = shares_at(&ones)?;
    let f_start = objective(&start_shares);
    progress(1, &ones, f_start);

    let mut evals = 1usize;
    let mut best = (vec![0.0; k], f_start, start_shares.clone());
    let mut moved = false;
    let mut f = |x: &[f64]| -> f64 {
        let theta: Vec<f64> = x.iter().map(|v| v.exp()).collect();
        evals += 1;
        // A θ at which the scenario is invalid (e.g. a probability pushed above 1) is
        // simply worse than any valid one.
        let fx = match shares_at(&theta) {
            Ok(sh) => {
                let fx = objective(&sh);
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
    let (lx, hx) = (lo.ln(), hi.ln());
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
    let (bx, bf, bshares) = best;
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

    let params = cfg
        .params
        .iter()
        .zip(&scalables)
        .zip(&bx)
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
        .collect();
    let base_model = start.base();
    let targets = chosen
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
        .collect();
    Ok(Calibration {
        scenario: base.path.display().to_string(),
        seed: base_model.seed,
        replications: base_model.replications,
        method: method.into(),
        evaluations: evals,
        converged,
        objective_start: f_start,
        objective: bf,
        params,
        targets,
    })
}

/// Golden-section search for a minimum of `f` on [lo, hi]; `budget` evaluations at most.
/// Returns whether the bracket shrank below `xtol`, and whether it ended against a bound
/// — then the bound itself is evaluated too, since on a plateau that runs into the bound
/// (a target out of reach) the interior points never get there.
fn golden_section(
    f: &mut dyn FnMut(&[f64]) -> f64,
    lo: f64,
    hi: f64,
    xtol: f64,
    budget: usize,
) -> (bool, Vec<bool>) {
    let r = (5f64.sqrt() - 1.0) / 2.0;
    if budget < 2 {
        return (false, vec![false]);
    }
    let (mut a, mut b) = (lo, hi);
    let mut c = b - r * (b - a);
    let mut d = a + r * (b - a);
    let mut fc = f(&[c]);
    let mut fd = f(&[d]);
    let mut used = 2;
    let converged = loop {
        if b - a <= xtol {
            break true;
        }
        if used >= budget {
            break false;
        }
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - r * (b - a);
            fc = f(&[c]);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + r * (b - a);
            fd = f(&[d]);
        }
        used += 1;
    };
    let touched = if a == lo {
        Some(lo)
    } else if b == hi {
        Some(hi)
    } else {
        None
    };
    if let Some(x) = touched
        && used < budget
    {
        f(&[x]);
    }
    (converged, vec![touched.is_some()])
}

/// Nelder–Mead (reflection 1, expansion 2, contraction ½, shrink ½) started at the origin
/// (where `f` is `f0`) with steps of 0.4 in ln θ (×1.49), every point projected into
/// [lo, hi]^k (lo ≤ 0 ≤ hi). Returns whether the simplex shrank below `xtol` (largest
/// coordinate distance to the best point).
fn nelder_mead(
    f: &mut dyn FnMut(&[f64]) -> f64,
    f0: f64,
    k: usize,
    lo: f64,
    hi: f64,
    xtol: f64,
    budget: usize,
) -> bool {
    let clamp = |x: Vec<f64>| -> Vec<f64> { x.into_iter().map(|v| v.clamp(lo, hi)).collect() };
    let mut used = 0usize;
    let mut eval = |x: &[f64], used: &mut usize| -> f64 {
        *used += 1;
        f(x)
    };
    let step = if hi >= 0.4 {
        0.4
    } else if lo <= -0.4 {
        -0.4
    } else if hi >= -lo {
        hi
    } else {
        lo
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(k + 1);
    simplex.push((vec![0.0; k], f0));
    for i in 0..k {
        if used >= budget {
            return false;
        }
        let mut x = vec![0.0; k];
        x[i] = step;
        let x = clamp(x);
        let fx = eval(&x, &mut used);
        simplex.push((x, fx));
    }
    loop {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let size = simplex[1..]
            .iter()
            .flat_map(|(x, _)| x.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if size < xtol {
            return true;
        }
        if used >= budget {
            return false;
        }
        let worst = simplex[k].clone();
        let centroid: Vec<f64> = (0..k)
            .map(|j| simplex[..k].iter().map(|(x, _)| x[j]).sum::<f64>() / k as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            clamp(
                centroid
                    .iter()
                    .zip(&worst.0)
                    .map(|(c, w)| c + t * (c - w))
                    .collect(),
            )
        };
        let xr = along(1.0);
        let fr = eval(&xr, &mut used);
        if fr < simplex[0].1 {
            if used >= budget {
                simplex[k] = (xr, fr);
                continue;
            }
            let xe = along(2.0);
            let fe = eval(&xe, &mut used);
            simplex[k] = if fe < fr { (xe, fe) } else { (xr, fr) };
            continue;
        }
        if fr < simplex[k - 1].1 {
            simplex[k] = (xr, fr);
            continue;
        }
        if used >= budget {
            return false;
        }
        let (xc, fc) = if fr < worst.1 {
            let xc = along(0.5);
            let fc = eval(&xc, &mut used);
            (xc, fc)
        } else {
            let xc = along(-0.5);
            let fc = eval(&xc, &mut used);
            (xc, fc)
        };
        if fc < fr.min(worst.1) {
            simplex[k] = (xc, fc);
            continue;
        }
        // Shrink towards the best point.
        let best = simplex[0].0.clone();
        for v in simplex.iter_mut().skip(1) {
            if used >= budget {
                return false;
            }
            let x: Vec<f64> =
                v.0.iter()
                    .zip(&best)
                    .map(|(x, b)| b + 0.5 * (x - b))
                    .collect();
            let fx = eval(&x, &mut used);
            *v = (x, fx);
        }
    }
}

/// Round to 6 significant digits, for values a user pastes back.
fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.5e}").parse().unwrap_or(x)
}

fn round_value(v: &Value) -> Value {
    match v {
        Value::Float(f) => Value::Float(round_sig(*f)),
        Value::Array(a) => Value::Array(a.iter().map(round_value).collect()),
        Value::Table(t) => {
            Value::Table(t.iter().map(|(k, v)| (k.clone(), round_value(v))).collect())
        }
        other => other.clone(),
    }
}

/// The calibration report for the terminal.
pub fn render(c: &Calibration) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "rehabsim calibrate — {}\n{} replications per evaluation, seed {} (common random numbers: the objective is deterministic)\n{}: {} evaluations, {}\nobjective Σ((simulated − target)/tolerance)²: {:.4} at θ = 1 → {:.4} fitted\n\n",
        c.scenario,
        c.replications,
        c.seed,
        c.method,
        c.evaluations,
        if c.converged {
            "converged"
        } else {
            "stopped at the evaluation limit (raise --max-evals)"
        },
        c.objective_start,
        c.objective
    ));
    s.push_str("fitted multipliers\n");
    for p in &c.params {
        s.push_str(&format!(
            "  {:<48} θ = {}{}\n    was    {}\n    fitted {}\n",
            p.path,
            fmt_g(p.multiplier),
            if p.at_bound {
                "   AT A BOUND: widen --bounds, or the target cannot be met by this value"
            } else {
                ""
            },
            p.original,
            p.fitted
        ));
    }
    s.push_str("\ntargets (shares)\n");
    s.push_str(&format!(
        "  {:<28} {:>8} {:>9} {:>10} {:>10} {:>8} {:>9}\n",
        "target", "target", "tolerance", "at θ = 1", "fitted", "± s.e.", "residual"
    ));
    for t in &c.targets {
        s.push_str(&format!(
            "  {:<28} {:>8.4} {:>9.4} {:>10.4} {:>10.4} {:>8.4} {:>+9.2}\n",
            t.id,
            t.share,
            t.tolerance,
            t.simulated_start,
            t.simulated,
            t.standard_error,
            t.residual
        ));
        s.push_str(&format!(
            "    arm {}, {} at {} months since entry{}{}\n",
            t.arm,
            t.states.join(" + "),
            t.month,
            if t.participants_only {
                ", participants only"
            } else {
                ""
            },
            if t.source.is_empty() {
                String::new()
            } else {
                format!("; source: {}", t.source)
            }
        ));
    }
    s.push_str("\nto use the fitted values, add to `rehabsim run`:\n");
    for p in &c.params {
        s.push_str(&format!("  {}\n", p.set));
    }
    s
}

/// The calibration as pretty JSON with a trailing newline (NaN becomes null).
pub fn to_json(c: &Calibration) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(c)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
    v.push(b'\n');
    v
}

fn fmt_g(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        let doc: Table = toml::from_str(&format!("v = {text}")).unwrap();
        doc["v"].as_table().unwrap().clone()
    }

    fn dist(t: &Table, tag: &str) -> Dist {
        Dist::from_table(t, tag).unwrap().unwrap()
    }

    #[test]
    fn scaling_a_distribution_multiplies_the_variable() {
        let theta = 1.7;
        for text in [
            r#"{ dist = "lognormal", median = 1.4, p05 = 1.0, p95 = 2.0 }"#,
            r#"{ dist = "lognormal", mu = 0.3, sigma = 0.2 }"#,
            r#"{ dist = "lognormal", mean = 2.0, sd = 0.5 }"#,
            r#"{ dist = "gamma", shape = 4.0, scale = 0.5 }"#,
            r#"{ dist = "gamma", mean = 2.0, sd = 1.0 }"#,
            r#"{ dist = "triangular", low = 1, mode = 2, high = 4 }"#,
            r#"{ dist = "uniform", low = 1, high = 3 }"#,
            r#"{ dist = "normal", mean = 2, sd = 0.4, low = 1 }"#,
            r#"{ dist = "fixed", value = 2.5 }"#,
        ] {
            let t = table(text);
            let d0 = dist(&t, "dist");
            let d1 = dist(&scale_dist_table(&t, "dist", theta).unwrap(), "dist");
            for p in [0.05, 0.5, 0.95] {
                let (q0, q1) = (d0.quantile(p), d1.quantile(p));
                assert!(
                    (q1 - theta * q0).abs() < 1e-9 * q0.abs().max(1.0),
                    "{text}: quantile {p}: {q1} vs {}",
                    theta * q0
                );
            }
        }
    }

    #[test]
    fn bounded_and_discrete_families_are_refused() {
        let e = scale_dist_table(
            &table(r#"{ dist = "beta", mean = 0.4, sd = 0.1 }"#),
            "dist",
            2.0,
        )
        .unwrap_err();
        assert!(e.starts_with("a beta distribution lives on [0, 1]"), "{e}");
        let e = scale_dist_table(
            &table(r#"{ per_event = "geometric", mean = 3 }"#),
            "per_event",
            2.0,
        )
        .unwrap_err();
        assert!(e.starts_with("a geometric distribution is discrete"), "{e}");
    }

    #[test]
    fn golden_section_finds_a_bracketed_minimum() {
        let mut best = f64::INFINITY;
        let mut g = |x: &[f64]| {
            best = best.min((x[0] - 0.7).abs());
            (x[0] - 0.7).powi(2)
        };
        assert_eq!(
            golden_section(&mut g, -2.0, 2.0, 1e-6, 200),
            (true, vec![false])
        );
        assert!(best < 1e-6, "{best}");
    }

    #[test]
    fn nelder_mead_finds_the_minimum_of_a_quadratic_inside_bounds() {
        let target = [0.5, -0.3];
        let mut best = (f64::INFINITY, vec![]);
        let mut f = |x: &[f64]| {
            let v =
                (x[0] - target[0]).powi(2) + 3.0 * (x[1] - target[1]).powi(2) + 0.5 * x[0] * x[1];
            if v < best.0 {
                best = (v, x.to_vec());
            }
            v
        };
        let f0 = f(&[0.0, 0.0]);
        assert!(nelder_mead(&mut f, f0, 2, -2.0, 2.0, 1e-7, 500));
        // Minimum of the quadratic: solve the gradient equations.
        // 2(x−0.5) + 0.5y = 0, 6(y+0.3) + 0.5x = 0.
        let y = (-1.8 - 0.25) / (6.0 - 0.125);
        let x = 0.5 - 0.25 * y;
        assert!(
            (best.1[0] - x).abs() < 1e-5 && (best.1[1] - y).abs() < 1e-5,
            "{best:?} vs ({x}, {y})"
        );
    }

    #[test]
    fn nelder_mead_stops_at_a_bound_when_the_minimum_is_outside() {
        let mut best = (f64::INFINITY, vec![]);
        let mut f = |x: &[f64]| {
            let v = (x[0] - 5.0).powi(2) + (x[1] + 0.2).powi(2);
            if v < best.0 {
                best = (v, x.to_vec());
            }
            v
        };
        let f0 = f(&[0.0, 0.0]);
        nelder_mead(&mut f, f0, 2, -1.0, 1.0, 1e-7, 500);
        assert!(
            (best.1[0] - 1.0).abs() < 1e-6 && (best.1[1] + 0.2).abs() < 1e-4,
            "{best:?}"
        );
    }
}
