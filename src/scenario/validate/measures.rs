//! `[measures.<id>]`: outcomes counted per person-step besides money (e.g. QALYs, months
//! in work): a value per state, optionally times a person attribute and a function of
//! time on the clock.

use super::check::{Ctx, label};
use super::population::attribute;
use crate::model::{Attribute, Measure};
use crate::scenario::raw::{Map, RawMeasure};

pub(super) fn measures(
    raw: &Map<RawMeasure>,
    c: &mut Ctx,
    attributes: &[Attribute],
) -> Vec<Measure> {
    let mut measures = Vec::new();
    for (id, rm) in raw {
        let path = format!("measures.{id}");
        // States not listed count 0.
        let mut values = vec![0.0; c.states.len()];
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
                .and_then(|a| attribute(c, attributes, a, &format!("{path}.attribute"))),
            by_time: rm
                .by_time
                .as_ref()
                .map(|b| c.piecewise(b, &format!("{path}.by_time"))),
        });
    }
    measures
}
