//! Scenario errors: every problem found in a scenario file, with where it is and how to fix it.
//!
//! Validation collects all problems in one pass ([`Diagnostics`]) so that a user fixes a
//! file in one round, not one error per run. Each [`Issue`] carries the key path; the
//! loader maps paths to line and column in the file (see `locate.rs`).

use std::fmt;
use std::path::PathBuf;

/// Where a value that caused a problem came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Written in the scenario file.
    File,
    /// Given on the command line with `--set`.
    Override(String),
    /// Set by an arm's `set` table.
    Arm(String),
}

/// One problem in a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Dotted key path, e.g. `transitions.sickness_benefit.to.work`.
    pub path: String,
    /// What is wrong, what was expected and how to fix it.
    pub message: String,
    /// 1-based line and column in the file, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub origin: Origin,
}

/// All problems found in one scenario file.
#[derive(Debug, Clone)]
pub struct ScenarioError {
    pub file: PathBuf,
    pub issues: Vec<Issue>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        writeln!(
            f,
            "{} has {} problem{}:",
            self.file.display(),
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for issue in &self.issues {
            write!(f, "  {}", self.file.display())?;
            if let Some(line) = issue.line {
                write!(f, ":{line}")?;
                if let Some(col) = issue.column {
                    write!(f, ":{col}")?;
                }
            }
            if issue.path.is_empty() {
                write!(f, ": {}", issue.message)?;
            } else {
                write!(f, ": `{}`: {}", issue.path, issue.message)?;
            }
            match &issue.origin {
                Origin::File => {}
                Origin::Override(s) => write!(f, " (from --set {s})")?,
                Origin::Arm(a) => write!(f, " (set by arm `{a}`)")?,
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Collects issues during validation.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub issues: Vec<Issue>,
}

impl Diagnostics {
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue {
            path: path.into(),
            message: message.into(),
            line: None,
            column: None,
            origin: Origin::File,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }
}
