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
#[non_exhaustive]
pub struct Issue {
    /// Dotted key path, e.g. `transitions.sickness_benefit.to.work`.
    pub path: String,
    /// What is wrong, what was expected and how to fix it: the whole sentence the user
    /// reads.
    pub message: String,
    /// 1-based line and column in the file, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub origin: Origin,
    /// The parts of the message, where the check that found the problem knows them
    /// apart (a range, a type, a list of names): what the value should be, what it was,
    /// and how to fix it. A form (`rehabsim serve`) shows them next to the field.
    pub expected: Option<String>,
    pub found: Option<String>,
    pub hint: Option<String>,
}

impl Issue {
    /// A problem at `path` (empty: the whole file) told in one sentence.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Issue {
        Issue {
            path: path.into(),
            message: message.into(),
            line: None,
            column: None,
            origin: Origin::File,
            expected: None,
            found: None,
            hint: None,
        }
    }

    /// A value that is not what the key takes: the message reads "expected …, found …"
    /// (then "; hint" with [`Issue::hint`]).
    pub fn expected(
        path: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Issue {
        let (expected, found) = (expected.into(), found.into());
        let mut issue = Issue::new(path, format!("expected {expected}, found {found}"));
        issue.expected = Some(expected);
        issue.found = Some(found);
        issue
    }

    /// The parts of a message worded otherwise (e.g. "`x` is not a state; expected one
    /// of: …").
    pub fn with_parts(mut self, expected: impl Into<String>, found: impl Into<String>) -> Issue {
        self.expected = Some(expected.into());
        self.found = Some(found.into());
        self
    }

    /// Add how to fix it, after the message's "; ".
    pub fn hint(mut self, hint: impl Into<String>) -> Issue {
        let hint = hint.into();
        self.message = format!("{}; {hint}", self.message);
        self.hint = Some(hint);
        self
    }

    /// Where the value came from.
    pub fn from_origin(mut self, origin: Origin) -> Issue {
        self.origin = origin;
        self
    }

    /// Where in the file it is.
    pub fn at(mut self, line: Option<usize>, column: Option<usize>) -> Issue {
        self.line = line;
        self.column = column;
        self
    }
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
        self.issues.push(Issue::new(path, message));
    }

    /// A problem found by a check that knows its parts ([`Issue::expected`]).
    pub fn push(&mut self, issue: Issue) {
        self.issues.push(issue);
    }

    pub fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }
}
