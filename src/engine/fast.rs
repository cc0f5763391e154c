//! The short path: speed only, no meaning of its own. Most person-months change nothing
//! but the clock (monthly hazards are a few per cent), so the person pass first sweeps
//! the persons whose step is known to be quiet — from a cache of their transition row's
//! total — without a branch, eight at a time in AVX2 ([`quiet_cached`]), and sends only
//! the others through [`ArmCtx::quiet`] or the full step (`ArmCtx::step_person`, the
//! shared order of events).
//!
//! Every test here decides from the same numbers as the full step, so taking the short
//! path cannot change a result: `run_replication_paths(.., fast = false)` runs the full
//! step for everyone, and tests/integration/engine.rs holds the two equal on every shipped scenario
//! and on variants whose hazards rise with clock, age and step.

use crate::cohort::MAX_AGE_MONTHS;
use crate::dynamics::rates::Tables;
use crate::dynamics::{S_ABSORBING, S_ELIGIBLE, S_RULES};
use crate::model::{PHASE_AFTER, PHASE_IN, PHASE_NONE};
use crate::rng::*;

use super::ctx::{ArmCtx, ArmTables, SUB};
use super::person::{ABSORBED, Hot, PersonState, REFERABLE};

impl ArmCtx<'_> {
    /// Whether step `t` of person `i` changes nothing but the clock and the decay of the
    /// after-effect: no retirement, rule, gap, programme month, move or referral. A pure
    /// test on the same numbers [`ArmCtx::step_person`] uses, so that taking the short
    /// path for these persons (about 19 in 20 person-months) cannot change a result;
    /// `tests` run every scenario both ways and compare the outputs.
    #[inline(always)]
    pub(super) fn quiet(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        t: u32,
        tables: &ArmTables,
        blk: &[u32; 4],
    ) -> bool {
        let flags = self.sx(i).dy.flags[ps.cold.state as usize];
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
                self.fill_cache(i, ps, t, k, age_months, total, tables, edge_from);
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
    pub(super) fn row_total(
        &self,
        i: usize,
        ps: &PersonState<'_>,
        t: u32,
        tables: &ArmTables,
    ) -> Option<(usize, usize, f64)> {
        let age_months = self.age_months(i, t);
        let dy = &self.sx(i).dy;
        if age_months + dy.mps as usize >= dy.retire_months {
            return None;
        }
        let tables = tables.of(self.sex(i));
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
    pub(super) fn cache_from(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        from: u32,
        tables: &ArmTables,
    ) {
        let flags = self.sx(i).dy.flags[ps.cold.state as usize];
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
        self.fill_cache(i, ps, from, k, age_months, total, tables, ps.cold.clock);
        ps.offset_clock(from);
    }

    /// [`ArmCtx::cache_from`] the step after a full step at `t`.
    #[inline(always)]
    pub(super) fn cache_ahead(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        t: u32,
        tables: &ArmTables,
    ) {
        self.cache_from(i, ps, t + 1, tables);
    }

    /// Cache, for the steps in which neither the row (clock and age bands) nor the age
    /// hazard ratio nor the tally's amount band changes, the person does not reach
    /// retirement age and the clock cannot saturate: the quiet draws (`draws_below(total)`)
    /// and whether a referral can interrupt. The caller turns the clock into an offset
    /// after the step (`PersonState::offset_clock`).
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn fill_cache(
        &self,
        i: usize,
        ps: &mut PersonState<'_>,
        t: u32,
        k: usize,
        age_months: usize,
        total: f64,
        tables: &ArmTables,
        edge_from: u16,
    ) {
        let sx = self.sx(i);
        let tables = tables.of(self.sex(i));
        let mps = sx.dy.mps as usize;
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
        let age_until = sx.age_until
            [ps.cold.state as usize * (MAX_AGE_MONTHS + 1) + age_months.min(MAX_AGE_MONTHS)];
        let by_age = if age_until == u16::MAX {
            usize::MAX
        } else {
            steps_to_age(usize::from(age_until))
        };
        let by_retirement = steps_to_age(sx.dy.retire_months - mps);
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
            ps.cold.phase == PHASE_NONE && sx.dy.flags[ps.cold.state as usize] & S_ELIGIBLE != 0;
        ps.hot.flags = (ps.hot.flags & !REFERABLE) | if referable { REFERABLE } else { 0 };
    }

    /// The referral lane's draws that refer a person not in or waiting for the programme
    /// in step `t` (for step `t + 1`): `rng::draws_below` of the referral probability
    /// inside the referral window, else none.
    pub(super) fn referral_below(&self, t: u32) -> u64 {
        self.dy().referral_for(t).map_or(0, draws_below)
    }

    /// The referral draw for step `t + 1` of a person not in or waiting for the programme.
    #[inline(always)]
    fn referred(&self, t: u32, blk: &[u32; 4]) -> bool {
        u64::from(blk[LANE_REFERRAL]) < self.referral_below(t)
    }
}

/// For every state and age in months `a`, the first age above `a` at which the state's row
/// (its age band) or the age hazard ratio changes; `u16::MAX` when neither does again.
pub(super) fn age_until(tables: &Tables, age_risk: &[f32], states: usize) -> Vec<u16> {
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

/// Ask the cache for the lines that hold `part`. A hint only: results do not depend on it.
#[inline(always)]
pub(super) fn prefetch<T>(part: &[T]) {
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
pub(super) type Lanes = [[u32; SUB]; 4];

/// The month block of the group's person `j`.
#[inline(always)]
pub(super) fn block_of(lanes: &Lanes, j: usize) -> [u32; 4] {
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
pub(super) fn quiet_cached<'r>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::xorshift;

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
