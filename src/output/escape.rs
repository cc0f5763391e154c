//! HTML escaping, in one place: the report's templates (through [`Html`], the escaper
//! `askama.toml` names for `.html` templates), the charts' accessible names ([`esc`]) and
//! the few sentences whose translation carries markup ([`Markup`]) all escape alike:
//! `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`, `"` → `&quot;`, `'` → `&#39;`.
//!
//! A template writes every `{{ value }}` through [`Html`]; only a `{{ value|safe }}` is
//! written as it is, and the values written so are [`Markup`] (text escaped here, or
//! markup that rehabsim itself wrote) or the page's style sheet.

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

/// The escaper of the report's templates (askama's own `Html` escaper writes `&#34;`,
/// `&#38;`, … instead of the named entities the report has always had).
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: fmt::Write>(&self, dest: W, string: &str) -> fmt::Result {
        write_escaped(dest, string)
    }

    fn write_escaped_char<W: fmt::Write>(&self, mut dest: W, c: char) -> fmt::Result {
        match entity(c) {
            Some(e) => dest.write_str(e),
            None => dest.write_char(c),
        }
    }
}

/// A piece of HTML that is safe to write as it is: text escaped by [`Markup::text`], or
/// markup that rehabsim wrote itself ([`Markup::trusted`]: a chart drawn by plotters, which
/// escapes the text it draws, or a translation text with `<b>` in it). Templates write it
/// with `{{ value|safe }}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markup(String);

impl Markup {
    /// Plain text, escaped.
    pub fn text(s: &str) -> Markup {
        Markup(esc(s))
    }

    /// Markup as it is. Only for markup rehabsim wrote itself, never for text that comes
    /// from a scenario or a results file.
    pub fn trusted(s: impl Into<String>) -> Markup {
        Markup(s.into())
    }

    /// `self` as a template with `{name}` holes ([`crate::i18n::fill`]), filled with
    /// markup (escape plain text with [`Markup::text`] first).
    pub fn fill(&self, args: &[(&str, &Markup)]) -> Markup {
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Markup(crate::i18n::fill(&self.0, &args))
    }

    /// The pieces, with `sep` (markup) between them.
    pub fn join(pieces: &[Markup], sep: &str) -> Markup {
        let pieces: Vec<&str> = pieces.iter().map(Markup::as_str).collect();
        Markup(pieces.join(sep))
    }

    /// Append `other`, with `sep` (markup) before it.
    pub fn push(&mut self, sep: &str, other: &Markup) {
        self.0.push_str(sep);
        self.0.push_str(&other.0);
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Markup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::filters::Escaper;

    const NASTY: &str = "<script>alert('x') & \"y\"</script> åäö – ok";
    const ESCAPED: &str =
        "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt; åäö – ok";

    #[test]
    fn escapes_markup() {
        assert_eq!(esc(NASTY), ESCAPED);
        assert_eq!(esc(""), "");
        assert_eq!(Markup::text(NASTY).as_str(), ESCAPED);
    }

    #[test]
    fn the_template_escaper_escapes_as_esc_does() {
        let mut s = String::new();
        Html.write_escaped_str(&mut s, NASTY).unwrap();
        assert_eq!(s, ESCAPED);
        let mut c = String::new();
        for ch in NASTY.chars() {
            Html.write_escaped_char(&mut c, ch).unwrap();
        }
        assert_eq!(c, ESCAPED);
    }

    #[test]
    fn markup_fills_holes_with_markup() {
        let m = Markup::trusted("<b>{arm}</b> vs {cf}").fill(&[
            ("arm", &Markup::text("A & B")),
            ("cf", &Markup::trusted("<i>C</i>")),
        ]);
        assert_eq!(m.as_str(), "<b>A &amp; B</b> vs <i>C</i>");
    }
}
