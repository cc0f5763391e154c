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
    let out = pool.install(|| {
        if a.cohort {
            rehabsim::cohort_mode::run(&scenario, &rehabsim::RunOptions::default())
        } else {
            rehabsim::run(&scenario, &rehabsim::RunOptions::default())
        }
    })?;
    if !a.quiet {
        let text = output::table::render(&out.summary);
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(text.as_bytes());
        let _ = so.flush();
    }
    if let Some(dir) = &a.out {
        let csv_opts = output::csv::CsvOptions::default();
        for (name, bytes) in output::result_files(&scenario, &out, &csv_opts) {
            output::write_atomic(dir, &name, &bytes).map_err(|e| {
                Error::Io(format!("cannot write {}: {e}", dir.join(&name).display()))
            })?;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    if a.cohort {
        eprintln!(
            "exact expected values (cohort mode, {} replication(s)) in {secs:.2} s",
            out.reps.len()
        );
        return Ok(());
    }
    let pm = out.person_steps * u64::from(scenario.base().months_per_step());
    eprintln!(
        "{pm} person-months in {secs:.2} s ({:.3e} person-months/s), peak memory {} MiB",
        pm as f64 / secs.max(1e-9),
        peak_memory_mib().map_or("unknown".to_string(), |m| format!("{m:.0}"))
    );
    Ok(())
}

/// Peak resident memory of this process (VmHWM) in MiB, where the OS reports it.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
