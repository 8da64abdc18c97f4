//! A value's `Debug` text as structured JSON, so that a trace carries a protocol's
//! messages, timers and operations field by field with nothing asked of the protocol but
//! its `#[derive(Debug)]`. A hand-written `Debug` that is not in derive's shape is kept
//! whole, as a string.
//!
//! The rules (docs/trace-format.md): `Name { a: 1 }` is `{"type": "Name", "a": 1}`;
//! `Some(x)` is `x` and `None` is `null`; `Name(x)` is `{"Name": x}` and `Name(x, y)` is
//! `{"Name": [x, y]}` (serde's externally tagged form); `(x, y)` and `[x, y]` are arrays;
//! a map `{k: v}` is an object (keys as strings); a set `{x, y}` is an array; numbers,
//! `true` and `false` are themselves; any other word (`Election`, `n3`, `1.5ms`), or
//! `<...>` (`<150 bytes>`), is a string.

use serde_json::{Map, Number, Value};

/// `debug` as JSON, or the whole text as a string if it is not in derived `Debug`'s shape.
pub fn to_json(debug: &str) -> Value {
    let mut parser = Parser { text: debug.as_bytes(), at: 0, depth: 0 };
    match parser.value() {
        Some(value) if parser.skip_space().is_none() => value,
        _ => Value::String(debug.to_owned()),
    }
}

/// Nesting deeper than this is kept as text (no message is this deep; a bound on the
/// recursion).
const MAX_DEPTH: u32 = 64;

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    depth: u32,
}

impl Parser<'_> {
    /// The next byte that is not white space, without taking it.
    fn skip_space(&mut self) -> Option<u8> {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.skip_space() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn value(&mut self) -> Option<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let value = match self.skip_space()? {
            b'"' | b'\'' => self.quoted().map(Value::String),
            // What a hand-written `Debug` often shows in place of bulk: `<150 bytes>`.
            b'<' => {
                let close = self.text[self.at..].iter().position(|&b| b == b'>')?;
                let word = std::str::from_utf8(&self.text[self.at..=self.at + close]).ok()?;
                self.at += close + 1;
                Some(Value::String(word.to_owned()))
            }
            b'[' => {
                self.at += 1;
                self.sequence(b']').map(Value::Array)
            }
            b'(' => {
                self.at += 1;
                self.sequence(b')').map(Value::Array)
            }
            b'{' => {
                self.at += 1;
                self.map_or_set()
            }
            _ => self.word_led(),
        };
        self.depth -= 1;
        value
    }

    /// Values separated by commas up to `close` (a trailing comma allowed).
    fn sequence(&mut self, close: u8) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.value()?);
            if !self.eat(b',') {
                return self.eat(close).then_some(items);
            }
        }
    }

    /// After `{` with no name before it: a map `{k: v, ...}` or a set `{x, ...}`.
    fn map_or_set(&mut self) -> Option<Value> {
        let mut map = Map::new();
        let mut set = Vec::new();
        loop {
            if self.eat(b'}') {
                return Some(if set.is_empty() { Value::Object(map) } else { Value::Array(set) });
            }
            let item = self.value()?;
            if self.eat(b':') {
                if !set.is_empty() {
                    return None;
                }
                let key = match item {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                map.insert(key, self.value()?);
            } else {
                if !map.is_empty() {
                    return None;
                }
                set.push(item);
            }
            if !self.eat(b',') {
                return self
                    .eat(b'}')
                    .then(|| if set.is_empty() { Value::Object(map) } else { Value::Array(set) });
            }
        }
    }

    /// A bare word, and what follows it: a struct, a tuple variant, or nothing.
    fn word_led(&mut self) -> Option<Value> {
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|&b| !b.is_ascii_whitespace() && !b"{}()[],:\"'".contains(&b))
        {
            self.at += 1;
        }
        if self.at == start {
            return None;
        }
        let word = std::str::from_utf8(&self.text[start..self.at]).ok()?.to_owned();
        // A struct or tuple follows its name directly ("Name {" has one space).
        let next = self.text.get(self.at).copied();
        if next == Some(b'(') {
            self.at += 1;
            let mut items = self.sequence(b')')?;
            return Some(match (word.as_str(), items.len()) {
                ("Some", 1) => items.pop().expect("one item"),
                (_, 1) => single(word, items.pop().expect("one item")),
                _ => single(word, Value::Array(items)),
            });
        }
        if next == Some(b' ') && self.text.get(self.at + 1) == Some(&b'{') {
            self.at += 2;
            return self.fields(word);
        }
        Some(scalar(word))
    }

    /// `a: x, b: y }` after `Name {`.
    fn fields(&mut self, name: String) -> Option<Value> {
        let mut fields = Map::new();
        loop {
            if self.eat(b'}') {
                break;
            }
            self.skip_space();
            let Value::String(field) = self.word_led()? else { return None };
            if !self.eat(b':') {
                return None;
            }
            fields.insert(field, self.value()?);
            if !self.eat(b',') {
                if !self.eat(b'}') {
                    return None;
                }
                break;
            }
        }
        if fields.contains_key("type") {
            return Some(single(name, Value::Object(fields)));
        }
        let mut typed = Map::new();
        typed.insert("type".into(), Value::String(name));
        typed.extend(fields);
        Some(Value::Object(typed))
    }

    /// A string or char literal, unescaped.
    fn quoted(&mut self) -> Option<String> {
        let quote = self.text[self.at];
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let byte = *self.text.get(self.at)?;
            self.at += 1;
            match byte {
                b if b == quote => return String::from_utf8(out).ok(),
                b'\\' => {
                    let escaped = *self.text.get(self.at)?;
                    self.at += 1;
                    match escaped {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'0' => out.push(0),
                        b'u' => {
                            let close = self.text[self.at..].iter().position(|&b| b == b'}')?;
                            let hex = std::str::from_utf8(&self.text[self.at + 1..self.at + close])
                                .ok()?;
                            let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            out.extend_from_slice(c.to_string().as_bytes());
                            self.at += close + 1;
                        }
                        other => out.push(other),
                    }
                }
                b => out.push(b),
            }
        }
    }
}

