//! The stand-in history check finds what it claims to, and nothing else.
mod common;

use common::history_check::check;
use sim_core::history::{EventType, Function, History, HistoryEvent, Value};

/// `(process, type, function, value)` rows, in history order.
fn history(rows: &[(u64, EventType, Function, Value)]) -> History {
    let mut h = History::default();
    for (i, (process, kind, f, value)) in rows.iter().enumerate() {
        h.push(HistoryEvent {
            process: *process,
            kind: *kind,
            f: *f,
            key: Some(Value::Int(0)),
            value: value.clone(),
            time: Some(sim_core::SimTime(i as u64)),
        });
    }
    h
}

use EventType::{Info, Invoke, Ok};
use Function::{Append, Read, Write};

fn s(x: &str) -> Value {
    Value::Str(x.into())
}

#[test]
fn a_read_of_an_overwritten_value_is_stale() {
    let h = history(&[
        (0, Invoke, Write, Value::Int(1)),
        (0, Ok, Write, Value::Int(1)),
        (1, Invoke, Write, Value::Int(2)),
        (1, Ok, Write, Value::Int(2)),
        (2, Invoke, Read, Value::Nil),
        (2, Ok, Read, Value::Int(1)),
    ]);
    assert!(check(&h).unwrap_err().contains("stale read"));
}

#[test]
fn concurrent_writes_may_be_read_in_either_order() {
    let h = history(&[
        (0, Invoke, Write, Value::Int(1)),
        (1, Invoke, Write, Value::Int(2)),
        (1, Ok, Write, Value::Int(2)),
        (0, Ok, Write, Value::Int(1)),
        (2, Invoke, Read, Value::Nil),
        (2, Ok, Read, Value::Int(1)),
        (3, Invoke, Write, Value::Int(3)),
        (3, Info, Write, Value::Int(3)),
        (2, Invoke, Read, Value::Nil),
        (2, Ok, Read, Value::Int(3)),
    ]);
    assert_eq!(check(&h), Result::Ok(()));
}

#[test]
fn nil_after_a_completed_write_is_stale() {
    let h = history(&[
        (0, Invoke, Write, Value::Int(1)),
        (0, Ok, Write, Value::Int(1)),
        (2, Invoke, Read, Value::Nil),
        (2, Ok, Read, Value::Nil),
    ]);
    assert!(check(&h).is_err());
}

#[test]
fn appends_must_be_seen_once_and_in_one_order() {
    let base = [
        (0, Invoke, Append, s("1 ")),
        (0, Ok, Append, s("1 ")),
        (1, Invoke, Append, s("2 ")),
        (1, Ok, Append, s("2 ")),
    ];
    let with_read = |value: Value| {
        let mut rows = base.to_vec();
        rows.push((2, Invoke, Read, Value::Nil));
        rows.push((2, Ok, Read, value));
        history(&rows)
    };
    assert_eq!(check(&with_read(s("1 2 "))), Result::Ok(()));
    assert!(check(&with_read(s("1 "))).unwrap_err().contains("misses"));
    assert!(check(&with_read(s("1 2 1 "))).unwrap_err().contains("twice"));
    assert!(check(&with_read(s("1 2 7 "))).unwrap_err().contains("never appended"));
    let mut rows = base.to_vec();
    rows.extend([
        (2, Invoke, Read, Value::Nil),
        (2, Ok, Read, s("1 2 ")),
        (3, Invoke, Read, Value::Nil),
        (3, Ok, Read, s("2 1 ")),
    ]);
    assert!(check(&history(&rows)).unwrap_err().contains("diverge"));
}
