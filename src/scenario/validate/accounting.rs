//! `[accounting]`: discount rates, the counting convention (when in a step a flow is
//! counted), the optimism-bias uplift and displacement.

use super::check::Ctx;
use crate::model::{Accounting, Counting};
use crate::scenario::raw::RawAccounting;

pub(super) fn accounting(a: &RawAccounting, c: &mut Ctx) -> Accounting {
    let discount_rate = rate(c, a.discount_rate, 0.035, "accounting.discount_rate");
    // Defaults to the money rate, which is reported once, under its own key.
    let measure_discount_rate = match a.measure_discount_rate {
        Some(v) => rate(c, Some(v), v, "accounting.measure_discount_rate"),
        None => discount_rate,
    };
    let counting = match a.counting.as_deref().unwrap_or("start") {
        "start" => Counting::Start,
        "end" => Counting::End,
        "half_step" => Counting::HalfStep,
        other => {
            c.err(
                "accounting.counting",
                format!("expected \"start\", \"end\" or \"half_step\", found \"{other}\""),
            );
            Counting::Start
        }
    };
    let discount_from = c.count(
        a.discount_from.unwrap_or(0),
        "accounting.discount_from",
        0,
        1,
    );
    let optimism_bias = a.optimism_bias.unwrap_or(0.0);
    if c.finite(optimism_bias, "accounting.optimism_bias") && !(0.0..=10.0).contains(&optimism_bias)
    {
        c.expect(
            "accounting.optimism_bias",
            "a cost uplift between 0 and 10 (0.10 = +10 %)",
            optimism_bias,
        );
    }
    let displacement = c.prob(a.displacement.unwrap_or(0.0), "accounting.displacement");
    let displaced_to = a
        .displaced_to
        .as_ref()
        .and_then(|s| c.state(s, "accounting.displaced_to"));
    Accounting {
        discount_rate,
        measure_discount_rate,
        counting,
        discount_from,
        optimism_bias,
        displacement,
        displaced_to,
    }
}

/// A yearly discount rate: above -100 %, and written as a fraction (a rate above 1 is
/// almost certainly a percentage typed as a number).
fn rate(c: &mut Ctx, v: Option<f64>, default: f64, path: &str) -> f64 {
    let v = v.unwrap_or(default);
    if c.finite(v, path) && v <= -1.0 {
        c.err(
            path,
            format!(
                "a discount rate must be above -1 (-100 %), found {v}; 0.035 means 3.5 % a year"
            ),
        );
    } else if v.is_finite() && v > 1.0 {
        c.err(
            path,
            format!("a discount rate of {v} is {}; write 3.5 % as 0.035", pct(v)),
        );
    }
    v
}

fn pct(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}
