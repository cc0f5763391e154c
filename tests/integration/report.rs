//! The HTML report (`run --out`, `rehabsim report`), its charts and escaping; CSV options.
//!
//! `run --out` and `rehabsim report` write the same page; the page shows the summary's
//! figures as formatted per language, every chart with its series, the assumptions, and
//! escapes everything that comes from the scenario.

use std::path::Path;

use assert_cmd::assert::Assert;
use predicates::prelude::*;
use rehabsim::Summary;
use rehabsim::i18n::{Lang, NBSP};
use rehabsim::output::charts;

use crate::util::{self, read};

const DEFAULT: &str = "scenarios/default.toml";
/// Small and fast, but with every feature of the default scenario.
const SMALL: [&str; 6] = ["--replications", "6", "--persons", "80", "--horizon", "36"];

/// A fresh temporary folder for one test (see [`util::tmp`]).
fn tmp(name: &str) -> util::Tmp {
    util::tmp(&format!("report-{name}"))
}

/// `rehabsim ARGS`, which must succeed.
fn ok(args: &[&str]) -> Assert {
    util::rehabsim().args(args).assert().success()
}

/// `run SCENARIO --out DIR --quiet` with the small settings and `extra` flags.
fn run_to(scenario: &Path, dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ];
    args.extend(SMALL);
    args.extend(extra);
    ok(&args);
}

fn summary(dir: &Path) -> Summary {
    serde_json::from_str(&read(&dir.join("summary.json"))).unwrap()
}

/// The text between `start` (inclusive) and the next `end` after it.
fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let i = s
        .find(start)
        .unwrap_or_else(|| panic!("`{start}` is not in the page"));
    let j = s[i..].find(end).map_or(s.len(), |j| i + j + end.len());
    &s[i..j]
}

/// The `<figure>` of a chart kind (and key).
fn figure<'a>(html: &'a str, kind: &str, key: &str) -> &'a str {
    between(
        html,
        &format!("<figure class=\"chart\" data-chart=\"{kind}\" data-key=\"{key}\">"),
        "</figure>",
    )
}

fn count(s: &str, needle: &str) -> usize {
    s.matches(needle).count()
}

/// The texts of an SVG, joined by spaces (legend labels may wrap over two lines).
fn svg_texts(svg: &str) -> String {
    svg.split("<text ")
        .skip(1)
        .filter_map(|t| t.split_once(">\n").map(|(_, rest)| rest))
        .filter_map(|t| t.split_once("\n</text>").map(|(text, _)| text))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `y` of the SVG text element that reads `text`.
fn text_y(svg: &str, text: &str) -> i32 {
    let end = svg
        .find(&format!(">\n{text}\n</text>"))
        .unwrap_or_else(|| panic!("no text `{text}`"));
    let start = svg[..end].rfind("<text ").unwrap();
    let y = between(&svg[start..end], " y=\"", "\" ");
    y[4..y.len() - 2].parse().unwrap()
}

/// SVG text as plotters writes it (it escapes `'` and `"` as entities).
fn svg_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[test]
fn run_and_report_write_the_same_page() {
    let dir = tmp("same");
    run_to(Path::new(DEFAULT), &dir, &[]);
    for f in [
        "summary.json",
        "balance.csv",
        "occupancy.csv",
        "scenario.toml",
        "report.html",
    ] {
        assert!(dir.join(f).exists(), "{f} is missing");
    }
    assert_eq!(read(&dir.join("scenario.toml")), read(Path::new(DEFAULT)));
    let written = read(&dir.join("report.html"));
    let again = dir.join("again.html");
    let o = ok(&[
        "report",
        dir.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ]);
    assert_eq!(written, read(&again), "report DIR re-renders another page");
    o.stderr(predicate::str::contains("again.html"));
    // The default report is English; --lang sv gives another page.
    assert!(written.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    ok(&["report", dir.to_str().unwrap(), "--lang", "sv"]);
    let sv = read(&dir.join("report.html"));
    assert!(sv.starts_with("<!DOCTYPE html>\n<html lang=\"sv\">"));
    // And `run --lang sv` writes exactly that page.
    let dir_sv = tmp("same-sv");
    run_to(Path::new(DEFAULT), &dir_sv, &["--lang", "sv"]);
    assert_eq!(read(&dir_sv.join("report.html")), sv);
}

#[test]
fn report_refuses_a_summary_of_another_format_version() {
    let dir = tmp("format");
    run_to(Path::new(DEFAULT), &dir, &[]);
    let path = dir.join("summary.json");
    let text = read(&path);
    assert!(text.starts_with("{\n  \"format\": \"rehabsim-summary\",\n  \"format_version\": 1,"));
    for (edited, says) in [
        (
            text.replacen("\"format_version\": 1,", "\"format_version\": 99,", 1),
            "has format version 99, but this rehabsim reads version 1",
        ),
        (
            text.replacen(
                "  \"format\": \"rehabsim-summary\",\n  \"format_version\": 1,\n",
                "",
                1,
            ),
            "is not a rehabsim summary (its `format` is not \"rehabsim-summary\"",
        ),
    ] {
        std::fs::write(&path, edited).unwrap();
        util::rehabsim()
            .args(["report", &dir.display().to_string()])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says))
            .stderr(predicate::str::contains(
                "write it again with `rehabsim run SCENARIO --out",
            ));
    }
}

