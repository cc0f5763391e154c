//! The law of what is fixed when a person is created: the start state and clock, age at
//! entry, risk-factor product and attribute values, as weighted points (exact for
//! discrete laws, Gauss–Legendre quadrature on the normal scale for continuous ones).

use std::collections::BTreeMap;

use crate::Error;
use crate::cohort::{ATTR_SCALE, Cohort, MAX_AGE_MONTHS};
use crate::dist::Dist;
use crate::model::*;

/// Largest number of distinct risk-factor products enumerated.
pub const MAX_RISK_CLASSES: usize = 4096;
/// Largest number of person types (batch × age path × risk × attribute nodes) propagated.
pub const MAX_TYPES: usize = 2_000_000;

/// P(X < y) for the draw `X = d.quantile(U)`, `U` uniform: the largest `u` with
/// `quantile(u) < y`, found by bisection on the quantile function itself, so that it
/// matches the engine's inverse-transform draws (and the samplers' law) exactly.
pub fn prob_below(d: &Dist, y: f64) -> f64 {
    if let Dist::Fixed(v) = *d {
        return f64::from(u8::from(v < y));
    }
    if d.is_degenerate() {
        return f64::from(u8::from(d.mean() < y));
    }
    let (lo, hi) = d.support();
    if y.is_nan() || y <= lo {
        return 0.0;
    }
    if y > hi {
        return 1.0;
    }
    let (mut a, mut b) = (0.0f64, 1.0f64);
    for _ in 0..80 {
        let mid = 0.5 * (a + b);
        if mid <= a || mid >= b {
            break;
        }
        if d.quantile(mid) < y {
            a = mid;
        } else {
            b = mid;
        }
    }
    // The quantile was below `y` at every u tried, up to the last double below 1.
    if b == 1.0 { 1.0 } else { a }
}

/// Gauss–Legendre nodes and weights on [-1, 1].
pub(super) fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0f64, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-15 {
                break;
            }
        }
        out.push((x, 2.0 / ((1.0 - x * x) * dp * dp)));
    }
    out
}

/// The quadrature runs on the normal scale: with `u = Φ(z)`,
/// `E f(X) = ∫ f(Q(Φ(z))) φ(z) dz`, whose integrand is smooth for every family here
/// (a lognormal becomes a shifted Gaussian, a gamma a polynomial-like curve), unlike
/// `f(Q(u))` with its singular ends. Panels of width [`Z_PANEL`] on `|z| ≤` [`Z_MAX`]
/// (`Φ(−8) ≈ 6e-16`), [`GL_NODES`] Gauss–Legendre nodes each: 96 nodes.
const Z_MAX: f64 = 8.0;
const Z_PANEL: f64 = 1.0;
const GL_NODES: usize = 6;

fn std_normal() -> Dist {
    Dist::Normal {
        mean: 0.0,
        sd: 1.0,
        low: None,
        high: None,
    }
}

