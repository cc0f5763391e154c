//! The simulation: one replication of every arm as a pure function, and the parallel
//! driver over replications.
//!
//! Order of events in step `t` (fixed, documented in docs/model.md):
//! 1. intake: persons whose entry step is `t` enter (and may be referred at once);
//! 2. places: at intake dates, waiting persons are admitted first come, first served;
//! 3. trace point `t` is tallied (state, clock band, programme phase, sex) — the ledger,
//!    occupancy, outcome measures and outcomes are computed from these tallies;
//! 4. institutional rules: retirement, then forced transitions at fixed clock times;
//! 5. stochastic transitions (competing risks, or per-step probabilities);
//! 6. hand-overs: a move between two agencies may fail into a gap state for a while;
//! 7. programme progress: month counter, dropout, completion (with its own hand-over);
//! 8. decay of the programme's after-effect, clocks advance, referrals for step t+1.
//!
//! After the last step, places are filled once more and point `H` is tallied.
//!
//! The hot loop never posts money per person: it counts persons (and sums attributes)
//! per cell, and amounts are posted once per cell and point (`ledger.rs`). The arms of a
//! replication do not interact; they run side by side, step by step (`run_arms`), so that
//! the month blocks of the random numbers they share are computed once for all of them.

use rayon::prelude::*;

use crate::cohort::{Cohort, MAX_AGE_MONTHS};
use crate::ledger::{ArmRep, ChunkTally, OutcomeTally, Tally};
use crate::model::*;
use crate::rng::*;

/// Persons per work unit in the monthly pass. Fixed (not derived from the thread count),
/// so results are identical whatever the number of threads.
pub const CHUNK: usize = ChunkTally::MAX_PERSONS;

/// Outcome checkpoints in months since entry (MODEL.md §7).
pub const OUTCOME_MONTHS: [u32; 4] = [6, 12, 24, 36];

const NO_GAP: u8 = u8::MAX;

/// The part of a person's state in one arm that the sweep of cached quiet steps reads
/// ([`quiet_cached`]), kept in an array of its own: eight bytes, so that the
/// sweep streams 8 bytes per person instead of the whole state and its SIMD form loads
/// four persons per register.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
struct Hot {
    /// The short path's cache, valid in steps before `valid_until` (0: no cache): the
    /// transition draws at or above `quiet_from` are those at or above the total of the
    /// person's transition row (success hazards times the person's multiplier, plus the
    /// others). Until then, for a person outside the programme who takes only short-path
    /// steps, the row, the multiplier, the amount band, whether a referral can come and
    /// the absence of retirement are known not to change (`ArmCtx::fill_cache`).
    quiet_from: u32,
    valid_until: u16,
    /// `REFERABLE` (cached with the total: outside the programme in a state eligible for
    /// it, so a referral draw can end the short path) and `ABSORBED` (in an absorbing
    /// state: no step changes anything any more).
    flags: u8,
    /// Padding, named so that the layout the SIMD sweep relies on is spelled out.
    spare: u8,
}

/// The rest of a person's state in one arm.
#[derive(Debug, Clone, Copy)]
struct Cold {
    /// Excess hazard ratio on success moves kept after the programme (decays).
    excess: f32,
    /// Steps in the current state. While a cache is held (`valid_until != 0`) this is an
    /// offset: the clock at step `t` is `clock + t` (wrapping), so that the short step
    /// writes nothing to the person; [`PersonState::settle_clock`] makes it the clock.
    clock: u16,
    /// Steps in the programme (in programme) or the step of referral (waiting).
    prog: u16,
    state: u8,
    phase: u8,
    gap_left: u8,
    gap_dest: u8,
}

/// The state of a person in one arm, as the steps work on it: the person's places in the
/// arm's two arrays. Borrowed in place rather than copied out and back: the steps write
/// single fields, and reading the whole copy back right after them stalls on the
/// narrower stores (store forwarding fails), several per cent of a run.
#[derive(Debug)]
struct PersonState<'a> {
    hot: &'a mut Hot,
    cold: &'a mut Cold,
}

const _: () = assert!(size_of::<Hot>() == 8 && align_of::<Hot>() == 4);

/// `Hot::flags`.
const REFERABLE: u8 = 1;
const ABSORBED: u8 = 2;

impl PersonState<'_> {
    /// Make `clock` the clock at step `t` again (a cache keeps it as an offset) and drop a
    /// cache that has run out.
    #[inline(always)]
    fn settle_clock(&mut self, t: u32) {
        if self.hot.valid_until != 0 {
            self.cold.clock = self.cold.clock.wrapping_add(t as u16);
            if t >= u32::from(self.hot.valid_until) {
                self.hot.valid_until = 0;
            }
        }
    }

    /// `clock` is the clock at step `from`: keep it as an offset if the person holds a
    /// cache (after a short step at `t`, `from` is `t + 1`).
    #[inline(always)]
    fn offset_clock(&mut self, from: u32) {
        if self.hot.valid_until != 0 {
            self.cold.clock = self.cold.clock.wrapping_sub(from as u16);
        }
    }
}

/// Bytes the engine keeps per person and arm in flight: the person's state.
pub const PERSON_BYTES: u64 = (size_of::<Hot>() + size_of::<Cold>()) as u64;

/// One destination of a precomputed transition row.
#[derive(Debug, Clone, Copy)]
struct RowDest {
    to: u8,
    success: bool,
    attr: u8,
    h: f64,
}

const NO_ATTR: u8 = u8::MAX;

/// Persons per group of the person pass: their month blocks are generated at a time, and
/// what the rest loop reads of the next group is prefetched while this one is stepped.
/// Small enough that a group's blocks, states and prefetched lines stay in L1 and that one
/// group's prefetches (about fifty lines) do not queue behind each other; large enough
/// to amortise the per-group calls. At 10^6 × 120 on one thread, 64 took 16 % less CPU
/// time than 128 and 30 % less than 256; 32, 48 and 96 were slower than 64
/// (BENCHMARKS.md, seventh round).
const SUB: usize = 64;

// Per-state facts of the person pass, one byte per state.
const S_ABSORBING: u8 = 1;
const S_RULES: u8 = 2;
/// Eligible for the arm's programme.
const S_ELIGIBLE: u8 = 4;

#[derive(Debug, Clone, Copy, Default)]
struct Row {
    start: u32,
    len: u32,
    lam_s: f64,
    lam_o: f64,
    has_attr: bool,
    /// Competing hazards (else per-step probabilities): the state's `Mode`.
    hazard: bool,
}

/// Step-specific lookup tables of one arm. The band tables are flat with a fixed stride
/// (not a table per state): the row of a person is two independent loads after the state.
struct Tables {
    /// `rows[(state * clock_bands + clock_band) * age_bands + age_band]`.
    rows: Vec<Row>,
    dests: Vec<RowDest>,
    /// `clock_row[state * clock_stride + min(clock, clock_stride - 1)]` is the index of
    /// the state's row for age band 0 at that clock.
    clock_row: Vec<u32>,
    clock_stride: usize,
    /// `age_band[state * (MAX_AGE_MONTHS + 1) + age_months]`.
    age_band: Vec<u8>,
    /// Some hazard depends on age (else every age band is 0 and the lookup is skipped).
    by_age: bool,
    /// `clock_until[k]`, for `k` the index of `clock_row` at clock `c`: the first clock
    /// above `c` with another row (`u16::MAX`: none).
    clock_until: Vec<u16>,
    /// Without age bands: `(lam_s, lam_o)` of the row at `clock_row`'s index, one load
    /// for the short path's test; a row whose hazards depend on attributes has
    /// `lam_o = ∞`, so the test always sends it to the full path.
    quick: Vec<[f64; 2]>,
}

