//! Seeing a run: its trace (`--trace`), Perfetto file (`--perfetto`), message diagram
//! (`--svg`) and HTML report (`--report`), end to end through the `dsim` binary.

mod common;

use common::{dsim, example, scratch};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Replay `seed` of the example `name` with `flags`, each followed by a file in `dir` of
/// that flag's name; the exit code must be `code`.
fn replay(dir: &Path, name: &str, seed: u64, flags: &[&str], code: i32) -> Vec<PathBuf> {
    let mut args = vec!["replay".to_owned(), example(name), "--seed".into(), seed.to_string()];
    let mut files = Vec::new();
    for flag in flags {
        let file = dir.join(flag.trim_start_matches('-'));
        args.extend([(*flag).to_owned(), file.display().to_string()]);
        files.push(file);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = dsim(&args);
    assert_eq!(out.status.code(), Some(code), "{}", String::from_utf8_lossy(&out.stderr));
    files
}

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_trace_written_twice_for_the_same_seed_is_byte_identical() {
    let dir = scratch("see-twice");
    let first = replay(&dir, "raft-swarm.toml", 7, &["--trace"], 0);
    let first = std::fs::read(&first[0]).unwrap();
    let second = replay(&dir, "raft-swarm.toml", 7, &["--trace"], 0);
    assert_eq!(first, std::fs::read(&second[0]).unwrap());
    let other = replay(&dir, "raft-swarm.toml", 8, &["--trace"], 0);
    assert_ne!(first, std::fs::read(&other[0]).unwrap(), "a trace depends on its seed");
}

/// Every delivery, drop and hold names a send before it on the same link; every fate
/// agrees with what became of the message; every timer fired was set before.
#[test]
fn every_delivery_names_a_send_that_precedes_it() {
    let dir = scratch("see-sends");
    let trace = replay(&dir, "raft-swarm.toml", 7, &["--trace"], 0);
    let mut sends: BTreeMap<u64, Value> = BTreeMap::new();
    let mut deliveries: BTreeMap<u64, u64> = BTreeMap::new();
    let mut drops = 0;
    let mut timers = BTreeMap::new();
    let mut fired = 0;
    let mut last_time = 0;
    for line in lines(&trace[0]) {
        let time = line["time_ns"].as_u64().unwrap();
        assert!(time >= last_time, "out of order: {line}");
        last_time = time;
        match line["kind"].as_str().unwrap() {
            "send" => {
                let id = line["message"].as_u64().unwrap();
                assert_eq!(id, sends.len() as u64, "message ids are dense, in send order");
                let structured = line["msg"].as_str().is_none_or(|word| !word.contains(' '));
                assert!(structured, "a message as JSON, not Debug text: {line}");
                sends.insert(id, line);
            }
            kind @ ("deliver" | "drop" | "hold") => {
                let id = line["message"].as_u64().unwrap();
                let send =
                    sends.get(&id).unwrap_or_else(|| panic!("{kind} before its send: {line}"));
                assert_eq!(send["node"], line["from"], "{line} from {send}");
                assert_eq!(send["to"], line["node"], "{line} to {send}");
                if kind == "deliver" {
                    *deliveries.entry(id).or_default() += 1;
                    let msg_type = &send["msg"]["type"];
                    assert_eq!(&line["msg_type"], msg_type, "{line} of {send}");
                } else if kind == "drop" {
                    drops += 1;
                }
            }
            "timer_set" => {
                timers.insert(line["timer"].as_u64().unwrap(), line);
            }
            "timer" => {
                let set = &timers[&line["timer"].as_u64().unwrap()];
                assert_eq!(set["node"], line["node"]);
                assert_eq!(set["timer_kind"], line["timer_kind"]);
                let due = set["time_ns"].as_u64().unwrap() + set["delay_ns"].as_u64().unwrap();
                // Later than due only when its node was paused then.
                assert!(due <= line["time_ns"].as_u64().unwrap(), "{line} set as {set}");
                fired += 1;
            }
            _ => {}
        }
    }
    let mut fates: BTreeMap<String, u64> = BTreeMap::new();
    for (id, send) in &sends {
        let fate = send["fate"].as_str().unwrap();
        *fates.entry(fate.to_owned()).or_default() += 1;
        let copies = deliveries.get(id).copied().unwrap_or(0);
        match fate {
            "delivered" => assert_eq!(copies, 1, "{send}"),
            "duplicated" => assert_eq!(copies, 2, "{send}"),
            "dropped" => assert!(send["reason"].is_string(), "{send}"),
            _ => assert_eq!(copies, 0, "{send}"),
        }
    }
    // The seed exercises every fate it can: loss and partitions, duplicates, and
    // messages still in flight at the end.
    for fate in ["delivered", "duplicated", "dropped"] {
        assert!(fates.get(fate).copied().unwrap_or(0) > 0, "no {fate} message: {fates:?}");
    }
    assert!(drops > 0 && fired > 0, "drops at arrival {drops}, timers fired {fired}");
}

/// The trace's process ids are the history's: each completion in the history is a reply
/// (or, for an indeterminate one, a deadline) of the same process at the same time.
#[test]
fn the_trace_and_the_history_share_process_ids() {
    let dir = scratch("see-processes");
    let files = replay(&dir, "pb-faults.toml", 0, &["--trace", "--history"], 0);
    let mut replies = BTreeMap::new();
    for line in lines(&files[0]) {
        if line["kind"] == "reply" && line["outcome"] != "redirect" {
            let key = (line["time_ns"].as_u64().unwrap(), line["process"].as_u64().unwrap());
            replies.insert(key, line["outcome"].as_str().unwrap().to_owned());
        }
    }
    let clients = 5; // base.toml's, which pb-faults.toml extends
    let (mut completions, mut after_info) = (0, 0);
    for event in lines(&files[1]) {
        let kind = event["type"].as_str().unwrap();
        if kind == "ok" || kind == "fail" {
            let key = (event["time"].as_u64().unwrap(), event["process"].as_u64().unwrap());
            assert_eq!(replies.get(&key).map(String::as_str), Some(kind), "{event}");
            completions += 1;
            after_info += u64::from(key.1 >= clients);
        }
    }
    assert!(completions > 100, "{completions} completions");
    assert!(after_info > 0, "no completion of a process that follows an info");
}
