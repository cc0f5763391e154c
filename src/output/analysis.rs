//! Exporters of the analyses that are not part of a run's summary: the tornado table
//! (`tornado.csv`, `tornado.json`, terminal) and the grid sweep (`sweep.csv`, terminal).
//! Each returns bytes or text; [`super::write_atomic`] writes them.

use std::fmt::Write;

use crate::analysis::sweep::Sweep;
use crate::analysis::tornado::Tornado;

use super::table::ksek;

/// Numbers as in `balance.csv`: integers without decimals, others with six; NaN empty.
fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.6}")
    }
}

fn finish(w: csv::Writer<Vec<u8>>) -> Vec<u8> {
    w.into_inner().unwrap_or_default()
}

/// `tornado.json`: the [`Tornado`] as pretty-printed JSON with a trailing newline.
pub fn tornado_json(t: &Tornado) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(t)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
    v.push(b'\n');
    v
}

/// `tornado.csv`: one row per parameter, sorted by swing; SEK, discounted.
pub fn tornado_csv(t: &Tornado) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "scenario",
        "difference",
        "actor",
        "parameter",
        "low_value",
        "high_value",
        "net_low",
        "net_high",
        "swing",
        "base",
    ]);
    for r in &t.rows {
        let _ = w.write_record([
            t.scenario.as_str(),
            &t.difference,
            &t.actor,
            &r.parameter,
            &num(r.low_value),
            &num(r.high_value),
            &num(r.net_low),
            &num(r.net_high),
            &num(r.swing),
            &num(t.base),
        ]);
    }
    finish(w)
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

/// `sweep.csv`: one row per grid point × difference × balance-sheet row, with one column
/// per grid key holding the point's value as typed.
pub fn sweep_csv(s: &Sweep) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(s.keys.iter().cloned());
    header.extend(
        [
            "difference",
            "actor",
            "net_mean",
            "net_p05",
            "net_p95",
            "net_per_participant_mean",
            "prob_positive",
            "payback_median_month",
        ]
        .map(String::from),
    );
    let _ = w.write_record(&header);
    for r in &s.rows {
        let mut rec: Vec<String> = vec![r.point.to_string()];
        rec.extend(r.values.iter().cloned());
        rec.extend([
            r.difference.clone(),
            r.actor.clone(),
            num(r.net.mean),
            num(r.net.p05),
            num(r.net.p95),
            num(r.net_per_participant.mean),
            num(r.prob_positive),
            r.payback_median_month.map(num).unwrap_or_default(),
        ]);
        let _ = w.write_record(&rec);
    }
    finish(w)
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
