//! Property tests (proptest) over random valid scenarios: balance, conservation, determinism.
//!
//! For every arm and replication the ledger balances to the öre, state counts are
//! non-negative whole numbers, every person who has entered is in exactly one state
//! (conservation), and two runs — one thread and two — give byte-identical `summary.json`.
//!
//! Scenarios are generated as TOML text from a [`Spec`] of small random choices (states,
//! hazards or probability rows, forced rules, an intake schedule, attributes, risk
//! factors, items of every kind, a programme with capacity, organisations with hand-over
//! gaps, one or two programme arms), so every part of the scenario format is exercised
//! with values inside their valid ranges. The case count keeps the suite at a few
//! seconds in a debug build.

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use rehabsim::ledger::check_balance;
use rehabsim::{output, scenario};

use crate::util;

/// Non-absorbing states `s0 … s{n-1}`, plus the absorbing exit state `exited`.
const MAX_STATES: usize = 5;

#[derive(Debug, Clone)]
struct Spec {
    states: usize,
    success: Vec<bool>,
    /// 0 = no agency, 1 = municipality, 2 = state.
    agency: Vec<u8>,
    /// `[from][to]` rate (hazard, or weight of a probability row); 0 = no transition.
    rates: Vec<Vec<f64>>,
    probability_mode: Vec<bool>,
    /// Clock pieces per state: rates multiplied by these after 3 and 6 steps.
    clock_factors: Option<(f64, f64)>,
    /// Forced rule: from, after (≥ 1), to.
    rule: Option<(usize, u32, usize)>,
    pop: Pop,
    money: Money,
    prog: Prog,
}

#[derive(Debug, Clone)]
struct Pop {
    persons: u64,
    horizon: u32,
    year_steps: bool,
    start: Vec<u32>,
    /// first, every (the batch size follows so that everyone enters in time).
    intake: Option<(u32, u32)>,
    women_share: f64,
    age_low: f64,
    age_span: f64,
    months_in_state: Option<f64>,
    wage_median: f64,
    zero_income_share: f64,
    risk: Vec<(f64, f64)>,
    age_risk: Option<(f64, f64)>,
    normalise_risk: bool,
    seed: u64,
}

#[derive(Debug, Clone)]
struct Money {
    amounts: Vec<f64>,
    by_time_factor: f64,
    tax_rate: f64,
    one_off: f64,
    budget: Option<(f64, u32, u32)>,
    counting: u8,
    discount_rate: f64,
    displacement: f64,
    optimism_bias: f64,
}

#[derive(Debug, Clone)]
struct Prog {
    referral: f64,
    duration: u32,
    capacity: Option<u32>,
    intake_every: u32,
    effect: f64,
    dropout: f64,
    decay: f64,
    handover_failure: f64,
    gap_mean: f64,
    handover_at_exit: bool,
    second_arm_effect: Option<f64>,
}

fn rates_strategy() -> impl Strategy<Value = Vec<Vec<f64>>> {
    prop::collection::vec(
        prop::collection::vec(prop_oneof![Just(0.0), 0.0..0.4f64], MAX_STATES + 1),
        MAX_STATES,
    )
}

prop_compose! {
    fn population()(
        persons in 1u64..60,
        horizon in 1u32..25,
        year_steps in prop::bool::weighted(0.15),
        start in prop::collection::vec(0u32..4, MAX_STATES),
        intake in prop::option::of((0u32..6, 1u32..4)),
        women_share in 0.0..=1.0f64,
        age_low in 16.0..60.0f64,
        age_span in 0.5..20.0f64,
        months_in_state in prop::option::of(0.0..40.0f64),
        wage_median in 5_000.0..60_000.0f64,
        zero_income_share in prop_oneof![Just(0.0), 0.0..0.5f64],
        risk in prop::collection::vec((0.0..=1.0f64, 0.2..4.0f64), 0..3),
        age_risk in prop::option::of((40.0..70.0f64, 0.2..3.0f64)),
        normalise_risk: bool,
        // TOML integers are i64.
        seed in 0..=i64::MAX as u64,
    ) -> Pop {
        Pop { persons, horizon, year_steps, start, intake, women_share, age_low, age_span,          months_in_state, wage_median, zero_income_share, risk, age_risk, normalise_risk, seed }
    }
}

