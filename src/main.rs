//! The `rehabsim` binary: parse arguments, call the library, print the error, exit.

mod cli;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::Parser;
use rehabsim::Error;
use rehabsim::output;

fn main() {
    let interrupted = on_interrupt();
    let cli = cli::Cli::parse();
    let code = match dispatch(cli, &interrupted) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}

/// Ctrl-C (SIGINT) sets the returned flag: the run stops before the next replication and
/// exits with code 130, writing no result file. A second Ctrl-C exits at once (files are
/// written atomically, so none is ever left half-written under its final name).
fn on_interrupt() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    match signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT]) {
        Ok(mut signals) => {
            let f = Arc::clone(&flag);
            std::thread::spawn(move || {
                for _ in signals.forever() {
                    if f.swap(true, Ordering::SeqCst) {
                        eprintln!("interrupted again: stopping now");
                        std::process::exit(130);
                    }
                    eprintln!(
                        "interrupted: stopping after the replications in progress (Ctrl-C again to stop at once)"
                    );
                }
            });
        }
        Err(e) => eprintln!("warning: cannot handle Ctrl-C cleanly: {e}"),
    }
    flag
}

fn dispatch(cli: cli::Cli, interrupted: &Arc<AtomicBool>) -> Result<(), Error> {
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
        cli::Command::Run(a) => run(a, interrupted),
    }
}

fn run(a: cli::RunArgs, interrupted: &Arc<AtomicBool>) -> Result<(), Error> {
    let start = Instant::now();
    let mut src = rehabsim::scenario::load(&a.scenario.scenario)?;
    src.apply_overrides(&a.overrides())?;
    let scenario = src.compile()?;
    if let Some(dir) = &a.out {
        output::outdir::check(dir, &scenario.base().name, a.force).map_err(Error::Input)?;
    }
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
    let opts = rehabsim::RunOptions {
        cancel: Some(Arc::clone(interrupted)),
        ..rehabsim::RunOptions::default()
    };
    let out = pool.install(|| rehabsim::run(&scenario, &opts))?;
    if interrupted.load(Ordering::SeqCst) {
        return Err(Error::Interrupted);
    }
    if !a.quiet {
        let text = output::table::render(&out.summary);
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(text.as_bytes());
        let _ = so.flush();
    }
    if let Some(dir) = &a.out {
        let csv_opts = output::csv::CsvOptions::default();
        let src = &scenario.source;
        let marker = output::outdir::Marker::new(
            &scenario.base().name,
            &src.path,
            &src.text,
            &src.overrides,
        );
        output::write_atomic(dir, output::outdir::MARKER, &marker.to_bytes()).map_err(|e| {
            Error::Io(format!(
                "cannot write {}: {e}",
                dir.join(output::outdir::MARKER).display()
            ))
        })?;
        for (name, bytes) in output::result_files(&scenario, &out, &csv_opts) {
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

/// Peak resident memory of this process (VmHWM) in MiB, where the OS reports it.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
