//! The cohort: individual attributes drawn once per replication and shared by every arm.
//!
//! Struct of arrays: the engine's monthly pass reads only the columns it needs. Persons are
//! ordered by entry step (the intake schedule), so the persons present at step `t` are a
//! prefix of the arrays.

use crate::model::{AttributeSource, Intake, Model, Population, RiskKind};
use crate::rng::{PRECOMPUTED, Purpose, Streams, draws_below, unit};
use rand_distr::Distribution;

/// Fixed-point scale of attribute sums in the ledger tally (micro-units): attribute values
/// are rounded to 1e-6 once, at creation, so that sums are exact integers and do not
/// depend on summation order.
pub const ATTR_SCALE: f64 = 1e6;

pub const WOMAN: u8 = 0;
pub const MAN: u8 = 1;

/// Oldest age (months) the age-indexed tables cover; older persons use the last entry.
pub const MAX_AGE_MONTHS: usize = 150 * 12;

#[derive(Debug, Clone)]
pub struct Cohort {
    pub sex: Vec<u8>,
    /// `age_off[i] + t * months_per_step` (wrapping) is person `i`'s age in months at
    /// step `t`: the age at entry minus the entry step in months, folded once so that the
    /// person pass reads one column (every arm shares it: the time step is the scenario's).
    pub age_off: Vec<u32>,
    pub start_state: Vec<u8>,
    pub start_clock: Vec<u16>,
    /// Product of the hazard ratios of the person's (prevalence) risk factors.
    pub risk: Vec<f32>,
    /// Attribute values in fixed point, `[attribute][person]` (see [`ATTR_SCALE`]; the
    /// value itself is [`Cohort::attr`]).
    pub attr_fx: Vec<Vec<i64>>,
    /// Number of persons that have entered by step `t` (`entered[t]`), t = 0..=H.
    pub entered: Vec<usize>,
    intake: Intake,
}

/// The columns of one block of persons, written in place by the cohort draw.
struct Columns<'a> {
    sex: &'a mut [u8],
    age_off: &'a mut [u32],
    start_state: &'a mut [u8],
    start_clock: &'a mut [u16],
    risk: &'a mut [f32],
    attr_fx: Vec<&'a mut [i64]>,
}

/// Persons whose first sequence blocks are computed at a time in SIMD lanes
/// (`Streams::sequence_lanes_into`): the scalar generator computes one block at a time, a
/// chain of ten dependent rounds.
const TILE: usize = 64;

/// Word `j` of each lane: person `j`'s block.
#[inline(always)]
fn lanes_of(lanes: &[[u32; TILE]; 4], j: usize) -> [u32; 4] {
    std::array::from_fn(|w| lanes[w][j])
}

/// Where an attribute's value comes from, with its distribution set up once.
enum Source {
    Draw(crate::dist::Sampler),
    From(usize),
}

/// What the cohort draw sets up once per block of persons, not once per person (the same
/// values).
struct Draw<'a> {
    pop: &'a Population,
    mps: u32,
    sources: Vec<Source>,
    age_sampler: crate::dist::Sampler,
    months_sampler: Option<crate::dist::Sampler>,
    /// Sequence blocks of slot 0 computed in lanes: about one word for the sex, two per
    /// sampled value (age, months in state; a `u64` each), one for the start state and
    /// one per risk factor. Draws past these are computed as needed: the numbers are the
    /// same either way. An attribute's own slot: one block, if it draws at all.
    blocks0: usize,
    uses_rng: Vec<bool>,
    /// Each risk factor's draw as an integer test (`rng::draws_below`: the same outcome
    /// as `unit(bits) < prevalence`) and its factor; an age-based factor draws a word too
    /// and multiplies by 1. The product then takes no branch per factor: the prevalences
    /// make each one a coin toss the branch predictor would lose (and `x * 1.0` is `x`
    /// exactly, so the product is the same number).
    rf_tests: Vec<(u64, f64)>,
    /// What `normalise_risk` divides the product by.
    mean_risk: Option<f64>,
}

impl<'a> Draw<'a> {
    /// The sex a person's first random word gives.
    #[inline(always)]
    fn sex_of(women_share: f64, word: u32) -> u8 {
        if unit(word) < women_share { WOMAN } else { MAN }
    }

