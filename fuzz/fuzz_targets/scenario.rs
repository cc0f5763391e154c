//! Any bytes as a scenario file: parsing, `--set` overrides, validation and the error
//! messages must never panic; a scenario that validates and is small enough is simulated
//! for one replication and its ledger must balance.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

/// Largest run (persons × steps × arms) simulated per input, so that an execution stays
/// in the millisecond range.
const MAX_WORK: u64 = 20_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The last line may carry `--set` overrides, as the command line would.
    let sets: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("#set "))
        .map(str::to_string)
        .collect();
    let mut src = match rehabsim::scenario::parse(Path::new("fuzz.toml"), text.to_string()) {
        Ok(s) => s,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    if let Err(e) = src.apply_overrides(&sets) {
        let _ = e.to_string();
        return;
    }
    let scenario = match src.compile() {
        Ok(s) => s,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let m = scenario.base();
    let work = m.population().persons * u64::from(m.horizon() + 1) * scenario.arms().len() as u64;
    if work > MAX_WORK {
        return;
    }
    let models = match scenario.models_for(0) {
        Ok(models) => models,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let rep = rehabsim::engine::run_replication(&models, 0, false);
    for (model, arm) in models.iter().zip(&rep.arms) {
        if let Err(e) = rehabsim::ledger::check_balance(model, arm) {
            panic!("a valid scenario gives an unbalanced ledger: {e}");
        }
        assert!(
            arm.occupancy.iter().all(|&x| x >= 0.0 && x.is_finite()),
            "negative or non-finite occupancy"
        );
    }
});
