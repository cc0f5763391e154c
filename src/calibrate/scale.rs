//! The values a multiplier scales: reading a number, an array of numbers or a
//! distribution at a key path ([`Scalable::read`]), multiplying it by θ
//! ([`Scalable::scaled`], [`scale_dist_table`]), and rounding the result for a
//! user to paste back.

use toml::{Table, Value};

use crate::dist::Dist;
use crate::scenario::split_path;

/// Tags of the tables that hold a distribution instead of a number.
const DIST_TAGS: [&str; 3] = ["dist", "per_person", "per_event"];

/// A value that a multiplier can scale.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalable {
    Number(f64),
    Array(Vec<f64>),
    Dist { tag: &'static str, table: Table },
}

impl Scalable {
    pub(super) fn read(doc: &Table, path: &str) -> Result<Scalable, String> {
        let parts = split_path(path);
        let root = parts[0].as_str();
        if root == "scenario" || root == "targets" {
            return Err(format!(
                "`{path}`: `{root}` holds run settings or the targets themselves, not model parameters; calibrate a hazard, an effect or a share instead"
            ));
        }
        let mut cur: &Value = doc
            .get(root)
            .ok_or_else(|| format!("`{path}`: there is no `{root}` in the scenario"))?;
        for (depth, part) in parts.iter().enumerate().skip(1) {
            let walked = parts[..depth].join(".");
            cur = match cur {
                Value::Table(t) => t.get(part.as_str()).ok_or_else(|| {
                    let keys: Vec<&str> = t.keys().map(String::as_str).collect();
                    format!(
                        "`{path}`: `{walked}` has no key `{part}`; keys here are: {}",
                        if keys.is_empty() {
                            "(none)".to_string()
                        } else {
                            keys.join(", ")
                        }
                    )
                })?,
                Value::Array(a) => part
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get(i))
                    .ok_or_else(|| {
                        format!(
                            "`{path}`: `{walked}` is an array of {} values: index it with 0 to {}",
                            a.len(),
                            a.len().saturating_sub(1)
                        )
                    })?,
                other => {
                    return Err(format!(
                        "`{path}`: `{walked}` is a {}, not a table",
                        other.type_str()
                    ));
                }
            };
        }
        let number = |v: &Value| match v {
            Value::Integer(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        };
        let s = match cur {
            Value::Integer(_) | Value::Float(_) => Scalable::Number(number(cur).unwrap_or(0.0)),
            Value::Array(a) => {
                let xs: Option<Vec<f64>> = a.iter().map(number).collect();
                Scalable::Array(xs.ok_or_else(|| {
                    format!("`{path}` is an array, but not of numbers only: point at one number in it (`{path}.0`)")
                })?)
            }
            Value::Table(t) => {
                let tag = DIST_TAGS
                    .iter()
                    .find(|tag| t.contains_key(**tag))
                    .ok_or_else(|| {
                        let keys: Vec<&str> = t.keys().map(String::as_str).collect();
                        format!(
                            "`{path}` is a table ({}), not a number: point at a number in it, e.g. `{path}.{}`",
                            keys.join(", "),
                            keys.first().copied().unwrap_or("rate")
                        )
                    })?;
                Dist::from_table(t, tag).map_err(|e| format!("`{path}`: {}", e.message))?;
                let s = Scalable::Dist {
                    tag,
                    table: t.clone(),
                };
                s.scaled(1.0).map_err(|e| format!("`{path}`: {e}"))?;
                s
            }
            other => {
                return Err(format!(
                    "`{path}` is a {}, not a number: a multiplier can only scale numbers, arrays of numbers and distributions",
                    other.type_str()
                ));
            }
        };
        let all_zero = match &s {
            Scalable::Number(x) => *x == 0.0,
            Scalable::Array(xs) => xs.iter().all(|x| *x == 0.0),
            Scalable::Dist { .. } => false,
        };
        if all_zero {
            return Err(format!(
                "`{path}` is 0: a multiplier cannot move it; give it a small non-zero starting value"
            ));
        }
        Ok(s)
    }

    /// The value multiplied by `theta` (> 0).
    pub(super) fn scaled(&self, theta: f64) -> Result<Value, String> {
        Ok(match self {
            Scalable::Number(x) => Value::Float(x * theta),
            Scalable::Array(xs) => {
                Value::Array(xs.iter().map(|x| Value::Float(x * theta)).collect())
            }
            Scalable::Dist { tag, table } => Value::Table(scale_dist_table(table, tag, theta)?),
        })
    }

