//! What a run gives for each target: the share of persons (or of programme
//! participants) in the target's states at its month since entry.

use super::types::TargetShare;
use crate::scenario::Scenario;
use crate::{Error, RunOutput};

/// The simulated share of every target of `scenario` in a run of it, in target order.
pub fn target_shares(scenario: &Scenario, out: &RunOutput) -> Result<Vec<TargetShare>, Error> {
    let base = scenario.base();
    let s_n = base.states.len();
    let mut result = Vec::new();
    for t in &base.targets {
        let model = &scenario.arms[t.arm];
        let months = crate::engine::outcome_months(model);
        let k = months.iter().position(|&m| m == t.month).ok_or_else(|| {
            Error::Input(format!(
                "target `{}`: month {} is not a whole number of steps ({} months each)",
                t.id,
                t.month,
                model.months_per_step()
            ))
        })?;
        let mut states = t.states.clone();
        states.sort_unstable();
        states.dedup();
        let mut xs = Vec::new();
        for r in &out.reps {
            let arm = &r.arms[t.arm];
            let o = if t.participants_only {
                &arm.outcomes_participants
            } else {
                &arm.outcomes
            };
            let at = |s: usize| o[(k * s_n + s) * 2] + o[(k * s_n + s) * 2 + 1];
            let n: f64 = (0..s_n).map(at).sum();
            if n > 0.0 {
                xs.push(states.iter().map(|&s| at(s)).sum::<f64>() / n);
            }
        }
        if xs.is_empty() {
            return Err(Error::Input(format!(
                "target `{}`: nobody{} was observed {} months after entry in arm `{}` — persons who enter late need a longer horizon, or the arm has no programme",
                t.id,
                if t.participants_only {
                    " who started the programme"
                } else {
                    ""
                },
                t.month,
                model.arm.id
            )));
        }
        let n = xs.len() as f64;
        // Sums in replication order keep the result independent of the thread count.
        let mean = xs.iter().sum::<f64>() / n;
        let se = if xs.len() < 2 {
            f64::NAN
        } else {
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt()
        };
        result.push(TargetShare {
            id: t.id.clone(),
            mean,
            standard_error: se,
            replications: xs.len(),
        });
    }
    Ok(result)
}
