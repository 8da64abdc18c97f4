//! Reports survive and destroy nothing: outputs are checked before the first seed, two
//! outputs at one path are refused, devices, FIFOs and symlinks are written as a shell's
//! `>` would, temporary files cannot be hijacked, and SIGINT leaves valid reports of
//! every finished seed.
#![cfg(unix)]

mod common;

use common::{dsim, example, scratch, stderr};
use std::os::unix::fs::FileTypeExt;
use std::process::{Command, Output, Stdio};

fn fuzz(count: &str, outputs: &[&str]) -> Output {
    let steady = example("pb-steady.toml");
    let mut args = vec!["fuzz", steady.as_str(), "--count", count];
    args.extend_from_slice(outputs);
    dsim(&args)
}

/// The data rows of a CSV report.
fn rows(csv: &str) -> usize {
    csv.lines().count() - 1
}

#[test]
fn a_bad_output_path_fails_before_the_first_seed() {
    let dir = scratch("bad_output");
    let missing = dir.join("no/such/dir/out.csv");
    let out = fuzz("1000000", &["--csv", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("ran "), "no seed may run: {}", stderr(&out));
    let into_dir = fuzz("3", &["--json", dir.to_str().unwrap()]);
    assert_eq!(into_dir.status.code(), Some(3));
    assert!(stderr(&into_dir).contains("is a directory"), "{}", stderr(&into_dir));
}

#[test]
fn two_outputs_at_one_path_are_refused() {
    let dir = scratch("same_path");
    let same = dir.join("report");
    let also = dir.join(".").join("report");
    let out = fuzz("3", &["--csv", same.to_str().unwrap(), "--json", also.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("--csv and --json both name"), "{}", stderr(&out));
    assert!(!same.exists() && !stderr(&out).contains("ran "));
    // A device may take two outputs: both go where they were sent.
    let out = fuzz("3", &["--csv", "/dev/null", "--json", "/dev/null"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn devices_fifos_and_symlinks_are_written_through() {
    let dir = scratch("special_files");
    let out = fuzz("3", &["--csv", "/dev/null", "--junit", "/dev/stdout"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("<?xml"), "the JUnit went to stdout");

    // A symlink stays a symlink, and its target gets the report.
    let target = dir.join("target.csv");
    let link = dir.join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = fuzz("3", &["--csv", link.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(rows(&std::fs::read_to_string(&target).unwrap()), 3);

    // A FIFO is streamed to, not replaced.
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = fuzz("3", &["--csv", fifo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows(&reader.join().unwrap()), 3);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn a_planted_symlink_at_the_old_temporary_name_is_not_followed() {
    let dir = scratch("planted");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.join(".out.csv.dsim-partial")).unwrap();
    let out = fuzz("2", &["--csv", dir.join("out.csv").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(rows(&std::fs::read_to_string(dir.join("out.csv")).unwrap()), 2);
    // Nothing of ours is left behind beside the report.
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dsim-partial") && n != ".out.csv.dsim-partial")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn sigint_leaves_valid_reports_of_every_finished_seed() {
    let dir = scratch("sigint");
    let (csv, json) = (dir.join("out.csv"), dir.join("out.json"));
    let child = Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args(["fuzz", &example("pb-steady.toml"), "--count", "100000", "--jobs", "1"])
        .args(["--csv", csv.to_str().unwrap(), "--json", json.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Long enough for the handler to be installed and some seeds to finish.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let csv = std::fs::read_to_string(&csv).unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let seeds = doc["seeds"].as_u64().unwrap() as usize;
    assert!(seeds > 0 && seeds < 100_000, "{seeds} seeds");
    assert_eq!(rows(&csv), seeds, "the CSV and the JSON hold the same seeds");
    assert_eq!(doc["records"].as_array().unwrap().len(), seeds);
    assert_eq!(doc["interrupted"], serde_json::Value::Bool(true));
    // Every finished seed, in order: seeds 0..N.
    let listed: Vec<u64> =
        doc["records"].as_array().unwrap().iter().map(|r| r["seed"].as_u64().unwrap()).collect();
    assert_eq!(listed, (0..seeds as u64).collect::<Vec<_>>());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("interrupted: the reports hold every seed that finished"), "{said}");
}
