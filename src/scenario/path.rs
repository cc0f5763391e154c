//! Key paths in a scenario document (`transitions.sickness_benefit.to.work`): splitting
//! them, reading a `--set` value, and setting a value at a path, as `--set`, an arm's
//! `set` table and the sensitivity analyses do.

use toml::{Table, Value};

/// Split a dotted key path; `"quoted.parts"` keep their dots.
pub fn split_path(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in path.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

/// Parse the right-hand side of `--set key=value` as a TOML value; a bare word that is
/// not valid TOML (e.g. `co_located`) is taken as a string.
pub fn parse_value(text: &str) -> Value {
    let doc = format!("v = {text}");
    match toml::from_str::<Table>(&doc) {
        Ok(mut t) => t.remove("v").unwrap_or(Value::String(text.to_string())),
        Err(_) => Value::String(text.to_string()),
    }
}

/// Set `path` in `doc` to `value`. Every component but the last must already exist (so
/// that a misspelt table name is caught); the last may be new, and the schema then
/// decides whether it is a valid key. On error `doc` is left unchanged.
pub fn set_path(doc: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    if path.is_empty() {
        return Err("the key path is empty".into());
    }
    let mut copy = Value::Table(doc.clone());
    set_in(&mut copy, path, 0, value)?;
    if let Value::Table(t) = copy {
        *doc = t;
    }
    Ok(())
}

fn set_in(cur: &mut Value, path: &[String], depth: usize, value: Value) -> Result<(), String> {
    let part = &path[depth];
    let walked = path[..=depth].join(".");
    let last = depth + 1 == path.len();
    match cur {
        Value::Table(t) => {
            if last {
                t.insert(part.clone(), value);
                return Ok(());
            }
            let known: Vec<String> = t.keys().cloned().collect();
            let next = t.get_mut(part.as_str()).ok_or_else(|| {
                format!(
                    "`{walked}` does not exist; keys here are: {}",
                    if known.is_empty() {
                        "(none)".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            })?;
            set_in(next, path, depth + 1, value)
        }
        Value::Array(a) => {
            let n = a.len();
            let i: usize = part.parse().map_err(|_| {
                format!(
                    "`{walked}` indexes an array: use a number from 0 to {}",
                    n.saturating_sub(1)
                )
            })?;
            let slot = a.get_mut(i).ok_or_else(|| {
                format!("`{walked}`: index {i} is out of range (the array has {n} elements)")
            })?;
            if last {
                *slot = value;
                Ok(())
            } else {
                set_in(slot, path, depth + 1, value)
            }
        }
        _ => Err(format!(
            "`{}` is a value, not a table: it has no key `{part}`",
            path[..depth].join(".")
        )),
    }
}
