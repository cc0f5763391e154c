//! Analyses built on top of the engine for decision-makers and researchers: what the
//! uncertainty of a result is, what drives it, and what would change the decision.
//!
//! * [`psa`]: the range checks of uncertain values (probabilistic sensitivity analysis);
//! * [`evpi`]: the expected value of perfect information for the choice between arms;
//! * [`break_even`]: switching values — the share of the programme's effect, and the
//!   extra person-years in work, at which it pays for itself, per actor;
//! * [`expected`]: the balance sheet with the cohort noise averaged out (`run --expected`);
//! * [`tornado`]: one-way deterministic sensitivity with common random numbers;
//! * [`sweep`]: a full grid of overrides, one tidy row per point.
//!
//! Every analysis re-runs the engine through the same replications with the same seed,
//! so that a difference between two runs is the effect of what was changed and not noise
//! (common random numbers), and every result is a pure function of (scenario, overrides,
//! seed, options), whatever the thread count. docs/uncertainty.md is the user's guide.

pub mod break_even;
pub mod evpi;
pub mod expected;
pub mod psa;
pub mod sweep;
pub mod tornado;

use crate::model::Model;
use crate::scenario::Scenario;
use crate::{Error, RunOutput};

/// Run every replication of `scenario` with the models `models_of(rep)` (instead of the
/// scenario's own) and summarise against `central` (the models that name the arms and
/// carry the central values). Each replication is valued with its own models' accounting.
pub fn run_models(
    scenario: &Scenario,
    central: &[Model],
    models_of: &(dyn Fn(u32) -> Result<Vec<Model>, Error> + Sync),
) -> Result<RunOutput, Error> {
    let reps: Vec<u32> = (0..scenario.base().replications).collect();
    let cf = scenario.counterfactual;
    let results = crate::engine::run_replications(
        &reps,
        models_of,
        |models, rep| crate::keep(central, &models[cf].accounting, rep, false),
        || {},
    )?;
    Ok(crate::assemble_with(
        central,
        cf,
        &scenario.source.overrides,
        results,
    ))
}

/// Index of the programme arm named `arm` (the first arm that is not the counterfactual
/// when `None`).
pub fn programme_arm(scenario: &Scenario, arm: Option<&str>) -> Result<usize, Error> {
    let cf = scenario.counterfactual;
    let others: Vec<&str> = scenario
        .arms
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != cf)
        .map(|(_, m)| m.arm.id.as_str())
        .collect();
    match arm {
        None => scenario
            .arms
            .iter()
            .position(|m| !m.arm.counterfactual)
            .ok_or_else(|| Error::Input("the scenario has no arm besides the counterfactual".into())),
        Some(id) => scenario
            .arms
            .iter()
            .position(|m| m.arm.id == id && !m.arm.counterfactual)
            .ok_or_else(|| {
                Error::Input(format!(
                    "--arm {id}: no such programme arm; the arms compared with the counterfactual `{}` are: {}",
                    scenario.base().arm.id,
                    others.join(", ")
                ))
            }),
    }
}

/// Index of balance-sheet row `actor` (an actor id, `public_sector` or `society`).
pub fn sheet_row(scenario: &Scenario, actor: &str) -> Result<usize, Error> {
    let rows = crate::balance::sheet_rows(scenario.base());
    rows.iter().position(|r| r.id == actor).ok_or_else(|| {
        Error::Input(format!(
            "--actor {actor}: no such row of the balance sheet; use one of: {}",
            rows.iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// The key of a difference in `summary.differences`.
pub fn difference_key(scenario: &Scenario, arm: usize) -> String {
    format!("{} - {}", scenario.arms[arm].arm.id, scenario.base().arm.id)
}
