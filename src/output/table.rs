//! The terminal report: the balance sheet per difference (counterfactual, scenario,
//! difference with 90 % intervals, per participant, P(Δ > 0), payback) and outcome
//! shares by sex. Amounts in thousands of SEK (kSEK), discounted.

use std::fmt::Write;

use crate::stats::Stat;
use crate::summary::Summary;

/// Thousands of SEK with a space as thousands separator (readable in both languages).
pub fn ksek(x: f64) -> String {
    if x.is_nan() {
        return "–".into();
    }
    group((x / 1000.0).round() as i64)
}

pub fn group(v: i64) -> String {
    let s = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    if v < 0 { format!("-{out}") } else { out }
}

fn cell(s: &Stat) -> String {
    format!("{} [{}; {}]", ksek(s.mean), ksek(s.p05), ksek(s.p95))
}

fn pct(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{:.1}%", x * 100.0)
    }
}

pub fn render(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "rehabsim — socioekonomiskt bokslut: {}", s.scenario);
    let _ = writeln!(
        o,
        "{} persons × {} replications, horizon {} months, discount rate {:.2}% a year, {} {}; seed {}",
        s.persons,
        s.replications,
        s.horizon_months,
        s.discount_rate * 100.0,
        s.currency,
        s.price_year
            .map(|y| format!("at {y} prices"))
            .unwrap_or_default(),
        s.seed
    );
    if !s.overrides.is_empty() {
        let _ = writeln!(o, "overrides: {}", s.overrides.join(", "));
    }
    let cf = &s.arms[&s.counterfactual];
    for d in s.differences.values() {
        let arm = &s.arms[&d.arm];
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "{}  vs  {}   (discounted kSEK, mean [90% interval]; + = the actor gains)",
            arm.label, cf.label
        );
        let _ = writeln!(
            o,
            "participants: {:.0} [{:.0}; {:.0}] of {:.0} persons",
            arm.participants.mean, arm.participants.p05, arm.participants.p95, arm.persons.mean
        );
        let w = 36;
        let _ = writeln!(
            o,
            "{:<w$} {:>26} {:>26} {:>26} {:>11} {:>7} {:>8} {:>10}",
            "actor",
            "counterfactual",
            "scenario",
            "difference",
            "Δ/partic.",
            "P(Δ>0)",
            "payback",
            "investment"
        );
        for (actor, da) in &d.actors {
            let k = &cf.actors[actor];
            let sc = &arm.actors[actor];
            // An actor whose difference is exactly zero neither pays nor gains.
            let payback = if da.sheet.net.p05 == 0.0 && da.sheet.net.p95 == 0.0 {
                "–".to_string()
            } else {
                match da.payback.median_month {
                    Some(m) => format!("{m:.0} mo"),
                    None => "never".into(),
                }
            };
            let label = if actor == "public_sector" || actor == "society" {
                format!("= {}", da.sheet.label)
            } else {
                da.sheet.label.clone()
            };
            let _ = writeln!(
                o,
                "{:<w$} {:>26} {:>26} {:>26} {:>11} {:>7} {:>8} {:>10}",
                label,
                cell(&k.net),
                cell(&sc.net),
                cell(&da.sheet.net),
                format!("{:.0}", da.sheet.net_per_participant.mean / 1000.0),
                pct(da.prob_positive),
                payback,
                ksek(da.sheet.investment.mean)
            );
        }
        if let Some(soc) = d.actors.get("society") {
            let _ = writeln!(
                o,
                "society's difference = production {} + transfers {} + resources {} kSEK",
                ksek(soc.sheet.production.mean),
                ksek(soc.sheet.transfers.mean),
                ksek(soc.sheet.resources.mean)
            );
        }
        uncertainty(&mut o, s, d);
    }
    all_arms_evpi(&mut o, s);
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Outcomes: share of persons in each state by months since entry (mean over replications)"
    );
    for (arm_id, arm) in &s.arms {
        let _ = writeln!(o, "{} ({arm_id})", arm.label);
        let months: Vec<&String> = arm.outcomes.keys().collect();
        let _ = write!(o, "  {:<24}", "state");
        for mo in &months {
            let _ = write!(o, " {:>20}", format!("{mo} mo: all/women/men"));
        }
        let _ = writeln!(o);
        let states: Vec<&String> = arm
            .outcomes
            .values()
            .next()
            .map(|x| x.all.keys().collect())
            .unwrap_or_default();
        for st in states {
            let _ = write!(o, "  {:<24}", st);
            for mo in &months {
                let oc = &arm.outcomes[*mo];
                let _ = write!(
                    o,
                    " {:>20}",
                    format!(
                        "{}/{}/{}",
                        pct(oc.all[st].mean),
                        pct(oc.women[st].mean),
                        pct(oc.men[st].mean)
                    )
                );
            }
            let _ = writeln!(o);
        }
    }
    o
}

fn month(m: Option<f64>) -> String {
    m.map_or("never".to_string(), |m| format!("{m:.0}"))
}

