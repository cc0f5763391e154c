//! `[arms.<id>]`: what one arm is — its organisation and programme, looked up among those
//! declared — and the checks across arms: exactly one counterfactual, at least one arm to
//! compare with it, and the same structure in every arm. (An arm's `set` is applied to
//! the document before validation, by `compile_all` in `mod.rs`.)

use indexmap::IndexMap;

use super::check::{Ctx, issue, label};
use super::programmes::find_organisation;
use crate::dist::Dist;
use crate::model::{Arm, ItemKind, Model, Organisation, Programme};
use crate::scenario::error::Issue;
use crate::scenario::raw::{Map, RawArm, RawProgramme};

/// The organisation of an arm without one: agencies hand over without gaps.
fn no_organisation() -> Organisation {
    Organisation {
        id: "none".into(),
        label: "no hand-over gaps".into(),
        handover_failure: 0.0,
        gap_months: Dist::Fixed(1.0),
        gap_states: vec![],
        effect_loss: 0.0,
        success_multiplier: 1.0,
    }
}

/// How the agencies work for everyone in the arm not in its programme.
pub(super) fn organisation(
    arm_id: &str,
    ra: &RawArm,
    c: &mut Ctx,
    organisations: &IndexMap<String, Organisation>,
) -> Organisation {
    match &ra.organisation {
        None => no_organisation(),
        Some(name) => find_organisation(
            c,
            organisations,
            name,
            &format!("arms.{arm_id}.organisation"),
        )
        .unwrap_or(no_organisation()),
    }
}

/// The arm, with its programme taken from the validated ones (`programmes`; one that
/// did not validate is declared in `raw_programmes` but missing there).
pub(super) fn arm(
    arm_id: &str,
    ra: &RawArm,
    c: &mut Ctx,
    organisation: Organisation,
    raw_programmes: &Map<RawProgramme>,
    programmes: &IndexMap<String, Programme>,
) -> Arm {
    if let Some(name) = &ra.programme
        && !raw_programmes.contains_key(name)
    {
        let known: Vec<&str> = raw_programmes.keys().map(String::as_str).collect();
        c.err(
            format!("arms.{arm_id}.programme"),
            format!(
                "`{name}` is not a programme; expected one of: {}",
                known.join(", ")
            ),
        );
    }
    Arm {
        id: arm_id.to_string(),
        label: label(&ra.label, arm_id),
        counterfactual: ra.counterfactual,
        organisation,
        programme: ra
            .programme
            .as_ref()
            .and_then(|p| programmes.get(p).cloned()),
    }
}

