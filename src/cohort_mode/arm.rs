//! One arm in the cohort mode: its constants (the clock caps that keep keys few, the
//! laws of its gaps), the shared dynamics and transition rows, and the transition row of
//! a key for every class of persons.

use crate::cohort::{Cohort, MAX_AGE_MONTHS};
use crate::dynamics::rates::{NO_ATTR, Tables};
use crate::dynamics::{Dynamics, GapOwner, MAX_GAP_STEPS};
use crate::engine::outcome_months;
use crate::ledger::Layout;
use crate::model::*;

use super::law::prob_below;
use super::mass::Key;

/// Conditional probability below which a branch is not followed.
pub(super) const PRUNE: f64 = 1e-15;

/// The transition row of one key: its destinations, and per class the probability of
/// each bucket (bucket j < n: destination j; bucket n: staying), whether the class's row
/// was clamped, and which buckets any class can reach.
pub(super) struct Row {
    pub dests: Vec<usize>,
    /// `probs[c * (n + 1) + j]`.
    pub probs: Vec<f64>,
    pub clamped: Vec<bool>,
    pub live: Vec<bool>,
    pub weights: Vec<f64>,
}

/// Persons whose dynamics differ only in their transition probabilities (risk-factor
/// product, attributes that multiply hazards): they share keys and branches, and a mass
/// carries one block per class.
#[derive(Debug, Clone)]
pub(super) struct Class {
    pub risk: f32,
    /// Attribute values (exact for those that multiply hazards).
    pub attrs: Vec<f64>,
}

/// Persons who share keys and branches: the classes, and what the rules test.
pub(super) struct Group {
    pub classes: Vec<Class>,
    /// The income attribute's value, for rules that test its sign (the same sign for
    /// every class of the group).
    pub income: Option<f64>,
}

/// Constants of one arm.
pub(super) struct ArmCfg {
    /// Clock cap per clock group: the largest threshold any rule, table or amount tests.
    pub caps: Vec<u16>,
    /// Attributes that multiply a hazard in this arm.
    pub driving: Vec<usize>,
    /// Whether some rule tests the sign of the income attribute.
    pub income_rules: bool,
    /// Whether any move leads into a success state (risk factors and programme act).
    pub risk_relevant: bool,
}

impl ArmCfg {
    /// The constants of arm `m`, good for both sexes' models (the larger cap, every
    /// driving attribute).
    pub fn new(m: &Model) -> ArmCfg {
        let mut cfg = ArmCfg::of_model(m);
        if let Some(men) = m.men.as_deref() {
            let other = ArmCfg::of_model(men);
            for (a, b) in cfg.caps.iter_mut().zip(&other.caps) {
                *a = (*a).max(*b);
            }
            cfg.driving.extend(other.driving);
            cfg.driving.sort_unstable();
            cfg.driving.dedup();
            cfg.income_rules |= other.income_rules;
            cfg.risk_relevant |= other.risk_relevant;
        }
        cfg
    }