/// The law of `clamp(X, min, max)` for `X ~ d` as weighted points: point masses where the
/// clamp binds, exact support points of discrete laws, quadrature nodes elsewhere.
pub fn clamped_points(d: &Dist, min: f64, max: f64) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    if let Dist::Fixed(v) = *d {
        pts.push((v.clamp(min, max), 1.0));
        return pts;
    }
    if d.is_degenerate() {
        pts.push((d.mean().clamp(min, max), 1.0));
        return pts;
    }
    if matches!(d, Dist::Geometric { .. } | Dist::Poisson { .. }) {
        let (lo, _) = d.support();
        let mut k = lo;
        let mut below = prob_below(d, k - 0.5);
        loop {
            let next = prob_below(d, k + 0.5);
            if next > below {
                pts.push((k.clamp(min, max), next - below));
            }
            below = next;
            if below >= 1.0 - 1e-15 || k > lo + 1e6 {
                break;
            }
            k += 1.0;
        }
        let rest = 1.0 - below;
        if rest > 0.0
            && let Some(last) = pts.last_mut()
        {
            last.1 += rest;
        }
        return pts;
    }
    let ua = prob_below(d, min);
    let ub = if max.is_finite() {
        prob_below(d, max)
    } else {
        1.0
    };
    if ua > 0.0 {
        pts.push((min, ua));
    }
    if ub < 1.0 {
        pts.push((max, 1.0 - ub));
    }
    if ub > ua {
        let std = std_normal();
        let za = if ua > 0.0 {
            std.quantile(ua).max(-Z_MAX)
        } else {
            -Z_MAX
        };
        let zb = if ub < 1.0 {
            std.quantile(ub).min(Z_MAX)
        } else {
            Z_MAX
        };
        let mut breaks = vec![za];
        let mut z = (za / Z_PANEL).floor() * Z_PANEL + Z_PANEL;
        while z < zb {
            breaks.push(z);
            z += Z_PANEL;
        }
        // A kink of the quantile function is a panel boundary too.
        if let Dist::Triangular { low, mode, high } = *d {
            let zm = std.quantile((mode - low) / (high - low));
            if zm > za && zm < zb {
                breaks.push(zm);
            }
        }
        breaks.push(zb);
        breaks.sort_by(f64::total_cmp);
        let gl = gauss_legendre(GL_NODES);
        let first = pts.len();
        for w in breaks.windows(2) {
            let (a, b) = (w[0], w[1]);
            if b <= a {
                continue;
            }
            for &(x, wt) in &gl {
                let z = a + 0.5 * (x + 1.0) * (b - a);
                let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
                let v = d.quantile(prob_below(&std, z));
                let v = if v.is_finite() {
                    v.clamp(min, max)
                } else {
                    0.0
                };
                pts.push((v, 0.5 * (b - a) * wt * phi));
            }
        }
        // The nodes carry exactly the interior's probability (this also gives them the
        // ≈ 1e-15 beyond |z| = 8).
        let got: f64 = pts[first..].iter().map(|p| p.1).sum();
        if got > 0.0 {
            for p in &mut pts[first..] {
                p.1 *= (ub - ua) / got;
            }
        }
    }
    pts
}

/// The engine's last steps of creating an attribute: clamp, then fixed point.
fn finish_value(at: &Attribute, v: f64) -> f64 {
    let v = if v.is_finite() {
        v.clamp(at.min, at.max)
    } else {
        0.0
    };
    (v * ATTR_SCALE).round() / ATTR_SCALE
}

/// The values attribute `at` takes given its source value `v`: zero share, clamp, fixed point.
fn from_points(at: &Attribute, v: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(2);
    if at.zero_share < 1.0 {
        out.push((finish_value(at, v), 1.0 - at.zero_share));
    }
    if at.zero_share > 0.0 {
        out.push((finish_value(at, 0.0), at.zero_share));
    }
    out
}

/// The law of a drawn attribute (zero share, clamp and fixed point included).
fn draw_points(at: &Attribute, d: &Dist) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    if at.zero_share < 1.0 {
        for (v, w) in clamped_points(d, at.min, at.max) {
            out.push((finish_value(at, v), w * (1.0 - at.zero_share)));
        }
    }
    if at.zero_share > 0.0 {
        out.push((finish_value(at, 0.0), at.zero_share));
    }
    merge_points(out)
}

fn merge_points(mut pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    pts.retain(|p| p.1 > 0.0);
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len());
    for (v, w) in pts {
        match out.last_mut() {
            Some(last) if last.0.to_bits() == v.to_bits() => last.1 += w,
            _ => out.push((v, w)),
        }
    }
    out
}

/// A point of the joint law of the attributes that change the dynamics.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub weight: f64,
    /// Every attribute: its exact value where it changes the dynamics (or is an ancestor
    /// of one that does), else its expected value given this node.
    pub values: Vec<f64>,
}

/// Everything about a person fixed at creation, as a discrete law.
pub(super) struct PopLaw {
    pub women: f64,
    /// Age at entry in months, with probabilities.
    pub ages: Vec<(u16, f64)>,
    /// Product of the prevalence risk factors' hazard ratios (after normalisation).
    pub risks: Vec<(f32, f64)>,
    pub nodes: Vec<Node>,
    /// P(start clock = c), c = 0..=max_cap, the last entry holding the tail.
    pub clock0: Vec<f64>,
}

impl PopLaw {
    pub fn new(m: &Model, in_t: &[bool], max_cap: u16) -> Result<PopLaw, Error> {
        let pop = &m.population;
        // The attributes that change the dynamics, and their ancestors.
        let attrs = &pop.attributes;
        let mut in_t = in_t.to_vec();
        for a in (0..attrs.len()).rev() {
            if in_t[a]
                && let AttributeSource::From(j) = attrs[a].source
            {
                in_t[j] = true;
            }
        }
        let mut nodes = attribute_nodes(attrs, &in_t)?;
        conditional_means(attrs, &in_t, &mut nodes);
        Ok(PopLaw {
            women: pop.women_share,
            ages: entry_ages(pop),
            risks: risk_products(m)?,
            nodes,
            clock0: start_clocks(pop, max_cap, f64::from(m.months_per_step())),
        })
    }
}

