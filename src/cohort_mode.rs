//! Cohort mode: the exact expected value of the microsimulation, by propagating
//! probability mass over person states instead of sampling persons.
//!
//! This module owns `rehabsim run --cohort`. It computes, for the same scenario file, what
//! the microsimulation ([`crate::engine`]) converges to as the number of replications
//! grows: the expected number of persons in every ledger cell at every trace point, the
//! expected transitions of every step, the expected outcome counts and participants. The
//! result has the engine's types (one [`RepResult`] of [`ArmRep`]s, expected counts as
//! `f64`, postings rounded to whole öre once per line, point and sex), so summaries,
//! `summary.json` and the CSV files are the same contract as for any run.
//!
//! **How.** The persons of one intake batch are independent and identically distributed,
//! so the expected tally of the cohort is the sum over batches of the batch size times the
//! tally of one random person. That person's law is propagated step by step as mass over
//! the engine's full person state (`Key`: support state, clock — capped where no rule,
//! table or amount can tell larger values apart — programme phase and month, hand-over
//! gap, after-effect), by running the engine's order of events on every branch of every
//! random decision (`Chooser`: a uniform is split into the intervals that lead to
//! different outcomes; a uniform the engine reuses within a step keeps its interval).
//! What is fixed at creation is enumerated (`PopLaw`). Persons who differ only in their
//! transition probabilities (risk-factor product, attributes that multiply hazards) are
//! *classes* of one `Group`: they share keys and branches, each key carrying a mass per
//! class. Ages at entry that meet the same age tables, age risk factors and retirement at
//! every step follow one path, and paths share their propagation until they diverge
//! (`Walk`). Attributes that only scale amounts or measures ride along as expected sums,
//! like the engine's attribute sums. Sex changes nothing in the dynamics, so every tally is
//! split by the women's share at the end. docs/general-models.md has the user's view.
//!
//! **Exact, except:** a continuous attribute that multiplies a hazard is integrated by
//! Gauss–Legendre quadrature on the normal scale (96 nodes; errors below 1e-10 for the
//! means and survival curves of the families tested, 1e-8 for a lognormal with σ = 2 and
//! for a gamma with shape 0.5 under a hazard of 20, see the tests); branches of conditional
//! probability below 1e-15 are not followed (the rest is renormalised); the after-effect
//! is carried to 12 significant digits (the engine's f32 holds about 7); displacement and
//! the split of a budget between the sexes are applied to the expected flows (the
//! large-cohort limit of the engine's per-replication rule); and the engine's uniforms live
//! on a 2⁻³² grid, which moves any probability by less than 2⁻³³.
//!
//! **Refused** (with the reason): capacity limits ([`Model::has_interaction`]) and a
//! location's `extra_wait` (the engine's waiting queue then lets one person's re-referral
//! hold back others' admission), and population laws too large to enumerate.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::cohort::{ATTR_SCALE, Cohort, MAX_AGE_MONTHS};
use crate::dist::Dist;
use crate::engine::{RepResult, outcome_months};
use crate::ledger::{ArmRep, Layout};
use crate::model::*;
use crate::{Error, RunOptions, RunOutput, Scenario};

const NO_GAP: u8 = u8::MAX;
/// Largest number of distinct risk-factor products enumerated.
pub const MAX_RISK_CLASSES: usize = 4096;
/// Largest number of person types (batch × age path × risk × attribute nodes) propagated.
pub const MAX_TYPES: usize = 2_000_000;

/// Run a scenario in cohort mode. Without uncertain values this is one replication at
/// the central values; with uncertain values, replication `r` is the exact expectation
/// given replication `r`'s parameter draw (the same draw as the microsimulation's).
pub fn run(scenario: &Scenario, opts: &RunOptions) -> Result<RunOutput, Error> {
    if let Some(reason) = unsupported(&scenario.arms) {
        return Err(Error::Input(reason));
    }
    let reps: Vec<u32> = match &opts.replications {
        Some(r) => r.clone(),
        None if scenario.uncertain.is_empty() => vec![0],
        None => (0..scenario.base().replications).collect(),
    };
    let cf = scenario.counterfactual;
    let results: Vec<crate::Kept> = reps
        .par_iter()
        .map(|&r| {
            let models = crate::models_for(scenario, r)?;
            if let Some(reason) = unsupported(&models) {
                return Err(Error::Input(format!("in replication {r}: {reason}")));
            }
            let rep = run_replication(&models, r)?;
            Ok(crate::keep(
                &scenario.arms,
                &models[cf].accounting,
                rep,
                opts.keep_ledgers,
            ))
        })
        .collect::<Result<_, _>>()?;
    let mut out = crate::assemble(scenario, results);
    out.summary.mode = Some("cohort".into());
    Ok(out)
}

/// Why cohort mode cannot compute these arms exactly, if it cannot.
pub fn unsupported(models: &[Model]) -> Option<String> {
    for m in models {
        if m.has_interaction() {
            let p = m.arm.programme.as_ref()?;
            return Some(format!(
                "--cohort computes exact expected values only when persons do not interact, but in arm `{}` programme `{}` has a capacity of {} places, so whether one person gets a place depends on the others; run the microsimulation (without --cohort), or remove `capacity` from `programmes.{}`",
                m.arm.id,
                p.id,
                p.capacity.unwrap_or(0),
                p.id
            ));
        }
        if let Some(p) = &m.arm.programme
            && p.location.extra_wait > 0
        {
            return Some(format!(
                "--cohort does not support a location's `extra_wait` (arm `{}`, location `{}`: {} steps): the microsimulation's waiting queue then lets one person's re-referral hold back the admission of others; run the microsimulation (without --cohort), or set `locations.{}.extra_wait = 0`",
                m.arm.id, p.location.id, p.location.extra_wait, p.location.id
            ));
        }
    }
    None
}

/// The expected-value counterpart of [`crate::engine::run_replication`].
pub fn run_replication(models: &[Model], replication: u32) -> Result<RepResult, Error> {
    let base = &models[0];
    let arm_cfgs: Vec<ArmCfg> = models.iter().map(ArmCfg::new).collect();
    let max_cap = arm_cfgs
        .iter()
        .flat_map(|a| a.caps.iter().copied())
        .max()
        .unwrap_or(0);
    let mut in_t = vec![false; base.population.attributes.len()];
    for a in &arm_cfgs {
        for &d in &a.driving {
            in_t[d] = true;
        }
    }
    if let Some(i) = base.population.income_attribute {
        in_t[i] = true;
    }
    let law = PopLaw::new(base, &in_t, max_cap)?;
    let mut arms: Vec<ArmRep> = models
        .par_iter()
        .zip(&arm_cfgs)
        .map(|(m, cfg)| run_arm(m, cfg, &law))
        .collect::<Result<_, _>>()?;
    crate::ledger::apply_displacement(models, &mut arms);
    Ok(RepResult { replication, arms })
}

// ---------------------------------------------------------------------------------------
// The law of the features fixed at a person's creation.

/// P(X < y) for the draw `X = d.quantile(U)`, `U` uniform: the largest `u` with
/// `quantile(u) < y`, found by bisection on the quantile function itself, so that it
/// matches the engine's inverse-transform draws (and the samplers' law) exactly.
pub fn prob_below(d: &Dist, y: f64) -> f64 {
    if let Dist::Fixed(v) = *d {
        return f64::from(u8::from(v < y));
    }
    if d.is_degenerate() {
        return f64::from(u8::from(d.mean() < y));
    }
    let (lo, hi) = d.support();
    if y.is_nan() || y <= lo {
        return 0.0;
    }
    if y > hi {
        return 1.0;
    }
    let (mut a, mut b) = (0.0f64, 1.0f64);
    for _ in 0..80 {
        let mid = 0.5 * (a + b);
        if mid <= a || mid >= b {
            break;
        }
        if d.quantile(mid) < y {
            a = mid;
        } else {
            b = mid;
        }
    }
    // The quantile was below `y` at every u tried, up to the last double below 1.
    if b == 1.0 { 1.0 } else { a }
}

/// Gauss–Legendre nodes and weights on [-1, 1].
fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0f64, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-15 {
                break;
            }
        }
        out.push((x, 2.0 / ((1.0 - x * x) * dp * dp)));
    }
    out
}

/// The quadrature runs on the normal scale: with `u = Φ(z)`,
/// `E f(X) = ∫ f(Q(Φ(z))) φ(z) dz`, whose integrand is smooth for every family here
/// (a lognormal becomes a shifted Gaussian, a gamma a polynomial-like curve), unlike
/// `f(Q(u))` with its singular ends. Panels of width [`Z_PANEL`] on `|z| ≤` [`Z_MAX`]
/// (`Φ(−8) ≈ 6e-16`), [`GL_NODES`] Gauss–Legendre nodes each: 96 nodes.
const Z_MAX: f64 = 8.0;
const Z_PANEL: f64 = 1.0;
const GL_NODES: usize = 6;

fn std_normal() -> Dist {
    Dist::Normal {
        mean: 0.0,
        sd: 1.0,
        low: None,
        high: None,
    }
}

