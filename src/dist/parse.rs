//! Reading a distribution from a scenario's inline table: the
//! parameterisations each family accepts, which one a table uses, the
//! conversion to the stored parameters, and a message for every way a table
//! can be wrong (unknown family or key, with a "did you mean" hint; missing
//! keys; keys of two parameterisations; non-numbers, non-finite numbers and
//! values outside the family's range).

use super::describe::fmt_num;
use super::families::{Dist, DistError, FAMILIES, POISSON_MAX_MEAN};
use super::special::norm_quantile;

impl Dist {
    /// Parse from an inline table. `tag` is `"dist"` or `"per_person"`.
    /// Returns `Ok(None)` if the table has no `tag` key (so the caller can
    /// treat it as something else).
    pub fn from_table(table: &toml::Table, tag: &str) -> Result<Option<Dist>, DistError> {
        let Some(tag_value) = table.get(tag) else {
            return Ok(None);
        };
        let name = match tag_value {
            toml::Value::String(s) => s.as_str(),
            other => {
                return Err(DistError::at(
                    tag,
                    format!(
                        "`{tag}` must be a string naming a distribution family ({}), found {}",
                        FAMILIES.join(", "),
                        describe_value(other)
                    ),
                ));
            }
        };
        let family = Family::from_name(name).ok_or_else(|| unknown_family(tag, name))?;
        let ctx = format!("{tag} = \"{name}\"");

        let allowed = family.allowed_keys();
        let mut items = Vec::new();
        for (key, value) in table {
            if key == tag {
                continue;
            }
            if !allowed.contains(&key.as_str()) {
                let hint = closest(key, &allowed)
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                return Err(DistError::at(
                    key,
                    format!(
                        "unknown parameter `{key}` in {ctx}{hint}; {} takes {}",
                        family.name(),
                        family.describe_parameterisations()
                    ),
                ));
            }
            let v = match value {
                toml::Value::Integer(i) => *i as f64,
                toml::Value::Float(f) => *f,
                other => {
                    return Err(DistError::at(
                        key,
                        format!(
                            "`{key}` in {ctx} must be a number, found {}",
                            describe_value(other)
                        ),
                    ));
                }
            };
            if !v.is_finite() {
                return Err(DistError::at(
                    key,
                    format!("`{key}` in {ctx} must be a finite number, found {v}"),
                ));
            }
            items.push((key.as_str(), v));
        }

        let given = Given { ctx, items };
        let index = select_parameterisation(family, &given)?;
        let dist = build(family, index, &given)?;
        // Derived parameters can still overflow (e.g. gamma mean 1e300, sd 1e-300).
        dist.validate().map_err(|e| DistError {
            key: None,
            message: format!(
                "{}: the parameters give {dist:?}, which is unusable ({}); check their magnitudes",
                given.ctx, e.message
            ),
        })?;
        Ok(Some(dist))
    }
}

/// A family named by a tag value; its parameterisations are the constants below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Fixed,
    Uniform,
    Triangular,
    Normal,
    LogNormal,
    Gamma,
    Beta,
    Geometric,
    Poisson,
}

/// One set of keys a family accepts, e.g. the gamma's (`mean`, `sd`).
struct Parameterisation {
    required: &'static [&'static str],
    optional: &'static [&'static str],
    /// Shown after the key list in messages, e.g. "90% interval".
    note: &'static str,
}

impl Parameterisation {
    fn accepts(&self, key: &str) -> bool {
        self.required.contains(&key) || self.optional.contains(&key)
    }

    fn describe(&self) -> String {
        let mut s = format!("({}", self.required.join(", "));
        if !self.optional.is_empty() {
            s.push_str(&format!("; optional {}", self.optional.join(", ")));
        }
        s.push(')');
        if !self.note.is_empty() {
            s.push_str(&format!(" [{}]", self.note));
        }
        s
    }
}

const fn par(required: &'static [&'static str]) -> Parameterisation {
    Parameterisation {
        required,
        optional: &[],
        note: "",
    }
}

