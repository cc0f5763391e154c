//! Exporters: each turns results into bytes (so that byte-identity and golden tests are
//! trivial); [`write_atomic`] is the only function here that touches the file system.

pub mod analysis;
pub mod charts;
pub mod csv;
pub mod escape;
pub mod html;
pub mod json;
pub mod outdir;
pub mod table;

use std::io::Write;
use std::path::Path;

use crate::i18n::Lang;
use crate::{RunOutput, Scenario};

pub use outdir::{REPORT_FILE, SCENARIO_FILE};

/// Everything a run writes to its output folder, as `(file name, bytes)`, in the order
/// they are written. `rehabsim run --out` and `rehabsim merge` both write exactly this.
/// The report is in the default language; see [`result_files_in`].
pub fn result_files(
    scenario: &Scenario,
    out: &RunOutput,
    csv_opts: &csv::CsvOptions,
) -> Vec<(String, Vec<u8>)> {
    result_files_in(scenario, out, csv_opts, Lang::default())
}

/// As [`result_files`], with `report.html` in `lang`.
pub fn result_files_in(
    scenario: &Scenario,
    out: &RunOutput,
    csv_opts: &csv::CsvOptions,
    lang: Lang,
) -> Vec<(String, Vec<u8>)> {
    let occupancy = csv::occupancy_csv(&scenario.arms, &out.reps, csv_opts);
    // The report reads the occupancy back from the CSV bytes, exactly as `rehabsim
    // report` reads the file, so that both give the same page.
    let occ = html::Occupancy::parse(&occupancy).unwrap_or_default();
    let report = html::render(
        &html::Report {
            summary: &out.summary,
            models: &scenario.arms,
            scenario_text: &scenario.source.text,
            occupancy: &occ,
            tornado: None,
        },
        lang,
    );
    vec![
        ("summary.json".into(), json::summary_json(&out.summary)),
        (
            "balance.csv".into(),
            csv::balance_csv(&out.summary, csv_opts),
        ),
        ("occupancy.csv".into(), occupancy),
        (
            SCENARIO_FILE.into(),
            scenario.source.text.clone().into_bytes(),
        ),
        (REPORT_FILE.into(), report),
    ]
}

/// Write `bytes` to `dir/name` atomically: a temporary file in the same folder
/// ([`tempfile`], removed again if anything fails), flushed and synced, then renamed over
/// the final name. A reader never sees a half-written file under the final name, even if
/// the process is killed.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // A temporary file is its owner's only (0600), and the renamed file would stay so:
    // ask for what `File::create` gives, read and write for all less the umask.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    Ok(())
}
