//! `[targets.*]`: calibration targets — an observed share of an arm's persons (or of its
//! participants) in some states a number of months after entry, with a tolerance. Each
//! target's month becomes an outcome checkpoint of the summary; `rehabsim calibrate`
//! fits parameters to the targets.

use super::check::Ctx;
use super::meta::Settings;
use crate::model::Target;
use crate::scenario::raw::{Map, RawArm, RawTarget};

pub(super) fn targets(
    raw: &Map<RawTarget>,
    c: &mut Ctx,
    arms: &Map<RawArm>,
    run: &Settings,
) -> Vec<Target> {
    let mut targets = Vec::new();
    for (id, rt) in raw {
        let path = format!("targets.{id}");
        let arm = match arms.get_index_of(&rt.arm) {
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
            month: month(c, rt.month, &path, run),
            share: c.prob(rt.share, &format!("{path}.share")),
            tolerance: c.prob(rt.tolerance.unwrap_or(0.05), &format!("{path}.tolerance")),
            participants_only: rt.participants_only,
            source: rt.source.clone().unwrap_or_default(),
        });
    }
    targets
}

/// Months since entry, within the horizon; the engine observes whole steps only.
fn month(c: &mut Ctx, month: i64, path: &str, run: &Settings) -> u32 {
    let mps = i64::from(12 / run.steps_per_year);
    let mo = c.count(
        month,
        &format!("{path}.month"),
        0,
        i64::from(run.horizon) * mps,
    );
    if month % mps != 0 {
        c.err(
            format!("{path}.month"),
            format!("with `step = \"year\"` a target month must be a whole number of years (a multiple of 12), found {month}"),
        );
    }
    mo
}
