//! Criterion benchmarks of the engine (issue #6; figures in ../BENCHMARKS.md).
//!
//! * `bare_loop`: the reference for the "within 2.5× of a bare loop" target — a struct of
//!   arrays cohort where each person-month draws one Philox block with the engine's own
//!   streams, looks up a cumulative row by state and adds a cost row; once with one scalar
//!   block per person-month, once with the chunk-batched generator the engine uses.
//! * `step`: person-months of the real engine (default scenario, one replication, one
//!   thread), throughput in person-months summed over arms (as `rehabsim run` reports).
//! * `run`: a whole default-scenario run (1 replication) at 10^4, 10^5, 10^6 persons.
//! * `replications`: many small replications (the default run's shape).
//! * `psa_draw`: `models_for`, the per-replication parameter draw and compile.

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rehabsim::rng::{Purpose, Streams, unit};
use rehabsim::{RunOptions, Scenario, engine};

fn scenario(sets: &[String]) -> Scenario {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/default.toml");
    let mut src = rehabsim::scenario::load(Path::new(path)).expect("default scenario");
    src.apply_overrides(sets).expect("overrides");
    src.compile().expect("compile")
}

fn sized(persons: u64, horizon: u32, reps: u32) -> Scenario {
    scenario(&[
        format!("population.persons={persons}"),
        format!("scenario.horizon={horizon}"),
        format!("scenario.replications={reps}"),
    ])
}

/// Person-months of one replication summed over arms (what `rehabsim run` counts).
fn person_months(sc: &Scenario) -> u64 {
    let models = sc.models_for(0).unwrap();
    engine::run_replication(&models, 0, false)
        .arms
        .iter()
        .map(|a| a.person_steps)
        .sum()
}

const STATES: usize = 9;
const CHUNK: usize = engine::CHUNK;
const LINES: usize = 4;

fn bare_loop(c: &mut Criterion) {
    let persons = 100_000usize;
    let months = 120u32;
    // Cumulative transition rows by state (mostly staying put) and a cost row by state.
    let mut cum = [[0.0f64; STATES]; STATES];
    let mut cost = [[0i64; LINES]; STATES];
    for s in 0..STATES {
        let mut acc = 0.0;
        for (d, c) in cum[s].iter_mut().enumerate() {
            acc += if d == s { 0.0 } else { 0.01 };
            *c = acc;
        }
        for (l, c) in cost[s].iter_mut().enumerate() {
            *c = 1_000 * (s as i64 + 1) + l as i64;
        }
    }
    let streams = Streams::new(20251123, 0);
    let mut g = c.benchmark_group("bare_loop");
    g.sample_size(10);
    g.throughput(Throughput::Elements(persons as u64 * u64::from(months)));
    g.bench_function("philox_row_cost", |b| {
        b.iter(|| {
            let mut state: Vec<u8> = (0..persons).map(|i| (i % STATES) as u8).collect();
            let mut ledger = [0i64; LINES];
            for t in 0..months {
                for (i, st) in state.iter_mut().enumerate() {
                    let s = *st as usize;
                    let u = unit(streams.block(i as u32, t, Purpose::Month)[0]);
                    let row = &cum[s];
                    if u < row[STATES - 1] {
                        *st = row.iter().position(|&c| u < c).unwrap_or(s) as u8;
                    }
                    for (a, x) in ledger.iter_mut().zip(&cost[*st as usize]) {
                        *a += x;
                    }
                }
            }
            black_box((ledger, state))
        })
    });
    // The same loop drawing each month's blocks a group at a time with the batched
    // generator the engine uses (`Streams::lanes_into`, AVX2 where available, word by
    // word): the stricter reference, since the engine gets its numbers this way.
    g.bench_function("philox_batched_row_cost", |b| {
        b.iter(|| {
            let mut state: Vec<u8> = (0..persons).map(|i| (i % STATES) as u8).collect();
            let mut ledger = [0i64; LINES];
            let mut lanes = [[0u32; CHUNK]; 4];
            for t in 0..months {
                for (k, chunk) in state.chunks_mut(CHUNK).enumerate() {
                    streams.lanes_into(
                        (k * CHUNK) as u32,
                        t,
                        Purpose::Month,
                        &mut lanes,
                        chunk.len(),
                    );
                    for (st, &draw) in chunk.iter_mut().zip(&lanes[0]) {
                        let s = *st as usize;
                        let u = unit(draw);
                        let row = &cum[s];
                        if u < row[STATES - 1] {
                            *st = row.iter().position(|&c| u < c).unwrap_or(s) as u8;
                        }
                        for (a, x) in ledger.iter_mut().zip(&cost[*st as usize]) {
                            *a += x;
                        }
                    }
                }
            }
            black_box((ledger, state))
        })
    });
    g.finish();
}

fn step(c: &mut Criterion) {
    let sc = sized(100_000, 120, 1);
    let models = sc.models_for(0).unwrap();
    let mut g = c.benchmark_group("step");
    g.sample_size(10);
    g.throughput(Throughput::Elements(person_months(&sc)));
    g.bench_function("default_1e5x120_1thread", |b| {
        b.iter(|| black_box(engine::run_replication(&models, 0, false)))
    });
    g.finish();
}

fn run(c: &mut Criterion) {
    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    // 10^6 persons at 12 months keeps the group to a few minutes on 2 shared cores;
    // `rehabsim run --persons 1000000 --horizon 120` gives the full-horizon figure.
    for &(persons, horizon) in &[(10_000u64, 120u32), (100_000, 120), (1_000_000, 12)] {
        let sc = sized(persons, horizon, 1);
        g.throughput(Throughput::Elements(person_months(&sc)));
        g.bench_with_input(
            BenchmarkId::new(format!("default_h{horizon}"), persons),
            &sc,
            |b, sc| b.iter(|| black_box(rehabsim::run(sc, &RunOptions::default()).unwrap())),
        );
    }
    g.finish();
}

fn replications(c: &mut Criterion) {
    let sc = sized(400, 60, 100);
    let mut g = c.benchmark_group("replications");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100 * person_months(&sc)));
    g.bench_function("default_100x400x60", |b| {
        b.iter(|| black_box(rehabsim::run(&sc, &RunOptions::default()).unwrap()))
    });
    g.finish();
}

fn psa_draw(c: &mut Criterion) {
    let sc = sized(400, 60, 200);
    assert!(
        !sc.uncertain().is_empty(),
        "the default scenario has uncertain values"
    );
    let mut g = c.benchmark_group("psa_draw");
    g.throughput(Throughput::Elements(1));
    let mut rep = 0u32;
    g.bench_function("models_for", |b| {
        b.iter(|| {
            rep = rep.wrapping_add(1) % 200;
            black_box(sc.models_for(rep).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bare_loop, step, run, replications, psa_draw);
criterion_main!(benches);
