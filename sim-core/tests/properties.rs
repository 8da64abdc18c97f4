//! Properties of the checker and the readers over generated and mutated inputs.

use proptest::prelude::*;
use sim_core::check::generate::{self, Options, Workload};
use sim_core::check::{self, Format, ModelKind, Verdict, edn, jsonl};
use sim_core::history::{History, Value};

const BUDGET: u64 = 20_000_000;

fn options() -> impl Strategy<Value = (Options, ModelKind)> {
    (any::<u64>(), 1usize..200, 1u64..4, 1u64..8, any::<bool>(), 0u64..4, 0u64..4).prop_map(
        |(seed, operations, keys, processes, kv, info_percent, fail_percent)| {
            let (workload, model) = if kv {
                (Workload::KeyValue, ModelKind::KeyValue)
            } else {
                (Workload::CasRegister, ModelKind::CasRegister)
            };
            let options = Options {
                workload,
                info_percent,
                fail_percent,
                ..Options::new(seed, operations, keys, processes)
            };
            (options, model)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A real sequential execution stretched into overlapping intervals is linearizable.
    #[test]
    fn stretched_executions_are_linearizable((options, model) in options()) {
        let history = generate::generate(&options);
        let verdict = model.check(&history, BUDGET).unwrap();
        prop_assert_eq!(verdict, Verdict::Linearizable);
    }

    /// The same with one read changed to a value never written is never linearizable.
    #[test]
    fn an_impossible_read_is_never_linearizable((options, model) in options(), seed in any::<u64>()) {
        let history = generate::generate(&options);
        let Some(corrupted) = generate::with_impossible_read(&history, seed) else {
            return Ok(());
        };
        let verdict = model.check(&corrupted, BUDGET).unwrap();
        let Verdict::NotLinearizable(violation) = &verdict else {
            return Err(TestCaseError::fail(format!("{verdict}")));
        };
        // The impossible read can never be placed: it is never in the prefix.
        let never_written = Value::Str("never written".into());
        for &id in &violation.prefix {
            prop_assert_ne!(violation.operation(id).unwrap().output.as_ref(), Some(&never_written));
        }
        prop_assert!(!violation.frontier.is_empty());
    }

    /// JSON lines round-trip any generated history.
    #[test]
    fn jsonl_round_trips((options, _) in options()) {
        let history = generate::generate(&options);
        let text = jsonl::to_jsonl(&history);
        prop_assert_eq!(check::detect_format(&text), if history.is_empty() { None } else { Some(Format::Jsonl) });
        prop_assert_eq!(jsonl::parse_jsonl(&text).unwrap(), history);
    }

    /// Arbitrary bytes never make a reader (or the checker behind it) panic.
    #[test]
    fn readers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        exercise(&text);
    }

    /// Nor do valid files with bytes deleted, duplicated or replaced by syntax characters.
    #[test]
    fn readers_never_panic_on_mutated_files(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, 0usize..12, any::<prop::sample::Index>()), 1..6),
    ) {
        const SYNTAX: &[&str] = &["[", "]", "(", ")", "{", "}", "\"", "\\", ":", ";", "#", "#_", "#{", "\n", ",", "-", "9", "nil", "\\u12", "é", "1e", "99999999999999999999"];
        let mut text = seeds()[which].clone();
        for (at, kind, length, insert) in edits {
            let mut at = at.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + length).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            match kind {
                0 => text.replace_range(at..end, ""),
                1 => {
                    let copy = text[at..end].to_string();
                    text.insert_str(at, &copy);
                }
                _ => text.insert_str(at, SYNTAX[insert.index(SYNTAX.len())]),
            }
        }
        exercise(&text);
    }
}

fn seeds() -> Vec<String> {
    let history = generate::generate(&Options {
        workload: Workload::CasRegister,
        info_percent: 10,
        fail_percent: 10,
        ..Options::new(1, 12, 2, 3)
    });
    vec![
        "; a comment\n[{:process 0, :type :invoke, :f :cas, :value [1 2], :time 10}\n \
         {:process :nemesis, :type :info, :f :start, :value {:a #{1 2}}}\n \
         {:process 0, :type :ok, :f :cas, :value [1 2], :error \"x\\\"y\"}\n \
         {:process 1, :type :invoke, :f :read, :value nil}\n \
         {:process 1, :type :info, :f :read, :value nil}]"
            .to_string(),
        "{:process 0, :type :invoke, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
         {:process 0, :type :ok, :f :append, :key \"4\", :value \"x 0 1 y\"}\n\
         {:process 1, :type :invoke, :f :get, :key \"4\", :value nil}\n\
         {:process 1, :type :ok, :f :get, :key \"4\", :value \"x 0 1 y\"}\n"
            .to_string(),
        jsonl::to_jsonl(&history),
    ]
}

/// Parses as every format and checks whatever parses with every model.
fn exercise(text: &str) {
    let _ = check::detect_format(text);
    let _ = edn::read_all(text);
    let parsed: Vec<History> = [edn::parse_history(text).ok(), jsonl::parse_jsonl(text).ok()]
        .into_iter()
        .flatten()
        .collect();
    for history in parsed {
        for model in ModelKind::ALL {
            if let Ok(Verdict::NotLinearizable(violation)) = model.check(&history, 10_000) {
                let _ = violation.to_string();
                let _ = check::html::render(&history, &violation);
            }
        }
    }
}
