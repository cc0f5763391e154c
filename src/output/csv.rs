//! Tidy CSV exports: `balance.csv` (one row per arm or difference × actor × component ×
//! sex) and `occupancy.csv` (arm × month × state × sex).

use crate::engine::RepResult;
use crate::model::Model;
use crate::stats::Stat;
use crate::summary::{ActorSummary, Summary};

/// Options for spreadsheet users (e.g. Swedish Excel wants `;` and a decimal comma).
#[derive(Debug, Clone, Copy)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub decimal_comma: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            decimal_comma: false,
        }
    }
}

impl CsvOptions {
    fn num(&self, x: f64) -> String {
        let s = if x.is_nan() {
            String::new()
        } else if x.fract() == 0.0 && x.abs() < 1e15 {
            format!("{x:.0}")
        } else {
            format!("{x:.6}")
        };
        if self.decimal_comma {
            s.replace('.', ",")
        } else {
            s
        }
    }
}

fn writer(o: &CsvOptions) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .delimiter(o.delimiter)
        .from_writer(Vec::new())
}

fn finish(w: csv::Writer<Vec<u8>>) -> Vec<u8> {
    w.into_inner().unwrap_or_default()
}

fn stat_cells(o: &CsvOptions, s: &Stat) -> [String; 4] {
    [o.num(s.mean), o.num(s.p05), o.num(s.p50), o.num(s.p95)]
}

/// `balance.csv`: discounted SEK. Columns: kind (arm or difference), name, actor,
/// component, sex, mean, p05, p50, p95, prob_positive (differences only).
pub fn balance_csv(s: &Summary, o: &CsvOptions) -> Vec<u8> {
    let mut w = writer(o);
    let _ = w.write_record([
        "kind",
        "name",
        "actor",
        "component",
        "sex",
        "mean",
        "p05",
        "p50",
        "p95",
        "prob_positive",
    ]);
    let mut rows = |kind: &str, name: &str, actor: &str, a: &ActorSummary, prob: Option<f64>| {
        let comps: [(&str, &Stat, Option<&Stat>, Option<&Stat>); 6] = [
            ("net", &a.net, Some(&a.women.net), Some(&a.men.net)),
            (
                "production",
                &a.production,
                Some(&a.women.production),
                Some(&a.men.production),
            ),
            (
                "transfers",
                &a.transfers,
                Some(&a.women.transfers),
                Some(&a.men.transfers),
            ),
            (
                "resources",
                &a.resources,
                Some(&a.women.resources),
                Some(&a.men.resources),
            ),
            ("investment", &a.investment, None, None),
            ("net_per_participant", &a.net_per_participant, None, None),
        ];
        for (comp, all, women, men) in comps {
            for (sex, st) in [("all", Some(all)), ("women", women), ("men", men)] {
                let Some(st) = st else { continue };
                let [m, p05, p50, p95] = stat_cells(o, st);
                let p = if comp == "net" && sex == "all" {
                    prob.map(|x| o.num(x)).unwrap_or_default()
                } else {
                    String::new()
                };
                let _ = w.write_record([kind, name, actor, comp, sex, &m, &p05, &p50, &p95, &p]);
            }
        }
    };
    for (name, arm) in &s.arms {
        for (actor, a) in &arm.actors {
            rows("arm", name, actor, a, None);
        }
    }
    for (name, d) in &s.differences {
        for (actor, a) in &d.actors {
            rows("difference", name, actor, &a.sheet, Some(a.prob_positive));
        }
    }
    finish(w)
}

/// `occupancy.csv`: persons per state at the start of each month (trace point), mean
/// over replications and the 90 % interval of the share.
pub fn occupancy_csv(models: &[Model], reps: &[RepResult], o: &CsvOptions) -> Vec<u8> {
    let mut w = writer(o);
    let _ = w.write_record([
        "arm",
        "month",
        "state",
        "sex",
        "mean_count",
        "mean_share",
        "p05_share",
        "p95_share",
    ]);
    for (a, m) in models.iter().enumerate() {
        let mps = m.months_per_step();
        for p in 0..=m.horizon as usize {
            for (s, st) in m.states.iter().enumerate() {
                for (label, sexes) in [
                    ("all", &[0usize, 1][..]),
                    ("women", &[0][..]),
                    ("men", &[1][..]),
                ] {
                    let mut counts = Vec::with_capacity(reps.len());
                    let mut shares = Vec::with_capacity(reps.len());
                    for r in reps {
                        let arm = &r.arms[a];
                        let c: f64 = sexes.iter().map(|&x| arm.occ(p, s, x)).sum();
                        let n: f64 = (0..arm.states)
                            .flat_map(|y| sexes.iter().map(move |&x| (y, x)))
                            .map(|(y, x)| arm.occ(p, y, x))
                            .sum();
                        counts.push(c);
                        shares.push(if n > 0.0 { c / n } else { f64::NAN });
                    }
                    let cs = Stat::of(&counts);
                    let ss = Stat::of(&shares);
                    let month = (p as u32 * mps).to_string();
                    let _ = w.write_record([
                        &m.arm.id,
                        &month,
                        &st.id,
                        label,
                        &o.num(cs.mean),
                        &o.num(ss.mean),
                        &o.num(ss.p05),
                        &o.num(ss.p95),
                    ]);
                }
            }
        }
    }
    finish(w)
}
