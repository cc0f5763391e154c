//! Uncertainty: distributions, range checks, tornado, sweep, break-even, EVPI, expected mode.
//!
//! Issue #4. The scenarios are in tests/data/uncertainty/, each with a comment saying what
//! it is for.
//!
//! Statistical checks state their tolerance in standard errors; with fixed seeds they are
//! deterministic, and the tolerance says how unlucky a seed would have to be to fail.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use rehabsim::analysis::{break_even, evpi, expected, sweep, tornado};
use rehabsim::model::{ItemKind, Model};
use rehabsim::{Error, RunOptions, RunOutput, Scenario};

use crate::util;

/// The test scenario `name` in tests/data/uncertainty/.
fn data(name: &str) -> PathBuf {
    util::path("tests/data/uncertainty").join(name)
}

fn source(name: &str, sets: &[&str]) -> rehabsim::scenario::Source {
    util::load(data(name), sets)
}

fn scenario(name: &str, sets: &[&str]) -> Scenario {
    util::compile(&source(name, sets))
}

/// A scenario from the text of a test file with `edit` applied, as its error or result.
fn edited(name: &str, from: &str, to: &str) -> Result<Scenario, Error> {
    let text = std::fs::read_to_string(data(name)).expect("the test scenario reads");
    assert!(text.contains(from), "`{from}` is not in {name}");
    let src = rehabsim::scenario::parse(Path::new(name), text.replacen(from, to, 1))?;
    let sc = src.compile()?;
    rehabsim::analysis::psa::check_ranges(&sc)?;
    Ok(sc)
}

fn run(sc: &Scenario) -> RunOutput {
    rehabsim::run(sc, &RunOptions::default()).expect("the run succeeds")
}

/// As [`run`], keeping every replication's ledger.
fn run_keeping_ledgers(sc: &Scenario) -> RunOutput {
    rehabsim::run(sc, &util::keep_ledgers()).expect("the run succeeds")
}

fn item_amount(m: &Model, id: &str) -> f64 {
    let item = m
        .items()
        .iter()
        .find(|i| i.id == id)
        .expect("the item exists");
    match &item.kind {
        ItemKind::State { amount, .. } => *amount,
        other => panic!("item {id} is not a per-state item: {other:?}"),
    }
}

fn society_mean(out: &RunOutput) -> f64 {
    out.summary.differences[0].actors["society"].sheet.net.mean
}

// ---------------------------------------------------------------------------------------
// Distributions as scenario values

#[test]
fn zero_variance_distribution_gives_the_plain_numbers_summary_byte_for_byte() {
    let bytes = |name: &str| {
        let sc = scenario(name, &[]);
        let mut out = run(&sc);
        break_even::attach(&sc, &mut out).expect("break-even runs");
        out.summary.expected = Some(expected::run(&sc, Some(200)).expect("expected mode runs"));
        rehabsim::output::json::summary_json(&out.summary)
    };
    let fixed = bytes("fixed.toml");
    assert_eq!(scenario("fixed.toml", &[]).uncertain().len(), 6);
    assert!(scenario("plain.toml", &[]).uncertain().is_empty());
    assert!(fixed == bytes("plain.toml"), "summaries differ");
}

/// Analytic mean and variance of every family of tests/data/uncertainty/families.toml,
/// computed here from the textbook formulas (not from `rehabsim::dist`).
fn analytic(id: &str) -> (f64, f64) {
    let lognormal = |mu: f64, sigma: f64| {
        let s2 = sigma * sigma;
        ((mu + s2 / 2.0).exp(), s2.exp_m1() * (2.0 * mu + s2).exp())
    };
    let z95 = 1.6448536269514722;
    let z975 = 1.959963984540054;
    match id {
        "fixed" => (5.0, 0.0),
        "uniform" => (4.0, 16.0 / 12.0),
        // (a² + b² + c² − ab − ac − bc) / 18 with a, c, b = 1, 2, 6.
        "triangular" => (3.0, 21.0 / 18.0),
        "normal" => (10.0, 4.0),
        // Normal(10, 2) truncated to [9, 14]: α = −0.5, β = 2.
        "normal_truncated" => {
            let phi = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let (a, b) = (-0.5, 2.0);
            let mass = 0.9772498680518208 - 0.3085375387259869;
            let m = (phi(a) - phi(b)) / mass;
            let v = 1.0 + (a * phi(a) - b * phi(b)) / mass - m * m;
            (10.0 + 2.0 * m, 4.0 * v)
        }
        "lognormal_mu_sigma" => lognormal(1.0, 0.3),
        "lognormal_mean_sd" => (5.0, 1.0),
        "lognormal_p05_p95" => lognormal(4f64.ln(), (5.5f64.ln() - 3f64.ln()) / (2.0 * z95)),
        "lognormal_p025_p975" => lognormal(4f64.ln(), (5.5f64.ln() - 3f64.ln()) / (2.0 * z975)),
        "gamma_shape_scale" => (6.0, 12.0),
        "gamma_mean_sd" => (6.0, 4.0),
        "beta_alpha_beta" => (2.0 / 7.0, 10.0 / (49.0 * 8.0)),
        "beta_mean_sd" => (0.3, 0.01),
        // Support 1, 2, …: mean 1/q, variance (1 − q)/q² with q = 1/3.
        "geometric" => (3.0, 6.0),
        "poisson" => (4.0, 4.0),
        other => panic!("no analytic moments for {other}"),
    }
}

