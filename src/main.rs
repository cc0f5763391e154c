//! The `rehabsim` binary: parse arguments, call the library, print the error, exit.

mod cli;
mod progress;

use std::io::{IsTerminal, Write};
use std::path::Path;
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
            eprintln!("error: {}", e.report());
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
                sc.arms().len(),
                sc.arms()
                    .iter()
                    .map(|m| m.arm().id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                sc.base().states().len(),
                sc.base().actors().len(),
                sc.base().items().len(),
                sc.uncertain().len()
            );
            Ok(())
        }
        cli::Command::Run(a) => run(a, interrupted),
        cli::Command::Merge(a) => merge(a),
        cli::Command::Calibrate(a) => calibrate(a),
        cli::Command::Report(a) => report(a),
        cli::Command::Tornado(a) => tornado(a),
        cli::Command::Sweep(a) => sweep(a),
    }
}

fn run(a: cli::RunArgs, interrupted: &Arc<AtomicBool>) -> Result<(), Error> {
    let start = Instant::now();
    let mut src = rehabsim::scenario::load(&a.run.scenario.scenario)?;
    src.apply_overrides(&a.run.overrides())?;
    let scenario = src.compile()?;
    if let (Some(dir), None) = (&a.run.out, a.shard) {
        output::outdir::check(dir, scenario.base().name(), a.force).map_err(Error::Input)?;
    }
    let pool = thread_pool(a.run.threads)?;
    let mut opts = match a.shard {
        Some(spec) => shard_options(&scenario, spec, &a)?,
        None => rehabsim::RunOptions::default(),
    };
    opts.cancel = Some(Arc::clone(interrupted));
    let csv_opts = a.csv_options().map_err(Error::Input)?;
    let base = scenario.base();
    let reps_to_run = opts
        .replications
        .as_ref()
        .map_or(base.replications() as usize, Vec::len);
    let progress = progress::Progress::new(
        !a.run.quiet && std::io::stderr().is_terminal(),
        reps_to_run,
        base.population().persons as f64
            * f64::from(base.horizon() * base.months_per_step())
            * scenario.arms().len() as f64,
    );
    if a.cohort && a.shard.is_some() {
        return Err(Error::Input(
            "--cohort computes exact expected values in one pass: it cannot be sharded; drop --shard".into(),
        ));
    }
    let out = pool.install(|| {
        if a.cohort {
            rehabsim::cohort_mode::run(&scenario, &opts)
        } else {
            rehabsim::run_with_progress(&scenario, &opts, &|done| progress.update(done))
        }
    });
    progress.finish();
    let mut out = out?;
    // The throughput line reports the simulation itself; the analyses print their own.
    let run_secs = start.elapsed().as_secs_f64();
    if a.shard.is_none() && !a.cohort {
        pool.install(|| analyse(&scenario, &mut out, &a))?;
    }
    if interrupted.load(Ordering::SeqCst) {
        return Err(Error::Interrupted);
    }
    if !a.run.quiet && a.shard.is_none() {
        let text = output::table::render(&out.summary);
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(text.as_bytes());
        let _ = so.flush();
    }
    if let Some(dir) = &a.run.out {
        if a.shard.is_none() {
            let src = &scenario.source();
            let marker = output::outdir::Marker::new(
                scenario.base().name(),
                &src.path,
                &src.text,
                &src.overrides,
            );
            write_file(dir, output::outdir::MARKER, &marker.to_bytes())?;
        }
        let files = match a.shard {
            Some(spec) => vec![shard_file(&scenario, spec, &out)?],
            None => output::result_files_in(&scenario, &out, &csv_opts, a.lang.into()),
        };
        for (name, bytes) in files {
            output::write_atomic(dir, &name, &bytes)
                .map_err(|e| Error::write(&dir.join(&name), e))?;
        }
        // A sensitivity run may have left its tornado.json here: draw it too.
        if a.shard.is_none() && dir.join(TORNADO_FILE).exists() {
            let (html, warnings) = render_saved(dir, a.lang.into())?;
            for w in warnings {
                eprintln!("warning: {w}");
            }
            write_file(dir, output::REPORT_FILE, &html)?;
        }
    }
    let secs = run_secs;
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

/// The run options of `run --shard K/N`, which writes only a partial result and so needs
/// `--out`.
fn shard_options(
    scenario: &rehabsim::Scenario,
    spec: rehabsim::shard::ShardSpec,
    a: &cli::RunArgs,
) -> Result<rehabsim::RunOptions, Error> {
    if a.run.out.is_none() {
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
    let bytes = rehabsim::shard::encode(&header, &out.reps, &out.evaluated.valuations)?;
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
    // The same marker as `run --out`, so the merged folder is the unsharded run's.
    let src = &scenario.source();
    let marker =
        output::outdir::Marker::new(scenario.base().name(), &src.path, &src.text, &src.overrides);
    write_file(&a.out, output::outdir::MARKER, &marker.to_bytes())?;
    for (name, bytes) in output::result_files(&scenario, &out, &csv_opts) {
        output::write_atomic(&a.out, &name, &bytes)
            .map_err(|e| Error::write(&a.out.join(&name), e))?;
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
    let (lo, hi) = a.bounds;
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
        output::write_atomic(dir, "calibration.json", &rehabsim::calibrate::to_json(&c))
            .map_err(|e| Error::write(&dir.join("calibration.json"), e))?;
    }
    Ok(())
}

fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Error> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        b = b.num_threads(t);
    }
    b.build()
        .map_err(|e| Error::Internal(format!("cannot start the thread pool: {e}")))
}

