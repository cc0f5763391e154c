//! Value stability: a tiny seeded run of the default scenario has a pinned SHA-256 of its
//! summary.json. Any change to the draws (generator, stream addressing, order of events)
//! or to the results changes the digest and fails here, loudly — as rand's value-stability
//! tests do. Optimisations of the hot loop must leave it unchanged; a deliberate change
//! of the model must update the digest and say why in the commit.

use rehabsim::RunOptions;
use sha2::{Digest, Sha256};

use crate::util;

fn digest(overrides: &[&str]) -> String {
    let sc = util::scenario(util::path("scenarios/default.toml"), overrides);
    let run = rehabsim::run(&sc, &RunOptions::default()).unwrap();
    let bytes = rehabsim::output::json::summary_json(&run.summary);
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn summary_digest_of_a_small_seeded_run_is_pinned() {
    // 3 replications (uncertain values drawn per replication), 300 persons, 36 months:
    // exercises the PSA draw, the cohort draw, every arm and the ledger.
    let d = digest(&[
        "scenario.replications=3",
        "population.persons=300",
        "scenario.horizon=36",
        "scenario.seed=20240601",
    ]);
    assert_eq!(
        d, "de170371303dd2d7a9e20ceb1f10899ae425bba867c274b0e7631a1d8cf4858e",
        "summary.json of the pinned run changed: draws or results differ"
    );
}

#[test]
fn summary_digest_spanning_several_chunks_is_pinned() {
    // More than one chunk of 8192 persons, so the chunked reduction is covered too.
    let d = digest(&[
        "scenario.replications=1",
        "population.persons=9000",
        "scenario.horizon=13",
        "scenario.seed=7",
    ]);
    assert_eq!(
        d, "997593ab77f4045a178635ed6805dd63ff85d585689ff229ff9e12c91fa382b1",
        "summary.json of the pinned run changed: draws or results differ"
    );
}
