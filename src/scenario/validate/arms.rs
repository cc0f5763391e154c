//! `[arms.<id>]`: what one arm is — its organisation and programme, looked up among those
//! declared — and the checks across arms: exactly one counterfactual, at least one arm to
//! compare with it, and the same structure in every arm. (An arm's `set` is applied to
//! the document before validation, by `compile_all` in `mod.rs`.)

use indexmap::IndexMap;

use super::check::{Ctx, issue, label};
use super::programmes::find_organisation;
use crate::dist::Dist;
use crate::model::{Arm, Model, Organisation, Programme};
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
