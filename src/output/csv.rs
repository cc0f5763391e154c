//! Tidy CSV exports: `balance.csv` (one row per arm or difference × actor × component ×
//! sex) and `occupancy.csv` (arm × month × state × sex).

use serde::Serialize;

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
    fn num(&self, x: f64) -> Num {
        Num {
            value: x,
            decimal_comma: self.decimal_comma,
        }
    }
}

/// A number cell: integers without decimals, others with six, NaN empty; with a decimal
/// comma when [`CsvOptions::decimal_comma`] asks for one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Num {
    pub value: f64,
    pub decimal_comma: bool,
}

impl Num {
    pub fn plain(value: f64) -> Num {
        Num {
            value,
            decimal_comma: false,
        }
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let x = self.value;
        let s = if x.is_nan() {
            String::new()
        } else if x.fract() == 0.0 && x.abs() < 1e15 {
            format!("{x:.0}")
        } else {
            format!("{x:.6}")
        };
        if self.decimal_comma {
            f.write_str(&s.replace('.', ","))
        } else {
            f.write_str(&s)
        }
    }
}

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The CSV file of `rows` (a header from the row type's field names, then one line per
/// row). A file with no rows would have no header; every export here has rows.
pub(super) fn to_csv<R: Serialize>(delimiter: u8, rows: impl IntoIterator<Item = R>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    for row in rows {
        w.serialize(row)
            .expect("a row struct of scalars serializes into memory");
    }
    w.into_inner().unwrap_or_default()
}

/// A line of `balance.csv`.
#[derive(Serialize)]
struct BalanceRow<'a> {
    /// `arm` or `difference`.
    kind: &'a str,
    name: &'a str,
    actor: &'a str,
    component: &'static str,
    /// `all`, `women` or `men`.
    sex: &'static str,
    mean: Num,
    p05: Num,
    p50: Num,
    p95: Num,
    /// The probability that the difference is positive: differences, `net`, `all` only.
    prob_positive: Option<Num>,
}

/// `balance.csv`: discounted SEK, one `BalanceRow` per arm or difference × actor ×
/// component × sex.
pub fn balance_csv(s: &Summary, o: &CsvOptions) -> Vec<u8> {
    let arms = s.arms.iter().flat_map(|(name, arm)| {
        arm.actors
            .iter()
            .flat_map(move |(actor, a)| balance_rows(o, "arm", name, actor, a, None))
    });
    let differences = s.differences.iter().flat_map(|(name, d)| {
        d.actors.iter().flat_map(move |(actor, a)| {
            balance_rows(
                o,
                "difference",
                name,
                actor,
                &a.sheet,
                Some(a.prob_positive),
            )
        })
    });
    to_csv(o.delimiter, arms.chain(differences))
}

/// The rows of one actor's sheet: each component for all, then by sex where it is split.
fn balance_rows<'a>(
    o: &CsvOptions,
    kind: &'a str,
    name: &'a str,
    actor: &'a str,
    a: &ActorSummary,
    prob: Option<f64>,
) -> Vec<BalanceRow<'a>> {
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
    let mut rows = Vec::new();
    for (component, all, women, men) in comps {
        for (sex, st) in [("all", Some(all)), ("women", women), ("men", men)] {
            let Some(st) = st else { continue };
            rows.push(BalanceRow {
                kind,
                name,
                actor,
                component,
                sex,
                mean: o.num(st.mean),
                p05: o.num(st.p05),
                p50: o.num(st.p50),
                p95: o.num(st.p95),
                prob_positive: prob
                    .filter(|_| component == "net" && sex == "all")
                    .map(|x| o.num(x)),
            });
        }
    }
    rows
}

/// A line of `occupancy.csv`.
#[derive(Serialize)]
struct OccupancyRow<'a> {
    arm: &'a str,
    /// Months since entry at the start of the step (the trace point).
    month: u32,
    state: &'a str,
    /// `all`, `women` or `men`.
    sex: &'static str,
    mean_count: Num,
    mean_share: Num,
    p05_share: Num,
    p95_share: Num,
}

/// `occupancy.csv`: persons per state at the start of each month (trace point), mean
/// over replications and the 90 % interval of the share; one `OccupancyRow` per arm ×
/// month × state × sex.
pub fn occupancy_csv(models: &[Model], reps: &[RepResult], o: &CsvOptions) -> Vec<u8> {
    let mut rows = Vec::new();
    for (a, m) in models.iter().enumerate() {
        let mps = m.months_per_step();
        for p in 0..=m.horizon as usize {
            for (s, st) in m.states.iter().enumerate() {
                for (sex, sexes) in [
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
                    rows.push(OccupancyRow {
                        arm: &m.arm.id,
                        month: p as u32 * mps,
                        state: &st.id,
                        sex,
                        mean_count: o.num(cs.mean),
                        mean_share: o.num(ss.mean),
                        p05_share: o.num(ss.p05),
                        p95_share: o.num(ss.p95),
                    });
                }
            }
        }
    }
    to_csv(o.delimiter, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        x: Num,
        y: Option<Num>,
    }

    #[test]
    fn numbers_and_separators() {
        let comma = CsvOptions {
            delimiter: b';',
            decimal_comma: true,
        };
        let rows = [
            Row {
                name: "a;b",
                x: comma.num(0.25),
                y: None,
            },
            Row {
                name: "c",
                x: comma.num(-3.0),
                y: Some(comma.num(f64::NAN)),
            },
        ];
        assert_eq!(
            String::from_utf8(to_csv(b';', rows)).unwrap(),
            "name;x;y\n\"a;b\";0,250000;\nc;-3;\n"
        );
        assert_eq!(Num::plain(1.5).to_string(), "1.500000");
        assert_eq!(Num::plain(1e15).to_string(), "1000000000000000.000000");
    }
}
