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
    /// Exact expected values instead of sampling (cohort mode; refused when persons
    /// interact, e.g. through a programme's capacity). See docs/general-models.md.
    #[arg(long)]
    pub cohort: bool,
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
