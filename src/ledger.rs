//! The double-entry ledger: postings of whole öre from payer to payee, per item line,
//! trace point (or step) and sex.
//!
//! The engine hands over *tallies* — persons and attribute sums per cell (state, amount
//! band of the clock, programme phase, sex) — and this module turns them into postings
//! once per cell and point, so the hot loop never touches money. Every posting is one
//! integer that appears once as an outflow of its payer and once as an inflow of its
//! payee, so the ledger balances to the öre by construction: for every point, the sum of
//! all actors' net flows except *outside* equals production minus resources, and
//! transfers sum to zero. [`check_balance`] verifies it independently.

use crate::cohort::ATTR_SCALE;
use crate::model::*;

/// Cell layout of the tallies of one model.
#[derive(Debug, Clone)]
pub struct Layout {
    pub states: usize,
    pub bands: usize,
    /// The cell of phase 0 and sex 0 by state and clock: `cell_base[state * band_stride +
    /// min(clock, band_stride - 1)]`, each state's table padded with its last band (one
    /// load per person and point in the hot loop instead of a band lookup and arithmetic).
    cell_base: Vec<u32>,
    /// `band_edge[i]`: the cell at `cell_base[i + 1]` differs (the clock's next step
    /// enters a new amount band).
    band_edge: Vec<bool>,
    /// `next_edge[i]`: the first clock at or above `i`'s whose step enters a new amount
    /// band, within the state's table (`u16::MAX`: none; the padding has no edge).
    next_edge: Vec<u16>,
    band_stride: usize,
    /// Lowest clock value of each band, by state.
    band_lo: Vec<Vec<f64>>,
    /// Attributes whose sums the tally keeps, and their slot.
    pub sum_attrs: Vec<usize>,
    /// The slot of each attribute, then of each top-up (`attributes + index`, see
    /// [`Layout::sums`]).
    slot_of: Vec<Option<usize>>,
    pub cells: usize,
    /// Top-up items (`ItemKind::TopUp`): how many, and the form of each in each cell
    /// (`topup_forms[cell * topups + index]`; `None` where it is not paid).
    topups: usize,
    topup_forms: Vec<Option<TopUpForm>>,
}

/// What a top-up pays a person in one cell: `max(0, rest − Σ coef × attribute)` SEK, with
/// `rest` the norm less the income that does not depend on attributes.
#[derive(Debug, Clone, PartialEq)]
struct TopUpForm {
    rest: f64,
    coefs: Vec<(usize, f64)>,
}

impl Layout {
    pub fn new(m: &Model) -> Layout {
        let s_n = m.states.len();
        let mut breaks: Vec<Vec<f64>> = vec![Vec::new(); s_n];
        // Both sexes' amounts by time in state: a cell's band holds one amount for each.
        let both = [m, m.for_sex(1)];
        for it in both.iter().flat_map(|m| &m.items) {
            if let ItemKind::State {
                states,
                by_time: Some(bt),
                ..
            } = &it.kind
            {
                for (s, on) in states.iter().enumerate() {
                    if *on {
                        breaks[s].extend_from_slice(bt.breaks());
                    }
                }
            }
        }
        for me in both.iter().flat_map(|m| &m.measures) {
            if let Some(bt) = &me.by_time {
                for b in &mut breaks {
                    b.extend_from_slice(bt.breaks());
                }
            }
        }
        let mut band_of = Vec::with_capacity(s_n);
        let mut band_lo = Vec::with_capacity(s_n);
        for b in &mut breaks {
            b.retain(|x| *x > 0.0);
            b.sort_by(f64::total_cmp);
            b.dedup();
            let max = b.last().map_or(0, |x| x.ceil() as usize) + 1;
            band_of.push(
                (0..=max)
                    .map(|c| b.partition_point(|&x| x <= c as f64) as u8)
                    .collect(),
            );
            let mut lo = vec![0.0];
            lo.extend(b.iter().map(|x| x.ceil()));
            band_lo.push(lo);
        }
        let bands = breaks.iter().map(|b| b.len() + 1).max().unwrap_or(1);
        let band_stride = band_of.iter().map(Vec::len).max().unwrap_or(1);
        let cell_base: Vec<u32> = band_of
            .iter()
            .enumerate()
            .flat_map(|(state, t): (usize, &Vec<u8>)| {
                let last = t.last().copied().unwrap_or(0);
                (0..band_stride).map(move |c| {
                    let band = usize::from(t.get(c).copied().unwrap_or(last));
                    ((state * bands + band) * 8) as u32
                })
            })
            .collect();
        let band_edge: Vec<bool> = (0..cell_base.len())
            .map(|k| (k + 1) % band_stride != 0 && cell_base[k] != cell_base[k + 1])
            .collect();
        let mut next_edge = vec![u16::MAX; band_edge.len()];
        for k in (0..band_edge.len()).rev() {
            let c = k % band_stride;
            next_edge[k] = if band_edge[k] {
                u16::try_from(c).unwrap_or(u16::MAX)
            } else if c + 1 < band_stride {
                next_edge[k + 1]
            } else {
                u16::MAX
            };
        }
        let mut slot_of = vec![None; m.population.attributes.len()];
        let mut sum_attrs = Vec::new();
        let mut want = |a: usize| {
            if slot_of[a].is_none() {
                slot_of[a] = Some(sum_attrs.len());
                sum_attrs.push(a);
            }
        };
        for it in both.iter().flat_map(|m| &m.items) {
            if let ItemKind::State { per, .. } = &it.kind {
                for &(a, _) in per {
                    want(a);
                }
            }
        }
        for me in both.iter().flat_map(|m| &m.measures) {
            if let Some(a) = me.attribute {
                want(a);
            }
        }
        let topups = m
            .items
            .iter()
            .filter(|it| matches!(it.kind, ItemKind::TopUp { .. }))
            .count();
        let n_attr = m.population.attributes.len();
        slot_of.resize(n_attr + topups, None);
        for k in 0..topups {
            slot_of[n_attr + k] = Some(sum_attrs.len() + k);
        }
        let mut l = Layout {
            states: s_n,
            bands,
            cell_base,
            band_edge,
            next_edge,
            band_stride,
            band_lo,
            sum_attrs,
            slot_of,
            cells: s_n * bands * 4 * 2,
            topups,
            topup_forms: Vec::new(),
        };
        if topups > 0 {
            l.topup_forms = (0..l.cells * topups)
                .map(|x| l.topup_form(m, x / topups, x % topups))
                .collect();
        }
        l
    }