const FIXED_PARS: &[Parameterisation] = &[par(&["value"])];
const UNIFORM_PARS: &[Parameterisation] = &[par(&["low", "high"])];
const TRIANGULAR_PARS: &[Parameterisation] = &[par(&["low", "mode", "high"])];
const NORMAL_PARS: &[Parameterisation] = &[Parameterisation {
    required: &["mean", "sd"],
    optional: &["low", "high"],
    note: "low/high truncate",
}];
const LOGNORMAL_PARS: &[Parameterisation] = &[
    Parameterisation {
        required: &["mu", "sigma"],
        optional: &[],
        note: "log scale",
    },
    Parameterisation {
        required: &["mean", "sd"],
        optional: &[],
        note: "natural scale",
    },
    Parameterisation {
        required: &["median", "p05", "p95"],
        optional: &[],
        note: "90% interval",
    },
    Parameterisation {
        required: &["median", "p025", "p975"],
        optional: &[],
        note: "95% interval",
    },
];
const GAMMA_PARS: &[Parameterisation] = &[par(&["shape", "scale"]), par(&["mean", "sd"])];
const BETA_PARS: &[Parameterisation] = &[par(&["alpha", "beta"]), par(&["mean", "sd"])];
const GEOMETRIC_PARS: &[Parameterisation] = &[Parameterisation {
    required: &["mean"],
    optional: &[],
    note: "months, ≥ 1",
}];
const POISSON_PARS: &[Parameterisation] = &[par(&["mean"])];

impl Family {
    const ALL: [Family; 9] = [
        Family::Fixed,
        Family::Uniform,
        Family::Triangular,
        Family::Normal,
        Family::LogNormal,
        Family::Gamma,
        Family::Beta,
        Family::Geometric,
        Family::Poisson,
    ];

    fn name(self) -> &'static str {
        match self {
            Family::Fixed => "fixed",
            Family::Uniform => "uniform",
            Family::Triangular => "triangular",
            Family::Normal => "normal",
            Family::LogNormal => "lognormal",
            Family::Gamma => "gamma",
            Family::Beta => "beta",
            Family::Geometric => "geometric",
            Family::Poisson => "poisson",
        }
    }

    fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }

    fn parameterisations(self) -> &'static [Parameterisation] {
        match self {
            Family::Fixed => FIXED_PARS,
            Family::Uniform => UNIFORM_PARS,
            Family::Triangular => TRIANGULAR_PARS,
            Family::Normal => NORMAL_PARS,
            Family::LogNormal => LOGNORMAL_PARS,
            Family::Gamma => GAMMA_PARS,
            Family::Beta => BETA_PARS,
            Family::Geometric => GEOMETRIC_PARS,
            Family::Poisson => POISSON_PARS,
        }
    }

    fn allowed_keys(self) -> Vec<&'static str> {
        let mut keys: Vec<&'static str> = Vec::new();
        for p in self.parameterisations() {
            for k in p.required.iter().chain(p.optional) {
                if !keys.contains(k) {
                    keys.push(k);
                }
            }
        }
        keys
    }

    fn describe_parameterisations(self) -> String {
        let pars: Vec<String> = self
            .parameterisations()
            .iter()
            .map(Parameterisation::describe)
            .collect();
        pars.join(" or ")
    }
}

/// The numeric parameters of one table, in table order.
struct Given<'t> {
    ctx: String,
    items: Vec<(&'t str, f64)>,
}

impl Given<'_> {
    fn has(&self, key: &str) -> bool {
        self.items.iter().any(|(k, _)| *k == key)
    }

    /// The selected parameterisation guarantees presence; the error only
    /// keeps this free of panics.
    fn get(&self, key: &str) -> Result<f64, DistError> {
        self.items
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                DistError::at(
                    key,
                    format!("{} is missing required parameter `{key}`", self.ctx),
                )
            })
    }

    fn positive(&self, key: &str, why: &str) -> Result<f64, DistError> {
        let v = self.get(key)?;
        if v > 0.0 {
            Ok(v)
        } else {
            Err(DistError::at(
                key,
                format!("`{key}` must be > 0 in {} (found {v}){why}", self.ctx),
            ))
        }
    }

    fn less(&self, lo_key: &str, hi_key: &str) -> Result<(f64, f64), DistError> {
        let (lo, hi) = (self.get(lo_key)?, self.get(hi_key)?);
        if lo < hi {
            Ok((lo, hi))
        } else {
            Err(DistError::at(
                lo_key,
                format!(
                    "`{lo_key}` ({lo}) must be less than `{hi_key}` ({hi}) in {}",
                    self.ctx
                ),
            ))
        }
    }
}

