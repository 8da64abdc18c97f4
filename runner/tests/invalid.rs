//! Every file in `tests/invalid/` is a broken scenario whose first line says where the
//! problem is: `# expect: LINE KEY` (`-` for a syntax error, which has no key). Loading it
//! must fail with a problem at that line naming that key, and must not panic.

use runner::Registry;
use scenarios::{load, load_str};
use std::path::Path;

#[test]
fn every_invalid_scenario_is_rejected_at_the_right_line_and_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let registry = Registry::bundled();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let expect =
            text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).unwrap_or_else(|| {
                panic!("{}: first line must be `# expect: LINE KEY`", path.display())
            });
        let (line, key) = expect.split_once(' ').unwrap();
        let line: usize = line.parse().unwrap();
        let error = load(path, registry.catalogue())
            .expect_err(&format!("{} must be rejected", path.display()));
        let found = error.problems.iter().any(|p| {
            p.line == line
                && p.file == *path
                && (key == "-" || p.key == key)
                && !p.message.is_empty()
        });
        if !found {
            wrong.push(format!(
                "{}: expected a problem at line {line} for `{key}`, got:\n{error}",
                path.display()
            ));
        }
        checked += 1;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked >= 30, "only {checked} invalid scenarios");
}

/// The other side of `liveness-bound-over-*.toml`: a bound up to the shortest timeout a
/// seed can draw is accepted, and without one the bound is that timeout.
#[test]
fn the_liveness_bound_is_at_most_the_shortest_timeout_and_by_default_that() {
    let registry = Registry::bundled();
    let bound = |workload_and_checks: &str| {
        let text = format!(
            "[protocol]\nname = \"raft\"\n[cluster]\nnodes = 3\n[workload]\n{workload_and_checks}"
        );
        load_str(Path::new("bound.toml"), &text, registry.catalogue())
            .map(|s| s.checks.liveness_bound.map(|b| b.to_string()))
            .map_err(|e| e.to_string())
    };
    assert_eq!(bound(""), Ok(Some("1s".into())));
    assert_eq!(bound("timeout = [\"700ms\", \"2s\"]"), Ok(Some("700ms".into())));
    assert_eq!(bound("timeout = { one_of = [\"2s\", \"900ms\"] }"), Ok(Some("900ms".into())));
    let given = "timeout = [\"700ms\", \"2s\"]\n[checks]\nliveness_bound =";
    assert_eq!(bound(&format!("{given} \"700ms\"")), Ok(Some("700ms".into())));
    assert_eq!(bound(&format!("{given} \"none\"")), Ok(None));
    let refused = bound(&format!("{given} \"701ms\"")).unwrap_err();
    assert!(refused.contains("bound.toml:8:18") && refused.contains("at most 700ms"), "{refused}");
}

/// A cluster is bounded by memory, not by a fixed cap: one whose engine state alone
/// needs terabytes is refused at load, naming what it needs and what the machine has,
/// and one far past the old cap of 1,024 nodes loads.
#[cfg(target_os = "linux")]
#[test]
fn a_cluster_that_cannot_fit_in_memory_is_refused_at_load() {
    let registry = Registry::bundled();
    let load = |nodes: u64| {
        let text = format!("[protocol]\nname = \"raft\"\n[cluster]\nnodes = {nodes}\n");
        load_str(Path::new("huge.toml"), &text, registry.catalogue()).map_err(|e| e.to_string())
    };
    let error = load(4_000_000_000).unwrap_err();
    assert!(
        error.starts_with(
            "error: huge.toml:4:9: `cluster.nodes`: 4000000000 nodes of raft need at least"
        ),
        "{error}"
    );
    assert!(
        error.contains("bytes per node") && error.contains("this machine has available"),
        "{error}"
    );
    assert!(load(100_000).is_ok());
}

/// A scenario file, or a base it extends, is read up to a bound: `/dev/zero` and a file
/// of 17 MiB are refused with the limit, not read until memory runs out.
#[cfg(unix)]
#[test]
fn scenario_files_past_the_size_limit_are_refused() {
    let registry = Registry::bundled();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("invalid-sizes");
    std::fs::create_dir_all(&dir).unwrap();
    let zero = dir.join("zero.toml");
    std::fs::write(&zero, "extends = \"/dev/zero\"\n").unwrap();
    let error = load(&zero, registry.catalogue()).unwrap_err().to_string();
    assert!(error.contains("zero.toml:1:11: `extends`: cannot read base scenario /dev/zero: it holds more than 16 MiB, the most a scenario file may"), "{error}");
    let big = dir.join("big.toml");
    std::fs::write(&big, "#".repeat(17 << 20)).unwrap();
    let error = load(&big, registry.catalogue()).unwrap_err().to_string();
    assert!(
        error.contains("big.toml: cannot read the scenario file: it holds more than 16 MiB"),
        "{error}"
    );
}
