//! How a distribution is written for people: the one-line description in
//! reports, and the number format it shares with the parse messages.

use super::families::Dist;
use super::special::norm_quantile;

impl Dist {
    /// A one-line human description for reports, e.g.
    /// `LogNormal(median 1.4, 90% 1–1.96)`.
    pub fn describe(&self) -> String {
        match *self {
            Dist::Fixed(v) => format!("Fixed({})", fmt_num(v)),
            Dist::Uniform { low, high } => format!("Uniform({}–{})", fmt_num(low), fmt_num(high)),
            Dist::Triangular { low, mode, high } => format!(
                "Triangular(low {}, mode {}, high {})",
                fmt_num(low),
                fmt_num(mode),
                fmt_num(high)
            ),
            Dist::Normal {
                mean,
                sd,
                low,
                high,
            } => {
                let base = format!("Normal(mean {}, sd {}", fmt_num(mean), fmt_num(sd));
                match (low, high) {
                    (None, None) => format!("{base})"),
                    (l, h) => format!(
                        "{base}, truncated to {}, {})",
                        l.map_or("(−∞".to_string(), |l| format!("[{}", fmt_num(l))),
                        h.map_or("∞)".to_string(), |h| format!("{}]", fmt_num(h)))
                    ),
                }
            }
            Dist::LogNormal { mu, sigma } => {
                let z = norm_quantile(0.95);
                format!(
                    "LogNormal(median {}, 90% {}–{})",
                    fmt_num(mu.exp()),
                    fmt_num((mu - z * sigma).exp()),
                    fmt_num((mu + z * sigma).exp())
                )
            }
            Dist::Gamma { shape, scale } => format!(
                "Gamma(mean {}, sd {}; shape {}, scale {})",
                fmt_num(self.mean()),
                fmt_num(self.variance().sqrt()),
                fmt_num(shape),
                fmt_num(scale)
            ),
            Dist::Beta { alpha, beta } => format!(
                "Beta(mean {}, sd {}; alpha {}, beta {})",
                fmt_num(self.mean()),
                fmt_num(self.variance().sqrt()),
                fmt_num(alpha),
                fmt_num(beta)
            ),
            Dist::Geometric { q } => format!("Geometric(mean {})", fmt_num(1.0 / q)),
            Dist::Poisson { mean } => format!("Poisson(mean {})", fmt_num(mean)),
        }
    }
}

/// About four significant digits, without trailing zeros; scientific
/// notation outside [1e-4, 1e6).
pub(super) fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let ax = x.abs();
    if (1e-4..1e6).contains(&ax) {
        let magnitude = ax.log10().floor() as i32;
        let decimals = (3 - magnitude).max(0) as usize;
        trim_zeros(&format!("{x:.decimals$}"))
    } else {
        let s = format!("{x:.3e}");
        match s.split_once('e') {
            Some((mantissa, exponent)) => format!("{}e{exponent}", trim_zeros(mantissa)),
            None => s,
        }
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::dist::testing::parse;

    #[test]
    fn describe_is_one_readable_line() {
        let cases = [
            ("{ dist = \"fixed\", value = 0.25 }", "Fixed(0.25)"),
            (
                "{ dist = \"uniform\", low = 25, high = 60 }",
                "Uniform(25–60)",
            ),
            (
                "{ dist = \"lognormal\", median = 1.4, p05 = 1.0, p95 = 1.96 }",
                "LogNormal(median 1.4, 90% 1–1.96)",
            ),
            (
                "{ dist = \"normal\", mean = 0.5, sd = 0.1, low = 0 }",
                "Normal(mean 0.5, sd 0.1, truncated to [0, ∞))",
            ),
            (
                "{ dist = \"beta\", mean = 0.4, sd = 0.1 }",
                "Beta(mean 0.4, sd 0.1; alpha 9.2, beta 13.8)",
            ),
            (
                "{ dist = \"gamma\", shape = 4, scale = 0.5 }",
                "Gamma(mean 2, sd 1; shape 4, scale 0.5)",
            ),
            ("{ dist = \"geometric\", mean = 6 }", "Geometric(mean 6)"),
            ("{ dist = \"poisson\", mean = 1e-7 }", "Poisson(mean 1e-7)"),
        ];
        for (inline, expected) in cases {
            assert_eq!(parse(inline).describe(), expected);
        }
    }
}