impl Tables {
    fn build(m: &Model, step: u32) -> Tables {
        let s_n = m.states.len();
        let mut clock_band = Vec::with_capacity(s_n);
        let mut age_band = Vec::with_capacity(s_n);
        let mut clock_breaks_all = Vec::with_capacity(s_n);
        let mut age_breaks_all = Vec::with_capacity(s_n);
        let mut mode = Vec::with_capacity(s_n);
        for s in 0..s_n {
            let (cb, ab, md) = match &m.transitions[s] {
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
                    (cb, ab, tr.mode)
                }
                None => (vec![], vec![], Mode::Hazard),
            };
            let max_clock = cb.last().copied().unwrap_or(0.0) as usize + 1;
            clock_band.push(
                (0..=max_clock)
                    .map(|c| cb.partition_point(|&b| b <= c as f64) as u8)
                    .collect::<Vec<u8>>(),
            );
            age_band.push(
                (0..=MAX_AGE_MONTHS)
                    .map(|a| ab.partition_point(|&b| b * 12.0 <= a as f64) as u8)
                    .collect::<Vec<u8>>(),
            );
            clock_breaks_all.push(cb);
            age_breaks_all.push(ab);
            mode.push(md);
        }
        let clock_bands = clock_breaks_all
            .iter()
            .map(|b| b.len() + 1)
            .max()
            .unwrap_or(1);
        let age_bands = age_breaks_all
            .iter()
            .map(|b| b.len() + 1)
            .max()
            .unwrap_or(1);
        let mut rows = vec![
            Row {
                hazard: true,
                ..Row::default()
            };
            s_n * clock_bands * age_bands
        ];
        let mut dests = Vec::new();
        for s in 0..s_n {
            let Some(tr) = &m.transitions[s] else {
                continue;
            };
            for cb in 0..=clock_breaks_all[s].len() {
                let clock_at = if cb == 0 {
                    0.0
                } else {
                    clock_breaks_all[s][cb - 1]
                };
                for ab in 0..=age_breaks_all[s].len() {
                    let age_at = if ab == 0 {
                        0.0
                    } else {
                        age_breaks_all[s][ab - 1]
                    };
                    let start = dests.len() as u32;
                    let mut row = Row {
                        start,
                        hazard: mode[s] == Mode::Hazard,
                        ..Row::default()
                    };
                    for d in &tr.dests {
                        let mut h = d.rate.at(clock_at);
                        if let Some(a) = &d.age {
                            h *= a.at(age_at);
                        }
                        if let Some(st) = &d.step {
                            h *= st.at(f64::from(step));
                        }
                        if h <= 0.0 {
                            continue;
                        }
                        let attr = d.attribute.map_or(NO_ATTR, |a| a as u8);
                        row.has_attr |= attr != NO_ATTR;
                        if d.success {
                            row.lam_s += h;
                        } else {
                            row.lam_o += h;
                        }
                        dests.push(RowDest {
                            to: d.to as u8,
                            success: d.success,
                            attr,
                            h,
                        });
                    }
                    row.len = dests.len() as u32 - start;
                    rows[(s * clock_bands + cb) * age_bands + ab] = row;
                }
            }
        }
        // Each state's clock table is padded with its last band up to the common stride.
        let clock_stride = clock_band.iter().map(Vec::len).max().unwrap_or(1);
        let mut clock_row = Vec::with_capacity(s_n * clock_stride);
        for (s, cbt) in clock_band.iter().enumerate() {
            let last = cbt.last().copied().unwrap_or(0);
            clock_row.extend((0..clock_stride).map(|c| {
                ((s * clock_bands + cbt.get(c).copied().unwrap_or(last) as usize) * age_bands)
                    as u32
            }));
        }
        let quick = clock_row
            .iter()
            .map(|&r| {
                let row = &rows[r as usize];
                if row.has_attr {
                    [0.0, f64::INFINITY]
                } else {
                    [row.lam_s, row.lam_o]
                }
            })
            .collect();
        let clock_until = (0..clock_row.len())
            .map(|k| {
                let (s, c) = (k / clock_stride, k % clock_stride);
                (c + 1..clock_stride)
                    .find(|&c2| clock_row[s * clock_stride + c2] != clock_row[k])
                    .map_or(u16::MAX, |c2| c2 as u16)
            })
            .collect();
        Tables {
            clock_until,
            quick,
            rows,
            dests,
            clock_row,
            clock_stride,
            age_band: age_band.concat(),
            by_age: age_bands > 1,
        }
    }

    #[inline]
    fn row(&self, state: usize, clock: u16, age_months: usize) -> &Row {
        let base = self.clock_row
            [state * self.clock_stride + (clock as usize).min(self.clock_stride - 1)]
            as usize;
        let ab = if self.by_age {
            self.age_band[state * (MAX_AGE_MONTHS + 1) + age_months.min(MAX_AGE_MONTHS)]
        } else {
            0
        };
        &self.rows[base + ab as usize]
    }
}

/// Per-arm constants the person pass needs.
struct ArmCtx<'a> {
    m: &'a Model,
    cohort: &'a Cohort,
    streams: Streams,
    age_risk: &'a [f32],
    tally_layout: &'a crate::ledger::Layout,
    /// The cohort's columns of the attributes the tally sums, in `sum_attrs` order.
    sum_cols: Vec<&'a [i64]>,
    /// `S_*` flags by state.
    sflags: Vec<u8>,
    rules_by_state: Vec<Vec<usize>>,
    /// The cohort's folded age column (`Cohort::age_off`).
    age_off: &'a [u32],
    mps: u32,
    retire_months: usize,
    exit: u8,
    /// Hazard ratio on success moves while in the programme.
    in_prog_mult: f64,
    /// Hazard ratio on success moves of the arm's own organisation (everyone else).
    system_mult: f64,
    drop_p: f64,
    /// The programme's `retention_per_step` (1 without a programme).
    retention: f32,
    /// The short path may cache row totals (not when hazards change with the step).
    cache: bool,
    /// `age_until[state * (MAX_AGE_MONTHS + 1) + a]`: the first age in months above `a`
    /// at which the state's row or the age hazard ratio changes (`u16::MAX`: none).
    age_until: Vec<u16>,
    income_attr: Option<usize>,
}

/// What every chunk's pass needs to know about step `t` besides the persons.
struct Pass {
    /// Short path for quiet person-steps and the standing tally (else the reference: the
    /// full step for everyone and a tally recounted person by person).
    fast: bool,
    /// The persons who enter at `t`.
    entering: std::ops::Range<usize>,
    /// A person outside the programme is referred at `t` when the referral lane's draw is
    /// below this (`rng::draws_below` of the referral probability; 0 outside the window).
    referral_below: u64,
    /// The persons at an outcome checkpoint at `t`: `(k, lo, hi)`, persons `lo..hi` are
    /// the `k`-th checkpoint's months after their entry.
    checkpoints: Vec<(usize, usize, usize)>,
}

/// What a chunk of persons contributes to one step. One per chunk, kept across steps and
/// cleared after each merge, so the monthly pass allocates no per-person buffer (only the
/// step's short list of chunk work items, `run_arms`).
struct ChunkOut {
    /// The chunk's persons per cell now, kept across steps: persons join when they enter
    /// and are shifted when they change cell, so the persons whose step changes nothing
    /// (most) cost nothing in the tally.
    standing: ChunkTally,
    /// The cells at this step's trace point, merged into the step's tally.
    cells: ChunkTally,
    outcomes: OutcomeTally,
    referrals: Vec<(u32, u16)>,
    in_prog_delta: i64,
    transitions: Vec<u32>,
    clamped: u64,
}

impl ChunkOut {
    fn new(m: &Model, layout: &crate::ledger::Layout, checkpoints: usize) -> ChunkOut {
        ChunkOut {
            standing: ChunkTally::new(layout),
            cells: ChunkTally::new(layout),
            outcomes: OutcomeTally::new(layout, checkpoints),
            referrals: Vec::new(),
            in_prog_delta: 0,
            transitions: vec![0; m.states.len() * m.states.len() * 2],
            clamped: 0,
        }
    }

    fn clear(&mut self) {
        self.cells.clear();
        self.outcomes.clear();
        self.referrals.clear();
        self.in_prog_delta = 0;
        self.transitions.fill(0);
        self.clamped = 0;
    }
}