    fn new(model: &'a Model) -> Draw<'a> {
        let pop = &model.population;
        let sources: Vec<Source> = pop
            .attributes
            .iter()
            .map(|at| match &at.source {
                AttributeSource::Draw(d) => Source::Draw(d.sampler()),
                AttributeSource::From(j) => Source::From(*j),
            })
            .collect();
        let months_sampler = pop.months_in_state.as_ref().map(|d| d.sampler());
        let words0 = 2 + 2 * (1 + usize::from(months_sampler.is_some())) + pop.risk_factors.len();
        let uses_rng = pop
            .attributes
            .iter()
            .zip(&sources)
            .map(|(at, source)| matches!(source, Source::Draw(_)) || at.zero_share > 0.0)
            .collect();
        Draw {
            pop,
            mps: model.months_per_step(),
            age_sampler: pop.age.sampler(),
            months_sampler,
            blocks0: words0.div_ceil(4).min(PRECOMPUTED),
            uses_rng,
            sources,
            rf_tests: pop
                .risk_factors
                .iter()
                .map(|rf| match rf.kind {
                    RiskKind::Prevalence(pv) => (draws_below(pv), rf.hazard_ratio),
                    RiskKind::AgeAtLeast(_) => (0, 1.0),
                })
                .collect(),
            mean_risk: if pop.normalise_risk {
                Some(Cohort::mean_risk(model)).filter(|&m| m > 0.0)
            } else {
                None
            },
        }
    }

    /// Person `p`'s attributes (at `pos` in the columns, `k` in its tile), each from its
    /// own sequence, clamped and stored in fixed point; `values` holds them for the
    /// attributes that derive from them.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn attributes(
        &self,
        streams: &Streams,
        p: u32,
        pos: usize,
        k: usize,
        pre_attr: &[[[u32; TILE]; 4]],
        values: &mut [f64],
        cols: &mut Columns,
    ) {
        for (a, (at, source)) in self.pop.attributes.iter().zip(&self.sources).enumerate() {
            let mut first = [[0; 4]; PRECOMPUTED];
            first[0] = lanes_of(&pre_attr[a], k);
            let given = usize::from(self.uses_rng[a]);
            let mut rng = streams.sequence_with(p, 1 + a as u32, Purpose::Person, first, given);
            let mut v = match source {
                Source::Draw(d) => d.sample(&mut rng),
                Source::From(j) => values[*j],
            };
            if at.zero_share > 0.0 {
                use rand::Rng;
                if unit(rng.next_u32()) < at.zero_share {
                    v = 0.0;
                }
            }
            let v = if v.is_finite() {
                v.clamp(at.min, at.max)
            } else {
                0.0
            };
            let fx = round_half_away(v * ATTR_SCALE);
            values[a] = fx / ATTR_SCALE;
            cols.attr_fx[a][pos] = fx as i64;
        }
    }

    /// Person `i`'s sex, age, start state and clock and risk-factor product, from slot 0
    /// of its sequences (`first`: its first blocks).
    #[inline(always)]
    fn basics(
        &self,
        streams: &Streams,
        i: usize,
        pos: usize,
        first: [[u32; 4]; PRECOMPUTED],
        values: &[f64],
        cols: &mut Columns,
    ) {
        use rand::Rng;
        let (pop, mps) = (self.pop, self.mps);
        let entry = pop.intake.entry(i);
        let mut rng = streams.sequence_with(i as u32, 0, Purpose::Person, first, self.blocks0);
        let sex = Draw::sex_of(pop.women_share, rng.next_u32());
        cols.sex[pos] = sex;
        let age_years = self.age_sampler.sample(&mut rng);
        let age_months = round_half_away(age_years * 12.0).clamp(0.0, MAX_AGE_MONTHS as f64);
        cols.age_off[pos] = u32::from(age_months as u16).wrapping_sub(entry.wrapping_mul(mps));
        let zero_income = pop.income_attribute.is_some_and(|a| values[a] == 0.0);
        let shares = match (&pop.start_when_zero_income, zero_income) {
            (Some(z), true) => z,
            _ => &pop.start,
        };
        let u = unit(rng.next_u32());
        let s = shares
            .iter()
            .find(|&&(_, cum)| u < cum)
            .or(shares.last())
            .map_or(0, |&(s, _)| s);
        cols.start_state[pos] = s as u8;
        let clock = match &self.months_sampler {
            Some(d) => {
                round_half_away(d.sample(&mut rng) / f64::from(mps)).clamp(0.0, f64::from(u16::MAX))
            }
            None => 0.0,
        };
        cols.start_clock[pos] = clock as u16;
        let mut hr = 1.0f64;
        for &(below, factor) in &self.rf_tests {
            let carries = u64::from(rng.next_u32()) < below;
            hr *= if carries { factor } else { 1.0 };
        }
        // `normalise_risk` divides the product, as stored, by its expectation.
        cols.risk[pos] = match self.mean_risk {
            Some(mean) => (f64::from(hr as f32) / mean) as f32,
            None => hr as f32,
        };
    }
}

