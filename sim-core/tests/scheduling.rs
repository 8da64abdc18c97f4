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

/// Keys are checked in parallel, and the verdict and its explanation are the same whatever
/// the number of threads: on a history where several keys fail (the first failing key in
/// key order of the round that finds them wins), and on one that runs out of budget.
#[test]
fn the_verdict_does_not_depend_on_the_number_of_threads() {
    let failing = {
        let options = Options { info_percent: 2, ..Options::new(9, 3000, 12, 10) };
        let history = generate::generate(&options);
        // Impossible reads on several keys, drawn by seed.
        (1..6).fold(history, |h, seed| generate::with_impossible_read(&h, seed).expect("reads"))
    };
    let cas_failing = {
        let options = Options { workload: Workload::CasRegister, ..Options::new(5, 3000, 8, 30) };
        let history = generate::generate(&options);
        (1..4).fold(history, |h, seed| generate::with_other_read(&h, seed).expect("reads"))
    };
    let starved = hard_key();
    let cases = [
        (failing, ModelKind::KeyValue, 5_000_000, false),
        (cas_failing, ModelKind::CasRegister, 5_000_000, false),
        (starved, ModelKind::KeyValue, 300_000, true),
    ];
    for (history, model, budget, unknown) in cases {
        let verdicts: Vec<Verdict> = [1, 2, 5]
            .into_iter()
            .map(|threads| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                pool.install(|| model.check(&history, budget).unwrap())
            })
            .collect();
        match &verdicts[0] {
            Verdict::NotLinearizable(_) if !unknown => {}
            Verdict::Unknown { .. } if unknown => {}
            other => panic!("{other}"),
        }
        assert!(verdicts.iter().all(|verdict| *verdict == verdicts[0]), "{}", verdicts[0]);
    }
}
