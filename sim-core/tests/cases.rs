//! Hand-made histories, one `check(history, model, expected)` call each. Histories are
//! Jepsen EDN, one map a line: `p` is the process, then type, f and value.

use sim_core::check::{self, Format, ModelKind, Verdict};

#[derive(Debug, PartialEq)]
enum Expected {
    Linearizable,
    NotLinearizable,
}
use Expected::*;
use ModelKind::{CasRegister, KeyValue, Register};

/// Expands the shorthand `0 invoke write 1` (process, type, f, value[, key]) into EDN.
fn edn(lines: &str) -> String {
    lines
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut words = line.splitn(4, ' ');
            let (process, kind, f) =
                (words.next().unwrap(), words.next().unwrap(), words.next().unwrap());
            let rest = words.next().unwrap_or("nil");
            let (value, key) = match rest.split_once(" @") {
                Some((value, key)) => (value, format!(", :key {key}")),
                None => (rest, String::new()),
            };
            format!("{{:process {process}, :type :{kind}, :f :{f}, :value {value}{key}}}\n")
        })
        .collect()
}

fn verdict(lines: &str, model: ModelKind) -> Verdict {
    let history = check::parse_history(&edn(lines), Format::JepsenEdn).expect("valid EDN");
    model.check(&history, check::DEFAULT_BUDGET).expect("well-formed history")
}

#[track_caller]
fn check(lines: &str, model: ModelKind, expected: Expected) {
    let verdict = verdict(lines, model);
    let got = match verdict {
        Verdict::Linearizable => Linearizable,
        Verdict::NotLinearizable(_) => NotLinearizable,
        Verdict::Unknown { .. } => panic!("unknown: {verdict}"),
    };
    assert_eq!(got, expected, "{model} on\n{lines}\n{verdict}");
}

#[test]
fn empty_and_single_operations() {
    for model in ModelKind::ALL {
        check("", model, Linearizable);
    }
    check("0 invoke write 1\n 0 ok write 1", Register, Linearizable);
    check("0 invoke read nil\n 0 ok read nil", Register, Linearizable);
    check("0 invoke read nil\n 0 ok read 1", Register, NotLinearizable);
    // A never-completed write alone: may or may not have happened.
    check("0 invoke write 1", Register, Linearizable);
    // The invoke's value of a read is ignored (Knossos files carry some).
    check("0 invoke read 7\n 0 ok read nil", CasRegister, Linearizable);
}

#[test]
fn overlapping_operations() {
    // A read concurrent with a write may see either value.
    check("0 invoke write 1\n 1 invoke read\n 1 ok read 1\n 0 ok write 1", Register, Linearizable);
    check(
        "0 invoke write 1\n 1 invoke read\n 1 ok read nil\n 0 ok write 1",
        Register,
        Linearizable,
    );
    // A read that ends before the write starts cannot see it.
    check(
        "1 invoke read\n 1 ok read 1\n 0 invoke write 1\n 0 ok write 1",
        Register,
        NotLinearizable,
    );
    // A stale read after two sequential writes.
    check(
        "0 invoke write 1\n 0 ok write 1\n 0 invoke write 2\n 0 ok write 2\n 1 invoke read\n 1 ok read 1",
        Register,
        NotLinearizable,
    );
    // Two concurrent writes: later reads agree on one order...
    let writes = "0 invoke write 1\n 1 invoke write 2\n 0 ok write 1\n 1 ok write 2\n";
    check(
        &format!("{writes} 2 invoke read\n 2 ok read 1\n 2 invoke read\n 2 ok read 1"),
        Register,
        Linearizable,
    );
    check(
        &format!("{writes} 2 invoke read\n 2 ok read 2\n 2 invoke read\n 2 ok read 2"),
        Register,
        Linearizable,
    );
    // ...and cannot see both, one after the other.
    check(
        &format!("{writes} 2 invoke read\n 2 ok read 1\n 2 invoke read\n 2 ok read 2"),
        Register,
        NotLinearizable,
    );
    // Two reads concurrent with both writes may see both orders between them.
    check(
        "0 invoke write 1\n 1 invoke write 2\n 2 invoke read\n 3 invoke read\n 2 ok read 1\n 3 ok read 2\n 0 ok write 1\n 1 ok write 2",
        Register,
        Linearizable,
    );
}

