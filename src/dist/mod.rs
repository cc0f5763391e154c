//! Parametric distributions for scenario values.
//!
//! This module owns every probability distribution a rehabsim scenario file
//! can name, in two places:
//!
//! * **Probabilistic sensitivity analysis (PSA).** Any numeric scenario value
//!   may be written as an inline table tagged with `dist`, e.g.
//!   `employment_rate = { dist = "beta", mean = 0.4, sd = 0.1 }`; one draw is
//!   taken per PSA iteration.
//! * **Per-person heterogeneity.** A person attribute may be written as an
//!   inline table tagged with `per_person`, e.g.
//!   `age = { per_person = "uniform", low = 25, high = 60 }`; one draw is taken
//!   per simulated person.
//!
//! The caller says which tag key to look for ([`Dist::from_table`]). Every
//! other key of the table is a parameter. Unknown keys, missing keys, keys of
//! two different parameterisations, non-numeric and non-finite (NaN, ±inf)
//! values are all errors, so a typo never passes silently. TOML integers are
//! accepted wherever a number is expected.
//!
//! # Families and parameterisations
//!
//! The tag value is case-sensitive lower case.
//!
//! | family       | keys                                   | constraints |
//! |--------------|----------------------------------------|-------------|
//! | `fixed`      | `value`                                | finite |
//! | `uniform`    | `low`, `high`                          | low < high |
//! | `triangular` | `low`, `mode`, `high`                  | low ≤ mode ≤ high, low < high |
//! | `normal`     | `mean`, `sd`; optional `low`, `high`   | sd > 0; low < high when both given |
//! | `lognormal`  | `mu`, `sigma` (log scale)              | sigma > 0 |
//! |              | `mean`, `sd` (natural scale)           | mean > 0, sd > 0 |
//! |              | `median`, `p05`, `p95` (90 % interval) | 0 < p05 < median < p95 |
//! |              | `median`, `p025`, `p975` (95 % interval) | 0 < p025 < median < p975 |
//! | `gamma`      | `shape`, `scale`                       | both > 0 |
//! |              | `mean`, `sd`                           | both > 0 |
//! | `beta`       | `alpha`, `beta`                        | both > 0 |
//! |              | `mean`, `sd`                           | 0 < mean < 1, 0 < sd² < mean(1 − mean) |
//! | `geometric`  | `mean` (months, support 1, 2, 3, …)    | mean ≥ 1 |
//! | `poisson`    | `mean` (support 0, 1, 2, …)            | mean > 0 |
//!
//! Conversions to the stored parameters:
//!
//! * normal with `low` and/or `high`: the normal truncated to `[low, high]`;
//!   [`Dist::mean`], [`Dist::variance`] and [`Dist::quantile`] describe the
//!   truncated distribution, not the parent normal.
//! * lognormal (`mean`, `sd`): σ² = ln(1 + sd²/mean²), μ = ln(mean) − σ²/2.
//! * lognormal (`median`, interval lo–hi): μ = ln(median),
//!   σ = (ln hi − ln lo) / (2 z), z = Φ⁻¹(0.95) for `p05`/`p95` and
//!   Φ⁻¹(0.975) for `p025`/`p975`. Only the width of the interval on the log
//!   scale is used, so an interval that is not log-symmetric around the median
//!   is reproduced with the same ratio hi/lo but centred (geometrically) on
//!   the median.
//! * gamma (`mean`, `sd`): shape = mean²/sd², scale = sd²/mean.
//! * beta (`mean`, `sd`): ν = mean(1 − mean)/sd² − 1, α = mean·ν,
//!   β = (1 − mean)·ν.
//! * geometric: P(L = k) = (1 − q)^(k−1) q with q = 1/mean.
//!
//! # Numerics
//!
//! Sampling uses the `rand_distr` samplers, except for the geometric (inverse
//! transform) and the truncated normal (inverse CDF restricted to the
//! truncation range, evaluated on whichever tail keeps the CDF values
//! relatively accurate, so truncation far out in a tail still samples
//! correctly without rejection loops).
//!
//! Quantiles need the normal quantile and the regularised incomplete gamma and
//! beta functions. They are written by hand in `special.rs` (Wichura's AS 241,
//! Lanczos log-gamma, series + Lentz continued fractions as in Numerical
//! Recipes, inverted by a bracketed Newton iteration that falls back to
//! bisection) because the maintained crates, measured against 50-digit
//! references, are less accurate where this module needs them. `statrs` 0.19.1:
//! `erf`/`erfc` good to about 1e-10 relative (fixed upstream after that
//! release, statrs pull request 412); an incomplete beta whose continued
//! fraction stops after 140 terms (relative error 3e-6 at α = β = 125 000, 3e-2
//! at 1.25e6, i.e. a beta of sd 0.0003); gamma and beta quantiles up to 20
//! times further from the exact value on the shipped scenarios' distributions
//! (beta of mean 0.4, sd 0.12: 4.6e-14 against 2.1e-15 here) even when its
//! inverse CDFs, which are off by orders of magnitude in the tails, are
//! polished by Newton steps. `puruspe` 0.4.4: ln Γ good to about 1e-11, and an
//! incomplete gamma that is 0 far in the lower tail. Worth another look once a
//! statrs release has both fixes.
//!
//! # Where things are
//!
//! * `families.rs`: the [`Dist`] type (one canonical parameterisation per
//!   family), its canonical table ([`Dist::to_table`]) and the checks on its
//!   stored parameters ([`Dist::validate`], [`DistError`]).
//! * `parse.rs`: reading a table ([`Dist::from_table`]): the
//!   parameterisations each family accepts, the choice between them, the
//!   conversions above, and a message (with a "did you mean" hint where one
//!   fits) for every way a table can be wrong.
//! * `quantile.rs`: quantiles, moments and support of every family.
//! * `sample.rs`: draws ([`Dist::sample`], [`Sampler`]).
//! * `truncnormal.rs`: the truncated normal's quantile and moments, accurate
//!   far out in a tail.
//! * `special.rs`: the hand-written special functions and their inverses.
//! * `describe.rs`: the one-line description for reports ([`Dist::describe`])
//!   and the number format it shares with the messages.
//!
//! The files form layers, bottom up: `special.rs` and `families.rs` (which use
//! no other file here); `truncnormal.rs`; `quantile.rs`; `sample.rs` and
//! `describe.rs`; `parse.rs`. None uses this file, which only declares and
//! re-exports. The unit tests sit next to what they test; `testing.rs` holds
//! their shared helpers.

mod describe;
mod families;
mod parse;
mod quantile;
mod sample;
mod special;
#[cfg(test)]
mod testing;
mod truncnormal;

pub use families::{Dist, DistError, FAMILIES};
pub(crate) use parse::closest;
pub use sample::Sampler;