/// The law of `clamp(X, min, max)` for `X ~ d` as weighted points: point masses where the
/// clamp binds, exact support points of discrete laws, quadrature nodes elsewhere.
pub fn clamped_points(d: &Dist, min: f64, max: f64) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    if let Dist::Fixed(v) = *d {
        pts.push((v.clamp(min, max), 1.0));
        return pts;
    }
    if d.is_degenerate() {
        pts.push((d.mean().clamp(min, max), 1.0));
        return pts;
    }
    if matches!(d, Dist::Geometric { .. } | Dist::Poisson { .. }) {
        let (lo, _) = d.support();
        let mut k = lo;
        let mut below = prob_below(d, k - 0.5);
        loop {
            let next = prob_below(d, k + 0.5);
            if next > below {
                pts.push((k.clamp(min, max), next - below));
            }
            below = next;
            if below >= 1.0 - 1e-15 || k > lo + 1e6 {
                break;
            }
            k += 1.0;
        }
        let rest = 1.0 - below;
        if rest > 0.0
            && let Some(last) = pts.last_mut()
        {
            last.1 += rest;
        }
        return pts;
    }
    let ua = prob_below(d, min);
    let ub = if max.is_finite() {
        prob_below(d, max)
    } else {
        1.0
    };
    if ua > 0.0 {
        pts.push((min, ua));
    }
    if ub < 1.0 {
        pts.push((max, 1.0 - ub));
    }
    if ub > ua {
        let std = std_normal();
        let za = if ua > 0.0 {
            std.quantile(ua).max(-Z_MAX)
        } else {
            -Z_MAX
        };
        let zb = if ub < 1.0 {
            std.quantile(ub).min(Z_MAX)
        } else {
            Z_MAX
        };
        let mut breaks = vec![za];
        let mut z = (za / Z_PANEL).floor() * Z_PANEL + Z_PANEL;
        while z < zb {
            breaks.push(z);
            z += Z_PANEL;
        }
        // A kink of the quantile function is a panel boundary too.
        if let Dist::Triangular { low, mode, high } = *d {
            let zm = std.quantile((mode - low) / (high - low));
            if zm > za && zm < zb {
                breaks.push(zm);
            }
        }
        breaks.push(zb);
        breaks.sort_by(f64::total_cmp);
        let gl = gauss_legendre(GL_NODES);
        let first = pts.len();
        for w in breaks.windows(2) {
            let (a, b) = (w[0], w[1]);
            if b <= a {
                continue;
            }
            for &(x, wt) in &gl {
                let z = a + 0.5 * (x + 1.0) * (b - a);
                let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
                let v = d.quantile(prob_below(&std, z));
                let v = if v.is_finite() {
                    v.clamp(min, max)
                } else {
                    0.0
                };
                pts.push((v, 0.5 * (b - a) * wt * phi));
            }
        }
        // The nodes carry exactly the interior's probability (this also gives them the
        // ≈ 1e-15 beyond |z| = 8).
        let got: f64 = pts[first..].iter().map(|p| p.1).sum();
        if got > 0.0 {
            for p in &mut pts[first..] {
                p.1 *= (ub - ua) / got;
            }
        }
    }
    pts
}

/// The engine's last steps of creating an attribute: clamp, then fixed point.
fn finish_value(at: &Attribute, v: f64) -> f64 {
    let v = if v.is_finite() {
        v.clamp(at.min, at.max)
    } else {
        0.0
    };
    (v * ATTR_SCALE).round() / ATTR_SCALE
}

/// The values attribute `at` takes given its source value `v`: zero share, clamp, fixed point.
fn from_points(at: &Attribute, v: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(2);
    if at.zero_share < 1.0 {
        out.push((finish_value(at, v), 1.0 - at.zero_share));
    }
    if at.zero_share > 0.0 {
        out.push((finish_value(at, 0.0), at.zero_share));
    }
    out
}

/// The law of a drawn attribute (zero share, clamp and fixed point included).
fn draw_points(at: &Attribute, d: &Dist) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    if at.zero_share < 1.0 {
        for (v, w) in clamped_points(d, at.min, at.max) {
            out.push((finish_value(at, v), w * (1.0 - at.zero_share)));
        }
    }
    if at.zero_share > 0.0 {
        out.push((finish_value(at, 0.0), at.zero_share));
    }
    merge_points(out)
}

fn merge_points(mut pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    pts.retain(|p| p.1 > 0.0);
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len());
    for (v, w) in pts {
        match out.last_mut() {
            Some(last) if last.0.to_bits() == v.to_bits() => last.1 += w,
            _ => out.push((v, w)),
        }
    }
    out
}

/// A point of the joint law of the attributes that change the dynamics.
#[derive(Debug, Clone)]
struct Node {
    weight: f64,
    /// Every attribute: its exact value where it changes the dynamics (or is an ancestor
    /// of one that does), else its expected value given this node.
    values: Vec<f64>,
}

/// Everything about a person fixed at creation, as a discrete law.
struct PopLaw {
    women: f64,
    /// Age at entry in months, with probabilities.
    ages: Vec<(u16, f64)>,
    /// Product of the prevalence risk factors' hazard ratios (after normalisation).
    risks: Vec<(f32, f64)>,
    nodes: Vec<Node>,
    /// P(start clock = c), c = 0..=max_cap, the last entry holding the tail.
    clock0: Vec<f64>,
}

impl PopLaw {
    fn new(m: &Model, in_t: &[bool], max_cap: u16) -> Result<PopLaw, Error> {
        let pop = &m.population;
        let mps = f64::from(m.months_per_step());

        // Age at entry: round(12 X) months, clamped to the tables' range.
        let (lo, hi) = pop.age.support();
        let lo_m = ((lo * 12.0).floor().max(0.0)) as usize;
        let hi_m = ((hi * 12.0).ceil().min(MAX_AGE_MONTHS as f64)) as usize;
        let mut ages = Vec::new();
        let mut prev = 0.0;
        for a in lo_m..=hi_m {
            let cdf = if a == MAX_AGE_MONTHS {
                1.0
            } else {
                prob_below(&pop.age, (a as f64 + 0.5) / 12.0)
            };
            if cdf > prev {
                ages.push((a as u16, cdf - prev));
            }
            prev = prev.max(cdf);
        }
        if prev < 1.0
            && let Some(last) = ages.last_mut()
        {
            last.1 += 1.0 - prev;
        }

        // Risk factors: the engine multiplies the hazard ratios in declaration order in
        // f64, stores the product as f32 and divides it by the cohort mean.
        let mut partial: BTreeMap<u64, f64> = BTreeMap::from([(1.0f64.to_bits(), 1.0)]);
        for rf in &pop.risk_factors {
            let RiskKind::Prevalence(pv) = rf.kind else {
                continue;
            };
            let mut next: BTreeMap<u64, f64> = BTreeMap::new();
            for (&bits, &p) in &partial {
                let hr = f64::from_bits(bits);
                if pv < 1.0 {
                    *next.entry(bits).or_default() += p * (1.0 - pv);
                }
                if pv > 0.0 {
                    *next.entry((hr * rf.hazard_ratio).to_bits()).or_default() += p * pv;
                }
            }
            if next.len() > MAX_RISK_CLASSES {
                return Err(Error::Input(format!(
                    "--cohort enumerates the combinations of risk factors, and these have more than {MAX_RISK_CLASSES} distinct hazard-ratio products; run the microsimulation (without --cohort), or use fewer distinct hazard ratios"
                )));
            }
            partial = next;
        }
        let mean = Cohort::mean_risk(m);
        let mut risk_map: BTreeMap<u32, f64> = BTreeMap::new();
        for (&bits, &p) in &partial {
            let mut r = f64::from_bits(bits) as f32;
            if pop.normalise_risk && mean > 0.0 {
                r = (f64::from(r) / mean) as f32;
            }
            *risk_map.entry(r.to_bits()).or_default() += p;
        }
        let risks = risk_map
            .into_iter()
            .map(|(b, p)| (f32::from_bits(b), p))
            .collect();

        // Attributes: the joint law of those that change the dynamics (and their
        // ancestors), then every other attribute's conditional mean at each node.
        let attrs = &pop.attributes;
        let mut in_t = in_t.to_vec();
        for a in (0..attrs.len()).rev() {
            if in_t[a]
                && let AttributeSource::From(j) = attrs[a].source
            {
                in_t[j] = true;
            }
        }
        let mut nodes = vec![Node {
            weight: 1.0,
            values: vec![f64::NAN; attrs.len()],
        }];
        for (a, at) in attrs.iter().enumerate() {
            if !in_t[a] {
                continue;
            }
            let mut next = Vec::new();
            match &at.source {
                AttributeSource::Draw(d) => {
                    let pts = draw_points(at, d);
                    for n in &nodes {
                        for &(v, w) in &pts {
                            let mut values = n.values.clone();
                            values[a] = v;
                            next.push(Node {
                                weight: n.weight * w,
                                values,
                            });
                        }
                    }
                }
                AttributeSource::From(j) => {
                    for n in &nodes {
                        for (v, w) in from_points(at, n.values[*j]) {
                            let mut values = n.values.clone();
                            values[a] = v;
                            next.push(Node {
                                weight: n.weight * w,
                                values,
                            });
                        }
                    }
                }
            }
            nodes = merge_nodes(next);
            if nodes.len() > MAX_TYPES {
                return Err(Error::Input(format!(
                    "--cohort integrates attributes that multiply hazards by quadrature, and the attributes of this scenario need more than {MAX_TYPES} joint points; run the microsimulation (without --cohort)"
                )));
            }
        }
        let mut unconditional: Vec<Option<f64>> = vec![None; attrs.len()];
        for a in 0..attrs.len() {
            if in_t[a] {
                continue;
            }
            // Walk up the `from` chain to a dynamics attribute or to the draw.
            let mut chain = vec![a];
            let mut anchor: Option<usize> = None;
            loop {
                let r = *chain.last().unwrap_or(&a);
                match attrs[r].source {
                    AttributeSource::From(j) if in_t[j] => {
                        anchor = Some(j);
                        break;
                    }
                    AttributeSource::From(j) => chain.push(j),
                    AttributeSource::Draw(_) => break,
                }
            }
            let down = |start: Vec<(f64, f64)>, skip: usize| -> f64 {
                let mut law = start;
                for &c in chain.iter().rev().skip(skip) {
                    let mut next = Vec::new();
                    for (v, w) in law {
                        for (x, q) in from_points(&attrs[c], v) {
                            next.push((x, w * q));
                        }
                    }
                    law = merge_points(next);
                }
                law.iter().map(|(v, w)| v * w).sum::<f64>() / law.iter().map(|p| p.1).sum::<f64>()
            };
            match anchor {
                Some(j) => {
                    for n in &mut nodes {
                        n.values[a] = down(vec![(n.values[j], 1.0)], 0);
                    }
                }
                None => {
                    let root = *chain.last().unwrap_or(&a);
                    let mean = *unconditional[a].get_or_insert_with(|| {
                        let AttributeSource::Draw(d) = &attrs[root].source else {
                            return 0.0;
                        };
                        down(draw_points(&attrs[root], d), 1)
                    });
                    for n in &mut nodes {
                        n.values[a] = mean;
                    }
                }
            }
        }

        // Months already in the start state, in steps: round(X / months per step).
        let mut clock0 = vec![0.0; usize::from(max_cap) + 1];
        match &pop.months_in_state {
            None => clock0[0] = 1.0,
            Some(d) => {
                let mut prev = 0.0;
                for (c, slot) in clock0.iter_mut().enumerate() {
                    let cdf = if c == usize::from(max_cap) {
                        1.0
                    } else {
                        prob_below(d, (c as f64 + 0.5) * mps)
                    };
                    *slot = (cdf - prev).max(0.0);
                    prev = prev.max(cdf);
                }
            }
        }
        Ok(PopLaw {
            women: pop.women_share,
            ages,
            risks,
            nodes,
            clock0,
        })
    }
}