#[test]
fn every_family_draws_its_mean_and_variance_through_the_scenario() {
    let sc = scenario("families.toml", &[]);
    let n = 1000u32;
    let models: Vec<Vec<Model>> = (0..n)
        .map(|r| sc.models_for(r).expect("every draw compiles"))
        .collect();
    let ids: Vec<String> = sc.arms()[0]
        .items()
        .iter()
        .map(|i| i.id.clone())
        .filter(|id| id != "shared")
        .collect();
    assert_eq!(ids.len(), 15, "every family in every parameterisation");
    for id in &ids {
        let xs: Vec<f64> = models.iter().map(|m| item_amount(&m[0], id)).collect();
        let (mu, var) = analytic(id);
        let nf = f64::from(n);
        let mean = xs.iter().sum::<f64>() / nf;
        let s2 = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (nf - 1.0);
        if var == 0.0 {
            assert!(
                xs.iter().all(|&x| x == mu),
                "{id}: a fixed value is never drawn"
            );
            continue;
        }
        // Within 4 standard errors: SE(mean) = σ/√n, SE(s²) = √((m₄ − s⁴)/n) with the
        // sample fourth central moment m₄.
        let m4 = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / nf;
        let se_mean = (var / nf).sqrt();
        let se_var = ((m4 - s2 * s2).max(0.0) / nf).sqrt();
        assert!(
            (mean - mu).abs() <= 4.0 * se_mean,
            "{id}: mean {mean} vs {mu} (SE {se_mean})"
        );
        assert!(
            (s2 - var).abs() <= 4.0 * se_var,
            "{id}: variance {s2} vs {var} (SE {se_var})"
        );
        // Each value is one draw per replication, the same in every arm.
        assert!(
            models
                .iter()
                .all(|m| item_amount(&m[1], id) == item_amount(&m[0], id))
        );
    }
    // A value given in an arm's `set` is drawn under the key path it sets: the same
    // draw as the base scenario's value at that path, replication by replication.
    let shared: Vec<(f64, f64)> = models
        .iter()
        .map(|m| (item_amount(&m[0], "shared"), item_amount(&m[1], "shared")))
        .collect();
    assert!(shared.iter().all(|(a, b)| a == b));
    assert!(shared.iter().any(|(a, _)| *a != shared[0].0));
    // Different values are independent draws: the sample correlation of two uniforms is
    // within 4 standard errors (1/√n) of zero.
    let u: Vec<f64> = models
        .iter()
        .map(|m| item_amount(&m[0], "uniform"))
        .collect();
    let s: Vec<f64> = shared.iter().map(|x| x.0).collect();
    let corr = correlation(&u, &s);
    assert!(
        corr.abs() <= 4.0 / f64::from(n).sqrt(),
        "correlation {corr}"
    );
    // The central models are at the means.
    assert_eq!(item_amount(&sc.arms()[0], "gamma_mean_sd"), 6.0);
}

