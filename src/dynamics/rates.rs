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
use crate::model::{Mode, Model, Transitions};

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
        let bands = Bands::of(m);
        let s_n = m.states.len();
        let clock_bands = bands
            .clock_breaks
            .iter()
            .map(|b| b.len() + 1)
            .max()
            .unwrap_or(1);
        let age_bands = bands
            .age_breaks
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
            for cb in 0..=bands.clock_breaks[s].len() {
                let clock_at = if cb == 0 {
                    0.0
                } else {
                    bands.clock_breaks[s][cb - 1]
                };
                for ab in 0..=bands.age_breaks[s].len() {
                    let age_at = if ab == 0 {
                        0.0
                    } else {
                        bands.age_breaks[s][ab - 1]
                    };
                    let row = row_at(tr, clock_at, age_at, step, &mut dests);
                    rows[(s * clock_bands + cb) * age_bands + ab] = row;
                }
            }
        }
        // Each state's clock table is padded with its last band up to the common stride.
        let clock_stride = bands.clock_band.iter().map(Vec::len).max().unwrap_or(1);
        let mut clock_row = Vec::with_capacity(s_n * clock_stride);
        for (s, cbt) in bands.clock_band.iter().enumerate() {
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
            age_band: bands.age_band.concat(),
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

/// Where the bands of each state's row begin: its clock breaks (those of its first
/// destination's rate: validation gives every destination the same), the union of its
/// destinations' age breaks, and the band of every clock and every age in months.
struct Bands {
    clock_breaks: Vec<Vec<f64>>,
    age_breaks: Vec<Vec<f64>>,
    /// `clock_band[state][clock]` up to one past the last break.
    clock_band: Vec<Vec<u8>>,
    /// `age_band[state][age_months]`.
    age_band: Vec<Vec<u8>>,
}

impl Bands {
    fn of(m: &Model) -> Bands {
        let s_n = m.states.len();
        let mut b = Bands {
            clock_breaks: Vec::with_capacity(s_n),
            age_breaks: Vec::with_capacity(s_n),
            clock_band: Vec::with_capacity(s_n),
            age_band: Vec::with_capacity(s_n),
        };
        for tr in &m.transitions {
            let (cb, ab) = match tr {
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
                    (cb, ab)
                }
                None => (vec![], vec![]),
            };
            let max_clock = cb.last().copied().unwrap_or(0.0) as usize + 1;
            b.clock_band.push(
                (0..=max_clock)
                    .map(|c| cb.partition_point(|&x| x <= c as f64) as u8)
                    .collect(),
            );
            b.age_band.push(
                (0..=MAX_AGE_MONTHS)
                    .map(|a| ab.partition_point(|&x| x * 12.0 <= a as f64) as u8)
                    .collect(),
            );
            b.clock_breaks.push(cb);
            b.age_breaks.push(ab);
        }
        b
    }
}

/// The row of transitions `tr` at clock `clock_at`, age `age_at` (years) and `step`, its
/// destinations appended to `dests`: every destination's base rate times its age and
/// step factors, those with a positive rate only.
fn row_at(
    tr: &Transitions,
    clock_at: f64,
    age_at: f64,
    step: u32,
    dests: &mut Vec<RowDest>,
) -> Row {
    let start = dests.len() as u32;
    let mut row = Row {
        start,
        hazard: tr.mode == Mode::Hazard,
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
    row
}
