//! The loader answers every input with a scenario or with problems; it never panics.
//! Inputs: arbitrary bytes, mutated bundled scenarios, and scenarios built from the schema
//! (every key of `keys::KEYS`, valued at the boundaries of types and ranges, nested
//! deep, sized huge). Case counts are sized for CI (a few seconds); `PROPTEST_CASES=N`
//! runs more.

use proptest::prelude::*;
use runner::Registry;
use scenarios::load_str;
use std::path::{Path, PathBuf};

fn examples() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap())).collect()
}

/// Apply one mutation to `text` at a position chosen by `at`.
fn mutate(text: &str, kind: u8, at: usize, len: usize, noise: &str) -> String {
    let bytes = text.as_bytes();
    let at = at % (bytes.len() + 1);
    let end = (at + len).min(bytes.len());
    let mut out = bytes[..at].to_vec();
    match kind % 4 {
        0 => out.extend_from_slice(&bytes[end..]),
        1 => {
            out.extend_from_slice(noise.as_bytes());
            out.extend_from_slice(&bytes[at..]);
        }
        2 => {
            out.extend_from_slice(noise.as_bytes());
            out.extend_from_slice(&bytes[end..]);
        }
        _ => {
            out.extend_from_slice(&bytes[at..end]);
            out.extend_from_slice(&bytes[at..]);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = load_str(Path::new("fuzz.toml"), &text, Registry::bundled().catalogue());
    }

    #[test]
    fn mutated_examples_never_panic(
        file in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec((any::<u8>(), any::<usize>(), 0usize..40, "[\\[\\]{}=\",.0-9a-z_ \n-]{0,12}"), 1..4),
    ) {
        let examples = examples();
        let (path, text) = &examples[file.index(examples.len())];
        let mut text = text.clone();
        for (kind, at, len, noise) in &mutations {
            text = mutate(&text, *kind, *at, *len, noise);
        }
        let registry = Registry::bundled();
        if let Ok(scenario) = load_str(path, &text, registry.catalogue()) {
            // Whatever loads must also plan without panicking.
            let _ = scenario.plan(1, &[]);
        }
    }
}

/// TOML values at the boundaries a reader must refuse or take: integers and floats at the
/// ends of their types, durations at zero, at the nanosecond and past 2^64 ns, seed ranges
/// reversed and empty, empty and huge strings, control characters, arrays and tables of
/// the wrong shape, and nesting deep and wide.
fn boundary_value() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "0",
        "1",
        "-1",
        "2",
        "3",
        "7",
        "1024",
        "4294967296",
        "9223372036854775807",
        "-9223372036854775808",
        "0.0",
        "-0.0",
        "0.5",
        "1.0",
        "1.0000001",
        "1e308",
        "-1e308",
        "5e-324",
        "inf",
        "-inf",
        "nan",
        "true",
        "false",
        "\"\"",
        "\"0ns\"",
        "\"1ns\"",
        "\"0ms\"",
        "\"5µs\"",
        "\"1ms\"",
        "\"10s\"",
        "\"1h\"",
        "\"-1s\"",
        "\"99999999999h\"",
        "\"18446744073709551615ns\"",
        "\"18446744073709551616ns\"",
        "\"9223372036854775807ns\"",
        "\"0..0\"",
        "\"0..1\"",
        "\"5..2\"",
        "\"0..18446744073709551615\"",
        "\"18446744073709551615..18446744073709551615\"",
        "\"raft\"",
        "\"uniform\"",
        "\"zipf\"",
        "\"crash\"",
        "\"partition\"",
        "\"majority\"",
        "\"kv\"",
        "\"violation\"",
        "\"\\u0007\\u001b[31m\"",
        "[]",
        "[0, 1]",
        "[1, \"a\"]",
        "[\"10ms\", \"300ms\"]",
        "[\"300ms\", \"10ms\"]",
        "[0.0, 1.0]",
        "[1.0, 0.0]",
        "[[1]]",
        "[\"0ns\", \"18446744073709551615ns\"]",
        "{}",
        "{ one_of = [] }",
        "{ one_of = [1, 2] }",
        "{ one_of = [\"a\", 1] }",
        "{ dist = \"uniform\", min = \"1ms\", max = \"0ms\" }",
        "{ dist = \"pareto\", scale = \"1ms\", shape = 0.0 }",
        "{ dist = \"normal\", mean = \"0ns\", stddev = \"18446744073709551615ns\" }",
        "{ dist = \"constant\", value = \"1ms\", extra = 1 }",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        6 => fixed,
        1 => (1usize..400).prop_map(|depth| format!("{}1{}", "[".repeat(depth), "]".repeat(depth))),
        1 => (1usize..400).prop_map(|depth| format!("{}1{}", "{ a = ".repeat(depth), " }".repeat(depth))),
        1 => (1usize..20_000).prop_map(|len| format!("\"{}\"", "x".repeat(len))),
        1 => (1usize..5_000).prop_map(|len| format!("[{}]", vec!["1"; len].join(", "))),
        1 => any::<i64>().prop_map(|i| i.to_string()),
        1 => any::<f64>().prop_map(|f| format!("{f:?}")),
    ]
}

/// A scenario of the keys `picks` chooses from the schema, each with a value from
/// `values`, for the protocol `protocol`: `[table]`, `[[faults]]`, `[[network.links]]` and
/// `[[clocks.node]]` as the schema's keys say.
fn schema_scenario(protocol: &str, picks: &[(usize, String)]) -> String {
    let keys: Vec<&str> =
        scenarios::keys::KEYS.iter().map(|k| k.key).filter(|k| k.contains('.')).collect();
    let mut tables: Vec<(String, Vec<String>)> =
        vec![("protocol".into(), vec![format!("name = \"{protocol}\"")])];
    for (pick, value) in picks {
        let key = keys[pick % keys.len()];
        if key == "protocol.name" {
            continue;
        }
        let (table, name) = match key.rsplit_once('.') {
            Some((table @ ("faults" | "network.links" | "clocks.node"), name)) => {
                (format!("[{table}]"), name)
            }
            Some((table, name)) => (table.to_owned(), name),
            None => continue,
        };
        let line = format!("{name} = {value}");
        match tables.iter_mut().find(|(t, lines)| {
            *t == table && !lines.iter().any(|l| l.starts_with(&format!("{name} ")))
        }) {
            Some((_, lines)) => lines.push(line),
            None => tables.push((table, vec![line])),
        }
    }
    let mut text = String::new();
    for (table, lines) in tables {
        text.push_str(&format!("[{table}]\n"));
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn scenarios_built_from_the_schema_load_or_are_refused_with_a_place(
        protocol in any::<prop::sample::Index>(),
        picks in proptest::collection::vec((any::<usize>(), boundary_value()), 0..24),
        seed in prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()],
    ) {
        let registry = Registry::bundled();
        let names = registry.names();
        let text = schema_scenario(names[protocol.index(names.len())], &picks);
        match load_str(Path::new("fuzz.toml"), &text, registry.catalogue()) {
            // Whatever loads must also plan, at any seed.
            Ok(scenario) => {
                let _ = scenario.plan(seed, &[]);
            }
            Err(error) => {
                prop_assert!(!error.problems.is_empty(), "{text}");
                for problem in &error.problems {
                    prop_assert!(problem.line >= 1 && problem.column >= 1, "{problem} in\n{text}");
                    prop_assert!(problem.line <= text.lines().count() + 1, "{problem} in\n{text}");
                    prop_assert!(!problem.message.is_empty() && problem.message.len() < 2_000, "{problem}");
                }
            }
        }
    }
}
