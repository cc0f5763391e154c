//! A person in the microsimulation: their state in one arm (two compact parts, [`Hot`]
//! and [`Cold`]) and [`Sampled`], the microsimulation's answers to the questions of the
//! shared order of events (`dynamics::Dynamics::step`) — from the person's random numbers
//! — with what a step records (moves, places freed, referrals).

use crate::cohort::MAX_AGE_MONTHS;
use crate::dynamics::rates::{NO_ATTR, RowDest, Tables};
use crate::dynamics::{Decision, Draws, GapOwner, NO_GAP, Person, S_ABSORBING, gap_steps};
use crate::model::Organisation;
use crate::rng::*;

use super::ctx::{ArmCtx, ArmTables, ChunkOut};

/// The part of a person's state in one arm that the sweep of cached quiet steps reads
/// (`fast::quiet_cached`), kept in an array of its own: eight bytes, so that the
/// sweep streams 8 bytes per person instead of the whole state and its SIMD form loads
/// four persons per register.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub(super) struct Hot {
    /// The short path's cache, valid in steps before `valid_until` (0: no cache): the
    /// transition draws at or above `quiet_from` are those at or above the total of the
    /// person's transition row (success hazards times the person's multiplier, plus the
    /// others). Until then, for a person outside the programme who takes only short-path
    /// steps, the row, the multiplier, the amount band, whether a referral can come and
    /// the absence of retirement are known not to change (`ArmCtx::fill_cache`).
    pub quiet_from: u32,
    pub valid_until: u16,
    /// `REFERABLE` (cached with the total: outside the programme in a state eligible for
    /// it, so a referral draw can end the short path) and `ABSORBED` (in an absorbing
    /// state: no step changes anything any more).
    pub flags: u8,
    /// Padding, named so that the layout the SIMD sweep relies on is spelled out.
    pub spare: u8,
}

/// The rest of a person's state in one arm.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cold {
    /// Excess hazard ratio on success moves kept after the programme (decays).
    pub excess: f32,
    /// Steps in the current state. While a cache is held (`valid_until != 0`) this is an
    /// offset: the clock at step `t` is `clock + t` (wrapping), so that the short step
    /// writes nothing to the person; [`PersonState::settle_clock`] makes it the clock.
    pub clock: u16,
    /// Steps in the programme (in programme) or the step of referral (waiting).
    pub prog: u16,
    pub state: u8,
    pub phase: u8,
    /// Steps left in a hand-over gap (0: not in one).
    pub gap_left: u8,
    /// Where the gap leads ([`NO_GAP`]: not in one).
    pub gap_dest: u8,
    /// The sickness case the person left: its count, and the step they left it
    /// ([`NO_CASE`]: none).
    pub case_count: u16,
    pub case_at: u16,
}

/// `Cold::case_at` of a person who holds no sickness case.
pub(super) const NO_CASE: u16 = u16::MAX;

impl Cold {
    /// A person entering in `state` with `clock` steps already in it.
    pub fn new(state: u8, clock: u16) -> Cold {
        Cold {
            state,
            phase: crate::model::PHASE_NONE,
            gap_left: 0,
            gap_dest: NO_GAP,
            clock,
            prog: 0,
            excess: 0.0,
            case_count: 0,
            case_at: NO_CASE,
        }
    }
}

/// The state of a person in one arm, as the steps work on it: the person's places in the
/// arm's two arrays. Borrowed in place rather than copied out and back: the steps write
/// single fields, and reading the whole copy back right after them stalls on the
/// narrower stores (store forwarding fails), several per cent of a run.
#[derive(Debug)]
pub(super) struct PersonState<'a> {
    pub hot: &'a mut Hot,
    pub cold: &'a mut Cold,
}

const _: () = assert!(size_of::<Hot>() == 8 && align_of::<Hot>() == 4);

/// `Hot::flags`.
pub(super) const REFERABLE: u8 = 1;
pub(super) const ABSORBED: u8 = 2;

impl PersonState<'_> {
    /// Make `clock` the clock at step `t` again (a cache keeps it as an offset) and drop a
    /// cache that has run out.
    #[inline(always)]
    pub fn settle_clock(&mut self, t: u32) {
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
    pub fn offset_clock(&mut self, from: u32) {
        if self.hot.valid_until != 0 {
            self.cold.clock = self.cold.clock.wrapping_sub(from as u16);
        }
    }
}

/// Bytes the engine keeps per person and arm in flight: the person's state.
pub const PERSON_BYTES: u64 = (size_of::<Hot>() + size_of::<Cold>()) as u64;

