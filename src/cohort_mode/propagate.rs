//! Propagation and accounting: the mass of each intake batch and group of person
//! classes carried step by step through its age paths (intake, places, the tally of each
//! trace point, every key's step on every branch), then posted to an `ArmRep` as the
//! microsimulation posts its counts.

use std::collections::BTreeMap;

use ndarray::{Array2, Array3};

use crate::Error;
use crate::cohort::{ATTR_SCALE, MAX_AGE_MONTHS};
use crate::dynamics::NO_GAP;
use crate::engine::outcome_months;
use crate::ledger::ArmRep;
use crate::model::*;

use super::arm::{Arm, ArmCfg, Class, Group};
use super::branch::{Scratch, step_leaves};
use super::law::MAX_TYPES;
use super::law::PopLaw;
use super::mass::{Key, Mass, NO_CASE};

/// Expected tallies of one arm, without the sex split.
struct Acc {
    n_sum: usize,
    /// `[point, cell / 2]` expected persons.
    mass: Array2<f64>,
    /// `[point, cell / 2, slot]` expected attribute sums, then top-ups (`Layout::sums`).
    sums: Array3<f64>,
    /// `[step, from, to]` expected moves.
    moves: Array3<f64>,
    /// `[step, to]` expected ends of hand-over gaps into `to`.
    gap_ends: Array2<f64>,
    /// `[checkpoint, state]`.
    outcomes: Array2<f64>,
    outcomes_participants: Array2<f64>,
    participants: f64,
    clamped: f64,
}

impl Acc {
    fn new(m: &Model, arm: &Arm) -> Acc {
        let (h, s_n) = (m.horizon as usize, m.states.len());
        let (half_cells, n_sum) = (arm.layout.cells / 2, arm.layout.sum_attrs.len());
        let checkpoints = outcome_months(m).len();
        Acc {
            n_sum,
            mass: Array2::zeros((h + 1, half_cells)),
            sums: Array3::zeros((h + 1, half_cells, arm.layout.sums())),
            moves: Array3::zeros((h, s_n, s_n)),
            gap_ends: Array2::zeros((h, s_n)),
            outcomes: Array2::zeros((checkpoints, s_n)),
            outcomes_participants: Array2::zeros((checkpoints, s_n)),
            participants: 0.0,
            clamped: 0.0,
        }
    }
}

/// Arm `m` in cohort mode, with the population law of each sex (`laws[1]` only where
/// values differ by sex: each sex's persons then follow their own model).
pub(super) fn run_arm(m: &Model, cfg: &ArmCfg, laws: &[PopLaw]) -> Result<ArmRep, Error> {
    let layout = crate::ledger::Layout::new(m);
    let women = Arm::new(m, cfg, layout.clone());
    let acc_w = propagate(&women, &laws[0])?;
    let batches = batches(&m.population, m.horizon);
    let w = laws[0].women;
    Ok(match (m.men.as_deref(), laws.get(1)) {
        (Some(men), Some(law_m)) => {
            let mut arm_m = Arm::new(men, cfg, layout);
            arm_m.sex = 1;
            let acc_m = propagate(&arm_m, law_m)?;
            finish(m, &women, [(&acc_w, w), (&acc_m, 1.0 - w)], &batches)
        }
        _ => finish(m, &women, [(&acc_w, w), (&acc_w, 1.0 - w)], &batches),
    })
}

/// The expected tallies of one sex's model (`arm`) for a cohort of that law.
fn propagate(arm: &Arm, law: &PopLaw) -> Result<Acc, Error> {
    let m = arm.dy.m;
    let h = m.horizon;
    let mut acc = Acc::new(m, arm);
    let groups = groups(m, arm, law);
    let n_classes: usize = groups.iter().map(|g| g.0.classes.len()).sum();
    let batches = batches(&m.population, h);
    let age_feature = age_features(arm);
    let mut types = 0usize;
    let mut scratch = Scratch::new();
    for &(e, n) in &batches {
        let paths = age_paths(arm, &age_feature, law, e, h);
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
            let cur = intake(arm, init, e, n);
            let cur = places(arm, &mut acc, e, cur);
            tally(arm, group, &mut acc, e, e, &cur);
            let walk = Walk {
                arm,
                g: group,
                e,
                paths: &paths,
            };
            walk.run(&mut acc, e, all.clone(), total, cur, &mut scratch);
        }
    }
    Ok(acc)
}

