//! The assumptions table of the report (`assumptions.html`): every value written in the
//! scenario file, with the source its comments give, read from the text itself so that
//! the report shows the numbers exactly as written (`0.10`,
//! `{ dist = "beta", mean = 0.4, sd = 0.12 }`), and the values changed on the command line.
//!
//! A value's comment is its trailing `# ...` on the line where the value ends, and the
//! block of `#` lines directly above its key (no blank line in between). A section's note
//! is the comment block above its `[header]` and the header's trailing comment. Rule
//! lines (`# -----`) are dropped.

use askama::Template;
use toml::de::{DeTable, DeValue};

use super::shared::Ctx;
use crate::i18n::{Texts, fill};
use crate::output::outdir::SCENARIO_FILE;

#[derive(Template)]
#[template(path = "assumptions.html")]
pub(super) struct Section {
    t: &'static Texts,
    note: String,
    rows: Vec<Row>,
    /// `(key, value)` of the `--set` changes that name no value of the file.
    extra: Vec<(String, String)>,
}

/// A value of the file, under its section's group row when it is the first of it.
struct Row {
    group: Option<Group>,
    line: usize,
    key: String,
    value: String,
    uncertain: bool,
    /// "changed on the command line to …", once per `--set` of this value.
    overrides: Vec<String>,
    comment: String,
}

struct Group {
    section: String,
    note: String,
}

pub(super) fn section(c: &Ctx) -> Section {
    let t = c.t;
    let (assumptions, sections) = read(c.r.scenario_text);
    let overrides: Vec<(String, String)> = c
        .s()
        .overrides
        .iter()
        .filter_map(|o| o.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut used = vec![false; overrides.len()];
    let mut section = None;
    let mut rows = Vec::new();
    for a in &assumptions {
        let group = (section != Some(&a.section)).then(|| {
            section = Some(&a.section);
            Group {
                section: a.section.clone(),
                note: sections
                    .iter()
                    .find(|x| x.path == a.section)
                    .map_or(String::new(), |x| x.note.clone()),
            }
        });
        let path = if a.section.is_empty() {
            a.key.clone()
        } else {
            format!("{}.{}", a.section, a.key)
        };
        let mut changed = Vec::new();
        for (i, (k, v)) in overrides.iter().enumerate() {
            if *k == path {
                used[i] = true;
                changed.push(fill(t.overridden, &[("value", v)]));
            }
        }
        rows.push(Row {
            group,
            line: a.line,
            key: a.key.clone(),
            value: a.value.clone(),
            uncertain: a.uncertain,
            overrides: changed,
            comment: a.comment.clone(),
        });
    }
    let extra = overrides
        .into_iter()
        .zip(used)
        .filter(|(_, u)| !*u)
        .map(|(o, _)| o)
        .collect();
    Section {
        t,
        note: fill(t.assumptions_note, &[("file", SCENARIO_FILE)]),
        rows,
        extra,
    }
}

/// One value of the scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumption {
    /// The table the value is in (`transitions.sickness_benefit`), empty at the top.
    pub section: String,
    /// The key within the table (`to.work`).
    pub key: String,
    /// The value as written.
    pub value: String,
    /// The source and comment as written (without `#`).
    pub comment: String,
    /// 1-based line of the key.
    pub line: usize,
    /// The value is a distribution (drawn per replication, per person or per event).
    pub uncertain: bool,
}

/// A `[header]` of the scenario file with its note.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub path: String,
    pub note: String,
    pub line: usize,
}

/// Keys that name or describe things rather than set a value of the model.
const NOT_PARAMETERS: [&str; 4] = ["label", "label_sv", "name", "description"];

