//! Every user-facing text of the HTML report, one table per language ([`EN`], [`SV`]),
//! and the number formats of each language. A translator edits this file only.
//!
//! Templates hold `{name}` placeholders that [`fill`] replaces; the values put into them
//! are already formatted (and, in the report, HTML-escaped) by the caller.

/// A report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Sv,
}

/// U+2212 MINUS SIGN: the typographic minus, the same width as a digit.
pub const MINUS: char = '\u{2212}';
/// U+00A0 NO-BREAK SPACE: the Swedish thousands separator, so that a number never breaks
/// over two lines.
pub const NBSP: char = '\u{a0}';

impl Lang {
    /// `"en"` or `"sv"` (also the value of `<html lang>`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sv => "sv",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "sv" => Some(Lang::Sv),
            _ => None,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Sv => &SV,
        }
    }

    /// The label in this language: the Swedish one when it is given, else the English.
    pub fn pick<'a>(self, en: &'a str, sv: &'a str) -> &'a str {
        match self {
            Lang::Sv if !sv.is_empty() => sv,
            _ => en,
        }
    }

    fn group_sep(self) -> &'static str {
        match self {
            Lang::En => ",",
            Lang::Sv => "\u{a0}",
        }
    }

    fn decimal_mark(self) -> char {
        match self {
            Lang::En => '.',
            Lang::Sv => ',',
        }
    }

    /// `x` rounded to `decimals`, with the language's thousands separator and decimal
    /// mark and a typographic minus; a value that rounds to zero has no sign; NaN is "–".
    /// English `-1234567.25` → `−1,234,567.3`, Swedish → `−1 234 567,3` (no-break spaces).
    pub fn number(self, x: f64, decimals: usize) -> String {
        if !x.is_finite() {
            return "–".into();
        }
        let digits = format!("{:.*}", decimals, x.abs());
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits.as_str(), None),
        };
        let mut out = String::new();
        let zero = digits.bytes().all(|b| b == b'0' || b == b'.');
        if x < 0.0 && !zero {
            out.push(MINUS);
        }
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i).is_multiple_of(3) {
                out.push_str(self.group_sep());
            }
            out.push(c);
        }
        if let Some(f) = frac {
            out.push(self.decimal_mark());
            out.push_str(f);
        }
        out
    }

    /// As [`Lang::number`], with an explicit `+` on positive values (for differences).
    pub fn signed(self, x: f64, decimals: usize) -> String {
        let s = self.number(x, decimals);
        if x.is_finite() && x > 0.0 && s.chars().any(|c| ('1'..='9').contains(&c)) {
            format!("+{s}")
        } else {
            s
        }
    }

    /// Thousands of the currency, no decimals (the unit of the balance-sheet tables).
    pub fn thousands(self, x: f64) -> String {
        self.number(x / 1000.0, 0)
    }

    /// A share as a percentage: English `56.7%`, Swedish `56,7 %`.
    pub fn pct(self, share: f64, decimals: usize) -> String {
        if !share.is_finite() {
            return "–".into();
        }
        let n = self.number(share * 100.0, decimals);
        match self {
            Lang::En => format!("{n}%"),
            Lang::Sv => format!("{n}{NBSP}%"),
        }
    }

    /// The unit of the tables: `kSEK` / `tkr` (thousands of the currency).
    pub fn thousands_unit(self, currency: &str) -> String {
        match (self, currency) {
            (Lang::Sv, "SEK") => "tkr".into(),
            (Lang::Sv, c) => format!("tusen {c}"),
            (Lang::En, c) => format!("k{c}"),
        }
    }

    /// The unit of single amounts: `SEK` / `kr`.
    pub fn currency_unit(self, currency: &str) -> String {
        match (self, currency) {
            (Lang::Sv, "SEK") => "kr".into(),
            (_, c) => c.into(),
        }
    }

    /// An amount in words at `scale` (1e6 or 1e3): English `12.3 million SEK`, Swedish
    /// `12,3 miljoner kronor`; with `signed`, an explicit sign, else the absolute value
    /// (the sentence then says "pays" or "gains").
    pub fn amount_in(self, x: f64, scale: f64, currency: &str, signed: bool) -> String {
        let millions = scale >= 1e6;
        let d = if millions { 1 } else { 0 };
        let n = if signed {
            self.signed(x / scale, d)
        } else {
            self.number(x.abs() / scale, d)
        };
        let unit = match (self, millions, currency) {
            (Lang::En, true, c) => format!("million {c}"),
            (Lang::En, false, c) => format!("thousand {c}"),
            (Lang::Sv, true, "SEK") => "miljoner kronor".into(),
            (Lang::Sv, true, c) => format!("miljoner {c}"),
            (Lang::Sv, false, "SEK") => "tusen kronor".into(),
            (Lang::Sv, false, c) => format!("tusen {c}"),
        };
        format!("{n} {unit}")
    }

    /// [`Lang::amount_in`] at the amount's own scale, absolute value.
    pub fn amount_words(self, x: f64, currency: &str) -> String {
        self.amount_in(x, word_scale(&[x]), currency, false)
    }
}

