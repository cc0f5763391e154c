//! The files of an output folder ([`SCENARIO_FILE`], [`REPORT_FILE`]) and who owns it:
//! the marker file [`MARKER`] records which scenario wrote the results in it, so that a
//! run of another scenario never silently mixes its files with them (`rehabsim run --out
//! DIR` refuses, unless `--force`).
//!
//! A folder belongs to a scenario by its `[scenario] name`: re-running the same scenario
//! (with other flags, overrides or an edited file) replaces its results in place. A
//! folder without a marker but with a `summary.json` (written before markers existed, or
//! by hand) is recognised by that file's `scenario` field.

use std::path::Path;

/// The copy of the scenario text in a run folder, which `rehabsim report` re-renders from.
pub const SCENARIO_FILE: &str = "scenario.toml";
/// The HTML report in a run folder.
pub const REPORT_FILE: &str = "report.html";

/// The marker file, written (atomically) before the result files.
pub const MARKER: &str = ".rehabsim-run";

/// What the marker records. Only `scenario` decides ownership; the rest is provenance.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Marker {
    pub scenario: String,
    pub file: String,
    /// FNV-1a 64 of the scenario text and the overrides, hex: tells two versions apart.
    pub source_hash: String,
}

impl Marker {
    pub fn new(scenario: &str, file: &Path, text: &str, overrides: &[String]) -> Marker {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text
            .bytes()
            .chain(overrides.iter().flat_map(|o| o.bytes().chain([0])))
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Marker {
            scenario: scenario.to_string(),
            file: file.display().to_string(),
            source_hash: format!("{h:016x}"),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// Check that `dir` may receive the results of scenario `scenario`: it does not exist,
/// holds no rehabsim results, or holds those of the same scenario. `Err` says whose
/// results are there and how to proceed. `force` skips the check.
pub fn check(dir: &Path, scenario: &str, force: bool) -> Result<(), String> {
    if force {
        return Ok(());
    }
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "--out {} is a file, not a folder: choose a folder name",
            dir.display()
        ));
    }
    let owner = match std::fs::read(dir.join(MARKER)) {
        Ok(bytes) => match serde_json::from_slice::<Marker>(&bytes) {
            Ok(m) => Some((m.scenario, format!(" (from {})", m.file))),
            Err(_) => {
                return Err(format!(
                    "{} holds a {MARKER} marker that rehabsim cannot read, so it cannot tell whose results are in {}; choose another `--out` folder, or add `--force` to write there anyway",
                    dir.join(MARKER).display(),
                    dir.display()
                ));
            }
        },
        Err(_) => match std::fs::read(dir.join("summary.json")) {
            Ok(bytes) => {
                let name = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("scenario")?.as_str().map(str::to_string));
                match name {
                    Some(n) => Some((n, String::new())),
                    None => {
                        return Err(format!(
                            "{} already holds a summary.json that is not rehabsim's; choose another `--out` folder, or add `--force` to replace it",
                            dir.display()
                        ));
                    }
                }
            }
            Err(_) => None,
        },
    };
    match owner {
        Some((name, from)) if name != scenario => Err(format!(
            "{} holds the results of scenario \"{name}\"{from}, and this is scenario \"{scenario}\": writing there would mix the two. Choose another `--out` folder, or add `--force` to replace them",
            dir.display()
        )),
        _ => Ok(()),
    }
}
