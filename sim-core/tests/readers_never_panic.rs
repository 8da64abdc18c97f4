//! Structure-aware fuzzing of the history readers (`check::edn`, `check::jsonl`), on the
//! stable toolchain with proptest. Valid histories are generated, written (JSON lines by
//! `to_jsonl`, EDN by the small writer below, with comments, commas, discards, nemesis
//! operations and extra fields mixed in) and must read back to exactly the client events generated (the nemesis lines are read as nemesis events).
//! Then they are broken: truncated at every character, bytes flipped, structural tokens,
//! out-of-range numbers, bad escapes and repeated keys spliced in. Whatever the input, a
//! reader returns a history or an error whose line and column are inside the text, and it
//! never panics or overflows the stack.
//!
//! Case counts are sized for CI (a few seconds in a debug build); `PROPTEST_CASES=10000`
//! runs more.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use sim_core::check::{ParseError, edn, jsonl};
use sim_core::history::{EventType, Function, History, HistoryEvent, Value};
use sim_core::time::SimTime;

/// `PROPTEST_CASES` if set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

fn config(default_cases: u32) -> ProptestConfig {
    ProptestConfig { cases: cases(default_cases), ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------
// Generators

/// Integers, favouring the ends of the range and small numbers.
fn integer() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MIN + 1),
        Just(i64::MAX),
        Just(i64::MAX - 1),
        Just(0),
        Just(-1),
        -20i64..20,
        any::<i64>(),
    ]
}

/// Strings, favouring what a writer must escape and what a reader may stumble on.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,4}",
        ":[a-z][a-z0-9-]{0,3}",
        "[\"\\\\/\n\r\t\u{0}-\u{1f}\u{7f}\u{85}\u{a0}\u{feff}\u{2028}\u{fffd}é😀 a,;#_{}()\\[\\]]{0,8}",
        prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf =
        prop_oneof![Just(Value::Nil), integer().prop_map(Value::Int), text().prop_map(Value::Str),];
    leaf.prop_recursive(4, 24, 4, |inner| prop::collection::vec(inner, 0..4).prop_map(Value::List))
}

/// An unsigned integer up to `max`, favouring its ends.
fn unsigned(max: u64) -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(max), Just(max - 1), 0..8u64, 0..=max]
}

/// One event; processes and times up to `max` (JSON lines read a u64, Jepsen EDN an i64).
fn event(max: u64) -> impl Strategy<Value = HistoryEvent> {
    (
        unsigned(max),
        prop::sample::select(vec![
            EventType::Invoke,
            EventType::Ok,
            EventType::Fail,
            EventType::Info,
        ]),
        prop::sample::select(vec![
            Function::Read,
            Function::Write,
            Function::Cas,
            Function::Append,
        ]),
        prop::option::of(value()),
        value(),
        prop::option::of(unsigned(max).prop_map(SimTime)),
    )
        .prop_map(|(process, kind, f, key, value, time)| HistoryEvent {
            process,
            kind,
            f,
            key,
            value,
            time,
        })
}

fn history(max: u64, events: usize) -> impl Strategy<Value = History> {
    prop::collection::vec(event(max), 0..events).prop_map(History::of)
}

const EDN_MAX: u64 = i64::MAX as u64;

// ---------------------------------------------------------------------------------------
// Writers with noise

/// What to put between tokens, cycled through: the reader must skip all of it.
const EDN_GAPS: &[&str] = &[
    " ",
    ", ",
    "\n",
    "\r\n ",
    " ; a comment, with [brackets {\n",
    " #_ :discarded ",
    " #_ #_ 1 [2 #{3}] ",
    "\t,,",
    " #_ {:process 0, :type :ok} ",
];

struct Gaps<'a> {
    picks: &'a [u8],
    next: usize,
}

impl Gaps<'_> {
    fn gap(&mut self) -> &'static str {
        if self.picks.is_empty() {
            return " ";
        }
        let pick = self.picks[self.next % self.picks.len()];
        self.next += 1;
        EDN_GAPS[usize::from(pick) % EDN_GAPS.len()]
    }
}

