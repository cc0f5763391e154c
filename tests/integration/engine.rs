//! Engine invariants: ledger balance, common random numbers, threads, chunks, fast paths.
//!
//! On the shipped default scenario the ledger balances to the öre, common random numbers
//! make a no-op programme exactly neutral, and results do not depend on the thread count or
//! on how persons are split into chunks.

use std::path::Path;

use rehabsim::scenario::{self, set_path, split_path};
use rehabsim::{RunOptions, ledger};

use crate::util;

/// The shipped default scenario with `sets` applied.
fn default_source(sets: &[&str]) -> scenario::Source {
    util::load(util::path("scenarios/default.toml"), sets)
}

fn set(src: &mut scenario::Source, key: &str, value: toml::Value) {
    set_path(&mut src.doc, &split_path(key), value).unwrap();
}

#[test]
fn ledger_balances_for_every_arm_replication_point_and_sex() {
    let src = default_source(&["scenario.replications=6", "population.persons=300"]);
    let sc = util::compile(&src);
    let run = rehabsim::run(&sc, &util::keep_ledgers()).unwrap();
    assert_eq!(run.reps.len(), 6);
    for rep in &run.reps {
        let models = sc.models_for(rep.replication).unwrap();
        for (m, arm) in models.iter().zip(&rep.arms) {
            ledger::check_balance(m, arm).unwrap();
            // Persons are conserved: everyone who entered is in exactly one state.
            for p in 0..arm.points {
                let n: f64 = (0..arm.states)
                    .map(|s| arm.occ(p, s, 0) + arm.occ(p, s, 1))
                    .sum();
                assert_eq!(n, 300.0, "point {p}");
            }
        }
    }
    // Transfers cancel for society: its difference is production plus resources only.
    for d in run.summary.differences.values() {
        let soc = &d.actors["society"].sheet;
        assert!(
            soc.transfers.mean.abs() < 1e-6,
            "society transfers {}",
            soc.transfers.mean
        );
        let sum = soc.production.mean + soc.resources.mean;
        assert!((soc.net.mean - sum).abs() < 1e-3 * soc.net.mean.abs().max(1.0));
    }
}

#[test]
fn a_programme_without_effect_or_cost_changes_nothing_for_anyone() {
    let mut src = default_source(&["scenario.replications=5", "population.persons=250"]);
    // The arena with no effect, no organisation of its own, no exit hand-over, no cost:
    // persons are still referred, queued, admitted and drop out, but with common random
    // numbers nothing they experience differs from business as usual.
    set(&mut src, "programmes.arena.effect", toml::Value::Float(1.0));
    set(
        &mut src,
        "programmes.arena.handover_at_exit",
        toml::Value::Boolean(false),
    );
    set(&mut src, "items.programme.amount", toml::Value::Float(0.0));
    if let Some(toml::Value::Table(p)) = src
        .doc
        .get_mut("programmes")
        .and_then(|p| p.get_mut("arena"))
    {
        p.remove("organisation");
    }
    let sc = src.compile().unwrap();
    let run = rehabsim::run(&sc, &RunOptions::default()).unwrap();
    let d = &run.summary.differences["rehab_arena - business_as_usual"];
    assert!(
        run.summary.arms["rehab_arena"].participants.mean > 50.0,
        "the programme did run"
    );
    for (actor, a) in &d.actors {
        for (what, s) in [
            ("net", a.sheet.net),
            ("production", a.sheet.production),
            ("transfers", a.sheet.transfers),
            ("resources", a.sheet.resources),
        ] {
            assert_eq!((s.mean, s.p05, s.p95), (0.0, 0.0, 0.0), "{actor} {what}");
        }
    }
    for (month, o) in &d.outcomes {
        for (state, s) in &o.all {
            assert_eq!(s.mean, 0.0, "outcome {state} at {month}");
        }
    }
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn compare_threads(extra: &[&str], tag: &str) {
    let base = util::tmp(&format!("det-{tag}"));
    let scen = util::path("scenarios/default.toml");
    let scen = scen.to_str().unwrap();
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let dir = base.join(threads);
        let dir_s = dir.to_string_lossy().to_string();
        let mut args = vec![
            "run",
            scen,
            "--quiet",
            "--threads",
            threads,
            "--out",
            &dir_s,
        ];
        args.extend_from_slice(extra);
        util::rehabsim().args(&args).assert().success();
        outs.push(files(&dir));
    }
    assert!(!outs[0].is_empty());
    assert_eq!(outs[0].len(), outs[1].len());
    for (a, b) in outs[0].iter().zip(&outs[1]) {
        assert_eq!(a.0, b.0);
        assert!(a.1 == b.1, "{} differs between 1 and 2 threads", a.0);
    }
}

