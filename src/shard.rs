//! Sharded runs: split the replications of one run over many processes (a Slurm array
//! job, a Kubernetes indexed job, GNU parallel), and merge their partial results into
//! exactly the outputs of an unsharded run.
//!
//! This module owns the partition of replications into shards ([`ShardSpec`]), the
//! partial-result file (`partial.json`, [`Part`]) and the checks and assembly of a merge
//! ([`merge`]). It relies on one property of the engine: every replication is a pure
//! function of (scenario, overrides, seed, replication index), so where a replication
//! runs does not change it, and summarising the replications in index order gives the
//! same bytes as a single-machine run.
//!
//! **Partition.** Shard `K` of `N` (`K` counts from 0, like `$SLURM_ARRAY_TASK_ID` with
//! `--array=0-(N-1)` and Kubernetes' `$JOB_COMPLETION_INDEX`) holds the contiguous block
//! of replications `K·R/N ..< (K+1)·R/N` (integer division) of the run's `R`. Blocks
//! differ in size by at most one replication, and a missing shard is a readable range.
//!
//! **The partial file** is JSON: a `header` object (format, rehabsim version, the scenario
//! file's path, text and SHA-256, the overrides and their SHA-256, seed, `R`, `K`, `N`
//! and the first and last replication held) followed by `reps`, one replication per line
//! with what a run keeps of it (`crate::keep`): the counts of every arm and its valuation
//! (the ledger is valued in the shard and dropped). It carries the scenario *text*, not just
//! its path, so that a merge needs nothing but the parts: the merge node need not see the
//! original file, and a file edited between the shards and the merge cannot change the
//! result. Floats are written in shortest round-trip form and every file is read back and
//! compared byte for byte before it is written, so a merge sees exactly the bits the
//! shard computed. For the default scenario (2 arms, 60 months, 10 sheet rows) a
//! replication takes about 37 kB, so 1 000 replications take about 37 MB over all shards.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::balance::Valuation;
use crate::engine::{RepResult, outcome_months};
use crate::ledger::ArmRep;
use crate::model::Model;
use crate::{Error, RunOptions, RunOutput, Scenario};

/// The name of the partial-result file in a shard's output folder.
pub const PARTIAL_FILE: &str = "partial.json";
/// The value of `header.format` in a partial-result file.
pub const FORMAT: &str = "rehabsim-partial";
/// The layout version of the partial-result file; a merge reads only this version.
pub const FORMAT_VERSION: u32 = 2;

/// Shard `index` of `count`: a validated `K/N` with `K < N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    index: u32,
    count: u32,
}

impl ShardSpec {
    pub fn new(index: u32, count: u32) -> Result<ShardSpec, String> {
        if count == 0 {
            return Err(format!(
                "shard {index}/0: the number of shards N must be at least 1"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard {index}/{count} does not exist: K counts from 0, so with N = {count} \
                 use 0/{count} to {}/{count} (Slurm: --array=0-{})",
                count - 1,
                count - 1
            ));
        }
        Ok(ShardSpec { index, count })
    }

    /// `K`, counting from 0.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// `N`.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The replications this shard runs out of `total`: a contiguous block.
    pub fn replications(&self, total: u32) -> Range<u32> {
        block(self.index, self.count, total)
    }
}

fn block(k: u32, n: u32, total: u32) -> Range<u32> {
    let at = |k: u32| (u64::from(k) * u64::from(total) / u64::from(n)) as u32;
    at(k)..at(k + 1)
}

