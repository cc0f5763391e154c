//! What each family's values are: quantiles, mean, variance and support, in
//! closed form where there is one and through `special.rs` where there is not.

use super::families::Dist;
use super::special::{
    beta_quantile, gamma_quantile, geometric_quantile, norm_quantile, poisson_quantile,
};
use super::truncnormal::{TruncNormal, normal_moments};

impl Dist {
    /// Inverse CDF for p in (0, 1). For discrete families, the smallest k
    /// with CDF(k) ≥ p. p ≤ 0 and p ≥ 1 give the ends of [`Dist::support`];
    /// NaN gives NaN.
    pub fn quantile(&self, p: f64) -> f64 {
        if let Dist::Fixed(v) = *self {
            return v;
        }
        if p.is_nan() {
            return f64::NAN;
        }
        if self.is_degenerate() {
            return self.mean();
        }
        let (lo, hi) = self.support();
        if p <= 0.0 {
            return lo;
        }
        if p >= 1.0 {
            return hi;
        }
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { low, high } => low + p * (high - low),
            Dist::Triangular { low, mode, high } => {
                let width = high - low;
                if p * width < mode - low {
                    low + (p * width * (mode - low)).sqrt()
                } else {
                    high - ((1.0 - p) * width * (high - mode)).sqrt()
                }
            }
            Dist::Normal {
                mean,
                sd,
                low: None,
                high: None,
            } => mean + sd * norm_quantile(p),
            Dist::Normal {
                mean,
                sd,
                low,
                high,
            } => TruncNormal::new(mean, sd, low, high).map_or(f64::NAN, |t| t.quantile(p)),
            Dist::LogNormal { mu, sigma } => (mu + sigma * norm_quantile(p)).exp(),
            Dist::Gamma { shape, scale } => scale * gamma_quantile(shape, p),
            Dist::Beta { alpha, beta } => beta_quantile(alpha, beta, p),
            Dist::Geometric { q } => geometric_quantile(q, p),
            Dist::Poisson { mean } => poisson_quantile(mean, p),
        }
    }

    /// Expected value (of the truncated distribution for a truncated normal).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { low, high } => 0.5 * (low + high),
            Dist::Triangular { low, mode, high } => (low + mode + high) / 3.0,
            Dist::Normal {
                mean,
                sd,
                low,
                high,
            } => normal_moments(mean, sd, low, high).0,
            Dist::LogNormal { mu, sigma } => (mu + 0.5 * sigma * sigma).exp(),
            Dist::Gamma { shape, scale } => shape * scale,
            Dist::Beta { alpha, beta } => alpha / (alpha + beta),
            Dist::Geometric { q } => 1.0 / q,
            Dist::Poisson { mean } => mean,
        }
    }

    /// Variance (of the truncated distribution for a truncated normal).
    pub fn variance(&self) -> f64 {
        match *self {
            Dist::Fixed(_) => 0.0,
            Dist::Uniform { low, high } => (high - low).powi(2) / 12.0,
            Dist::Triangular { low, mode, high } => {
                (low * low + mode * mode + high * high - low * mode - low * high - mode * high)
                    / 18.0
            }
            Dist::Normal {
                mean,
                sd,
                low,
                high,
            } => normal_moments(mean, sd, low, high).1,
            Dist::LogNormal { mu, sigma } => {
                let s2 = sigma * sigma;
                s2.exp_m1() * (2.0 * mu + s2).exp()
            }
            Dist::Gamma { shape, scale } => shape * scale * scale,
            Dist::Beta { alpha, beta } => {
                let s = alpha + beta;
                alpha * beta / (s * s * (s + 1.0))
            }
            Dist::Geometric { q } => (1.0 - q) / (q * q),
            Dist::Poisson { mean } => mean,
        }
    }

    /// (lowest, highest) value the distribution can produce (may be ±inf).
    pub fn support(&self) -> (f64, f64) {
        match *self {
            Dist::Fixed(v) => (v, v),
            Dist::Uniform { low, high } | Dist::Triangular { low, high, .. } => (low, high),
            Dist::Normal { low, high, .. } => (
                low.unwrap_or(f64::NEG_INFINITY),
                high.unwrap_or(f64::INFINITY),
            ),
            Dist::LogNormal { .. } | Dist::Gamma { .. } => (0.0, f64::INFINITY),
            Dist::Beta { .. } => (0.0, 1.0),
            Dist::Geometric { q } => (1.0, if q >= 1.0 { 1.0 } else { f64::INFINITY }),
            Dist::Poisson { .. } => (0.0, f64::INFINITY),
        }
    }

    /// True when the distribution has zero variance (`Fixed`, a geometric
    /// with mean 1, or a hand-built value with zero spread). Sampling and
    /// quantiles of a degenerate distribution return its single value
    /// exactly, so a zero-variance PSA input reproduces the base case.
    pub fn is_degenerate(&self) -> bool {
        matches!(self, Dist::Fixed(_)) || self.variance() == 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::testing::{close, parse};

    #[test]
    fn discrete_quantile_is_smallest_k_reaching_p() {
        let ps = [1e-6, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0 - 1e-9];
        let q: f64 = 1.0 / 6.0;
        let geo = Dist::Geometric { q };
        let geo_cdf = |k: f64| 1.0 - (1.0 - q).powf(k);
        for p in ps {
            let k = geo.quantile(p);
            assert!(
                geo_cdf(k) >= p && (k == 1.0 || geo_cdf(k - 1.0) < p),
                "p {p}, k {k}"
            );
        }
        for lambda in [0.3, 3.5, 40.0, 700.0] {
            let d = Dist::Poisson { mean: lambda };
            // Exact CDF by summing the pmf, independent of inc_gamma.
            let mut cdf = Vec::new();
            let (mut pmf, mut acc) = ((-lambda).exp(), 0.0);
            for k in 0..3000 {
                acc += pmf;
                cdf.push(acc);
                pmf *= lambda / (k as f64 + 1.0);
            }
            for p in ps {
                let k = d.quantile(p);
                let ku = k as usize;
                assert!(
                    cdf[ku] >= p * (1.0 - 1e-12) && (ku == 0 || cdf[ku - 1] < p * (1.0 + 1e-12)),
                    "λ {lambda}, p {p}, k {k}"
                );
            }
        }
    }

    #[test]
    fn lognormal_interval_reproduced_by_quantile() {
        // Relative tolerance 1e-12.
        let d = parse("{ dist = \"lognormal\", median = 2.0, p05 = 1.0, p95 = 4.0 }");
        assert!(close(d.quantile(0.5), 2.0, 1e-12));
        assert!(close(d.quantile(0.05), 1.0, 1e-12));
        assert!(close(d.quantile(0.95), 4.0, 1e-12));
        let d = parse("{ dist = \"lognormal\", median = 1.4, p025 = 0.7, p975 = 2.8 }");
        assert!(close(d.quantile(0.5), 1.4, 1e-12));
        assert!(close(d.quantile(0.025), 0.7, 1e-12));
        assert!(close(d.quantile(0.975), 2.8, 1e-12));
        // Not log-symmetric: median exact, hi/lo ratio kept.
        let d = parse("{ dist = \"lognormal\", median = 1.4, p05 = 1.0, p95 = 2.0 }");
        assert!(close(d.quantile(0.5), 1.4, 1e-12));
        assert!(close(d.quantile(0.95) / d.quantile(0.05), 2.0, 1e-12));
    }

    #[test]
    fn continuous_quantile_extremes_stay_in_support() {
        let dists = [
            parse("{ dist = \"gamma\", shape = 0.05, scale = 1.0 }"),
            parse("{ dist = \"gamma\", shape = 5000.0, scale = 1.0 }"),
            parse("{ dist = \"beta\", alpha = 0.05, beta = 3.0 }"),
            parse("{ dist = \"beta\", alpha = 400.0, beta = 900.0 }"),
            parse("{ dist = \"normal\", mean = 0, sd = 1, low = -1, high = 1 }"),
        ];
        for d in dists {
            let (lo, hi) = d.support();
            let mut prev = lo;
            for p in [1e-12, 1e-6, 0.05, 0.5, 0.95, 1.0 - 1e-6, 1.0 - 1e-12] {
                let q = d.quantile(p);
                assert!(q >= prev && q <= hi && q.is_finite(), "{d:?} p {p} q {q}");
                prev = q;
            }
            assert_eq!(d.quantile(0.0), lo);
            assert_eq!(d.quantile(1.0), hi);
            assert!(d.quantile(f64::NAN).is_nan());
        }
    }
}
