//! Uncertain values: any number in a scenario may be written as a distribution,
//! `{ dist = "lognormal", median = 1.4, p05 = 1.0, p95 = 2.0 }`. This module finds them
//! and replaces them by numbers (the mean, a replication's draw, or a chosen quantile).
//!
//! Values inside an arm's `set` table are resolved under the key path they set, so that
//! an uncertain value shared by several arms gets one draw per replication (common random
//! numbers at the parameter level too).

use toml::{Table, Value};

use super::error::Issue;
use crate::dist::Dist;

/// The tag key that marks an uncertain value.
pub const TAG: &str = "dist";

fn walk(
    value: &mut Value,
    path: &str,
    f: &mut dyn FnMut(&str, &Dist) -> f64,
    issues: &mut Vec<Issue>,
) {
    match value {
        Value::Table(t) => {
            if t.contains_key(TAG) {
                match Dist::from_table(t, TAG) {
                    Ok(Some(d)) => *value = Value::Float(f(path, &d)),
                    Ok(None) => {}
                    Err(e) => issues.push(Issue::new(
                        match &e.key {
                            Some(k) => format!("{path}.{k}"),
                            None => path.to_string(),
                        },
                        e.message.clone(),
                    )),
                }
                return;
            }
            for (k, v) in t.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                // Arm overrides are resolved under the path they set (see module docs).
                if p.starts_with("arms.") && p.ends_with(".set") && p.matches('.').count() == 2 {
                    continue;
                }
                walk(v, &p, f, issues);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter_mut().enumerate() {
                walk(v, &format!("{path}.{i}"), f, issues);
            }
        }
        _ => {}
    }
}

/// Replace every distribution in `doc` by `f(path, dist)`.
pub fn resolve(doc: &mut Table, f: &mut dyn FnMut(&str, &Dist) -> f64) -> Result<(), Vec<Issue>> {
    let mut issues = Vec::new();
    let mut v = Value::Table(std::mem::take(doc));
    walk(&mut v, "", f, &mut issues);
    if let Value::Table(t) = v {
        *doc = t;
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// Resolve the distributions inside one override value set at `path`.
pub fn resolve_value(
    value: &mut Value,
    path: &str,
    f: &mut dyn FnMut(&str, &Dist) -> f64,
) -> Result<(), Vec<Issue>> {
    let mut issues = Vec::new();
    walk(value, path, f, &mut issues);
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// Every uncertain value in the document (arm overrides included), by key path, in
/// document order.
pub fn collect(doc: &Table) -> Result<Vec<(String, Dist)>, Vec<Issue>> {
    let mut found: Vec<(String, Dist)> = Vec::new();
    let mut copy = doc.clone();
    resolve(&mut copy, &mut |p, d| {
        found.push((p.to_string(), *d));
        d.mean()
    })?;
    if let Some(Value::Table(arms)) = doc.get("arms") {
        for (_, arm) in arms {
            if let Some(Value::Table(set)) = arm.get("set") {
                for (k, v) in set {
                    let mut v = v.clone();
                    resolve_value(&mut v, k, &mut |p, d| {
                        if !found.iter().any(|(q, _)| q == p) {
                            found.push((p.to_string(), *d));
                        }
                        d.mean()
                    })?;
                }
            }
        }
    }
    Ok(found)
}
