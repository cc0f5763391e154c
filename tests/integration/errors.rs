//! Malformed input: golden error messages (snapshots), library and binary; mutation fuzzing.
//!
//! Every malformed scenario in `tests/data/bad/` is refused with exactly its golden message
//! — through the library (`ScenarioError`'s Display) and through the binary (exit code 2,
//! nothing on stdout, the message on stderr) — and random mutations of the shipped
//! scenarios never panic.
//!
//! A case is `tests/data/bad/NAME.toml`, whose first line says what is wrong and whose
//! `# set: K=V` lines are applied as `--set K=V`. Its golden message is the insta snapshot
//! `tests/integration/snapshots/integration__errors__NAME.snap`: the exact text, file
//! paths as the command line prints them (relative to the project root), and then one
//! newline, which [`assert_golden`] checks because a snapshot does not keep trailing
//! newlines. A new case fails until its snapshot is accepted. After a deliberate change
//! of wording, review and accept the new messages with `cargo insta review`, or write them
//! with `INSTA_UPDATE=always cargo test --release --test integration errors::` and review
//! the snapshots' diff with git before committing (see `main.rs`).

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use rehabsim::scenario;

use crate::util;

const BAD: &str = "tests/data/bad";

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(BAD)
        .expect("tests/data/bad exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| Path::new(BAD).join(p.file_name().expect("a file name")))
        .collect();
    v.sort();
    v
}

/// The `# set: K=V` lines of a case.
fn sets(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).expect("readable case");
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| l.strip_prefix("# set: "))
        .map(|s| s.trim().to_string())
        .collect()
}

/// The library's message for a case; `None` if the case is accepted.
fn library_message(path: &Path) -> Option<String> {
    let mut src = match scenario::load(path) {
        Ok(s) => s,
        Err(e) => return Some(e.to_string()),
    };
    if let Err(e) = src.apply_overrides(&sets(path)) {
        return Some(e.to_string());
    }
    src.compile().err().map(|e| e.to_string())
}

/// The library's message for a case, which must be refused.
fn message(path: &Path) -> String {
    library_message(path)
        .unwrap_or_else(|| panic!("{}: accepted, but it is malformed", path.display()))
}

/// What a case is for: its first line, without the `# `.
fn what(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("readable case");
    let text = String::from_utf8_lossy(&bytes);
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("# ").unwrap_or(first).to_string()
}