/// The values and sections of `text`, in file order. Text that is not valid TOML gives
/// no rows (the run would not have got this far).
pub fn read(text: &str) -> (Vec<Assumption>, Vec<Header>) {
    let Ok(doc) = DeTable::parse(text) else {
        return (Vec::new(), Vec::new());
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut leaves = Vec::new();
    walk(text, doc.get_ref(), &[], &mut leaves);
    leaves.sort_by_key(|l| l.0);
    let headers = header_paths(text);
    let mut rows = Vec::new();
    for (key_start, path, value_span) in leaves {
        // A key belongs to the table of the last header above it; a dotted key
        // (`to.work = ...`) keeps its dots in the key.
        let header = headers.iter().rev().find(|(at, _)| *at < key_start);
        let n = header.map_or(0, |(_, h)| {
            let parts: Vec<&str> = h.split('.').collect();
            let under =
                path.len() > parts.len() && path.iter().zip(&parts).all(|(a, b)| a.as_str() == *b);
            if under { parts.len() } else { path.len() - 1 }
        });
        let (section, key) = path.split_at(n);
        if key.len() == 1 && NOT_PARAMETERS.contains(&key[0].as_str()) {
            continue;
        }
        let line = line_of(text, key_start);
        let end_line = line_of(text, value_span.end.saturating_sub(1).max(value_span.start));
        let value = text[value_span.clone()].to_string();
        let trailing = lines
            .get(end_line - 1)
            .and_then(|l| trailing_comment(l, column_after(text, value_span.end)));
        let mut comment = preceding_comments(&lines, line);
        if let Some(t) = trailing {
            if !comment.is_empty() {
                comment.push(' ');
            }
            comment.push_str(&t);
        }
        rows.push(Assumption {
            section: section.join("."),
            key: key.join("."),
            uncertain: is_distribution(&value),
            value,
            comment,
            line,
        });
    }
    let sections = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let t = l.trim_start();
            if !t.starts_with('[') {
                return None;
            }
            let close = t.find(']')?;
            let path = t[..close].trim_matches(['[', ']']).trim().replace(' ', "");
            let mut note = preceding_comments(&lines, i + 1);
            if let Some(c) = trailing_comment(t, close + 1) {
                if !note.is_empty() {
                    note.push(' ');
                }
                note.push_str(&c);
            }
            Some(Header {
                path,
                note,
                line: i + 1,
            })
        })
        .collect();
    (rows, sections)
}

/// `(key offset, key path, value span)`.
type Leaf = (usize, Vec<String>, std::ops::Range<usize>);

fn walk(text: &str, table: &DeTable, prefix: &[String], out: &mut Vec<Leaf>) {
    for (k, v) in table.iter() {
        let mut path = prefix.to_vec();
        path.push(k.get_ref().to_string());
        let span = v.span();
        let written = &text[span.clone()];
        match v.get_ref() {
            DeValue::Table(t) if !written.starts_with('{') => walk(text, t, &path, out),
            DeValue::Array(a) if written.starts_with("[[") => {
                for (i, el) in a.iter().enumerate() {
                    if let DeValue::Table(t) = el.get_ref() {
                        let mut p = path.clone();
                        p.push(i.to_string());
                        walk(text, t, &p, out);
                    }
                }
            }
            _ => out.push((k.span().start, path, span)),
        }
    }
}

/// `(offset, path)` of every `[header]` (array-of-tables headers get the element index
/// when counted in order).
fn header_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut array_counts: std::collections::BTreeMap<String, usize> = Default::default();
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("[[") {
            if let Some(close) = rest.find("]]") {
                let p = rest[..close].trim().replace(' ', "");
                let n = array_counts.entry(p.clone()).or_insert(0);
                out.push((offset, format!("{p}.{n}")));
                *n += 1;
            }
        } else if let Some(rest) = t.strip_prefix('[')
            && let Some(close) = rest.find(']')
        {
            out.push((offset, rest[..close].trim().replace(' ', "")));
        }
        offset += line.len();
    }
    out
}

fn line_of(text: &str, offset: usize) -> usize {
    crate::scenario::locate::position_of(text, offset).line
}

