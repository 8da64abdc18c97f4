//! The models `dsim check --model` names, each on a linearizable history and on one that
//! is not (exact verdicts), and each against a brute force on small random histories: every
//! order of the operations that respects real time, with every subset of the indeterminate
//! ones left out.

use proptest::prelude::*;
use sim_core::check::{
    self, CasRegister, Counter, Format, KeyValue, ListAppend, Model, ModelKind, Queue, Register,
    Set, Verdict,
};
use sim_core::history::{EventType, Function, History, HistoryEvent, Value};

fn verdict(model: ModelKind, text: &str) -> Verdict {
    let history = check::parse_history(text, Format::JepsenEdn).unwrap();
    model.check(&history, 100_000).unwrap()
}

/// A linearizable history and its one-line change that is not, per model.
fn cases() -> Vec<(ModelKind, &'static str, (&'static str, &'static str))> {
    vec![
        (
            ModelKind::Set,
            "{:process 0, :type :invoke, :f :add, :value 1}\n\
             {:process 1, :type :invoke, :f :add, :value 2}\n\
             {:process 0, :type :ok, :f :add, :value 1}\n\
             {:process 2, :type :invoke, :f :read, :value nil}\n\
             {:process 2, :type :ok, :f :read, :value #{1}}\n\
             {:process 1, :type :ok, :f :add, :value 2}\n\
             {:process 2, :type :invoke, :f :read, :value nil}\n\
             {:process 2, :type :ok, :f :read, :value [2 1]}\n",
            // After both adds completed, a read without 2 is impossible.
            ("[2 1]", "[1]"),
        ),
        (
            ModelKind::Queue,
            "{:process 0, :type :invoke, :f :enqueue, :value 1}\n\
             {:process 0, :type :ok, :f :enqueue, :value 1}\n\
             {:process 0, :type :invoke, :f :enqueue, :value 2}\n\
             {:process 1, :type :invoke, :f :dequeue, :value nil}\n\
             {:process 0, :type :ok, :f :enqueue, :value 2}\n\
             {:process 1, :type :ok, :f :dequeue, :value 1}\n\
             {:process 1, :type :invoke, :f :dequeue, :value nil}\n\
             {:process 1, :type :ok, :f :dequeue, :value 2}\n\
             {:process 1, :type :invoke, :f :dequeue, :value nil}\n\
             {:process 1, :type :ok, :f :dequeue, :value nil}\n",
            // 1 was enqueued before 2 began: FIFO order cannot give 2 first.
            (":value 1}\n{:process 1, :type :invoke", ":value 2}\n{:process 1, :type :invoke"),
        ),
        (
            ModelKind::Counter,
            "{:process 0, :type :invoke, :f :add, :value 5}\n\
             {:process 1, :type :invoke, :f :add, :value -2}\n\
             {:process 0, :type :ok, :f :add, :value 5}\n\
             {:process 2, :type :invoke, :f :read, :value nil}\n\
             {:process 2, :type :ok, :f :read, :value 3}\n\
             {:process 1, :type :ok, :f :add, :value -2}\n",
            // A read of 5 could come between the adds, but 7 is no sum of them.
            (":value 3}", ":value 7}"),
        ),
        (
            ModelKind::ListAppend,
            "{:process 0, :type :invoke, :f :append, :key 1, :value 1}\n\
             {:process 1, :type :invoke, :f :append, :key 1, :value 2}\n\
             {:process 0, :type :ok, :f :append, :key 1, :value 1}\n\
             {:process 1, :type :ok, :f :append, :key 1, :value 2}\n\
             {:process 2, :type :invoke, :f :read, :key 1, :value nil}\n\
             {:process 2, :type :ok, :f :read, :key 1, :value [1 2]}\n",
            ("[1 2]", "[2]"),
        ),
    ]
}