#[test]
fn operations_touching_at_one_instant_are_ordered_by_position() {
    // The write returns, then the read is invoked (same time): the read is after the write.
    let sequential = "{:process 0, :type :invoke, :f :write, :value 1, :time 1}
                      {:process 0, :type :ok, :f :write, :value 1, :time 5}
                      {:process 1, :type :invoke, :f :read, :value nil, :time 5}
                      {:process 1, :type :ok, :f :read, :value nil, :time 9}";
    let history = check::parse_history(sequential, Format::JepsenEdn).unwrap();
    assert!(matches!(Register.check(&history, 1000).unwrap(), Verdict::NotLinearizable(_)));
    // The read is invoked first at the same instant: they overlap.
    let overlapping = "{:process 0, :type :invoke, :f :write, :value 1, :time 1}
                       {:process 1, :type :invoke, :f :read, :value nil, :time 5}
                       {:process 0, :type :ok, :f :write, :value 1, :time 5}
                       {:process 1, :type :ok, :f :read, :value nil, :time 9}";
    let history = check::parse_history(overlapping, Format::JepsenEdn).unwrap();
    assert_eq!(Register.check(&history, 1000).unwrap(), Verdict::Linearizable);
}

#[test]
fn info_operations_may_or_may_not_have_happened() {
    // Must be assumed to have happened: a later read sees it.
    check(
        "0 invoke write 1\n 0 info write 1\n 1 invoke read\n 1 ok read 1",
        Register,
        Linearizable,
    );
    // Must be assumed not to have happened (yet): reads keep seeing the old value.
    check(
        "0 invoke write 1\n 0 ok write 1\n 1 invoke write 2\n 1 info write 2\n 2 invoke read\n 2 ok read 1\n 2 invoke read\n 2 ok read 1",
        Register,
        Linearizable,
    );
    // It may happen late, after other reads...
    check(
        "1 invoke write 2\n 1 info write 2\n 2 invoke read\n 2 ok read nil\n 2 invoke read\n 2 ok read 2",
        Register,
        Linearizable,
    );
    // ...but only once: 2, then back to 1 with no other write of 1, is impossible.
    check(
        "0 invoke write 1\n 0 ok write 1\n 1 invoke write 2\n 1 info write 2\n 2 invoke read\n 2 ok read 2\n 2 invoke read\n 2 ok read 1",
        Register,
        NotLinearizable,
    );
    // Never before its invocation.
    check(
        "2 invoke read\n 2 ok read 1\n 1 invoke write 1\n 1 info write 1",
        Register,
        NotLinearizable,
    );
    // An info read tells nothing.
    check("0 invoke read\n 0 info read 5", Register, Linearizable);
    // An info cas may have happened, if its expected value was there.
    check(
        "0 invoke write 1\n 0 ok write 1\n 1 invoke cas [1 2]\n 1 info cas [1 2]\n 2 invoke read\n 2 ok read 2",
        CasRegister,
        Linearizable,
    );
    check(
        "0 invoke write 1\n 0 ok write 1\n 1 invoke cas [3 2]\n 1 info cas [3 2]\n 2 invoke read\n 2 ok read 2",
        CasRegister,
        NotLinearizable,
    );
}

#[test]
fn failed_operations_did_not_happen() {
    check(
        "0 invoke write 1\n 0 fail write 1\n 1 invoke read\n 1 ok read 1",
        Register,
        NotLinearizable,
    );
    check(
        "0 invoke write 1\n 0 fail write 1\n 1 invoke read\n 1 ok read nil",
        Register,
        Linearizable,
    );
    check(
        "0 invoke write 1\n 0 ok write 1\n 1 invoke cas [1 2]\n 1 fail cas [1 2]\n 2 invoke read\n 2 ok read 1",
        CasRegister,
        Linearizable,
    );
}

#[test]
fn cas_chains() {
    let chain = "0 invoke write 0\n 0 ok write 0\n 1 invoke cas [0 1]\n 1 ok cas [0 1]\n 2 invoke cas [1 2]\n 2 ok cas [1 2]\n";
    check(&format!("{chain} 3 invoke read\n 3 ok read 2"), CasRegister, Linearizable);
    check(&format!("{chain} 3 invoke read\n 3 ok read 1"), CasRegister, NotLinearizable);
    // A successful cas from a value that was never there.
    check(
        "0 invoke write 5\n 0 ok write 5\n 1 invoke cas [0 1]\n 1 ok cas [0 1]",
        CasRegister,
        NotLinearizable,
    );
    // Concurrent cas operations that only work in one order.
    check(
        "0 invoke write 0\n 0 ok write 0\n 1 invoke cas [1 2]\n 2 invoke cas [0 1]\n 1 ok cas [1 2]\n 2 ok cas [0 1]\n 3 invoke read\n 3 ok read 2",
        CasRegister,
        Linearizable,
    );
    // cas on nil: the register starts as nil.
    check(
        "0 invoke cas [nil 1]\n 0 ok cas [nil 1]\n 0 invoke read\n 0 ok read 1",
        CasRegister,
        Linearizable,
    );
}

