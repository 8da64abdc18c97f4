//! A protocol with its own workload (tickets, not keys) and its own checker, defined
//! outside dsim's crates (examples/custom_workload), runs TOML scenarios through the
//! command line, and its checker fails the run when its bug switch is on.

#[path = "../examples/custom_workload/tickets.rs"]
mod tickets;

use runner::Registry;
use scenarios::load_str;
use std::path::{Path, PathBuf};

fn registry() -> Registry {
    Registry::bundled().with::<tickets::Dispenser>()
}

fn dsim(args: &[&str]) -> u8 {
    dsim::main_from(registry(), std::iter::once("dsim").chain(args.iter().copied()))
}

fn scenario() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/custom_workload/scenario.toml")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("custom_workload");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_workload_of_its_own_runs_and_its_checker_judges_every_seed() {
    let csv = scratch("report.csv");
    let path = scenario();
    let args = ["fuzz", path.to_str().unwrap(), "--count", "40", "--csv", csv.to_str().unwrap()];
    assert_eq!(dsim(&args), 0);
    let report = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(report.lines().count(), 41);
    for row in report.lines().skip(1) {
        assert!(row.starts_with("tickets-lossy,tickets,"), "{row}");
        assert!(row.contains(",pass,"), "{row}");
        assert!(row.contains("tickets=pass"), "the ticket checker ran: {row}");
        assert!(row.contains("liveness=pass"), "{row}");
    }
    // Sometimes: the nemesis crashed the dispenser's nodes, and clients saw timeouts.
    assert!(report.lines().skip(1).any(|row| row.contains("crash=") && !row.contains("crash=0")));
}

#[test]
fn its_bug_switch_is_caught_by_its_own_checker() {
    let csv = scratch("bug.csv");
    let path = scenario();
    let args = [
        "fuzz",
        path.to_str().unwrap(),
        "--count",
        "20",
        "--bug",
        "local_tickets",
        "--csv",
        csv.to_str().unwrap(),
    ];
    assert_eq!(dsim(&args), 1, "a safety violation");
    let report = std::fs::read_to_string(&csv).unwrap();
    let failed: Vec<&str> = report.lines().filter(|row| row.contains(",safety,tickets,")).collect();
    assert!(!failed.is_empty(), "{report}");
    assert!(failed.iter().all(|row| row.contains("tickets=fail")));
}

#[test]
fn its_history_is_written_as_json_lines_of_its_own_events() {
    let history = scratch("history.jsonl");
    let path = scenario();
    let args =
        ["run", path.to_str().unwrap(), "--seed", "3", "--history", history.to_str().unwrap()];
    assert_eq!(dsim(&args), 0);
    let text = std::fs::read_to_string(&history).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("{\"process\":") && first.contains("\"type\":\"invoke\""), "{first}");
    assert!(text.lines().any(|l| l.contains("\"type\":\"ok\"") && l.contains("\"f\":\"take\"")));
}

/// The load error of the scenario with `from` replaced by `to`.
fn load_error(from: &str, to: &str) -> String {
    let path = scenario();
    let text = std::fs::read_to_string(&path).unwrap().replace(from, to);
    assert!(text.contains(to));
    match load_str(&path, &text, registry().catalogue()) {
        Ok(_) => panic!("{to} loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn its_options_and_bugs_are_checked_at_load_with_file_line_and_column() {
    let file = "custom_workload/scenario.toml";
    let misspelled = load_error("peek_percent =", "peek_percnt =");
    assert!(misspelled.contains(&format!("{file}:22:1")), "{misspelled}");
    assert!(misspelled.contains("did you mean `peek_percent`?"), "{misspelled}");

    let wrong_type = load_error("peek_percent = [10, 40]", "peek_percent = \"often\"");
    assert!(wrong_type.contains(&format!("{file}:22:16")), "{wrong_type}");

    let refused = load_error("peek_percent = [10, 40]", "peek_percent = [10, 400]");
    assert!(refused.contains(&format!("{file}:22:16")), "{refused}");
    assert!(refused.contains("peek_percent is 400, above 100"), "{refused}");

    let bug = load_error("name = \"tickets\"\n", "name = \"tickets\"\nbugs = [\"local_ticket\"]\n");
    assert!(bug.contains(&format!("{file}:7:9")), "{bug}");
    assert!(bug.contains("did you mean `local_tickets`?"), "{bug}");

    let model = load_error("[checks]\n", "[checks]\nlinearizability = \"register\"\n");
    assert!(model.contains("has no model to check linearizability against"), "{model}");

    // Through the command line, each is bad input: exit 3.
    let bad = scratch("bad.toml");
    let text =
        std::fs::read_to_string(scenario()).unwrap().replace("peek_percent =", "peek_percnt =");
    std::fs::write(&bad, text).unwrap();
    assert_eq!(dsim(&["run", bad.to_str().unwrap()]), 3);
    assert_eq!(dsim(&["run", scenario().to_str().unwrap(), "--bug", "local_ticket"]), 3);
}
