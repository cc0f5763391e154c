//! The [`Dist`] type: every family a scenario value may take, stored in one
//! canonical parameterisation whatever the scenario file wrote, with its
//! canonical table and the checks that make a stored value usable.

/// The family names accepted as tag values, in documentation order.
pub const FAMILIES: [&str; 9] = [
    "fixed",
    "uniform",
    "triangular",
    "normal",
    "lognormal",
    "gamma",
    "beta",
    "geometric",
    "poisson",
];

/// A parametric distribution, stored in one canonical parameterisation per
/// family whatever parameterisation the scenario file used.
///
/// Values built by [`Dist::from_table`] are always valid. A value built by
/// hand can be checked with [`Dist::validate`]; an invalid one samples NaN
/// rather than panicking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    Fixed(f64),
    Uniform {
        low: f64,
        high: f64,
    },
    Triangular {
        low: f64,
        mode: f64,
        high: f64,
    },
    /// Normal, truncated to `[low, high]` when either bound is present.
    Normal {
        mean: f64,
        sd: f64,
        low: Option<f64>,
        high: Option<f64>,
    },
    /// ln X ~ Normal(mu, sigma).
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Gamma {
        shape: f64,
        scale: f64,
    },
    Beta {
        alpha: f64,
        beta: f64,
    },
    /// Support 1, 2, 3, …; P(L = k) = (1 − q)^(k−1) q.
    Geometric {
        q: f64,
    },
    Poisson {
        mean: f64,
    },
}

/// Why a distribution table was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DistError {
    /// The key inside the table that is at fault, if a single one is.
    pub key: Option<String>,
    /// What was expected, what was found and how to fix it.
    pub message: String,
}

impl DistError {
    pub(super) fn at(key: &str, message: String) -> Self {
        DistError {
            key: Some(key.to_string()),
            message,
        }
    }
}

/// rand_distr's Poisson refuses larger means.
pub(super) const POISSON_MAX_MEAN: f64 = rand_distr::Poisson::<f64>::MAX_LAMBDA;

impl Dist {
    /// The canonical table for this distribution (`tag` plus its stored
    /// parameters); [`Dist::from_table`] parses it back to an equal value
    /// (for the geometric, written as `mean` = 1/q, equal up to the rounding
    /// of 1/(1/q)).
    pub fn to_table(&self, tag: &str) -> toml::Table {
        let params: Vec<(&str, f64)> = match *self {
            Dist::Fixed(value) => vec![("value", value)],
            Dist::Uniform { low, high } => vec![("low", low), ("high", high)],
            Dist::Triangular { low, mode, high } => {
                vec![("low", low), ("mode", mode), ("high", high)]
            }
            Dist::Normal {
                mean,
                sd,
                low,
                high,
            } => {
                let mut p = vec![("mean", mean), ("sd", sd)];
                p.extend(low.map(|l| ("low", l)));
                p.extend(high.map(|h| ("high", h)));
                p
            }
            Dist::LogNormal { mu, sigma } => vec![("mu", mu), ("sigma", sigma)],
            Dist::Gamma { shape, scale } => vec![("shape", shape), ("scale", scale)],
            Dist::Beta { alpha, beta } => vec![("alpha", alpha), ("beta", beta)],
            Dist::Geometric { q } => vec![("mean", 1.0 / q)],
            Dist::Poisson { mean } => vec![("mean", mean)],
        };
        let mut table = toml::Table::new();
        table.insert(
            tag.to_string(),
            toml::Value::String(self.family().to_string()),
        );
        for (k, v) in params {
            table.insert(k.to_string(), toml::Value::Float(v));
        }
        table
    }