/// The arms, once each is valid, can be compared: exactly one counterfactual, at least one
/// other arm, and all with the same states, actors, items, payer splits and measures.
pub(super) fn check_comparable(models: &[Model]) -> Result<(), Vec<Issue>> {
    let cf = models.iter().filter(|m| m.arm.counterfactual).count();
    if cf != 1 {
        return Err(vec![issue(
            "arms",
            format!(
                "exactly one arm must have `counterfactual = true` (found {cf}): mark business as usual as the counterfactual"
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
    Ok(())
}

/// Values by sex may differ in what describes people — rates, hazard ratios, effects,
/// amounts, shares, distributions — but not in what the women and men of one cohort
/// share: the run, the accounting, the states and actors, the cohort's size and intake,
/// the attributes and risk factors that exist, the items and their payers, the arms and
/// the programme's places. `women[a]` and `men[a]` are arm `a` compiled with each sex's
/// values.
pub(super) fn check_sexes(women: &[Model], men: &[Model]) -> Result<(), Vec<Issue>> {
    for (w, m) in women.iter().zip(men) {
        let (pw, pm) = (&w.population, &m.population);
        let attrs = |p: &crate::model::Population| -> Vec<(String, Option<usize>)> {
            p.attributes
                .iter()
                .map(|a| {
                    let from = match a.source {
                        crate::model::AttributeSource::From(j) => Some(j),
                        crate::model::AttributeSource::Draw(_) => None,
                    };
                    (a.id.clone(), from)
                })
                .collect()
        };
        let risks = |p: &crate::model::Population| -> Vec<(String, Option<f64>)> {
            p.risk_factors
                .iter()
                .map(|r| {
                    let age = match r.kind {
                        crate::model::RiskKind::AgeAtLeast(a) => Some(a),
                        crate::model::RiskKind::Prevalence(_) => None,
                    };
                    (r.id.clone(), age)
                })
                .collect()
        };
        let items = |m: &Model| -> Vec<String> {
            m.items
                .iter()
                .map(|it| {
                    let kind = match &it.kind {
                        ItemKind::State { states, .. } => format!("state {states:?}"),
                        ItemKind::Derived { of } => {
                            format!("of {:?}", of.iter().map(|x| x.0).collect::<Vec<_>>())
                        }
                        ItemKind::OnEnter { to, from, .. } => format!("enter {to} {from:?}"),
                        ItemKind::OnGapEnd { to, .. } => format!("gap end {to:?}"),
                        ItemKind::TopUp { states, income, .. } => format!(
                            "top-up {states:?} {:?}",
                            income.iter().map(|x| x.0).collect::<Vec<_>>()
                        ),
                        ItemKind::Budget { total, from, until } => {
                            format!("budget {total} {from} {until}")
                        }
                    };
                    format!(
                        "{} {:?} {kind} {:?} {} {}",
                        it.id, it.class, it.phases, it.active, it.investment
                    )
                })
                .collect()
        };
        let programme = |m: &Model| {
            m.arm.programme.as_ref().map(|p| {
                (
                    p.id.clone(),
                    p.capacity,
                    p.intake_first,
                    p.intake_every,
                    p.eligible.clone(),
                    p.referral_from,
                    p.referral_until,
                    p.location.extra_wait,
                )
            })
        };
        let shared: [(&str, bool); 16] = [
            (
                "scenario",
                (&w.name, w.horizon, w.steps_per_year, w.seed, w.replications)
                    == (&m.name, m.horizon, m.steps_per_year, m.seed, m.replications)
                    && (w.price_year, &w.currency) == (m.price_year, &m.currency),
            ),
            ("accounting", w.accounting == m.accounting),
            ("actors", w.actors == m.actors),
            (
                "states",
                w.states == m.states && w.clock_names == m.clock_names && w.case == m.case,
            ),
            ("population.persons", pw.persons == pm.persons),
            ("population.women_share", pw.women_share == pm.women_share),
            ("population.intake", pw.intake == pm.intake),
            (
                "population.exit_state",
                pw.exit_state == pm.exit_state && pw.retirement_age == pm.retirement_age,
            ),
            (
                "population.income_attribute",
                pw.income_attribute == pm.income_attribute,
            ),
            (
                "population.attributes",
                attrs(pw) == attrs(pm) && pw.normalise_risk == pm.normalise_risk,
            ),
            ("population.risk_factors", risks(pw) == risks(pm)),
            ("items", items(w) == items(m)),
            ("items", w.lines == m.lines),
            (
                "measures",
                w.measures
                    .iter()
                    .map(|x| &x.id)
                    .eq(m.measures.iter().map(|x| &x.id)),
            ),
            (
                "arms",
                (
                    &w.arm.id,
                    w.arm.counterfactual,
                    &w.arm.organisation.id,
                    programme(w),
                ) == (
                    &m.arm.id,
                    m.arm.counterfactual,
                    &m.arm.organisation.id,
                    programme(m),
                ),
            ),
            ("targets", w.targets == m.targets),
        ];
        if let Some((key, _)) = shared.iter().find(|(_, same)| !same) {
            return Err(vec![issue(
                *key,
                format!(
                    "differs between women and men (arm `{}`), but the women and men of one cohort share it: give it one value. Values by sex (`{{ women = …, men = … }}`) are for what describes people — rates, hazard ratios, effects, amounts, shares and distributions (docs/scenario.md, \"Values by sex\")",
                    w.arm.id
                ),
            )]);
        }
    }
    Ok(())
}
