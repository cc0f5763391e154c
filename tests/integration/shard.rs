//! Sharded runs (`run --shard K/N`, `merge`): byte-identical merges and refused parts.
//!
//! `run --shard K/N` + `merge` give byte-identical outputs to an unsharded run (library and
//! binary, shards as parallel processes), and merge refuses parts that do not make up
//! exactly one run, with messages that name the problem.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use rehabsim::shard::{self, Part, ShardSpec};
use rehabsim::{Error, RunOptions, Scenario, output};

use crate::util;

fn default_path() -> PathBuf {
    util::path("scenarios/default.toml")
}

/// Small enough to be fast in a debug build; the default scenario keeps its uncertain
/// parameters, so every replication also draws its own parameter values.
fn small() -> Vec<String> {
    vec![
        "scenario.replications=14".into(),
        "population.persons=60".into(),
        "scenario.horizon=24".into(),
    ]
}

fn compile(path: &Path, overrides: &[String]) -> Scenario {
    util::scenario(path, overrides)
}

/// A fresh, empty temporary folder for one test (see [`util::tmp`]).
fn temp_dir(name: &str) -> util::Tmp {
    util::tmp(&format!("shard-{name}"))
}

fn result_files(sc: &Scenario, out: &rehabsim::RunOutput) -> Vec<(String, Vec<u8>)> {
    output::result_files(sc, out, &output::csv::CsvOptions::default())
}

/// Run shard `k/n` of `sc` and write it to `dir/part-k/partial.json`; returns the folder.
fn write_shard(sc: &Scenario, k: u32, n: u32, dir: &Path) -> PathBuf {
    let part = shard::run_shard(sc, ShardSpec::new(k, n).unwrap()).unwrap();
    let folder = dir.join(format!("part-{k}"));
    output::write_atomic(&folder, shard::PARTIAL_FILE, &part.encode().unwrap()).unwrap();
    folder
}

fn read(folders: &[PathBuf]) -> Vec<Part> {
    folders
        .iter()
        .map(|f| shard::read_part(f).unwrap())
        .collect()
}

fn merge_err(folders: &[PathBuf]) -> String {
    match shard::merge(read(folders)) {
        Ok(_) => panic!("the merge should have been refused"),
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "{e}");
            e.to_string()
        }
    }
}

fn partial_file(folder: &Path) -> String {
    folder.join(shard::PARTIAL_FILE).display().to_string()
}

#[test]
fn library_shards_merge_byte_identically_for_1_2_3_and_7_shards() {
    let sc = compile(&default_path(), &small());
    let direct = result_files(&sc, &rehabsim::run(&sc, &RunOptions::default()).unwrap());
    let names: Vec<&str> = direct.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "summary.json",
            "balance.csv",
            "occupancy.csv",
            "scenario.toml",
            "report.html"
        ]
    );
    for n in [1, 2, 3, 7] {
        let dir = temp_dir(&format!("lib-{n}"));
        // Given in reverse order: the merge orders shards itself.
        let folders: Vec<PathBuf> = (0..n).rev().map(|k| write_shard(&sc, k, n, &dir)).collect();
        let (merged_sc, merged) = shard::merge(read(&folders)).unwrap();
        assert_eq!(merged.reps.len(), 14);
        let files = result_files(&merged_sc, &merged);
        for ((name, a), (_, b)) in direct.iter().zip(&files) {
            assert!(
                a == b,
                "{name} differs from the unsharded run with {n} shards"
            );
        }
        assert_eq!(files.len(), direct.len());
    }
}

/// Run the binary on `args`; it must succeed.
fn bin_ok(args: &[&str]) {
    util::rehabsim().args(args).assert().success();
}

