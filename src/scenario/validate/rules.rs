//! `[rules.<id>]`: forced transitions — after `after` steps on the clock of state `from`,
//! a person moves to `to` (one state, or shares of several), optionally only with a
//! positive or a zero income. Rules that fire on entry must not send a person round a loop.

use std::collections::VecDeque;

use toml::Value;

use super::check::Ctx;
use crate::limits::MAX_HORIZON;
use crate::model::{IncomeFilter, Rule, State};
use crate::scenario::raw::{Map, RawRule};

pub(super) fn rules(
    raw: &Map<RawRule>,
    c: &mut Ctx,
    states: &[State],
    income_attribute: Option<usize>,
) -> Vec<Rule> {
    let mut rules = Vec::new();
    for (id, rr) in raw {
        if let Some(rule) = rule(c, id, rr, states, income_attribute) {
            rules.push(rule);
        }
    }
    check_loops(c, &rules, states);
    rules
}

/// One rule; `None` if its `from` is not a state.
fn rule(
    c: &mut Ctx,
    id: &str,
    rr: &RawRule,
    states: &[State],
    income_attribute: Option<usize>,
) -> Option<Rule> {
    let path = format!("rules.{id}");
    let from = c.state(&rr.from, &format!("{path}.from"))?;
    if states[from].absorbing {
        c.err(
            format!("{path}.from"),
            format!(
                "`{}` is absorbing: nobody leaves it, so a rule cannot start there",
                rr.from
            ),
        );
    }
    let after = c.count(rr.after, &format!("{path}.after"), 0, MAX_HORIZON);
    let to = destinations(c, &rr.to, &format!("{path}.to"));
    if to.iter().any(|&(s, _)| s == from) {
        c.err(
            format!("{path}.to"),
            "a rule cannot send a person back to the state it starts from",
        );
    }
    let income = match rr.income.as_deref().unwrap_or("any") {
        "any" => IncomeFilter::Any,
        "positive" => IncomeFilter::Positive,
        "zero" => IncomeFilter::Zero,
        other => {
            c.err(
                format!("{path}.income"),
                format!("expected \"any\", \"positive\" or \"zero\", found \"{other}\""),
            );
            IncomeFilter::Any
        }
    };
    if income != IncomeFilter::Any && income_attribute.is_none() {
        c.err(
            format!("{path}.income"),
            "an income filter needs `population.income_attribute`",
        );
    }
    Some(Rule {
        id: id.to_string(),
        from,
        after,
        to,
        income,
    })
}

/// `to`: a state name, or a table of `state = share` (cumulative shares, as the engine
/// draws them).
fn destinations(c: &mut Ctx, to: &Value, path: &str) -> Vec<(usize, f64)> {
    match to {
        Value::String(s) => c.state(s, path).map(|s| vec![(s, 1.0)]).unwrap_or_default(),
        Value::Table(t) => match t.clone().try_into::<Map<f64>>() {
            Ok(m) => c.shares(&m, path),
            Err(_) => {
                c.err(path, "expected a state name or a table of `state = share`");
                vec![]
            }
        },
        _ => {
            c.err(path, "expected a state name or a table of `state = share`");
            vec![]
        }
    }
}

/// Rules that fire on entry (after = 0) must not form a cycle: a person would bounce
/// between the states forever within one step. Each loop is reported once, at the first
/// rule (in file order) that starts it.
fn check_loops(c: &mut Ctx, rules: &[Rule], states: &[State]) {
    let mut reported: Vec<Vec<usize>> = Vec::new();
    for r in rules.iter().filter(|r| r.after == 0) {
        let Some((loop_states, loop_rules)) = find_loop(rules, r.from, states.len()) else {
            continue;
        };
        let mut key = loop_rules.clone();
        key.sort_unstable();
        if reported.contains(&key) {
            continue;
        }
        reported.push(key);
        let names: Vec<String> = loop_rules
            .iter()
            .map(|&k| format!("`{}`", rules[k].id))
            .collect();
        let walk: Vec<&str> = loop_states.iter().map(|&s| states[s].id.as_str()).collect();
        c.err(
            format!("rules.{}", r.id),
            format!(
                "forced-transition loop: {} {} `after = 0` and send a person {} over and over within one step; give one of them `after` ≥ 1",
                if names.len() == 1 { "rule" } else { "rules" },
                if names.len() == 1 {
                    format!("{} has", names[0])
                } else {
                    format!("{} all have", names.join(", "))
                },
                walk.join(" → ")
            ),
        );
    }
}

/// A loop of `after = 0` rules from `start` back to it: the states walked (`start` first
/// and last) and the rules taking each step, or `None`.
fn find_loop(rules: &[Rule], start: usize, n_states: usize) -> Option<(Vec<usize>, Vec<usize>)> {
    // Breadth-first over `after = 0` rules from `start`, remembering for each state the
    // state and rule it was reached by, until a rule leads back to `start`.
    let mut via: Vec<Option<(usize, usize)>> = vec![None; n_states];
    let mut queue = VecDeque::from([start]);
    let mut closing = None;
    while let Some(s) = queue.pop_front() {
        for (k, r2) in rules.iter().enumerate() {
            if r2.after != 0 || r2.from != s {
                continue;
            }
            for &(t, _) in &r2.to {
                if t == s {
                    // Reported by `rule`: a rule cannot send a person back where it starts.
                    continue;
                }
                if t == start {
                    closing = closing.or(Some((s, k)));
                } else if via[t].is_none() {
                    via[t] = Some((s, k));
                    queue.push_back(t);
                }
            }
        }
    }
    let (last, closing_rule) = closing?;
    // The loop start → … → last → start, and the rules taking each step.
    let mut loop_states = vec![last];
    let mut loop_rules = vec![closing_rule];
    let mut at = last;
    while let Some((prev, k)) = via[at] {
        loop_rules.push(k);
        loop_states.push(prev);
        at = prev;
    }
    loop_states.reverse();
    loop_rules.reverse();
    loop_states.push(start);
    Some((loop_states, loop_rules))
}
