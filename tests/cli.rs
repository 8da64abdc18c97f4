//! The `dsim` binary, end to end.

use protocols::raft::{Bugs, RaftOptions};
use sim_core::protocol::{BugSwitches, DeclaredOptions};
mod common;

use common::{dsim, example, scratch, stderr, stdout};
use std::path::Path;
use std::process::{Command, Output};

fn trace_hash_line(text: &str) -> String {
    text.lines().find(|l| l.starts_with("trace hash")).expect("a trace hash line").to_owned()
}

#[test]
fn run_prints_a_summary_and_passes() {
    let out = dsim(&["run", &example("pb-steady.toml"), "--seed", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    for field in [
        "scenario   pb-steady (protocol primary-backup, seed 4)",
        "events",
        "ops",
        "messages",
        "latency",
        "faults",
        "verdict    pass",
    ] {
        assert!(text.contains(field), "missing {field:?} in\n{text}");
    }
}

#[test]
fn fuzz_output_is_identical_for_any_number_of_jobs() {
    let dir = scratch("fuzz_jobs");
    let mut reports = Vec::new();
    for jobs in ["1", "2"] {
        let csv = dir.join(format!("j{jobs}.csv"));
        let json = dir.join(format!("j{jobs}.json"));
        let out = dsim(&[
            "fuzz",
            &example("pb-steady.toml"),
            &example("pb-faults.toml"),
            "--seeds",
            "0..12",
            "--jobs",
            jobs,
            "--csv",
            csv.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).contains("24 seeds: 24 passed, 0 failed"), "{}", stdout(&out));
        reports.push((std::fs::read(&csv).unwrap(), std::fs::read(&json).unwrap()));
    }
    assert_eq!(reports[0], reports[1]);
    let csv = String::from_utf8(reports[0].0.clone()).unwrap();
    assert_eq!(csv.lines().count(), 25);
    assert!(csv.lines().nth(1).unwrap().starts_with("pb-steady,primary-backup,0,"));
}

#[test]
fn merged_shards_equal_the_whole_campaign_in_any_order() {
    let dir = scratch("shards");
    // Two scenarios of one file name in different directories do not collide.
    for folder in ["a", "b"] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        let nodes = if folder == "a" { 3 } else { 5 };
        std::fs::write(
            dir.join(folder).join("steady.toml"),
            format!("extends = \"pb-faults.toml\"\n[scenario]\nname = \"steady\"\n[cluster]\nnodes = {nodes}\n"),
        )
        .unwrap();
    }
    let campaign = ["fuzz", "a/steady.toml", "b/steady.toml", "pb-faults", "--count", "7"];
    let fuzz = |extra: &[&str]| {
        let out = dsim_at(&dir, &[], &[&campaign[..], extra].concat());
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
        out
    };
    fuzz(&["--json", "whole.json", "--csv", "whole.csv", "--junit", "whole.xml"]);
    let whole = std::fs::read_to_string(dir.join("whole.json")).unwrap();
    assert!(whole.contains("\"scenario\": \"a/steady\""), "{whole}");
    assert!(whole.contains("\"scenario\": \"b/steady\""), "{whole}");
    for i in 0..3 {
        fuzz(&["--shard", &format!("{i}/3"), "--json", &format!("s{i}.json")]);
    }
    for order in [["s0", "s1", "s2"], ["s2", "s0", "s1"], ["s1", "s2", "s0"]] {
        let files: Vec<String> = order.iter().map(|s| format!("{s}.json")).collect();
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let outputs = ["--json", "merged.json", "--csv", "merged.csv", "--junit", "merged.xml"];
        let merged = dsim_at(&dir, &[], &[&["merge"], &files[..], &outputs[..]].concat());
        assert_eq!(merged.status.code(), Some(0), "{order:?}: {}", stderr(&merged));
        for kind in ["json", "csv"] {
            assert_eq!(
                std::fs::read(dir.join(format!("merged.{kind}"))).unwrap(),
                std::fs::read(dir.join(format!("whole.{kind}"))).unwrap(),
                "{order:?} {kind}"
            );
        }
    }
    let refused = |files: &[&str], message: &str| {
        let out = dsim_at(&dir, &[], &[&["merge"], files].concat());
        assert_eq!(out.status.code(), Some(3), "{files:?}");
        assert!(stderr(&out).contains(message), "{files:?}: {}", stderr(&out));
    };
    refused(
        &["s0.json", "s0.json", "s2.json"],
        "the reports do not cover the campaign exactly once: shard 0/3 is given 2 times (s0.json, s0.json); shard 1/3 is missing",
    );
    refused(
        &["s0.json", "whole.json"],
        "s0.json and whole.json are not shards of one campaign: one is split into 3 shards, the other into 1",
    );
    let other = ["--shard", "1/3", "--json", "other.json", "--bug", "backup_reads"];
    dsim_at(&dir, &[], &[&campaign[..], &other[..]].concat());
    refused(
        &["s0.json", "other.json", "s2.json"],
        "not shards of one campaign: --bug [] against [\"backup_reads\"]",
    );
    // A shard cut short (here: a record removed, as an interrupted run leaves it) is refused.
    let mut cut: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("s1.json")).unwrap()).unwrap();
    cut["records"].as_array_mut().unwrap().pop();
    cut["interrupted"] = serde_json::Value::Bool(true);
    std::fs::write(dir.join("cut.json"), cut.to_string()).unwrap();
    refused(
        &["s0.json", "cut.json", "s2.json"],
        "cut.json (shard 1/3) holds 5 of the shard's 6 seeds: it was interrupted",
    );
}