#[test]
fn summary_json_reads_back_to_the_same_bytes() {
    let dir = tmp("roundtrip");
    run_to(Path::new(DEFAULT), &dir, &[]);
    let text = read(&dir.join("summary.json"));
    let s: Summary = serde_json::from_str(&text).unwrap();
    assert_eq!(
        String::from_utf8(rehabsim::output::json::summary_json(&s)).unwrap(),
        text
    );
    // Per-replication society differences: one per replication, their mean the summary's.
    let d = s.differences.values().next().unwrap();
    let soc = &d.per_replication["society"];
    assert_eq!(soc.len(), 6);
    let mean = soc.iter().sum::<f64>() / soc.len() as f64;
    assert!((mean - d.actors["society"].sheet.net.mean).abs() < 1e-6 * mean.abs().max(1.0));
    let positive = soc.iter().filter(|&&x| x > 0.0).count() as f64 / 6.0;
    assert_eq!(positive, d.actors["society"].prob_positive);
}

/// Every figure of the balance sheet table, as the page must show it for `lang`.
fn balance_rows_show_the_summary(html: &str, s: &Summary, lang: Lang) {
    let t = lang.texts();
    for (key, d) in &s.differences {
        let table = between(
            html,
            &format!("<table class=\"balance\" data-difference=\"{key}\">"),
            "</table>",
        );
        let cf = &s.arms[&d.counterfactual];
        let arm = &s.arms[&d.arm];
        for (id, da) in &d.actors {
            let row = between(table, &format!("data-actor=\"{id}\">"), "</tr>");
            let label = lang.pick(&da.sheet.label, &da.sheet.label_sv);
            let pp = &da.sheet.net_per_participant;
            let zero = da.sheet.net.p05 == 0.0 && da.sheet.net.p95 == 0.0;
            let payback = match (zero, da.payback.median_month) {
                (true, _) => "–".to_string(),
                (false, Some(m)) => t.payback_month.replace("{month}", &lang.number(m, 0)),
                (false, None) => t.payback_never.to_string(),
            };
            let mut expected = vec![label.to_string()];
            for st in [&cf.actors[id].net, &arm.actors[id].net] {
                expected.push(format!(">{}<", lang.thousands(st.mean)));
                expected.push(format!(
                    "[{}; {}]",
                    lang.thousands(st.p05),
                    lang.thousands(st.p95)
                ));
            }
            let net = &da.sheet.net;
            expected.push(format!(">{}<", lang.signed(net.mean / 1000.0, 0)));
            expected.push(format!(
                "[{}; {}]",
                lang.thousands(net.p05),
                lang.thousands(net.p95)
            ));
            expected.push(format!(">{}<", lang.signed(pp.mean, 0)));
            expected.push(format!(
                "[{}; {}]",
                lang.number(pp.p05, 0),
                lang.number(pp.p95, 0)
            ));
            if !zero {
                expected.push(format!(">{}<", lang.pct(da.prob_positive, 0)));
            }
            expected.push(format!(">{payback}<"));
            let mut at = 0;
            for e in &expected {
                let found = row[at..]
                    .find(e.as_str())
                    .unwrap_or_else(|| panic!("{id}: `{e}` is not in (after {at}) {row}"));
                at += found + e.len() - 1;
            }
        }
    }
}

