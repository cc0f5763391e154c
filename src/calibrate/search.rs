//! The optimisers, on any function of ln θ: golden-section search for one
//! multiplier, Nelder–Mead for several. Both keep to the bounds and to a budget of
//! evaluations; neither knows about scenarios.

/// Golden-section search for a minimum of `f` on [lo, hi]; `budget` evaluations at most.
/// Returns whether the bracket shrank below `xtol`, and whether it ended against a bound
/// — then the bound itself is evaluated too, since on a plateau that runs into the bound
/// (a target out of reach) the interior points never get there.
pub(super) fn golden_section(
    f: &mut dyn FnMut(&[f64]) -> f64,
    lo: f64,
    hi: f64,
    xtol: f64,
    budget: usize,
) -> (bool, Vec<bool>) {
    let r = (5f64.sqrt() - 1.0) / 2.0;
    if budget < 2 {
        return (false, vec![false]);
    }
    let (mut a, mut b) = (lo, hi);
    let mut c = b - r * (b - a);
    let mut d = a + r * (b - a);
    let mut fc = f(&[c]);
    let mut fd = f(&[d]);
    let mut used = 2;
    let converged = loop {
        if b - a <= xtol {
            break true;
        }
        if used >= budget {
            break false;
        }
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - r * (b - a);
            fc = f(&[c]);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + r * (b - a);
            fd = f(&[d]);
        }
        used += 1;
    };
    let touched = if a == lo {
        Some(lo)
    } else if b == hi {
        Some(hi)
    } else {
        None
    };
    if let Some(x) = touched
        && used < budget
    {
        f(&[x]);
    }
    (converged, vec![touched.is_some()])
}

/// Nelder–Mead (reflection 1, expansion 2, contraction ½, shrink ½) started at the origin
/// (where `f` is `f0`) with steps of 0.4 in ln θ (×1.49), every point projected into
/// [lo, hi]^k (lo ≤ 0 ≤ hi). Returns whether the simplex shrank below `xtol` (largest
/// coordinate distance to the best point).
pub(super) fn nelder_mead(
    f: &mut dyn FnMut(&[f64]) -> f64,
    f0: f64,
    k: usize,
    lo: f64,
    hi: f64,
    xtol: f64,
    budget: usize,
) -> bool {
    let clamp = |x: Vec<f64>| -> Vec<f64> { x.into_iter().map(|v| v.clamp(lo, hi)).collect() };
    let mut used = 0usize;
    let mut eval = |x: &[f64], used: &mut usize| -> f64 {
        *used += 1;
        f(x)
    };
    let step = if hi >= 0.4 {
        0.4
    } else if lo <= -0.4 {
        -0.4
    } else if hi >= -lo {
        hi
    } else {
        lo
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(k + 1);
    simplex.push((vec![0.0; k], f0));
    for i in 0..k {
        if used >= budget {
            return false;
        }
        let mut x = vec![0.0; k];
        x[i] = step;
        let x = clamp(x);
        let fx = eval(&x, &mut used);
        simplex.push((x, fx));
    }
    loop {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let size = simplex[1..]
            .iter()
            .flat_map(|(x, _)| x.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if size < xtol {
            return true;
        }
        if used >= budget {
            return false;
        }
        let worst = simplex[k].clone();
        let centroid: Vec<f64> = (0..k)
            .map(|j| simplex[..k].iter().map(|(x, _)| x[j]).sum::<f64>() / k as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            clamp(
                centroid
                    .iter()
                    .zip(&worst.0)
                    .map(|(c, w)| c + t * (c - w))
                    .collect(),
            )
        };
        let xr = along(1.0);
        let fr = eval(&xr, &mut used);
        if fr < simplex[0].1 {
            if used >= budget {
                simplex[k] = (xr, fr);
                continue;
            }
            let xe = along(2.0);
            let fe = eval(&xe, &mut used);
            simplex[k] = if fe < fr { (xe, fe) } else { (xr, fr) };
            continue;
        }
        if fr < simplex[k - 1].1 {
            simplex[k] = (xr, fr);
            continue;
        }
        if used >= budget {
            return false;
        }
        let (xc, fc) = if fr < worst.1 {
            let xc = along(0.5);
            let fc = eval(&xc, &mut used);
            (xc, fc)
        } else {
            let xc = along(-0.5);
            let fc = eval(&xc, &mut used);
            (xc, fc)
        };
        if fc < fr.min(worst.1) {
            simplex[k] = (xc, fc);
            continue;
        }
        // Shrink towards the best point.
        let best = simplex[0].0.clone();
        for v in simplex.iter_mut().skip(1) {
            if used >= budget {
                return false;
            }
            let x: Vec<f64> =
                v.0.iter()
                    .zip(&best)
                    .map(|(x, b)| b + 0.5 * (x - b))
                    .collect();
            let fx = eval(&x, &mut used);
            *v = (x, fx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_section_finds_a_bracketed_minimum() {
        let mut best = f64::INFINITY;
        let mut g = |x: &[f64]| {
            best = best.min((x[0] - 0.7).abs());
            (x[0] - 0.7).powi(2)
        };
        assert_eq!(
            golden_section(&mut g, -2.0, 2.0, 1e-6, 200),
            (true, vec![false])
        );
        assert!(best < 1e-6, "{best}");
    }

    #[test]
    fn nelder_mead_finds_the_minimum_of_a_quadratic_inside_bounds() {
        let target = [0.5, -0.3];
        let mut best = (f64::INFINITY, vec![]);
        let mut f = |x: &[f64]| {
            let v =
                (x[0] - target[0]).powi(2) + 3.0 * (x[1] - target[1]).powi(2) + 0.5 * x[0] * x[1];
            if v < best.0 {
                best = (v, x.to_vec());
            }
            v
        };
        let f0 = f(&[0.0, 0.0]);
        assert!(nelder_mead(&mut f, f0, 2, -2.0, 2.0, 1e-7, 500));
        // Minimum of the quadratic: solve the gradient equations.
        // 2(x−0.5) + 0.5y = 0, 6(y+0.3) + 0.5x = 0.
        let y = (-1.8 - 0.25) / (6.0 - 0.125);
        let x = 0.5 - 0.25 * y;
        assert!(
            (best.1[0] - x).abs() < 1e-5 && (best.1[1] - y).abs() < 1e-5,
            "{best:?} vs ({x}, {y})"
        );
    }

    #[test]
    fn nelder_mead_stops_at_a_bound_when_the_minimum_is_outside() {
        let mut best = (f64::INFINITY, vec![]);
        let mut f = |x: &[f64]| {
            let v = (x[0] - 5.0).powi(2) + (x[1] + 0.2).powi(2);
            if v < best.0 {
                best = (v, x.to_vec());
            }
            v
        };
        let f0 = f(&[0.0, 0.0]);
        nelder_mead(&mut f, f0, 2, -1.0, 1.0, 1e-7, 500);
        assert!(
            (best.1[0] - 1.0).abs() < 1e-6 && (best.1[1] + 0.2).abs() < 1e-4,
            "{best:?}"
        );
    }
}
