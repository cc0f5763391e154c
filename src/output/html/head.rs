//! The title block (`header.html`: scenario, description, the run's facts) and the table
//! of contents (`nav.html`).

use askama::Template;

use super::shared::Ctx;
use crate::i18n::Texts;

#[derive(Template)]
#[template(path = "header.html")]
pub(super) struct Header<'a> {
    t: &'static Texts,
    scenario: &'a str,
    description: &'a str,
    /// `(term, value)` of the run's facts.
    meta: Vec<(&'static str, String)>,
}

pub(super) fn header<'a>(c: &Ctx<'a>) -> Header<'a> {
    let s = c.s();
    let t = c.t;
    let l = c.l;
    let mut meta: Vec<(&str, String)> = vec![
        (t.meta_persons, l.number(s.persons as f64, 0)),
        (t.meta_replications, l.number(f64::from(s.replications), 0)),
        (t.meta_horizon, c.horizon_words()),
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
    Header {
        t,
        scenario: &s.scenario,
        description: &s.description,
        meta,
    }
}

#[derive(Template)]
#[template(path = "nav.html")]
pub(super) struct Nav {
    t: &'static Texts,
    /// `(section id, heading)` in page order.
    items: Vec<(&'static str, &'static str)>,
}

pub(super) fn nav(c: &Ctx) -> Nav {
    let t = c.t;
    let mut items = vec![
        ("summary", t.h_summary),
        ("balance", t.h_balance),
        ("over-time", t.h_cumulative),
        ("uncertainty", t.h_histogram),
    ];
    if c.r.tornado.is_some() {
        items.push(("tornado", t.h_tornado));
    }
    items.extend([
        ("occupancy", t.h_occupancy),
        ("outcomes", t.h_outcomes),
        ("exclusion", t.h_exclusion),
        ("assumptions", t.h_assumptions),
        ("appendix", t.h_appendix),
    ]);
    Nav { t, items }
}