fn single(name: String, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(name, value);
    Value::Object(map)
}

fn scalar(word: String) -> Value {
    match word.as_str() {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "None" => return Value::Null,
        _ => {}
    }
    if let Ok(i) = word.parse::<i64>() {
        return Value::Number(i.into());
    }
    if let Ok(u) = word.parse::<u64>() {
        return Value::Number(u.into());
    }
    let numeric = word.bytes().all(|b| b.is_ascii_digit() || b"+-.e".contains(&b));
    match word.parse::<f64>().ok().filter(|_| numeric).and_then(Number::from_f64) {
        Some(n) => Value::Number(n),
        None => Value::String(word),
    }
}

#[cfg(test)]
mod tests {
    use super::to_json;

    fn check(debug: &str, expected: &str) {
        assert_eq!(to_json(debug).to_string(), expected, "{debug}");
    }

    #[test]
    fn derived_debug_becomes_json() {
        check(
            "AppendEntries { term: 3, entries: [Entry { term: 2, op: Write(5) }], hint: None }",
            r#"{"type":"AppendEntries","term":3,"entries":[{"type":"Entry","term":2,"op":{"Write":5}}],"hint":null}"#,
        );
        check("Election", r#""Election""#);
        check("Some(NodeId(3))", r#"{"NodeId":3}"#);
        check("Cas(1, 2)", r#"{"Cas":[1,2]}"#);
        check("(1, \"a\\\"b\")", r#"[1,"a\"b"]"#);
        check("{1: [true], 2: []}", r#"{"1":[true],"2":[]}"#);
        check("{3, 4}", "[3,4]");
        check("Retry { seq: 1, attempt: -2 }", r#"{"type":"Retry","seq":1,"attempt":-2}"#);
        check("Tick { type: 1 }", r#"{"Tick":{"type":1}}"#);
        check("Put { key: 'k', value: 0.5 }", r#"{"type":"Put","key":"k","value":0.5}"#);
        check("Heartbeat { at: 1.5ms }", r#"{"type":"Heartbeat","at":"1.5ms"}"#);
        check("Snapshot { data: <150 bytes> }", r#"{"type":"Snapshot","data":"<150 bytes>"}"#);
    }

    #[test]
    fn text_not_in_derives_shape_stays_a_string() {
        check("n3 -> n4 (lost", r#""n3 -> n4 (lost""#);
        check("Msg { a: 1", r#""Msg { a: 1""#);
        check("{1: 2, 3}", r#""{1: 2, 3}""#);
    }
}
