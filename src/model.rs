//! The validated, compiled model of one arm: what the engine trusts.
//!
//! Built only by `scenario::validate`, so every invariant below holds by construction:
//! indices are in range, probabilities lie in [0, 1], piecewise tables are sorted and have
//! one more factor than breaks, share tables sum to 1, and all arms of a scenario have the
//! same states, actors, items, measures and cohort.
//!
//! Units: time is counted in *steps* (a month by default, a year with `step = "year"`);
//! money in SEK per step here, in öre once posted to the ledger.

use crate::dist::Dist;

/// Programme phases of a person, used to filter items (e.g. programme cost).
pub const PHASE_NONE: u8 = 0;
pub const PHASE_WAITING: u8 = 1;
pub const PHASE_IN: u8 = 2;
pub const PHASE_AFTER: u8 = 3;
pub const PHASE_NAMES: [&str; 4] = ["none", "waiting", "in_programme", "after"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Transfer,
    Production,
    Resource,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Transfer => "transfers",
            Class::Production => "production",
            Class::Resource => "resources",
        }
    }
}

/// How the values of a step are counted; see `docs/scenario.md`, "Counting convention".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Points 0..H-1: each step valued at its start (step 0 counted).
    Start,
    /// Points 1..H: each step valued at its end (the initial state not counted).
    End,
    /// Points 0..H with weight 1/2 at 0 and H (trapezoidal half-step correction).
    HalfStep,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Accounting {
    pub discount_rate: f64,
    pub measure_discount_rate: f64,
    pub counting: Counting,
    pub discount_from: u32,
    pub optimism_bias: f64,
    pub displacement: f64,
    /// The state a displaced worker stays in (out of work, on its benefits), if declared.
    pub displaced_to: Option<usize>,
}

impl Counting {
    pub fn name(self) -> &'static str {
        match self {
            Counting::Start => "start",
            Counting::End => "end",
            Counting::HalfStep => "half_step",
        }
    }
}

impl Accounting {
    /// Weight of trace point `p` (0..=H) under the counting convention.
    pub fn point_weight(&self, p: usize, horizon: usize) -> f64 {
        match self.counting {
            Counting::Start => f64::from(u8::from(p < horizon)),
            Counting::End => f64::from(u8::from(p > 0)),
            Counting::HalfStep => {
                if p == 0 || p == horizon {
                    0.5
                } else {
                    1.0
                }
            }
        }
    }

    /// Where in step `t` its step-level flows (budgets, one-off amounts) are valued.
    pub fn step_time(&self, t: usize) -> f64 {
        t as f64
            + match self.counting {
                Counting::Start => 0.0,
                Counting::End => 1.0,
                Counting::HalfStep => 0.5,
            }
    }

    /// Discount factor at time `time` (in steps) for an annual `rate`.
    pub fn discount(&self, rate: f64, time: f64, steps_per_year: u32) -> f64 {
        let exponent = (time - f64::from(self.discount_from)).max(0.0) / f64::from(steps_per_year);
        (1.0 + rate).powf(-exponent)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub id: String,
    pub label: String,
    pub label_sv: String,
    pub public: bool,
    pub outside: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub id: String,
    pub label: String,
    pub label_sv: String,
    /// The agency responsible for a person in this state; moves between two different
    /// agencies are hand-overs.
    pub agency: Option<usize>,
    pub success: bool,
    pub absorbing: bool,
    /// Index of the time-in-state clock this state runs (states sharing a clock do not
    /// reset it when a person moves between them).
    pub clock: usize,
}

/// A clock that survives a short spell in other states: a person who returns to its
/// states within `within` steps continues the count where it stopped (Försäkringskassan's
/// sickness case: a new spell within 90 days continues the same case); after that a
/// new case starts at 0. During a hand-over gap the case goes on counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseClock {
    /// Index of the clock in `Model::clock_names`.
    pub clock: usize,
    /// Steps outside after which a return no longer continues the case.
    pub within: u32,
}

/// A step function: `factors[i]` applies from `breaks[i-1]` (inclusive) to `breaks[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Piecewise {
    breaks: Vec<f64>,
    factors: Vec<f64>,
}

