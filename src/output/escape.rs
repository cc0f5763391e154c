//! HTML escaping, in one place: the report ([`super::html`]) and the charts' accessible
//! names ([`super::charts`]) escape alike: `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`,
//! `"` → `&quot;`, `'` → `&#39;`.

use std::fmt;

/// The entity of a character that HTML escapes, or `None`.
fn entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        '\'' => Some("&#39;"),
        _ => None,
    }
}

/// Write `s` escaped for element content and quoted attribute values.
fn write_escaped(mut out: impl fmt::Write, s: &str) -> fmt::Result {
    let mut from = 0;
    for (i, c) in s.char_indices() {
        if let Some(e) = entity(c) {
            out.write_str(&s[from..i])?;
            out.write_str(e)?;
            from = i + c.len_utf8();
        }
    }
    out.write_str(&s[from..])
}

/// HTML-escape text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = write_escaped(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NASTY: &str = "<script>alert('x') & \"y\"</script> åäö – ok";
    const ESCAPED: &str =
        "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt; åäö – ok";

    #[test]
    fn escapes_markup() {
        assert_eq!(esc(NASTY), ESCAPED);
        assert_eq!(esc(""), "");
    }
}
