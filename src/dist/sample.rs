//! Draws: one at a time ([`Dist::sample`]) or from a [`Sampler`] that does the
//! per-distribution set-up once.

use rand::{Rng, RngExt};
use rand_distr::Distribution;

use super::families::Dist;
use super::truncnormal::TruncNormal;

impl Dist {
    /// One draw. `Fixed(v)` (and any degenerate distribution) returns its
    /// value exactly. For many draws from the same distribution, build a
    /// [`Sampler`] once with [`Dist::sampler`] instead.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.sampler().sample(rng)
    }

    /// A sampler with the per-distribution set-up done once. It yields the
    /// same stream of values as repeated [`Dist::sample`] calls.
    pub fn sampler(&self) -> Sampler {
        if let Dist::Fixed(v) = *self {
            return Sampler(SamplerKind::Point(v));
        }
        if self.is_degenerate() {
            return Sampler(SamplerKind::Point(self.mean()));
        }
        let kind = match *self {
            Dist::Fixed(v) => SamplerKind::Point(v),
            Dist::Uniform { low, high } => rand_distr::Uniform::new(low, high)
                .map_or(SamplerKind::Invalid, SamplerKind::Uniform),
            Dist::Triangular { low, mode, high } => rand_distr::Triangular::new(low, high, mode)
                .map_or(SamplerKind::Invalid, SamplerKind::Triangular),
            Dist::Normal {
                mean,
                sd,
                low: None,
                high: None,
            } => {
                rand_distr::Normal::new(mean, sd).map_or(SamplerKind::Invalid, SamplerKind::Normal)
            }
            Dist::Normal {
                mean,
                sd,
                low,
                high,
            } => match TruncNormal::new(mean, sd, low, high) {
                Some(t) => SamplerKind::TruncNormal(t),
                None => SamplerKind::Invalid,
            },
            Dist::LogNormal { mu, sigma } => rand_distr::LogNormal::new(mu, sigma)
                .map_or(SamplerKind::Invalid, SamplerKind::LogNormal),
            Dist::Gamma { shape, scale } => rand_distr::Gamma::new(shape, scale)
                .map_or(SamplerKind::Invalid, SamplerKind::Gamma),
            Dist::Beta { alpha, beta } => {
                rand_distr::Beta::new(alpha, beta).map_or(SamplerKind::Invalid, SamplerKind::Beta)
            }
            Dist::Geometric { q } => {
                if q > 0.0 && q < 1.0 {
                    SamplerKind::Geometric {
                        ln_1m_q: (-q).ln_1p(),
                    }
                } else {
                    SamplerKind::Invalid
                }
            }
            Dist::Poisson { mean } => {
                rand_distr::Poisson::new(mean).map_or(SamplerKind::Invalid, SamplerKind::Poisson)
            }
        };
        Sampler(kind)
    }
}

/// Pre-built sampler for one [`Dist`]; see [`Dist::sampler`].
#[derive(Debug, Clone)]
pub struct Sampler(SamplerKind);

#[derive(Debug, Clone)]
enum SamplerKind {
    Point(f64),
    Uniform(rand_distr::Uniform<f64>),
    Triangular(rand_distr::Triangular<f64>),
    Normal(rand_distr::Normal<f64>),
    TruncNormal(TruncNormal),
    LogNormal(rand_distr::LogNormal<f64>),
    Gamma(rand_distr::Gamma<f64>),
    Beta(rand_distr::Beta<f64>),
    Geometric {
        ln_1m_q: f64,
    },
    Poisson(rand_distr::Poisson<f64>),
    /// Hand-built parameters that no sampler accepts.
    Invalid,
}

impl Distribution<f64> for Sampler {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match &self.0 {
            SamplerKind::Point(v) => *v,
            SamplerKind::Uniform(d) => d.sample(rng),
            SamplerKind::Triangular(d) => d.sample(rng),
            SamplerKind::Normal(d) => d.sample(rng),
            SamplerKind::TruncNormal(t) => t.quantile(rng.random::<f64>()),
            SamplerKind::LogNormal(d) => d.sample(rng),
            SamplerKind::Gamma(d) => d.sample(rng),
            SamplerKind::Beta(d) => d.sample(rng),
            SamplerKind::Geometric { ln_1m_q } => {
                // P(L > k) = (1 − q)^k, so L = ceil(ln V / ln(1 − q)) with V
                // uniform on (0, 1]; V = 1 gives 0, which belongs to L = 1.
                let v = 1.0 - rng.random::<f64>();
                (v.ln() / ln_1m_q).ceil().max(1.0)
            }
            SamplerKind::Poisson(d) => d.sample(rng),
            SamplerKind::Invalid => f64::NAN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::testing::{close, parse, rng, table};

    /// Draws per moment check: SE of a mean is sd/447, cheap in debug builds.
    const N: usize = 200_000;
    /// Every statistical check allows 4 standard errors.
    const Z_TOL: f64 = 4.0;

