//! The transition rows of one arm at one step: for every state, clock band and age band,
//! the destinations with their base rate — `rate(clock) × age factor × step factor` —
//! and the sums the person's multiplier applies to. Both engines read their rows here, so
//! that the bands of a piecewise rate (which clock and which age a break point belongs to)
//! are decided in one place.
//!
//! The tables are flat with a fixed stride, so that the row of a person is two
//! independent loads after the state; `quick` and `clock_until` serve the
//! microsimulation's short path (`engine::fast`).

use crate::cohort::MAX_AGE_MONTHS;
use crate::model::{Mode, Model};

/// One destination of a precomputed transition row.
#[derive(Debug, Clone, Copy)]
pub struct RowDest {
    pub to: u8,
    pub success: bool,
    /// The attribute that multiplies the hazard ([`NO_ATTR`]: none).
    pub attr: u8,
    /// The base rate.
    pub h: f64,
}

/// No attribute multiplies the destination's hazard.
pub const NO_ATTR: u8 = u8::MAX;

#[derive(Debug, Clone, Copy, Default)]
/// One transition row: its destinations (`Tables::dests[start .. start + len]`), the sum
/// of their base rates into success states (`lam_s`, which the person's multiplier
/// scales) and into others (`lam_o`).
pub struct Row {
    pub start: u32,
    pub len: u32,
    pub lam_s: f64,
    pub lam_o: f64,
    /// Some destination's hazard is multiplied by an attribute of the person.
    pub has_attr: bool,
    /// Competing hazards (else per-step probabilities): the state's `Mode`.
    pub hazard: bool,
}

/// Step-specific lookup tables of one arm. The band tables are flat with a fixed stride
/// (not a table per state): the row of a person is two independent loads after the state.
pub struct Tables {
    /// `rows[(state * clock_bands + clock_band) * age_bands + age_band]`.
    rows: Vec<Row>,
    pub dests: Vec<RowDest>,
    /// `clock_row[state * clock_stride + min(clock, clock_stride - 1)]` is the index of
    /// the state's row for age band 0 at that clock.
    pub clock_row: Vec<u32>,
    pub clock_stride: usize,
    /// `age_band[state * (MAX_AGE_MONTHS + 1) + age_months]`.
    pub age_band: Vec<u8>,
    /// Some hazard depends on age (else every age band is 0 and the lookup is skipped).
    pub by_age: bool,
    /// `clock_until[k]`, for `k` the index of `clock_row` at clock `c`: the first clock
    /// above `c` with another row (`u16::MAX`: none).
    pub clock_until: Vec<u16>,
    /// Without age bands: `(lam_s, lam_o)` of the row at `clock_row`'s index, one load
    /// for the short path's test; a row whose hazards depend on attributes has
    /// `lam_o = ∞`, so the test always sends it to the full path.
    pub quick: Vec<[f64; 2]>,
}

impl Tables {
    /// The rows of arm `m` at step `step` (rates that depend on the step take its value).
    pub fn build(m: &Model, step: u32) -> Tables {
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

    /// The row of a person in `state` at `clock` and `age_months`.
    #[inline]
    pub fn row(&self, state: usize, clock: u16, age_months: usize) -> &Row {
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
