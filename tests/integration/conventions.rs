//! Counting conventions and discounting, against hand-computed formulas, in both engines.
//!
//! Hand-computed expectations for a two-state model over three steps, under each
//! `accounting.counting` and `discount_from`, checked against both engines (exactly against
//! cohort mode, within 4 Monte Carlo standard errors against the microsimulation).
//! docs/general-models.md states the same formula.

use rehabsim::balance::NET;
use rehabsim::{RunOptions, Scenario};

use crate::util;

/// 500 persons alive → dead with probability `P` a year; 1 000 a year while alive, 5 000 once on
/// death; one life year per year alive. Three yearly steps.
const MODEL: &str = r#"
[scenario]
name = "two states, three steps"
seed = 99
replications = 100
horizon = 3
step = "year"

[accounting]
discount_rate = 0.05
measure_discount_rate = 0.02

[actors.payer]
public = true

[actors.outside]
outside = true

[states.alive]
[states.dead]
absorbing = true

[transitions.alive]
mode = "probability"
to.dead = 0.2

[population]
persons = 500
age = 50
retirement_age = 150
exit_state = "dead"
start = { alive = 1.0 }

[items.care]
class = "resource"
payer = "payer"
payee = "outside"
states = ["alive"]
amount = 1000

[items.funeral]
class = "resource"
payer = "payer"
payee = "outside"
on_enter = "dead"
amount = 5000

[measures.life_years]
values = { alive = 1 }

[arms.only]
counterfactual = true

[arms.same]
"#;

const N: f64 = 500.0;
const P: f64 = 0.2;
const H: usize = 3;

/// The exact formula (docs/general-models.md, "Counting and discounting"), with
/// `S(p) = (1 − P)^p` the expected share alive at point p and k = 1 step a year:
///
/// * point weights `w(p)`: start `1` for p < H; end `1` for p > 0; half_step `1/2` at
///   p = 0 and p = H, `1` between;
/// * discount factor `D_r(x) = (1 + r)^(−max(0, x − d) / k)`, d = `discount_from`;
/// * one-off amounts of step t are valued at `τ(t)` = t (start), t + 1 (end), t + ½
///   (half_step);
///
/// money = Σ_p w(p) D_r(p) · 1000 N S(p) + Σ_{t<H} D_r(τ(t)) · 5000 N S(t) P,
/// life years = Σ_p w(p) D_rm(p) · N S(p).
fn expected(counting: &str, from: f64, r: f64, rm: f64) -> (f64, f64) {
    let w = |p: usize| -> f64 {
        match counting {
            "start" => f64::from(u8::from(p < H)),
            "end" => f64::from(u8::from(p > 0)),
            _ => {
                if p == 0 || p == H {
                    0.5
                } else {
                    1.0
                }
            }
        }
    };
    let tau = |t: usize| -> f64 {
        t as f64
            + match counting {
                "start" => 0.0,
                "end" => 1.0,
                _ => 0.5,
            }
    };
    let d = |rate: f64, x: f64| (1.0 + rate).powf(-(x - from).max(0.0));
    let alive = |p: usize| N * (1.0 - P).powi(p as i32);
    let mut money = 0.0;
    let mut years = 0.0;
    for p in 0..=H {
        money += w(p) * d(r, p as f64) * 1000.0 * alive(p);
        years += w(p) * d(rm, p as f64) * alive(p);
    }
    for t in 0..H {
        money += d(r, tau(t)) * 5000.0 * alive(t) * P;
    }
    (money, years)
}

fn compile(counting: &str, from: u32) -> Scenario {
    util::compile(&util::parse(
        "conventions.toml",
        MODEL,
        &[
            format!("accounting.counting={counting}"),
            format!("accounting.discount_from={from}"),
        ],
    ))
}

#[test]
fn every_counting_convention_matches_the_hand_computed_formula_in_both_engines() {
    let mut seen = Vec::new();
    for counting in ["start", "end", "half_step"] {
        for from in [0u32, 1] {
            let (money, years) = expected(counting, f64::from(from), 0.05, 0.02);
            seen.push(money);
            let sc = compile(counting, from);
            let payer = 0; // the first sheet row

            // Cohort mode: exact (postings are whole öre; these amounts are exact in öre).
            let c = rehabsim::cohort_mode::run(&sc, &RunOptions::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let v = &c.evaluated.valuations[0][0];
            let got = -v.total(payer, NET);
            assert!(
                (got - money).abs() < 1e-6,
                "{counting}, discount_from {from}: cohort mode {got}, formula {money}"
            );
            let got_years = v.measures[0][0] + v.measures[0][1];
            assert!(
                (got_years - years).abs() < 1e-9,
                "{counting}, discount_from {from}: cohort life years {got_years}, formula {years}"
            );

            // Microsimulation: within 4 standard errors over 100 replications.
            let m = rehabsim::run(&sc, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
            for (what, xs, want) in [
                (
                    "money",
                    m.evaluated.valuations[0]
                        .iter()
                        .map(|v| -v.total(payer, NET))
                        .collect::<Vec<f64>>(),
                    money,
                ),
                (
                    "life years",
                    m.evaluated.valuations[0]
                        .iter()
                        .map(|v| v.measures[0][0] + v.measures[0][1])
                        .collect(),
                    years,
                ),
            ] {
                let n = xs.len() as f64;
                let mean = xs.iter().sum::<f64>() / n;
                let se =
                    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt();
                assert!(
                    (mean - want).abs() <= 4.0 * se + 1e-6,
                    "{counting}, discount_from {from}: microsimulation {what} {mean} ± {se}, formula {want}"
                );
            }
        }
    }
    // The six conventions give six different answers (the test tells them apart).
    for (i, a) in seen.iter().enumerate() {
        for b in &seen[i + 1..] {
            assert!((a - b).abs() > 1.0, "{seen:?}");
        }
    }
}

#[test]
fn the_formula_reads_as_the_textbook_sums() {
    // Spelled out for "end" counting with discount_from = 1 (the spreadsheet habit:
    // cycles 1..3 counted at their end, the first one undiscounted), money only:
    // 1000 N (0.8/1.05⁰ + 0.64/1.05¹ + 0.512/1.05²) + 5000 N 0.2 (1/1.05⁰ + 0.8/1.05¹ + 0.64/1.05²).
    let by_hand = 1000.0 * N * (0.8 + 0.64 / 1.05 + 0.512 / 1.05f64.powi(2))
        + 5000.0 * N * 0.2 * (1.0 + 0.8 / 1.05 + 0.64 / 1.05f64.powi(2));
    let (money, _) = expected("end", 1.0, 0.05, 0.02);
    assert!((money - by_hand).abs() < 1e-6, "{money} vs {by_hand}");
    // And "start" with discount_from = 0: points 0..2 at their start.
    let by_hand = 1000.0 * N * (1.0 + 0.8 / 1.05 + 0.64 / 1.05f64.powi(2))
        + 5000.0 * N * 0.2 * (1.0 + 0.8 / 1.05 + 0.64 / 1.05f64.powi(2));
    let (money, _) = expected("start", 0.0, 0.05, 0.02);
    assert!((money - by_hand).abs() < 1e-6, "{money} vs {by_hand}");
}
