//! The JSON Schema of scenario files cannot drift from the loader: it is generated from the
//! declarations the loader reads (`scenarios::keys` and the catalogue), the repository's
//! copy is that generation, every bundled scenario names it and is valid under it (checked
//! with a JSON Schema validator, as an editor would), and key by key the loader and the
//! schema accept and refuse the same values: the declared types, ranges, names and swarm
//! forms, and no undeclared key. Each declared default is what the loader gives an
//! absent key.
//!
//! `DSIM_BLESS=1 cargo test -p runner --test schema` rewrites the schema file (the same as
//! `dsim scenarios --schema > scenarios/dsim-scenario.schema.json`) and the generated
//! tables of `docs/scenario-reference.md`.

use runner::Registry;
use scenarios::json_schema;
use scenarios::keys::{
    self, Absent, FAULT_ACTIONS, KEYS, KeySpec, LATENCY_DISTS, Names, PARTITION_KINDS, Sign, Type,
};
use scenarios::{Catalogue, load_str, reference};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn blessing() -> bool {
    std::env::var_os("DSIM_BLESS").is_some()
}

fn validator(catalogue: &Catalogue) -> jsonschema::Validator {
    jsonschema::validator_for(&json_schema::generate(catalogue)).expect("the schema is a schema")
}

fn to_json(text: &str) -> Value {
    let table: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    json_schema::to_json(&toml::Value::Table(table))
}

fn schema_errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    let instance = to_json(text);
    validator.iter_errors(&instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

/// Compare `path` (relative to the repository) with `expected`, or write it when blessing.
fn check_generated(path: &str, expected: &str) {
    let file = repository().join(path);
    if blessing() {
        std::fs::write(&file, expected).unwrap();
        return;
    }
    let found = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        found == expected,
        "{path} is stale: regenerate it with `DSIM_BLESS=1 cargo test -p runner --test schema`"
    );
}

#[test]
fn the_schema_file_is_the_generated_schema() {
    let registry = Registry::bundled();
    check_generated(json_schema::PATH, &json_schema::text(registry.catalogue()));
}

#[test]
fn the_reference_tables_are_generated_from_the_declarations() {
    let registry = Registry::bundled();
    let path = "docs/scenario-reference.md";
    let text = std::fs::read_to_string(repository().join(path)).unwrap();
    let regenerated = reference::regenerate(&text, registry.catalogue())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    check_generated(path, &regenerated);
}

