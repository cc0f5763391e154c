//! `[items.<id>]`: the flows of the balance sheet, and the posting lines they make. An
//! item is one of four kinds — per person-step in some states (`states`), a share of
//! other items (`of`), a one-off on entering a state (`on_enter`), a one-off when a hand-over gap ends (`on_gap_end`) or a fixed budget
//! (`budget`) — and flows from its payer(s) to its payee(s) as its class allows.

use toml::Value;

use super::check::{Ctx, label};
use super::population::attribute;
use crate::limits::{MAX_ATTRIBUTE, MAX_HORIZON};
use crate::model::{Actor, Arm, Attribute, Class, Item, ItemKind, Line, PHASE_NAMES};
use crate::scenario::raw::{Map, RawBudget, RawItem, RawScenario};

/// What an item may refer to, from the sections validated before the items.
pub(super) struct Scope<'a> {
    /// The scenario: other items (for `of`), organisation and location names.
    pub(super) raw: &'a RawScenario,
    pub(super) actors: &'a [Actor],
    pub(super) attributes: &'a [Attribute],
    /// The arm being validated: its organisation and location decide `active`.
    pub(super) arm: &'a Arm,
    pub(super) optimism_bias: f64,
}

/// The items in file order, and their posting lines (one per payer–payee pair).
pub(super) fn items(c: &mut Ctx, scope: &Scope) -> (Vec<Item>, Vec<Line>) {
    let mut items = Vec::new();
    let mut lines = Vec::new();
    for (ii, (id, ri)) in scope.raw.items.iter().enumerate() {
        items.push(item(c, scope, ii, id, ri, &mut lines));
    }
    (items, lines)
}