#[test]
fn key_value_semantics() {
    check(
        "0 invoke append \"a\" @\"k\"\n 0 ok append \"a\" @\"k\"\n 0 invoke append \"b\" @\"k\"\n 0 ok append \"b\" @\"k\"\n 1 invoke get nil @\"k\"\n 1 ok get \"ab\" @\"k\"",
        KeyValue,
        Linearizable,
    );
    check(
        "0 invoke append \"a\" @\"k\"\n 0 ok append \"a\" @\"k\"\n 0 invoke append \"b\" @\"k\"\n 0 ok append \"b\" @\"k\"\n 1 invoke get nil @\"k\"\n 1 ok get \"ba\" @\"k\"",
        KeyValue,
        NotLinearizable,
    );
    // Every key starts as "", and a nil read is a read of "".
    check("1 invoke get nil @\"k\"\n 1 ok get \"\" @\"k\"", KeyValue, Linearizable);
    check("1 invoke get nil @\"k\"\n 1 ok get nil @\"k\"", KeyValue, Linearizable);
    // Keys are independent: a put on one key is invisible on another.
    check(
        "0 invoke put \"x\" @1\n 0 ok put \"x\" @1\n 1 invoke get nil @2\n 1 ok get \"x\" @2",
        KeyValue,
        NotLinearizable,
    );
}

#[test]
fn a_violation_explains_itself() {
    // rethink-fail-minimal from Knossos: after write 0, a read of 3 concurrent with write 4.
    let verdict = verdict(
        "0 invoke write 0\n 0 ok write 0\n 1 invoke read\n 2 invoke write 4\n 1 ok read 3\n 2 ok write 4\n 3 invoke read\n 3 ok read 4",
        Register,
    );
    let Verdict::NotLinearizable(violation) = &verdict else { panic!("{verdict}") };
    assert_eq!(violation.key, None);
    let prefix: Vec<String> =
        violation.prefix.iter().map(|&id| violation.operation(id).unwrap().describe()).collect();
    assert_eq!(prefix, ["write 0", "write 4"]);
    let frontier: Vec<String> =
        violation.frontier.iter().map(|&id| violation.operation(id).unwrap().to_string()).collect();
    assert_eq!(frontier, ["process 1: read 3 [#2, #4]"]);
    assert!(violation.dead_ends.is_empty());
    let text = verdict.to_string();
    assert!(text.contains("orders 2 of the history's 4 operations"), "{text}");
    assert!(text.contains("After it the register holds 4"), "{text}");
    assert!(text.contains("process 1: read 3 [#2, #4]: impossible in this state"), "{text}");
}

#[test]
fn the_failing_key_is_named_and_others_do_not_matter() {
    let verdict = verdict(
        "0 invoke put \"x\" @1\n 0 ok put \"x\" @1\n 1 invoke get nil @1\n 1 ok get \"x\" @1\n 2 invoke get nil @2\n 2 ok get \"y\" @2",
        KeyValue,
    );
    let Verdict::NotLinearizable(violation) = &verdict else { panic!("{verdict}") };
    assert_eq!(violation.key, Some(sim_core::history::Value::Int(2)));
    assert!(verdict.to_string().starts_with("not linearizable: key 2 (kv model)"));
}

#[test]
fn a_tiny_budget_answers_unknown_with_progress() {
    let history = sim_core::check::generate::random_linearizable(5, 2000, 3, 8);
    let verdict = KeyValue.check(&history, 100).unwrap();
    let Verdict::Unknown { keys_total, keys_finished, unfinished, .. } = &verdict else {
        panic!("{verdict}")
    };
    assert_eq!((*keys_total, *keys_finished), (3, 0));
    assert_eq!(unfinished.len(), 3);
    assert!(unfinished.iter().all(|progress| progress.deepest_prefix < progress.operations));
    assert!(verdict.to_string().starts_with("unknown: the search ran out of budget"));
    // The same history, with the default budget, is linearizable.
    assert_eq!(KeyValue.check(&history, check::DEFAULT_BUDGET).unwrap(), Verdict::Linearizable);
    // Budget 0 still answers for an empty history.
    assert_eq!(KeyValue.check(&Default::default(), 0).unwrap(), Verdict::Linearizable);
}

#[test]
fn malformed_histories_and_unsupported_operations_are_errors() {
    let history = |lines: &str| check::parse_history(&edn(lines), Format::JepsenEdn).unwrap();
    let error = Register.check(&history("0 ok write 1"), 1000).unwrap_err();
    assert_eq!(
        error.to_string(),
        "event 0: process 0 completes an operation (ok) it never invoked"
    );
    let error = Register.check(&history("0 invoke cas [1 2]\n 0 ok cas [1 2]"), 1000).unwrap_err();
    assert_eq!(
        error.to_string(),
        "event 0: the register model has no cas operation (use the cas-register model)"
    );
    let error = CasRegister.check(&history("0 invoke cas 1\n 0 ok cas 1"), 1000).unwrap_err();
    assert_eq!(error.to_string(), "event 0: a cas needs the value [expected new], not 1");
}
