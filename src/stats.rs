//! Summaries across replications, computed in replication order so that results are
//! byte-identical whatever the thread count or sharding.

use serde::{Deserialize, Deserializer, Serialize};

/// Mean and 90 % interval (with median) of a quantity over replications.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    #[serde(deserialize_with = "f64_or_nan")]
    pub mean: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub p05: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub p50: f64,
    #[serde(deserialize_with = "f64_or_nan")]
    pub p95: f64,
}

/// serde_json writes NaN (e.g. a share with nobody observed) as `null`; read `null` back
/// as NaN so that `summary.json` deserialises to the summary that wrote it.
pub fn f64_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Option::<f64>::deserialize(d).map(|x| x.unwrap_or(f64::NAN))
}

/// Quantile by linear interpolation between order statistics (Hyndman & Fan type 7,
/// the default of R and NumPy). `sorted` must be sorted and non-empty.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

impl Stat {
    /// Summary of `values` (in replication order). NaNs are skipped; all-NaN gives NaN.
    pub fn of(values: &[f64]) -> Stat {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return Stat {
                mean: f64::NAN,
                p05: f64::NAN,
                p50: f64::NAN,
                p95: f64::NAN,
            };
        }
        // Summation in replication order keeps the mean reproducible.
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.sort_by(f64::total_cmp);
        Stat {
            mean,
            p05: quantile_sorted(&v, 0.05),
            p50: quantile_sorted(&v, 0.5),
            p95: quantile_sorted(&v, 0.95),
        }
    }

    pub fn scaled(self, k: f64) -> Stat {
        Stat {
            mean: self.mean * k,
            p05: self.p05 * k,
            p50: self.p50 * k,
            p95: self.p95 * k,
        }
    }
}

/// Share of values strictly above zero.
pub fn prob_positive(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().filter(|&&x| x > 0.0).count() as f64 / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type7_quantiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&v, 0.5), 3.0);
        assert!((quantile_sorted(&v, 0.05) - 1.2).abs() < 1e-12);
        assert!((quantile_sorted(&v, 0.95) - 4.8).abs() < 1e-12);
        let s = Stat::of(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(s.mean, 3.0);
        assert_eq!(s.p50, 3.0);
    }

    #[test]
    fn single_and_empty() {
        assert_eq!(Stat::of(&[7.0]).p05, 7.0);
        assert!(Stat::of(&[]).mean.is_nan());
        assert_eq!(prob_positive(&[1.0, -1.0, 0.0, 2.0]), 0.5);
    }
}
