//! Reading a document into the serde mirror ([`RawScenario`], `raw.rs`): types, missing
//! and unknown keys. Serde's messages are reworded here; the values themselves are checked
//! by the sections.

use toml::{Table, Value};

use super::check::issue;
use crate::scenario::error::Issue;
use crate::scenario::raw::RawScenario;

/// The serde mirror of a document, or the one issue serde found (serde stops at the
/// first), reworded for people who write TOML.
pub(super) fn deserialize(doc: &Table) -> Result<RawScenario, Vec<Issue>> {
    serde_path_to_error::deserialize(Value::Table(doc.clone())).map_err(|e| {
        let path = e.path().to_string().replace('[', ".").replace(']', "");
        let path = if path == "." { String::new() } else { path };
        let msg = e.inner().to_string();
        let msg = msg.trim_end().replace('\n', " ");
        let hint = if msg.contains("unknown field") {
            " — check the spelling (docs/scenario.md lists every key)"
        } else if msg.contains("missing field") {
            " — add it (docs/scenario.md lists every key)"
        } else {
            ""
        };
        vec![issue(path, format!("{}{hint}", humanise(&msg)))]
    })
}

/// Reword serde's messages for people who write TOML, not Rust: "invalid type: string
/// "x", expected i64" becomes "expected a whole number, found the string "x"", and an
/// unknown field gets a "did you mean" when a known one is close.
fn humanise(msg: &str) -> String {
    // toml appends " in `key.path`"; the issue already names the key.
    let msg = match msg.rfind(" in `") {
        Some(i) if msg.ends_with('`') => &msg[..i],
        _ => msg,
    };
    if let Some(rest) = msg
        .strip_prefix("invalid type: ")
        .or_else(|| msg.strip_prefix("invalid value: "))
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let expected = match expected {
            "i64" | "i32" | "u32" | "usize" => "a whole number",
            "u64" => "a whole number ≥ 0",
            "f64" | "f32" => "a number",
            "a boolean" => "`true` or `false`",
            "a string" => "a string in quotes",
            "a sequence" => "a list `[…]`",
            e if e == "a map" || e.starts_with("struct ") => "a table",
            e => e,
        };
        let found = if let Some(v) = found.strip_prefix("string ") {
            format!("the string {v}")
        } else if let Some(v) = found.strip_prefix("integer ") {
            v.trim_matches('`').to_string()
        } else if let Some(v) = found.strip_prefix("floating point ") {
            format!("the number {}", v.trim_matches('`'))
        } else if let Some(v) = found.strip_prefix("boolean ") {
            v.to_string()
        } else {
            match found {
                "sequence" => "a list".to_string(),
                "map" => "a table".to_string(),
                f => f.to_string(),
            }
        };
        return format!("expected {expected}, found {found}");
    }
    if let Some(rest) = msg.strip_prefix("unknown field `")
        && let Some((name, tail)) = rest.split_once('`')
    {
        let known: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
        if let Some(k) = crate::dist::closest(name, &known) {
            return format!(
                "unknown key `{name}` (did you mean `{k}`?); expected one of `{}`",
                known.join("`, `")
            );
        }
        if !known.is_empty() {
            return format!(
                "unknown key `{name}`; expected one of `{}`",
                known.join("`, `")
            );
        }
        return format!("unknown key `{name}`");
    }
    if let Some(rest) = msg.strip_prefix("missing field `")
        && let Some((name, _)) = rest.split_once('`')
    {
        return format!("missing key `{name}`");
    }
    msg.to_string()
}
