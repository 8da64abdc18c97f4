//! Structure-aware fuzzing of the command line: every subcommand with flags drawn from a
//! pool of values at their boundaries (zero, the ends of u64 and past them, reversed and
//! empty ranges, missing files, `/dev/zero`, devices, two outputs at one path, unknown
//! names), in any order and number. Whatever the arguments, dsim answers with exit code 0
//! to 3 and never panics. Runs are capped (short, few events, a few seeds) so a case
//! takes milliseconds; `PROPTEST_CASES=N` runs more than the CI-sized default.
//!
//! `--isolate` is left out: its children are the current executable, here the test
//! harness.

use proptest::prelude::*;
use runner::Registry;
use std::path::Path;

/// The values a flag may be given; `None` for a switch.
fn flags(tmp: &str, history: &str) -> Vec<(&'static str, Vec<String>)> {
    let strings = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>();
    let outputs = vec![
        "/dev/null".to_owned(),
        "/nonexistent/dir/out".to_owned(),
        format!("{tmp}/out.csv"),
        format!("{tmp}/out.csv"),
        format!("{tmp}/other.json"),
        tmp.to_owned(),
        String::new(),
    ];
    let u64s = strings(&["0", "1", "2", "-1", "x", "18446744073709551615", "18446744073709551616"]);
    vec![
        ("--count", strings(&["0", "1", "2", "-1", "x", "18446744073709551616", ""])),
        (
            "--seeds",
            strings(&[
                "0..2",
                "5..5",
                "7..3",
                "a..b",
                "..",
                "18446744073709551614..18446744073709551615",
                "0..18446744073709551616",
            ]),
        ),
        ("--jobs", strings(&["0", "1", "2", "99999999999999999999", "-1"])),
        (
            "--shard",
            strings(&[
                "0/1",
                "1/2",
                "2/2",
                "0/0",
                "auto",
                "auto/3",
                "x",
                "0/1000000000000000000",
                "18446744073709551615/18446744073709551615",
            ]),
        ),
        ("--campaign-seed", u64s.clone()),
        ("--seed", u64s),
        ("--csv", outputs.clone()),
        ("--json", outputs.clone()),
        ("--junit", outputs.clone()),
        ("--history", outputs.clone()),
        ("--trace", outputs.clone()),
        ("--perfetto", outputs.clone()),
        ("--svg", outputs.clone()),
        ("--html", outputs),
        ("--bug", strings(&["stale_local_read", "backup_reads", "nope", "", "\u{1b}[31m"])),
        (
            "--set",
            strings(&[
                "cluster.nodes=0",
                "cluster.nodes=4000000000",
                "cluster.nodes=18446744073709551616",
                "network.loss=2",
                "network.loss=[0.1, 0.0]",
                "=",
                "x",
                "x=",
                "=1",
                "workload.retry_after=0ms",
                "scenario.name=\"\u{7}\"",
                "nemesis.clock_jump_max=\"9223372036854775807ns\"",
                "network.latency={ dist = \"pareto\", scale = \"1ms\", shape = 0.0 }",
                "protocol.options.nope=1",
                "[a]=1",
            ]),
        ),
        ("--message-format", strings(&["json", "human", "x"])),
        ("--color", strings(&["always", "never", "auto", "x"])),
        ("--diagram-window", strings(&["0s..1s", "1s..0s", "x", "0ns..18446744073709551615ns"])),
        ("--diagram-last", strings(&["0", "1", "99999999999999999999"])),
        ("--model", strings(&["register", "cas-register", "kv", "x"])),
        ("--format", strings(&["edn", "jsonl", "x"])),
        ("--max-input-size", strings(&["0", "1", "1KiB", "18446744073709551615GiB", "x", "-1"])),
        ("--consistency", strings(&["serializable", "strict-serializable", "x"])),
        (
            "--rerun-failed",
            vec!["/dev/null".to_owned(), format!("{tmp}/missing.json"), history.to_owned()],
        ),
        ("--show", strings(&["raft-steady", "nope", "", "../../etc/passwd"])),
        ("--stop-on-first", vec![]),
        ("--guided", vec![]),
        ("--dry-run", vec![]),
        ("--check-determinism", vec![]),
        ("--json", vec![]),
        ("-q", vec![]),
        ("-v", vec![]),
        ("--help", vec![]),
        ("--nope", vec![]),
    ]
}

