//! The `rehabsim` binary: parse arguments, call the library, print the error, exit.

mod cli;
mod progress;

use std::io::{IsTerminal, Write};
use std::path::Path;
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
        cli::Command::Report(a) => report(a),
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
    let csv_opts = a.csv_options().map_err(Error::Input)?;
    let base = scenario.base();
    let progress = progress::Progress::new(
        !a.quiet && std::io::stderr().is_terminal(),
        base.replications as usize,
        base.population.persons as f64
            * f64::from(base.horizon * base.months_per_step())
            * scenario.arms.len() as f64,
    );
    let out = pool.install(|| {
        rehabsim::run_with_progress(&scenario, &rehabsim::RunOptions::default(), &|done| {
            progress.update(done)
        })
    });
    progress.finish();
    let out = out?;
    if !a.quiet {
        let text = output::table::render(&out.summary);
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(text.as_bytes());
        let _ = so.flush();
    }
    if let Some(dir) = &a.out {
        for (name, bytes) in output::result_files_in(&scenario, &out, &csv_opts, a.lang.into()) {
            output::write_atomic(dir, &name, &bytes).map_err(|e| {
                Error::Io(format!("cannot write {}: {e}", dir.join(&name).display()))
            })?;
        }
        // A sensitivity run may have left its tornado.json here: draw it too.
        if dir.join(TORNADO_FILE).exists() {
            let (html, warnings) = render_saved(dir, a.lang.into())?;
            for w in warnings {
                eprintln!("warning: {w}");
            }
            write_file(dir, output::REPORT_FILE, &html)?;
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
            Err(e) => Err(Error::Io(format!("cannot read {}: {e}", path.display()))),
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
    output::write_atomic(dir, name, bytes)
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", dir.join(name).display())))
}

/// Peak resident memory of this process (VmHWM) in MiB, where the OS reports it.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