fn is_keyword_like(text: &str) -> bool {
    text.strip_prefix(':').is_some_and(|name| {
        name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

fn write_edn_value(out: &mut String, value: &Value, gaps: &mut Gaps) {
    match value {
        Value::Nil => out.push_str("nil"),
        Value::Int(i) => out.push_str(&i.to_string()),
        // The reader turns `:ok` into the string ":ok".
        Value::Str(text) if is_keyword_like(text) => out.push_str(text),
        Value::Str(text) => {
            out.push('"');
            for c in text.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(gaps.gap());
                }
                write_edn_value(out, item, gaps);
            }
            out.push(']');
        }
    }
}

/// Jepsen EDN for `history`: `layout` 0 is a vector, 1 a list, 2 one map a line; fields
/// rotate by `rotate`; nemesis operations and extra fields are mixed in.
fn write_edn(history: &History, layout: u8, rotate: usize, picks: &[u8]) -> String {
    let mut gaps = Gaps { picks, next: 0 };
    let mut out = String::new();
    let (open, close, between) = match layout % 3 {
        0 => ("[", "]", None),
        1 => ("(", ")", None),
        _ => ("", "", Some("\n")),
    };
    out.push_str(open);
    for (index, event) in history.events.iter().enumerate() {
        if index > 0 {
            out.push_str(between.unwrap_or_else(|| gaps.gap()));
        }
        if (index + rotate).is_multiple_of(4) {
            out.push_str("{:process :nemesis, :type :info, :f :partition, :value [:n1 \"n2\"]}");
            out.push_str(between.unwrap_or_else(|| gaps.gap()));
        }
        let mut fields: Vec<String> = Vec::new();
        let mut field = |name: &str, value: &Value, gaps: &mut Gaps| {
            let mut text = format!(":{name}{}", gaps.gap());
            write_edn_value(&mut text, value, gaps);
            fields.push(text);
        };
        field("process", &Value::Int(event.process as i64), &mut gaps);
        field("type", &Value::Str(format!(":{}", event.kind.name())), &mut gaps);
        field("f", &Value::Str(format!(":{}", event.f.name())), &mut gaps);
        if let Some(key) = &event.key {
            field("key", key, &mut gaps);
        }
        if event.value != Value::Nil || rotate.is_multiple_of(2) {
            field("value", &event.value, &mut gaps);
        }
        if let Some(time) = event.time {
            field("time", &Value::Int(time.as_nanos() as i64), &mut gaps);
        }
        if rotate.is_multiple_of(3) {
            fields
                .push(":node \"n1\", :error #inst \"2020-01-01\" :extra {[1] #{2.5 ##NaN}}".into());
        }
        let turn = rotate % fields.len();
        fields.rotate_left(turn);
        out.push('{');
        for (i, text) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str(gaps.gap());
            }
            out.push_str(text);
        }
        out.push('}');
    }
    out.push_str(close);
    out
}

/// `to_jsonl`'s output with optional noise: a byte order mark, CRLF line ends, blank lines,
/// nemesis lines and extra fields.
fn write_jsonl(history: &History, noise: u8) -> String {
    let text = jsonl::to_jsonl(history);
    if noise == 0 {
        return text;
    }
    let mut out = String::new();
    if noise & 1 != 0 {
        out.push('\u{feff}');
    }
    let end = if noise & 2 != 0 { "\r\n" } else { "\n" };
    for (index, line) in text.lines().enumerate() {
        if noise & 4 != 0 && index % 2 == 0 {
            out.push_str(" \t");
            out.push_str(end);
            out.push_str("{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"kill\",\"value\":[1.5,true,{}]}");
            out.push_str(end);
        }
        if noise & 8 != 0 {
            out.push_str("{ \"node\" : \"n1\", \"extra\":{\"a\":[1e999,-0.5,false,null]}, ");
            out.push_str(&line[1..]);
        } else {
            out.push_str(line);
        }
        out.push_str(end);
    }
    out
}

