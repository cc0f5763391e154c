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
pub mod error;
pub mod i18n;
pub mod ledger;
pub mod limits;
pub mod model;
pub mod output;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod shard;
pub mod stats;
pub mod summary;

pub use error::Error;
pub use model::Model;
pub use run::{
    Kept, RunOptions, RunOutput, assemble, assemble_valued, assemble_with, keep, run,
    run_with_progress,
};
pub use scenario::{Scenario, ScenarioError};
pub use summary::Summary;
