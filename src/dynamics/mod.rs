//! What happens to one person in one step: the model's order of events, written once.
//!
//! The microsimulation (`engine`) and the exact cohort mode (`cohort_mode`) both call
//! [`Dynamics::step`]. They differ only in how they answer the questions a step asks of
//! a person ([`Person`]: which state, which phase, where a hand-over gap leads) and of
//! chance ([`Draws`]: does this happen, which of these, does the gap end, where does the
//! transition lead). The microsimulation answers from the person's random numbers; the
//! cohort mode answers every way at once, by enumerating the branches with their
//! probabilities. So a change to the dynamics is one edit here, and both engines follow.
//!
//! Order of events in step `t` for a person of age `age_months` (MODEL.md §5; the
//! documented order in docs/model.md). Intake, places and the tally of the trace point
//! (steps 1–3) come before, in each engine's driver: they concern many persons at once.
//!
//! 4. **Institutional rules.** Retirement: a person who reaches the retirement age by
//!    the end of the step leaves for the exit state, and the step ends. Forced
//!    transitions ([`crate::model::Rule`]): a rule `after = a` fires in the step that
//!    completes the person's `a`-th step on the clock; rules with `after = 0` fire as soon
//!    as a person enters their state, also after another move in the same step, up to a
//!    chain of [`RULE_CHAIN`].
//! 5. **Hand-over gaps** (MODEL.md §5.5). A person in a gap waits in the gap state: no
//!    stochastic move, no referral, the programme paused; their sickness case goes on
//!    counting. When the gap ends, the next actor picks the person up (and assesses them
//!    again: `on_gap_end` items) and they enter the state the gap was leading to.
//! 6. **Stochastic transitions**, unless a rule or a gap moved the person or they wait in
//!    a gap: competing risks (or per-step probabilities), answered by
//!    [`Draws::transition`]. Every move between two agencies is a **hand-over**
//!    (`Dynamics::handover`): under the organisation that handles the person it may
//!    fail, and the person then waits in a gap state, losing part of the programme's
//!    after-effect. Moves into work are not hand-overs (work has no agency).
//! 7. **Programme progress** (not during a gap): the month counter, dropout, completion,
//!    and the hand-over at the programme's exit; after the programme, the after-effect
//!    decays.
//! 8. **Clock and referral**: the time-in-state clock advances unless the person moved
//!    to another clock; a person outside the programme in an eligible state may be
//!    referred for the next step.
//!
//! **The sickness case** ([`crate::model::CaseClock`], MODEL.md §5.3a). A move to another
//! clock restarts the clock at 0 — except into the case's clock when the person left it
//! at most `within` steps ago: then the count goes on where it stopped (a new spell
//! within 90 days continues the same case, with its day count, checkpoints and limits).
//! While the person waits in a hand-over gap the case goes on counting (the gap is the
//! agencies' delay, not a spell of health), so nobody returns from a gap "newly sick".
//!
//! Every random decision is one [`Decision`], one uniform: the same uniform when a step
//! asks the same question twice (a rule's move and a transition's move are both decided
//! by the [`Decision::Handover`] uniform), so that the engine's common random numbers and
//! the cohort mode's branches mean the same thing.

pub mod rates;

use crate::model::{
    CaseClock, IncomeFilter, Model, Organisation, PHASE_AFTER, PHASE_IN, PHASE_NONE, PHASE_WAITING,
};

/// The most forced transitions that fire in one step (a chain of `after = 0` rules).
pub const RULE_CHAIN: usize = 4;

/// The longest hand-over gap in steps: a gap length is drawn as `round(quantile(u))`
/// clamped to `1 ..= MAX_GAP_STEPS` ([`gap_steps`]).
pub const MAX_GAP_STEPS: u8 = 254;

/// "Not in a gap", where a gap's destination state is stored.
pub const NO_GAP: u8 = u8::MAX;