/// Millions when any of `xs` reaches a million in absolute value, else thousands.
pub fn word_scale(xs: &[f64]) -> f64 {
    if xs.iter().any(|x| x.abs() >= 1e6) {
        1e6
    } else {
        1e3
    }
}

/// Replace every `{name}` in `template` by its value.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in args {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// The texts of one language. Field names say where a text appears.
#[derive(Debug)]
pub struct Texts {
    pub report_kicker: &'static str,
    pub toc: &'static str,
    pub meta_persons: &'static str,
    pub meta_replications: &'static str,
    pub meta_horizon: &'static str,
    pub meta_discount: &'static str,
    pub meta_prices: &'static str,
    pub meta_seed: &'static str,
    pub meta_version: &'static str,
    pub meta_overrides: &'static str,
    pub months: &'static str,
    pub years: &'static str,
    pub per_year: &'static str,
    /// Joins the last two items of a list: "work, studies or subsidised work".
    pub or: &'static str,
    /// Percentage points.
    pub pp: &'static str,

    pub h_summary: &'static str,
    /// `{arm}`, `{cf}`, `{persons}`, `{horizon}`, `{reps}`, `{rate}`, `{prices}`.
    pub summary_intro: &'static str,
    /// `{year}`.
    pub summary_prices: &'static str,
    /// `{amount}`, `{lo}`, `{hi}`, `{p}`, `{verdict}`.
    pub summary_society_gain: &'static str,
    pub summary_society_loss: &'static str,
    pub verdict_very_likely_gain: &'static str,
    pub verdict_likely_gain: &'static str,
    pub verdict_uncertain: &'static str,
    pub verdict_likely_loss: &'static str,
    pub verdict_very_likely_loss: &'static str,
    /// `{month}`, `{never}`.
    pub summary_payback: &'static str,
    /// `{never}`.
    pub summary_no_payback: &'static str,
    /// `{list}`.
    pub summary_actors: &'static str,
    /// `{actor}`, `{amount}`.
    pub actor_gains: &'static str,
    pub actor_pays: &'static str,
    /// `{participants}`.
    pub summary_participants: &'static str,

    pub h_balance: &'static str,
    /// `{unit}`.
    pub balance_note: &'static str,
    pub col_actor: &'static str,
    pub col_counterfactual: &'static str,
    pub col_scenario: &'static str,
    pub col_difference: &'static str,
    /// `{unit}`, `{denominator}`.
    pub col_per_participant: &'static str,
    pub per_participants: &'static str,
    pub per_persons: &'static str,
    pub col_prob_gain: &'static str,
    pub col_payback: &'static str,
    pub payback_never: &'static str,
    /// `{month}`.
    pub payback_month: &'static str,
    pub h_split: &'static str,
    pub split_note: &'static str,
    pub col_production: &'static str,
    pub col_transfers: &'static str,
    pub col_resources: &'static str,
    pub col_investment: &'static str,
    pub col_women: &'static str,
    pub col_men: &'static str,
    pub col_all: &'static str,
    /// `{arm}`, `{cf}`.
    pub vs: &'static str,
    /// `{mean}`, `{lo}`, `{hi}`, `{persons}`.
    pub participants_line: &'static str,

