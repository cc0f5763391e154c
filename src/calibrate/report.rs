//! A calibration for people ([`render`], the terminal report) and for programs
//! ([`to_json`]).

use super::types::Calibration;

/// The calibration report for the terminal.
pub fn render(c: &Calibration) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "rehabsim calibrate — {}\n{} replications per evaluation, seed {} (common random numbers: the objective is deterministic)\n{}: {} evaluations, {}\nobjective Σ((simulated − target)/tolerance)²: {:.4} at θ = 1 → {:.4} fitted\n\n",
        c.scenario,
        c.replications,
        c.seed,
        c.method,
        c.evaluations,
        if c.converged {
            "converged"
        } else {
            "stopped at the evaluation limit (raise --max-evals)"
        },
        c.objective_start,
        c.objective
    ));
    s.push_str("fitted multipliers\n");
    for p in &c.params {
        s.push_str(&format!(
            "  {:<48} θ = {}{}\n    was    {}\n    fitted {}\n",
            p.path,
            fmt_g(p.multiplier),
            if p.at_bound {
                "   AT A BOUND: widen --bounds, or the target cannot be met by this value"
            } else {
                ""
            },
            p.original,
            p.fitted
        ));
    }
    s.push_str("\ntargets (shares)\n");
    s.push_str(&format!(
        "  {:<28} {:>8} {:>9} {:>10} {:>10} {:>8} {:>9}\n",
        "target", "target", "tolerance", "at θ = 1", "fitted", "± s.e.", "residual"
    ));
    for t in &c.targets {
        s.push_str(&format!(
            "  {:<28} {:>8.4} {:>9.4} {:>10.4} {:>10.4} {:>8.4} {:>+9.2}\n",
            t.id,
            t.share,
            t.tolerance,
            t.simulated_start,
            t.simulated,
            t.standard_error,
            t.residual
        ));
        s.push_str(&format!(
            "    arm {}, {} at {} months since entry{}{}\n",
            t.arm,
            t.states.join(" + "),
            t.month,
            if t.participants_only {
                ", participants only"
            } else {
                ""
            },
            if t.source.is_empty() {
                String::new()
            } else {
                format!("; source: {}", t.source)
            }
        ));
    }
    s.push_str("\nto use the fitted values, add to `rehabsim run`:\n");
    for p in &c.params {
        s.push_str(&format!("  {}\n", p.set));
    }
    s
}

/// The calibration as pretty JSON with a trailing newline (NaN becomes null).
pub fn to_json(c: &Calibration) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(c)
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
    v.push(b'\n');
    v
}

/// Up to four decimals, without trailing zeros.
fn fmt_g(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}
