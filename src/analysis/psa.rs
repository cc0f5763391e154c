//! Probabilistic sensitivity analysis: what the uncertain values of a scenario may draw.
//!
//! Each replication draws one value for every uncertain value (`Scenario::models_for`) and uses
//! it in every arm. Two kinds of rule can reject a draw, and they are treated differently:
//!
//! * **A rule on one value** (a probability in [0, 1], a hazard ratio ≥ 0, an amount
//!   within bounds): [`check_ranges`] compiles the scenario with each uncertain value at
//!   the ends of its range — the ends of its support where finite, otherwise the values it
//!   falls below or above once in a billion draws ([`PROBE`]) — and all others at their
//!   means, and rejects a distribution that can give a value the key does not accept,
//!   before anything runs. Clamping instead would pile probability mass onto the bound and
//!   move the mean the user wrote, silently; the fix is the right family (beta for
//!   probabilities and shares, lognormal or gamma for hazards, ratios and costs) or a
//!   truncated normal (`low`/`high`).
//! * **A rule joining several values** (a row of per-step probabilities summing to at
//!   most 1, shares summing to 1): only a combination of draws breaks it, so the run stops
//!   at the first replication whose draw does, naming the replication and the values
//!   drawn (`Scenario::models_for`). Probability rows pushed above 1 by *multipliers* (hazard
//!   ratios) are a different case: the engine rescales them and counts them in
//!   `diagnostics.clamped_rows`.

use crate::Error;
use crate::dist::Dist;
use crate::model::Accounting;
use crate::scenario::{Issue, Scenario};

/// Tail probability at which an unbounded distribution's range is probed.
pub const PROBE: f64 = 1e-9;

/// The `(name, value)` ends of `d`'s range that [`check_ranges`] tries.
pub fn range_ends(d: &Dist) -> Vec<(&'static str, f64)> {
    let (lo, hi) = d.support();
    let lo = if lo.is_finite() {
        lo
    } else {
        d.quantile(PROBE)
    };
    let hi = if hi.is_finite() {
        hi
    } else {
        d.quantile(1.0 - PROBE)
    };
    vec![("lowest", lo), ("highest", hi)]
}

/// A value with six significant digits, for messages.
fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return v.to_string();
    }
    let digits = (5 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Reject uncertain values whose distribution can give a value their key does not accept
/// (see the module docs). Cheap: two compiles per uncertain value, no simulation.
pub fn check_ranges(scenario: &Scenario) -> Result<(), Error> {
    let mut issues = Vec::new();
    for (path, d) in &scenario.uncertain {
        if d.is_degenerate() {
            continue;
        }
        for (end, v) in range_ends(d) {
            let compiled = scenario.source.compile_arms(&mut |p: &str, dd: &Dist| {
                if p == path { v } else { dd.mean() }
            });
            if let Err(e) = compiled {
                let why = e
                    .issues
                    .iter()
                    .map(|i| {
                        if i.path == *path {
                            i.message.clone()
                        } else {
                            format!("`{}`: {}", i.path, i.message)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let bounded = if end == "lowest" {
                    d.support().0.is_finite()
                } else {
                    d.support().1.is_finite()
                };
                issues.push(Issue::new(
                    path.clone(),
                    format!(
                        "{} can draw {} ({}), which is not accepted here: {why}. Choose a distribution whose range fits the key (beta for probabilities and shares, lognormal or gamma for hazards, hazard ratios and costs) or truncate a normal with `low`/`high`",
                        d.describe(),
                        short(v),
                        match (bounded, end) {
                            (true, _) => format!("the {end} value of its range"),
                            (false, "lowest") => {
                                format!("it falls below this once in {:.0e} draws", 1.0 / PROBE)
                            }
                            (false, _) => {
                                format!("it rises above this once in {:.0e} draws", 1.0 / PROBE)
                            }
                        }
                    ),
                ));
                break;
            }
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(Error::Scenario(scenario.source.located(issues)))
    }
}

/// Each replication's own accounting (discount rates) when any accounting value is
/// uncertain, so that the valuation uses the rates drawn for the replication; `None`
/// otherwise (every replication then shares the central accounting).
pub fn replication_accounting(
    scenario: &Scenario,
    reps: &[u32],
) -> Result<Option<Vec<Accounting>>, Error> {
    if !scenario
        .uncertain
        .iter()
        .any(|(p, _)| p.starts_with("accounting."))
    {
        return Ok(None);
    }
    let cf = scenario.counterfactual;
    reps.iter()
        .map(|&r| Ok(scenario.models_for(r)?[cf].accounting.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
