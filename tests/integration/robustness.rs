//! Faults and limits: Ctrl-C, output folders, exit codes and streams, memory, ledger bound.
//!
//! Output folders are written atomically and guarded (`--force`), and extreme multipliers
//! keep every probability valid (numeric hygiene).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use rehabsim::ledger::check_balance;
use rehabsim::{RunOptions, limits, output, scenario};

use crate::util;

const TINY: &str = "tests/data/robustness.toml";

/// A fresh, empty temporary folder for one test (see [`util::tmp`]).
fn scratch(name: &str) -> util::Tmp {
    util::tmp(&format!("robustness-{name}"))
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("folder exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------
// Exit codes and streams.

#[test]
fn exit_0_results_on_stdout_throughput_on_stderr() {
    let out = util::rehabsim()
        .args(["run", TINY, "--no-break-even"])
        .assert()
        .code(0)
        // The balance sheet.
        .stdout(predicate::str::contains("Society as a whole"))
        // One line: `<P> person-months in <S> s (<X> person-months/s), peak memory <M> MiB`.
        .stderr(predicate::str::starts_with("2400 person-months in "))
        .stderr(predicate::str::contains("person-months/s), peak memory "));
    let se = stderr(out.get_output());
    assert_eq!(se.lines().count(), 1, "{se}");

    util::rehabsim()
        .args(["validate", TINY])
        .assert()
        .code(0)
        .stderr(predicate::str::is_empty())
        .stdout("tests/data/robustness.toml: valid — 2 arms (usual, coaching), 3 states, 3 actors, 2 items, 0 uncertain values\n");
}

#[test]
fn exit_2_on_bad_input_and_on_a_bad_flag() {
    util::rehabsim()
        .args(["run", TINY, "--threads", "0"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr("error: --threads must be at least 1\n");

    // A seed TOML cannot hold.
    util::rehabsim()
        .args(["run", TINY, "--seed", "18446744073709551615"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--seed"));

    util::rehabsim()
        .args(["run", TINY, "--no-such-flag"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty());
}

#[test]
fn exit_1_when_the_output_folder_cannot_be_written() {
    let dir = scratch("exit1");
    let file = dir.join("a-file");
    std::fs::write(&file, "not a folder").expect("write");
    let target = file.join("out");
    util::rehabsim()
        .args([
            "run",
            TINY,
            "--quiet",
            "--no-break-even",
            "--out",
            &target.display().to_string(),
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(format!(
            "error: cannot write {}: Not a directory (os error 20)\n",
            target.join(".rehabsim-run").display()
        ));
}

// ---------------------------------------------------------------------------------------
// Ctrl-C.

/// Start a run of `persons` persons that takes minutes, wait until it is simulating, send
/// SIGINT `times` times, and return the exit code, stderr and how long it took to stop.
fn interrupt_a_long_run(dir: &Path, persons: u32, times: usize) -> (Option<i32>, String, Duration) {
    let mut child = util::bin()
        .args([
            "run",
            TINY,
            "--persons",
            &persons.to_string(),
            "--horizon",
            "60",
            "--replications",
            "20000",
            "--out",
            &dir.display().to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    // The handler is installed before anything else; give the run time to be under way.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().expect("poll").is_none(),
        "the run ended before it could be interrupted"
    );
    for _ in 0..times {
        let ok = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(ok.success());
        std::thread::sleep(Duration::from_millis(200));
    }
    let sent = Instant::now();
    let out = loop {
        if child.try_wait().expect("poll").is_some() {
            break child.wait_with_output().expect("output");
        }
        if sent.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the run did not stop within 120 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        out.stdout.is_empty(),
        "no balance sheet for an interrupted run"
    );
    (out.status.code(), stderr(&out), sent.elapsed())
}

#[test]
fn ctrl_c_stops_cleanly_with_exit_130_and_no_result_file() {
    let tmp = scratch("sigint");
    let dir = tmp.join("out");
    let (code, err, _) = interrupt_a_long_run(&dir, 3000, 1);
    assert_eq!(code, Some(130), "{err}");
    assert_eq!(
        err,
        "interrupted: stopping after the replications in progress (Ctrl-C again to stop at once)\n\
         error: interrupted: the run was stopped before it finished; no result files were written\n"
    );
    assert!(
        !dir.exists(),
        "nothing may be written: {:?}",
        names_in(&dir)
    );
}

#[test]
fn a_second_ctrl_c_stops_at_once() {
    let tmp = scratch("sigint2");
    let dir = tmp.join("out");
    // Replications of several seconds each, so the second Ctrl-C comes while they run.
    let (code, err, _) = interrupt_a_long_run(&dir, 1_000_000, 2);
    assert_eq!(code, Some(130), "{err}");
    assert!(err.ends_with("interrupted again: stopping now\n"), "{err}");
    assert!(!dir.exists());
}

#[test]
fn the_library_returns_interrupted_when_cancelled() {
    let sc = util::scenario(TINY, util::NO_SETS);
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let opts = RunOptions {
        cancel: Some(flag),
        ..RunOptions::default()
    };
    let e = rehabsim::run(&sc, &opts).expect_err("cancelled");
    assert!(matches!(e, rehabsim::Error::Interrupted));
    assert_eq!(e.exit_code(), 130);
}

// ---------------------------------------------------------------------------------------
// Output folders.

#[test]
fn writes_are_atomic_and_leave_no_temporary_file() {
    let dir = scratch("atomic");
    output::write_atomic(&dir, "a.txt", b"first").expect("write");
    output::write_atomic(&dir, "a.txt", b"second").expect("overwrite");
    assert_eq!(names_in(&dir), ["a.txt"]);
    assert_eq!(std::fs::read(dir.join("a.txt")).expect("read"), b"second");

    // A rename that fails (the final name is a non-empty folder) leaves no temporary
    // file, and no file under the final name.
    std::fs::create_dir_all(dir.join("b.txt").join("inside")).expect("mkdir");
    assert!(output::write_atomic(&dir, "b.txt", b"data").is_err());
    assert_eq!(names_in(&dir), ["a.txt", "b.txt"]);
    assert!(dir.join("b.txt").is_dir());

    // A folder that cannot be created: nothing at all.
    let blocked = dir.join("a.txt").join("sub");
    assert!(output::write_atomic(&blocked, "c.txt", b"data").is_err());
    assert_eq!(names_in(&dir), ["a.txt", "b.txt"]);
}

#[test]
fn a_run_writes_its_marker_and_results_and_nothing_else() {
    let tmp = scratch("marker");
    let dir = tmp.join("out");
    util::rehabsim()
        .args(["run", TINY, "--quiet", "--out", &dir.display().to_string()])
        .assert()
        .code(0);
    assert_eq!(
        names_in(&dir),
        [
            ".rehabsim-run",
            "balance.csv",
            "occupancy.csv",
            "report.html",
            "scenario.toml",
            "summary.json"
        ]
    );
    let marker: output::outdir::Marker =
        serde_json::from_slice(&std::fs::read(dir.join(".rehabsim-run")).expect("read"))
            .expect("JSON");
    assert_eq!(marker.scenario, "robustness");
    assert_eq!(marker.file, TINY);
}

#[test]
fn another_scenario_is_refused_unless_forced_and_a_rerun_is_allowed() {
    let tmp = scratch("force");
    let dir = tmp.join("out");
    let d = dir.display().to_string();
    util::rehabsim()
        .args(["run", TINY, "--quiet", "--out", &d])
        .assert()
        .code(0);
    let before = std::fs::read(dir.join("summary.json")).expect("read");

    // The same scenario again, with another seed: replaces its own results.
    util::rehabsim()
        .args(["run", TINY, "--quiet", "--seed", "9", "--out", &d])
        .assert()
        .code(0);
    let rerun = std::fs::read(dir.join("summary.json")).expect("read");
    assert_ne!(before, rerun);

    // Another scenario: refused before anything runs, the folder untouched.
    util::rehabsim()
        .args(["run", TINY, "--set", "scenario.name=\"other\"", "--out", &d])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(format!(
            "error: {d} holds the results of scenario \"robustness\" (from {TINY}), and this is scenario \"other\": writing there would mix the two. Choose another `--out` folder, or add `--force` to replace them\n"
        ));
    assert_eq!(
        std::fs::read(dir.join("summary.json")).expect("read"),
        rerun
    );

    // With --force it is written, and the folder now belongs to the other scenario.
    util::rehabsim()
        .args([
            "run",
            TINY,
            "--quiet",
            "--force",
            "--set",
            "scenario.name=\"other\"",
            "--out",
            &d,
        ])
        .assert()
        .code(0);
    let marker = std::fs::read_to_string(dir.join(".rehabsim-run")).expect("read");
    assert!(marker.contains("\"scenario\": \"other\""), "{marker}");
}

#[test]
fn a_folder_without_marker_is_judged_by_its_summary_json() {
    let dir = scratch("legacy");
    std::fs::write(dir.join("summary.json"), r#"{"scenario": "old study"}"#).expect("write");
    assert_eq!(
        output::outdir::check(&dir, "new study", false),
        Err(format!(
            "{} holds the results of scenario \"old study\", and this is scenario \"new study\": writing there would mix the two. Choose another `--out` folder, or add `--force` to replace them",
            dir.display()
        ))
    );
    assert_eq!(output::outdir::check(&dir, "old study", false), Ok(()));
    assert_eq!(output::outdir::check(&dir, "new study", true), Ok(()));

    std::fs::write(dir.join("summary.json"), "not json").expect("write");
    assert!(
        output::outdir::check(&dir, "new study", false)
            .expect_err("unknown summary.json")
            .contains("already holds a summary.json that is not rehabsim's")
    );
    // Unrelated files are no reason to refuse.
    let other = scratch("unrelated");
    std::fs::write(other.join("notes.txt"), "mine").expect("write");
    assert_eq!(output::outdir::check(&other, "x", false), Ok(()));
    assert_eq!(
        output::outdir::check(&other.join("notes.txt"), "x", false),
        Err(format!(
            "--out {} is a file, not a folder: choose a folder name",
            other.join("notes.txt").display()
        ))
    );
}

// ---------------------------------------------------------------------------------------
// Limits.

fn tiny() -> rehabsim::Scenario {
    util::scenario(TINY, util::NO_SETS)
}

#[test]
fn the_memory_estimate_follows_the_engine_data_structures() {
    let sc = util::scenario(TINY, &["population.persons=1000000"]);
    let est = rehabsim::engine::memory::estimate_memory(sc.arms(), 2, 8, false);
    // 12 bytes of cohort columns, then for each of the two arms (they run side by side)
    // 24 of person state (with the sickness case it left) and 16 of queues (a `(u32, u16)` entry in the referral list and
    // one in the queue); no attributes.
    assert_eq!(sc.arms().len(), 2);
    assert_eq!(est.per_person, 12 + 2 * 40);
    assert_eq!(
        est.in_flight, 2,
        "no more replications in flight than there are"
    );
    assert!(est.simulation >= 2 * 92 * 1_000_000);
    assert!(est.simulation < 2 * 98 * 1_000_000, "{}", est.simulation);
    assert!(est.total < 1 << 30, "{}", est.total);
    // Results grow with the replications, not with the persons.
    let many = rehabsim::engine::memory::estimate_memory(sc.arms(), 1_000_000, 8, false);
    assert_eq!(many.in_flight, 8);
    assert!(many.results > 1000 * est.results / 2);
    // Keeping every replication's ledger (a library option for audits) is counted per
    // replication, not only for the replications in flight.
    let kept = rehabsim::engine::memory::estimate_memory(sc.arms(), 1_000_000, 8, true);
    assert!(
        kept.results > many.results + 1_000_000 * 1000,
        "{} vs {}",
        kept.results,
        many.results
    );
    assert_eq!(kept.simulation, many.simulation);
}

#[test]
fn a_run_larger_than_the_memory_is_refused_with_the_estimate_and_the_limit() {
    let sc = tiny();
    let est = rehabsim::engine::memory::estimate_memory(sc.arms(), 2, 2, false);
    assert_eq!(
        rehabsim::engine::memory::check_memory(sc.arms(), &est, Some(est.total)).ok(),
        Some(())
    );
    let e = rehabsim::engine::memory::check_memory(sc.arms(), &est, Some(1 << 20))
        .expect_err("1 MiB is too little");
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        format!(
            "this run would need about 0.1 GiB of memory but 0.0 GiB is available: 50 persons × 92 bytes per person × 2 replications in flight = 0.0 GiB, plus 0.0 GiB of results for 2 replications × 2 arms × 12 steps × 3 states. Use fewer persons (`--persons`), fewer replications per run (`--replications`, or run them in shards), a shorter horizon (`--horizon`) or fewer threads (`--threads`) (docs/robustness.md, \"Limits\")"
        )
    );
    assert_eq!(
        rehabsim::engine::memory::check_memory(sc.arms(), &est, None).ok(),
        Some(())
    );
}

#[test]
fn the_binary_refuses_a_run_that_cannot_fit_before_starting_it() {
    // 10^6 replications × 1200 months of results: far beyond any machine's memory.
    util::rehabsim()
        .args([
            "run",
            TINY,
            "--replications",
            "1000000",
            "--horizon",
            "1200",
            "--persons",
            "100000000",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::starts_with(
            "error: this run would need about ",
        ))
        .stderr(predicate::str::contains(
            " GiB is available: 100000000 persons × 92 bytes per person × ",
        ));
}

#[test]
fn the_ledger_bound_admits_the_default_scenario_at_the_maximum_cohort() {
    // Valid at 10^8 persons.
    let sc = util::scenario(
        "scenarios/default.toml",
        &[format!("population.persons={}", limits::MAX_PERSONS)],
    );
    for m in sc.arms() {
        let b = limits::ledger_bound(m);
        assert!(b.ore <= limits::LEDGER_LIMIT_ORE, "{b:?}");
        // The bound is the sum of the items' worst cases: wages up to the attribute
        // clamp of 10^8 SEK times (1 + 0.3142 + 0.0598 + 1.374 + …).
        assert!(b.per_person_step > 2.0 * limits::MAX_ATTRIBUTE, "{b:?}");
    }
    // 2 × E < i64::MAX: every sum in ledger.rs fits (limits.rs, module docs).
    assert!(2.0 * limits::LEDGER_LIMIT_ORE < i64::MAX as f64);
}

// ---------------------------------------------------------------------------------------
// Numeric hygiene.

/// A scenario whose success hazard is multiplied by a programme effect, a risk factor,
/// an organisation and a location, each set to an extreme.
fn extreme(mode: &str, rate: f64, effect: f64, hr: f64, org: f64) -> String {
    format!(
        r#"
[scenario]
name = "extremes"
replications = 1
horizon = 24

[actors.agency]
public = true
[actors.individual]
[actors.outside]
outside = true

[states.sick]
agency = "agency"
[states.other]
agency = "individual"
[states.work]
success = true
[states.exited]
absorbing = true

[transitions.sick]
mode = "{mode}"
to.work = {rate:?}
to.other = {{ rate = {other:?}, attribute = "grit" }}
[transitions.other]
mode = "{mode}"
to.work = {rate:?}
to.sick = {other:?}
[transitions.work]
to.sick = 0.01

[population]
persons = 200
age = {{ per_person = "uniform", low = 40, high = 70 }}
start = {{ sick = 0.7, other = 0.3 }}
attributes.grit = {{ draw = {{ per_person = "uniform", low = 0, high = 1 }}, min = 0 }}
risk_factors.a = {{ prevalence = 0.5, hazard_ratio = {hr:?} }}
risk_factors.b = {{ age_at_least = 60, hazard_ratio = {hr:?} }}
normalise_risk = true

[items.benefit]
class = "transfer"
payer = "agency"
payee = "individual"
states = ["sick", "other"]
amount = 10000
[items.production]
class = "production"
payer = "outside"
payee = "individual"
states = ["work"]
amount = 30000

[organisations.silo]
handover_failure = 0.5
gap_states = {{ other = 1.0 }}
success_multiplier = {org:?}

[programmes.p]
eligible = ["sick", "other"]
referral = 1.0
duration = 6
effect = {effect:?}
organisation = "silo"

[arms.usual]
counterfactual = true
organisation = "silo"
[arms.p]
organisation = "silo"
programme = "p"
"#,
        other = if mode == "probability" {
            1.0 - rate
        } else {
            rate
        },
    )
}

#[test]
fn extreme_multipliers_keep_every_probability_valid_and_the_ledger_balanced() {
    let mut runs = 0;
    let mut clamped = 0;
    for mode in ["hazard", "probability"] {
        for rate in [0.0, 1e-12, 0.5, 1.0] {
            for effect in [0.0, 1e-9, 1.0, limits::MAX_MULTIPLIER] {
                for hr in [0.0, limits::MAX_MULTIPLIER] {
                    for org in [0.0, limits::MAX_MULTIPLIER] {
                        let text = extreme(mode, rate, effect, hr, org);
                        let sc = scenario::parse(Path::new("extreme.toml"), text.clone())
                            .and_then(|s| s.compile())
                            .unwrap_or_else(|e| panic!("{e}\n{text}"));
                        // The engine's debug assertion on P(leave) ∈ [0, 1] is active in
                        // this (debug) build.
                        let keep = RunOptions {
                            keep_ledgers: true,
                            ..RunOptions::default()
                        };
                        let out = rehabsim::run(&sc, &keep).expect("runs");
                        for rep in &out.reps {
                            for (m, arm) in sc.arms().iter().zip(&rep.arms) {
                                check_balance(m, arm).expect("balanced");
                                clamped += arm.clamped;
                                for p in 0..arm.points {
                                    let total: f64 = (0..arm.states)
                                        .flat_map(|s| [arm.occ(p, s, 0), arm.occ(p, s, 1)])
                                        .inspect(|x| assert!(x.is_finite() && *x >= 0.0))
                                        .sum();
                                    assert_eq!(total, 200.0, "{mode} {rate} {effect} {hr} {org}");
                                }
                                assert!(arm.point_flows.iter().all(|f| f.abs() < i64::MAX / 4));
                            }
                        }
                        runs += 1;
                    }
                }
            }
        }
    }
    assert_eq!(runs, 2 * 4 * 4 * 2 * 2);
    // Probability rows pushed above 1 by the multipliers are rescaled and counted.
    assert!(clamped > 0);
}

#[test]
fn multipliers_above_the_documented_maximum_are_refused() {
    let text = extreme("hazard", 0.1, 2e6, 1.0, 1.0);
    let e = scenario::parse(Path::new("extreme.toml"), text)
        .and_then(|s| s.compile())
        .expect_err("effect 2e6");
    assert_eq!(
        e.to_string(),
        "extreme.toml has 1 problem:\n  extreme.toml:64:1: `programmes.p.effect`: expected a multiplier from 0 to 1e6 (1 = no change), found 2000000\n"
    );
}

#[test]
fn the_ledger_bound_adds_each_items_worst_case() {
    let base = std::fs::read_to_string(TINY).expect("read");
    // Replace the two items by one of each kind, with known worst cases.
    let cut = base.find("[items.assistance]").expect("items");
    let programmes = base.find("[programmes.coaching]").expect("programmes");
    let text = format!(
        "{}{}{}",
        &base[..cut],
        r#"[items.benefit]
class = "transfer"
payer = "municipality"
payee = "individual"
states = ["sick"]
amount = 100
per = { grit = -2 }
by_time = { breaks = [6], factors = [1.0, 3.0] }

[items.tax]
class = "transfer"
payer = "individual"
payee = "municipality"
of = { benefit = 0.5 }

[items.assessment]
class = "resource"
payer = "municipality"
payee = "outside"
on_enter = "work"
amount = 10

[items.premises]
class = "resource"
payer = "municipality"
payee = "outside"
budget = { total = 1000, from = 0, until = 4 }
optimism_bias = true

"#,
        &base[programmes..]
    )
    .replace(
        "start = { sick = 1.0 }",
        "start = { sick = 1.0 }\nattributes.grit = { draw = { per_person = \"uniform\", low = 0, high = 10 }, max = 5 }",
    )
    .replace("[actors.municipality]", "[accounting]\noptimism_bias = 0.1\n\n[actors.municipality]");
    let sc = scenario::parse(Path::new("bound.toml"), text.clone())
        .and_then(|s| s.compile())
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let b = limits::ledger_bound(sc.base());
    // benefit (100 + 2 × 5) × 3 = 330; tax 0.5 × 330 = 165; assessment 12 entries × 10 =
    // 120 per person-step; the budget 1000 × 1.1 per step.
    assert_eq!(b.per_person_step, 330.0 + 165.0 + 120.0);
    assert!((b.per_step - 1100.0).abs() < 1e-9, "{}", b.per_step);
    let lines = sc.base().lines().len() as f64;
    assert!((b.ore - (100.0 * (50.0 * 615.0 + b.per_step) + lines)).abs() < 1e-6);
    assert_eq!(b.largest, Some(("benefit".to_string(), 330.0)));
    assert_eq!(limits::check_ledger(sc.base()), Ok(()));
}