fn correlation(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

#[test]
fn invalid_distributions_are_clear_errors() {
    let err = |from: &str, to: &str| match edited("linear.toml", from, to) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("`{to}` was accepted"),
    };
    let course = "amount = { dist = \"uniform\", low = 1000, high = 2000 }";
    let effect = "effect = { dist = \"lognormal\", median = 1.5, p05 = 1.1, p95 = 2.0 }";
    assert_eq!(
        err(
            course,
            "amount = { dist = \"normal\", mean = 1500, sd = 0 }"
        ),
        "linear.toml has 1 problem:\n  linear.toml:63:42: `items.course.amount.sd`: `sd` must be > 0 in dist = \"normal\" (found 0); for a value without uncertainty write the number itself or use dist = \"fixed\"\n"
    );
    assert_eq!(
        err(effect, "effect = { dist = \"beta\", mean = 1.2, sd = 0.1 }"),
        "linear.toml has 1 problem:\n  linear.toml:55:27: `programmes.course.effect.mean`: `mean` must be strictly between 0 and 1 in dist = \"beta\" (found 1.2); a beta distribution lives on (0, 1)\n"
    );
    assert_eq!(
        err(
            course,
            "amount = { dist = \"gausian\", mean = 1500, sd = 10 }"
        ),
        "linear.toml has 1 problem:\n  linear.toml:63:12: `items.course.amount.dist`: unknown distribution family \"gausian\" in `dist`; expected one of: fixed, uniform, triangular, normal, lognormal, gamma, beta, geometric, poisson\n"
    );
}

#[test]
fn a_distribution_that_can_leave_the_keys_range_is_rejected_before_the_run() {
    let err = |from: &str, to: &str| match edited("linear.toml", from, to) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("`{to}` was accepted"),
    };
    // Unbounded: probed where it falls below once in 1e9 draws.
    assert_eq!(
        err(
            "to.work = 0.05",
            "to.work = { dist = \"normal\", mean = 0.05, sd = 0.02 }"
        ),
        "linear.toml has 1 problem:\n  linear.toml:35:4: `transitions.idle.to.work`: Normal(mean 0.05, sd 0.02) can draw -0.0699561 (it falls below this once in 1e9 draws), which is not accepted here: a hazard cannot be negative, found -0.06995614030015374. Choose a distribution whose range fits the key (beta for probabilities and shares, lognormal or gamma for hazards, hazard ratios and costs) or truncate a normal with `low`/`high`\n"
    );
    // Bounded: probed at the end of its range.
    assert_eq!(
        err(
            "referral = 1.0",
            "referral = { dist = \"uniform\", low = 0.5, high = 1.2 }"
        ),
        "linear.toml has 1 problem:\n  linear.toml:53:1: `programmes.course.referral`: Uniform(0.5–1.2) can draw 1.2 (the highest value of its range), which is not accepted here: expected a probability or share between 0 and 1, found 1.2. Choose a distribution whose range fits the key (beta for probabilities and shares, lognormal or gamma for hazards, hazard ratios and costs) or truncate a normal with `low`/`high`\n"
    );
    // The fixes the message suggests are accepted.
    assert!(
        edited(
            "linear.toml",
            "to.work = 0.05",
            "to.work = { dist = \"gamma\", mean = 0.05, sd = 0.02 }",
        )
        .is_ok()
    );
    assert!(
        edited(
            "linear.toml",
            "to.work = 0.05",
            "to.work = { dist = \"normal\", mean = 0.05, sd = 0.02, low = 0 }",
        )
        .is_ok()
    );
}

#[test]
fn a_rule_that_joins_several_draws_stops_the_run_at_the_replication_that_breaks_it() {
    // Each probability alone fits with the other at its mean (0.6 + 0.4 ≤ 1), so the range
    // check passes; both near their highest values do not.
    let sc = edited(
        "linear.toml",
        "to.work = 0.05",
        "mode = \"probability\"\nto.work = { dist = \"uniform\", low = 0.2, high = 0.6 }\nto.exited = { dist = \"uniform\", low = 0.2, high = 0.6 }",
    )
    .expect("each value fits on its own");
    let e = sc
        .models_for(0)
        .expect_err("replication 0 draws a row above 1");
    let msg = e.to_string();
    assert!(
        msg.starts_with("linear.toml has 1 problem:\n  linear.toml:34:14: `transitions.idle`: in replication 0, the parameter draw gives an invalid model: the probabilities out of `idle` sum to 1.0194769754744302 (clock piece 0); a row must not exceed 1"),
        "{msg}"
    );
    assert!(msg.contains("(values drawn: transitions.idle.to.work = 0.486559765867959, transitions.idle.to.exited = 0.5329172096064712, "), "{msg}");
    assert!(msg.contains("hazards instead of probabilities"), "{msg}");
    // Replication 1 draws a valid row.
    assert!(sc.models_for(1).is_ok());
}