impl FromStr for ShardSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<ShardSpec, String> {
        let bad = || {
            format!(
                "`{s}` is not a shard: write K/N, e.g. `--shard 0/4` for the first of four \
                 shards (K counts from 0 to N-1)"
            )
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        ShardSpec::new(k, n)
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// "replication 7" or "replications 40–59".
fn describe(r: &Range<u32>) -> String {
    if r.end == r.start + 1 {
        format!("replication {}", r.start)
    } else {
        format!("replications {}–{}", r.start, r.end.saturating_sub(1))
    }
}

/// Lower-case hex SHA-256, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hash of a list of overrides: each override followed by a newline, in order.
fn overrides_sha256(overrides: &[String]) -> String {
    let mut text = String::new();
    for o in overrides {
        text.push_str(o);
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}

/// What a partial result says about the run it belongs to and the replications it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub format_version: u32,
    pub rehabsim_version: String,
    /// The scenario file as given on the command line (for messages only).
    pub scenario_file: String,
    /// SHA-256 of `scenario_text`, as `sha256sum SCENARIO.toml` prints it.
    pub scenario_sha256: String,
    /// The `--set` overrides applied (flags like `--seed` included), in order.
    pub overrides: Vec<String>,
    /// SHA-256 of the overrides, each followed by a newline.
    pub overrides_sha256: String,
    pub seed: u64,
    /// Replications of the whole run (`R`).
    pub replications_total: u32,
    /// `K`, counting from 0.
    pub shard: u32,
    /// `N`.
    pub shards: u32,
    /// The first and last replication held (inclusive).
    pub first_replication: u32,
    pub last_replication: u32,
    /// The scenario file's text, so that a merge needs nothing but the parts.
    pub scenario_text: String,
}

impl Header {
    fn spec(&self) -> String {
        format!("{}/{}", self.shard, self.shards)
    }
    fn overrides_text(&self) -> String {
        if self.overrides.is_empty() {
            "no overrides".to_string()
        } else {
            self.overrides
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// One replication as stored in a partial file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRep {
    replication: u32,
    arms: Vec<ArmRep>,
    /// `[arm]`.
    valuations: Vec<Valuation>,
}

/// [`StoredRep`] borrowed, for writing without copying.
#[derive(Serialize)]
struct StoredRepRef<'a> {
    replication: u32,
    arms: &'a [ArmRep],
    valuations: Vec<&'a Valuation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredFile {
    header: Header,
    reps: Vec<StoredRep>,
}

/// The fields that identify a partial file; everything else is skipped unread.
#[derive(Deserialize)]
struct Probe {
    header: Option<ProbeHeader>,
}

#[derive(Default, Deserialize)]
struct ProbeHeader {
    format: Option<serde_json::Value>,
    format_version: Option<serde_json::Value>,
}

/// A partial result: the replications of one shard, and what run they belong to.
#[derive(Debug, Clone)]
pub struct Part {
    /// Where the part was read from (for messages); empty for a part made in memory.
    pub file: PathBuf,
    pub header: Header,
    /// The replications' counts (their ledgers were valued and dropped in the shard).
    pub reps: Vec<RepResult>,
    /// `[arm][k]`: the valuation of arm `arm` in `reps[k]`.
    pub valuations: Vec<Vec<Valuation>>,
}

/// The run options that run only shard `spec` of `scenario`. Refuses more shards than
/// replications (some shards would be empty).
pub fn plan(scenario: &Scenario, spec: ShardSpec) -> Result<RunOptions, Error> {
    let total = scenario.base().replications;
    if spec.count() > total {
        return Err(Error::Input(format!(
            "--shard {spec} splits {total} replications into {} shards, so some shards would \
             be empty: use at most {total} shards, or more replications (--replications)",
            spec.count()
        )));
    }
    Ok(RunOptions {
        replications: Some(spec.replications(total).collect()),
        ..RunOptions::default()
    })
}

/// The header of shard `spec` of `scenario`.
pub fn header(scenario: &Scenario, spec: ShardSpec) -> Header {
    let src = &scenario.source;
    let range = spec.replications(scenario.base().replications);
    Header {
        format: FORMAT.to_string(),
        format_version: FORMAT_VERSION,
        rehabsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario_file: src.path.display().to_string(),
        scenario_sha256: sha256_hex(src.text.as_bytes()),
        overrides: src.overrides.clone(),
        overrides_sha256: overrides_sha256(&src.overrides),
        seed: scenario.base().seed,
        replications_total: scenario.base().replications,
        shard: spec.index(),
        shards: spec.count(),
        first_replication: range.start,
        last_replication: range.end.saturating_sub(1),
        scenario_text: src.text.clone(),
    }
}

/// Run shard `spec` of `scenario` on the current thread pool.
pub fn run_shard(scenario: &Scenario, spec: ShardSpec) -> Result<Part, Error> {
    let opts = plan(scenario, spec)?;
    let out = crate::run(scenario, &opts)?;
    Ok(Part {
        file: PathBuf::new(),
        header: header(scenario, spec),
        reps: out.reps,
        valuations: out.evaluated.valuations,
    })
}

impl Part {
    /// How messages name this part: its file, or its shard for a part made in memory.
    pub fn label(&self) -> String {
        if self.file.as_os_str().is_empty() {
            format!("shard {} (in memory)", self.header.spec())
        } else {
            self.file.display().to_string()
        }
    }

    /// The bytes of this part's `partial.json` (see [`encode`]).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        encode(&self.header, &self.reps, &self.valuations)
    }
}

fn write_json<R: Serialize>(header: &Header, reps: &[R]) -> Result<Vec<u8>, serde_json::Error> {
    let mut v = b"{\"header\": ".to_vec();
    v.extend(serde_json::to_vec_pretty(header)?);
    v.extend(b",\n\"reps\": [");
    for (i, r) in reps.iter().enumerate() {
        v.extend(if i == 0 { &b"\n"[..] } else { &b",\n"[..] });
        v.extend(serde_json::to_vec(r)?);
    }
    v.extend(b"\n]}\n");
    Ok(v)
}

/// The bytes of a `partial.json` holding `reps` under `header`. They are read back and
/// re-encoded before being returned: if that does not reproduce them exactly (a value
/// JSON cannot carry, such as NaN), this is an error rather than a merge that silently
/// differs.
pub fn encode(
    header: &Header,
    reps: &[RepResult],
    valuations: &[Vec<Valuation>],
) -> Result<Vec<u8>, Error> {
    // A merge expects exactly this; refuse here rather than after the cluster time is spent.
    if reps.iter().any(|r| r.arms.iter().any(ArmRep::has_ledger)) {
        return Err(Error::Internal(
            "a partial result holds replications with their ledgers; run the shard without \
             keeping ledgers"
                .into(),
        ));
    }
    if valuations.iter().any(|v| v.len() != reps.len()) {
        return Err(Error::Internal(format!(
            "a partial result of {} replications holds valuations of another number of \
             replications",
            reps.len()
        )));
    }
    let reps: Vec<StoredRepRef> = reps
        .iter()
        .enumerate()
        .map(|(k, r)| StoredRepRef {
            replication: r.replication,
            arms: &r.arms,
            valuations: valuations.iter().filter_map(|v| v.get(k)).collect(),
        })
        .collect();
    let bytes = write_json(header, &reps)
        .map_err(|e| Error::Internal(format!("cannot encode the partial result: {e}")))?;
    let back: StoredFile = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Internal(format!(
            "the partial result does not read back ({e}); a replication holds a value \
             that JSON cannot carry exactly"
        ))
    })?;
    let again = write_json(&back.header, &back.reps)
        .map_err(|e| Error::Internal(format!("cannot encode the partial result: {e}")))?;
    if again != bytes {
        return Err(Error::Internal(
            "the partial result does not read back to the same bits; refusing to write a \
             shard that would not merge exactly"
                .into(),
        ));
    }
    Ok(bytes)
}

