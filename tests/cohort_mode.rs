//! Cohort mode (`run --cohort`): exact expected values checked against the
//! microsimulation (to the öre where the microsimulation is deterministic, within Monte
//! Carlo standard errors elsewhere) and against analytic expectations; its refusals.

use std::path::Path;

use rehabsim::balance::{COMPONENTS, NET};
use rehabsim::cohort_mode;
use rehabsim::{RunOptions, RunOutput, Scenario};

fn compile_text(text: &str, sets: &[&str]) -> Scenario {
    let mut src = rehabsim::scenario::parse(Path::new("inline.toml"), text.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    src.apply_overrides(&sets).unwrap_or_else(|e| panic!("{e}"));
    src.compile().unwrap_or_else(|e| panic!("{e}"))
}

fn compile_file(path: &str, sets: &[&str]) -> Scenario {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    compile_text(&text, sets)
}

fn micro(sc: &Scenario) -> RunOutput {
    rehabsim::run(sc, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn exact(sc: &Scenario) -> RunOutput {
    cohort_mode::run(sc, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_deterministic_scenario_gives_identical_results_in_both_engines() {
    let sc = compile_file("tests/data/deterministic.toml", &[]);
    let m = micro(&sc);
    let c = exact(&sc);
    assert_eq!(c.reps.len(), 1);
    for (a, model) in sc.arms.iter().enumerate() {
        let (x, y) = (&m.reps[0].arms[a], &c.reps[0].arms[a]);
        let arm = &model.arm.id;
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
    let no_income = sc.arms[1].state_index("no_income").unwrap();
    let exited = sc.arms[1].state_index("exited").unwrap();
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
    let h = base.horizon as f64;
    // Both engines round each posting (line × point or step × sex) to the öre.
    let slack = 2.0 * 0.005 * (2.0 * h + 1.0) * base.lines.len() as f64 * 2.0;
    let cf = sc.counterfactual;
    let mut out = Vec::new();
    for (a, model) in sc.arms.iter().enumerate() {
        let diffs: Vec<Option<usize>> = if a == cf {
            vec![None]
        } else {
            vec![None, Some(cf)]
        };
        for sub in diffs {
            let name = match sub {
                None => model.arm.id.clone(),
                Some(b) => format!("{} - {}", model.arm.id, sc.arms[b].arm.id),
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
            for (mi, me) in model.measures.iter().enumerate() {
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
    for (a, model) in sc.arms.iter().enumerate() {
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
