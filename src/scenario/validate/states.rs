//! `[actors]` and `[states]`: who pays and receives, the states a person can be in, the
//! time-in-state clocks they run, and which moves between states are hand-overs between
//! agencies.

use super::check::{Ctx, label};
use crate::limits::MAX_HORIZON;
use crate::limits::MAX_STATES;
use crate::model::{Actor, CaseClock, State};
use crate::scenario::raw::{Map, RawActor, RawClock, RawState};

pub(super) fn actors(raw: &Map<RawActor>, c: &mut Ctx) -> Vec<Actor> {
    let mut actors = Vec::new();
    for (id, ra) in raw {
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
    actors
}

/// The states, and the names of the clocks they run: a state runs its own clock unless it
/// names one (`clock = "…"`), and states sharing a clock keep it running when a person
/// moves between them.
pub(super) fn states(raw: &Map<RawState>, c: &mut Ctx) -> (Vec<State>, Vec<String>) {
    if raw.is_empty() || raw.len() > MAX_STATES {
        c.expect("states", format!("1 to {MAX_STATES} states"), raw.len());
    }
    let mut clock_names: Vec<String> = Vec::new();
    let mut states = Vec::new();
    for (id, rs) in raw {
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
    (states, clock_names)
}

/// `handover[from * S + to]`: whether a move from→to passes a person between two different
/// agencies (where an organisation's hand-over gaps apply).
pub(super) fn handover(states: &[State]) -> Vec<bool> {
    let n_states = states.len();
    let mut handover = vec![false; n_states * n_states];
    for (f, sf) in states.iter().enumerate() {
        for (t, st) in states.iter().enumerate() {
            handover[f * n_states + t] =
                matches!((sf.agency, st.agency), (Some(a), Some(b)) if a != b);
        }
    }
    handover
}

/// `[clocks.*]`: every declared clock is run by some state, and at most one resumes after
/// a spell elsewhere (a person holds one sickness case at a time).
pub(super) fn case_clock(
    raw: &Map<RawClock>,
    clock_names: &[String],
    c: &mut Ctx,
) -> Option<CaseClock> {
    let mut case = None;
    for (name, rc) in raw {
        let path = format!("clocks.{name}");
        let Some(clock) = clock_names.iter().position(|n| n == name) else {
            c.err(
                &path,
                format!(
                    "no state runs the clock `{name}`; name it in a state (`clock = \"{name}\"`) or remove the table (clocks: {})",
                    clock_names.join(", ")
                ),
            );
            continue;
        };
        let Some(within) = rc.resume_within else {
            continue;
        };
        let within = c.count(within, &format!("{path}.resume_within"), 1, MAX_HORIZON);
        if case.is_some() {
            c.err(
                format!("{path}.resume_within"),
                "only one clock may resume (`resume_within`): a person holds one sickness case at a time",
            );
            continue;
        }
        case = Some(CaseClock { clock, within });
    }
    case
}
