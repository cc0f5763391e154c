//! The `rehabsim` binary: parse arguments, call the library, print the error, exit.

mod cli;

use std::io::Write;
use std::time::Instant;

use clap::Parser;
use rehabsim::Error;
use rehabsim::output;

fn main() {
    let cli = cli::Cli::parse();
    let code = match dispatch(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}

fn dispatch(cli: cli::Cli) -> Result<(), Error> {
    match cli.command {
        cli::Command::Validate(a) => {
            let mut src = rehabsim::scenario::load(&a.scenario)?;
            src.apply_overrides(&a.set)?;
            let sc = src.compile()?;
            println!(
                "{}: valid — {} arms ({}), {} states, {} actors, {} items, {} uncertain values",
                a.scenario.display(),
                sc.arms.len(),
                sc.arms
                    .iter()
                    .map(|m| m.arm.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                sc.base().states.len(),
                sc.base().actors.len(),
                sc.base().items.len(),
                sc.uncertain.len()
            );
            Ok(())
        }
        cli::Command::Run(a) => run(a),
        cli::Command::Merge(a) => merge(a),
        cli::Command::Calibrate(a) => calibrate(a),
    }
}

fn run(a: cli::RunArgs) -> Result<(), Error> {
    let start = Instant::now();
    let mut src = rehabsim::scenario::load(&a.scenario.scenario)?;
    src.apply_overrides(&a.overrides())?;
    let scenario = src.compile()?;
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(t) = a.threads {
            if t == 0 {
                return Err(Error::Input("--threads must be at least 1".into()));
            }
            b = b.num_threads(t);
        }
        b.build()
            .map_err(|e| Error::Internal(format!("cannot start the thread pool: {e}")))?
    };
    let opts = match a.shard {
        Some(spec) => shard_options(&scenario, spec, &a)?,
        None => rehabsim::RunOptions::default(),
    };
    let out = pool.install(|| rehabsim::run(&scenario, &opts))?;
    if !a.quiet && a.shard.is_none() {
        let text = output::table::render(&out.summary);
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(text.as_bytes());
        let _ = so.flush();
    }
    if let Some(dir) = &a.out {
        let csv_opts = output::csv::CsvOptions::default();
        let files = match a.shard {
            Some(spec) => vec![shard_file(&scenario, spec, &out)?],
            None => output::result_files(&scenario, &out, &csv_opts),
        };
        for (name, bytes) in files {
            output::write_atomic(dir, &name, &bytes).map_err(|e| {
                Error::Io(format!("cannot write {}: {e}", dir.join(&name).display()))
            })?;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let pm = out.person_steps * u64::from(scenario.base().months_per_step());
    eprintln!(
        "{pm} person-months in {secs:.2} s ({:.3e} person-months/s), peak memory {} MiB",
        pm as f64 / secs.max(1e-9),
        peak_memory_mib().map_or("unknown".to_string(), |m| format!("{m:.0}"))
    );
    Ok(())
}

/// The run options of `run --shard K/N`, which writes only a partial result and so needs
/// `--out`.
fn shard_options(
    scenario: &rehabsim::Scenario,
    spec: rehabsim::shard::ShardSpec,
    a: &cli::RunArgs,
) -> Result<rehabsim::RunOptions, Error> {
    if a.out.is_none() {
        return Err(Error::Input(format!(
            "--shard {spec} needs --out DIR: the folder where the shard writes {} for \
             `rehabsim merge`",
            rehabsim::shard::PARTIAL_FILE
        )));
    }
    rehabsim::shard::plan(scenario, spec)
}

/// `partial.json` of shard `spec`, with a line on stderr saying what it holds.
fn shard_file(
    scenario: &rehabsim::Scenario,
    spec: rehabsim::shard::ShardSpec,
    out: &rehabsim::RunOutput,
) -> Result<(String, Vec<u8>), Error> {
    let header = rehabsim::shard::header(scenario, spec);
    let bytes = rehabsim::shard::encode(&header, &out.reps)?;
    eprintln!(
        "shard {spec}: replications {}–{} of {} ({} kB)",
        header.first_replication,
        header.last_replication,
        header.replications_total,
        bytes.len().div_ceil(1000)
    );
    Ok((rehabsim::shard::PARTIAL_FILE.to_string(), bytes))
}

fn merge(a: cli::MergeArgs) -> Result<(), Error> {
    let start = Instant::now();
    let parts = a
        .parts
        .iter()
        .map(|p| rehabsim::shard::read_part(p))
        .collect::<Result<Vec<_>, _>>()?;
    let n = parts.len();
    let (scenario, out) = rehabsim::shard::merge(parts)?;
    if !a.quiet {
        let text = output::table::render(&out.summary);
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(text.as_bytes());
        let _ = so.flush();
    }
    let csv_opts = output::csv::CsvOptions::default();
    for (name, bytes) in output::result_files(&scenario, &out, &csv_opts) {
        output::write_atomic(&a.out, &name, &bytes)
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", a.out.join(&name).display())))?;
    }
    eprintln!(
        "merged {n} shards ({} replications) into {} in {:.2} s",
        out.reps.len(),
        a.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn calibrate(a: cli::CalibrateArgs) -> Result<(), Error> {
    let mut src = rehabsim::scenario::load(&a.scenario.scenario)?;
    src.apply_overrides(&a.scenario.set)?;
    let [lo, hi] = a.bounds[..] else {
        return Err(Error::Input(format!(
            "--bounds takes two numbers, LO,HI (e.g. `--bounds 0.1,10`), found {}",
            a.bounds.len()
        )));
    };
    let cfg = rehabsim::calibrate::Config {
        params: a.params.clone(),
        targets: a.targets.clone(),
        replications: a.replications,
        bounds: (lo, hi),
        max_evals: a.max_evals,
        ..Default::default()
    };
    let pool = thread_pool(a.threads)?;
    let progress = |n: usize, theta: &[f64], f: f64| {
        let th: Vec<String> = theta.iter().map(|t| format!("{t:.4}")).collect();
        eprintln!("evaluation {n}: θ = [{}], objective {f:.4}", th.join(", "));
    };
    let c = pool.install(|| rehabsim::calibrate::calibrate_with_progress(&src, &cfg, &progress))?;
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(rehabsim::calibrate::render(&c).as_bytes());
    let _ = so.flush();
    if let Some(dir) = &a.out {
        output::write_atomic(dir, "calibration.json", &rehabsim::calibrate::to_json(&c)).map_err(
            |e| {
                Error::Io(format!(
                    "cannot write {}: {e}",
                    dir.join("calibration.json").display()
                ))
            },
        )?;
    }
    Ok(())
}

fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Error> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        if t == 0 {
            return Err(Error::Input("--threads must be at least 1".into()));
        }
        b = b.num_threads(t);
    }
    b.build()
        .map_err(|e| Error::Internal(format!("cannot start the thread pool: {e}")))
}

/// Peak resident memory of this process (VmHWM) in MiB, where the OS reports it.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
