//! Exporters of the analyses that are not part of a run's summary: the tornado table
//! (`tornado.csv`, `tornado.json`, terminal) and the grid sweep (`sweep.csv`, terminal).
//! Each returns bytes or text; [`super::write_atomic`] writes them.

use std::fmt::Write;

use crate::analysis::sweep::Sweep;
use crate::analysis::tornado::Tornado;

use serde::Serialize;

use super::csv::{Num, to_csv};
use super::table::ksek;

/// Numbers as in `balance.csv`: integers without decimals, others with six; NaN empty.
fn num(x: f64) -> Num {
    Num::plain(x)
}

/// `tornado.json`: the [`Tornado`] as pretty-printed JSON with a trailing newline.
pub fn tornado_json(t: &Tornado) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(t)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
    v.push(b'\n');
    v
}

/// A line of `tornado.csv`.
#[derive(Serialize)]
struct TornadoCsvRow<'a> {
    scenario: &'a str,
    difference: &'a str,
    actor: &'a str,
    parameter: &'a str,
    low_value: Num,
    high_value: Num,
    net_low: Num,
    net_high: Num,
    swing: Num,
    base: Num,
}

/// `tornado.csv`: one `TornadoCsvRow` per parameter, sorted by swing; SEK, discounted.
pub fn tornado_csv(t: &Tornado) -> Vec<u8> {
    to_csv(
        b',',
        t.rows.iter().map(|r| TornadoCsvRow {
            scenario: &t.scenario,
            difference: &t.difference,
            actor: &t.actor,
            parameter: &r.parameter,
            low_value: num(r.low_value),
            high_value: num(r.high_value),
            net_low: num(r.net_low),
            net_high: num(r.net_high),
            swing: num(r.swing),
            base: num(t.base),
        }),
    )
}

/// A value for the terminal: up to four significant digits after the point.
fn short(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The tornado table for the terminal, in kSEK.
pub fn tornado_text(t: &Tornado) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Tornado: {} — {}, {}", t.scenario, t.difference, t.actor);
    let _ = writeln!(
        o,
        "one-way sensitivity, other uncertain values at their means, common random numbers; mean discounted difference in kSEK; base {}",
        ksek(t.base)
    );
    let w = t
        .rows
        .iter()
        .map(|r| r.parameter.chars().count())
        .max()
        .unwrap_or(9)
        .max(9);
    let _ = writeln!(
        o,
        "{:<w$} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "parameter", "low", "high", "Δ at low", "Δ at high", "swing"
    );
    for r in &t.rows {
        let _ = writeln!(
            o,
            "{:<w$} {:>12} {:>12} {:>12} {:>12} {:>10}",
            r.parameter,
            short(r.low_value),
            short(r.high_value),
            ksek(r.net_low),
            ksek(r.net_high),
            ksek(r.swing)
        );
    }
    o
}

/// The columns of `sweep.csv` after the grid keys: one per field of `SweepTail`, in
/// its order (a test holds the two equal).
const SWEEP_TAIL: [&str; 8] = [
    "difference",
    "actor",
    "net_mean",
    "net_p05",
    "net_p95",
    "net_per_participant_mean",
    "prob_positive",
    "payback_median_month",
];

/// What a line of `sweep.csv` has after its point and grid values.
#[derive(Serialize)]
struct SweepTail<'a> {
    difference: &'a str,
    actor: &'a str,
    net_mean: Num,
    net_p05: Num,
    net_p95: Num,
    net_per_participant_mean: Num,
    prob_positive: Num,
    payback_median_month: Option<Num>,
}

/// `sweep.csv`: one row per grid point × difference × balance-sheet row: the point, one
/// column per grid key holding the point's value as typed, then a `SweepTail`. (The
/// grid keys are column names only known at run time, so this header is written from
/// the keys and `SWEEP_TAIL` rather than from a struct's field names.)
pub fn sweep_csv(s: &Sweep) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let header = ["point"]
        .into_iter()
        .chain(s.keys.iter().map(String::as_str))
        .chain(SWEEP_TAIL);
    let _ = w.write_record(header);
    for r in &s.rows {
        let tail = SweepTail {
            difference: &r.difference,
            actor: &r.actor,
            net_mean: num(r.net.mean),
            net_p05: num(r.net.p05),
            net_p95: num(r.net.p95),
            net_per_participant_mean: num(r.net_per_participant.mean),
            prob_positive: num(r.prob_positive),
            payback_median_month: r.payback_median_month.map(num),
        };
        w.serialize((r.point, &r.values, tail))
            .expect("a sweep row serializes into memory");
    }
    w.into_inner().unwrap_or_default()
}

/// The sweep for the terminal: society's row of every point and difference, in kSEK.
pub fn sweep_text(s: &Sweep) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Sweep: {} — {} grid points; society's discounted difference in kSEK, mean [90% interval] (all actors in sweep.csv)",
        s.scenario, s.points
    );
    let widths: Vec<usize> = s
        .keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            s.rows
                .iter()
                .map(|r| r.values[i].chars().count())
                .chain([k.chars().count()])
                .max()
                .unwrap_or(1)
        })
        .collect();
    for (k, w) in s.keys.iter().zip(&widths) {
        let _ = write!(o, "{k:<w$}  ");
    }
    let _ = writeln!(
        o,
        "{:<28} {:>28} {:>7} {:>8}",
        "difference", "society Δ", "P(Δ>0)", "payback"
    );
    for r in s.rows.iter().filter(|r| r.actor == "society") {
        for (v, w) in r.values.iter().zip(&widths) {
            let _ = write!(o, "{v:<w$}  ");
        }
        let _ = writeln!(
            o,
            "{:<28} {:>28} {:>7} {:>8}",
            r.difference,
            format!(
                "{} [{}; {}]",
                ksek(r.net.mean),
                ksek(r.net.p05),
                ksek(r.net.p95)
            ),
            format!("{:.1}%", r.prob_positive * 100.0),
            r.payback_median_month
                .map_or("never".to_string(), |m| format!("{m:.0} mo"))
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_tail_columns_are_the_struct_fields() {
        let tail = SweepTail {
            difference: "d",
            actor: "a",
            net_mean: num(0.0),
            net_p05: num(0.0),
            net_p95: num(0.0),
            net_per_participant_mean: num(0.0),
            prob_positive: num(0.0),
            payback_median_month: None,
        };
        let bytes = to_csv(b',', [tail]);
        let header = String::from_utf8(bytes).unwrap();
        assert_eq!(header.lines().next(), Some(SWEEP_TAIL.join(",").as_str()));
    }
}