/// Read the bytes of a partial file; `file` names it in messages.
pub fn decode(file: &Path, bytes: &[u8]) -> Result<Part, Error> {
    let shown = file.display();
    // A first pass reads only what says which file this is, so that a foreign or newer
    // file gets that message rather than a list of unexpected fields.
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| {
        Error::Input(format!(
            "{shown} is not a complete partial result ({e}); was the shard interrupted? \
             Run it again"
        ))
    })?;
    let header = probe.header.unwrap_or_default();
    if header.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(Error::Input(format!(
            "{shown} is not a rehabsim partial result (header.format is not \"{FORMAT}\"); \
             merge the {PARTIAL_FILE} files written by `rehabsim run --shard K/N --out DIR`"
        )));
    }
    let version = header.format_version.as_ref().and_then(|v| v.as_u64());
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(Error::Input(format!(
            "{shown} has partial-result format version {}, but this rehabsim reads version \
             {FORMAT_VERSION}: merge with the rehabsim that wrote the shards",
            version.map_or("(none)".to_string(), |v| v.to_string())
        )));
    }
    let stored: StoredFile = serde_json::from_slice(bytes)
        .map_err(|e| Error::Input(format!("{shown} is not a valid partial result: {e}")))?;
    let arms = stored.reps.first().map_or(0, |r| r.valuations.len());
    let mut valuations: Vec<Vec<Valuation>> = vec![Vec::new(); arms];
    let mut reps = Vec::with_capacity(stored.reps.len());
    for r in stored.reps {
        if r.valuations.len() != arms {
            return Err(Error::Input(format!(
                "{shown}: replication {} holds the valuations of {} arm(s), but the first \
                 replication those of {arms}; the file was edited or damaged: run the shard \
                 again",
                r.replication,
                r.valuations.len()
            )));
        }
        for (a, v) in r.valuations.into_iter().enumerate() {
            valuations[a].push(v);
        }
        reps.push(RepResult {
            replication: r.replication,
            arms: r.arms,
        });
    }
    Ok(Part {
        file: file.to_path_buf(),
        header: stored.header,
        reps,
        valuations,
    })
}

