//! Command-line types (clap) only; the library never sees them. Flag values are checked
//! while the command line is parsed (the value parsers at the end of this file), so
//! `main` gets values it can use as they are; only checks that join several flags are
//! left to `main`.

use std::ffi::OsStr;
use std::path::PathBuf;

use clap::builder::{StringValueParser, TypedValueParser};
use clap::{Arg, Args, Parser, Subcommand, ValueEnum};
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

/// The scenario and the run settings that `run`, `tornado` and `sweep` share. The help
/// of `--out` and `--quiet` is each command's own (`mut_arg` on the command's struct):
/// it names the files written and the text printed.
#[derive(Debug, Args)]
pub struct RunSettings {
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
    #[arg(long, value_parser = ValueCheck(threads))]
    pub threads: Option<usize>,
    /// Write the result files to this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not print the table on stdout.
    #[arg(long)]
    pub quiet: bool,
}

impl RunSettings {
    /// `--set` overrides followed by the flags that are shorthands for `--set`
    /// (`--replications`, `--persons`, `--horizon`, `--seed`), which so win over them.
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
#[command(mut_arg("out", |a| a.help(
    "Also write the results to this folder: summary.json, balance.csv, occupancy.csv, \
     report.html (in --lang), scenario.toml (the scenario as run) and the marker \
     .rehabsim-run; with --shard, only partial.json"
)))]
#[command(mut_arg("quiet", |a| a.help("Do not print the balance sheet on stdout")))]
pub struct RunArgs {
    #[command(flatten)]
    pub run: RunSettings,
    /// Run only shard K of N (K = 0..N-1, a contiguous block of the replications) and
    /// write DIR/partial.json for `rehabsim merge`; needs --out.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<rehabsim::shard::ShardSpec>,
    /// Language of DIR/report.html (written with --out).
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// Field separator of the CSV files: one character, e.g. `--csv-sep ';'` for Swedish
    /// Excel, or `tab`. Default `,` (`;` with --decimal-comma).
    #[arg(long, value_name = "CHAR", value_parser = ValueCheck(csv_separator))]
    pub csv_sep: Option<u8>,
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
    /// Write the results of the whole run to this folder, exactly as `rehabsim run --out`
    /// does: summary.json, balance.csv, occupancy.csv, report.html, scenario.toml and the
    /// marker .rehabsim-run.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Do not print the balance sheet on stdout.
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
#[command(mut_arg("out", |a| a.help("Write tornado.csv and tornado.json to this folder")))]
pub struct TornadoArgs {
    #[command(flatten)]
    pub run: RunSettings,
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
#[command(mut_arg("out", |a| a.help("Write sweep.csv to this folder")))]
pub struct SweepArgs {
    #[command(flatten)]
    pub run: RunSettings,
    /// A grid axis, e.g. `--grid programmes.arena.effect=1.0,1.4,2.0` (repeatable; the
    /// full grid of all combinations is run, the first axis varying slowest).
    #[arg(long = "grid", value_name = "KEY=V1,V2,...", required = true)]
    pub grid: Vec<String>,
}

impl RunArgs {
    /// The CSV options of `--csv-sep` and `--decimal-comma`.
    pub fn csv_options(&self) -> Result<CsvOptions, String> {
        let delimiter = match self.csv_sep {
            Some(c) => c,
            None if self.decimal_comma => b';',
            None => b',',
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
        value_name = "LO,HI",
        default_value = "0.1,10",
        value_parser = ValueCheck(bounds)
    )]
    pub bounds: (f64, f64),
    /// Maximum number of evaluations (each is a full run of the scenario).
    #[arg(long, default_value_t = 80)]
    pub max_evals: usize,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = ValueCheck(threads))]
    pub threads: Option<usize>,
    /// Also write calibration.json to this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------
// Value parsers. A value that is not a number (or not text) gets clap's usual message; a
// value clap parses but the program refuses gets the program's own, printed as
// `error: {message}` like the library's input errors (exit code 2 either way). clap's own
// range check would print e.g. "0 is not in 1..18446744073709551615".

/// A value parser from a function with clap's signature.
#[derive(Clone, Copy)]
struct ValueCheck<T>(fn(&clap::Command, Option<&Arg>, &OsStr) -> Result<T, clap::Error>);

impl<T: Clone + Send + Sync + 'static> TypedValueParser for ValueCheck<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        (self.0)(cmd, arg, value)
    }
}

/// A refused flag value, in the program's words.
fn refused(message: String) -> clap::Error {
    clap::Error::raw(
        clap::error::ErrorKind::ValueValidation,
        format!("{message}\n"),
    )
}

/// Parses `value` as text, then with `FromStr`, with clap's message if either fails.
fn parse<T>(cmd: &clap::Command, arg: Option<&Arg>, value: &OsStr) -> Result<T, clap::Error>
where
    T: std::str::FromStr + Clone + Send + Sync + 'static,
    T::Err: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
{
    StringValueParser::new()
        .try_map(|s| s.parse::<T>())
        .parse_ref(cmd, arg, value)
}

/// `--threads N`: at least one worker thread.
fn threads(cmd: &clap::Command, arg: Option<&Arg>, value: &OsStr) -> Result<usize, clap::Error> {
    match parse::<usize>(cmd, arg, value)? {
        0 => Err(refused("--threads must be at least 1".into())),
        n => Ok(n),
    }
}