/// `message` is the golden message of `case`: its text is the snapshot named after the
/// case, and it ends in exactly one newline.
fn assert_golden(case: &Path, message: &str) {
    let name = case
        .file_stem()
        .expect("a file name")
        .to_string_lossy()
        .into_owned();
    let text = message.strip_suffix('\n').unwrap_or(message);
    assert!(
        message.ends_with('\n') && text.trim_end() == text,
        "{}: the message must end in exactly one newline: {message:?}",
        case.display()
    );
    insta::with_settings!({
        description => format!("{}: {}", case.display(), what(case)),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn there_are_enough_cases() {
    // Issue #7 asks for at least 15, issue #2 for a dozen kinds.
    assert!(cases().len() >= 30, "only {} cases", cases().len());
}

#[test]
fn every_bad_scenario_is_refused_with_its_golden_message() {
    // Every case is checked, and all that fail are named at the end; each failing
    // snapshot prints its difference as it fails.
    let mut failures = Vec::new();
    for case in cases() {
        let Some(got) = library_message(&case) else {
            failures.push(format!("{}: accepted, but it is malformed", case.display()));
            continue;
        };
        if std::panic::catch_unwind(|| assert_golden(&case, &got)).is_err() {
            failures.push(format!(
                "{}: not its golden message (the difference is printed above)",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_message_names_the_file_and_most_name_line_column_and_key() {
    let mut with_position = 0;
    for case in cases() {
        // The message the golden test above holds equal to the snapshot.
        let msg = message(&case);
        let file = case.display().to_string();
        assert!(msg.starts_with(&format!("{file} has ")), "{msg}");
        // Every problem line starts with the file name.
        for line in msg.lines().skip(1) {
            assert!(line.starts_with(&format!("  {file}")), "{line}");
        }
        if msg.contains(&format!("{file}:")) {
            with_position += 1;
        }
    }
    // All but the empty, non-UTF-8 and --set cases carry FILE:LINE:COL.
    assert!(with_position >= cases().len() - 5, "{with_position}");
}

/// The message of the binary's `error: MESSAGE\n` on stderr.
fn stderr_message(out: &std::process::Output) -> &str {
    let stderr = std::str::from_utf8(&out.stderr).expect("stderr is UTF-8");
    stderr
        .strip_prefix("error: ")
        .and_then(|m| m.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("not `error: MESSAGE\\n`: {stderr:?}"))
}

#[test]
fn the_binary_reports_each_case_on_stderr_with_exit_code_2() {
    for case in cases() {
        let path = case.display().to_string();
        let mut args = vec!["validate".to_string(), path.clone()];
        for s in sets(&case) {
            args.push("--set".into());
            args.push(s);
        }
        let out = util::rehabsim()
            .args(&args)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty());
        assert_golden(&case, stderr_message(out.get_output()));
    }
}

#[test]
fn run_refuses_bad_input_before_simulating() {
    for name in [
        "syntax_error",
        "negative_hazard",
        "forced_transition_loop",
        "ledger_overflow",
    ] {
        let path = format!("{BAD}/{name}.toml");
        let tmp = util::tmp("errors");
        let dir = tmp.join(name);
        let out = util::rehabsim()
            .args(["run", &path, "--out", &dir.display().to_string()])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty());
        assert_golden(Path::new(&path), stderr_message(out.get_output()));
        assert!(!dir.exists(), "{name}: nothing may be written");
    }
}

#[test]
fn a_missing_file_is_a_bad_input() {
    util::rehabsim()
        .args(["validate", "tests/data/bad/no_such_file.toml"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr("error: tests/data/bad/no_such_file.toml has 1 problem:\n  tests/data/bad/no_such_file.toml: cannot read the file: No such file or directory (os error 2)\n\n");
}

/// A small deterministic generator (xorshift64*), so the mutations are the same on
/// every run and a failure names a reproducible mutant.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Values that a mutation writes in place of a number or a word: extremes, wrong types,
/// TOML specials.
const REPLACEMENTS: &[&str] = &[
    "0",
    "-1",
    "1",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "-inf",
    "1e-320",
    "2",
    "0.5",
    "\"x\"",
    "[]",
    "{}",
    "true",
    "9999999999",
    "-0.0",
    "[1, 2]",
    "{ dist = \"normal\", mean = 1, sd = 0 }",
];

/// One mutation of `text`: delete, duplicate or swap a line, replace a value, or flip a
/// byte.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return String::new();
    }
    let i = rng.below(lines.len());
    match rng.below(5) {
        0 => {
            lines.remove(i);
        }
        1 => {
            let l = lines[i].clone();
            lines.insert(rng.below(lines.len() + 1), l);
        }
        2 => {
            let j = rng.below(lines.len());
            lines.swap(i, j);
        }
        3 => {
            if let Some((k, _)) = lines[i].split_once(" = ") {
                let v = REPLACEMENTS[rng.below(REPLACEMENTS.len())];
                lines[i] = format!("{k} = {v}");
            }
        }
        _ => {
            let mut bytes = lines[i].clone().into_bytes();
            if !bytes.is_empty() {
                let k = rng.below(bytes.len());
                bytes[k] = b" =.[]{}\"#0a-"[rng.below(12)];
            }
            lines[i] = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    lines.join("\n")
}

#[test]
fn mutated_scenarios_never_panic_and_valid_ones_balance() {
    // Valid seeds (the shipped scenarios) give mutants that still run; bad ones give
    // mutants of broken files.
    let mut valid_seeds: Vec<(String, String)> = Vec::new();
    let mut seeds: Vec<(String, String)> = Vec::new();
    for dir in ["scenarios", BAD] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("folder exists")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            if let Ok(t) = std::fs::read_to_string(&f) {
                if dir == "scenarios" {
                    valid_seeds.push((f.display().to_string(), t.clone()));
                }
                seeds.push((f.display().to_string(), t));
            }
        }
    }
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut valid, mut refused) = (0, 0);
    for k in 0..200 {
        let (name, seed) = if rng.below(3) < 2 {
            &valid_seeds[rng.below(valid_seeds.len())]
        } else {
            &seeds[rng.below(seeds.len())]
        };
        let mut text = seed.clone();
        for _ in 0..1 + rng.below(2) {
            text = mutate(&text, &mut rng);
        }
        let outcome = std::panic::catch_unwind(|| {
            let src = match scenario::parse(Path::new("mutant.toml"), text.clone()) {
                Ok(s) => s,
                Err(e) => return Err(e.to_string()),
            };
            let mut src = src;
            // Keep any run small.
            let small = [
                "scenario.replications=1".to_string(),
                "population.persons=40".to_string(),
                "scenario.horizon=13".to_string(),
            ];
            if let Err(e) = src.apply_overrides(&small) {
                return Err(e.to_string());
            }
            let sc = src.compile().map_err(|e| e.to_string())?;
            let models = sc.models_for(0).map_err(|e| e.to_string())?;
            let rep = rehabsim::engine::run_replication(&models, 0, false);
            for (m, arm) in models.iter().zip(&rep.arms) {
                rehabsim::ledger::check_balance(m, arm).expect("the ledger balances");
            }
            Ok(())
        });
        match outcome {
            Ok(Ok(())) => valid += 1,
            Ok(Err(msg)) => {
                assert!(msg.contains("problem"), "{msg}");
                refused += 1;
            }
            Err(_) => panic!("mutant {k} of {name} panicked:\n{text}"),
        }
    }
    eprintln!("{valid} valid, {refused} refused");
    // Both outcomes must be exercised for the test to mean anything.
    assert!(
        valid >= 25 && refused >= 60,
        "{valid} valid, {refused} refused"
    );
}