#[test]
fn each_model_decides_its_examples_exactly() {
    for (model, good, (from, to)) in cases() {
        assert_eq!(verdict(model, good), Verdict::Linearizable, "{model}");
        let bad = good.replacen(from, to, 1);
        assert_ne!(bad, good, "{model}: the change applies");
        match verdict(model, &bad) {
            Verdict::NotLinearizable(v) => {
                assert_eq!(v.model, model.name());
                if model == ModelKind::Queue {
                    let frontier: Vec<String> =
                        v.frontier.iter().map(|&id| v.operations[id].describe()).collect();
                    assert!(frontier.contains(&"dequeue 2".to_owned()), "{frontier:?}");
                }
            }
            other => panic!("{model}: {other}"),
        }
    }
}

#[test]
fn a_model_refuses_operations_it_has_no_meaning_for() {
    let error = |model: ModelKind, text: &str| {
        let history = check::parse_history(text, Format::JepsenEdn).unwrap();
        model.check(&history, 1000).unwrap_err().to_string()
    };
    assert_eq!(
        error(ModelKind::Queue, "{:process 0, :type :invoke, :f :write, :value 1}"),
        "event 0: the queue model has no write operation (enqueue or dequeue)"
    );
    assert_eq!(
        error(ModelKind::Counter, "{:process 0, :type :invoke, :f :add, :value \"x\"}"),
        "event 0: a counter adds integers, not \"x\""
    );
    assert_eq!(
        error(
            ModelKind::Set,
            "{:process 0, :type :invoke, :f :read}\n{:process 0, :type :ok, :f :read, :value 3}"
        ),
        "event 0: a set read returns its elements as a list or a set, not 3"
    );
}

/// A small history: up to 6 operations (functions from `fs`) of 3 processes on one key,
/// some closed at once and some left open while others run, some completions `info`,
/// values from a few; a read returns `reads` of a small number.
fn small_history(
    fs: &'static [Function],
    reads: fn(i64) -> Value,
) -> impl Strategy<Value = History> {
    prop::collection::vec((0..fs.len(), 0i64..3, 0u8..8, 0i64..4, any::<bool>()), 1..7).prop_map(
        move |ops| {
            let mut events = Vec::new();
            let mut open: Vec<Option<OpenOperation>> = vec![None; 3];
            for (i, (f, value, gap, read, info)) in ops.into_iter().enumerate() {
                let process = i % 3;
                let f = fs[f];
                if let Some((p, f, input, output, info)) = open[process].take() {
                    events.push(complete(p, f, input, output, info));
                }
                let input = if f == Function::Read || f == Function::Dequeue {
                    Value::Nil
                } else {
                    Value::Int(value)
                };
                let output = match f {
                    Function::Read => reads(read),
                    Function::Dequeue if read == 3 => Value::Nil,
                    Function::Dequeue => Value::Int(read),
                    _ => input.clone(),
                };
                events.push(event(process, EventType::Invoke, f, input.clone()));
                open[process] = Some((process, f, input, output, info && gap > 5));
                // Close some operations at once, so that others follow them in real time.
                if gap < 3
                    && let Some((p, f, input, output, info)) = open[process].take()
                {
                    events.push(complete(p, f, input, output, info));
                }
            }
            for (p, f, input, output, info) in open.into_iter().flatten() {
                events.push(complete(p, f, input, output, info));
            }
            History::of(events)
        },
    )
}

/// An operation invoked and not yet completed: its process, function, input, the output
/// it will complete with, and whether it completes `info`.
type OpenOperation = (usize, Function, Value, Value, bool);

/// `[0 1 ... n-1]`.
fn list(n: i64) -> Value {
    Value::List((0..n).collect::<Vec<_>>().into_iter().map(Value::Int).collect())
}

fn event(process: usize, kind: EventType, f: Function, value: Value) -> HistoryEvent {
    HistoryEvent { process: process as u64, kind, f, key: None, value, time: None }
}

fn complete(p: usize, f: Function, input: Value, output: Value, info: bool) -> HistoryEvent {
    if info { event(p, EventType::Info, f, input) } else { event(p, EventType::Ok, f, output) }
}

