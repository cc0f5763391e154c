//! The cohort: individual attributes drawn once per replication and shared by every arm.
//!
//! Struct of arrays: the engine's monthly pass reads only the columns it needs. Persons are
//! ordered by entry step (the intake schedule), so the persons present at step `t` are a
//! prefix of the arrays.

use crate::model::{AttributeSource, Intake, Model, RiskKind};
use crate::rng::{PRECOMPUTED, Purpose, Streams, unit};
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
    /// cohorts are drawn in parallel blocks of persons, concatenated in order.
    pub fn draw(model: &Model, streams: &Streams) -> Cohort {
        use rayon::prelude::*;
        const BLOCK: usize = 16_384;
        let pop = &model.population;
        let n = pop.persons as usize;
        let mut c = if n > BLOCK {
            // A few blocks per thread at a time: the blocks in flight are the only memory
            // beyond the cohort itself.
            let mut c = Self::draw_persons(model, streams, 0..0);
            c.reserve(n);
            let blocks: Vec<usize> = (0..n.div_ceil(BLOCK)).collect();
            for wave in blocks.chunks(4 * rayon::current_num_threads()) {
                let drawn: Vec<Cohort> = wave
                    .par_iter()
                    .map(|&b| {
                        Self::draw_persons(model, streams, b * BLOCK..((b + 1) * BLOCK).min(n))
                    })
                    .collect();
                for d in drawn {
                    c.append(d);
                }
            }
            c
        } else {
            Self::draw_persons(model, streams, 0..n)
        };
        if pop.normalise_risk {
            let mean = Self::mean_risk(model);
            if mean > 0.0 {
                for r in &mut c.risk {
                    *r = (f64::from(*r) / mean) as f32;
                }
            }
        }
        c.entered = (0..=model.horizon).map(|t| c.entered_by(t)).collect();
        c
    }

    fn reserve(&mut self, n: usize) {
        self.sex.reserve_exact(n);
        self.age_off.reserve_exact(n);
        self.start_state.reserve_exact(n);
        self.start_clock.reserve_exact(n);
        self.risk.reserve_exact(n);
        for fx in &mut self.attr_fx {
            fx.reserve_exact(n);
        }
    }

    /// Move the persons of `other` (drawn for the persons after this one's) to the end.
    fn append(&mut self, mut other: Cohort) {
        self.sex.append(&mut other.sex);
        self.age_off.append(&mut other.age_off);
        self.start_state.append(&mut other.start_state);
        self.start_clock.append(&mut other.start_clock);
        self.risk.append(&mut other.risk);
        for (a, b) in self.attr_fx.iter_mut().zip(&mut other.attr_fx) {
            a.append(b);
        }
    }

    /// The columns of persons `range` (risk not yet normalised, `entered` empty).
    fn draw_persons(model: &Model, streams: &Streams, range: std::ops::Range<usize>) -> Cohort {
        let pop = &model.population;
        let n = range.len();
        let n_attr = pop.attributes.len();
        let mps = model.months_per_step();
        let mut c = Cohort {
            sex: Vec::with_capacity(n),
            age_off: Vec::with_capacity(n),
            start_state: Vec::with_capacity(n),
            start_clock: Vec::with_capacity(n),
            risk: Vec::with_capacity(n),
            attr_fx: vec![Vec::with_capacity(n); n_attr],
            entered: Vec::new(),
            intake: pop.intake,
        };
        let mut values = vec![0.0f64; n_attr];
        // Each distribution's set-up once, not once per person (the same values).
        enum Source {
            Draw(crate::dist::Sampler),
            From(usize),
        }
        let sources: Vec<Source> = pop
            .attributes
            .iter()
            .map(|at| match &at.source {
                AttributeSource::Draw(d) => Source::Draw(d.sampler()),
                AttributeSource::From(j) => Source::From(*j),
            })
            .collect();
        let age_sampler = pop.age.sampler();
        let months_sampler = pop.months_in_state.as_ref().map(|d| d.sampler());
        // The first blocks of every person's sequences, a tile of persons at a time in
        // SIMD lanes (`Streams::sequence_lanes_into`): the scalar generator computes one
        // block at a time, a chain of ten dependent rounds. Slot 0 takes about one word
        // for the sex, two per sampled value (age, months in state; a `u64` each), one for
        // the start state and one per risk factor; an attribute's own slot, one block.
        // Draws past these are computed as needed: the numbers are the same either way.
        const TILE: usize = 64;
        let words0 = 2 + 2 * (1 + usize::from(months_sampler.is_some())) + pop.risk_factors.len();
        let blocks0 = words0.div_ceil(4).min(PRECOMPUTED);
        let uses_rng: Vec<bool> = pop
            .attributes
            .iter()
            .zip(&sources)
            .map(|(at, source)| matches!(source, Source::Draw(_)) || at.zero_share > 0.0)
            .collect();
        let mut pre0 = [[[0u32; TILE]; 4]; PRECOMPUTED];
        let mut pre_attr = vec![[[0u32; TILE]; 4]; n_attr];
        let lanes_of = |lanes: &[[u32; TILE]; 4], j: usize| -> [u32; 4] {
            std::array::from_fn(|w| lanes[w][j])
        };
        let (start, end) = (range.start, range.end);
        for i in range {
            let p = i as u32;
            let entry = pop.intake.entry(i);
            let k = (i - start) % TILE;
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

            for (a, (at, source)) in pop.attributes.iter().zip(&sources).enumerate() {
                let first = [lanes_of(&pre_attr[a], k)];
                let first = if uses_rng[a] { &first[..] } else { &[] };
                let mut rng = streams.sequence_from(p, 1 + a as u32, Purpose::Person, first);
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
                let fx = (v * ATTR_SCALE).round();
                values[a] = fx / ATTR_SCALE;
                c.attr_fx[a].push(fx as i64);
            }

            let first: [[u32; 4]; PRECOMPUTED] = std::array::from_fn(|b| lanes_of(&pre0[b], k));
            let mut rng = streams.sequence_from(p, 0, Purpose::Person, &first[..blocks0]);
            use rand::Rng;
            let sex = if unit(rng.next_u32()) < pop.women_share {
                WOMAN
            } else {
                MAN
            };
            c.sex.push(sex);
            let age_years = age_sampler.sample(&mut rng);
            let age_months = (age_years * 12.0).round().clamp(0.0, MAX_AGE_MONTHS as f64);
            c.age_off
                .push(u32::from(age_months as u16).wrapping_sub(entry.wrapping_mul(mps)));
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
            c.start_state.push(s as u8);
            let clock = match &months_sampler {
                Some(d) => (d.sample(&mut rng) / f64::from(mps))
                    .round()
                    .clamp(0.0, f64::from(u16::MAX)),
                None => 0.0,
            };
            c.start_clock.push(clock as u16);
            let mut hr = 1.0f64;
            for rf in &pop.risk_factors {
                let u = unit(rng.next_u32());
                if let RiskKind::Prevalence(pv) = rf.kind
                    && u < pv
                {
                    hr *= rf.hazard_ratio;
                }
            }
            c.risk.push(hr as f32);
        }
        c
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

#[cfg(test)]
mod tests {
    use crate::model::Intake;

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