fn merge_nodes(mut nodes: Vec<Node>) -> Vec<Node> {
    nodes.retain(|n| n.weight > 0.0);
    let key = |n: &Node| -> Vec<u64> { n.values.iter().map(|v| v.to_bits()).collect() };
    nodes.sort_by_key(key);
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    for n in nodes {
        match out.last_mut() {
            Some(last) if key(last) == key(&n) => last.weight += n.weight,
            _ => out.push(n),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// One arm: its constants, the person state and the branching step.

/// The engine's person state (`engine::PersonState`), as a map key. The clock is capped
/// where nothing can tell larger values apart; fields that cannot matter any more are
/// set to a canonical value so that equivalent persons share one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    state: u8,
    phase: u8,
    /// Steps already spent in a hand-over gap (capped where the law of the gap length
    /// has a constant hazard), and where the person goes when it ends (`NO_GAP`: not in
    /// a gap), and whose gap it is (0: the arm's organisation, 1: the programme's).
    gap_elapsed: u8,
    gap_dest: u8,
    gap_org: u8,
    clock: u16,
    prog: u16,
    /// The programme's after-effect (the engine's `PersonState::excess`), as the bits of
    /// an f64 rounded to [`excess_round`]'s 40 significant bits.
    excess: u64,
}

/// Round a positive after-effect to 40 significant bits (relative 1e-12). The engine
/// keeps it in f32 and multiplies it step by step; histories that give the same value
/// in a different order (a completion that loses half equals a dropout that keeps half)
/// differ only in the last bits of the product, and share one key once rounded.
fn excess_round(x: f64) -> u64 {
    if x <= 0.0 || !x.is_finite() {
        return 0;
    }
    const DROP: u32 = 52 - 40;
    (x.to_bits() + (1 << (DROP - 1))) & !((1u64 << DROP) - 1)
}

fn excess_scale(bits: u64, f: f64) -> u64 {
    excess_round(f64::from_bits(bits) * f)
}

impl Key {
    fn canonical(mut self, exit: usize) -> Key {
        if usize::from(self.state) == exit {
            // Never stepped again: only the ledger cell (state, clock, phase) matters.
            self.gap_dest = NO_GAP;
            self.prog = 0;
            self.excess = 0;
        }
        if self.gap_dest == NO_GAP {
            self.gap_elapsed = 0;
            self.gap_org = 0;
        }
        if self.phase != PHASE_IN {
            // Waiting persons are all admitted at the next intake date (no capacity, no
            // extra wait), so the referral step no longer matters.
            self.prog = 0;
        }
        if self.phase != PHASE_AFTER {
            self.excess = 0;
        }
        self
    }
}

/// Probability mass over person states, with the attribute sums that ride along:
/// `values[k * stride]` is the mass of key k, `values[k * stride + 1 + slot]` its sum of
/// the attribute in tally slot `slot`. Keys are kept in insertion order, which the fixed
/// order of the computation makes reproducible (so are the float sums over them).
#[derive(Clone)]
struct Mass {
    stride: usize,
    index: indexmap::IndexSet<Key, std::hash::BuildHasherDefault<KeyHasher>>,
    values: Vec<f64>,
}

impl Mass {
    fn new(stride: usize) -> Mass {
        Mass::with_capacity(stride, 0)
    }
    fn with_capacity(stride: usize, n: usize) -> Mass {
        Mass {
            stride,
            index: indexmap::IndexSet::with_capacity_and_hasher(n, Default::default()),
            values: Vec::with_capacity(n * stride),
        }
    }
    fn add(&mut self, key: Key, scale: f64, v: &[f64]) {
        let k = self.slot(key);
        for (a, b) in self.values[k * self.stride..(k + 1) * self.stride]
            .iter_mut()
            .zip(v)
        {
            *a += scale * b;
        }
    }
    /// Add `scale × v` into block `c` (of `block` values) of `key`.
    fn add_block(&mut self, key: Key, c: usize, block: usize, scale: f64, v: &[f64]) {
        let k = self.slot(key);
        for (a, b) in self.values[k * self.stride + c * block..][..block]
            .iter_mut()
            .zip(v)
        {
            *a += scale * b;
        }
    }
    /// Add `factors[c] × v` block by block into `key`.
    fn add_blocks(&mut self, key: Key, block: usize, factors: &[f64], v: &[f64]) {
        let k = self.slot(key);
        let dst = &mut self.values[k * self.stride..(k + 1) * self.stride];
        for ((d, s), &f) in dst
            .chunks_exact_mut(block)
            .zip(v.chunks_exact(block))
            .zip(factors)
        {
            if f != 0.0 {
                for (a, b) in d.iter_mut().zip(s) {
                    *a += f * b;
                }
            }
        }
    }
    fn slot(&mut self, key: Key) -> usize {
        let (k, new) = self.index.insert_full(key);
        if new {
            self.values.resize((k + 1) * self.stride, 0.0);
        }
        k
    }
    fn entries(&self) -> impl Iterator<Item = (Key, &[f64])> {
        self.index
            .iter()
            .zip(self.values.chunks_exact(self.stride))
            .map(|(&k, v)| (k, v))
    }
    fn scaled(&self, f: f64) -> Mass {
        let mut out = self.clone();
        for v in &mut out.values {
            *v *= f;
        }
        out
    }
}

/// A fixed (unseeded) multiply-rotate hash of [`Key`]s: fast, and the same in every run.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(
            u64::from(self.state)
                | u64::from(self.phase) << 8
                | u64::from(self.gap_elapsed) << 16
                | u64::from(self.gap_dest) << 24
                | u64::from(self.clock) << 32
                | u64::from(self.prog) << 48,
        );
        h.write_u64(self.excess ^ u64::from(self.gap_org));
    }
}

/// Lanes of the uniforms one person draws in one step (engine: `rng::Purpose` blocks).
const L_DROPOUT: usize = 1;
const L_HANDOVER: usize = 2;
const L_REFERRAL: usize = 3;
const L_GAP_STATE: usize = 4;
const L_RULE: usize = 5;
const L_EXIT_FAIL: usize = 6;
const L_EXIT_STATE: usize = 7;
/// Not one of the engine's: the end of a gap, drawn step by step (see [`GapLaw`]).
const L_GAP_END: usize = 8;
const LANES: usize = 9;
/// Conditional probability below which a branch is not followed.
const PRUNE: f64 = 1e-15;

/// Enumerates the branches of a step: the step is re-run once per branch, following a
/// script of choices, and every decision on a uniform splits that uniform's current
/// interval (so a uniform the engine uses twice is split consistently).
struct Chooser {
    script: Vec<u16>,
    options: Vec<u16>,
    pos: usize,
    prob: f64,
    lanes: [(f64, f64); LANES],
}

impl Chooser {
    fn new() -> Chooser {
        Chooser {
            script: Vec::new(),
            options: Vec::new(),
            pos: 0,
            prob: 1.0,
            lanes: [(0.0, 1.0); LANES],
        }
    }

    /// Forget every script: the next run explores a new step from its first branch.
    fn clear(&mut self) {
        self.script.clear();
        self.options.clear();
    }

    fn start(&mut self) {
        self.pos = 0;
        self.prob = 1.0;
        self.lanes = [(0.0, 1.0); LANES];
    }

    /// The bucket of `cuts` (increasing; bucket j is `[cuts[j-1], cuts[j])`, the last
    /// bucket `[cuts[n-1], 1)`) that the lane's uniform falls in, on this branch.
    fn pick(&mut self, lane: usize, cuts: &[f64]) -> usize {
        self.pick_with(lane, cuts.len(), |j| cuts[j])
    }