    /// The form of top-up `index` in `cell` (its sex's values), `None` where not paid.
    fn topup_form(&self, m: &Model, cell: usize, index: usize) -> Option<TopUpForm> {
        let (s, band, phase, sex) = self.decode(cell);
        let m = m.for_sex(sex);
        let it = m
            .items
            .iter()
            .find(|it| matches!(it.kind, ItemKind::TopUp { index: x, .. } if x == index))?;
        let ItemKind::TopUp {
            states,
            norm,
            income,
            attributes,
            ..
        } = &it.kind
        else {
            return None;
        };
        if !it.active || !it.phases[phase] || !states[s] {
            return None;
        }
        let clock = self.band_clock(s, band).unwrap_or(0.0);
        let mut form = TopUpForm {
            rest: *norm,
            coefs: attributes.clone(),
        };
        for &(j, share) in income {
            let ij = &m.items[j];
            let ItemKind::State {
                states,
                amount,
                per,
                by_time,
            } = &ij.kind
            else {
                continue;
            };
            if !ij.active || !ij.phases[phase] || !states[s] {
                continue;
            }
            let f = share * by_time.as_ref().map_or(1.0, |b| b.at(clock)) * ij.multiplier;
            form.rest -= amount * f;
            for &(a, coef) in per {
                form.coefs.push((a, coef * f));
            }
        }
        Some(form)
    }

    /// How many sums the tally keeps per cell: the summed attributes, then the top-ups.
    pub fn sums(&self) -> usize {
        self.sum_attrs.len() + self.topups
    }

    /// Whether the model has top-up items (whose per-person values the tally adds).
    #[inline(always)]
    pub fn has_topups(&self) -> bool {
        self.topups > 0
    }

    /// The top-ups of a person in `cell`, in micro-units of SEK as attribute sums are,
    /// `attr(a)` their value of attribute `a`: `each(slot, value)` for each top-up paid
    /// there.
    #[inline]
    pub fn topup_values(
        &self,
        cell: usize,
        attr: impl Fn(usize) -> f64,
        mut each: impl FnMut(usize, i64),
    ) {
        let base = self.sum_attrs.len();
        let forms = &self.topup_forms[cell * self.topups..(cell + 1) * self.topups];
        for (k, f) in forms.iter().enumerate() {
            if let Some(f) = f {
                let income: f64 = f.coefs.iter().map(|&(a, c)| c * attr(a)).sum();
                let v = (f.rest - income).max(0.0);
                each(base + k, (v * ATTR_SCALE).round() as i64);
            }
        }
    }