#[test]
fn a_probability_row_pushed_above_1_by_a_multiplier_is_the_documented_clamp() {
    // Per-step probabilities: 0.8 into work, times the programme's hazard ratio of up to
    // 2 while in the course, exceeds 1; the engine rescales the row and counts it.
    let sc = edited(
        "linear.toml",
        "to.work = 0.05",
        "mode = \"probability\"\nto.work = 0.8",
    )
    .expect("the scenario is valid");
    let out = run(&sc);
    assert!(out.summary.diagnostics.clamped_rows > 0);
    let plain = run(&scenario("linear.toml", &[]));
    assert_eq!(plain.summary.diagnostics.clamped_rows, 0);
}

#[test]
fn an_uncertain_discount_rate_values_each_replication_at_its_own_rate() {
    let sc = scenario(
        "linear.toml",
        &["accounting.discount_rate={ dist = \"uniform\", low = 0.0, high = 0.5 }"],
    );
    let out = run_keeping_ledgers(&sc);
    let cf = sc.counterfactual();
    let rows = &out.evaluated.rows;
    let mut differs = false;
    for (k, rep) in out.reps.iter().enumerate() {
        let own = sc.models_for(rep.replication).expect("the draw compiles");
        let v = rehabsim::balance::value(&own[cf], &rep.arms[cf], rows);
        assert_eq!(out.evaluated.valuations[cf][k], v);
        // The replication carries its own drawn rate, not the central one.
        assert_eq!(
            rep.arms[cf].discount_rate,
            own[cf].accounting().discount_rate
        );
        differs |= rep.arms[cf].discount_rate != sc.arms()[cf].accounting().discount_rate;
    }
    assert!(differs, "every replication was valued at the central rate");
}

// ---------------------------------------------------------------------------------------
// Tornado

#[test]
fn tornado_swings_zero_for_an_unused_parameter_and_analytically_for_a_linear_one() {
    let sc = scenario("linear.toml", &[]);
    let t = tornado::run(
        &sc,
        &tornado::TornadoOptions {
            params: vec![],
            actor: "society".into(),
            arm: None,
        },
    )
    .expect("the tornado runs");
    assert_eq!(t.difference, "course - usual");
    let names: Vec<&str> = t.rows.iter().map(|r| r.parameter.as_str()).collect();
    assert_eq!(
        names,
        [
            "programmes.course.effect",
            "items.course.amount",
            "organisations.unused.handover_failure"
        ],
        "sorted by swing"
    );
    let row = |p: &str| t.rows.iter().find(|r| r.parameter == p).unwrap();
    // An organisation no arm uses: the same models, so the same result to the öre.
    let unused = row("organisations.unused.handover_failure");
    assert_eq!(unused.swing, 0.0);
    assert_eq!(unused.net_low, t.base);
    // The course costs amount × 50 persons × 6 months (no discounting): the swing is
    // (p95 − p05) × 300 of Uniform(1000, 2000), i.e. 900 × 300.
    let amount = row("items.course.amount");
    assert_eq!((amount.low_value, amount.high_value), (1050.0, 1950.0));
    assert!((amount.swing - 270_000.0).abs() < 1e-6, "{}", amount.swing);
    assert!((amount.net_low - amount.net_high - 270_000.0).abs() < 1e-6);
    // The effect's p05/p95 are those of its lognormal: median 1.5 with the width of the
    // interval 1.1–2.0 on the log scale, centred on the median (dist.rs).
    let effect = row("programmes.course.effect");
    assert!((effect.low_value - 1.5 * (1.1f64 / 2.0).sqrt()).abs() < 1e-9);
    assert!((effect.high_value - 1.5 * (2.0f64 / 1.1).sqrt()).abs() < 1e-9);
    assert!(effect.net_high > effect.net_low);

    // Explicit bounds, also for a plain number, and another row of the balance sheet.
    let t = tornado::run(
        &sc,
        &tornado::TornadoOptions {
            params: vec![
                tornado::Param::parse("items.course.amount=0,1000").unwrap(),
                tornado::Param::parse("items.production.amount=30000,30000").unwrap(),
            ],
            actor: "municipality".into(),
            arm: Some("course".into()),
        },
    )
    .expect("the tornado runs");
    assert!((t.rows[0].swing - 300_000.0).abs() < 1e-6);
    assert_eq!(t.rows[1].swing, 0.0);
    // Production is the employers' row, not the municipality's; base is at the means.
    assert_eq!(t.rows[1].net_low, t.base);
}