/// Read a part from a shard's output folder (`DIR/partial.json`) or from the file itself.
pub fn read_part(path: &Path) -> Result<Part, Error> {
    let file = if path.is_dir() {
        path.join(PARTIAL_FILE)
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&file).map_err(|e| {
        let err = Error::read(&file, e);
        if path.is_dir() {
            err.with_hint(format!(
                "(no {PARTIAL_FILE} in {}: did `rehabsim run --shard K/N --out {}` finish?)",
                path.display(),
                path.display()
            ))
        } else {
            err
        }
    })?;
    decode(&file, &bytes)
}

/// What a part must hold on its own: the hashes match the text, and the replications are
/// exactly the block of its shard, in order.
fn check_part(p: &Part) -> Result<(), Error> {
    let h = &p.header;
    let shown = p.label();
    if h.rehabsim_version != env!("CARGO_PKG_VERSION") {
        return Err(Error::Input(format!(
            "{shown} was written by rehabsim {}, but this is rehabsim {}: results of \
             different versions may differ, so run the shards and the merge with one version",
            h.rehabsim_version,
            env!("CARGO_PKG_VERSION")
        )));
    }
    if sha256_hex(h.scenario_text.as_bytes()) != h.scenario_sha256 {
        return Err(Error::Input(format!(
            "{shown}: the stored scenario text does not match its SHA-256 {}; the file was \
             edited or damaged: run the shard again",
            h.scenario_sha256
        )));
    }
    if overrides_sha256(&h.overrides) != h.overrides_sha256 {
        return Err(Error::Input(format!(
            "{shown}: the stored overrides do not match their SHA-256 {}; the file was \
             edited or damaged: run the shard again",
            h.overrides_sha256
        )));
    }
    let spec =
        ShardSpec::new(h.shard, h.shards).map_err(|e| Error::Input(format!("{shown}: {e}")))?;
    let range = spec.replications(h.replications_total);
    if range.is_empty() || (h.first_replication, h.last_replication) != (range.start, range.end - 1)
    {
        return Err(Error::Input(format!(
            "{shown}: shard {spec} of {} replications should hold {}, but its header says \
             {}–{}; the file was edited or damaged: run the shard again",
            h.replications_total,
            describe(&range),
            h.first_replication,
            h.last_replication
        )));
    }
    let held: Vec<u32> = p.reps.iter().map(|r| r.replication).collect();
    if !held.iter().copied().eq(range.clone()) {
        return Err(Error::Input(format!(
            "{shown}: shard {spec} should hold {} in order, but holds {} replications \
             ({}); the file was edited or damaged: run the shard again",
            describe(&range),
            held.len(),
            held.iter()
                .take(8)
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
                + if held.len() > 8 { ", …" } else { "" }
        )));
    }
    Ok(())
}

/// What every part must share with the first: scenario, seed, overrides and the split.
fn check_same_run(a: &Part, b: &Part) -> Result<(), Error> {
    let (ha, hb) = (&a.header, &b.header);
    let (fa, fb) = (a.label(), b.label());
    let tail = "merge only the shards of one run";
    if ha.scenario_sha256 != hb.scenario_sha256 {
        return Err(Error::Input(format!(
            "the parts come from different scenarios: {fa} ran {} (sha256 {}) and {fb} ran \
             {} (sha256 {}); {tail}",
            ha.scenario_file,
            &ha.scenario_sha256[..12],
            hb.scenario_file,
            &hb.scenario_sha256[..12]
        )));
    }
    if ha.seed != hb.seed {
        return Err(Error::Input(format!(
            "the parts were run with different seeds: {fa} has seed {} and {fb} has seed {}; \
             {tail}",
            ha.seed, hb.seed
        )));
    }
    if ha.overrides != hb.overrides {
        return Err(Error::Input(format!(
            "the parts were run with different overrides: {fa} has {} and {fb} has {}; \
             give every shard the same --set and other flags, and {tail}",
            ha.overrides_text(),
            hb.overrides_text()
        )));
    }
    if ha.replications_total != hb.replications_total {
        return Err(Error::Input(format!(
            "the parts belong to runs of different sizes: {fa} is one of {} replications and \
             {fb} one of {}; {tail}",
            ha.replications_total, hb.replications_total
        )));
    }
    if ha.shards != hb.shards {
        return Err(Error::Input(format!(
            "the parts were split differently: {fa} is shard {} and {fb} is shard {}, so \
             their replications overlap; merge the {} or the {} shards of one split",
            ha.spec(),
            hb.spec(),
            ha.shards,
            hb.shards
        )));
    }
    Ok(())
}