    #[inline]
    pub fn cell(&self, state: usize, clock: u16, phase: u8, sex: usize) -> usize {
        self.cell_base[state * self.band_stride + (clock as usize).min(self.band_stride - 1)]
            as usize
            + phase as usize * 2
            + sex
    }

    /// Whether a person in `state` moves to another cell when the clock goes from `clock`
    /// to `clock + 1` (state, phase and sex unchanged).
    #[inline]
    pub fn band_edge(&self, state: usize, clock: u16) -> bool {
        self.band_edge[state * self.band_stride + (clock as usize).min(self.band_stride - 1)]
    }

    /// The first clock at or above `clock` at which a step of a person in `state` enters
    /// a new amount band (`None`: none does).
    pub fn next_edge(&self, state: usize, clock: u16) -> Option<u16> {
        let e =
            self.next_edge[state * self.band_stride + (clock as usize).min(self.band_stride - 1)];
        (e != u16::MAX).then_some(e)
    }

    /// (state, band, phase, sex) of a cell.
    pub fn decode(&self, cell: usize) -> (usize, usize, usize, usize) {
        let sex = cell % 2;
        let phase = (cell / 2) % 4;
        let band = (cell / 8) % self.bands;
        let state = cell / (8 * self.bands);
        (state, band, phase, sex)
    }

    /// The lowest clock of amount band `band` of `state`.
    pub fn band_clock(&self, state: usize, band: usize) -> Option<f64> {
        self.band_lo[state].get(band).copied()
    }
}

/// Persons per cell at one trace point, plus outcome counts.
#[derive(Debug, Clone)]
pub struct Tally {
    pub count: Vec<u64>,
    /// `sums[cell * sum_attrs + slot]`, in attribute micro-units.
    pub sums: Vec<i128>,
    /// `[checkpoint][state][sex]`, all persons and participants only.
    pub outcomes: Vec<u32>,
    pub outcomes_participants: Vec<u32>,
}

impl Tally {
    pub fn new(l: &Layout, checkpoints: usize) -> Tally {
        Tally {
            count: vec![0; l.cells],
            sums: vec![0; l.cells * l.sums()],
            outcomes: vec![0; checkpoints * l.states * 2],
            outcomes_participants: vec![0; checkpoints * l.states * 2],
        }
    }

    /// Back to zero, keeping the allocation.
    pub fn clear(&mut self) {
        self.count.fill(0);
        self.sums.fill(0);
        self.outcomes.fill(0);
        self.outcomes_participants.fill(0);
    }

    /// Add the cell counts and sums of one chunk of persons.
    pub fn merge(&mut self, o: &ChunkTally) {
        for (a, &b) in self.count.iter_mut().zip(&o.count) {
            *a += u64::from(b);
        }
        for (a, &b) in self.sums.iter_mut().zip(&o.sums) {
            *a += i128::from(b);
        }
    }

    /// Add the outcome counts of one chunk of persons.
    pub fn merge_outcomes(&mut self, o: &OutcomeTally) {
        for (a, b) in self.outcomes.iter_mut().zip(&o.outcomes) {
            *a += b;
        }
        for (a, b) in self
            .outcomes_participants
            .iter_mut()
            .zip(&o.outcomes_participants)
        {
            *a += b;
        }
    }
}

/// The persons of one chunk (at most [`ChunkTally::MAX_PERSONS`]) per cell, merged into
/// a [`Tally`] at each trace point. The engine keeps one per chunk across points (a
/// standing tally that follows the persons who change cell, [`ChunkTally::shift`]) and
/// copies it for the point; its reference path recounts everyone. Narrower integers than
/// the merged tally (`u32` counts, `i64` sums) keep the adds cheap and the chunk's cells in
/// cache: a chunk sum is at most `MAX_PERSONS × MAX_ATTRIBUTE × ATTR_SCALE` ≈ 8.2 × 10^17 <
/// `i64::MAX` in magnitude (a shift subtracts before it adds, so never more).
#[derive(Debug, Clone)]
pub struct ChunkTally {
    count: Vec<u32>,
    sums: Vec<i64>,
    n_sums: usize,
}

impl ChunkTally {
    /// The most persons one chunk tally may count (the engine's chunk size).
    pub const MAX_PERSONS: usize = 8192;

    pub fn new(l: &Layout) -> ChunkTally {
        ChunkTally {
            count: vec![0; l.cells],
            sums: vec![0; l.cells * l.sums()],
            n_sums: l.sums(),
        }
    }