/// `--bounds LO,HI`: exactly two numbers.
fn bounds(
    cmd: &clap::Command,
    arg: Option<&Arg>,
    value: &OsStr,
) -> Result<(f64, f64), clap::Error> {
    let text = StringValueParser::new().parse_ref(cmd, arg, value)?;
    let numbers = text
        .split(',')
        .map(|n| parse::<f64>(cmd, arg, OsStr::new(n)))
        .collect::<Result<Vec<_>, _>>()?;
    match numbers[..] {
        [lo, hi] => Ok((lo, hi)),
        _ => Err(refused(format!(
            "--bounds takes two numbers, LO,HI (e.g. `--bounds 0.1,10`), found {}",
            numbers.len()
        ))),
    }
}

/// `--csv-sep CHAR`: one punctuation character, or `tab`.
fn csv_separator(cmd: &clap::Command, arg: Option<&Arg>, value: &OsStr) -> Result<u8, clap::Error> {
    let s = StringValueParser::new().parse_ref(cmd, arg, value)?;
    match s.as_bytes() {
        b"tab" | b"\\t" | b"\t" => Ok(b'\t'),
        // A quote, a dot or a sign would clash with quoting or with the numbers.
        [b] if b.is_ascii_punctuation() && !b"\".+-".contains(b) => Ok(*b),
        _ => Err(refused(format!(
            "--csv-sep {s:?} is not a separator: give one punctuation character such as ';' \
             or '|', or `tab`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    fn help(command: &str) -> String {
        let mut cli = Cli::command();
        let sub = cli
            .find_subcommand_mut(command)
            .expect("the subcommand exists");
        sub.render_long_help().to_string()
    }

    /// `run --help` names every file that `run --out` writes: the result files (from the
    /// exporters themselves, for a one-replication run of a small scenario), the marker,
    /// and a shard's partial.json.
    #[test]
    fn run_help_names_every_file_that_out_writes() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/robustness.toml");
        let mut src = rehabsim::scenario::load(&path).expect("the scenario loads");
        src.apply_overrides(&["scenario.replications=1".to_string()])
            .expect("the override applies");
        let scenario = src.compile().expect("the scenario compiles");
        let out = rehabsim::run(&scenario, &rehabsim::RunOptions::default()).expect("it runs");
        let mut names: Vec<String> = rehabsim::output::result_files_in(
            &scenario,
            &out,
            &CsvOptions::default(),
            Lang::default(),
        )
        .into_iter()
        .map(|(name, _)| name)
        .collect();
        names.push(rehabsim::output::outdir::MARKER.to_string());
        names.push(rehabsim::shard::PARTIAL_FILE.to_string());
        let run = help("run");
        let out_help = run
            .split("--out <DIR>")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .expect("run --help has --out");
        for name in &names {
            assert!(
                out_help.contains(name.as_str()),
                "--out help lacks {name}: {out_help}"
            );
        }
        let merge = help("merge");
        for name in &names[..names.len() - 1] {
            assert!(
                merge.contains(name.as_str()),
                "merge --out help lacks {name}: {merge}"
            );
        }
    }

    fn parse_err(args: &[&str]) -> String {
        match Cli::try_parse_from(args) {
            Ok(_) => panic!("{args:?} parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn refused_values_read_like_the_other_errors() {
        for command in ["run", "tornado"] {
            assert_eq!(
                parse_err(&["rehabsim", command, "s.toml", "--threads", "0"]),
                "error: --threads must be at least 1\n"
            );
        }
        assert_eq!(
            parse_err(&[
                "rehabsim",
                "calibrate",
                "s.toml",
                "--param",
                "p",
                "--bounds",
                "1,2,3"
            ]),
            "error: --bounds takes two numbers, LO,HI (e.g. `--bounds 0.1,10`), found 3\n"
        );
        assert_eq!(
            parse_err(&["rehabsim", "run", "s.toml", "--csv-sep", "+"]),
            "error: --csv-sep \"+\" is not a separator: give one punctuation character such as \
             ';' or '|', or `tab`\n"
        );
        // Not a number: clap's own message, naming the flag and the value.
        let e = parse_err(&[
            "rehabsim",
            "calibrate",
            "s.toml",
            "--param",
            "p",
            "--bounds",
            "1,x",
        ]);
        assert!(
            e.starts_with("error: invalid value 'x' for '--bounds <LO,HI>'"),
            "{e}"
        );
    }

    #[test]
    fn accepted_values() {
        let Command::Calibrate(c) =
            Cli::parse_from(["rehabsim", "calibrate", "s.toml", "--param", "p"]).command
        else {
            panic!("calibrate")
        };
        assert_eq!(c.bounds, (0.1, 10.0));
        let Command::Run(r) = Cli::parse_from([
            "rehabsim",
            "run",
            "s.toml",
            "--csv-sep",
            "tab",
            "--threads",
            "3",
            "--seed",
            "7",
        ])
        .command
        else {
            panic!("run")
        };
        assert_eq!((r.csv_sep, r.run.threads), (Some(b'\t'), Some(3)));
        assert_eq!(r.run.overrides(), ["scenario.seed=7"]);
    }
}