/// One person's step `t` in the microsimulation, as the shared order of events asks it:
/// the person's state, their month block and what the step records in the chunk's
/// output.
pub(super) struct Sampled<'s, 'p, 'c> {
    pub ctx: &'s ArmCtx<'c>,
    pub ps: &'s mut PersonState<'p>,
    pub out: &'s mut ChunkOut,
    pub tables: &'s Tables,
    pub i: usize,
    pub t: u32,
    pub blk: [u32; 4],
    pub age_months: usize,
}

impl Sampled<'_, '_, '_> {
    #[inline(always)]
    fn sex(&self) -> usize {
        self.ctx.cohort.sex[self.i] as usize
    }

    /// The uniform's bits of `decision`: a word of the person's month block, or of one of
    /// the rarer blocks, computed only when asked.
    #[inline(always)]
    fn bits(&self, decision: Decision) -> u32 {
        match decision {
            Decision::Transition => self.blk[LANE_TRANSITION],
            Decision::Dropout => self.blk[LANE_DROPOUT],
            Decision::Handover => self.blk[LANE_HANDOVER],
            Decision::Referral => self.blk[LANE_REFERRAL],
            Decision::GapState => self.rare(Purpose::MonthDetail)[LANE_GAP_STATE],
            Decision::GapLength => self.rare(Purpose::MonthDetail)[LANE_GAP_LENGTH],
            Decision::Rule => self.rare(Purpose::MonthDetail)[LANE_RULE],
            Decision::ExitHandover => self.rare(Purpose::ProgrammeExit)[0],
            Decision::ExitGapState => self.rare(Purpose::ProgrammeExit)[1],
            Decision::ExitGapLength => self.rare(Purpose::ProgrammeExit)[2],
            Decision::Placement => self.rare(Purpose::ProgrammeExit)[3],
        }
    }

    /// The person's block of a rarer purpose. Kept out of line: inlined, the compiler
    /// hoisted this pure Philox block out of the rule loop and computed it for every
    /// person and month, needed or not (a third of the run time in a profile).
    #[cold]
    #[inline(never)]
    fn rare(&self, purpose: Purpose) -> [u32; 4] {
        self.ctx.streams.block(self.i as u32, self.t, purpose)
    }
}

impl Person for Sampled<'_, '_, '_> {
    #[inline(always)]
    fn state(&self) -> usize {
        self.ps.cold.state as usize
    }
    #[inline(always)]
    fn clock(&self) -> u16 {
        self.ps.cold.clock
    }
    #[inline(always)]
    fn phase(&self) -> u8 {
        self.ps.cold.phase
    }
    #[inline(always)]
    fn set_phase(&mut self, phase: u8) {
        self.ps.cold.phase = phase;
    }
    #[inline(always)]
    fn prog(&self) -> u16 {
        self.ps.cold.prog
    }
    #[inline(always)]
    fn set_prog(&mut self, prog: u16) {
        self.ps.cold.prog = prog;
    }
    #[inline(always)]
    fn income(&self) -> Option<f64> {
        self.ctx
            .income_attr
            .map(|a| self.ctx.cohort.attr(a, self.i))
    }
    #[inline(always)]
    fn move_to(&mut self, to: usize, clock: Option<u16>) {
        let from = self.ps.cold.state as usize;
        let s_n = self.ctx.dy().m.states.len();
        let k = crate::ledger::move_index(s_n, from, to, self.sex());
        self.out.transitions[k] += 1;
        if let Some(c) = clock {
            self.ps.cold.clock = c;
        }
        self.ps.cold.state = to as u8;
        if self.ctx.dy().flags[to] & S_ABSORBING != 0 {
            self.ps.hot.flags |= ABSORBED;
        }
    }
    #[inline(always)]
    fn advance_clock(&mut self) {
        self.ps.cold.clock = self.ps.cold.clock.saturating_add(1);
    }
    #[inline(always)]
    fn in_gap(&self) -> bool {
        self.ps.cold.gap_left > 0
    }
    #[inline(always)]
    fn gap_dest(&self) -> usize {
        self.ps.cold.gap_dest as usize
    }
    #[inline(always)]
    fn start_gap(&mut self, dest: usize, _owner: GapOwner, length: u8) {
        // The length was drawn at the start: whose gap it is no longer matters.
        self.ps.cold.gap_left = length;
        self.ps.cold.gap_dest = dest as u8;
    }
    #[inline(always)]
    fn end_gap(&mut self) {
        self.ps.cold.gap_left = 0;
        self.ps.cold.gap_dest = NO_GAP;
    }
    #[inline(always)]
    fn case(&self) -> Option<(u16, u32)> {
        let c = &self.ps.cold;
        (c.case_at != NO_CASE).then_some((c.case_count, u32::from(c.case_at)))
    }
    #[inline(always)]
    fn set_case(&mut self, count: u16, at: u32) {
        self.ps.cold.case_count = count;
        self.ps.cold.case_at = at.min(u32::from(NO_CASE - 1)) as u16;
    }
    #[inline(always)]
    fn gap_ended(&mut self, to: usize) {
        let s_n = self.ctx.dy().m.states.len();
        let k = crate::ledger::gap_end_index(s_n, to, self.sex());
        self.out.transitions[k] += 1;
    }
    #[inline(always)]
    fn scale_excess(&mut self, f: f64) {
        self.ps.cold.excess *= f as f32;
    }
    #[inline(always)]
    fn set_excess(&mut self, excess: f64) {
        self.ps.cold.excess = excess as f32;
    }
    #[inline(always)]
    fn left_programme(&mut self) {
        self.out.in_prog_delta -= 1;
    }
    #[inline(always)]
    fn referred(&mut self, from: u16) {
        self.out.referrals.push((self.i as u32, from));
    }
}

