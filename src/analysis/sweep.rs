//! Grid sweeps for researchers: every combination of a set of overrides, run through the
//! same replications with the same seed (common random numbers across grid points), one
//! tidy result row per grid point × difference × balance-sheet row.
//!
//! Grid points are ordered with the first `--grid` varying slowest; within a point, rows
//! follow the differences and then the balance sheet's order. A grid value replaces the
//! value in the scenario, a distribution included (it is then fixed at that value while
//! the other uncertain values are still drawn).

use crate::scenario::Source;
use crate::stats::Stat;
use crate::{Error, RunOptions};

/// One `--grid key.path=v1,v2,...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub key: String,
    /// As typed; each is parsed like a `--set` value.
    pub values: Vec<String>,
}

impl Grid {
    pub fn parse(text: &str) -> Result<Grid, Error> {
        let (key, values) = text.split_once('=').ok_or_else(|| {
            Error::Input(format!(
                "--grid {text}: expected `key.path=v1,v2,...`, e.g. `--grid programmes.arena.effect=1.0,1.4,2.0`"
            ))
        })?;
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if values.iter().any(String::is_empty) {
            return Err(Error::Input(format!(
                "--grid {text}: a value is empty; separate values by single commas"
            )));
        }
        Ok(Grid {
            key: key.trim().to_string(),
            values,
        })
    }
}

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Index of the grid point (0-based, in grid order).
    pub point: usize,
    /// The grid values of this point, in the order of the grids.
    pub values: Vec<String>,
    pub difference: String,
    pub actor: String,
    pub net: Stat,
    pub net_per_participant: Stat,
    pub prob_positive: f64,
    pub payback_median_month: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub scenario: String,
    pub keys: Vec<String>,
    pub points: usize,
    pub rows: Vec<SweepRow>,
}

/// Every grid point's values, first grid slowest.
pub fn points(grids: &[Grid]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for g in grids {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                g.values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .collect();
    }
    out
}

/// Run the sweep over `source` (with its `--set` overrides already applied).
pub fn run(
    source: &Source,
    grids: &[Grid],
    progress: &dyn Fn(usize, usize),
) -> Result<Sweep, Error> {
    if grids.is_empty() {
        return Err(Error::Input(
            "name at least one grid, e.g. `--grid programmes.arena.effect=1.0,1.4,2.0`".into(),
        ));
    }
    for (i, g) in grids.iter().enumerate() {
        if grids[..i].iter().any(|h| h.key == g.key) {
            return Err(Error::Input(format!(
                "--grid {}: the key is given twice; list all its values in one --grid",
                g.key
            )));
        }
    }
    let pts = points(grids);
    // Compile every point before the first run, so that a bad value fails at once.
    let mut scenarios = Vec::with_capacity(pts.len());
    for p in &pts {
        let mut src = source.clone();
        let sets: Vec<String> = grids
            .iter()
            .zip(p)
            .map(|(g, v)| format!("{}={v}", g.key))
            .collect();
        src.apply_overrides(&sets)?;
        scenarios.push(src.compile()?);
    }
    let mut rows = Vec::new();
    let mut name = String::new();
    for (i, (sc, p)) in scenarios.iter().zip(&pts).enumerate() {
        let out = crate::run(sc, &RunOptions::default())?;
        name.clone_from(&out.summary.scenario);
        for (dk, d) in &out.summary.differences {
            for (actor, a) in &d.actors {
                rows.push(SweepRow {
                    point: i,
                    values: p.clone(),
                    difference: dk.clone(),
                    actor: actor.clone(),
                    net: a.sheet.net,
                    net_per_participant: a.sheet.net_per_participant,
                    prob_positive: a.prob_positive,
                    payback_median_month: a.payback.median_month,
                });
            }
        }
        progress(i + 1, pts.len());
    }
    Ok(Sweep {
        scenario: name,
        keys: grids.iter().map(|g| g.key.clone()).collect(),
        points: pts.len(),
        rows,
    })
}
