//! Helpers shared by the unit tests of `dist`.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;

use super::families::Dist;

/// A seeded generator, so every statistical check sees the same draws.
pub(super) fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// The inline table `inline` (TOML text such as `{ dist = "beta", … }`).
pub(super) fn table(inline: &str) -> toml::Table {
    let doc: toml::Table = format!("x = {inline}").parse().expect("test TOML parses");
    match doc.get("x") {
        Some(toml::Value::Table(t)) => t.clone(),
        other => panic!("not an inline table: {other:?}"),
    }
}

/// The distribution of a valid `dist` table.
pub(super) fn parse(inline: &str) -> Dist {
    Dist::from_table(&table(inline), "dist")
        .expect("valid table")
        .expect("table has the tag")
}

/// `actual` within `rel` (relative) of `expected`.
pub(super) fn close(actual: f64, expected: f64, rel: f64) -> bool {
    (actual - expected).abs() <= rel * expected.abs().max(f64::MIN_POSITIVE)
}