impl ArmCtx<'_> {
    #[inline]
    fn success_multiplier(&self, i: usize, ps: &PersonState<'_>, age_months: usize) -> f64 {
        let mut m = f64::from(self.cohort.risk[i])
            * f64::from(self.age_risk[age_months.min(MAX_AGE_MONTHS)]);
        match ps.cold.phase {
            PHASE_IN => m *= self.in_prog_mult,
            PHASE_AFTER => m *= (1.0 + f64::from(ps.cold.excess)) * self.system_mult,
            _ => m *= self.system_mult,
        }
        m
    }

    /// The multiplier of a row's success hazards (`lam_s` their sum): the person's, or 1
    /// when the row has none. The short path and the full step both take it from here, so
    /// their totals are the same numbers.
    #[inline(always)]
    fn row_multiplier(&self, i: usize, ps: &PersonState<'_>, age_months: usize, lam_s: f64) -> f64 {
        if lam_s > 0.0 {
            self.success_multiplier(i, ps, age_months)
        } else {
            1.0
        }
    }

    /// The organisation that handles a person: the programme's while in it.
    fn organisation(&self, ps: &PersonState<'_>) -> &Organisation {
        match (&self.m.arm.programme, ps.cold.phase) {
            (
                Some(Programme {
                    organisation: Some(o),
                    ..
                }),
                PHASE_IN,
            ) => o,
            _ => &self.m.arm.organisation,
        }
    }

    /// Move person `i` from its state to `to`, applying the hand-over rule.
    #[allow(clippy::too_many_arguments)]
    fn enter(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        to: usize,
        t: u32,
        lane_bits: u32,
        detail: Purpose,
        out: &mut ChunkOut,
        moved: &mut bool,
    ) {
        let from = ps.cold.state as usize;
        let m = self.m;
        let s_n = m.states.len();
        let org = self.organisation(ps);
        let mut dest = to;
        if org.handover_failure > 0.0
            && m.handover[from * s_n + to]
            && unit(lane_bits) < org.handover_failure
        {
            let d = self.streams.block(i as u32, t, detail);
            let u = unit(d[LANE_GAP_STATE]);
            let landing = org
                .gap_states
                .iter()
                .find(|&&(_, c)| u < c)
                .or(org.gap_states.last())
                .map_or(to, |&(s, _)| s);
            if landing != to && landing != from {
                let len = org
                    .gap_months
                    .quantile(unit(d[LANE_GAP_LENGTH]))
                    .round()
                    .clamp(1.0, 254.0) as u8;
                ps.cold.gap_left = len;
                ps.cold.gap_dest = to as u8;
                ps.cold.excess *= (1.0 - org.effect_loss) as f32;
                dest = landing;
            }
        }
        self.set_state(i, ps, dest, out, moved);
    }

    fn set_state(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        to: usize,
        out: &mut ChunkOut,
        moved: &mut bool,
    ) {
        let from = ps.cold.state as usize;
        let m = self.m;
        let s_n = m.states.len();
        out.transitions[(from * s_n + to) * 2 + self.cohort.sex[i] as usize] += 1;
        if m.states[from].clock != m.states[to].clock {
            ps.cold.clock = 0;
            *moved = true;
        }
        ps.cold.state = to as u8;
        if m.states[to].absorbing {
            ps.hot.flags |= ABSORBED;
        }
        if ps.cold.phase == PHASE_WAITING && (m.states[to].success || m.states[to].absorbing) {
            ps.cold.phase = PHASE_NONE;
        }
        // Leaving the model (retirement, death, any absorbing state) frees the place.
        if ps.cold.phase == PHASE_IN && m.states[to].absorbing {
            ps.cold.phase = PHASE_AFTER;
            out.in_prog_delta -= 1;
        }
    }

    /// Forced transitions. A rule `after = a` moves a person in the step that completes
    /// their `a`-th step on the clock (so they are counted in the state at `a` trace
    /// points); rules with `after = 0` fire as soon as a person enters the state, also
    /// within the same step, up to a chain of four. `first` is false when called after
    /// another move in the same step (then only `after = 0` rules apply).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn apply_rules(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        t: u32,
        blk: &[u32; 4],
        out: &mut ChunkOut,
        moved: &mut bool,
        first: bool,
    ) -> bool {
        // Most states have no rule: tested here, inlined, rather than after a call.
        self.sflags[ps.cold.state as usize] & S_RULES != 0
            && self.fire_rules(i, ps, t, blk, out, moved, first)
    }

    /// [`ArmCtx::apply_rules`] for a person in a state with rules.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn fire_rules(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        t: u32,
        blk: &[u32; 4],
        out: &mut ChunkOut,
        moved: &mut bool,
        first: bool,
    ) -> bool {
        let m = self.m;
        let c = self.cohort;
        let mut any = false;
        for depth in 0..4 {
            let s = ps.cold.state as usize;
            let fired = self.rules_by_state[s]
                .iter()
                .map(|&r| &m.rules[r])
                .find(|r| {
                    let due = if first && depth == 0 {
                        u32::from(ps.cold.clock) + 1 >= r.after
                    } else {
                        r.after == 0
                    };
                    due && match r.income {
                        IncomeFilter::Any => true,
                        IncomeFilter::Positive => {
                            self.income_attr.is_some_and(|a| c.attr(a, i) > 0.0)
                        }
                        IncomeFilter::Zero => self.income_attr.is_some_and(|a| c.attr(a, i) == 0.0),
                    }
                });
            let Some(rule) = fired else { break };
            let to = if rule.to.len() == 1 {
                rule.to[0].0
            } else {
                let u = unit(self.rule_bits(i, t));
                rule.to
                    .iter()
                    .find(|&&(_, cum)| u < cum)
                    .or(rule.to.last())
                    .map_or(s, |&(s, _)| s)
            };
            ps.cold.gap_left = 0;
            ps.cold.gap_dest = NO_GAP;
            self.enter(
                i,
                ps,
                to,
                t,
                blk[LANE_HANDOVER],
                Purpose::MonthDetail,
                out,
                moved,
            );
            any = true;
        }
        any
    }

    /// The forced-rule destination draw. Kept out of line: inlined, the compiler hoisted
    /// this pure Philox block out of the rule loop and computed it for every person and
    /// month, fired rule or not (a third of the run time in a profile).
    #[cold]
    #[inline(never)]
    fn rule_bits(&self, i: usize, t: u32) -> u32 {
        self.streams.block(i as u32, t, Purpose::MonthDetail)[LANE_RULE]
    }

    #[inline(always)]
    fn age_months(&self, i: usize, t: u32) -> usize {
        self.age_off[i].wrapping_add(t.wrapping_mul(self.mps)) as usize
    }

    /// Whether step `t` of person `i` changes nothing but the clock and the decay of the
    /// after-effect: no retirement, rule, gap, programme month, move or referral. A pure
    /// test on the same numbers [`ArmCtx::step_person`] uses, so that taking the short
    /// path for these persons (about 19 in 20 person-months) cannot change a result;
    /// `tests` run every scenario both ways and compare the outputs.
    #[inline(always)]
    fn quiet(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        t: u32,
        tables: &Tables,
        blk: &[u32; 4],
    ) -> bool {
        let flags = self.sflags[ps.cold.state as usize];
        if flags & S_RULES != 0 || ps.cold.gap_left > 0 || ps.cold.phase == PHASE_IN {
            return false;
        }
        if t < u32::from(ps.hot.valid_until) {
            if blk[LANE_TRANSITION] < ps.hot.quiet_from {
                return false;
            }
        } else {
            let Some((k, age_months, total)) = self.row_total(i, ps, t, tables) else {
                return false;
            };
            // The multiplier of a person after the programme changes every step (the
            // after-effect decays), so only other persons' totals are cached.
            if self.cache && ps.cold.phase != PHASE_AFTER {
                let edge_from = ps.cold.clock.saturating_add(1);
                self.fill_cache(ps, t, k, age_months, total, tables, edge_from);
            }
            // Both modes move nobody when the draw is at or above the row's total (a
            // hazard total bounds the probability of leaving; a probability row above 1
            // always catches the draw and is clamped on the full path).
            if unit(blk[LANE_TRANSITION]) < total {
                return false;
            }
        }
        !(ps.cold.phase == PHASE_NONE && flags & S_ELIGIBLE != 0 && self.referred(t, blk))
    }

    /// The short path's test of step `t` for a person without a cache: the index of the
    /// row (`clock_row`'s), the age in months and the total of the transition row (success
    /// hazards times the person's multiplier, plus the others); `None` when the step is
    /// not quiet whatever the draw (the person reaches retirement age, or the row's
    /// hazards depend on attributes).
    #[inline(always)]
    fn row_total(
        &self,
        i: usize,
        ps: &PersonState<'_>,
        t: u32,
        tables: &Tables,
    ) -> Option<(usize, usize, f64)> {
        let age_months = self.age_months(i, t);
        if age_months + self.mps as usize >= self.retire_months {
            return None;
        }
        let k = ps.cold.state as usize * tables.clock_stride
            + (ps.cold.clock as usize).min(tables.clock_stride - 1);
        let [lam_s, lam_o] = if tables.by_age {
            let row = tables.row(ps.cold.state as usize, ps.cold.clock, age_months);
            if row.has_attr {
                return None;
            }
            [row.lam_s, row.lam_o]
        } else {
            tables.quick[k]
        };
        let total = self.row_multiplier(i, ps, age_months, lam_s) * lam_s + lam_o;
        Some((k, age_months, total))
    }

    /// Fill the cache of a person who could take quiet steps (outside the programme, no
    /// rules, no gap, not absorbed) from step `from` on, that step included, as
    /// [`ArmCtx::quiet`] would at `from`; `ps.cold.clock` is the clock at `from`. Called
    /// after a full step at `t` with `from = t + 1` ([`ArmCtx::cache_ahead`]: about a third
    /// of the rest loop's persons were there only to refill the cache, most right after a
    /// move) and for the persons who enter at `from` ([`ArmCtx::begin_chunk`]: every
    /// person's first step), so that the sweep settles those quiet steps.
    #[inline(always)]
    fn cache_from(&self, i: usize, ps: &mut PersonState<'_>, from: u32, tables: &Tables) {
        let flags = self.sflags[ps.cold.state as usize];
        if !self.cache
            || flags & (S_RULES | S_ABSORBING) != 0
            || ps.cold.gap_left > 0
            || ps.cold.phase == PHASE_IN
            || ps.cold.phase == PHASE_AFTER
        {
            return;
        }
        let Some((k, age_months, total)) = self.row_total(i, ps, from, tables) else {
            return;
        };
        // Step `from` is cached too, so it must not cross an amount band either.
        self.fill_cache(ps, from, k, age_months, total, tables, ps.cold.clock);
        ps.offset_clock(from);
    }

    /// [`ArmCtx::cache_from`] the step after a full step at `t`.
    #[inline(always)]
    fn cache_ahead(&self, i: usize, ps: &mut PersonState<'_>, t: u32, tables: &Tables) {
        self.cache_from(i, ps, t + 1, tables);
    }

    /// Cache, for the steps in which neither the row (clock and age bands) nor the age
    /// hazard ratio nor the tally's amount band changes, the person does not reach
    /// retirement age and the clock cannot saturate: the quiet draws (`draws_below(total)`)
    /// and whether a referral can interrupt. The caller turns the clock into an offset
    /// after the step (`PersonState::offset_clock`).
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn fill_cache(
        &self,
        ps: &mut PersonState<'_>,
        t: u32,
        k: usize,
        age_months: usize,
        total: f64,
        tables: &Tables,
        edge_from: u16,
    ) {
        let mps = self.mps as usize;
        // Steps until a bound is reached (each at least 1 here: the person is below all).
        // (A division only on the rarer multi-month steps.)
        let steps_to_age = |age: usize| {
            if mps == 1 {
                age - age_months
            } else {
                (age - age_months).div_ceil(mps)
            }
        };
        let clock_until = tables.clock_until[k];
        let by_clock = if clock_until == u16::MAX {
            usize::MAX
        } else {
            usize::from(clock_until - ps.cold.clock)
        };
        let age_until = self.age_until
            [ps.cold.state as usize * (MAX_AGE_MONTHS + 1) + age_months.min(MAX_AGE_MONTHS)];
        let by_age = if age_until == u16::MAX {
            usize::MAX
        } else {
            steps_to_age(usize::from(age_until))
        };
        let by_retirement = steps_to_age(self.retire_months - mps);
        // The cached steps must stay in the amount band: those from the clock `edge_from`
        // on (the clock's next value when the step at `t` is the full path's, else its
        // value at `t`).
        let by_edge = self
            .tally_layout
            .next_edge(ps.cold.state as usize, edge_from)
            .map_or(usize::MAX, |e| usize::from(e - ps.cold.clock));
        // The clock, counted as an offset while cached, must not reach its saturation.
        let by_saturation = usize::from(u16::MAX - ps.cold.clock);
        let steps = by_clock
            .min(by_age)
            .min(by_retirement)
            .min(by_edge)
            .min(by_saturation);
        // A total that every draw is below caches nothing: those persons take the full
        // path every step anyway.
        let Ok(quiet_from) = u32::try_from(draws_below(total)) else {
            ps.hot.valid_until = 0;
            return;
        };
        ps.hot.valid_until = (t as usize)
            .saturating_add(steps)
            .min(usize::from(u16::MAX)) as u16;
        ps.hot.quiet_from = quiet_from;
        let referable =
            ps.cold.phase == PHASE_NONE && self.sflags[ps.cold.state as usize] & S_ELIGIBLE != 0;
        ps.hot.flags = (ps.hot.flags & !REFERABLE) | if referable { REFERABLE } else { 0 };
    }

    /// The referral lane's draws that refer a person not in or waiting for the programme
    /// in step `t` (for step `t + 1`): `rng::draws_below` of the referral probability
    /// inside the referral window, else none.
    fn referral_below(&self, t: u32) -> u64 {
        self.m.arm.programme.as_ref().map_or(0, |p| {
            let next = t + 1;
            if next >= p.referral_from && next < p.referral_until {
                draws_below(p.referral)
            } else {
                0
            }
        })
    }

    /// The referral draw for step `t + 1` of a person not in or waiting for the programme.
    #[inline(always)]
    fn referred(&self, t: u32, blk: &[u32; 4]) -> bool {
        u64::from(blk[LANE_REFERRAL]) < self.referral_below(t)
    }

    /// Steps 4–8 for one person in step `t`.
    #[inline(never)]
    fn step_person(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        t: u32,
        tables: &Tables,
        blk: [u32; 4],
        out: &mut ChunkOut,
    ) {
        let m = self.m;
        let c = self.cohort;
        let age_months = self.age_months(i, t);
        let mut moved = false;
        // Whatever happens below, the short path's cached total is recomputed next time.
        ps.hot.valid_until = 0;
        let mut decided = false;

        // 4. Institutional rules. Retirement takes effect at the end of the step in
        // which the person reaches the retirement age.
        if age_months + self.mps as usize >= self.retire_months {
            self.set_state(i, ps, self.exit as usize, out, &mut moved);
            ps.cold.gap_left = 0;
            return;
        }
        if self.apply_rules(i, ps, t, &blk, out, &mut moved, true) {
            decided = true;
        }

        // 6a. A hand-over gap ends: the next actor picks the person up.
        if !decided && ps.cold.gap_left > 0 {
            ps.cold.gap_left -= 1;
            if ps.cold.gap_left == 0 {
                let to = ps.cold.gap_dest as usize;
                ps.cold.gap_dest = NO_GAP;
                self.set_state(i, ps, to, out, &mut moved);
                decided = true;
            }
        }

        // 5. Stochastic transitions.
        if !decided {
            let s = ps.cold.state as usize;
            let row = tables.row(s, ps.cold.clock, age_months);
            if row.len > 0 {
                let u = unit(blk[LANE_TRANSITION]);
                let mult = self.row_multiplier(i, ps, age_months, row.lam_s);
                let dests = &tables.dests[row.start as usize..(row.start + row.len) as usize];
                let weight = |d: &RowDest| -> f64 {
                    let mut h = d.h;
                    if d.success {
                        h *= mult;
                    }
                    if d.attr != NO_ATTR {
                        h *= c.attr(d.attr as usize, i);
                    }
                    h
                };
                let total = if row.has_attr {
                    dests.iter().map(weight).sum::<f64>()
                } else {
                    mult * row.lam_s + row.lam_o
                };
                let chosen = if row.hazard {
                    // Without attribute factors, and with a multiplier that is not negative,
                    // every weight is at least 0.
                    let monotone = !row.has_attr && mult >= 0.0;
                    hazard_move(u, total, dests, weight, monotone)
                } else if total > 1.0 {
                    // Documented clamp: multipliers pushed the row above 1, so it is
                    // rescaled to sum to 1 and the event is counted.
                    out.clamped += 1;
                    Some(pick_dest(dests, weight, u * total))
                } else if u < total {
                    Some(pick_dest(dests, weight, u))
                } else {
                    None
                };
                if let Some(k) = chosen {
                    let to = dests[k].to as usize;
                    if ps.cold.gap_left > 0 {
                        ps.cold.gap_left = 0;
                        ps.cold.gap_dest = NO_GAP;
                    }
                    self.enter(
                        i,
                        ps,
                        to,
                        t,
                        blk[LANE_HANDOVER],
                        Purpose::MonthDetail,
                        out,
                        &mut moved,
                    );
                    self.apply_rules(i, ps, t, &blk, out, &mut moved, false);
                }
            }
        }

        // 7. Programme progress.
        if ps.cold.phase == PHASE_IN {
            if let Some(p) = &m.arm.programme {
                ps.cold.prog = ps.cold.prog.saturating_add(1);
                let total = self.in_prog_mult - 1.0;
                let exit_kind = if unit(blk[LANE_DROPOUT]) < self.drop_p {
                    Some(p.dropout_effect_retained)
                } else if u32::from(ps.cold.prog) >= p.duration {
                    Some(1.0 - p.location.relapse)
                } else {
                    None
                };
                if let Some(kept) = exit_kind {
                    ps.cold.phase = PHASE_AFTER;
                    ps.cold.excess = (total * kept) as f32;
                    out.in_prog_delta -= 1;
                    let s = ps.cold.state as usize;
                    if p.handover_at_exit
                        && !m.states[s].success
                        && m.states[s].agency.is_some()
                        && ps.cold.gap_left == 0
                    {
                        // The next actor must take over: under a siloed organisation the
                        // person may wait in a gap state before returning.
                        let e = self.streams.block(i as u32, t, Purpose::ProgrammeExit);
                        let org = p.organisation.as_ref().unwrap_or(&m.arm.organisation);
                        if org.handover_failure > 0.0 && unit(e[0]) < org.handover_failure {
                            let u = unit(e[1]);
                            let landing = org
                                .gap_states
                                .iter()
                                .find(|&&(_, c)| u < c)
                                .or(org.gap_states.last())
                                .map_or(s, |&(x, _)| x);
                            if landing != s {
                                let len = org
                                    .gap_months
                                    .quantile(unit(e[2]))
                                    .round()
                                    .clamp(1.0, 254.0)
                                    as u8;
                                ps.cold.excess *= (1.0 - org.effect_loss) as f32;
                                self.set_state(i, ps, landing, out, &mut moved);
                                ps.cold.gap_left = len;
                                ps.cold.gap_dest = s as u8;
                            }
                        }
                    }
                }
            }
        } else if ps.cold.phase == PHASE_AFTER {
            // 8. Drop-off of the after-effect.
            if let Some(p) = &m.arm.programme {
                ps.cold.excess *= p.retention_per_step as f32;
            }
        }

        // 8. Clocks and referrals for the next step.
        if !moved {
            ps.cold.clock = ps.cold.clock.saturating_add(1);
        }
        if ps.cold.phase == PHASE_NONE
            && self.sflags[ps.cold.state as usize] & S_ELIGIBLE != 0
            && self.referred(t, &blk)
        {
            ps.cold.phase = PHASE_WAITING;
            ps.cold.prog = (t + 1).min(u32::from(u16::MAX)) as u16;
            out.referrals.push((i as u32, ps.cold.prog));
        }
    }

    /// The start of the person pass of one chunk (persons `base ..`) in step `t`: the
    /// persons who enter join the standing tally, which becomes trace point `t`'s, and
    /// hold a cache from `t` on (nobody enters at the horizon: the scenario's validation
    /// requires the last intake before it).
    #[allow(clippy::too_many_arguments)]
    fn begin_chunk(
        &self,
        t: u32,
        base: usize,
        hot: &mut [Hot],
        cold: &mut [Cold],
        tables: &Tables,
        pass: &Pass,
        out: &mut ChunkOut,
    ) {
        debug_assert!(pass.entering.is_empty() || t < self.m.horizon);
        if pass.fast {
            let end = base + cold.len();
            for i in pass.entering.start.max(base)..pass.entering.end.min(end) {
                let cell = self.cell_of(i, &cold[i - base]);
                out.standing.add(cell, &self.sum_cols, i);
                let mut ps = PersonState {
                    hot: &mut hot[i - base],
                    cold: &mut cold[i - base],
                };
                self.cache_from(i, &mut ps, t, tables);
            }
            out.cells.copy_from(&out.standing);
        }
    }

    /// The person pass of one group (persons `first ..`) in step `t`, after
    /// [`ArmCtx::begin_chunk`] of its chunk: tally trace point `t`, then, with the
    /// group's month blocks (`None` at the horizon), steps 4–8 of every person still in
    /// the model.
    #[allow(clippy::too_many_arguments)]
    fn pass_group(
        &self,
        t: u32,
        first: usize,
        hot: &mut [Hot],
        cold: &mut [Cold],
        lanes: Option<&Lanes>,
        tables: &Tables,
        pass: &Pass,
        out: &mut ChunkOut,
    ) {
        debug_assert_eq!(hot.len(), cold.len());
        if !pass.fast {
            self.tally_group(first, cold, out);
        }
        for &(k, lo, hi) in &pass.checkpoints {
            for i in lo.max(first)..hi.min(first + cold.len()) {
                let c = &cold[i - first];
                out.outcomes.add(
                    k,
                    c.state as usize,
                    self.cohort.sex[i] as usize,
                    c.phase >= PHASE_IN,
                );
            }
        }
        let Some(lanes) = lanes else {
            return;
        };
        if !pass.fast {
            for (j, (h, c)) in hot.iter_mut().zip(cold.iter_mut()).enumerate() {
                if self.sflags[c.state as usize] & S_ABSORBING == 0 {
                    let mut ps = PersonState { hot: h, cold: c };
                    self.step_person(first + j, &mut ps, t, tables, block_of(lanes, j), out);
                }
            }
            return;
        }
        let mut rest = [0u8; SUB + 8];
        let rest = quiet_cached(t, pass.referral_below, hot, lanes, &mut rest);
        for &j in rest {
            let j = usize::from(j);
            let mut ps = PersonState {
                hot: &mut hot[j],
                cold: &mut cold[j],
            };
            let ps = &mut ps;
            let blk = block_of(lanes, j);
            debug_assert_eq!(
                ps.hot.flags & ABSORBED != 0,
                self.sflags[ps.cold.state as usize] & S_ABSORBING != 0
            );
            let i = first + j;
            ps.settle_clock(t);
            if self.quiet(i, ps, t, tables, &blk) {
                if ps.cold.phase == PHASE_AFTER {
                    ps.cold.excess *= self.retention;
                }
                if self
                    .tally_layout
                    .band_edge(ps.cold.state as usize, ps.cold.clock)
                {
                    let from = self.cell_of(i, ps.cold);
                    ps.cold.clock = ps.cold.clock.saturating_add(1);
                    out.standing
                        .shift(from, self.cell_of(i, ps.cold), &self.sum_cols, i);
                } else {
                    ps.cold.clock = ps.cold.clock.saturating_add(1);
                }
                ps.offset_clock(t + 1);
            } else {
                let from = self.cell_of(i, ps.cold);
                self.step_person(i, ps, t, tables, blk, out);
                let to = self.cell_of(i, ps.cold);
                if to != from {
                    out.standing.shift(from, to, &self.sum_cols, i);
                }
                self.cache_ahead(i, ps, t, tables);
            }
        }
    }

    /// Ask the cache for the summed-attribute values of persons `from .. from + len` (the
    /// caller passes the group two ahead: one ahead leaves too little time). A person who
    /// changes cell reads theirs (`ChunkTally::shift`); a few per cent of persons do,
    /// scattered, so without this each read is a cache miss the person loop waits for,
    /// one at a time. A hint only: results do not depend on it. The arms usually sum the
    /// same columns, so a column an arm before this one (`earlier`) sums is left to it.
    #[inline(always)]
    fn prefetch_sums(&self, from: usize, len: usize, earlier: &[(&ArmCtx, &Tables, &Pass)]) {
        for col in &self.sum_cols {
            let seen = earlier.iter().any(|(arm, _, _)| {
                arm.sum_cols
                    .iter()
                    .any(|c| std::ptr::eq(c.as_ptr(), col.as_ptr()))
            });
            if !seen {
                prefetch(col.get(from..(from + len).min(col.len())).unwrap_or(&[]));
            }
        }
    }

    /// The tally cell of person `i` now.
    #[inline(always)]
    fn cell_of(&self, i: usize, c: &Cold) -> usize {
        self.tally_layout.cell(
            c.state as usize,
            c.clock,
            c.phase,
            self.cohort.sex[i] as usize,
        )
    }

    /// The reference tally of trace point `t`: persons `first ..` counted one by one in
    /// their cells (the standing tally must give the same counts and sums).
    fn tally_group(&self, first: usize, group: &[Cold], out: &mut ChunkOut) {
        match *self.sum_cols.as_slice() {
            [] => self.tally_cells::<0>(first, group, out),
            [_] => self.tally_cells::<1>(first, group, out),
            [_, _] => self.tally_cells::<2>(first, group, out),
            [_, _, _] => self.tally_cells::<3>(first, group, out),
            [_, _, _, _] => self.tally_cells::<4>(first, group, out),
            _ => {
                for (j, c) in group.iter().enumerate() {
                    let i = first + j;
                    out.cells.add(self.cell_of(i, c), &self.sum_cols, i);
                }
            }
        }
    }

    /// Count persons `base ..` in their cells, for a layout with `N` summed attributes.
    #[inline(always)]
    fn tally_cells<const N: usize>(&self, base: usize, chunk: &[Cold], out: &mut ChunkOut) {
        let n = chunk.len();
        let sex = &self.cohort.sex[base..base + n];
        let cols: [&[i64]; N] = std::array::from_fn(|k| &self.sum_cols[k][base..base + n]);
        for (j, (c, &sx)) in chunk.iter().zip(sex).enumerate() {
            let cell = self
                .tally_layout
                .cell(c.state as usize, c.clock, c.phase, sx as usize);
            out.cells
                .add_n::<N>(cell, std::array::from_fn(|k| cols[k][j]));
        }
    }
}

