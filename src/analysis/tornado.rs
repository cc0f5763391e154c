//! One-way deterministic sensitivity analysis (the tornado diagram).
//!
//! Each named parameter is set to its low and then its high value — the 5th and 95th
//! percentiles of its distribution, or bounds given as `key.path=LOW,HIGH` — while every
//! other uncertain value stays at its mean, and the scenario is run through the same
//! replications with the same seed as the base case (every value at its mean). With common
//! random numbers the cohort and every person's random numbers are the same in all runs,
//! so the change in the mean discounted difference is the parameter's effect and not
//! noise: a parameter that does not enter the model changes nothing, to the öre.
//!
//! `net` is the mean over replications of the difference (arm − counterfactual) of one
//! balance-sheet row; `swing = |net_high − net_low|`; rows are sorted by swing, largest
//! first (ties keep the order the parameters were named in).

use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::scenario::Scenario;
use crate::{Error, RunOutput};

/// The tornado table (the schema of `tornado.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tornado {
    pub scenario: String,
    pub actor: String,
    /// `"<arm> - <counterfactual>"`.
    pub difference: String,
    /// Mean discounted difference with every uncertain value at its mean.
    pub base: f64,
    pub rows: Vec<TornadoRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TornadoRow {
    pub parameter: String,
    pub low_value: f64,
    pub high_value: f64,
    pub net_low: f64,
    pub net_high: f64,
    pub swing: f64,
}

/// A parameter to vary, with explicit bounds or (`None`) its distribution's p05/p95.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub path: String,
    pub bounds: Option<(f64, f64)>,
}

impl Param {
    /// Parse `key.path` or `key.path=LOW,HIGH`.
    pub fn parse(text: &str) -> Result<Param, Error> {
        let Some((path, bounds)) = text.split_once('=') else {
            return Ok(Param {
                path: text.trim().to_string(),
                bounds: None,
            });
        };
        let bad = || {
            Error::Input(format!(
                "--param {text}: bounds must be two numbers, e.g. `--param {}=0.8,1.2`",
                path.trim()
            ))
        };
        let (lo, hi) = bounds.split_once(',').ok_or_else(bad)?;
        let lo: f64 = lo.trim().parse().map_err(|_| bad())?;
        let hi: f64 = hi.trim().parse().map_err(|_| bad())?;
        if !lo.is_finite() || !hi.is_finite() {
            return Err(bad());
        }
        Ok(Param {
            path: path.trim().to_string(),
            bounds: Some((lo, hi)),
        })
    }
}

/// What to compute.
#[derive(Debug, Clone)]
pub struct TornadoOptions {
    /// Parameters to vary; all uncertain values of the scenario when empty.
    pub params: Vec<Param>,
    /// The balance-sheet row: an actor id, `public_sector` or `society`.
    pub actor: String,
    /// The programme arm (the first when `None`).
    pub arm: Option<String>,
}

/// The models of every arm with `path` at `value` and every uncertain value at its mean.
pub fn models_at(scenario: &Scenario, path: &str, value: f64) -> Result<Vec<Model>, Error> {
    if scenario.uncertain.iter().any(|(p, _)| p == path) {
        // Resolving by key path also reaches a value that an arm's `set` gives.
        return scenario
            .source
            .compile_arms(&mut |p, d| if p == path { value } else { d.mean() })
            .map_err(Error::Scenario);
    }
    let mut src = scenario.source.clone();
    src.apply_overrides(&[format!("{path}={value}")])?;
    src.compile_arms(&mut |_, d| d.mean())
        .map_err(Error::Scenario)
}

fn run_fixed(scenario: &Scenario, models: &[Model]) -> Result<RunOutput, Error> {
    super::run_models(scenario, models, &|_| Ok(models.to_vec()))
}

/// Run the tornado analysis (module docs).
pub fn run(scenario: &Scenario, opts: &TornadoOptions) -> Result<Tornado, Error> {
    super::psa::check_ranges(scenario)?;
    let arm = super::programme_arm(scenario, opts.arm.as_deref())?;
    super::sheet_row(scenario, &opts.actor)?;
    let key = super::difference_key(scenario, arm);
    let params: Vec<Param> = if opts.params.is_empty() {
        if scenario.uncertain.is_empty() {
            return Err(Error::Input(
                "the scenario has no uncertain values: name the parameters to vary with `--param key.path=LOW,HIGH`".into(),
            ));
        }
        scenario
            .uncertain
            .iter()
            .map(|(p, _)| Param {
                path: p.clone(),
                bounds: None,
            })
            .collect()
    } else {
        opts.params.clone()
    };
    // Resolve every bound and compile every model before the first run.
    let mut cases = Vec::with_capacity(params.len());
    for p in &params {
        let (lo, hi) = match p.bounds {
            Some(b) => b,
            None => {
                let d = scenario
                    .uncertain
                    .iter()
                    .find(|(q, _)| *q == p.path)
                    .map(|(_, d)| *d)
                    .ok_or_else(|| {
                        Error::Input(format!(
                            "--param {}: this value is not given as a distribution, so it has no p05/p95; give bounds, e.g. `--param {}=LOW,HIGH`{}",
                            p.path,
                            p.path,
                            if scenario.uncertain.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    " (uncertain values: {})",
                                    scenario
                                        .uncertain
                                        .iter()
                                        .map(|(q, _)| q.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )
                            }
                        ))
                    })?;
                (d.quantile(0.05), d.quantile(0.95))
            }
        };
        let low = models_at(scenario, &p.path, lo)?;
        let high = models_at(scenario, &p.path, hi)?;
        cases.push((p.path.clone(), lo, hi, low, high));
    }
    let net = |out: &RunOutput| -> f64 {
        out.summary
            .differences
            .get(&key)
            .and_then(|d| d.actors.get(&opts.actor))
            .map_or(f64::NAN, |a| a.sheet.net.mean)
    };
    let base = net(&run_fixed(scenario, &scenario.arms)?);
    let mut rows = Vec::with_capacity(cases.len());
    for (path, lo, hi, low, high) in cases {
        let net_low = net(&run_fixed(scenario, &low)?);
        let net_high = net(&run_fixed(scenario, &high)?);
        rows.push(TornadoRow {
            parameter: path,
            low_value: lo,
            high_value: hi,
            net_low,
            net_high,
            swing: (net_high - net_low).abs(),
        });
    }
    rows.sort_by(|a, b| b.swing.total_cmp(&a.swing));
    Ok(Tornado {
        scenario: scenario.base().name.clone(),
        actor: opts.actor.clone(),
        difference: key,
        base,
        rows,
    })
}