/// Item `ii`; its posting lines are added to `lines`.
fn item(
    c: &mut Ctx,
    scope: &Scope,
    ii: usize,
    id: &str,
    ri: &RawItem,
    lines: &mut Vec<Line>,
) -> Item {
    let path = format!("items.{id}");
    let class = class(c, ri, &path);
    let payers = parties(c, &ri.payer, &format!("{path}.payer"));
    let payees = parties(c, &ri.payee, &format!("{path}.payee"));
    check_flow(c, scope.actors, class, &payers, &payees, &path);
    for &(payer, ps) in &payers {
        for &(payee, qs) in &payees {
            lines.push(Line {
                item: ii,
                payer,
                payee,
                share: ps * qs,
            });
        }
    }
    let kinds = [
        ri.states.is_some(),
        ri.of.is_some(),
        ri.on_enter.is_some(),
        ri.on_gap_end.is_some(),
        ri.budget.is_some(),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    if kinds != 1 {
        c.err(
            &path,
            "an item needs exactly one of `states` (per person-step), `of` (a share of other items), `on_enter` (one-off on a transition), `on_gap_end` (one-off when a hand-over gap ends) or `budget` (a fixed sum over time)",
        );
    }
    let kind = kind(c, scope, ii, id, ri, &path);
    Item {
        id: id.to_string(),
        label: label(&ri.label, id),
        label_sv: ri.label_sv.clone().unwrap_or_else(|| label(&ri.label, id)),
        class,
        kind,
        phases: phases(c, ri, &path),
        active: active(c, scope, ri, &path),
        investment: ri.investment,
        multiplier: if ri.optimism_bias {
            1.0 + scope.optimism_bias
        } else {
            1.0
        },
    }
}

fn class(c: &mut Ctx, ri: &RawItem, path: &str) -> Class {
    match ri.class.as_str() {
        "transfer" => Class::Transfer,
        "production" => Class::Production,
        "resource" => Class::Resource,
        other => {
            c.err(
                format!("{path}.class"),
                format!("expected \"transfer\", \"production\" or \"resource\", found \"{other}\""),
            );
            Class::Transfer
        }
    }
}

/// A payer or payee: an actor name, or a table of `actor = share` summing to 1.
fn parties(c: &mut Ctx, v: &Value, p: &str) -> Vec<(usize, f64)> {
    match v {
        Value::String(s) => c.actor(s, p).map(|a| vec![(a, 1.0)]).unwrap_or_default(),
        Value::Table(t) => {
            let mut out = Vec::new();
            let mut sum = 0.0;
            for (k, v) in t {
                let vp = format!("{p}.{k}");
                let share = match v {
                    Value::Float(f) => *f,
                    Value::Integer(i) => *i as f64,
                    _ => f64::NAN,
                };
                let share = c.prob(share, &vp);
                sum += share;
                if let Some(a) = c.actor(k, &vp) {
                    out.push((a, share));
                }
            }
            if (sum - 1.0).abs() > 1e-6 {
                c.err(
                    p,
                    format!("the shares must sum to 1, but they sum to {sum}"),
                );
            }
            out
        }
        _ => {
            c.err(p, "expected an actor name or a table of `actor = share`");
            vec![]
        }
    }
}

/// Only one side may be split, and the class says which side may be the outside actor.
fn check_flow(
    c: &mut Ctx,
    actors: &[Actor],
    class: Class,
    payers: &[(usize, f64)],
    payees: &[(usize, f64)],
    path: &str,
) {
    if payers.len() > 1 && payees.len() > 1 {
        c.err(
            path,
            "split either the payer or the payee between actors, not both",
        );
    }
    let is_outside = |a: usize| actors.get(a).is_some_and(|x| x.outside);
    let class_ok = match class {
        Class::Transfer => payers.iter().chain(payees).all(|&(a, _)| !is_outside(a)),
        Class::Production => {
            payers.iter().all(|&(a, _)| is_outside(a))
                && payees.iter().all(|&(a, _)| !is_outside(a))
        }
        Class::Resource => {
            payees.iter().all(|&(a, _)| is_outside(a))
                && payers.iter().all(|&(a, _)| !is_outside(a))
        }
    };
    if !class_ok {
        c.err(
            format!("{path}.class"),
            "a transfer flows between two actors inside society; production flows from the outside actor to an actor; a resource flows from an actor to the outside actor — change `class`, `payer` or `payee`",
        );
    }
}

/// What the item is: exactly one of `states`, `of`, `on_enter`, `on_gap_end` and `budget` (the count
/// is checked by `item`; with none, an empty budget stands in).
fn kind(c: &mut Ctx, scope: &Scope, ii: usize, id: &str, ri: &RawItem, path: &str) -> ItemKind {
    let amount = c.amount(ri.amount.unwrap_or(0.0), &format!("{path}.amount"));
    let mut per = Vec::new();
    if let Some(pm) = &ri.per {
        for (an, &coef) in pm {
            let pp = format!("{path}.per.{an}");
            c.finite(coef, &pp);
            if let Some(ai) = attribute(c, scope.attributes, an, &pp) {
                per.push((ai, coef));
            }
        }
    }
    if ri.per_km.is_some() && (ri.states.is_none() || ri.top_up.is_some()) {
        c.err(
            format!("{path}.per_km"),
            "`per_km` (an amount per km to the programme's location) applies to per-person items with `states`",
        );
    }
    // Travel by distance: the arm's programme location is this far from home.
    let per_km = ri
        .per_km
        .map_or(0.0, |k| c.amount(k, &format!("{path}.per_km")));
    let distance = scope
        .arm
        .programme
        .as_ref()
        .map_or(0.0, |p| p.location.distance_km);
    if let (Some(sts), Some(tu)) = (&ri.states, &ri.top_up) {
        top_up(c, scope, ii, id, ri, sts, tu, path)
    } else if let Some(sts) = &ri.states {
        ItemKind::State {
            states: c.state_mask(sts, &format!("{path}.states")),
            amount: amount + per_km * distance,
            per,
            by_time: ri
                .by_time
                .as_ref()
                .map(|b| c.piecewise(b, &format!("{path}.by_time"))),
        }
    } else if let Some(of) = &ri.of {
        derived(c, &scope.raw.items, ii, id, of, path)
    } else if let Some(to) = &ri.on_enter {
        let to = c.state(to, &format!("{path}.on_enter")).unwrap_or(0);
        let from = ri
            .from
            .as_ref()
            .map(|f| c.state_mask(f, &format!("{path}.from")));
        if !per.is_empty() {
            c.err(
                format!("{path}.per"),
                "one-off amounts (`on_enter`) take a fixed `amount` only",
            );
        }
        ItemKind::OnEnter { to, from, amount }
    } else if let Some(to) = &ri.on_gap_end {
        if !per.is_empty() {
            c.err(
                format!("{path}.per"),
                "one-off amounts (`on_gap_end`) take a fixed `amount` only",
            );
        }
        ItemKind::OnGapEnd {
            to: c.state_mask(to, &format!("{path}.on_gap_end")),
            amount,
        }
    } else if let Some(b) = &ri.budget {
        budget(c, b, path)
    } else {
        ItemKind::Budget {
            total: 0.0,
            from: 0,
            until: 1,
        }
    }
}

/// `of = { item = rate, … }`: a share of per-person or other derived items declared above
/// this one (so that derived items are computed in file order).
fn derived(
    c: &mut Ctx,
    items: &Map<RawItem>,
    ii: usize,
    id: &str,
    of: &Map<f64>,
    path: &str,
) -> ItemKind {
    let mut v = Vec::new();
    for (k, &r) in of {
        let op = format!("{path}.of.{k}");
        c.finite(r, &op);
        match items.get_index_of(k) {
            Some(j) if j < ii && items[j].states.is_none() && items[j].of.is_none() => c.err(
                &op,
                format!("`{k}` is a one-off or budget item: a share (`of`) can only be taken of per-person items (with `states`) or other `of` items"),
            ),
            Some(j) if j < ii => v.push((j, r)),
            Some(_) => c.err(&op, format!("`{k}` must be declared before `{id}` (a derived item is computed from items above it)")),
            None => c.err(&op, format!("`{k}` is not an item")),
        }
    }
    ItemKind::Derived { of: v }
}

/// `budget = { total, from, until }`: `total` spread evenly over steps `from..until`.
fn budget(c: &mut Ctx, b: &RawBudget, path: &str) -> ItemKind {
    c.amount(b.total, &format!("{path}.budget.total"));
    let from = c.count(b.from, &format!("{path}.budget.from"), 0, MAX_HORIZON);
    let until = c.count(b.until, &format!("{path}.budget.until"), 1, MAX_HORIZON);
    if until <= from {
        c.err(
            format!("{path}.budget"),
            "`until` must be after `from` (steps from..until, until exclusive)",
        );
    }
    ItemKind::Budget {
        total: b.total,
        from,
        until: until.max(from + 1),
    }
}

/// The programme phases the item accrues in; all four without `phases`.
fn phases(c: &mut Ctx, ri: &RawItem, path: &str) -> [bool; 4] {
    let mut phases = [true; 4];
    if let Some(ph) = &ri.phases {
        phases = [false; 4];
        for (i, name) in ph.iter().enumerate() {
            match PHASE_NAMES.iter().position(|n| n == name) {
                Some(k) => phases[k] = true,
                None => c.err(
                    format!("{path}.phases.{i}"),
                    format!(
                        "expected one of {}, found \"{name}\"",
                        PHASE_NAMES.join(", ")
                    ),
                ),
            }
        }
    }
    phases
}

/// Whether the item applies in this arm: `organisations` and `locations` restrict it to
/// arms with one of those (names are checked whether or not they match).
fn active(c: &mut Ctx, scope: &Scope, ri: &RawItem, path: &str) -> bool {
    let mut active = true;
    if let Some(orgs) = &ri.organisations {
        for (i, o) in orgs.iter().enumerate() {
            if !scope.raw.organisations.contains_key(o) {
                c.err(
                    format!("{path}.organisations.{i}"),
                    format!("`{o}` is not an organisation"),
                );
            }
        }
        active &= orgs.contains(&scope.arm.organisation.id);
    }
    if let Some(locs) = &ri.locations {
        for (i, o) in locs.iter().enumerate() {
            if !scope.raw.locations.contains_key(o) {
                c.err(
                    format!("{path}.locations.{i}"),
                    format!("`{o}` is not a location"),
                );
            }
        }
        active &= locs.iter().any(|o| o == scope.arm.location_id());
    }
    active
}

/// `states = [...]` with `top_up = { norm, income = { item = share } }`: the norm and the
/// state items (declared above this one) whose amounts count as the person's income.
#[allow(clippy::too_many_arguments)]
fn top_up(
    c: &mut Ctx,
    scope: &Scope,
    ii: usize,
    id: &str,
    ri: &RawItem,
    states: &[String],
    tu: &crate::scenario::raw::RawTopUp,
    path: &str,
) -> ItemKind {
    if ri.amount.is_some() || ri.per.is_some() || ri.by_time.is_some() {
        c.err(
            path,
            "a top-up (`top_up`) is the norm less the person's other income: `amount`, `per` and `by_time` do not apply; give the norm as `top_up.norm`",
        );
    }
    let norm_path = format!("{path}.top_up.norm");
    if c.finite(tu.norm, &norm_path) && !(0.0..=MAX_ATTRIBUTE).contains(&tu.norm) {
        c.expect(
            &norm_path,
            format!("a norm from 0 to {MAX_ATTRIBUTE:e} SEK per step"),
            tu.norm,
        );
    }
    let items = &scope.raw.items;
    let mut income = Vec::new();
    for (k, &share) in &tu.income {
        let ip = format!("{path}.top_up.income.{k}");
        c.finite(share, &ip);
        match items.get_index_of(k) {
            Some(j) if j < ii && items[j].states.is_some() && items[j].top_up.is_none() => {
                income.push((j, share));
            }
            Some(j) if j < ii => c.err(
                &ip,
                format!("`{k}` is not a per-person item: a person's income is made of items with `states` (wages, benefits), not of shares, one-offs, budgets or other top-ups"),
            ),
            Some(_) => c.err(&ip, format!("`{k}` must be declared before `{id}` (a top-up is computed from items above it)")),
            None => c.err(&ip, format!("`{k}` is not an item")),
        }
    }
    let mut attributes = Vec::new();
    for (an, &share) in &tu.attributes {
        let ap = format!("{path}.top_up.attributes.{an}");
        c.finite(share, &ap);
        if let Some(a) = attribute(c, scope.attributes, an, &ap) {
            attributes.push((a, share));
        }
    }
    let index = items
        .values()
        .take(ii)
        .filter(|r| r.states.is_some() && r.top_up.is_some())
        .count();
    ItemKind::TopUp {
        states: c.state_mask(states, &format!("{path}.states")),
        norm: tu.norm.clamp(0.0, MAX_ATTRIBUTE),
        income,
        attributes,
        index,
    }
}