/// Byte column (0-based) of `offset` within its line.
fn column_after(text: &str, offset: usize) -> usize {
    let offset = text.floor_char_boundary(offset);
    offset - text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// The comment after byte `from` of `line`, if what follows is a comment.
fn trailing_comment(line: &str, from: usize) -> Option<String> {
    let rest = line.get(from..)?.trim();
    let c = rest.strip_prefix('#')?.trim();
    (!c.is_empty()).then(|| c.to_string())
}

/// The block of comment lines directly above 1-based line `line`, joined by spaces.
fn preceding_comments(lines: &[&str], line: usize) -> String {
    let mut block = Vec::new();
    let mut i = line.saturating_sub(1);
    while i > 0 {
        let l = lines[i - 1].trim();
        let Some(c) = l.strip_prefix('#') else { break };
        let c = c.trim();
        let rule = !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | '=' | '#' | '*'));
        if rule {
            break;
        }
        block.push(c);
        i -= 1;
    }
    block.reverse();
    block
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_distribution(value: &str) -> bool {
    let v = value.trim_start();
    v.starts_with('{')
        && ["dist", "per_person", "per_event"].iter().any(|k| {
            v.split(['{', ','])
                .any(|part| part.trim_start().starts_with(k) && part.contains('='))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# The scenario.
[scenario]
name = \"x\"
horizon = 60                     # months (P Part 4 §1)

# ---------------------------------------------------------------
# Hand-overs fail (P Part 4 §6).
[organisations.siloed]           # the default
handover_failure = { dist = \"beta\", mean = 0.4, sd = 0.12 }
# Bracketed by two trials
# (Jakobsson 2010; Hoff 2022).
effect = 1.4   # [A]

[transitions.sickness_benefit]
clock_breaks = [3, 6]
to.work = [0.21,
           0.09]                 # P Part 4 §3
";

    #[test]
    fn values_with_their_sources() {
        let (rows, sections) = read(TEXT);
        let got: Vec<(&str, &str, &str, &str, usize, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r.section.as_str(),
                    r.key.as_str(),
                    r.value.as_str(),
                    r.comment.as_str(),
                    r.line,
                    r.uncertain,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "scenario",
                    "horizon",
                    "60",
                    "months (P Part 4 §1)",
                    4,
                    false
                ),
                (
                    "organisations.siloed",
                    "handover_failure",
                    "{ dist = \"beta\", mean = 0.4, sd = 0.12 }",
                    "",
                    9,
                    true
                ),
                (
                    "organisations.siloed",
                    "effect",
                    "1.4",
                    "Bracketed by two trials (Jakobsson 2010; Hoff 2022). [A]",
                    12,
                    false
                ),
                (
                    "transitions.sickness_benefit",
                    "clock_breaks",
                    "[3, 6]",
                    "",
                    15,
                    false
                ),
                (
                    "transitions.sickness_benefit",
                    "to.work",
                    "[0.21,\n           0.09]",
                    "P Part 4 §3",
                    16,
                    false
                ),
            ]
        );
        let s: Vec<(&str, &str, usize)> = sections
            .iter()
            .map(|s| (s.path.as_str(), s.note.as_str(), s.line))
            .collect();
        assert_eq!(
            s,
            vec![
                ("scenario", "The scenario.", 2),
                (
                    "organisations.siloed",
                    "Hand-overs fail (P Part 4 §6). the default",
                    8
                ),
                ("transitions.sickness_benefit", "", 14),
            ]
        );
    }

    #[test]
    fn distributions_are_recognised() {
        assert!(is_distribution("{ dist = \"lognormal\", median = 1.4 }"));
        assert!(is_distribution(
            "{ per_person = \"uniform\", low = 25, high = 62 }"
        ));
        assert!(!is_distribution("{ wage = 1.0 }"));
        assert!(!is_distribution("\"distance\""));
    }

    #[test]
    fn invalid_toml_gives_no_rows() {
        assert_eq!(read("[a\nx = "), (Vec::new(), Vec::new()));
    }
}