/// The shape every arm of a replication must have under the recompiled models, so that a
/// damaged file is an error rather than an out-of-bounds read.
fn check_shape(models: &[Model], part: &str, r: &RepResult) -> Result<(), Error> {
    let bad = |what: String| {
        Error::Input(format!(
            "{part}: replication {} does not fit the scenario ({what}); the file was edited or \
             damaged: run the shard again",
            r.replication
        ))
    };
    if r.arms.len() != models.len() {
        return Err(bad(format!(
            "{} arms instead of {}",
            r.arms.len(),
            models.len()
        )));
    }
    for (m, a) in models.iter().zip(&r.arms) {
        let p = m.horizon as usize + 1;
        let (s, ln, ms) = (m.states.len(), m.lines.len(), m.measures.len());
        let c = outcome_months(m).len();
        let expected = [
            ("points", a.points, p),
            ("states", a.states, s),
            ("lines", a.lines, ln),
            ("measures", a.measures_n, ms),
            ("occupancy", a.occupancy.len(), p * s * 2),
            ("point_flows", a.point_flows.len(), 0),
            ("step_flows", a.step_flows.len(), 0),
            ("measures", a.measures.len(), 0),
            ("outcomes", a.outcomes.len(), c * s * 2),
            (
                "outcomes_participants",
                a.outcomes_participants.len(),
                c * s * 2,
            ),
            ("in_programme", a.in_programme.len(), p * 2),
        ];
        for (name, got, want) in expected {
            if got != want {
                return Err(bad(format!(
                    "arm `{}`: {name} has {got} entries instead of {want}",
                    m.arm.id
                )));
            }
        }
    }
    Ok(())
}

/// The shape of a part's valuations under the recompiled models: one per arm and
/// replication, each with a value per sheet row, step and measure.
fn check_valuations(models: &[Model], p: &Part) -> Result<(), Error> {
    let bad = |what: String| {
        Error::Input(format!(
            "{}: {what}; the file was edited or damaged: run the shard again",
            p.label()
        ))
    };
    if p.valuations.len() != models.len() {
        return Err(bad(format!(
            "valuations of {} arms instead of {}",
            p.valuations.len(),
            models.len()
        )));
    }
    let rows = crate::balance::sheet_rows(&models[0]).len();
    for (m, vs) in models.iter().zip(&p.valuations) {
        if vs.len() != p.reps.len() {
            return Err(bad(format!(
                "arm `{}` has {} valuations for {} replications",
                m.arm.id,
                vs.len(),
                p.reps.len()
            )));
        }
        for (v, r) in vs.iter().zip(&p.reps) {
            let h = m.horizon as usize;
            if v.by_sex.len() != rows
                || v.series.len() != rows
                || v.series.iter().any(|s| s.len() != h)
                || v.measures.len() != m.measures.len()
            {
                return Err(bad(format!(
                    "the valuation of arm `{}` in replication {} does not have {rows} sheet \
                     rows of {h} steps and {} measures",
                    m.arm.id,
                    r.replication,
                    m.measures.len()
                )));
            }
        }
    }
    Ok(())
}

