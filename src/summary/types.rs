//! The types of a summary: the schema of `summary.json`.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::analysis::evpi::{Evpi, EvpiAll};
use crate::stats::Stat;

/// The `format` of `summary.json`.
pub const FORMAT: &str = "rehabsim-summary";
/// The version of `summary.json`'s schema, raised whenever a field changes meaning or a
/// field `rehabsim report` needs is added.
pub const FORMAT_VERSION: u32 = 1;

pub const SEXES: [&str; 3] = ["all", "women", "men"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Always [`FORMAT`]: what the file is.
    pub format: String,
    /// [`FORMAT_VERSION`]: `rehabsim report` reads only summaries of its own version.
    pub format_version: u32,
    pub rehabsim_version: String,
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    pub replications: u32,
    pub persons: u64,
    pub horizon_months: u32,
    pub horizon_steps: u32,
    pub step: String,
    pub price_year: Option<i64>,
    pub currency: String,
    pub discount_rate: f64,
    pub measure_discount_rate: f64,
    pub counting: String,
    pub overrides: Vec<String>,
    pub counterfactual: String,
    pub arms: IndexMap<String, ArmSummary>,
    pub differences: IndexMap<String, DiffSummary>,
    /// Yearly cost of one person-year in each state relative to regular work, per actor.
    pub exclusion_cost: ExclusionCost,
    pub diagnostics: Diagnostics,
    /// EVPI of the choice between all arms, per actor (see `analysis::evpi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evpi: Option<EvpiAll>,
    /// The same balance sheet with the cohort noise averaged out (`run --expected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
    /// `"cohort"` for exact expected values (`run --cohort`, see docs/general-models.md);
    /// absent for the microsimulation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    pub person_steps: u64,
    /// Probability rows pushed above 1 by multipliers and rescaled (documented clamp).
    pub clamped_rows: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorSummary {
    pub label: String,
    pub label_sv: String,
    pub net: Stat,
    pub production: Stat,
    pub transfers: Stat,
    pub resources: Stat,
    pub investment: Stat,
    /// Net per participant (or per person for an arm without a programme).
    pub net_per_participant: Stat,
    pub women: SexSplit,
    pub men: SexSplit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SexSplit {
    pub net: Stat,
    pub production: Stat,
    pub transfers: Stat,
    pub resources: Stat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffActor {
    #[serde(flatten)]
    pub sheet: ActorSummary,
    /// Probability that the actor comes out ahead (difference > 0).
    #[serde(deserialize_with = "crate::stats::f64_or_nan")]
    pub prob_positive: f64,
    pub payback: Payback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payback {
    /// Months; `null` means "never within the horizon" at that quantile.
    pub median_month: Option<f64>,
    pub p05_month: Option<f64>,
    pub p95_month: Option<f64>,
    /// Share of replications in which the actor never pays back within the horizon.
    pub never_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    pub label: String,
    pub counterfactual: bool,
    pub organisation: String,
    pub location: String,
    pub programme: Option<String>,
    /// Persons who started the programme.
    pub participants: Stat,
    /// Persons who entered the cohort within the horizon.
    pub persons: Stat,
    pub per_participant_denominator: String,
    pub actors: IndexMap<String, ActorSummary>,
    pub outcomes: IndexMap<String, OutcomeAt>,
    /// Mean months per person in each state over the horizon, by sex.
    pub months_in_state: IndexMap<String, IndexMap<String, Stat>>,
    pub measures: IndexMap<String, MeasureSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffSummary {
    pub arm: String,
    pub counterfactual: String,
    pub actors: IndexMap<String, DiffActor>,
    /// Differences in outcome shares (percentage points as fractions).
    pub outcomes: IndexMap<String, OutcomeAt>,
    pub measures: IndexMap<String, MeasureSummary>,
    /// Incremental cost (society's negative net) per unit of each measure.
    pub cost_per_unit: IndexMap<String, Option<f64>>,
    /// Mean cumulative discounted difference per actor by month (for payback charts).
    pub cumulative: IndexMap<String, Vec<f64>>,
    /// The net difference per actor in each replication, in replication order (the
    /// report's histogram of society's difference).
    #[serde(default)]
    pub per_replication: IndexMap<String, Vec<f64>>,
    /// Switching values per actor: the share of the programme's effect, and the extra
    /// person-years in success states, at which it pays for itself (`analysis::break_even`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_even: Option<IndexMap<String, BreakEven>>,
    /// EVPI of the choice between the counterfactual and this arm, per actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evpi: Option<IndexMap<String, Evpi>>,
}

/// Shares of persons in each state at a number of months since entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeAt {
    /// Mean number of persons observed at this checkpoint.
    pub persons: f64,
    pub all: IndexMap<String, Stat>,
    pub women: IndexMap<String, Stat>,
    pub men: IndexMap<String, Stat>,
    /// Among those who started the programme.
    pub participants: IndexMap<String, Stat>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureSummary {
    pub label: String,
    pub unit: String,
    pub all: Stat,
    pub women: Stat,
    pub men: Stat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExclusionCost {
    pub reference_state: String,
    /// `state → actor → {real, financial, total}` SEK per year.
    pub states: IndexMap<String, IndexMap<String, ExclusionCell>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExclusionCell {
    pub real: f64,
    pub financial: f64,
    pub total: f64,
}

/// A switching value and its spread over replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Switching {
    /// From the mean difference over replications; `null` when not reached.
    pub estimate: Option<f64>,
    /// Quantiles over replications; `null` where the quantile falls on replications that
    /// do not break even by the largest effect scale searched.
    pub p05: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    /// Share of replications that do not break even by the largest effect scale.
    pub not_reached_share: f64,
}

/// Break-even of one balance-sheet row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakEven {
    /// The share `s` of the programme's effect at which the row breaks even.
    pub effect_scale: Switching,
    /// Extra person-years in success states (cohort, undiscounted) at that scale.
    pub extra_person_years: Switching,
    /// Extra person-years in success states at the modelled effect (`s = 1`).
    pub modelled_person_years: Stat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    /// Persons simulated per replication (`scale` × the scenario's persons).
    pub persons: u64,
    /// The factor `k` by which the cohort, places, intake groups and budgets were scaled.
    pub scale: u64,
    pub replications: u32,
    pub differences: IndexMap<String, ExpectedDiff>,
    /// EVPI of the choice between all arms from parameter uncertainty alone.
    pub evpi: EvpiAll,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedDiff {
    pub actors: IndexMap<String, ExpectedActor>,
    /// EVPI of counterfactual vs this arm from parameter uncertainty alone.
    pub evpi: IndexMap<String, Evpi>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedActor {
    /// Discounted difference for a cohort of the scenario's size (total ÷ `scale`).
    pub net: Stat,
    pub net_per_participant: Stat,
    pub prob_positive: f64,
    pub payback: Payback,
}