impl Piecewise {
    /// `breaks` strictly increasing, `factors.len() == breaks.len() + 1` (checked by validation).
    pub(crate) fn new(breaks: Vec<f64>, factors: Vec<f64>) -> Self {
        debug_assert_eq!(factors.len(), breaks.len() + 1);
        Piecewise { breaks, factors }
    }
    pub fn constant(v: f64) -> Self {
        Piecewise {
            breaks: vec![],
            factors: vec![v],
        }
    }
    pub fn at(&self, x: f64) -> f64 {
        let i = self.breaks.partition_point(|&b| b <= x);
        self.factors[i]
    }
    pub fn breaks(&self) -> &[f64] {
        &self.breaks
    }
    pub fn factors(&self) -> &[f64] {
        &self.factors
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Hazard,
    Probability,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dest {
    pub to: usize,
    /// Base rate (hazard or probability per step) by time on the clock.
    pub rate: Piecewise,
    /// Multiplier by age in years.
    pub age: Option<Piecewise>,
    /// Multiplier by simulation step.
    pub step: Option<Piecewise>,
    /// Multiply by the person's value of this attribute.
    pub attribute: Option<usize>,
    /// Whether the destination is a success state (risk factors and programme act on it).
    pub success: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transitions {
    pub mode: Mode,
    pub dests: Vec<Dest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomeFilter {
    Any,
    Positive,
    Zero,
}

/// A forced transition at a fixed time on the clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub from: usize,
    pub after: u32,
    /// Destinations with cumulative shares (last is 1).
    pub to: Vec<(usize, f64)>,
    pub income: IncomeFilter,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttributeSource {
    Draw(Dist),
    From(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub id: String,
    pub label: String,
    pub source: AttributeSource,
    pub zero_share: f64,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RiskKind {
    Prevalence(f64),
    AgeAtLeast(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RiskFactor {
    pub id: String,
    pub label: String,
    pub kind: RiskKind,
    pub hazard_ratio: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intake {
    pub first: u32,
    pub every: u32,
    pub size: u64,
}

impl Intake {
    /// The step at which person `i` (in intake order) enters: batch `i / size` enters at
    /// `first + batch × every` (capped at `u32::MAX`).
    pub fn entry(&self, i: usize) -> u32 {
        let batch = (i as u64) / self.size;
        (u64::from(self.first) + batch * u64::from(self.every)).min(u64::from(u32::MAX)) as u32
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub persons: u64,
    pub women_share: f64,
    pub age: Dist,
    pub retirement_age: f64,
    pub exit_state: usize,
    /// Start states with cumulative shares.
    pub start: Vec<(usize, f64)>,
    pub start_when_zero_income: Option<Vec<(usize, f64)>>,
    pub months_in_state: Option<Dist>,
    pub income_attribute: Option<usize>,
    pub intake: Intake,
    pub attributes: Vec<Attribute>,
    pub risk_factors: Vec<RiskFactor>,
    /// Divide prevalence risk factors' hazard ratios by their cohort mean, so that base
    /// hazards describe the average person rather than one without any risk factor.
    pub normalise_risk: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    /// Per person-step in one of `states`: `amount + Σ coef × attribute`, times `by_time`
    /// of the state's clock.
    State {
        states: Vec<bool>,
        amount: f64,
        per: Vec<(usize, f64)>,
        by_time: Option<Piecewise>,
    },
    /// A share of other items' amounts in the same cell (e.g. a tax on taxable income).
    Derived { of: Vec<(usize, f64)> },
    /// Per person-step in one of `states`: what tops the person's other income up to
    /// `norm`, `max(0, norm − Σ share × amount of item)` over `income` (state items, in
    /// the same cell; social assistance is means-tested). Computed per person (the
    /// ledger tally carries its sum per cell as top-up number `index`).
    TopUp {
        states: Vec<bool>,
        norm: f64,
        income: Vec<(usize, f64)>,
        /// Attributes that count as income too (a partner's wage), each times its share.
        attributes: Vec<(usize, f64)>,
        index: usize,
    },
    /// A one-off amount on entering `to` (from any state, or from those in `from`).
    OnEnter {
        to: usize,
        from: Option<Vec<bool>>,
        amount: f64,
    },
    /// A one-off amount when a hand-over gap ends and the person enters one of `to`: the
    /// receiving agency assesses them again.
    OnGapEnd { to: Vec<bool>, amount: f64 },
    /// A fixed budget spread evenly over steps `from..until`.
    Budget { total: f64, from: u32, until: u32 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub label: String,
    pub label_sv: String,
    pub class: Class,
    pub kind: ItemKind,
    /// Which programme phases the item accrues in (state and derived items).
    pub phases: [bool; 4],
    /// False when the item's organisation/location filter excludes this arm.
    pub active: bool,
    /// Counts as the programme investment ("insatskostnad") in the balance sheet.
    pub investment: bool,
    /// Cost multiplier (1 + optimism bias where the item asks for it).
    pub multiplier: f64,
}

/// One posting line of an item: the item's amount × `share` flows from payer to payee.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub item: usize,
    pub payer: usize,
    pub payee: usize,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub id: String,
    pub label: String,
    pub unit: String,
    pub values: Vec<f64>,
    pub attribute: Option<usize>,
    pub by_time: Option<Piecewise>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Organisation {
    pub id: String,
    pub label: String,
    pub handover_failure: f64,
    pub gap_months: Dist,
    /// Gap landing states, cumulative shares.
    pub gap_states: Vec<(usize, f64)>,
    pub effect_loss: f64,
    pub success_multiplier: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub id: String,
    pub label: String,
    pub success_multiplier: f64,
    pub dropout_multiplier: f64,
    pub extra_wait: u32,
    pub relapse: f64,
    /// Distance from the home municipality (km), for items paid per km (travel).
    pub distance_km: f64,
    /// The link to local employers: the share of those who complete the programme here
    /// whom an employer takes straight into `placement.1` (a job state).
    pub placement: Option<(f64, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Programme {
    pub id: String,
    pub label: String,
    pub eligible: Vec<bool>,
    pub referral: f64,
    pub referral_from: u32,
    pub referral_until: u32,
    pub capacity: Option<u64>,
    pub intake_first: u32,
    pub intake_every: u32,
    pub duration: u32,
    /// Monthly dropout hazard (before the location multiplier).
    pub dropout: f64,
    /// Hazard ratio on moves into success states while in the programme.
    pub effect: f64,
    /// Share of the excess hazard ratio kept from one step to the next after exit.
    pub retention_per_step: f64,
    pub dropout_effect_retained: f64,
    pub handover_at_exit: bool,
    /// How the agencies work for participants (e.g. co-located in a rehab arena).
    pub organisation: Option<Organisation>,
    /// Where the rehabilitation takes place.
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    pub id: String,
    pub label: String,
    pub counterfactual: bool,
    /// How the agencies work for everyone not in a programme.
    pub organisation: Organisation,
    pub programme: Option<Programme>,
}

impl Arm {
    /// The programme's location, or "none" without a programme.
    pub fn location_id(&self) -> &str {
        self.programme
            .as_ref()
            .map_or("none", |p| p.location.id.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub id: String,
    pub arm: usize,
    pub states: Vec<usize>,
    pub month: u32,
    pub share: f64,
    pub tolerance: f64,
    pub participants_only: bool,
    pub source: String,
}

/// The model of one arm. All arms of a scenario share everything but the values.
///
/// Only validation builds one (`scenario::Source::compile`): every invariant in the module
/// docs holds by construction, and code outside the crate reads a model through the
/// getters below but cannot change it. Inside the crate, code that derives a changed
/// model (the expected sheet's larger cohort, break-even's scaled effect) checks the
/// bounds the change can break again.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) price_year: Option<i64>,
    pub(crate) currency: String,
    pub(crate) seed: u64,
    pub(crate) replications: u32,
    pub(crate) horizon: u32,
    pub(crate) steps_per_year: u32,
    pub(crate) accounting: Accounting,
    pub(crate) actors: Vec<Actor>,
    pub(crate) states: Vec<State>,
    pub(crate) clock_names: Vec<String>,
    /// The clock that resumes after a short spell elsewhere (the sickness case), if any.
    pub(crate) case: Option<CaseClock>,
    pub(crate) transitions: Vec<Option<Transitions>>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) population: Population,
    pub(crate) items: Vec<Item>,
    pub(crate) lines: Vec<Line>,
    pub(crate) measures: Vec<Measure>,
    pub(crate) arm: Arm,
    /// `handover[from * S + to]`: a move from→to changes the responsible agency.
    pub(crate) handover: Vec<bool>,
    pub(crate) targets: Vec<Target>,
    /// The men's model, where the scenario gives values by sex (`{ women = …, men = … }`);
    /// this one is then the women's. Both share everything a cohort shares
    /// (`scenario::validate::check_sexes`).
    pub(crate) men: Option<Box<Model>>,
}

impl Model {
    /// The model of sex `sex` (0 women, 1 men): this one, or the men's where values
    /// differ by sex.
    #[inline(always)]
    pub fn for_sex(&self, sex: usize) -> &Model {
        match (&self.men, sex) {
            (Some(m), 1) => m,
            _ => self,
        }
    }

    /// Whether some value differs between women and men.
    pub fn by_sex(&self) -> bool {
        self.men.is_some()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn price_year(&self) -> Option<i64> {
        self.price_year
    }

    pub fn currency(&self) -> &str {
        &self.currency
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn replications(&self) -> u32 {
        self.replications
    }

    pub fn horizon(&self) -> u32 {
        self.horizon
    }

    pub fn steps_per_year(&self) -> u32 {
        self.steps_per_year
    }

    pub fn accounting(&self) -> &Accounting {
        &self.accounting
    }

    pub fn actors(&self) -> &[Actor] {
        &self.actors
    }

    pub fn states(&self) -> &[State] {
        &self.states
    }

    pub fn clock_names(&self) -> &[String] {
        &self.clock_names
    }

    pub fn case(&self) -> Option<CaseClock> {
        self.case
    }

    pub fn transitions(&self) -> &[Option<Transitions>] {
        &self.transitions
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn population(&self) -> &Population {
        &self.population
    }

    pub fn items(&self) -> &[Item] {
        &self.items
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    pub fn measures(&self) -> &[Measure] {
        &self.measures
    }

    pub fn arm(&self) -> &Arm {
        &self.arm
    }

    pub fn handover(&self) -> &[bool] {
        &self.handover
    }

    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    pub fn months_per_step(&self) -> u32 {
        12 / self.steps_per_year
    }

    /// Indices into `rules` of the forced-transition rules of every state, in file order.
    pub fn rules_by_state(&self) -> Vec<Vec<usize>> {
        let mut by_state = vec![Vec::new(); self.states.len()];
        for (r, rule) in self.rules.iter().enumerate() {
            by_state[rule.from].push(r);
        }
        by_state
    }

    /// The arm's programme as rates per step: the hazard ratio on success moves while in
    /// it (effect × its organisation's × its location's multiplier) and the probability of
    /// dropping out; `(1, 0)` without a programme.
    pub fn programme_rates(&self) -> (f64, f64) {
        match &self.arm.programme {
            Some(p) => (
                p.effect
                    * p.organisation
                        .as_ref()
                        .map_or(1.0, |o| o.success_multiplier)
                    * p.location.success_multiplier,
                -(-p.dropout * p.location.dropout_multiplier).exp_m1(),
            ),
            None => (1.0, 0.0),
        }
    }
    pub fn state_index(&self, id: &str) -> Option<usize> {
        self.states.iter().position(|s| s.id == id)
    }
    pub fn actor_index(&self, id: &str) -> Option<usize> {
        self.actors.iter().position(|a| a.id == id)
    }
    /// Whether persons interact (a capacity limit couples them), which rules out the
    /// exact cohort mode.
    pub fn has_interaction(&self) -> bool {
        self.arm
            .programme
            .as_ref()
            .is_some_and(|p| p.capacity.is_some())
    }
}