/// The scenario files of `dir` (relative to `scenarios/`), sorted.
fn scenario_files(dir: &str) -> Vec<PathBuf> {
    let dir = repository().join("scenarios").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bundled_scenario_names_the_schema_and_is_valid_under_it() {
    let registry = Registry::bundled();
    let validator = validator(registry.catalogue());
    let mut files = scenario_files("examples");
    files.extend(scenario_files("scale"));
    files.push(repository().join("scenarios/tests/kitchen-sink.toml"));
    assert!(files.len() > 40, "{files:?}");
    let mut wrong = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        // Taplo reads a schema path relative to the file.
        if text.lines().next() != Some("#:schema ../dsim-scenario.schema.json") {
            wrong.push(format!(
                "{}: the first line must be `#:schema ../dsim-scenario.schema.json`",
                path.display()
            ));
        }
        let errors = schema_errors(&validator, &text);
        if !errors.is_empty() {
            wrong.push(format!("{}: {}", path.display(), errors.join("; ")));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The invalid fixtures no schema can reject, and why: each problem depends on another
/// key, on arithmetic a pattern cannot do, or on the TOML itself.
const NOT_SCHEMA_DETECTABLE: &[(&str, &str)] = &[
    ("phase-missing-duration.toml", "inside a phase: the schema leaves phases to the loader"),
    ("phase-name-twice.toml", "names unique across phases: cross-key"),
    ("phase-workload-clients.toml", "inside a phase: the schema leaves phases to the loader"),
    ("phases-and-run-duration.toml", "run.duration beside [[phases]]: cross-key"),
    ("duration-too-large.toml", "a duration past 2^63 ns: a pattern cannot bound a number"),
    ("extends-cycle.toml", "extends forms a cycle: other files"),
    ("extends-missing.toml", "extends names a missing file: other files"),
    ("fault-after-end.toml", "a fault at or after run.duration: cross-key"),
    ("fault-groups-bad-node.toml", "a node past cluster.nodes: cross-key"),
    ("fault-node-out-of-range.toml", "a node past cluster.nodes: cross-key"),
    ("heal-after-end.toml", "heal_at after run.duration: cross-key"),
    ("link-node-out-of-range.toml", "a node past cluster.nodes: cross-key"),
    ("swarm-nodes-fault-node-past-fewest.toml", "a node past the fewest cluster.nodes: cross-key"),
    ("swarm-nodes-refused-by-protocol.toml", "the protocol's check of its options: cross-key"),
    ("swarm-nodes-with-regions.toml", "regions beside a drawn cluster.nodes: cross-key"),
    (
        "missing-nodes.toml",
        "a base (`extends`) may give cluster.nodes, and a base itself need not be complete",
    ),
    (
        "missing-protocol.toml",
        "a base (`extends`) may give [protocol], and a base itself need not be complete",
    ),
    (
        "liveness-bound-over-swarm-timeout.toml",
        "liveness_bound over the shortest timeout a seed can draw: cross-key",
    ),
    ("liveness-bound-over-timeout.toml", "liveness_bound over workload.timeout: cross-key"),
    (
        "liveness-nothing-to-check.toml",
        "liveness_bound at least run.duration - run.heal_at: cross-key",
    ),
    ("loss-range-reversed.toml", "a range's low end above its high end: the order of two values"),
    ("model-mismatch.toml", "a model without cas for a mix with cas: cross-key"),
    ("name-control-character.toml", "a control character in scenario.name: the loader's own rule"),
    ("paxos-quorums-do-not-intersect.toml", "the protocol refuses the combination: its configure"),
    ("pb-zero-heartbeat.toml", "the protocol refuses the value: its configure"),
    ("raft-option-out-of-range.toml", "the protocol refuses the value: its configure"),
    ("raft-options-conflict.toml", "the protocol refuses the combination: its configure"),
    (
        "raft-options-swarm-conflict.toml",
        "the protocol refuses a combination of draws: its configure",
    ),
    ("regions-wrong-length.toml", "one region per node: cross-key"),
    (
        "seeds-malformed.toml",
        "a seed range whose start is not below its end: the order of two values",
    ),
    ("wan-without-regions.toml", "[network.wan] without cluster.regions: cross-key"),
    ("workload-bad-distribution.toml", "the workload refuses the value: its configure"),
    ("workload-empty-mix.toml", "the workload refuses an empty op mix: its configure"),
];

#[test]
fn the_schema_rejects_every_invalid_fixture_it_can_detect() {
    let registry = Registry::bundled();
    let validator = validator(registry.catalogue());
    let dir = repository().join("scenarios/tests/invalid");
    let mut files = scenario_files("tests/invalid");
    files.retain(|p| p.starts_with(&dir));
    let mut wrong = Vec::new();
    let (mut rejected, mut syntax) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        if toml::from_str::<toml::Table>(&text).is_err() {
            // Not TOML: the editor's TOML parser reports it, before any schema.
            syntax += 1;
            continue;
        }
        // A base the fixture extends is merged first, as the loader does.
        let text = match text.lines().find_map(|l| l.strip_prefix("extends = ")) {
            Some(base) if base.contains("base.toml") && !base.contains("missing") => {
                let base = dir.join(base.trim_matches('"'));
                match std::fs::read_to_string(&base) {
                    Ok(base_text) => merge(&base_text, &text),
                    Err(_) => text,
                }
            }
            _ => text,
        };
        let valid = schema_errors(&validator, &text).is_empty();
        let excused = NOT_SCHEMA_DETECTABLE.iter().find(|(f, _)| *f == name);
        match (valid, excused) {
            (false, None) => rejected += 1,
            (true, Some(_)) => {}
            (true, None) => wrong.push(format!("{name}: the schema accepts it")),
            (false, Some((_, why))) => wrong.push(format!(
                "{name}: the schema rejects it now; take it off NOT_SCHEMA_DETECTABLE ({why})"
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(rejected + syntax + NOT_SCHEMA_DETECTABLE.len(), files.len());
    assert!(rejected >= 20, "only {rejected} fixtures rejected by the schema");
}

/// `text` over `base`, table by table, as `extends` merges (enough for the fixtures).
fn merge(base: &str, text: &str) -> String {
    let mut merged: toml::Table = toml::from_str(base).unwrap();
    let over: toml::Table = toml::from_str(text).unwrap();
    for (key, value) in over {
        match (merged.get_mut(&key), value) {
            (Some(toml::Value::Table(into)), toml::Value::Table(from)) => into.extend(from),
            (_, value) => {
                merged.insert(key, value);
            }
        }
    }
    merged.remove("extends");
    toml::to_string(&merged).unwrap()
}

// --- Key by key: the loader and the schema agree with the declarations. ---

/// The scenario every key is tried in: five nodes (in two regions for `[network.wan]`),
/// no liveness bound to keep the run long, and a fault of the action (or partition kind)
/// a `faults.*` key belongs to.
fn base(key: &str) -> toml::Table {
    let regions = if key.starts_with("network.wan") { "regions = [0, 0, 0, 1, 1]\n" } else { "" };
    toml::from_str(&format!(
        "[protocol]\nname = \"raft\"\n[cluster]\nnodes = 5\n{regions}[checks]\nliveness_bound = \"none\"\n",
    ))
    .unwrap()
}

/// What a table of `[[...]]` needs around `field` for the field to be read.
fn context(tables: &str, field: &str) -> toml::Table {
    let text = match (tables, field) {
        ("network.links", _) => "from = 0\nto = 1",
        ("clocks.node", _) => "node = 2",
        ("faults", "at" | "action" | "node") => "at = \"1s\"\naction = \"crash\"\nnode = 1",
        ("faults", "duration") => "at = \"1s\"\naction = \"pause\"\nnode = 1",
        ("faults", "kind") => "at = \"1s\"\naction = \"partition\"",
        ("faults", "groups") => "at = \"1s\"\naction = \"partition\"\nkind = \"groups\"",
        ("faults", "order") => "at = \"1s\"\naction = \"partition\"\nkind = \"ring\"",
        ("faults", "from" | "to") => {
            "at = \"1s\"\naction = \"partition\"\nkind = \"one-way\"\nfrom = [0]\nto = [1]"
        }
        ("faults", "delta") => "at = \"1s\"\naction = \"clock-jump\"\nnode = 1",
        ("faults", "drift_ppm") => "at = \"1s\"\naction = \"clock-drift\"\nnode = 1",
        ("faults", _) => "at = \"1s\"\naction = \"disk\"\nnode = 1",
        _ => "",
    };
    toml::from_str(text).unwrap()
}

/// `base` with `key` set to `value` (absent: `None`), as TOML text.
fn with_key(spec: &KeySpec, value: Option<toml::Value>) -> String {
    let mut root = base(spec.key);
    let (table, field) = spec.split();
    let path: Vec<&str> = if table.is_empty() { Vec::new() } else { table.split('.').collect() };
    // The `[[...]]` table the key is in, if any.
    let array_at = (1..=path.len())
        .find(|&n| keys::spec(&path[..n].join(".")).is_some_and(|s| s.ty == Type::Tables));
    let mut cursor = &mut root;
    for (depth, part) in path.iter().enumerate() {
        if array_at == Some(depth + 1) {
            let element = context(&path[..=depth].join("."), field);
            let array = cursor.entry(*part).or_insert(toml::Value::Array(vec![element.into()]));
            let toml::Value::Array(items) = array else { unreachable!() };
            let toml::Value::Table(t) = &mut items[0] else { unreachable!() };
            cursor = t;
        } else {
            let entry = cursor.entry(*part).or_insert(toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(t) = entry else { unreachable!("{part} is a table") };
            cursor = t;
        }
    }
    match value {
        Some(value) => {
            cursor.insert(field.to_owned(), value);
        }
        None => {
            cursor.remove(field);
        }
    }
    toml::to_string(&root).unwrap()
}

fn value(literal: &str) -> toml::Value {
    let table: toml::Table = toml::from_str(&format!("v = {literal}")).unwrap();
    table["v"].clone()
}

/// Values of a key's type the declarations accept, and some they refuse.
fn cases(spec: &KeySpec, catalogue: &Catalogue) -> (Vec<String>, Vec<String>) {
    let quote = |s: &str| format!("{s:?}");
    let (mut valid, mut invalid): (Vec<String>, Vec<String>) = match spec.ty {
        Type::Table | Type::Tables | Type::ProtocolOptions => (vec![], vec!["1".into()]),
        Type::Str if spec.key == "extends" => (vec![], vec!["1".into()]),
        Type::Str => (vec![quote("text")], vec!["1".into(), "true".into()]),
        Type::Bool => (vec!["true".into(), "false".into()], vec!["1".into(), quote("yes")]),
        Type::Int { min, max } => {
            let mut valid = vec![min.to_string(), (min + 1).to_string()];
            if max <= 10_000 {
                valid.push(max.to_string());
            }
            let mut invalid = vec![quote("3"), "1.5".into()];
            if min > i64::MIN {
                invalid.push((min - 1).to_string());
            }
            if max < i64::MAX {
                invalid.push((max + 1).to_string());
            }
            (valid, invalid)
        }
        Type::Float { min, max } => (
            vec![format!("{min:?}"), format!("{max:?}")],
            vec![format!("{:?}", min - 1.0), format!("{:?}", max + 1.0), quote("0.5")],
        ),
        Type::Probability => (
            vec!["0.0".into(), "1.0".into(), "0".into()],
            vec!["-0.1".into(), "1.1".into(), quote("0.5")],
        ),
        Type::Duration(sign) => {
            let mut valid = vec![quote("5ms"), quote("1.5s"), quote(" 20 us ")];
            let mut invalid = vec!["5".into(), quote("5"), quote("5 parsecs"), quote("ms")];
            match sign {
                Sign::Any => valid.push(quote("-5ms")),
                Sign::NonNegative => {
                    valid.push(quote("0ns"));
                    invalid.push(quote("-5ms"));
                }
                Sign::Positive => invalid.extend([quote("0ms"), quote("-5ms")]),
            }
            (valid, invalid)
        }
        Type::DurationRange => (
            vec![quote("5ms"), "[\"1ms\", \"2ms\"]".into()],
            vec!["5".into(), "[\"1ms\"]".into(), "{ one_of = [\"1ms\"] }".into()],
        ),
        Type::DurationOrNone => {
            (vec![quote("none"), quote("5ms")], vec!["5".into(), quote("never")])
        }
        Type::Latency => {
            let mut valid = vec![quote("2ms"), "[\"1ms\", \"2ms\"]".into()];
            for dist in LATENCY_DISTS {
                let needed: Vec<String> = dist
                    .fields
                    .iter()
                    .filter(|f| f.1)
                    .map(|f| format!("{} = \"1ms\"", f.0))
                    .collect();
                let all: Vec<String> = dist
                    .fields
                    .iter()
                    .map(|f| match f.2 {
                        Type::Float { min, .. } => format!("{} = {:?}", f.0, min.max(0.5)),
                        _ => format!("{} = \"1ms\"", f.0),
                    })
                    .collect();
                valid.push(format!("{{ dist = {:?}, {} }}", dist.name, needed.join(", ")));
                valid.push(format!("{{ dist = {:?}, {} }}", dist.name, all.join(", ")));
            }
            let invalid = vec![
                "5".into(),
                "{ dist = \"nope\", value = \"1ms\" }".into(),
                "{ dist = \"uniform\", min = \"1ms\" }".into(),
                "{ dist = \"constant\", value = \"1ms\", extra = \"1ms\" }".into(),
                "{ value = \"1ms\" }".into(),
            ];
            (valid, invalid)
        }
        Type::Name(names) => {
            let listed = match names {
                Names::Protocols => catalogue.names(),
                // The fields of actions and kinds are tried with the fault actions.
                Names::FaultActions => vec!["crash"],
                Names::SchedulableKinds => PARTITION_KINDS
                    .iter()
                    .filter(|k| k.required.is_empty())
                    .map(|k| k.name)
                    .collect(),
                _ => names.fixed().unwrap(),
            };
            (listed.iter().map(|n| quote(n)).collect(), vec![quote("nope"), "1".into()])
        }
        Type::NameList(names) => {
            let listed = match names {
                Names::BugSwitches => {
                    catalogue.get("raft").unwrap().bugs.iter().map(|b| b.name).collect()
                }
                _ => names.fixed().unwrap(),
            };
            let mut valid: Vec<String> = listed.iter().map(|n| format!("[{n:?}]")).collect();
            valid.push("[]".into());
            (valid, vec!["[\"nope\"]".into(), quote(listed[0]), "[1]".into()])
        }
        Type::IntList { min, max } => (
            vec![format!("[{min}, {min}, {min}, {max}, {max}]")],
            vec![format!("[0, 0, 0, 0, {}]", max + 1), "[0, 0, 0, 0, -1]".into(), quote("0")],
        ),
        Type::Node => (vec!["0".into(), "4".into()], vec!["-1".into(), quote("0")]),
        Type::NodeList => {
            (vec!["[0, 1]".into()], vec!["[-1]".into(), "[\"0\"]".into(), "0".into()])
        }
        Type::NodeOrNodes => (vec!["[0, 1]".into()], vec!["[-1]".into(), quote("0")]),
        Type::NodeGroups => {
            (vec!["[[0, 1], [2, 3, 4]]".into()], vec!["[0, 1]".into(), "[[-1]]".into(), quote("0")])
        }
        Type::SeedRange => (vec![quote("0..5"), quote(" 3 .. 9 ")], vec!["5".into(), quote("0-5")]),
    };
    if spec.knob {
        let ordered = !matches!(spec.ty, Type::Bool | Type::Name(_) | Type::Str);
        let (a, b) = (valid[0].clone(), valid[1].clone());
        valid.push(format!("{{ one_of = [{a}, {b}] }}"));
        invalid.push("{ one_of = [] }".into());
        invalid.push(format!("{{ choices = [{a}] }}"));
        if ordered {
            valid.push(format!("[{a}, {b}]"));
            invalid.push(format!("[{a}, {b}, {b}]"));
            invalid.push(format!("[{a}]"));
        }
    }
    (valid, invalid)
}

#[test]
fn the_loader_and_the_schema_accept_and_refuse_as_declared_key_by_key() {
    let registry = Registry::bundled();
    let catalogue = registry.catalogue();
    let validator = validator(catalogue);
    let path = Path::new("key.toml");
    let mut wrong = Vec::new();
    let mut tried = 0;
    // A phase's keys need their phase's name and duration beside them: runner/tests/phases.rs
    // and the invalid fixtures check them through the loader.
    for spec in KEYS.iter().filter(|k| !k.key.starts_with("phases")) {
        let (valid, invalid) = cases(spec, catalogue);
        for literal in &valid {
            let text = with_key(spec, Some(value(literal)));
            if let Err(e) = load_str(path, &text, catalogue) {
                wrong.push(format!("{} = {literal}: the loader refuses it: {e}", spec.key));
            }
            let errors = schema_errors(&validator, &text);
            if !errors.is_empty() {
                wrong.push(format!("{} = {literal}: the schema refuses it: {errors:?}", spec.key));
            }
            tried += 1;
        }
        for literal in &invalid {
            let text = with_key(spec, Some(value(literal)));
            match load_str(path, &text, catalogue) {
                Ok(_) => wrong.push(format!("{} = {literal}: the loader accepts it", spec.key)),
                Err(e) if !e.problems.iter().any(|p| p.key.starts_with(spec.key)) => wrong
                    .push(format!("{} = {literal}: the loader names another key: {e}", spec.key)),
                Err(_) => {}
            }
            if schema_errors(&validator, &text).is_empty() {
                wrong.push(format!("{} = {literal}: the schema accepts it", spec.key));
            }
            tried += 1;
        }
    }
    assert!(wrong.is_empty(), "{} disagreements:\n{}", wrong.len(), wrong.join("\n"));
    assert!(tried > 400, "only {tried} cases");
}

#[test]
fn no_undeclared_key_is_accepted_in_any_table() {
    let registry = Registry::bundled();
    let catalogue = registry.catalogue();
    let validator = validator(catalogue);
    let tables = std::iter::once("")
        .chain(KEYS.iter().filter(|k| matches!(k.ty, Type::Table | Type::Tables)).map(|k| k.key))
        .filter(|table| !table.starts_with("phases"));
    let mut wrong = Vec::new();
    for table in tables {
        let key =
            if table.is_empty() { "undeclared".to_owned() } else { format!("{table}.undeclared") };
        let spec = KeySpec {
            key: Box::leak(key.into_boxed_str()),
            ty: Type::Bool,
            knob: false,
            required: false,
            default: Absent::Unset,
            doc: "",
        };
        let text = with_key(&spec, Some(value("true")));
        match load_str(Path::new("key.toml"), &text, catalogue) {
            Err(e)
                if e.problems
                    .iter()
                    .any(|p| p.key == spec.key && p.message.contains("unknown key")) => {}
            other => wrong.push(format!(
                "{}: the loader: {:?}",
                spec.key,
                other.err().map(|e| e.to_string())
            )),
        }
        if schema_errors(&validator, &text).is_empty() {
            wrong.push(format!("{}: the schema accepts it", spec.key));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_declared_default_is_what_an_absent_key_gets() {
    let registry = Registry::bundled();
    let catalogue = registry.catalogue();
    let path = Path::new("key.toml");
    let mut checked = 0;
    for spec in KEYS {
        let Absent::Value(literal) = spec.default else { continue };
        // A phase's keys sit in a phase, which needs its name and duration beside them.
        if matches!(spec.ty, Type::Tables) || spec.key.starts_with("phases.") {
            continue;
        }
        let absent = load_str(path, &with_key(spec, None), catalogue).unwrap();
        let given = load_str(path, &with_key(spec, Some(value(literal))), catalogue)
            .unwrap_or_else(|e| panic!("{} = {literal}: {e}", spec.key));
        assert_eq!(absent, given, "{}: absent is not `{literal}`", spec.key);
        checked += 1;
    }
    assert!(checked > 40, "{checked}");
}

#[test]
fn fault_actions_and_partition_kinds_need_the_fields_declared() {
    let registry = Registry::bundled();
    let catalogue = registry.catalogue();
    let validator = validator(catalogue);
    let field_value = |field: &str, one_way: bool| match field {
        "node" => "1",
        "duration" | "delta" => "\"100ms\"",
        "drift_ppm" => "50",
        "groups" => "[[0, 1], [2, 3, 4]]",
        "order" => "[4, 3, 2, 1, 0]",
        "from" if one_way => "[0]",
        "to" if one_way => "[1, 2]",
        "from" => "0",
        "to" => "1",
        _ => "0.5",
    };
    let fault = |fields: &[(&str, &str)]| {
        let mut text = String::from(
            "[protocol]\nname = \"raft\"\n[cluster]\nnodes = 5\n[[faults]]\nat = \"1s\"\n",
        );
        for (k, v) in fields {
            text += &format!("{k} = {v}\n");
        }
        text
    };
    let mut cases = Vec::new();
    for action in FAULT_ACTIONS.iter().filter(|a| a.name != "partition") {
        let base = vec![("action", format!("{:?}", action.name))];
        cases.push((action.name.to_owned(), base, action.required, action.optional, false));
    }
    for kind in PARTITION_KINDS {
        let base =
            vec![("action", "\"partition\"".to_owned()), ("kind", format!("{:?}", kind.name))];
        cases.push((
            format!("partition {}", kind.name),
            base,
            kind.required,
            kind.optional,
            kind.name == "one-way",
        ));
    }
    let mut wrong = Vec::new();
    for (name, base, required, optional, one_way) in cases {
        let fields = |names: &[&str]| -> Vec<(String, String)> {
            base.iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .chain(names.iter().map(|f| ((*f).to_owned(), field_value(f, one_way).to_owned())))
                .collect()
        };
        let as_refs = |fields: &[(String, String)]| -> String {
            let refs: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            fault(&refs)
        };
        let all: Vec<&str> = required.iter().chain(optional).copied().collect();
        for given in [required.to_vec(), all] {
            let text = as_refs(&fields(&given));
            if let Err(e) = load_str(Path::new("fault.toml"), &text, catalogue) {
                wrong.push(format!("{name} with {given:?}: the loader refuses it: {e}"));
            }
            let errors = schema_errors(&validator, &text);
            if !errors.is_empty() {
                wrong.push(format!("{name} with {given:?}: the schema refuses it: {errors:?}"));
            }
        }
        for missing in required {
            let given: Vec<&str> = required.iter().copied().filter(|f| f != missing).collect();
            let text = as_refs(&fields(&given));
            if load_str(Path::new("fault.toml"), &text, catalogue).is_ok() {
                wrong.push(format!("{name} without {missing}: the loader accepts it"));
            }
            if schema_errors(&validator, &text).is_empty() {
                wrong.push(format!("{name} without {missing}: the schema accepts it"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn each_protocol_takes_its_own_options_bug_switches_workload_options_and_checkers() {
    let registry = Registry::bundled();
    let catalogue = registry.catalogue();
    let validator = validator(catalogue);
    let mut wrong = Vec::new();
    for entry in catalogue.entries() {
        let head = format!("[protocol]\nname = {:?}\n", entry.name);
        let mut texts = Vec::new();
        for option in &entry.options {
            texts.push(format!(
                "{head}[protocol.options]\n{} = {}\n",
                option.name,
                literal(&option.default)
            ));
        }
        for bug in &entry.bugs {
            texts.push(format!("{head}bugs = [{:?}]\n", bug.name));
        }
        for option in &entry.workload.options {
            texts.push(format!(
                "{head}[workload]\n{} = {}\n",
                option.name,
                literal(&option.default)
            ));
        }
        for (checker, _) in &entry.workload.checkers {
            texts.push(format!("{head}[checks]\n{checker} = false\n"));
        }
        for text in &texts {
            let errors = schema_errors(&validator, &format!("extends = \"x.toml\"\n{text}"));
            if !errors.is_empty() {
                wrong.push(format!("{}: {text}: the schema refuses it: {errors:?}", entry.name));
            }
        }
        for text in [
            format!("{head}[protocol.options]\nundeclared = 1\n"),
            format!("{head}bugs = [\"undeclared\"]\n"),
            format!("{head}[workload]\nundeclared = 1\n"),
            format!("{head}[checks]\nundeclared = false\n"),
        ] {
            let full = format!("{text}[cluster]\nnodes = 3\n");
            if load_str(Path::new("p.toml"), &full, catalogue).is_ok() {
                wrong.push(format!("{}: {text}: the loader accepts it", entry.name));
            }
            if schema_errors(&validator, &full).is_empty() {
                wrong.push(format!("{}: {text}: the schema accepts it", entry.name));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn literal(value: &sim_core::protocol::OptionValue) -> String {
    use sim_core::protocol::OptionValue;
    match value {
        OptionValue::Duration(d) => format!("\"{d}\""),
        OptionValue::Float(x) => format!("{x:?}"),
        other => other.to_string(),
    }
}
