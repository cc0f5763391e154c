//! Value stability: seeded runs pinned as snapshots, so any change of an output byte fails.
//!
//! Two tiny seeded runs of the default scenario are pinned as insta
//! snapshots (`snapshots/integration__golden__*.snap`). Any change to the draws
//! (generator, stream addressing, order of events) or to the results changes the pinned
//! text and fails here, loudly — as rand's value-stability tests do. Optimisations of the
//! hot loop must leave it unchanged; a deliberate change of the model must update the
//! snapshots (`cargo insta review`, see `main.rs`) and say why in the commit.
//!
//! summary.json is too large to read in a snapshot (about 200 kB), so each snapshot holds
//! what a reviewer can read when something moves:
//! * the SHA-256 of summary.json's bytes: every byte is pinned, as by the digests this
//!   test pinned before the snapshots;
//! * summary.json part by part (each arm's and each difference's fields, every other
//!   top-level key): a short value as it is written, a longer one as its line count and
//!   the start of its SHA-256, so a failure says *which* parts moved;
//! * the terminal balance sheet (`output::table::render`), so it says by how much.

use rehabsim::RunOptions;
use sha2::{Digest, Sha256};

use crate::util;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The pinned text of a run of the default scenario with `overrides`.
fn pinned(overrides: &[&str]) -> String {
    let sc = util::scenario(util::path("scenarios/default.toml"), overrides);
    let run = rehabsim::run(&sc, &RunOptions::default()).unwrap();
    let bytes = rehabsim::output::json::summary_json(&run.summary);
    let json = std::str::from_utf8(&bytes).expect("summary.json is UTF-8");
    format!(
        "summary.json: {} bytes, sha256 {}\n\n\
         summary.json by part (a short value as written; otherwise its lines and sha256):\n\
         {}\n\
         The terminal balance sheet (output::table::render):\n\
         {}",
        bytes.len(),
        sha256_hex(&bytes),
        parts(json),
        rehabsim::output::table::render(&run.summary)
    )
}

/// summary.json cut into parts by the keys that start them: `arms.ARM.FIELD` and
/// `differences.DIFFERENCE.FIELD` for the arms and differences, the top-level key for
/// everything else. A part of one line shows its value when it is short; any other part
/// shows its number of lines and the first 12 hex digits of their SHA-256. A line that
/// only opens an arm, a difference or their table belongs to no part (the digest of the
/// whole file still pins it).
fn parts(json: &str) -> String {
    let mut parts: Vec<(String, Vec<&str>)> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    for line in json.lines() {
        if let Some((level, key)) = key_of(line) {
            let split = matches!(
                path.first().map(String::as_str),
                Some("arms" | "differences")
            );
            if level == 1 || (level <= 3 && split) {
                path.truncate(level - 1);
                path.push(key.to_string());
                let opens = line.ends_with('{') && (level == 1 || level == 2);
                if opens && (level == 2 || key == "arms" || key == "differences") {
                    continue;
                }
                parts.push((path.join("."), Vec::new()));
            }
        }
        if let Some((_, lines)) = parts.last_mut() {
            lines.push(line);
        }
    }
    let width = parts.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, lines) in &parts {
        let value = lines[0]
            .split_once("\": ")
            .map(|(_, v)| v.trim_end_matches(','));
        let shown = match value {
            Some(v) if lines.len() == 1 && v.chars().count() <= 80 => v.to_string(),
            _ => {
                let hash = sha256_hex(lines.join("\n").as_bytes());
                let n = lines.len();
                let s = if n == 1 { "" } else { "s" };
                format!("{n} line{s}, sha256 {}", &hash[..12])
            }
        };
        out.push_str(&format!("  {name:<width$}  {shown}\n"));
    }
    out
}

/// The nesting level (1 for a top-level key) and the key of a line `"KEY": …` of
/// pretty-printed JSON (two spaces per level).
fn key_of(line: &str) -> Option<(usize, &str)> {
    let rest = line.trim_start_matches(' ');
    let indent = line.len() - rest.len();
    let key = rest.strip_prefix('"')?.split_once("\": ")?.0;
    (indent > 0 && indent.is_multiple_of(2) && !key.contains('"')).then_some((indent / 2, key))
}

#[test]
fn summary_digest_of_a_small_seeded_run_is_pinned() {
    // 3 replications (uncertain values drawn per replication), 300 persons, 36 months:
    // exercises the PSA draw, the cohort draw, every arm and the ledger.
    let sets = [
        "scenario.replications=3",
        "population.persons=300",
        "scenario.horizon=36",
        "scenario.seed=20240601",
    ];
    insta::with_settings!({
        description => format!("scenarios/default.toml --set {}", sets.join(" --set ")),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(pinned(&sets));
    });
}

#[test]
fn summary_digest_spanning_several_chunks_is_pinned() {
    // More than one chunk of 8192 persons, so the chunked reduction is covered too.
    let sets = [
        "scenario.replications=1",
        "population.persons=9000",
        "scenario.horizon=13",
        "scenario.seed=7",
    ];
    insta::with_settings!({
        description => format!("scenarios/default.toml --set {}", sets.join(" --set ")),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(pinned(&sets));
    });
}