    fn of_model(m: &Model) -> ArmCfg {
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
        // A top-up is not linear in the attributes of the person's income: they must be
        // exact per class, not ride along as expected sums.
        for it in &m.items {
            if let ItemKind::TopUp {
                income, attributes, ..
            } = &it.kind
            {
                driving.extend(attributes.iter().map(|&(a, _)| a));
                for &(j, _) in income {
                    if let ItemKind::State { per, .. } = &m.items[j].kind {
                        driving.extend(per.iter().map(|&(a, _)| a));
                    }
                }
            }
        }
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
pub(super) struct Arm<'a> {
    pub dy: Dynamics<'a>,
    pub cfg: &'a ArmCfg,
    pub layout: Layout,
    pub age_risk: Vec<f32>,
    /// The transition rows: one table, or one per step when a rate depends on the step.
    tables: Vec<Tables>,
    /// The laws of the gap lengths of the arm's organisation and the programme's.
    gap_arm: GapLaw,
    gap_prog: GapLaw,
    /// Outcome checkpoint by steps since entry.
    pub checkpoint: Vec<Option<usize>>,
    /// The sex this model is of (0 also where nothing differs by sex).
    pub sex: usize,
}

/// The law of a hand-over gap's length as a hazard by steps already spent in the gap.
///
/// The engine draws the length once, `L = clamp(round(quantile(u)), 1, MAX_GAP_STEPS)`
/// (`dynamics::gap_steps`), and counts
/// it down; that uniform is used for nothing else, so following the gap step by step
/// with `P(L = d + 1 | L > d)` gives the same law. Where the hazard is constant from some
/// `d` on (a geometric length: the chance of returning is the same every month), the
/// steps spent no longer matter and the key stops counting them.
#[derive(Debug, Clone)]
pub(super) struct GapLaw {
    /// Hazard of ending at elapsed `d`; the last entry holds from there on.
    hazard: Vec<f64>,
}

impl GapLaw {
    pub fn new(o: &Organisation) -> GapLaw {
        if o.handover_failure <= 0.0 {
            return GapLaw { hazard: vec![1.0] };
        }
        const N: usize = MAX_GAP_STEPS as usize;
        // P(L = k), k = 1..=N, from the quantile buckets of u.
        let cuts: Vec<f64> = (1..MAX_GAP_STEPS)
            .map(|k| prob_below(&o.gap_months, f64::from(k) + 0.5))
            .collect();
        let mut p = Vec::with_capacity(N);
        let mut prev = 0.0;
        for &c in &cuts {
            p.push((c - prev).max(0.0));
            prev = prev.max(c);
        }
        p.push((1.0 - prev).max(0.0));
        // Survival S(d) = P(L > d), summed from the tail for accuracy.
        let mut surv = vec![0.0; N + 1];
        for d in (0..N).rev() {
            surv[d] = surv[d + 1] + p[d];
        }
        let hazard: Vec<f64> = (0..N)
            .map(|d| if surv[d] > 0.0 { p[d] / surv[d] } else { 1.0 })
            .collect();
        // Beyond `last` the gap has all but ended (less than PRUNE of it is left).
        let last = (0..N).rev().find(|&d| surv[d] >= PRUNE).unwrap_or(0);
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

    pub fn end(&self, elapsed: u8) -> f64 {
        self.hazard[usize::from(elapsed).min(self.hazard.len() - 1)]
    }

    pub fn next(&self, elapsed: u8) -> u8 {
        (usize::from(elapsed) + 1).min(self.hazard.len() - 1) as u8
    }
}

impl<'a> Arm<'a> {
    /// One sex's model `m` of an arm whose tally is `layout` (the arm's, for both sexes).
    pub fn new(m: &'a Model, cfg: &'a ArmCfg, layout: Layout) -> Arm<'a> {
        let step_dependent = m
            .transitions
            .iter()
            .flatten()
            .any(|tr| tr.dests.iter().any(|d| d.step.is_some()));
        let steps = if step_dependent { m.horizon.max(1) } else { 1 };
        let mps = m.months_per_step();
        Arm {
            dy: Dynamics::new(m),
            cfg,
            layout,
            age_risk: Cohort::age_risk_table(m),
            tables: (0..steps).map(|t| Tables::build(m, t)).collect(),
            gap_arm: GapLaw::new(&m.arm.organisation),
            gap_prog: m
                .arm
                .programme
                .as_ref()
                .and_then(|p| p.organisation.as_ref())
                .map_or(GapLaw { hazard: vec![1.0] }, GapLaw::new),
            checkpoint: {
                let mut c = vec![None; m.horizon as usize + 1];
                for (k, &mo) in outcome_months(m).iter().enumerate() {
                    c[(mo / mps) as usize] = Some(k);
                }
                c
            },
            sex: 0,
        }
    }

    /// The transition rows at step `t`.
    pub fn tables(&self, t: u32) -> &Tables {
        &self.tables[(t as usize).min(self.tables.len() - 1)]
    }

    /// The clock cap of `state`'s clock: larger values cannot be told apart.
    pub fn cap(&self, state: usize) -> u16 {
        self.cfg.caps[self.dy.m.states[state].clock]
    }

    /// The law of the length of a gap that `owner`'s hand-over began.
    pub fn gap_law(&self, owner: u8) -> &GapLaw {
        if owner == GapOwner::Programme as u8 {
            &self.gap_prog
        } else {
            &self.gap_arm
        }
    }

    fn success_multiplier(&self, class: &Class, key: &Key, age_months: usize) -> f64 {
        self.dy.success_multiplier(
            f64::from(class.risk),
            f64::from(self.age_risk[age_months.min(MAX_AGE_MONTHS)]),
            key.phase,
            f64::from_bits(key.excess),
        )
    }

    /// The transition row of a key at step `t` for every class (the shared
    /// `rates::Tables` row under each class's multipliers), into `row`; false if the
    /// state has no transitions.
    pub fn row(&self, g: &Group, key: &Key, t: u32, age_months: usize, row: &mut Row) -> bool {
        row.dests.clear();
        row.probs.clear();
        row.clamped.clear();
        row.live.clear();
        let tables = self.tables(t);
        let r = tables.row(usize::from(key.state), key.clock, age_months);
        let dests = &tables.dests[r.start as usize..(r.start + r.len) as usize];
        // The destinations and their base rates do not depend on the class.
        row.weights.clear();
        for d in dests {
            row.dests.push(usize::from(d.to));
            row.weights.push(d.h);
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
            for d in dests {
                let mut w = d.h;
                if d.success {
                    w *= mult;
                }
                if d.attr != NO_ATTR {
                    w *= class.attrs[usize::from(d.attr)];
                }
                total += w;
                row.probs.push(w);
            }
            row.probs.push(0.0);
            let probs = &mut row.probs[base..];
            // Competing hazards leave with probability 1 − e^(−total), to each destination
            // in proportion; per-step probabilities above 1 are rescaled (and counted).
            let clamped = if r.hazard {
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
            } else if total > 1.0 {
                for w in &mut probs[..n] {
                    *w /= total;
                }
                true
            } else {
                probs[n] = 1.0 - total;
                false
            };
            row.clamped.push(clamped);
            for (l, &p) in row.live.iter_mut().zip(probs.iter()) {
                *l |= p > 0.0;
            }
        }
        true
    }
}
