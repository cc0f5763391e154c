//! Limits: the documented maxima of a scenario and the proof that the öre ledger cannot
//! overflow within them (the memory estimate that refuses a run the machine cannot hold
//! is `engine::memory`'s: it follows the engine's data structures).
//!
//! # Maxima
//!
//! | constant | value | why |
//! | --- | --- | --- |
//! | [`MAX_HORIZON`] | 1 200 steps | 100 years of months; clocks and programme counters are `u16` |
//! | [`MAX_PERSONS`] | 10^8 | cohort size; index `u32`, and the ledger bound below |
//! | [`MAX_REPLICATIONS`] | 10^6 | replication index `u32`; results are kept per replication |
//! | [`MAX_STATES`] | 250 | state index `u8` (255 is reserved) |
//! | [`MAX_RISK_FACTORS`] | 64 | per-person product of hazard ratios stays finite in `f32` |
//! | [`MAX_AMOUNT`] | 10^9 SEK | any single amount per person-step, or budget total |
//! | [`MAX_ATTRIBUTE`] | 10^8 | any attribute value (the default clamp `[min, max]`) |
//! | [`MAX_MULTIPLIER`] | 10^6 | any hazard ratio, programme effect or success multiplier |
//! | [`MAX_COMBINED_HAZARD_RATIO`] | 10^30 | product of all risk factors' hazard ratios |
//! | [`LEDGER_LIMIT_ORE`] | 4.6 × 10^18 öre | worst-case sum of all postings of one point or step |
//!
//! # Why the öre ledger cannot overflow
//!
//! The ledger (`ledger.rs`) holds one `i64` per (line, point or step, sex): the rounded
//! sum over persons of the item's amount × the line's share, in öre. For an item `k` let
//! `a_k` be the largest |amount| in SEK that one person can generate in one step, from the
//! validated model alone ([`item_bound`]):
//!
//! * per person-step items: `(|amount| + Σ |coef| × |attribute|) × max by_time factor ×
//!   multiplier`, where an attribute's magnitude is bounded by its clamp `[min, max]`
//!   (at most ±[`MAX_ATTRIBUTE`]) intersected with its distribution's support;
//! * derived items: `Σ |ratio| × a_j × multiplier` over the items they derive from;
//! * one-offs on entering a state: `K × |amount| × multiplier` with `K` = [`MAX_ENTRIES_PER_STEP`]
//!   (the order of events in `dynamics` lets a person make at most 10 moves in a step: up
//!   to 4 chained forced rules, or a stochastic move (or a gap's end) and the 4 rules it
//!   may trigger, then at the programme's end a placement with the 4 rules it may trigger
//!   or a hand-over; 12 leaves a margin);
//! * budgets are not per person: `b_k = |total| × multiplier` per step at most.
//!
//! Let `n` be the cohort size, `L` the number of lines and
//! `E = 100 × (n × Σ_k a_k + Σ_k b_k) + L` (öre; `+ L` covers rounding each line's
//! posting to whole öre, and each item's lines carry shares that sum to 1 on the split
//! side). [`check_ledger`] refuses a model unless `E ≤` [`LEDGER_LIMIT_ORE`] `= 4.6 ×
//! 10^18 < 2^62`. Then, for every point or step and sex:
//!
//! 1. every posting satisfies `|f| ≤ E < 2^63`, so `to_ore`'s float-to-integer conversion
//!    never saturates;
//! 2. every sum `ledger.rs` forms is a signed sum in which each line's posting appears at
//!    most twice (an actor's net: once as payer, once as payee; `check_balance`'s totals
//!    of nets, production and resources; `apply_displacement`'s difference of two
//!    postings), and every partial sum of it too, so its magnitude is at most
//!    `2E ≤ 9.2 × 10^18 < i64::MAX = 9.223… × 10^18`.
//!
//! Hence no `i64` operation on the ledger overflows. The margin of 2.3 × 10^16 öre
//! covers the rounding of the `f64` bound itself (relative 10^-15). The default
//! scenario (wages bounded only by [`MAX_ATTRIBUTE`], about 3.7 × 10^8 SEK per
//! person-step in the worst case) is admitted up to 1.2 × 10^8 persons, above
//! [`MAX_PERSONS`]. Money outside the ledger (discounting, statistics) is `f64`.

