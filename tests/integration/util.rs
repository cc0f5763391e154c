//! Shared helpers: paths below the project root, scenarios loaded or parsed with `--set`
//! overrides applied, run options, thread pools, temporary folders, and the real
//! `rehabsim` binary driven with `assert_cmd`.
//!
//! Every helper panics with the library's message when something that should work does
//! not, so a failing test says why.

use std::path::{Path, PathBuf};

use rehabsim::scenario::{self, Source};
use rehabsim::{RunOptions, Scenario};
use tempfile::TempDir;

/// The project root (where Cargo.toml is). The binary runs there, as `cargo test` runs the
/// tests there: relative paths such as `tests/data/robustness.toml` are relative to it,
/// and messages name files as the command line gives them.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `rel` below the project root, as an absolute path.
pub fn path(rel: &str) -> PathBuf {
    root().join(rel)
}

/// No `--set` overrides, for [`load`] and [`parse`].
pub const NO_SETS: &[&str] = &[];

fn owned<S: AsRef<str>>(sets: &[S]) -> Vec<String> {
    sets.iter().map(|s| s.as_ref().to_string()).collect()
}

/// The scenario file at `path` (taken as given: relative paths are relative to the
/// project root), with `sets` applied as `--set KEY=VALUE` overrides.
pub fn load<S: AsRef<str>>(path: impl AsRef<Path>, sets: &[S]) -> Source {
    let path = path.as_ref();
    let mut src = scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
    src.apply_overrides(&owned(sets))
        .unwrap_or_else(|e| panic!("{e}"));
    src
}

/// A scenario from its text, named `name` in messages, with `sets` applied as overrides.
pub fn parse<S: AsRef<str>>(name: &str, text: impl Into<String>, sets: &[S]) -> Source {
    let mut src = scenario::parse(Path::new(name), text.into()).unwrap_or_else(|e| panic!("{e}"));
    src.apply_overrides(&owned(sets))
        .unwrap_or_else(|e| panic!("{e}"));
    src
}

/// The validated scenario of `src`.
pub fn compile(src: &Source) -> Scenario {
    src.compile().unwrap_or_else(|e| panic!("{e}"))
}

/// [`load`], then [`compile`].
pub fn scenario<S: AsRef<str>>(path: impl AsRef<Path>, sets: &[S]) -> Scenario {
    compile(&load(path, sets))
}

/// The text of a file (relative to the project root or absolute).
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Run options that keep every replication's ledger, for tests that check the postings.
pub fn keep_ledgers() -> RunOptions {
    RunOptions {
        keep_ledgers: true,
        ..RunOptions::default()
    }
}

/// Run `f` on a pool of `threads` worker threads.
pub fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap_or_else(|e| panic!("a pool of {threads} threads: {e}"))
        .install(f)
}

/// A fresh, empty temporary folder named after `name` (`rehabsim-NAME-XXXXXX` in the
/// system's temporary folder), removed when the value is dropped, also when the test
/// fails: keep the value alive while the folder is in use. It reads as the folder's
/// [`Path`] (`dir.join("out")`, `&dir` where a `&Path` is taken).
pub fn tmp(name: &str) -> Tmp {
    let dir = tempfile::Builder::new()
        .prefix(&format!("rehabsim-{name}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("a temporary folder: {e}"));
    Tmp(dir)
}

/// See [`tmp`].
pub struct Tmp(TempDir);

impl std::ops::Deref for Tmp {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Tmp {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<std::ffi::OsStr> for Tmp {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.path().as_os_str()
    }
}

/// The `rehabsim` binary of this build, run in the project root; `.assert()` checks its
/// exit code, stdout and stderr and prints all three when a check fails.
pub fn rehabsim() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(bin_path());
    cmd.current_dir(root());
    cmd
}

/// The same binary as a plain [`std::process::Command`], for tests that start it and act
/// on it while it runs (`spawn`): Ctrl-C, shards as parallel processes.
pub fn bin() -> std::process::Command {
    let mut cmd = std::process::Command::new(bin_path());
    cmd.current_dir(root());
    cmd
}

fn bin_path() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("rehabsim")
}