fn scale_text(x: Option<f64>) -> String {
    x.map_or(
        format!(">{}", crate::analysis::break_even::MAX_SCALE),
        |x| format!("{x:.2}"),
    )
}

fn years_text(x: Option<f64>) -> String {
    x.map_or("–".to_string(), |x| format!("{x:.1}"))
}

/// The uncertainty of one difference per actor: payback distribution, break-even,
/// EVPI and, with `--expected`, the spread with the cohort noise averaged out.
fn uncertainty(o: &mut String, s: &Summary, d: &crate::summary::DiffSummary) {
    let key = format!("{} - {}", d.arm, d.counterfactual);
    let be = d.break_even.as_ref();
    let ev = d.evpi.as_ref();
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Uncertainty: payback month (median [90%]; never = not within the horizon), break-even{}, EVPI",
        if be.is_some() {
            " (switching values)"
        } else {
            ""
        }
    );
    if let Some(py) = be.and_then(|b| b.values().next()) {
        let m = &py.modelled_person_years;
        let _ = writeln!(
            o,
            "the programme gives {:.1} [{:.1}; {:.1}] extra person-years in success states at its modelled effect; break-even: the share of that effect (×) and the extra person-years each actor needs (– = not within {}×)",
            m.mean,
            m.p05,
            m.p95,
            crate::analysis::break_even::MAX_SCALE
        );
    }
    let w = 36;
    let _ = writeln!(
        o,
        "{:<w$} {:>22} {:>6} {:>22} {:>22} {:>22}",
        "actor",
        "payback [90%]",
        "never",
        "break-even × [90%]",
        "person-years [90%]",
        "EVPI kSEK / partic."
    );
    for (actor, da) in &d.actors {
        let flat = da.sheet.net.p05 == 0.0 && da.sheet.net.p95 == 0.0;
        let payback = if flat {
            "–".to_string()
        } else {
            format!(
                "{} [{}; {}]",
                month(da.payback.median_month),
                month(da.payback.p05_month),
                month(da.payback.p95_month)
            )
        };
        let (scale, years) = match be.and_then(|b| b.get(actor)) {
            Some(b) if !flat => (
                format!(
                    "{} [{}; {}]",
                    scale_text(b.effect_scale.estimate),
                    scale_text(b.effect_scale.p05),
                    scale_text(b.effect_scale.p95)
                ),
                format!(
                    "{} [{}; {}]",
                    years_text(b.extra_person_years.estimate),
                    years_text(b.extra_person_years.p05),
                    years_text(b.extra_person_years.p95)
                ),
            ),
            _ => ("–".to_string(), "–".to_string()),
        };
        let evpi = ev.and_then(|e| e.get(actor)).map_or("–".to_string(), |e| {
            format!(
                "{} / {}",
                ksek(e.cohort),
                e.per_participant
                    .map_or("–".to_string(), |x| format!("{x:.0}"))
            )
        });
        let _ = writeln!(
            o,
            "{:<w$} {:>22} {:>6} {:>22} {:>22} {:>22}",
            da.sheet.label,
            payback,
            if flat {
                "–".to_string()
            } else {
                pct(da.payback.never_share)
            },
            scale,
            years,
            evpi
        );
    }
    let Some(ex) = s.expected.as_ref() else {
        return;
    };
    let Some(ed) = ex.differences.get(&key) else {
        return;
    };
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Two kinds of spread: at the real cohort size ({} persons: parameter uncertainty and the cohort's own luck) and expected (the same {} parameter draws on {} persons, totals ÷ {}: parameter uncertainty alone)",
        s.persons, ex.replications, ex.persons, ex.scale
    );
    let _ = writeln!(
        o,
        "{:<w$} {:>26} {:>7} {:>26} {:>7} {:>14}",
        "actor", "Δ real size", "P(Δ>0)", "Δ expected", "P(Δ>0)", "EVPI param."
    );
    for (actor, da) in &d.actors {
        let Some(e) = ed.actors.get(actor) else {
            continue;
        };
        let _ = writeln!(
            o,
            "{:<w$} {:>26} {:>7} {:>26} {:>7} {:>14}",
            da.sheet.label,
            cell(&da.sheet.net),
            pct(da.prob_positive),
            cell(&e.net),
            pct(e.prob_positive),
            ed.evpi
                .get(actor)
                .map_or("–".to_string(), |v| ksek(v.cohort))
        );
    }
}

/// EVPI of the choice between all arms, when there are more than two.
fn all_arms_evpi(o: &mut String, s: &Summary) {
    let Some(e) = s.evpi.as_ref() else {
        return;
    };
    if e.arms.len() < 3 {
        return;
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "EVPI of the choice between all arms ({}), kSEK for the cohort / SEK per person; best on expectation; P(another arm is better)",
        e.arms.join(", ")
    );
    for (actor, v) in &e.actors {
        let _ = writeln!(
            o,
            "  {:<26} {:>10} / {:>8}  {:<24} {:>7}",
            actor,
            ksek(v.cohort),
            format!("{:.0}", v.per_person),
            v.best_arm,
            pct(v.prob_wrong)
        );
    }
}
