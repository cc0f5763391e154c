//! Running a compiled scenario: every replication (or a shard's), each valued on the
//! worker that ran it ([`keep`]), then summarised ([`assemble`]). Every way of running —
//! a run, shards and their merge, the sensitivity analyses, the cohort mode — ends its
//! replications in [`keep`] and its run in [`assemble_valued`], so that they give the
//! same outputs for the same replications.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::analysis::psa;
use crate::error::Error;
use crate::model::{self, Model};
use crate::scenario::Scenario;
use crate::summary::{self, Summary};
use crate::{balance, engine};

/// How to run a compiled scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run only these replications (a shard); all when `None`.
    pub replications: Option<Vec<u32>>,
    /// Set to `true` (e.g. by a Ctrl-C handler) to stop the run: replications not yet
    /// started are skipped and the run returns [`Error::Interrupted`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// Keep every replication's ledger (its postings per line, point and sex) in
    /// [`RunOutput::reps`], e.g. to audit them with [`crate::ledger::check_balance`]. Off by
    /// default: each replication is valued as soon as it finishes and its ledger dropped
    /// ([`keep`]), so that memory grows with replications only by what the outputs
    /// report per replication.
    pub keep_ledgers: bool,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub summary: Summary,
    /// The valuation of every arm in every replication (`[arm][replication]`).
    pub evaluated: balance::Evaluated,
    /// The counts of every replication, in replication order; their ledgers only with
    /// [`RunOptions::keep_ledgers`].
    pub reps: Vec<engine::RepResult>,
    pub person_steps: u64,
}

/// One finished replication as a run keeps it: its counts (and its ledger, if kept) and
/// the valuation of every arm.
#[derive(Debug, Clone)]
pub struct Kept {
    pub rep: engine::RepResult,
    /// `[arm]`.
    pub valuations: Vec<balance::Valuation>,
}

/// Value every arm of a finished replication with the central models' structure and the
/// replication's own accounting `acc`, then drop its ledger unless `keep_ledger`. Every
/// way of running replications (the run, shards, sensitivity runs, cohort mode) ends each
/// replication here, so a run holds the postings of only the replications in flight.
pub fn keep(
    central: &[Model],
    acc: &model::Accounting,
    mut rep: engine::RepResult,
    keep_ledger: bool,
) -> Kept {
    let rows = balance::sheet_rows(&central[0]);
    let valuations = central
        .iter()
        .zip(&rep.arms)
        .map(|(m, arm)| balance::value_with(m, acc, arm, &rows))
        .collect();
    if !keep_ledger {
        for arm in &mut rep.arms {
            arm.drop_ledger();
        }
    }
    Kept { rep, valuations }
}

/// Run every replication (or a shard) of a scenario and summarise it.
pub fn run(scenario: &Scenario, opts: &RunOptions) -> Result<RunOutput, Error> {
    run_with_progress(scenario, opts, &|_| {})
}

/// As [`run`], calling `progress(done)` after each replication.
pub fn run_with_progress(
    scenario: &Scenario,
    opts: &RunOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<RunOutput, Error> {
    psa::check_ranges(scenario)?;
    let all: Vec<u32> = (0..scenario.base().replications).collect();
    let reps = opts.replications.clone().unwrap_or(all);
    let est = engine::memory::estimate_memory(
        &scenario.arms,
        reps.len() as u64,
        rayon::current_num_threads() as u64,
        opts.keep_ledgers,
    );
    engine::memory::check_memory(&scenario.arms, &est, engine::memory::available_memory())?;
    let cancelled = || {
        opts.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    };
    let done = AtomicUsize::new(0);
    let cf = scenario.counterfactual;
    let results = engine::run_replications(
        &reps,
        |r| {
            if cancelled() {
                return Err(Error::Interrupted);
            }
            Ok(scenario.models_for(r)?)
        },
        |models, rep| {
            keep(
                &scenario.arms,
                &models[cf].accounting,
                rep,
                opts.keep_ledgers,
            )
        },
        || {
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(d);
        },
    )?;
    if cancelled() {
        return Err(Error::Interrupted);
    }
    Ok(assemble(scenario, results))
}

/// Summarise replications (in replication order) into a run's output. [`run`] (through
/// here) and [`crate::shard::merge`] both end in [`assemble_valued`], so a merged run is the same
/// as an unsharded one.
pub fn assemble(scenario: &Scenario, results: Vec<Kept>) -> RunOutput {
    assemble_with(
        &scenario.arms,
        scenario.counterfactual,
        &scenario.source.overrides,
        results,
    )
}

/// As [`assemble`], naming the arms and taking the central values from `central`.
pub fn assemble_with(
    central: &[Model],
    cf: usize,
    overrides: &[String],
    results: Vec<Kept>,
) -> RunOutput {
    let mut valuations: Vec<Vec<balance::Valuation>> = (0..central.len())
        .map(|_| Vec::with_capacity(results.len()))
        .collect();
    let mut reps = Vec::with_capacity(results.len());
    for k in results {
        for (a, v) in k.valuations.into_iter().enumerate() {
            valuations[a].push(v);
        }
        reps.push(k.rep);
    }
    assemble_valued(central, cf, overrides, reps, valuations)
}

/// As [`assemble_with`], from the replications and their valuations
/// (`valuations[arm][k]` is arm `arm` of `reps[k]`).
pub fn assemble_valued(
    central: &[Model],
    cf: usize,
    overrides: &[String],
    reps: Vec<engine::RepResult>,
    valuations: Vec<Vec<balance::Valuation>>,
) -> RunOutput {
    let person_steps = reps
        .iter()
        .flat_map(|r| r.arms.iter())
        .map(|a| a.person_steps)
        .sum();
    let evaluated = balance::Evaluated {
        rows: balance::sheet_rows(&central[0]),
        valuations,
    };
    let (summary, evaluated) = summary::summarize(central, cf, &reps, evaluated, overrides);
    RunOutput {
        summary,
        evaluated,
        reps,
        person_steps,
    }
}