/// The random decisions of one person-step. Each is its own uniform; the engine maps it
/// to a word of a Philox block (`rng::Decision::address`), the cohort mode to an interval
/// that its branches split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Which transition, if any (competing risks or probabilities).
    Transition,
    /// Dropping out of the programme this step.
    Dropout,
    /// Whether a hand-over fails (every move of the step between two agencies).
    Handover,
    /// Referral to the programme for the next step.
    Referral,
    /// The gap state a failed hand-over leads to.
    GapState,
    /// The length of that gap.
    GapLength,
    /// The destination of a forced transition with several.
    Rule,
    /// Whether the hand-over at the programme's exit fails.
    ExitHandover,
    /// The gap state after a failed exit hand-over.
    ExitGapState,
    /// The length of that gap.
    ExitGapLength,
    /// Whether a local employer takes a person who completes the programme straight
    /// into a job (`Location::placement`).
    Placement,
}

impl Decision {
    /// Every decision, in a fixed order (the cohort mode's interval per decision).
    pub const ALL: [Decision; 11] = [
        Decision::Transition,
        Decision::Dropout,
        Decision::Handover,
        Decision::Referral,
        Decision::GapState,
        Decision::GapLength,
        Decision::Rule,
        Decision::ExitHandover,
        Decision::ExitGapState,
        Decision::ExitGapLength,
        Decision::Placement,
    ];
}

/// Whose hand-over a gap comes from: the arm's organisation (everyone outside the
/// programme) or the programme's own (its participants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapOwner {
    Arm = 0,
    Programme = 1,
}

/// The uniforms of one kind of hand-over.
#[derive(Debug, Clone, Copy)]
struct HandoverDraws {
    failure: Decision,
    state: Decision,
    length: Decision,
}

/// A move between states during the step (rules, gaps, transitions).
const MOVE: HandoverDraws = HandoverDraws {
    failure: Decision::Handover,
    state: Decision::GapState,
    length: Decision::GapLength,
};

/// The hand-over when a programme place ends.
const EXIT: HandoverDraws = HandoverDraws {
    failure: Decision::ExitHandover,
    state: Decision::ExitGapState,
    length: Decision::ExitGapLength,
};

/// A gap's length in steps from the uniform `u` of its length decision.
#[inline]
pub fn gap_steps(org: &Organisation, u: f64) -> u8 {
    org.gap_months
        .quantile(u)
        .round()
        .clamp(1.0, f64::from(MAX_GAP_STEPS)) as u8
}

/// A person's state as the order of events reads and changes it. Each engine keeps it in
/// its own form (the microsimulation in two compact arrays, the cohort mode as a map
/// key) and records what it needs when the step changes it.
pub trait Person {
    /// The support state.
    fn state(&self) -> usize;
    /// Steps on the person's time-in-state clock.
    fn clock(&self) -> u16;
    /// The programme phase (`model::PHASE_*`).
    fn phase(&self) -> u8;
    fn set_phase(&mut self, phase: u8);
    /// Steps in the programme (in it) or the step of referral (waiting).
    fn prog(&self) -> u16;
    fn set_prog(&mut self, prog: u16);
    /// The income attribute's value, for rules that test its sign.
    fn income(&self) -> Option<f64>;

    /// Enter state `to`; the clock becomes `clock` when given (a move to another clock),
    /// else runs on. The engine records the move here.
    fn move_to(&mut self, to: usize, clock: Option<u16>);
    /// One more step on the clock.
    fn advance_clock(&mut self);

    /// Whether the person waits in a hand-over gap.
    fn in_gap(&self) -> bool;
    /// The state the gap leads to (valid in a gap).
    fn gap_dest(&self) -> usize;
    /// Start a gap leading to `dest`, of `length` ([`Draws::gap_length`]'s answer).
    fn start_gap(&mut self, dest: usize, owner: GapOwner, length: u8);
    /// Leave the gap (its end, or a move that makes it moot).
    fn end_gap(&mut self);