    /// [`Chooser::pick`] with cumulative shares as the cuts.
    fn pick_share(&mut self, lane: usize, shares: &[(usize, f64)]) -> usize {
        self.pick_with(lane, shares.len(), |j| shares[j].1)
    }

    fn pick_with(&mut self, lane: usize, n: usize, cut: impl Fn(usize) -> f64) -> usize {
        let (lo, hi) = self.lanes[lane];
        let width = hi - lo;
        let want = self.script.get(self.pos).copied().unwrap_or(0);
        // Buckets of negligible conditional probability (below PRUNE) are not followed;
        // the others are renormalised, which moves any total by far less than its float
        // rounding over a run.
        let negligible = |a: f64, b: f64| b - a < PRUNE * width;
        let mut count: u16 = 0;
        let mut kept = 0.0f64;
        let mut chosen = (n, lo, hi);
        let mut largest = (n, lo, hi, -1.0f64);
        let mut prev = 0.0f64;
        for j in 0..=n {
            let c = if j < n { cut(j) } else { 1.0 };
            let a = prev.max(lo);
            let b = c.min(hi);
            if b > a {
                if b - a > largest.3 {
                    largest = (j, a, b, b - a);
                }
                if !negligible(a, b) {
                    if count == want {
                        chosen = (j, a, b);
                    }
                    count += 1;
                    kept += b - a;
                }
            }
            prev = prev.max(c);
        }
        if count == 0 {
            // Every bucket is negligible only if the interval is degenerate.
            chosen = (largest.0, largest.1, largest.2);
            kept = largest.3.max(f64::MIN_POSITIVE);
            count = 1;
        }
        if self.pos == self.script.len() {
            self.script.push(0);
            self.options.push(count);
        }
        self.pos += 1;
        let (j, a, b) = chosen;
        if width > 0.0 {
            self.prob *= (b - a) / kept;
        }
        self.lanes[lane] = (a, b);
        j
    }

    /// Enumerate the buckets marked `live` without weighing them: the caller weighs
    /// each branch per class (the transition decision, whose law depends on the class).
    fn pick_free(&mut self, live: &[bool]) -> usize {
        let want = self.script.get(self.pos).copied().unwrap_or(0);
        let mut count: u16 = 0;
        let mut chosen = live.len();
        for (j, &l) in live.iter().enumerate() {
            if l {
                if count == want {
                    chosen = j;
                }
                count += 1;
            }
        }
        if self.pos == self.script.len() {
            self.script.push(0);
            self.options.push(count.max(1));
        }
        self.pos += 1;
        chosen
    }

    fn below(&mut self, lane: usize, p: f64) -> bool {
        self.pick(lane, &[p]) == 0
    }

    /// Move to the next script; false when every branch has been run.
    fn advance(&mut self) -> bool {
        while let (Some(last), Some(&n)) = (self.script.last_mut(), self.options.last()) {
            if *last + 1 < n {
                *last += 1;
                return true;
            }
            self.script.pop();
            self.options.pop();
        }
        false
    }
}

/// One branch of a step: its probability, the resulting key and the moves made.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    p: f64,
    key: Key,
    moves: [(u8, u8); 8],
    n_moves: usize,
    /// The transition bucket taken, if the transition was decided on this branch.
    bucket: Option<usize>,
}

/// The transition row of one key: its destinations, and per class the probability of
/// each bucket (bucket j < n: destination j; bucket n: staying), whether the class's row
/// was clamped, and which buckets any class can reach.
struct Row {
    dests: Vec<usize>,
    /// `probs[c * (n + 1) + j]`.
    probs: Vec<f64>,
    clamped: Vec<bool>,
    live: Vec<bool>,
    weights: Vec<f64>,
}

/// Persons whose dynamics differ only in their transition probabilities (risk-factor
/// product, attributes that multiply hazards): they share keys and branches, and a mass
/// carries one block per class.
#[derive(Debug, Clone)]
struct Class {
    risk: f32,
    /// Attribute values (exact for those that multiply hazards).
    attrs: Vec<f64>,
}

/// Persons who share keys and branches: the classes, and what the rules test.
struct Group {
    classes: Vec<Class>,
    /// The income attribute's value, for rules that test its sign (the same sign for
    /// every class of the group).
    income: Option<f64>,
}

/// Constants of one arm.
struct ArmCfg {
    /// Clock cap per clock group: the largest threshold any rule, table or amount tests.
    caps: Vec<u16>,
    /// Attributes that multiply a hazard in this arm.
    driving: Vec<usize>,
    /// Whether some rule tests the sign of the income attribute.
    income_rules: bool,
    /// Whether any move leads into a success state (risk factors and programme act).
    risk_relevant: bool,
}

impl ArmCfg {
    fn new(m: &Model) -> ArmCfg {
        let ceil = |b: f64| -> u16 { b.ceil().clamp(0.0, f64::from(u16::MAX - 1)) as u16 };
        let mut caps = vec![0u16; m.clock_names.len()];
        for (s, st) in m.states.iter().enumerate() {
            let g = st.clock;
            if let Some(tr) = &m.transitions[s] {
                for d in &tr.dests {
                    for &b in d.rate.breaks() {
                        caps[g] = caps[g].max(ceil(b));
                    }
                }
            }
            for r in m.rules.iter().filter(|r| r.from == s) {
                caps[g] = caps[g].max(r.after.min(u32::from(u16::MAX - 1)) as u16);
            }
            for it in &m.items {
                if let ItemKind::State {
                    states,
                    by_time: Some(bt),
                    ..
                } = &it.kind
                    && states[s]
                {
                    for &b in bt.breaks() {
                        caps[g] = caps[g].max(ceil(b));
                    }
                }
            }
            for me in &m.measures {
                if let Some(bt) = &me.by_time {
                    for &b in bt.breaks() {
                        caps[g] = caps[g].max(ceil(b));
                    }
                }
            }
        }
        let mut driving: Vec<usize> = m
            .transitions
            .iter()
            .flatten()
            .flat_map(|tr| tr.dests.iter().filter_map(|d| d.attribute))
            .collect();
        driving.sort_unstable();
        driving.dedup();
        ArmCfg {
            caps,
            driving,
            income_rules: m.rules.iter().any(|r| r.income != IncomeFilter::Any),
            risk_relevant: m
                .transitions
                .iter()
                .flatten()
                .any(|tr| tr.dests.iter().any(|d| d.success)),
        }
    }
}

/// Per-arm tables for the step.
struct Arm<'a> {
    m: &'a Model,
    cfg: &'a ArmCfg,
    layout: Layout,
    rules_by_state: Vec<Vec<usize>>,
    age_risk: Vec<f32>,
    retire_months: usize,
    exit: usize,
    in_prog_mult: f64,
    /// The arm organisation's multiplier on everyone not in the programme.
    system_mult: f64,
    drop_p: f64,
    /// Per state: the clock breaks of its transition row and the union of its age breaks.
    clock_breaks: Vec<Vec<f64>>,
    age_breaks: Vec<Vec<f64>>,
    /// Cuts of the gap-length uniform per organisation (arm's, programme's).
    gap_arm: GapLaw,
    gap_prog: GapLaw,
    mps: u32,
    /// Outcome checkpoint by steps since entry.
    checkpoint: Vec<Option<usize>>,
}

/// The law of a hand-over gap's length as a hazard by steps already spent in the gap.
///
/// The engine draws the length once, `L = clamp(round(quantile(u)), 1, 254)`, and counts
/// it down; that uniform is used for nothing else, so following the gap step by step
/// with `P(L = d + 1 | L > d)` gives the same law. Where the hazard is constant from some
/// `d` on (a geometric length: the chance of returning is the same every month), the
/// steps spent no longer matter and the key stops counting them.
#[derive(Debug, Clone)]
struct GapLaw {
    /// Hazard of ending at elapsed `d`; the last entry holds from there on.
    hazard: Vec<f64>,
}

impl GapLaw {
    fn new(o: &Organisation) -> GapLaw {
        if o.handover_failure <= 0.0 {
            return GapLaw { hazard: vec![1.0] };
        }
        // P(L = k), k = 1..=254, from the quantile buckets of u.
        let cuts: Vec<f64> = (1..254)
            .map(|k| prob_below(&o.gap_months, f64::from(k) + 0.5))
            .collect();
        let mut p = Vec::with_capacity(254);
        let mut prev = 0.0;
        for &c in &cuts {
            p.push((c - prev).max(0.0));
            prev = prev.max(c);
        }
        p.push((1.0 - prev).max(0.0));
        // Survival S(d) = P(L > d), summed from the tail for accuracy.
        let mut surv = vec![0.0; 255];
        for d in (0..254).rev() {
            surv[d] = surv[d + 1] + p[d];
        }
        let hazard: Vec<f64> = (0..254)
            .map(|d| if surv[d] > 0.0 { p[d] / surv[d] } else { 1.0 })
            .collect();
        // Beyond `last` the gap has all but ended (less than PRUNE of it is left).
        let last = (0..254).rev().find(|&d| surv[d] >= PRUNE).unwrap_or(0);
        // The first d from which using hazard[d] instead of the true hazards moves the
        // law of L by less than 1e-13 in all.
        let cap = (0..=last)
            .find(|&d| {
                (d..=last)
                    .map(|j| (hazard[j] - hazard[d]).abs() * surv[j])
                    .sum::<f64>()
                    < 1e-13
            })
            .unwrap_or(last);
        GapLaw {
            hazard: hazard[..=cap].to_vec(),
        }
    }