/// Age at entry: round(12 X) months, clamped to the tables' range, with probabilities.
fn entry_ages(pop: &Population) -> Vec<(u16, f64)> {
    // Age at entry: round(12 X) months, clamped to the tables' range.
    let (lo, hi) = pop.age.support();
    let lo_m = ((lo * 12.0).floor().max(0.0)) as usize;
    let hi_m = ((hi * 12.0).ceil().min(MAX_AGE_MONTHS as f64)) as usize;
    let mut ages = Vec::new();
    let mut prev = 0.0;
    for a in lo_m..=hi_m {
        let cdf = if a == MAX_AGE_MONTHS {
            1.0
        } else {
            prob_below(&pop.age, (a as f64 + 0.5) / 12.0)
        };
        if cdf > prev {
            ages.push((a as u16, cdf - prev));
        }
        prev = prev.max(cdf);
    }
    if prev < 1.0
        && let Some(last) = ages.last_mut()
    {
        last.1 += 1.0 - prev;
    }
    ages
}

/// The risk-factor products with their probabilities: the engine multiplies the hazard
/// ratios in declaration order in f64, stores the product as f32 and divides it by the
/// cohort mean.
fn risk_products(m: &Model) -> Result<Vec<(f32, f64)>, Error> {
    let pop = &m.population;
    let mut partial: BTreeMap<u64, f64> = BTreeMap::from([(1.0f64.to_bits(), 1.0)]);
    for rf in &pop.risk_factors {
        let RiskKind::Prevalence(pv) = rf.kind else {
            continue;
        };
        let mut next: BTreeMap<u64, f64> = BTreeMap::new();
        for (&bits, &p) in &partial {
            let hr = f64::from_bits(bits);
            if pv < 1.0 {
                *next.entry(bits).or_default() += p * (1.0 - pv);
            }
            if pv > 0.0 {
                *next.entry((hr * rf.hazard_ratio).to_bits()).or_default() += p * pv;
            }
        }
        if next.len() > MAX_RISK_CLASSES {
            return Err(Error::Input(format!(
                "--cohort enumerates the combinations of risk factors, and these have more than {MAX_RISK_CLASSES} distinct hazard-ratio products; run the microsimulation (without --cohort), or use fewer distinct hazard ratios"
            )));
        }
        partial = next;
    }
    let mean = Cohort::mean_risk(m);
    let mut risk_map: BTreeMap<u32, f64> = BTreeMap::new();
    for (&bits, &p) in &partial {
        let mut r = f64::from_bits(bits) as f32;
        if pop.normalise_risk && mean > 0.0 {
            r = (f64::from(r) / mean) as f32;
        }
        *risk_map.entry(r.to_bits()).or_default() += p;
    }
    let risks: Vec<(f32, f64)> = risk_map
        .into_iter()
        .map(|(b, p)| (f32::from_bits(b), p))
        .collect();
    Ok(risks)
}

/// The joint law of the attributes in `in_t` (those that change the dynamics and their
/// ancestors), as weighted nodes; the other attributes are `NaN` here.
fn attribute_nodes(attrs: &[Attribute], in_t: &[bool]) -> Result<Vec<Node>, Error> {
    let mut nodes = vec![Node {
        weight: 1.0,
        values: vec![f64::NAN; attrs.len()],
    }];
    for (a, at) in attrs.iter().enumerate() {
        if !in_t[a] {
            continue;
        }
        let mut next = Vec::new();
        match &at.source {
            AttributeSource::Draw(d) => {
                let pts = draw_points(at, d);
                for n in &nodes {
                    for &(v, w) in &pts {
                        let mut values = n.values.clone();
                        values[a] = v;
                        next.push(Node {
                            weight: n.weight * w,
                            values,
                        });
                    }
                }
            }
            AttributeSource::From(j) => {
                for n in &nodes {
                    for (v, w) in from_points(at, n.values[*j]) {
                        let mut values = n.values.clone();
                        values[a] = v;
                        next.push(Node {
                            weight: n.weight * w,
                            values,
                        });
                    }
                }
            }
        }
        nodes = merge_nodes(next);
        if nodes.len() > MAX_TYPES {
            return Err(Error::Input(format!(
                "--cohort integrates attributes that multiply hazards by quadrature, and the attributes of this scenario need more than {MAX_TYPES} joint points; run the microsimulation (without --cohort)"
            )));
        }
    }
    Ok(nodes)
}