use crate::model::{AttributeSource, ItemKind, Model};

pub const MAX_HORIZON: i64 = 1200;
pub const MAX_PERSONS: i64 = 100_000_000;
pub const MAX_REPLICATIONS: i64 = 1_000_000;
pub const MAX_STATES: usize = 250;
pub const MAX_RISK_FACTORS: usize = 64;
/// Largest money amount per person-step (SEK) or budget total accepted.
pub const MAX_AMOUNT: f64 = 1e9;
/// Largest attribute value (e.g. a monthly wage) accepted, and the default clamp.
pub const MAX_ATTRIBUTE: f64 = 1e8;
/// Largest hazard ratio, programme effect or success multiplier accepted: with at most
/// [`MAX_RISK_FACTORS`] factors the product of a person's multipliers stays far from
/// overflow in `f64` (10^6 × 10^6 × 10^6 × hazard ≤ 50), so every hazard the engine
/// derives is finite and `1 − e^(−h)` lies in [0, 1].
pub const MAX_MULTIPLIER: f64 = 1e6;
/// Largest product of all risk factors' hazard ratios (those above 1): a person's
/// combined ratio is kept in `f32` (max ≈ 3.4 × 10^38).
pub const MAX_COMBINED_HAZARD_RATIO: f64 = 1e30;
/// Upper bound on the sum of all postings of one point or step (see the module docs).
pub const LEDGER_LIMIT_ORE: f64 = 4.6e18;
/// Entries into one state a person can make in one step, with a margin (module docs).
pub const MAX_ENTRIES_PER_STEP: f64 = 12.0;

/// Magnitude bound of attribute `a`: its values lie in the returned `[lo, hi]`.
pub fn attribute_range(m: &Model, a: usize) -> (f64, f64) {
    let at = &m.population.attributes[a];
    let (lo, hi) = match &at.source {
        AttributeSource::Draw(d) => d.support(),
        // Attributes copy only attributes declared above them (validated), so this ends.
        AttributeSource::From(j) if *j < a => attribute_range(m, *j),
        AttributeSource::From(_) => (f64::NEG_INFINITY, f64::INFINITY),
    };
    let (mut lo, mut hi) = (lo.max(at.min), hi.min(at.max));
    if lo > hi {
        // A support entirely outside the clamp: the cohort clamps every draw to one end.
        (lo, hi) = if hi < at.min {
            (at.min, at.min)
        } else {
            (at.max, at.max)
        };
    }
    if at.zero_share > 0.0 {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    (lo, hi)
}

fn attribute_magnitude(m: &Model, a: usize) -> f64 {
    let (lo, hi) = attribute_range(m, a);
    lo.abs().max(hi.abs())
}

/// Worst-case |amount| (SEK) of item `k`: per person and step for all kinds but budgets,
/// per step for a budget. Returns `(per_person_step, per_step)`.
pub fn item_bound(m: &Model, k: usize, bounds: &[f64]) -> (f64, f64) {
    let it = &m.items[k];
    let mult = it.multiplier.abs();
    match &it.kind {
        ItemKind::State {
            amount,
            per,
            by_time,
            ..
        } => {
            let attrs: f64 = per
                .iter()
                .map(|&(a, coef)| coef.abs() * attribute_magnitude(m, a))
                .sum();
            let factor = by_time.as_ref().map_or(1.0, |b| {
                b.factors().iter().fold(0.0f64, |acc, f| acc.max(f.abs()))
            });
            ((amount.abs() + attrs) * factor * mult, 0.0)
        }
        ItemKind::Derived { of } => {
            let s: f64 = of
                .iter()
                .map(|&(j, r)| r.abs() * bounds.get(j).copied().unwrap_or(0.0))
                .sum();
            (s * mult, 0.0)
        }
        ItemKind::OnEnter { amount, .. } | ItemKind::OnGapEnd { amount, .. } => {
            (MAX_ENTRIES_PER_STEP * amount.abs() * mult, 0.0)
        }
        ItemKind::TopUp {
            norm,
            income,
            attributes,
            ..
        } => {
            // max(0, norm − income) is at most the norm plus what the income can fall
            // below zero.
            let s: f64 = income
                .iter()
                .map(|&(j, r)| r.abs() * bounds.get(j).copied().unwrap_or(0.0))
                .sum::<f64>()
                + attributes
                    .iter()
                    .map(|&(a, r)| r.abs() * attribute_magnitude(m, a))
                    .sum::<f64>();
            ((norm.abs() + s) * mult, 0.0)
        }
        ItemKind::Budget { total, .. } => (0.0, total.abs() * mult),
    }
}

/// The worst-case size of one point's or step's postings (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerBound {
    /// `Σ a_k`, SEK per person and step.
    pub per_person_step: f64,
    /// `Σ b_k`, SEK per step (budgets).
    pub per_step: f64,
    /// `E` of the module docs, öre.
    pub ore: f64,
    /// The item with the largest `a_k`, and that value.
    pub largest: Option<(String, f64)>,
}