#[test]
fn balance_sheet_shows_the_summary_figures_in_both_languages() {
    let dir = tmp("balance");
    run_to(Path::new(DEFAULT), &dir, &[]);
    let s = summary(&dir);
    let en = read(&dir.join("report.html"));
    balance_rows_show_the_summary(&en, &s, Lang::En);
    ok(&["report", dir.to_str().unwrap(), "--lang", "sv"]);
    let sv = read(&dir.join("report.html"));
    balance_rows_show_the_summary(&sv, &s, Lang::Sv);

    // Swedish formatting: a no-break space between thousands, a decimal comma, the
    // Swedish labels and terms.
    let ind = &s.arms[&s.counterfactual].actors["individual"].net;
    assert!(
        ind.p95.abs() >= 1e6,
        "the check needs a figure over a million"
    );
    let k = Lang::Sv.thousands(ind.p95);
    assert!(k.contains(NBSP), "{k}");
    assert!(sv.contains(&format!("[{}; {k}]", Lang::Sv.thousands(ind.p05))));
    assert!(sv.contains(&format!("{}{NBSP}%", Lang::Sv.number(3.5, 1))));
    assert!(sv.contains("3,5\u{a0}% per år"));
    for term in [
        "Socioekonomiskt bokslut",
        "Kommunen",
        "Regionen",
        "Försäkringskassan",
        "Arbetsförmedlingen",
        "Samhället totalt",
        "Jämförelsealternativ",
    ] {
        assert!(sv.contains(term), "{term} is not in the Swedish page");
    }
    assert!(en.contains("3.5% a year"));
    let balance = between(&en, "<section id=\"balance\">", "</section>");
    assert!(balance.contains("Social insurance agency"));
    assert!(!balance.contains("Försäkringskassan"));
}

#[test]
fn summary_paragraph_states_the_result_in_plain_words() {
    let dir = tmp("paragraph");
    run_to(Path::new(DEFAULT), &dir, &[]);
    let s = summary(&dir);
    let html = read(&dir.join("report.html"));
    let p = between(&html, "<p class=\"lead\">", "</p>");
    let d = &s.differences[0];
    let soc = &d.actors["society"];
    assert!(p.contains(&format!(
        "compares <b>{}</b> with <b>{}</b> for 80 persons over 36 months (3 years), in 6 \
         simulated replications",
        s.arms[&d.arm].label, s.arms[&d.counterfactual].label
    )));
    let amount = Lang::En.amount_words(soc.sheet.net.mean, "SEK");
    let verb = if soc.sheet.net.mean >= 0.0 {
        "gains"
    } else {
        "costs"
    };
    assert!(
        p.contains(&format!("the programme {verb} {amount} on average")),
        "{p}"
    );
    assert!(p.contains(&format!(
        "comes out ahead is {}",
        Lang::En.pct(soc.prob_positive, 0)
    )));
    let muni = &d.actors["municipality"].sheet.net.mean;
    let verb = if *muni >= 0.0 { "gains" } else { "pays" };
    assert!(p.contains(&format!(
        "Municipality {verb} {}",
        Lang::En.amount_words(*muni, "SEK")
    )));
}