    /// Sample mean and variance within 4 SE of `mean()`/`variance()` (SE of
    /// the mean sqrt(var/n); SE of the variance sqrt((μ4 − s⁴)/n) with μ4
    /// the sample fourth central moment); every draw inside `support()`; and,
    /// for continuous families, the share of draws ≤ quantile(p) within 4 SE
    /// (sqrt(p(1 − p)/n)) of p for p = 0.05, 0.5, 0.95.
    fn check_sampling(d: &Dist, seed: u64, continuous: bool) {
        let mut r = rng(seed);
        let draws: Vec<f64> = (0..N).map(|_| d.sample(&mut r)).collect();
        let n = N as f64;
        let (lo, hi) = d.support();
        assert!(
            draws.iter().all(|x| x.is_finite() && *x >= lo && *x <= hi),
            "{d:?}: draw outside support [{lo}, {hi}]"
        );
        let mean_hat = draws.iter().sum::<f64>() / n;
        let dev2 = |x: &f64| (x - mean_hat).powi(2);
        let var_hat = draws.iter().map(dev2).sum::<f64>() / (n - 1.0);
        let m4 = draws.iter().map(|x| dev2(x).powi(2)).sum::<f64>() / n;

        let (mean, var) = (d.mean(), d.variance());
        let se_mean = (var / n).sqrt();
        assert!(
            (mean_hat - mean).abs() <= Z_TOL * se_mean,
            "{d:?}: sample mean {mean_hat} vs {mean} (SE {se_mean})"
        );
        let se_var = ((m4 - var_hat * var_hat) / n).sqrt();
        assert!(
            (var_hat - var).abs() <= Z_TOL * se_var,
            "{d:?}: sample variance {var_hat} vs {var} (SE {se_var})"
        );

        if continuous {
            for p in [0.05, 0.5, 0.95] {
                let q = d.quantile(p);
                let share = draws.iter().filter(|x| **x <= q).count() as f64 / n;
                let se = (p * (1.0 - p) / n).sqrt();
                assert!(
                    (share - p).abs() <= Z_TOL * se,
                    "{d:?}: share ≤ quantile({p}) = {q} is {share} (SE {se})"
                );
            }
        }
    }

    // --- sampling vs moments and quantiles, one test per parameterisation ---

    #[test]
    fn fixed_returns_value_exactly() {
        let d = parse("{ dist = \"fixed\", value = 0.123456789 }");
        assert_eq!(d, Dist::Fixed(0.123456789));
        let mut r = rng(1);
        assert!((0..1000).all(|_| d.sample(&mut r) == 0.123456789));
        assert_eq!(d.mean(), 0.123456789);
        assert_eq!(d.variance(), 0.0);
        assert_eq!(d.quantile(0.05), 0.123456789);
        assert_eq!(d.support(), (0.123456789, 0.123456789));
        assert!(d.is_degenerate());
    }

    #[test]
    fn uniform_low_high() {
        let d = Dist::from_table(
            &table("{ per_person = \"uniform\", low = 25, high = 60 }"),
            "per_person",
        )
        .expect("valid")
        .expect("tagged");
        assert_eq!(
            d,
            Dist::Uniform {
                low: 25.0,
                high: 60.0
            }
        );
        check_sampling(&d, 2, true);
    }

    #[test]
    fn triangular_low_mode_high() {
        let d = parse("{ dist = \"triangular\", low = 1.0, mode = 2.0, high = 5.0 }");
        check_sampling(&d, 3, true);
    }

    #[test]
    fn normal_mean_sd() {
        let d = parse("{ dist = \"normal\", mean = 10.0, sd = 2.5 }");
        check_sampling(&d, 4, true);
    }

    #[test]
    fn normal_truncated_both_sides() {
        let d = parse("{ dist = \"normal\", mean = 0.3, sd = 0.2, low = 0.0, high = 1.0 }");
        check_sampling(&d, 5, true);
    }

    #[test]
    fn normal_truncated_below_only() {
        let d = parse("{ dist = \"normal\", mean = 1.0, sd = 2.0, low = 0.0 }");
        check_sampling(&d, 6, true);
    }

    #[test]
    fn normal_truncated_above_only() {
        let d = parse("{ dist = \"normal\", mean = 1.0, sd = 2.0, high = 0.5 }");
        check_sampling(&d, 7, true);
    }

    #[test]
    fn normal_truncated_far_in_upper_tail() {
        // 8 sd out: naive rejection would need ~1e15 tries per draw.
        let d = parse("{ dist = \"normal\", mean = 0.0, sd = 1.0, low = 8.0 }");
        // E[Z | Z > 8] = φ(8)/Q(8) = 8.12136811223607 (relative tolerance 1e-12).
        assert!(close(d.mean(), 8.121_368_112_236_07, 1e-12), "{}", d.mean());
        check_sampling(&d, 8, true);
    }