    /// Count person `i` in cell `cell`, with its values of the summed attributes (`fx`,
    /// columns in the order of `Layout::sum_attrs`, micro-units).
    #[inline]
    pub fn add(&mut self, cell: usize, fx: &[&[i64]], i: usize) {
        let n = self.n_sums;
        self.count[cell] += 1;
        for (acc, col) in self.sums[cell * n..(cell + 1) * n].iter_mut().zip(fx) {
            *acc += col[i];
        }
    }

    /// [`ChunkTally::add`] for a layout with exactly `N` summed attributes, given their
    /// values: the engine's hot loop is compiled once per small `N`, with the adds
    /// unrolled.
    #[inline(always)]
    pub fn add_n<const N: usize>(&mut self, cell: usize, values: [i64; N]) {
        debug_assert!(N <= self.n_sums);
        self.count[cell] += 1;
        let sums = &mut self.sums[cell * self.n_sums..cell * self.n_sums + N];
        for k in 0..N {
            sums[k] += values[k];
        }
    }

    /// Move person `i` from cell `from` to cell `to` (a standing tally, kept across
    /// points, follows the persons who change cell instead of recounting everyone).
    #[inline]
    pub fn shift(&mut self, from: usize, to: usize, fx: &[&[i64]], i: usize) {
        let n = self.n_sums;
        self.count[from] -= 1;
        self.count[to] += 1;
        for (k, col) in fx.iter().enumerate() {
            self.sums[from * n + k] -= col[i];
            self.sums[to * n + k] += col[i];
        }
    }

    /// Add `v` to sum `slot` of `cell` (a person's top-up there, `Layout::topup_values`).
    #[inline]
    pub fn add_value(&mut self, cell: usize, slot: usize, v: i64) {
        self.sums[cell * self.n_sums + slot] += v;
    }

    /// Back to zero, keeping the allocation (the engine reuses one per chunk).
    pub fn clear(&mut self) {
        self.count.fill(0);
        self.sums.fill(0);
    }

    /// Become a copy of `other` (same layout), keeping the allocation.
    pub fn copy_from(&mut self, other: &ChunkTally) {
        self.count.copy_from_slice(&other.count);
        self.sums.copy_from_slice(&other.sums);
    }
}

/// Outcome counts of one chunk at one trace point: `[checkpoint][state][sex]`.
#[derive(Debug, Clone)]
pub struct OutcomeTally {
    outcomes: Vec<u32>,
    outcomes_participants: Vec<u32>,
    states: usize,
}

impl OutcomeTally {
    pub fn new(l: &Layout, checkpoints: usize) -> OutcomeTally {
        OutcomeTally {
            outcomes: vec![0; checkpoints * l.states * 2],
            outcomes_participants: vec![0; checkpoints * l.states * 2],
            states: l.states,
        }
    }

    #[inline]
    pub fn add(&mut self, k: usize, state: usize, sex: usize, participant: bool) {
        let idx = (k * self.states + state) * 2 + sex;
        self.outcomes[idx] += 1;
        if participant {
            self.outcomes_participants[idx] += 1;
        }
    }

    /// Back to zero, keeping the allocation.
    pub fn clear(&mut self) {
        self.outcomes.fill(0);
        self.outcomes_participants.fill(0);
    }
}

// The bound in `ChunkTally`'s documentation, checked at compile time.
const _: () = assert!(
    (ChunkTally::MAX_PERSONS as f64) * crate::limits::MAX_ATTRIBUTE * ATTR_SCALE < i64::MAX as f64
);

/// The raw result of one arm in one replication: integer postings and counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArmRep {
    pub points: usize,
    pub lines: usize,
    pub states: usize,
    pub measures_n: usize,
    /// `[point][state][sex]` persons present (whole numbers in a microsimulation,
    /// expected values in cohort mode; integer-valued `f64` sums are exact).
    pub occupancy: Vec<f64>,
    /// `[point][line][sex]` öre, state-based items at trace points.
    pub point_flows: Vec<i64>,
    /// `[step][line][sex]` öre, step-level items (one-offs, budgets).
    pub step_flows: Vec<i64>,
    /// `[point][measure][sex]` outcome measure units.
    pub measures: Vec<f64>,
    /// `[checkpoint][state][sex]`.
    pub outcomes: Vec<f64>,
    pub outcomes_participants: Vec<f64>,
    /// `[point][sex]` persons in the programme.
    pub in_programme: Vec<f64>,
    /// Persons who started the programme, by sex.
    pub participants: [f64; 2],
    pub person_steps: u64,
    /// Probability rows that multipliers pushed above 1 and that were rescaled.
    pub clamped: u64,
    /// The discount rates of this replication's model (they may be uncertain values,
    /// drawn per replication, so the valuation must not take them from central values).
    pub discount_rate: f64,
    pub measure_discount_rate: f64,
}

