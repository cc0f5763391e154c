//! Turns the serde mirror into a [`Model`] per arm, checking every value and reference.
//!
//! All problems are collected in one pass; nothing here panics on user input. The
//! sections are checked in a fixed order — the order in which `build` calls them, not the
//! order of the file — and issues are reported in the order they are found, so a new
//! check goes where its key is validated, not at the end.
//!
//! Where a scenario key is validated (docs/scenario.md documents each):
//!
//! | Key | File |
//! |---|---|
//! | `[scenario]` | `meta.rs` |
//! | `[accounting]` | `accounting.rs` |
//! | `[actors.*]`, `[states.*]` (and their clocks) | `states.rs` |
//! | `[population]`, its `intake`, `attributes` and `risk_factors` | `population.rs` |
//! | `[transitions.*]` | `transitions.rs` |
//! | `[rules.*]` | `rules.rs` |
//! | `[organisations.*]`, `[locations.*]`, `[programmes.*]` | `programmes.rs` |
//! | `[arms.*]` (and the checks across arms) | `arms.rs`; an arm's `set` is applied in `mod.rs` |
//! | `[items.*]` (and their posting lines) | `items.rs` |
//! | `[measures.*]` | `measures.rs` |
//! | `[targets.*]` | `targets.rs` |
//!
//! Types, missing and unknown keys are found before any of these, when the document is
//! read into the serde mirror (`read.rs`; the mirror is `raw.rs`). `check.rs` holds
//! `Ctx`, the checker every section uses (`c.err`, `c.state`, `c.prob`, `c.count`,
//! `c.shares`, `c.person_dist`, …). To add a key: add its field to `raw.rs`, check it in
//! its section's file with those helpers, and store it in the [`Model`] (`model.rs`).
//!
//! Files depend downwards only: this file calls the sections; sections use `check.rs`
//! and what earlier sections export (`population::attribute`, `meta::Settings`,
//! `programmes::find_organisation`).

mod accounting;
mod arms;
mod check;
mod items;
mod measures;
mod meta;
mod population;
mod programmes;
mod read;
mod rules;
mod states;
mod targets;
mod transitions;

use toml::Table;

use self::check::{Ctx, issue};
use self::read::deserialize;
use super::error::{Diagnostics, Issue, Origin};
use super::params;
use super::path::{set_path, split_path};
use super::raw::{RawArm, RawScenario};
use crate::dist::Dist;
use crate::model::Model;

/// Keys an arm's `set` may not change: the cohort, the run and the accounting are shared
/// by all arms, or the comparison would not be like with like.
const SHARED_ROOTS: [&str; 5] = ["scenario", "population", "accounting", "arms", "targets"];

/// One model per arm — each with its men's model where the document gives values by sex
/// (`sexes.rs`) — or every issue found.
pub fn compile_sexes(
    base: &Table,
    resolve: &mut dyn FnMut(&str, &Dist) -> f64,
) -> Result<Vec<Model>, Vec<Issue>> {
    if !super::sexes::any(base) {
        return compile_all(base, resolve);
    }
    let women = compile_all(&super::sexes::select(base, 0), resolve);
    let men = compile_all(&super::sexes::select(base, 1), resolve);
    let (mut women, men) = match (women, men) {
        (Ok(w), Ok(m)) => (w, m),
        (w, m) => {
            // Each sex's problems, those of the men's values only once and marked.
            let mut issues = w.err().unwrap_or_default();
            for mut e in m.err().unwrap_or_default() {
                if !issues
                    .iter()
                    .any(|x| x.path == e.path && x.message == e.message)
                {
                    e.message = format!("{} (with the men's values)", e.message);
                    issues.push(e);
                }
            }
            return Err(issues);
        }
    };
    arms::check_sexes(&women, &men)?;
    for (w, m) in women.iter_mut().zip(men) {
        if *w != m {
            w.men = Some(Box::new(m));
        }
    }
    Ok(women)
}