    pub h_who_pays: &'static str,
    pub who_pays_note: &'static str,
    pub h_cumulative: &'static str,
    pub cumulative_note: &'static str,
    /// `{month}`.
    pub payback_legend: &'static str,
    pub h_histogram: &'static str,
    /// `{p}`, `{reps}`.
    pub histogram_note: &'static str,
    pub histogram_missing: &'static str,
    pub replications_axis: &'static str,
    pub h_tornado: &'static str,
    /// `{actor}`, `{base}`, `{unit}`.
    pub tornado_note: &'static str,
    pub tornado_low: &'static str,
    pub tornado_high: &'static str,
    pub h_occupancy: &'static str,
    pub occupancy_note: &'static str,
    pub occupancy_missing: &'static str,
    pub share_axis: &'static str,
    pub month_axis: &'static str,
    pub h_sex: &'static str,
    /// `{states}`.
    pub sex_note: &'static str,
    pub months_since_entry: &'static str,

    pub h_outcomes: &'static str,
    /// `{states}`.
    pub outcomes_note: &'static str,
    pub col_arm: &'static str,
    pub col_sex: &'static str,
    /// `{month}`.
    pub col_month: &'static str,
    pub difference_row: &'static str,
    pub h_measures: &'static str,
    pub col_measure: &'static str,
    pub col_cost_per_unit: &'static str,

    pub h_exclusion: &'static str,
    /// `{reference}`, `{unit}`.
    pub exclusion_note: &'static str,
    pub col_state: &'static str,

    pub h_assumptions: &'static str,
    /// `{file}`.
    pub assumptions_note: &'static str,
    pub col_parameter: &'static str,
    pub col_value: &'static str,
    pub col_source: &'static str,
    pub uncertain_badge: &'static str,
    /// `{value}`.
    pub overridden: &'static str,
    pub set_on_command_line: &'static str,
    pub h_appendix: &'static str,
    /// `{command}`.
    pub appendix_note: &'static str,
    /// `{version}`.
    pub footer: &'static str,
}

