//! The shipped scenarios: they validate, run, balance and keep their headers' promises.
//!
//! Each shipped scenario validates, runs at a small replication count, balances its ledger
//! to the öre in every replication and arm, and keeps the promises of its header (a price
//! year, the rules of its time, every number explained).

use std::path::PathBuf;

use rehabsim::scenario::Scenario;
use rehabsim::{ledger, run};

use crate::util;

const SHIPPED: [&str; 6] = [
    "default.toml",
    "rehabarena-trelleborg.toml",
    "steget-vidare-umea.toml",
    "resurscentrum-lycksele.toml",
    "success-arvidsjaur.toml",
    "inkluderande-goteborg.toml",
];

/// The historical programmes (2010–2014) run under the 914-day time limit.
const HISTORICAL: [&str; 3] = [
    "rehabarena-trelleborg.toml",
    "steget-vidare-umea.toml",
    "resurscentrum-lycksele.toml",
];

/// The shipped scenario `name`.
fn path(name: &str) -> PathBuf {
    util::path("scenarios").join(name)
}

fn compile(name: &str, replications: u32) -> Scenario {
    util::scenario(
        path(name),
        &[format!("scenario.replications={replications}")],
    )
}

/// Runs, and balances in every replication and arm (3 replications keep each scenario
/// well under a second in a debug build).
fn runs_and_balances(name: &str) {
    let sc = compile(name, 3);
    // Keep the ledgers: the checks read the postings themselves.
    let out = run(&sc, &util::keep_ledgers()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(out.reps.len(), 3, "{name}");
    for r in &out.reps {
        for (a, arm) in r.arms.iter().enumerate() {
            ledger::check_balance(&sc.arms()[a], arm).unwrap_or_else(|e| {
                panic!(
                    "{name}, replication {}, arm {}: {e}",
                    r.replication,
                    sc.arms()[a].arm().id
                )
            });
        }
    }
    // Every programme arm has participants, and the counterfactual of the programme
    // scenarios none unless it is itself a programme (Success's relocated rehabilitation).
    for (a, m) in sc.arms().iter().enumerate() {
        let started: f64 = out
            .reps
            .iter()
            .map(|r| r.arms[a].participants.iter().sum::<f64>())
            .sum();
        assert_eq!(
            started > 0.0,
            m.arm().programme.is_some(),
            "{name}: arm {} has {started} participants",
            m.arm().id
        );
    }
}

#[test]
fn default_runs_and_balances() {
    runs_and_balances("default.toml");
}

#[test]
fn trelleborg_runs_and_balances() {
    runs_and_balances("rehabarena-trelleborg.toml");
}

#[test]
fn steget_vidare_runs_and_balances() {
    runs_and_balances("steget-vidare-umea.toml");
}

#[test]
fn lycksele_runs_and_balances() {
    runs_and_balances("resurscentrum-lycksele.toml");
}

#[test]
fn success_runs_and_balances() {
    runs_and_balances("success-arvidsjaur.toml");
}

#[test]
fn goteborg_runs_and_balances() {
    runs_and_balances("inkluderande-goteborg.toml");
}

#[test]
fn every_scenario_in_the_folder_is_tested() {
    let mut found: Vec<String> = std::fs::read_dir(util::path("scenarios"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    found.sort();
    let mut shipped: Vec<String> = SHIPPED.iter().map(|s| s.to_string()).collect();
    shipped.sort();
    assert_eq!(
        found, shipped,
        "add new scenarios to SHIPPED in tests/integration/scenarios.rs"
    );
}

#[test]
fn every_scenario_states_its_price_year_and_compares_with_business_as_usual() {
    for name in SHIPPED {
        let sc = compile(name, 1);
        let m = sc.base();
        let year = m
            .price_year()
            .unwrap_or_else(|| panic!("{name}: no price_year"));
        let expected = if HISTORICAL.contains(&name) {
            2012
        } else {
            2025
        };
        assert_eq!(year, expected, "{name}");
        assert_eq!(m.currency(), "SEK", "{name}");
        assert!(sc.arms().len() >= 2, "{name}");
        assert!(m.arm().counterfactual, "{name}");
    }
}

/// The historical scenarios carry the 2008–2016 rules as data: sickness benefit ends at
/// 914 days (30 months) into work introduction, which ends after three months; the
/// current-rules scenarios have no time limit.
#[test]
fn historical_scenarios_apply_the_time_limit_and_current_ones_do_not() {
    for name in SHIPPED {
        let sc = compile(name, 1);
        let m = sc.base();
        let sb = m.state_index("sickness_benefit").unwrap();
        let limit = m.rules().iter().find(|r| r.from == sb);
        if HISTORICAL.contains(&name) {
            let limit = limit.unwrap_or_else(|| panic!("{name}: no time limit"));
            assert_eq!(limit.after, 30, "{name}");
            let wi = m.state_index("work_introduction").unwrap();
            assert_eq!(limit.to, vec![(wi, 1.0)], "{name}");
            let ends = m.rules().iter().find(|r| r.from == wi).unwrap();
            assert_eq!(ends.after, 3, "{name}");
            let renewed = m.state_index("sickness_benefit_renewed").unwrap();
            // Cumulative shares: sickness benefit again first, 0.73 (ISF 2022:5).
            assert_eq!(ends.to[0].0, renewed, "{name}");
            assert!((ends.to[0].1 - 0.73).abs() < 1e-12, "{name}");
            // Work introduction is paid at the 223 SEK/day floor: 223 × 5 × 52 / 12.
            let item = m
                .items()
                .iter()
                .find(|i| i.id == "activity_support")
                .unwrap();
            match &item.kind {
                rehabsim::model::ItemKind::State { states, amount, .. } => {
                    assert!(states[wi], "{name}");
                    assert_eq!(*amount, (223.0f64 * 5.0 * 52.0 / 12.0).round(), "{name}");
                }
                other => panic!("{name}: {other:?}"),
            }
            // The horizon ends with January 2016, before the rule was abolished.
            assert!(m.horizon() <= 73, "{name}");
        } else {
            assert!(limit.is_none(), "{name}: a time limit under current rules");
        }
    }
}

/// The seed projects' budgets and their ESF shares, as the brief gives them.
#[test]
fn seed_budgets_are_posted_in_full_with_the_esf_share() {
    for (name, item, total, esf) in [
        (
            "rehabarena-trelleborg.toml",
            "rehabarena_budget",
            14_749_922.0,
            7_374_358.0,
        ),
        (
            "steget-vidare-umea.toml",
            "steget_vidare_budget",
            29_944_143.0,
            6_138_857.0,
        ),
    ] {
        let sc = compile(name, 1);
        let out = run(&sc, &util::keep_ledgers()).unwrap();
        let m = &sc.arms()[1];
        let k = m.items().iter().position(|i| i.id == item).unwrap();
        let esf_actor = m.actor_index("external_funders").unwrap();
        let mut posted = 0i64;
        let mut from_esf = 0i64;
        for (li, line) in m.lines().iter().enumerate().filter(|(_, l)| l.item == k) {
            for t in 0..m.horizon() as usize {
                for sex in 0..2 {
                    let v = out.reps[0].arms[1].step_flow(t, li, sex);
                    posted += v;
                    if line.payer == esf_actor {
                        from_esf += v;
                    }
                }
            }
        }
        // Rounding to whole öre happens once per line and month: at most ½ öre each.
        let months = match &m.items()[k].kind {
            rehabsim::model::ItemKind::Budget { from, until, .. } => (until - from) as f64,
            other => panic!("{other:?}"),
        };
        let lines = m.lines().iter().filter(|l| l.item == k).count() as f64;
        assert!(
            ((posted as f64) / 100.0 - total).abs() <= 0.005 * months * lines + 1e-9,
            "{name}: posted {posted} öre"
        );
        assert!(
            ((from_esf as f64) / 100.0 - esf).abs() < 1.0,
            "{name}: ESF paid {from_esf} öre, expected {esf} SEK"
        );
        // The counterfactual arm has no programme and pays nothing.
        let cf: i64 = (0..m.horizon() as usize)
            .flat_map(|t| {
                m.lines()
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.item == k)
                    .map(move |(li, _)| (t, li))
            })
            .map(|(t, li)| {
                out.reps[0].arms[0].step_flow(t, li, 0) + out.reps[0].arms[0].step_flow(t, li, 1)
            })
            .sum();
        assert_eq!(cf, 0, "{name}");
    }
}

/// The scenarios' contract with the reader: every line that sets a number is explained —
/// by a comment on the line, on its table's header, inside its table above it, or in the
/// comment block directly above its table or above the first of a run of sibling tables
/// (`[population.risk_factors.*]` share one block). Run settings, labels and structural
/// keys are exempt.
#[test]
fn every_number_in_a_shipped_scenario_is_explained() {
    let exempt = [
        "price_year",
        "seed",
        "replications",
        "discount_from",
        "public",
        "outside",
        "success",
        "absorbing",
        "counterfactual",
        "investment",
        "optimism_bias = true",
        "handover_at_exit",
        "values",
        "per = { wage = 1.0 }",
        "normalise_risk",
        "participants_only",
        "age_at_least",
    ];
    let mut missing = Vec::new();
    for name in SHIPPED {
        let text = std::fs::read_to_string(path(name)).unwrap();
        let mut explained_here = false;
        let mut group_explained = false;
        let mut group = String::new();
        let mut comment_block = false;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.starts_with('#') {
                comment_block = !line.starts_with("# ---");
                explained_here |= comment_block;
                continue;
            }
            if line.starts_with('[') {
                let table = line.trim_start_matches('[').split(']').next().unwrap_or("");
                let parent = table.rsplit_once('.').map_or(table, |(p, _)| p).to_string();
                if parent != group {
                    group = parent;
                    group_explained = comment_block;
                } else {
                    group_explained |= comment_block;
                }
                explained_here = comment_block || group_explained || line.contains('#');
                comment_block = false;
                continue;
            }
            comment_block = false;
            if line.is_empty() {
                continue;
            }
            // Strip quoted strings, then see whether a number is set.
            let mut code = String::new();
            let mut quoted = false;
            for c in line.split('#').next().unwrap_or("").chars() {
                if c == '"' {
                    quoted = !quoted;
                } else if !quoted {
                    code.push(c);
                }
            }
            let Some((_, value)) = code.split_once('=') else {
                continue;
            };
            if !value.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            if line.contains('#') || explained_here || exempt.iter().any(|e| line.starts_with(e)) {
                continue;
            }
            missing.push(format!("{name}:{}: {line}", n + 1));
        }
    }
    assert!(
        missing.is_empty(),
        "numbers without a source or [A]:\n{}",
        missing.join("\n")
    );
}