/// One model per arm, or every issue found. Each arm is the base document with the arm's
/// `set` applied (uncertain values resolved by `resolve`), validated on its own; an issue
/// that several arms share is reported once.
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
        let (doc, set_keys) = arm_document(base, arm_id, arm, resolve, &mut issues);
        let arm_raw = if set_keys.is_empty() {
            Ok(raw.clone())
        } else {
            deserialize(&doc)
        };
        match arm_raw.and_then(|r| compile_arm(&r, arm_index)) {
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
                    // An issue under a key the arm sets is the arm's, not the file's.
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
    arms::check_comparable(&models)?;
    Ok(models)
}

/// The base document with the arm's `set` applied, and the keys it set. A key that may
/// not be set, or whose value or path is wrong, is reported and skipped.
fn arm_document(
    base: &Table,
    arm_id: &str,
    arm: &RawArm,
    resolve: &mut dyn FnMut(&str, &Dist) -> f64,
    issues: &mut Vec<Issue>,
) -> (Table, Vec<String>) {
    let mut doc = base.clone();
    let mut set_keys = Vec::new();
    let Some(set) = &arm.set else {
        return (doc, set_keys);
    };
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
    (doc, set_keys)
}

/// The model of arm `arm_index`, or the issues of its validation.
fn compile_arm(raw: &RawScenario, arm_index: usize) -> Result<Model, Vec<Issue>> {
    let mut d = Diagnostics::default();
    let m = build(raw, arm_index, &mut d);
    if d.is_empty() {
        m.ok_or_else(Vec::new)
    } else {
        Err(d.issues)
    }
}

/// Validate every section for arm `arm_index`, one call per section. The order is the
/// order issues are reported in; later sections refer to what earlier ones validated
/// (states, actors, attributes, the arm).
fn build(raw: &RawScenario, arm_index: usize, d: &mut Diagnostics) -> Option<Model> {
    let mut c = Ctx::new(raw, d);
    let run = meta::settings(&raw.scenario, &mut c);
    let accounting = accounting::accounting(&raw.accounting, &mut c);
    let actors = states::actors(&raw.actors, &mut c);
    let (states, clock_names) = states::states(&raw.states, &mut c);
    let case = states::case_clock(&raw.clocks, &clock_names, &mut c);
    let population = population::population(&raw.population, &mut c, &states, run.horizon);
    let attributes = &population.attributes;
    let transitions = transitions::transitions(&raw.transitions, &mut c, &states, attributes);
    let rules = rules::rules(&raw.rules, &mut c, &states, population.income_attribute);

    // This arm: its organisation is looked up before the programmes are validated, so
    // that its issue comes first.
    let (arm_id, ra) = raw.arms.get_index(arm_index)?;
    let organisations = programmes::organisations(&raw.organisations, &mut c);
    let locations = programmes::locations(&raw.locations, &mut c);
    let organisation = arms::organisation(arm_id, ra, &mut c, &organisations);
    let programmes =
        programmes::programmes(&raw.programmes, &mut c, &organisations, &locations, &run);
    let arm = arms::arm(
        arm_id,
        ra,
        &mut c,
        organisation,
        &raw.programmes,
        &programmes,
    );

    let scope = items::Scope {
        raw,
        actors: &actors,
        attributes,
        arm: &arm,
        optimism_bias: accounting.optimism_bias,
    };
    let (items, lines) = items::items(&mut c, &scope);
    let measures = measures::measures(&raw.measures, &mut c, attributes);
    let targets = targets::targets(&raw.targets, &mut c, &raw.arms, &run);
    let handover = states::handover(&states);
    let meta = &raw.scenario;
    Some(Model {
        name: meta.name.clone(),
        description: meta.description.clone(),
        price_year: meta.price_year,
        currency: meta.currency.clone().unwrap_or_else(|| "SEK".into()),
        seed: meta.seed.unwrap_or(1),
        replications: run.replications,
        horizon: run.horizon,
        steps_per_year: run.steps_per_year,
        accounting,
        actors,
        states,
        clock_names,
        case,
        transitions,
        rules,
        population,
        items,
        lines,
        measures,
        arm,
        handover,
        targets,
        men: None,
    })
}