/// Written by `rehabsim tornado --out DIR`; drawn in the report when present.
const TORNADO_FILE: &str = "tornado.json";

fn report(a: cli::ReportArgs) -> Result<(), Error> {
    let (html, warnings) = render_saved(&a.dir, a.lang.into())?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let target = a.output.unwrap_or_else(|| a.dir.join(output::REPORT_FILE));
    let (dir, name) = match (target.parent(), target.file_name()) {
        (Some(d), Some(n)) => (d, n.to_string_lossy().to_string()),
        _ => {
            return Err(Error::Input(format!(
                "--output {}: give a file name, e.g. report.html",
                target.display()
            )));
        }
    };
    write_file(dir, &name, &html)?;
    eprintln!(
        "wrote {} ({} kB)",
        target.display(),
        html.len().div_ceil(1000)
    );
    Ok(())
}

/// The report of a run folder, from its saved files, and warnings about files left out.
fn render_saved(dir: &Path, lang: rehabsim::i18n::Lang) -> Result<(Vec<u8>, Vec<String>), Error> {
    let read = |name: &str| -> Result<Option<String>, Error> {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::read(&path, e)),
        }
    };
    let need = |name: &str| -> Result<String, Error> {
        read(name)?.ok_or_else(|| {
            Error::Input(format!(
                "{} is missing: `rehabsim report DIR` needs the folder of `rehabsim run \
                 SCENARIO --out DIR` (summary.json, occupancy.csv and {})",
                dir.join(name).display(),
                output::SCENARIO_FILE
            ))
        })
    };
    let summary_json = need("summary.json")?;
    let occupancy_csv = need("occupancy.csv")?;
    let scenario_toml = need(output::SCENARIO_FILE)?;
    let tornado_json = read(TORNADO_FILE)?;
    let saved = output::html::Saved::parse(output::html::SavedTexts {
        dir,
        summary_json: &summary_json,
        occupancy_csv: &occupancy_csv,
        scenario_toml: &scenario_toml,
        tornado_json: tornado_json.as_deref(),
    })?;
    Ok((output::html::render(&saved.report(), lang), saved.warnings))
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), Error> {
    output::write_atomic(dir, name, bytes).map_err(|e| Error::write(&dir.join(name), e))
}

/// Peak resident memory of this process (VmHWM) in MiB, where the OS reports it.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
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

fn load_batch(b: &cli::RunSettings) -> Result<rehabsim::scenario::Source, Error> {
    let mut src = rehabsim::scenario::load(&b.scenario.scenario)?;
    src.apply_overrides(&b.overrides())?;
    Ok(src)
}

fn write_files(dir: &std::path::Path, files: &[(&str, Vec<u8>)]) -> Result<(), Error> {
    for (name, bytes) in files {
        output::write_atomic(dir, name, bytes).map_err(|e| Error::write(&dir.join(name), e))?;
    }
    Ok(())
}

fn tornado(a: cli::TornadoArgs) -> Result<(), Error> {
    let start = Instant::now();
    let scenario = load_batch(&a.run)?.compile()?;
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
    let pool = thread_pool(a.run.threads)?;
    let t = pool.install(|| rehabsim::analysis::tornado::run(&scenario, &opts))?;
    if !a.run.quiet {
        print!("{}", output::analysis::tornado_text(&t));
    }
    if let Some(dir) = &a.run.out {
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
    let src = load_batch(&a.run)?;
    let grids = a
        .grid
        .iter()
        .map(|g| rehabsim::analysis::sweep::Grid::parse(g))
        .collect::<Result<Vec<_>, _>>()?;
    let pool = thread_pool(a.run.threads)?;
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
    if !a.run.quiet {
        print!("{}", output::analysis::sweep_text(&s));
    }
    if let Some(dir) = &a.run.out {
        write_files(dir, &[("sweep.csv", output::analysis::sweep_csv(&s))])?;
    }
    eprintln!(
        "sweep: {} grid points in {:.2} s",
        s.points,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

// See Cargo.toml: many small allocations per replication; results do not depend on it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