prop_compose! {
    fn money()(
        amounts in prop::collection::vec(prop_oneof![Just(0.0), -2_000.0..20_000.0f64], 3),
        by_time_factor in 0.0..2.0f64,
        tax_rate in 0.0..0.6f64,
        one_off in 0.0..10_000.0f64,
        budget in prop::option::of((0.0..1e6f64, 0u32..6, 1u32..8)),
        counting in 0u8..3,
        discount_rate in -0.05..0.2f64,
        displacement in prop_oneof![Just(0.0), 0.0..0.5f64],
        optimism_bias in 0.0..0.5f64,
    ) -> Money {
        Money { amounts, by_time_factor, tax_rate, one_off, budget, counting, discount_rate,          displacement, optimism_bias }
    }
}

prop_compose! {
    fn programme()(
        referral in 0.0..=1.0f64,
        duration in 1u32..13,
        capacity in prop::option::of(1u32..20),
        intake_every in 1u32..4,
        effect in prop_oneof![Just(0.0), Just(1.0), 0.0..5.0f64],
        dropout in 0.0..0.5f64,
        decay in 0.0..=1.0f64,
        handover_failure in prop_oneof![Just(0.0), 0.0..=1.0f64],
        gap_mean in 1.0..5.0f64,
        handover_at_exit: bool,
        second_arm_effect in prop::option::of(0.0..3.0f64),
    ) -> Prog {
        Prog { referral, duration, capacity, intake_every, effect, dropout, decay, handover_failure,          gap_mean, handover_at_exit, second_arm_effect }
    }
}

prop_compose! {
    fn spec()(
        states in 2usize..=MAX_STATES,
        success in prop::collection::vec(any::<bool>(), MAX_STATES),
        agency in prop::collection::vec(0u8..3, MAX_STATES),
        rates in rates_strategy(),
        probability_mode in prop::collection::vec(prop::bool::weighted(0.3), MAX_STATES),
        clock_factors in prop::option::of((0.0..3.0f64, 0.0..3.0f64)),
        rule in prop::option::of((0usize..MAX_STATES, 1u32..6, 0usize..=MAX_STATES)),
        pop in population(),
        money in money(),
        prog in programme(),
    ) -> Spec {
        Spec { states, success, agency, rates, probability_mode, clock_factors, rule, pop, money, prog }
    }
}

impl Spec {
    fn name(&self, s: usize) -> String {
        if s == self.states {
            "exited".into()
        } else {
            format!("s{s}")
        }
    }

    /// Persons who have entered by step `t` under the intake schedule.
    fn entered_by(&self, t: u32) -> u64 {
        match self.intake_schedule() {
            None => self.pop.persons,
            Some((first, every, size)) => {
                if t < first {
                    0
                } else {
                    (u64::from((t - first) / every + 1) * size).min(self.pop.persons)
                }
            }
        }
    }

    /// `(first, every, size)` with the size chosen so that the last batch enters before
    /// the horizon (a later one is a validation error).
    fn intake_schedule(&self) -> Option<(u32, u32, u64)> {
        let (first, every) = self.pop.intake?;
        let first = first.min(self.pop.horizon - 1);
        let batches = u64::from((self.pop.horizon - 1 - first) / every + 1);
        Some((first, every, self.pop.persons.div_ceil(batches)))
    }