/// Merge the parts of one sharded run: check that they belong to the same scenario, seed,
/// overrides and split and cover every replication exactly once, recompile the scenario
/// from the stored text and overrides, and summarise all replications in index order —
/// the same [`RunOutput`] as an unsharded run.
pub fn merge(mut parts: Vec<Part>) -> Result<(Scenario, RunOutput), Error> {
    let Some(first) = parts.first() else {
        return Err(Error::Input(
            "nothing to merge: give the shards' output folders, e.g. `rehabsim merge part-* \
             --out DIR`"
                .into(),
        ));
    };
    check_part(first)?;
    for p in &parts[1..] {
        check_part(p)?;
        check_same_run(first, p)?;
    }
    let h = first.header.clone();
    let n = h.shards;
    let mut by_shard: Vec<Option<usize>> = vec![None; n as usize];
    for (i, p) in parts.iter().enumerate() {
        let k = p.header.shard as usize;
        if let Some(j) = by_shard[k] {
            return Err(Error::Input(format!(
                "shard {} ({}) is given twice, in {} and in {}: the parts overlap; merge \
                 each shard once",
                p.header.spec(),
                describe(&block(p.header.shard, n, h.replications_total)),
                parts[j].label(),
                p.label()
            )));
        }
        by_shard[k] = Some(i);
    }
    let missing: Vec<u32> = (0..n).filter(|&k| by_shard[k as usize].is_none()).collect();
    if !missing.is_empty() {
        let what: Vec<String> = missing
            .iter()
            .map(|&k| {
                let r = block(k, n, h.replications_total);
                let verb = if r.len() == 1 { "is" } else { "are" };
                format!("{} (shard {k}/{n}) {verb} missing", describe(&r))
            })
            .collect();
        let (spec, which) = match missing[..] {
            [k] => (format!("{k}/{n}"), String::new()),
            _ => (
                format!("K/{n}"),
                format!(
                    " for K = {}",
                    missing
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        };
        return Err(Error::Input(format!(
            "{}: run `rehabsim run {} --shard {spec} --out DIR`{which} with the same flags \
             as the other shards, then merge again",
            what.join("; "),
            h.scenario_file,
        )));
    }

    let mut src = crate::scenario::parse(Path::new(&h.scenario_file), h.scenario_text.clone())?;
    src.apply_overrides(&h.overrides)?;
    let scenario = src.compile()?;
    if scenario.base().seed != h.seed || scenario.base().replications != h.replications_total {
        return Err(Error::Internal(format!(
            "the stored scenario compiles to seed {} and {} replications, but the parts say \
             seed {} and {} replications",
            scenario.base().seed,
            scenario.base().replications,
            h.seed,
            h.replications_total
        )));
    }
    parts.sort_by_key(|p| p.header.shard);
    let mut reps = Vec::with_capacity(h.replications_total as usize);
    let mut valuations: Vec<Vec<Valuation>> = vec![Vec::new(); scenario.arms.len()];
    for p in parts {
        check_valuations(&scenario.arms, &p)?;
        for r in &p.reps {
            check_shape(&scenario.arms, &p.label(), r)?;
        }
        reps.extend(p.reps);
        for (all, v) in valuations.iter_mut().zip(p.valuations) {
            all.extend(v);
        }
    }
    let out = crate::assemble_valued(
        &scenario.arms,
        scenario.counterfactual,
        &scenario.source.overrides,
        reps,
        valuations,
    );
    Ok((scenario, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_partition_every_replication_once_and_differ_by_at_most_one() {
        for total in [1u32, 2, 5, 7, 20, 101] {
            for n in 1..=total.min(12) {
                let blocks: Vec<Range<u32>> = (0..n)
                    .map(|k| ShardSpec::new(k, n).unwrap().replications(total))
                    .collect();
                let all: Vec<u32> = blocks.iter().flat_map(|b| b.clone()).collect();
                assert_eq!(all, (0..total).collect::<Vec<_>>(), "R={total} N={n}");
                let sizes: Vec<usize> = blocks.iter().map(|b| b.len()).collect();
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1 && *lo >= 1, "R={total} N={n}: {sizes:?}");
            }
        }
        // The documented example: 100 replications in 5 shards.
        assert_eq!(ShardSpec::new(2, 5).unwrap().replications(100), 40..60);
    }

    #[test]
    fn shard_specs_parse_and_explain_mistakes() {
        assert_eq!(
            "3/7".parse::<ShardSpec>().unwrap(),
            ShardSpec::new(3, 7).unwrap()
        );
        assert_eq!(ShardSpec::new(3, 7).unwrap().to_string(), "3/7");
        assert_eq!(
            "7/7".parse::<ShardSpec>().unwrap_err(),
            "shard 7/7 does not exist: K counts from 0, so with N = 7 use 0/7 to 6/7 \
             (Slurm: --array=0-6)"
        );
        assert_eq!(
            "0/0".parse::<ShardSpec>().unwrap_err(),
            "shard 0/0: the number of shards N must be at least 1"
        );
        assert_eq!(
            "3".parse::<ShardSpec>().unwrap_err(),
            "`3` is not a shard: write K/N, e.g. `--shard 0/4` for the first of four shards \
             (K counts from 0 to N-1)"
        );
        assert!("a/4".parse::<ShardSpec>().is_err());
        assert!("-1/4".parse::<ShardSpec>().is_err());
    }

    #[test]
    fn sha256_matches_the_published_test_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ranges_are_described_as_people_read_them() {
        assert_eq!(describe(&(40..60)), "replications 40–59");
        assert_eq!(describe(&(7..8)), "replication 7");
    }
}