impl ArmRep {
    pub fn new(m: &Model, _l: &Layout, checkpoints: usize) -> ArmRep {
        let p = m.horizon as usize + 1;
        let s = m.states.len();
        let ln = m.lines.len();
        ArmRep {
            points: p,
            lines: ln,
            states: s,
            measures_n: m.measures.len(),
            occupancy: vec![0.0; p * s * 2],
            point_flows: vec![0; p * ln * 2],
            step_flows: vec![0; (p - 1) * ln * 2],
            measures: vec![0.0; p * m.measures.len() * 2],
            outcomes: vec![0.0; checkpoints * s * 2],
            outcomes_participants: vec![0.0; checkpoints * s * 2],
            in_programme: vec![0.0; p * 2],
            participants: [0.0; 2],
            person_steps: 0,
            clamped: 0,
            discount_rate: m.accounting.discount_rate,
            measure_discount_rate: m.accounting.measure_discount_rate,
        }
    }

    pub fn occ(&self, point: usize, state: usize, sex: usize) -> f64 {
        self.occupancy[(point * self.states + state) * 2 + sex]
    }

    /// Whether this arm still holds its ledger: the postings per line (`point_flows`,
    /// `step_flows`) and the outcome measures per point (`measures`), which only the
    /// valuation, displacement and `check_balance` read.
    pub fn has_ledger(&self) -> bool {
        self.point_flows.len() == self.points * self.lines * 2
            && self.measures.len() == self.points * self.measures_n * 2
            && !(self.point_flows.is_empty() && self.measures.is_empty())
    }

    /// Drop the ledger (see [`ArmRep::has_ledger`]) and keep the counts. A run does this
    /// as soon as a replication is valued (`crate::keep`), so that what it holds per
    /// replication is what the outputs report per replication, not the postings behind
    /// them, which are about 80 % of an `ArmRep`.
    pub fn drop_ledger(&mut self) {
        self.point_flows = Vec::new();
        self.step_flows = Vec::new();
        self.measures = Vec::new();
    }

    /// The ledger accessors below index the postings; they need [`ArmRep::has_ledger`].
    pub fn point_flow(&self, point: usize, line: usize, sex: usize) -> i64 {
        self.point_flows[(point * self.lines + line) * 2 + sex]
    }
    pub fn step_flow(&self, step: usize, line: usize, sex: usize) -> i64 {
        self.step_flows[(step * self.lines + line) * 2 + sex]
    }

    /// Post the state-based items of trace point `p` from its tally.
    pub fn record_point(&mut self, m: &Model, l: &Layout, p: usize, tally: &Tally) {
        let n_sums = l.sums();
        self.post_point(
            m,
            l,
            p,
            |cell| tally.count[cell] as f64,
            |cell, slot| tally.sums[cell * n_sums + slot] as f64 / ATTR_SCALE,
        );
        self.outcomes_add(tally);
    }

    /// Post trace point `p` from `count(cell)` persons and the attribute sums
    /// `sum(cell, slot)` (in attribute units) of every cell: occupancy, persons in the
    /// programme, state-based items per line and sex, and outcome measures. Shared by the
    /// microsimulation (whole counts) and cohort mode (expected counts).
    pub fn post_point(
        &mut self,
        m: &Model,
        l: &Layout,
        p: usize,
        count: impl Fn(usize) -> f64,
        sum: impl Fn(usize, usize) -> f64,
    ) {
        let s_n = m.states.len();
        for cell in 0..l.cells {
            let n = count(cell);
            if n == 0.0 {
                continue;
            }
            let (s, _, phase, sex) = l.decode(cell);
            self.occupancy[(p * s_n + s) * 2 + sex] += n;
            if phase == PHASE_IN as usize {
                self.in_programme[p * 2 + sex] += n;
            }
        }
        // Amount of every item in every cell (SEK), then per line and sex.
        let mut amount = vec![0.0f64; m.items.len()];
        let mut per_line = vec![[0.0f64; 2]; m.lines.len()];
        let mut meas = vec![[0.0f64; 2]; m.measures.len()];
        for cell in 0..l.cells {
            let n = count(cell);
            if n == 0.0 {
                continue;
            }
            let (s, band, phase, sex) = l.decode(cell);
            let clock = l.band_clock(s, band).unwrap_or(0.0);
            let attr_sum = |a: usize| -> f64 { l.slot_of[a].map_or(0.0, |slot| sum(cell, slot)) };
            // The cell's sex's amounts (the lines are the same for both).
            let ms = m.for_sex(sex);
            cell_values(ms, s, clock, phase, n, &attr_sum, &mut amount);
            for (li, line) in m.lines.iter().enumerate() {
                per_line[li][sex] += amount[line.item] * line.share;
            }
            for (k, me) in ms.measures.iter().enumerate() {
                meas[k][sex] += measure_value(me, s, clock, n, &attr_sum);
            }
        }
        for (li, v) in per_line.iter().enumerate() {
            for sex in 0..2 {
                self.point_flows[(p * self.lines + li) * 2 + sex] = to_ore(v[sex]);
            }
        }
        for (k, v) in meas.iter().enumerate() {
            for sex in 0..2 {
                self.measures[(p * self.measures_n + k) * 2 + sex] = v[sex];
            }
        }
    }

