//! Source positions for scenario key paths.
//!
//! Semantic validation runs on the parsed scenario and reports problems by key
//! path (`["transitions", "sickness_benefit", "to", "work", "hazard", "2"]`:
//! tables by key, arrays by decimal index). That representation has no
//! notion of where anything was written, so this module owns the mapping from
//! such a path back to a 1-based line/column in the original TOML text, and the
//! byte-offset to line/column conversion that error messages use.
//!
//! It re-parses the source with `toml`'s spanned document API
//! ([`toml::de::DeTable`]) rather than threading spans through the scenario
//! types: validation code stays free of span bookkeeping, and the second
//! parse only happens when an error is actually reported.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// 1-based line and column of a position in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Result of [`locate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    pub position: Position,
    /// `false` when the full path does not exist and `position` points at the
    /// deepest ancestor that does.
    pub exact: bool,
}

/// Where a key path is written in `source`: the position of the key itself
/// (for the last path component), or for an array index, of that element's
/// value.
///
/// If the full path does not exist (e.g. a required key is missing), returns
/// the position of the deepest existing ancestor — for a table written as a
/// `[header]` or `[[array]]`, the header; for an inline table, its opening
/// brace — and `exact = false`.
///
/// Returns `None` only if the source does not parse or not even the first
/// component exists (an empty path has no first component, so it is `None`
/// too).
pub fn locate(source: &str, path: &[&str]) -> Option<Located> {
    let (first, rest) = path.split_first()?;
    let document = DeTable::parse(source).ok()?;
    let (key, value) = document.get_ref().get_key_value(*first)?;
    let mut current = Node {
        offset: key.span().start,
        value,
    };
    for component in rest {
        match current.child(component) {
            Some(next) => current = next,
            None => {
                return Some(Located {
                    position: position_of(source, current.fallback_offset()),
                    exact: false,
                });
            }
        }
    }
    Some(Located {
        position: position_of(source, current.offset),
        exact: true,
    })
}

/// Convert a byte offset into a 1-based line/column (column counted in
/// characters, not bytes, so that Swedish letters like å, ä, ö count as one).
///
/// Offsets past the end clamp to the end, and offsets inside a multi-byte
/// character resolve to that character: callers build offsets from spans, and
/// a slightly-off offset must still yield a usable message rather than a panic.
pub fn position_of(source: &str, byte_offset: usize) -> Position {
    let offset = source.floor_char_boundary(byte_offset);
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.bytes().filter(|&byte| byte == b'\n').count() + 1;
    let mut line_text = &before[line_start..];
    // TOML allows a leading byte-order mark and its spans count it, but no
    // editor shows it as a column.
    if line_start == 0 {
        line_text = line_text.strip_prefix('\u{feff}').unwrap_or(line_text);
    }
    Position {
        line,
        column: line_text.chars().count() + 1,
    }
}

/// A value reached by following a path, with the offset that names it.
struct Node<'a, 'i> {
    /// Start of the key for a table entry, of the value for an array element.
    offset: usize,
    value: &'a Spanned<DeValue<'i>>,
}

impl<'a, 'i> Node<'a, 'i> {
    fn child(&self, component: &str) -> Option<Node<'a, 'i>> {
        match self.value.get_ref() {
            DeValue::Table(table) => {
                let (key, value) = table.get_key_value(component)?;
                Some(Node {
                    offset: key.span().start,
                    value,
                })
            }
            DeValue::Array(array) => {
                let value = array.get(parse_index(component)?)?;
                Some(Node {
                    offset: value.span().start,
                    value,
                })
            }
            _ => None,
        }
    }

    /// Where to point when something *inside* this node is missing.
    fn fallback_offset(&self) -> usize {
        match self.value.get_ref() {
            // `toml` spans a header table from its `[`, an inline table from
            // its `{`, and a table implied by a dotted key or header at that
            // key, which is exactly the "where the table is opened" we want.
            DeValue::Table(_) => self.value.span().start,
            _ => self.offset,
        }
    }
}

