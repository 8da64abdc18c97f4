//! `dsim fuzz --guided`: the same campaign whatever `--jobs`, a corpus that grows past the
//! fresh seeds, and derived runs that their replay commands run again exactly.

mod common;
use common::{dsim, scratch, stderr, stdout};
use serde_json::Value;

/// The words of a replay command, as a POSIX shell splits them (plain words and
/// single-quoted ones, as `dsim` writes them).
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in command.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

fn records(path: &std::path::Path) -> Vec<Value> {
    let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    report["records"].as_array().unwrap().clone()
}

/// A guided campaign of pb-faults with its backups serving stale reads, and `extra`.
fn stale_backup_reads(extra: &[&str]) -> std::process::Output {
    let mut args = vec!["fuzz", "pb-faults", "--guided", "--bug", "backup_reads"];
    args.extend_from_slice(extra);
    dsim(&args)
}

fn derived(record: &Value) -> bool {
    record["replay"].as_str().unwrap().contains(" --set ")
}

#[test]
fn a_guided_campaign_is_the_same_whatever_jobs() {
    let dir = scratch("guided_jobs");
    let run = |jobs: &str, seed: &str, csv: &str| {
        let csv = dir.join(csv);
        let out = dsim(&[
            "fuzz",
            "raft-swarm",
            "--guided",
            "--count",
            "160",
            "--campaign-seed",
            seed,
            "--jobs",
            jobs,
            "--csv",
            csv.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
        (stdout(&out), std::fs::read_to_string(csv).unwrap())
    };
    let (one, csv_one) = run("1", "5", "one.csv");
    let (two, csv_two) = run("2", "5", "two.csv");
    assert_eq!(one, two);
    assert_eq!(csv_one, csv_two);
    assert_eq!(csv_one.lines().count(), 161, "a header and a row per run");
    let summary = one.lines().find(|l| l.starts_with("guided raft-swarm: corpus ")).unwrap();
    assert!(summary.contains("features by runs: "), "{summary}");
    // Runs were derived (their replay commands fix their knobs), not only fresh seeds.
    let derived = csv_one.lines().filter(|l| l.contains(" --set protocol.options.")).count();
    assert!(derived > 40, "{derived} derived runs of 160:\n{csv_one}");
    // Another campaign seed is another campaign.
    let (_, other) = run("2", "6", "other.csv");
    assert_ne!(other, csv_one);
}

#[test]
fn a_derived_run_replays_exactly_from_its_replay_command() {
    let dir = scratch("guided_replay");
    let json = dir.join("report.json");
    let out = stale_backup_reads(&["--count", "128", "--json", json.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let records = records(&json);
    assert_eq!(records.len(), 128);
    let failing: Vec<&Value> =
        records.iter().filter(|r| derived(r) && r["verdict"] == "safety").collect();
    let passing: Vec<&Value> =
        records.iter().filter(|r| derived(r) && r["verdict"] == "pass").collect();
    assert!(!failing.is_empty() && !passing.is_empty(), "no derived run failed, or none passed");
    for record in failing.iter().take(2).chain(passing.iter().take(2)) {
        let command = record["replay"].as_str().unwrap();
        let words = words(command);
        assert_eq!(words[..2], ["dsim", "replay"], "{command}");
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        let replayed = dsim(&args);
        let expected_code = if record["verdict"] == "safety" { 1 } else { 0 };
        assert_eq!(replayed.status.code(), Some(expected_code), "{command}\n{}", stderr(&replayed));
        let hash = format!("trace hash {}", record["trace_hash"].as_str().unwrap());
        assert!(stdout(&replayed).contains(&hash), "{command}: not {hash}:\n{}", stdout(&replayed));
    }
    // Its failed seeds cannot be run again by seed alone.
    let rerun = dsim(&["fuzz", "--rerun-failed", json.to_str().unwrap()]);
    assert_eq!(rerun.status.code(), Some(3));
    assert!(stderr(&rerun).contains("a --guided run"), "{}", stderr(&rerun));
}

#[test]
fn guided_stops_on_the_first_failure_and_refuses_what_it_cannot_do() {
    let out = stale_backup_reads(&["--count", "500", "--stop-on-first"]);
    assert_eq!(out.status.code(), Some(1));
    let first = stdout(&out);
    let seeds: u64 = first.split(" seed").next().unwrap().trim().parse().unwrap();
    assert!(seeds < 500, "{first}");
    for extra in [["--shard", "0/2"], ["--seeds", "0..5"]] {
        let out = dsim(&["fuzz", "pb-faults", "--guided", extra[0], extra[1]]);
        assert_eq!(out.status.code(), Some(3), "{extra:?}: {}", stderr(&out));
    }
    let out = dsim(&["fuzz", "pb-faults", "--campaign-seed", "3", "--count", "2"]);
    assert_eq!(out.status.code(), Some(3), "--campaign-seed without --guided");
}