    pub(super) fn original(&self) -> Value {
        match self {
            Scalable::Dist { table, .. } => Value::Table(table.clone()),
            other => other.scaled(1.0).unwrap_or(Value::Float(f64::NAN)),
        }
    }
}

/// Multiply the random variable described by a distribution table by `theta`, keeping
/// the table's own parameterisation. Location-scale families scale every parameter (so
/// bounds, modes, medians and intervals move together); the lognormal's `mu` shifts by
/// ln θ and its `sigma` stays; the gamma's `scale` scales and its `shape` stays.
pub fn scale_dist_table(table: &Table, tag: &str, theta: f64) -> Result<Table, String> {
    let family = table.get(tag).and_then(Value::as_str).unwrap_or("");
    let keep: &[&str] = match family {
        "fixed" | "uniform" | "triangular" | "normal" => &[],
        "lognormal" => &["sigma", "mu"],
        "gamma" => &["shape"],
        "beta" => {
            return Err(
                "a beta distribution lives on [0, 1] and cannot be multiplied; calibrate a hazard or a hazard ratio instead, or write the share as a number"
                    .into(),
            );
        }
        "geometric" | "poisson" => {
            return Err(format!(
                "a {family} distribution is discrete and cannot be multiplied; calibrate a hazard or a share instead"
            ));
        }
        other => return Err(format!("`{tag} = \"{other}\"` is not a known family")),
    };
    let mut out = Table::new();
    for (k, v) in table {
        let x = match v {
            Value::Integer(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        };
        let nv = match x {
            Some(x) if k == "mu" && family == "lognormal" => Value::Float(x + theta.ln()),
            Some(x) if k != tag && !keep.contains(&k.as_str()) => Value::Float(x * theta),
            _ => v.clone(),
        };
        out.insert(k.clone(), nv);
    }
    Dist::from_table(&out, tag).map_err(|e| e.message)?;
    Ok(out)
}

/// Round to 6 significant digits, for values a user pastes back.
pub(super) fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.5e}").parse().unwrap_or(x)
}

/// `v` with every number in it rounded by [`round_sig`].
pub(super) fn round_value(v: &Value) -> Value {
    match v {
        Value::Float(f) => Value::Float(round_sig(*f)),
        Value::Array(a) => Value::Array(a.iter().map(round_value).collect()),
        Value::Table(t) => {
            Value::Table(t.iter().map(|(k, v)| (k.clone(), round_value(v))).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        let doc: Table = toml::from_str(&format!("v = {text}")).unwrap();
        doc["v"].as_table().unwrap().clone()
    }

    fn dist(t: &Table, tag: &str) -> Dist {
        Dist::from_table(t, tag).unwrap().unwrap()
    }

    #[test]
    fn scaling_a_distribution_multiplies_the_variable() {
        let theta = 1.7;
        for text in [
            r#"{ dist = "lognormal", median = 1.4, p05 = 1.0, p95 = 2.0 }"#,
            r#"{ dist = "lognormal", mu = 0.3, sigma = 0.2 }"#,
            r#"{ dist = "lognormal", mean = 2.0, sd = 0.5 }"#,
            r#"{ dist = "gamma", shape = 4.0, scale = 0.5 }"#,
            r#"{ dist = "gamma", mean = 2.0, sd = 1.0 }"#,
            r#"{ dist = "triangular", low = 1, mode = 2, high = 4 }"#,
            r#"{ dist = "uniform", low = 1, high = 3 }"#,
            r#"{ dist = "normal", mean = 2, sd = 0.4, low = 1 }"#,
            r#"{ dist = "fixed", value = 2.5 }"#,
        ] {
            let t = table(text);
            let d0 = dist(&t, "dist");
            let d1 = dist(&scale_dist_table(&t, "dist", theta).unwrap(), "dist");
            for p in [0.05, 0.5, 0.95] {
                let (q0, q1) = (d0.quantile(p), d1.quantile(p));
                assert!(
                    (q1 - theta * q0).abs() < 1e-9 * q0.abs().max(1.0),
                    "{text}: quantile {p}: {q1} vs {}",
                    theta * q0
                );
            }
        }
    }

    #[test]
    fn bounded_and_discrete_families_are_refused() {
        let e = scale_dist_table(
            &table(r#"{ dist = "beta", mean = 0.4, sd = 0.1 }"#),
            "dist",
            2.0,
        )
        .unwrap_err();
        assert!(e.starts_with("a beta distribution lives on [0, 1]"), "{e}");
        let e = scale_dist_table(
            &table(r#"{ per_event = "geometric", mean = 3 }"#),
            "per_event",
            2.0,
        )
        .unwrap_err();
        assert!(e.starts_with("a geometric distribution is discrete"), "{e}");
    }
}