#[test]
fn shard_auto_reads_each_batch_system() {
    let dir = scratch("shard_auto");
    let systems: [&[(&str, &str)]; 3] = [
        &[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ],
        &[("JOB_COMPLETION_INDEX", "2")],
        &[("CI_NODE_INDEX", "3"), ("CI_NODE_TOTAL", "4")],
    ];
    let explicit = dsim_at(
        &dir,
        &[],
        &["fuzz", "pb-steady", "--count", "9", "--shard", "2/4", "--json", "explicit.json"],
    );
    assert_eq!(explicit.status.code(), Some(0), "{}", stderr(&explicit));
    for (i, env) in systems.iter().enumerate() {
        let shard = if env[0].0 == "JOB_COMPLETION_INDEX" { "auto/4" } else { "auto" };
        let json = format!("auto{i}.json");
        let out = dsim_at(
            &dir,
            env,
            &["fuzz", "pb-steady", "--count", "9", "--shard", shard, "--json", &json],
        );
        assert_eq!(out.status.code(), Some(0), "{env:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("shard 2/4 (from "), "{}", stderr(&out));
        assert!(stdout(&out).starts_with("2 seeds: 2 passed"), "{}", stdout(&out));
        assert_eq!(
            std::fs::read(dir.join(&json)).unwrap(),
            std::fs::read(dir.join("explicit.json")).unwrap()
        );
    }
    let none = dsim_at(&dir, &[], &["fuzz", "pb-steady", "--count", "9", "--shard", "auto"]);
    assert_eq!(none.status.code(), Some(3));
    assert!(stderr(&none).contains("no shard in the environment"), "{}", stderr(&none));
}

#[test]
fn replay_reproduces_the_trace_hash_and_checks_determinism() {
    let scenario = example("pb-faults.toml");
    let run = dsim(&["run", &scenario, "--seed", "5"]);
    let replay = dsim(&["replay", &scenario, "--seed", "5", "--check-determinism"]);
    assert_eq!(replay.status.code(), Some(0), "{}", stderr(&replay));
    assert_eq!(trace_hash_line(&stdout(&run)), trace_hash_line(&stdout(&replay)));
    assert!(
        stdout(&replay).contains("deterministic: two runs agree on all"),
        "{}",
        stdout(&replay)
    );
    let other = dsim(&["run", &scenario, "--seed", "6"]);
    assert_ne!(trace_hash_line(&stdout(&run)), trace_hash_line(&stdout(&other)));
}

#[test]
fn replay_writes_a_trace_of_json_lines() {
    let dir = scratch("trace");
    let trace = dir.join("t.jsonl");
    let out = dsim(&[
        "replay",
        &example("pb-steady.toml"),
        "--seed",
        "1",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&trace).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["kind"], "start");
    assert!(text.lines().any(|l| l.contains("\"kind\":\"deliver\"")));
    assert!(text.lines().any(|l| l.contains("\"kind\":\"fault\"")));
}

#[test]
fn invalid_scenarios_exit_3_naming_file_line_and_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tests/invalid");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let (line, key) = text
            .lines()
            .next()
            .unwrap()
            .strip_prefix("# expect: ")
            .unwrap()
            .split_once(' ')
            .unwrap();
        let out = dsim(&["run", path.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{}: {err}", path.display());
        assert!(err.contains(&format!("{}:{line}:", path.display())), "{}: {err}", path.display());
        if key != "-" {
            assert!(err.contains(&format!("`{key}`")), "{}: {err}", path.display());
        }
        assert!(!err.contains("panicked"), "{err}");
        checked += 1;
    }
    assert!(checked >= 30);
}

#[test]
fn raft_option_and_bug_mistakes_exit_3_where_they_are_written_saying_what_was_meant() {
    let invalid = |name: &str| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tests/invalid");
        dir.join(name).display().to_string()
    };
    for (file, at, says) in [
        (
            "raft-option-misspelled.toml",
            "5:1",
            "unknown option `electon_timeout_min`; did you mean `election_timeout_min`? \
             valid: election_timeout_min, election_timeout_max, heartbeat_interval,",
        ),
        (
            "raft-option-wrong-type.toml",
            "6:12",
            "`protocol.options.pre_vote`: expected true or false",
        ),
        (
            "raft-option-out-of-range.toml",
            "5:22",
            "-1 is out of range; expected an integer of at least 0",
        ),
        (
            "raft-bug-unknown.toml",
            "4:30",
            "unknown bug switch `stale_local_reads`; did you mean `stale_local_read`?",
        ),
        (
            "raft-options-conflict.toml",
            "6:24",
            "raft refuses these options: election_timeout_max (100ms) must be at least \
             election_timeout_min (200ms)",
        ),
        (
            "raft-options-swarm-conflict.toml",
            "7:22",
            "raft refuses a swarm draw at the ends of the ranges (election_timeout_min = 100ms, \
             heartbeat_interval = 120ms): heartbeat_interval (120ms) must be positive and below \
             election_timeout_min (100ms)",
        ),
    ] {
        let path = invalid(file);
        for command in ["run", "fuzz"] {
            let out = dsim(&[command, &path]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(3), "{command} {file}: {err}");
            assert!(err.contains(&format!("{path}:{at}: ")), "{command} {file}: {err}");
            assert!(err.contains(says), "{command} {file}: {err}");
            assert!(stdout(&out).is_empty(), "{command} {file} ran: {}", stdout(&out));
        }
    }
    // `--bug` names go through the same lookup.
    let out = dsim(&["run", &example("raft-steady.toml"), "--bug", "stale_local_reads"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("did you mean `stale_local_read`?"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_3() {
    for args in [
        vec!["run"],
        vec!["fuzz", "x.toml", "--jobs", "many"],
        vec!["frobnicate"],
        vec!["run", "/no/such/file.toml"],
    ] {
        let out = dsim(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
    }
    let scenario = example("pb-steady.toml");
    let bad_bug = dsim(&["run", &scenario, "--bug", "figure_8"]);
    assert_eq!(bad_bug.status.code(), Some(3));
    assert!(stderr(&bad_bug).contains("valid: backup_reads"), "{}", stderr(&bad_bug));
    for args in [["--shard", "2/2"], ["--seeds", "5..5"], ["--count", "0"]] {
        let out = dsim(&["fuzz", &scenario, args[0], args[1]]);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(dsim(&["--help"]).status.code(), Some(0));
}

#[test]
fn protocols_lists_options_and_bug_switches() {
    let out = dsim(&["protocols", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pb = list.as_array().unwrap().iter().find(|p| p["name"] == "primary-backup").unwrap();
    assert_eq!(pb["bugs"][0]["name"], "backup_reads");
    assert_eq!(pb["options"][0]["name"], "masters");
    // Raft's, as `declare_options!` and `declare_bugs!` declare them.
    let raft = list.as_array().unwrap().iter().find(|p| p["name"] == "raft").unwrap();
    let options = raft["options"].as_array().unwrap();
    let names: Vec<&str> = options.iter().map(|o| o["name"].as_str().unwrap()).collect();
    let declared: Vec<&str> = RaftOptions::specs().iter().map(|o| o.name).collect();
    assert_eq!(names, declared);
    let timeout = &options[0];
    assert_eq!(
        (&timeout["type"], &timeout["default"], &timeout["doc"]),
        (
            &"duration".into(),
            &"150ms".into(),
            &"Lower bound of the randomized election timeout (§3.4).".into()
        )
    );
    assert_eq!(options[6]["type"], "integer");
    let bugs = raft["bugs"].as_array().unwrap();
    assert_eq!(bugs.len(), Bugs::specs().len());
    assert!(bugs.iter().all(|b| b["doc"].as_str().is_some_and(|d| d.len() > 40)), "{bugs:?}");
    let text = stdout(&dsim(&["protocols"]));
    assert!(
        text.contains("    snapshot_threshold       integer   default 200        Snapshot once"),
        "{text}"
    );
    assert!(text.contains("    stale_local_read         A leader serves reads"), "{text}");
}

#[test]
fn a_failing_campaign_exits_1_and_its_replay_command_reproduces_the_failure() {
    let out = dsim(&[
        "fuzz",
        &example("pb-faults.toml"),
        "--bug",
        "backup_reads",
        "--count",
        "30",
        "--stop-on-first",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("FAIL linearizability (safety): 1 seed (pb-faults 1)"), "{text}");
    // The counts agree: the seeds up to the first failure are reported, and any later
    // seed that had already run is said not to be.
    let failed = text.lines().filter(|l| l.starts_with("FAIL ")).count();
    assert_eq!(failed, 1, "{text}");
    let summary = text.lines().find(|l| l.contains(" passed, 1 failed")).expect("a summary");
    let reported: usize = summary.split(' ').next().unwrap().parse().unwrap();
    let ran_line = stderr(&out).lines().find(|l| l.starts_with("ran ")).unwrap().to_owned();
    let ran: usize = ran_line.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(ran >= reported, "{ran_line} / {summary}");
    if ran > reported {
        assert!(stderr(&out).contains("stopped at the first failure"), "{}", stderr(&out));
    }
    let replay = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("replay: dsim "))
        .expect("a replay command");
    let args: Vec<&str> = replay.split(' ').collect();
    let again = dsim(&args);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    assert!(stdout(&again).contains("verdict    safety (linearizability)"), "{}", stdout(&again));
    assert!(stdout(&again).contains("impossible in this state"), "{}", stdout(&again));
    // Without the bug switch the same seeds pass.
    let seed = args[args.iter().position(|a| *a == "--seed").unwrap() + 1];
    let clean = dsim(&["run", &example("pb-faults.toml"), "--seed", seed]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}

#[test]
fn run_writes_its_history_and_check_reads_it_back() {
    let dir = scratch("history");
    let history = dir.join("h.jsonl");
    let out = dsim(&[
        "run",
        &example("pb-faults.toml"),
        "--seed",
        "2",
        "--history",
        history.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = dir.join("ok.html");
    let checked = dsim(&["check", history.to_str().unwrap(), "--html", html.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(0), "{}{}", stdout(&checked), stderr(&checked));
    let said = stdout(&checked);
    assert!(said.contains("linearizable") && said.contains("wrote "), "{said}");
    // Events and operations are counted apart: every operation has an invoke and at most
    // one completion; the nemesis's lines are counted on their own.
    let text = std::fs::read_to_string(&history).unwrap();
    let nemesis = text.matches("\"process\":\"nemesis\"").count();
    let events = text.lines().count() - nemesis;
    let invokes = text.matches("\"invoke\"").count();
    assert!(nemesis > 0, "pb-faults seed 2 has faults");
    assert!(
        said.contains(&format!(
            "{events} events ({invokes} operations; {nemesis} nemesis events, not checked)"
        )),
        "{said}"
    );
    // A history with no violation still gets its page, saying so.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h1>linearizable</h1>") && page.contains("no violation"), "{page}");
    let buggy = dir.join("buggy.jsonl");
    let out = dsim(&[
        "run",
        &example("pb-faults.toml"),
        "--seed",
        "1",
        "--bug",
        "backup_reads",
        "--history",
        buggy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let html = dir.join("v.html");
    let checked = dsim(&[
        "check",
        buggy.to_str().unwrap(),
        "--format",
        "jsonl",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(checked.status.code(), Some(1), "{}", stdout(&checked));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("<svg"),
        "{}",
        &page[..200.min(page.len())]
    );
}

#[test]
fn check_gives_the_verdicts_of_recorded_histories() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/histories");
    let file = |p: &str| data.join(p).display().to_string();
    let good = dsim(&["check", &file("porcupine/kv/c01-ok.txt"), "--model", "kv"]);
    assert_eq!(good.status.code(), Some(0), "{}{}", stdout(&good), stderr(&good));
    let bad = dsim(&["check", &file("porcupine/kv/c01-bad.txt"), "--model", "kv"]);
    assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
    assert!(stdout(&bad).contains("impossible in this state"));
    let starved =
        dsim(&["check", &file("porcupine/kv/c50-ok.txt"), "--model", "kv", "--budget", "10"]);
    assert_eq!(starved.status.code(), Some(2), "{}", stdout(&starved));
    // It names each undecided key, how far its search got, and the flag to raise.
    assert!(
        stdout(&starved)
            .contains("key \"0\" is undecided: the longest linearizable prefix found orders "),
        "{}",
        stdout(&starved)
    );
    assert!(
        stdout(&starved)
            .contains("raise the budget (now 10) with --budget, e.g. --budget 50000000"),
        "{}",
        stdout(&starved)
    );
    let whole =
        dsim(&["check", &file("porcupine/kv/c01-bad.txt"), "--model", "kv", "--no-partition"]);
    assert_eq!(whole.status.code(), Some(1), "{}", stdout(&whole));
    assert!(stdout(&whole).contains("kv model over the whole map"), "{}", stdout(&whole));
    // Only nemesis events: no client operation, so trivially linearizable (Knossos's verdict).
    let faults_only =
        dsim(&["check", &file("knossos/cas-register/good/mongodb-v0-ack-rollback-.edn")]);
    assert_eq!(
        faults_only.status.code(),
        Some(0),
        "{}{}",
        stdout(&faults_only),
        stderr(&faults_only)
    );
    assert!(
        stdout(&faults_only).contains(
            "0 events (0 operations; 28 nemesis events, not checked), cas-register model\n\
             linearizable (trivially: 0 client operations, only 28 nemesis events)\n"
        ),
        "{}",
        stdout(&faults_only)
    );
    let wrong_model = dsim(&["check", &file("porcupine/kv/c01-ok.txt"), "--model", "register"]);
    assert_eq!(wrong_model.status.code(), Some(3), "{}", stderr(&wrong_model));
    let dir = scratch("check_input");
    let broken = dir.join("broken.edn");
    std::fs::write(&broken, "[{:process 0, :type :invoke, :f :read}\n {:process 0 :type}]")
        .unwrap();
    let out = dsim(&["check", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains(&format!("{}:2:", broken.display())), "{}", stderr(&out));
}

/// Output that cannot be written is an error message, and a reader that went away is not
/// an error; neither is a panic.
#[test]
fn unwritable_or_closed_stdout_is_not_a_panic() {
    for args in [&["protocols"][..], &["completions", "bash"], &["scenarios"]] {
        let full = std::fs::File::create("/dev/full").expect("/dev/full on Linux");
        let out = Command::new(env!("CARGO_BIN_EXE_dsim"))
            .args(args)
            .stdout(full)
            .output()
            .expect("dsim runs");
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("cannot write to standard output"), "{}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));

        let mut child = Command::new(env!("CARGO_BIN_EXE_dsim"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("dsim runs");
        drop(child.stdout.take()); // the reader goes away before dsim writes
        let out = child.wait_with_output().expect("dsim ends");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
}

/// `dsim check` with `args`, killed (and the test failed) if it takes longer than
/// `seconds`: a pathological input must end quickly, not hang the test suite. Output goes to
/// files, so a full pipe cannot stall the child.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // a test's deadline, not simulation
fn dsim_within(seconds: u64, args: &[&str]) -> Output {
    use std::time::{Duration, Instant};
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = scratch(&format!("dsim_within_{call}"));
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args(args)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("dsim runs");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let status = loop {
        if let Some(status) = child.try_wait().expect("dsim can be waited for") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dsim {args:?} took more than {seconds} s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

/// Checks `file` (written with `contents` in a fresh folder), expecting bad input (exit 3)
/// within 30 s and a message that starts with the file's path followed by `located`.
fn assert_bad_history(test: &str, name: &str, contents: &[u8], extra: &[&str], located: &str) {
    let path = scratch(test).join(name);
    std::fs::write(&path, contents).unwrap();
    let mut args = vec!["check", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = dsim_within(30, &args);
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{name}: {message}{}", stdout(&out));
    let expected = format!("error: {}{located}", path.display());
    assert!(message.starts_with(&expected), "{name}: expected {expected:?}, got {message:?}");
    assert!(!message.contains("panicked"), "{message}");
}

/// Issue 14: inputs that used to overflow the stack, take minutes or read forever.
#[test]
fn check_ends_quickly_with_a_located_error_on_pathological_histories() {
    let chain = 100_000;
    // A long chain of discards: each `#_` used to be a stack frame (exit 134).
    let discards = format!("[{}]", "#_ ".repeat(chain));
    let last = 2 + 3 * (chain - 1);
    let at = format!(":1:{last}: `#_` must be followed by a value to discard");
    assert_bad_history("pathological", "discards.edn", discards.as_bytes(), &[], &at);
    let deep = "[".repeat(chain);
    let at = ":1:201: values nest deeper than 200 levels";
    assert_bad_history("pathological", "deep.edn", deep.as_bytes(), &[], at);

    // 100,000 keys: the duplicate scan was quadratic (about a minute in a debug build).
    let fields: String = (0..chain).map(|i| format!("\"k{i}\":{i},")).collect();
    let object = format!("{{{fields}\"k0\":0}}\n");
    let at = format!(":1:{}: the field \"k0\" appears twice", fields.len() + 2);
    assert_bad_history("pathological", "keys.jsonl", object.as_bytes(), &[], &at);
    let keys: String = (0..chain).map(|i| format!(":k{i} {i} ")).collect();
    let map = format!("{{{keys}:k0 0}}");
    let at = format!(":1:{}: this key appears twice in the map", keys.len() + 2);
    assert_bad_history("pathological", "keys.edn", map.as_bytes(), &[], &at);

    // An input over the size limit is refused, and the message says how to raise it.
    let big = format!("[{}]", "{:process 0, :type :invoke, :f :read}\n".repeat(100));
    let over = ": is 3802 bytes, over the limit of 1 KiB for a history file; raise the limit with --max-input-size, e.g. --max-input-size 4KiB";
    assert_bad_history(
        "pathological",
        "big.edn",
        big.as_bytes(),
        &["--max-input-size", "1KiB"],
        over,
    );
    // An endless stream ends at the limit (the default, 64 MiB, read in well under 30 s).
    if Path::new("/dev/zero").exists() {
        let out = dsim_within(30, &["check", "/dev/zero"]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(
            stderr(&out).starts_with(
                "error: /dev/zero: holds more than 67108864 bytes, over the limit of 64 MiB"
            ),
            "{}",
            stderr(&out)
        );
    }
}

/// Malformed files of every kind: bad input (exit 3) with the place and what would be valid.
#[test]
fn check_names_the_place_of_every_kind_of_bad_input() {
    let op = "{:process 0, :type :invoke, :f :read}";
    let cases: &[(&str, &[u8], &str)] = &[
        ("huge.edn", b"[{:process 99999999999999999999, :type :ok}]", ":1:12: `99999999999999999999` is not a number"),
        ("min.edn", b"[{:process -9223372036854775808, :type :ok}]", ":1:12: a :process must be a non-negative integer"),
        ("huge.jsonl", b"{\"process\":0,\"time\":18446744073709551616}", ":1:21: this integer does not fit in 64 bits"),
        ("value.jsonl", b"{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":[9223372036854775808]}", ":1:46: a value's integer must be from -2^63 to 2^63-1"),
        ("string.edn", b"[{:process 0 :f \"abc\n\n", ":1:17: this string is never closed"),
        ("string.jsonl", b"\n{\"process\":\"nemesis", ":2:12: this string is never closed"),
        ("escape.edn", b"[{:process 0, :value \"\\x\"}]", ":1:23: unknown escape `\\x` in a string"),
        ("escape.jsonl", b"{\"process\":\"\\ud800\"}", ":1:13: a high surrogate must be followed by a low one"),
        ("utf8.edn", b"[{:process 0,\r\n :value \"\xe9t\xe9\"}]", ":2:10: the byte 0xe9 is not UTF-8"),
        ("bom-utf8.edn", b"\xef\xbb\xbf[\xff]", ":1:2: the byte 0xff is not UTF-8"),
        ("first-utf8.edn", b"\n \xc3[]", ":2:2: the byte 0xc3 is not UTF-8"),
        ("unicode.edn", "[{:😀 1, :process 0, :type :invoke, :f :lock}]".as_bytes(), ":1:39: unknown :f for a client operation"),
        ("crlf.jsonl", b"{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\r\n{\"process\":0,\"type\":\"ok\"}\r\n", ":2:1: this event has no \"f\" field"),
        ("empty.edn", b"", ": the file is empty (an empty EDN history is `[]`)"),
        ("blank.jsonl", b" \r\n\n", ": the file is empty"),
        ("text.edn", b"\n\n  hello", ":3:3: cannot tell the history's format"),
    ];
    for (name, contents, located) in cases {
        assert_bad_history("bad_inputs", name, contents, &[], located);
    }
    assert_bad_history(
        "bad_inputs",
        "mixed.edn",
        format!("[{op}] [{op}]").as_bytes(),
        &[],
        ":1:1: a history is one vector or list of operation maps",
    );

    // A directory and a missing file are reported without a made-up line and column.
    let dir = scratch("bad_inputs_dir");
    let out = dsim_within(30, &["check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {}: is a directory; expected a history file (Jepsen EDN or dsim JSON lines)\n",
            dir.display()
        )
    );
    let missing = dir.join("missing.edn");
    let out = dsim_within(30, &["check", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).starts_with(&format!("error: {}: cannot read: ", missing.display())),
        "{}",
        stderr(&out)
    );

    // Valid, if unusual: a byte order mark, CRLF line ends.
    let dir = scratch("odd_but_valid");
    for (name, contents) in [
        ("bom.edn", format!("\u{feff}[{op}]\r\n")),
        ("bom.jsonl", "\u{feff}{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\r\n".to_string()),
        ("unicode.jsonl", "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":\"é😀\\u00e9\\ud83d\\ude00\"}\n".to_string()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        let out = dsim_within(30, &["check", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
    }
    // An empty history, even given its format, has nothing to check: not a pass (a history
    // of only nemesis events is one, trivially).
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let out = dsim_within(30, &["check", empty.to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stderr(&out).contains("empty.jsonl: the history holds no events"), "{}", stderr(&out));
}

#[test]
fn a_flag_of_the_other_benchmark_is_refused_not_ignored() {
    for (args, message) in [
        (&["bench", "checker", "--events", "5"][..], "--events is for `dsim bench engine`"),
        (&["bench", "engine", "--operations", "5"], "--operations is for `dsim bench checker`"),
        (&["bench", "checker", "--nodes", "5"], "--nodes is for `dsim bench engine`"),
        (&["bench", "engine", "--nodes", "1"], "--nodes 1: an epidemic needs at least 2 nodes"),
        (&["bench", "engine", "--nodes", "9", "--events", "9"], "give one of them"),
        (&["bench", "engine", "x.edn"], "FILE is for `dsim bench checker`"),
        (
            &["bench", "checker", "--model", "kv"],
            "--model is for the FILEs of `dsim bench checker FILE...`",
        ),
        (
            &["bench", "checker", "x.edn", "--operations", "5"],
            "with FILEs, the files are timed instead",
        ),
    ] {
        let output = dsim(args);
        assert_eq!(output.status.code(), Some(3), "{args:?}");
        assert!(stderr(&output).contains(message), "{args:?}: {}", stderr(&output));
    }
}

/// `dsim bench checker FILE...` times each file's check: operations, verdict, CPU time,
/// peak memory.
#[test]
fn bench_checker_times_history_files() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/histories/porcupine/kv");
    let good = data.join("c01-ok.txt").display().to_string();
    let bad = data.join("c01-bad.txt").display().to_string();
    let output = dsim(&["bench", "checker", "--model", "kv", &good, &bad]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains(&format!("{good}: 58 operations, linearizable: check ")), "{text}");
    assert!(
        text.contains(&format!("{bad}: 38 operations, NOT linearizable (key \"7\"): check ")),
        "{text}"
    );
    assert!(text.contains("2 files, kv model: checks took "), "{text}");
    let missing = dsim(&["bench", "checker", "no-such-file.edn"]);
    assert_eq!(missing.status.code(), Some(3), "{}", stderr(&missing));
}

/// A scenario that declares `[checks] expect = "violation"` passes a campaign that finds
/// one, reported as expected, and fails (exit 1) a campaign that finds none.
#[test]
fn an_expected_violation_passes_when_found_and_fails_when_not() {
    let found = dsim(&["fuzz", &example("quorum-weak.toml"), "--count", "4"]);
    let text = stdout(&found);
    assert_eq!(found.status.code(), Some(0), "{text}{}", stderr(&found));
    assert!(text.contains("violated as expected, 0 failed"), "{text}");
    assert!(text.contains("EXPECTED quorum-weak: "), "{text}");
    assert!(!text.contains("FAIL"), "{text}");

    let dir = scratch("expected_violation");
    let file = dir.join("never.toml");
    let base = example("quorum-base.toml");
    let body = format!(
        "extends = {base:?}\n[scenario]\nname = \"never\"\n[checks]\nexpect = \"violation\"\n"
    );
    std::fs::write(&file, body).unwrap();
    let none = dsim(&["fuzz", file.to_str().unwrap(), "--count", "3"]);
    let text = stdout(&none);
    assert_eq!(none.status.code(), Some(1), "{text}{}", stderr(&none));
    assert!(text.contains("FAIL never: expected a safety violation within 3 seeds, found none"));
}

#[test]
fn check_names_the_anomaly_of_a_transactional_history() {
    let dir = scratch("check_txn");
    let stale = dir.join("stale.edn");
    std::fs::write(
        &stale,
        "{:process 0, :type :invoke, :f :txn, :value [[:append 0 1]]}\n\
         {:process 0, :type :ok, :f :txn, :value [[:append 0 1]]}\n\
         {:process 1, :type :invoke, :f :txn, :value [[:r 0 nil]]}\n\
         {:process 1, :type :ok, :f :txn, :value [[:r 0 []]]}\n\
         {:process 2, :type :invoke, :f :txn, :value [[:r 0 nil]]}\n\
         {:process 2, :type :ok, :f :txn, :value [[:r 0 [1]]]}\n",
    )
    .unwrap();
    let strict = dsim(&["check", stale.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(1), "{}", stderr(&strict));
    let text = stdout(&strict);
    assert!(text.contains("NOT strict serializable: G-single-realtime"), "{text}");
    assert!(
        text.contains("T1 -rw-> T0: T1 read key 0 up to the initial (empty) version"),
        "{text}"
    );
    // --html draws the cycle step by step.
    let page = dir.join("stale.html");
    let drawn = dsim(&["check", stale.to_str().unwrap(), "--html", page.to_str().unwrap()]);
    assert_eq!(drawn.status.code(), Some(1), "{}", stderr(&drawn));
    assert!(stdout(&drawn).contains("wrote "), "{}", stdout(&drawn));
    let page = std::fs::read_to_string(&page).unwrap();
    assert!(page.contains("<h1>Not strict serializable: G-single-realtime</h1>"), "{page}");
    assert!(page.contains("<svg") && page.contains("<line class=\"edge rw\""), "{page}");
    assert!(page.contains("T1 read key 0 up to the initial (empty) version"), "{page}");
    let plain = dsim(&["check", stale.to_str().unwrap(), "--consistency", "serializable"]);
    assert_eq!(plain.status.code(), Some(0), "{}", stdout(&plain));
    assert!(stdout(&plain).contains("serializable: 3 transactions"), "{}", stdout(&plain));
    // A flag of the other kind of check is refused, not ignored.
    let model = dsim(&["check", stale.to_str().unwrap(), "--model", "kv"]);
    assert_eq!(model.status.code(), Some(3), "{}", stdout(&model));
    assert!(stderr(&model).contains("--model kv is for linearizability"), "{}", stderr(&model));
    let kv =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/histories/porcupine/kv/c01-ok.txt");
    let kv = kv.to_str().unwrap();
    let consistency = dsim(&["check", kv, "--model", "kv", "--consistency", "serializable"]);
    assert_eq!(consistency.status.code(), Some(3), "{}", stdout(&consistency));
    assert!(stderr(&consistency).contains("--consistency is for a transactional"));

    // A 2PC run's own history, as JSON lines, checks clean.
    let history = dir.join("run.jsonl");
    let run = dsim(&[
        "run",
        &example("2pc-base.toml"),
        "--seed",
        "2",
        "--history",
        history.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let checked = dsim(&["check", history.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(0), "{}", stdout(&checked));
    assert!(stdout(&checked).contains("strict serializable:"), "{}", stdout(&checked));

    let bad = dir.join("bad.edn");
    std::fs::write(&bad, "{:process 0, :type :ok, :f :txn, :value [[:append 0 1]]}\n").unwrap();
    let refused = dsim(&["check", bad.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(3));
    assert!(
        stderr(&refused)
            .contains("bad.edn:1:1: process 0 completes a transaction it never invoked"),
        "{}",
        stderr(&refused)
    );
}

/// `dsim` run from `dir`, with `env` set (and no batch system's shard variables but
/// those, whatever runs the tests).
fn dsim_at(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dsim"));
    for name in
        ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "CI_NODE_INDEX", "DSIM_SCENARIO_PATH"]
    {
        command.env_remove(name);
    }
    command.current_dir(dir).envs(env.iter().copied()).args(args).output().expect("dsim runs")
}

#[test]
fn bundled_scenarios_run_by_name_from_any_directory() {
    let dir = scratch("by_name");
    let by_path = dsim(&["run", &example("raft-swarm.toml"), "--seed", "3"]);
    for name in ["raft-swarm", "raft-swarm.toml"] {
        let by_name = dsim_at(&dir, &[], &["run", name, "--seed", "3"]);
        assert_eq!(by_name.status.code(), Some(0), "{}", stderr(&by_name));
        assert_eq!(trace_hash_line(&stdout(&by_name)), trace_hash_line(&stdout(&by_path)));
    }
    let listing = stdout(&dsim_at(&dir, &[], &["scenarios"]));
    let swarm = listing.lines().find(|l| l.starts_with("raft-swarm ")).expect("raft-swarm listed");
    assert!(swarm.contains(" raft ") && swarm.contains("swarm testing"), "{listing}");
    assert!(listing.lines().any(|l| l.starts_with("gossip-broadcast-100k ")), "{listing}");
    assert!(!listing.lines().any(|l| l.starts_with("base ")), "a bare base is not runnable");
    // --show prints the file as shipped, naming the schema beside it (where `dsim
    // scenarios --schema > dsim-scenario.schema.json` puts it); saved anywhere, it still
    // extends the bundled base.
    let shown = dsim_at(&dir, &[], &["scenarios", "--show", "raft-swarm"]);
    let shipped = std::fs::read_to_string(example("raft-swarm.toml")).unwrap();
    let rest = shipped.strip_prefix("#:schema ../dsim-scenario.schema.json\n").unwrap();
    assert_eq!(stdout(&shown), format!("#:schema ./dsim-scenario.schema.json\n{rest}"));
    std::fs::write(dir.join("mine.toml"), shown.stdout).unwrap();
    let saved = dsim_at(&dir, &[], &["run", "mine.toml", "--seed", "3"]);
    assert_eq!(trace_hash_line(&stdout(&saved)), trace_hash_line(&stdout(&by_path)));
    // A user's directory is searched by name, first.
    let user = dir.join("user");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(user.join("tiny.toml"), "extends = \"raft-base.toml\"\n[cluster]\nnodes = 3\n")
        .unwrap();
    let env = [("DSIM_SCENARIO_PATH", user.to_str().unwrap())];
    let tiny = dsim_at(Path::new("/"), &env, &["run", "tiny", "--seed", "1"]);
    assert_eq!(tiny.status.code(), Some(0), "{}", stderr(&tiny));
    assert!(stdout(&tiny).contains("scenario   raft-base (protocol raft, seed 1)"));
    let listed = stdout(&dsim_at(Path::new("/"), &env, &["scenarios"]));
    assert!(listed.lines().next().unwrap().starts_with("tiny "), "{listed}");
    // A name found nowhere is bad input, with the close names.
    let missing = dsim_at(&dir, &env, &["run", "swarm"]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(
        stderr(&missing).contains(&format!(
            "no scenario named `swarm` (not a file here, not in {}, not a bundled scenario): did you mean 2pc-swarm, raft-swarm, paxos-swarm?",
            user.display()
        )),
        "{}",
        stderr(&missing)
    );
    let path = dsim_at(&dir, &[], &["run", "nowhere/raft-swarm.toml"]);
    assert_eq!(path.status.code(), Some(3));
    assert!(stderr(&path).contains("nowhere/raft-swarm.toml: cannot read the scenario file"));
}

#[test]
fn set_overrides_any_key_with_the_same_validation() {
    let dir = scratch("set");
    std::fs::write(
        dir.join("seven.toml"),
        "extends = \"raft-swarm.toml\"\n[cluster]\nnodes = 7\n[run]\nduration = \"9s\"\n",
    )
    .unwrap();
    let file = dsim_at(&dir, &[], &["run", "seven.toml", "--seed", "3"]);
    let set = dsim_at(
        &dir,
        &[],
        &[
            "run",
            "raft-swarm",
            "--set",
            "cluster.nodes=7",
            "--set",
            "run.duration=9s",
            "--seed",
            "3",
        ],
    );
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    assert_eq!(trace_hash_line(&stdout(&set)), trace_hash_line(&stdout(&file)));
    assert_ne!(
        trace_hash_line(&stdout(&set)),
        trace_hash_line(&stdout(&dsim_at(&dir, &[], &["run", "raft-swarm", "--seed", "3"])))
    );
    // Inside a value table: only the key given changes.
    let latency = dsim_at(&dir, &[], &["run", "raft-steady", "--set", "network.latency.max=4ms"]);
    assert_eq!(latency.status.code(), Some(0), "{}", stderr(&latency));
    for (argument, message) in [
        (
            "cluster.nodes=0",
            "--set cluster.nodes=0: `cluster.nodes`: 0 is out of range; expected an integer from 1 to",
        ),
        (
            "cluster.nodez=3",
            "--set cluster.nodez=3: `cluster.nodez`: unknown key `nodez` in [cluster]; did you mean `nodes`?",
        ),
        ("network.loss=lots", "--set network.loss=lots: `network.loss`: expected"),
        ("cluster.nodes.a=1", "`cluster.nodes` is an integer, not a table, so it has no key `a`"),
        ("network.loss=[0.1", "--set network.loss=[0.1: `network.loss`: the value is not TOML"),
        ("nodes", "--set nodes: expected KEY=VALUE"),
    ] {
        let out = dsim_at(&dir, &[], &["run", "raft-swarm", "--set", argument]);
        assert_eq!(out.status.code(), Some(3), "{argument}: {}", stdout(&out));
        assert!(stderr(&out).contains(message), "{argument}: {}", stderr(&out));
    }
}

/// The lines of a campaign's output, parsed as JSON.
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[test]
fn failures_are_grouped_by_property_and_rerun_failed_runs_exactly_those_seeds() {
    let dir = scratch("rerun");
    let campaign = ["fuzz", "pb-faults", "pb-steady", "--bug", "backup_reads", "--count", "30"];
    let out = dsim_at(&dir, &[], &[&campaign[..], &["--json", "all.json"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("all.json")).unwrap()).unwrap();
    let failed: Vec<(String, u64)> = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] != "pass")
        .map(|r| (r["scenario"].as_str().unwrap().to_owned(), r["seed"].as_u64().unwrap()))
        .collect();
    assert!(failed.len() > 3, "{text}");
    // One group per property, three examples, a count of the rest.
    let header = format!("FAIL linearizability (safety): {} seeds (", failed.len());
    assert_eq!(text.lines().filter(|l| l.starts_with("FAIL ")).count(), 1, "{text}");
    assert!(text.contains(&header), "{text}");
    assert_eq!(text.lines().filter(|l| l.trim_start().starts_with("replay: ")).count(), 3);
    assert!(
        text.contains(&format!("  ... and {} more: -v prints every failure", failed.len() - 3))
    );
    let verbose = dsim_at(&dir, &[], &[&campaign[..], &["-v"]].concat());
    let verbose_text = stdout(&verbose);
    assert_eq!(verbose_text.lines().filter(|l| l.starts_with("PASS ")).count(), 60 - failed.len());
    assert_eq!(
        verbose_text.lines().filter(|l| l.trim_start().starts_with("replay: ")).count(),
        failed.len() + 3
    );
    let quiet = dsim_at(&dir, &[], &[&campaign[..], &["-q"]].concat());
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));
    assert_eq!(stdout(&quiet), text.replace(&format!("{}\n", sometimes_line(&text)), ""));
    // The rerun runs the failed seeds and no others, with the report's --bug.
    let rerun = dsim_at(
        &dir,
        &[],
        &["fuzz", "--rerun-failed", "all.json", "--message-format", "json", "--json", "rerun.json"],
    );
    assert_eq!(rerun.status.code(), Some(1), "{}", stderr(&rerun));
    let lines = json_lines(&stdout(&rerun));
    let (summary, seeds) = lines.split_last().unwrap();
    let rerun_seeds: Vec<(String, u64)> = seeds
        .iter()
        .map(|l| {
            assert_eq!(l["type"], "seed");
            assert_eq!(l["verdict"], "safety");
            assert_eq!(l["bugs"], serde_json::json!(["backup_reads"]));
            (l["scenario"].as_str().unwrap().to_owned(), l["seed"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(rerun_seeds, failed);
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["failed"], failed.len());
    assert_eq!(summary["exit_code"], 1);
    assert_eq!(summary["failures"][0]["property"], "linearizability");
    assert!(stderr(&rerun).contains("FAIL linearizability (safety)"), "human text on stderr");
    // A report without failures has nothing to rerun.
    dsim_at(&dir, &[], &["fuzz", "pb-steady", "--count", "2", "--json", "clean.json"]);
    let nothing = dsim_at(&dir, &[], &["fuzz", "--rerun-failed", "clean.json"]);
    assert_eq!(nothing.status.code(), Some(0));
    assert!(stdout(&nothing).contains("clean.json: no failed seeds to run again"));
    let mixed = dsim_at(&dir, &[], &["fuzz", "--rerun-failed", "all.json", "pb-steady"]);
    assert_eq!(mixed.status.code(), Some(3), "the report says what to run");
}

fn sometimes_line(text: &str) -> &str {
    text.lines().find(|l| l.starts_with("sometimes: ")).unwrap_or("\u{0}")
}

#[test]
fn message_format_json_streams_a_line_per_seed_then_a_summary() {
    let dir = scratch("message_format");
    let out = dsim_at(
        &dir,
        &[],
        &["fuzz", "pb-steady", "--count", "5", "--message-format", "json", "--json", "r.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = json_lines(&stdout(&out));
    assert_eq!(lines.len(), 6);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    for (line, record) in lines.iter().zip(report["records"].as_array().unwrap()) {
        let mut without_type = line.clone();
        without_type.as_object_mut().unwrap().remove("type");
        assert_eq!(&without_type, record, "a line is the report's record");
    }
    assert_eq!(lines[5]["type"], "summary");
    assert_eq!((lines[5]["seeds"].as_u64(), lines[5]["passed"].as_u64()), (Some(5), Some(5)));
    assert!(stderr(&out).contains("5 seeds: 5 passed, 0 failed"));
    let merged = dsim_at(&dir, &[], &["merge", "r.json", "--message-format", "json"]);
    assert_eq!(json_lines(&stdout(&merged)), lines);
}

#[test]
fn colour_follows_color_and_no_color() {
    let dir = scratch("colour");
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        stdout(&dsim_at(&dir, env, &[&["run", "pb-steady"], extra].concat()))
    };
    let green = "verdict    \u{1b}[32mpass\u{1b}[0m";
    assert!(run(&[], &["--color", "always"]).contains(green));
    assert!(run(&[("NO_COLOR", "1")], &["--color", "always"]).contains(green), "the flag wins");
    // Not a terminal here: auto is plain, as are never and NO_COLOR.
    for (env, extra) in
        [(&[][..], &[][..]), (&[], &["--color", "never"]), (&[("NO_COLOR", "1")], &[])]
    {
        let text = run(env, extra);
        assert!(text.contains("verdict    pass\n") && !text.contains('\u{1b}'), "{text}");
    }
    let fuzz = stdout(&dsim_at(
        &dir,
        &[],
        &["fuzz", "pb-faults", "--bug", "backup_reads", "--count", "3", "--color", "always"],
    ));
    assert!(fuzz.contains("\u{1b}[31mFAIL\u{1b}[0m linearizability"), "{fuzz}");
    let quiet = run(&[], &["-q"]);
    assert_eq!(quiet.lines().next(), Some("verdict    pass"), "{quiet}");
}

#[test]
fn junit_time_is_wall_time_and_simulated_time_a_property() {
    let dir = scratch("junit_time");
    let out = dsim_at(
        &dir,
        &[],
        &["fuzz", "pb-steady", "--count", "2", "--junit", "r.xml", "--json", "r.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let xml = std::fs::read_to_string(dir.join("r.xml")).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let sim_seconds = report["records"][0]["sim_time_ns"].as_u64().unwrap() as f64 / 1e9;
    assert!(
        xml.contains(&format!("<property name=\"simulated_time_s\" value=\"{sim_seconds:.3}\"/>")),
        "{xml}"
    );
    let times: Vec<f64> = xml
        .split("time=\"")
        .skip(1)
        .map(|t| t.split('"').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(times.len(), 2, "{xml}");
    // A merge knows no wall time, and writes none.
    dsim_at(&dir, &[], &["merge", "r.json", "--junit", "m.xml"]);
    let merged = std::fs::read_to_string(dir.join("m.xml")).unwrap();
    assert!(!merged.contains("time="), "{merged}");
    assert!(merged.contains("simulated_time_s"));
}