    fn toml(&self) -> String {
        let n = self.states;
        let mut t = String::new();
        let w = &mut t;
        let _ = writeln!(
            w,
            "[scenario]\nname = \"proptest\"\nseed = {}\nreplications = 2\nhorizon = {}\nstep = \"{}\"\n",
            self.pop.seed,
            self.pop.horizon,
            if self.pop.year_steps { "year" } else { "month" }
        );
        let _ = writeln!(
            w,
            "[accounting]\ndiscount_rate = {:?}\ncounting = \"{}\"\ndisplacement = {:?}\noptimism_bias = {:?}\n",
            self.money.discount_rate,
            ["start", "end", "half_step"][self.money.counting as usize],
            self.money.displacement,
            self.money.optimism_bias
        );
        let _ = writeln!(
            w,
            "[actors.municipality]\npublic = true\n[actors.state]\npublic = true\n[actors.individual]\n[actors.employer]\n[actors.funder]\n[actors.outside]\noutside = true\n"
        );
        for s in 0..n {
            let _ = writeln!(w, "[states.s{s}]");
            if self.success[s] {
                let _ = writeln!(w, "success = true");
            }
            match self.agency[s] {
                1 => {
                    let _ = writeln!(w, "agency = \"municipality\"");
                }
                2 => {
                    let _ = writeln!(w, "agency = \"state\"");
                }
                _ => {}
            }
            if s % 2 == 1 {
                let _ = writeln!(w, "clock = \"shared\"");
            }
        }
        let _ = writeln!(w, "[states.exited]\nabsorbing = true\n");

        for s in 0..n {
            let targets: Vec<usize> = (0..=n)
                .filter(|&d| d != s && self.rates[s][d] > 0.0)
                .collect();
            if targets.is_empty() {
                continue;
            }
            let _ = writeln!(w, "[transitions.s{s}]");
            let prob = self.probability_mode[s];
            if prob {
                let _ = writeln!(w, "mode = \"probability\"");
            }
            // A probability row must not exceed 1: scale it to at most 0.9 in every piece.
            let total: f64 = targets.iter().map(|&d| self.rates[s][d]).sum();
            let cap = |f: f64| {
                if prob {
                    0.9 / (total * f.max(1.0))
                } else {
                    1.0
                }
            };
            if let Some((f1, f2)) = self.clock_factors {
                let scale = cap(f1.max(f2)).min(1.0);
                let _ = writeln!(w, "clock_breaks = [3, 6]");
                for &d in &targets {
                    let r = self.rates[s][d] * scale;
                    let _ = writeln!(
                        w,
                        "to.{} = [{:?}, {:?}, {:?}]",
                        self.name(d),
                        r,
                        r * f1,
                        r * f2
                    );
                }
            } else {
                let scale = cap(1.0).min(1.0);
                for (k, &d) in targets.iter().enumerate() {
                    let r = self.rates[s][d] * scale;
                    if k == 0 && self.pop.age_risk.is_some() {
                        // One destination depends on age and on the simulation step.
                        let _ = writeln!(
                            w,
                            "to.{} = {{ rate = {r:?}, age = {{ breaks = [45], factors = [1.0, 0.5] }}, step = {{ breaks = [6], factors = [1.0, 0.8] }} }}",
                            self.name(d)
                        );
                    } else if k == 1 {
                        let _ = writeln!(
                            w,
                            "to.{} = {{ rate = {r:?}, attribute = \"motivation\" }}",
                            self.name(d)
                        );
                    } else {
                        let _ = writeln!(w, "to.{} = {r:?}", self.name(d));
                    }
                }
            }
        }
        if let Some((from, after, to)) = self.rule {
            let from = from % n;
            if to % (n + 1) != from {
                let _ = writeln!(
                    w,
                    "[rules.forced]\nfrom = \"s{from}\"\nafter = {after}\nto = \"{}\"\n",
                    self.name(to % (n + 1))
                );
            }
        }

        let _ = writeln!(
            w,
            "[population]\npersons = {}\nwomen_share = {:?}\nage = {{ per_person = \"uniform\", low = {:?}, high = {:?} }}\nincome_attribute = \"sgi\"\nnormalise_risk = {}",
            self.pop.persons,
            self.pop.women_share,
            self.pop.age_low,
            self.pop.age_low + self.pop.age_span,
            self.pop.normalise_risk
        );
        if let Some(m) = self.pop.months_in_state {
            let _ = writeln!(
                w,
                "months_in_state = {{ per_person = \"uniform\", low = 0, high = {:?} }}",
                m + 1.0
            );
        }
        if let Some((first, every, size)) = self.intake_schedule() {
            let _ = writeln!(
                w,
                "intake = {{ first = {first}, every = {every}, size = {size} }}"
            );
        }
        let mut weights: Vec<u32> = self.pop.start[..n].to_vec();
        if weights.iter().all(|&x| x == 0) {
            weights[0] = 1;
        }
        let sum: u32 = weights.iter().sum();
        let _ = writeln!(w, "[population.start]");
        for (s, &x) in weights.iter().enumerate() {
            if x > 0 {
                let _ = writeln!(w, "s{s} = {:?}", f64::from(x) / f64::from(sum));
            }
        }
        let _ = writeln!(w, "[population.start_when_zero_income]\ns0 = 1.0");
        let _ = writeln!(
            w,
            "[population.attributes.wage]\ndraw = {{ per_person = \"lognormal\", median = {:?}, p05 = {:?}, p95 = {:?} }}\nmax = 200000",
            self.pop.wage_median,
            self.pop.wage_median * 0.7,
            self.pop.wage_median * 1.5
        );
        let _ = writeln!(
            w,
            "[population.attributes.sgi]\nfrom = \"wage\"\nzero_share = {:?}\nmax = 49000",
            self.pop.zero_income_share
        );
        let _ = writeln!(
            w,
            "[population.attributes.motivation]\ndraw = {{ per_person = \"gamma\", mean = 1.0, sd = 0.5 }}\nmin = 0\nmax = 10"
        );
        for (k, &(prev, hr)) in self.pop.risk.iter().enumerate() {
            let _ = writeln!(
                w,
                "[population.risk_factors.r{k}]\nprevalence = {prev:?}\nhazard_ratio = {hr:?}"
            );
        }
        if let Some((age, hr)) = self.pop.age_risk {
            let _ = writeln!(
                w,
                "[population.risk_factors.older]\nage_at_least = {age:?}\nhazard_ratio = {hr:?}"
            );
        }

        let all: Vec<String> = (0..n).map(|s| format!("\"s{s}\"")).collect();
        let success: Vec<String> = (0..n)
            .filter(|&s| self.success[s])
            .map(|s| format!("\"s{s}\""))
            .collect();
        let not_success: Vec<String> = (0..n)
            .filter(|&s| !self.success[s])
            .map(|s| format!("\"s{s}\""))
            .collect();
        let _ = writeln!(
            w,
            "\n[items.benefit]\nclass = \"transfer\"\npayer = \"municipality\"\npayee = \"individual\"\nstates = [{}]\namount = {:?}\nper = {{ sgi = 0.5 }}\nby_time = {{ breaks = [4], factors = [1.0, {:?}] }}",
            all.join(", "),
            self.money.amounts[0],
            self.money.by_time_factor
        );
        if !success.is_empty() {
            let _ = writeln!(
                w,
                "[items.wage]\nclass = \"transfer\"\npayer = \"employer\"\npayee = \"individual\"\nstates = [{}]\nper = {{ wage = 1.0 }}",
                success.join(", ")
            );
            let _ = writeln!(
                w,
                "[items.production]\nclass = \"production\"\npayer = \"outside\"\npayee = \"employer\"\nstates = [{}]\nper = {{ wage = 1.3 }}\namount = {:?}",
                success.join(", "),
                self.money.amounts[1]
            );
            let _ = writeln!(
                w,
                "[items.tax]\nclass = \"transfer\"\npayer = \"individual\"\npayee = {{ municipality = 0.6, state = 0.4 }}\nof = {{ wage = {:?}, benefit = {:?} }}",
                self.money.tax_rate, self.money.tax_rate
            );
        }
        if !not_success.is_empty() {
            let _ = writeln!(
                w,
                "[items.care]\nclass = \"resource\"\npayer = {{ municipality = 0.3, state = 0.7 }}\npayee = \"outside\"\nstates = [{}]\namount = {:?}",
                not_success.join(", "),
                self.money.amounts[2]
            );
        }
        let _ = writeln!(
            w,
            "[items.assessment]\nclass = \"resource\"\npayer = \"state\"\npayee = \"outside\"\non_enter = \"s0\"\namount = {:?}",
            self.money.one_off
        );
        let _ = writeln!(
            w,
            "[items.programme]\nclass = \"resource\"\npayer = {{ funder = 0.5, municipality = 0.5 }}\npayee = \"outside\"\nstates = [{}]\nphases = [\"in_programme\"]\namount = 5000\ninvestment = true\noptimism_bias = true",
            all.join(", ")
        );
        if let Some((total, from, len)) = self.money.budget {
            let from = from.min(self.pop.horizon - 1);
            let until = (from + len).min(self.pop.horizon).max(from + 1);
            let _ = writeln!(
                w,
                "[items.premises]\nclass = \"resource\"\npayer = \"funder\"\npayee = \"outside\"\nbudget = {{ total = {total:?}, from = {from}, until = {until} }}\norganisations = [\"siloed\"]"
            );
        }
        let _ = writeln!(
            w,
            "[measures.months_well]\nvalues = {{ {} }}",
            (0..n)
                .map(|s| format!("s{s} = {}", u8::from(self.success[s])))
                .collect::<Vec<_>>()
                .join(", ")
        );

        let gap = (0..n).find(|&s| !self.success[s]).unwrap_or(0);
        let _ = writeln!(
            w,
            "\n[organisations.siloed]\nhandover_failure = {:?}\ngap_months = {{ per_event = \"geometric\", mean = {:?} }}\ngap_states = {{ s{gap} = 1.0 }}\neffect_loss = 0.5",
            self.prog.handover_failure, self.prog.gap_mean
        );
        let _ = writeln!(
            w,
            "[organisations.together]\nhandover_failure = {:?}\ngap_states = {{ s{gap} = 1.0 }}\nsuccess_multiplier = 1.2",
            self.prog.handover_failure / 4.0
        );
        let _ = writeln!(
            w,
            "[locations.away]\nsuccess_multiplier = 0.9\ndropout_multiplier = 1.5\nextra_wait = 1\nrelapse = 0.2"
        );
        let eligible: Vec<String> = (0..n)
            .filter(|&s| !self.success[s])
            .map(|s| format!("\"s{s}\""))
            .collect();
        let eligible = if eligible.is_empty() {
            vec!["\"s0\"".to_string()]
        } else {
            eligible
        };
        let _ = writeln!(
            w,
            "[programmes.p]\neligible = [{}]\nreferral = {:?}\nduration = {}\nintake_every = {}\neffect = {:?}\ndropout = {:?}\nafter_effect_decay = {:?}\ndropout_effect_retained = 0.5\nhandover_at_exit = {}\norganisation = \"together\"\nlocation = \"away\"",
            eligible.join(", "),
            self.prog.referral,
            self.prog.duration,
            self.prog.intake_every,
            self.prog.effect,
            self.prog.dropout,
            self.prog.decay,
            self.prog.handover_at_exit
        );
        if let Some(c) = self.prog.capacity {
            let _ = writeln!(w, "capacity = {c}");
        }
        let _ = writeln!(
            w,
            "\n[arms.usual]\ncounterfactual = true\norganisation = \"siloed\"\n[arms.programme]\norganisation = \"siloed\"\nprogramme = \"p\""
        );
        if let Some(e) = self.prog.second_arm_effect {
            let _ = writeln!(
                w,
                "[arms.stronger]\nprogramme = \"p\"\nset = {{ \"programmes.p.effect\" = {e:?} }}"
            );
        }
        t
    }
}

