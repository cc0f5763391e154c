//! The scenario file itself (`appendix.html`), line by line with anchors (`#L12`) that the
//! assumptions table links to, and the command that reproduces the run.

use askama::Template;

use super::shared::Ctx;
use crate::i18n::Texts;
use crate::output::escape::Markup;
use crate::output::outdir::SCENARIO_FILE;

#[derive(Template)]
#[template(path = "appendix.html")]
pub(super) struct Section<'a> {
    t: &'static Texts,
    /// The note with the command in `<code>`.
    note: Markup,
    /// The scenario file as run.
    text: &'a str,
}

pub(super) fn section<'a>(c: &Ctx<'a>) -> Section<'a> {
    let mut command = format!("rehabsim run {SCENARIO_FILE}");
    for o in &c.s().overrides {
        command.push_str(" --set ");
        command.push_str(&shell_quote(o));
    }
    let code =
        Markup::trusted("<code>{command}</code>").fill(&[("command", &Markup::text(&command))]);
    Section {
        t: c.t,
        note: Markup::text(c.t.appendix_note).fill(&[("command", &code)]),
        text: c.r.scenario_text,
    }
}

/// Single-quote a word for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("scenario.seed=3"), "scenario.seed=3");
        assert_eq!(shell_quote("a.b=it's"), "'a.b=it'\\''s'");
        assert_eq!(
            shell_quote("population.start={ work = 1 }"),
            "'population.start={ work = 1 }'"
        );
    }
}