impl Cohort {
    pub fn len(&self) -> usize {
        self.sex.len()
    }
    pub fn is_empty(&self) -> bool {
        self.sex.is_empty()
    }

    /// The value of attribute `a` of person `i`: the fixed-point value scaled back, the
    /// same number the draw rounded it to.
    #[inline]
    pub fn attr(&self, a: usize, i: usize) -> f64 {
        self.attr_fx[a][i] as f64 / ATTR_SCALE
    }

    /// The step at which person `i` enters (persons are ordered by it).
    pub fn entry(&self, i: usize) -> u32 {
        self.intake.entry(i)
    }

    /// The number of persons who enter at or before step `e` (those who enter before it:
    /// `entered_by(e - 1)`, or none for `e = 0`).
    pub fn entered_by(&self, e: u32) -> usize {
        // A binary search on the intake schedule, which is what orders the persons.
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid) <= e {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Draw the cohort of one replication. Person `i`'s attributes come from its own
    /// streams, so they do not depend on the cohort size or on other persons — and large
    /// cohorts are drawn in parallel blocks of persons, each written in place into its
    /// part of the columns.
    pub fn draw(model: &Model, streams: &Streams) -> Cohort {
        use rayon::prelude::*;
        const BLOCK: usize = 16_384;
        let pop = &model.population;
        let n = pop.persons as usize;
        let mut c = Cohort {
            sex: vec![0; n],
            age_off: vec![0; n],
            start_state: vec![0; n],
            start_clock: vec![0; n],
            risk: vec![0.0; n],
            attr_fx: (0..pop.attributes.len()).map(|_| vec![0; n]).collect(),
            entered: Vec::new(),
            intake: pop.intake,
        };
        let mut fx = c
            .attr_fx
            .iter_mut()
            .map(|col| col.chunks_mut(BLOCK))
            .collect::<Vec<_>>();
        let blocks: Vec<(usize, Columns)> = c
            .sex
            .chunks_mut(BLOCK)
            .zip(c.age_off.chunks_mut(BLOCK))
            .zip(c.start_state.chunks_mut(BLOCK))
            .zip(c.start_clock.chunks_mut(BLOCK))
            .zip(c.risk.chunks_mut(BLOCK))
            .enumerate()
            .map(
                |(b, ((((sex, age_off), start_state), start_clock), risk))| {
                    let attr_fx = fx
                        .iter_mut()
                        .map(|f| f.next().unwrap_or_default())
                        .collect();
                    let cols = Columns {
                        sex,
                        age_off,
                        start_state,
                        start_clock,
                        risk,
                        attr_fx,
                    };
                    (b * BLOCK, cols)
                },
            )
            .collect();
        if blocks.len() > 1 {
            blocks
                .into_par_iter()
                .for_each(|(start, cols)| Self::draw_into(model, streams, start, cols));
        } else {
            for (start, cols) in blocks {
                Self::draw_into(model, streams, start, cols);
            }
        }
        c.entered = (0..=model.horizon).map(|t| c.entered_by(t)).collect();
        c
    }

    /// Draw persons `start ..` into `cols` (as many as its columns hold; `entered` is the
    /// caller's).
    fn draw_into(model: &Model, streams: &Streams, start: usize, mut cols: Columns) {
        // Each sex's law (one where nothing differs by sex; the women's share is shared).
        let women = Draw::new(model);
        let men = model.men.as_deref().map(Draw::new);
        let d = &women;
        let end = start + cols.sex.len();
        let n_attr = model.population.attributes.len();
        let mut values = vec![0.0f64; n_attr];
        let mut pre0 = [[[0u32; TILE]; 4]; PRECOMPUTED];
        let mut pre_attr = vec![[[0u32; TILE]; 4]; n_attr];
        // Both sexes use as many precomputed blocks and the same attribute slots.
        let blocks0 = men.as_ref().map_or(d.blocks0, |m| m.blocks0.max(d.blocks0));
        let uses_rng: Vec<bool> = (0..n_attr)
            .map(|a| d.uses_rng[a] || men.as_ref().is_some_and(|m| m.uses_rng[a]))
            .collect();
        for i in start..end {
            let pos = i - start;
            let p = i as u32;
            let k = pos % TILE;
            if k == 0 {
                let tn = TILE.min(end - i);
                for (b, lanes) in pre0.iter_mut().enumerate().take(blocks0) {
                    streams.sequence_lanes_into(p, 0, Purpose::Person, b as u32, lanes, tn);
                }
                for (a, lanes) in pre_attr.iter_mut().enumerate() {
                    if uses_rng[a] {
                        let slot = 1 + a as u32;
                        streams.sequence_lanes_into(p, slot, Purpose::Person, 0, lanes, tn);
                    }
                }
            }
            let first: [[u32; 4]; PRECOMPUTED] = std::array::from_fn(|b| lanes_of(&pre0[b], k));
            // The sex is the first word of the person's first sequence (`Draw::basics` draws
            // it from there); the rest follows that sex's law.
            let d = match &men {
                Some(m) if Draw::sex_of(model.population.women_share, first[0][0]) == MAN => m,
                _ => &women,
            };
            d.attributes(streams, p, pos, k, &pre_attr, &mut values, &mut cols);
            d.basics(streams, i, pos, first, &values, &mut cols);
            debug_assert!(men.is_none() || std::ptr::eq(d, &women) == (cols.sex[pos] == WOMAN));
        }
    }

    /// The expected product of the independent prevalence risk factors' hazard ratios,
    /// Π (1 − p + p·HR): what `normalise_risk` divides each person's product by.
    pub fn mean_risk(model: &Model) -> f64 {
        model
            .population
            .risk_factors
            .iter()
            .filter_map(|rf| match rf.kind {
                RiskKind::Prevalence(p) => Some(1.0 - p + p * rf.hazard_ratio),
                RiskKind::AgeAtLeast(_) => None,
            })
            .product()
    }

    /// Hazard-ratio factor of age-based risk factors by age in months.
    pub fn age_risk_table(model: &Model) -> Vec<f32> {
        (0..=MAX_AGE_MONTHS)
            .map(|m| {
                model
                    .population
                    .risk_factors
                    .iter()
                    .filter_map(|rf| match rf.kind {
                        RiskKind::AgeAtLeast(a) if (m as f64) >= a * 12.0 => Some(rf.hazard_ratio),
                        _ => None,
                    })
                    .product::<f64>() as f32
            })
            .collect()
    }
}

/// `x.round()` (half away from zero), computed inline: without SSE4.1 in the baseline
/// target, `f64::round` is a call into libm, made four times per person by the cohort
/// draw. Truncation through `i64` is exact below 2^52, where the fraction `x - t` is
/// exact too; from 2^52 on every float is an integer. The sign of zero is kept.
#[inline(always)]
fn round_half_away(x: f64) -> f64 {
    // NaN and infinities fall through here too (no comparison holds for NaN).
    if x.abs() >= 4_503_599_627_370_496.0 || x.is_nan() {
        return x;
    }
    let t = (x as i64) as f64;
    let r = if (x - t).abs() >= 0.5 {
        t + x.signum()
    } else {
        t
    };
    r.copysign(x)
}

#[cfg(test)]
mod tests {
    use crate::model::Intake;

