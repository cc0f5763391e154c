//! The summary in plain words (`summary.html`): one paragraph per difference — what is
//! compared, what it gives society with its uncertainty and payback, who pays and who
//! gains. The sentences are translation texts with markup (`<b>{arm}</b>`), filled with
//! escaped values ([`Markup`]).

use askama::Template;

use super::shared::{Ctx, zero_difference};
use crate::i18n::{Texts, word_scale};
use crate::output::escape::Markup;
use crate::summary::DiffSummary;

#[derive(Template)]
#[template(path = "summary.html")]
pub(super) struct Section {
    t: &'static Texts,
    paragraphs: Vec<Lead>,
}

/// One difference's paragraph, under its heading when there are several.
struct Lead {
    heading: Option<String>,
    text: Markup,
}

pub(super) fn section(c: &Ctx) -> Section {
    let paragraphs = c
        .s()
        .differences
        .values()
        .map(|d| Lead {
            heading: c.diff_heading(d),
            text: paragraph(c, d),
        })
        .collect();
    Section { t: c.t, paragraphs }
}

/// A translation text (trusted markup) filled with plain-text values, escaped.
fn sentence(template: &str, args: &[(&str, &str)]) -> Markup {
    let args: Vec<(&str, Markup)> = args.iter().map(|(k, v)| (*k, Markup::text(v))).collect();
    let refs: Vec<(&str, &Markup)> = args.iter().map(|(k, v)| (*k, v)).collect();
    Markup::trusted(template).fill(&refs)
}

fn paragraph(c: &Ctx, d: &DiffSummary) -> Markup {
    let s = c.s();
    let t = c.t;
    let l = c.l;
    let prices = s
        .price_year
        .map(|y| crate::i18n::fill(t.summary_prices, &[("year", &y.to_string())]))
        .unwrap_or_default();
    let mut para = sentence(
        t.summary_intro,
        &[
            ("arm", &c.arm_label(&d.arm)),
            ("cf", &c.arm_label(&d.counterfactual)),
            ("persons", &l.number(s.persons as f64, 0)),
            ("horizon", &c.horizon_words()),
            ("reps", &l.number(f64::from(s.replications), 0)),
            ("rate", &l.pct(s.discount_rate, 1)),
            ("prices", &prices),
        ],
    );
    if let Some(arm) = s.arms.get(&d.arm)
        && arm.participants.mean > 0.0
    {
        let n = l.number(arm.participants.mean, 0);
        para.push(
            " ",
            &sentence(t.summary_participants, &[("participants", &n)]),
        );
    }
    for more in society(c, d).into_iter().chain(actors(c, d)) {
        para.push(" ", &more);
    }
    para
}

/// What society gains or pays, how likely a gain is, and when it pays back.
fn society(c: &Ctx, d: &DiffSummary) -> Vec<Markup> {
    let t = c.t;
    let l = c.l;
    let Some(soc) = d.actors.get("society") else {
        return Vec::new();
    };
    let net = &soc.sheet.net;
    let scale = word_scale(&[net.mean, net.p05, net.p95]);
    let decimals = if scale >= 1e6 { 1 } else { 0 };
    let cur = &c.s().currency;
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
    let mut out = vec![sentence(
        template,
        &[
            ("amount", &l.amount_in(net.mean, scale, cur, false)),
            ("lo", &l.signed(net.p05 / scale, decimals)),
            ("hi", &l.amount_in(net.p95, scale, cur, true)),
            ("p", &l.pct(p, 0)),
            ("verdict", verdict),
        ],
    )];
    let never = l.pct(soc.payback.never_share, 0);
    if !zero_difference(net) {
        out.push(match soc.payback.median_month {
            Some(m) => sentence(
                t.summary_payback,
                &[("month", &l.number(m, 0)), ("never", &never)],
            ),
            None => sentence(t.summary_no_payback, &[("never", &never)]),
        });
    }
    out
}

/// "Who pays and who gains": every actor but the two totals with at least 500 either way.
fn actors(c: &Ctx, d: &DiffSummary) -> Option<Markup> {
    let t = c.t;
    let list: Vec<Markup> = d
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
            sentence(
                template,
                &[
                    ("actor", c.pick(&a.sheet.label, &a.sheet.label_sv)),
                    (
                        "amount",
                        &c.l.amount_words(a.sheet.net.mean, &c.s().currency),
                    ),
                ],
            )
        })
        .collect();
    (!list.is_empty())
        .then(|| Markup::trusted(t.summary_actors).fill(&[("list", &Markup::join(&list, "; "))]))
}
