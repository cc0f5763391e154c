//! The serde mirror of a scenario file: exactly what a user may write, nothing checked
//! beyond TOML types and unknown keys. `validate/` turns it into a [`crate::Model`].
//!
//! Every struct denies unknown fields so that a typo is an error, never a silent default.
//! Fields whose TOML shape may vary (a number, a piecewise list or a table) are kept as
//! `toml::Value` here and parsed in `validate/`, where the error can say what each shape
//! means instead of serde's "did not match any variant".

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Value;

pub type Map<T> = IndexMap<String, T>;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub scenario: RawMeta,
    #[serde(default)]
    pub accounting: RawAccounting,
    pub actors: Map<RawActor>,
    pub states: Map<RawState>,
    #[serde(default)]
    pub clocks: Map<RawClock>,
    #[serde(default)]
    pub transitions: Map<RawTransitions>,
    #[serde(default)]
    pub rules: Map<RawRule>,
    pub population: RawPopulation,
    #[serde(default)]
    pub items: Map<RawItem>,
    #[serde(default)]
    pub measures: Map<RawMeasure>,
    #[serde(default)]
    pub organisations: Map<RawOrganisation>,
    #[serde(default)]
    pub locations: Map<RawLocation>,
    #[serde(default)]
    pub programmes: Map<RawProgramme>,
    pub arms: Map<RawArm>,
    #[serde(default)]
    pub targets: Map<RawTarget>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub price_year: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub replications: Option<i64>,
    pub horizon: i64,
    #[serde(default)]
    pub step: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccounting {
    pub discount_rate: Option<f64>,
    pub measure_discount_rate: Option<f64>,
    pub counting: Option<String>,
    pub discount_from: Option<i64>,
    pub optimism_bias: Option<f64>,
    pub displacement: Option<f64>,
    #[serde(default)]
    pub displaced_to: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActor {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub label_sv: Option<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub outside: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub label_sv: Option<String>,
    #[serde(default)]
    pub agency: Option<String>,
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub absorbing: bool,
    #[serde(default)]
    pub clock: Option<String>,
}

/// `[clocks.<name>]`: a time-in-state clock that states name with `clock = "<name>"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClock {
    #[serde(default)]
    pub label: Option<String>,
    /// Steps outside the clock's states after which a return still continues the count
    /// (a sickness case resumed within 90 days).
    #[serde(default)]
    pub resume_within: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTransitions {
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub clock_breaks: Vec<i64>,
    pub to: Map<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub from: String,
    pub after: i64,
    pub to: Value,
    #[serde(default)]
    pub income: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPopulation {
    pub persons: i64,
    #[serde(default)]
    pub women_share: Option<f64>,
    pub age: Value,
    #[serde(default)]
    pub retirement_age: Option<f64>,
    #[serde(default)]
    pub exit_state: Option<String>,
    pub start: Map<f64>,
    #[serde(default)]
    pub start_when_zero_income: Option<Map<f64>>,
    #[serde(default)]
    pub months_in_state: Option<Value>,
    #[serde(default)]
    pub income_attribute: Option<String>,
    #[serde(default)]
    pub intake: Option<RawIntake>,
    #[serde(default)]
    pub attributes: Map<RawAttribute>,
    #[serde(default)]
    pub risk_factors: Map<RawRiskFactor>,
    #[serde(default)]
    pub normalise_risk: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntake {
    #[serde(default)]
    pub first: Option<i64>,
    #[serde(default)]
    pub every: Option<i64>,
    pub size: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAttribute {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub draw: Option<Value>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub zero_share: Option<f64>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRiskFactor {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub prevalence: Option<f64>,
    #[serde(default)]
    pub age_at_least: Option<f64>,
    pub hazard_ratio: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub label_sv: Option<String>,
    pub class: String,
    pub payer: Value,
    pub payee: Value,
    #[serde(default)]
    pub states: Option<Vec<String>>,
    #[serde(default)]
    pub amount: Option<f64>,
    #[serde(default)]
    pub per: Option<Map<f64>>,
    #[serde(default)]
    pub by_time: Option<RawPiecewise>,
    #[serde(default)]
    pub of: Option<Map<f64>>,
    #[serde(default)]
    pub on_enter: Option<String>,
    #[serde(default)]
    pub on_gap_end: Option<Vec<String>>,
    #[serde(default)]
    pub top_up: Option<RawTopUp>,
    #[serde(default)]
    pub per_km: Option<f64>,
    #[serde(default)]
    pub from: Option<Vec<String>>,
    #[serde(default)]
    pub budget: Option<RawBudget>,
    #[serde(default)]
    pub phases: Option<Vec<String>>,
    #[serde(default)]
    pub organisations: Option<Vec<String>>,
    #[serde(default)]
    pub locations: Option<Vec<String>>,
    #[serde(default)]
    pub investment: bool,
    #[serde(default)]
    pub optimism_bias: bool,
}

/// `top_up = { norm, income = { item = share, … } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopUp {
    pub norm: f64,
    #[serde(default)]
    pub income: Map<f64>,
    #[serde(default)]
    pub attributes: Map<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    pub total: f64,
    pub from: i64,
    pub until: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPiecewise {
    pub breaks: Vec<f64>,
    pub factors: Vec<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeasure {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    pub values: Map<f64>,
    #[serde(default)]
    pub attribute: Option<String>,
    #[serde(default)]
    pub by_time: Option<RawPiecewise>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrganisation {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub handover_failure: Option<f64>,
    #[serde(default)]
    pub gap_months: Option<Value>,
    #[serde(default)]
    pub gap_states: Option<Map<f64>>,
    #[serde(default)]
    pub effect_loss: Option<f64>,
    #[serde(default)]
    pub success_multiplier: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocation {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub success_multiplier: Option<f64>,
    #[serde(default)]
    pub dropout_multiplier: Option<f64>,
    #[serde(default)]
    pub extra_wait: Option<i64>,
    #[serde(default)]
    pub relapse: Option<f64>,
    #[serde(default)]
    pub distance_km: Option<f64>,
    #[serde(default)]
    pub placement: Option<RawPlacement>,
}

/// `placement = { share, to }` of a location.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlacement {
    pub share: f64,
    pub to: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProgramme {
    #[serde(default)]
    pub label: Option<String>,
    pub eligible: Vec<String>,
    pub referral: f64,
    #[serde(default)]
    pub referral_from: Option<i64>,
    #[serde(default)]
    pub referral_until: Option<i64>,
    #[serde(default)]
    pub capacity: Option<i64>,
    #[serde(default)]
    pub intake_first: Option<i64>,
    #[serde(default)]
    pub intake_every: Option<i64>,
    pub duration: i64,
    #[serde(default)]
    pub dropout: Option<f64>,
    #[serde(default)]
    pub effect: Option<f64>,
    #[serde(default)]
    pub after_effect_decay: Option<f64>,
    #[serde(default)]
    pub dropout_effect_retained: Option<f64>,
    #[serde(default)]
    pub handover_at_exit: Option<bool>,
    #[serde(default)]
    pub organisation: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArm {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub counterfactual: bool,
    #[serde(default)]
    pub organisation: Option<String>,
    #[serde(default)]
    pub programme: Option<String>,
    #[serde(default)]
    pub set: Option<toml::Table>,
}

/// A calibration target: the share of persons in `states` at `month` months after entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub arm: String,
    pub states: Vec<String>,
    pub month: i64,
    pub share: f64,
    #[serde(default)]
    pub tolerance: Option<f64>,
    #[serde(default)]
    pub participants_only: bool,
    #[serde(default)]
    pub source: Option<String>,
}