#[test]
fn tornado_names_what_is_wrong() {
    let sc = scenario("linear.toml", &[]);
    let opts = |p: &str, actor: &str| tornado::TornadoOptions {
        params: vec![tornado::Param::parse(p).unwrap()],
        actor: actor.into(),
        arm: None,
    };
    let e = tornado::run(&sc, &opts("items.production.amount", "society")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--param items.production.amount: this value is not given as a distribution, so it has no p05/p95; give bounds, e.g. `--param items.production.amount=LOW,HIGH` (uncertain values: organisations.unused.handover_failure, programmes.course.effect, items.course.amount)"
    );
    let e = tornado::run(&sc, &opts("items.course.amount", "region")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--actor region: no such row of the balance sheet; use one of: municipality, employers, individual, public_sector, society"
    );
    assert_eq!(
        tornado::Param::parse("a.b=1").unwrap_err().to_string(),
        "--param a.b=1: bounds must be two numbers, e.g. `--param a.b=0.8,1.2`"
    );
}

// ---------------------------------------------------------------------------------------
// Sweep

#[test]
fn sweep_runs_the_full_grid_in_order_and_matches_single_runs() {
    let src = source("linear.toml", &["scenario.replications=2"]);
    let grids = vec![
        sweep::Grid::parse("items.course.amount=1000,2000").unwrap(),
        sweep::Grid::parse("programmes.course.effect=1,1.5").unwrap(),
    ];
    let s = sweep::run(&src, &grids, &|_, _| {}).expect("the sweep runs");
    assert_eq!(s.points, 4);
    let rows_per_point = 5; // municipality, employers, individual, public sector, society
    assert_eq!(s.rows.len(), 4 * rows_per_point);
    let pts: Vec<(usize, Vec<String>)> = s
        .rows
        .iter()
        .step_by(rows_per_point)
        .map(|r| (r.point, r.values.clone()))
        .collect();
    let v = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
    assert_eq!(
        pts,
        [
            (0, v("1000", "1")),
            (1, v("1000", "1.5")),
            (2, v("2000", "1")),
            (3, v("2000", "1.5"))
        ]
    );
    // Point 2 is the run with those two overrides.
    let direct = run(&scenario(
        "linear.toml",
        &[
            "scenario.replications=2",
            "items.course.amount=2000",
            "programmes.course.effect=1",
        ],
    ));
    let soc = s
        .rows
        .iter()
        .find(|r| r.point == 2 && r.actor == "society")
        .unwrap();
    assert_eq!(
        soc.net,
        direct.summary.differences[0].actors["society"].sheet.net
    );
    // With effect 1 the course only costs: 2000 × 300 for society in every replication.
    assert!((soc.net.mean + 600_000.0).abs() < 1e-6);
    assert_eq!(soc.prob_positive, 0.0);

    let csv = rehabsim::output::analysis::sweep_csv(&s);
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with("point,items.course.amount,programmes.course.effect,difference,actor,net_mean,net_p05,net_p95,net_per_participant_mean,prob_positive,payback_median_month\n0,1000,1,course - usual,municipality,"));
    assert_eq!(text.lines().count(), 1 + 4 * rows_per_point);

    assert_eq!(
        sweep::Grid::parse("items.course.amount=1,,2")
            .unwrap_err()
            .to_string(),
        "--grid items.course.amount=1,,2: a value is empty; separate values by single commas"
    );
}

// ---------------------------------------------------------------------------------------
// Break-even

