//! The result of a run: the socioeconomic balance sheet per arm and per difference
//! against the counterfactual, with uncertainty over replications. This is the public
//! result type that every exporter (JSON, CSV, terminal, HTML) reads; its JSON form is
//! `summary.json`, whose schema the README documents. The types are in `types.rs` (the
//! schema, including what the analyses attach: break-even, the expected sheet);
//! `build.rs` makes a summary from a run's replications.

mod build;
mod types;

pub use build::summarize;
pub use types::*;