const SUBCOMMANDS: &[&str] = &[
    "run",
    "fuzz",
    "replay",
    "merge",
    "check",
    "scenarios",
    "protocols",
    "completions",
    "nope",
    "",
];

/// The flags a subcommand takes, drawn from most often so that many cases get past the
/// parser; any flag of the pool is drawn too.
fn its_flags(subcommand: &str) -> &'static [&'static str] {
    match subcommand {
        "run" => &[
            "--seed",
            "--bug",
            "--set",
            "--history",
            "--trace",
            "--dry-run",
            "--perfetto",
            "--svg",
            "--diagram-window",
            "--diagram-last",
            "-q",
            "-v",
            "--color",
        ],
        "fuzz" => &[
            "--count",
            "--seeds",
            "--jobs",
            "--shard",
            "--stop-on-first",
            "--guided",
            "--campaign-seed",
            "--bug",
            "--set",
            "--csv",
            "--json",
            "--junit",
            "--message-format",
            "--rerun-failed",
            "-q",
            "-v",
        ],
        "replay" => &[
            "--seed",
            "--seed",
            "--bug",
            "--set",
            "--check-determinism",
            "--trace",
            "--history",
            "--svg",
        ],
        "merge" => &["--csv", "--json", "--junit", "--message-format"],
        "check" => &["--model", "--format", "--max-input-size", "--consistency", "--html"],
        "scenarios" => &["--show"],
        _ => &["-q"],
    }
}

/// What a run may cost: a short run, few events.
const CAPS: &[&str] = &[
    "--set",
    "run.duration=300ms",
    "--set",
    "run.heal_at=100ms",
    "--set",
    "run.max_events=20000",
    "--set",
    "checks.liveness_bound=100ms",
];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(96),
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_arguments_get_an_exit_code_from_0_to_3(
        subcommand in prop::sample::select(SUBCOMMANDS),
        positionals in prop_oneof![
            1 => prop::collection::vec(any::<prop::sample::Index>(), 0..1),
            6 => prop::collection::vec(any::<prop::sample::Index>(), 1..2),
            1 => prop::collection::vec(any::<prop::sample::Index>(), 2..3),
        ],
        picks in prop::collection::vec((any::<bool>(), any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..5),
    ) {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-fuzz");
        std::fs::create_dir_all(&tmp).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let history = root.join("testdata/histories/knossos/cas-register/good/memstress3-0.edn");
        let files = [
            "raft-steady".to_owned(),
            "pb-steady".to_owned(),
            "quorum-one".to_owned(),
            "2pc-base".to_owned(),
            "nope".to_owned(),
            String::new(),
            "/dev/zero".to_owned(),
            "/".to_owned(),
            "bash".to_owned(),
            history.display().to_string(),
        ];
        let flags = flags(tmp.to_str().unwrap(), history.to_str().unwrap());
        let mut args = vec!["dsim".to_owned(), subcommand.to_owned()];
        for p in &positionals {
            args.push(files[p.index(files.len())].clone());
        }
        for (any_flag, flag, value) in &picks {
            let ours = its_flags(subcommand);
            let (name, values) = if *any_flag && flag.index(4) == 0 {
                &flags[flag.index(flags.len())]
            } else {
                let name = ours[flag.index(ours.len())];
                flags.iter().find(|(n, _)| *n == name).expect("a flag of the pool")
            };
            args.push((*name).to_owned());
            if !values.is_empty() {
                args.push(values[value.index(values.len())].clone());
            }
        }
        if ["run", "fuzz", "replay"].contains(&subcommand) {
            args.extend(CAPS.iter().map(|c| (*c).to_owned()));
        }
        if subcommand == "fuzz" && !args.iter().any(|a| ["--count", "--seeds", "--rerun-failed"].contains(&a.as_str())) {
            args.extend(["--count".to_owned(), "2".to_owned()]);
        }
        let code = dsim::main_from(Registry::bundled(), args.clone());
        prop_assert!(code <= 3, "exit {code} for {args:?}");
    }
}
