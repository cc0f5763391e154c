//! `[organisations]`, `[locations]` and `[programmes]`: how the agencies work together
//! (hand-over failures and the gaps they cause), where rehabilitation takes place, and
//! the programmes an arm can offer.
//!
//! Every organisation, location and programme is validated, whether an arm uses it or not,
//! so that a mistake in an unused one is not hidden.

use indexmap::IndexMap;

use super::check::{Ctx, label};
use super::meta::Settings;
use crate::dist::Dist;
use crate::limits::{MAX_HORIZON, MAX_PERSONS};
use crate::model::{Location, Organisation, Programme};
use crate::scenario::raw::{Map, RawLocation, RawOrganisation, RawProgramme};

pub(super) fn organisations(
    raw: &Map<RawOrganisation>,
    c: &mut Ctx,
) -> IndexMap<String, Organisation> {
    let mut organisations = IndexMap::new();
    for (name, ro) in raw {
        organisations.insert(name.clone(), organisation(c, name, ro));
    }
    organisations
}

fn organisation(c: &mut Ctx, name: &str, ro: &RawOrganisation) -> Organisation {
    let op = format!("organisations.{name}");
    let failure = c.prob(
        ro.handover_failure.unwrap_or(0.0),
        &format!("{op}.handover_failure"),
    );
    let gap = ro
        .gap_months
        .as_ref()
        .map(|v| c.person_dist(v, "per_event", &format!("{op}.gap_months")))
        .unwrap_or(Dist::Fixed(1.0));
    if gap.support().0 < 0.0 {
        c.err(format!("{op}.gap_months"), "gap lengths cannot be negative");
    }
    let gap_states = match &ro.gap_states {
        Some(m) => c.shares(m, &format!("{op}.gap_states")),
        None => {
            if failure > 0.0 {
                c.err(
                    &op,
                    "`handover_failure` > 0 needs `gap_states` (where people land while they wait)",
                );
            }
            vec![]
        }
    };
    Organisation {
        id: name.to_string(),
        label: label(&ro.label, name),
        handover_failure: failure,
        gap_months: gap,
        gap_states,
        effect_loss: c.prob(ro.effect_loss.unwrap_or(0.0), &format!("{op}.effect_loss")),
        success_multiplier: c.multiplier(
            ro.success_multiplier.unwrap_or(1.0),
            &format!("{op}.success_multiplier"),
        ),
    }
}

pub(super) fn locations(raw: &Map<RawLocation>, c: &mut Ctx) -> IndexMap<String, Location> {
    let mut locations = IndexMap::new();
    for (name, rl) in raw {
        let lp = format!("locations.{name}");
        let l = Location {
            id: name.clone(),
            label: label(&rl.label, name),
            success_multiplier: c.multiplier(
                rl.success_multiplier.unwrap_or(1.0),
                &format!("{lp}.success_multiplier"),
            ),
            dropout_multiplier: c.multiplier(
                rl.dropout_multiplier.unwrap_or(1.0),
                &format!("{lp}.dropout_multiplier"),
            ),
            extra_wait: c.count(
                rl.extra_wait.unwrap_or(0),
                &format!("{lp}.extra_wait"),
                0,
                MAX_HORIZON,
            ),
            relapse: c.prob(rl.relapse.unwrap_or(0.0), &format!("{lp}.relapse")),
            distance_km: c.nonneg(rl.distance_km.unwrap_or(0.0), &format!("{lp}.distance_km")),
            placement: rl.placement.as_ref().and_then(|pl| {
                let share = c.prob(pl.share, &format!("{lp}.placement.share"));
                let to = c.state(&pl.to, &format!("{lp}.placement.to"))?;
                Some((share, to))
            }),
        };
        locations.insert(name.clone(), l);
    }
    locations
}

/// The organisation `name` (for an arm or a programme), or an issue listing them.
pub(super) fn find_organisation(
    c: &mut Ctx,
    organisations: &IndexMap<String, Organisation>,
    name: &str,
    path: &str,
) -> Option<Organisation> {
    let o = organisations.get(name).cloned();
    if o.is_none() {
        let known: Vec<&str> = organisations.keys().map(String::as_str).collect();
        c.err(
            path,
            format!(
                "`{name}` is not an organisation; expected one of: {}",
                if known.is_empty() {
                    "(none declared under [organisations])".to_string()
                } else {
                    known.join(", ")
                }
            ),
        );
    }
    o
}

