//! One small hand-made history per anomaly class, with the cycle expected; serializable
//! histories that pass; and properties over generated histories.

use super::generate::{Options, generate};
use super::*;
use crate::txn::{parse_edn, to_edn};
use proptest::prelude::*;

/// A history from lines of `process type txn`, e.g. `0 ok [[:append 0 1]]`; an invocation
/// carries the same micro-ops with the reads' values dropped.
fn history(lines: &[&str]) -> History<TxnEvent> {
    let mut text = String::new();
    for line in lines {
        let (process, rest) = line.split_once(' ').unwrap();
        let (kind, txn) = rest.split_once(' ').unwrap();
        text.push_str(&format!("{{:process {process}, :type :{kind}, :f :txn, :value {txn}}}\n"));
    }
    let (history, positions) = parse_edn(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(positions.len(), history.len());
    history
}

/// Checks `lines` for `consistency`: the classes found, and the transactions of the first
/// anomaly (sorted).
fn check_case(lines: &[&str], consistency: Consistency, classes: &[&str], txns: &[usize]) {
    let history = history(lines);
    let analysis = check(&history, consistency).unwrap();
    let text = analysis.to_string();
    assert_eq!(analysis.classes(), classes, "{text}");
    if let Some(first) = analysis.anomalies.first() {
        let mut involved = Analysis::involved(first);
        involved.sort_unstable();
        assert_eq!(involved, txns, "{text}");
    }
}

const SERIALIZABLE: Consistency = Consistency::Serializable;
const STRICT: Consistency = Consistency::StrictSerializable;

#[test]
fn g0_a_write_cycle() {
    let lines = [
        "0 invoke [[:append 0 1] [:append 1 2]]",
        "0 ok [[:append 0 1] [:append 1 2]]",
        "1 invoke [[:append 0 2] [:append 1 1]]",
        "1 ok [[:append 0 2] [:append 1 1]]",
        "2 invoke [[:r 0 nil] [:r 1 nil]]",
        "2 ok [[:r 0 [1 2]] [:r 1 [1 2]]]",
    ];
    check_case(&lines, SERIALIZABLE, &["G0"], &[0, 1]);
    check_case(&lines, STRICT, &["G0"], &[0, 1]);
    let history = history(&lines);
    let analysis = check(&history, SERIALIZABLE).unwrap();
    let Anomaly::Cycle(cycle) = &analysis.anomalies[0] else { panic!("{analysis}") };
    let mut steps = cycle.steps.clone();
    steps.sort();
    assert_eq!(
        steps,
        [
            "T0 -ww-> T1: T0 appended 1 to key 0 and T1 appended 2, the next element",
            "T1 -ww-> T0: T1 appended 1 to key 1 and T0 appended 2, the next element",
        ]
    );
    assert!(cycle.rules_out.starts_with("read uncommitted"), "{}", cycle.rules_out);
}

#[test]
fn internal_reads_that_miss_their_own_transactions_writes() {
    // A list read that lacks the transaction's own append before it.
    let lines = ["0 invoke [[:append 0 1] [:r 0 nil]]", "0 ok [[:append 0 1] [:r 0 []]]"];
    check_case(&lines, SERIALIZABLE, &["internal"], &[0]);
    let analysis_text = check(&history(&lines), SERIALIZABLE).unwrap().to_string();
    assert!(
        analysis_text.contains(
            "T0's micro-op 1 read key 0 as [], though its own earlier micro-ops on the key \
             say a list ending with [1]"
        ),
        "{analysis_text}"
    );
    // Two reads of a list with an append between: the second must be the first plus it.
    let lines = [
        "0 invoke [[:append 0 1]]",
        "0 ok [[:append 0 1]]",
        "1 invoke [[:r 0 nil] [:append 0 2] [:r 0 nil]]",
        "1 ok [[:r 0 [1]] [:append 0 2] [:r 0 [2]]]",
    ];
    check_case(&lines, SERIALIZABLE, &["internal", "incompatible-order"], &[1]);
    // A register read after its own write returns another value, or a second read changed.
    let lines = [
        "0 invoke [[:w 0 1] [:r 0 nil]]",
        "0 ok [[:w 0 1] [:r 0 nil]]",
        "1 invoke [[:r 1 nil] [:r 1 nil]]",
        "1 ok [[:r 1 nil] [:r 1 3]]",
        "2 invoke [[:w 1 3]]",
        "2 ok [[:w 1 3]]",
    ];
    let history = history(&lines);
    let analysis = check(&history, SERIALIZABLE).unwrap();
    let internal: Vec<(usize, usize)> = analysis
        .anomalies
        .iter()
        .filter_map(|a| match a {
            Anomaly::Internal { reader, mop, .. } => Some((*reader, *mop)),
            _ => None,
        })
        .collect();
    assert_eq!(internal, [(0, 1), (1, 1)], "{analysis}");
    // Reads that agree with the transaction's own micro-ops are fine.
    let lines = [
        "1 invoke [[:append 0 5]]",
        "1 ok [[:append 0 5]]",
        "0 invoke [[:r 0 nil] [:append 0 1] [:r 0 nil] [:append 0 2] [:r 0 nil]]",
        "0 ok [[:r 0 [5]] [:append 0 1] [:r 0 [5 1]] [:append 0 2] [:r 0 [5 1 2]]]",
    ];
    check_case(&lines, STRICT, &[], &[]);
}

#[test]
fn g1a_an_aborted_read() {
    let lines = [
        "0 invoke [[:append 0 1]]",
        "1 invoke [[:r 0 nil]]",
        "0 fail [[:append 0 1]]",
        "1 ok [[:r 0 [1]]]",
    ];
    check_case(&lines, SERIALIZABLE, &["G1a"], &[0, 1]);
}

#[test]
fn g1b_an_intermediate_read() {
    let lines = [
        "0 invoke [[:append 0 1] [:append 0 2]]",
        "1 invoke [[:r 0 nil]]",
        "1 ok [[:r 0 [1]]]",
        "0 ok [[:append 0 1] [:append 0 2]]",
        "2 invoke [[:r 0 nil]]",
        "2 ok [[:r 0 [1 2]]]",
    ];
    // The read of an intermediate version also puts T1 between T0's two appends.
    check_case(&lines, SERIALIZABLE, &["G1b", "G-single"], &[0, 1]);
}

#[test]
fn g1c_circular_information_flow() {
    let lines = [
        "0 invoke [[:append 0 1] [:r 1 nil]]",
        "1 invoke [[:append 1 1] [:r 0 nil]]",
        "0 ok [[:append 0 1] [:r 1 [1]]]",
        "1 ok [[:append 1 1] [:r 0 [1]]]",
    ];
    check_case(&lines, SERIALIZABLE, &["G1c"], &[0, 1]);
}

#[test]
fn g_single_read_skew() {
    let lines = [
        "0 invoke [[:append 0 1] [:append 1 1]]",
        "1 invoke [[:r 0 nil] [:r 1 nil]]",
        "0 ok [[:append 0 1] [:append 1 1]]",
        "1 ok [[:r 0 []] [:r 1 [1]]]",
        "2 invoke [[:r 0 nil]]",
        "2 ok [[:r 0 [1]]]",
    ];
    check_case(&lines, SERIALIZABLE, &["G-single"], &[0, 1]);
    let history = history(&lines);
    let analysis = check(&history, SERIALIZABLE).unwrap();
    let Anomaly::Cycle(cycle) = &analysis.anomalies[0] else { panic!("{analysis}") };
    let mut steps = cycle.steps.clone();
    steps.sort();
    assert_eq!(
        steps,
        [
            "T0 -wr-> T1: T1 read key 1 up to 1, which T0 wrote",
            "T1 -rw-> T0: T1 read key 0 up to the initial (empty) version, and T0 wrote 1, a later version",
        ]
    );
}

#[test]
fn g2_write_skew() {
    let lines = [
        "0 invoke [[:r 0 nil] [:append 1 1]]",
        "1 invoke [[:r 1 nil] [:append 0 1]]",
        "0 ok [[:r 0 nil] [:append 1 1]]",
        "1 ok [[:r 1 nil] [:append 0 1]]",
        "2 invoke [[:r 0 nil] [:r 1 nil]]",
        "2 ok [[:r 0 [1]] [:r 1 [1]]]",
    ];
    check_case(&lines, SERIALIZABLE, &["G2"], &[0, 1]);
}

#[test]
fn a_lone_committed_append_no_one_read_is_the_next_version() {
    // Write skew again, with no read of either append: each is the only write to its key,
    // so it follows the empty version the other transaction read.
    let unread = [
        "0 invoke [[:r 0 nil] [:append 1 1]]",
        "1 invoke [[:r 1 nil] [:append 0 1]]",
        "0 ok [[:r 0 nil] [:append 1 1]]",
        "1 ok [[:r 1 nil] [:append 0 1]]",
    ];
    check_case(&unread, SERIALIZABLE, &["G2"], &[0, 1]);
    // Another write to the key that may have happened (info) leaves the order unknown.
    let mut ambiguous = unread.to_vec();
    ambiguous.extend(["2 invoke [[:append 0 2]]", "2 info [[:append 0 2]]"]);
    check_case(&ambiguous, SERIALIZABLE, &[], &[]);
}

#[test]
fn a_stale_read_is_serializable_but_not_strictly() {
    let lines = [
        "0 invoke [[:append 0 1]]",
        "0 ok [[:append 0 1]]",
        "1 invoke [[:r 0 nil]]",
        "1 ok [[:r 0 []]]",
        "2 invoke [[:r 0 nil]]",
        "2 ok [[:r 0 [1]]]",
    ];
    check_case(&lines, SERIALIZABLE, &[], &[]);
    check_case(&lines, STRICT, &["G-single-realtime"], &[0, 1]);
    let history = history(&lines);
    let analysis = check(&history, STRICT).unwrap();
    assert!(analysis.summary().contains("strict serializability"), "{analysis}");
    let text = analysis.to_string();
    assert!(text.contains("T0 -realtime-> T1: T0 completed before T1 was invoked"), "{text}");
}

#[test]
fn a_process_that_does_not_see_its_own_append() {
    // One process, so the realtime edge is also a process edge; realtime names it.
    let lines = [
        "0 invoke [[:append 0 1]]",
        "0 ok [[:append 0 1]]",
        "0 invoke [[:r 0 nil]]",
        "0 ok [[:r 0 []]]",
        "1 invoke [[:r 0 nil]]",
        "1 ok [[:r 0 [1]]]",
    ];
    check_case(&lines, STRICT, &["G-single-realtime"], &[0, 1]);
}

#[test]
fn orders_that_cannot_be_merged_and_values_no_one_wrote() {
    let incompatible = [
        "0 invoke [[:append 0 1]]",
        "1 invoke [[:append 0 2]]",
        "0 ok [[:append 0 1]]",
        "1 ok [[:append 0 2]]",
        "2 invoke [[:r 0 nil]]",
        "2 ok [[:r 0 [1 2]]]",
        "3 invoke [[:r 0 nil]]",
        "3 ok [[:r 0 [2 1]]]",
    ];
    check_case(&incompatible, SERIALIZABLE, &["incompatible-order"], &[2, 3]);
    let garbage = ["0 invoke [[:r 0 nil]]", "0 ok [[:r 0 [7]]]"];
    check_case(&garbage, SERIALIZABLE, &["garbage-read"], &[0]);
    let twice = [
        "0 invoke [[:append 0 1]]",
        "0 ok [[:append 0 1]]",
        "1 invoke [[:r 0 nil]]",
        "1 ok [[:r 0 [1 1]]]",
    ];
    check_case(&twice, SERIALIZABLE, &["duplicate-elements"], &[1]);
}

#[test]
fn serializable_histories_pass() {
    let concurrent = [
        "0 invoke [[:append 0 1] [:r 1 nil]]",
        "1 invoke [[:append 1 1] [:r 0 nil]]",
        "0 ok [[:append 0 1] [:r 1 []]]",
        "1 ok [[:append 1 1] [:r 0 [1]]]",
        "2 invoke [[:append 0 2] [:r 0 nil] [:r 1 nil]]",
        "3 invoke [[:r 0 nil]]",
        "2 info [[:append 0 2] [:r 0 nil] [:r 1 nil]]",
        "3 ok [[:r 0 [1 2]]]",
        "4 invoke [[:append 1 2]]",
        "4 fail [[:append 1 2]]",
        "5 invoke [[:r 1 nil]]",
        "5 ok [[:r 1 [1]]]",
    ];
    check_case(&concurrent, STRICT, &[], &[]);
    check_case(&concurrent, SERIALIZABLE, &[], &[]);
}

#[test]
fn rw_registers_have_their_own_inference() {
    let write_skew = [
        "0 invoke [[:r 0 nil] [:w 1 1]]",
        "1 invoke [[:r 1 nil] [:w 0 1]]",
        "0 ok [[:r 0 nil] [:w 1 1]]",
        "1 ok [[:r 1 nil] [:w 0 1]]",
    ];
    check_case(&write_skew, SERIALIZABLE, &["G2"], &[0, 1]);
    let circular = [
        "0 invoke [[:w 0 1] [:r 1 nil]]",
        "1 invoke [[:w 1 1] [:r 0 nil]]",
        "0 ok [[:w 0 1] [:r 1 1]]",
        "1 ok [[:w 1 1] [:r 0 1]]",
    ];
    check_case(&circular, SERIALIZABLE, &["G1c"], &[0, 1]);
    let lost_update = [
        "0 invoke [[:w 0 1]]",
        "0 ok [[:w 0 1]]",
        "1 invoke [[:r 0 nil] [:w 0 2]]",
        "2 invoke [[:r 0 nil] [:w 0 3]]",
        "1 ok [[:r 0 1] [:w 0 2]]",
        "2 ok [[:r 0 1] [:w 0 3]]",
    ];
    // Both read 1 and overwrote it: each read-write edge points at the other's write.
    check_case(&lost_update, SERIALIZABLE, &["G2"], &[1, 2]);
    let fine = [
        "0 invoke [[:w 0 1]]",
        "0 ok [[:w 0 1]]",
        "1 invoke [[:r 0 nil] [:w 0 2]]",
        "1 ok [[:r 0 1] [:w 0 2]]",
        "2 invoke [[:r 0 nil] [:r 1 nil]]",
        "2 ok [[:r 0 2] [:r 1 nil]]",
    ];
    check_case(&fine, STRICT, &[], &[]);
}

#[test]
fn histories_that_cannot_be_analysed_are_refused() {
    let twice = ["0 invoke [[:append 0 1]]", "0 ok [[:append 0 1]]", "1 invoke [[:append 0 1]]"];
    let twice = history(&twice);
    let error = check(&twice, SERIALIZABLE).unwrap_err();
    assert_eq!(error.event, 2);
    assert!(error.message.contains("value 1 is written to key 0 twice"), "{error}");
    let orphan = ["0 ok [[:append 0 1]]"];
    let orphan = history(&orphan);
    assert!(check(&orphan, SERIALIZABLE).unwrap_err().message.contains("never invoked"));
}

#[test]
fn edn_reading_says_where_and_round_trips() {
    let error = |text: &str| parse_edn(text.as_bytes()).unwrap_err().to_string();
    assert!(error("{:process 0, :type :ok, :f :read, :value 1}").contains("expected :f :txn"));
    let unknown = error("{:process 0, :type :ok, :f :txn, :value [[:x 0 1]]}");
    assert!(unknown.starts_with("1:43: unknown micro-op"), "{unknown}");
    assert!(
        error("{:process 0, :type :ok, :f :txn, :value [[:w 0 1] [:r 1 [1]]]}")
            .contains("rw-register")
    );
    let history = generate(&Options::new(3, 200, 5));
    let (again, _) = parse_edn(to_edn(&history).as_bytes()).unwrap();
    assert_eq!(again, history);
    assert!(crate::txn::is_txn_history(&to_edn(&history)));
    let jsonl = crate::check::jsonl::to_jsonl(&history);
    assert!(crate::txn::is_txn_history(&jsonl));
    let (again, lines) = crate::check::jsonl::parse_txn_jsonl(jsonl.as_bytes()).unwrap();
    assert_eq!((again, lines.len()), (history.clone(), history.len()));
    assert!(!crate::txn::is_txn_history("{:process 0, :type :invoke, :f :read, :value nil}"));
    let registers = history_of_registers();
    let (again, _) =
        crate::check::jsonl::parse_txn_jsonl(crate::check::jsonl::to_jsonl(&registers).as_bytes())
            .unwrap();
    assert_eq!(again, registers);
    assert_eq!(parse_edn(to_edn(&registers).as_bytes()).unwrap().0, registers);
}

fn history_of_registers() -> History<TxnEvent> {
    history(&[
        "0 invoke [[:w 0 1] [:r 1 nil]]",
        "0 ok [[:w 0 1] [:r 1 nil]]",
        "1 invoke [[:r 0 nil] [:w 1 2]]",
        "1 ok [[:r 0 1] [:w 1 2]]",
    ])
}

/// A serial history with final reads, with one read (of a value another transaction
/// appended) cut short by its last element: a stale read.
fn with_a_stale_read(history: &mut History<TxnEvent>, pick: usize) -> bool {
    let ops = operations(history).unwrap();
    let writes = WriteIndex::new(&ops).unwrap();
    let mut candidates = Vec::new();
    for (op, o) in ops.iter().enumerate() {
        for (i, mop) in o.txn.iter().enumerate() {
            if let Mop::ReadList { key, value: Some(list) } = mop
                && let Some(&last) = list.last()
                && writes.writer(*key, last).is_some_and(|(w, _)| w != op)
            {
                candidates.push((o.completed.unwrap(), i));
            }
        }
    }
    // The final reads are left alone: they reveal the whole order.
    let keys = ops.iter().rev().take_while(|o| o.txn.len() == 1 && o.txn[0].is_read()).count();
    candidates.retain(|&(event, _)| event < history.len() - 2 * keys);
    if candidates.is_empty() {
        return false;
    }
    let (event, i) = candidates[pick % candidates.len()];
    let Mop::ReadList { value: Some(list), .. } = &mut history.events[event].txn[i] else {
        unreachable!()
    };
    list.pop();
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_histories_are_strictly_serializable(seed in 0u64..1_000_000, processes in 1u64..8, transactions in 1usize..300) {
        let history = generate(&Options::new(seed, transactions, processes));
        for consistency in [SERIALIZABLE, STRICT] {
            let analysis = check(&history, consistency).unwrap();
            prop_assert!(analysis.is_valid(), "{}", analysis);
        }
    }

    #[test]
    fn generated_histories_as_registers_are_strictly_serializable(seed in 0u64..1_000_000, processes in 1u64..8, transactions in 1usize..300) {
        // Each append a write and each list read a read of its last element: the same
        // execution order explains the register history, realtime version orders and all.
        let mut history = generate(&Options::new(seed, transactions, processes));
        for event in &mut history.events {
            for mop in &mut event.txn {
                *mop = match mop.clone() {
                    Mop::Append { key, value } => Mop::Write { key, value },
                    Mop::ReadList { key, value } => {
                        Mop::ReadRegister { key, value: value.map(|list| list.last().copied()) }
                    }
                    other => other,
                };
            }
        }
        let analysis = check(&history, STRICT).unwrap();
        prop_assert!(analysis.is_valid(), "{}", analysis);
    }

    #[test]
    fn one_stale_read_in_a_serial_history_always_fails(seed in 0u64..1_000_000, transactions in 2usize..200, pick in 0usize..1000) {
        let options = Options { final_reads: true, ..Options::new(seed, transactions, 1) };
        let mut history = generate(&options);
        prop_assume!(with_a_stale_read(&mut history, pick));
        let analysis = check(&history, STRICT).unwrap();
        prop_assert!(!analysis.is_valid(), "{}", to_edn(&history));
    }
}

#[test]
fn the_html_page_draws_the_cycle_step_by_step() {
    // Read skew: T0 -wr-> T1 -rw-> T0.
    let lines = [
        "0 invoke [[:append 0 1] [:append 1 1]]",
        "1 invoke [[:r 0 nil] [:r 1 nil]]",
        "0 ok [[:append 0 1] [:append 1 1]]",
        "1 ok [[:r 0 []] [:r 1 [1]]]",
        "2 invoke [[:r 0 nil]]",
        "2 ok [[:r 0 [1]]]",
    ];
    let history = history(&lines);
    let analysis = check(&history, SERIALIZABLE).unwrap();
    let Anomaly::Cycle(cycle) = &analysis.anomalies[0] else { panic!("{analysis}") };
    assert_eq!(cycle.kinds.len(), cycle.steps.len());
    let page = html::render(&analysis);
    assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"), "{page}");
    assert!(page.contains("<title>Not serializable: G-single</title>"), "{page}");
    // The figure: a box per transaction, an arrow per edge labelled with its kind.
    assert_eq!(page.matches("<rect class=\"txn\"").count(), 2, "{page}");
    assert_eq!(page.matches("<line class=\"edge wr\"").count(), 1, "{page}");
    assert_eq!(page.matches("<line class=\"edge rw\"").count(), 1, "{page}");
    // The steps, in cycle order, each transaction with its micro-ops, and why each edge is.
    let step =
        |t: usize| page.find(&format!("<li><b>T{t}</b>")).unwrap_or_else(|| panic!("{page}"));
    assert!(step(cycle.txns[0]) < step(cycle.txns[1]), "{page}");
    assert!(
        page.contains("<b>T0</b> (process 0, ok) <code>[[:append 0 1] [:append 1 1]]</code><br><span class=\"edge wr\">&#8594; wr &#8594;</span> <b>T1</b>: T1 read key 1 up to 1, which T0 wrote</li>"),
        "{page}"
    );
    assert!(
        page.contains("<span class=\"edge rw\">&#8594; rw &#8594;</span> <b>T0</b>: T1 read key 0 up to the initial (empty) version, and T0 wrote 1, a later version</li>"),
        "{page}"
    );
    // A history without anomalies gets a page that says so.
    let serial = [
        "0 invoke [[:append 0 1]]",
        "0 ok [[:append 0 1]]",
        "1 invoke [[:r 0 nil]]",
        "1 ok [[:r 0 [1]]]",
    ];
    let history = self::history(&serial);
    let analysis = check(&history, STRICT).unwrap();
    let page = html::render(&analysis);
    assert!(page.contains("<h1>Strict serializable: no anomaly</h1>"), "{page}");
    assert!(!page.contains("<svg"), "{page}");
}

#[test]
fn register_versions_ordered_by_real_time_under_strict_serializability_only() {
    // T0 writes x=1 and completes before T1, which writes x=2 and y=5, is invoked. T2
    // reads y=5 (T1 came first) yet x=1: it missed T1's later version of x. Serializable
    // (T1, T0, T2), but not in real time: only the realtime version order of x shows it.
    let lines = [
        "0 invoke [[:w 0 1]]",
        "0 ok [[:w 0 1]]",
        "1 invoke [[:w 0 2] [:w 1 5]]",
        "2 invoke [[:r 1 nil] [:r 0 nil]]",
        "1 ok [[:w 0 2] [:w 1 5]]",
        "2 ok [[:r 1 5] [:r 0 1]]",
    ];
    check_case(&lines, SERIALIZABLE, &[], &[]);
    check_case(&lines, STRICT, &["G-single-realtime"], &[1, 2]);
    let history = history(&lines);
    let analysis = check(&history, STRICT).unwrap();
    let Anomaly::Cycle(cycle) = &analysis.anomalies[0] else { panic!("{analysis}") };
    assert!(cycle.rules_out.starts_with("strict serializability"), "{}", cycle.rules_out);
    let mut steps = cycle.steps.clone();
    steps.sort();
    assert_eq!(
        steps,
        [
            "T1 -wr-> T2: T2 read key 1 = 5, which T1 wrote",
            "T2 -rw-> T1: T2 read key 0 = 1, and T1 wrote 2, a later version (its writer \
             completed before T1 was invoked)",
        ]
    );
    // Concurrent writers are not ordered: with T1 invoked before T0 completed, x=2 may
    // come first, and the history is strict serializable (T1, T0, T2).
    let concurrent = [
        "0 invoke [[:w 0 1]]",
        "1 invoke [[:w 0 2] [:w 1 5]]",
        "0 ok [[:w 0 1]]",
        "2 invoke [[:r 1 nil] [:r 0 nil]]",
        "1 ok [[:w 0 2] [:w 1 5]]",
        "2 ok [[:r 1 5] [:r 0 1]]",
    ];
    check_case(&concurrent, STRICT, &[], &[]);
    // Only the final write of a transaction is a version others can see: T0 writes x=1
    // then x=3; T1, invoked after T0 completed, writes x=2; T2 reads x=3 after T1
    // completed: it missed x=2, which followed 3.
    let finals = [
        "0 invoke [[:w 0 1] [:w 0 3]]",
        "0 ok [[:w 0 1] [:w 0 3]]",
        "1 invoke [[:w 0 2]]",
        "1 ok [[:w 0 2]]",
        "2 invoke [[:r 0 nil]]",
        "2 ok [[:r 0 3]]",
    ];
    check_case(&finals, SERIALIZABLE, &[], &[]);
    check_case(&finals, STRICT, &["G-single-realtime"], &[1, 2]);
}
