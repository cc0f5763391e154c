//! The checker every section uses: [`Ctx`] collects the issues of one pass and answers
//! the questions all sections ask — "is this a state?", "is this a probability?", "is this
//! a whole number in range?" — with the same wording everywhere.
//!
//! A check reports its problem and still returns a usable value (clamped, or a neutral
//! default), so that validation goes on and one pass finds every problem.

use indexmap::IndexMap;
use toml::Value;

use crate::dist::Dist;
use crate::limits::{MAX_AMOUNT, MAX_MULTIPLIER};
use crate::model::Piecewise;
use crate::scenario::error::{Diagnostics, Issue};
use crate::scenario::raw::{Map, RawPiecewise, RawScenario};

/// The validation of one arm: the issues found so far and the names that every section
/// may refer to (states and actors, by their index in file order).
pub(super) struct Ctx<'a> {
    d: &'a mut Diagnostics,
    pub(super) states: IndexMap<String, usize>,
    pub(super) actors: IndexMap<String, usize>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(raw: &RawScenario, d: &'a mut Diagnostics) -> Self {
        Ctx {
            d,
            states: raw
                .states
                .keys()
                .enumerate()
                .map(|(i, k)| (k.clone(), i))
                .collect(),
            actors: raw
                .actors
                .keys()
                .enumerate()
                .map(|(i, k)| (k.clone(), i))
                .collect(),
        }
    }

    /// Report a problem at a key path.
    pub(super) fn err(&mut self, path: impl Into<String>, msg: impl Into<String>) {
        self.d.error(path, msg);
    }

    /// Report a value that is not what the key takes: "expected …, found …", with both
    /// parts kept in the issue ([`Issue::expected`]).
    pub(super) fn expect(
        &mut self,
        path: impl Into<String>,
        expected: impl Into<String>,
        found: impl std::fmt::Display,
    ) {
        self.d
            .push(Issue::expected(path, expected, found.to_string()));
    }

    /// The index of state `name`, or an issue listing the states.
    pub(super) fn state(&mut self, name: &str, path: &str) -> Option<usize> {
        match self.states.get(name) {
            Some(&i) => Some(i),
            None => {
                let known: Vec<&str> = self.states.keys().map(String::as_str).collect();
                let expected = format!("one of: {}", known.join(", "));
                self.d.push(
                    Issue::new(
                        path,
                        format!("`{name}` is not a state; expected {expected}"),
                    )
                    .with_parts(expected, name),
                );
                None
            }
        }
    }

    /// A list of state names as a mask over all states; entry `i` is reported at
    /// `{path}.{i}` if it is not a state.
    pub(super) fn state_mask(&mut self, names: &[String], path: &str) -> Vec<bool> {
        let mut mask = vec![false; self.states.len()];
        for (i, s) in names.iter().enumerate() {
            if let Some(si) = self.state(s, &format!("{path}.{i}")) {
                mask[si] = true;
            }
        }
        mask
    }

    /// The index of actor `name`, or an issue listing the actors.
    pub(super) fn actor(&mut self, name: &str, path: &str) -> Option<usize> {
        match self.actors.get(name) {
            Some(&i) => Some(i),
            None => {
                let known: Vec<&str> = self.actors.keys().map(String::as_str).collect();
                let expected = format!("one of: {}", known.join(", "));
                self.d.push(
                    Issue::new(
                        path,
                        format!("`{name}` is not an actor; expected {expected}"),
                    )
                    .with_parts(expected, name),
                );
                None
            }
        }
    }

    /// Whether `v` is finite (TOML allows `nan` and `inf`); reports it if not, so callers
    /// check a range only for finite values and report one problem per value.
    pub(super) fn finite(&mut self, v: f64, path: &str) -> bool {
        if v.is_finite() {
            true
        } else {
            self.expect(path, "a finite number", v);
            false
        }
    }

    /// A probability or share in [0, 1].
    pub(super) fn prob(&mut self, v: f64, path: &str) -> f64 {
        if self.finite(v, path) && !(0.0..=1.0).contains(&v) {
            self.expect(path, "a probability or share between 0 and 1", v);
        }
        v.clamp(0.0, 1.0)
    }

    /// A number ≥ 0 (a rate, a hazard, an age).
    pub(super) fn nonneg(&mut self, v: f64, path: &str) -> f64 {
        if self.finite(v, path) && v < 0.0 {
            self.expect(path, "a number ≥ 0", v);
        }
        v.max(0.0)
    }

    /// A hazard ratio or multiplier: ≥ 0 and at most [`MAX_MULTIPLIER`], so that every
    /// hazard the engine derives stays finite (limits.rs).
    pub(super) fn multiplier(&mut self, v: f64, path: &str) -> f64 {
        if self.finite(v, path) && !(0.0..=MAX_MULTIPLIER).contains(&v) {
            self.expect(
                path,
                format!("a multiplier from 0 to {MAX_MULTIPLIER:e} (1 = no change)"),
                v,
            );
        }
        v.clamp(0.0, MAX_MULTIPLIER)
    }

    /// A money amount per step, bounded so that the öre ledger cannot overflow (limits.rs).
    pub(super) fn amount(&mut self, v: f64, path: &str) -> f64 {
        if self.finite(v, path) && v.abs() > MAX_AMOUNT {
            self.expect(
                path,
                format!("an amount within ±{MAX_AMOUNT:e} SEK per step"),
                v,
            );
        }
        v
    }

    /// A whole number from `min` to `max` (steps, persons, replications), as `u32`.
    pub(super) fn count(&mut self, v: i64, path: &str, min: i64, max: i64) -> u32 {
        if v < min || v > max {
            self.expect(path, format!("a whole number from {min} to {max}"), v);
        }
        v.clamp(min.max(0), max.min(i64::from(u32::MAX))) as u32
    }

    /// A share table `{ state = share, … }` → cumulative shares; must sum to 1.
    pub(super) fn shares(&mut self, map: &Map<f64>, path: &str) -> Vec<(usize, f64)> {
        let mut out = Vec::new();
        let mut acc = 0.0;
        for (k, &v) in map {
            let p = format!("{path}.{k}");
            let v = self.prob(v, &p);
            if let Some(s) = self.state(k, &p) {
                acc += v;
                out.push((s, acc));
            }
        }
        if map.is_empty() {
            self.err(path, "expected at least one `state = share` entry");
        } else if (acc - 1.0).abs() > 1e-6 {
            self.err(
                path,
                format!(
                    "the shares must sum to 1, but they sum to {}; {}",
                    short(acc),
                    if acc < 1.0 {
                        format!("add the missing {} to one of them", short(1.0 - acc))
                    } else {
                        format!("take {} away from them", short(acc - 1.0))
                    }
                ),
            );
        }
        if let Some(last) = out.last_mut() {
            last.1 = 1.0;
        }
        out
    }

    /// A step function `{ breaks = [...], factors = [...] }`; constant 1 if malformed.
    pub(super) fn piecewise(&mut self, raw: &RawPiecewise, path: &str) -> Piecewise {
        let mut ok = true;
        if raw.factors.len() != raw.breaks.len() + 1 {
            self.err(
                path,
                format!(
                    "`factors` must have one more entry than `breaks` ({} breaks need {} factors, found {})",
                    raw.breaks.len(),
                    raw.breaks.len() + 1,
                    raw.factors.len()
                ),
            );
            ok = false;
        }
        if raw.breaks.windows(2).any(|w| w[0] >= w[1]) {
            self.err(
                format!("{path}.breaks"),
                "`breaks` must be strictly increasing",
            );
            ok = false;
        }
        for (i, &f) in raw.factors.iter().enumerate() {
            self.nonneg(f, &format!("{path}.factors.{i}"));
        }
        for (i, &b) in raw.breaks.iter().enumerate() {
            self.finite(b, &format!("{path}.breaks.{i}"));
        }
        if ok {
            Piecewise::new(raw.breaks.clone(), raw.factors.clone())
        } else {
            Piecewise::constant(1.0)
        }
    }

    /// A number or a distribution table (`{ <tag> = "<family>", … }`) for a value
    /// that varies between persons (`tag = "per_person"`) or events (`"per_event"`).
    pub(super) fn person_dist(&mut self, v: &Value, tag: &str, path: &str) -> Dist {
        match v {
            Value::Integer(i) => Dist::Fixed(*i as f64),
            Value::Float(f) => {
                self.finite(*f, path);
                Dist::Fixed(*f)
            }
            Value::Table(t) => match Dist::from_table(t, tag) {
                Ok(Some(d)) => d,
                Ok(None) => {
                    self.err(
                        path,
                        format!(
                            "expected a number or a table with `{tag} = \"<family>\"`, e.g. `{{ {tag} = \"uniform\", low = 25, high = 60 }}`"
                        ),
                    );
                    Dist::Fixed(0.0)
                }
                Err(e) => {
                    let p = match &e.key {
                        Some(k) => format!("{path}.{k}"),
                        None => path.to_string(),
                    };
                    self.err(p, e.message);
                    Dist::Fixed(0.0)
                }
            },
            other => {
                self.expect(path, "a number or a distribution table", a_type(other));
                Dist::Fixed(0.0)
            }
        }
    }
}

/// A display label: the given one, or the id with `_` read as spaces.
pub(super) fn label(l: &Option<String>, id: &str) -> String {
    l.clone().unwrap_or_else(|| id.replace('_', " "))
}

/// An issue found outside a section's validation (reading the document, applying an
/// arm's `set`, comparing arms): it names the key path only; the location is added later.
pub(super) fn issue(path: impl Into<String>, message: impl Into<String>) -> Issue {
    Issue::new(path, message)
}

/// A share or sum for a message: rounded to 9 decimals, so that 0.1 + 0.2 + 0.6 prints
/// as 0.9, not 0.8999999999999999.
fn short(v: f64) -> String {
    let r = (v * 1e9).round() / 1e9;
    if r == 0.0 { "0".into() } else { format!("{r}") }
}

/// "a string", "an integer", … for messages about a value of the wrong type.
pub(super) fn a_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}
