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

/// The mutable state of a person in one arm.
#[derive(Debug, Clone, Copy)]
struct PersonState {
    /// The short path's cache, valid in steps before `valid_until` (0: no cache): the
    /// transition draws at or above `quiet_from` are those at or above the total of the
    /// person's transition row (success hazards times the person's multiplier, plus the
    /// others). Until then, for a person outside the programme who takes only short-path
    /// steps, the row, the multiplier, the amount band, whether a referral can come and
    /// the absence of retirement are known not to change (`ArmCtx::fill_cache`).
    quiet_from: u32,
    /// Excess hazard ratio on success moves kept after the programme (decays).
    excess: f32,
    /// Steps in the current state. While a cache is held (`valid_until != 0`) this is an
    /// offset: the clock at step `t` is `clock + t` (wrapping), so that the short step
    /// writes nothing to the person; [`PersonState::settle_clock`] makes it the clock.
    clock: u16,
    /// Steps in the programme (in programme) or the step of referral (waiting).
    prog: u16,
    valid_until: u16,
    state: u8,
    phase: u8,
    gap_left: u8,
    gap_dest: u8,
    /// `REFERABLE` (cached with the total: outside the programme in a state eligible for
    /// it, so a referral draw can end the short path) and `ABSORBED` (in an absorbing
    /// state: no step changes anything any more).
    flags: u8,
}

/// `PersonState::flags`.
const REFERABLE: u8 = 1;
const ABSORBED: u8 = 2;

impl PersonState {
    /// Make `clock` the clock at step `t` again (a cache keeps it as an offset) and drop a
    /// cache that has run out.
    #[inline(always)]
    fn settle_clock(&mut self, t: u32) {
        if self.valid_until != 0 {
            self.clock = self.clock.wrapping_add(t as u16);
            if t >= u32::from(self.valid_until) {
                self.valid_until = 0;
            }
        }
    }

    /// After a short step at `t` (the clock already counted): keep the clock as an offset
    /// if the person holds a cache.
    #[inline(always)]
    fn offset_clock(&mut self, t: u32) {
        if self.valid_until != 0 {
            self.clock = self.clock.wrapping_sub((t + 1) as u16);
        }
    }
}

/// Bytes the engine keeps per person and arm in flight: the person's state and the
/// folded age column (`ArmCtx::age_off`).
pub const PERSON_BYTES: u64 = (size_of::<PersonState>() + size_of::<u32>()) as u64;

/// One destination of a precomputed transition row.
#[derive(Debug, Clone, Copy)]
struct RowDest {
    to: u8,
    success: bool,
    attr: u8,
    h: f64,
}

const NO_ATTR: u8 = u8::MAX;

