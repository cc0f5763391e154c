//! What the report is drawn from ([`Report`]), and a run folder read back into it for
//! `rehabsim report DIR` ([`Saved`]): its `summary.json`, `occupancy.csv`,
//! `scenario.toml` and (when a sensitivity run wrote one) `tornado.json`, parsed and
//! checked against each other.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::Error;
use crate::model::Model;
use crate::output::outdir::SCENARIO_FILE;
use crate::scenario::Scenario;
use crate::summary::Summary;

/// The state occupancy of all persons (both sexes) read from `occupancy.csv`:
/// `arm → state → [month, mean share, p05 share, p95 share]` in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Occupancy {
    pub arms: IndexMap<String, IndexMap<String, Vec<[f64; 4]>>>,
}

impl Occupancy {
    /// Parse `occupancy.csv` as any `run --out` writes it: the separator is read from the
    /// header (`arm,` or `arm;`) and a decimal comma is accepted.
    pub fn parse(csv_bytes: &[u8]) -> Result<Occupancy, String> {
        let delimiter = csv_bytes
            .get(3)
            .copied()
            .filter(|&b| csv_bytes.starts_with(b"arm") && b != b'\n' && b != b'\r')
            .ok_or("the header does not start with `arm` and a separator")?;
        let mut rd = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(csv_bytes);
        let headers = rd.headers().map_err(|e| e.to_string())?.clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or(format!("the column `{name}` is missing"))
        };
        let [arm, month, state, sex, mean, p05, p95] = [
            col("arm")?,
            col("month")?,
            col("state")?,
            col("sex")?,
            col("mean_share")?,
            col("p05_share")?,
            col("p95_share")?,
        ];
        let num = |s: &str, line: u64| -> Result<f64, String> {
            if s.is_empty() {
                return Ok(f64::NAN);
            }
            s.replace(',', ".")
                .parse()
                .map_err(|_| format!("line {line}: `{s}` is not a number"))
        };
        let mut out = Occupancy::default();
        for rec in rd.records() {
            let rec = rec.map_err(|e| e.to_string())?;
            if rec.get(sex) != Some("all") {
                continue;
            }
            let line = rec.position().map_or(0, |p| p.line());
            let get = |i: usize| rec.get(i).unwrap_or("");
            out.arms
                .entry(get(arm).to_string())
                .or_default()
                .entry(get(state).to_string())
                .or_default()
                .push([
                    num(get(month), line)?,
                    num(get(mean), line)?,
                    num(get(p05), line)?,
                    num(get(p95), line)?,
                ]);
        }
        Ok(out)
    }
}

/// `tornado.json` of a one-way sensitivity run (`rehabsim tornado --out DIR`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Tornado {
    pub scenario: String,
    pub actor: String,
    pub difference: String,
    pub base: f64,
    pub rows: Vec<TornadoRow>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TornadoRow {
    pub parameter: String,
    pub low_value: serde_json::Value,
    pub high_value: serde_json::Value,
    pub net_low: f64,
    pub net_high: f64,
    #[serde(default)]
    pub swing: f64,
}

/// Everything the page is drawn from.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    pub summary: &'a Summary,
    /// The compiled arms (state labels and which states count as success).
    pub models: &'a [Model],
    /// The scenario file as run (before `--set` overrides, which the summary lists).
    pub scenario_text: &'a str,
    pub occupancy: &'a Occupancy,
    pub tornado: Option<&'a Tornado>,
}

/// The saved results of a run folder, parsed and checked against each other.
#[derive(Debug, Clone)]
pub struct Saved {
    pub summary: Summary,
    pub scenario: Scenario,
    pub occupancy: Occupancy,
    pub tornado: Option<Tornado>,
    /// Why a file was left out (e.g. a `tornado.json` of another scenario).
    pub warnings: Vec<String>,
}

/// The texts of a run folder's files (`None`: the file does not exist).
#[derive(Debug, Clone, Copy)]
pub struct SavedTexts<'a> {
    pub dir: &'a Path,
    pub summary_json: &'a str,
    pub occupancy_csv: &'a str,
    pub scenario_toml: &'a str,
    pub tornado_json: Option<&'a str>,
}

