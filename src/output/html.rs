//! `report.html`: the balance sheet as one self-contained page a municipal board can read
//! and print — plain-words summary, tables, SVG charts, the assumptions with their
//! sources and the scenario file itself — in Swedish or English ([`crate::i18n`]).
//!
//! The page is rendered only from what a run saves (`summary.json`, `occupancy.csv`,
//! `scenario.toml`, and `tornado.json` when a sensitivity run wrote one), so that
//! `rehabsim report DIR` gives the same bytes as the run that wrote DIR. It loads nothing:
//! no scripts, fonts, images or style sheets from anywhere (a Content-Security-Policy of
//! `default-src 'none'` enforces it), and every text that comes from the scenario or the
//! results is escaped ([`super::escape`]).

mod assumptions;

use std::fmt::Write;
use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use super::charts;
use super::escape::esc;
use crate::Error;
use crate::i18n::{Lang, Texts, fill, word_scale};
use crate::model::Model;
use crate::scenario::Scenario;
use crate::stats::Stat;
use crate::summary::{ActorSummary, DiffSummary, Summary};

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
        let summary: Summary = serde_json::from_str(f.summary_json).map_err(|e| {
            Error::Input(format!(
                "{} is not a rehabsim summary: {e}; write it again with `rehabsim run \
                 SCENARIO --out {}`",
                at("summary.json"),
                f.dir.display()
            ))
        })?;
        let path = f.dir.join(super::SCENARIO_FILE);
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
                at(super::SCENARIO_FILE),
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

/// The page, as bytes.
pub fn render(r: &Report, lang: Lang) -> Vec<u8> {
    let mut p = Page {
        r: *r,
        l: lang,
        t: lang.texts(),
        o: String::with_capacity(256 * 1024),
        unit: lang.thousands_unit(&r.summary.currency),
    };
    p.page();
    p.o.into_bytes()
}

