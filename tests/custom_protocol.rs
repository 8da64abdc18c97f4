//! A protocol defined outside the `protocols` crate (examples/custom_protocol) gets the
//! whole command line: it runs TOML scenarios that name it.

#[path = "../examples/custom_protocol/single_copy.rs"]
mod single_copy;

use runner::Registry;
use std::path::Path;

fn dsim(args: &[&str]) -> u8 {
    let registry = Registry::bundled().with::<single_copy::SingleCopy>();
    dsim::main_from(registry, std::iter::once("dsim").chain(args.iter().copied()))
}

#[test]
fn a_custom_protocol_runs_a_scenario_through_the_command_line() {
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/custom_protocol/scenario.toml");
    let scenario = scenario.to_str().unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("custom_protocol");
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("report.csv");
    assert_eq!(
        dsim(&["fuzz", scenario, "--count", "20", "--jobs", "2", "--csv", csv.to_str().unwrap()]),
        0
    );
    let report = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(report.lines().count(), 21);
    assert!(
        report.lines().skip(1).all(|row| row.starts_with("single-copy-lossy,single-copy,")),
        "{report}"
    );
    assert!(report.lines().skip(1).all(|row| row.contains(",pass,")), "{report}");
    // Its known-bug switch is found by the same command line.
    assert_eq!(
        dsim(&["fuzz", scenario, "--count", "20", "--bug", "answer_locally", "--stop-on-first"]),
        1
    );
}
