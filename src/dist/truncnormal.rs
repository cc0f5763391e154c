//! The normal truncated to `[low, high]`: its quantile (which is also how it is
//! sampled) and its moments, accurate even when the interval lies far out in a
//! tail.

use super::special::{norm_cdf, norm_pdf, norm_quantile};

/// A normal truncated to [low, high], with the CDF constants computed once.
#[derive(Debug, Clone, Copy)]
pub(super) struct TruncNormal {
    mean: f64,
    sd: f64,
    low: f64,
    high: f64,
    std: TruncStd,
}

impl TruncNormal {
    pub(super) fn new(mean: f64, sd: f64, low: Option<f64>, high: Option<f64>) -> Option<Self> {
        if !(sd > 0.0 && sd.is_finite() && mean.is_finite()) {
            return None;
        }
        let low = low.unwrap_or(f64::NEG_INFINITY);
        let high = high.unwrap_or(f64::INFINITY);
        // NaN bounds (hand-built values) fail this too.
        if low.partial_cmp(&high) != Some(std::cmp::Ordering::Less) {
            return None;
        }
        Some(TruncNormal {
            mean,
            sd,
            low,
            high,
            std: TruncStd::new((low - mean) / sd, (high - mean) / sd),
        })
    }

    pub(super) fn quantile(&self, p: f64) -> f64 {
        (self.mean + self.sd * self.std.quantile(p))
            .max(self.low)
            .min(self.high)
    }
}

/// Standard normal truncated to [a, b]. When the interval lies in the upper
/// tail it is mirrored into the lower tail, where Φ is small and therefore
/// carries full relative precision; otherwise Φ(a) and Φ(b) would both round
/// to 1 and the inverse CDF would collapse onto the bound.
#[derive(Debug, Clone, Copy)]
struct TruncStd {
    a: f64,
    b: f64,
    mirrored: bool,
    cdf_a: f64,
    mass: f64,
}

/// Below this mass Φ(b) − Φ(a) is (nearly) subnormal, i.e. the interval lies
/// more than ~37 sd out; an exponential approximation of the tail takes over.
const TRUNC_MIN_MASS: f64 = 1e-300;

impl TruncStd {
    fn new(alpha: f64, beta: f64) -> Self {
        let mirrored = alpha > 0.0;
        let (a, b) = if mirrored {
            (-beta, -alpha)
        } else {
            (alpha, beta)
        };
        let cdf_a = norm_cdf(a);
        TruncStd {
            a,
            b,
            mirrored,
            cdf_a,
            mass: norm_cdf(b) - cdf_a,
        }
    }

    fn quantile(&self, p: f64) -> f64 {
        let p = if self.mirrored { 1.0 - p } else { p };
        let x = if self.mass > TRUNC_MIN_MASS {
            norm_quantile(self.cdf_a + p * self.mass)
        } else if self.b < -1.0 {
            // Far lower tail: the density is ∝ exp(λ (x − b)) with λ = −b up
            // to O(1/b²), i.e. b − x is exponential truncated to [0, b − a].
            let lambda = -self.b;
            let kept = -(-lambda * (self.b - self.a)).exp_m1();
            let y = -(-(1.0 - p) * kept).ln_1p() / lambda;
            self.b - y
        } else {
            // An interval so narrow that Φ cannot resolve it: flat density.
            self.a + p * (self.b - self.a)
        };
        let x = x.max(self.a).min(self.b);
        if self.mirrored { -x } else { x }
    }

    fn moments(&self) -> (f64, f64) {
        let (m, v) = if self.mass > TRUNC_MIN_MASS {
            let (pa, pb) = (norm_pdf(self.a), norm_pdf(self.b));
            // x φ(x) → 0 at ±∞, but ∞ · 0 would give NaN.
            let xa = if self.a.is_finite() { self.a * pa } else { 0.0 };
            let xb = if self.b.is_finite() { self.b * pb } else { 0.0 };
            let m = (pa - pb) / self.mass;
            (m, (1.0 + (xa - xb) / self.mass - m * m).max(0.0))
        } else if self.b < -1.0 {
            let lambda = -self.b;
            let w = self.b - self.a;
            let (my, vy) = if lambda * w > 700.0 {
                (1.0 / lambda, 1.0 / (lambda * lambda))
            } else {
                let e = (lambda * w).exp_m1();
                (
                    1.0 / lambda - w / e,
                    1.0 / (lambda * lambda) - w * w * (e + 1.0) / (e * e),
                )
            };
            (self.b - my, vy.max(0.0))
        } else {
            let w = self.b - self.a;
            (0.5 * (self.a + self.b), w * w / 12.0)
        };
        if self.mirrored { (-m, v) } else { (m, v) }
    }
}

pub(super) fn normal_moments(
    mean: f64,
    sd: f64,
    low: Option<f64>,
    high: Option<f64>,
) -> (f64, f64) {
    if sd == 0.0 {
        let clamped = low.map_or(mean, |l| mean.max(l));
        return (high.map_or(clamped, |h| clamped.min(h)), 0.0);
    }
    if low.is_none() && high.is_none() {
        return (mean, sd * sd);
    }
    match TruncNormal::new(mean, sd, low, high) {
        Some(t) => {
            let (m, v) = t.std.moments();
            (mean + sd * m, sd * sd * v)
        }
        None => (f64::NAN, f64::NAN),
    }
}