/// The index of the one parameterisation of `family` that the table's keys
/// complete, or a message naming the keys that mix two parameterisations or
/// the ones that are missing.
fn select_parameterisation(family: Family, g: &Given) -> Result<usize, DistError> {
    let pars = family.parameterisations();
    let takes = format!(
        "{} takes {}",
        family.name(),
        family.describe_parameterisations()
    );
    let candidates: Vec<usize> = (0..pars.len())
        .filter(|&i| g.items.iter().all(|(k, _)| pars[i].accepts(k)))
        .collect();

    let Some(&first) = candidates.first() else {
        for (i, (k1, _)) in g.items.iter().enumerate() {
            for (k2, _) in &g.items[i + 1..] {
                if !pars.iter().any(|p| p.accepts(k1) && p.accepts(k2)) {
                    return Err(DistError::at(
                        k2,
                        format!(
                            "{} mixes parameterisations: `{k1}` and `{k2}` cannot be used together; {takes}",
                            g.ctx
                        ),
                    ));
                }
            }
        }
        let keys: Vec<&str> = g.items.iter().map(|(k, _)| *k).collect();
        return Err(DistError {
            key: None,
            message: format!(
                "{} mixes parameterisations: {} do not form one parameterisation; {takes}",
                g.ctx,
                ticks(&keys)
            ),
        });
    };

    if let Some(&i) = candidates
        .iter()
        .find(|&&i| pars[i].required.iter().all(|k| g.has(k)))
    {
        return Ok(i);
    }

    let missing: Vec<&str> = pars[first]
        .required
        .iter()
        .copied()
        .filter(|k| !g.has(k))
        .collect();
    let key = missing.first().copied().unwrap_or_default();
    let message = if candidates.len() == 1 {
        let noun = if missing.len() == 1 {
            "parameter"
        } else {
            "parameters"
        };
        format!(
            "{} is missing required {noun} {}; {takes}",
            g.ctx,
            ticks(&missing)
        )
    } else if g.items.is_empty() {
        format!("{} has no parameters (missing `{key}`, …); {takes}", g.ctx)
    } else {
        let given: Vec<&str> = g.items.iter().map(|(k, _)| *k).collect();
        let options: Vec<String> = candidates.iter().map(|&i| pars[i].describe()).collect();
        format!(
            "{} is missing parameters: {} alone is not enough; complete it as {}",
            g.ctx,
            ticks(&given),
            options.join(" or ")
        )
    };
    Err(DistError::at(key, message))
}

/// The stored parameters of parameterisation `index` of `family`, checked
/// against the family's range; the longer conversions are the functions below.
fn build(family: Family, index: usize, g: &Given) -> Result<Dist, DistError> {
    match (family, index) {
        (Family::Fixed, _) => Ok(Dist::Fixed(g.get("value")?)),
        (Family::Uniform, _) => {
            let (low, high) = g.less("low", "high")?;
            Ok(Dist::Uniform { low, high })
        }
        (Family::Triangular, _) => triangular(g),
        (Family::Normal, _) => normal(g),
        (Family::LogNormal, 0) => {
            let mu = g.get("mu")?;
            let sigma = g.positive("sigma", "; sigma is the sd of ln X")?;
            Ok(Dist::LogNormal { mu, sigma })
        }
        (Family::LogNormal, 1) => lognormal_from_mean_sd(g),
        (Family::LogNormal, 2) => lognormal_from_interval(g, "p05", "p95", 0.95),
        (Family::LogNormal, _) => lognormal_from_interval(g, "p025", "p975", 0.975),
        (Family::Gamma, 0) => Ok(Dist::Gamma {
            shape: g.positive("shape", "")?,
            scale: g.positive("scale", "")?,
        }),
        (Family::Gamma, _) => gamma_from_mean_sd(g),
        (Family::Beta, 0) => Ok(Dist::Beta {
            alpha: g.positive("alpha", "")?,
            beta: g.positive("beta", "")?,
        }),
        (Family::Beta, _) => beta_from_mean_sd(g),
        (Family::Geometric, _) => geometric(g),
        (Family::Poisson, _) => poisson(g),
    }
}

/// The triangular (`low`, `mode`, `high`).
fn triangular(g: &Given) -> Result<Dist, DistError> {
    let ctx = &g.ctx;
    let (low, high) = g.less("low", "high")?;
    let mode = g.get("mode")?;
    if !(low <= mode && mode <= high) {
        return Err(DistError::at(
            "mode",
            format!("`mode` ({mode}) must lie between `low` ({low}) and `high` ({high}) in {ctx}"),
        ));
    }
    Ok(Dist::Triangular { low, mode, high })
}

