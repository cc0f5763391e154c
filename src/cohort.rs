//! The cohort: individual attributes drawn once per replication and shared by every arm.
//!
//! Struct of arrays: the engine's monthly pass reads only the columns it needs. Persons are
//! ordered by entry step (the intake schedule), so the persons present at step `t` are a
//! prefix of the arrays.

use crate::model::{AttributeSource, Model, RiskKind};
use crate::rng::{Purpose, Streams, unit};
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
    pub entry: Vec<u32>,
    /// Age in months at entry.
    pub age0: Vec<u16>,
    pub start_state: Vec<u8>,
    pub start_clock: Vec<u16>,
    /// Product of the hazard ratios of the person's (prevalence) risk factors.
    pub risk: Vec<f32>,
    /// Attribute values, `[attribute][person]`.
    pub attr: Vec<Vec<f64>>,
    /// The same in fixed point (see [`ATTR_SCALE`]).
    pub attr_fx: Vec<Vec<i64>>,
    /// Number of persons that have entered by step `t` (`entered[t]`), t = 0..=H.
    pub entered: Vec<usize>,
}

impl Cohort {
    pub fn len(&self) -> usize {
        self.sex.len()
    }
    pub fn is_empty(&self) -> bool {
        self.sex.is_empty()
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
        let h = model.horizon as usize;
        c.entered = (0..=h)
            .map(|t| c.entry.partition_point(|&e| e as usize <= t))
            .collect();
        c
    }

    fn reserve(&mut self, n: usize) {
        self.sex.reserve_exact(n);
        self.entry.reserve_exact(n);
        self.age0.reserve_exact(n);
        self.start_state.reserve_exact(n);
        self.start_clock.reserve_exact(n);
        self.risk.reserve_exact(n);
        for (a, fx) in self.attr.iter_mut().zip(&mut self.attr_fx) {
            a.reserve_exact(n);
            fx.reserve_exact(n);
        }
    }

    /// Move the persons of `other` (drawn for the persons after this one's) to the end.
    fn append(&mut self, mut other: Cohort) {
        self.sex.append(&mut other.sex);
        self.entry.append(&mut other.entry);
        self.age0.append(&mut other.age0);
        self.start_state.append(&mut other.start_state);
        self.start_clock.append(&mut other.start_clock);
        self.risk.append(&mut other.risk);
        for (a, b) in self.attr.iter_mut().zip(&mut other.attr) {
            a.append(b);
        }
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
            entry: Vec::with_capacity(n),
            age0: Vec::with_capacity(n),
            start_state: Vec::with_capacity(n),
            start_clock: Vec::with_capacity(n),
            risk: Vec::with_capacity(n),
            attr: vec![Vec::with_capacity(n); n_attr],
            attr_fx: vec![Vec::with_capacity(n); n_attr],
            entered: Vec::new(),
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
        for i in range {
            let p = i as u32;
            let batch = (i as u64) / pop.intake.size;
            let entry = u64::from(pop.intake.first) + batch * u64::from(pop.intake.every);
            c.entry.push(entry.min(u64::from(u32::MAX)) as u32);

            for (a, (at, source)) in pop.attributes.iter().zip(&sources).enumerate() {
                let mut rng = streams.sequence(p, 1 + a as u32, Purpose::Person);
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
                c.attr[a].push(values[a]);
                c.attr_fx[a].push(fx as i64);
            }

            let mut rng = streams.sequence(p, 0, Purpose::Person);
            use rand::Rng;
            let sex = if unit(rng.next_u32()) < pop.women_share {
                WOMAN
            } else {
                MAN
            };
            c.sex.push(sex);
            let age_years = age_sampler.sample(&mut rng);
            let age_months = (age_years * 12.0).round().clamp(0.0, MAX_AGE_MONTHS as f64);
            c.age0.push(age_months as u16);
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