    fn outcomes_add(&mut self, tally: &Tally) {
        for (a, b) in self.outcomes.iter_mut().zip(&tally.outcomes) {
            *a += f64::from(*b);
        }
        for (a, b) in self
            .outcomes_participants
            .iter_mut()
            .zip(&tally.outcomes_participants)
        {
            *a += f64::from(*b);
        }
    }

    /// Post the step-level items of step `t`: one-offs on transitions and gap ends, and
    /// budgets. `moves(k)` is the count at `k` ([`move_index`], [`gap_end_index`]) in the
    /// step (whole in the microsimulation, expected in cohort mode).
    pub fn record_step(&mut self, m: &Model, t: usize, moves: impl Fn(usize) -> f64) {
        let s_n = m.states.len();
        for (li, line) in m.lines.iter().enumerate() {
            let it = &m.items[line.item];
            if !it.active {
                continue;
            }
            match &it.kind {
                ItemKind::OnEnter { to, from, .. } => {
                    for sex in 0..2 {
                        let n: f64 = (0..s_n)
                            .filter(|&f| f != *to && from.as_ref().is_none_or(|mask| mask[f]))
                            .map(|f| moves(move_index(s_n, f, *to, sex)))
                            .sum();
                        let (amount, mult) = one_off(m.for_sex(sex), line.item);
                        self.step_flows[(t * self.lines + li) * 2 + sex] =
                            to_ore(n * amount * mult * line.share);
                    }
                }
                ItemKind::OnGapEnd { to, .. } => {
                    for sex in 0..2 {
                        let n: f64 = (0..s_n)
                            .filter(|&st| to[st])
                            .map(|st| moves(gap_end_index(s_n, st, sex)))
                            .sum();
                        let (amount, mult) = one_off(m.for_sex(sex), line.item);
                        self.step_flows[(t * self.lines + li) * 2 + sex] =
                            to_ore(n * amount * mult * line.share);
                    }
                }
                ItemKind::Budget { total, from, until } => {
                    if (t as u32) < *from || (t as u32) >= *until {
                        continue;
                    }
                    let per_step =
                        to_ore(total / f64::from(until - from) * it.multiplier * line.share);
                    // A budget is not per person: split it between the sexes by the
                    // persons in the programme at the start of the step (else present).
                    let w = |sex: usize| -> f64 {
                        if self.in_programme[t * 2] + self.in_programme[t * 2 + 1] > 0.0 {
                            self.in_programme[t * 2 + sex]
                        } else {
                            (0..s_n).map(|s| self.occ(t, s, sex)).sum()
                        }
                    };
                    let (wf, wm) = (w(0), w(1));
                    let women = if wf + wm <= 0.0 {
                        per_step / 2
                    } else {
                        (per_step as f64 * wf / (wf + wm)).round() as i64
                    };
                    self.step_flows[(t * self.lines + li) * 2] = women;
                    self.step_flows[(t * self.lines + li) * 2 + 1] = per_step - women;
                }
                _ => {}
            }
        }
    }
}