pub static EN: Texts = Texts {
    report_kicker: "Socioeconomic balance sheet (socioekonomiskt bokslut)",
    toc: "Contents",
    meta_persons: "Persons in the cohort",
    meta_replications: "Simulated replications",
    meta_horizon: "Horizon",
    meta_discount: "Discount rate (real)",
    meta_prices: "Prices",
    meta_seed: "Seed",
    meta_version: "rehabsim version",
    meta_overrides: "Changed on the command line",
    months: "months",
    years: "years",
    per_year: "a year",
    or: "or",
    pp: "pp",

    h_summary: "Summary",
    summary_intro: "This report compares <b>{arm}</b> with <b>{cf}</b> for {persons} persons over {horizon}, in {reps} simulated replications. Amounts are discounted at {rate} a year{prices}.",
    summary_prices: ", at {year} prices",
    summary_society_gain: "For society as a whole the programme gains {amount} on average (90 % interval {lo} to {hi}). The probability that society comes out ahead is {p}: {verdict}.",
    summary_society_loss: "For society as a whole the programme costs {amount} on average (90 % interval {lo} to {hi}). The probability that society comes out ahead is {p}: {verdict}.",
    verdict_very_likely_gain: "a gain is very likely",
    verdict_likely_gain: "a gain is likely",
    verdict_uncertain: "the result could go either way",
    verdict_likely_loss: "a loss is likely",
    verdict_very_likely_loss: "a loss is very likely",
    summary_payback: "Society's cumulative discounted difference turns positive for good from month {month} (median over replications); in {never} of the replications it does not pay back within the horizon.",
    summary_no_payback: "In most replications ({never}) society does not get its money back within the horizon.",
    summary_actors: "Who pays and who gains (mean): {list}.",
    actor_gains: "{actor} gains {amount}",
    actor_pays: "{actor} pays {amount}",
    summary_participants: "On average {participants} persons took part in the programme.",

    h_balance: "Balance sheet per actor",
    balance_note: "Discounted {unit} over the horizon: mean over replications and, in brackets, the 90 % interval. A positive figure means the actor gains, a negative one that it pays. The difference is scenario minus counterfactual.",
    col_actor: "Actor",
    col_counterfactual: "Counterfactual",
    col_scenario: "Scenario",
    col_difference: "Difference",
    col_per_participant: "Difference per {denominator} ({unit})",
    per_participants: "participant",
    per_persons: "person",
    col_prob_gain: "Probability of a gain",
    col_payback: "Payback (median)",
    payback_never: "not within the horizon",
    payback_month: "month {month}",
    h_split: "How the difference arises",
    split_note: "The difference (mean) split into production (value of work done), transfers between actors (they cancel out for society) and resources consumed; the programme investment is part of resources. Then the difference for women and for men.",
    col_production: "Production",
    col_transfers: "Transfers",
    col_resources: "Resources",
    col_investment: "of which programme investment",
    col_women: "Women",
    col_men: "Men",
    col_all: "All",
    vs: "{arm} compared with {cf}",
    participants_line: "Participants: {mean} (90 % interval {lo} to {hi}) of {persons} persons.",

    h_who_pays: "Who pays, who gains",
    who_pays_note: "Difference per actor (mean, with the 90 % interval as a line). Bars to the right: the actor gains; to the left: the actor pays.",
    h_cumulative: "Cumulative discounted difference over time",
    cumulative_note: "Mean cumulative discounted difference per actor, month by month. A dot marks the payback month (median over replications): from then on the actor stays ahead.",
    payback_legend: "payback month {month}",
    h_histogram: "Distribution of society's difference",
    histogram_note: "Society's difference in each of the {reps} replications. Probability of a positive result: {p}.",
    histogram_missing: "The per-replication results are not in this summary.json (written by an older version); run again to draw this chart.",
    replications_axis: "replications",
    h_tornado: "Sensitivity: tornado diagram",
    tornado_note: "One parameter at a time at its low and high value; the bars show the difference for {actor} ({unit}), the line its base value {base}.",
    tornado_low: "low value",
    tornado_high: "high value",
    h_occupancy: "Who is where: support states over time",
    occupancy_note: "Share of persons in each support state by month (line: mean over replications; band: 90 % interval).",
    occupancy_missing: "occupancy.csv has no rows for this arm.",
    share_axis: "share of persons",
    month_axis: "month",
    h_sex: "Outcomes for women and men",
    sex_note: "Share of persons in {states}, by months since entry, for women and for men (mean over replications).",
    months_since_entry: "months since entry",

    h_outcomes: "Outcomes",
    outcomes_note: "Share of persons in {states} by months since entry (mean over replications). The difference rows are in percentage points.",
    col_arm: "Arm",
    col_sex: "Sex",
    col_month: "{month} months",
    difference_row: "Difference",
    h_measures: "Outcome measures (difference, discounted)",
    col_measure: "Measure",
    col_cost_per_unit: "Society's cost per unit",

    h_exclusion: "The cost of one year of exclusion",
    exclusion_note: "Yearly cost ({unit}, undiscounted) of one person in each support state compared with the same person in {reference}, per actor, from the scenario's own unit costs (the classic figure of the Swedish method). Negative: the actor loses.",
    col_state: "Support state",

    h_assumptions: "Assumptions",
    assumptions_note: "Every value of the scenario file {file}, with its source as the file's comments give it. Values marked as uncertain were drawn anew in each replication (probabilistic sensitivity analysis).",
    col_parameter: "Parameter",
    col_value: "Value",
    col_source: "Source and comment",
    uncertain_badge: "uncertain",
    overridden: "changed on the command line to {value}",
    set_on_command_line: "set on the command line",
    h_appendix: "Appendix: the scenario file",
    appendix_note: "The scenario exactly as it was run; to reproduce the results: {command}",
    footer: "Made with rehabsim {version}. A run is a pure function of the scenario file, the changes on the command line and the seed.",
};