impl Saved {
    pub fn parse(f: SavedTexts) -> Result<Saved, Error> {
        let at = |name: &str| f.dir.join(name).display().to_string();
        check_format(f.summary_json, &at("summary.json"), f.dir)?;
        let summary: Summary = serde_json::from_str(f.summary_json).map_err(|e| {
            Error::Input(format!(
                "{} is not a rehabsim summary: {e}; write it again with `rehabsim run \
                 SCENARIO --out {}`",
                at("summary.json"),
                f.dir.display()
            ))
        })?;
        let path = f.dir.join(SCENARIO_FILE);
        let mut src = crate::scenario::parse(&path, f.scenario_toml.to_string())?;
        src.apply_overrides(&summary.overrides)?;
        let scenario = src.compile()?;
        let arms: Vec<&str> = scenario.arms.iter().map(|m| m.arm.id.as_str()).collect();
        let saved: Vec<&str> = summary.arms.keys().map(String::as_str).collect();
        if scenario.base().name != summary.scenario || arms != saved {
            return Err(Error::Input(format!(
                "{} and {} do not belong together: the summary is of scenario `{}` with arms \
                 {}, the scenario file is `{}` with arms {}",
                at("summary.json"),
                at(SCENARIO_FILE),
                summary.scenario,
                saved.join(", "),
                scenario.base().name,
                arms.join(", ")
            )));
        }
        let occupancy = Occupancy::parse(f.occupancy_csv.as_bytes())
            .map_err(|e| Error::Input(format!("{}: {e}", at("occupancy.csv"))))?;
        let mut warnings = Vec::new();
        let tornado = match f.tornado_json {
            None => None,
            Some(text) => match serde_json::from_str::<Tornado>(text) {
                Err(e) => {
                    warnings.push(format!(
                        "{} is left out of the report: it is not a tornado result ({e})",
                        at("tornado.json")
                    ));
                    None
                }
                Ok(t) => {
                    let fits = t.scenario == summary.scenario
                        && summary
                            .differences
                            .get(&t.difference)
                            .is_some_and(|d| d.actors.contains_key(&t.actor));
                    if fits {
                        Some(t)
                    } else {
                        warnings.push(format!(
                            "{} is left out of the report: it is of scenario `{}`, difference \
                             `{}`, actor `{}`, which this run does not have",
                            at("tornado.json"),
                            t.scenario,
                            t.difference,
                            t.actor
                        ));
                        None
                    }
                }
            },
        };
        Ok(Saved {
            summary,
            scenario,
            occupancy,
            tornado,
            warnings,
        })
    }

    pub fn report(&self) -> Report<'_> {
        Report {
            summary: &self.summary,
            models: &self.scenario.arms,
            scenario_text: &self.scenario.source.text,
            occupancy: &self.occupancy,
            tornado: self.tornado.as_ref(),
        }
    }
}

/// Refuse a `summary.json` that is not a summary of this rehabsim's format version before
/// reading it as one, so that an old or foreign file gets a message that says so.
fn check_format(text: &str, shown: &str, dir: &Path) -> Result<(), Error> {
    #[derive(serde::Deserialize)]
    struct Probe {
        format: Option<serde_json::Value>,
        format_version: Option<serde_json::Value>,
    }
    let again = format!(
        "write it again with `rehabsim run SCENARIO --out {}`",
        dir.display()
    );
    let probe: Probe = serde_json::from_str(text)
        .map_err(|e| Error::Input(format!("{shown} is not a rehabsim summary: {e}; {again}")))?;
    if probe.format.as_ref().and_then(|f| f.as_str()) != Some(crate::summary::FORMAT) {
        return Err(Error::Input(format!(
            "{shown} is not a rehabsim summary (its `format` is not \"{}\": it was written by an older rehabsim or by another program); {again}",
            crate::summary::FORMAT
        )));
    }
    let version = probe.format_version.as_ref().and_then(|v| v.as_u64());
    if version != Some(u64::from(crate::summary::FORMAT_VERSION)) {
        return Err(Error::Input(format!(
            "{shown} has format version {}, but this rehabsim reads version {}; {again}",
            probe
                .format_version
                .map_or("(none)".to_string(), |v| v.to_string()),
            crate::summary::FORMAT_VERSION
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupancy_reads_any_separator_and_decimal_mark() {
        let plain = b"arm,month,state,sex,mean_count,mean_share,p05_share,p95_share\n\
            a,0,work,all,1,0.25,0.2,0.3\na,0,work,women,1,0.5,0.4,0.6\na,1,work,all,1,0.5,,0.7\n";
        let swedish = b"arm;month;state;sex;mean_count;mean_share;p05_share;p95_share\n\
            a;0;work;all;1;0,25;0,2;0,3\na;0;work;women;1;0,5;0,4;0,6\na;1;work;all;1;0,5;;0,7\n";
        let a = Occupancy::parse(plain).unwrap();
        let b = Occupancy::parse(swedish).unwrap();
        let pts = &a.arms["a"]["work"];
        assert_eq!(pts.len(), 2);
        assert_eq!(pts[0], [0.0, 0.25, 0.2, 0.3]);
        assert!(pts[1][2].is_nan());
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(
            Occupancy::parse(b"month,arm\n").unwrap_err(),
            "the header does not start with `arm` and a separator"
        );
    }
}
