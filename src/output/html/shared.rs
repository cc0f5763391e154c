//! What the report's sections share: the context they read ([`Ctx`]: the results, the
//! language and its texts), a chart in its caption ([`Figure`]), a number over its 90 %
//! interval ([`StatCell`]) and a few helpers.

use askama::Template;

use super::input::Report;
use crate::i18n::{Lang, Texts, fill};
use crate::model::Model;
use crate::output::escape::Markup;
use crate::stats::Stat;
use crate::summary::{DiffSummary, Summary};

/// A chart with its caption (`figure.html`).
#[derive(Template)]
#[template(path = "figure.html")]
pub(super) struct Figure {
    /// `data-chart`: which chart this is (a fixed word, for tests and styles).
    pub(super) kind: &'static str,
    /// `data-key`: the difference, arm or actor the chart is of.
    pub(super) key: String,
    pub(super) caption: String,
    pub(super) note: String,
    pub(super) svg: Markup,
}

/// A table cell with a mean over its 90 % interval (`stat_cell.html`).
#[derive(Template)]
#[template(path = "stat_cell.html")]
pub(super) struct StatCell {
    /// The mean's class: `m`, or `m pos` / `m neg` for a coloured difference.
    pub(super) class: &'static str,
    pub(super) mean: String,
    pub(super) lo: String,
    pub(super) hi: String,
}

/// What every section needs: the results, the language and its texts.
pub(super) struct Ctx<'a> {
    pub(super) r: Report<'a>,
    pub(super) l: Lang,
    pub(super) t: &'static Texts,
    /// Thousands of the currency ("kSEK", "tkr").
    pub(super) unit: String,
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
pub(super) fn zero_difference(s: &Stat) -> bool {
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
    pub(super) fn new(r: Report<'a>, l: Lang) -> Ctx<'a> {
        Ctx {
            r,
            l,
            t: l.texts(),
            unit: l.thousands_unit(&r.summary.currency),
        }
    }

    pub(super) fn s(&self) -> &'a Summary {
        self.r.summary
    }

    pub(super) fn base(&self) -> Option<&'a Model> {
        let s = self.s();
        self.r
            .models
            .iter()
            .find(|m| m.arm.id == s.counterfactual)
            .or(self.r.models.first())
    }

    /// A label in the report's language (the English one when there is no Swedish).
    pub(super) fn pick(&self, en: &'a str, sv: &'a str) -> &'a str {
        self.l.pick(en, sv)
    }

    pub(super) fn state_label(&self, id: &str) -> String {
        self.base()
            .and_then(|m| m.states.iter().find(|s| s.id == id))
            .map_or_else(
                || id.to_string(),
                |s| self.l.pick(&s.label, &s.label_sv).to_string(),
            )
    }

    pub(super) fn arm_label(&self, id: &str) -> String {
        self.s()
            .arms
            .get(id)
            .map_or_else(|| id.to_string(), |a| a.label.clone())
    }

    /// The success states (work, studies, …) in model order.
    pub(super) fn success_states(&self) -> Vec<String> {
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
    pub(super) fn success_words(&self) -> String {
        let names: Vec<String> = self
            .success_states()
            .iter()
            .map(|id| lower_first(&self.state_label(id)))
            .collect();
        self.list_or(&names)
    }

    pub(super) fn horizon_words(&self) -> String {
        let t = self.t;
        let m = self.s().horizon_months;
        if m.is_multiple_of(12) {
            format!("{m} {} ({} {})", t.months, m / 12, t.years)
        } else {
            format!("{m} {}", t.months)
        }
    }

    /// Mean over its 90 % interval, in thousands; `signed`: a coloured difference.
    pub(super) fn stat_cell(&self, s: &Stat, signed: bool) -> StatCell {
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
    pub(super) fn diff_heading(&self, d: &DiffSummary) -> Option<String> {
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
    pub(super) fn diff_key(d: &DiffSummary) -> String {
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
