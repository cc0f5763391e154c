//! The person pass: one replication of every arm, step by step, in fixed chunks of
//! persons — intake, places, the tally of each trace point, and each person's step (the
//! short path, `fast`, or the full step, `person`) — merged in a fixed order and posted
//! to the ledger.

use rayon::prelude::*;

use crate::cohort::Cohort;
use crate::dynamics::{Dynamics, S_ABSORBING};
use crate::ledger::{ArmRep, ChunkTally, Tally};
use crate::model::*;
use crate::rng::*;

use super::ctx::{ArmCtx, ArmTables, CHUNK, ChunkOut, OUTCOME_MONTHS, Pass, PerSex, SUB};
use super::fast::{Lanes, age_until, block_of, prefetch, quiet_cached};
use super::person::{ABSORBED, Cold, Hot, PersonState};

impl ArmCtx<'_> {
    #[inline(always)]
    pub(super) fn age_months(&self, i: usize, t: u32) -> usize {
        self.age_off[i].wrapping_add(t.wrapping_mul(self.dy().mps)) as usize
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
        tables: &ArmTables,
        pass: &Pass,
        out: &mut ChunkOut,
    ) {
        debug_assert!(pass.entering.is_empty() || t < self.dy().m.horizon);
        if pass.fast {
            let end = base + cold.len();
            for i in pass.entering.start.max(base)..pass.entering.end.min(end) {
                let cell = self.cell_of(i, &cold[i - base]);
                self.count_in(&mut out.standing, cell, i);
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
        tables: &ArmTables,
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
                if self.dy().flags[c.state as usize] & S_ABSORBING == 0 {
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
                self.dy().flags[ps.cold.state as usize] & S_ABSORBING != 0
            );
            let i = first + j;
            ps.settle_clock(t);
            if self.quiet(i, ps, t, tables, &blk) {
                if ps.cold.phase == PHASE_AFTER {
                    ps.cold.excess *= self.sx(i).retention;
                }
                if self
                    .tally_layout
                    .band_edge(ps.cold.state as usize, ps.cold.clock)
                {
                    let from = self.cell_of(i, ps.cold);
                    ps.cold.clock = ps.cold.clock.saturating_add(1);
                    self.shift(&mut out.standing, from, self.cell_of(i, ps.cold), i);
                } else {
                    ps.cold.clock = ps.cold.clock.saturating_add(1);
                }
                ps.offset_clock(t + 1);
            } else {
                let from = self.cell_of(i, ps.cold);
                self.step_person(i, ps, t, tables, blk, out);
                let to = self.cell_of(i, ps.cold);
                if to != from {
                    self.shift(&mut out.standing, from, to, i);
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
    fn prefetch_sums(&self, from: usize, len: usize, earlier: &[(&ArmCtx, &ArmTables, &Pass)]) {
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
    pub(super) fn cell_of(&self, i: usize, c: &Cold) -> usize {
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
                    self.count_in(&mut out.cells, self.cell_of(i, c), i);
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
            self.add_topups(&mut out.cells, cell, base + j, 1);
        }
    }

    /// Count person `i` in `cell` of a chunk tally: their summed attributes and top-ups.
    #[inline(always)]
    pub(super) fn count_in(&self, tally: &mut ChunkTally, cell: usize, i: usize) {
        tally.add(cell, &self.sum_cols, i);
        self.add_topups(tally, cell, i, 1);
    }

    /// Move person `i` from cell `from` to `to` of a standing tally.
    #[inline(always)]
    pub(super) fn shift(&self, tally: &mut ChunkTally, from: usize, to: usize, i: usize) {
        tally.shift(from, to, &self.sum_cols, i);
        self.add_topups(tally, from, i, -1);
        self.add_topups(tally, to, i, 1);
    }

    /// Add `sign` × person `i`'s top-ups in `cell` (a top-up depends on the person's
    /// income there, so it is computed per person: social assistance is means-tested).
    #[inline(always)]
    fn add_topups(&self, tally: &mut ChunkTally, cell: usize, i: usize, sign: i64) {
        if self.tally_layout.has_topups() {
            self.tally_layout.topup_values(
                cell,
                |a| self.cohort.attr(a, i),
                |slot, v| tally.add_value(cell, slot, sign * v),
            );
        }
    }
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

/// Months since entry at which outcomes are tallied, in the order of `ArmRep::outcomes`.
pub fn outcome_months(m: &Model) -> Vec<u32> {
    let mps = m.months_per_step();
    outcome_steps(m).iter().map(|s| s * mps).collect()
}

/// What an arm's pass needs that does not change in a replication, owned so that the
/// arms' [`ArmCtx`]s can borrow it side by side.
struct ArmFixed {
    layout: crate::ledger::Layout,
    /// The age hazard ratios of each sex.
    age_risk: [Vec<f32>; 2],
    /// Checkpoint `k` is `out_steps[k]` steps after entry.
    out_steps: Vec<u32>,
    step_dependent: bool,
}

impl ArmFixed {
    fn new(m: &Model) -> ArmFixed {
        ArmFixed {
            layout: crate::ledger::Layout::new(m),
            age_risk: [0, 1].map(|s| Cohort::age_risk_table(m.for_sex(s))),
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
        tables: &ArmTables,
    ) -> ArmCtx<'a> {
        let layout = &fixed.layout;
        let per_sex = |s: usize| {
            let ms = m.for_sex(s);
            PerSex {
                dy: Dynamics::new(ms),
                age_risk: &fixed.age_risk[s],
                retention: ms
                    .arm
                    .programme
                    .as_ref()
                    .map_or(1.0, |p| p.retention_per_step as f32),
                age_until: age_until(tables.of(s as u8), &fixed.age_risk[s], m.states.len()),
            }
        };
        ArmCtx {
            sexes: [per_sex(0), per_sex(1)],
            cohort,
            streams,
            tally_layout: layout,
            sum_cols: layout
                .sum_attrs
                .iter()
                .map(|&a| cohort.attr_fx[a].as_slice())
                .collect(),
            age_off: &cohort.age_off,
            cache: !fixed.step_dependent,
            by_sex: m.by_sex(),
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
    tables: ArmTables,
}

impl ArmRun {
    fn new(m: &Model, cohort: &Cohort, fixed: &ArmFixed, tables: ArmTables, fast: bool) -> ArmRun {
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
                .map(|i| Cold::new(cohort.start_state[i], cohort.start_clock[i]))
                .collect(),
            rep: ArmRep::new(m, layout, checkpoints),
            queue: std::collections::VecDeque::new(),
            in_prog: 0,
            outs: (0..n.div_ceil(CHUNK))
                .map(|_| ChunkOut::new(m, layout, checkpoints))
                .collect(),
            tally: Tally::new(layout, checkpoints),
            transitions: vec![0u32; crate::ledger::moves_len(m)],
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
        let (m, cohort, streams) = (ctx.dy().m, ctx.cohort, ctx.streams);
        let h = m.horizon;
        // 1. Intake and referral at entry.
        let lo = if t == 0 {
            0
        } else {
            cohort.entered[t as usize - 1]
        };
        let hi = cohort.entered[t as usize];
        if let Some(p) = &m.arm.programme {
            for i in lo..hi {
                let ps = &mut self.cold[i];
                if let Some(referral) = ctx.sx(i).dy.referral_at_entry(ps.state as usize, t)
                    && unit(streams.block(i as u32, t, Purpose::MonthDetail)[LANE_ENTRY_REFERRAL])
                        < referral
                {
                    ps.phase = PHASE_WAITING;
                    ps.prog = t.min(u32::from(u16::MAX)) as u16;
                    self.queue.push_back((i as u32, ps.prog));
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
                    Dynamics::admit(&mut ps.cold.phase, &mut ps.cold.prog);
                    // Persons who entered before `t` are in their chunk's standing tally.
                    if self.pass.fast && (head as usize) < lo {
                        let to = ctx.cell_of(head as usize, ps.cold);
                        let standing = &mut self.outs[head as usize / CHUNK].standing;
                        ctx.shift(standing, from, to, head as usize);
                    }
                    self.in_prog += 1;
                    free -= 1;
                    self.rep.participants[cohort.sex[head as usize] as usize] += 1.0;
                }
            }
        }
        if fixed.step_dependent && t > 0 && t < h {
            self.tables = ArmTables::build(m, t);
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
pub(super) fn run_arms(
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
        let tables = ArmTables::build(m, 0);
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
        let mut shared: Vec<(&ArmCtx, &ArmTables, &Pass)> = Vec::with_capacity(runs.len());
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
    shared: &[(&ArmCtx, &ArmTables, &Pass)],
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
