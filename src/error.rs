//! Every error a run can end with: its kind (which decides the exit code) and what the
//! user is told. A scenario's problems keep their locations ([`ScenarioError`]: file,
//! line, column, key path, what was expected and found, and how to fix it); a failed read
//! or write keeps the operating system's error as its source, so that a caller can ask
//! what happened (`std::error::Error::source`) and `main` prints the whole chain
//! ([`Error::report`]).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::scenario::error::ScenarioError;

/// Every error a run can end with; [`Error::exit_code`] maps it to the documented codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The scenario file or its overrides have problems, each located in the file.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// Other bad input: a flag, a result folder, a partial file of a shard.
    #[error("{0}")]
    Input(String),
    /// A file could not be read or written.
    #[error("cannot {verb} {}", path.display())]
    Io {
        /// `read` or `write`.
        verb: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
        /// What the user may do about it, printed after the chain (`" (…)"`), if anything.
        hint: Option<String>,
    },
    /// A fault of rehabsim itself (a bug to report), not of the input.
    #[error("internal error: {0}")]
    Internal(String),
    /// The run was stopped (Ctrl-C) before it finished.
    #[error("interrupted: the run was stopped before it finished; no result files were written")]
    Interrupted,
}

impl Error {
    /// 0 ok, 2 bad input, 1 internal or I/O error, 130 interrupted.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Scenario(_) | Error::Input(_) => 2,
            Error::Io { .. } | Error::Internal(_) => 1,
            Error::Interrupted => 130,
        }
    }

    /// Reading `path` failed.
    pub fn read(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            verb: "read",
            path: path.to_path_buf(),
            source,
            hint: None,
        }
    }

    /// Writing `path` failed.
    pub fn write(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            verb: "write",
            path: path.to_path_buf(),
            source,
            hint: None,
        }
    }

    /// The error with a hint for the user (only an I/O error carries one).
    pub fn with_hint(mut self, text: String) -> Error {
        if let Error::Io { hint, .. } = &mut self {
            *hint = Some(text);
        }
        self
    }

    /// The message with its chain of sources, as `main` prints it: `cannot write X: No
    /// space left on device (os error 28)`.
    pub fn report(&self) -> Report<'_> {
        Report(self)
    }
}

/// [`Error::report`]: the error, each of its sources after `": "`, then its hint.
#[derive(Debug)]
pub struct Report<'a>(&'a Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(self.0);
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        if let Error::Io { hint: Some(h), .. } = self.0 {
            write!(f, " {h}")?;
        }
        Ok(())
    }
}