fn summary_bytes(sc: &rehabsim::Scenario, threads: usize) -> (Vec<u8>, rehabsim::RunOutput) {
    let out = util::on_threads(threads, || rehabsim::run(sc, &util::keep_ledgers()))
        .expect("a valid scenario runs");
    (output::json::summary_json(&out.summary), out)
}

proptest! {
    #![proptest_config(ProptestConfig {
        // 48 keeps the suite at a few seconds; `PROPTEST_CASES=5000` runs a long soak.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(48),
        // Failing cases are kept beside this file, in proptest_ledger.proptest-regressions
        // (this file's name with the extension replaced), and re-run first.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_valid_scenarios_balance_conserve_reproduce_and_match_the_reference_path(spec in spec()) {
        let text = spec.toml();
        let src = scenario::parse(Path::new("proptest.toml"), text.clone())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let sc = src.compile().unwrap_or_else(|e| panic!("{e}\n{text}"));
        let (one, out) = summary_bytes(&sc, 1);

        for rep in &out.reps {
            for (m, arm) in sc.arms().iter().zip(&rep.arms) {
                // 1. The ledger identity, to the öre, at every point and step.
                check_balance(m, arm).map_err(|e| {
                    TestCaseError::fail(format!("{e} (arm {}, replication {})", m.arm().id, rep.replication))
                })?;
                for p in 0..arm.points {
                    let mut present = 0.0;
                    for s in 0..arm.states {
                        for sex in 0..2 {
                            // 2. Counts are non-negative whole numbers.
                            let x = arm.occ(p, s, sex);
                            prop_assert!(x >= 0.0 && x.fract() == 0.0, "occupancy {x}");
                            present += x;
                        }
                    }
                    // 3. Conservation: everyone who has entered is in exactly one state.
                    let entered = spec.entered_by(p as u32) as f64;
                    prop_assert_eq!(present, entered, "point {} of arm {}", p, m.arm().id);
                    let in_prog = arm.in_programme[p * 2] + arm.in_programme[p * 2 + 1];
                    prop_assert!(in_prog >= 0.0 && in_prog <= present);
                }
                let participants = arm.participants[0] + arm.participants[1];
                prop_assert!(participants <= spec.pop.persons as f64);
            }
        }
        // 4. Determinism: the same bytes with one thread and with two.
        let (two, _) = summary_bytes(&sc, 2);
        prop_assert!(one == two, "summary.json differs between 1 and 2 threads");
        // 5. The engine's short path and standing tally decide and count exactly as the
        //    reference path (the full step and a recount for every person).
        for rep in &out.reps {
            let models = sc.models_for(rep.replication).expect("models");
            let reference =
                rehabsim::engine::run_replication_paths(&models, rep.replication, false, false);
            prop_assert!(
                reference == *rep,
                "replication {} differs from the reference path\n{}",
                rep.replication,
                text
            );
        }
    }
}
