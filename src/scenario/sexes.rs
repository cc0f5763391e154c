//! Values by sex: any value in a scenario may be written as a table with exactly the keys
//! `women` and `men` — `to.work = { women = 0.012, men = 0.016 }`, `hazard_ratio =
//! { women = 0.6, men = 0.7 }`, `[population.start.women]` and `[population.start.men]`.
//! The scenario is then compiled once per sex with each such table replaced by that sex's
//! value, and every arm gets a model per sex (`Model::for_sex`); the two must agree on
//! everything a cohort shares (`validate::check_sexes`).
//!
//! Uncertain values inside are drawn per sex (`x.women`, `x.men` are their paths).

use toml::{Table, Value};

/// The keys of a value by sex, in the order of the engine's sex index (0 women, 1 men).
pub const SEXES: [&str; 2] = ["women", "men"];

/// Whether `t` is a value by sex.
pub fn is_by_sex(t: &Table) -> bool {
    t.len() == 2 && SEXES.iter().all(|k| t.contains_key(*k))
}

/// Whether `doc` holds any value by sex.
pub fn any(doc: &Table) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::Table(t) => is_by_sex(t) || t.values().any(walk),
            Value::Array(a) => a.iter().any(walk),
            _ => false,
        }
    }
    doc.values().any(walk)
}

/// `doc` with every value by sex replaced by sex `sex`'s value (0 women, 1 men).
pub fn select(doc: &Table, sex: usize) -> Table {
    fn walk(v: &mut Value, sex: usize) {
        match v {
            Value::Table(t) if is_by_sex(t) => {
                let mut chosen = t.remove(SEXES[sex]).unwrap_or(Value::Integer(0));
                walk(&mut chosen, sex);
                *v = chosen;
            }
            Value::Table(t) => t.iter_mut().for_each(|(_, x)| walk(x, sex)),
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, sex)),
            _ => {}
        }
    }
    let mut v = Value::Table(doc.clone());
    walk(&mut v, sex);
    match v {
        Value::Table(t) => t,
        _ => Table::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_by_sex_is_replaced_by_each_sex_value_everywhere() {
        let doc: Table = toml::from_str(
            r#"
            a = { women = 1, men = 2 }
            b = [{ women = 3, men = 4 }, 5]
            [c.start.women]
            x = 0.5
            y = 0.5
            [c.start.men]
            x = 1.0
            [d]
            women = 7
            other = 8
            "#,
        )
        .unwrap();
        assert!(any(&doc));
        let w = select(&doc, 0);
        let m = select(&doc, 1);
        assert_eq!(w["a"].as_integer(), Some(1));
        assert_eq!(m["a"].as_integer(), Some(2));
        assert_eq!(w["b"][0].as_integer(), Some(3));
        assert_eq!(m["b"][0].as_integer(), Some(4));
        assert_eq!(w["c"]["start"]["y"].as_float(), Some(0.5));
        assert!(m["c"]["start"].get("y").is_none());
        // Not a value by sex: other keys too.
        assert_eq!(w["d"]["other"].as_integer(), Some(8));
        assert!(!any(&select(&doc, 0)));
    }
}