#[test]
fn scaling_the_effect_by_the_break_even_factor_brings_society_to_zero() {
    // A fixed course amount makes the programme's cost the same in every replication:
    // 1500 × 400 persons × 6 months = 3.6 MSEK.
    let sets = [
        "population.persons=400",
        "scenario.replications=6",
        "items.course.amount=1500",
    ];
    let sc = scenario("linear.toml", &sets);
    let mut out = run(&sc);
    break_even::attach(&sc, &mut out).expect("break-even runs");
    let be = out.summary.differences[0]
        .break_even
        .as_ref()
        .expect("break-even is in the summary");
    let soc = &be["society"];
    let s = soc.effect_scale.estimate.expect("society breaks even");
    assert!(s > 0.05 && s < 1.0, "{s}");

    // Run the whole pipeline again (both arms, summary) with every replication's effect
    // scaled by s: society's mean difference is within a quarter of a standard error of
    // zero (the search's target) and within 1 % of the programme's cost.
    let scaled = |m: &[Model]| -> Result<Vec<Model>, rehabsim::Error> {
        m.iter().map(|m| break_even::effect_scaled(m, s)).collect()
    };
    let central = scaled(sc.arms()).expect("the scaled models");
    let at_s = rehabsim::analysis::run_models(&sc, &central, &|r| scaled(&sc.models_for(r)?))
        .expect("the scaled run succeeds");
    let diffs: Vec<f64> = (0..at_s.reps.len())
        .map(|k| {
            let v = &at_s.evaluated.valuations;
            let soc = at_s.evaluated.rows.len() - 1;
            v[1][k].total(soc, 0) - v[0][k].total(soc, 0)
        })
        .collect();
    let n = diffs.len() as f64;
    let mean = diffs.iter().sum::<f64>() / n;
    assert_eq!(mean, society_mean(&at_s));
    let sd = (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!(
        mean.abs() <= 0.25 * sd / n.sqrt(),
        "{mean} vs SE {}",
        sd / n.sqrt()
    );
    assert!(mean.abs() <= 0.01 * 3.6e6, "{mean}");

    // Society's gain is production: 30 000 SEK a month in work, no discounting. It breaks
    // even when the extra person-years pay for the course: 3.6 MSEK / 360 000 = 10
    // (T4 of PARAMETERS.md), in every replication.
    let y = &soc.extra_person_years;
    assert!((y.estimate.unwrap() - 10.0).abs() < 1e-6, "{y:?}");
    assert!((y.p05.unwrap() - 10.0).abs() < 1e-6 && (y.p95.unwrap() - 10.0).abs() < 1e-6);
    assert!(soc.modelled_person_years.mean > 10.0);
    // The employers gain whatever the effect (wages are transfers, production accrues to
    // them); the individual's difference is zero at s = 0: both break even at once.
    assert_eq!(be["employers"].effect_scale.estimate, Some(0.0));
    assert_eq!(be["individual"].effect_scale.estimate, Some(0.0));
    // The municipality pays the course and saves social assistance of 8 000 SEK a month:
    // it needs more of the effect than society does.
    let muni = be["municipality"]
        .effect_scale
        .estimate
        .unwrap_or(f64::INFINITY);
    assert!(muni > s);
    assert_eq!(
        be["municipality"].effect_scale.estimate,
        be["public_sector"].effect_scale.estimate
    );
}

#[test]
fn scaling_the_effect_keeps_the_after_effect_proportional() {
    let sc = scenario("linear.toml", &[]);
    let m = &sc.arms()[1];
    let effect = |m: &Model| m.arm().programme.as_ref().unwrap().effect;
    let before = effect(m);
    assert_eq!(effect(&break_even::effect_scaled(m, 1.0).unwrap()), before);
    let after = effect(&break_even::effect_scaled(m, 0.5).unwrap());
    assert!((after - 1.0 - 0.5 * (before - 1.0)).abs() < 1e-12);
    assert_eq!(effect(&break_even::effect_scaled(m, 0.0).unwrap()), 1.0);
    // An effect scaled beyond the largest multiplier validation allows is refused.
    let e = break_even::effect_scaled(m, 1e12).unwrap_err();
    assert!(
        e.to_string().contains("above the largest multiplier"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// EVPI

#[test]
fn evpi_is_zero_when_one_arm_is_best_in_every_replication() {
    // With no effect the course only costs: the counterfactual is better for society and
    // the municipality in every replication, and nobody else is affected.
    let sc = scenario("linear.toml", &["programmes.course.effect=1"]);
    let out = run(&sc);
    let e = out.summary.differences[0].evpi.as_ref().unwrap();
    for actor in [
        "society",
        "municipality",
        "public_sector",
        "employers",
        "individual",
    ] {
        assert_eq!(e[actor].cohort, 0.0, "{actor}");
        assert_eq!(e[actor].prob_wrong, 0.0, "{actor}");
    }
    assert_eq!(e["society"].best_arm, "usual");
    let all = out.summary.evpi.as_ref().unwrap();
    assert_eq!(all.arms, ["usual", "course"]);
    assert_eq!(all.actors["society"].cohort, 0.0);
}

#[test]
fn evpi_in_the_summary_is_the_formula_on_the_replications() {
    let sc = scenario("linear.toml", &[]);
    let out = run(&sc);
    let ev = &out.evaluated;
    let muni = 0;
    let nb: Vec<Vec<f64>> = (0..2)
        .map(|a| ev.valuations[a].iter().map(|v| v.total(muni, 0)).collect())
        .collect();
    let n = nb[0].len() as f64;
    let by_hand = nb[0]
        .iter()
        .zip(&nb[1])
        .map(|(a, b)| a.max(*b))
        .sum::<f64>()
        / n
        - (nb[0].iter().sum::<f64>() / n).max(nb[1].iter().sum::<f64>() / n);
    let e = &out.summary.differences[0].evpi.as_ref().unwrap()["municipality"];
    assert!((e.cohort - by_hand).abs() <= 1e-9 * by_hand.abs().max(1.0));
    assert!(
        e.cohort > 0.0,
        "the municipality's sign differs between replications"
    );
    let participants = out.summary.arms["course"].participants.mean;
    assert_eq!(e.per_participant, Some(e.cohort / participants));
    assert_eq!(evpi::evpi(&nb).0, e.cohort);
}

// ---------------------------------------------------------------------------------------
// The expected mode

#[test]
fn the_expected_mode_scales_the_cohort_and_everything_sized_by_it() {
    let sc = scenario("linear.toml", &[]);
    assert_eq!(expected::scale_for(&sc, Some(1000)).unwrap(), 20);
    assert_eq!(expected::scale_for(&sc, Some(1001)).unwrap(), 21);
    assert_eq!(expected::scale_for(&sc, Some(10)).unwrap(), 1);
    // Places, an intake group and a fixed budget, set through the scenario (a compiled
    // model cannot be edited from outside).
    let sc = scenario(
        "linear.toml",
        &[
            "programmes.course.capacity=7",
            "population.intake={first = 0, every = 1, size = 5}",
            "items.course={class = \"resource\", payer = \"municipality\", payee = \"outside\", budget = {total = 1000, from = 0, until = 2}}",
        ],
    );
    let m = expected::scaled_model(&sc.arms()[1], 3).unwrap();
    assert_eq!(m.population().persons, 150);
    assert_eq!(m.population().intake.size, 15);
    assert_eq!(m.arm().programme.as_ref().unwrap().capacity, Some(21));
    assert!(matches!(m.items()[0].kind, ItemKind::Budget { total, .. } if total == 3000.0));
}

#[test]
fn the_expected_mode_averages_the_cohort_noise_out() {
    // Only cohort noise: every value at its mean. The real-size spread is cohort noise;
    // with 25 times the persons its standard deviation is a fifth.
    let sc = scenario(
        "linear.toml",
        &[
            "scenario.replications=12",
            "programmes.course.effect=1.5",
            "items.course.amount=1500",
            "organisations.unused.handover_failure=0.3",
        ],
    );
    let real = run(&sc);
    let ex = expected::run(&sc, Some(1250)).expect("the expected mode runs");
    assert_eq!((ex.scale, ex.persons, ex.replications), (25, 1250, 12));
    let r = &real.summary.differences[0].actors["society"];
    let e = &ex.differences["course - usual"].actors["society"];
    let sd = |out: &RunOutput| {
        let ev = &out.evaluated;
        let soc = ev.rows.len() - 1;
        let d: Vec<f64> = (0..out.reps.len())
            .map(|k| ev.valuations[1][k].total(soc, 0) - ev.valuations[0][k].total(soc, 0))
            .collect();
        let m = d.iter().sum::<f64>() / d.len() as f64;
        (d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (d.len() - 1) as f64).sqrt()
    };
    let sd_real = sd(&real);
    // The same expectation: within 4 standard errors of the real-size mean.
    assert!(
        (e.net.mean - r.sheet.net.mean).abs() <= 4.0 * sd_real / 12f64.sqrt(),
        "{} vs {}",
        e.net.mean,
        r.sheet.net.mean
    );
    assert!(e.net.p95 - e.net.p05 < 0.6 * (r.sheet.net.p95 - r.sheet.net.p05));
    // The programme's cost is deterministic: scaled back, it is the real cohort's.
    assert_eq!(e.prob_positive, 1.0);
}

// ---------------------------------------------------------------------------------------
// The command line

/// `rehabsim ARGS`, which must succeed; its stdout.
fn ok(args: &[&str]) -> String {
    let out = util::rehabsim().args(args).assert().code(0);
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

#[test]
fn run_prints_and_writes_the_uncertainty() {
    let dir = tempdir("run");
    let lin = data("linear.toml");
    let stdout = ok(&[
        "run",
        lin.to_str().unwrap(),
        "--expected",
        "--expected-persons",
        "200",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(stdout.contains("Uncertainty: payback month (median [90%]; never = not within the horizon), break-even (switching values), EVPI"));
    assert!(stdout.contains("extra person-years in success states at its modelled effect"));
    assert!(stdout.contains("Two kinds of spread: at the real cohort size (50 persons"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let d = &json["differences"]["course - usual"];
    for key in ["effect_scale", "extra_person_years"] {
        for f in ["estimate", "p05", "p50", "p95", "not_reached_share"] {
            assert!(
                d["break_even"]["society"][key].get(f).is_some(),
                "{key}.{f}"
            );
        }
    }
    for f in [
        "cohort",
        "per_person",
        "per_participant",
        "best_arm",
        "prob_wrong",
    ] {
        assert!(d["evpi"]["society"].get(f).is_some(), "evpi.{f}");
    }
    assert_eq!(json["expected"]["scale"], 4);
    assert!(
        json["expected"]["differences"]["course - usual"]["actors"]["society"]["net"]["p05"]
            .is_number()
    );

    util::rehabsim()
        .args(["run", lin.to_str().unwrap(), "--expected-persons", "9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--expected"));
}

#[test]
fn tornado_and_sweep_write_their_files() {
    let dir = tempdir("tornado");
    let lin = data("linear.toml");
    let stdout = ok(&[
        "tornado",
        lin.to_str().unwrap(),
        "--replications",
        "2",
        "--param",
        "items.course.amount",
        "--param",
        "accounting.discount_rate=0,0.1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(stdout.starts_with("Tornado: linear — course - usual, society\n"));
    // The schema the report renders, keys in this order.
    let text = std::fs::read_to_string(dir.join("tornado.json")).unwrap();
    let order = |keys: &[&str]| {
        let at: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).expect(k))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{keys:?} in {text}");
    };
    order(&["scenario", "actor", "difference", "base", "rows"]);
    order(&[
        "parameter",
        "low_value",
        "high_value",
        "net_low",
        "net_high",
        "swing",
    ]);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 5);
    assert_eq!(json["rows"][0].as_object().unwrap().len(), 6);
    assert_eq!(json["rows"][0]["parameter"], "items.course.amount");
    assert_eq!(json["rows"][0]["swing"], 270000.0);
    let csv = std::fs::read_to_string(dir.join("tornado.csv")).unwrap();
    assert!(csv.starts_with("scenario,difference,actor,parameter,low_value,high_value,net_low,net_high,swing,base\nlinear,course - usual,society,items.course.amount,1050,1950,"));

    let stdout = ok(&[
        "sweep",
        lin.to_str().unwrap(),
        "--replications",
        "2",
        "--grid",
        "programmes.course.effect=1,2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(stdout.starts_with("Sweep: linear — 2 grid points;"));
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * 5);
}

/// A fresh temporary folder for one test (see [`util::tmp`]).
fn tempdir(name: &str) -> util::Tmp {
    util::tmp(&format!("uncertainty-{name}"))
}

#[test]
fn the_analyses_do_not_depend_on_the_thread_count() {
    let lin = data("linear.toml");
    let outputs: Vec<(Vec<u8>, Vec<u8>)> = ["1", "3"]
        .iter()
        .map(|threads| {
            let dir = tempdir(&format!("threads-{threads}"));
            let d = dir.to_str().unwrap();
            ok(&[
                "run",
                lin.to_str().unwrap(),
                "--expected",
                "--expected-persons",
                "150",
                "--threads",
                threads,
                "--out",
                d,
            ]);
            ok(&[
                "tornado",
                lin.to_str().unwrap(),
                "--threads",
                threads,
                "--out",
                d,
            ]);
            (
                std::fs::read(dir.join("summary.json")).unwrap(),
                std::fs::read(dir.join("tornado.json")).unwrap(),
            )
        })
        .collect();
    assert!(outputs[0].0 == outputs[1].0, "summary.json differs");
    assert!(outputs[0].1 == outputs[1].1, "tornado.json differs");
}
