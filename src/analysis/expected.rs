//! The expected balance sheet: the same scenario with the cohort noise averaged out.
//!
//! A replication at the scenario's real cohort size (say 144 persons) has two sources of
//! spread: the parameter draw (what we do not know about the world) and the cohort's own
//! luck (which of these 144 people happen to find a job). Both matter to a municipality
//! that will run exactly this project, and the ordinary run reports them together. The
//! expected mode runs each replication's *same* parameter draw on a cohort `k` times as
//! large, `k = ⌈N / persons⌉` (`N` = `--expected-persons`, default [`DEFAULT_PERSONS`]),
//! with the programme's places, intake group sizes and fixed budgets scaled by `k` too, and
//! divides every total by `k`. What is left is the expected result for a cohort of the
//! real size given the parameters: its spread over replications is parameter uncertainty
//! alone, and its mean is the expected value. Per-participant figures, shares, P(Δ > 0)
//! and payback months need no scaling.
//!
//! The cohort's own noise shrinks as 1/√k, it does not vanish: with k = 25 its standard
//! deviation is a fifth of that at the real size.

use indexmap::IndexMap;

use crate::Error;
use crate::analysis::evpi::{Evpi, EvpiAll};
use crate::model::{ItemKind, Model};
use crate::scenario::Scenario;
use crate::summary::{Expected, ExpectedActor, ExpectedDiff};

/// Default internal cohort size of the expected mode.
pub const DEFAULT_PERSONS: u64 = 10_000;
/// The engine's largest cohort.
const MAX_PERSONS: u64 = 100_000_000;

/// Arm model `m` with its cohort and everything sized by the cohort (intake groups,
/// places, fixed budgets) scaled by `k`. A larger cohort posts larger sums, so the
/// ledger's bound (`limits::check_ledger`) is checked again.
pub fn scaled_model(m: &Model, k: u64) -> Result<Model, Error> {
    let mut m = m.clone();
    if k == 1 {
        return Ok(m);
    }
    if let Some(men) = m.men.take() {
        m.men = Some(Box::new(scaled_model(&men, k)?));
    }
    let pop = &mut m.population;
    pop.persons = pop.persons.saturating_mul(k);
    pop.intake.size = pop.intake.size.saturating_mul(k);
    if let Some(p) = &mut m.arm.programme {
        p.capacity = p.capacity.map(|c| c.saturating_mul(k));
    }
    for it in &mut m.items {
        if let ItemKind::Budget { total, .. } = &mut it.kind {
            *total *= k as f64;
        }
    }
    crate::limits::check_ledger(&m).map_err(|(path, msg)| {
        Error::Input(format!(
            "--expected: with the cohort scaled by {k} to {} persons, `{path}`: {msg}; ask for fewer persons with --expected-persons",
            m.population.persons
        ))
    })?;
    Ok(m)
}

/// The scale factor for an internal cohort of about `persons` (at least the real size).
pub fn scale_for(scenario: &Scenario, persons: Option<u64>) -> Result<u64, Error> {
    let real = scenario.base().population.persons.max(1);
    let want = persons.unwrap_or(DEFAULT_PERSONS);
    if want == 0 {
        return Err(Error::Input("--expected-persons must be at least 1".into()));
    }
    let k = want.div_ceil(real).max(1);
    if k.saturating_mul(real) > MAX_PERSONS {
        return Err(Error::Input(format!(
            "--expected-persons {want}: the internal cohort would have {} persons, more than the engine's {MAX_PERSONS}; ask for fewer",
            k.saturating_mul(real)
        )));
    }
    Ok(k)
}

/// Run the expected mode (module docs).
pub fn run(scenario: &Scenario, persons: Option<u64>) -> Result<Expected, Error> {
    let k = scale_for(scenario, persons)?;
    let central: Vec<Model> = scenario
        .arms
        .iter()
        .map(|m| scaled_model(m, k))
        .collect::<Result<_, _>>()?;
    let out = super::run_models(scenario, &central, &|r| {
        scenario
            .models_for(r)?
            .iter()
            .map(|m| scaled_model(m, k))
            .collect()
    })?;
    let inv = 1.0 / k as f64;
    let rescale = |e: &IndexMap<String, Evpi>| -> IndexMap<String, Evpi> {
        e.iter()
            .map(|(id, v)| {
                let mut v = v.clone();
                v.cohort *= inv;
                (id.clone(), v)
            })
            .collect()
    };
    let differences = out
        .summary
        .differences
        .iter()
        .map(|(key, d)| {
            let actors = d
                .actors
                .iter()
                .map(|(id, a)| {
                    (
                        id.clone(),
                        ExpectedActor {
                            net: a.sheet.net.scaled(inv),
                            net_per_participant: a.sheet.net_per_participant,
                            prob_positive: a.prob_positive,
                            payback: a.payback.clone(),
                        },
                    )
                })
                .collect();
            (
                key.clone(),
                ExpectedDiff {
                    actors,
                    evpi: d.evpi.as_ref().map(rescale).unwrap_or_default(),
                },
            )
        })
        .collect();
    let evpi = match &out.summary.evpi {
        Some(e) => EvpiAll {
            arms: e.arms.clone(),
            actors: rescale(&e.actors),
        },
        None => EvpiAll {
            arms: Vec::new(),
            actors: IndexMap::new(),
        },
    };
    Ok(Expected {
        persons: central[scenario.counterfactual].population.persons,
        scale: k,
        replications: out.summary.replications,
        differences,
        evpi,
    })
}