/// The amount (SEK) of every state-based and derived item in one cell: `n` persons in
/// state `s`, clock band starting at `clock`, programme phase `phase`, whose attribute
/// sums are `sum(attribute)`. Shared by the microsimulation and the cohort mode.
pub fn cell_values(
    m: &Model,
    s: usize,
    clock: f64,
    phase: usize,
    n: f64,
    sum: &dyn Fn(usize) -> f64,
    amount: &mut [f64],
) {
    for (k, it) in m.items.iter().enumerate() {
        amount[k] = 0.0;
        if !it.active || !it.phases[phase] {
            continue;
        }
        amount[k] = match &it.kind {
            ItemKind::State {
                states,
                amount: a,
                per,
                by_time,
            } => {
                if !states[s] {
                    continue;
                }
                let f = by_time.as_ref().map_or(1.0, |b| b.at(clock));
                let mut v = a * n;
                for &(attr, coef) in per {
                    v += coef * sum(attr);
                }
                v * f * it.multiplier
            }
            ItemKind::Derived { of } => {
                of.iter().map(|&(j, r)| amount[j] * r).sum::<f64>() * it.multiplier
            }
            // The tally's sum of the persons' top-ups, under the virtual attribute after
            // the real ones (`Layout::topup_values`).
            ItemKind::TopUp { states, index, .. } if states[s] => {
                sum(m.population.attributes.len() + index) * it.multiplier
            }
            _ => 0.0,
        };
    }
}

/// The value of outcome measure `me` in one cell (see [`cell_values`]).
pub fn measure_value(
    me: &Measure,
    s: usize,
    clock: f64,
    n: f64,
    sum: &dyn Fn(usize) -> f64,
) -> f64 {
    let v = me.values[s];
    if v == 0.0 {
        return 0.0;
    }
    let f = me.by_time.as_ref().map_or(1.0, |b| b.at(clock));
    let base = match me.attribute {
        Some(a) => sum(a),
        None => n,
    };
    v * f * base
}

/// SEK → whole öre, rounding half away from zero.
#[inline]
pub fn to_ore(sek: f64) -> i64 {
    (sek * 100.0).round() as i64
}

/// Displacement (SROI / DWP substitution): a share of the extra production of a
/// programme arm over the counterfactual, point by point, displaces production
/// elsewhere and is not counted.
pub fn apply_displacement(models: &[Model], arms: &mut [ArmRep]) {
    let Some(cf) = models.iter().position(|m| m.arm.counterfactual) else {
        return;
    };
    let d = models[cf].accounting.displacement;
    if d <= 0.0 {
        return;
    }
    let (cf_rep, lines) = (arms[cf].clone(), &models[cf].lines);
    for (k, arm) in arms.iter_mut().enumerate() {
        if k == cf {
            continue;
        }
        for (li, line) in lines.iter().enumerate() {
            if models[k].items[line.item].class != Class::Production {
                continue;
            }
            for p in 0..arm.points {
                for sex in 0..2 {
                    let idx = (p * arm.lines + li) * 2 + sex;
                    let delta = arm.point_flows[idx] - cf_rep.point_flows[idx];
                    if delta > 0 {
                        arm.point_flows[idx] -= (delta as f64 * d).round() as i64;
                    }
                }
            }
        }
        if let Some(x) = models[cf].accounting.displaced_to {
            displaced_persons(&models[k], x, d, &cf_rep, arm);
        }
    }
}

/// The displaced workers themselves (MODEL.md §6): for the displaced share `d` of the
/// programme arm's extra persons in a job state (one with a production item), someone
/// else stays out of work in state `x` instead of holding that job. Each such
/// person-month moves an average person's flows from the job state to `x` — their wage,
/// its taxes and contributions are lost, `x`'s benefits are paid by `x`'s payers and its
/// resources consumed; the production was already taken off above, so it is left out.
/// An average person: every attribute at its mean, at the start of both states' clocks.
fn displaced_persons(m: &Model, x: usize, d: f64, cf: &ArmRep, arm: &mut ArmRep) {
    let s_n = m.states.len();
    let job: Vec<bool> = (0..s_n)
        .map(|s| {
            m.items.iter().any(|it| {
                it.class == Class::Production
                    && matches!(&it.kind, ItemKind::State { states, .. } if states[s])
            })
        })
        .collect();
    for sex in 0..2 {
        let ms = m.for_sex(sex);
        let means = crate::balance::attribute_means(ms);
        let layout = Layout::new(m);
        let n_attr = ms.population.attributes.len();
        // Per line, one average person-month in state `s` (production left out; a
        // top-up at the average person's income).
        let flows = |s: usize| -> Vec<f64> {
            let mut amount = vec![0.0; ms.items.len()];
            let mut topups = vec![0.0; layout.sums()];
            let cell = layout.cell(s, 0, PHASE_NONE, sex);
            layout.topup_values(
                cell,
                |a| means[a],
                |slot, v| topups[slot] = v as f64 / ATTR_SCALE,
            );
            let attr = |a: usize| -> f64 {
                if a < n_attr {
                    means[a]
                } else {
                    layout.slot_of[a].map_or(0.0, |slot| topups[slot])
                }
            };
            cell_values(ms, s, 0.0, PHASE_NONE as usize, 1.0, &attr, &mut amount);
            ms.lines
                .iter()
                .map(|l| {
                    if ms.items[l.item].class == Class::Production {
                        0.0
                    } else {
                        amount[l.item] * l.share
                    }
                })
                .collect()
        };
        let at_x = flows(x);
        for (s, _) in job.iter().enumerate().filter(|(_, j)| **j) {
            let at_job = flows(s);
            for p in 0..arm.points {
                let extra = arm.occ(p, s, sex) - cf.occ(p, s, sex);
                if extra <= 0.0 {
                    continue;
                }
                for (li, (fx, fj)) in at_x.iter().zip(&at_job).enumerate() {
                    arm.point_flows[(p * arm.lines + li) * 2 + sex] +=
                        to_ore(d * extra * (fx - fj));
                }
            }
        }
    }
}