/// The destination (an index into `dests`) of the move that the draw `target` in
/// `0 .. Σ weight` picks: the first whose cumulative weight exceeds it, else the last.
#[inline(always)]
fn pick_dest(dests: &[RowDest], weight: impl Fn(&RowDest) -> f64, target: f64) -> usize {
    let mut acc = 0.0;
    for (k, d) in dests.iter().enumerate() {
        acc += weight(d);
        if target < acc {
            return k;
        }
    }
    dests.len() - 1
}

/// [`pick_dest`] of two draws `lo <= hi` in one pass over the same cumulative sums.
#[inline(always)]
fn pick_dests(
    dests: &[RowDest],
    weight: impl Fn(&RowDest) -> f64,
    lo: f64,
    hi: f64,
) -> (usize, usize) {
    let (mut acc, mut at_lo) = (0.0, None);
    for (k, d) in dests.iter().enumerate() {
        acc += weight(d);
        if at_lo.is_none() && lo < acc {
            at_lo = Some(k);
        }
        if hi < acc {
            return (at_lo.unwrap_or(k), k);
        }
    }
    let last = dests.len() - 1;
    (at_lo.unwrap_or(last), last)
}

/// Bounds `(lo, hi)` on `-(-x).exp_m1()`, the probability of leaving a row of total hazard
/// `x`, for `2^-32 <= x <= 1`: the series x − x²/2 + x³/6 − … alternates with shrinking
/// terms there, so it lies between its partial sums x − x²/2 and x − x²/2 + x³/6; the
/// relative margin of 2^-40 covers the few ulps of rounding in these sums and in libm's
/// `expm1` (within an ulp or two of the exact value) a thousand times over.
#[inline(always)]
fn leave_bracket(x: f64) -> Option<(f64, f64)> {
    const MARGIN: f64 = 1.0 / (1u64 << 40) as f64;
    if !((1.0 / 4_294_967_296.0..=1.0).contains(&x)) {
        return None;
    }
    let lo = x - 0.5 * x * x;
    let hi = lo + x * x * x * (1.0 / 6.0);
    Some((lo * (1.0 - MARGIN), hi * (1.0 + MARGIN)))
}

