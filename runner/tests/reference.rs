//! The schema reference stays in step with the loader: every key the loader accepts is
//! documented, and a scenario that uses every key loads and runs.

use runner::{Registry, RunSettings};
use scenarios::load;
use scenarios::schema::KEYS;
use std::path::Path;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

#[test]
fn every_key_is_documented() {
    let reference = read("../docs/scenario-reference.md");
    let missing: Vec<&str> =
        KEYS.iter().copied().filter(|k| !reference.contains(&format!("| `{k}` |"))).collect();
    assert!(missing.is_empty(), "keys missing from docs/scenario-reference.md: {missing:?}");
}

#[test]
fn the_kitchen_sink_uses_every_key_and_runs() {
    let text = read("../scenarios/tests/kitchen-sink.toml");
    for key in KEYS {
        let leaf = key.rsplit('.').next().unwrap();
        assert!(text.contains(leaf), "kitchen-sink.toml does not use `{key}`");
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/kitchen-sink.toml");
    let registry = Registry::bundled();
    let scenario = load(&path, registry.catalogue()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scenario.name, "kitchen-sink");
    assert_eq!(scenario.faults.len(), 11);
    let plan = scenario.plan(3, &[]);
    let drawn: Vec<&str> = plan.drawn.iter().map(|(k, _)| k.as_str()).collect();
    for key in [
        "protocol.options.heartbeat_interval",
        "protocol.options.batch",
        "network.loss",
        "clocks[n0].drift_ppm",
        "workload.clients",
        "workload.distribution",
    ] {
        assert!(drawn.contains(&key), "{key} not drawn: {drawn:?}");
    }
    assert!(!drawn.contains(&"clocks[n2].drift_ppm"), "node 2's clock is fixed");
    let entry = registry.get("primary-backup").unwrap();
    let output = (entry.run)(&plan, &RunSettings::default()).unwrap();
    assert!(output.record.events > 1000);
    assert!(output.record.faults.iter().any(|(k, n)| k == "partition" && *n >= 2));
}

#[test]
fn swarm_draws_differ_by_seed_and_repeat_for_a_seed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/kitchen-sink.toml");
    let scenario = load(&path, Registry::bundled().catalogue()).unwrap();
    let draws: Vec<_> = (0..20).map(|seed| scenario.plan(seed, &[]).drawn).collect();
    assert_eq!(draws[7], scenario.plan(7, &[]).drawn);
    let distinct: std::collections::BTreeSet<_> = draws.iter().map(|d| format!("{d:?}")).collect();
    assert_eq!(distinct.len(), 20);
    let loss: Vec<f64> = draws
        .iter()
        .map(|d| d.iter().find(|(k, _)| k == "network.loss").unwrap().1.parse().unwrap())
        .collect();
    assert!(loss.iter().all(|&x| (0.0..=0.05).contains(&x)));
}

/// The names the reference lists for `key`: every `code` span in a column of its row (1
/// the type, 3 the meaning).
fn listed_names(reference: &str, key: &str, column: usize) -> Vec<String> {
    let row = reference.lines().find(|l| l.starts_with(&format!("| `{key}` |"))).unwrap();
    let cell = row.split('|').nth(column + 1).unwrap();
    cell.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

#[test]
fn partition_kinds_and_models_are_documented_as_they_are_declared() {
    use sim_core::check::ModelKind;
    use sim_core::faults::Partition;
    let reference = read("../docs/scenario-reference.md");
    let names = |kinds: &[Partition]| -> Vec<String> {
        kinds.iter().map(|k| k.name().to_owned()).collect()
    };
    assert_eq!(listed_names(&reference, "nemesis.partition_kinds", 1), names(&Partition::DRAWABLE));
    assert_eq!(listed_names(&reference, "faults.kind", 3), names(&Partition::SCHEDULABLE));
    let mut models = vec!["none".to_owned()];
    models.extend(ModelKind::SCENARIO.iter().map(|m| m.name().to_owned()));
    assert_eq!(listed_names(&reference, "checks.linearizability", 1), models);
}