/// Every programme that validates (one whose `location` is unknown is left out, after
/// the issue is reported), by id.
pub(super) fn programmes(
    raw: &Map<RawProgramme>,
    c: &mut Ctx,
    organisations: &IndexMap<String, Organisation>,
    locations: &IndexMap<String, Location>,
    run: &Settings,
) -> IndexMap<String, Programme> {
    let mut programmes = IndexMap::new();
    for (pid, rp) in raw {
        if let Some(p) = programme(c, pid, rp, organisations, locations, run) {
            programmes.insert(pid.clone(), p);
        }
    }
    programmes
}

fn programme(
    c: &mut Ctx,
    pid: &str,
    rp: &RawProgramme,
    organisations: &IndexMap<String, Organisation>,
    locations: &IndexMap<String, Location>,
    run: &Settings,
) -> Option<Programme> {
    let pp = format!("programmes.{pid}");
    let eligible = c.state_mask(&rp.eligible, &format!("{pp}.eligible"));
    let decay = rp.after_effect_decay.unwrap_or(0.0);
    let decay = c.prob(decay, &format!("{pp}.after_effect_decay"));
    let p_org = rp
        .organisation
        .as_ref()
        .and_then(|n| find_organisation(c, organisations, n, &format!("{pp}.organisation")));
    let location = location(c, rp, &pp, locations)?;
    Some(Programme {
        id: pid.to_string(),
        label: label(&rp.label, pid),
        eligible,
        referral: c.prob(rp.referral, &format!("{pp}.referral")),
        referral_from: c.count(
            rp.referral_from.unwrap_or(0),
            &format!("{pp}.referral_from"),
            0,
            MAX_HORIZON,
        ),
        referral_until: c.count(
            rp.referral_until.unwrap_or(i64::from(run.horizon)),
            &format!("{pp}.referral_until"),
            0,
            MAX_HORIZON,
        ),
        capacity: rp
            .capacity
            .map(|cap| u64::from(c.count(cap, &format!("{pp}.capacity"), 1, MAX_PERSONS))),
        intake_first: c.count(
            rp.intake_first.unwrap_or(0),
            &format!("{pp}.intake_first"),
            0,
            MAX_HORIZON,
        ),
        intake_every: c.count(
            rp.intake_every.unwrap_or(1),
            &format!("{pp}.intake_every"),
            1,
            MAX_HORIZON,
        ),
        duration: c.count(rp.duration, &format!("{pp}.duration"), 1, MAX_HORIZON),
        dropout: c.nonneg(rp.dropout.unwrap_or(0.0), &format!("{pp}.dropout")),
        effect: c.multiplier(rp.effect.unwrap_or(1.0), &format!("{pp}.effect")),
        // `after_effect_decay` is the share of the after-effect lost per year.
        retention_per_step: (1.0 - decay).powf(1.0 / f64::from(run.steps_per_year)),
        dropout_effect_retained: c.prob(
            rp.dropout_effect_retained.unwrap_or(0.0),
            &format!("{pp}.dropout_effect_retained"),
        ),
        handover_at_exit: rp.handover_at_exit.unwrap_or(false),
        organisation: p_org,
        location,
    })
}

/// The programme's location: the home municipality unless it names one; `None` (after
/// reporting it) if the name is unknown.
fn location(
    c: &mut Ctx,
    rp: &RawProgramme,
    pp: &str,
    locations: &IndexMap<String, Location>,
) -> Option<Location> {
    match &rp.location {
        None => Some(Location {
            id: "home".into(),
            label: "home municipality".into(),
            success_multiplier: 1.0,
            dropout_multiplier: 1.0,
            extra_wait: 0,
            relapse: 0.0,
            distance_km: 0.0,
            placement: None,
        }),
        Some(n) => match locations.get(n) {
            Some(l) => Some(l.clone()),
            None => {
                let known: Vec<&str> = locations.keys().map(String::as_str).collect();
                c.err(
                    format!("{pp}.location"),
                    format!(
                        "`{n}` is not a location; expected one of: {}",
                        if known.is_empty() {
                            "(none declared under [locations])".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                );
                None
            }
        },
    }
}
