//! What a run will need in memory, from the engine's data structures, so that a run the
//! machine cannot hold is refused before it starts (instead of an out-of-memory kill
//! hours later). docs/robustness.md, "Limits", has the user's view.

use std::path::Path;

use crate::Error;
use crate::ledger::{ArmRep, Layout};
use crate::model::Model;

use super::{CHUNK, PERSON_BYTES, outcome_months};

/// Bytes per person of one replication of `arms` arms in flight, from the engine's data
/// structures: cohort.rs keeps sex u8, the folded age u32, start state u8, start clock
/// u16 and risk f32, and per attribute an i64 fixed-point value; the engine keeps, per arm,
/// [`PERSON_BYTES`] per person (its state) and, in the worst case, every
/// person at once in the referral list and in the queue (a person and a step each: 8
/// bytes with padding). The arms of a replication run side by side (`engine::run_arms`),
/// so all their person states are in memory at once.
pub fn bytes_per_person(attributes: usize, arms: usize) -> u64 {
    let cohort = 1 + 4 + 1 + 2 + 4 + 8 * attributes as u64;
    let queues = 2 * std::mem::size_of::<(u32, u16)>() as u64;
    cohort + arms as u64 * (PERSON_BYTES + queues)
}

/// The memory a run is expected to need, by part (bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryEstimate {
    /// Bytes per person of one replication in flight (cohort, every arm's person states
    /// and queues).
    pub per_person: u64,
    /// Replications simulated at the same time (one per worker thread).
    pub in_flight: u64,
    /// All replications in flight: persons × per person × in flight, plus chunk tallies
    /// and each one's ledger until it is valued.
    pub simulation: u64,
    /// Results kept until the summary: replications × arms × (horizon × (states + sheet
    /// rows)).
    pub results: u64,
    /// Everything, including a fixed allowance for the program itself.
    pub total: u64,
    /// Replications of this run (all, or a shard's).
    pub replications: u64,
}

/// Fixed allowance for the binary, thread stacks in use, the models and the summary.
const BASELINE_BYTES: u64 = 64 << 20;

/// Estimate the memory of running `replications` replications of `scenario` on `threads`
/// worker threads, from the engine's data structures (engine/, cohort.rs, ledger.rs);
/// `keep_ledgers` as in [`crate::RunOptions::keep_ledgers`].
pub fn estimate_memory(
    arms: &[Model],
    replications: u64,
    threads: u64,
    keep_ledgers: bool,
) -> MemoryEstimate {
    let m = &arms[0];
    let n = m.population.persons;
    let s = m.states.len() as u64;
    let h = u64::from(m.horizon);
    let per_person = bytes_per_person(m.population.attributes.len(), arms.len());
    let in_flight = replications.min(threads.max(1)).max(1);
    let checkpoints = outcome_months(m).len() as u64;
    // Each chunk of persons of each arm keeps a tally and a transition count matrix; a
    // step collects all of them before merging.
    let per_chunk: u64 = arms
        .iter()
        .map(|am| {
            let layout = Layout::new(am);
            s * s * 2 * 4
                + layout.cells as u64 * (8 + 16 * layout.sum_attrs.len() as u64)
                + checkpoints * s * 2 * 4 * 2
        })
        .sum();
    let chunks = n.div_ceil(CHUNK as u64);
    let simulation = in_flight
        .saturating_mul(
            n.saturating_mul(per_person)
                .saturating_add(chunks * per_chunk),
        )
        .saturating_add(in_flight * (h + 1) * 8);
    // Per arm: the ledger a replication in flight holds until it is valued (ledger.rs,
    // ArmRep's postings and measures), and what is kept per replication (its counts, and
    // the discounted valuation per sheet row: 5 × 2 values and one value per step).
    let (ledger_bytes, rep_bytes) = arms.iter().fold((0u64, 0u64), |(l, k), am| {
        let rep = ArmRep::new(am, &Layout::new(am), checkpoints as usize);
        let ledger = rep.point_flows.len() + rep.step_flows.len() + rep.measures.len();
        let counts = rep.occupancy.len()
            + rep.outcomes.len()
            + rep.outcomes_participants.len()
            + rep.in_programme.len();
        let rows = am.actors.len() as u64 + 2;
        let kept = counts as u64 * 8
            + std::mem::size_of::<ArmRep>() as u64
            + rows * (80 + 24 + h * 8)
            + am.measures.len() as u64 * 16;
        (l + ledger as u64 * 8, k + kept)
    });
    let simulation = simulation.saturating_add(in_flight.saturating_mul(ledger_bytes));
    // occupancy.csv, about 80 bytes a row: arm × point × state × (all, women, men).
    let csv = arms.len() as u64 * (h + 1) * s * 3 * 80;
    let kept = rep_bytes + if keep_ledgers { ledger_bytes } else { 0 };
    let results = replications.saturating_mul(kept).saturating_add(csv);
    MemoryEstimate {
        per_person,
        in_flight,
        simulation,
        results,
        total: simulation
            .saturating_add(results)
            .saturating_add(BASELINE_BYTES),
        replications,
    }
}

/// Memory this process may still use: `MemAvailable` from `/proc/meminfo`, lowered to
/// the cgroup's remaining allowance when the process runs under a memory limit. `None`
/// where the OS does not say (the check is then skipped).
pub fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let mut avail = kib.saturating_mul(1024);
    let read = |p: &str| -> Option<u64> {
        std::fs::read_to_string(Path::new(p))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    if let (Some(max), Some(cur)) = (
        read("/sys/fs/cgroup/memory.max"),
        read("/sys/fs/cgroup/memory.current"),
    ) {
        avail = avail.min(max.saturating_sub(cur));
    }
    Some(avail)
}

/// Bytes in GiB with one decimal, or TiB from 1024 GiB on.
pub fn gib(b: u64) -> String {
    let g = b as f64 / f64::from(1u32 << 30);
    if g >= 1024.0 {
        format!("{:.1} TiB", g / 1024.0)
    } else {
        format!("{g:.1} GiB")
    }
}

/// Refuse a run whose estimate exceeds `available` bytes (no check when `None`).
pub fn check_memory(
    arms: &[Model],
    est: &MemoryEstimate,
    available: Option<u64>,
) -> Result<(), Error> {
    let Some(limit) = available else {
        return Ok(());
    };
    if est.total <= limit {
        return Ok(());
    }
    let m = &arms[0];
    Err(Error::Input(format!(
        "this run would need about {} of memory but {} is available: {} persons × {} bytes per person × {} replication{} in flight = {}, plus {} of results for {} replications × {} arms × {} steps × {} states. Use fewer persons (`--persons`), fewer replications per run (`--replications`, or run them in shards), a shorter horizon (`--horizon`) or fewer threads (`--threads`) (docs/robustness.md, \"Limits\")",
        gib(est.total),
        gib(limit),
        m.population.persons,
        est.per_person,
        est.in_flight,
        if est.in_flight == 1 { "" } else { "s" },
        gib(est.simulation),
        gib(est.results),
        est.replications,
        arms.len(),
        m.horizon,
        m.states.len(),
    )))
}