    fn end(&self, elapsed: u8) -> f64 {
        self.hazard[usize::from(elapsed).min(self.hazard.len() - 1)]
    }

    fn next(&self, elapsed: u8) -> u8 {
        (usize::from(elapsed) + 1).min(self.hazard.len() - 1) as u8
    }
}

impl<'a> Arm<'a> {
    fn new(m: &'a Model, cfg: &'a ArmCfg) -> Arm<'a> {
        let rules_by_state = m.rules_by_state();
        let (in_prog_mult, drop_p) = m.programme_rates();
        let mut clock_breaks = Vec::new();
        let mut age_breaks = Vec::new();
        for tr in &m.transitions {
            let (cb, ab) = match tr {
                Some(tr) => {
                    let cb: Vec<f64> = tr
                        .dests
                        .first()
                        .map(|d| d.rate.breaks().to_vec())
                        .unwrap_or_default();
                    let mut ab: Vec<f64> = tr
                        .dests
                        .iter()
                        .filter_map(|d| d.age.as_ref())
                        .flat_map(|a| a.breaks().iter().copied())
                        .collect();
                    ab.sort_by(f64::total_cmp);
                    ab.dedup();
                    (cb, ab)
                }
                None => (vec![], vec![]),
            };
            clock_breaks.push(cb);
            age_breaks.push(ab);
        }
        Arm {
            m,
            cfg,
            layout: Layout::new(m),
            rules_by_state,
            age_risk: Cohort::age_risk_table(m),
            retire_months: (m.population.retirement_age * 12.0).round() as usize,
            exit: m.population.exit_state,
            in_prog_mult,
            system_mult: m.arm.organisation.success_multiplier,
            drop_p,
            clock_breaks,
            age_breaks,
            gap_arm: GapLaw::new(&m.arm.organisation),
            gap_prog: m
                .arm
                .programme
                .as_ref()
                .and_then(|p| p.organisation.as_ref())
                .map_or(GapLaw { hazard: vec![1.0] }, GapLaw::new),
            mps: m.months_per_step(),
            checkpoint: {
                let mps = m.months_per_step();
                let mut c = vec![None; m.horizon as usize + 1];
                for (k, &mo) in outcome_months(m).iter().enumerate() {
                    c[(mo / mps) as usize] = Some(k);
                }
                c
            },
        }
    }

    fn cap(&self, state: usize) -> u16 {
        self.cfg.caps[self.m.states[state].clock]
    }

    /// The organisation handling a person in `phase`, and its id for [`Key::gap_org`].
    fn organisation(&self, phase: u8) -> (&Organisation, u8) {
        match (&self.m.arm.programme, phase) {
            (
                Some(Programme {
                    organisation: Some(o),
                    ..
                }),
                PHASE_IN,
            ) => (o, 1),
            _ => (&self.m.arm.organisation, 0),
        }
    }

    fn success_multiplier(&self, class: &Class, key: &Key, age_months: usize) -> f64 {
        let mut m =
            f64::from(class.risk) * f64::from(self.age_risk[age_months.min(MAX_AGE_MONTHS)]);
        match key.phase {
            PHASE_IN => m *= self.in_prog_mult,
            PHASE_AFTER => m *= (1.0 + f64::from_bits(key.excess)) * self.system_mult,
            _ => m *= self.system_mult,
        }
        m
    }

    /// The transition row of a key at step `t` for every class (engine: `Tables::row`
    /// and step 5), into `row`; false if the state has no transitions.
    fn row(&self, g: &Group, key: &Key, t: u32, age_months: usize, row: &mut Row) -> bool {
        row.dests.clear();
        row.probs.clear();
        row.clamped.clear();
        row.live.clear();
        let s = usize::from(key.state);
        let Some(tr) = self.m.transitions[s].as_ref() else {
            return false;
        };
        let cb = &self.clock_breaks[s];
        let band = cb.partition_point(|&b| b <= f64::from(key.clock));
        let clock_at = if band == 0 { 0.0 } else { cb[band - 1] };
        let ab = &self.age_breaks[s];
        let a = age_months.min(MAX_AGE_MONTHS);
        let aband = ab.partition_point(|&b| b * 12.0 <= a as f64);
        let age_at = if aband == 0 { 0.0 } else { ab[aband - 1] };
        // The destinations and their base rates do not depend on the class.
        row.weights.clear();
        let mut kept = Vec::with_capacity(tr.dests.len());
        for d in &tr.dests {
            let mut h = d.rate.at(clock_at);
            if let Some(a) = &d.age {
                h *= a.at(age_at);
            }
            if let Some(st) = &d.step {
                h *= st.at(f64::from(t));
            }
            if h <= 0.0 {
                continue;
            }
            row.dests.push(d.to);
            row.weights.push(h);
            kept.push(d);
        }
        let n = row.dests.len();
        if n == 0 {
            return false;
        }
        row.live.resize(n + 1, false);
        for class in &g.classes {
            let mult = self.success_multiplier(class, key, age_months);
            let base = row.probs.len();
            let mut total = 0.0;
            for (d, &h) in kept.iter().zip(&row.weights) {
                let mut w = h;
                if d.success {
                    w *= mult;
                }
                if let Some(at) = d.attribute {
                    w *= class.attrs[at];
                }
                total += w;
                row.probs.push(w);
            }
            row.probs.push(0.0);
            let probs = &mut row.probs[base..];
            let clamped = match tr.mode {
                Mode::Hazard => {
                    if total > 0.0 {
                        let p_leave = -(-total).exp_m1();
                        for w in &mut probs[..n] {
                            *w *= p_leave / total;
                        }
                        probs[n] = 1.0 - p_leave;
                    } else {
                        probs[..n].iter_mut().for_each(|w| *w = 0.0);
                        probs[n] = 1.0;
                    }
                    false
                }
                Mode::Probability => {
                    if total > 1.0 {
                        for w in &mut probs[..n] {
                            *w /= total;
                        }
                        true
                    } else {
                        probs[n] = 1.0 - total;
                        false
                    }
                }
            };
            row.clamped.push(clamped);
            for (l, &p) in row.live.iter_mut().zip(probs.iter()) {
                *l |= p > 0.0;
            }
        }
        true
    }

    fn gap_law(&self, org: u8) -> &GapLaw {
        if org == 1 {
            &self.gap_prog
        } else {
            &self.gap_arm
        }
    }

    fn set_state(&self, k: &mut Key, to: usize, leaf: &mut Leaf, moved: &mut bool) {
        let from = usize::from(k.state);
        if leaf.n_moves < leaf.moves.len() {
            leaf.moves[leaf.n_moves] = (k.state, to as u8);
            leaf.n_moves += 1;
        }
        if self.m.states[from].clock != self.m.states[to].clock {
            k.clock = 0;
            *moved = true;
        }
        k.state = to as u8;
        if k.phase == PHASE_WAITING && (self.m.states[to].success || self.m.states[to].absorbing) {
            k.phase = PHASE_NONE;
        }
        if k.phase == PHASE_IN && self.m.states[to].absorbing {
            k.phase = PHASE_AFTER;
        }
    }

    /// Engine: `ArmCtx::enter`, a move with the hand-over rule.
    fn enter(&self, ch: &mut Chooser, k: &mut Key, to: usize, leaf: &mut Leaf, moved: &mut bool) {
        let from = usize::from(k.state);
        let s_n = self.m.states.len();
        let (org, org_id) = self.organisation(k.phase);
        let mut dest = to;
        if org.handover_failure > 0.0
            && self.m.handover[from * s_n + to]
            && ch.below(L_HANDOVER, org.handover_failure)
        {
            let landing = if org.gap_states.is_empty() {
                to
            } else {
                let j = ch.pick_share(L_GAP_STATE, &org.gap_states);
                org.gap_states[j.min(org.gap_states.len() - 1)].0
            };
            if landing != to && landing != from {
                k.gap_elapsed = 0;
                k.gap_dest = to as u8;
                k.gap_org = org_id;
                k.excess = excess_scale(k.excess, 1.0 - org.effect_loss);
                dest = landing;
            }
        }
        self.set_state(k, dest, leaf, moved);
    }

    /// Engine: `ArmCtx::apply_rules`: forced transitions (`after = a` fires in the step
    /// that completes the a-th step; `after = 0` at once, also after another move).
    fn apply_rules(
        &self,
        ch: &mut Chooser,
        g: &Group,
        k: &mut Key,
        leaf: &mut Leaf,
        moved: &mut bool,
        first: bool,
    ) -> bool {
        let m = self.m;
        let mut any = false;
        for depth in 0..4 {
            let s = usize::from(k.state);
            let income = g.income;
            let fired = self.rules_by_state[s]
                .iter()
                .map(|&r| &m.rules[r])
                .find(|r| {
                    let due = if first && depth == 0 {
                        u32::from(k.clock) + 1 >= r.after
                    } else {
                        r.after == 0
                    };
                    due && match r.income {
                        IncomeFilter::Any => true,
                        IncomeFilter::Positive => income.is_some_and(|v| v > 0.0),
                        IncomeFilter::Zero => income.is_some_and(|v| v == 0.0),
                    }
                });
            let Some(rule) = fired else { break };
            let to = if rule.to.len() == 1 {
                rule.to[0].0
            } else {
                let j = ch.pick_share(L_RULE, &rule.to);
                rule.to[j.min(rule.to.len() - 1)].0
            };
            k.gap_dest = NO_GAP;
            self.enter(ch, k, to, leaf, moved);
            any = true;
        }
        any
    }

    /// Engine: `ArmCtx::step_person`, steps 4–8, on the branch the chooser's script says.
    fn step_branch(
        &self,
        ch: &mut Chooser,
        g: &Group,
        start: Key,
        t: u32,
        age_months: usize,
        row: Option<&Row>,
    ) -> Leaf {
        let m = self.m;
        let mut k = start;
        let mut leaf = Leaf {
            p: 1.0,
            key: start,
            moves: [(0, 0); 8],
            n_moves: 0,
            bucket: None,
        };
        let mut moved = false;
        let mut decided = false;

        // 4. Institutional rules: retirement, then forced transitions.
        if age_months + self.mps as usize >= self.retire_months {
            self.set_state(&mut k, self.exit, &mut leaf, &mut moved);
            k.gap_dest = NO_GAP;
            leaf.key = k.canonical(self.exit);
            return leaf;
        }
        if self.apply_rules(ch, g, &mut k, &mut leaf, &mut moved, true) {
            decided = true;
        }

        // 6a. A hand-over gap ends.
        if !decided && k.gap_dest != NO_GAP {
            let law = self.gap_law(k.gap_org);
            if ch.below(L_GAP_END, law.end(k.gap_elapsed)) {
                let to = usize::from(k.gap_dest);
                k.gap_dest = NO_GAP;
                self.set_state(&mut k, to, &mut leaf, &mut moved);
                decided = true;
            } else {
                k.gap_elapsed = law.next(k.gap_elapsed);
            }
        }

        // 5. Stochastic transitions (the row depends on the starting key only: any
        // earlier event above sets `decided`).
        if !decided && let Some(row) = row {
            let j = ch.pick_free(&row.live);
            leaf.bucket = Some(j);
            if j < row.dests.len() {
                k.gap_dest = NO_GAP;
                self.enter(ch, &mut k, row.dests[j], &mut leaf, &mut moved);
                self.apply_rules(ch, g, &mut k, &mut leaf, &mut moved, false);
            }
        }

        // 7. Programme progress; 8. drop-off of the after-effect.
        if k.phase == PHASE_IN {
            if let Some(p) = &m.arm.programme {
                k.prog = k.prog.saturating_add(1);
                let total = self.in_prog_mult - 1.0;
                let exit_kind = if ch.below(L_DROPOUT, self.drop_p) {
                    Some(p.dropout_effect_retained)
                } else if u32::from(k.prog) >= p.duration {
                    Some(1.0 - p.location.relapse)
                } else {
                    None
                };
                if let Some(kept) = exit_kind {
                    k.phase = PHASE_AFTER;
                    k.excess = excess_round(total * kept);
                    let s = usize::from(k.state);
                    if p.handover_at_exit
                        && !m.states[s].success
                        && m.states[s].agency.is_some()
                        && k.gap_dest == NO_GAP
                    {
                        let (org, org_id) = match &p.organisation {
                            Some(o) => (o, 1),
                            None => (&m.arm.organisation, 0),
                        };
                        if org.handover_failure > 0.0 && ch.below(L_EXIT_FAIL, org.handover_failure)
                        {
                            let landing = if org.gap_states.is_empty() {
                                s
                            } else {
                                let j = ch.pick_share(L_EXIT_STATE, &org.gap_states);
                                org.gap_states[j.min(org.gap_states.len() - 1)].0
                            };
                            if landing != s {
                                k.excess = excess_scale(k.excess, 1.0 - org.effect_loss);
                                self.set_state(&mut k, landing, &mut leaf, &mut moved);
                                k.gap_elapsed = 0;
                                k.gap_dest = s as u8;
                                k.gap_org = org_id;
                            }
                        }
                    }
                }
            }
        } else if k.phase == PHASE_AFTER
            && let Some(p) = &m.arm.programme
        {
            k.excess = excess_scale(k.excess, p.retention_per_step);
        }

        // 8. Clocks, and referrals for the next step.
        if !moved {
            k.clock = k
                .clock
                .saturating_add(1)
                .min(self.cap(usize::from(k.state)));
        }
        if let Some(p) = &m.arm.programme {
            let next = t + 1;
            if k.phase == PHASE_NONE
                && p.eligible[usize::from(k.state)]
                && next >= p.referral_from
                && next < p.referral_until
                && ch.below(L_REFERRAL, p.referral)
            {
                k.phase = PHASE_WAITING;
            }
        }
        leaf.key = k.canonical(self.exit);
        leaf
    }

    /// Every branch of one person's step from `key`, with its probability apart from
    /// the transition bucket's, into `sc.leaves`; the row into `sc.row`.
    fn step_leaves(&self, g: &Group, key: Key, t: u32, age_months: usize, sc: &mut Scratch) {
        let Scratch { ch, row, leaves } = sc;
        leaves.clear();
        let has_row = self.row(g, &key, t, age_months, row);
        let row = has_row.then_some(&*row);
        ch.clear();
        loop {
            ch.start();
            let mut leaf = self.step_branch(ch, g, key, t, age_months, row);
            leaf.p = ch.prob;
            if leaf.p > 0.0 {
                leaves.push(leaf);
            }
            if !ch.advance() {
                break;
            }
        }
    }
}