pub static SV: Texts = Texts {
    report_kicker: "Socioekonomiskt bokslut",
    toc: "Innehåll",
    meta_persons: "Personer i kohorten",
    meta_replications: "Simulerade upprepningar",
    meta_horizon: "Tidshorisont",
    meta_discount: "Diskonteringsränta (real)",
    meta_prices: "Prisnivå",
    meta_seed: "Slumptalsfrö",
    meta_version: "rehabsim-version",
    meta_overrides: "Ändrat på kommandoraden",
    months: "månader",
    years: "år",
    per_year: "per år",
    or: "eller",
    pp: "p.e.",

    h_summary: "Sammanfattning",
    summary_intro: "Rapporten jämför <b>{arm}</b> med <b>{cf}</b> för {persons} personer över {horizon}, i {reps} simulerade upprepningar. Beloppen är diskonterade med {rate} per år{prices}.",
    summary_prices: ", i {year} års priser",
    summary_society_gain: "För samhället som helhet ger insatsen i genomsnitt en vinst på {amount} (90 %-intervall {lo} till {hi}). Sannolikheten att samhället går med vinst är {p}: {verdict}.",
    summary_society_loss: "För samhället som helhet kostar insatsen i genomsnitt {amount} (90 %-intervall {lo} till {hi}). Sannolikheten att samhället går med vinst är {p}: {verdict}.",
    verdict_very_likely_gain: "en vinst är mycket sannolik",
    verdict_likely_gain: "en vinst är sannolik",
    verdict_uncertain: "resultatet kan gå åt båda hållen",
    verdict_likely_loss: "en förlust är sannolik",
    verdict_very_likely_loss: "en förlust är mycket sannolik",
    summary_payback: "Samhällets ackumulerade diskonterade skillnad är varaktigt positiv från månad {month} (median över upprepningarna); i {never} av upprepningarna betalar sig insatsen inte inom tidshorisonten.",
    summary_no_payback: "I de flesta upprepningarna ({never}) får samhället inte tillbaka sina pengar inom tidshorisonten.",
    summary_actors: "Vem betalar och vem vinner (medelvärde): {list}.",
    actor_gains: "{actor} vinner {amount}",
    actor_pays: "{actor} betalar {amount}",
    summary_participants: "I genomsnitt deltog {participants} personer i insatsen.",

    h_balance: "Bokslut per aktör",
    balance_note: "Diskonterade {unit} över tidshorisonten: medelvärde över upprepningarna och, inom hakparentes, 90 %-intervallet. Ett positivt belopp betyder att aktören vinner, ett negativt att den betalar. Skillnaden är scenariot minus jämförelsealternativet.",
    col_actor: "Aktör",
    col_counterfactual: "Jämförelsealternativ",
    col_scenario: "Scenario",
    col_difference: "Skillnad",
    col_per_participant: "Skillnad per {denominator} ({unit})",
    per_participants: "deltagare",
    per_persons: "person",
    col_prob_gain: "Sannolikhet för vinst",
    col_payback: "Återbetalningstid (median)",
    payback_never: "inte inom tidshorisonten",
    payback_month: "månad {month}",
    h_split: "Hur skillnaden uppstår",
    split_note: "Skillnaden (medelvärde) uppdelad på produktion (värdet av utfört arbete), transfereringar mellan aktörer (de tar ut varandra för samhället) och förbrukade resurser; insatskostnaden ingår i resurserna. Därefter skillnaden för kvinnor och för män.",
    col_production: "Produktion",
    col_transfers: "Transfereringar",
    col_resources: "Resurser",
    col_investment: "varav insatskostnad",
    col_women: "Kvinnor",
    col_men: "Män",
    col_all: "Alla",
    vs: "{arm} jämfört med {cf}",
    participants_line: "Deltagare: {mean} (90 %-intervall {lo} till {hi}) av {persons} personer.",

    h_who_pays: "Vem betalar, vem vinner",
    who_pays_note: "Skillnad per aktör (medelvärde, med 90 %-intervallet som linje). Stapel åt höger: aktören vinner; åt vänster: aktören betalar.",
    h_cumulative: "Ackumulerad diskonterad skillnad över tid",
    cumulative_note: "Genomsnittlig ackumulerad diskonterad skillnad per aktör, månad för månad. En punkt markerar återbetalningsmånaden (median över upprepningarna): därefter ligger aktören kvar på plus.",
    payback_legend: "återbetald månad {month}",
    h_histogram: "Fördelning av samhällets skillnad",
    histogram_note: "Samhällets skillnad i var och en av de {reps} upprepningarna. Sannolikhet för ett positivt resultat: {p}.",
    histogram_missing: "Resultaten per upprepning saknas i denna summary.json (skriven av en äldre version); kör om för att rita diagrammet.",
    replications_axis: "upprepningar",
    h_tornado: "Känslighetsanalys: tornadodiagram",
    tornado_note: "En parameter i taget på sitt låga och höga värde; staplarna visar skillnaden för {actor} ({unit}), linjen basvärdet {base}.",
    tornado_low: "lågt värde",
    tornado_high: "högt värde",
    h_occupancy: "Vem är var: försörjningslägen över tid",
    occupancy_note: "Andel personer i varje försörjningsläge per månad (linje: medelvärde över upprepningarna; band: 90 %-intervall).",
    occupancy_missing: "occupancy.csv saknar rader för detta alternativ.",
    share_axis: "andel personer",
    month_axis: "månad",
    h_sex: "Utfall för kvinnor och män",
    sex_note: "Andel personer i {states}, efter månader sedan start, för kvinnor och för män (medelvärde över upprepningarna).",
    months_since_entry: "månader sedan start",

    h_outcomes: "Utfall",
    outcomes_note: "Andel personer i {states} efter månader sedan start (medelvärde över upprepningarna). Skillnadsraderna är i procentenheter.",
    col_arm: "Alternativ",
    col_sex: "Kön",
    col_month: "{month} månader",
    difference_row: "Skillnad",
    h_measures: "Utfallsmått (skillnad, diskonterad)",
    col_measure: "Mått",
    col_cost_per_unit: "Samhällets kostnad per enhet",

    h_exclusion: "Kostnaden för ett års utanförskap",
    exclusion_note: "Årlig kostnad ({unit}, odiskonterad) för en person i varje försörjningsläge jämfört med samma person i {reference}, per aktör, beräknad från scenariots egna styckkostnader (den svenska metodens klassiska nyckeltal). Negativt: aktören förlorar.",
    col_state: "Försörjningsläge",

    h_assumptions: "Antaganden",
    assumptions_note: "Varje värde i scenariofilen {file}, med källa så som filens kommentarer anger den. Värden markerade som osäkra drogs på nytt i varje upprepning (probabilistisk känslighetsanalys).",
    col_parameter: "Parameter",
    col_value: "Värde",
    col_source: "Källa och kommentar",
    uncertain_badge: "osäker",
    overridden: "ändrat på kommandoraden till {value}",
    set_on_command_line: "satt på kommandoraden",
    h_appendix: "Bilaga: scenariofilen",
    appendix_note: "Scenariot precis som det kördes; för att återskapa resultaten: {command}",
    footer: "Framtaget med rehabsim {version}. En körning bestäms helt av scenariofilen, ändringarna på kommandoraden och slumptalsfröet.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_numbers() {
        assert_eq!(Lang::En.number(-1234567.26, 1), "\u{2212}1,234,567.3");
        assert_eq!(Lang::En.number(999.4, 0), "999");
        assert_eq!(Lang::En.number(1000.0, 0), "1,000");
        assert_eq!(Lang::En.pct(0.5666, 1), "56.7%");
        assert_eq!(Lang::En.signed(4949.0, 0), "+4,949");
    }

    #[test]
    fn swedish_numbers() {
        assert_eq!(
            Lang::Sv.number(-1234567.26, 1),
            "\u{2212}1\u{a0}234\u{a0}567,3"
        );
        assert_eq!(Lang::Sv.number(12.0, 2), "12,00");
        assert_eq!(Lang::Sv.pct(0.5666, 1), "56,7\u{a0}%");
        assert_eq!(Lang::Sv.thousands(1_659_200.67), "1\u{a0}659");
        assert_eq!(
            Lang::Sv.amount_words(-2_136_000.0, "SEK"),
            "2,1 miljoner kronor"
        );
    }

    #[test]
    fn zero_has_no_sign_and_nan_is_a_dash() {
        assert_eq!(Lang::En.number(-0.0004, 2), "0.00");
        assert_eq!(Lang::Sv.thousands(-4.8e-9), "0");
        assert_eq!(Lang::Sv.signed(1e-9, 0), "0");
        assert_eq!(Lang::En.number(f64::NAN, 0), "–");
        assert_eq!(Lang::En.pct(f64::NAN, 1), "–");
    }

    #[test]
    fn fill_replaces_every_placeholder() {
        assert_eq!(
            fill("{a} and {b}, {a}", &[("a", "x"), ("b", "y")]),
            "x and y, x"
        );
    }
}
