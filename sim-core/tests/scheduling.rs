//! One hard key cannot starve the check of an easy failing one.

use sim_core::check::generate::{self, Options, Workload};
use sim_core::check::{ModelKind, Verdict};
use sim_core::history::{EventType, Function, History, HistoryEvent, Value};

const BUDGET: u64 = 2_000_000;

/// Key 0: a key-value history with many indeterminate appends and one impossible read:
/// refuting it takes far more than `BUDGET`.
fn hard_key() -> History {
    let options =
        Options { workload: Workload::KeyValue, info_percent: 5, ..Options::new(4, 3000, 1, 12) };
    generate::with_impossible_read(&generate::generate(&options), 1).expect("has reads")
}

#[test]
fn an_easy_failing_key_is_found_behind_a_hard_one() {
    let mut history = hard_key();
    let alone = ModelKind::KeyValue.check(&history, BUDGET).unwrap();
    assert!(matches!(alone, Verdict::Unknown { .. }), "the hard key should be hard: {alone}");

    // Key 1, checked after key 0 in key order: a read of a value never written.
    let event = |kind, f, value| HistoryEvent {
        process: 1000,
        kind,
        f,
        key: Some(Value::Int(1)),
        value,
        time: None,
    };
    history.push(event(EventType::Invoke, Function::Read, Value::Nil));
    history.push(event(EventType::Ok, Function::Read, Value::Str("ghost".into())));
    let verdict = ModelKind::KeyValue.check(&history, BUDGET).unwrap();
    let Verdict::NotLinearizable(violation) = &verdict else { panic!("{verdict}") };
    assert_eq!(violation.key, Some(Value::Int(1)));
}