// ---------------------------------------------------------------------------------------
// What every answer must be

/// `Ok`, or an error whose line and column are inside `text` (or just past its end).
fn assert_located<T>(text: &str, result: &Result<T, ParseError>) -> Result<(), TestCaseError> {
    let Err(error) = result else { return Ok(()) };
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = body.split('\n').collect();
    prop_assert!(!error.message.is_empty());
    prop_assert!(error.message.len() < 600, "an unbounded message: {}", error.message.len());
    prop_assert!(
        (1..=lines.len()).contains(&error.line),
        "line {} of {}: {error}",
        error.line,
        lines.len()
    );
    let columns = lines[error.line - 1].chars().count() + 1;
    prop_assert!(
        (1..=columns).contains(&error.column),
        "column {} of {columns}: {error}",
        error.column
    );
    Ok(())
}

fn check_both(text: &str) -> Result<(), TestCaseError> {
    assert_located(text, &edn::parse_history(text))?;
    assert_located(text, &edn::read_all(text))?;
    assert_located(text, &jsonl::parse_jsonl(text))?;
    Ok(())
}

/// Tokens that a reader must reject or take correctly wherever they land.
const SPLICES: &[&str] = &[
    "#_",
    "#_ #_",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    "#{",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "\\udfff\\ud800",
    "\\u00",
    "\\x",
    "##",
    "##NaN",
    "##Huge",
    "#inst ",
    "#",
    ":",
    "::",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999999999999",
    "12N",
    "1.5M",
    "-0",
    "1e999",
    "0.",
    "01",
    "-",
    "+",
    "\u{feff}",
    "\r",
    "\n",
    "\u{0}",
    "é",
    "😀",
    "\u{301}",
    ",",
    ";",
    "null",
    "nul",
    "true",
    "\\newline",
    "\\u12",
    "\"process\":0,",
    ":process 0 ",
    "\"a\":1,\"a\":2,",
    ":a 1 :a 2 ",
    "[[[[[[[[[[",
    "]]]]]]]]]]",
    "\"\\u0061\"",
];

/// Applies one mutation at `at`: delete, insert a splice, replace with a splice, duplicate
/// a range, flip a byte, or truncate.
fn mutate(text: &str, kind: u8, at: usize, len: usize, splice: usize, flip: u8) -> String {
    let bytes = text.as_bytes();
    let at = at % (bytes.len() + 1);
    let end = (at + len).min(bytes.len());
    let splice = SPLICES[splice % SPLICES.len()].as_bytes();
    let mut out = bytes[..at].to_vec();
    match kind % 6 {
        0 => out.extend_from_slice(&bytes[end..]),
        1 => {
            out.extend_from_slice(splice);
            out.extend_from_slice(&bytes[at..]);
        }
        2 => {
            out.extend_from_slice(splice);
            out.extend_from_slice(&bytes[end..]);
        }
        3 => {
            out.extend_from_slice(&bytes[at..end]);
            out.extend_from_slice(&bytes[at..]);
        }
        4 => {
            out.extend_from_slice(&bytes[at..]);
            if let Some(byte) = out.get_mut(at) {
                *byte ^= flip.max(1);
            }
        }
        _ => {}
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mutations() -> impl Strategy<Value = Vec<(u8, usize, usize, usize, u8)>> {
    prop::collection::vec(
        (any::<u8>(), any::<usize>(), 0usize..24, any::<usize>(), any::<u8>()),
        1..5,
    )
}

fn char_boundaries(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len()))
}