pub fn ledger_bound(m: &Model) -> LedgerBound {
    let mut bounds = Vec::with_capacity(m.items.len());
    let mut per_person_step = 0.0;
    let mut per_step = 0.0;
    let mut largest: Option<(String, f64)> = None;
    for k in 0..m.items.len() {
        let (a, b) = item_bound(m, k, &bounds);
        // Only state and derived amounts feed derived items (ledger.rs, `record_point`).
        let feeds = matches!(
            m.items[k].kind,
            ItemKind::State { .. } | ItemKind::Derived { .. } | ItemKind::TopUp { .. }
        );
        bounds.push(if feeds { a } else { 0.0 });
        per_person_step += a;
        per_step += b;
        if largest.as_ref().is_none_or(|(_, v)| a > *v) {
            largest = Some((m.items[k].id.clone(), a));
        }
    }
    let n = m.population.persons as f64;
    LedgerBound {
        per_person_step,
        per_step,
        ore: 100.0 * (n * per_person_step + per_step) + m.lines.len() as f64,
        largest,
    }
}

/// Refuse a model whose ledger could overflow `i64` (module docs): `Err((key path,
/// message))` names the largest item and how to fix it.
pub fn check_ledger(m: &Model) -> Result<(), (String, String)> {
    let b = ledger_bound(m);
    // `!(x <= y)` also refuses NaN.
    if b.ore <= LEDGER_LIMIT_ORE {
        return Ok(());
    }
    let (path, what) = match &b.largest {
        Some((id, v)) => (
            format!("items.{id}"),
            format!(" (the largest, `{id}`, up to {v:.3e} SEK)"),
        ),
        None => ("items".to_string(), String::new()),
    };
    let mut attrs = Vec::new();
    for (a, at) in m.population.attributes.iter().enumerate() {
        if attribute_magnitude(m, a) >= MAX_ATTRIBUTE {
            attrs.push(format!("`{}`", at.id));
        }
    }
    let hint = match attrs.len() {
        0 => String::new(),
        1 => format!(
            "; attribute {} is bounded only by ±{MAX_ATTRIBUTE:e}: give it a realistic `max`",
            attrs[0]
        ),
        _ => format!(
            "; attributes {} are bounded only by ±{MAX_ATTRIBUTE:e}: give them a realistic `max`",
            attrs.join(", ")
        ),
    };
    let budgets = if b.per_step > 0.0 {
        format!(", plus {:.3e} SEK of budgets per step,", b.per_step)
    } else {
        String::new()
    };
    Err((
        path,
        format!(
            "the ledger could overflow 64-bit öre: {} persons × up to {:.3e} SEK per person and step{what}{budgets} exceeds the limit of {:.3e} SEK per step{hint}{}lower the amounts or factors, or use fewer persons (docs/robustness.md, \"Limits\")",
            m.population.persons,
            b.per_person_step,
            LEDGER_LIMIT_ORE / 100.0,
            if hint.is_empty() { "; " } else { "; or " },
        ),
    ))
}