/// Buffers reused from one key to the next.
struct Scratch {
    ch: Chooser,
    row: Row,
    leaves: Vec<Leaf>,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            ch: Chooser::new(),
            row: Row {
                dests: Vec::new(),
                probs: Vec::new(),
                clamped: Vec::new(),
                live: Vec::new(),
                weights: Vec::new(),
            },
            leaves: Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Propagation and accounting.

/// Expected tallies of one arm, without the sex split.
struct Acc {
    half_cells: usize,
    n_sum: usize,
    states: usize,
    /// `[point][cell / 2]` expected persons.
    mass: Vec<f64>,
    /// `[point][cell / 2][slot]` expected attribute sums.
    sums: Vec<f64>,
    /// `[step][from][to]` expected moves.
    moves: Vec<f64>,
    /// `[checkpoint][state]`.
    outcomes: Vec<f64>,
    outcomes_participants: Vec<f64>,
    participants: f64,
    clamped: f64,
}

fn run_arm(m: &Model, cfg: &ArmCfg, law: &PopLaw) -> Result<ArmRep, Error> {
    let arm = Arm::new(m, cfg);
    let h = m.horizon;
    let s_n = m.states.len();
    let layout = &arm.layout;
    let n_sum = layout.sum_attrs.len();
    let stride = 1 + n_sum;
    let months = outcome_months(m);
    let mps = arm.mps;
    let mut acc = Acc {
        half_cells: layout.cells / 2,
        n_sum,
        states: s_n,
        mass: vec![0.0; (h as usize + 1) * layout.cells / 2],
        sums: vec![0.0; (h as usize + 1) * layout.cells / 2 * n_sum],
        moves: vec![0.0; h as usize * s_n * s_n],
        outcomes: vec![0.0; months.len() * s_n],
        outcomes_participants: vec![0.0; months.len() * s_n],
        participants: 0.0,
        clamped: 0.0,
    };

    // Classes: attribute nodes with the same values of the attributes that multiply
    // hazards, times risk-factor products. Groups: classes that also agree on the sign
    // of the income attribute where rules test it; a group shares keys and branches.
    let pop = &m.population;
    let risks: Vec<(f32, f64)> = if cfg.risk_relevant {
        law.risks.clone()
    } else {
        vec![(1.0, 1.0)]
    };
    // group key → attribute class key → (attribute values, initial mass of one person)
    type AttrClasses = BTreeMap<Vec<u64>, (Vec<f64>, Mass)>;
    let mut by_group: BTreeMap<i8, AttrClasses> = BTreeMap::new();
    for node in &law.nodes {
        let income = pop.income_attribute.map(|a| node.values[a]);
        let sign = match income {
            Some(v) if cfg.income_rules => v.partial_cmp(&0.0).map_or(0, |o| o as i8),
            _ => 0,
        };
        let class_key: Vec<u64> = cfg
            .driving
            .iter()
            .map(|&a| node.values[a].to_bits())
            .collect();
        let zero_income = income.is_some_and(|v| v == 0.0);
        let shares = match (&pop.start_when_zero_income, zero_income) {
            (Some(z), true) => z,
            _ => &pop.start,
        };
        let entry = by_group
            .entry(sign)
            .or_default()
            .entry(class_key)
            .or_insert_with(|| (node.values.clone(), Mass::new(stride)));
        let mut v = vec![1.0; stride];
        for (slot, &a) in layout.sum_attrs.iter().enumerate() {
            v[1 + slot] = node.values[a];
        }
        let mut prev = 0.0;
        for &(s, cum) in shares {
            let p_state = cum - prev;
            prev = cum;
            if p_state <= 0.0 {
                continue;
            }
            let cap = arm.cap(s);
            let mut clock_p = vec![0.0; usize::from(cap) + 1];
            for (c, &p) in law.clock0.iter().enumerate() {
                clock_p[c.min(usize::from(cap))] += p;
            }
            for (c, &p) in clock_p.iter().enumerate() {
                if p <= 0.0 {
                    continue;
                }
                let key = Key {
                    state: s as u8,
                    phase: PHASE_NONE,
                    gap_elapsed: 0,
                    gap_dest: NO_GAP,
                    gap_org: 0,
                    clock: c as u16,
                    prog: 0,
                    excess: 0,
                };
                entry.1.add(key, node.weight * p_state * p, &v);
            }
        }
    }
    // Each group's classes and initial mass, one block of `stride` per class.
    let mut groups: Vec<(Group, Mass)> = Vec::new();
    for attr_classes in by_group.values() {
        let n_classes = attr_classes.len() * risks.len();
        let mut classes = Vec::with_capacity(n_classes);
        let mut init = Mass::new(stride * n_classes);
        let mut income = None;
        for (values, mass) in attr_classes.values() {
            income = pop.income_attribute.map(|a| values[a]);
            for &(risk, p_risk) in &risks {
                let c = classes.len();
                classes.push(Class {
                    risk,
                    attrs: values.clone(),
                });
                for (key, v) in mass.entries() {
                    init.add_block(key, c, stride, p_risk, v);
                }
            }
        }
        groups.push((Group { classes, income }, init));
    }
    let n_classes: usize = groups.iter().map(|g| g.0.classes.len()).sum();

    // Entry batches (engine: `Cohort::draw`, persons ordered by entry step).
    let mut batches: Vec<(u32, f64)> = Vec::new();
    let (mut i, mut b) = (0u64, 0u64);
    while i < pop.persons {
        let entry = u64::from(pop.intake.first) + b * u64::from(pop.intake.every);
        if entry > u64::from(h) {
            break;
        }
        let n = pop.intake.size.min(pop.persons - i);
        batches.push((entry as u32, n as f64));
        i += n;
        b += 1;
    }

    // Age paths: the features (age bands, age risk factors, retirement) that an age at
    // entry meets at every step. Persons on the same path until step t have the same
    // dynamics until then, so their mass is propagated together and split in proportion
    // to the paths' probabilities where the paths diverge (a trie over the paths).
    let age_feature = age_features(&arm);
    let mut types = 0usize;
    let mut scratch = Scratch::new();
    for &(e, n) in &batches {
        let mut by_sig: BTreeMap<Vec<u32>, (u16, f64)> = BTreeMap::new();
        for &(a0, p) in &law.ages {
            let mut retired = false;
            let sig: Vec<u32> = (e..h)
                .map(|t| {
                    let age = usize::from(a0) + ((t - e) * mps) as usize;
                    // After retirement everyone is in the exit state: later features
                    // cannot matter.
                    let f = if retired {
                        0
                    } else {
                        age_feature[age.min(MAX_AGE_MONTHS)]
                    };
                    retired |= f == 0;
                    f
                })
                .collect();
            by_sig.entry(sig).or_insert((a0, 0.0)).1 += p;
        }
        let paths: Vec<AgePath> = by_sig
            .into_iter()
            .map(|(sig, (age0, p))| AgePath { sig, age0, p })
            .collect();
        types += paths.len() * n_classes;
        if types > MAX_TYPES {
            return Err(Error::Input(format!(
                "--cohort would have to follow more than {MAX_TYPES} person types (intake batches × age paths × risk-factor products × attribute points) in arm `{}`; run the microsimulation (without --cohort)",
                m.arm.id
            )));
        }
        let all: Vec<usize> = (0..paths.len()).collect();
        let total: f64 = paths.iter().map(|p| p.p).sum();
        for (group, init) in &groups {
            let cur = intake(&arm, init, e, n);
            let cur = places(&arm, &mut acc, e, cur);
            tally(&arm, &mut acc, e, e, &cur);
            let walk = Walk {
                arm: &arm,
                g: group,
                e,
                paths: &paths,
            };
            walk.run(&mut acc, e, all.clone(), total, cur, &mut scratch);
        }
    }
    Ok(finish(m, &arm, &acc, law.women, &batches))
}

/// A path of age features over the steps of one batch, with its probability and an age at
/// entry that follows it.
struct AgePath {
    sig: Vec<u32>,
    age0: u16,
    p: f64,
}

/// Per age in months: 0 if retired, else an id of what the age tables and age risk
/// factors say at that age.
fn age_features(arm: &Arm) -> Vec<u32> {
    let mut ids: BTreeMap<Vec<u32>, u32> = BTreeMap::new();
    (0..=MAX_AGE_MONTHS)
        .map(|a| {
            if a + arm.mps as usize >= arm.retire_months {
                return 0;
            }
            let mut f: Vec<u32> = vec![if arm.cfg.risk_relevant {
                arm.age_risk[a].to_bits()
            } else {
                0
            }];
            for ab in &arm.age_breaks {
                if !ab.is_empty() {
                    f.push(ab.partition_point(|&b| b * 12.0 <= a as f64) as u32);
                }
            }
            let next = ids.len() as u32 + 1;
            *ids.entry(f).or_insert(next)
        })
        .collect()
}

/// Step 1 for a batch of `n` persons entering at `e`: the initial mass, and referral at
/// entry.
fn intake(arm: &Arm, init: &Mass, e: u32, n: f64) -> Mass {
    let m = arm.m;
    let mut cur = Mass::new(init.stride);
    for (key, v) in init.entries() {
        let mut referred = 0.0;
        if let Some(p) = &m.arm.programme
            && e >= p.referral_from
            && e < p.referral_until
            && p.eligible[usize::from(key.state)]
        {
            referred = p.referral.clamp(0.0, 1.0);
        }
        if referred > 0.0 {
            let waiting = Key {
                phase: PHASE_WAITING,
                ..key
            };
            cur.add(waiting, n * referred, v);
        }
        if referred < 1.0 {
            cur.add(key, n * (1.0 - referred), v);
        }
    }
    cur
}

/// Step 2 at `t`: with no capacity and no extra wait, everyone waiting is admitted at an
/// intake date.
fn places(arm: &Arm, acc: &mut Acc, t: u32, cur: Mass) -> Mass {
    let Some(p) = &arm.m.arm.programme else {
        return cur;
    };
    if t >= arm.m.horizon
        || t < p.intake_first
        || !(t - p.intake_first).is_multiple_of(p.intake_every)
        || !cur.entries().any(|(k, _)| k.phase == PHASE_WAITING)
    {
        return cur;
    }
    let block = 1 + acc.n_sum;
    let mut next = Mass::new(cur.stride);
    for (key, v) in cur.entries() {
        if key.phase == PHASE_WAITING {
            acc.participants += v.iter().step_by(block).sum::<f64>();
            let admitted = Key {
                phase: PHASE_IN,
                prog: 0,
                ..key
            };
            next.add(admitted, 1.0, v);
        } else {
            next.add(key, 1.0, v);
        }
    }
    next
}

/// Step 3: tally trace point `t` of a batch that entered at `e` (summing the classes).
fn tally(arm: &Arm, acc: &mut Acc, e: u32, t: u32, cur: &Mass) {
    let k_out = arm.checkpoint.get((t - e) as usize).copied().flatten();
    let p = t as usize;
    let block = 1 + acc.n_sum;
    for (key, v) in cur.entries() {
        let s = usize::from(key.state);
        let cell = arm.layout.cell(s, key.clock, key.phase, 0) / 2;
        let mass: f64 = v.iter().step_by(block).sum();
        acc.mass[p * acc.half_cells + cell] += mass;
        for slot in 0..acc.n_sum {
            acc.sums[(p * acc.half_cells + cell) * acc.n_sum + slot] +=
                v.iter().skip(1 + slot).step_by(block).sum::<f64>();
        }
        if let Some(k) = k_out {
            acc.outcomes[k * acc.states + s] += mass;
            if key.phase >= PHASE_IN {
                acc.outcomes_participants[k * acc.states + s] += mass;
            }
        }
    }
}

/// Steps 4–8 at `t` for persons aged `age_months`: the mass at point t + 1.
fn step(
    arm: &Arm,
    acc: &mut Acc,
    g: &Group,
    t: u32,
    age_months: usize,
    cur: &Mass,
    sc: &mut Scratch,
) -> Mass {
    let s_n = arm.m.states.len();
    let block = 1 + acc.n_sum;
    let n_classes = g.classes.len();
    let mut next = Mass::with_capacity(cur.stride, cur.index.len() * 2);
    let mut factors = vec![0.0; n_classes];
    for (key, v) in cur.entries() {
        if arm.m.states[usize::from(key.state)].absorbing {
            next.add(key, 1.0, v);
            continue;
        }
        arm.step_leaves(g, key, t, age_months, sc);
        let n_buckets = sc.row.dests.len() + 1;
        for leaf in &sc.leaves {
            let mut w = 0.0;
            let mut clamped = 0.0;
            for (c, f) in factors.iter_mut().enumerate() {
                *f = leaf.p * leaf.bucket.map_or(1.0, |j| sc.row.probs[c * n_buckets + j]);
                let mass = *f * v[c * block];
                w += mass;
                if leaf.bucket.is_some() && sc.row.clamped[c] {
                    clamped += mass;
                }
            }
            next.add_blocks(leaf.key, block, &factors, v);
            for &(from, to) in &leaf.moves[..leaf.n_moves] {
                acc.moves[(t as usize * s_n + usize::from(from)) * s_n + usize::from(to)] += w;
            }
            acc.clamped += clamped;
        }
    }
    next
}

/// Follows one group of one batch through the trie of its age paths.
struct Walk<'a> {
    arm: &'a Arm<'a>,
    g: &'a Group,
    e: u32,
    paths: &'a [AgePath],
}