const CSS: &str = "
:root{--ink:#222;--muted:#5f5f5f;--rule:#d9d9d9;--gain:#0072b2;--pay:#b34700}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:var(--ink);max-width:1120px;margin:0 auto;padding:24px 28px;line-height:1.45;background:#fff}
header{border-bottom:3px solid var(--ink);margin-bottom:1em}
.kicker{text-transform:uppercase;letter-spacing:.06em;color:var(--muted);font-size:.85rem;margin:0}
h1{font-size:1.75rem;margin:.15em 0 .3em}
h2{font-size:1.35rem;margin:1.6em 0 .4em;border-bottom:1px solid var(--rule);padding-bottom:.15em}
h3{font-size:1.08rem;margin:1.2em 0 .3em}
.desc{max-width:60em}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1.2em;font-size:.9rem;margin:.8em 0}
dl.meta dt{color:var(--muted)} dl.meta dd{margin:0}
nav ol{columns:2;font-size:.92rem}
p.lead{font-size:1.06rem;max-width:62em}
table{border-collapse:collapse;width:100%;font-size:.86rem;margin:.5em 0 1.2em;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid var(--rule);padding:4px 6px;text-align:right;vertical-align:top}
th:first-child,td:first-child,.outcomes td:nth-child(2),.outcomes th:nth-child(2){text-align:left}
thead th{border-bottom:2px solid #888;font-weight:600;vertical-align:bottom}
tr.total td{font-weight:600;background:#f4f4f4}
tr.group td{background:#fafafa;text-align:left;font-weight:600;padding-top:10px}
.m{white-space:nowrap}
.i{display:block;color:var(--muted);font-size:.82em;white-space:nowrap}
.pos{color:var(--gain)} .neg{color:var(--pay)}
.note{color:var(--muted);font-size:.88rem;max-width:62em}
figure{margin:.8em 0 1.8em;break-inside:avoid}
figcaption{font-size:.9rem;color:var(--muted);margin-bottom:.3em}
figcaption b{color:var(--ink)}
svg.chart{max-width:100%;height:auto;display:block}
table.assumptions td{text-align:left}
table.assumptions td.v code{white-space:pre-wrap;font-size:.8rem}
table.assumptions td.k{white-space:nowrap}
table.assumptions td.k a{color:inherit}
.badge{display:inline-block;font-size:.72rem;padding:0 5px;border-radius:3px;background:#fde8d7;color:#7a3300;margin-left:4px;white-space:nowrap}
pre.scenario{font-size:.74rem;background:#fafafa;border:1px solid var(--rule);padding:8px 10px;white-space:pre-wrap;overflow-wrap:anywhere}
.ln::before{content:attr(data-n);display:inline-block;width:3.2em;margin-right:1em;color:#999;text-align:right}
footer{margin-top:2.5em;border-top:1px solid var(--rule);padding-top:.5em;color:var(--muted);font-size:.82rem}
@page{size:A4;margin:14mm 12mm}
@media print{
body{max-width:none;padding:0;font-size:9.5pt}
nav{display:none}
a{color:inherit;text-decoration:none}
h2,h3{break-after:avoid}
table{font-size:7.5pt}
tr{break-inside:avoid}
table.balance,table.split{break-inside:avoid}
section.appendix{break-before:page}
pre.scenario{font-size:6.5pt;border:none;background:none}
}
";

struct Page<'a> {
    r: Report<'a>,
    l: Lang,
    t: &'static Texts,
    o: String,
    unit: String,
}

/// `+`/`−` class of a difference, for colour.
fn sign_class(x: f64) -> &'static str {
    if x >= 0.5 {
        "m pos"
    } else if x <= -0.5 {
        "m neg"
    } else {
        "m"
    }
}

/// An actor the programme does not touch: its difference is zero in every replication
/// (it neither pays nor gains, so "probability of a gain" and payback do not apply).
fn zero_difference(s: &Stat) -> bool {
    s.p05 == 0.0 && s.p95 == 0.0
}

/// A label for the middle of a sentence: "Subsidised work" → "subsidised work"; a label
/// that starts with an abbreviation ("ESF project") is left as it is.
fn lower_first(s: &str) -> String {
    let mut cs = s.chars();
    match (cs.next(), cs.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && !b.is_uppercase() => {
            a.to_lowercase().chain(s.chars().skip(1)).collect()
        }
        _ => s.to_string(),
    }
}

/// Single-quote a word for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

impl<'a> Page<'a> {
    fn s(&self) -> &'a Summary {
        self.r.summary
    }

    fn base(&self) -> Option<&'a Model> {
        let s = self.s();
        self.r
            .models
            .iter()
            .find(|m| m.arm.id == s.counterfactual)
            .or(self.r.models.first())
    }

    fn actor_label(&self, a: &ActorSummary) -> String {
        esc(self.l.pick(&a.label, &a.label_sv))
    }

    fn state_label(&self, id: &str) -> String {
        self.base()
            .and_then(|m| m.states.iter().find(|s| s.id == id))
            .map_or_else(
                || id.to_string(),
                |s| self.l.pick(&s.label, &s.label_sv).to_string(),
            )
    }

    fn arm_label(&self, id: &str) -> String {
        self.s()
            .arms
            .get(id)
            .map_or_else(|| id.to_string(), |a| a.label.clone())
    }

    /// The success states (work, studies, …) in model order.
    fn success_states(&self) -> Vec<String> {
        self.base()
            .map(|m| {
                m.states
                    .iter()
                    .filter(|s| s.success)
                    .map(|s| s.id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// "work, subsidised work or studies".
    fn list_or(&self, items: &[String]) -> String {
        match items {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} {} {last}", init.join(", "), self.t.or),
        }
    }

    fn k(&self, x: f64) -> String {
        self.l.thousands(x)
    }

    /// Mean over its 90 % interval, in thousands.
    fn stat_cell(&self, s: &Stat, signed: bool) -> String {
        let mean = if signed {
            self.l.signed(s.mean / 1000.0, 0)
        } else {
            self.k(s.mean)
        };
        format!(
            "<td><span class=\"{}\">{mean}</span><span class=\"i\">[{}; {}]</span></td>",
            if signed {
                sign_class(s.mean / 1000.0)
            } else {
                "m"
            },
            self.k(s.p05),
            self.k(s.p95)
        )
    }

    fn page(&mut self) {
        let s = self.s();
        let t = self.t;
        let title = format!("{} — {}", t.report_kicker, s.scenario);
        let _ = write!(
            self.o,
            "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; img-src data:\">\n\
             <meta name=\"generator\" content=\"rehabsim {}\">\n<title>{}</title>\n\
             <style>{CSS}</style>\n</head>\n<body>\n",
            self.l.code(),
            esc(&s.rehabsim_version),
            esc(&title)
        );
        self.header();
        self.nav();
        self.summary();
        self.balance();
        self.over_time();
        self.uncertainty();
        self.occupancy();
        self.outcomes();
        self.exclusion();
        self.assumptions();
        self.appendix();
        let _ = write!(
            self.o,
            "<footer>{}</footer>\n</body>\n</html>\n",
            esc(&fill(t.footer, &[("version", &s.rehabsim_version)]))
        );
    }

    fn header(&mut self) {
        let s = self.s();
        let t = self.t;
        let l = self.l;
        let mut meta: Vec<(&str, String)> = vec![
            (t.meta_persons, l.number(s.persons as f64, 0)),
            (t.meta_replications, l.number(f64::from(s.replications), 0)),
            (t.meta_horizon, self.horizon_words()),
            (
                t.meta_discount,
                format!("{} {}", l.pct(s.discount_rate, 1), t.per_year),
            ),
        ];
        if let Some(y) = s.price_year {
            meta.push((t.meta_prices, format!("{y}, {}", s.currency)));
        }
        meta.push((t.meta_seed, s.seed.to_string()));
        meta.push((t.meta_version, s.rehabsim_version.clone()));
        if !s.overrides.is_empty() {
            meta.push((t.meta_overrides, s.overrides.join(", ")));
        }
        let _ = write!(
            self.o,
            "<header>\n<p class=\"kicker\">{}</p>\n<h1>{}</h1>\n",
            esc(t.report_kicker),
            esc(&s.scenario)
        );
        if !s.description.is_empty() {
            let _ = writeln!(self.o, "<p class=\"desc\">{}</p>", esc(&s.description));
        }
        self.o.push_str("<dl class=\"meta\">\n");
        for (k, v) in meta {
            let _ = writeln!(self.o, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
        }
        self.o.push_str("</dl>\n</header>\n");
    }

    fn horizon_words(&self) -> String {
        let s = self.s();
        let t = self.t;
        let m = s.horizon_months;
        if m.is_multiple_of(12) {
            format!("{m} {} ({} {})", t.months, m / 12, t.years)
        } else {
            format!("{m} {}", t.months)
        }
    }

    fn nav(&mut self) {
        let t = self.t;
        let mut items = vec![
            ("summary", t.h_summary),
            ("balance", t.h_balance),
            ("over-time", t.h_cumulative),
            ("uncertainty", t.h_histogram),
        ];
        if self.r.tornado.is_some() {
            items.push(("tornado", t.h_tornado));
        }
        items.extend([
            ("occupancy", t.h_occupancy),
            ("outcomes", t.h_outcomes),
            ("exclusion", t.h_exclusion),
            ("assumptions", t.h_assumptions),
            ("appendix", t.h_appendix),
        ]);
        let _ = write!(self.o, "<nav>\n<b>{}</b>\n<ol>\n", esc(t.toc));
        for (id, h) in items {
            let _ = writeln!(self.o, "<li><a href=\"#{id}\">{}</a></li>", esc(h));
        }
        self.o.push_str("</ol>\n</nav>\n");
    }

    fn diff_heading(&mut self, d: &DiffSummary) {
        if self.s().differences.len() > 1 {
            let h = fill(
                self.t.vs,
                &[
                    ("arm", &self.arm_label(&d.arm)),
                    ("cf", &self.arm_label(&d.counterfactual)),
                ],
            );
            let _ = writeln!(self.o, "<h3>{}</h3>", esc(&h));
        }
    }

    fn summary(&mut self) {
        let s = self.s();
        let t = self.t;
        let l = self.l;
        let _ = write!(
            self.o,
            "<section id=\"summary\">\n<h2>{}</h2>\n",
            esc(t.h_summary)
        );
        for d in s.differences.values() {
            self.diff_heading(d);
            let prices = s
                .price_year
                .map(|y| fill(t.summary_prices, &[("year", &y.to_string())]))
                .unwrap_or_default();
            let mut para = fill(
                t.summary_intro,
                &[
                    ("arm", &esc(&self.arm_label(&d.arm))),
                    ("cf", &esc(&self.arm_label(&d.counterfactual))),
                    ("persons", &l.number(s.persons as f64, 0)),
                    ("horizon", &esc(&self.horizon_words())),
                    ("reps", &l.number(f64::from(s.replications), 0)),
                    ("rate", &l.pct(s.discount_rate, 1)),
                    ("prices", &esc(&prices)),
                ],
            );
            if let Some(arm) = s.arms.get(&d.arm)
                && arm.participants.mean > 0.0
            {
                para.push(' ');
                para.push_str(&fill(
                    t.summary_participants,
                    &[("participants", &l.number(arm.participants.mean, 0))],
                ));
            }
            if let Some(soc) = d.actors.get("society") {
                let net = &soc.sheet.net;
                let scale = word_scale(&[net.mean, net.p05, net.p95]);
                let decimals = if scale >= 1e6 { 1 } else { 0 };
                let cur = &s.currency;
                let p = soc.prob_positive;
                let verdict = if p >= 0.95 {
                    t.verdict_very_likely_gain
                } else if p >= 0.75 {
                    t.verdict_likely_gain
                } else if p > 0.25 {
                    t.verdict_uncertain
                } else if p > 0.05 {
                    t.verdict_likely_loss
                } else {
                    t.verdict_very_likely_loss
                };
                let template = if net.mean >= 0.0 {
                    t.summary_society_gain
                } else {
                    t.summary_society_loss
                };
                para.push(' ');
                para.push_str(&fill(
                    template,
                    &[
                        ("amount", &esc(&l.amount_in(net.mean, scale, cur, false))),
                        ("lo", &l.signed(net.p05 / scale, decimals)),
                        ("hi", &esc(&l.amount_in(net.p95, scale, cur, true))),
                        ("p", &l.pct(p, 0)),
                        ("verdict", verdict),
                    ],
                ));
                let never = l.pct(soc.payback.never_share, 0);
                if !zero_difference(net) {
                    para.push(' ');
                    para.push_str(&match soc.payback.median_month {
                        Some(m) => fill(
                            t.summary_payback,
                            &[("month", &l.number(m, 0)), ("never", &never)],
                        ),
                        None => fill(t.summary_no_payback, &[("never", &never)]),
                    });
                }
            }
            let list: Vec<String> = d
                .actors
                .iter()
                .filter(|(id, a)| {
                    *id != "society" && *id != "public_sector" && a.sheet.net.mean.abs() >= 500.0
                })
                .map(|(_, a)| {
                    let template = if a.sheet.net.mean >= 0.0 {
                        t.actor_gains
                    } else {
                        t.actor_pays
                    };
                    fill(
                        template,
                        &[
                            ("actor", &self.actor_label(&a.sheet)),
                            (
                                "amount",
                                &esc(&l.amount_words(a.sheet.net.mean, &s.currency)),
                            ),
                        ],
                    )
                })
                .collect();
            if !list.is_empty() {
                para.push(' ');
                para.push_str(&fill(t.summary_actors, &[("list", &list.join("; "))]));
            }
            let _ = writeln!(self.o, "<p class=\"lead\">{para}</p>");
        }
        self.o.push_str("</section>\n");
    }

    fn payback_text(&self, d: &crate::summary::DiffActor) -> String {
        if zero_difference(&d.sheet.net) {
            return "–".into();
        }
        match d.payback.median_month {
            Some(m) => fill(self.t.payback_month, &[("month", &self.l.number(m, 0))]),
            None => self.t.payback_never.to_string(),
        }
    }

    fn balance(&mut self) {
        let s = self.s();
        let t = self.t;
        let l = self.l;
        let _ = write!(
            self.o,
            "<section id=\"balance\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
            esc(t.h_balance),
            esc(&fill(t.balance_note, &[("unit", &self.unit)]))
        );
        for d in s.differences.values() {
            self.diff_heading(d);
            let (Some(arm), Some(cf)) = (s.arms.get(&d.arm), s.arms.get(&d.counterfactual)) else {
                continue;
            };
            if arm.participants.mean > 0.0 {
                let line = fill(
                    t.participants_line,
                    &[
                        ("mean", &l.number(arm.participants.mean, 0)),
                        ("lo", &l.number(arm.participants.p05, 0)),
                        ("hi", &l.number(arm.participants.p95, 0)),
                        ("persons", &l.number(arm.persons.mean, 0)),
                    ],
                );
                let _ = writeln!(self.o, "<p>{}</p>", esc(&line));
            }
            let denominator = if arm.per_participant_denominator == "participants" {
                t.per_participants
            } else {
                t.per_persons
            };
            let per_head = fill(
                t.col_per_participant,
                &[
                    ("denominator", denominator),
                    ("unit", &l.currency_unit(&s.currency)),
                ],
            );
            let _ = write!(
                self.o,
                "<table class=\"balance\" data-difference=\"{}\">\n<thead><tr><th>{}</th>\
                 <th>{}<br><small>{}</small></th><th>{}<br><small>{}</small></th><th>{}</th>\
                 <th>{}</th><th>{}</th><th>{}</th></tr></thead>\n<tbody>\n",
                esc(&format!("{} - {}", d.arm, d.counterfactual)),
                esc(t.col_actor),
                esc(t.col_counterfactual),
                esc(&cf.label),
                esc(t.col_scenario),
                esc(&arm.label),
                esc(t.col_difference),
                esc(&per_head),
                esc(t.col_prob_gain),
                esc(t.col_payback)
            );
            for (id, da) in &d.actors {
                let (Some(c), Some(a)) = (cf.actors.get(id), arm.actors.get(id)) else {
                    continue;
                };
                let pp = &da.sheet.net_per_participant;
                let total = id == "public_sector" || id == "society";
                let _ = writeln!(
                    self.o,
                    "<tr{} data-actor=\"{}\"><td>{}</td>{}{}{}<td><span class=\"m\">{}</span>\
                     <span class=\"i\">[{}; {}]</span></td><td>{}</td><td>{}</td></tr>",
                    if total { " class=\"total\"" } else { "" },
                    esc(id),
                    self.actor_label(&da.sheet),
                    self.stat_cell(&c.net, false),
                    self.stat_cell(&a.net, false),
                    self.stat_cell(&da.sheet.net, true),
                    l.signed(pp.mean, 0),
                    l.number(pp.p05, 0),
                    l.number(pp.p95, 0),
                    if zero_difference(&da.sheet.net) {
                        "–".to_string()
                    } else {
                        l.pct(da.prob_positive, 0)
                    },
                    esc(&self.payback_text(da))
                );
            }
            self.o.push_str("</tbody>\n</table>\n");
            let _ = write!(
                self.o,
                "<h3>{}</h3>\n<p class=\"note\">{}</p>\n<table class=\"split\">\n<thead><tr>\
                 <th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>\
                 </tr></thead>\n<tbody>\n",
                esc(t.h_split),
                esc(t.split_note),
                esc(t.col_actor),
                esc(t.col_production),
                esc(t.col_transfers),
                esc(t.col_resources),
                esc(t.col_investment),
                esc(t.col_women),
                esc(t.col_men)
            );
            for (id, da) in &d.actors {
                let a = &da.sheet;
                let total = id == "public_sector" || id == "society";
                let _ = write!(
                    self.o,
                    "<tr{} data-actor=\"{}\"><td>{}</td>",
                    if total { " class=\"total\"" } else { "" },
                    esc(id),
                    self.actor_label(a)
                );
                for x in [
                    a.production.mean,
                    a.transfers.mean,
                    a.resources.mean,
                    a.investment.mean,
                    a.women.net.mean,
                    a.men.net.mean,
                ] {
                    let _ = write!(self.o, "<td>{}</td>", l.signed(x / 1000.0, 0));
                }
                self.o.push_str("</tr>\n");
            }
            self.o.push_str("</tbody>\n</table>\n");
            self.who_pays(d);
        }
        self.o.push_str("</section>\n");
    }

    fn figure(&mut self, kind: &str, key: &str, caption: &str, note: &str, svg: &str) {
        let _ = write!(
            self.o,
            "<figure class=\"chart\" data-chart=\"{kind}\" data-key=\"{}\">\n<figcaption><b>{}\
             </b>. {}</figcaption>\n{svg}</figure>\n",
            esc(key),
            esc(caption),
            esc(note)
        );
    }

    fn who_pays(&mut self, d: &DiffSummary) {
        let bars: Vec<charts::Bar> = d
            .actors
            .values()
            .filter(|a| {
                let n = &a.sheet.net;
                !(n.mean == 0.0 && n.p05 == 0.0 && n.p95 == 0.0)
            })
            .map(|a| charts::Bar {
                label: self.l.pick(&a.sheet.label, &a.sheet.label_sv).to_string(),
                mean: a.sheet.net.mean,
                lo: a.sheet.net.p05,
                hi: a.sheet.net.p95,
            })
            .collect();
        let l = self.l;
        let svg = charts::interval_bars(
            &bars,
            &format!("{} ({})", self.t.col_difference, self.unit),
            &|v| l.thousands(v),
            self.t.h_who_pays,
        );
        let key = format!("{} - {}", d.arm, d.counterfactual);
        self.figure(
            "who-pays",
            &key,
            self.t.h_who_pays,
            self.t.who_pays_note,
            &svg,
        );
    }

    fn over_time(&mut self) {
        let s = self.s();
        let t = self.t;
        let l = self.l;
        let _ = write!(
            self.o,
            "<section id=\"over-time\">\n<h2>{}</h2>\n",
            esc(t.h_cumulative)
        );
        let mps = s
            .horizon_months
            .checked_div(s.horizon_steps)
            .map_or(1.0, f64::from);
        for d in s.differences.values() {
            self.diff_heading(d);
            let mut curves = Vec::new();
            for (i, (id, cum)) in d.cumulative.iter().enumerate() {
                let Some(da) = d.actors.get(id) else { continue };
                if cum.iter().all(|x| x.abs() < 500.0) {
                    continue;
                }
                let points: Vec<(f64, f64)> = std::iter::once((0.0, 0.0))
                    .chain(
                        cum.iter()
                            .enumerate()
                            .map(|(k, &y)| ((k + 1) as f64 * mps, y)),
                    )
                    .collect();
                let mut label = l.pick(&da.sheet.label, &da.sheet.label_sv).to_string();
                let mark = da.payback.median_month.and_then(|m| {
                    let k = (m / mps).round() as usize;
                    points.get(k).copied()
                });
                if let Some(m) = da.payback.median_month.filter(|_| mark.is_some()) {
                    label = format!(
                        "{label}, {}",
                        fill(t.payback_legend, &[("month", &l.number(m, 0))])
                    );
                }
                curves.push(charts::Curve {
                    label,
                    colour: if id == "society" {
                        charts::PALETTE[11]
                    } else {
                        charts::colour(i)
                    },
                    points,
                    mark,
                    width: if id == "society" || id == "public_sector" {
                        3
                    } else {
                        2
                    },
                });
            }
            let svg = charts::curves(
                &curves,
                t.month_axis,
                &self.unit,
                &|v| l.thousands(v),
                t.h_cumulative,
            );
            let key = format!("{} - {}", d.arm, d.counterfactual);
            self.figure("cumulative", &key, t.h_cumulative, t.cumulative_note, &svg);
        }
        self.o.push_str("</section>\n");
    }

    fn uncertainty(&mut self) {
        let s = self.s();
        let t = self.t;
        let l = self.l;
        let _ = write!(
            self.o,
            "<section id=\"uncertainty\">\n<h2>{}</h2>\n",
            esc(t.h_histogram)
        );
        for d in s.differences.values() {
            self.diff_heading(d);
            let key = format!("{} - {}", d.arm, d.counterfactual);
            match (d.per_replication.get("society"), d.actors.get("society")) {
                (Some(values), Some(soc)) if !values.is_empty() => {
                    let note = fill(
                        t.histogram_note,
                        &[
                            ("reps", &l.number(values.len() as f64, 0)),
                            ("p", &l.pct(soc.prob_positive, 0)),
                        ],
                    );
                    let svg = charts::histogram(
                        values,
                        &format!(
                            "{} ({})",
                            l.pick(&soc.sheet.label, &soc.sheet.label_sv),
                            self.unit
                        ),
                        t.replications_axis,
                        &|v| l.thousands(v),
                        t.h_histogram,
                    );
                    self.figure("histogram", &key, t.h_histogram, &note, &svg);
                }
                _ => {
                    let _ = writeln!(self.o, "<p class=\"note\">{}</p>", esc(t.histogram_missing));
                }
            }
        }
        self.o.push_str("</section>\n");
        if let Some(tor) = self.r.tornado {
            self.tornado(tor);
        }
    }

    /// A parameter value of `tornado.json` (a number or a text) for display.
    fn param_value(&self, v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => self.l.number(x, 0),
                Some(x) => {
                    // Shortest round-trip digits, in the language's notation.
                    let s = format!("{x}");
                    match self.l {
                        Lang::Sv => s.replace('.', ",").replace('-', "\u{2212}"),
                        Lang::En => s.replace('-', "\u{2212}"),
                    }
                }
                None => n.to_string(),
            },
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    fn tornado(&mut self, tor: &Tornado) {
        let t = self.t;
        let l = self.l;
        let _ = write!(
            self.o,
            "<section id=\"tornado\">\n<h2>{}</h2>\n",
            esc(t.h_tornado)
        );
        let mut rows: Vec<&TornadoRow> = tor.rows.iter().collect();
        rows.sort_by(|a, b| {
            let sw = |r: &TornadoRow| (r.net_high - r.net_low).abs();
            sw(b).total_cmp(&sw(a))
        });
        let bars: Vec<charts::TornadoBar> = rows
            .iter()
            .map(|r| charts::TornadoBar {
                label: format!(
                    "{} ({} / {})",
                    r.parameter,
                    self.param_value(&r.low_value),
                    self.param_value(&r.high_value)
                ),
                low: r.net_low,
                high: r.net_high,
            })
            .collect();
        let actor = self
            .s()
            .differences
            .get(&tor.difference)
            .and_then(|d| d.actors.get(&tor.actor))
            .map_or_else(
                || tor.actor.clone(),
                |a| l.pick(&a.sheet.label, &a.sheet.label_sv).to_string(),
            );
        let svg = charts::tornado(
            &bars,
            tor.base,
            [t.tornado_low, t.tornado_high],
            &format!("{actor} ({})", self.unit),
            &|v| l.thousands(v),
            t.h_tornado,
        );
        let note = fill(
            t.tornado_note,
            &[
                ("actor", &actor),
                ("base", &l.thousands(tor.base)),
                ("unit", &self.unit),
            ],
        );
        self.figure("tornado", &tor.difference, t.h_tornado, &note, &svg);
        self.o.push_str("</section>\n");
    }

    fn occupancy(&mut self) {
        let s = self.s();
        let t = self.t;
        let l = self.l;
        let _ = write!(
            self.o,
            "<section id=\"occupancy\">\n<h2>{}</h2>\n",
            esc(t.h_occupancy)
        );
        let states: Vec<(String, String)> = self
            .base()
            .map(|m| {
                m.states
                    .iter()
                    .map(|st| (st.id.clone(), self.state_label(&st.id)))
                    .collect()
            })
            .unwrap_or_default();
        for (arm_id, arm) in &s.arms {
            let Some(occ) = self.r.occupancy.arms.get(arm_id) else {
                let _ = writeln!(
                    self.o,
                    "<p class=\"note\">{}: {}</p>",
                    esc(&arm.label),
                    esc(t.occupancy_missing)
                );
                continue;
            };
            let bands: Vec<charts::Band> = states
                .iter()
                .enumerate()
                .filter_map(|(i, (id, label))| {
                    occ.get(id).map(|pts| charts::Band {
                        label: label.clone(),
                        colour: charts::colour(i),
                        points: pts.clone(),
                    })
                })
                .collect();
            let svg = charts::fan_chart(
                &bands,
                t.month_axis,
                t.share_axis,
                &|v| l.pct(v, 0),
                &format!("{} — {}", t.h_occupancy, arm.label),
            );
            self.figure("occupancy", arm_id, &arm.label, t.occupancy_note, &svg);
        }
        self.o.push_str("</section>\n");
    }

    /// Σ over the success states of the mean share, per checkpoint month.
    fn success_share(oc: &IndexMap<String, Stat>, states: &[String]) -> f64 {
        states
            .iter()
            .filter_map(|s| oc.get(s))
            .map(|x| x.mean)
            .sum()
    }

    fn outcomes(&mut self) {
        let s = self.s();
        let t = self.t;
        let l = self.l;
        let success = self.success_states();
        let names: Vec<String> = success
            .iter()
            .map(|id| lower_first(&self.state_label(id)))
            .collect();
        let states_words = self.list_or(&names);
        let _ = write!(
            self.o,
            "<section id=\"outcomes\">\n<h2>{}</h2>\n",
            esc(t.h_outcomes)
        );
        let months: Vec<String> = s
            .arms
            .values()
            .next()
            .map(|a| a.outcomes.keys().cloned().collect())
            .unwrap_or_default();
        // Chart: women | men, a bar per arm at each checkpoint.
        let panels: Vec<charts::Panel> = [(t.col_women, "women"), (t.col_men, "men")]
            .iter()
            .map(|(title, sex)| charts::Panel {
                title: title.to_string(),
                groups: months.clone(),
                series: s
                    .arms
                    .iter()
                    .enumerate()
                    .map(|(i, (_, arm))| {
                        let values = months
                            .iter()
                            .map(|m| {
                                arm.outcomes.get(m).map_or(f64::NAN, |oc| {
                                    let table = if *sex == "women" { &oc.women } else { &oc.men };
                                    Self::success_share(table, &success)
                                })
                            })
                            .collect();
                        let colour = if arm.counterfactual {
                            charts::GREY
                        } else {
                            charts::colour(i.saturating_sub(1))
                        };
                        (arm.label.clone(), colour, values)
                    })
                    .collect(),
            })
            .collect();
        let svg = charts::grouped_bars(
            &panels,
            t.months_since_entry,
            t.share_axis,
            &|v| l.pct(v, 0),
            t.h_sex,
        );
        let note = fill(t.sex_note, &[("states", &states_words)]);
        self.figure("by-sex", "", t.h_sex, &note, &svg);
        // Table: arm × sex rows, checkpoint columns; difference rows in points.
        let _ = write!(
            self.o,
            "<p class=\"note\">{}</p>\n<table class=\"outcomes\">\n<thead><tr><th>{}</th>\
             <th>{}</th>",
            esc(&fill(t.outcomes_note, &[("states", &states_words)])),
            esc(t.col_arm),
            esc(t.col_sex)
        );
        for m in &months {
            let _ = write!(
                self.o,
                "<th>{}</th>",
                esc(&fill(t.col_month, &[("month", m)]))
            );
        }
        self.o.push_str("</tr></thead>\n<tbody>\n");
        let sexes = [(t.col_all, 0), (t.col_women, 1), (t.col_men, 2)];
        for arm in s.arms.values() {
            for (label, sx) in sexes {
                let _ = write!(
                    self.o,
                    "<tr><td>{}</td><td>{}</td>",
                    esc(&arm.label),
                    esc(label)
                );
                for m in &months {
                    let v = arm.outcomes.get(m).map_or(f64::NAN, |oc| {
                        let table = [&oc.all, &oc.women, &oc.men][sx];
                        Self::success_share(table, &success)
                    });
                    let _ = write!(self.o, "<td>{}</td>", l.pct(v, 1));
                }
                self.o.push_str("</tr>\n");
            }
        }
        for d in s.differences.values() {
            for (label, sx) in sexes {
                let _ = write!(
                    self.o,
                    "<tr class=\"total\"><td>{}: {}</td><td>{}</td>",
                    esc(t.difference_row),
                    esc(&self.arm_label(&d.arm)),
                    esc(label)
                );
                for m in &months {
                    let v = d.outcomes.get(m).map_or(f64::NAN, |oc| {
                        let table = [&oc.all, &oc.women, &oc.men][sx];
                        Self::success_share(table, &success)
                    });
                    let _ = write!(
                        self.o,
                        "<td>{}{NBSP}{}</td>",
                        l.signed(v * 100.0, 1),
                        esc(t.pp),
                        NBSP = crate::i18n::NBSP
                    );
                }
                self.o.push_str("</tr>\n");
            }
        }
        self.o.push_str("</tbody>\n</table>\n");
        // Outcome measures of each difference.
        let any = s.differences.values().any(|d| !d.measures.is_empty());
        if any {
            let _ = write!(
                self.o,
                "<h3>{}</h3>\n<table class=\"measures\">\n<thead><tr><th>{}</th><th>{}</th>\
                 <th>{}</th><th>{}</th><th>{}</th></tr></thead>\n<tbody>\n",
                esc(t.h_measures),
                esc(t.col_measure),
                esc(t.col_all),
                esc(t.col_women),
                esc(t.col_men),
                esc(t.col_cost_per_unit)
            );
            for d in s.differences.values() {
                for (id, m) in &d.measures {
                    let name = if s.differences.len() > 1 {
                        format!("{} ({}), {}", m.label, m.unit, self.arm_label(&d.arm))
                    } else {
                        format!("{} ({})", m.label, m.unit)
                    };
                    let _ = write!(self.o, "<tr><td>{}</td>", esc(&name));
                    for st in [&m.all, &m.women, &m.men] {
                        let _ = write!(
                            self.o,
                            "<td><span class=\"m\">{}</span><span class=\"i\">[{}; {}]</span></td>",
                            l.signed(st.mean, 1),
                            l.number(st.p05, 1),
                            l.number(st.p95, 1)
                        );
                    }
                    let cost = d.cost_per_unit.get(id).copied().flatten();
                    let _ = writeln!(
                        self.o,
                        "<td>{}</td></tr>",
                        cost.map_or("–".into(), |c| format!(
                            "{} {}",
                            l.number(c, 0),
                            esc(&l.currency_unit(&s.currency))
                        ))
                    );
                }
            }
            self.o.push_str("</tbody>\n</table>\n");
        }
        self.o.push_str("</section>\n");
    }

    fn exclusion(&mut self) {
        let s = self.s();
        let t = self.t;
        let l = self.l;
        let ex = &s.exclusion_cost;
        let _ = write!(
            self.o,
            "<section id=\"exclusion\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
            esc(t.h_exclusion),
            esc(&fill(
                t.exclusion_note,
                &[
                    ("reference", &self.state_label(&ex.reference_state)),
                    ("unit", &self.unit)
                ]
            ))
        );
        let actors: Vec<(String, String)> = s
            .arms
            .get(&s.counterfactual)
            .map(|a| {
                a.actors
                    .iter()
                    .map(|(id, x)| (id.clone(), self.actor_label(x)))
                    .collect()
            })
            .unwrap_or_default();
        let _ = write!(
            self.o,
            "<table class=\"exclusion\">\n<thead><tr><th>{}</th>",
            esc(t.col_state)
        );
        for (_, label) in &actors {
            let _ = write!(self.o, "<th>{label}</th>");
        }
        self.o.push_str("</tr></thead>\n<tbody>\n");
        for (state, cells) in &ex.states {
            let _ = write!(self.o, "<tr><td>{}</td>", esc(&self.state_label(state)));
            for (id, _) in &actors {
                let v = cells.get(id).map_or(f64::NAN, |c| c.total);
                let _ = write!(self.o, "<td>{}</td>", l.thousands(v));
            }
            self.o.push_str("</tr>\n");
        }
        self.o.push_str("</tbody>\n</table>\n</section>\n");
    }

    fn assumptions(&mut self) {
        let s = self.s();
        let t = self.t;
        let (rows, sections) = assumptions::read(self.r.scenario_text);
        let _ = write!(
            self.o,
            "<section id=\"assumptions\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n\
             <table class=\"assumptions\">\n<thead><tr><th>{}</th><th>{}</th><th>{}</th></tr>\
             </thead>\n<tbody>\n",
            esc(t.h_assumptions),
            esc(&fill(t.assumptions_note, &[("file", super::SCENARIO_FILE)])),
            esc(t.col_parameter),
            esc(t.col_value),
            esc(t.col_source)
        );
        let overrides: Vec<(String, String)> = s
            .overrides
            .iter()
            .filter_map(|o| o.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let mut used = vec![false; overrides.len()];
        let mut section = None;
        for r in &rows {
            if section != Some(&r.section) {
                section = Some(&r.section);
                let note = sections
                    .iter()
                    .find(|x| x.path == r.section)
                    .map_or(String::new(), |x| x.note.clone());
                let _ = writeln!(
                    self.o,
                    "<tr class=\"group\"><td colspan=\"3\"><code>[{}]</code>{}{}</td></tr>",
                    esc(&r.section),
                    if note.is_empty() { "" } else { " — " },
                    esc(&note)
                );
            }
            let path = if r.section.is_empty() {
                r.key.clone()
            } else {
                format!("{}.{}", r.section, r.key)
            };
            let mut value = format!("<code>{}</code>", esc(&r.value));
            if r.uncertain {
                let _ = write!(
                    value,
                    "<span class=\"badge\">{}</span>",
                    esc(t.uncertain_badge)
                );
            }
            for (i, (k, v)) in overrides.iter().enumerate() {
                if *k == path {
                    used[i] = true;
                    let _ = write!(
                        value,
                        "<br><b>{}</b>",
                        esc(&fill(t.overridden, &[("value", v)]))
                    );
                }
            }
            let _ = writeln!(
                self.o,
                "<tr><td class=\"k\"><a href=\"#L{}\"><code>{}</code></a></td><td class=\"v\">\
                 {value}</td><td>{}</td></tr>",
                r.line,
                esc(&r.key),
                esc(&r.comment)
            );
        }
        let extra: Vec<&(String, String)> = overrides
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(o, _)| o)
            .collect();
        if !extra.is_empty() {
            let _ = writeln!(
                self.o,
                "<tr class=\"group\"><td colspan=\"3\">{}</td></tr>",
                esc(t.set_on_command_line)
            );
            for (k, v) in extra {
                let _ = writeln!(
                    self.o,
                    "<tr><td class=\"k\"><code>{}</code></td><td class=\"v\"><code>{}</code>\
                     </td><td></td></tr>",
                    esc(k),
                    esc(v)
                );
            }
        }
        self.o.push_str("</tbody>\n</table>\n</section>\n");
    }

    fn appendix(&mut self) {
        let s = self.s();
        let t = self.t;
        let mut command = format!("rehabsim run {}", super::SCENARIO_FILE);
        for o in &s.overrides {
            let _ = write!(command, " --set {}", shell_quote(o));
        }
        let _ = write!(
            self.o,
            "<section id=\"appendix\" class=\"appendix\">\n<h2>{}</h2>\n<p class=\"note\">{}\
             </p>\n<pre class=\"scenario\">",
            esc(t.h_appendix),
            fill(
                &esc(t.appendix_note),
                &[("command", &format!("<code>{}</code>", esc(&command)))]
            )
        );
        for (i, line) in self.r.scenario_text.lines().enumerate() {
            let _ = writeln!(
                self.o,
                "<span class=\"ln\" id=\"L{n}\" data-n=\"{n}\">{}</span>",
                esc(line),
                n = i + 1
            );
        }
        self.o.push_str("</pre>\n</section>\n");
    }
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

    #[test]
    fn labels_in_a_sentence() {
        assert_eq!(
            lower_first("Subventionerat arbete"),
            "subventionerat arbete"
        );
        assert_eq!(lower_first("ESF project"), "ESF project");
        assert_eq!(lower_first("Övrigt"), "övrigt");
        assert_eq!(lower_first(""), "");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("scenario.seed=3"), "scenario.seed=3");
        assert_eq!(shell_quote("a.b=it's"), "'a.b=it'\\''s'");
        assert_eq!(
            shell_quote("population.start={ work = 1 }"),
            "'population.start={ work = 1 }'"
        );
    }
}