/// Persons whose month blocks are generated at a time: small enough that the blocks stay
/// in L1 between the generator and the person step.
const SUB: usize = 256;

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
    /// `age_off[i] + t * mps` (wrapping) is person `i`'s age in months at step `t`: the
    /// age at entry minus the entry step, folded once so the step reads one column.
    age_off: Vec<u32>,
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
    fn success_multiplier(&self, i: usize, ps: &PersonState, age_months: usize) -> f64 {
        let mut m = f64::from(self.cohort.risk[i])
            * f64::from(self.age_risk[age_months.min(MAX_AGE_MONTHS)]);
        match ps.phase {
            PHASE_IN => m *= self.in_prog_mult,
            PHASE_AFTER => m *= (1.0 + f64::from(ps.excess)) * self.system_mult,
            _ => m *= self.system_mult,
        }
        m
    }

    /// The multiplier of a row's success hazards (`lam_s` their sum): the person's, or 1
    /// when the row has none. The short path and the full step both take it from here, so
    /// their totals are the same numbers.
    #[inline(always)]
    fn row_multiplier(&self, i: usize, ps: &PersonState, age_months: usize, lam_s: f64) -> f64 {
        if lam_s > 0.0 {
            self.success_multiplier(i, ps, age_months)
        } else {
            1.0
        }
    }

    /// The organisation that handles a person: the programme's while in it.
    fn organisation(&self, ps: &PersonState) -> &Organisation {
        match (&self.m.arm.programme, ps.phase) {
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
        ps: &mut PersonState,
        to: usize,
        t: u32,
        lane_bits: u32,
        detail: Purpose,
        out: &mut ChunkOut,
        moved: &mut bool,
    ) {
        let from = ps.state as usize;
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
                ps.gap_left = len;
                ps.gap_dest = to as u8;
                ps.excess *= (1.0 - org.effect_loss) as f32;
                dest = landing;
            }
        }
        self.set_state(i, ps, dest, out, moved);
    }

    fn set_state(
        &self,
        i: usize,
        ps: &mut PersonState,
        to: usize,
        out: &mut ChunkOut,
        moved: &mut bool,
    ) {
        let from = ps.state as usize;
        let m = self.m;
        let s_n = m.states.len();
        out.transitions[(from * s_n + to) * 2 + self.cohort.sex[i] as usize] += 1;
        if m.states[from].clock != m.states[to].clock {
            ps.clock = 0;
            *moved = true;
        }
        ps.state = to as u8;
        if m.states[to].absorbing {
            ps.flags |= ABSORBED;
        }
        if ps.phase == PHASE_WAITING && (m.states[to].success || m.states[to].absorbing) {
            ps.phase = PHASE_NONE;
        }
        // Leaving the model (retirement, death, any absorbing state) frees the place.
        if ps.phase == PHASE_IN && m.states[to].absorbing {
            ps.phase = PHASE_AFTER;
            out.in_prog_delta -= 1;
        }
    }

    /// Forced transitions. A rule `after = a` moves a person in the step that completes
    /// their `a`-th step on the clock (so they are counted in the state at `a` trace
    /// points); rules with `after = 0` fire as soon as a person enters the state, also
    /// within the same step, up to a chain of four. `first` is false when called after
    /// another move in the same step (then only `after = 0` rules apply).
    #[allow(clippy::too_many_arguments)]
    fn apply_rules(
        &self,
        i: usize,
        ps: &mut PersonState,
        t: u32,
        blk: &[u32; 4],
        out: &mut ChunkOut,
        moved: &mut bool,
        first: bool,
    ) -> bool {
        if self.sflags[ps.state as usize] & S_RULES == 0 {
            return false;
        }
        let m = self.m;
        let c = self.cohort;
        let mut any = false;
        for depth in 0..4 {
            let s = ps.state as usize;
            let fired = self.rules_by_state[s]
                .iter()
                .map(|&r| &m.rules[r])
                .find(|r| {
                    let due = if first && depth == 0 {
                        u32::from(ps.clock) + 1 >= r.after
                    } else {
                        r.after == 0
                    };
                    due && match r.income {
                        IncomeFilter::Any => true,
                        IncomeFilter::Positive => {
                            self.income_attr.is_some_and(|a| c.attr[a][i] > 0.0)
                        }
                        IncomeFilter::Zero => self.income_attr.is_some_and(|a| c.attr[a][i] == 0.0),
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
            ps.gap_left = 0;
            ps.gap_dest = NO_GAP;
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
        ps: &mut PersonState,
        t: u32,
        tables: &Tables,
        blk: &[u32; 4],
    ) -> bool {
        let flags = self.sflags[ps.state as usize];
        if flags & S_RULES != 0 || ps.gap_left > 0 || ps.phase == PHASE_IN {
            return false;
        }
        if t < u32::from(ps.valid_until) {
            if blk[LANE_TRANSITION] < ps.quiet_from {
                return false;
            }
        } else {
            let age_months = self.age_months(i, t);
            if age_months + self.mps as usize >= self.retire_months {
                return false;
            }
            let k = ps.state as usize * tables.clock_stride
                + (ps.clock as usize).min(tables.clock_stride - 1);
            let [lam_s, lam_o] = if tables.by_age {
                let row = tables.row(ps.state as usize, ps.clock, age_months);
                if row.has_attr {
                    return false;
                }
                [row.lam_s, row.lam_o]
            } else {
                tables.quick[k]
            };
            let total = self.row_multiplier(i, ps, age_months, lam_s) * lam_s + lam_o;
            // The multiplier of a person after the programme changes every step (the
            // after-effect decays), so only other persons' totals are cached.
            if self.cache && ps.phase != PHASE_AFTER {
                self.fill_cache(ps, t, k, age_months, total, tables);
            }
            // Both modes move nobody when the draw is at or above the row's total (a
            // hazard total bounds the probability of leaving; a probability row above 1
            // always catches the draw and is clamped on the full path).
            if unit(blk[LANE_TRANSITION]) < total {
                return false;
            }
        }
        !(ps.phase == PHASE_NONE && flags & S_ELIGIBLE != 0 && self.referred(t, blk))
    }

    /// Cache, for the steps in which neither the row (clock and age bands) nor the age
    /// hazard ratio nor the tally's amount band changes, the person does not reach
    /// retirement age and the clock cannot saturate: the quiet draws (`draws_below(total)`)
    /// and whether a referral can interrupt. The caller turns the clock into an offset
    /// after the step (`PersonState::offset_clock`).
    #[inline(never)]
    fn fill_cache(
        &self,
        ps: &mut PersonState,
        t: u32,
        k: usize,
        age_months: usize,
        total: f64,
        tables: &Tables,
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
            usize::from(clock_until - ps.clock)
        };
        let age_until = self.age_until
            [ps.state as usize * (MAX_AGE_MONTHS + 1) + age_months.min(MAX_AGE_MONTHS)];
        let by_age = if age_until == u16::MAX {
            usize::MAX
        } else {
            steps_to_age(usize::from(age_until))
        };
        let by_retirement = steps_to_age(self.retire_months - mps);
        // The step at `t` is the full path's; the next ones must stay in the amount band.
        let by_edge = self
            .tally_layout
            .next_edge(ps.state as usize, ps.clock.saturating_add(1))
            .map_or(usize::MAX, |e| usize::from(e - ps.clock));
        // The clock, counted as an offset while cached, must not reach its saturation.
        let by_saturation = usize::from(u16::MAX - ps.clock);
        let steps = by_clock
            .min(by_age)
            .min(by_retirement)
            .min(by_edge)
            .min(by_saturation);
        // A total that every draw is below caches nothing: those persons take the full
        // path every step anyway.
        let Ok(quiet_from) = u32::try_from(draws_below(total)) else {
            ps.valid_until = 0;
            return;
        };
        ps.valid_until = (t as usize)
            .saturating_add(steps)
            .min(usize::from(u16::MAX)) as u16;
        ps.quiet_from = quiet_from;
        let referable = ps.phase == PHASE_NONE && self.sflags[ps.state as usize] & S_ELIGIBLE != 0;
        ps.flags = (ps.flags & !REFERABLE) | if referable { REFERABLE } else { 0 };
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
        ps: &mut PersonState,
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
        ps.valid_until = 0;
        let mut decided = false;

        // 4. Institutional rules. Retirement takes effect at the end of the step in
        // which the person reaches the retirement age.
        if age_months + self.mps as usize >= self.retire_months {
            self.set_state(i, ps, self.exit as usize, out, &mut moved);
            ps.gap_left = 0;
            return;
        }
        if self.apply_rules(i, ps, t, &blk, out, &mut moved, true) {
            decided = true;
        }

        // 6a. A hand-over gap ends: the next actor picks the person up.
        if !decided && ps.gap_left > 0 {
            ps.gap_left -= 1;
            if ps.gap_left == 0 {
                let to = ps.gap_dest as usize;
                ps.gap_dest = NO_GAP;
                self.set_state(i, ps, to, out, &mut moved);
                decided = true;
            }
        }

        // 5. Stochastic transitions.
        if !decided {
            let s = ps.state as usize;
            let row = tables.row(s, ps.clock, age_months);
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
                        h *= c.attr[d.attr as usize][i];
                    }
                    h
                };
                let total = if row.has_attr {
                    dests.iter().map(weight).sum::<f64>()
                } else {
                    mult * row.lam_s + row.lam_o
                };
                let chosen = if row.hazard {
                    // P(leave) = 1 - e^(-total) ≤ total: most persons are decided without
                    // computing the exponential.
                    if total > 0.0 && u < total {
                        let p_leave = -(-total).exp_m1();
                        debug_assert!((0.0..=1.0).contains(&p_leave));
                        if u < p_leave {
                            Some(u / p_leave * total)
                        } else {
                            None
                        }
                    } else {
                        None
                    }
                } else if total > 1.0 {
                    // Documented clamp: multipliers pushed the row above 1, so it is
                    // rescaled to sum to 1 and the event is counted.
                    out.clamped += 1;
                    Some(u * total)
                } else if u < total {
                    Some(u)
                } else {
                    None
                };
                if let Some(target) = chosen {
                    let mut acc = 0.0;
                    let mut to = dests[dests.len() - 1].to as usize;
                    for d in dests {
                        acc += weight(d);
                        if target < acc {
                            to = d.to as usize;
                            break;
                        }
                    }
                    if ps.gap_left > 0 {
                        ps.gap_left = 0;
                        ps.gap_dest = NO_GAP;
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
        if ps.phase == PHASE_IN {
            if let Some(p) = &m.arm.programme {
                ps.prog = ps.prog.saturating_add(1);
                let total = self.in_prog_mult - 1.0;
                let exit_kind = if unit(blk[LANE_DROPOUT]) < self.drop_p {
                    Some(p.dropout_effect_retained)
                } else if u32::from(ps.prog) >= p.duration {
                    Some(1.0 - p.location.relapse)
                } else {
                    None
                };
                if let Some(kept) = exit_kind {
                    ps.phase = PHASE_AFTER;
                    ps.excess = (total * kept) as f32;
                    out.in_prog_delta -= 1;
                    let s = ps.state as usize;
                    if p.handover_at_exit
                        && !m.states[s].success
                        && m.states[s].agency.is_some()
                        && ps.gap_left == 0
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
                                ps.excess *= (1.0 - org.effect_loss) as f32;
                                self.set_state(i, ps, landing, out, &mut moved);
                                ps.gap_left = len;
                                ps.gap_dest = s as u8;
                            }
                        }
                    }
                }
            }
        } else if ps.phase == PHASE_AFTER {
            // 8. Drop-off of the after-effect.
            if let Some(p) = &m.arm.programme {
                ps.excess *= p.retention_per_step as f32;
            }
        }

        // 8. Clocks and referrals for the next step.
        if !moved {
            ps.clock = ps.clock.saturating_add(1);
        }
        if ps.phase == PHASE_NONE
            && self.sflags[ps.state as usize] & S_ELIGIBLE != 0
            && self.referred(t, &blk)
        {
            ps.phase = PHASE_WAITING;
            ps.prog = (t + 1).min(u32::from(u16::MAX)) as u16;
            out.referrals.push((i as u32, ps.prog));
        }
    }

    /// The start of the person pass of one chunk (persons `base ..`) in step `t`: the
    /// persons who enter join the standing tally, which becomes trace point `t`'s.
    fn begin_chunk(&self, base: usize, chunk: &[PersonState], pass: &Pass, out: &mut ChunkOut) {
        if pass.fast {
            let end = base + chunk.len();
            for i in pass.entering.start.max(base)..pass.entering.end.min(end) {
                let cell = self.cell_of(i, &chunk[i - base]);
                out.standing.add(cell, &self.sum_cols, i);
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
        group: &mut [PersonState],
        blocks: Option<&[[u32; 4]]>,
        tables: &Tables,
        pass: &Pass,
        out: &mut ChunkOut,
    ) {
        if pass.fast && blocks.is_some() {
            self.prefetch_sums(first + 2 * SUB, group.len());
        }
        if !pass.fast {
            self.tally_group(first, group, out);
        }
        for &(k, lo, hi) in &pass.checkpoints {
            for i in lo.max(first)..hi.min(first + group.len()) {
                let ps = &group[i - first];
                out.outcomes.add(
                    k,
                    ps.state as usize,
                    self.cohort.sex[i] as usize,
                    ps.phase >= PHASE_IN,
                );
            }
        }
        let Some(blocks) = blocks else {
            return;
        };
        if !pass.fast {
            for (j, (ps, blk)) in group.iter_mut().zip(blocks.iter()).enumerate() {
                if self.sflags[ps.state as usize] & S_ABSORBING == 0 {
                    self.step_person(first + j, ps, t, tables, *blk, out);
                }
            }
            return;
        }
        let mut rest = [0u8; SUB];
        let rest = Self::quiet_cached(t, pass.referral_below, group, blocks, &mut rest);
        for &j in rest {
            let j = usize::from(j);
            let (ps, blk) = (&mut group[j], &blocks[j]);
            debug_assert_eq!(
                ps.flags & ABSORBED != 0,
                self.sflags[ps.state as usize] & S_ABSORBING != 0
            );
            let i = first + j;
            ps.settle_clock(t);
            if self.quiet(i, ps, t, tables, blk) {
                if ps.phase == PHASE_AFTER {
                    ps.excess *= self.retention;
                }
                if self.tally_layout.band_edge(ps.state as usize, ps.clock) {
                    let from = self.cell_of(i, ps);
                    ps.clock = ps.clock.saturating_add(1);
                    out.standing
                        .shift(from, self.cell_of(i, ps), &self.sum_cols, i);
                } else {
                    ps.clock = ps.clock.saturating_add(1);
                }
                ps.offset_clock(t);
            } else {
                let from = self.cell_of(i, ps);
                self.step_person(i, ps, t, tables, *blk, out);
                let to = self.cell_of(i, ps);
                if to != from {
                    out.standing.shift(from, to, &self.sum_cols, i);
                }
            }
        }
    }

    /// The short path's first sweep over a group in step `t`: a person whose cache says
    /// that the step changes nothing but the clock — [`ArmCtx::quiet`]'s test on a cached
    /// total, for a cache that also keeps the amount band — is done here: three loads and
    /// no write (the clock is an offset while cached) or branch (about 85 % of
    /// person-months on the default scenario). Returns the positions of the others, in
    /// order, for the full test.
    #[inline(always)]
    fn quiet_cached<'r>(
        t: u32,
        referral_below: u64,
        group: &[PersonState],
        blocks: &[[u32; 4]],
        rest: &'r mut [u8; SUB],
    ) -> &'r [u8] {
        const { assert!(SUB <= 256) };
        let mut n = 0;
        for (j, (ps, blk)) in group.iter().zip(blocks).enumerate() {
            // Bitwise `&` on purpose: branches on these would be mispredicted as often as
            // persons differ. A cache is only held by a person outside the programme,
            // without rules or a gap (`quiet`'s tests before `fill_cache`); the steps that
            // change any of that drop it.
            let referred =
                (ps.flags & REFERABLE != 0) & (u64::from(blk[LANE_REFERRAL]) < referral_below);
            let easy = (t < u32::from(ps.valid_until))
                & (blk[LANE_TRANSITION] >= ps.quiet_from)
                & !referred;
            rest[n] = j as u8;
            n += usize::from(!easy & (ps.flags & ABSORBED == 0));
        }
        &rest[..n]
    }

    /// Ask the cache for the summed-attribute values of persons `from .. from + len` (the
    /// caller passes the group two ahead: one ahead leaves too little time). A person who
    /// changes cell reads theirs (`ChunkTally::shift`); a few per cent of persons do,
    /// scattered, so without this each read is a cache miss the person loop waits for,
    /// one at a time. A hint only: results do not depend on it.
    #[inline(always)]
    fn prefetch_sums(&self, from: usize, len: usize) {
        #[cfg(target_arch = "x86_64")]
        for col in &self.sum_cols {
            let Some(part) = col.get(from..(from + len).min(col.len())) else {
                continue;
            };
            for line in part.chunks(8) {
                // SAFETY: prefetching is a hint; the address is inside `col`.
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                        line.as_ptr().cast(),
                    );
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (from, len);
    }

    /// The tally cell of person `i` now.
    #[inline(always)]
    fn cell_of(&self, i: usize, ps: &PersonState) -> usize {
        self.tally_layout.cell(
            ps.state as usize,
            ps.clock,
            ps.phase,
            self.cohort.sex[i] as usize,
        )
    }

    /// The reference tally of trace point `t`: persons `first ..` counted one by one in
    /// their cells (the standing tally must give the same counts and sums).
    fn tally_group(&self, first: usize, group: &[PersonState], out: &mut ChunkOut) {
        match *self.sum_cols.as_slice() {
            [] => self.tally_cells::<0>(first, group, out),
            [_] => self.tally_cells::<1>(first, group, out),
            [_, _] => self.tally_cells::<2>(first, group, out),
            [_, _, _] => self.tally_cells::<3>(first, group, out),
            [_, _, _, _] => self.tally_cells::<4>(first, group, out),
            _ => {
                for (j, ps) in group.iter().enumerate() {
                    let i = first + j;
                    out.cells.add(self.cell_of(i, ps), &self.sum_cols, i);
                }
            }
        }
    }

    /// Count persons `base ..` in their cells, for a layout with `N` summed attributes.
    #[inline(always)]
    fn tally_cells<const N: usize>(&self, base: usize, chunk: &[PersonState], out: &mut ChunkOut) {
        let n = chunk.len();
        let sex = &self.cohort.sex[base..base + n];
        let cols: [&[i64]; N] = std::array::from_fn(|k| &self.sum_cols[k][base..base + n]);
        for (j, (ps, &sx)) in chunk.iter().zip(sex).enumerate() {
            let cell = self
                .tally_layout
                .cell(ps.state as usize, ps.clock, ps.phase, sx as usize);
            out.cells
                .add_n::<N>(cell, std::array::from_fn(|k| cols[k][j]));
        }
    }
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
            age_off: cohort
                .age0
                .iter()
                .zip(&cohort.entry)
                .map(|(&a, &e)| u32::from(a).wrapping_sub(e.wrapping_mul(mps)))
                .collect(),
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
    persons: Vec<PersonState>,
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
            persons: (0..n)
                .map(|i| PersonState {
                    state: cohort.start_state[i],
                    phase: PHASE_NONE,
                    gap_left: 0,
                    gap_dest: NO_GAP,
                    clock: cohort.start_clock[i],
                    prog: 0,
                    excess: 0.0,
                    quiet_from: 0,
                    valid_until: 0,
                    flags: if m.states[usize::from(cohort.start_state[i])].absorbing {
                        ABSORBED
                    } else {
                        0
                    },
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
                    let ps = &mut self.persons[i];
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
                    let ps = &mut self.persons[head as usize];
                    if ps.phase != PHASE_WAITING || ps.prog != referred {
                        self.queue.pop_front();
                        continue;
                    }
                    if t < u32::from(ps.prog) + p.location.extra_wait {
                        break;
                    }
                    self.queue.pop_front();
                    // The programme changes the person's row: no cache.
                    ps.settle_clock(t);
                    ps.valid_until = 0;
                    let from = ctx.cell_of(head as usize, ps);
                    ps.phase = PHASE_IN;
                    ps.prog = 0;
                    // Persons who entered before `t` are in their chunk's standing tally.
                    if self.pass.fast && (head as usize) < lo {
                        let to = ctx.cell_of(head as usize, ps);
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
                let lo = cohort.entry.partition_point(|&x| x < e);
                let hi = cohort.entry.partition_point(|&x| x <= e);
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
type ArmChunk<'p> = (&'p mut [PersonState], &'p mut ChunkOut);

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
                persons,
                outs,
                tables,
                pass,
                ..
            } = run;
            for (k, pair) in persons[..hi]
                .chunks_mut(CHUNK)
                .zip(outs.iter_mut())
                .enumerate()
            {
                by_chunk[k].push(pair);
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
/// before the horizon, else only the tally of the last trace point): a few hundred
/// persons at a time, so that their states and month blocks stay in L1 from the tally
/// through the step, the blocks computed once for all arms.
fn pass_chunk(
    t: u32,
    stepping: bool,
    base: usize,
    arms: &mut [ArmChunk],
    shared: &[(&ArmCtx, &Tables, &Pass)],
) {
    for ((chunk, out), (ctx, _, pass)) in arms.iter_mut().zip(shared) {
        ctx.begin_chunk(base, chunk, pass, out);
    }
    let len = arms.first().map_or(0, |(chunk, _)| chunk.len());
    debug_assert!(arms.iter().all(|(chunk, _)| chunk.len() == len));
    let mut blocks = [[0u32; 4]; SUB];
    for g in 0..len.div_ceil(SUB) {
        let first = base + g * SUB;
        let n = SUB.min(len - g * SUB);
        let blocks = &mut blocks[..n];
        if stepping {
            // The same numbers as one `streams.block(i, t, Month)` per person, computed
            // lane-parallel; every arm has the same streams.
            shared[0]
                .0
                .streams
                .blocks_into(first as u32, t, Purpose::Month, blocks);
        }
        for ((chunk, out), (ctx, tables, pass)) in arms.iter_mut().zip(shared) {
            let group = &mut chunk[g * SUB..g * SUB + n];
            let blocks = stepping.then_some(&blocks[..]);
            ctx.pass_group(t, first, group, blocks, tables, pass, out);
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
