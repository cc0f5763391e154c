//! `report.html`: the balance sheet as one self-contained page a municipal board can read
//! and print — plain-words summary, tables, SVG charts, the assumptions with their
//! sources and the scenario file itself — in Swedish or English ([`crate::i18n`]).
//!
//! The page is rendered only from what a run saves (`summary.json`, `occupancy.csv`,
//! `scenario.toml`, and `tornado.json` when a sensitivity run wrote one: [`Saved`]), so
//! that `rehabsim report DIR` gives the same bytes as the run that wrote DIR. It loads
//! nothing: no scripts, fonts, images or style sheets from anywhere (a
//! Content-Security-Policy of `default-src 'none'` enforces it).
//!
//! The markup is in askama templates under `src/output/templates/`, which escape every
//! `{{ value }}` ([`super::escape::Html`], set in `askama.toml`); only [`Markup`] is
//! written with `|safe`. Each section of the page is one template and one function that
//! gathers what it shows:
//!
//! | section                 | template              | function                    |
//! | ----------------------- | --------------------- | --------------------------- |
//! | page, style sheet       | `report.html`, `report.css` | [`render`]            |
//! | title block, contents   | `header.html`, `nav.html` | `head::header`, `head::nav` |
//! | summary in plain words  | `summary.html`        | `summary::section`          |
//! | balance sheet per actor | `balance.html`        | `balance::section`          |
//! | cumulative difference   | `chart_section.html`  | `figures::over_time`        |
//! | distribution, tornado   | `chart_section.html`  | `figures::uncertainty`, `figures::tornado` |
//! | who is where            | `chart_section.html`  | `figures::occupancy`        |
//! | outcomes, measures      | `outcomes.html`       | `outcomes::section`         |
//! | cost of exclusion       | `exclusion.html`      | `exclusion::section`        |
//! | assumptions             | `assumptions.html`    | `assumptions::section`      |
//! | the scenario file       | `appendix.html`       | `appendix::section`         |
//!
//! A chart is a `figure.html` around an SVG from [`super::charts`]; a number with its 90 %
//! interval is a `stat_cell.html`. Texts of the page are [`Texts`] fields, named in the
//! templates (`{{ t.h_balance }}`).

mod appendix;
mod assumptions;
mod balance;
mod exclusion;
mod figures;
mod head;
mod outcomes;
mod saved;
mod summary;

use askama::Template;

pub use saved::{Occupancy, Saved, SavedTexts, Tornado, TornadoRow};

use super::escape::Markup;
use crate::i18n::{Lang, Texts, fill};
use crate::model::Model;
use crate::stats::Stat;
use crate::summary::{DiffSummary, Summary};

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

/// The page's style sheet.
const CSS: &str = include_str!("templates/report.css");

/// The page: its head and its sections in order.
#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    lang: &'static str,
    version: &'a str,
    title: String,
    css: &'static str,
    header: head::Header<'a>,
    nav: head::Nav,
    summary: summary::Section,
    balance: balance::Section,
    over_time: figures::ChartSection,
    uncertainty: figures::ChartSection,
    tornado: Option<figures::ChartSection>,
    occupancy: figures::ChartSection,
    outcomes: outcomes::Section,
    exclusion: exclusion::Section,
    assumptions: assumptions::Section,
    appendix: appendix::Section<'a>,
    footer: String,
}

/// The page, as bytes.
pub fn render(r: &Report, lang: Lang) -> Vec<u8> {
    let c = Ctx {
        r: *r,
        l: lang,
        t: lang.texts(),
        unit: lang.thousands_unit(&r.summary.currency),
    };
    let s = r.summary;
    let page = Page {
        lang: lang.code(),
        version: &s.rehabsim_version,
        title: format!("{} — {}", c.t.report_kicker, s.scenario),
        css: CSS,
        header: head::header(&c),
        nav: head::nav(&c),
        summary: summary::section(&c),
        balance: balance::section(&c),
        over_time: figures::over_time(&c),
        uncertainty: figures::uncertainty(&c),
        tornado: r.tornado.map(|t| figures::tornado(&c, t)),
        occupancy: figures::occupancy(&c),
        outcomes: outcomes::section(&c),
        exclusion: exclusion::section(&c),
        assumptions: assumptions::section(&c),
        appendix: appendix::section(&c),
        footer: fill(c.t.footer, &[("version", &s.rehabsim_version)]),
    };
    // Rendering fails only if a value's `Display` fails, and none of these does.
    page.render()
        .expect("the report's values always render")
        .into_bytes()
}

/// A chart with its caption (`figure.html`).
#[derive(Template)]
#[template(path = "figure.html")]
struct Figure {
    /// `data-chart`: which chart this is (a fixed word, for tests and styles).
    kind: &'static str,
    /// `data-key`: the difference, arm or actor the chart is of.
    key: String,
    caption: String,
    note: String,
    svg: Markup,
}

/// A table cell with a mean over its 90 % interval (`stat_cell.html`).
#[derive(Template)]
#[template(path = "stat_cell.html")]
struct StatCell {
    /// The mean's class: `m`, or `m pos` / `m neg` for a coloured difference.
    class: &'static str,
    mean: String,
    lo: String,
    hi: String,
}

/// What every section needs: the results, the language and its texts.
struct Ctx<'a> {
    r: Report<'a>,
    l: Lang,
    t: &'static Texts,
    /// Thousands of the currency ("kSEK", "tkr").
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

impl<'a> Ctx<'a> {
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

    /// A label in the report's language (the English one when there is no Swedish).
    fn pick(&self, en: &'a str, sv: &'a str) -> &'a str {
        self.l.pick(en, sv)
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

    /// The success states in words, for a sentence.
    fn success_words(&self) -> String {
        let names: Vec<String> = self
            .success_states()
            .iter()
            .map(|id| lower_first(&self.state_label(id)))
            .collect();
        self.list_or(&names)
    }

    fn horizon_words(&self) -> String {
        let t = self.t;
        let m = self.s().horizon_months;
        if m.is_multiple_of(12) {
            format!("{m} {} ({} {})", t.months, m / 12, t.years)
        } else {
            format!("{m} {}", t.months)
        }
    }

    /// Mean over its 90 % interval, in thousands; `signed`: a coloured difference.
    fn stat_cell(&self, s: &Stat, signed: bool) -> StatCell {
        let l = self.l;
        let (class, mean) = if signed {
            (sign_class(s.mean / 1000.0), l.signed(s.mean / 1000.0, 0))
        } else {
            ("m", l.thousands(s.mean))
        };
        StatCell {
            class,
            mean,
            lo: l.thousands(s.p05),
            hi: l.thousands(s.p95),
        }
    }

    /// The `<h3>` over a difference's part of a section, when there are several.
    fn diff_heading(&self, d: &DiffSummary) -> Option<String> {
        (self.s().differences.len() > 1).then(|| {
            fill(
                self.t.vs,
                &[
                    ("arm", &self.arm_label(&d.arm)),
                    ("cf", &self.arm_label(&d.counterfactual)),
                ],
            )
        })
    }

    /// A chart's `data-key` for a difference.
    fn diff_key(d: &DiffSummary) -> String {
        format!("{} - {}", d.arm, d.counterfactual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