/// The groups of person classes and the initial mass of one person of each: classes are
/// attribute nodes with the same values of the attributes that multiply hazards, times
/// risk-factor products; a group gathers the classes that also agree on the sign of the
/// income attribute where rules test it, and shares keys and branches.
fn groups(m: &Model, arm: &Arm, law: &PopLaw) -> Vec<(Group, Mass)> {
    let (cfg, layout) = (arm.cfg, &arm.layout);
    let stride = 1 + layout.sum_attrs.len();
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
        start_mass(arm, law, shares, node.weight, &v, &mut entry.1);
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
    groups
}

/// Add to `mass` a person of weight `weight` (attribute sums `v`) in the start states
/// `shares` with the start clock's law.
fn start_mass(
    arm: &Arm,
    law: &PopLaw,
    shares: &[(usize, f64)],
    weight: f64,
    v: &[f64],
    mass: &mut Mass,
) {
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
                case_count: 0,
                case_at: NO_CASE,
            };
            mass.add(key, weight * p_state * p, v);
        }
    }
}

/// The entry batches within the horizon: (entry step, persons), as the microsimulation's
/// cohort orders persons by entry (`Cohort::draw`).
fn batches(pop: &Population, h: u32) -> Vec<(u32, f64)> {
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
    batches
}

/// The age paths of a batch entering at `e`: the features (age bands, age risk factors,
/// retirement) that an age at entry meets at every step. Persons on the same path until
/// step t have the same dynamics until then, so their mass is propagated together and
/// split in proportion to the paths' probabilities where the paths diverge (a trie over
/// the paths, [`Walk`]).
fn age_paths(arm: &Arm, age_feature: &[u32], law: &PopLaw, e: u32, h: u32) -> Vec<AgePath> {
    let mps = arm.dy.mps;
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
    by_sig
        .into_iter()
        .map(|(sig, (age0, p))| AgePath { sig, age0, p })
        .collect()
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
            if a + arm.dy.mps as usize >= arm.dy.retire_months {
                return 0;
            }
            let mut f: Vec<u32> = vec![if arm.cfg.risk_relevant {
                arm.age_risk[a].to_bits()
            } else {
                0
            }];
            // The age band of every state's row (0 where a row has no age breaks).
            let tables = arm.tables(0);
            if tables.by_age {
                for st in 0..arm.dy.m.states.len() {
                    f.push(u32::from(tables.age_band[st * (MAX_AGE_MONTHS + 1) + a]));
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
    let m = arm.dy.m;
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
    let Some(p) = &arm.dy.m.arm.programme else {
        return cur;
    };
    if t >= arm.dy.m.horizon
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
fn tally(arm: &Arm, g: &Group, acc: &mut Acc, e: u32, t: u32, cur: &Mass) {
    let k_out = arm.checkpoint.get((t - e) as usize).copied().flatten();
    let p = t as usize;
    let block = 1 + acc.n_sum;
    for (key, v) in cur.entries() {
        let s = usize::from(key.state);
        let cell = arm.layout.cell(s, key.clock, key.phase, 0) / 2;
        let mass: f64 = v.iter().step_by(block).sum();
        acc.mass[[p, cell]] += mass;
        for slot in 0..acc.n_sum {
            acc.sums[[p, cell, slot]] += v.iter().skip(1 + slot).step_by(block).sum::<f64>();
        }
        if arm.layout.has_topups() {
            // Each class's top-ups at its exact income (the attributes in a top-up's
            // income are enumerated exactly: `ArmCfg::driving`).
            let full = arm.layout.cell(s, key.clock, key.phase, arm.sex);
            for (c, class) in g.classes.iter().enumerate() {
                let m_c = v[c * block];
                if m_c != 0.0 {
                    arm.layout.topup_values(
                        full,
                        |a| class.attrs[a],
                        |slot, x| acc.sums[[p, cell, slot]] += m_c * x as f64 / ATTR_SCALE,
                    );
                }
            }
        }
        if let Some(k) = k_out {
            acc.outcomes[[k, s]] += mass;
            if key.phase >= PHASE_IN {
                acc.outcomes_participants[[k, s]] += mass;
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
    let block = 1 + acc.n_sum;
    let n_classes = g.classes.len();
    let mut next = Mass::with_capacity(cur.stride, cur.len() * 2);
    let mut factors = vec![0.0; n_classes];
    for (key, v) in cur.entries() {
        if arm.dy.m.states[usize::from(key.state)].absorbing {
            next.add(key, 1.0, v);
            continue;
        }
        step_leaves(arm, g, key, t, age_months, sc);
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
            if let Some(to) = leaf.gap_end {
                acc.gap_ends[[t as usize, usize::from(to)]] += w;
            }
            for &(from, to) in &leaf.moves[..leaf.n_moves] {
                acc.moves[[t as usize, usize::from(from), usize::from(to)]] += w;
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
        let h = self.arm.dy.m.horizon;
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
        let age_months = usize::from(a0) + ((t - self.e) * self.arm.dy.mps) as usize;
        let next = step(self.arm, acc, self.g, t, age_months, &cur, sc);
        let next = places(self.arm, acc, t + 1, next);
        tally(self.arm, self.g, acc, self.e, t + 1, &next);
        next
    }
}

/// Post the expected tallies to an [`ArmRep`] with the engine's `ArmRep::post_point` and
/// `record_step`, given expected instead of whole counts.
/// `sexes[x]`: the expected tallies that sex x's persons follow and the sex's share of the
/// cohort (the same tallies twice where nothing differs by sex).
fn finish(m: &Model, arm: &Arm, sexes: [(&Acc, f64); 2], batches: &[(u32, f64)]) -> ArmRep {
    let layout = &arm.layout;
    let h = m.horizon as usize;
    let s_n = m.states.len();
    let months = outcome_months(m);
    let mut rep = ArmRep::new(m, layout, months.len());
    let sex_share = [sexes[0].1, sexes[1].1];
    let acc = |sex: usize| sexes[sex].0;
    for p in 0..=h {
        // Ledger cell `c * 2 + sex` holds the sex's share of half-cell `c`.
        rep.post_point(
            m,
            layout,
            p,
            |cell| acc(cell % 2).mass[[p, cell / 2]] * sex_share[cell % 2],
            |cell, slot| acc(cell % 2).sums[[p, cell / 2, slot]] * sex_share[cell % 2],
        );
        if p < h {
            rep.record_step(m, p, |k| {
                if k < s_n * s_n * 2 {
                    acc(k % 2).moves[[p, k / 2 / s_n, k / 2 % s_n]] * sex_share[k % 2]
                } else {
                    acc(k % 2).gap_ends[[p, (k - s_n * s_n * 2) / 2]] * sex_share[k % 2]
                }
            });
        }
    }
    for k in 0..months.len() {
        for s in 0..s_n {
            for sex in 0..2 {
                rep.outcomes[(k * s_n + s) * 2 + sex] = acc(sex).outcomes[[k, s]] * sex_share[sex];
                rep.outcomes_participants[(k * s_n + s) * 2 + sex] =
                    acc(sex).outcomes_participants[[k, s]] * sex_share[sex];
            }
        }
    }
    rep.participants = [
        acc(0).participants * sex_share[0],
        acc(1).participants * sex_share[1],
    ];
    rep.person_steps = (0..h as u32)
        .map(|t| {
            batches
                .iter()
                .filter(|b| b.0 <= t)
                .map(|b| b.1 as u64)
                .sum::<u64>()
        })
        .sum();
    rep.clamped = if std::ptr::eq(acc(0), acc(1)) {
        acc(0).clamped.round() as u64
    } else {
        (acc(0).clamped * sex_share[0] + acc(1).clamped * sex_share[1]).round() as u64
    };
    rep
}
