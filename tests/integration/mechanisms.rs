//! The benefit rules and the design questions as mechanisms (MODEL.md rev. 2): the
//! sickness case, hand-over gaps, and the invariants they must keep — each checked
//! against a hand computation in both engines.

use rehabsim::ledger::ArmRep;
use rehabsim::{RunOutput, Scenario};

use crate::util;

const CASE: &str = "tests/data/mechanisms/sickness_case.toml";
const GAP: &str = "tests/data/mechanisms/handover_gap.toml";

/// The microsimulation (ledgers kept) and the cohort mode of `sc`.
fn both(sc: &Scenario) -> [(&'static str, RunOutput); 2] {
    let micro = rehabsim::run(sc, &util::keep_ledgers()).unwrap_or_else(|e| panic!("{e}"));
    let cohort =
        rehabsim::cohort_mode::run(sc, &util::keep_ledgers()).unwrap_or_else(|e| panic!("{e}"));
    [("microsimulation", micro), ("cohort mode", cohort)]
}

/// The first point at which everybody (`n` persons) is in state `s`.
fn first_point_all_in(arm: &ArmRep, s: usize, n: f64) -> Option<usize> {
    (0..arm.points).find(|&p| arm.occ(p, s, 0) + arm.occ(p, s, 1) == n)
}

fn state(sc: &Scenario, id: &str) -> usize {
    sc.base().state_index(id).unwrap()
}

fn line_of(sc: &Scenario, item: &str) -> usize {
    let m = sc.base();
    let k = m.items().iter().position(|it| it.id == item).unwrap();
    m.lines().iter().position(|l| l.item == k).unwrap()
}

#[test]
fn a_return_within_the_window_continues_the_sickness_case_and_a_later_one_starts_anew() {
    // Two steps sick, k steps in work, sick again; the case ends the person at 4 steps.
    // Within the window (k <= 3) the second spell continues at 2: exit at point k + 4;
    // after it a new case starts at 0: exit at point k + 6.
    for k in 1..=5usize {
        let sc = util::scenario(CASE, &[format!("rules.back.after={k}")]);
        let exited = state(&sc, "exited");
        let want = if k <= 3 { k + 4 } else { k + 6 };
        for (engine, out) in both(&sc) {
            let arm = &out.reps[0].arms[0];
            assert_eq!(
                first_point_all_in(arm, exited, 5.0),
                Some(want),
                "{engine}, k = {k}"
            );
            // The benefit is paid at 75 % from the case's third step on: a resumed case
            // pays the second spell at 75 % (2 steps), a new one at 100 % then 75 %.
            let line = line_of(&sc, "benefit");
            let paid: i64 = (0..arm.points)
                .map(|p| arm.point_flow(p, line, 0) + arm.point_flow(p, line, 1))
                .sum();
            let per_person = if k <= 3 {
                2 * 1000 + 2 * 750
            } else {
                2 * 1000 + 2 * 1000 + 2 * 750
            };
            assert_eq!(paid, 5 * per_person * 100, "{engine}, k = {k}: öre");
        }
    }
}

#[test]
fn a_failed_hand_over_is_a_wait_in_which_the_case_goes_on_and_the_receiver_reassesses() {
    let sc = util::scenario(GAP, util::NO_SETS);
    let (assist, sick_b, exited, work) = (
        state(&sc, "assist"),
        state(&sc, "sick_b"),
        state(&sc, "exited"),
        state(&sc, "work"),
    );
    for (engine, out) in both(&sc) {
        let arm = &out.reps[0].arms[0];
        let n = 4.0;
        let all = |p: usize, s: usize| arm.occ(p, s, 0) + arm.occ(p, s, 1);
        // Points 0–1 on sickness benefit, 2–3 waiting in social assistance (nobody takes
        // assist's certain move to work), 4–5 with the second agency, the case at 4 and 5
        // steps, and out when it reaches 6.
        for p in [2, 3] {
            assert_eq!(all(p, assist), n, "{engine}: point {p}");
        }
        for p in [4, 5] {
            assert_eq!(all(p, sick_b), n, "{engine}: point {p}");
        }
        assert_eq!(first_point_all_in(arm, exited, n), Some(6), "{engine}");
        assert!((0..arm.points).all(|p| all(p, work) == 0.0), "{engine}");
        // The municipality pays two months of assistance; the receiving agency pays one
        // re-assessment per person, in the step the gap ends (step 3).
        let assistance = line_of(&sc, "assistance");
        let paid: i64 = (0..arm.points)
            .map(|p| arm.point_flow(p, assistance, 0) + arm.point_flow(p, assistance, 1))
            .sum();
        assert_eq!(paid, 4 * 2 * 5000 * 100, "{engine}");
        let reassess = line_of(&sc, "reassessment");
        for t in 0..arm.points - 1 {
            let v = arm.step_flow(t, reassess, 0) + arm.step_flow(t, reassess, 1);
            assert_eq!(
                v,
                if t == 3 { 4 * 1300 * 100 } else { 0 },
                "{engine}: step {t}"
            );
        }
    }
}

#[test]
fn a_clock_that_resumes_is_checked() {
    let bad = |sets: &[&str]| -> String {
        util::load(CASE, sets)
            .compile()
            .expect_err("refused")
            .to_string()
    };
    let e = bad(&["clocks.case.resume_within=0"]);
    assert!(
        e.contains("`clocks.case.resume_within`: expected a whole number from 1 to 1200, found 0"),
        "{e}"
    );
    let e = bad(&["clocks.sick={resume_within = 3}"]);
    assert!(
        e.contains("`clocks.sick`: no state runs the clock `sick`"),
        "{e}"
    );
}

/// Society's net in every replication of every arm of `sc`.
fn society_by_arm(sc: &Scenario) -> Vec<Vec<f64>> {
    let out = rehabsim::run(sc, &rehabsim::RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let ev = &out.evaluated;
    let society = ev.rows.len() - 1;
    ev.valuations
        .iter()
        .map(|arm| arm.iter().map(|v| v.total(society, 0)).collect())
        .collect()
}

/// Mean and standard error of the paired differences `b − a`.
fn paired(a: &[f64], b: &[f64]) -> (f64, f64) {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// MODEL.md §5.5: with everything else equal, a higher hand-over failure probability or a
/// longer gap never improves society's expected result — in any arm, under any
/// organisation, in every shipped scenario. The runs share their random numbers (a
/// failure at probability p is also one at any higher p), so the comparison is paired,
/// replication by replication. Where a change matters the decrease must be resolved
/// (beyond 4 standard errors of the paired difference); nowhere may a rise exceed 4
/// standard errors.
#[test]
fn more_failed_hand_overs_or_longer_gaps_never_improve_society() {
    let (mut resolved, mut compared) = (0, 0);
    for path in SHIPPED {
        let src = util::load(
            path,
            &["scenario.replications=300", "accounting.displacement=0"],
        );
        let sc = util::compile(&src);
        let orgs: Vec<String> = {
            let mut o: Vec<String> = sc
                .arms()
                .iter()
                .flat_map(|m| {
                    let a = m.arm();
                    std::iter::once(a.organisation.id.clone()).chain(
                        a.programme
                            .as_ref()
                            .and_then(|p| p.organisation.as_ref())
                            .map(|o| o.id.clone()),
                    )
                })
                .filter(|id| id != "none")
                .collect();
            o.sort();
            o.dedup();
            o
        };
        for org in &orgs {
            let levers: [(&str, [&str; 3]); 2] = [
                ("handover_failure", ["0.1", "0.35", "0.6"]),
                ("gap_months", ["1", "3", "6"]),
            ];
            for (key, values) in levers {
                let runs: Vec<Vec<Vec<f64>>> = values
                    .iter()
                    .map(|v| {
                        let mut s = src.clone();
                        let mut sets = vec![format!("organisations.{org}.{key}={v}")];
                        if key == "gap_months" {
                            sets.push(format!("organisations.{org}.handover_failure=0.4"));
                        }
                        s.apply_overrides(&sets).unwrap_or_else(|e| panic!("{e}"));
                        society_by_arm(&util::compile(&s))
                    })
                    .collect();
                for (a, m) in sc.arms().iter().enumerate() {
                    for w in runs.windows(2) {
                        let (mean, se) = paired(&w[0][a], &w[1][a]);
                        let what = format!("{path}: {org}.{key} in arm {}", m.arm().id);
                        assert!(
                            mean <= 4.0 * se,
                            "{what}: society gains {mean:.0} SEK (se {se:.0}) when the hand-over gets worse"
                        );
                        compared += 1;
                        if mean < -4.0 * se {
                            resolved += 1;
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "hand-over monotonicity: {resolved} of {compared} paired comparisons resolve a decrease beyond 4 standard errors, none a rise"
    );
    // The decreases are real, not only "no significant rise".
    assert!(
        resolved >= 20,
        "only {resolved} comparisons resolved a decrease"
    );
}

const SHIPPED: [&str; 6] = [
    "scenarios/default.toml",
    "scenarios/inkluderande-goteborg.toml",
    "scenarios/rehabarena-trelleborg.toml",
    "scenarios/resurscentrum-lycksele.toml",
    "scenarios/steget-vidare-umea.toml",
    "scenarios/success-arvidsjaur.toml",
];

const BY_SEX: &str = "tests/data/mechanisms/by_sex.toml";

/// A hazard given by sex moves each sex at its own rate: the share in work at month t is
/// 1 − e^(−λ t) with λ = 0.05 for women and 0.10 for men — within 4 binomial standard
/// errors in the microsimulation, to 1e-12 in cohort mode — and an amount given by sex is
/// paid at each sex's rate (to the öre in cohort mode).
#[test]
fn values_by_sex_move_and_pay_each_sex_by_its_own_values() {
    let sc = util::scenario(BY_SEX, util::NO_SETS);
    assert!(sc.base().by_sex());
    let work = state(&sc, "work");
    let sick = state(&sc, "sick");
    for (engine, out) in both(&sc) {
        let arm = &out.reps[0].arms[0];
        for (sex, rate) in [(0, 0.05), (1, 0.10)] {
            let n: f64 = arm.occ(0, sick, sex);
            for t in [1, 6, 12, 24] {
                let want = 1.0 - (-rate * t as f64).exp();
                let got = arm.occ(t, work, sex) / n;
                let tol = if engine == "cohort mode" {
                    1e-12
                } else {
                    4.0 * (want * (1.0 - want) / n).sqrt()
                };
                assert!(
                    (got - want).abs() <= tol,
                    "{engine}, sex {sex}, month {t}: {got} vs {want} (tolerance {tol})"
                );
            }
        }
        if engine == "cohort mode" {
            let line = line_of(&sc, "benefit");
            for (sex, amount) in [(0, 10_000.0), (1, 12_000.0)] {
                let paid = arm.point_flow(3, line, sex) as f64 / 100.0;
                let want = arm.occ(3, sick, sex) * amount;
                assert!((paid - want).abs() <= 0.5, "sex {sex}: {paid} vs {want}");
            }
        }
    }
}

#[test]
fn a_value_the_cohort_shares_cannot_differ_by_sex() {
    let e = util::load(BY_SEX, &["population.persons={women = 100, men = 200}"])
        .compile()
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("`population.persons`: differs between women and men (arm `only`), but the women and men of one cohort share it"),
        "{e}"
    );
}

const TOP_UP: &str = "tests/data/mechanisms/top_up.toml";

/// Social assistance tops each person's net income up to the norm: the municipality pays
/// max(0, norm − net income) for every person-month, to the öre against a hand computation
/// over the drawn cohort's wages (microsimulation), and the exact expectation over the
/// wage's law (cohort mode).
#[test]
fn a_top_up_pays_the_norm_less_the_other_income_where_that_is_positive() {
    let sc = util::scenario(TOP_UP, util::NO_SETS);
    let m = sc.base();
    let line = line_of(&sc, "social_assistance");
    let (activity, part_time) = (state(&sc, "activity"), state(&sc, "part_time"));
    let norm = 10580.0;
    let top_up = |s: usize, wage: f64| -> f64 {
        if s == activity {
            norm - 0.74 * 7908.0
        } else if s == part_time {
            (norm - 0.78 * 0.5 * wage).max(0.0)
        } else {
            norm
        }
    };
    // The microsimulation: every drawn person's own top-up.
    let cohort = rehabsim::cohort::Cohort::draw(m, &rehabsim::rng::Streams::new(m.seed(), 0));
    let mut want = [0.0f64; 2];
    for i in 0..cohort.len() {
        let s = usize::from(cohort.start_state[i]);
        want[usize::from(cohort.sex[i])] += top_up(s, cohort.attr(0, i));
    }
    let micro = rehabsim::run(&sc, &util::keep_ledgers()).unwrap();
    let arm = &micro.reps[0].arms[0];
    for p in 0..arm.points {
        for (sex, want) in want.iter().enumerate() {
            let paid = arm.point_flow(p, line, sex);
            let want_ore = (want * 100.0).round() as i64;
            assert!(
                (paid - want_ore).abs() <= 1,
                "point {p}, sex {sex}: {paid} öre vs {want_ore}"
            );
        }
    }
    // Cohort mode: E[max(0, N − 0.39 W)] for W uniform on [8 000, 40 000]. The wage's law
    // is integrated by Gauss–Legendre quadrature, which is not exact for the kink of the
    // max: within 3e-4 here (docs/general-models.md, cohort mode's accuracy).
    let (a, b, c) = (8000.0, 40000.0, 0.39);
    let knee = norm / c;
    let part = ((norm * (knee - a)) - c * (knee * knee - a * a) / 2.0) / (b - a);
    let per_person = (norm - 0.74 * 7908.0 + part + norm) / 3.0;
    let exact = rehabsim::cohort_mode::run(&sc, &util::keep_ledgers()).unwrap();
    let arm = &exact.reps[0].arms[0];
    let paid = (arm.point_flow(0, line, 0) + arm.point_flow(0, line, 1)) as f64 / 100.0;
    let want = per_person * 3000.0;
    assert!(
        (paid - want).abs() < 3e-4 * want,
        "cohort mode: {paid} SEK vs {want}"
    );
}

const DISPLACEMENT: &str = "tests/data/mechanisms/displacement.toml";

/// The displaced share of the programme's extra jobs carries the displaced person: their
/// production is not counted, their wage and its tax are not paid, and the payer of the
/// state they stay in pays their benefit — to the öre, and the ledger still balances.
#[test]
fn a_displaced_job_leaves_someone_else_on_benefit() {
    let sc = util::scenario(DISPLACEMENT, util::NO_SETS);
    let out = rehabsim::run(&sc, &util::keep_ledgers()).unwrap();
    let arm = &out.reps[0].arms[1];
    rehabsim::ledger::check_balance(&sc.arms()[1], arm).unwrap();
    let flow = |item: &str, p: usize| {
        let l = line_of(&sc, item);
        arm.point_flow(p, l, 0) + arm.point_flow(p, l, 1)
    };
    // Point 0: nobody works yet, nothing is displaced.
    assert_eq!(flow("benefit", 0), 100 * 8000 * 100);
    for p in 1..arm.points {
        // 100 work, 50 of whose jobs displace someone who stays on benefit.
        assert_eq!(flow("benefit", p), 50 * 8000 * 100, "point {p}");
        assert_eq!(flow("wage", p), 50 * 20000 * 100, "point {p}");
        assert_eq!(flow("tax", p), 50 * 4400 * 100, "point {p}");
        assert_eq!(flow("production", p), 50 * 27480 * 100, "point {p}");
    }
}

const RELOCATION: &str = "tests/data/mechanisms/relocation.toml";

/// Relocation as mechanisms: travel is paid by distance, and only at home do local
/// employers take those who complete the programme straight into work (a binomial share,
/// within 4 standard errors; exact in cohort mode).
#[test]
fn local_employers_place_completers_at_home_and_travel_costs_follow_the_distance() {
    let sc = util::scenario(RELOCATION, util::NO_SETS);
    let work = state(&sc, "work");
    let travel = line_of(&sc, "travel");
    for (engine, out) in both(&sc) {
        for (a, km, share) in [(0, 300.0, 0.0), (1, 20.0, 0.5)] {
            let arm = &out.reps[0].arms[a];
            // In the programme at points 0–2 (admitted at entry), out at point 3.
            let paid =
                |p: usize| (arm.point_flow(p, travel, 0) + arm.point_flow(p, travel, 1)) as f64;
            assert_eq!(paid(1), 2000.0 * 2.0 * km * 100.0, "{engine}, arm {a}");
            assert_eq!(paid(3), 0.0, "{engine}, arm {a}");
            let placed = (arm.occ(3, work, 0) + arm.occ(3, work, 1)) / 2000.0;
            let tol = if engine == "cohort mode" {
                1e-12
            } else {
                4.0 * (0.25f64 / 2000.0).sqrt()
            };
            assert!(
                (placed - share).abs() <= tol,
                "{engine}, arm {a}: {placed} placed"
            );
        }
    }
}