    /// The family name as written in scenario files.
    pub fn family(&self) -> &'static str {
        match self {
            Dist::Fixed(_) => "fixed",
            Dist::Uniform { .. } => "uniform",
            Dist::Triangular { .. } => "triangular",
            Dist::Normal { .. } => "normal",
            Dist::LogNormal { .. } => "lognormal",
            Dist::Gamma { .. } => "gamma",
            Dist::Beta { .. } => "beta",
            Dist::Geometric { .. } => "geometric",
            Dist::Poisson { .. } => "poisson",
        }
    }

    /// Check the stored parameters (what [`Dist::from_table`] guarantees).
    /// The error's `key` names the stored field at fault.
    pub fn validate(&self) -> Result<(), DistError> {
        match *self {
            Dist::Fixed(v) => finite("value", v),
            Dist::Uniform { low, high } => {
                finite("low", low)?;
                finite("high", high)?;
                less("low", low, "high", high)
            }
            Dist::Triangular { low, mode, high } => {
                finite("low", low)?;
                finite("mode", mode)?;
                finite("high", high)?;
                less("low", low, "high", high)?;
                if low <= mode && mode <= high {
                    Ok(())
                } else {
                    Err(DistError::at(
                        "mode",
                        format!(
                            "`mode` ({mode}) must lie between `low` ({low}) and `high` ({high})"
                        ),
                    ))
                }
            }
            Dist::Normal {
                mean,
                sd,
                low,
                high,
            } => {
                finite("mean", mean)?;
                positive("sd", sd)?;
                if let Some(l) = low {
                    finite("low", l)?;
                }
                if let Some(h) = high {
                    finite("high", h)?;
                }
                match (low, high) {
                    (Some(l), Some(h)) => less("low", l, "high", h),
                    _ => Ok(()),
                }
            }
            Dist::LogNormal { mu, sigma } => {
                finite("mu", mu)?;
                positive("sigma", sigma)
            }
            Dist::Gamma { shape, scale } => {
                positive("shape", shape)?;
                positive("scale", scale)
            }
            Dist::Beta { alpha, beta } => {
                positive("alpha", alpha)?;
                positive("beta", beta)
            }
            Dist::Geometric { q } => {
                if q > 0.0 && q <= 1.0 {
                    Ok(())
                } else {
                    Err(DistError::at(
                        "q",
                        format!("`q` (success probability per month) must be in (0, 1], found {q}"),
                    ))
                }
            }
            Dist::Poisson { mean } => {
                positive("mean", mean)?;
                if mean <= POISSON_MAX_MEAN {
                    Ok(())
                } else {
                    Err(DistError::at(
                        "mean",
                        format!("`mean` must be at most {POISSON_MAX_MEAN:e}, found {mean}"),
                    ))
                }
            }
        }
    }
}

// The checks of `Dist::validate`; each error names the stored field at fault.

fn finite(key: &str, v: f64) -> Result<(), DistError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(DistError::at(
            key,
            format!("`{key}` must be finite, found {v}"),
        ))
    }
}

fn positive(key: &str, v: f64) -> Result<(), DistError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(DistError::at(
            key,
            format!("`{key}` must be finite and > 0, found {v}"),
        ))
    }
}

fn less(lo_key: &str, lo: f64, hi_key: &str, hi: f64) -> Result<(), DistError> {
    if lo < hi {
        Ok(())
    } else {
        Err(DistError::at(
            lo_key,
            format!("`{lo_key}` ({lo}) must be less than `{hi_key}` ({hi})"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::testing::{parse, rng};

    #[test]
    fn invalid_hand_built_values_do_not_panic() {
        let bad = [
            Dist::Uniform {
                low: 2.0,
                high: 1.0,
            },
            Dist::Gamma {
                shape: -1.0,
                scale: 1.0,
            },
            Dist::Beta {
                alpha: f64::NAN,
                beta: 1.0,
            },
            Dist::Normal {
                mean: 0.0,
                sd: 1.0,
                low: Some(1.0),
                high: Some(0.0),
            },
            Dist::Geometric { q: 2.0 },
            Dist::Poisson { mean: -3.0 },
        ];
        let mut r = rng(32);
        for d in bad {
            assert!(d.validate().is_err(), "{d:?}");
            let _ = (d.sample(&mut r), d.quantile(0.3), d.mean(), d.variance());
            let _ = d.describe();
        }
    }

    #[test]
    fn to_table_round_trips() {
        let dists = [
            parse("{ dist = \"fixed\", value = 3 }"),
            parse("{ dist = \"uniform\", low = 1, high = 2 }"),
            parse("{ dist = \"triangular\", low = 1, mode = 1, high = 2 }"),
            parse("{ dist = \"normal\", mean = 1, sd = 2, high = 3 }"),
            parse("{ dist = \"lognormal\", mean = 3, sd = 1 }"),
            parse("{ dist = \"gamma\", mean = 3, sd = 1 }"),
            parse("{ dist = \"beta\", mean = 0.3, sd = 0.1 }"),
            parse("{ dist = \"geometric\", mean = 4 }"),
            parse("{ dist = \"poisson\", mean = 2 }"),
        ];
        for d in dists {
            let back = Dist::from_table(&d.to_table("per_person"), "per_person");
            assert_eq!(back, Ok(Some(d)));
        }
    }
}
