//! What the person pass of one arm shares between its parts: the arm's constants
//! ([`ArmCtx`]), what every chunk needs to know about a step ([`Pass`]) and what a chunk
//! contributes to it ([`ChunkOut`]); the fixed sizes of chunks and groups.

use crate::cohort::Cohort;
use crate::dynamics::Dynamics;
use crate::dynamics::rates::Tables;
use crate::ledger::{ChunkTally, Layout, OutcomeTally};
use crate::model::Model;
use crate::rng::Streams;

/// Persons per work unit in the monthly pass. Fixed (not derived from the thread count),
/// so results are identical whatever the number of threads.
pub const CHUNK: usize = ChunkTally::MAX_PERSONS;

/// Outcome checkpoints in months since entry (MODEL.md §7).
pub const OUTCOME_MONTHS: [u32; 4] = [6, 12, 24, 36];

/// Persons per group of the person pass: their month blocks are generated at a time, and
/// what the rest loop reads of the next group is prefetched while this one is stepped.
/// Small enough that a group's blocks, states and prefetched lines stay in L1 and that one
/// group's prefetches (about fifty lines) do not queue behind each other; large enough
/// to amortise the per-group calls. At 10^6 × 120 on one thread, 64 took 16 % less CPU
/// time than 128 and 30 % less than 256; 32, 48 and 96 were slower than 64
/// (BENCHMARKS.md, seventh round).
pub const SUB: usize = 64;

/// Per-arm constants the person pass needs: the arm's dynamics for each sex and what the
/// short path and the tally derive from them.
pub(super) struct ArmCtx<'a> {
    /// The women's and the men's part (the same values where nothing differs by sex).
    pub sexes: [PerSex<'a>; 2],
    pub cohort: &'a Cohort,
    pub streams: Streams,
    pub tally_layout: &'a Layout,
    /// The cohort's columns of the attributes the tally sums, in `sum_attrs` order.
    pub sum_cols: Vec<&'a [i64]>,
    /// The cohort's folded age column (`Cohort::age_off`).
    pub age_off: &'a [u32],
    /// The short path may cache row totals (not when hazards change with the step).
    pub cache: bool,
    pub income_attr: Option<usize>,
    /// Some value of the arm differs by sex (`Model::by_sex`).
    pub by_sex: bool,
}

/// What differs between the sexes in an arm's person pass.
pub(super) struct PerSex<'a> {
    pub dy: Dynamics<'a>,
    pub age_risk: &'a [f32],
    /// The programme's `retention_per_step` (1 without a programme).
    pub retention: f32,
    /// `age_until[state * (MAX_AGE_MONTHS + 1) + a]`: the first age in months above `a`
    /// at which the state's row or the age hazard ratio changes (`u16::MAX`: none).
    pub age_until: Vec<u16>,
}

impl<'a> ArmCtx<'a> {
    /// The part of person `i`'s sex.
    #[inline(always)]
    pub fn sx(&self, i: usize) -> &PerSex<'a> {
        &self.sexes[usize::from(self.sex(i))]
    }

    /// Person `i`'s sex where the arm's values differ by sex, else 0 (the women's part,
    /// which is then everyone's): most arms need no load per person for it.
    #[inline(always)]
    pub fn sex(&self, i: usize) -> u8 {
        if self.by_sex { self.cohort.sex[i] } else { 0 }
    }

    /// The dynamics of what both sexes share (states, flags, the programme's window).
    #[inline(always)]
    pub fn dy(&self) -> &Dynamics<'a> {
        &self.sexes[0].dy
    }
}

/// The transition rows of an arm for each sex (one table where no rate differs by sex).
pub(super) struct ArmTables {
    pub women: Tables,
    pub men: Option<Tables>,
}

impl ArmTables {
    pub fn build(m: &Model, step: u32) -> ArmTables {
        ArmTables {
            women: Tables::build(m, step),
            men: m.men.as_deref().map(|men| Tables::build(men, step)),
        }
    }

    /// The rows of sex `sex`.
    #[inline(always)]
    pub fn of(&self, sex: u8) -> &Tables {
        match (&self.men, sex) {
            (Some(t), 1) => t,
            _ => &self.women,
        }
    }
}

/// What every chunk's pass needs to know about step `t` besides the persons.
pub(super) struct Pass {
    /// Short path for quiet person-steps and the standing tally (else the reference: the
    /// full step for everyone and a tally recounted person by person).
    pub fast: bool,
    /// The persons who enter at `t`.
    pub entering: std::ops::Range<usize>,
    /// A person outside the programme is referred at `t` when the referral lane's draw is
    /// below this (`rng::draws_below` of the referral probability; 0 outside the window).
    pub referral_below: u64,
    /// The persons at an outcome checkpoint at `t`: `(k, lo, hi)`, persons `lo..hi` are
    /// the `k`-th checkpoint's months after their entry.
    pub checkpoints: Vec<(usize, usize, usize)>,
}

/// What a chunk of persons contributes to one step. One per chunk, kept across steps and
/// cleared after each merge, so the monthly pass allocates no per-person buffer (only the
/// step's short list of chunk work items, `run_arms`).
pub(super) struct ChunkOut {
    /// The chunk's persons per cell now, kept across steps: persons join when they enter
    /// and are shifted when they change cell, so the persons whose step changes nothing
    /// (most) cost nothing in the tally.
    pub standing: ChunkTally,
    /// The cells at this step's trace point, merged into the step's tally.
    pub cells: ChunkTally,
    pub outcomes: OutcomeTally,
    pub referrals: Vec<(u32, u16)>,
    pub in_prog_delta: i64,
    /// Moves and gap ends of the step, as `ledger::moves_len` lays them out.
    pub transitions: Vec<u32>,
    pub clamped: u64,
}

impl ChunkOut {
    pub fn new(m: &Model, layout: &Layout, checkpoints: usize) -> ChunkOut {
        ChunkOut {
            standing: ChunkTally::new(layout),
            cells: ChunkTally::new(layout),
            outcomes: OutcomeTally::new(layout, checkpoints),
            referrals: Vec::new(),
            in_prog_delta: 0,
            transitions: vec![0; crate::ledger::moves_len(m)],
            clamped: 0,
        }
    }

    pub fn clear(&mut self) {
        self.cells.clear();
        self.outcomes.clear();
        self.referrals.clear();
        self.in_prog_delta = 0;
        self.transitions.fill(0);
        self.clamped = 0;
    }
}