/// Only plain decimal digits: `str::parse` would also accept `+1`, which no
/// validator produces and which should not silently alias element 1.
fn parse_index(component: &str) -> Option<usize> {
    if component.is_empty() || !component.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    component.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    fn exact(line: usize, column: usize) -> Option<Located> {
        Some(Located {
            position: pos(line, column),
            exact: true,
        })
    }

    fn fallback(line: usize, column: usize) -> Option<Located> {
        Some(Located {
            position: pos(line, column),
            exact: false,
        })
    }

    #[test]
    fn position_of_counts_lines_and_characters() {
        let source = "ab\ncd\n";
        assert_eq!(position_of(source, 0), pos(1, 1));
        assert_eq!(position_of(source, 1), pos(1, 2));
        assert_eq!(position_of(source, 2), pos(1, 3));
        assert_eq!(position_of(source, 3), pos(2, 1));
        assert_eq!(position_of(source, 4), pos(2, 2));
        assert_eq!(position_of(source, 6), pos(3, 1));
    }

    #[test]
    fn position_of_counts_swedish_letters_as_one_column() {
        // "å", "ä" and "ö" are two bytes each; "x" is at byte 6.
        let source = "åäöx";
        assert_eq!(position_of(source, 6), pos(1, 4));
    }

    #[test]
    fn position_of_clamps_out_of_range_and_mid_character_offsets() {
        let source = "å\nb";
        // Byte 1 is inside "å".
        assert_eq!(position_of(source, 1), pos(1, 1));
        assert_eq!(position_of(source, 3), pos(2, 1));
        assert_eq!(position_of(source, 4), pos(2, 2));
        assert_eq!(position_of(source, 1000), pos(2, 2));
        assert_eq!(position_of("", 0), pos(1, 1));
        assert_eq!(position_of("", 5), pos(1, 1));
    }

    #[test]
    fn position_of_ignores_byte_order_mark() {
        let source = "\u{feff}a = 1\nb = 2\n";
        assert_eq!(position_of(source, 3), pos(1, 1));
        assert_eq!(locate(source, &["a"]), exact(1, 1));
        assert_eq!(locate(source, &["b"]), exact(2, 1));
    }

    #[test]
    fn top_level_key() {
        let source = "name = \"base\"\nseed = 42\n";
        assert_eq!(locate(source, &["name"]), exact(1, 1));
        assert_eq!(locate(source, &["seed"]), exact(2, 1));
    }

    #[test]
    fn dotted_keys() {
        let source = "x = 0\na.b.c = 1\n  a . d = 2\n";
        assert_eq!(locate(source, &["a", "b", "c"]), exact(2, 5));
        assert_eq!(locate(source, &["a", "b"]), exact(2, 3));
        assert_eq!(locate(source, &["a"]), exact(2, 1));
        assert_eq!(locate(source, &["a", "d"]), exact(3, 7));
    }

    #[test]
    fn table_and_subtable_headers() {
        let source = "\
[population]
size = 1000

[population.age]
min = 16
max = 64
";
        assert_eq!(locate(source, &["population"]), exact(1, 2));
        assert_eq!(locate(source, &["population", "size"]), exact(2, 1));
        assert_eq!(locate(source, &["population", "age"]), exact(4, 13));
        assert_eq!(locate(source, &["population", "age", "max"]), exact(6, 1));
    }

    #[test]
    fn implicit_tables_from_dotted_headers() {
        let source = "\
[states.work.wage]
mean = 30000
";
        // `states` and `states.work` are never written as headers of their
        // own; they are where the dotted header names them.
        assert_eq!(locate(source, &["states"]), exact(1, 2));
        assert_eq!(locate(source, &["states", "work"]), exact(1, 9));
        assert_eq!(locate(source, &["states", "work", "wage"]), exact(1, 14));
        assert_eq!(
            locate(source, &["states", "work", "wage", "mean"]),
            exact(2, 1)
        );
    }

    #[test]
    fn implicit_table_later_given_its_own_header() {
        let source = "\
[a.b]
x = 1
[a]
y = 2
";
        assert_eq!(locate(source, &["a", "b", "x"]), exact(2, 1));
        assert_eq!(locate(source, &["a", "y"]), exact(4, 1));
        assert_eq!(locate(source, &["a", "missing"]), fallback(3, 1));
    }

    #[test]
    fn inline_tables() {
        let source = "x = { a = 1, b = { c = 2 } }\n";
        assert_eq!(locate(source, &["x"]), exact(1, 1));
        assert_eq!(locate(source, &["x", "a"]), exact(1, 7));
        assert_eq!(locate(source, &["x", "b"]), exact(1, 14));
        assert_eq!(locate(source, &["x", "b", "c"]), exact(1, 20));
    }

    #[test]
    fn arrays_by_index() {
        let source = "\
hazard = [0.1, 0.25, 0.5]
nested = [[1, 2], [3, 4]]
multiline = [
  \"first\",  # comment
  \"second\",
]
";
        assert_eq!(locate(source, &["hazard", "0"]), exact(1, 11));
        assert_eq!(locate(source, &["hazard", "1"]), exact(1, 16));
        assert_eq!(locate(source, &["hazard", "2"]), exact(1, 22));
        assert_eq!(locate(source, &["nested", "1", "0"]), exact(2, 20));
        assert_eq!(locate(source, &["multiline", "1"]), exact(5, 3));
    }

    #[test]
    fn arrays_of_tables_by_position() {
        let source = "\
[[arm]]
name = \"control\"

[[arm]]
name = \"treatment\"
share = 0.5
";
        assert_eq!(locate(source, &["arm", "0"]), exact(1, 1));
        assert_eq!(locate(source, &["arm", "1"]), exact(4, 1));
        assert_eq!(locate(source, &["arm", "0", "name"]), exact(2, 1));
        assert_eq!(locate(source, &["arm", "1", "share"]), exact(6, 1));
    }

    #[test]
    fn sub_table_of_array_of_tables_element() {
        let source = "\
[[arm]]
name = \"control\"
[[arm]]
name = \"treatment\"
[arm.rules]
max_days = 364
";
        assert_eq!(locate(source, &["arm", "1", "rules"]), exact(5, 6));
        assert_eq!(
            locate(source, &["arm", "1", "rules", "max_days"]),
            exact(6, 1)
        );
        assert_eq!(locate(source, &["arm", "0", "rules"]), fallback(1, 1));
    }

    #[test]
    fn quoted_keys() {
        let source = "\
\"sickness benefit\" = 1
[transitions.'sickness benefit']
'a.b' = 2
";
        assert_eq!(locate(source, &["sickness benefit"]), exact(1, 1));
        assert_eq!(
            locate(source, &["transitions", "sickness benefit"]),
            exact(2, 14)
        );
        // A quoted key containing a dot is one component, not two.
        assert_eq!(
            locate(source, &["transitions", "sickness benefit", "a.b"]),
            exact(3, 1)
        );
        assert_eq!(
            locate(source, &["transitions", "sickness benefit", "a", "b"]),
            fallback(2, 1)
        );
    }

    #[test]
    fn comments_and_blank_lines() {
        let source = "\
# Scenario header comment

   # indented comment
[model]   # trailing comment

# between keys

  horizon = 10 # years
";
        assert_eq!(locate(source, &["model"]), exact(4, 2));
        assert_eq!(locate(source, &["model", "horizon"]), exact(8, 3));
    }

    #[test]
    fn crlf_line_endings() {
        let source = "# comment\r\n[a]\r\nb = 1\r\n\r\nc = { d = 2 }\r\n";
        assert_eq!(locate(source, &["a"]), exact(2, 2));
        assert_eq!(locate(source, &["a", "b"]), exact(3, 1));
        assert_eq!(locate(source, &["a", "c", "d"]), exact(5, 7));
        assert_eq!(locate(source, &["a", "c", "e"]), fallback(5, 5));
    }

    #[test]
    fn non_ascii_text_before_the_key() {
        let source = "\
namn = \"Försäkringskassan\"
info = { beskrivning = \"sjukpenning för äldre\", \"ålder\" = 67, \"nivå\" = 0.8 }
";
        // The key's quote is the 49th character but the 51st byte: "ö" and
        // "ä" in the string are two bytes each. (Bare keys must be ASCII.)
        assert_eq!(locate(source, &["info", "ålder"]), exact(2, 49));
        assert_eq!(locate(source, &["info", "nivå"]), exact(2, 63));
    }

    #[test]
    fn full_scenario_path() {
        let source = "\
[transitions.sickness_benefit]
description = \"Sjukpenning för långvarigt sjuka\"

[transitions.sickness_benefit.to.work]
hazard = [0.02, 0.03, 0.04]
";
        let path = [
            "transitions",
            "sickness_benefit",
            "to",
            "work",
            "hazard",
            "2",
        ];
        assert_eq!(locate(source, &path), exact(5, 23));
        assert_eq!(locate(source, &path[..4]), exact(4, 34));
    }

    #[test]
    fn missing_key_in_header_table_falls_back_to_header() {
        let source = "\
[population]
size = 1000

  [population.age]
min = 16
";
        assert_eq!(
            locate(source, &["population", "age", "max"]),
            fallback(4, 3)
        );
        assert_eq!(locate(source, &["population", "seed"]), fallback(1, 1));
        // Several missing levels still stop at the deepest existing one.
        assert_eq!(
            locate(source, &["population", "age", "x", "y", "z"]),
            fallback(4, 3)
        );
    }

    #[test]
    fn missing_key_in_array_of_tables_element_falls_back_to_its_header() {
        let source = "\
[[arm]]
name = \"control\"
[[arm]]
name = \"treatment\"
";
        assert_eq!(locate(source, &["arm", "1", "share"]), fallback(3, 1));
        // Past the end: the array itself is the deepest ancestor, named by
        // its key in the first header.
        assert_eq!(locate(source, &["arm", "2"]), fallback(1, 3));
    }

    #[test]
    fn missing_key_in_inline_table_falls_back_to_opening_brace() {
        let source = "x = 1\nrates = { a = 1, b = { c = 2 } }\n";
        assert_eq!(locate(source, &["rates", "missing"]), fallback(2, 9));
        assert_eq!(locate(source, &["rates", "b", "missing"]), fallback(2, 22));
    }

    #[test]
    fn missing_key_in_dotted_table_falls_back_to_dotted_key() {
        let source = "a.b.c = 1\n";
        assert_eq!(locate(source, &["a", "b", "missing"]), fallback(1, 3));
    }

    #[test]
    fn missing_array_element_falls_back_to_array_key() {
        let source = "top = 0\nhazard = [0.1, 0.2]\n";
        assert_eq!(locate(source, &["hazard", "2"]), fallback(2, 1));
        assert_eq!(locate(source, &["hazard", "x"]), fallback(2, 1));
        assert_eq!(locate(source, &["hazard", "+1"]), fallback(2, 1));
        assert_eq!(locate(source, &["hazard", "-1"]), fallback(2, 1));
        assert_eq!(locate(source, &["hazard", ""]), fallback(2, 1));
        assert_eq!(
            locate(source, &["hazard", "99999999999999999999999"]),
            fallback(2, 1)
        );
    }

    #[test]
    fn path_into_non_table_value_falls_back_to_that_value_key() {
        let source = "x = 1\n  a = 3\n";
        assert_eq!(locate(source, &["a", "b"]), fallback(2, 3));
        assert_eq!(locate(source, &["a", "0"]), fallback(2, 3));
        assert_eq!(locate(source, &["a", "b", "c"]), fallback(2, 3));
    }

    #[test]
    fn path_into_scalar_array_element_falls_back_to_the_element() {
        let source = "hazard = [0.1, 0.2]\n";
        assert_eq!(locate(source, &["hazard", "1", "x"]), fallback(1, 16));
    }

    #[test]
    fn none_when_unparseable_or_first_component_missing() {
        assert_eq!(locate("a = ", &["a"]), None);
        assert_eq!(locate("[a]\nb = 1\n[a]\n", &["a"]), None);
        assert_eq!(locate("a = 1\n", &["b"]), None);
        assert_eq!(locate("a = 1\n", &["b", "c"]), None);
        assert_eq!(locate("a = 1\n", &[]), None);
        assert_eq!(locate("", &["a"]), None);
    }

    #[test]
    fn never_panics_on_truncated_source() {
        let sample = "\
\u{feff}# Scenario: sjukförsäkring
name = \"bas\"
seed = 42
a.b.'c d' = { x = [1, 2, { y = 3 }], \"z\" = \"åäö\" }

[transitions.sickness_benefit]\r
description = \"\"\"
Långvarigt sjuka\"\"\"
[transitions.sickness_benefit.to.work]
hazard = [
  0.02,  # första året
  0.03,
]

[[arm]]
name = 'kontroll'
[[arm]]
name = 'behandling'
[arm.rules]
max = 364
";
        let paths: &[&[&str]] = &[
            &[],
            &["name"],
            &["seed", "x"],
            &["a", "b", "c d", "x", "2", "y"],
            &["a", "b", "c d", "z"],
            &[
                "transitions",
                "sickness_benefit",
                "to",
                "work",
                "hazard",
                "1",
            ],
            &["transitions", "sickness_benefit", "description"],
            &["arm", "1", "rules", "max"],
            &["arm", "5", "name"],
            &["missing"],
        ];
        let ends = sample
            .char_indices()
            .map(|(index, _)| index)
            .chain([sample.len()]);
        for end in ends {
            let prefix = &sample[..end];
            for path in paths {
                let _ = locate(prefix, path);
            }
        }
        for offset in 0..=sample.len() + 2 {
            let _ = position_of(sample, offset);
        }
        // The full sample must actually exercise the lookups above.
        assert_eq!(locate(sample, &["arm", "1", "rules", "max"]), exact(20, 1));
    }
}