#[test]
fn every_chart_is_an_svg_with_its_series() {
    let dir = tmp("charts");
    run_to(Path::new(DEFAULT), &dir, &[]);
    let s = summary(&dir);
    ok(&["report", dir.to_str().unwrap(), "--lang", "sv"]);
    let html = read(&dir.join("report.html"));
    let key = s.differences.keys().next().unwrap().clone();
    let d = &s.differences[&key];
    let src = rehabsim::scenario::load(Path::new(DEFAULT)).unwrap();
    let sc = src.compile().unwrap();
    let states = &sc.base().states();

    // Fan chart per arm: a band (polygon) and a line per state, each state in the legend.
    for arm in s.arms.keys() {
        let f = figure(&html, "occupancy", arm);
        assert_eq!(count(f, "<svg"), 1);
        assert_eq!(count(f, "<polygon"), states.len(), "{arm}");
        for (i, st) in states.iter().enumerate() {
            let c = charts::hex(charts::colour(i)).to_uppercase();
            assert_eq!(
                count(
                    f,
                    &format!(
                        "<polyline fill=\"none\" opacity=\"1\" stroke=\"{c}\" stroke-width=\"2\""
                    )
                ),
                2, // the series line and its legend swatch
                "{arm} {}",
                st.id
            );
            assert!(f.contains(&svg_text(&st.label_sv)), "{}", st.label_sv);
        }
    }

    // Who pays, who gains: a bar per actor with a non-zero difference, labelled.
    let f = figure(&html, "who-pays", &key);
    let shown: Vec<_> = d
        .actors
        .values()
        .filter(|a| !(a.sheet.net.p05 == 0.0 && a.sheet.net.p95 == 0.0))
        .collect();
    let gain = charts::hex(charts::GAIN).to_uppercase();
    let pay = charts::hex(charts::PAY).to_uppercase();
    let bars = count(f, &format!("fill=\"{gain}\"")) + count(f, &format!("fill=\"{pay}\""));
    assert_eq!(bars, shown.len());
    for a in &shown {
        assert!(
            f.contains(&svg_text(&a.sheet.label_sv)),
            "{}",
            a.sheet.label_sv
        );
    }

    // Cumulative difference: a line per actor that the programme touches, the payback
    // month in the legend.
    let f = figure(&html, "cumulative", &key);
    let texts = svg_texts(f);
    for (id, cum) in &d.cumulative {
        let a = &d.actors[id];
        if cum.iter().all(|x| x.abs() < 500.0) {
            continue;
        }
        assert!(texts.contains(&svg_text(&a.sheet.label_sv)), "{id}");
        if let Some(m) = a.payback.median_month {
            assert!(
                texts.contains(&svg_text(&format!(
                    "{}, återbetald månad {m}",
                    a.sheet.label_sv
                ))),
                "{id} payback {m}"
            );
        }
    }

    // Histogram: one bar per non-empty bin of society's per-replication differences,
    // and P(Δ > 0) in the caption.
    let f = figure(&html, "histogram", &key);
    let values = &d.per_replication["society"];
    let edges = charts::bin_edges(values);
    let nonempty = charts::bin_counts(values, &edges)
        .iter()
        .filter(|&&c| c > 0)
        .count();
    let bars = count(f, &format!("fill=\"{gain}\"")) + count(f, &format!("fill=\"{pay}\""));
    assert_eq!(bars, nonempty);
    assert!(f.contains(&format!(
        "positivt resultat: {}",
        Lang::Sv.pct(d.actors["society"].prob_positive, 0)
    )));

    // Outcomes by sex: women | men panels, a bar per arm and checkpoint in each.
    let f = figure(&html, "by-sex", "");
    assert!(f.contains(">\nKvinnor\n</text>") && f.contains(">\nMän\n</text>"));
    let months = s.arms[0].outcomes.len();
    let mut bars = 0;
    for (i, arm) in s.arms.values().enumerate() {
        let c = if arm.counterfactual {
            charts::GREY
        } else {
            charts::colour(i - 1)
        };
        // 2 panels × checkpoints, plus the legend swatch.
        let n = count(f, &format!("fill=\"{}\"", charts::hex(c).to_uppercase()));
        assert_eq!(n, 2 * months + 1, "{}", arm.label);
        bars += n;
        assert!(svg_texts(f).contains(&svg_text(&arm.label)));
    }
    assert_eq!(bars, s.arms.len() * (2 * months + 1));
    // No tornado without tornado.json.
    assert!(!html.contains("data-chart=\"tornado\""));
}