#[test]
fn outputs_are_byte_identical_with_one_or_two_threads() {
    compare_threads(&["--replications", "8", "--persons", "300"], "reps");
}

#[test]
fn splitting_persons_of_one_replication_across_threads_changes_nothing() {
    // One replication and more persons than a chunk: the person pass itself runs in
    // parallel chunks.
    compare_threads(
        &[
            "--replications",
            "1",
            "--persons",
            "20000",
            "--horizon",
            "24",
        ],
        "persons",
    );
}

/// Every shipped scenario, example and valid test scenario.
fn scenario_files() -> Vec<std::path::PathBuf> {
    let root = util::root();
    let mut files = Vec::new();
    for dir in ["scenarios", "scenarios/examples", "tests/data"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 12, "{files:?}");
    files
}

/// A run values each replication as soon as it finishes and drops its ledger (memory
/// flat in replications). That must change no output: with and without the ledgers kept,
/// every result file is byte-identical, in the microsimulation and in cohort mode, and
/// the kept valuations are those of the kept ledgers.
#[test]
fn dropping_the_ledgers_after_valuing_changes_no_output() {
    let keep = util::keep_ledgers();
    for path in scenario_files() {
        let sc = util::scenario(&path, &["scenario.replications=4"]);
        let csv = rehabsim::output::csv::CsvOptions::default();
        let mut runs = vec![(
            "microsimulation",
            rehabsim::run(&sc, &RunOptions::default()).unwrap(),
            rehabsim::run(&sc, &keep).unwrap(),
        )];
        if rehabsim::cohort_mode::unsupported(sc.arms()).is_none() {
            runs.push((
                "cohort mode",
                rehabsim::cohort_mode::run(&sc, &RunOptions::default()).unwrap(),
                rehabsim::cohort_mode::run(&sc, &keep).unwrap(),
            ));
        }
        for (mode, lean, kept) in runs {
            let shown = format!("{} ({mode})", path.display());
            let arms = |o: &rehabsim::RunOutput| -> Vec<bool> {
                o.reps
                    .iter()
                    .flat_map(|r| r.arms.iter().map(|a| a.has_ledger()))
                    .collect()
            };
            assert!(
                arms(&lean).iter().all(|&h| !h),
                "{shown}: a ledger was kept"
            );
            assert!(
                arms(&kept).iter().all(|&h| h),
                "{shown}: a ledger was dropped"
            );
            let files = |o: &rehabsim::RunOutput| rehabsim::output::result_files(&sc, o, &csv);
            assert!(files(&lean) == files(&kept), "{shown}: the outputs differ");
            for (k, rep) in kept.reps.iter().enumerate() {
                let models = sc.models_for(rep.replication).unwrap();
                let acc = &models[sc.counterfactual()].accounting();
                for (a, (m, arm)) in sc.arms().iter().zip(&rep.arms).enumerate() {
                    let v = rehabsim::balance::value_with(m, acc, arm, &kept.evaluated.rows);
                    assert_eq!(
                        lean.evaluated.valuations[a][k], v,
                        "{shown}: arm {a}, rep {k}"
                    );
                }
            }
        }
    }
}

/// The engine takes a short path for person-steps that change nothing but the clock (no
/// move, rule, gap, programme month or referral). It must decide exactly as the full path
/// would: every shipped scenario, example and test scenario gives equal results both ways,
/// to the last öre and count.
#[test]
fn the_short_path_for_quiet_person_steps_changes_nothing() {
    let root = util::root();
    let files = scenario_files();
    let mut cases: Vec<(std::path::PathBuf, Vec<String>)> =
        files.into_iter().map(|f| (f, Vec::new())).collect();
    // The short path caches a person's row total until their clock or age reaches the
    // row's next change. A stale total that is too high only sends a person to the full
    // path; these variants make hazards *rise* with the clock and with age, so that a
    // stale total that is too low would skip a move and show.
    cases.push((
        root.join("scenarios/default.toml"),
        vec![
            "transitions.sickness_benefit.to.work=[0.01, 0.02, 0.05, 0.1, 0.2]".into(),
            "population.risk_factors.age_over_59.hazard_ratio=2.0".into(),
        ],
    ));
    cases.push((
        root.join("scenarios/examples/age_table.toml"),
        vec![
            "transitions.well.to.dead={ rate = 0.004, age = { breaks = [55, 65, 75], factors = [1.0, 2.2, 5.0, 12.0] } }".into(),
            "transitions.ill.to.dead={ rate = 0.04, age = { breaks = [55, 65, 75], factors = [1.0, 1.6, 2.8, 5.0] } }".into(),
            // Hazards that change with the step (the prevention arm halves falling ill
            // for five years) must not be cached across steps.
            r#"arms.prevention.set={ "transitions.well.to.ill.step" = { breaks = [5], factors = [0.5, 1.0] } }"#.into(),
        ],
    ));
    for (path, overrides) in &cases {
        let sc = util::scenario(path, overrides);
        for rep in 0..3 {
            let models = sc.models_for(rep).unwrap();
            let short = rehabsim::engine::run_replication_paths(&models, rep, false, true);
            let full = rehabsim::engine::run_replication_paths(&models, rep, false, false);
            assert!(short.arms.iter().all(|a| a.person_steps > 0));
            assert!(
                short == full,
                "{}: replication {rep} differs between the short and the full path",
                path.display()
            );
        }
    }
}