/// Every attribute outside `in_t` at its conditional mean at each node (it rides along as
/// an expected sum, like the engine's attribute sums).
fn conditional_means(attrs: &[Attribute], in_t: &[bool], nodes: &mut [Node]) {
    let mut unconditional: Vec<Option<f64>> = vec![None; attrs.len()];
    for a in 0..attrs.len() {
        if in_t[a] {
            continue;
        }
        // Walk up the `from` chain to a dynamics attribute or to the draw.
        let mut chain = vec![a];
        let mut anchor: Option<usize> = None;
        loop {
            let r = *chain.last().unwrap_or(&a);
            match attrs[r].source {
                AttributeSource::From(j) if in_t[j] => {
                    anchor = Some(j);
                    break;
                }
                AttributeSource::From(j) => chain.push(j),
                AttributeSource::Draw(_) => break,
            }
        }
        let down = |start: Vec<(f64, f64)>, skip: usize| -> f64 {
            let mut law = start;
            for &c in chain.iter().rev().skip(skip) {
                let mut next = Vec::new();
                for (v, w) in law {
                    for (x, q) in from_points(&attrs[c], v) {
                        next.push((x, w * q));
                    }
                }
                law = merge_points(next);
            }
            law.iter().map(|(v, w)| v * w).sum::<f64>() / law.iter().map(|p| p.1).sum::<f64>()
        };
        match anchor {
            Some(j) => {
                for n in nodes.iter_mut() {
                    n.values[a] = down(vec![(n.values[j], 1.0)], 0);
                }
            }
            None => {
                let root = *chain.last().unwrap_or(&a);
                let mean = *unconditional[a].get_or_insert_with(|| {
                    let AttributeSource::Draw(d) = &attrs[root].source else {
                        return 0.0;
                    };
                    down(draw_points(&attrs[root], d), 1)
                });
                for n in nodes.iter_mut() {
                    n.values[a] = mean;
                }
            }
        }
    }
}

/// Months already in the start state, in steps (`round(X / months per step)`), with
/// probabilities; the last entry holds the tail from `max_cap` on.
fn start_clocks(pop: &Population, max_cap: u16, mps: f64) -> Vec<f64> {
    let mut clock0 = vec![0.0; usize::from(max_cap) + 1];
    match &pop.months_in_state {
        None => clock0[0] = 1.0,
        Some(d) => {
            let mut prev = 0.0;
            for (c, slot) in clock0.iter_mut().enumerate() {
                let cdf = if c == usize::from(max_cap) {
                    1.0
                } else {
                    prob_below(d, (c as f64 + 0.5) * mps)
                };
                *slot = (cdf - prev).max(0.0);
                prev = prev.max(cdf);
            }
        }
    }
    clock0
}