#[test]
fn tornado_json_is_drawn_when_it_belongs_to_the_run() {
    let dir = tmp("tornado");
    run_to(Path::new(DEFAULT), &dir, &[]);
    let s = summary(&dir);
    let key = s.differences.keys().next().unwrap().clone();
    let tornado = format!(
        r#"{{"scenario": {name}, "actor": "society", "difference": "{key}", "base": 1500000.0,
        "rows": [
          {{"parameter": "programmes.arena.effect", "low_value": 1.0, "high_value": 2.0,
            "net_low": -9000000.0, "net_high": 14000000.0, "swing": 23000000.0}},
          {{"parameter": "organisations.siloed.handover_failure", "low_value": 0.2,
            "high_value": 0.6, "net_low": 500000.0, "net_high": 2500000.0, "swing": 2000000.0}}
        ]}}"#,
        name = serde_json::to_string(&s.scenario).unwrap()
    );
    std::fs::write(dir.join("tornado.json"), &tornado).unwrap();
    ok(&["report", dir.to_str().unwrap(), "--lang", "sv"])
        .stderr(predicate::str::contains("warning").not());
    let html = read(&dir.join("report.html"));
    let f = figure(&html, "tornado", &key);
    assert_eq!(count(f, "<svg"), 1);
    // Widest swing on top; values with Swedish decimal commas.
    let a = text_y(f, "programmes.arena.effect (1 / 2)");
    let b = text_y(f, "organisations.siloed.handover_failure (0,2 / 0,6)");
    assert!(a < b, "{a} {b}");
    // Two bars per row (low and high value) and the legend.
    let low = charts::hex(charts::PALETTE[1]).to_uppercase();
    let high = charts::hex(charts::PALETTE[0]).to_uppercase();
    assert_eq!(count(f, &format!("fill=\"{low}\"")), 3);
    assert_eq!(count(f, &format!("fill=\"{high}\"")), 3);
    assert!(f.contains("basvärdet 1\u{a0}500"));
    assert!(html.contains("<a href=\"#tornado\">"));

    // A later run into the same folder keeps drawing it.
    run_to(Path::new(DEFAULT), &dir, &[]);
    assert!(read(&dir.join("report.html")).contains("data-chart=\"tornado\""));

    // A tornado.json of another scenario is left out, with a warning.
    std::fs::write(
        dir.join("tornado.json"),
        tornado.replacen(&serde_json::to_string(&s.scenario).unwrap(), "\"other\"", 1),
    )
    .unwrap();
    ok(&["report", dir.to_str().unwrap()]).stderr(predicate::str::contains(
        "tornado.json is left out of the report: it is of scenario `other`",
    ));
    assert!(!read(&dir.join("report.html")).contains("data-chart=\"tornado\""));
}