/// The arms of a replication run side by side, sharing each group's random blocks
/// (`engine::run_arms`). They do not interact, so each arm's result must equal the same
/// arm run alone, and a replication's result must not depend on the threads or on the
/// path. Cohorts span several chunks of persons (the parallel chunk path) and sizes that
/// are not a multiple of a group or of the generator's sixteen lanes; scenarios with two
/// and three arms.
#[test]
fn arms_run_side_by_side_equal_each_arm_run_alone() {
    let root = util::root();
    let cases: [(&str, &[&str]); 7] = [
        (
            "scenarios/default.toml",
            &["population.persons=20011", "scenario.horizon=30"],
        ),
        ("scenarios/default.toml", &["population.persons=13"]),
        (
            "scenarios/inkluderande-goteborg.toml",
            &["population.persons=17003", "scenario.horizon=24"],
        ),
        ("scenarios/steget-vidare-umea.toml", &[]),
        ("scenarios/resurscentrum-lycksele.toml", &[]),
        ("scenarios/examples/sickness_clock.toml", &[]),
        ("scenarios/examples/age_table.toml", &[]),
    ];
    for (path, overrides) in cases {
        let sc = util::scenario(root.join(path), overrides);
        for rep in 0..2 {
            let models = sc.models_for(rep).unwrap();
            let one =
                util::on_threads(1, || rehabsim::engine::run_replication(&models, rep, false));
            let two = util::on_threads(2, || rehabsim::engine::run_replication(&models, rep, true));
            let three = util::on_threads(3, || {
                rehabsim::engine::run_replication_paths(&models, rep, true, false)
            });
            assert!(
                one == two,
                "{path}: replication {rep} differs with 2 threads"
            );
            assert!(
                one == three,
                "{path}: replication {rep} differs on the full path"
            );
            // Displacement moves effects between arms after the run; compare the arms it
            // leaves alone.
            let displaced = models.iter().any(|m| m.accounting().displacement > 0.0);
            for (k, m) in models.iter().enumerate() {
                if displaced && !m.arm().counterfactual {
                    continue;
                }
                let alone = rehabsim::engine::run_replication(std::slice::from_ref(m), rep, false);
                assert!(
                    alone.arms[0] == one.arms[k],
                    "{path}: replication {rep}, arm {k} alone differs from side by side"
                );
            }
        }
    }
}

/// The short path keeps the clock as an offset while a cache is held, and caches only
/// as long as the clock cannot saturate: clocks that start at or near `u16::MAX` give the
/// same results on both paths.
#[test]
fn saturated_clocks_give_the_same_results_on_both_paths() {
    let root = util::root();
    for path in [
        "scenarios/default.toml",
        "scenarios/examples/sickness_clock.toml",
    ] {
        for (lo, hi) in [(65_400, 65_600), (65_530, 70_000), (65_480, 65_535)] {
            let sc = util::scenario(
                root.join(path),
                &[
                    format!(
                        "population.months_in_state={{ per_person = \"uniform\", low = {lo}, high = {hi} }}"
                    ),
                    "population.persons=3001".into(),
                ],
            );
            for rep in 0..2 {
                let models = sc.models_for(rep).unwrap();
                let short = rehabsim::engine::run_replication_paths(&models, rep, false, true);
                let full = rehabsim::engine::run_replication_paths(&models, rep, false, false);
                assert!(short == full, "{path}, clocks {lo}–{hi}: the paths differ");
            }
        }
    }
}
