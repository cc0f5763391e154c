//! Exporters: each turns results into bytes (so that byte-identity and golden tests are
//! trivial); [`write_atomic`] is the only function here that touches the file system.

pub mod csv;
pub mod json;
pub mod outdir;
pub mod table;

use std::io::Write;
use std::path::Path;

use crate::{RunOutput, Scenario};

/// Everything a run writes to its output folder, as `(file name, bytes)`, in the order
/// they are written. `rehabsim run --out` and `rehabsim merge` both write exactly this.
pub fn result_files(
    scenario: &Scenario,
    out: &RunOutput,
    csv_opts: &csv::CsvOptions,
) -> Vec<(String, Vec<u8>)> {
    vec![
        ("summary.json".into(), json::summary_json(&out.summary)),
        (
            "balance.csv".into(),
            csv::balance_csv(&out.summary, csv_opts),
        ),
        (
            "occupancy.csv".into(),
            csv::occupancy_csv(&scenario.arms, &out.reps, csv_opts),
        ),
    ]
}

/// Write `bytes` to `dir/name` atomically: a temporary file in the same folder, flushed
/// and synced, then renamed over the final name. A reader never sees a half-written file
/// under the final name, even if the process is killed.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
