//! Cohort mode: the exact expected value of the microsimulation, by propagating
//! probability mass over person states instead of sampling persons.
//!
//! This module owns `rehabsim run --cohort`. It computes, for the same scenario file, what
//! the microsimulation ([`crate::engine`]) converges to as the number of replications
//! grows: the expected number of persons in every ledger cell at every trace point, the
//! expected transitions of every step, the expected outcome counts and participants. The
//! result has the engine's types (one [`RepResult`] of [`ArmRep`]s, expected counts as
//! `f64`, postings rounded to whole öre once per line, point and sex), so summaries,
//! `summary.json` and the CSV files are the same contract as for any run.
//!
//! **How.** The persons of one intake batch are independent and identically distributed,
//! so the expected tally of the cohort is the sum over batches of the batch size times the
//! tally of one random person. That person's law is propagated step by step as mass over
//! the engine's full person state (`Key`: support state, clock — capped where no rule,
//! table or amount can tell larger values apart — programme phase and month, hand-over
//! gap, after-effect), by running the engine's order of events on every branch of every
//! random decision (`Chooser`: a uniform is split into the intervals that lead to
//! different outcomes; a uniform the engine reuses within a step keeps its interval).
//! What is fixed at creation is enumerated (`PopLaw`). Persons who differ only in their
//! transition probabilities (risk-factor product, attributes that multiply hazards) are
//! *classes* of one `Group`: they share keys and branches, each key carrying a mass per
//! class. Ages at entry that meet the same age tables, age risk factors and retirement at
//! every step follow one path, and paths share their propagation until they diverge
//! (`Walk`). Attributes that only scale amounts or measures ride along as expected sums,
//! like the engine's attribute sums. Sex changes nothing in the dynamics, so every tally is
//! split by the women's share at the end. docs/general-models.md has the user's view.
//!
//! **Exact, except:** a continuous attribute that multiplies a hazard is integrated by
//! Gauss–Legendre quadrature on the normal scale (96 nodes; errors below 1e-10 for the
//! means and survival curves of the families tested, 1e-8 for a lognormal with σ = 2 and
//! for a gamma with shape 0.5 under a hazard of 20, see the tests); branches of conditional
//! probability below 1e-15 are not followed (the rest is renormalised); the after-effect
//! is carried to 12 significant digits (the engine's f32 holds about 7); displacement and
//! the split of a budget between the sexes are applied to the expected flows (the
//! large-cohort limit of the engine's per-replication rule); and the engine's uniforms live
//! on a 2⁻³² grid, which moves any probability by less than 2⁻³³.
//!
//! **Refused** (with the reason): capacity limits ([`Model::has_interaction`]) and a
//! location's `extra_wait` (the engine's waiting queue then lets one person's re-referral
//! hold back others' admission), and population laws too large to enumerate.

mod arm;
mod branch;
mod law;
mod mass;
mod propagate;

use rayon::prelude::*;

use crate::engine::RepResult;
use crate::ledger::ArmRep;
use crate::model::*;
use crate::{Error, RunOptions, RunOutput, Scenario};

pub use law::{MAX_RISK_CLASSES, MAX_TYPES, clamped_points, prob_below};

use arm::ArmCfg;
use law::PopLaw;
use propagate::run_arm;

/// Run a scenario in cohort mode. Without uncertain values this is one replication at
/// the central values; with uncertain values, replication `r` is the exact expectation
/// given replication `r`'s parameter draw (the same draw as the microsimulation's).
pub fn run(scenario: &Scenario, opts: &RunOptions) -> Result<RunOutput, Error> {
    if let Some(reason) = unsupported(&scenario.arms) {
        return Err(Error::Input(reason));
    }
    let reps: Vec<u32> = match &opts.replications {
        Some(r) => r.clone(),
        None if scenario.uncertain.is_empty() => vec![0],
        None => (0..scenario.base().replications).collect(),
    };
    let cf = scenario.counterfactual;
    let results: Vec<crate::Kept> = reps
        .par_iter()
        .map(|&r| {
            let models = scenario.models_for(r)?;
            if let Some(reason) = unsupported(&models) {
                return Err(Error::Input(format!("in replication {r}: {reason}")));
            }
            let rep = run_replication(&models, r)?;
            Ok(crate::keep(
                &scenario.arms,
                &models[cf].accounting,
                rep,
                opts.keep_ledgers,
            ))
        })
        .collect::<Result<_, _>>()?;
    let mut out = crate::assemble(scenario, results);
    out.summary.mode = Some("cohort".into());
    Ok(out)
}

/// Why cohort mode cannot compute these arms exactly, if it cannot.
pub fn unsupported(models: &[Model]) -> Option<String> {
    for m in models {
        if m.has_interaction() {
            let p = m.arm.programme.as_ref()?;
            return Some(format!(
                "--cohort computes exact expected values only when persons do not interact, but in arm `{}` programme `{}` has a capacity of {} places, so whether one person gets a place depends on the others; run the microsimulation (without --cohort), or remove `capacity` from `programmes.{}`",
                m.arm.id,
                p.id,
                p.capacity.unwrap_or(0),
                p.id
            ));
        }
        if let Some(p) = &m.arm.programme
            && p.location.extra_wait > 0
        {
            return Some(format!(
                "--cohort does not support a location's `extra_wait` (arm `{}`, location `{}`: {} steps): the microsimulation's waiting queue then lets one person's re-referral hold back the admission of others; run the microsimulation (without --cohort), or set `locations.{}.extra_wait = 0`",
                m.arm.id, p.location.id, p.location.extra_wait, p.location.id
            ));
        }
    }
    None
}

/// The expected-value counterpart of [`crate::engine::run_replication`].
pub fn run_replication(models: &[Model], replication: u32) -> Result<RepResult, Error> {
    let base = &models[0];
    let arm_cfgs: Vec<ArmCfg> = models.iter().map(ArmCfg::new).collect();
    let max_cap = arm_cfgs
        .iter()
        .flat_map(|a| a.caps.iter().copied())
        .max()
        .unwrap_or(0);
    let mut in_t = vec![false; base.population.attributes.len()];
    for a in &arm_cfgs {
        for &d in &a.driving {
            in_t[d] = true;
        }
    }
    if let Some(i) = base.population.income_attribute {
        in_t[i] = true;
    }
    // Each sex's population law where values differ by sex (the cohort is shared by the
    // arms: the counterfactual's population is every arm's).
    let mut laws = vec![PopLaw::new(base, &in_t, max_cap)?];
    if models.iter().any(Model::by_sex) {
        laws.push(PopLaw::new(base.for_sex(1), &in_t, max_cap)?);
    }
    let mut arms: Vec<ArmRep> = models
        .par_iter()
        .zip(&arm_cfgs)
        .map(|(m, cfg)| run_arm(m, cfg, &laws))
        .collect::<Result<_, _>>()?;
    crate::ledger::apply_displacement(models, &mut arms);
    Ok(RepResult { replication, arms })
}
