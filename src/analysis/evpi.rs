//! Expected value of perfect information (EVPI) for the choice between arms.
//!
//! With net benefit `NB[a][r]` of arm `a` in replication `r` (the discounted net of one
//! balance-sheet row: society, the public sector or one actor),
//!
//! ```text
//! EVPI = mean_r max_a NB[a][r] − max_a mean_r NB[a][r]
//! ```
//!
//! the expected loss from having to choose on expectation instead of knowing which arm is
//! best in the world that turns out to be true (Claxton 1999; Briggs, Claxton & Sculpher
//! 2006, ch. 6). Subtracting the same number from every arm in a replication (e.g. the
//! counterfactual's net) leaves it unchanged, so differences against the counterfactual
//! give the same EVPI as the arms' own nets.
//!
//! Which uncertainty it prices depends on where `NB` comes from: replications at the
//! scenario's real cohort size carry both parameter uncertainty and the cohort's own luck
//! (no study can remove the latter, so that EVPI is an upper bound); the expected mode
//! (`run --expected`) averages the cohort noise out and gives the textbook
//! (parameter) EVPI. Both are reported; docs/uncertainty.md explains the difference.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::balance::Evaluated;
use crate::balance::{NET, Valuation};

/// EVPI of one balance-sheet row for one decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evpi {
    /// For the whole cohort, discounted SEK.
    pub cohort: f64,
    /// Per person in the cohort.
    pub per_person: f64,
    /// Per participant of the programme arm (pairwise decisions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_participant: Option<f64>,
    /// The arm that is best on expectation: the decision taken without more information.
    pub best_arm: String,
    /// Share of replications in which another arm is strictly better than `best_arm`.
    pub prob_wrong: f64,
}

/// EVPI of the choice between all arms, per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvpiAll {
    pub arms: Vec<String>,
    pub actors: IndexMap<String, Evpi>,
}

/// `(EVPI, index of the arm best on expectation, share of replications where another arm
/// is strictly better)` from `nb[arm][replication]`. Sums run in replication order, so
/// the result does not depend on threads; an arm that is best in every replication gives
/// exactly 0. Ties on expectation go to the first arm.
pub fn evpi(nb: &[Vec<f64>]) -> (f64, usize, f64) {
    let n = nb.first().map_or(0, Vec::len);
    if n == 0 || nb.iter().any(|a| a.len() != n) {
        return (f64::NAN, 0, f64::NAN);
    }
    let means: Vec<f64> = nb
        .iter()
        .map(|a| a.iter().sum::<f64>() / n as f64)
        .collect();
    let mut best = 0;
    for (a, &m) in means.iter().enumerate() {
        if m > means[best] {
            best = a;
        }
    }
    let mut sum_max = 0.0;
    let mut wrong = 0usize;
    for r in 0..n {
        let mut mx = nb[best][r];
        for a in nb {
            if a[r] > mx {
                mx = a[r];
            }
        }
        if mx > nb[best][r] {
            wrong += 1;
        }
        sum_max += mx;
    }
    // E[max] ≥ max E holds exactly in real numbers; clamp rounding noise below zero.
    let value = (sum_max / n as f64 - means[best]).max(0.0);
    (value, best, wrong as f64 / n as f64)
}

/// Per-row EVPI of choosing among `arms` (indices into the run's arms), valued per
/// replication by `ev` and scaled by `scale` (1, or 1/k in the expected mode); `persons`
/// and `participants` are the per-person and (optional) per-participant denominators.
pub fn by_row(
    ev: &Evaluated,
    arms: &[usize],
    arm_ids: &[String],
    scale: f64,
    persons: f64,
    participants: Option<f64>,
) -> IndexMap<String, Evpi> {
    let per = |value: f64, d: f64| if d > 0.0 { value / d } else { f64::NAN };
    ev.rows
        .iter()
        .enumerate()
        .map(|(ri, row)| {
            let nb: Vec<Vec<f64>> = arms
                .iter()
                .map(|&a| {
                    ev.valuations[a]
                        .iter()
                        .map(|v: &Valuation| v.total(ri, NET) * scale)
                        .collect()
                })
                .collect();
            let (value, best, wrong) = evpi(&nb);
            (
                row.id.clone(),
                Evpi {
                    cohort: value,
                    per_person: per(value, persons),
                    per_participant: participants.map(|d| per(value, d)),
                    best_arm: arm_ids[arms[best]].clone(),
                    prob_wrong: wrong,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        // Arm 1 has mean 3.75 > 0: E[max] = (10 + 0 + 30 + 0) / 4 = 10, EVPI = 6.25.
        let nb = vec![vec![0.0; 4], vec![10.0, -20.0, 30.0, -5.0]];
        let (v, best, wrong) = evpi(&nb);
        assert_eq!(v, 6.25);
        assert_eq!(best, 1);
        assert_eq!(wrong, 0.5);
        // Shifting every arm by the same amount in a replication changes nothing.
        let shift = [100.0, -3.0, 7.5, 0.25];
        let shifted: Vec<Vec<f64>> = nb
            .iter()
            .map(|a| a.iter().zip(shift).map(|(x, s)| x + s).collect())
            .collect();
        assert!((evpi(&shifted).0 - 6.25).abs() < 1e-12);
    }

    #[test]
    fn three_arms_hand_computed() {
        // Means 1, 2, 1.5 → best arm 1; per-replication maxima 3, 4, 2 → E[max] = 3.
        let nb = vec![
            vec![3.0, 0.0, 0.0],
            vec![1.0, 4.0, 1.0],
            vec![0.0, 2.5, 2.0],
        ];
        let (v, best, wrong) = evpi(&nb);
        assert_eq!(best, 1);
        assert!((v - 1.0).abs() < 1e-12);
        assert!((wrong - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn dominance_gives_exactly_zero() {
        let a = vec![-5.0, 1.0, 2.0, 0.1, 1e7];
        let b: Vec<f64> = a.iter().map(|x| x + 0.5).collect();
        assert_eq!(evpi(&[a.clone(), b.clone()]), (0.0, 1, 0.0));
        assert_eq!(evpi(&[b, a]), (0.0, 0, 0.0));
    }

    #[test]
    fn empty_is_nan() {
        assert!(evpi(&[vec![], vec![]]).0.is_nan());
    }
}