fn merge_nodes(mut nodes: Vec<Node>) -> Vec<Node> {
    nodes.retain(|n| n.weight > 0.0);
    let key = |n: &Node| -> Vec<u64> { n.values.iter().map(|v| v.to_bits()).collect() };
    nodes.sort_by_key(key);
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    for n in nodes {
        match out.last_mut() {
            Some(last) if key(last) == key(&n) => last.weight += n.weight,
            _ => out.push(n),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_of(pts: &[(f64, f64)]) -> f64 {
        pts.iter().map(|(v, w)| v * w).sum::<f64>() / pts.iter().map(|p| p.1).sum::<f64>()
    }

    #[test]
    fn gauss_legendre_integrates_polynomials_exactly() {
        let gl = gauss_legendre(8);
        let total: f64 = gl.iter().map(|p| p.1).sum();
        assert!((total - 2.0).abs() < 1e-14);
        // ∫_{-1}^{1} x^14 dx = 2/15 (degree 2n − 2 is within the exact range 2n − 1).
        let x14: f64 = gl.iter().map(|(x, w)| w * x.powi(14)).sum();
        assert!((x14 - 2.0 / 15.0).abs() < 1e-14, "{x14}");
    }

    #[test]
    fn quadrature_reproduces_means() {
        let cases = [
            (
                Dist::Uniform {
                    low: 2.0,
                    high: 5.0,
                },
                1e-12,
            ),
            (
                Dist::Triangular {
                    low: 0.0,
                    mode: 1.0,
                    high: 4.0,
                },
                1e-10,
            ),
            (
                Dist::Normal {
                    mean: 1.0,
                    sd: 0.3,
                    low: None,
                    high: None,
                },
                1e-10,
            ),
            (
                Dist::Gamma {
                    shape: 2.0,
                    scale: 0.5,
                },
                1e-9,
            ),
            (
                Dist::Beta {
                    alpha: 2.0,
                    beta: 5.0,
                },
                1e-10,
            ),
            (
                Dist::LogNormal {
                    mu: 0.0,
                    sigma: 0.5,
                },
                1e-9,
            ),
            (
                Dist::LogNormal {
                    mu: 0.0,
                    sigma: 2.0,
                },
                1e-8,
            ),
            (
                Dist::Beta {
                    alpha: 0.5,
                    beta: 2.0,
                },
                1e-9,
            ),
            (Dist::Poisson { mean: 3.0 }, 1e-12),
            (Dist::Geometric { q: 0.25 }, 1e-12),
        ];
        for (d, tol) in cases {
            let pts = clamped_points(&d, -1e9, 1e9);
            let w: f64 = pts.iter().map(|p| p.1).sum();
            assert!((w - 1.0).abs() < 1e-12, "{d:?}: weights sum to {w}");
            let rel = (mean_of(&pts) - d.mean()).abs() / d.mean().abs();
            assert!(rel < tol, "{d:?}: relative error {rel:e}");
        }
    }

    #[test]
    fn quadrature_of_a_frailty_matches_the_laplace_transform() {
        // Gamma frailty Z (mean 1, variance 1/k): E[exp(-λ Z)] = (1 + λ/k)^(-k); the
        // survival of a person with frailty Z under a cumulative hazard λ.
        for k in [0.5, 2.0, 4.0, 8.0] {
            let d = Dist::Gamma {
                shape: k,
                scale: 1.0 / k,
            };
            let pts = clamped_points(&d, -1e9, 1e9);
            for lam in [0.01, 0.1, 1.0, 5.0, 20.0] {
                let q: f64 = pts.iter().map(|(z, w)| w * (-lam * z).exp()).sum();
                let exact = (1.0 + lam / k).powf(-k);
                assert!((q - exact).abs() < 1e-7, "k {k} λ {lam}: {q} vs {exact}");
                if k >= 2.0 {
                    assert!((q - exact).abs() < 1e-10, "k {k} λ {lam}: {q} vs {exact}");
                }
            }
        }
    }

    #[test]
    fn clamping_puts_the_tails_on_the_bounds() {
        let d = Dist::Normal {
            mean: 0.0,
            sd: 1.0,
            low: None,
            high: None,
        };
        let pts = clamped_points(&d, -1.0, 2.0);
        let at_min: f64 = pts.iter().filter(|p| p.0 == -1.0).map(|p| p.1).sum();
        let at_max: f64 = pts.iter().filter(|p| p.0 == 2.0).map(|p| p.1).sum();
        assert!((at_min - 0.158_655_253_931_457).abs() < 1e-9, "{at_min}");
        assert!((at_max - 0.022_750_131_948_179).abs() < 1e-9, "{at_max}");
        assert!(pts.iter().all(|p| (-1.0..=2.0).contains(&p.0)));
    }

    #[test]
    fn prob_below_is_the_quantile_inverse() {
        let d = Dist::Geometric { q: 1.0 / 3.0 };
        // P(L < 2.5) = P(L ≤ 2) = 1 − (2/3)².
        assert!((prob_below(&d, 2.5) - (1.0 - 4.0 / 9.0)).abs() < 1e-12);
        assert_eq!(prob_below(&Dist::Fixed(3.0), 3.0), 0.0);
        assert_eq!(prob_below(&Dist::Fixed(3.0), 3.5), 1.0);
        let u = Dist::Uniform {
            low: 25.0,
            high: 62.0,
        };
        assert!((prob_below(&u, 30.0) - 5.0 / 37.0).abs() < 1e-12);
    }
}