#[test]
fn shards_run_as_parallel_processes_merge_to_the_unsharded_run() {
    let scenario = default_path();
    let scenario = scenario.to_str().unwrap();
    let flags = [
        "--replications",
        "14",
        "--persons",
        "60",
        "--horizon",
        "24",
        "--quiet",
    ];
    let dir = temp_dir("bin");
    let direct = dir.join("direct");
    // Break-even re-runs the programme arm over all replications at once, so it is not
    // part of a sharded run (docs/cluster.md); compare with the plain run.
    let mut args = vec![
        "run",
        scenario,
        "--no-break-even",
        "--out",
        direct.to_str().unwrap(),
    ];
    args.extend(flags);
    bin_ok(&args);
    for n in [1u32, 2, 3, 7] {
        // As a scheduler would: start every shard, then wait for all of them.
        let folders: Vec<PathBuf> = (0..n).map(|k| dir.join(format!("n{n}/part-{k}"))).collect();
        let children: Vec<_> = folders
            .iter()
            .enumerate()
            .map(|(k, folder)| {
                util::bin()
                    .args(["run", scenario, "--threads", "1"])
                    .args(["--shard", &format!("{k}/{n}")])
                    .args(["--out", folder.to_str().unwrap()])
                    .args(flags)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (k, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "shard {k}/{n} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // A shard prints no balance sheet: it holds only part of the run.
            assert!(out.stdout.is_empty());
            let range = ShardSpec::new(k as u32, n).unwrap().replications(14);
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(
                said.starts_with(&format!(
                    "shard {k}/{n}: replications {}–{} of 14 (",
                    range.start,
                    range.end - 1
                )),
                "{said}"
            );
        }
        let merged = dir.join(format!("n{n}/merged"));
        let mut args = vec!["merge", "--quiet", "--out", merged.to_str().unwrap()];
        args.extend(folders.iter().map(|f| f.to_str().unwrap()));
        bin_ok(&args);
        for name in ["summary.json", "balance.csv", "occupancy.csv"] {
            let a = std::fs::read(direct.join(name)).unwrap();
            let b = std::fs::read(merged.join(name)).unwrap();
            assert!(
                a == b,
                "{name} differs from the unsharded run with {n} shards"
            );
        }
    }
}

#[test]
fn merge_uses_the_stored_scenario_text_not_the_file_as_it_is_now() {
    let dir = temp_dir("stored-text");
    let path = dir.join("scenario.toml");
    std::fs::copy(default_path(), &path).unwrap();
    let sc = compile(&path, &small());
    let direct = result_files(&sc, &rehabsim::run(&sc, &RunOptions::default()).unwrap());
    let folders: Vec<PathBuf> = (0..2).map(|k| write_shard(&sc, k, 2, &dir)).collect();
    // The file is edited after the shards ran (and before the merge).
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("seed = 20251123", "seed = 1")).unwrap();
    let (merged_sc, merged) = shard::merge(read(&folders)).unwrap();
    assert_eq!(merged.summary.seed, 20251123);
    assert!(direct == result_files(&merged_sc, &merged));
}

#[test]
fn merge_refuses_parts_of_different_scenarios() {
    let dir = temp_dir("mixed-scenario");
    let other = dir.join("other.toml");
    let text = std::fs::read_to_string(default_path()).unwrap();
    std::fs::write(&other, text.replace("five years.", "five years!")).unwrap();
    let a = write_shard(&compile(&default_path(), &small()), 0, 2, &dir.join("a"));
    let b = write_shard(&compile(&other, &small()), 1, 2, &dir.join("b"));
    let ha = shard::sha256_hex(text.as_bytes());
    let hb = shard::sha256_hex(std::fs::read(&other).unwrap().as_slice());
    assert_eq!(
        merge_err(&[a.clone(), b.clone()]),
        format!(
            "the parts come from different scenarios: {} ran {} (sha256 {}) and {} ran {} \
             (sha256 {}); merge only the shards of one run",
            partial_file(&a),
            default_path().display(),
            &ha[..12],
            partial_file(&b),
            other.display(),
            &hb[..12]
        )
    );
}

#[test]
fn merge_refuses_parts_with_different_seeds() {
    let dir = temp_dir("mixed-seed");
    let with_seed = |s: u64| {
        let mut o = small();
        o.push(format!("scenario.seed={s}"));
        compile(&default_path(), &o)
    };
    let a = write_shard(&with_seed(1), 0, 2, &dir.join("a"));
    let b = write_shard(&with_seed(2), 1, 2, &dir.join("b"));
    assert_eq!(
        merge_err(&[a.clone(), b.clone()]),
        format!(
            "the parts were run with different seeds: {} has seed 1 and {} has seed 2; merge \
             only the shards of one run",
            partial_file(&a),
            partial_file(&b)
        )
    );
}

#[test]
fn merge_refuses_parts_with_different_overrides() {
    let dir = temp_dir("mixed-overrides");
    let a = write_shard(&compile(&default_path(), &small()), 0, 2, &dir.join("a"));
    let mut more = small();
    more.push("accounting.discount_rate=0.03".into());
    let b = write_shard(&compile(&default_path(), &more), 1, 2, &dir.join("b"));
    assert_eq!(
        merge_err(&[a.clone(), b.clone()]),
        format!(
            "the parts were run with different overrides: {} has `scenario.replications=14`, \
             `population.persons=60`, `scenario.horizon=24` and {} has \
             `scenario.replications=14`, `population.persons=60`, `scenario.horizon=24`, \
             `accounting.discount_rate=0.03`; give every shard the same --set and other flags, \
             and merge only the shards of one run",
            partial_file(&a),
            partial_file(&b)
        )
    );
}

#[test]
fn merge_refuses_overlapping_shards() {
    let dir = temp_dir("overlap");
    let sc = compile(&default_path(), &small());
    let folders: Vec<PathBuf> = (0..3).map(|k| write_shard(&sc, k, 3, &dir)).collect();
    // The same shard twice (e.g. a copy under another name).
    let copy = dir.join("copy-of-1");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(
        folders[1].join(shard::PARTIAL_FILE),
        copy.join("partial.json"),
    )
    .unwrap();
    let mut given = folders.clone();
    given.push(copy.clone());
    assert_eq!(
        merge_err(&given),
        format!(
            "shard 1/3 (replications 4–8) is given twice, in {} and in {}: the parts overlap; \
             merge each shard once",
            partial_file(&folders[1]),
            partial_file(&copy)
        )
    );
    // Shards of two different splits overlap too.
    let other = write_shard(&sc, 1, 2, &dir.join("split2"));
    assert_eq!(
        merge_err(&[folders[0].clone(), other.clone()]),
        format!(
            "the parts were split differently: {} is shard 0/3 and {} is shard 1/2, so their \
             replications overlap; merge the 3 or the 2 shards of one split",
            partial_file(&folders[0]),
            partial_file(&other)
        )
    );
}

#[test]
fn merge_names_every_missing_shard_and_its_replications() {
    let dir = temp_dir("missing");
    let sc = compile(&default_path(), &small());
    let folders: Vec<PathBuf> = [0, 2, 3, 5, 6]
        .iter()
        .map(|&k| write_shard(&sc, k, 7, &dir))
        .collect();
    let file = default_path().display().to_string();
    assert_eq!(
        merge_err(&folders),
        format!(
            "replications 2–3 (shard 1/7) are missing; replications 8–9 (shard 4/7) are \
             missing: run `rehabsim run {file} --shard K/7 --out DIR` for K = 1, 4 with the \
             same flags as the other shards, then merge again"
        )
    );
    assert_eq!(
        merge_err(&folders[..4]),
        format!(
            "replications 2–3 (shard 1/7) are missing; replications 8–9 (shard 4/7) are \
             missing; replications 12–13 (shard 6/7) are missing: run `rehabsim run {file} \
             --shard K/7 --out DIR` for K = 1, 4, 6 with the same flags as the other shards, \
             then merge again"
        )
    );
    // One replication per shard: the message is singular and gives the exact command.
    let one = compile(&default_path(), &["scenario.replications=3".into()]);
    let dir1 = dir.join("one");
    let f: Vec<PathBuf> = [0, 2]
        .iter()
        .map(|&k| write_shard(&one, k, 3, &dir1))
        .collect();
    assert_eq!(
        merge_err(&f),
        format!(
            "replication 1 (shard 1/3) is missing: run `rehabsim run {file} --shard 1/3 --out \
             DIR` with the same flags as the other shards, then merge again"
        )
    );
}

#[test]
fn damaged_and_foreign_files_are_refused_with_the_reason() {
    let dir = temp_dir("damaged");
    let sc = compile(&default_path(), &small());
    let folder = write_shard(&sc, 0, 2, &dir);
    let file = folder.join(shard::PARTIAL_FILE);
    let bytes = std::fs::read(&file).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();

    // Cut short, as by a job killed while copying the file.
    let cut = shard::decode(&file, &bytes[..bytes.len() / 2]).unwrap_err();
    assert!(
        cut.to_string().starts_with(&format!(
            "{} is not a complete partial result (",
            file.display()
        )),
        "{cut}"
    );
    assert!(
        cut.to_string()
            .ends_with("was the shard interrupted? Run it again")
    );

    // A result of `run --out` given by mistake.
    let summary = dir.join("summary.json");
    let e = shard::decode(&summary, b"{\"rehabsim_version\": \"0.1.0\"}").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{} is not a rehabsim partial result (header.format is not \"rehabsim-partial\"); \
             merge the partial.json files written by `rehabsim run --shard K/N --out DIR`",
            summary.display()
        )
    );

    // Written by a rehabsim whose partial files have another layout.
    let newer = text.replacen("\"format_version\": 2,", "\"format_version\": 3,", 1);
    assert_eq!(
        shard::decode(&file, newer.as_bytes())
            .unwrap_err()
            .to_string(),
        format!(
            "{} has partial-result format version 3, but this rehabsim reads version 2: merge \
             with the rehabsim that wrote the shards",
            file.display()
        )
    );

    // A replication removed by hand.
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| *l == "\"reps\": [").unwrap();
    let mut edited = lines.clone();
    edited.remove(start + 2);
    let part = shard::decode(&file, edited.join("\n").as_bytes()).unwrap();
    let e = shard::merge(vec![part]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: shard 0/2 should hold replications 0–6 in order, but holds 6 replications \
             (0, 2, 3, 4, 5, 6); the file was edited or damaged: run the shard again",
            file.display()
        )
    );

    // The scenario text changed without its hash.
    let mut part = shard::decode(&file, &bytes).unwrap();
    part.header.scenario_text.push('\n');
    let hash = part.header.scenario_sha256.clone();
    assert_eq!(
        shard::merge(vec![part]).unwrap_err().to_string(),
        format!(
            "{}: the stored scenario text does not match its SHA-256 {hash}; the file was \
             edited or damaged: run the shard again",
            file.display()
        )
    );

    // Written by another version of rehabsim.
    let mut part = shard::decode(&file, &bytes).unwrap();
    part.header.rehabsim_version = "0.0.1".into();
    assert_eq!(
        shard::merge(vec![part]).unwrap_err().to_string(),
        format!(
            "{} was written by rehabsim 0.0.1, but this is rehabsim {}: results of different \
             versions may differ, so run the shards and the merge with one version",
            file.display(),
            env!("CARGO_PKG_VERSION")
        )
    );

    // An arm's ledger of the wrong size would otherwise be read out of bounds.
    let mut part = shard::decode(&file, &bytes).unwrap();
    part.reps[3].arms[1].occupancy.pop();
    let want = part.reps[3].arms[1].occupancy.len() + 1;
    let second_arm = sc.arms()[1].arm().id.clone();
    let other = write_shard(&sc, 1, 2, &dir);
    let mut parts = vec![part];
    parts.extend(read(&[other]));
    assert_eq!(
        shard::merge(parts).unwrap_err().to_string(),
        format!(
            "{}: replication 3 does not fit the scenario (arm `{second_arm}`: occupancy has {} \
             entries instead of {want}); the file was edited or damaged: run the shard again",
            file.display(),
            want - 1
        )
    );

    // A valuation of the wrong shape (a step missing from the net series per step).
    let mut part = shard::decode(&file, &bytes).unwrap();
    part.valuations[1][2].series[0].pop();
    let other = write_shard(&sc, 1, 2, &dir);
    let mut parts = vec![part];
    parts.extend(read(&[other]));
    let h = sc.arms()[1].horizon();
    let rows = rehabsim::balance::sheet_rows(&sc.arms()[0]).len();
    assert_eq!(
        shard::merge(parts).unwrap_err().to_string(),
        format!(
            "{}: the valuation of arm `{second_arm}` in replication 2 does not have {rows} \
             sheet rows of {h} steps and {} measures; the file was edited or damaged: run the \
             shard again",
            file.display(),
            sc.arms()[1].measures().len()
        )
    );

    // A folder where the shard never wrote its file.
    let empty = dir.join("part-9");
    std::fs::create_dir_all(&empty).unwrap();
    let e = shard::read_part(&empty).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    assert!(
        e.report().to_string().ends_with(&format!(
            "(no partial.json in {}: did `rehabsim run --shard K/N --out {}` finish?)",
            empty.display(),
            empty.display()
        )),
        "{e}"
    );
}