impl Walk<'_> {
    /// `cur` is the mass at point `t` (placed and tallied) of the persons on the paths
    /// `members`, whose probabilities sum to `weight`.
    fn run(
        &self,
        acc: &mut Acc,
        mut t: u32,
        mut members: Vec<usize>,
        mut weight: f64,
        mut cur: Mass,
        sc: &mut Scratch,
    ) {
        let h = self.arm.m.horizon;
        while t < h {
            let k = (t - self.e) as usize;
            let mut groups: BTreeMap<u32, (Vec<usize>, f64)> = BTreeMap::new();
            for &i in &members {
                let g = groups.entry(self.paths[i].sig[k]).or_default();
                g.0.push(i);
                g.1 += self.paths[i].p;
            }
            let split = groups.len() > 1;
            let mut groups = groups.into_values();
            if !split {
                let Some((group, w)) = groups.next() else {
                    return;
                };
                cur = self.advance(acc, t, &group, cur, sc);
                members = group;
                weight = w;
                t += 1;
                continue;
            }
            for (group, w) in groups {
                let part = cur.scaled(w / weight);
                let next = self.advance(acc, t, &group, part, sc);
                self.run(acc, t + 1, group, w, next, sc);
            }
            return;
        }
    }

    /// Step `t`, then places and tally at point `t + 1`.
    fn advance(&self, acc: &mut Acc, t: u32, group: &[usize], cur: Mass, sc: &mut Scratch) -> Mass {
        let a0 = group.first().map_or(0, |&i| self.paths[i].age0);
        let age_months = usize::from(a0) + ((t - self.e) * self.arm.mps) as usize;
        let next = step(self.arm, acc, self.g, t, age_months, &cur, sc);
        let next = places(self.arm, acc, t + 1, next);
        tally(self.arm, acc, self.e, t + 1, &next);
        next
    }
}