    /// The inline rounding is `f64::round`, bit for bit: halves, the float just below a
    /// half, signed zeros, both sides of 2^52, infinities, NaN and many random values.
    #[test]
    fn round_half_away_is_f64_round() {
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        let mut cases = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            0.499_999_999_999_999_94,
            -0.499_999_999_999_999_94,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            -4_503_599_627_370_497.0,
            9.007_199_254_740_993e15,
            1e300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Random bit patterns (every magnitude) and values near halves.
            cases.push(f64::from_bits(x));
            cases.push((x % 2_000_001) as f64 / 2.0 - 500_000.0);
            cases.push(((x >> 11) as f64) * 2f64.powi(-20) - 4096.0);
        }
        for &c in &cases {
            let (want, got) = (c.round(), super::round_half_away(c));
            assert!(
                want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
                "{c:e}: {want:e} vs {got:e}"
            );
        }
    }

    /// `entered_by` counts the persons whose entry step is at most `e`, on schedules with
    /// one batch, several, a zero interval and a step counter that saturates.
    #[test]
    fn entered_by_counts_the_intake_schedule() {
        for intake in [
            Intake {
                first: 0,
                every: 1,
                size: 1,
            },
            Intake {
                first: 3,
                every: 2,
                size: 5,
            },
            Intake {
                first: 4,
                every: 0,
                size: 3,
            },
            Intake {
                first: u32::MAX - 3,
                every: 2,
                size: 2,
            },
        ] {
            let n = 23;
            let c = super::Cohort {
                sex: vec![0; n],
                age_off: vec![0; n],
                start_state: vec![0; n],
                start_clock: vec![0; n],
                risk: vec![1.0; n],
                attr_fx: Vec::new(),
                entered: Vec::new(),
                intake,
            };
            for e in (0..40).chain(u32::MAX - 8..=u32::MAX) {
                let want = (0..n).filter(|&i| intake.entry(i) <= e).count();
                assert_eq!(c.entered_by(e), want, "{intake:?} at {e}");
            }
        }
    }
}