/// The normal (`mean`, `sd`), truncated by `low` and/or `high` when given.
fn normal(g: &Given) -> Result<Dist, DistError> {
    let mean = g.get("mean")?;
    let sd = g.positive(
        "sd",
        "; for a value without uncertainty write the number itself or use dist = \"fixed\"",
    )?;
    let low = g.has("low").then(|| g.get("low")).transpose()?;
    let high = g.has("high").then(|| g.get("high")).transpose()?;
    if low.is_some() && high.is_some() {
        g.less("low", "high")?;
    }
    Ok(Dist::Normal {
        mean,
        sd,
        low,
        high,
    })
}

/// The lognormal from its natural-scale `mean` and `sd`.
fn lognormal_from_mean_sd(g: &Given) -> Result<Dist, DistError> {
    let mean = g.positive("mean", "; a lognormal is positive")?;
    let sd = g.positive("sd", "")?;
    let s2 = (sd / mean).powi(2).ln_1p();
    Ok(Dist::LogNormal {
        mu: mean.ln() - 0.5 * s2,
        sigma: s2.sqrt(),
    })
}

/// The gamma from its `mean` and `sd`.
fn gamma_from_mean_sd(g: &Given) -> Result<Dist, DistError> {
    let mean = g.positive("mean", "; a gamma is positive")?;
    let sd = g.positive("sd", "")?;
    let cv = sd / mean;
    Ok(Dist::Gamma {
        shape: 1.0 / (cv * cv),
        scale: sd * cv,
    })
}

/// The beta from its `mean` and `sd`, which must fit in (0, 1).
fn beta_from_mean_sd(g: &Given) -> Result<Dist, DistError> {
    let ctx = &g.ctx;
    let mean = g.get("mean")?;
    if !(mean > 0.0 && mean < 1.0) {
        return Err(DistError::at(
            "mean",
            format!(
                "`mean` must be strictly between 0 and 1 in {ctx} (found {mean}); a beta distribution lives on (0, 1)"
            ),
        ));
    }
    let sd = g.positive("sd", "")?;
    let bound = mean * (1.0 - mean);
    if sd * sd >= bound {
        return Err(DistError::at(
            "sd",
            format!(
                "`sd` ({sd}) is too large in {ctx}: with mean {mean} a beta distribution needs sd < sqrt(mean·(1 − mean)) = {}; reduce `sd` or move `mean` towards 0.5",
                fmt_num(bound.sqrt())
            ),
        ));
    }
    let nu = bound / (sd * sd) - 1.0;
    Ok(Dist::Beta {
        alpha: mean * nu,
        beta: (1.0 - mean) * nu,
    })
}

/// The geometric from its `mean` in months.
fn geometric(g: &Given) -> Result<Dist, DistError> {
    let ctx = &g.ctx;
    let mean = g.get("mean")?;
    if mean < 1.0 {
        return Err(DistError::at(
            "mean",
            format!(
                "`mean` must be ≥ 1 in {ctx} (found {mean}); the geometric counts months 1, 2, 3, …"
            ),
        ));
    }
    Ok(Dist::Geometric { q: 1.0 / mean })
}

/// The Poisson from its `mean`, within what rand_distr can sample.
fn poisson(g: &Given) -> Result<Dist, DistError> {
    let ctx = &g.ctx;
    let mean = g.positive("mean", "")?;
    if mean > POISSON_MAX_MEAN {
        return Err(DistError::at(
            "mean",
            format!("`mean` must be at most {POISSON_MAX_MEAN:e} in {ctx} (found {mean})"),
        ));
    }
    Ok(Dist::Poisson { mean })
}

/// The lognormal from its `median` and an interval (`lo_key`, `hi_key`) whose
/// upper end is the `upper_p` quantile (see the module docs of `dist`).
fn lognormal_from_interval(
    g: &Given,
    lo_key: &str,
    hi_key: &str,
    upper_p: f64,
) -> Result<Dist, DistError> {
    let ctx = &g.ctx;
    let median = g.positive("median", "; a lognormal is positive")?;
    let lo = g.get(lo_key)?;
    let hi = g.get(hi_key)?;
    if lo <= 0.0 {
        return Err(DistError::at(
            lo_key,
            format!("`{lo_key}` must be > 0 in {ctx} (found {lo}); a lognormal is positive"),
        ));
    }
    if lo >= median {
        return Err(DistError::at(
            lo_key,
            format!("`{lo_key}` ({lo}) must be below `median` ({median}) in {ctx}"),
        ));
    }
    if hi <= median {
        return Err(DistError::at(
            hi_key,
            format!("`{hi_key}` ({hi}) must be above `median` ({median}) in {ctx}"),
        ));
    }
    let z = norm_quantile(upper_p);
    Ok(Dist::LogNormal {
        mu: median.ln(),
        sigma: (hi.ln() - lo.ln()) / (2.0 * z),
    })
}