/// Whether some order of the operations that respects real time (and leaves out any of
/// the indeterminate ones) is legal for the model: tried one by one.
fn brute_force<M: Model>(model: &M, history: &History) -> bool {
    let ops = check::operations(history).unwrap();
    let n = ops.len();
    fn search<M: Model>(model: &M, ops: &[check::Operation], done: u32, state: &M::State) -> bool {
        let pending: Vec<usize> = (0..ops.len()).filter(|&i| done & (1 << i) == 0).collect();
        if pending.iter().all(|&i| ops[i].is_indeterminate()) {
            return true;
        }
        // An operation may go next unless a pending one returned before it was invoked.
        pending.iter().any(|&i| {
            let blocked = pending
                .iter()
                .any(|&j| ops[j].return_position().is_some_and(|r| r < ops[i].invoke_index));
            !blocked
                && model
                    .step_operation(state, &ops[i])
                    .is_some_and(|next| search(model, ops, done | (1 << i), &next))
        })
    }
    // Leaving an indeterminate operation out is the same as never choosing it: the search
    // ends once only indeterminate ones are pending.
    n == 0 || search(model, &ops, 0, &model.init())
}

const SET: &[Function] = &[Function::Add, Function::Read];
const QUEUE: &[Function] = &[Function::Enqueue, Function::Dequeue];
const LIST: &[Function] = &[Function::Append, Function::Read, Function::Append];
const REGISTER: &[Function] = &[Function::Write, Function::Read, Function::Write];

/// A register read of nil or of one of the values written (0 to 2).
fn register_read(n: i64) -> Value {
    if n == 3 { Value::Nil } else { Value::Int(n) }
}

fn agrees<M: Model>(model: &M, history: &History) -> Result<(), TestCaseError> {
    let expected = brute_force(model, history);
    let found = check::check(history, model, 1_000_000).unwrap();
    prop_assert_eq!(found == Verdict::Linearizable, expected, "{:?}: {}", history, found);
    prop_assert!(!matches!(found, Verdict::Unknown { .. }), "decided");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn set_agrees_with_brute_force(history in small_history(SET, list)) {
        agrees(&Set, &history)?;
    }

    #[test]
    fn queue_agrees_with_brute_force(history in small_history(QUEUE, list)) {
        agrees(&Queue, &history)?;
    }

    #[test]
    fn counter_agrees_with_brute_force(history in small_history(SET, Value::Int)) {
        agrees(&Counter, &history)?;
    }

    #[test]
    fn list_append_agrees_with_brute_force(history in small_history(LIST, list)) {
        agrees(&ListAppend, &history)?;
    }

    #[test]
    fn registers_agree_with_brute_force(history in small_history(REGISTER, register_read)) {
        agrees(&Register, &history)?;
        agrees(&CasRegister, &history)?;
        agrees(&KeyValue, &history)?;
    }
}

/// The random histories are not all one verdict: both kinds come up for every model.
#[test]
fn the_random_histories_are_sometimes_linearizable_and_sometimes_not() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = [[0u32; 2]; 5];
    for (i, fs) in [SET, QUEUE, SET, LIST, REGISTER].into_iter().enumerate() {
        let reads = match i {
            2 => Value::Int,
            4 => register_read,
            _ => list,
        };
        for _ in 0..300 {
            let history = small_history(fs, reads).new_tree(&mut runner).unwrap().current();
            let ok = match i {
                0 => brute_force(&Set, &history),
                1 => brute_force(&Queue, &history),
                2 => brute_force(&Counter, &history),
                3 => brute_force(&ListAppend, &history),
                _ => brute_force(&CasRegister, &history),
            };
            seen[i][usize::from(ok)] += 1;
        }
    }
    for (i, [bad, good]) in seen.into_iter().enumerate() {
        assert!(bad > 10 && good > 10, "model {i}: {bad} not linearizable, {good} linearizable");
    }
}
