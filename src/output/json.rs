//! `summary.json`: the run's [`Summary`] as pretty-printed JSON with a trailing newline.
//! Maps keep insertion (model) order, floats are printed by serde_json's shortest
//! round-trip formatting, and NaN becomes `null`, so the bytes depend only on the values.

use crate::summary::Summary;

pub fn summary_json(s: &Summary) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(s)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
    v.push(b'\n');
    v
}