/// The message for a tag value that names no family, with the likeliest fix.
fn unknown_family(tag: &str, name: &str) -> DistError {
    let lower = name.to_lowercase();
    let hint = if lower != name && FAMILIES.contains(&lower.as_str()) {
        format!(" (family names are lower case: write {tag} = \"{lower}\")")
    } else {
        closest(name, &FAMILIES)
            .map(|f| format!(" (did you mean \"{f}\"?)"))
            .unwrap_or_default()
    };
    DistError::at(
        tag,
        format!(
            "unknown distribution family \"{name}\" in `{tag}`{hint}; expected one of: {}",
            FAMILIES.join(", ")
        ),
    )
}

/// What a value that should have been a number (or a family name) is.
fn describe_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("the string \"{s}\" (remove the quotes?)"),
        toml::Value::Integer(i) => format!("the integer {i}"),
        toml::Value::Float(f) => format!("the number {f}"),
        toml::Value::Boolean(b) => format!("the boolean {b}"),
        toml::Value::Datetime(d) => format!("the datetime {d}"),
        toml::Value::Array(_) => "an array".to_string(),
        toml::Value::Table(_) => "a table".to_string(),
    }
}

/// "`a`", "`a` and `b`", "`a`, `b` and `c`".
fn ticks(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// The candidate within (character-wise Levenshtein) edit distance 2, to suggest a fix
/// for a typo; the first such candidate when several are equally close.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::testing::table;

    fn parse_err(inline: &str) -> DistError {
        match Dist::from_table(&table(inline), "dist") {
            Err(e) => e,
            Ok(d) => panic!("expected an error for {inline}, got {d:?}"),
        }
    }

    fn assert_err(inline: &str, key: &str, fragments: &[&str]) {
        let e = parse_err(inline);
        assert_eq!(
            e.key.as_deref(),
            Some(key),
            "key of error for {inline}: {e:?}"
        );
        for f in fragments {
            assert!(
                e.message.contains(f),
                "message for {inline} lacks {f:?}: {}",
                e.message
            );
        }
    }

    #[test]
    fn table_without_tag_is_not_a_distribution() {
        let t = table("{ mean = 0.4, sd = 0.1 }");
        assert_eq!(Dist::from_table(&t, "dist"), Ok(None));
        // The other tag key does not count.
        let t = table("{ per_person = \"uniform\", low = 1, high = 2 }");
        assert_eq!(Dist::from_table(&t, "dist"), Ok(None));
    }

    #[test]
    fn unknown_key_is_an_error() {
        assert_err(
            "{ dist = \"normal\", mean = 1.0, sdd = 0.1 }",
            "sdd",
            &["unknown parameter `sdd`", "did you mean `sd`?", "mean, sd"],
        );
        assert_err(
            "{ dist = \"uniform\", low = 1, high = 2, mode = 1.5 }",
            "mode",
            &["unknown parameter `mode`"],
        );
    }

    #[test]
    fn missing_key_is_an_error() {
        assert_err(
            "{ dist = \"normal\", mean = 1.0 }",
            "sd",
            &["missing required parameter `sd`"],
        );
        assert_err(
            "{ dist = \"triangular\", low = 1, high = 3 }",
            "mode",
            &["missing required parameter `mode`"],
        );
        assert_err(
            "{ dist = \"gamma\", shape = 2.0 }",
            "scale",
            &[
                "missing required parameter `scale`",
                "(shape, scale) or (mean, sd)",
            ],
        );
        assert_err(
            "{ dist = \"lognormal\", median = 2.0 }",
            "p05",
            &[
                "`median` alone is not enough",
                "(median, p05, p95)",
                "(median, p025, p975)",
            ],
        );
        assert_err(
            "{ dist = \"beta\" }",
            "alpha",
            &["has no parameters", "(alpha, beta)"],
        );
    }

    #[test]
    fn mixed_parameterisations_are_an_error() {
        assert_err(
            "{ dist = \"gamma\", mean = 2.0, shape = 3.0 }",
            "shape",
            &["`mean` and `shape` cannot be used together"],
        );
        assert_err(
            "{ dist = \"lognormal\", median = 2.0, p05 = 1.0, p975 = 4.0 }",
            "p975",
            &["`p05` and `p975` cannot be used together"],
        );
        assert_err(
            "{ dist = \"lognormal\", mu = 0.0, sigma = 1.0, mean = 1.0, sd = 0.5 }",
            "mean",
            &["`mu` and `mean` cannot be used together"],
        );
    }

    #[test]
    fn nonpositive_sd_is_an_error() {
        for sd in ["0", "-0.5"] {
            assert_err(
                &format!("{{ dist = \"normal\", mean = 1.0, sd = {sd} }}"),
                "sd",
                &["`sd` must be > 0"],
            );
            assert_err(
                &format!("{{ dist = \"gamma\", mean = 1.0, sd = {sd} }}"),
                "sd",
                &["`sd` must be > 0"],
            );
        }
        assert_err(
            "{ dist = \"lognormal\", mu = 0.0, sigma = 0.0 }",
            "sigma",
            &["`sigma` must be > 0"],
        );
    }

    #[test]
    fn beta_mean_outside_unit_interval_is_an_error() {
        for mean in ["0", "1", "1.2", "-0.1"] {
            assert_err(
                &format!("{{ dist = \"beta\", mean = {mean}, sd = 0.1 }}"),
                "mean",
                &["`mean` must be strictly between 0 and 1"],
            );
        }
    }

    #[test]
    fn beta_sd_too_large_is_an_error() {
        assert_err(
            "{ dist = \"beta\", mean = 0.4, sd = 0.5 }",
            "sd",
            &[
                "`sd` (0.5) is too large",
                "sd < sqrt(mean·(1 − mean)) = 0.4899",
            ],
        );
    }

    #[test]
    fn uniform_low_not_below_high_is_an_error() {
        for (low, high) in [("5", "3"), ("2", "2")] {
            assert_err(
                &format!("{{ dist = \"uniform\", low = {low}, high = {high} }}"),
                "low",
                &["`low`", "must be less than `high`"],
            );
        }
    }

    #[test]
    fn non_finite_values_are_an_error() {
        assert_err(
            "{ dist = \"normal\", mean = nan, sd = 1.0 }",
            "mean",
            &["`mean`", "must be a finite number", "NaN"],
        );
        assert_err(
            "{ dist = \"uniform\", low = 0, high = inf }",
            "high",
            &["`high`", "must be a finite number", "inf"],
        );
    }

    #[test]
    fn other_input_errors() {
        assert_err(
            "{ dist = \"Beta\", alpha = 1, beta = 2 }",
            "dist",
            &["unknown distribution family \"Beta\"", "lower case"],
        );
        assert_err(
            "{ dist = \"gama\", shape = 1, scale = 2 }",
            "dist",
            &["did you mean \"gamma\"?"],
        );
        assert_err("{ dist = 3, value = 1 }", "dist", &["must be a string"]);
        assert_err(
            "{ dist = \"fixed\", value = \"0.3\" }",
            "value",
            &["`value`", "must be a number", "string"],
        );
        assert_err(
            "{ dist = \"triangular\", low = 1, mode = 5, high = 3 }",
            "mode",
            &["`mode` (5) must lie between `low` (1) and `high` (3)"],
        );
        assert_err(
            "{ dist = \"normal\", mean = 0, sd = 1, low = 2, high = 1 }",
            "low",
            &["must be less than `high`"],
        );
        assert_err(
            "{ dist = \"lognormal\", median = 2, p05 = 0, p95 = 4 }",
            "p05",
            &["`p05` must be > 0"],
        );
        assert_err(
            "{ dist = \"lognormal\", median = 2, p05 = 2, p95 = 4 }",
            "p05",
            &["must be below `median`"],
        );
        assert_err(
            "{ dist = \"lognormal\", median = 2, p025 = 1, p975 = 1.5 }",
            "p975",
            &["must be above `median`"],
        );
        assert_err(
            "{ dist = \"geometric\", mean = 0.5 }",
            "mean",
            &["`mean` must be ≥ 1"],
        );
        assert_err(
            "{ dist = \"poisson\", mean = 0 }",
            "mean",
            &["`mean` must be > 0"],
        );
        let e = parse_err("{ dist = \"gamma\", mean = 1e300, sd = 1e-300 }");
        assert_eq!(e.key, None);
        assert!(e.message.contains("unusable"), "{}", e.message);
    }
}