/// Whether a draw `u` leaves a competing-hazards row of total hazard `total` (probability
/// `1 − e^(−total)`), and to which destination (an index into `dests`, picked in
/// proportion to the weights by `u / P(leave) · total`). Most persons are decided without
/// the exponential: `P(leave) <= total`, and, when every weight is at least 0
/// (`monotone`), the bounds of [`leave_bracket`] settle both the move and the destination
/// unless the draw lies within them of a boundary — the pick is monotone in its draw, and
/// a correctly rounded division and product are monotone in their operands, so the pick
/// of the exact draw lies between the picks of the bounds' draws. The answer is the one
/// the exponential gives, bit for bit; a test compares the two on millions of draws.
#[inline(always)]
fn hazard_move(
    u: f64,
    total: f64,
    dests: &[RowDest],
    weight: impl Fn(&RowDest) -> f64 + Copy,
    monotone: bool,
) -> Option<usize> {
    if !(total > 0.0 && u < total) {
        return None;
    }
    if monotone && let Some((lo, hi)) = leave_bracket(total) {
        if u >= hi {
            return None;
        }
        if u < lo {
            let (a, b) = pick_dests(dests, weight, u / hi * total, u / lo * total);
            if a == b {
                return Some(a);
            }
        }
    }
    hazard_move_exact(u, total, dests, weight)
}

/// [`hazard_move`] with the exponential computed.
#[inline(never)]
fn hazard_move_exact(
    u: f64,
    total: f64,
    dests: &[RowDest],
    weight: impl Fn(&RowDest) -> f64,
) -> Option<usize> {
    if !(total > 0.0 && u < total) {
        return None;
    }
    let p_leave = -(-total).exp_m1();
    debug_assert!((0.0..=1.0).contains(&p_leave));
    (u < p_leave).then(|| pick_dest(dests, weight, u / p_leave * total))
}

/// Ask the cache for the lines that hold `part`. A hint only: results do not depend on it.
#[inline(always)]
fn prefetch<T>(part: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = part.as_ptr().cast::<u8>();
        let bytes = size_of_val(part);
        let mut off = 0;
        while off < bytes {
            // SAFETY: prefetching is a hint and never faults; the address is in `part`.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    start.wrapping_add(off).cast(),
                );
            }
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = part;
}

/// One group's month blocks, word by word (`Streams::lanes_into`): `lanes[k][j]` is word
/// `k` of the block of the group's person `j`.
type Lanes = [[u32; SUB]; 4];

/// The month block of the group's person `j`.
#[inline(always)]
fn block_of(lanes: &Lanes, j: usize) -> [u32; 4] {
    [lanes[0][j], lanes[1][j], lanes[2][j], lanes[3][j]]
}

/// Position lists of the set bits of every byte: `COMPRESS[m]` holds, byte by byte, the
/// positions of the bits of `m` in increasing order (zeros after them).
const COMPRESS: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut m = 0;
    while m < 256 {
        let (mut k, mut bit) = (0, 0);
        while bit < 8 {
            if m & (1 << bit) != 0 {
                table[m] |= (bit as u64) << (8 * k);
                k += 1;
            }
            bit += 1;
        }
        m += 1;
    }
    table
};

/// The short path's first sweep over a group in step `t`: a person whose cache says that
/// the step changes nothing but the clock — [`ArmCtx::quiet`]'s test on a cached total,
/// for a cache that also keeps the amount band — is done here, reading only the person's
/// [`Hot`] part and writing nothing (the clock is an offset while cached), as are the
/// persons in an absorbing state. Returns the positions of the others, in order, for the
/// full test. `rest` has eight bytes of slack for the SIMD form's whole-byte stores.
#[inline(always)]
fn quiet_cached<'r>(
    t: u32,
    referral_below: u64,
    hot: &[Hot],
    lanes: &Lanes,
    rest: &'r mut [u8; SUB + 8],
) -> &'r [u8] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt")
    {
        // SAFETY: the CPU supports AVX2 and POPCNT (checked just above).
        let n = unsafe { quiet_cached_avx2(t, referral_below, hot, lanes, rest) };
        return &rest[..n];
    }
    let n = quiet_cached_from(t, referral_below, hot, lanes, rest, 0, 0);
    &rest[..n]
}

