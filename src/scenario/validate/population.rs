//! `[population]`: the cohort — its size, ages, start states, the intake schedule, the
//! person attributes (`[population.attributes]`) and the risk factors
//! (`[population.risk_factors]`).
//!
//! Validated before the transitions, rules, items and measures, which refer to attributes
//! by name ([`attribute`]).

use super::check::{Ctx, label};
use crate::dist::Dist;
use crate::limits::{
    MAX_ATTRIBUTE, MAX_COMBINED_HAZARD_RATIO, MAX_HORIZON, MAX_PERSONS, MAX_RISK_FACTORS,
};
use crate::model::{Attribute, AttributeSource, Intake, Population, RiskFactor, RiskKind, State};
use crate::scenario::raw::{Map, RawAttribute, RawPopulation, RawRiskFactor};

pub(super) fn population(
    p: &RawPopulation,
    c: &mut Ctx,
    states: &[State],
    horizon: u32,
) -> Population {
    let persons = p.persons;
    check_persons(p, c);
    let women_share = c.prob(p.women_share.unwrap_or(0.5), "population.women_share");
    let age = c.person_dist(&p.age, "per_person", "population.age");
    let retirement_age = p.retirement_age.unwrap_or(65.0);
    if c.finite(retirement_age, "population.retirement_age")
        && !(1.0..=150.0).contains(&retirement_age)
    {
        c.expect(
            "population.retirement_age",
            "an age in years between 1 and 150",
            retirement_age,
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
    let intake = intake(p, c, horizon);
    let attributes = attributes(&p.attributes, c);
    let income_attribute = p
        .income_attribute
        .as_ref()
        .and_then(|n| attribute(c, &attributes, n, "population.income_attribute"));
    if start_when_zero_income.is_some() && income_attribute.is_none() {
        c.err(
            "population.start_when_zero_income",
            "needs `population.income_attribute` to say which attribute is the income basis",
        );
    }
    let risk_factors = risk_factors(&p.risk_factors, c);
    Population {
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
    }
}

/// The cohort size, within the documented maximum; above it the message says how much
/// memory the cohort alone would need.
fn check_persons(p: &RawPopulation, c: &mut Ctx) {
    let persons = p.persons;
    if !(1..=MAX_PERSONS).contains(&persons) {
        c.err(
            "population.persons",
            format!(
                "expected a cohort of 1 to {MAX_PERSONS} persons, found {persons}{}",
                if persons > MAX_PERSONS {
                    format!(
                        " (the documented maximum, docs/robustness.md \"Limits\"; this cohort alone would need at least {} of memory); simulate a representative cohort and scale the totals",
                        crate::engine::memory::gib(
                            (persons as u64)
                                .saturating_mul(crate::engine::memory::bytes_per_person(p.attributes.len(), 1))
                        )
                    )
                } else {
                    String::new()
                }
            ),
        );
    }
}

/// `[population.intake]`: when persons enter; without it all enter at step 0.
fn intake(p: &RawPopulation, c: &mut Ctx, horizon: u32) -> Intake {
    let persons = p.persons;
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
    // Checked only when `first` and the cohort size are valid (already reported otherwise).
    let first_ok = p
        .intake
        .as_ref()
        .is_some_and(|i| (0..i64::from(horizon)).contains(&i.first.unwrap_or(0)));
    if first_ok && (1..=MAX_PERSONS).contains(&persons) {
        check_schedule(c, &intake, persons as u64, horizon);
    }
    intake
}

/// Persons are admitted in batches of `size`; a batch due at or after the horizon would
/// never be simulated, and the cohort would silently be smaller than stated.
fn check_schedule(c: &mut Ctx, intake: &Intake, persons: u64, horizon: u32) {
    let h = u64::from(horizon);
    let last_batch = (persons - 1) / intake.size;
    let last = u64::from(intake.first) + last_batch * u64::from(intake.every);
    if last >= h {
        let due = (h.saturating_sub(u64::from(intake.first))).div_ceil(u64::from(intake.every));
        let missing = persons - (due * intake.size).min(persons);
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

/// `[population.attributes]`: each drawn from a distribution or copied from an attribute
/// declared above it (so that copies never form a loop), then clamped to `min`..`max`.
fn attributes(raw: &Map<RawAttribute>, c: &mut Ctx) -> Vec<Attribute> {
    let mut attributes: Vec<Attribute> = Vec::new();
    for (id, ra) in raw {
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
    attributes
}

/// The index of attribute `name`, or an issue listing the attributes. For every section
/// that refers to an attribute (transitions, items, measures).
pub(super) fn attribute(
    c: &mut Ctx,
    attributes: &[Attribute],
    name: &str,
    path: &str,
) -> Option<usize> {
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
}

/// Lowest value attribute `a` can take (its clamp, narrowed by its distribution).
pub(super) fn attribute_floor(attributes: &[Attribute], a: usize) -> f64 {
    let at = &attributes[a];
    let lo = match &at.source {
        AttributeSource::Draw(d) => d.support().0,
        AttributeSource::From(j) if *j < a => attribute_floor(attributes, *j),
        AttributeSource::From(_) => f64::NEG_INFINITY,
    };
    let lo = lo.max(at.min);
    if at.zero_share > 0.0 { lo.min(0.0) } else { lo }
}

/// `[population.risk_factors]`: hazard ratios on moves into success states, for a share
/// of the cohort or from an age on.
fn risk_factors(raw: &Map<RawRiskFactor>, c: &mut Ctx) -> Vec<RiskFactor> {
    if raw.len() > MAX_RISK_FACTORS {
        c.err(
            "population.risk_factors",
            format!("at most {MAX_RISK_FACTORS} risk factors are supported"),
        );
    }
    let mut risk_factors = Vec::new();
    for (id, rf) in raw {
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
    risk_factors
}