#[test]
fn scenario_text_is_escaped_everywhere() {
    let dir = tmp("escape");
    let text = read(Path::new(DEFAULT))
        .replacen(
            "name = \"Rehab arena (co-located) vs siloed agencies — default municipality\"",
            "name = \"<script>alert(1)</script>\"",
            1,
        )
        .replacen(
            "label_sv = \"Arbete\"",
            "label_sv = \"<img src=x onerror=alert(2)>\"",
            1,
        )
        .replacen(
            "label_sv = \"Kommunen\"",
            "label_sv = \"Kommunen</td><script>alert(3)</script>\"",
            1,
        )
        .replacen(
            "referral_until = 36              # referrals",
            "referral_until = 36              # <b>bold</b> & referrals",
            1,
        );
    let scenario = dir.join("evil.toml");
    std::fs::write(&scenario, &text).unwrap();
    run_to(&scenario, &dir, &["--lang", "sv"]);
    let html = read(&dir.join("report.html"));
    assert!(!html.contains("<script"), "a script tag got through");
    assert!(!html.contains("<img"));
    assert!(!html.contains("<b>bold</b>"));
    assert!(html.contains(
        "<title>Socioekonomiskt bokslut — &lt;script&gt;alert(1)&lt;/script&gt;</title>"
    ));
    assert!(html.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"));
    assert!(html.contains("Kommunen&lt;/td&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; referrals"));
    // Inside the SVG charts too (fan chart legend; who-pays axis labels).
    let f = figure(&html, "occupancy", "rehab_arena");
    assert!(f.contains("&lt;img src=x onerror=alert(2)&gt;"));
    // And nothing loads from anywhere: a CSP forbids it, and there is no URL to load.
    assert!(
        html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"")
    );
    for needle in ["http://", "https://", "src=\"", "@import", "url("] {
        let outside_svg_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!outside_svg_ns.contains(needle), "{needle}");
    }
}

#[test]
fn assumptions_list_every_value_with_its_source() {
    let dir = tmp("assumptions");
    run_to(
        Path::new(DEFAULT),
        &dir,
        &["--set", "programmes.arena.capacity=30"],
    );
    let html = read(&dir.join("report.html"));
    let table = between(&html, "<table class=\"assumptions\">", "</table>");
    let row = between(table, "<code>effect</code>", "</tr>");
    assert!(row.contains(
        "<code>{ dist = &quot;lognormal&quot;, median = 1.4, p05 = 1.0, p95 = 2.0 }</code>\
         <span class=\"badge\">uncertain</span>"
    ));
    assert!(row.contains("bracketed by Jakobsson et al. 2010 (OR ≈ 2, natural experiment)"));
    let row = between(table, "<code>discount_rate</code>", "</tr>");
    assert!(row.contains("<code>0.035</code>"));
    assert!(row.contains("HM Treasury Green Book"));
    let row = between(table, "<code>capacity</code>", "</tr>");
    assert!(row.contains("<code>60</code><br><b>changed on the command line to 30</b>"));
    // Each parameter links to its line in the appendix, which holds the file.
    let line = read(Path::new(DEFAULT))
        .lines()
        .position(|l| l.starts_with("capacity = 60"))
        .unwrap()
        + 1;
    assert!(html.contains(&format!("<a href=\"#L{line}\"><code>capacity</code></a>")));
    assert!(html.contains(&format!(
        "<span class=\"ln\" id=\"L{line}\" data-n=\"{line}\">capacity = 60                    # [A] places</span>"
    )));
    assert!(html.contains(
        "<code>rehabsim run scenario.toml --set programmes.arena.capacity=30 --set \
         scenario.replications=6"
    ));
    // Section notes come from the comments above the headers.
    assert!(table.contains("<code>[organisations.siloed]</code> — Organisation (MODEL.md §5.5)."));
}