/// [`quiet_cached`] one person at a time from person `from` on, with `n` positions
/// already in `rest`; returns the new count.
#[inline(always)]
fn quiet_cached_from(
    t: u32,
    referral_below: u64,
    hot: &[Hot],
    lanes: &Lanes,
    rest: &mut [u8; SUB + 8],
    from: usize,
    mut n: usize,
) -> usize {
    const { assert!(SUB <= 256) };
    for (j, h) in hot.iter().enumerate().skip(from) {
        // Bitwise `&` on purpose: branches on these would be mispredicted as often as
        // persons differ. A cache is only held by a person outside the programme, without
        // rules or a gap (`quiet`'s tests before `fill_cache`); the steps that change any
        // of that drop it.
        let referred =
            (h.flags & REFERABLE != 0) & (u64::from(lanes[LANE_REFERRAL][j]) < referral_below);
        let easy = (t < u32::from(h.valid_until))
            & (lanes[LANE_TRANSITION][j] >= h.quiet_from)
            & !referred;
        rest[n] = j as u8;
        n += usize::from(!easy & (h.flags & ABSORBED == 0));
    }
    n
}

/// [`quiet_cached`] eight persons per iteration in AVX2 registers (the persons after the
/// last whole eight one at a time); returns the count. The same test, lane by lane: the
/// unit test `simd_sweep_equals_the_scalar_sweep` compares the two on random groups.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn quiet_cached_avx2(
    t: u32,
    referral_below: u64,
    hot: &[Hot],
    lanes: &Lanes,
    rest: &mut [u8; SUB + 8],
) -> usize {
    use std::arch::x86_64::*;
    let whole = hot.len() / 8 * 8;
    // `t < valid_until` as a signed compare: both are below 2^16.
    let tv = _mm256_set1_epi32(t as i32);
    let low16 = _mm256_set1_epi32(0xFFFF);
    let referable = _mm256_set1_epi32(i32::from(REFERABLE) << 16);
    let absorbed = _mm256_set1_epi32(i32::from(ABSORBED) << 16);
    // `draw < referral_below` for a bound in 0 ..= 2^32: none, all, or `draw <= bound - 1`.
    let (refer_none, refer_all) = (referral_below == 0, referral_below > u64::from(u32::MAX));
    let last_referred = _mm256_set1_epi32(referral_below.wrapping_sub(1) as u32 as i32);
    let mut n = 0;
    for j in (0..whole).step_by(8) {
        let h = &hot[j..j + 8];
        let tr = &lanes[LANE_TRANSITION][j..j + 8];
        let rf = &lanes[LANE_REFERRAL][j..j + 8];
        // SAFETY: `h` is eight 8-byte `Hot`s (64 bytes), `tr` and `rf` eight `u32`s:
        // unaligned 256-bit loads within them.
        let (h0, h1, tr, rf) = unsafe {
            (
                _mm256_loadu_si256(h.as_ptr().cast()),
                _mm256_loadu_si256(h.as_ptr().add(4).cast()),
                _mm256_loadu_si256(tr.as_ptr().cast()),
                _mm256_loadu_si256(rf.as_ptr().cast()),
            )
        };
        // Dword 2p of `h0`/`h1` is person p's `quiet_from`, dword 2p + 1 its
        // `valid_until | flags << 16 | spare << 24` (`Hot` is `repr(C)`); the shuffle
        // gathers persons 0 1 4 5 | 2 3 6 7, the permutation puts them in order.
        let (a, b) = (_mm256_castsi256_ps(h0), _mm256_castsi256_ps(h1));
        let quiet_from =
            _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_castps_si256(_mm256_shuffle_ps::<
                0b10_00_10_00,
            >(a, b)));
        let word =
            _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_castps_si256(_mm256_shuffle_ps::<
                0b11_01_11_01,
            >(a, b)));
        let live = _mm256_cmpgt_epi32(_mm256_and_si256(word, low16), tv);
        let at_or_above = _mm256_cmpeq_epi32(_mm256_max_epu32(tr, quiet_from), tr);
        let draw_refers = if refer_all {
            _mm256_set1_epi32(-1)
        } else if refer_none {
            _mm256_setzero_si256()
        } else {
            _mm256_cmpeq_epi32(_mm256_min_epu32(rf, last_referred), rf)
        };
        let referred = _mm256_and_si256(
            _mm256_cmpeq_epi32(_mm256_and_si256(word, referable), referable),
            draw_refers,
        );
        let easy = _mm256_andnot_si256(referred, _mm256_and_si256(live, at_or_above));
        let gone = _mm256_cmpeq_epi32(_mm256_and_si256(word, absorbed), absorbed);
        let done = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_or_si256(easy, gone))) as u32;
        let m = !done & 0xFF;
        // The positions of the others, in order, stored as a whole eight bytes (the
        // slack of `rest` takes what lies past the count).
        let positions = COMPRESS[m as usize] + (j as u64) * 0x0101_0101_0101_0101;
        rest[n..n + 8].copy_from_slice(&positions.to_le_bytes());
        n += m.count_ones() as usize;
    }
    quiet_cached_from(t, referral_below, hot, lanes, rest, whole, n)
}

/// Everything one replication produced, per arm.
#[derive(Debug, Clone, PartialEq)]
pub struct RepResult {
    pub replication: u32,
    pub arms: Vec<ArmRep>,
}

/// Run one replication of every arm on the same cohort with common random numbers.
/// `models[k]` is arm k; all share the population (the cohort is drawn from `models[0]`).
pub fn run_replication(models: &[Model], replication: u32, parallel_persons: bool) -> RepResult {
    run_replication_paths(models, replication, parallel_persons, true)
}

/// [`run_replication`] with the short path for quiet person-steps switched on or off
/// (off: every person-step takes the full path). The results must be equal; a test holds
/// the engine to it.
#[doc(hidden)]
pub fn run_replication_paths(
    models: &[Model],
    replication: u32,
    parallel_persons: bool,
    fast: bool,
) -> RepResult {
    let base = &models[0];
    let streams = Streams::new(base.seed, replication);
    let cohort = Cohort::draw(base, &streams);
    let mut arms = run_arms(models, &cohort, streams, parallel_persons, fast);
    crate::ledger::apply_displacement(models, &mut arms);
    RepResult { replication, arms }
}

/// Steps since entry at which outcomes are tallied, in the order of `ArmRep::outcomes`.
fn outcome_steps(m: &Model) -> Vec<u32> {
    let mps = m.months_per_step();
    let mut steps: Vec<u32> = OUTCOME_MONTHS
        .iter()
        .filter(|&&mo| mo % mps == 0 && mo / mps <= m.horizon)
        .map(|&mo| mo / mps)
        .collect();
    for tg in &m.targets {
        if tg.month % mps == 0 && tg.month / mps <= m.horizon && !steps.contains(&(tg.month / mps))
        {
            steps.push(tg.month / mps);
        }
    }
    steps
}

/// For every state and age in months `a`, the first age above `a` at which the state's row
/// (its age band) or the age hazard ratio changes; `u16::MAX` when neither does again.
fn age_until(tables: &Tables, age_risk: &[f32], states: usize) -> Vec<u16> {
    const A: usize = MAX_AGE_MONTHS + 1;
    let mut until = vec![u16::MAX; states * A];
    for s in 0..states {
        let band = |a: usize| {
            if tables.by_age {
                tables.age_band[s * A + a]
            } else {
                0
            }
        };
        for a in (0..MAX_AGE_MONTHS).rev() {
            until[s * A + a] =
                if band(a + 1) != band(a) || age_risk[a + 1].to_bits() != age_risk[a].to_bits() {
                    (a + 1) as u16
                } else {
                    until[s * A + a + 1]
                };
        }
    }
    until
}

/// Months since entry at which outcomes are tallied, in the order of `ArmRep::outcomes`.
pub fn outcome_months(m: &Model) -> Vec<u32> {
    let mps = m.months_per_step();
    outcome_steps(m).iter().map(|s| s * mps).collect()
}

/// What an arm's pass needs that does not change in a replication, owned so that the
/// arms' [`ArmCtx`]s can borrow it side by side.
struct ArmFixed {
    layout: crate::ledger::Layout,
    age_risk: Vec<f32>,
    /// Checkpoint `k` is `out_steps[k]` steps after entry.
    out_steps: Vec<u32>,
    step_dependent: bool,
}

impl ArmFixed {
    fn new(m: &Model) -> ArmFixed {
        ArmFixed {
            layout: crate::ledger::Layout::new(m),
            age_risk: Cohort::age_risk_table(m),
            out_steps: outcome_steps(m),
            step_dependent: m
                .transitions
                .iter()
                .flatten()
                .any(|tr| tr.dests.iter().any(|d| d.step.is_some())),
        }
    }
}