#[test]
fn partial_files_carry_floats_bit_for_bit_and_refuse_nan() {
    let sc = compile(&default_path(), &small());
    let spec = ShardSpec::new(0, 7).unwrap();
    let mut part = shard::run_shard(&sc, spec).unwrap();
    // Expected counts in cohort mode are arbitrary floats: these are the hard cases for
    // decimal round trips (17 significant digits, subnormals, extremes, negative zero).
    let hard = [
        0.1 + 0.2,
        1.0 / 3.0,
        2.0f64.powi(-1074),
        f64::MIN_POSITIVE,
        f64::MAX,
        -0.0,
        9007199254740993.0,
        123456.78901234567,
        5e-324,
        1.7976931348623157e308,
    ];
    let mut state = 0x9E3779B97F4A7C15u64;
    for (i, x) in part.reps[0].arms[0].occupancy.iter_mut().enumerate() {
        *x = if i < hard.len() {
            hard[i]
        } else {
            // Random finite bit patterns (xorshift).
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let f = f64::from_bits(state);
            if f.is_finite() { f } else { 1.5 }
        };
    }
    let bytes = part.encode().unwrap();
    let back = shard::decode(Path::new("p.json"), &bytes).unwrap();
    let bits = |p: &Part| -> Vec<u64> {
        p.reps
            .iter()
            .flat_map(|r| r.arms.iter())
            .flat_map(|a| a.occupancy.iter().chain(&a.outcomes).chain(&a.in_programme))
            .chain(p.valuations.iter().flatten().flat_map(|v| {
                v.by_sex
                    .iter()
                    .flatten()
                    .flatten()
                    .chain(v.series.iter().flatten())
                    .chain(v.measures.iter().flatten())
            }))
            .map(|x| x.to_bits())
            .collect()
    };
    assert_eq!(bits(&part), bits(&back));
    assert_eq!(back.header, part.header);

    part.valuations[0][0].series[0][0] = f64::NAN;
    let e = part.encode().unwrap_err();
    assert!(
        e.to_string().starts_with(
            "internal error: the partial result does not read back (invalid type: null"
        ),
        "{e}"
    );
}

