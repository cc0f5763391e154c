//! The microsimulation: one replication of every arm as a pure function, and the
//! parallel driver over replications.
//!
//! Step `t` of an arm: (1) persons whose entry step is `t` enter, and may be referred at
//! once; (2) at intake dates, waiting persons are admitted first come, first served;
//! (3) trace point `t` is tallied (state, clock band, programme phase, sex) — the ledger,
//! occupancy, outcome measures and outcomes are computed from these tallies; (4–8) every
//! person present takes the step of `dynamics::Dynamics::step`, the model's order of
//! events, written once for both engines. After the last step, places are filled once
//! more and point `H` is tallied.
//!
//! Where things are: `pass` (the driver of one replication: intake, places, chunks,
//! tallies, postings), `person` (a person's state and the microsimulation's answers to
//! the step's questions, from its random numbers), `fast` (the short path for quiet
//! person-steps: speed only, held equal to the full step by tests), `memory` (what a run
//! will need).
//!
//! The hot loop never posts money per person: it counts persons (and sums attributes)
//! per cell, and amounts are posted once per cell and point (`ledger.rs`). The arms of a
//! replication do not interact; they run side by side, step by step (`run_arms`), so that
//! the month blocks of the random numbers they share are computed once for all of them.

mod ctx;
mod fast;
pub mod memory;
mod pass;
mod person;

use rayon::prelude::*;

use crate::cohort::Cohort;
use crate::ledger::ArmRep;
use crate::model::Model;
use crate::rng::Streams;

pub use ctx::{CHUNK, OUTCOME_MONTHS};
pub use pass::outcome_months;
pub use person::PERSON_BYTES;

/// Everything one replication produced, per arm.
#[derive(Debug, Clone, PartialEq)]
pub struct RepResult {
    pub replication: u32,
    pub arms: Vec<ArmRep>,
}

/// Run one replication of every arm on the same cohort with common random numbers.
/// `models[k]` is arm k; all share the population (the cohort is drawn from `models[0]`).
pub fn run_replication(models: &[Model], replication: u32, parallel_persons: bool) -> RepResult {
    run_replication_paths(models, replication, parallel_persons, true)
}

/// [`run_replication`] with the short path for quiet person-steps switched on or off
/// (off: every person-step takes the full path). The results must be equal; a test holds
/// the engine to it.
#[doc(hidden)]
pub fn run_replication_paths(
    models: &[Model],
    replication: u32,
    parallel_persons: bool,
    fast: bool,
) -> RepResult {
    let base = &models[0];
    let streams = Streams::new(base.seed, replication);
    let cohort = Cohort::draw(base, &streams);
    let mut arms = pass::run_arms(models, &cohort, streams, parallel_persons, fast);
    crate::ledger::apply_displacement(models, &mut arms);
    RepResult { replication, arms }
}

/// Run the replications `reps` of a compiled scenario. `compile(rep)` gives the arms'
/// models for a replication (the same models for all, unless parameters are uncertain);
/// `keep(models, result)` reduces a finished replication to what the caller keeps, on the
/// worker that ran it, so that only the replications in flight hold their full ledgers.
pub fn run_replications<F, K, T, P, E>(
    reps: &[u32],
    compile: F,
    keep: K,
    progress: P,
) -> Result<Vec<T>, E>
where
    E: Send,
    F: Fn(u32) -> Result<Vec<Model>, E> + Sync,
    K: Fn(&[Model], RepResult) -> T + Sync,
    T: Send,
    P: Fn() + Sync,
{
    let threads = rayon::current_num_threads();
    let parallel_persons = reps.len() < threads;
    reps.par_iter()
        .map(|&r| {
            let models = compile(r)?;
            let res = keep(&models, run_replication(&models, r, parallel_persons));
            progress();
            Ok(res)
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    /// A xorshift64 generator for the tests' random inputs (not the engine's streams).
    pub fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }
}