impl<'a> ArmCtx<'a> {
    fn new(
        m: &'a Model,
        cohort: &'a Cohort,
        streams: Streams,
        fixed: &'a ArmFixed,
        tables: &Tables,
    ) -> ArmCtx<'a> {
        let layout = &fixed.layout;
        let rules_by_state = m.rules_by_state();
        let (in_prog_mult, drop_p) = m.programme_rates();
        let mps = m.months_per_step();
        let sflags = (0..m.states.len())
            .map(|s| {
                let mut f = 0;
                if m.states[s].absorbing {
                    f |= S_ABSORBING;
                }
                if !rules_by_state[s].is_empty() {
                    f |= S_RULES;
                }
                if m.arm.programme.as_ref().is_some_and(|p| p.eligible[s]) {
                    f |= S_ELIGIBLE;
                }
                f
            })
            .collect();
        ArmCtx {
            m,
            cohort,
            streams,
            age_risk: &fixed.age_risk,
            tally_layout: layout,
            sum_cols: layout
                .sum_attrs
                .iter()
                .map(|&a| cohort.attr_fx[a].as_slice())
                .collect(),
            sflags,
            rules_by_state,
            age_off: &cohort.age_off,
            mps,
            retire_months: (m.population.retirement_age * 12.0).round() as usize,
            exit: m.population.exit_state as u8,
            in_prog_mult,
            system_mult: m.arm.organisation.success_multiplier,
            drop_p,
            retention: m
                .arm
                .programme
                .as_ref()
                .map_or(1.0, |p| p.retention_per_step as f32),
            cache: !fixed.step_dependent,
            age_until: age_until(tables, &fixed.age_risk, m.states.len()),
            income_attr: m.population.income_attribute,
        }
    }
}

/// One arm's run in progress: what it keeps from step to step.
struct ArmRun {
    /// The persons' states, in two parts ([`PersonState`]).
    hot: Vec<Hot>,
    cold: Vec<Cold>,
    rep: ArmRep,
    /// Waiting list: (person, step of referral). An entry is stale when the person left
    /// the list (found work, retired) — a later referral queues them again at the back.
    queue: std::collections::VecDeque<(u32, u16)>,
    in_prog: i64,
    outs: Vec<ChunkOut>,
    tally: Tally,
    transitions: Vec<u32>,
    pass: Pass,
    tables: Tables,
}

impl ArmRun {
    fn new(m: &Model, cohort: &Cohort, fixed: &ArmFixed, tables: Tables, fast: bool) -> ArmRun {
        let n = cohort.len();
        let layout = &fixed.layout;
        let checkpoints = fixed.out_steps.len();
        ArmRun {
            hot: cohort
                .start_state
                .iter()
                .map(|&s| Hot {
                    flags: if m.states[usize::from(s)].absorbing {
                        ABSORBED
                    } else {
                        0
                    },
                    ..Hot::default()
                })
                .collect(),
            cold: (0..n)
                .map(|i| Cold {
                    state: cohort.start_state[i],
                    phase: PHASE_NONE,
                    gap_left: 0,
                    gap_dest: NO_GAP,
                    clock: cohort.start_clock[i],
                    prog: 0,
                    excess: 0.0,
                })
                .collect(),
            rep: ArmRep::new(m, layout, checkpoints),
            queue: std::collections::VecDeque::new(),
            in_prog: 0,
            outs: (0..n.div_ceil(CHUNK))
                .map(|_| ChunkOut::new(m, layout, checkpoints))
                .collect(),
            tally: Tally::new(layout, checkpoints),
            transitions: vec![0u32; m.states.len() * m.states.len() * 2],
            pass: Pass {
                fast,
                entering: 0..0,
                referral_below: 0,
                checkpoints: Vec::new(),
            },
            tables,
        }
    }

    /// Steps 1–2 of step `t` (intake, referral at entry, places) and what the person pass
    /// of `t` needs to know (`self.pass`).
    fn before_pass(&mut self, ctx: &ArmCtx, fixed: &ArmFixed, t: u32) {
        let (m, cohort, streams) = (ctx.m, ctx.cohort, ctx.streams);
        let h = m.horizon;
        // 1. Intake and referral at entry.
        let lo = if t == 0 {
            0
        } else {
            cohort.entered[t as usize - 1]
        };
        let hi = cohort.entered[t as usize];
        if let Some(p) = &m.arm.programme {
            if t >= p.referral_from && t < p.referral_until {
                for i in lo..hi {
                    let ps = &mut self.cold[i];
                    if p.eligible[ps.state as usize]
                        && unit(streams.block(i as u32, t, Purpose::MonthDetail)[3]) < p.referral
                    {
                        ps.phase = PHASE_WAITING;
                        ps.prog = t.min(u32::from(u16::MAX)) as u16;
                        self.queue.push_back((i as u32, ps.prog));
                    }
                }
            }
            // 2. Places (not at the final trace point: nobody starts after the horizon).
            if t < h && t >= p.intake_first && (t - p.intake_first).is_multiple_of(p.intake_every) {
                let mut free = p.capacity.map_or(i64::MAX, |c| c as i64 - self.in_prog);
                while free > 0 {
                    let Some(&(head, referred)) = self.queue.front() else {
                        break;
                    };
                    let (h, c) = (&mut self.hot[head as usize], &mut self.cold[head as usize]);
                    if c.phase != PHASE_WAITING || c.prog != referred {
                        self.queue.pop_front();
                        continue;
                    }
                    if t < u32::from(c.prog) + p.location.extra_wait {
                        break;
                    }
                    self.queue.pop_front();
                    // The programme changes the person's row: no cache.
                    let mut ps = PersonState { hot: h, cold: c };
                    ps.settle_clock(t);
                    ps.hot.valid_until = 0;
                    let from = ctx.cell_of(head as usize, ps.cold);
                    ps.cold.phase = PHASE_IN;
                    ps.cold.prog = 0;
                    // Persons who entered before `t` are in their chunk's standing tally.
                    if self.pass.fast && (head as usize) < lo {
                        let to = ctx.cell_of(head as usize, ps.cold);
                        self.outs[head as usize / CHUNK].standing.shift(
                            from,
                            to,
                            &ctx.sum_cols,
                            head as usize,
                        );
                    }
                    self.in_prog += 1;
                    free -= 1;
                    self.rep.participants[cohort.sex[head as usize] as usize] += 1.0;
                }
            }
        }
        if fixed.step_dependent && t > 0 && t < h {
            self.tables = Tables::build(m, t);
        }

        let pass = &mut self.pass;
        pass.entering = lo..hi;
        pass.referral_below = ctx.referral_below(t);
        // Persons at an outcome checkpoint: those who entered `since` steps ago, a
        // contiguous range because the cohort is ordered by entry.
        pass.checkpoints.clear();
        for (k, &since) in fixed.out_steps.iter().enumerate() {
            if let Some(e) = t.checked_sub(since) {
                let lo = e.checked_sub(1).map_or(0, |b| cohort.entered_by(b));
                let hi = cohort.entered_by(e);
                if lo < hi {
                    pass.checkpoints.push((k, lo, hi));
                }
            }
        }
    }

    /// After the person pass of step `t` over persons `..hi`: merge the chunks in their
    /// order (the same sums whatever the thread count) and post trace point `t` and step
    /// `t`.
    fn after_pass(&mut self, m: &Model, layout: &crate::ledger::Layout, t: u32, hi: usize) {
        let h = m.horizon;
        self.tally.clear();
        self.transitions.fill(0);
        for o in &mut self.outs[..hi.div_ceil(CHUNK)] {
            self.tally.merge(&o.cells);
            self.tally.merge_outcomes(&o.outcomes);
            self.queue.extend(o.referrals.drain(..));
            self.in_prog += o.in_prog_delta;
            self.rep.clamped += o.clamped;
            for (a, b) in self.transitions.iter_mut().zip(&o.transitions) {
                *a += b;
            }
            o.clear();
        }
        self.rep.person_steps += if t < h { hi as u64 } else { 0 };
        self.rep.record_point(m, layout, t as usize, &self.tally);
        if t < h {
            let transitions = &self.transitions;
            self.rep
                .record_step(m, t as usize, |k| f64::from(transitions[k]));
        }
    }
}

/// One chunk's slice of the persons of one arm and what it contributes to the step.
type ArmChunk<'p> = (&'p mut [Hot], &'p mut [Cold], &'p mut ChunkOut);

/// Every arm on one cohort, step by step. The arms do not interact; they run side by
/// side so that each group's month blocks — the same numbers for every arm (common random
/// numbers) — are computed once for all of them.
fn run_arms(
    models: &[Model],
    cohort: &Cohort,
    streams: Streams,
    parallel_persons: bool,
    fast: bool,
) -> Vec<ArmRep> {
    let fixed: Vec<ArmFixed> = models.iter().map(ArmFixed::new).collect();
    let mut runs = Vec::with_capacity(models.len());
    let mut ctxs = Vec::with_capacity(models.len());
    for (m, f) in models.iter().zip(&fixed) {
        let tables = Tables::build(m, 0);
        ctxs.push(ArmCtx::new(m, cohort, streams, f, &tables));
        runs.push(ArmRun::new(m, cohort, f, tables, fast));
    }
    // The horizon is the scenario's (`scenario.horizon`), the same for every arm.
    let h = models.first().map_or(0, |m| m.horizon);
    debug_assert!(models.iter().all(|m| m.horizon == h));
    for t in 0..=h {
        let hi = cohort.entered[t as usize];
        for ((run, ctx), f) in runs.iter_mut().zip(&ctxs).zip(&fixed) {
            run.before_pass(ctx, f, t);
        }

        // 3–8. The person pass, in fixed chunks, every arm's chunk `k` together.
        // The work items borrow the persons, so they are listed anew each step (a few
        // hundred small vectors at 10^6 persons).
        let chunks = hi.div_ceil(CHUNK);
        let mut by_chunk: Vec<Vec<ArmChunk>> = (0..chunks)
            .map(|_| Vec::with_capacity(runs.len()))
            .collect();
        let mut shared: Vec<(&ArmCtx, &Tables, &Pass)> = Vec::with_capacity(runs.len());
        for (run, ctx) in runs.iter_mut().zip(&ctxs) {
            let ArmRun {
                hot,
                cold,
                outs,
                tables,
                pass,
                ..
            } = run;
            let parts = hot[..hi]
                .chunks_mut(CHUNK)
                .zip(cold[..hi].chunks_mut(CHUNK))
                .zip(outs.iter_mut());
            for (k, ((h, c), out)) in parts.enumerate() {
                by_chunk[k].push((h, c, out));
            }
            shared.push((ctx, tables, pass));
        }
        let stepping = t < h;
        let work = |(k, arms): (usize, &mut Vec<ArmChunk>)| {
            pass_chunk(t, stepping, k * CHUNK, arms, &shared);
        };
        if parallel_persons && hi > CHUNK {
            by_chunk.par_iter_mut().enumerate().for_each(work);
        } else {
            by_chunk.iter_mut().enumerate().for_each(work);
        }
        drop(by_chunk);
        drop(shared);
        for ((run, m), f) in runs.iter_mut().zip(models).zip(&fixed) {
            run.after_pass(m, &f.layout, t, hi);
        }
    }
    runs.into_iter().map(|r| r.rep).collect()
}