// ---------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn jsonl_reads_back_what_it_wrote(history in history(u64::MAX, 8), noise in 0u8..16) {
        let text = write_jsonl(&history, noise);
        match jsonl::parse_jsonl(&text) {
            Ok(read) => prop_assert_eq!(read.events, history.events, "{}", text),
            Err(error) => prop_assert!(false, "{error} in\n{text}"),
        }
    }

    #[test]
    fn edn_reads_back_what_was_written(
        history in history(EDN_MAX, 8),
        layout in 0u8..3,
        rotate in 0usize..12,
        picks in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let text = write_edn(&history, layout, rotate, &picks);
        match edn::parse_history(&text) {
            Ok(read) => prop_assert_eq!(read.events, history.events, "{}", text),
            Err(error) => prop_assert!(false, "{error} in\n{text}"),
        }
    }

    #[test]
    fn discard_chains_of_any_length_discard_exactly_their_values(
        history in history(EDN_MAX, 3),
        chain in 0usize..3000,
    ) {
        let events = write_edn(&history, 2, 1, &[]);
        let text = format!("[{}{} {}]", "#_ ".repeat(chain), "[1] ".repeat(chain), events);
        prop_assert_eq!(edn::parse_history(&text).unwrap().events, history.events);
        // One value short: the first `#_` left waiting is named.
        if chain > 0 {
            let text = format!("[{}{}]", "#_ ".repeat(chain), "[1] ".repeat(chain - 1));
            let error = edn::parse_history(&text).unwrap_err();
            prop_assert_eq!(error.to_string(), "1:2: `#_` must be followed by a value to discard");
        }
    }

    #[test]
    fn mutated_edn_is_read_or_refused_with_a_place(
        history in history(EDN_MAX, 4),
        layout in 0u8..3,
        rotate in 0usize..12,
        picks in prop::collection::vec(any::<u8>(), 0..8),
        mutations in mutations(),
    ) {
        let mut text = write_edn(&history, layout, rotate, &picks);
        for (kind, at, len, splice, flip) in mutations {
            text = mutate(&text, kind, at, len, splice, flip);
        }
        check_both(&text)?;
    }

    #[test]
    fn mutated_jsonl_is_read_or_refused_with_a_place(
        history in history(u64::MAX, 4),
        noise in 0u8..16,
        mutations in mutations(),
    ) {
        let mut text = write_jsonl(&history, noise);
        for (kind, at, len, splice, flip) in mutations {
            text = mutate(&text, kind, at, len, splice, flip);
        }
        check_both(&text)?;
    }

    #[test]
    fn arbitrary_text_is_read_or_refused_with_a_place(text in prop::collection::vec(any::<char>(), 0..64)) {
        check_both(&String::from_iter(text))?;
    }
}

proptest! {
    // Each case parses every prefix of a history: fewer cases, each a few hundred parses.
    #![proptest_config(config(24))]

    #[test]
    fn every_truncation_is_read_or_refused_with_a_place(
        history in history(u64::MAX, 3),
        layout in 0u8..3,
        picks in prop::collection::vec(any::<u8>(), 0..8),
        noise in 0u8..16,
    ) {
        let mut edn_history = history.clone();
        for event in &mut edn_history.events {
            event.process &= EDN_MAX;
            event.time = event.time.map(|t| SimTime(t.as_nanos() & EDN_MAX));
        }
        let edn_text = write_edn(&edn_history, layout, 0, &picks);
        for end in char_boundaries(&edn_text) {
            let prefix = &edn_text[..end];
            assert_located(prefix, &edn::parse_history(prefix))?;
        }
        prop_assert_eq!(edn::parse_history(&edn_text).unwrap().events, edn_history.events);
        let jsonl_text = write_jsonl(&history, noise);
        for end in char_boundaries(&jsonl_text) {
            let prefix = &jsonl_text[..end];
            assert_located(prefix, &jsonl::parse_jsonl(prefix))?;
        }
        prop_assert_eq!(jsonl::parse_jsonl(&jsonl_text).unwrap().events, history.events);
    }
}

// ---------------------------------------------------------------------------------------
// Repeated keys: the fast search agrees with comparing every key with every earlier one.

