//! Scenario files: reading, overriding, resolving uncertain values and validating.
//!
//! The pipeline is `text → toml::Table (the document) → --set overrides → per arm: the
//! arm's own `set` overrides → uncertain values resolved (mean or a draw) → serde mirror
//! (`raw.rs`) → validated [`Model`] (`validate/`, one file per section)`. Errors at every
//! stage are [`ScenarioError`]s that name the file, the line and column where known, the
//! key path, what was expected and how to fix it.

pub mod error;
pub mod locate;
pub mod params;
pub mod raw;
mod validate;

use std::path::{Path, PathBuf};

pub use error::{Diagnostics, Issue, Origin, ScenarioError};
use toml::{Table, Value};

use crate::model::Model;

/// A scenario document as read from a file, with command-line overrides applied.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    pub doc: Table,
    /// The `--set` overrides applied, in order, as typed.
    pub overrides: Vec<String>,
}

/// A validated scenario: one compiled model per arm, at central parameter values.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub source: Source,
    pub arms: Vec<Model>,
    /// Index of the counterfactual arm in `arms`.
    pub counterfactual: usize,
    /// Key paths of values given as distributions (probabilistic sensitivity analysis).
    pub uncertain: Vec<(String, crate::dist::Dist)>,
}

impl Scenario {
    pub fn base(&self) -> &Model {
        &self.arms[self.counterfactual]
    }
}

/// Read and parse a scenario file.
pub fn load(path: &Path) -> Result<Source, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        issues: vec![Issue {
            path: String::new(),
            message: format!("cannot read the file: {e}"),
            line: None,
            column: None,
            origin: Origin::File,
        }],
    })?;
    parse(path, text)
}

/// Parse scenario text; `path` is used in messages only.
pub fn parse(path: &Path, text: String) -> Result<Source, ScenarioError> {
    let doc: Table = match toml::from_str(&text) {
        Ok(doc) => doc,
        Err(e) => {
            let pos = e.span().map(|s| locate::position_of(&text, s.start));
            let mut message = e.message().trim_end().replace('\n', " ");
            // toml does not say which key is written twice; its span does.
            if message == "duplicate key"
                && let Some(key) = e.span().and_then(|s| text.get(s)).map(str::trim)
                && !key.is_empty()
                && !key.contains('\n')
            {
                message = format!("duplicate key `{key}`: a key may be given only once per table");
            }
            return Err(ScenarioError {
                file: path.to_path_buf(),
                issues: vec![Issue {
                    path: String::new(),
                    message: format!("this is not valid TOML: {message}"),
                    line: pos.map(|p| p.line),
                    column: pos.map(|p| p.column),
                    origin: Origin::File,
                }],
            });
        }
    };
    Ok(Source {
        path: path.to_path_buf(),
        text,
        doc,
        overrides: Vec::new(),
    })
}

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

impl Source {
    /// Apply `--set key.path=value` overrides in order.
    pub fn apply_overrides(&mut self, sets: &[String]) -> Result<(), ScenarioError> {
        let mut issues = Vec::new();
        for s in sets {
            let Some((key, value)) = s.split_once('=') else {
                issues.push(Issue {
                    path: s.clone(),
                    message: "an override must look like `key.path=value`, e.g. `--set population.persons=1000`".into(),
                    line: None,
                    column: None,
                    origin: Origin::Override(s.clone()),
                });
                continue;
            };
            let key = key.trim();
            let parts = split_path(key);
            if let Err(msg) = set_path(&mut self.doc, &parts, parse_value(value.trim())) {
                issues.push(Issue {
                    path: key.to_string(),
                    message: msg,
                    line: None,
                    column: None,
                    origin: Origin::Override(s.clone()),
                });
            } else {
                self.overrides.push(s.clone());
            }
        }
        if issues.is_empty() {
            Ok(())
        } else {
            Err(ScenarioError {
                file: self.path.clone(),
                issues,
            })
        }
    }

    /// Validate at central values (the mean of every distribution).
    pub fn compile(&self) -> Result<Scenario, ScenarioError> {
        let uncertain = params::collect(&self.doc).map_err(|i| self.located(i))?;
        let arms = self.compile_arms(&mut |_, d| d.mean())?;
        let counterfactual = arms.iter().position(|m| m.arm.counterfactual).unwrap_or(0);
        Ok(Scenario {
            source: self.clone(),
            arms,
            counterfactual,
            uncertain,
        })
    }

    /// Compile every arm with uncertain values resolved by `resolve(path, dist)`.
    pub fn compile_arms(
        &self,
        resolve: &mut dyn FnMut(&str, &crate::dist::Dist) -> f64,
    ) -> Result<Vec<Model>, ScenarioError> {
        let mut base = self.doc.clone();
        params::resolve(&mut base, resolve).map_err(|i| self.located(i))?;
        validate::compile_all(&base, resolve).map_err(|i| self.located(i))
    }

    /// Attach line and column to issues that come from the file.
    pub fn located(&self, mut issues: Vec<Issue>) -> ScenarioError {
        for issue in &mut issues {
            if issue.line.is_some() || issue.path.is_empty() {
                continue;
            }
            if let Origin::File = issue.origin {
                let parts = split_path(&issue.path);
                let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
                if let Some(found) = locate::locate(&self.text, &refs) {
                    issue.line = Some(found.position.line);
                    issue.column = Some(found.position.column);
                }
            }
            // A value changed by --set is reported against the override, not the file.
            if let Some(ov) = self.overrides.iter().rev().find(|o| {
                o.split_once('=')
                    .is_some_and(|(k, _)| issue.path.starts_with(k.trim()))
            }) {
                issue.origin = Origin::Override(ov.clone());
                issue.line = None;
                issue.column = None;
            }
        }
        ScenarioError {
            file: self.path.clone(),
            issues,
        }
    }
}