/// The person pass of step `t` over one chunk (persons `base ..`) of every arm (`stepping`:
/// before the horizon, else only the tally of the last trace point): [`SUB`] persons at
/// a time, so that their states and month blocks stay in L1 from the tally through the
/// step, the blocks computed once for all arms.
fn pass_chunk(
    t: u32,
    stepping: bool,
    base: usize,
    arms: &mut [ArmChunk],
    shared: &[(&ArmCtx, &Tables, &Pass)],
) {
    for ((hot, cold, out), (ctx, tables, pass)) in arms.iter_mut().zip(shared) {
        ctx.begin_chunk(t, base, hot, cold, tables, pass, out);
    }
    let len = arms.first().map_or(0, |(hot, _, _)| hot.len());
    debug_assert!(
        arms.iter()
            .all(|(h, c, _)| h.len() == len && c.len() == len)
    );
    let mut lanes: Lanes = [[0; SUB]; 4];
    for g in 0..len.div_ceil(SUB) {
        let first = base + g * SUB;
        let n = SUB.min(len - g * SUB);
        if stepping {
            // The same numbers as one `streams.block(i, t, Month)` per person, computed
            // lane-parallel; every arm has the same streams.
            shared[0]
                .0
                .streams
                .lanes_into(first as u32, t, Purpose::Month, &mut lanes, n);
        }
        let range = g * SUB..g * SUB + n;
        let next = range.end..(range.end + SUB).min(len);
        // What the rest loop reads, asked for ahead of it: the few per cent of persons the
        // sweep passes on are scattered, and each would otherwise wait for its lines in
        // turn. The summed attributes two groups ahead, the cohort columns the steps read
        // (shared by the arms) and each arm's cold parts (the sweep reads only the hot
        // ones) one group ahead.
        if stepping && shared[0].2.fast {
            for (k, (arm, _, _)) in shared.iter().enumerate() {
                arm.prefetch_sums(first + 2 * SUB, n, &shared[..k]);
            }
            let ctx = shared[0].0;
            let ahead = base + next.start..base + next.end;
            prefetch(&ctx.cohort.risk[ahead.clone()]);
            prefetch(&ctx.age_off[ahead.clone()]);
            prefetch(&ctx.cohort.sex[ahead]);
        }
        for ((hot, cold, out), (ctx, tables, pass)) in arms.iter_mut().zip(shared) {
            if stepping && pass.fast {
                prefetch(&cold[next.clone()]);
            }
            let (hot, cold) = (&mut hot[range.clone()], &mut cold[range.clone()]);
            let lanes = stepping.then_some(&lanes);
            ctx.pass_group(t, first, hot, cold, lanes, tables, pass, out);
        }
    }
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    /// Replication indices to run (a shard runs a subset).
    pub replications: Vec<u32>,
    /// Called after each replication with the number done (for progress bars).
    pub threads: Option<usize>,
}

/// Run the replications `reps` of a compiled scenario. `compile(rep)` gives the arms'
/// models for a replication (the same models for all, unless parameters are uncertain);
/// `keep(models, result)` reduces a finished replication to what the caller keeps, on the
/// worker that ran it, so that only the replications in flight hold their full ledgers.
pub fn run_replications<F, K, T, P>(
    reps: &[u32],
    compile: F,
    keep: K,
    progress: P,
) -> Result<Vec<T>, crate::Error>
where
    F: Fn(u32) -> Result<Vec<Model>, crate::Error> + Sync,
    K: Fn(&[Model], RepResult) -> T + Sync,
    T: Send,
    P: Fn() + Sync,
{
    let threads = rayon::current_num_threads();
    let parallel_persons = reps.len() < threads;
    reps.par_iter()
        .map(|&r| {
            let models = compile(r)?;
            let res = keep(&models, run_replication(&models, r, parallel_persons));
            progress();
            Ok(res)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A xorshift64 generator for the tests' random inputs (not the engine's streams).
    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// The bounds of the move draw decide as the exponential does, bit for bit: random
    /// rows of one to eight destinations (weights over twelve orders of magnitude, totals
    /// from 2^-33 to 4), draws anywhere, right at `1 − e^(−total)` and right at the
    /// cumulative boundaries the exact pick compares against, a few ulps either side.
    #[test]
    fn the_move_bounds_decide_as_the_exponential() {
        let mut next = xorshift(0x853C_49E6_748F_EA9B);
        let mut uniform = || (next() >> 11) as f64 / (1u64 << 53) as f64;
        let (mut moves, mut stays, mut bracketed, mut draws) = (0u64, 0u64, 0u64, 0u64);
        for round in 0..20_000 {
            let n = 1 + round % 8;
            let scale = 2f64.powf(-33.0 + 35.0 * uniform());
            let dests: Vec<RowDest> = (0..n)
                .map(|k| RowDest {
                    to: k as u8,
                    success: k % 2 == 0,
                    attr: NO_ATTR,
                    h: scale * 10f64.powf(-12.0 * uniform() * uniform()),
                })
                .collect();
            let mult = 0.5 + uniform();
            let weight = |d: &RowDest| if d.success { d.h * mult } else { d.h };
            let total: f64 = dests.iter().map(weight).sum();
            let p = -(-total).exp_m1();
            // Draws at the boundaries: P(leave), and each cumulative weight mapped back
            // through `target = u / P · total`.
            let mut us = vec![uniform(), uniform() * total, p];
            let mut acc = 0.0;
            for d in &dests {
                acc += weight(d);
                us.push(acc / total * p);
            }
            for u0 in us {
                for ulps in -4i64..=4 {
                    let u = f64::from_bits((u0.to_bits() as i64 + ulps).max(1) as u64);
                    let want = hazard_move_exact(u, total, &dests, weight);
                    let got = hazard_move(u, total, &dests, weight, true);
                    assert_eq!(got, want, "u {u:e}, total {total:e}, dests {dests:?}");
                    draws += 1;
                    match want {
                        Some(_) => moves += 1,
                        None => stays += 1,
                    }
                    if leave_bracket(total).is_some() {
                        bracketed += 1;
                    }
                }
            }
        }
        // Both outcomes, and the bounded path, are exercised.
        assert!(
            moves > draws / 10 && stays > draws / 10,
            "{moves} moves, {stays} stays"
        );
        assert!(bracketed > draws / 2, "{bracketed} of {draws}");
    }

    /// The SIMD sweep passes on exactly the persons the one-at-a-time sweep passes on, in
    /// the same order, on random groups of every length up to a whole group (remainders
    /// after the last eight included), at clocks on both sides of `valid_until` and at
    /// every kind of referral bound (none, all, and in between).
    #[test]
    fn simd_sweep_equals_the_scalar_sweep() {
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        let (mut passed_on, mut persons) = (0, 0);
        for round in 0..2_000 {
            let len = (next() % (SUB as u64 + 1)) as usize;
            let t = (next() % 40) as u32;
            let referral_below = match round % 5 {
                0 => 0,
                1 => 1 << 32,
                2 => u64::from(u32::MAX),
                3 => 1,
                _ => next() % (1 << 32),
            };
            let hot: Vec<Hot> = (0..len)
                .map(|_| {
                    let r = next();
                    Hot {
                        // Draw bounds near the draws half of the time, anywhere else.
                        quiet_from: if r & 1 == 0 {
                            (r >> 32) as u32
                        } else {
                            (r >> 40) as u32
                        },
                        valid_until: ((r >> 8) % 48) as u16,
                        flags: ((r >> 16) % 4) as u8,
                        spare: (r >> 24) as u8,
                    }
                })
                .collect();
            let mut lanes: Lanes = [[0; SUB]; 4];
            for lane in &mut lanes {
                for w in lane.iter_mut() {
                    *w = (next() >> 32) as u32;
                }
            }
            let mut b = [0u8; SUB + 8];
            let n = quiet_cached_from(t, referral_below, &hot, &lanes, &mut b, 0, 0);
            // The dispatching sweep and every SIMD form this CPU has, each on its own.
            let mut a = [0u8; SUB + 8];
            let mut sweeps = vec![(
                "dispatch",
                quiet_cached(t, referral_below, &hot, &lanes, &mut a).to_vec(),
            )];
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                if has!("avx2") && has!("popcnt") {
                    let mut a = [0u8; SUB + 8];
                    // SAFETY: the CPU supports AVX2 and POPCNT (checked just above).
                    let k = unsafe { quiet_cached_avx2(t, referral_below, &hot, &lanes, &mut a) };
                    sweeps.push(("avx2", a[..k].to_vec()));
                }
            }
            for (name, fast) in &sweeps {
                assert_eq!(
                    fast,
                    &b[..n],
                    "{name}, round {round}: t {t}, bound {referral_below}"
                );
            }
            passed_on += n;
            persons += len;
        }
        // Both outcomes are common: the test is not vacuous.
        assert!(
            passed_on > persons / 10 && passed_on < persons * 9 / 10,
            "{passed_on} of {persons}"
        );
    }
}
