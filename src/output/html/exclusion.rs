//! The cost of one year of exclusion (`exclusion.html`): per support state and actor, the
//! yearly cost of one person in that state compared with the reference state.

use askama::Template;

use super::shared::Ctx;
use crate::i18n::{Texts, fill};

#[derive(Template)]
#[template(path = "exclusion.html")]
pub(super) struct Section {
    t: &'static Texts,
    note: String,
    /// The column headings: the counterfactual's actors.
    actors: Vec<String>,
    /// `(state, cost per actor)`, in thousands.
    rows: Vec<(String, Vec<String>)>,
}

pub(super) fn section(c: &Ctx) -> Section {
    let s = c.s();
    let t = c.t;
    let ex = &s.exclusion_cost;
    let actors: Vec<(&str, String)> = s
        .arms
        .get(&s.counterfactual)
        .map(|a| {
            a.actors
                .iter()
                .map(|(id, x)| (id.as_str(), c.pick(&x.label, &x.label_sv).to_string()))
                .collect()
        })
        .unwrap_or_default();
    let rows = ex
        .states
        .iter()
        .map(|(state, cells)| {
            let costs = actors
                .iter()
                .map(|(id, _)| c.l.thousands(cells.get(*id).map_or(f64::NAN, |x| x.total)))
                .collect();
            (c.state_label(state), costs)
        })
        .collect();
    Section {
        t,
        note: fill(
            t.exclusion_note,
            &[
                ("reference", &c.state_label(&ex.reference_state)),
                ("unit", &c.unit),
            ],
        ),
        actors: actors.into_iter().map(|(_, label)| label).collect(),
        rows,
    }
}
