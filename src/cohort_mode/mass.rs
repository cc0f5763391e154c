//! Probability mass over person states: the cohort mode's [`Key`] (the person state of
//! the dynamics, made canonical so that equivalent persons share one key) and [`Mass`],
//! a map from keys to their mass and attribute sums in a reproducible order.

use crate::dynamics::NO_GAP;
use crate::model::{PHASE_AFTER, PHASE_IN};

/// The person state of the shared dynamics (the microsimulation keeps it in
/// `engine::person::Cold`), as a map key. The clock is capped
/// where nothing can tell larger values apart; fields that cannot matter any more are
/// set to a canonical value so that equivalent persons share one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key {
    pub state: u8,
    pub phase: u8,
    /// Steps already spent in a hand-over gap (capped where the law of the gap length
    /// has a constant hazard), and where the person goes when it ends (`NO_GAP`: not in
    /// a gap), and whose gap it is (0: the arm's organisation, 1: the programme's).
    pub gap_elapsed: u8,
    pub gap_dest: u8,
    pub gap_org: u8,
    pub clock: u16,
    pub prog: u16,
    /// The programme's after-effect (the engine's `PersonState::excess`), as the bits of
    /// an f64 rounded to [`excess_round`]'s 40 significant bits.
    pub excess: u64,
    /// The sickness case the person left: its count and the step they left it at
    /// ([`NO_CASE`]: none; dropped once it can no longer resume).
    pub case_count: u16,
    pub case_at: u16,
}

/// `Key::case_at` without a sickness case.
pub(super) const NO_CASE: u16 = u16::MAX;

/// Round a positive after-effect to 40 significant bits (relative 1e-12). The engine
/// keeps it in f32 and multiplies it step by step; histories that give the same value
/// in a different order (a completion that loses half equals a dropout that keeps half)
/// differ only in the last bits of the product, and share one key once rounded.
pub(super) fn excess_round(x: f64) -> u64 {
    if x <= 0.0 || !x.is_finite() {
        return 0;
    }
    const DROP: u32 = 52 - 40;
    (x.to_bits() + (1 << (DROP - 1))) & !((1u64 << DROP) - 1)
}

pub(super) fn excess_scale(bits: u64, f: f64) -> u64 {
    excess_round(f64::from_bits(bits) * f)
}

impl Key {
    /// The key of a person at point `now`, with what can no longer matter set to a
    /// canonical value. A case (`case`) left more than `within` steps before cannot
    /// resume (a live case in a gap is kept up to date by the step), and neither matters
    /// the one of a person who is in the case's states (`in_case`): leaving them
    /// replaces it.
    pub fn canonical(
        mut self,
        exit: usize,
        now: u32,
        case: Option<crate::model::CaseClock>,
        in_case: bool,
    ) -> Key {
        let expired = in_case
            || case.is_none_or(|c| {
                self.case_at == NO_CASE || now.saturating_sub(u32::from(self.case_at)) > c.within
            });
        if expired {
            self.case_count = 0;
            self.case_at = NO_CASE;
        }
        if usize::from(self.state) == exit {
            // Never stepped again: only the ledger cell (state, clock, phase) matters.
            self.gap_dest = NO_GAP;
            self.prog = 0;
            self.excess = 0;
            self.case_count = 0;
            self.case_at = NO_CASE;
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
pub(super) struct Mass {
    pub stride: usize,
    index: indexmap::IndexSet<Key, std::hash::BuildHasherDefault<KeyHasher>>,
    values: Vec<f64>,
}

impl Mass {
    pub fn new(stride: usize) -> Mass {
        Mass::with_capacity(stride, 0)
    }
    pub fn with_capacity(stride: usize, n: usize) -> Mass {
        Mass {
            stride,
            index: indexmap::IndexSet::with_capacity_and_hasher(n, Default::default()),
            values: Vec::with_capacity(n * stride),
        }
    }
    pub fn add(&mut self, key: Key, scale: f64, v: &[f64]) {
        let k = self.slot(key);
        for (a, b) in self.values[k * self.stride..(k + 1) * self.stride]
            .iter_mut()
            .zip(v)
        {
            *a += scale * b;
        }
    }
    /// Add `scale × v` into block `c` (of `block` values) of `key`.
    pub fn add_block(&mut self, key: Key, c: usize, block: usize, scale: f64, v: &[f64]) {
        let k = self.slot(key);
        for (a, b) in self.values[k * self.stride + c * block..][..block]
            .iter_mut()
            .zip(v)
        {
            *a += scale * b;
        }
    }
    /// Add `factors[c] × v` block by block into `key`.
    pub fn add_blocks(&mut self, key: Key, block: usize, factors: &[f64], v: &[f64]) {
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
    pub fn entries(&self) -> impl Iterator<Item = (Key, &[f64])> {
        self.index
            .iter()
            .zip(self.values.chunks_exact(self.stride))
            .map(|(&k, v)| (k, v))
    }
    /// The number of keys.
    pub fn len(&self) -> usize {
        self.index.len()
    }
    pub fn scaled(&self, f: f64) -> Mass {
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
        h.write_u64(
            self.excess
                ^ u64::from(self.gap_org)
                ^ u64::from(self.case_count) << 40
                ^ u64::from(self.case_at) << 20,
        );
    }
}