#[test]
fn the_command_line_checks_shard_flags_and_reports_merge_errors() {
    let scenario = default_path();
    let scenario = scenario.to_str().unwrap();
    let dir = temp_dir("cli");
    let run = |args: &[&str]| util::rehabsim().args(args).assert();

    run(&["run", scenario, "--shard", "1/3"]).code(2).stderr(
        "error: --shard 1/3 needs --out DIR: the folder where the shard writes partial.json \
         for `rehabsim merge`\n",
    );

    let part = dir.join("p");
    let p = part.to_str().unwrap();
    run(&[
        "run",
        scenario,
        "--replications",
        "4",
        "--shard",
        "1/5",
        "--out",
        p,
    ])
    .code(2)
    .stderr(
        "error: --shard 1/5 splits 4 replications into 5 shards, so some shards would be \
         empty: use at most 4 shards, or more replications (--replications)\n",
    );

    run(&["run", scenario, "--shard", "5/5", "--out", p])
        .code(2)
        .stderr(predicates::str::contains(
            "shard 5/5 does not exist: K counts from 0, so with N = 5 use 0/5 to 4/5 \
             (Slurm: --array=0-4)",
        ));

    let args = ["--replications", "4", "--persons", "30", "--horizon", "12"];
    util::rehabsim()
        .args(["run", scenario, "--shard", "0/2", "--out", p])
        .args(args)
        .assert()
        .success();
    let merged = dir.join("m");
    run(&["merge", p, "--out", merged.to_str().unwrap()])
        .code(2)
        .stderr(format!(
            "error: replications 2–3 (shard 1/2) are missing: run `rehabsim run {scenario} \
             --shard 1/2 --out DIR` with the same flags as the other shards, then merge \
             again\n"
        ));
    assert!(!merged.exists(), "a refused merge writes nothing");
}

