//! rehabsim: who pays and who gains from vocational rehabilitation, and how sure are we?
//!
//! A parallel Monte Carlo microsimulation of people on long-term sick leave, moving month
//! by month between support states, under a programme design and a counterfactual. The
//! output is the Swedish *socioekonomiskt bokslut*: a balance sheet per actor.
//!
//! The pipeline: a scenario file is read and validated into one [`Model`] per arm
//! ([`scenario`]); [`engine`] simulates every arm of a replication on the same cohort
//! ([`cohort`]) with common random numbers ([`rng`]) and posts integer öre to the
//! [`ledger`]; [`balance`] discounts and splits the postings per actor; [`summary`]
//! summarises replications; [`output`] writes JSON, CSV and the terminal table.
//!
//! ```no_run
//! let source = rehabsim::scenario::load(std::path::Path::new("scenarios/default.toml"))?;
//! let scenario = source.compile()?;
//! let run = rehabsim::run(&scenario, &rehabsim::RunOptions::default())?;
//! println!("{}", rehabsim::output::table::render(&run.summary));
//! # Ok::<(), rehabsim::Error>(())
//! ```

// Index loops over (point, line, sex) mirror the formulas in docs/model.md more clearly
// than iterator chains do.
#![allow(clippy::needless_range_loop)]

pub mod analysis;
pub mod balance;
pub mod calibrate;
pub mod cohort;
pub mod cohort_mode;
pub mod dist;
pub mod dynamics;
pub mod engine;
pub mod i18n;
pub mod ledger;
pub mod limits;
pub mod model;
pub mod output;
pub mod rng;
pub mod scenario;
pub mod shard;
pub mod stats;
pub mod summary;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub use model::Model;
pub use scenario::{Scenario, ScenarioError};
pub use summary::Summary;

/// Every error a run can end with; [`Error::exit_code`] maps it to the documented codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Io(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("interrupted: the run was stopped before it finished; no result files were written")]
    Interrupted,
}

impl Error {
    /// 0 ok, 2 bad input, 1 internal or I/O error, 130 interrupted.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Scenario(_) | Error::Input(_) => 2,
            Error::Io(_) | Error::Internal(_) => 1,
            Error::Interrupted => 130,
        }
    }
}

/// How to run a compiled scenario.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run only these replications (a shard); all when `None`.
    pub replications: Option<Vec<u32>>,
    /// Set to `true` (e.g. by a Ctrl-C handler) to stop the run: replications not yet
    /// started are skipped and the run returns [`Error::Interrupted`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// Keep every replication's ledger (its postings per line, point and sex) in
    /// [`RunOutput::reps`], e.g. to audit them with [`ledger::check_balance`]. Off by
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
    pub evaluated: summary::Evaluated,
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

/// The models of every arm for replication `rep`: the central models, or — when the
/// scenario has uncertain values — a fresh draw of every parameter from the
/// replication's own streams (the same draw for all arms).
pub fn models_for(scenario: &Scenario, rep: u32) -> Result<Vec<Model>, Error> {
    if scenario.uncertain.is_empty() {
        return Ok(scenario.arms.clone());
    }
    let streams = rng::Streams::new(scenario.base().seed, rep);
    let mut drawn: Vec<(String, f64)> = Vec::new();
    let mut draw = |path: &str, d: &dist::Dist| -> f64 {
        let mut g = streams.sequence(rng::path_hash(path), 0, rng::Purpose::Parameter);
        let v = d.sample(&mut g);
        if !drawn.iter().any(|(p, _)| p == path) {
            drawn.push((path.to_string(), v));
        }
        v
    };
    let result = scenario.source.compile_arms(&mut draw);
    result.map_err(|mut e| {
        // Each value's range was checked on its own before the run
        // (`analysis::psa::check_ranges`), so this is a rule that joins several values.
        let values = drawn
            .iter()
            .map(|(p, v)| format!("{p} = {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        for i in &mut e.issues {
            i.message = format!(
                "in replication {rep}, the parameter draw gives an invalid model: {} (values drawn: {values}); make the uncertain values that enter this rule narrower, or write the rule so that every draw satisfies it (e.g. hazards instead of probabilities: competing risks keep every row within 1)",
                i.message
            );
        }
        Error::Scenario(e)
    })
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
    analysis::psa::check_ranges(scenario)?;
    let all: Vec<u32> = (0..scenario.base().replications).collect();
    let reps = opts.replications.clone().unwrap_or(all);
    let est = limits::estimate_memory(
        scenario,
        reps.len() as u64,
        rayon::current_num_threads() as u64,
        opts.keep_ledgers,
    );
    limits::check_memory(scenario, &est, limits::available_memory())?;
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
            models_for(scenario, r)
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
/// here) and [`shard::merge`] both end in [`assemble_valued`], so a merged run is the same
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
    let evaluated = summary::Evaluated {
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
