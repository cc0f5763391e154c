//! rehabsim's integration tests: one test binary (`cargo test --test integration`), one
//! module per topic, as ripgrep does. One binary links the library once instead of twelve
//! times, and the helpers live in one place: [`util`] loads scenarios with
//! overrides, makes temporary folders (`tempfile`) and drives the real `rehabsim` binary
//! (`assert_cmd` and `predicates`).
//!
//! Shared data files are in `tests/data/` (valid scenarios, and the malformed ones of
//! `errors` in `tests/data/bad/`); the browser test of the report is
//! `tests/browser/check_report.sh`, run by `.ci/run`.
//!
//! Snapshots (the `insta` crate) are committed in `tests/integration/snapshots/`: the golden
//! error messages (`errors`) and the value-stability runs (`golden`). When one moves, the
//! failing test prints the difference and, outside CI, writes the new value beside the old
//! one as `NAME.snap.new`. To accept a deliberate change:
//! * `cargo insta review` (after `cargo install cargo-insta`) shows each pending
//!   `.snap.new` and accepts or rejects it;
//! * without cargo-insta, `INSTA_UPDATE=always cargo test --release --test integration`
//!   writes the new values over the old ones (then `git diff tests/integration/snapshots`
//!   is the review), and `INSTA_FORCE_PASS=1` runs everything to the end without failing
//!   on a snapshot;
//! * delete `.snap.new` files that are not accepted; commit the `.snap` files with the
//!   reason for the change.
//!
//! CI (`.ci/run`) sets `INSTA_UPDATE=no` and `INSTA_FORCE_PASS=0`: it compares and never
//! writes a snapshot, so a missing or changed one fails the run. The tests need nothing
//! but plain `cargo test --release --locked`.

// Shared helpers: scenarios with overrides, temporary folders, the binary.
mod util;

// Calibration: shipped scenarios against their programmes' figures, and `calibrate`.
mod calibration;
// Cohort mode (`run --cohort`): exact expectations against the microsimulation.
mod cohort_mode;
// Counting conventions and discounting against hand-computed formulas.
mod conventions;
// Engine invariants: the ledger balances, common random numbers, threads, fast paths.
mod engine;
// Malformed scenarios: golden error messages (snapshots) and mutation fuzzing.
mod errors;
// Value stability: pinned outputs of seeded runs (snapshots).
mod golden;
// The benefit rules and the design questions as mechanisms, hand-computed.
mod mechanisms;
// Property tests over random valid scenarios (proptest).
mod proptest_ledger;
// The HTML report, its charts and escaping, and the CSV options.
mod report;
// Faults and limits: Ctrl-C, output folders, exit codes, memory and ledger limits.
mod robustness;
// The shipped scenarios: they run, balance and keep the promises of their headers.
mod scenarios;
// Sharded runs and `merge`.
mod shard;
// Uncertainty: distributions, tornado, sweep, break-even, EVPI, the expected mode.
mod uncertainty;
