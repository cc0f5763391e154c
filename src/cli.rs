//! Command-line types (clap) only; the library never sees them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "rehabsim",
    version,
    about = "Who pays and who gains from vocational rehabilitation: a Monte Carlo microsimulation and socioeconomic balance sheet (socioekonomiskt bokslut)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate every arm of a scenario and print the balance sheet.
    Run(RunArgs),
    /// Check a scenario file without running it.
    Validate(ScenarioArgs),
    /// One-way sensitivity: each parameter at its low and high value, sorted by swing.
    Tornado(TornadoArgs),
    /// Run a full grid of overrides, one tidy result row per point (sweep.csv).
    Sweep(SweepArgs),
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Override any scenario value, e.g. `--set population.persons=1000` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Number of replications (overrides `scenario.replications`).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Cohort size (overrides `population.persons`).
    #[arg(long)]
    pub persons: Option<u64>,
    /// Horizon in steps (months by default; overrides `scenario.horizon`).
    #[arg(long)]
    pub horizon: Option<u32>,
    /// Seed of the random streams (overrides `scenario.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also write summary.json, balance.csv and occupancy.csv to this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not print the balance sheet on stdout.
    #[arg(long)]
    pub quiet: bool,
    /// Also report the expected result with the cohort noise averaged out: each
    /// replication's parameter draw on a large internal cohort, totals scaled back.
    #[arg(long)]
    pub expected: bool,
    /// Internal cohort size of `--expected` (rounded up to a multiple of the cohort).
    #[arg(long, value_name = "N", requires = "expected")]
    pub expected_persons: Option<u64>,
    /// Skip the break-even search (it re-runs the programme arm at several effect sizes).
    #[arg(long)]
    pub no_break_even: bool,
}

/// Run settings shared by the analyses that run a scenario many times.
#[derive(Debug, Args)]
pub struct BatchArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Number of replications (overrides `scenario.replications`).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Cohort size (overrides `population.persons`).
    #[arg(long)]
    pub persons: Option<u64>,
    /// Horizon in steps (overrides `scenario.horizon`).
    #[arg(long)]
    pub horizon: Option<u32>,
    /// Seed of the random streams (overrides `scenario.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write the result files to this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not print the table on stdout.
    #[arg(long)]
    pub quiet: bool,
}

impl BatchArgs {
    /// The flags that are shorthands for `--set`, as overrides (applied after `--set`).
    pub fn overrides(&self) -> Vec<String> {
        let mut v = self.scenario.set.clone();
        if let Some(r) = self.replications {
            v.push(format!("scenario.replications={r}"));
        }
        if let Some(p) = self.persons {
            v.push(format!("population.persons={p}"));
        }
        if let Some(h) = self.horizon {
            v.push(format!("scenario.horizon={h}"));
        }
        if let Some(s) = self.seed {
            v.push(format!("scenario.seed={s}"));
        }
        v
    }
}

#[derive(Debug, Args)]
pub struct TornadoArgs {
    #[command(flatten)]
    pub batch: BatchArgs,
    /// A parameter to vary, at the p05/p95 of its distribution or at given bounds:
    /// `--param programmes.arena.effect` or `--param accounting.discount_rate=0.015,0.05`
    /// (repeatable; default: every value given as a distribution).
    #[arg(long = "param", value_name = "KEY[=LOW,HIGH]")]
    pub param: Vec<String>,
    /// The balance-sheet row: an actor id, `public_sector` or `society`.
    #[arg(long, default_value = "society")]
    pub actor: String,
    /// The programme arm compared with the counterfactual (default: the first).
    #[arg(long)]
    pub arm: Option<String>,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub batch: BatchArgs,
    /// A grid axis, e.g. `--grid programmes.arena.effect=1.0,1.4,2.0` (repeatable; the
    /// full grid of all combinations is run, the first axis varying slowest).
    #[arg(long = "grid", value_name = "KEY=V1,V2,...", required = true)]
    pub grid: Vec<String>,
}

impl RunArgs {
    /// The flags that are shorthands for `--set`, as overrides (applied after `--set`).
    pub fn overrides(&self) -> Vec<String> {
        let mut v = self.scenario.set.clone();
        if let Some(r) = self.replications {
            v.push(format!("scenario.replications={r}"));
        }
        if let Some(p) = self.persons {
            v.push(format!("population.persons={p}"));
        }
        if let Some(h) = self.horizon {
            v.push(format!("scenario.horizon={h}"));
        }
        if let Some(s) = self.seed {
            v.push(format!("scenario.seed={s}"));
        }
        v
    }
}
