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
//! `{{ value }}` ([`super::escape::Html`], set in `askama.toml`); only a
//! [`super::escape::Markup`] is written with `|safe`. Each section of the page is one
//! template and one function that gathers what it shows:
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
//! What the sections share is in `html/shared.rs`: the context they read (results,
//! language, texts), a chart in its caption (`figure.html` around an SVG from
//! [`super::charts`]) and a number with its 90 % interval (`stat_cell.html`). The page's
//! texts are [`crate::i18n::Texts`] fields, named in the templates (`{{ t.h_balance }}`).
//! What the page is drawn from, and a run folder read back, are in `html/input.rs`.

mod appendix;
mod assumptions;
mod balance;
mod exclusion;
mod figures;
mod head;
mod input;
mod outcomes;
mod shared;
mod summary;

use askama::Template;

pub use input::{Occupancy, Report, Saved, SavedTexts, Tornado, TornadoRow};

use crate::i18n::{Lang, fill};
use shared::Ctx;

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
    let c = Ctx::new(*r, lang);
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