    /// The sickness case the person left, if any: its count and the step at which they
    /// left it.
    fn case(&self) -> Option<(u16, u32)>;
    /// Remember the case: `count` steps, left at step `at`.
    fn set_case(&mut self, count: u16, at: u32);

    /// Multiply the programme's after-effect (the excess hazard ratio kept) by `f`.
    fn scale_excess(&mut self, f: f64);
    /// Set the after-effect.
    fn set_excess(&mut self, excess: f64);

    /// The person left the programme (completed, dropped out or left the model).
    #[inline(always)]
    fn left_programme(&mut self) {}
    /// A hand-over gap ended and the person enters `to` (the receiving agency assesses
    /// them again).
    #[inline(always)]
    fn gap_ended(&mut self, to: usize) {
        let _ = to;
    }
    /// The person was referred; they wait for a place from step `from`.
    #[inline(always)]
    fn referred(&mut self, from: u16) {
        let _ = from;
    }
}

/// The questions a step asks of chance.
pub trait Draws {
    /// Whether an event of probability `p` happens (`decision`'s uniform below `p`).
    fn happens(&mut self, decision: Decision, p: f64) -> bool;
    /// The index in `shares` (cumulative, the last 1) that `decision`'s uniform picks:
    /// the first whose cumulative share exceeds it, else the last.
    fn pick(&mut self, decision: Decision, shares: &[(usize, f64)]) -> usize;
    /// The value a gap's counter starts from ([`Draws::gap_ends`] reads it): the engine
    /// draws the length ([`gap_steps`]), the cohort mode counts steps spent instead.
    fn gap_length(&mut self, org: &Organisation, decision: Decision) -> u8;
    /// Whether the person's gap ends this step (counting the step spent in it).
    fn gap_ends(&mut self) -> bool;
    /// The destination of the person's transition this step, if they move: the row of
    /// their state at their clock and age, under their multipliers (MODEL.md §5.4).
    fn transition(&mut self) -> Option<usize>;
}

/// Per-state facts the step tests, one byte per state.
pub const S_ABSORBING: u8 = 1;
/// The state has forced-transition rules.
pub const S_RULES: u8 = 2;
/// Eligible for the arm's programme.
pub const S_ELIGIBLE: u8 = 4;

/// The dynamics of one arm: its model and what the step derives from it once.
#[derive(Debug, Clone)]
pub struct Dynamics<'a> {
    pub m: &'a Model,
    /// `S_*` flags by state.
    pub flags: Vec<u8>,
    /// Indices into `m.rules` of each state's rules, in file order.
    pub rules_by_state: Vec<Vec<usize>>,
    /// Months per step.
    pub mps: u32,
    /// The retirement age in months.
    pub retire_months: usize,
    pub exit: usize,
    /// Hazard ratio on success moves while in the programme (its effect × its
    /// organisation's × its location's).
    pub in_prog_mult: f64,
    /// Hazard ratio on success moves of the arm's own organisation (everyone else).
    pub system_mult: f64,
    /// Probability of dropping out of the programme in a step.
    pub drop_p: f64,
    /// The clock that resumes after a short spell elsewhere.
    pub case: Option<CaseClock>,
}