impl Draws for Sampled<'_, '_, '_> {
    #[inline(always)]
    fn happens(&mut self, decision: Decision, p: f64) -> bool {
        unit(self.bits(decision)) < p
    }

    #[inline(always)]
    fn pick(&mut self, decision: Decision, shares: &[(usize, f64)]) -> usize {
        let u = unit(self.bits(decision));
        shares
            .iter()
            .position(|&(_, c)| u < c)
            .unwrap_or(shares.len() - 1)
    }

    #[inline(always)]
    fn gap_length(&mut self, org: &Organisation, decision: Decision) -> u8 {
        gap_steps(org, unit(self.bits(decision)))
    }

    #[inline(always)]
    fn gap_ends(&mut self) -> bool {
        self.ps.cold.gap_left -= 1;
        self.ps.cold.gap_left == 0
    }

    #[inline(always)]
    fn transition(&mut self) -> Option<usize> {
        let (ctx, ps) = (self.ctx, &*self.ps);
        let c = ctx.cohort;
        let (i, age_months) = (self.i, self.age_months);
        let row = self
            .tables
            .row(ps.cold.state as usize, ps.cold.clock, age_months);
        if row.len == 0 {
            return None;
        }
        let u = unit(self.blk[LANE_TRANSITION]);
        let mult = ctx.row_multiplier(i, ps, age_months, row.lam_s);
        let dests = &self.tables.dests[row.start as usize..(row.start + row.len) as usize];
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
            // Documented clamp: multipliers pushed the row above 1, so it is rescaled to
            // sum to 1 and the event is counted.
            self.out.clamped += 1;
            Some(pick_dest(dests, weight, u * total))
        } else if u < total {
            Some(pick_dest(dests, weight, u))
        } else {
            None
        };
        chosen.map(|k| dests[k].to as usize)
    }
}

impl ArmCtx<'_> {
    /// The hazard ratio on the success moves of person `i` (`dynamics`' multiplier from
    /// their risk factors, age, phase and after-effect).
    #[inline(always)]
    pub(super) fn success_multiplier(
        &self,
        i: usize,
        ps: &PersonState<'_>,
        age_months: usize,
    ) -> f64 {
        let sx = self.sx(i);
        sx.dy.success_multiplier(
            f64::from(self.cohort.risk[i]),
            f64::from(sx.age_risk[age_months.min(MAX_AGE_MONTHS)]),
            ps.cold.phase,
            f64::from(ps.cold.excess),
        )
    }

    /// The multiplier of a row's success hazards (`lam_s` their sum): the person's, or 1
    /// when the row has none. The short path and the full step both take it from here, so
    /// their totals are the same numbers.
    #[inline(always)]
    pub(super) fn row_multiplier(
        &self,
        i: usize,
        ps: &PersonState<'_>,
        age_months: usize,
        lam_s: f64,
    ) -> f64 {
        if lam_s > 0.0 {
            self.success_multiplier(i, ps, age_months)
        } else {
            1.0
        }
    }

    /// Steps 4–8 for one person in step `t`: the shared order of events
    /// (`dynamics::Dynamics::step`) on the person's random numbers.
    #[inline(never)]
    pub(super) fn step_person(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        t: u32,
        tables: &ArmTables,
        blk: [u32; 4],
        out: &mut ChunkOut,
    ) {
        // Whatever happens, the short path's cached total is recomputed next time.
        ps.hot.valid_until = 0;
        let age_months = self.age_months(i, t);
        let sex = self.sex(i);
        let mut step = Sampled {
            ctx: self,
            ps,
            out,
            tables: tables.of(sex),
            i,
            t,
            blk,
            age_months,
        };
        self.sexes[usize::from(sex)]
            .dy
            .step(&mut step, t, age_months);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::xorshift;

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
}
