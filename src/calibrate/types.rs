//! What a calibration is asked to do ([`Config`]) and what it gives back
//! ([`Calibration`], with one [`FittedParam`] per value and one [`TargetFit`] per
//! target; [`TargetShare`] is one target's simulated share in one run).

use serde::Serialize;

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