/// Net flow (öre) of every actor from a set of postings `amount(line)`.
pub fn actor_nets(m: &Model, amount: impl Fn(usize) -> i64) -> Vec<i64> {
    let mut net = vec![0i64; m.actors.len()];
    for (li, line) in m.lines.iter().enumerate() {
        let a = amount(li);
        net[line.payer] -= a;
        net[line.payee] += a;
    }
    net
}

/// Check the ledger identity for every point, step and sex of an arm: the net flows of
/// all actors but *outside* sum to production minus resources, and transfers to zero.
pub fn check_balance(m: &Model, rep: &ArmRep) -> Result<(), String> {
    let check = |what: &str, idx: usize, amount: &dyn Fn(usize) -> i64| -> Result<(), String> {
        let net = actor_nets(m, amount);
        let inside: i64 = m
            .actors
            .iter()
            .zip(&net)
            .filter(|(a, _)| !a.outside)
            .map(|(_, v)| v)
            .sum();
        let mut production = 0i64;
        let mut resources = 0i64;
        for (li, line) in m.lines.iter().enumerate() {
            match m.items[line.item].class {
                Class::Production => production += amount(li),
                Class::Resource => resources += amount(li),
                Class::Transfer => {}
            }
        }
        let transfer_nets = actor_nets(m, |li| {
            if m.items[m.lines[li].item].class == Class::Transfer {
                amount(li)
            } else {
                0
            }
        });
        let transfers_total: i64 = transfer_nets.iter().sum();
        let outside_transfers: i64 = m
            .actors
            .iter()
            .zip(&transfer_nets)
            .filter(|(a, _)| a.outside)
            .map(|(_, v)| v)
            .sum();
        if inside != production - resources || transfers_total != 0 || outside_transfers != 0 {
            return Err(format!(
                "ledger does not balance at {what} {idx}: inside actors net {inside} öre, production − resources {}",
                production - resources
            ));
        }
        Ok(())
    };
    for p in 0..rep.points {
        for sex in 0..2 {
            check("point", p, &|li| rep.point_flow(p, li, sex))?;
        }
    }
    for t in 0..rep.points - 1 {
        for sex in 0..2 {
            check("step", t, &|li| rep.step_flow(t, li, sex))?;
        }
    }
    Ok(())
}

/// Length of a step's move counts: every move `from → to` by sex, then every end of a
/// hand-over gap by the state entered and sex ([`move_index`], [`gap_end_index`]).
pub fn moves_len(m: &Model) -> usize {
    let s = m.states.len();
    s * s * 2 + s * 2
}

/// Where a step's count of moves `from → to` of sex `sex` is.
#[inline(always)]
pub fn move_index(states: usize, from: usize, to: usize, sex: usize) -> usize {
    (from * states + to) * 2 + sex
}

/// Where a step's count of gap ends into `to` of sex `sex` is.
#[inline(always)]
pub fn gap_end_index(states: usize, to: usize, sex: usize) -> usize {
    states * states * 2 + to * 2 + sex
}

/// The amount and multiplier of one-off item `k` of a sex's model.
fn one_off(m: &Model, k: usize) -> (f64, f64) {
    let it = &m.items[k];
    match it.kind {
        ItemKind::OnEnter { amount, .. } | ItemKind::OnGapEnd { amount, .. } => {
            (amount, it.multiplier)
        }
        _ => (0.0, it.multiplier),
    }
}
