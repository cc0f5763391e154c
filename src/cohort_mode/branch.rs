//! One step of one person type in the cohort mode, on every branch: the [`Chooser`]
//! enumerates the outcomes of the step's random decisions, and [`Branch`] answers the
//! shared order of events (`dynamics::Dynamics::step`) on the branch its script names,
//! so that the cohort mode runs the same dynamics as the microsimulation.

use crate::dynamics::{Decision, Draws, GapOwner, NO_GAP, Person};
use crate::model::Organisation;

use super::arm::{Arm, Group, PRUNE, Row};
use super::mass::{Key, NO_CASE, excess_round, excess_scale};

/// The interval of each decision (`Decision as usize`), and one more that is not the
/// engine's: the end of a gap, decided step by step (`arm::GapLaw`).
const GAP_END: usize = Decision::ALL.len();
const LANES: usize = GAP_END + 1;

/// Enumerates the branches of a step: the step is re-run once per branch, following a
/// script of choices, and every decision on a uniform splits that uniform's current
/// interval (so a uniform the engine uses twice is split consistently).
pub(super) struct Chooser {
    script: Vec<u16>,
    options: Vec<u16>,
    pos: usize,
    pub prob: f64,
    lanes: [(f64, f64); LANES],
}

impl Chooser {
    pub fn new() -> Chooser {
        Chooser {
            script: Vec::new(),
            options: Vec::new(),
            pos: 0,
            prob: 1.0,
            lanes: [(0.0, 1.0); LANES],
        }
    }

    /// Forget every script: the next run explores a new step from its first branch.
    pub fn clear(&mut self) {
        self.script.clear();
        self.options.clear();
    }

    pub fn start(&mut self) {
        self.pos = 0;
        self.prob = 1.0;
        self.lanes = [(0.0, 1.0); LANES];
    }

    /// The bucket of `cuts` (increasing; bucket j is `[cuts[j-1], cuts[j])`, the last
    /// bucket `[cuts[n-1], 1)`) that the lane's uniform falls in, on this branch.
    pub fn pick(&mut self, lane: usize, cuts: &[f64]) -> usize {
        self.pick_with(lane, cuts.len(), |j| cuts[j])
    }