#[test]
fn csv_separator_and_decimal_comma() {
    let plain = tmp("csv-plain");
    let swedish = tmp("csv-swedish");
    run_to(Path::new(DEFAULT), &plain, &[]);
    run_to(
        Path::new(DEFAULT),
        &swedish,
        &["--csv-sep", ";", "--decimal-comma"],
    );
    for f in ["balance.csv", "occupancy.csv"] {
        let a = read(&plain.join(f));
        let b = read(&swedish.join(f));
        // The same table: swap the separator and the decimal mark back.
        let back: String = b
            .chars()
            .map(|c| match c {
                ';' => ',',
                ',' => '.',
                c => c,
            })
            .collect();
        assert_eq!(back, a, "{f}");
        assert!(b.starts_with(if f == "balance.csv" {
            "kind;name;actor;component;sex;mean;p05;p50;p95;prob_positive\n"
        } else {
            "arm;month;state;sex;mean_count;mean_share;p05_share;p95_share\n"
        }));
        assert!(b.contains("0,"), "{f} has no decimal comma");
    }
    // The report reads either form and shows the same page.
    assert_eq!(
        read(&plain.join("report.html")),
        read(&swedish.join("report.html"))
    );
    ok(&["report", swedish.to_str().unwrap()]);
    assert_eq!(
        read(&plain.join("report.html")),
        read(&swedish.join("report.html"))
    );
    // --decimal-comma alone means ';'; a tab works too.
    let d = tmp("csv-tab");
    run_to(Path::new(DEFAULT), &d, &["--decimal-comma"]);
    assert!(read(&d.join("balance.csv")).starts_with("kind;name;"));
    run_to(Path::new(DEFAULT), &d, &["--csv-sep", "tab"]);
    assert!(read(&d.join("occupancy.csv")).starts_with("arm\tmonth\tstate\t"));
}

#[test]
fn bad_csv_options_are_refused_with_the_fix() {
    util::rehabsim()
        .args([
            "run",
            DEFAULT,
            "--csv-sep",
            ",",
            "--decimal-comma",
            "--replications",
            "1",
        ])
        .assert()
        .code(2)
        .stderr(
            "error: --decimal-comma writes 0,25 for a quarter, so the separator cannot also be a \
             comma: use --csv-sep ';' (or leave --csv-sep out)\n",
        );
    util::rehabsim()
        .args(["run", DEFAULT, "--csv-sep", "ab", "--replications", "1"])
        .assert()
        .code(2)
        .stderr(
            "error: --csv-sep \"ab\" is not a separator: give one punctuation character such as \
             ';' or '|', or `tab`\n",
        );
    util::rehabsim()
        .args(["run", DEFAULT, "--csv-sep", ".", "--replications", "1"])
        .assert()
        .code(2);
}

#[test]
fn report_of_a_folder_without_results_says_what_to_do() {
    let dir = tmp("empty");
    util::rehabsim()
        .args(["report", dir.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(format!(
            "error: {} is missing: `rehabsim report DIR` needs the folder of `rehabsim run \
             SCENARIO --out DIR` (summary.json, occupancy.csv and scenario.toml)\n",
            dir.join("summary.json").display()
        ));
    // A scenario file that does not belong to the summary.
    run_to(Path::new(DEFAULT), &dir, &[]);
    let other = read(&dir.join("scenario.toml")).replacen(
        "name = \"Rehab arena (co-located) vs siloed agencies — default municipality\"",
        "name = \"Another\"",
        1,
    );
    std::fs::write(dir.join("scenario.toml"), other).unwrap();
    util::rehabsim()
        .args(["report", dir.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("do not belong together"));
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let dir = tmp("progress");
    let mut args = vec!["run", DEFAULT, "--out", dir.to_str().unwrap()];
    args.extend(SMALL);
    let o = ok(&args);
    let err = String::from_utf8_lossy(&o.get_output().stderr);
    // Only plain lines: the break-even note and the run's summary line.
    assert!(err.lines().count() <= 2, "{err}");
    assert!(!err.contains('\r'), "{err}");
    assert!(err.contains("person-months in"));
    assert!(!err.contains("replications ·"));
    // --quiet keeps its meaning: no balance sheet on stdout.
    let mut args = args.clone();
    args.push("--quiet");
    ok(&args).stdout(predicate::str::is_empty());
}