    #[test]
    fn normal_truncated_beyond_double_precision_tail() {
        // 40 sd out Φ underflows; the exponential tail approximation takes over.
        let d = parse("{ dist = \"normal\", mean = 0.0, sd = 1.0, low = 40.0, high = 40.5 }");
        assert!(d.mean() > 40.0 && d.mean() < 40.03, "{}", d.mean());
        check_sampling(&d, 9, true);
        let d = parse("{ dist = \"normal\", mean = 0.0, sd = 1.0, high = -40.0 }");
        assert!(d.mean() < -40.0 && d.mean() > -40.03, "{}", d.mean());
        check_sampling(&d, 10, true);
    }

    #[test]
    fn lognormal_mu_sigma() {
        let d = parse("{ dist = \"lognormal\", mu = 0.5, sigma = 0.4 }");
        check_sampling(&d, 11, true);
    }

    #[test]
    fn lognormal_mean_sd() {
        let d = parse("{ dist = \"lognormal\", mean = 3.0, sd = 1.2 }");
        assert!(close(d.mean(), 3.0, 1e-12) && close(d.variance(), 1.44, 1e-12));
        check_sampling(&d, 12, true);
    }

    #[test]
    fn lognormal_median_90_interval() {
        let d = parse("{ dist = \"lognormal\", median = 1.4, p05 = 1.0, p95 = 1.96 }");
        check_sampling(&d, 13, true);
    }

    #[test]
    fn lognormal_median_95_interval() {
        let d = parse("{ dist = \"lognormal\", median = 2.0, p025 = 0.5, p975 = 8.0 }");
        check_sampling(&d, 14, true);
    }

    #[test]
    fn gamma_shape_scale() {
        let d = parse("{ dist = \"gamma\", shape = 2.5, scale = 1.5 }");
        check_sampling(&d, 15, true);
    }

    #[test]
    fn gamma_small_shape() {
        // shape < 1 takes a different rand_distr path and the power-law start.
        let d = parse("{ dist = \"gamma\", shape = 0.6, scale = 2.0 }");
        check_sampling(&d, 16, true);
    }

    #[test]
    fn gamma_mean_sd() {
        let d = parse("{ dist = \"gamma\", mean = 12.0, sd = 3.0 }");
        assert!(close(d.mean(), 12.0, 1e-12) && close(d.variance(), 9.0, 1e-12));
        check_sampling(&d, 17, true);
    }

    #[test]
    fn beta_alpha_beta() {
        let d = parse("{ dist = \"beta\", alpha = 2.0, beta = 5.0 }");
        check_sampling(&d, 18, true);
        let d = parse("{ dist = \"beta\", alpha = 0.5, beta = 0.7 }");
        check_sampling(&d, 19, true);
    }

    #[test]
    fn beta_mean_sd() {
        let d = parse("{ dist = \"beta\", mean = 0.4, sd = 0.1 }");
        assert!(close(d.mean(), 0.4, 1e-12) && close(d.variance(), 0.01, 1e-12));
        check_sampling(&d, 20, true);
    }

    #[test]
    fn geometric_mean() {
        let d = parse("{ dist = \"geometric\", mean = 6 }");
        assert_eq!(d, Dist::Geometric { q: 1.0 / 6.0 });
        check_sampling(&d, 21, false);
    }

    #[test]
    fn poisson_mean_small_and_large() {
        // Below 12 rand_distr uses Knuth's method, above it rejection.
        check_sampling(&parse("{ dist = \"poisson\", mean = 3.5 }"), 22, false);
        check_sampling(&parse("{ dist = \"poisson\", mean = 40 }"), 23, false);
    }

    #[test]
    fn degenerate_distributions_reproduce_their_value() {
        let d = parse("{ dist = \"geometric\", mean = 1 }");
        assert!(d.is_degenerate());
        let mut r = rng(30);
        assert!((0..100).all(|_| d.sample(&mut r) == 1.0));
        assert_eq!(d.quantile(0.99), 1.0);
        assert!(!parse("{ dist = \"poisson\", mean = 0.01 }").is_degenerate());
        let hand_built = Dist::Normal {
            mean: 0.7,
            sd: 0.0,
            low: None,
            high: None,
        };
        assert!(hand_built.is_degenerate());
        assert_eq!(hand_built.sample(&mut r), 0.7);
    }

    #[test]
    fn sampler_matches_sample() {
        let d = parse("{ dist = \"normal\", mean = 0.3, sd = 0.2, low = 0.0, high = 1.0 }");
        let (mut r1, mut r2) = (rng(31), rng(31));
        let s = d.sampler();
        for _ in 0..1000 {
            assert_eq!(d.sample(&mut r1), s.sample(&mut r2));
        }
    }
}
