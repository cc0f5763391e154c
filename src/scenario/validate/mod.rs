//! Turns the serde mirror into a [`Model`] per arm, checking every value and reference.
//!
//! All problems are collected in one pass; nothing here panics on user input.

mod check;
mod read;

use indexmap::IndexMap;
use toml::{Table, Value};

use self::check::{Ctx, a_type, issue, label};
use self::read::deserialize;
use super::error::{Diagnostics, Issue, Origin};
use super::raw::*;
use super::{params, set_path, split_path};
use crate::dist::Dist;
use crate::model::*;

/// Upper bounds that keep memory and the öre ledger within safe limits; `limits.rs`
/// documents them and proves the ledger bound.
pub use crate::limits::{
    MAX_ATTRIBUTE, MAX_COMBINED_HAZARD_RATIO, MAX_HORIZON, MAX_MULTIPLIER, MAX_PERSONS,
    MAX_REPLICATIONS, MAX_RISK_FACTORS, MAX_STATES,
};

/// Keys an arm's `set` may not change: the cohort, the run and the accounting are shared
/// by all arms, or the comparison would not be like with like.
const SHARED_ROOTS: [&str; 5] = ["scenario", "population", "accounting", "arms", "targets"];

pub fn compile_all(
    base: &Table,
    resolve: &mut dyn FnMut(&str, &Dist) -> f64,
) -> Result<Vec<Model>, Vec<Issue>> {
    let raw = deserialize(base)?;
    if raw.arms.is_empty() {
        return Err(vec![issue(
            "arms",
            "no arms are defined: add at least `[arms.<name>]` with `counterfactual = true` and one programme arm",
        )]);
    }
    let mut models = Vec::new();
    let mut issues: Vec<Issue> = Vec::new();
    for (arm_index, (arm_id, arm)) in raw.arms.iter().enumerate() {
        let mut doc = base.clone();
        let mut set_keys = Vec::new();
        if let Some(set) = &arm.set {
            for (key, value) in set {
                let path = format!("arms.{arm_id}.set.{key}");
                if let Some(root) = SHARED_ROOTS
                    .iter()
                    .find(|r| key == *r || key.starts_with(&format!("{r}.")))
                {
                    issues.push(issue(
                        &path,
                        format!(
                            "an arm may not change `{root}`: all arms share the cohort, the run settings and the accounting; move the change into the base scenario"
                        ),
                    ));
                    continue;
                }
                let mut v = value.clone();
                if let Err(mut e) = params::resolve_value(&mut v, key, resolve) {
                    issues.append(&mut e);
                    continue;
                }
                if let Err(msg) = set_path(&mut doc, &split_path(key), v) {
                    issues.push(issue(&path, msg));
                    continue;
                }
                set_keys.push(key.clone());
            }
        }
        let arm_raw = if set_keys.is_empty() {
            Ok(raw.clone())
        } else {
            deserialize(&doc)
        };
        let result = arm_raw.and_then(|r| {
            let mut d = Diagnostics::default();
            let m = build(&r, arm_index, &mut d);
            if d.is_empty() {
                m.ok_or_else(Vec::new)
            } else {
                Err(d.issues)
            }
        });
        match result {
            Ok(m) => {
                if let Err((path, msg)) = crate::limits::check_ledger(&m)
                    && !issues.iter().any(|x| x.path == path && x.message == msg)
                {
                    issues.push(issue(path, msg));
                }
                models.push(m)
            }
            Err(errs) => {
                for mut e in errs {
                    if set_keys.iter().any(|k| e.path.starts_with(k.as_str())) {
                        e.origin = Origin::Arm(arm_id.clone());
                    }
                    if !issues
                        .iter()
                        .any(|x| x.path == e.path && x.message == e.message)
                    {
                        issues.push(e);
                    }
                }
            }
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    let cf: Vec<usize> = models
        .iter()
        .enumerate()
        .filter(|(_, m)| m.arm.counterfactual)
        .map(|(i, _)| i)
        .collect();
    if cf.len() != 1 {
        return Err(vec![issue(
            "arms",
            format!(
                "exactly one arm must have `counterfactual = true` (found {}): mark business as usual as the counterfactual",
                cf.len()
            ),
        )]);
    }
    if models.len() < 2 {
        return Err(vec![issue(
            "arms",
            "only one arm is defined: add a programme arm to compare with the counterfactual",
        )]);
    }
    let first = &models[0];
    for m in &models[1..] {
        let same = m
            .states
            .iter()
            .map(|s| &s.id)
            .eq(first.states.iter().map(|s| &s.id))
            && m.actors
                .iter()
                .map(|s| &s.id)
                .eq(first.actors.iter().map(|s| &s.id))
            && m.items
                .iter()
                .map(|s| &s.id)
                .eq(first.items.iter().map(|s| &s.id))
            && m.lines.len() == first.lines.len()
            && m.measures
                .iter()
                .map(|s| &s.id)
                .eq(first.measures.iter().map(|s| &s.id));
        if !same {
            return Err(vec![issue(
                format!("arms.{}.set", m.arm.id),
                "an arm may change values but not the model's structure (its states, actors, items, payer splits or measures)",
            )]);
        }
    }
    Ok(models)
}

fn build(raw: &RawScenario, arm_index: usize, d: &mut Diagnostics) -> Option<Model> {
    let mut c = Ctx::new(raw, d);
    let meta = &raw.scenario;
    let horizon = c.count(meta.horizon, "scenario.horizon", 1, MAX_HORIZON);
    let replications = c.count(
        meta.replications.unwrap_or(100),
        "scenario.replications",
        1,
        MAX_REPLICATIONS,
    );
    let steps_per_year = match meta.step.as_deref().unwrap_or("month") {
        "month" => 12,
        "year" => 1,
        other => {
            c.err(
                "scenario.step",
                format!("expected \"month\" or \"year\", found \"{other}\""),
            );
            12
        }
    };

    // Accounting.
    let a = &raw.accounting;
    let rate = |v: Option<f64>, default: f64, path: &str, c: &mut Ctx| {
        let v = v.unwrap_or(default);
        if c.finite(v, path) && v <= -1.0 {
            c.err(
                path,
                format!(
                    "a discount rate must be above -1 (-100 %), found {v}; 0.035 means 3.5 % a year"
                ),
            );
        } else if v.is_finite() && v > 1.0 {
            c.err(
                path,
                format!("a discount rate of {v} is {}; write 3.5 % as 0.035", pct(v)),
            );
        }
        v
    };
    let discount_rate = rate(a.discount_rate, 0.035, "accounting.discount_rate", &mut c);
    // Defaults to the money rate, which is reported once, under its own key.
    let measure_discount_rate = match a.measure_discount_rate {
        Some(v) => rate(Some(v), v, "accounting.measure_discount_rate", &mut c),
        None => discount_rate,
    };
    let counting = match a.counting.as_deref().unwrap_or("start") {
        "start" => Counting::Start,
        "end" => Counting::End,
        "half_step" => Counting::HalfStep,
        other => {
            c.err(
                "accounting.counting",
                format!("expected \"start\", \"end\" or \"half_step\", found \"{other}\""),
            );
            Counting::Start
        }
    };
    let discount_from = c.count(
        a.discount_from.unwrap_or(0),
        "accounting.discount_from",
        0,
        1,
    );
    let optimism_bias = a.optimism_bias.unwrap_or(0.0);
    if c.finite(optimism_bias, "accounting.optimism_bias") && !(0.0..=10.0).contains(&optimism_bias)
    {
        c.err(
            "accounting.optimism_bias",
            format!(
                "expected a cost uplift between 0 and 10 (0.10 = +10 %), found {optimism_bias}"
            ),
        );
    }
    let displacement = c.prob(a.displacement.unwrap_or(0.0), "accounting.displacement");
    let accounting = Accounting {
        discount_rate,
        measure_discount_rate,
        counting,
        discount_from,
        optimism_bias,
        displacement,
    };

    // Actors.
    let mut actors = Vec::new();
    for (id, ra) in &raw.actors {
        if ra.outside && ra.public {
            c.err(
                format!("actors.{id}"),
                "an actor cannot be both `outside` and `public`",
            );
        }
        // The balance sheet adds these two rows itself.
        if id == "public_sector" || id == "society" {
            c.err(
                format!("actors.{id}"),
                format!("`{id}` is reserved for the balance sheet's total row; give the actor another id"),
            );
        }
        actors.push(Actor {
            id: id.clone(),
            label: label(&ra.label, id),
            label_sv: ra.label_sv.clone().unwrap_or_else(|| label(&ra.label, id)),
            public: ra.public,
            outside: ra.outside,
        });
    }
    let outside_count = actors.iter().filter(|a| a.outside).count();
    if outside_count != 1 {
        c.err(
            "actors",
            format!(
                "exactly one actor must have `outside = true` (the source of production and the sink of resources); found {outside_count}"
            ),
        );
    }

    // States and clocks.
    if raw.states.is_empty() || raw.states.len() > MAX_STATES {
        c.err(
            "states",
            format!(
                "expected 1 to {MAX_STATES} states, found {}",
                raw.states.len()
            ),
        );
    }
    let mut clock_names: Vec<String> = Vec::new();
    let mut states = Vec::new();
    for (id, rs) in &raw.states {
        let path = format!("states.{id}");
        let agency = rs
            .agency
            .as_ref()
            .and_then(|a| c.actor(a, &format!("{path}.agency")));
        let clock_name = rs.clock.clone().unwrap_or_else(|| id.clone());
        let clock = match clock_names.iter().position(|n| *n == clock_name) {
            Some(i) => i,
            None => {
                clock_names.push(clock_name);
                clock_names.len() - 1
            }
        };
        states.push(State {
            id: id.clone(),
            label: label(&rs.label, id),
            label_sv: rs.label_sv.clone().unwrap_or_else(|| label(&rs.label, id)),
            agency,
            success: rs.success,
            absorbing: rs.absorbing,
            clock,
        });
    }
    let n_states = states.len();

    // Population (needed before transitions for attribute references).
    let p = &raw.population;
    let persons = p.persons;
    if !(1..=MAX_PERSONS).contains(&persons) {
        c.err(
            "population.persons",
            format!(
                "expected a cohort of 1 to {MAX_PERSONS} persons, found {persons}{}",
                if persons > MAX_PERSONS {
                    format!(
                        " (the documented maximum, docs/robustness.md \"Limits\"; this cohort alone would need at least {} of memory); simulate a representative cohort and scale the totals",
                        crate::limits::gib(
                            (persons as u64)
                                .saturating_mul(crate::limits::bytes_per_person(p.attributes.len(), 1))
                        )
                    )
                } else {
                    String::new()
                }
            ),
        );
    }
    let women_share = c.prob(p.women_share.unwrap_or(0.5), "population.women_share");
    let age = c.person_dist(&p.age, "per_person", "population.age");
    let retirement_age = p.retirement_age.unwrap_or(65.0);
    if c.finite(retirement_age, "population.retirement_age")
        && !(1.0..=150.0).contains(&retirement_age)
    {
        c.err(
            "population.retirement_age",
            format!("expected an age in years between 1 and 150, found {retirement_age}"),
        );
    }
    let (lo, hi) = age.support();
    if lo < 0.0 || hi > 150.0 {
        c.err(
            "population.age",
            format!("ages must lie between 0 and 150 years; this distribution ranges from {lo} to {hi} (truncate it with `low`/`high` or use another family)"),
        );
    }
    let exit_name = p.exit_state.clone().unwrap_or_else(|| "exited".into());
    let exit_state = c.state(&exit_name, "population.exit_state").unwrap_or(0);
    if states.get(exit_state).is_some_and(|s| !s.absorbing) {
        c.err(
            "population.exit_state",
            format!("the exit state `{exit_name}` must be declared with `absorbing = true`"),
        );
    }
    let start = c.shares(&p.start, "population.start");
    let start_when_zero_income = p
        .start_when_zero_income
        .as_ref()
        .map(|m| c.shares(m, "population.start_when_zero_income"));
    let months_in_state = p
        .months_in_state
        .as_ref()
        .map(|v| c.person_dist(v, "per_person", "population.months_in_state"));
    let intake = match &p.intake {
        None => Intake {
            first: 0,
            every: 1,
            size: persons.max(1) as u64,
        },
        Some(i) => Intake {
            first: {
                let f = i.first.unwrap_or(0);
                if !(0..i64::from(horizon)).contains(&f) {
                    c.err(
                        "population.intake.first",
                        format!(
                            "the first intake must be a step from 0 to {} (before the horizon of {horizon} steps), found {f}",
                            i64::from(horizon) - 1
                        ),
                    );
                }
                f.clamp(0, i64::from(horizon) - 1) as u32
            },
            every: c.count(
                i.every.unwrap_or(1),
                "population.intake.every",
                1,
                MAX_HORIZON,
            ),
            size: u64::from(c.count(i.size, "population.intake.size", 1, MAX_PERSONS)),
        },
    };
    // Persons are admitted in batches of `size`; a batch due at or after the horizon
    // would never be simulated, and the cohort would silently be smaller than stated.
    let first_ok = p
        .intake
        .as_ref()
        .is_some_and(|i| (0..i64::from(horizon)).contains(&i.first.unwrap_or(0)));
    if first_ok && (1..=MAX_PERSONS).contains(&persons) {
        let h = u64::from(horizon);
        let last_batch = (persons as u64 - 1) / intake.size;
        let last = u64::from(intake.first) + last_batch * u64::from(intake.every);
        if last >= h {
            let due = (h.saturating_sub(u64::from(intake.first))).div_ceil(u64::from(intake.every));
            let missing = persons as u64 - (due * intake.size).min(persons as u64);
            c.err(
                "population.intake",
                format!(
                    "the intake schedule admits {persons} persons in batches of {} every {} step{} from step {}: the last batch would enter at step {last}, not before the horizon ({horizon} steps), so {missing} persons would never be simulated; raise `size`, shorten `every`, lower `population.persons` or lengthen `scenario.horizon`",
                    intake.size,
                    intake.every,
                    if intake.every == 1 { "" } else { "s" },
                    intake.first
                ),
            );
        }
    }
    let mut attributes: Vec<Attribute> = Vec::new();
    for (id, ra) in &p.attributes {
        let path = format!("population.attributes.{id}");
        let source = match (&ra.draw, &ra.from) {
            (Some(v), None) => {
                AttributeSource::Draw(c.person_dist(v, "per_person", &format!("{path}.draw")))
            }
            (None, Some(f)) => match attributes.iter().position(|a| &a.id == f) {
                Some(i) => AttributeSource::From(i),
                None => {
                    c.err(
                        format!("{path}.from"),
                        format!("`{f}` is not an attribute declared above this one"),
                    );
                    AttributeSource::Draw(Dist::Fixed(0.0))
                }
            },
            _ => {
                c.err(
                    &path,
                    "give exactly one of `draw` (a distribution) or `from` (copy another attribute)",
                );
                AttributeSource::Draw(Dist::Fixed(0.0))
            }
        };
        let zero_share = c.prob(ra.zero_share.unwrap_or(0.0), &format!("{path}.zero_share"));
        let min = ra.min.unwrap_or(-MAX_ATTRIBUTE);
        let max = ra.max.unwrap_or(MAX_ATTRIBUTE);
        c.finite(min, &format!("{path}.min"));
        c.finite(max, &format!("{path}.max"));
        if min > max || min < -MAX_ATTRIBUTE || max > MAX_ATTRIBUTE {
            c.err(
                &path,
                format!("expected -{MAX_ATTRIBUTE:e} ≤ min ≤ max ≤ {MAX_ATTRIBUTE:e}, found min {min}, max {max}"),
            );
        }
        attributes.push(Attribute {
            id: id.clone(),
            label: label(&ra.label, id),
            source,
            zero_share,
            min,
            max,
        });
    }
    let attr = |c: &mut Ctx, name: &str, path: &str| -> Option<usize> {
        let i = attributes.iter().position(|a| a.id == name);
        if i.is_none() {
            let known: Vec<&str> = attributes.iter().map(|a| a.id.as_str()).collect();
            c.err(
                path,
                format!(
                    "`{name}` is not a population attribute; expected one of: {}",
                    if known.is_empty() {
                        "(none declared)".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            );
        }
        i
    };
    let income_attribute = p
        .income_attribute
        .as_ref()
        .and_then(|n| attr(&mut c, n, "population.income_attribute"));
    if start_when_zero_income.is_some() && income_attribute.is_none() {
        c.err(
            "population.start_when_zero_income",
            "needs `population.income_attribute` to say which attribute is the income basis",
        );
    }
    if p.risk_factors.len() > MAX_RISK_FACTORS {
        c.err(
            "population.risk_factors",
            format!("at most {MAX_RISK_FACTORS} risk factors are supported"),
        );
    }
    let mut risk_factors = Vec::new();
    for (id, rf) in &p.risk_factors {
        let path = format!("population.risk_factors.{id}");
        let kind = match (rf.prevalence, rf.age_at_least) {
            (Some(pv), None) => RiskKind::Prevalence(c.prob(pv, &format!("{path}.prevalence"))),
            (None, Some(a)) => RiskKind::AgeAtLeast(c.nonneg(a, &format!("{path}.age_at_least"))),
            _ => {
                c.err(
                    &path,
                    "give exactly one of `prevalence` (a share of the cohort) or `age_at_least` (years)",
                );
                RiskKind::Prevalence(0.0)
            }
        };
        let hr = c.multiplier(rf.hazard_ratio, &format!("{path}.hazard_ratio"));
        risk_factors.push(RiskFactor {
            id: id.clone(),
            label: label(&rf.label, id),
            kind,
            hazard_ratio: hr,
        });
    }
    // A person's hazard ratio is the product of all factors that apply, kept in `f32`
    // (cohort.rs): it must stay finite for anyone who has them all.
    let worst: f64 = risk_factors
        .iter()
        .map(|rf| rf.hazard_ratio.max(1.0))
        .product();
    if worst > MAX_COMBINED_HAZARD_RATIO {
        c.err(
            "population.risk_factors",
            format!(
                "a person with every risk factor would have a combined hazard ratio of {worst:.3e}, above {MAX_COMBINED_HAZARD_RATIO:e}; use realistic hazard ratios (0.3–3 is typical)"
            ),
        );
    }

    // Transitions.
    let mut transitions: Vec<Option<Transitions>> = vec![None; n_states];
    for (from, rt) in &raw.transitions {
        let path = format!("transitions.{from}");
        let Some(fi) = c.state(from, &path) else {
            continue;
        };
        if states[fi].absorbing && !rt.to.is_empty() {
            c.err(
                &path,
                format!("`{from}` is absorbing: it cannot have transitions out"),
            );
        }
        let mode = match rt.mode.as_deref().unwrap_or("hazard") {
            "hazard" => Mode::Hazard,
            "probability" => Mode::Probability,
            other => {
                c.err(
                    format!("{path}.mode"),
                    format!("expected \"hazard\" or \"probability\", found \"{other}\""),
                );
                Mode::Hazard
            }
        };
        let breaks: Vec<f64> = rt.clock_breaks.iter().map(|&b| b as f64).collect();
        if rt.clock_breaks.windows(2).any(|w| w[0] >= w[1])
            || rt.clock_breaks.iter().any(|&b| b <= 0)
        {
            c.err(
                format!("{path}.clock_breaks"),
                "`clock_breaks` must be positive whole steps in strictly increasing order",
            );
        }
        let pieces = breaks.len() + 1;
        let mut dests = Vec::new();
        for (to, spec) in &rt.to {
            let dpath = format!("{path}.to.{to}");
            let Some(ti) = c.state(to, &dpath) else {
                continue;
            };
            if ti == fi {
                c.err(
                    &dpath,
                    "a transition from a state to itself is implicit (the rest stays): remove it",
                );
                continue;
            }
            let mut dest = Dest {
                to: ti,
                rate: Piecewise::constant(0.0),
                age: None,
                step: None,
                attribute: None,
                success: states[ti].success,
            };
            let rate_value = match spec {
                Value::Table(t) => {
                    for k in t.keys() {
                        if !["rate", "age", "step", "attribute"].contains(&k.as_str()) {
                            c.err(
                                format!("{dpath}.{k}"),
                                format!("unknown key `{k}`; a destination table takes `rate`, `age`, `step` and `attribute`"),
                            );
                        }
                    }
                    for (key, slot) in [("age", 0), ("step", 1)] {
                        if let Some(v) = t.get(key) {
                            match v.clone().try_into::<RawPiecewise>() {
                                Ok(rp) => {
                                    for (i, &f) in rp.factors.iter().enumerate() {
                                        if f.is_finite() && f > MAX_MULTIPLIER {
                                            c.multiplier(f, &format!("{dpath}.{key}.factors.{i}"));
                                        }
                                    }
                                    let pw = c.piecewise(&rp, &format!("{dpath}.{key}"));
                                    if slot == 0 {
                                        dest.age = Some(pw);
                                    } else {
                                        dest.step = Some(pw);
                                    }
                                }
                                Err(_) => c.err(
                                    format!("{dpath}.{key}"),
                                    "expected a table `{ breaks = [...], factors = [...] }`",
                                ),
                            }
                        }
                    }
                    if let Some(v) = t.get("attribute") {
                        match v.as_str() {
                            Some(n) => {
                                let ap = format!("{dpath}.attribute");
                                dest.attribute = attr(&mut c, n, &ap);
                                // The attribute multiplies the hazard: a negative value
                                // would make a negative rate.
                                if let Some(ai) = dest.attribute {
                                    let lo = attr_floor(&attributes, ai);
                                    if lo < 0.0 {
                                        c.err(
                                            ap,
                                            format!("`{n}` multiplies this hazard but can be negative (down to {lo:e}); give `population.attributes.{n}` a `min` ≥ 0"),
                                        );
                                    }
                                }
                            }
                            None => {
                                c.err(format!("{dpath}.attribute"), "expected an attribute name")
                            }
                        }
                    }
                    match t.get("rate") {
                        Some(v) => v.clone(),
                        None => {
                            c.err(&dpath, "missing `rate`");
                            Value::Float(0.0)
                        }
                    }
                }
                v => v.clone(),
            };
            let values: Vec<f64> = match &rate_value {
                Value::Integer(i) => vec![*i as f64; pieces],
                Value::Float(f) => vec![*f; pieces],
                Value::Array(a) => {
                    if a.len() != pieces {
                        c.err(
                            &dpath,
                            format!(
                                "expected {pieces} value{}, one per clock piece ({} `clock_breaks` make {pieces} piece{}), found {}",
                                if pieces == 1 { "" } else { "s" },
                                breaks.len(),
                                if pieces == 1 { "" } else { "s" },
                                a.len()
                            ),
                        );
                    }
                    a.iter()
                        .enumerate()
                        .map(|(i, v)| match v {
                            Value::Integer(i) => *i as f64,
                            Value::Float(f) => *f,
                            other => {
                                c.err(
                                    format!("{dpath}.{i}"),
                                    format!("expected a number, found {}", a_type(other)),
                                );
                                0.0
                            }
                        })
                        .collect()
                }
                other => {
                    c.err(
                        &dpath,
                        format!("expected a rate (a number, or a list with one number per clock piece), found {}", a_type(other)),
                    );
                    vec![0.0; pieces]
                }
            };
            let listed = matches!(rate_value, Value::Array(_));
            for (i, &v) in values.iter().enumerate() {
                let vp = if listed {
                    format!("{dpath}.{i}")
                } else {
                    dpath.clone()
                };
                if !v.is_finite() {
                    c.err(&vp, format!("expected a finite number, found {v}"));
                } else if v < 0.0 {
                    c.err(
                        &vp,
                        format!(
                            "a {} cannot be negative, found {v}",
                            if mode == Mode::Hazard {
                                "hazard"
                            } else {
                                "probability"
                            }
                        ),
                    );
                } else if mode == Mode::Probability && v > 1.0 {
                    c.err(&vp, format!("a probability must be at most 1, found {v}"));
                } else if mode == Mode::Hazard && v > 50.0 {
                    c.err(&vp, format!("a monthly hazard of {v} means everyone leaves at once; hazards are rates per step (0.05 ≈ 5 % a step)"));
                }
            }
            if values.len() == pieces {
                dest.rate =
                    Piecewise::new(breaks.clone(), values.iter().map(|v| v.max(0.0)).collect());
            }
            dests.push(dest);
        }
        if mode == Mode::Probability {
            for piece in 0..pieces {
                let at = if piece == 0 { 0.0 } else { breaks[piece - 1] };
                let sum: f64 = dests.iter().map(|d| d.rate.at(at)).sum();
                if sum > 1.0 + 1e-12 {
                    c.err(
                        &path,
                        format!(
                            "the probabilities out of `{from}` sum to {sum} (clock piece {piece}); a row must not exceed 1 — the rest of the row is the chance to stay"
                        ),
                    );
                }
            }
        }
        transitions[fi] = Some(Transitions { mode, dests });
    }

    // Forced rules.
    let mut rules = Vec::new();
    for (id, rr) in &raw.rules {
        let path = format!("rules.{id}");
        let Some(from) = c.state(&rr.from, &format!("{path}.from")) else {
            continue;
        };
        if raw
            .states
            .get_index(from)
            .is_some_and(|(_, st)| st.absorbing)
        {
            c.err(
                format!("{path}.from"),
                format!(
                    "`{}` is absorbing: nobody leaves it, so a rule cannot start there",
                    rr.from
                ),
            );
        }
        let after = c.count(rr.after, &format!("{path}.after"), 0, MAX_HORIZON);
        let to = match &rr.to {
            Value::String(s) => c
                .state(s, &format!("{path}.to"))
                .map(|s| vec![(s, 1.0)])
                .unwrap_or_default(),
            Value::Table(t) => match t.clone().try_into::<Map<f64>>() {
                Ok(m) => c.shares(&m, &format!("{path}.to")),
                Err(_) => {
                    c.err(
                        format!("{path}.to"),
                        "expected a state name or a table of `state = share`",
                    );
                    vec![]
                }
            },
            _ => {
                c.err(
                    format!("{path}.to"),
                    "expected a state name or a table of `state = share`",
                );
                vec![]
            }
        };
        if to.iter().any(|&(s, _)| s == from) {
            c.err(
                format!("{path}.to"),
                "a rule cannot send a person back to the state it starts from",
            );
        }
        let income = match rr.income.as_deref().unwrap_or("any") {
            "any" => IncomeFilter::Any,
            "positive" => IncomeFilter::Positive,
            "zero" => IncomeFilter::Zero,
            other => {
                c.err(
                    format!("{path}.income"),
                    format!("expected \"any\", \"positive\" or \"zero\", found \"{other}\""),
                );
                IncomeFilter::Any
            }
        };
        if income != IncomeFilter::Any && income_attribute.is_none() {
            c.err(
                format!("{path}.income"),
                "an income filter needs `population.income_attribute`",
            );
        }
        rules.push(Rule {
            id: id.clone(),
            from,
            after,
            to,
            income,
        });
    }
    // Rules that fire on entry (after = 0) must not form a cycle: a person would bounce
    // between the states forever within one step.
    let mut reported: Vec<Vec<usize>> = Vec::new();
    for r in rules.iter().filter(|r| r.after == 0) {
        // Breadth-first over `after = 0` rules from `r.from`, remembering for each state
        // the state and rule it was reached by, until a rule leads back to `r.from`.
        let mut via: Vec<Option<(usize, usize)>> = vec![None; n_states];
        let mut queue = std::collections::VecDeque::from([r.from]);
        let mut closing = None;
        while let Some(s) = queue.pop_front() {
            for (k, r2) in rules.iter().enumerate() {
                if r2.after != 0 || r2.from != s {
                    continue;
                }
                for &(t, _) in &r2.to {
                    if t == s {
                        // Reported above: a rule cannot send a person back where it starts.
                        continue;
                    }
                    if t == r.from {
                        closing = closing.or(Some((s, k)));
                    } else if via[t].is_none() {
                        via[t] = Some((s, k));
                        queue.push_back(t);
                    }
                }
            }
        }
        let Some((last, closing_rule)) = closing else {
            continue;
        };
        // The loop r.from → … → last → r.from, and the rules taking each step.
        let mut loop_states = vec![last];
        let mut loop_rules = vec![closing_rule];
        let mut at = last;
        while let Some((prev, k)) = via[at] {
            loop_rules.push(k);
            loop_states.push(prev);
            at = prev;
        }
        loop_states.reverse();
        loop_rules.reverse();
        loop_states.push(r.from);
        let mut key = loop_rules.clone();
        key.sort_unstable();
        if reported.contains(&key) {
            continue;
        }
        reported.push(key);
        let names: Vec<String> = loop_rules
            .iter()
            .map(|&k| format!("`{}`", rules[k].id))
            .collect();
        let walk: Vec<&str> = loop_states.iter().map(|&s| states[s].id.as_str()).collect();
        c.err(
            format!("rules.{}", r.id),
            format!(
                "forced-transition loop: {} {} `after = 0` and send a person {} over and over within one step; give one of them `after` ≥ 1",
                if names.len() == 1 { "rule" } else { "rules" },
                if names.len() == 1 {
                    format!("{} has", names[0])
                } else {
                    format!("{} all have", names.join(", "))
                },
                walk.join(" → ")
            ),
        );
    }

    // Organisations, locations, programmes and this arm.
    let (arm_id, ra) = raw.arms.get_index(arm_index)?;
    let apath = format!("arms.{arm_id}");
    let no_org = Organisation {
        id: "none".into(),
        label: "no hand-over gaps".into(),
        handover_failure: 0.0,
        gap_months: Dist::Fixed(1.0),
        gap_states: vec![],
        effect_loss: 0.0,
        success_multiplier: 1.0,
    };
    let mut organisations: IndexMap<String, Organisation> = IndexMap::new();
    for (name, ro) in &raw.organisations {
        let op = format!("organisations.{name}");
        let failure = c.prob(
            ro.handover_failure.unwrap_or(0.0),
            &format!("{op}.handover_failure"),
        );
        let gap = ro
            .gap_months
            .as_ref()
            .map(|v| c.person_dist(v, "per_event", &format!("{op}.gap_months")))
            .unwrap_or(Dist::Fixed(1.0));
        if gap.support().0 < 0.0 {
            c.err(format!("{op}.gap_months"), "gap lengths cannot be negative");
        }
        let gap_states = match &ro.gap_states {
            Some(m) => c.shares(m, &format!("{op}.gap_states")),
            None => {
                if failure > 0.0 {
                    c.err(&op, "`handover_failure` > 0 needs `gap_states` (where people land while they wait)");
                }
                vec![]
            }
        };
        let o = Organisation {
            id: name.clone(),
            label: label(&ro.label, name),
            handover_failure: failure,
            gap_months: gap,
            gap_states,
            effect_loss: c.prob(ro.effect_loss.unwrap_or(0.0), &format!("{op}.effect_loss")),
            success_multiplier: c.multiplier(
                ro.success_multiplier.unwrap_or(1.0),
                &format!("{op}.success_multiplier"),
            ),
        };
        organisations.insert(name.clone(), o);
    }
    let mut locations: IndexMap<String, Location> = IndexMap::new();
    for (name, rl) in &raw.locations {
        let lp = format!("locations.{name}");
        let l = Location {
            id: name.clone(),
            label: label(&rl.label, name),
            success_multiplier: c.multiplier(
                rl.success_multiplier.unwrap_or(1.0),
                &format!("{lp}.success_multiplier"),
            ),
            dropout_multiplier: c.multiplier(
                rl.dropout_multiplier.unwrap_or(1.0),
                &format!("{lp}.dropout_multiplier"),
            ),
            extra_wait: c.count(
                rl.extra_wait.unwrap_or(0),
                &format!("{lp}.extra_wait"),
                0,
                MAX_HORIZON,
            ),
            relapse: c.prob(rl.relapse.unwrap_or(0.0), &format!("{lp}.relapse")),
        };
        locations.insert(name.clone(), l);
    }
    let find_org = |c: &mut Ctx, name: &str, path: &str| -> Option<Organisation> {
        let o = organisations.get(name).cloned();
        if o.is_none() {
            let known: Vec<&str> = organisations.keys().map(String::as_str).collect();
            c.err(
                path,
                format!(
                    "`{name}` is not an organisation; expected one of: {}",
                    if known.is_empty() {
                        "(none declared under [organisations])".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            );
        }
        o
    };
    let organisation = match &ra.organisation {
        None => no_org.clone(),
        Some(name) => {
            find_org(&mut c, name, &format!("{apath}.organisation")).unwrap_or(no_org.clone())
        }
    };
    // Validate every programme (so errors in an unused one are not hidden), keep the arm's.
    let mut programme = None;
    for (pid, rp) in &raw.programmes {
        let pp = format!("programmes.{pid}");
        let mut eligible = vec![false; n_states];
        for (i, s) in rp.eligible.iter().enumerate() {
            if let Some(si) = c.state(s, &format!("{pp}.eligible.{i}")) {
                eligible[si] = true;
            }
        }
        let decay = rp.after_effect_decay.unwrap_or(0.0);
        let decay = c.prob(decay, &format!("{pp}.after_effect_decay"));
        let p_org = rp
            .organisation
            .as_ref()
            .and_then(|n| find_org(&mut c, n, &format!("{pp}.organisation")));
        let location = match &rp.location {
            None => Location {
                id: "home".into(),
                label: "home municipality".into(),
                success_multiplier: 1.0,
                dropout_multiplier: 1.0,
                extra_wait: 0,
                relapse: 0.0,
            },
            Some(n) => match locations.get(n) {
                Some(l) => l.clone(),
                None => {
                    let known: Vec<&str> = locations.keys().map(String::as_str).collect();
                    c.err(
                        format!("{pp}.location"),
                        format!(
                            "`{n}` is not a location; expected one of: {}",
                            if known.is_empty() {
                                "(none declared under [locations])".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                    continue;
                }
            },
        };
        let prog = Programme {
            id: pid.clone(),
            label: label(&rp.label, pid),
            eligible,
            referral: c.prob(rp.referral, &format!("{pp}.referral")),
            referral_from: c.count(
                rp.referral_from.unwrap_or(0),
                &format!("{pp}.referral_from"),
                0,
                MAX_HORIZON,
            ),
            referral_until: c.count(
                rp.referral_until.unwrap_or(i64::from(horizon)),
                &format!("{pp}.referral_until"),
                0,
                MAX_HORIZON,
            ),
            capacity: rp
                .capacity
                .map(|cap| u64::from(c.count(cap, &format!("{pp}.capacity"), 1, MAX_PERSONS))),
            intake_first: c.count(
                rp.intake_first.unwrap_or(0),
                &format!("{pp}.intake_first"),
                0,
                MAX_HORIZON,
            ),
            intake_every: c.count(
                rp.intake_every.unwrap_or(1),
                &format!("{pp}.intake_every"),
                1,
                MAX_HORIZON,
            ),
            duration: c.count(rp.duration, &format!("{pp}.duration"), 1, MAX_HORIZON),
            dropout: c.nonneg(rp.dropout.unwrap_or(0.0), &format!("{pp}.dropout")),
            effect: c.multiplier(rp.effect.unwrap_or(1.0), &format!("{pp}.effect")),
            retention_per_step: (1.0 - decay).powf(1.0 / f64::from(steps_per_year)),
            dropout_effect_retained: c.prob(
                rp.dropout_effect_retained.unwrap_or(0.0),
                &format!("{pp}.dropout_effect_retained"),
            ),
            handover_at_exit: rp.handover_at_exit.unwrap_or(false),
            organisation: p_org,
            location,
        };
        if ra.programme.as_deref() == Some(pid.as_str()) {
            programme = Some(prog);
        }
    }
    if let Some(name) = &ra.programme
        && !raw.programmes.contains_key(name)
    {
        let known: Vec<&str> = raw.programmes.keys().map(String::as_str).collect();
        c.err(
            format!("{apath}.programme"),
            format!(
                "`{name}` is not a programme; expected one of: {}",
                known.join(", ")
            ),
        );
    }
    let arm = Arm {
        id: arm_id.clone(),
        label: label(&ra.label, arm_id),
        counterfactual: ra.counterfactual,
        organisation,
        programme,
    };

    // Items and their posting lines.
    let mut items = Vec::new();
    let mut lines = Vec::new();
    let item_ids: Vec<&String> = raw.items.keys().collect();
    for (ii, (id, ri)) in raw.items.iter().enumerate() {
        let path = format!("items.{id}");
        let class = match ri.class.as_str() {
            "transfer" => Class::Transfer,
            "production" => Class::Production,
            "resource" => Class::Resource,
            other => {
                c.err(
                    format!("{path}.class"),
                    format!(
                        "expected \"transfer\", \"production\" or \"resource\", found \"{other}\""
                    ),
                );
                Class::Transfer
            }
        };
        let parties = |c: &mut Ctx, v: &Value, key: &str| -> Vec<(usize, f64)> {
            let p = format!("{path}.{key}");
            match v {
                Value::String(s) => c.actor(s, &p).map(|a| vec![(a, 1.0)]).unwrap_or_default(),
                Value::Table(t) => {
                    let mut out = Vec::new();
                    let mut sum = 0.0;
                    for (k, v) in t {
                        let vp = format!("{p}.{k}");
                        let share = match v {
                            Value::Float(f) => *f,
                            Value::Integer(i) => *i as f64,
                            _ => f64::NAN,
                        };
                        let share = c.prob(share, &vp);
                        sum += share;
                        if let Some(a) = c.actor(k, &vp) {
                            out.push((a, share));
                        }
                    }
                    if (sum - 1.0).abs() > 1e-6 {
                        c.err(
                            &p,
                            format!("the shares must sum to 1, but they sum to {sum}"),
                        );
                    }
                    out
                }
                _ => {
                    c.err(&p, "expected an actor name or a table of `actor = share`");
                    vec![]
                }
            }
        };
        let payers = parties(&mut c, &ri.payer, "payer");
        let payees = parties(&mut c, &ri.payee, "payee");
        if payers.len() > 1 && payees.len() > 1 {
            c.err(
                &path,
                "split either the payer or the payee between actors, not both",
            );
        }
        let is_outside = |a: usize| actors.get(a).is_some_and(|x| x.outside);
        let class_ok = match class {
            Class::Transfer => payers.iter().chain(&payees).all(|&(a, _)| !is_outside(a)),
            Class::Production => {
                payers.iter().all(|&(a, _)| is_outside(a))
                    && payees.iter().all(|&(a, _)| !is_outside(a))
            }
            Class::Resource => {
                payees.iter().all(|&(a, _)| is_outside(a))
                    && payers.iter().all(|&(a, _)| !is_outside(a))
            }
        };
        if !class_ok {
            c.err(
                format!("{path}.class"),
                "a transfer flows between two actors inside society; production flows from the outside actor to an actor; a resource flows from an actor to the outside actor — change `class`, `payer` or `payee`",
            );
        }
        for &(payer, ps) in &payers {
            for &(payee, qs) in &payees {
                lines.push(Line {
                    item: ii,
                    payer,
                    payee,
                    share: ps * qs,
                });
            }
        }
        let kinds = [
            ri.states.is_some(),
            ri.of.is_some(),
            ri.on_enter.is_some(),
            ri.budget.is_some(),
        ]
        .iter()
        .filter(|&&b| b)
        .count();
        if kinds != 1 {
            c.err(
                &path,
                "an item needs exactly one of `states` (per person-step), `of` (a share of other items), `on_enter` (one-off on a transition) or `budget` (a fixed sum over time)",
            );
        }
        let amount = c.amount(ri.amount.unwrap_or(0.0), &format!("{path}.amount"));
        let mut per = Vec::new();
        if let Some(pm) = &ri.per {
            for (an, &coef) in pm {
                let pp = format!("{path}.per.{an}");
                c.finite(coef, &pp);
                if let Some(ai) = attr(&mut c, an, &pp) {
                    per.push((ai, coef));
                }
            }
        }
        let kind = if let Some(sts) = &ri.states {
            let mut mask = vec![false; n_states];
            for (i, s) in sts.iter().enumerate() {
                if let Some(si) = c.state(s, &format!("{path}.states.{i}")) {
                    mask[si] = true;
                }
            }
            ItemKind::State {
                states: mask,
                amount,
                per,
                by_time: ri
                    .by_time
                    .as_ref()
                    .map(|b| c.piecewise(b, &format!("{path}.by_time"))),
            }
        } else if let Some(of) = &ri.of {
            let mut v = Vec::new();
            for (k, &r) in of {
                let op = format!("{path}.of.{k}");
                c.finite(r, &op);
                match item_ids.iter().position(|x| *x == k) {
                    Some(j) if j < ii && raw.items[j].states.is_none() && raw.items[j].of.is_none() => c.err(
                        &op,
                        format!("`{k}` is a one-off or budget item: a share (`of`) can only be taken of per-person items (with `states`) or other `of` items"),
                    ),
                    Some(j) if j < ii => v.push((j, r)),
                    Some(_) => c.err(&op, format!("`{k}` must be declared before `{id}` (a derived item is computed from items above it)")),
                    None => c.err(&op, format!("`{k}` is not an item")),
                }
            }
            ItemKind::Derived { of: v }
        } else if let Some(to) = &ri.on_enter {
            let to = c.state(to, &format!("{path}.on_enter")).unwrap_or(0);
            let from = ri.from.as_ref().map(|f| {
                let mut mask = vec![false; n_states];
                for (i, s) in f.iter().enumerate() {
                    if let Some(si) = c.state(s, &format!("{path}.from.{i}")) {
                        mask[si] = true;
                    }
                }
                mask
            });
            if !per.is_empty() {
                c.err(
                    format!("{path}.per"),
                    "one-off amounts (`on_enter`) take a fixed `amount` only",
                );
            }
            ItemKind::OnEnter { to, from, amount }
        } else if let Some(b) = &ri.budget {
            c.amount(b.total, &format!("{path}.budget.total"));
            let from = c.count(b.from, &format!("{path}.budget.from"), 0, MAX_HORIZON);
            let until = c.count(b.until, &format!("{path}.budget.until"), 1, MAX_HORIZON);
            if until <= from {
                c.err(
                    format!("{path}.budget"),
                    "`until` must be after `from` (steps from..until, until exclusive)",
                );
            }
            ItemKind::Budget {
                total: b.total,
                from,
                until: until.max(from + 1),
            }
        } else {
            ItemKind::Budget {
                total: 0.0,
                from: 0,
                until: 1,
            }
        };
        let mut phases = [true; 4];
        if let Some(ph) = &ri.phases {
            phases = [false; 4];
            for (i, name) in ph.iter().enumerate() {
                match PHASE_NAMES.iter().position(|n| n == name) {
                    Some(k) => phases[k] = true,
                    None => c.err(
                        format!("{path}.phases.{i}"),
                        format!(
                            "expected one of {}, found \"{name}\"",
                            PHASE_NAMES.join(", ")
                        ),
                    ),
                }
            }
        }
        let mut active = true;
        if let Some(orgs) = &ri.organisations {
            for (i, o) in orgs.iter().enumerate() {
                if !raw.organisations.contains_key(o) {
                    c.err(
                        format!("{path}.organisations.{i}"),
                        format!("`{o}` is not an organisation"),
                    );
                }
            }
            active &= orgs.contains(&arm.organisation.id);
        }
        if let Some(locs) = &ri.locations {
            for (i, o) in locs.iter().enumerate() {
                if !raw.locations.contains_key(o) {
                    c.err(
                        format!("{path}.locations.{i}"),
                        format!("`{o}` is not a location"),
                    );
                }
            }
            active &= locs.iter().any(|o| o == arm.location_id());
        }
        items.push(Item {
            id: id.clone(),
            label: label(&ri.label, id),
            label_sv: ri.label_sv.clone().unwrap_or_else(|| label(&ri.label, id)),
            class,
            kind,
            phases,
            active,
            investment: ri.investment,
            multiplier: if ri.optimism_bias {
                1.0 + optimism_bias
            } else {
                1.0
            },
        });
    }

    // Measures.
    let mut measures = Vec::new();
    for (id, rm) in &raw.measures {
        let path = format!("measures.{id}");
        let mut values = vec![0.0; n_states];
        for (s, &v) in &rm.values {
            let vp = format!("{path}.values.{s}");
            c.finite(v, &vp);
            if let Some(si) = c.state(s, &vp) {
                values[si] = v;
            }
        }
        measures.push(Measure {
            id: id.clone(),
            label: label(&rm.label, id),
            unit: rm.unit.clone().unwrap_or_default(),
            values,
            attribute: rm
                .attribute
                .as_ref()
                .and_then(|a| attr(&mut c, a, &format!("{path}.attribute"))),
            by_time: rm
                .by_time
                .as_ref()
                .map(|b| c.piecewise(b, &format!("{path}.by_time"))),
        });
    }

    // Calibration targets.
    let mut targets = Vec::new();
    for (id, rt) in &raw.targets {
        let path = format!("targets.{id}");
        let arm = match raw.arms.get_index_of(&rt.arm) {
            Some(i) => i,
            None => {
                c.err(format!("{path}.arm"), format!("`{}` is not an arm", rt.arm));
                0
            }
        };
        let sts = rt
            .states
            .iter()
            .enumerate()
            .filter_map(|(i, s)| c.state(s, &format!("{path}.states.{i}")))
            .collect();
        targets.push(Target {
            id: id.clone(),
            arm,
            states: sts,
            month: {
                // Months since entry; the engine observes whole steps only.
                let mps = i64::from(12 / steps_per_year);
                let mo = c.count(rt.month, &format!("{path}.month"), 0, i64::from(horizon) * mps);
                if rt.month % mps != 0 {
                    c.err(
                        format!("{path}.month"),
                        format!("with `step = \"year\"` a target month must be a whole number of years (a multiple of 12), found {}", rt.month),
                    );
                }
                mo
            },
            share: c.prob(rt.share, &format!("{path}.share")),
            tolerance: c.prob(rt.tolerance.unwrap_or(0.05), &format!("{path}.tolerance")),
            participants_only: rt.participants_only,
            source: rt.source.clone().unwrap_or_default(),
        });
    }

    let mut handover = vec![false; n_states * n_states];
    for (f, sf) in states.iter().enumerate() {
        for (t, st) in states.iter().enumerate() {
            handover[f * n_states + t] =
                matches!((sf.agency, st.agency), (Some(a), Some(b)) if a != b);
        }
    }

    Some(Model {
        name: meta.name.clone(),
        description: meta.description.clone(),
        price_year: meta.price_year,
        currency: meta.currency.clone().unwrap_or_else(|| "SEK".into()),
        seed: meta.seed.unwrap_or(1),
        replications,
        horizon,
        steps_per_year,
        accounting,
        actors,
        states,
        clock_names,
        transitions,
        rules,
        population: Population {
            persons: persons.max(1) as u64,
            women_share,
            age,
            retirement_age,
            exit_state,
            start,
            start_when_zero_income,
            months_in_state,
            income_attribute,
            intake,
            attributes,
            risk_factors,
            normalise_risk: p.normalise_risk,
        },
        items,
        lines,
        measures,
        arm,
        handover,
        targets,
    })
}

/// Lowest value attribute `a` can take (its clamp, narrowed by its distribution).
fn attr_floor(attributes: &[Attribute], a: usize) -> f64 {
    let at = &attributes[a];
    let lo = match &at.source {
        AttributeSource::Draw(d) => d.support().0,
        AttributeSource::From(j) if *j < a => attr_floor(attributes, *j),
        AttributeSource::From(_) => f64::NEG_INFINITY,
    };
    let lo = lo.max(at.min);
    if at.zero_share > 0.0 { lo.min(0.0) } else { lo }
}

fn pct(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}