/// Post the expected tallies to an [`ArmRep`] with the engine's `ArmRep::post_point` and
/// `record_step`, given expected instead of whole counts.
fn finish(m: &Model, arm: &Arm, acc: &Acc, women: f64, batches: &[(u32, f64)]) -> ArmRep {
    let layout = &arm.layout;
    let h = m.horizon as usize;
    let s_n = m.states.len();
    let months = outcome_months(m);
    let mut rep = ArmRep::new(m, layout, months.len());
    let sex_share = [women, 1.0 - women];
    let n_sum = acc.n_sum;
    let half = acc.half_cells;
    for p in 0..=h {
        // Ledger cell `c * 2 + sex` holds the sex's share of half-cell `c`.
        rep.post_point(
            m,
            layout,
            p,
            |cell| acc.mass[p * half + cell / 2] * sex_share[cell % 2],
            |cell, slot| acc.sums[(p * half + cell / 2) * n_sum + slot] * sex_share[cell % 2],
        );
        if p < h {
            rep.record_step(m, p, |k| {
                acc.moves[p * s_n * s_n + k / 2] * sex_share[k % 2]
            });
        }
    }
    for k in 0..months.len() {
        for s in 0..s_n {
            for sex in 0..2 {
                rep.outcomes[(k * s_n + s) * 2 + sex] = acc.outcomes[k * s_n + s] * sex_share[sex];
                rep.outcomes_participants[(k * s_n + s) * 2 + sex] =
                    acc.outcomes_participants[k * s_n + s] * sex_share[sex];
            }
        }
    }
    rep.participants = [acc.participants * women, acc.participants * (1.0 - women)];
    rep.person_steps = (0..h as u32)
        .map(|t| {
            batches
                .iter()
                .filter(|b| b.0 <= t)
                .map(|b| b.1 as u64)
                .sum::<u64>()
        })
        .sum();
    rep.clamped = acc.clamped.round() as u64;
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_of(pts: &[(f64, f64)]) -> f64 {
        pts.iter().map(|(v, w)| v * w).sum::<f64>() / pts.iter().map(|p| p.1).sum::<f64>()
    }

    #[test]
    fn gauss_legendre_integrates_polynomials_exactly() {
        let gl = gauss_legendre(8);
        let total: f64 = gl.iter().map(|p| p.1).sum();
        assert!((total - 2.0).abs() < 1e-14);
        // ∫_{-1}^{1} x^14 dx = 2/15 (degree 2n − 2 is within the exact range 2n − 1).
        let x14: f64 = gl.iter().map(|(x, w)| w * x.powi(14)).sum();
        assert!((x14 - 2.0 / 15.0).abs() < 1e-14, "{x14}");
    }

    #[test]
    fn quadrature_reproduces_means() {
        let cases = [
            (
                Dist::Uniform {
                    low: 2.0,
                    high: 5.0,
                },
                1e-12,
            ),
            (
                Dist::Triangular {
                    low: 0.0,
                    mode: 1.0,
                    high: 4.0,
                },
                1e-10,
            ),
            (
                Dist::Normal {
                    mean: 1.0,
                    sd: 0.3,
                    low: None,
                    high: None,
                },
                1e-10,
            ),
            (
                Dist::Gamma {
                    shape: 2.0,
                    scale: 0.5,
                },
                1e-9,
            ),
            (
                Dist::Beta {
                    alpha: 2.0,
                    beta: 5.0,
                },
                1e-10,
            ),
            (
                Dist::LogNormal {
                    mu: 0.0,
                    sigma: 0.5,
                },
                1e-9,
            ),
            (
                Dist::LogNormal {
                    mu: 0.0,
                    sigma: 2.0,
                },
                1e-8,
            ),
            (
                Dist::Beta {
                    alpha: 0.5,
                    beta: 2.0,
                },
                1e-9,
            ),
            (Dist::Poisson { mean: 3.0 }, 1e-12),
            (Dist::Geometric { q: 0.25 }, 1e-12),
        ];
        for (d, tol) in cases {
            let pts = clamped_points(&d, -1e9, 1e9);
            let w: f64 = pts.iter().map(|p| p.1).sum();
            assert!((w - 1.0).abs() < 1e-12, "{d:?}: weights sum to {w}");
            let rel = (mean_of(&pts) - d.mean()).abs() / d.mean().abs();
            assert!(rel < tol, "{d:?}: relative error {rel:e}");
        }
    }

    #[test]
    fn quadrature_of_a_frailty_matches_the_laplace_transform() {
        // Gamma frailty Z (mean 1, variance 1/k): E[exp(-λ Z)] = (1 + λ/k)^(-k); the
        // survival of a person with frailty Z under a cumulative hazard λ.
        for k in [0.5, 2.0, 4.0, 8.0] {
            let d = Dist::Gamma {
                shape: k,
                scale: 1.0 / k,
            };
            let pts = clamped_points(&d, -1e9, 1e9);
            for lam in [0.01, 0.1, 1.0, 5.0, 20.0] {
                let q: f64 = pts.iter().map(|(z, w)| w * (-lam * z).exp()).sum();
                let exact = (1.0 + lam / k).powf(-k);
                assert!((q - exact).abs() < 1e-7, "k {k} λ {lam}: {q} vs {exact}");
                if k >= 2.0 {
                    assert!((q - exact).abs() < 1e-10, "k {k} λ {lam}: {q} vs {exact}");
                }
            }
        }
    }

    #[test]
    fn clamping_puts_the_tails_on_the_bounds() {
        let d = Dist::Normal {
            mean: 0.0,
            sd: 1.0,
            low: None,
            high: None,
        };
        let pts = clamped_points(&d, -1.0, 2.0);
        let at_min: f64 = pts.iter().filter(|p| p.0 == -1.0).map(|p| p.1).sum();
        let at_max: f64 = pts.iter().filter(|p| p.0 == 2.0).map(|p| p.1).sum();
        assert!((at_min - 0.158_655_253_931_457).abs() < 1e-9, "{at_min}");
        assert!((at_max - 0.022_750_131_948_179).abs() < 1e-9, "{at_max}");
        assert!(pts.iter().all(|p| (-1.0..=2.0).contains(&p.0)));
    }

    #[test]
    fn prob_below_is_the_quantile_inverse() {
        let d = Dist::Geometric { q: 1.0 / 3.0 };
        // P(L < 2.5) = P(L ≤ 2) = 1 − (2/3)².
        assert!((prob_below(&d, 2.5) - (1.0 - 4.0 / 9.0)).abs() < 1e-12);
        assert_eq!(prob_below(&Dist::Fixed(3.0), 3.0), 0.0);
        assert_eq!(prob_below(&Dist::Fixed(3.0), 3.5), 1.0);
        let u = Dist::Uniform {
            low: 25.0,
            high: 62.0,
        };
        assert!((prob_below(&u, 30.0) - 5.0 / 37.0).abs() < 1e-12);
    }

    #[test]
    fn the_chooser_enumerates_consistent_branches() {
        // Two decisions on the same uniform (0.3 then 0.6) and one on another (0.5): the
        // shared uniform has three outcomes, not four.
        let mut ch = Chooser::new();
        let mut leaves = Vec::new();
        loop {
            ch.start();
            let a = ch.below(0, 0.3);
            let b = ch.below(0, 0.6);
            let c = ch.below(1, 0.5);
            leaves.push((a, b, c, ch.prob));
            if !ch.advance() {
                break;
            }
        }
        let total: f64 = leaves.iter().map(|l| l.3).sum();
        assert!((total - 1.0).abs() < 1e-15);
        assert!(
            !leaves.iter().any(|l| l.0 && !l.1),
            "u < 0.3 implies u < 0.6"
        );
        let p_both: f64 = leaves.iter().filter(|l| l.0 && l.1).map(|l| l.3).sum();
        assert!((p_both - 0.3).abs() < 1e-15);
        assert_eq!(leaves.len(), 6);
    }
}
