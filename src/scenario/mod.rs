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
pub mod path;
pub mod raw;
pub mod sexes;
mod validate;

use std::path::{Path, PathBuf};

pub use error::{Diagnostics, Issue, Origin, ScenarioError};
pub use path::{parse_value, set_path, split_path};
use toml::Table;

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

/// A validated scenario: one compiled model per arm, at central parameter values. Built
/// only by [`Source::compile`]; read through its getters.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub(crate) source: Source,
    pub(crate) arms: Vec<Model>,
    /// Index of the counterfactual arm in `arms`.
    pub(crate) counterfactual: usize,
    /// Key paths of values given as distributions (probabilistic sensitivity analysis).
    pub(crate) uncertain: Vec<(String, crate::dist::Dist)>,
}

impl Scenario {
    /// The document the scenario was compiled from (with its overrides).
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// One model per arm, at the central values, in file order.
    pub fn arms(&self) -> &[Model] {
        &self.arms
    }

    /// The index of the counterfactual arm in [`Scenario::arms`].
    pub fn counterfactual(&self) -> usize {
        self.counterfactual
    }

    /// The key paths of values given as distributions, with their distributions.
    pub fn uncertain(&self) -> &[(String, crate::dist::Dist)] {
        &self.uncertain
    }

    /// The counterfactual arm's model: what every arm shares (population, states,
    /// actors, items, horizon).
    pub fn base(&self) -> &Model {
        &self.arms[self.counterfactual]
    }

    /// The models of every arm for replication `rep`: the central models, or — when the
    /// scenario has uncertain values — a fresh draw of every parameter from the
    /// replication's own streams (the same draw for all arms).
    pub fn models_for(&self, rep: u32) -> Result<Vec<Model>, ScenarioError> {
        if self.uncertain.is_empty() {
            return Ok(self.arms.clone());
        }
        let streams = crate::rng::Streams::new(self.base().seed, rep);
        let mut drawn: Vec<(String, f64)> = Vec::new();
        let mut draw = |path: &str, d: &crate::dist::Dist| -> f64 {
            let mut g = streams.sequence(
                crate::rng::path_hash(path),
                0,
                crate::rng::Purpose::Parameter,
            );
            let v = d.sample(&mut g);
            if !drawn.iter().any(|(p, _)| p == path) {
                drawn.push((path.to_string(), v));
            }
            v
        };
        let result = self.source.compile_arms(&mut draw);
        result.map_err(|mut e| {
            // Each value's range was checked on its own before the run
            // (`analysis::psa::check_ranges`), so this is a rule that joins several values.
            let values = drawn
                .iter()
                .map(|(p, v)| format!("{p} = {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            for i in &mut e.issues {
                i.message = format!(
                    "in replication {rep}, the parameter draw gives an invalid model: {} (values drawn: {values}); make the uncertain values that enter this rule narrower, or write the rule so that every draw satisfies it (e.g. hazards instead of probabilities: competing risks keep every row within 1)",
                    i.message
                );
            }
            e
        })
    }
}

/// Read and parse a scenario file.
pub fn load(path: &Path) -> Result<Source, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.to_path_buf(),
        issues: vec![Issue::new("", format!("cannot read the file: {e}"))],
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
                issues: vec![
                    Issue::new("", format!("this is not valid TOML: {message}"))
                        .at(pos.map(|p| p.line), pos.map(|p| p.column)),
                ],
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

impl Source {
    /// Apply `--set key.path=value` overrides in order.
    pub fn apply_overrides(&mut self, sets: &[String]) -> Result<(), ScenarioError> {
        let mut issues = Vec::new();
        for s in sets {
            let Some((key, value)) = s.split_once('=') else {
                issues.push(
                    Issue::new(
                        s.clone(),
                        "an override must look like `key.path=value`, e.g. `--set population.persons=1000`",
                    )
                    .from_origin(Origin::Override(s.clone())),
                );
                continue;
            };
            let key = key.trim();
            let parts = split_path(key);
            if let Err(msg) = set_path(&mut self.doc, &parts, parse_value(value.trim())) {
                issues.push(Issue::new(key, msg).from_origin(Origin::Override(s.clone())));
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
        validate::compile_sexes(&base, resolve).map_err(|i| self.located(i))
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
