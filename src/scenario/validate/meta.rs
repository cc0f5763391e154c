//! `[scenario]`: the run settings every other section may depend on — the horizon, the
//! number of replications and the length of a step. Name, description, price year,
//! currency and seed are free-form and copied as they are by `build`.

use super::check::Ctx;
use crate::limits::{MAX_HORIZON, MAX_REPLICATIONS};
use crate::scenario::raw::RawMeta;

/// The validated run settings.
pub(super) struct Settings {
    /// Steps simulated.
    pub(super) horizon: u32,
    pub(super) replications: u32,
    /// 12 for monthly steps, 1 for yearly.
    pub(super) steps_per_year: u32,
}

pub(super) fn settings(meta: &RawMeta, c: &mut Ctx) -> Settings {
    let horizon = c.count(meta.horizon, "scenario.horizon", 1, MAX_HORIZON);
    let replications = c.count(
        meta.replications.unwrap_or(100),
        "scenario.replications",
        1,
        MAX_REPLICATIONS,
    );
    let steps_per_year = match meta.step.as_deref().unwrap_or("month") {
        "month" => 12,
        "year" => 1,
        other => {
            c.err(
                "scenario.step",
                format!("expected \"month\" or \"year\", found \"{other}\""),
            );
            12
        }
    };
    Settings {
        horizon,
        replications,
        steps_per_year,
    }
}