#[test]
fn parts_made_in_memory_merge_too_and_are_named_by_their_shard() {
    let sc = compile(&default_path(), &small());
    let direct = result_files(&sc, &rehabsim::run(&sc, &RunOptions::default()).unwrap());
    let parts: Vec<Part> = (0..2)
        .map(|k| shard::run_shard(&sc, ShardSpec::new(k, 2).unwrap()).unwrap())
        .collect();
    let (merged_sc, merged) = shard::merge(parts.clone()).unwrap();
    assert!(direct == result_files(&merged_sc, &merged));
    let twice = vec![parts[0].clone(), parts[0].clone()];
    assert_eq!(
        shard::merge(twice).unwrap_err().to_string(),
        "shard 0/2 (replications 0–6) is given twice, in shard 0/2 (in memory) and in shard \
         0/2 (in memory): the parts overlap; merge each shard once"
    );
}

/// A shard writes what a run keeps (counts and valuations), never ledgers, and every arm's
/// valuations match its replications: a part that does not is refused when it is written,
/// not at the merge after the cluster time is spent.
#[test]
fn a_partial_file_is_refused_when_written_with_ledgers_or_missing_valuations() {
    let sc = compile(&default_path(), &small());
    let spec = ShardSpec::new(0, 7).unwrap();
    let mut opts = shard::plan(&sc, spec).unwrap();
    opts.keep_ledgers = true;
    let out = rehabsim::run(&sc, &opts).unwrap();
    let with_ledgers = Part {
        file: PathBuf::new(),
        header: shard::header(&sc, spec),
        reps: out.reps,
        valuations: out.evaluated.valuations,
    };
    assert_eq!(
        with_ledgers.encode().unwrap_err().to_string(),
        "internal error: a partial result holds replications with their ledgers; run the \
         shard without keeping ledgers"
    );
    let mut part = shard::run_shard(&sc, spec).unwrap();
    part.encode().expect("a shard as run encodes");
    part.valuations[1].pop();
    assert_eq!(
        part.encode().unwrap_err().to_string(),
        "internal error: a partial result of 2 replications holds valuations of another \
         number of replications"
    );
}
