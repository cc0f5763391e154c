//! Command-line types (clap) only; the library never sees them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rehabsim::i18n::Lang;
use rehabsim::output::csv::CsvOptions;

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
    /// Merge the partial results of `run --shard K/N` into the outputs of one run.
    Merge(MergeArgs),
    /// Fit multipliers on chosen scenario values so that the scenario's `[targets.*]` are met.
    Calibrate(CalibrateArgs),
    /// Write DIR/report.html again from the results `run --out DIR` saved (no simulation),
    /// e.g. in another language or with the tornado.json of a sensitivity run.
    Report(ReportArgs),
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
    // TOML integers are 64-bit signed: a larger seed could not be written in a scenario.
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
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
    /// Run only shard K of N (K = 0..N-1, a contiguous block of the replications) and
    /// write DIR/partial.json for `rehabsim merge`; needs --out.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<rehabsim::shard::ShardSpec>,
    /// Language of DIR/report.html (written with --out).
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// Field separator of the CSV files: one character, e.g. `--csv-sep ';'` for Swedish
    /// Excel, or `tab`. Default `,` (`;` with --decimal-comma).
    #[arg(long, value_name = "CHAR")]
    pub csv_sep: Option<String>,
    /// Write the CSV files' decimals with a comma (0,25), as Swedish Excel reads them.
    #[arg(long)]
    pub decimal_comma: bool,
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
    /// Write to `--out DIR` even if it holds the results of another scenario.
    #[arg(long)]
    pub force: bool,
    /// Exact expected values instead of sampling (cohort mode; refused when persons
    /// interact, e.g. through a programme's capacity). See docs/general-models.md.
    #[arg(long)]
    pub cohort: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' output folders (or their partial.json files), e.g. `part-*`.
    #[arg(required = true, value_name = "PART")]
    pub parts: Vec<PathBuf>,
    /// Write summary.json, balance.csv and occupancy.csv to this folder, exactly as
    /// `rehabsim run --out` does.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Do not print the balance sheet on stdout.
    #[arg(long)]
    pub quiet: bool,
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

/// The report languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    /// English.
    En,
    /// Swedish (svenska).
    Sv,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::En => Lang::En,
            LangArg::Sv => Lang::Sv,
        }
    }
}

impl BatchArgs {
    /// The flags that are shorthands for `--set`, as overrides (applied after `--set`).
    pub fn overrides(&self) -> Vec<String> {
        shorthand_overrides(
            &self.scenario.set,
            self.replications,
            self.persons,
            self.horizon,
            self.seed,
        )
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A folder written by `rehabsim run --out DIR` (summary.json, occupancy.csv,
    /// scenario.toml; tornado.json is drawn when present).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Language of the report.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// Write the report here instead of DIR/report.html.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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
    /// The CSV options of `--csv-sep` and `--decimal-comma`.
    pub fn csv_options(&self) -> Result<CsvOptions, String> {
        let delimiter = match self.csv_sep.as_deref() {
            None if self.decimal_comma => b';',
            None => b',',
            Some("tab" | "\\t" | "\t") => b'\t',
            Some(s) => match s.as_bytes() {
                // A quote, a dot or a sign would clash with quoting or with the numbers.
                [b] if b.is_ascii_punctuation() && !b"\".+-".contains(b) => *b,
                _ => {
                    return Err(format!(
                        "--csv-sep {s:?} is not a separator: give one punctuation character \
                         such as ';' or '|', or `tab`"
                    ));
                }
            },
        };
        if self.decimal_comma && delimiter == b',' {
            return Err(
                "--decimal-comma writes 0,25 for a quarter, so the separator cannot also be a \
                 comma: use --csv-sep ';' (or leave --csv-sep out)"
                    .into(),
            );
        }
        Ok(CsvOptions {
            delimiter,
            decimal_comma: self.decimal_comma,
        })
    }

    /// The flags that are shorthands for `--set`, as overrides (applied after `--set`).
    pub fn overrides(&self) -> Vec<String> {
        shorthand_overrides(
            &self.scenario.set,
            self.replications,
            self.persons,
            self.horizon,
            self.seed,
        )
    }
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// A key path whose value (a number, an array of numbers or a `{ dist = ... }`) is
    /// multiplied by a fitted factor θ, e.g. `programmes.arena.effect` (repeatable: one θ each).
    #[arg(long = "param", value_name = "KEY.PATH", required = true)]
    pub params: Vec<String>,
    /// Fit only these targets (comma-separated ids; default: all of the scenario's targets).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub targets: Option<Vec<String>>,
    /// Replications per evaluation (overrides `scenario.replications`).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Lowest and highest multiplier allowed.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LO,HI",
        default_value = "0.1,10"
    )]
    pub bounds: Vec<f64>,
    /// Maximum number of evaluations (each is a full run of the scenario).
    #[arg(long, default_value_t = 80)]
    pub max_evals: usize,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also write calibration.json to this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `--set` overrides followed by the shorthand flags as overrides (applied after `--set`).
fn shorthand_overrides(
    set: &[String],
    replications: Option<u32>,
    persons: Option<u64>,
    horizon: Option<u32>,
    seed: Option<u64>,
) -> Vec<String> {
    let mut v = set.to_vec();
    if let Some(r) = replications {
        v.push(format!("scenario.replications={r}"));
    }
    if let Some(p) = persons {
        v.push(format!("population.persons={p}"));
    }
    if let Some(h) = horizon {
        v.push(format!("scenario.horizon={h}"));
    }
    if let Some(s) = seed {
        v.push(format!("scenario.seed={s}"));
    }
    v
}