impl<'a> Dynamics<'a> {
    pub fn new(m: &'a Model) -> Dynamics<'a> {
        let rules_by_state = m.rules_by_state();
        let (in_prog_mult, drop_p) = m.programme_rates();
        let flags = (0..m.states.len())
            .map(|s| {
                let mut f = 0;
                if m.states[s].absorbing {
                    f |= S_ABSORBING;
                }
                if !rules_by_state[s].is_empty() {
                    f |= S_RULES;
                }
                if m.arm.programme.as_ref().is_some_and(|p| p.eligible[s]) {
                    f |= S_ELIGIBLE;
                }
                f
            })
            .collect();
        Dynamics {
            m,
            flags,
            rules_by_state,
            mps: m.months_per_step(),
            retire_months: (m.population.retirement_age * 12.0).round() as usize,
            exit: m.population.exit_state,
            in_prog_mult,
            system_mult: m.arm.organisation.success_multiplier,
            drop_p,
            case: m.case,
        }
    }

    /// The hazard ratio on a person's moves into success states: their risk-factor
    /// product × the age risk factor × the programme's effect while in it, the arm
    /// organisation's otherwise (after the programme, times 1 + the after-effect).
    #[inline(always)]
    pub fn success_multiplier(&self, risk: f64, age_risk: f64, phase: u8, excess: f64) -> f64 {
        let m = risk * age_risk;
        match phase {
            PHASE_IN => m * self.in_prog_mult,
            PHASE_AFTER => m * ((1.0 + excess) * self.system_mult),
            _ => m * self.system_mult,
        }
    }

    /// Whether a referral in step `t` (for step `t + 1`) falls in the programme's
    /// referral window; the probability of one if so.
    #[inline(always)]
    pub fn referral_for(&self, t: u32) -> Option<f64> {
        self.m.arm.programme.as_ref().and_then(|p| {
            let next = t + 1;
            (next >= p.referral_from && next < p.referral_until).then_some(p.referral)
        })
    }

    /// The probability that a person entering at step `t` in `state` is referred at once
    /// (`None`: no referral possible).
    pub fn referral_at_entry(&self, state: usize, t: u32) -> Option<f64> {
        self.m.arm.programme.as_ref().and_then(|p| {
            (t >= p.referral_from && t < p.referral_until && p.eligible[state])
                .then_some(p.referral)
        })
    }

    /// Admit a waiting person to the programme (step 2): its month counter starts.
    #[inline]
    pub fn admit(phase: &mut u8, prog: &mut u16) {
        *phase = PHASE_IN;
        *prog = 0;
    }

    /// The organisation that handles a person in `phase`: the programme's while in it.
    #[inline(always)]
    fn organisation(&self, phase: u8) -> (&'a Organisation, GapOwner) {
        let m = self.m;
        match (&m.arm.programme, phase) {
            (
                Some(crate::model::Programme {
                    organisation: Some(o),
                    ..
                }),
                PHASE_IN,
            ) => (o, GapOwner::Programme),
            _ => (&m.arm.organisation, GapOwner::Arm),
        }
    }

    /// Steps 4–8 of step `t` for a person of age `age_months` at its start.
    #[inline(always)]
    pub fn step<W: Person + Draws>(&self, w: &mut W, t: u32, age_months: usize) {
        let mut moved = false;

        // 4. Institutional rules. Retirement takes effect at the end of the step in
        // which the person reaches the retirement age.
        if age_months + self.mps as usize >= self.retire_months {
            self.set_state(w, self.exit, t, &mut moved);
            w.end_gap();
            return;
        }
        let mut decided = self.apply_rules(w, t, &mut moved, true);

        // 5. A hand-over gap: the person waits, their case going on; when it ends, the
        // next actor picks them up.
        if !decided && w.in_gap() {
            self.case_goes_on(w, t);
            if w.gap_ends() {
                let to = w.gap_dest();
                w.end_gap();
                w.gap_ended(to);
                self.set_state(w, to, t, &mut moved);
            }
            decided = true;
        }

        // 6. Stochastic transitions.
        if !decided && let Some(to) = w.transition() {
            self.enter(w, to, t, &mut moved);
            self.apply_rules(w, t, &mut moved, false);
        }

        // 7. Programme progress (paused in a gap); the after-effect's drop-off.
        match w.phase() {
            PHASE_IN if !w.in_gap() => self.progress(w, t, &mut moved),
            PHASE_AFTER => {
                if let Some(p) = &self.m.arm.programme {
                    w.scale_excess(p.retention_per_step);
                }
            }
            _ => {}
        }

        // 8. Clocks, and referrals for the next step.
        if !moved {
            w.advance_clock();
        }
        if w.phase() == PHASE_NONE
            && !w.in_gap()
            && self.flags[w.state()] & S_ELIGIBLE != 0
            && let Some(p) = self.referral_for(t)
            && w.happens(Decision::Referral, p)
        {
            w.set_phase(PHASE_WAITING);
            let from = (t + 1).min(u32::from(u16::MAX)) as u16;
            w.set_prog(from);
            w.referred(from);
        }
    }

    /// Step 7 for a person in the programme: one more month, then dropout or
    /// completion, each ending with the exit hand-over.
    #[inline(always)]
    fn progress<W: Person + Draws>(&self, w: &mut W, t: u32, moved: &mut bool) {
        let Some(p) = &self.m.arm.programme else {
            return;
        };
        w.set_prog(w.prog().saturating_add(1));
        let dropped = w.happens(Decision::Dropout, self.drop_p);
        let kept = if dropped {
            p.dropout_effect_retained
        } else if u32::from(w.prog()) >= p.duration {
            1.0 - p.location.relapse
        } else {
            return;
        };
        w.set_phase(PHASE_AFTER);
        w.set_excess((self.in_prog_mult - 1.0) * kept);
        w.left_programme();
        // The link to local employers: some who complete the programme go straight into
        // a job there (a move into work is not a hand-over).
        if !dropped
            && let Some((share, to)) = p.location.placement
            && share > 0.0
            && w.state() != to
            && w.happens(Decision::Placement, share)
        {
            self.enter(w, to, t, moved);
            self.apply_rules(w, t, moved, false);
            return;
        }
        let s = w.state();
        let st = &self.m.states[s];
        if p.handover_at_exit && !st.success && st.agency.is_some() && !w.in_gap() {
            // The next actor must take over: under a siloed organisation the person may
            // wait in a gap state before returning to `s`.
            let (org, owner) = match &p.organisation {
                Some(o) => (o, GapOwner::Programme),
                None => (&self.m.arm.organisation, GapOwner::Arm),
            };
            let landing = self.handover(w, org, owner, s, s, EXIT);
            if landing != s {
                self.set_state(w, landing, t, moved);
            }
        }
    }

    /// A hand-over from `from` towards `to` under `org`: the state the person enters now
    /// — `to`, or a gap state when the hand-over fails (the gap then leads to `to`, and
    /// part of the after-effect is lost).
    #[inline(always)]
    fn handover<W: Person + Draws>(
        &self,
        w: &mut W,
        org: &Organisation,
        owner: GapOwner,
        from: usize,
        to: usize,
        draws: HandoverDraws,
    ) -> usize {
        if !(org.handover_failure > 0.0 && w.happens(draws.failure, org.handover_failure)) {
            return to;
        }
        let landing = if org.gap_states.is_empty() {
            to
        } else {
            org.gap_states[w.pick(draws.state, &org.gap_states)].0
        };
        if landing == to || landing == from {
            return to;
        }
        let length = w.gap_length(org, draws.length);
        w.start_gap(to, owner, length);
        w.scale_excess(1.0 - org.effect_loss);
        landing
    }

    /// Move the person to `to` with the hand-over rule (a move between two agencies may
    /// fail into a gap).
    #[inline(always)]
    fn enter<W: Person + Draws>(&self, w: &mut W, to: usize, t: u32, moved: &mut bool) {
        let from = w.state();
        let (org, owner) = self.organisation(w.phase());
        let s_n = self.m.states.len();
        let dest = if self.m.handover[from * s_n + to] {
            self.handover(w, org, owner, from, to, MOVE)
        } else {
            to
        };
        self.set_state(w, dest, t, moved);
    }

    /// The person enters `to` during step `t`: on another clock the clock restarts —
    /// or resumes the sickness case ([`Dynamics::clock_on_entering`]); a waiting person
    /// who finds work or leaves the model stops waiting, and a participant who leaves
    /// the model frees the place.
    #[inline(always)]
    fn set_state<P: Person>(&self, p: &mut P, to: usize, t: u32, moved: &mut bool) {
        let states = &self.m.states;
        let (from_clock, to_clock) = (states[p.state()].clock, states[to].clock);
        if from_clock == to_clock {
            p.move_to(to, None);
        } else {
            let clock = self.clock_on_entering(p, from_clock, to_clock, t);
            p.move_to(to, Some(clock));
            *moved = true;
        }
        if p.phase() == PHASE_WAITING && (states[to].success || states[to].absorbing) {
            p.set_phase(PHASE_NONE);
        }
        if p.phase() == PHASE_IN && states[to].absorbing {
            p.set_phase(PHASE_AFTER);
            p.left_programme();
        }
    }

    /// The clock of a person who moves from clock `from` to clock `to` in step `t`: 0,
    /// or the count of the sickness case they left at most `within` steps ago. Leaving
    /// the case remembers it, with step `t` counted in it (the person was in it during
    /// the step).
    #[inline(always)]
    fn clock_on_entering<P: Person>(&self, p: &mut P, from: usize, to: usize, t: u32) -> u16 {
        let Some(case) = self.case else {
            return 0;
        };
        if from == case.clock {
            p.set_case(p.clock().saturating_add(1), t);
            0
        } else if to == case.clock
            && let Some((count, at)) = p.case()
            && t.saturating_sub(at) <= case.within
        {
            count
        } else {
            0
        }
    }

    /// A step waiting in a hand-over gap: a live sickness case goes on counting and does
    /// not age towards its end (the gap is the agencies' delay).
    #[inline(always)]
    fn case_goes_on<P: Person>(&self, p: &mut P, t: u32) {
        if let Some(case) = self.case
            && let Some((count, at)) = p.case()
            && t.saturating_sub(at) <= case.within
        {
            p.set_case(count.saturating_add(1), t);
        }
    }

    /// Forced transitions, if the person's state has any rules (tested inline: most
    /// states have none). `first` is false after another move in the same step (then
    /// only `after = 0` rules apply). Whether a rule fired.
    #[inline(always)]
    fn apply_rules<W: Person + Draws>(
        &self,
        w: &mut W,
        t: u32,
        moved: &mut bool,
        first: bool,
    ) -> bool {
        self.flags[w.state()] & S_RULES != 0 && self.fire_rules(w, t, moved, first)
    }

    /// [`Dynamics::apply_rules`] for a person in a state with rules.
    #[inline(never)]
    fn fire_rules<W: Person + Draws>(
        &self,
        w: &mut W,
        t: u32,
        moved: &mut bool,
        first: bool,
    ) -> bool {
        let m = self.m;
        let mut any = false;
        for depth in 0..RULE_CHAIN {
            let s = w.state();
            let income = w.income();
            let clock = w.clock();
            let fired = self.rules_by_state[s]
                .iter()
                .map(|&r| &m.rules[r])
                .find(|r| {
                    let due = if first && depth == 0 {
                        u32::from(clock) + 1 >= r.after
                    } else {
                        r.after == 0
                    };
                    due && match r.income {
                        IncomeFilter::Any => true,
                        IncomeFilter::Positive => income.is_some_and(|v| v > 0.0),
                        IncomeFilter::Zero => income.is_some_and(|v| v == 0.0),
                    }
                });
            let Some(rule) = fired else { break };
            let to = if rule.to.len() == 1 {
                rule.to[0].0
            } else {
                rule.to[w.pick(Decision::Rule, &rule.to)].0
            };
            w.end_gap();
            self.enter(w, to, t, moved);
            any = true;
        }
        any
    }
}
