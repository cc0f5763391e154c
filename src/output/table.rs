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
        let w = 28;
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
    }
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
