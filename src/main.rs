//! The `rehabsim` binary: parse arguments, call the library, print the error, exit.

mod cli;

use std::io::{IsTerminal, Write};
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
            rehabsim::analysis::psa::check_ranges(&sc)?;
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
        cli::Command::Tornado(a) => tornado(a),
        cli::Command::Sweep(a) => sweep(a),
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
    let mut out = pool.install(|| rehabsim::run(&scenario, &rehabsim::RunOptions::default()))?;
    let run_secs = start.elapsed().as_secs_f64();
    pool.install(|| analyse(&scenario, &mut out, &a))?;
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
    let secs = run_secs;
    let pm = out.person_steps * u64::from(scenario.base().months_per_step());
    eprintln!(
        "{pm} person-months in {secs:.2} s ({:.3e} person-months/s), peak memory {} MiB",
        pm as f64 / secs.max(1e-9),
        peak_memory_mib().map_or("unknown".to_string(), |m| format!("{m:.0}"))
    );
    Ok(())
}

/// The analyses that `run` adds to the summary: break-even and the expected mode.
fn analyse(
    scenario: &rehabsim::Scenario,
    out: &mut rehabsim::RunOutput,
    a: &cli::RunArgs,
) -> Result<(), Error> {
    if !a.no_break_even {
        let start = Instant::now();
        let runs = rehabsim::analysis::break_even::attach(scenario, out)?;
        if runs > 0 {
            eprintln!(
                "break-even: {runs} runs of a programme arm in {:.2} s (skip it with --no-break-even)",
                start.elapsed().as_secs_f64()
            );
        }
    }
    if a.expected {
        let start = Instant::now();
        let ex = rehabsim::analysis::expected::run(scenario, a.expected_persons)?;
        eprintln!(
            "expected mode: {} persons per replication in {:.2} s",
            ex.persons,
            start.elapsed().as_secs_f64()
        );
        out.summary.expected = Some(ex);
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

fn load_batch(b: &cli::BatchArgs) -> Result<rehabsim::scenario::Source, Error> {
    let mut src = rehabsim::scenario::load(&b.scenario.scenario)?;
    src.apply_overrides(&b.overrides())?;
    Ok(src)
}

fn write_files(dir: &std::path::Path, files: &[(&str, Vec<u8>)]) -> Result<(), Error> {
    for (name, bytes) in files {
        output::write_atomic(dir, name, bytes)
            .map_err(|e| Error::Io(format!("cannot write {}: {e}", dir.join(name).display())))?;
    }
    Ok(())
}

fn tornado(a: cli::TornadoArgs) -> Result<(), Error> {
    let start = Instant::now();
    let scenario = load_batch(&a.batch)?.compile()?;
    let params = a
        .param
        .iter()
        .map(|p| rehabsim::analysis::tornado::Param::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    let opts = rehabsim::analysis::tornado::TornadoOptions {
        params,
        actor: a.actor.clone(),
        arm: a.arm.clone(),
    };
    let pool = thread_pool(a.batch.threads)?;
    let t = pool.install(|| rehabsim::analysis::tornado::run(&scenario, &opts))?;
    if !a.batch.quiet {
        print!("{}", output::analysis::tornado_text(&t));
    }
    if let Some(dir) = &a.batch.out {
        write_files(
            dir,
            &[
                ("tornado.csv", output::analysis::tornado_csv(&t)),
                ("tornado.json", output::analysis::tornado_json(&t)),
            ],
        )?;
    }
    eprintln!(
        "tornado: {} parameters × 2 runs + base in {:.2} s",
        t.rows.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn sweep(a: cli::SweepArgs) -> Result<(), Error> {
    let start = Instant::now();
    let src = load_batch(&a.batch)?;
    let grids = a
        .grid
        .iter()
        .map(|g| rehabsim::analysis::sweep::Grid::parse(g))
        .collect::<Result<Vec<_>, _>>()?;
    let pool = thread_pool(a.batch.threads)?;
    let s = pool.install(|| {
        rehabsim::analysis::sweep::run(&src, &grids, &|done, total| {
            if std::io::stderr().is_terminal() {
                eprint!("\rsweep: {done}/{total} grid points");
            }
        })
    })?;
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    if !a.batch.quiet {
        print!("{}", output::analysis::sweep_text(&s));
    }
    if let Some(dir) = &a.batch.out {
        write_files(dir, &[("sweep.csv", output::analysis::sweep_csv(&s))])?;
    }
    eprintln!(
        "sweep: {} grid points in {:.2} s",
        s.points,
        start.elapsed().as_secs_f64()
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
