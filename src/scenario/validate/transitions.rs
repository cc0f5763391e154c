//! `[transitions.<from>]`: the competing moves out of each state — per destination a rate
//! (a hazard or a probability per step, one value per piece of the time-in-state clock)
//! and optional multipliers by age, by simulation step and by a person attribute.

use toml::Value;

use super::check::{Ctx, a_type};
use super::population::{attribute, attribute_floor};
use crate::limits::MAX_MULTIPLIER;
use crate::model::{Attribute, Dest, Mode, Piecewise, State, Transitions};
use crate::scenario::raw::{Map, RawPiecewise, RawTransitions};

/// Per state, its moves out (`None` for a state without a `[transitions]` table).
pub(super) fn transitions(
    raw: &Map<RawTransitions>,
    c: &mut Ctx,
    states: &[State],
    attributes: &[Attribute],
) -> Vec<Option<Transitions>> {
    let mut transitions: Vec<Option<Transitions>> = vec![None; states.len()];
    for (from, rt) in raw {
        let path = format!("transitions.{from}");
        let Some(fi) = c.state(from, &path) else {
            continue;
        };
        transitions[fi] = Some(from_state(c, from, fi, rt, states, attributes));
    }
    transitions
}

/// The moves out of state `from` (index `fi`).
fn from_state(
    c: &mut Ctx,
    from: &str,
    fi: usize,
    rt: &RawTransitions,
    states: &[State],
    attributes: &[Attribute],
) -> Transitions {
    let path = format!("transitions.{from}");
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
    if rt.clock_breaks.windows(2).any(|w| w[0] >= w[1]) || rt.clock_breaks.iter().any(|&b| b <= 0) {
        c.err(
            format!("{path}.clock_breaks"),
            "`clock_breaks` must be positive whole steps in strictly increasing order",
        );
    }
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
            Value::Table(t) => destination_table(c, t, &dpath, &mut dest, attributes),
            v => v.clone(),
        };
        let values = rates(c, &rate_value, &dpath, breaks.len());
        check_rates(
            c,
            &values,
            matches!(rate_value, Value::Array(_)),
            &dpath,
            mode,
        );
        if values.len() == breaks.len() + 1 {
            dest.rate = Piecewise::new(breaks.clone(), values.iter().map(|v| v.max(0.0)).collect());
        }
        dests.push(dest);
    }
    if mode == Mode::Probability {
        check_row_sums(c, from, &path, &breaks, &dests);
    }
    Transitions { mode, dests }
}

/// A destination given as a table `{ rate, age, step, attribute }`: fills in the
/// multipliers and returns the rate value (checked by [`rates`]).
fn destination_table(
    c: &mut Ctx,
    t: &toml::Table,
    dpath: &str,
    dest: &mut Dest,
    attributes: &[Attribute],
) -> Value {
    for k in t.keys() {
        if !["rate", "age", "step", "attribute"].contains(&k.as_str()) {
            c.err(
                format!("{dpath}.{k}"),
                format!("unknown key `{k}`; a destination table takes `rate`, `age`, `step` and `attribute`"),
            );
        }
    }
    if let Some(v) = t.get("age") {
        dest.age = multiplier_table(c, v, &format!("{dpath}.age"));
    }
    if let Some(v) = t.get("step") {
        dest.step = multiplier_table(c, v, &format!("{dpath}.step"));
    }
    if let Some(v) = t.get("attribute") {
        match v.as_str() {
            Some(n) => {
                let ap = format!("{dpath}.attribute");
                dest.attribute = attribute(c, attributes, n, &ap);
                // The attribute multiplies the hazard: a negative value would make a
                // negative rate.
                if let Some(ai) = dest.attribute {
                    let lo = attribute_floor(attributes, ai);
                    if lo < 0.0 {
                        c.err(
                            ap,
                            format!("`{n}` multiplies this hazard but can be negative (down to {lo:e}); give `population.attributes.{n}` a `min` ≥ 0"),
                        );
                    }
                }
            }
            None => c.err(format!("{dpath}.attribute"), "expected an attribute name"),
        }
    }
    match t.get("rate") {
        Some(v) => v.clone(),
        None => {
            c.err(dpath, "missing `rate`");
            Value::Float(0.0)
        }
    }
}

/// An `age` or `step` multiplier `{ breaks = [...], factors = [...] }`.
fn multiplier_table(c: &mut Ctx, v: &Value, path: &str) -> Option<Piecewise> {
    match v.clone().try_into::<RawPiecewise>() {
        Ok(rp) => {
            // Factors are multipliers: too large ones are reported as such, before the
            // shape checks every step function gets.
            for (i, &f) in rp.factors.iter().enumerate() {
                if f.is_finite() && f > MAX_MULTIPLIER {
                    c.multiplier(f, &format!("{path}.factors.{i}"));
                }
            }
            Some(c.piecewise(&rp, path))
        }
        Err(_) => {
            c.err(
                path,
                "expected a table `{ breaks = [...], factors = [...] }`",
            );
            None
        }
    }
}

/// The rate of one destination, one value per clock piece: a number applies to all
/// pieces, a list gives one per piece.
fn rates(c: &mut Ctx, rate_value: &Value, dpath: &str, n_breaks: usize) -> Vec<f64> {
    let pieces = n_breaks + 1;
    match rate_value {
        Value::Integer(i) => vec![*i as f64; pieces],
        Value::Float(f) => vec![*f; pieces],
        Value::Array(a) => {
            if a.len() != pieces {
                c.err(
                    dpath,
                    format!(
                        "expected {pieces} value{}, one per clock piece ({} `clock_breaks` make {pieces} piece{}), found {}",
                        if pieces == 1 { "" } else { "s" },
                        n_breaks,
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
                        c.expect(format!("{dpath}.{i}"), "a number", a_type(other));
                        0.0
                    }
                })
                .collect()
        }
        other => {
            c.expect(
                dpath,
                "a rate (a number, or a list with one number per clock piece)",
                a_type(other),
            );
            vec![0.0; pieces]
        }
    }
}

/// Each rate value is finite, ≥ 0, a probability at most 1, a hazard not absurdly large.
/// `listed`: the values came from a list, so a problem names the list entry.
fn check_rates(c: &mut Ctx, values: &[f64], listed: bool, dpath: &str, mode: Mode) {
    for (i, &v) in values.iter().enumerate() {
        let vp = if listed {
            format!("{dpath}.{i}")
        } else {
            dpath.to_string()
        };
        if !v.is_finite() {
            c.expect(&vp, "a finite number", v);
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
}

/// With `mode = "probability"` the moves out of a state compete for one step: in every
/// clock piece their probabilities may sum to at most 1 (the rest is the chance to stay).
fn check_row_sums(c: &mut Ctx, from: &str, path: &str, breaks: &[f64], dests: &[Dest]) {
    for piece in 0..=breaks.len() {
        let at = if piece == 0 { 0.0 } else { breaks[piece - 1] };
        let sum: f64 = dests.iter().map(|d| d.rate.at(at)).sum();
        if sum > 1.0 + 1e-12 {
            c.err(
                path,
                format!(
                    "the probabilities out of `{from}` sum to {sum} (clock piece {piece}); a row must not exceed 1 — the rest of the row is the chance to stay"
                ),
            );
        }
    }
}