/// EDN keys with an identity: keys with the same identity are the same value, however they
/// are spelled.
const EDN_KEYS: &[(&str, u8)] = &[
    (":a", 0),
    (":b", 1),
    ("1", 2),
    ("1N", 2),
    ("+1", 2),
    ("\"a\"", 3),
    ("\"\\u0061\"", 3),
    ("[1 2]", 4),
    ("[1,2]", 4),
    ("[ 1 ;c\n 2 ]", 4),
    ("#{1}", 5),
    ("(1 2)", 6),
    ("\\a", 7),
    ("nil", 8),
    ("0.0", 9),
    ("-0.0", 9),
    ("{:x 1}", 10),
    ("{:x,1}", 10),
    ("#t 1", 11),
    ("#t #_ 2 1", 11),
    ("a", 12),
    (":a/b", 13),
    ("##Inf", 14),
    ("[[]]", 15),
    ("[]", 16),
    ("()", 17),
];

/// JSON field names with an identity, escaped or not.
const JSON_NAMES: &[(&str, u8)] = &[
    ("\"a\"", 0),
    ("\"\\u0061\"", 0),
    ("\"b\"", 1),
    ("\"\"", 2),
    ("\"é\"", 3),
    ("\"\\u00e9\"", 3),
    ("\"😀\"", 4),
    ("\"\\ud83d\\ude00\"", 4),
    ("\"a\\\"\"", 5),
    ("\"a\\u0022\"", 5),
    ("\"a\\/\"", 6),
    ("\"a/\"", 6),
];

