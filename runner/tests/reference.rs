//! A scenario that uses every key loads and runs, and draws its swarm knobs per seed. (The
//! reference's key tables are generated from the loader's declarations: `schema.rs`.)

use runner::{Registry, RunSettings};
use scenarios::keys::KEYS;
use scenarios::load;
use sim_core::record::Verdict;
use std::path::Path;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

#[test]
fn the_kitchen_sink_uses_every_key_and_runs() {
    let text = read("../scenarios/tests/kitchen-sink.toml");
    // A run in phases has no run.duration of its own, so raft-phases uses their keys.
    let phased = read("../scenarios/examples/raft-phases.toml");
    for spec in KEYS {
        let leaf = spec.split().1;
        if spec.key.starts_with("phases") {
            assert!(phased.contains(leaf), "raft-phases.toml does not use `{}`", spec.key);
        } else {
            assert!(text.contains(leaf), "kitchen-sink.toml does not use `{}`", spec.key);
        }
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

/// The ```toml blocks of a Markdown text, in order.
fn toml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```toml" {
            let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            blocks.push(block.join("\n") + "\n");
        }
    }
    blocks
}

#[test]
fn every_example_of_the_reference_loads_and_its_first_seed_passes() {
    let reference = read("../docs/scenario-reference.md");
    let blocks = toml_blocks(&reference);
    assert!(blocks.len() >= 9, "{} examples", blocks.len());
    let registry = Registry::bundled();
    for (i, text) in blocks.iter().enumerate() {
        // Beside the reference, where no base lies: `extends` names a bundled one.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../docs/example-{i}.toml"));
        let scenario = scenarios::load_str(&path, text, registry.catalogue())
            .unwrap_or_else(|e| panic!("example {i}:\n{text}\n{e}"));
        let plan = scenario.plan(scenario.run.seeds.0, &[]);
        let entry = registry.get(&scenario.protocol).unwrap();
        let record = (entry.run)(&plan, &RunSettings::default()).unwrap().record;
        assert_eq!(record.verdict(), Verdict::Pass, "example {i}:\n{text}\n{}", record.message);
        assert!(record.events > 1000, "example {i} ran {} events", record.events);
    }
}

/// What an editor checks: every scenario the reference and the tutorial show is valid
/// under the JSON Schema.
#[test]
fn every_example_of_the_docs_is_valid_under_the_json_schema() {
    let registry = Registry::bundled();
    let schema = scenarios::json_schema::generate(registry.catalogue());
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut blocks = toml_blocks(&read("../docs/scenario-reference.md"));
    blocks.extend(toml_blocks(&read("../docs/tutorial.md")));
    assert!(blocks.len() >= 12, "{} examples", blocks.len());
    for text in &blocks {
        let table: toml::Table = toml::from_str(text).unwrap();
        let instance = scenarios::json_schema::to_json(&toml::Value::Table(table));
        let errors: Vec<String> = validator.iter_errors(&instance).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{text}\n{errors:?}");
    }
}