    /// [`Chooser::pick`] with cumulative shares as the cuts.
    pub fn pick_share(&mut self, lane: usize, shares: &[(usize, f64)]) -> usize {
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
    pub fn pick_free(&mut self, live: &[bool]) -> usize {
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

    pub fn below(&mut self, lane: usize, p: f64) -> bool {
        self.pick(lane, &[p]) == 0
    }

    /// Move to the next script; false when every branch has been run.
    pub fn advance(&mut self) -> bool {
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
pub(super) struct Leaf {
    pub p: f64,
    pub key: Key,
    /// The moves of the step, `(from, to)`: at most ten (`limits::MAX_ENTRIES_PER_STEP`
    /// says which).
    pub moves: [(u8, u8); 12],
    pub n_moves: usize,
    /// The transition bucket taken, if the transition was decided on this branch.
    pub bucket: Option<usize>,
    /// The state a hand-over gap ended into, if one did.
    pub gap_end: Option<u8>,
}

/// One branch of a person's step: the key as the step changes it, the branch's record,
/// and what the answers are taken from.
struct Branch<'s, 'a> {
    arm: &'s Arm<'a>,
    ch: &'s mut Chooser,
    group: &'s Group,
    row: Option<&'s Row>,
    key: Key,
    leaf: Leaf,
}

impl Person for Branch<'_, '_> {
    fn state(&self) -> usize {
        usize::from(self.key.state)
    }
    fn clock(&self) -> u16 {
        self.key.clock
    }
    fn phase(&self) -> u8 {
        self.key.phase
    }
    fn set_phase(&mut self, phase: u8) {
        self.key.phase = phase;
    }
    fn prog(&self) -> u16 {
        self.key.prog
    }
    fn set_prog(&mut self, prog: u16) {
        self.key.prog = prog;
    }
    fn income(&self) -> Option<f64> {
        self.group.income
    }
    fn move_to(&mut self, to: usize, clock: Option<u16>) {
        let leaf = &mut self.leaf;
        if leaf.n_moves < leaf.moves.len() {
            leaf.moves[leaf.n_moves] = (self.key.state, to as u8);
            leaf.n_moves += 1;
        }
        self.key.state = to as u8;
        if let Some(c) = clock {
            self.key.clock = c.min(self.arm.cap(to));
        }
    }
    fn case(&self) -> Option<(u16, u32)> {
        (self.key.case_at != NO_CASE).then_some((self.key.case_count, u32::from(self.key.case_at)))
    }
    fn set_case(&mut self, count: u16, at: u32) {
        // Capped as the case's clock is: larger counts cannot be told apart.
        let cap = self.arm.dy.case.map_or(0, |c| self.arm.cfg.caps[c.clock]);
        self.key.case_count = count.min(cap);
        self.key.case_at = at.min(u32::from(NO_CASE - 1)) as u16;
    }
    fn gap_ended(&mut self, to: usize) {
        self.leaf.gap_end = Some(to as u8);
    }
    fn advance_clock(&mut self) {
        // Capped where larger values cannot be told apart, so that such persons share
        // one key.
        let cap = self.arm.cap(usize::from(self.key.state));
        self.key.clock = self.key.clock.saturating_add(1).min(cap);
    }
    fn in_gap(&self) -> bool {
        self.key.gap_dest != NO_GAP
    }
    fn gap_dest(&self) -> usize {
        usize::from(self.key.gap_dest)
    }
    fn start_gap(&mut self, dest: usize, owner: GapOwner, length: u8) {
        self.key.gap_elapsed = length;
        self.key.gap_dest = dest as u8;
        self.key.gap_org = owner as u8;
    }
    fn end_gap(&mut self) {
        self.key.gap_dest = NO_GAP;
    }
    fn scale_excess(&mut self, f: f64) {
        self.key.excess = excess_scale(self.key.excess, f);
    }
    fn set_excess(&mut self, excess: f64) {
        self.key.excess = excess_round(excess);
    }
}

impl Draws for Branch<'_, '_> {
    fn happens(&mut self, decision: Decision, p: f64) -> bool {
        self.ch.below(decision as usize, p)
    }
    fn pick(&mut self, decision: Decision, shares: &[(usize, f64)]) -> usize {
        self.ch
            .pick_share(decision as usize, shares)
            .min(shares.len() - 1)
    }
    /// The key counts the steps spent in a gap instead of drawing its length: the gap
    /// ends step by step with the hazard of the length's law ([`Draws::gap_ends`]).
    fn gap_length(&mut self, _org: &Organisation, _decision: Decision) -> u8 {
        0
    }
    fn gap_ends(&mut self) -> bool {
        let law = self.arm.gap_law(self.key.gap_org);
        if self.ch.below(GAP_END, law.end(self.key.gap_elapsed)) {
            true
        } else {
            self.key.gap_elapsed = law.next(self.key.gap_elapsed);
            false
        }
    }
    /// Every bucket any class can reach is a branch; the caller weighs each per class
    /// (`Row::probs`), since the law of the move depends on the class.
    fn transition(&mut self) -> Option<usize> {
        let row = self.row?;
        let j = self.ch.pick_free(&row.live);
        self.leaf.bucket = Some(j);
        row.dests.get(j).copied()
    }
}

/// Every branch of one person's step from `key` at step `t`, with its probability apart
/// from the transition bucket's, into `sc.leaves`; the row into `sc.row`.
pub(super) fn step_leaves(
    arm: &Arm,
    group: &Group,
    key: Key,
    t: u32,
    age_months: usize,
    sc: &mut Scratch,
) {
    let Scratch { ch, row, leaves } = sc;
    leaves.clear();
    let has_row = arm.row(group, &key, t, age_months, row);
    let row = has_row.then_some(&*row);
    ch.clear();
    loop {
        ch.start();
        let mut branch = Branch {
            arm,
            ch,
            group,
            row,
            key,
            leaf: Leaf {
                p: 1.0,
                key,
                moves: [(0, 0); 12],
                n_moves: 0,
                bucket: None,
                gap_end: None,
            },
        };
        arm.dy.step(&mut branch, t, age_months);
        let mut leaf = branch.leaf;
        let in_case = arm
            .dy
            .case
            .is_some_and(|c| arm.dy.m.states[usize::from(branch.key.state)].clock == c.clock);
        leaf.key = branch
            .key
            .canonical(arm.dy.exit, t + 1, arm.dy.case, in_case);
        leaf.p = ch.prob;
        if leaf.p > 0.0 {
            leaves.push(leaf);
        }
        if !ch.advance() {
            break;
        }
    }
}

/// Buffers reused from one key to the next.
pub(super) struct Scratch {
    pub ch: Chooser,
    pub row: Row,
    pub leaves: Vec<Leaf>,
}

impl Scratch {
    pub fn new() -> Scratch {
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

#[cfg(test)]
mod tests {
    use super::*;

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