/// Writes `{k v k v ...}` from `picks` into the pool; returns the text and, if some key
/// repeats an earlier one, the line and column of the first such key.
fn map_with_keys(
    pool: &[(&str, u8)],
    picks: &[usize],
    open: &str,
    between: &str,
    separator: &str,
    close: &str,
) -> (String, Option<(usize, usize)>) {
    let mut text = open.to_string();
    let mut seen: Vec<u8> = Vec::new();
    let mut first_repeat = None;
    for (i, pick) in picks.iter().enumerate() {
        if i > 0 {
            text.push_str(separator);
        }
        let (key, identity) = pool[pick % pool.len()];
        let column = text.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        if first_repeat.is_none() && seen.contains(&identity) {
            first_repeat = Some((text.matches('\n').count() + 1, column));
        }
        seen.push(identity);
        text.push_str(key);
        text.push_str(between);
        text.push('0');
    }
    text.push_str(close);
    (text, first_repeat)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn repeated_edn_keys_are_found_at_their_first_repeat(picks in prop::collection::vec(any::<usize>(), 0..40)) {
        let (text, repeat) = map_with_keys(EDN_KEYS, &picks, "{", " ", ", ", "}");
        let result = edn::read_all(&text);
        match repeat {
            None => prop_assert!(result.is_ok(), "{:?} in {text}", result.err()),
            Some((line, column)) => prop_assert_eq!(
                result.unwrap_err().to_string(),
                format!("{line}:{column}: this key appears twice in the map"),
                "{}", text
            ),
        }
    }

    #[test]
    fn repeated_json_fields_are_found_at_their_first_repeat(picks in prop::collection::vec(any::<usize>(), 0..40)) {
        let (text, repeat) = map_with_keys(JSON_NAMES, &picks, "{", ":", ",", "}");
        let error = jsonl::parse_jsonl(&text).map(|_| ()).unwrap_err().to_string();
        match repeat {
            None => prop_assert!(!error.contains("appears twice"), "{error} in {text}"),
            Some((line, column)) => {
                prop_assert!(
                    error.starts_with(&format!("{line}:{column}: the field ")),
                    "{error} in {text}"
                );
                prop_assert!(error.ends_with(" appears twice"), "{error}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Deterministic edge cases: sizes and depths at their limits

/// Runs `f` on a thread with a small stack: the readers' recursion is bounded by their
/// depth limits, and this keeps the bound small (it needs about 150 KiB in a debug build).
fn on_a_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(f)
        .expect("a thread")
        .join()
        .expect("no panic and no stack overflow");
}

#[test]
fn edn_nesting_is_refused_past_the_limit_and_read_up_to_it() {
    on_a_small_stack(|| {
        // The vector and the map take two levels; the value's lists take the rest.
        let depth = edn::MAX_DEPTH - 2;
        let nested = |depth: usize| format!("{}7{}", "[".repeat(depth), "]".repeat(depth));
        let text = format!("[{{:process 0 :type :ok :f :read :value {}}}]", nested(depth));
        let history = edn::parse_history(&text).unwrap();
        let mut expected = Value::Int(7);
        for _ in 0..depth {
            expected = Value::List(vec![expected]);
        }
        assert_eq!(history.events[0].value, expected);
        let text = format!("[{{:process 0 :type :ok :f :read :value {}}}]", nested(depth + 1));
        let column = "[{:process 0 :type :ok :f :read :value ".len() + depth + 1;
        assert_eq!(
            edn::parse_history(&text).unwrap_err().to_string(),
            format!("1:{column}: values nest deeper than 200 levels")
        );
        // Every kind of nesting counts, in discards too, and the worst mix fits the stack.
        let openers = ["[", "(", "{:a ", "#{", "#t ", "#_ 1 ["];
        for limit in [edn::MAX_DEPTH, edn::MAX_DEPTH + 1] {
            let mut text = String::new();
            for level in 0..limit {
                text.push_str(openers[level % openers.len()]);
            }
            let result = edn::read_all(&text);
            let message = result.unwrap_err().to_string();
            if limit > edn::MAX_DEPTH {
                assert!(message.contains("values nest deeper than 200 levels"), "{message}");
            } else {
                assert!(message.contains("found the end of the input"), "{message}");
            }
        }
        // Closing what was opened is the same as never opening it.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(
            edn::read_all(&deep).unwrap_err().to_string().starts_with("1:201: values nest deeper")
        );
    });
}

#[test]
fn jsonl_nesting_is_refused_past_the_limit_and_read_up_to_it() {
    on_a_small_stack(|| {
        let depth = jsonl::MAX_DEPTH - 1; // the object is the first level
        let nested = |depth: usize| format!("{}7{}", "[".repeat(depth), "]".repeat(depth));
        let line = |depth: usize| {
            format!("{{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":{}}}", nested(depth))
        };
        let history = jsonl::parse_jsonl(&line(depth)).unwrap();
        assert!(matches!(history.events[0].value, Value::List(_)));
        let column = "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":".len() + depth + 1;
        assert_eq!(
            jsonl::parse_jsonl(&line(depth + 1)).unwrap_err().to_string(),
            format!("1:{column}: values nest deeper than 200 levels")
        );
        let objects = "{\"a\":".repeat(100_000);
        assert!(jsonl::parse_jsonl(&objects).unwrap_err().to_string().contains("nest deeper"));
    });
}

#[test]
fn large_histories_and_values_read_back() {
    let events: Vec<HistoryEvent> = (0..20_000u64)
        .map(|i| HistoryEvent {
            process: i % 50,
            kind: if i % 2 == 0 { EventType::Invoke } else { EventType::Ok },
            f: Function::Write,
            key: Some(Value::Int((i % 7) as i64)),
            value: Value::Int(i as i64),
            time: Some(SimTime(i * 1000)),
        })
        .collect();
    let mut history = History::of(events);
    history.events[0].value = Value::Str("é😀\"\\".repeat(100_000));
    history.events[1].value = Value::List((0..100_000).map(Value::Int).collect());
    assert_eq!(jsonl::parse_jsonl(&jsonl::to_jsonl(&history)).unwrap(), history);
    assert_eq!(
        edn::parse_history(&write_edn(&history, 0, 1, &[0, 1, 2])).unwrap().events,
        history.events
    );
}
