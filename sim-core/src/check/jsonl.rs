//! dsim's own history format: JSON lines, one event per line, described field by field in
//! `docs/history-format.md`:
//!
//! ```text
//! {"process":0,"type":"invoke","f":"write","key":3,"value":5,"time":123}
//! {"process":0,"type":"ok","f":"write","key":3,"value":5,"time":456}
//! ```
//!
//! A small hand-written JSON reader and writer, so sim-core needs no serde: the format uses
//! a handful of JSON features and the reader must report line and column. It never panics,
//! and its time and memory are linear in the input: nesting deeper than [`MAX_DEPTH`] is an
//! error rather than a stack overflow, and repeated field names are found with a set.

use super::lines::Lines;
use super::{ParseError, abbreviate};
use crate::history::{
    EventType, Function, History, HistoryEvent, NemesisEvent, Origin, Recorded, Value,
};
use crate::time::SimTime;
use crate::txn::{Mop, TxnEvent};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::BufRead;

/// How deep arrays and objects may nest in a line. The parser recurses once per level, so
/// this bounds its stack.
pub const MAX_DEPTH: usize = 200;

/// Writes a history of any workload as JSON lines (one event a line, each line ending in
/// `\n`, as [`Recorded::write_json`] writes it, followed by its [`Origin`]'s fields), with
/// the nemesis's events among them at their places. For a key-value history `key` and
/// `time` are left out when absent, and `parse_jsonl` reads the text back to an equal
/// history.
pub fn to_jsonl<E: Recorded>(history: &History<E>) -> String {
    let mut out = String::with_capacity(history.len() * 64);
    let mut nemesis = history.nemesis.iter().peekable();
    for (index, event) in history.events.iter().enumerate() {
        while let Some(fault) = nemesis.next_if(|n| n.position <= index) {
            write_nemesis(&mut out, fault);
        }
        event.write_json(&mut out);
        write_origin(&mut out, &history.origin(index));
        out.push('\n');
    }
    for fault in nemesis {
        write_nemesis(&mut out, fault);
    }
    out
}

/// Adds an origin's fields to the object just written (which ends in `}`).
fn write_origin(out: &mut String, origin: &Origin) {
    if origin.is_empty() || !out.ends_with('}') {
        return;
    }
    out.pop();
    for (name, value) in [
        ("client", origin.client.map(u64::from)),
        ("request", origin.request),
        ("node", origin.node.map(u64::from)),
    ] {
        if let Some(value) = value {
            let _ = write!(out, ",\"{name}\":{value}");
        }
    }
    out.push('}');
}

/// One nemesis event as a JSON object, on its own line.
fn write_nemesis(out: &mut String, event: &NemesisEvent) {
    out.push_str("{\"process\":");
    write_string(out, &event.process);
    let _ = write!(out, ",\"type\":\"{}\",\"f\":", event.kind.name());
    write_string(out, &event.f);
    out.push_str(",\"value\":");
    write_value(out, &event.value);
    if let Some(time) = event.time {
        let _ = write!(out, ",\"time\":{}", time.as_nanos());
    }
    out.push_str("}\n");
}

/// One key-value history event as a JSON object.
pub(crate) fn write_event(out: &mut String, event: &HistoryEvent) {
    let _ = write!(
        out,
        "{{\"process\":{},\"type\":\"{}\",\"f\":\"{}\"",
        event.process,
        event.kind.name(),
        event.f.name()
    );
    if let Some(key) = &event.key {
        out.push_str(",\"key\":");
        write_value(out, key);
    }
    out.push_str(",\"value\":");
    write_value(out, &event.value);
    if let Some(time) = event.time {
        let _ = write!(out, ",\"time\":{}", time.as_nanos());
    }
    out.push('}');
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Nil => out.push_str("null"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Str(text) => write_string(out, text),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
    }
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses JSON lines. Blank lines are skipped; each other line must be one JSON object with
/// `process`, `type`, `f` and optionally `key`, `value` (default null), `time`, and the
/// origin's `client`, `request` and `node`. Unknown fields are ignored. An event whose
/// `process` is a string (`"nemesis"`) is not a client operation: it is kept among the
/// history's nemesis events.
pub fn parse_jsonl(text: &str) -> Result<History, ParseError> {
    parse_jsonl_with_lines(text).map(|(history, _)| history)
}

/// [`parse_jsonl`], also returning each client event's 1-based line number. A byte order
/// mark at the start of the text is skipped (columns on the first line are counted after
/// it).
pub fn parse_jsonl_with_lines(text: &str) -> Result<(History, Vec<usize>), ParseError> {
    read_jsonl(text.as_bytes())
}

/// [`parse_jsonl_with_lines`] from any reader, a line at a time: memory holds one line of
/// the text and the history, never the whole text.
pub fn read_jsonl(source: impl BufRead) -> Result<(History, Vec<usize>), ParseError> {
    read_objects(source, event_from_object)
}

/// Parses a transactional history written as JSON lines (`dsim run --history` of a
/// transactional workload): `{"process":0,"type":"ok","f":"txn","value":[["append",1,2],
/// ["r",1,[1,2]]]}`. A read's value counts only on `ok`; `null` is an empty list, or the
/// initial nil in a history that writes registers (`"w"`). Also each event's line. Read a
/// line at a time from any reader (`text.as_bytes()` for a text).
pub fn parse_txn_jsonl(
    source: impl BufRead,
) -> Result<(History<TxnEvent>, Vec<usize>), ParseError> {
    let (mut history, lines) = read_objects(source, txn_event_from_object)?;
    crate::txn::settle_reads(&mut history.events)
        .map_err(|(event, message)| ParseError::new(lines[event], 1, message))?;
    Ok((history, lines))
}

/// A client event's object, as `read_objects` hands it over: its fields, process and
/// type, the object itself (for its column) and its line.
struct ClientObject<'n> {
    fields: &'n [(String, JsonNode)],
    process: u64,
    kind: EventType,
    node: &'n JsonNode,
    line: usize,
}

/// Each non-blank line as one JSON object: a client event converted by `convert`, with its
/// origin and line number, or a nemesis event.
fn read_objects<T>(
    source: impl BufRead,
    convert: impl Fn(&ClientObject<'_>) -> Result<T, ParseError>,
) -> Result<(History<T>, Vec<usize>), ParseError> {
    let mut history = History::default();
    let mut lines = Vec::new();
    let mut text = Lines::new(source);
    let mut index = 0;
    while text.advance()? {
        index += 1;
        let line = text.line();
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let mut parser = LineParser { text: line, offset: 0, column: 1, line: index, depth: 0 };
        parser.skip_space();
        let object = parser.parse_value()?;
        parser.skip_space();
        if parser.offset < line.len() {
            return Err(parser.error("expected the end of the line after the event's object"));
        }
        match event_head(&object, index)? {
            Head::Nemesis(mut event) => {
                event.position = history.len();
                history.push_nemesis(event);
            }
            Head::Client { fields, process, kind } => {
                let client = ClientObject { fields, process, kind, node: &object, line: index };
                let event = convert(&client)?;
                history.push_from(event, origin(fields));
                lines.push(index);
            }
        }
    }
    history.shrink_to_fit();
    lines.shrink_to_fit();
    Ok((history, lines))
}

/// The origin fields of a client event: `client`, `request` and `node` where they are
/// non-negative integers (in range); another value is the producer's own (a host name for
/// `node`, say) and is left out, as it was before dsim read these fields.
fn origin(fields: &[(String, JsonNode)]) -> Origin {
    let number = |name: &str| match field(fields, name)?.value {
        Json::Int(n) => u64::try_from(n).ok(),
        _ => None,
    };
    let id = |name: &str| number(name).and_then(|n| u32::try_from(n).ok());
    Origin { client: id("client"), request: number("request"), node: id("node") }
}

#[derive(Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    /// From -2^63 to 2^64-1: a value is an `i64`, a process or a time a `u64`.
    Int(i128),
    /// Its text.
    Float(String),
    Str(String),
    Array(Vec<JsonNode>),
    Object(Vec<(String, JsonNode)>),
}

#[derive(Debug, PartialEq)]
struct JsonNode {
    column: usize,
    value: Json,
}

struct LineParser<'a> {
    text: &'a str,
    offset: usize,
    column: usize,
    line: usize,
    depth: usize,
}

impl LineParser<'_> {
    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.line, self.column, message)
    }

    fn error_at(&self, column: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.line, column, message)
    }

    fn peek(&self) -> Option<char> {
        self.text[self.offset..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        self.column += 1;
        Some(c)
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.bump();
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the line".to_string(),
            Some(c) => format!("{c:?}"),
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), ParseError> {
        if self.peek() == Some(wanted) {
            self.bump();
            Ok(())
        } else {
            Err(self.error(format!("expected `{wanted}`, found {}", self.found())))
        }
    }

    fn parse_value(&mut self) -> Result<JsonNode, ParseError> {
        let column = self.column;
        let value = match self.peek() {
            Some('{') => self.parse_object()?,
            Some('[') => self.parse_array()?,
            Some('"') => Json::Str(self.parse_string()?),
            Some('-' | '0'..='9') => self.parse_number()?,
            Some('n' | 't' | 'f') => self.parse_word()?,
            _ => {
                return Err(self.error(format!(
                    "expected a JSON value (object, array, string, number, true, false or null), found {}",
                    self.found()
                )));
            }
        };
        Ok(JsonNode { column, value })
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("values nest deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn parse_object(&mut self) -> Result<Json, ParseError> {
        self.enter()?;
        self.bump();
        let mut fields: Vec<(String, JsonNode)> = Vec::new();
        let mut names: BTreeSet<String> = BTreeSet::new();
        self.skip_space();
        if self.peek() == Some('}') {
            self.bump();
            self.depth -= 1;
            return Ok(Json::Object(fields));
        }
        loop {
            self.skip_space();
            let name_column = self.column;
            if self.peek() != Some('"') {
                return Err(
                    self.error(format!("expected a field name in quotes, found {}", self.found()))
                );
            }
            let name = self.parse_string()?;
            if !names.insert(name.clone()) {
                return Err(self.error_at(
                    name_column,
                    format!("the field {:?} appears twice", abbreviate(&name)),
                ));
            }
            self.skip_space();
            self.expect(':')?;
            self.skip_space();
            let value = self.parse_value()?;
            fields.push((name, value));
            self.skip_space();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {
                    self.bump();
                    self.depth -= 1;
                    return Ok(Json::Object(fields));
                }
                _ => {
                    return Err(self.error(format!(
                        "expected `,` or `}}` in an object, found {}",
                        self.found()
                    )));
                }
            }
        }
    }

    fn parse_array(&mut self) -> Result<Json, ParseError> {
        self.enter()?;
        self.bump();
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(']') {
            self.bump();
            self.depth -= 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_space();
            items.push(self.parse_value()?);
            self.skip_space();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {
                    self.bump();
                    self.depth -= 1;
                    return Ok(Json::Array(items));
                }
                _ => {
                    return Err(self.error(format!(
                        "expected `,` or `]` in an array, found {}",
                        self.found()
                    )));
                }
            }
        }
    }

    fn parse_string(&mut self) -> Result<String, ParseError> {
        let start = self.column;
        self.bump();
        let mut text = String::new();
        loop {
            let escape_column = self.column;
            match self.bump() {
                None => {
                    return Err(self
                        .error_at(start, "this string is never closed: expected a closing `\"`"));
                }
                Some('"') => return Ok(text),
                Some('\\') => {
                    let c = match self.bump() {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('/') => '/',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some('u') => self.parse_unicode_escape(escape_column)?,
                        _ => {
                            return Err(self.error_at(
                                escape_column,
                                "unknown escape in a string: expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
                            ));
                        }
                    };
                    text.push(c);
                }
                Some(c) if (c as u32) < 0x20 => {
                    return Err(self.error_at(
                        escape_column,
                        "a control character in a string must be escaped",
                    ));
                }
                Some(c) => text.push(c),
            }
        }
    }

    fn hex4(&mut self, escape_column: usize) -> Result<u32, ParseError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self.bump().and_then(|c| c.to_digit(16)).ok_or_else(|| {
                self.error_at(escape_column, "`\\u` must be followed by four hexadecimal digits")
            })?;
            code = code * 16 + digit;
        }
        Ok(code)
    }

    fn parse_unicode_escape(&mut self, escape_column: usize) -> Result<char, ParseError> {
        let high = self.hex4(escape_column)?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if !self.text[self.offset..].starts_with("\\u") {
                return Err(self.error_at(
                    escape_column,
                    "a high surrogate must be followed by a low one (\\uDC00 to \\uDFFF)",
                ));
            }
            self.bump();
            self.bump();
            let low = self.hex4(escape_column)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error_at(
                    escape_column,
                    "a high surrogate must be followed by a low one (\\uDC00 to \\uDFFF)",
                ));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| {
            self.error_at(
                escape_column,
                format!("`\\u{code:04x}` is not a character (a lone surrogate)"),
            )
        })
    }

    fn parse_number(&mut self) -> Result<Json, ParseError> {
        let start_offset = self.offset;
        let start_column = self.column;
        let mut integer = true;
        if self.peek() == Some('-') {
            self.bump();
        }
        let digits_start = self.offset;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        let digits = &self.text[digits_start..self.offset];
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return Err(self.error_at(start_column, "a number needs digits, without leading zeros"));
        }
        if self.peek() == Some('.') {
            integer = false;
            self.bump();
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.error("expected digits after the decimal point"));
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            integer = false;
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.error("expected digits in the exponent"));
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        if !integer {
            return Ok(Json::Float(self.text[start_offset..self.offset].to_owned()));
        }
        self.text[start_offset..self.offset]
            .parse::<i128>()
            .ok()
            .filter(|n| (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(n))
            .map(Json::Int)
            .ok_or_else(|| {
                self.error_at(
                    start_column,
                    "this integer does not fit in 64 bits (-2^63 to 2^63-1 for a value, up to 2^64-1 for \"process\" and \"time\")",
                )
            })
    }

    fn parse_word(&mut self) -> Result<Json, ParseError> {
        for (word, value) in
            [("null", Json::Null), ("true", Json::Bool(true)), ("false", Json::Bool(false))]
        {
            if self.text[self.offset..].starts_with(word) {
                for _ in 0..word.len() {
                    self.bump();
                }
                return Ok(value);
            }
        }
        Err(self.error(format!("expected true, false or null, found {}", self.found())))
    }
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Int(_) => "an integer",
        Json::Float(_) => "a fractional number",
        Json::Str(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// What a line holds: a client event's fields, process and type, or a nemesis event.
enum Head<'n> {
    Client {
        fields: &'n [(String, JsonNode)],
        process: u64,
        kind: EventType,
    },
    /// Its position is set by the caller.
    Nemesis(NemesisEvent),
}

fn event_head(node: &JsonNode, line: usize) -> Result<Head<'_>, ParseError> {
    let error = |column: usize, message: String| ParseError::new(line, column, message);
    let Json::Object(fields) = &node.value else {
        return Err(error(
            node.column,
            format!(
                "expected an event object like {{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}}, found {}",
                json_kind(&node.value)
            ),
        ));
    };
    let get = |name: &str| field(fields, name);
    let required = |name: &str| {
        get(name).ok_or_else(|| error(node.column, format!("this event has no \"{name}\" field")))
    };
    let process_node = required("process")?;
    let process = match &process_node.value {
        Json::Int(p) if let Ok(p) = u64::try_from(*p) => Some(p),
        // A named process ("nemesis") injects faults; it is not a client.
        Json::Str(_) => None,
        _ => {
            return Err(error(
                process_node.column,
                format!(
                    "\"process\" must be a non-negative integer (or a name like \"nemesis\"), not {}",
                    json_kind(&process_node.value)
                ),
            ));
        }
    };
    let kind_node = required("type")?;
    let kind = match &kind_node.value {
        Json::Str(name) if name == "invoke" => EventType::Invoke,
        Json::Str(name) if name == "ok" => EventType::Ok,
        Json::Str(name) if name == "fail" => EventType::Fail,
        Json::Str(name) if name == "info" => EventType::Info,
        _ => {
            return Err(error(
                kind_node.column,
                "\"type\" must be \"invoke\", \"ok\", \"fail\" or \"info\"".into(),
            ));
        }
    };
    let Some(process) = process else {
        let Json::Str(name) = &process_node.value else { unreachable!("a named process") };
        let f = match get("f").map(|f| &f.value) {
            Some(Json::Str(f)) => f.clone(),
            None => String::new(),
            Some(other) => {
                return Err(error(
                    get("f").map_or(node.column, |f| f.column),
                    format!("a nemesis event's \"f\" must be a string, not {}", json_kind(other)),
                ));
            }
        };
        return Ok(Head::Nemesis(NemesisEvent {
            position: 0,
            process: name.clone(),
            kind,
            f,
            value: get("value").map_or(Value::Nil, loose_value),
            time: event_time(fields, line)?,
        }));
    };
    Ok(Head::Client { fields, process, kind })
}

/// A nemesis event's value as a [`Value`], whatever JSON it is: an object becomes a list of
/// `[name, value]` pairs, and a boolean, a fraction or an integer past 64 bits its text.
fn loose_value(node: &JsonNode) -> Value {
    match &node.value {
        Json::Null => Value::Nil,
        Json::Int(i) => i64::try_from(*i).map_or_else(|_| Value::Str(i.to_string()), Value::Int),
        Json::Float(text) => Value::Str(text.clone()),
        Json::Bool(b) => Value::Str(b.to_string()),
        Json::Str(text) => Value::Str(text.clone()),
        Json::Array(items) => Value::List(items.iter().map(loose_value).collect()),
        Json::Object(fields) => Value::List(
            fields
                .iter()
                .map(|(name, value)| {
                    Value::List(vec![Value::Str(name.clone()), loose_value(value)])
                })
                .collect(),
        ),
    }
}

fn field<'n>(fields: &'n [(String, JsonNode)], name: &str) -> Option<&'n JsonNode> {
    fields.iter().find(|(field, _)| field == name).map(|(_, value)| value)
}

fn event_time(fields: &[(String, JsonNode)], line: usize) -> Result<Option<SimTime>, ParseError> {
    match field(fields, "time") {
        None => Ok(None),
        Some(JsonNode { value: Json::Int(t), .. }) if let Ok(t) = u64::try_from(*t) => {
            Ok(Some(SimTime(t)))
        }
        Some(other) => Err(ParseError::new(
            line,
            other.column,
            "\"time\" must be a non-negative integer (nanoseconds)",
        )),
    }
}

fn event_from_object(object: &ClientObject<'_>) -> Result<HistoryEvent, ParseError> {
    let ClientObject { fields, process, kind, node, line } = *object;
    let error = |column: usize, message: String| ParseError::new(line, column, message);
    let get = |name: &str| field(fields, name);
    let required = |name: &str| {
        get(name).ok_or_else(|| error(node.column, format!("this event has no \"{name}\" field")))
    };
    let f_node = required("f")?;
    let f = match &f_node.value {
        Json::Str(name) => match Function::named(name) {
            Some(f) => f,
            None => {
                return Err(error(
                    f_node.column,
                    format!(
                        "unknown \"f\" {:?}: expected \"read\", \"write\", \"cas\", \"append\", \"add\", \"enqueue\" or \"dequeue\"",
                        abbreviate(name)
                    ),
                ));
            }
        },
        other => {
            return Err(error(
                f_node.column,
                format!("\"f\" must be a string, not {}", json_kind(other)),
            ));
        }
    };
    let key = get("key").map(|node| value_from_json(node, line)).transpose()?;
    let value =
        get("value").map(|node| value_from_json(node, line)).transpose()?.unwrap_or(Value::Nil);
    let time = event_time(fields, line)?;
    Ok(HistoryEvent { process, kind, f, key, value, time })
}

fn txn_event_from_object(object: &ClientObject<'_>) -> Result<TxnEvent, ParseError> {
    let ClientObject { fields, process, kind, node, line } = *object;
    let error = |column: usize, message: &str| ParseError::new(line, column, message);
    match field(fields, "f") {
        Some(JsonNode { value: Json::Str(f), .. }) if f == "txn" => {}
        Some(other) => {
            return Err(error(other.column, "expected \"f\":\"txn\" in a transactional history"));
        }
        None => return Err(error(node.column, "this event has no \"f\" field")),
    }
    let shape = "a transaction is an array of micro-ops like [\"r\",1,null] or [\"append\",1,2]";
    let Some(JsonNode { value: Json::Array(mops), .. }) = field(fields, "value") else {
        return Err(error(node.column, shape));
    };
    let integer = |n: &JsonNode, what: &str| match n.value {
        Json::Int(i) if let Ok(i) = u64::try_from(i) => Ok(i),
        _ => Err(error(n.column, &format!("a {what} must be a non-negative integer"))),
    };
    let mut txn = Vec::with_capacity(mops.len());
    for mop in mops {
        let Json::Array(parts) = &mop.value else { return Err(error(mop.column, shape)) };
        let [f, key, value] = parts.as_slice() else { return Err(error(mop.column, shape)) };
        let key = integer(key, "key")?;
        let completed = kind == EventType::Ok;
        txn.push(match &f.value {
            Json::Str(f) if f == "append" => Mop::Append { key, value: integer(value, "value")? },
            Json::Str(f) if f == "w" => Mop::Write { key, value: integer(value, "value")? },
            Json::Str(f) if f == "r" && !completed => Mop::ReadList { key, value: None },
            Json::Str(f) if f == "r" => match &value.value {
                Json::Null => Mop::ReadList { key, value: Some(Vec::new()) },
                Json::Int(_) => {
                    Mop::ReadRegister { key, value: Some(Some(integer(value, "value")?)) }
                }
                Json::Array(items) => Mop::ReadList {
                    key,
                    value: Some(
                        items
                            .iter()
                            .map(|i| integer(i, "list element"))
                            .collect::<Result<_, _>>()?,
                    ),
                },
                _ => {
                    return Err(error(
                        value.column,
                        "a read's value is null, an integer or an array",
                    ));
                }
            },
            _ => {
                return Err(error(
                    f.column,
                    "unknown micro-op: expected \"r\", \"append\" or \"w\"",
                ));
            }
        });
    }
    Ok(TxnEvent { process, kind, txn, time: event_time(fields, line)? })
}

fn value_from_json(node: &JsonNode, line: usize) -> Result<Value, ParseError> {
    Ok(match &node.value {
        Json::Null => Value::Nil,
        Json::Int(i) => Value::Int(i64::try_from(*i).map_err(|_| {
            ParseError::new(
                line,
                node.column,
                "a value's integer must be from -2^63 to 2^63-1 (64 bits, signed)",
            )
        })?),
        Json::Str(text) => Value::Str(text.clone()),
        Json::Array(items) => Value::List(
            items.iter().map(|item| value_from_json(item, line)).collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(ParseError::new(
                line,
                node.column,
                format!(
                    "a value must be null, an integer, a string or an array, not {}",
                    json_kind(other)
                ),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":3,\"value\":5,\"time\":123}\n\
                    \n\
                    {\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"partition\"}\r\n\
                    { \"type\" : \"ok\" , \"process\" : 0, \"f\":\"write\", \"value\":5, \"extra\": {\"a\":[1.5,true]} }\n";
        let history = parse_jsonl(text).unwrap();
        assert_eq!(history.len(), 2);
        let first = &history.events[0];
        assert_eq!((first.process, first.kind, first.f), (0, EventType::Invoke, Function::Write));
        assert_eq!(first.key, Some(Value::Int(3)));
        assert_eq!(first.value, Value::Int(5));
        assert_eq!(first.time, Some(SimTime(123)));
        assert_eq!(history.events[1].key, None);
        assert_eq!(history.events[1].time, None);
    }

    #[test]
    fn writes_what_it_reads() {
        let event = |kind, value, key| HistoryEvent {
            process: 7,
            kind,
            f: Function::Cas,
            key,
            value,
            time: Some(SimTime(9)),
        };
        let history = History::of(vec![
            event(
                EventType::Invoke,
                Value::List(vec![Value::Int(-1), Value::Str("é\"\\\n\u{1}😀".into())]),
                Some(Value::Str("k".into())),
            ),
            event(EventType::Info, Value::Nil, Some(Value::Nil)),
            event(EventType::Fail, Value::List(vec![]), None),
        ]);
        let text = to_jsonl(&history);
        assert!(text.starts_with(
            "{\"process\":7,\"type\":\"invoke\",\"f\":\"cas\",\"key\":\"k\",\"value\":[-1,"
        ));
        assert_eq!(parse_jsonl(&text).unwrap(), history);
    }

    #[test]
    fn nemesis_events_and_origins_read_back() {
        let text = "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"kill\",\"value\":2,\"time\":1}\n\
                    {\"process\":3,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"client\":3,\"request\":7}\n\
                    {\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"start-partition\",\"value\":[\"groups\",[[2],[0,1]]]}\n\
                    {\"process\":3,\"type\":\"ok\",\"f\":\"read\",\"value\":5,\"client\":3,\"request\":7,\"node\":1}\n\
                    {\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"stop-partition\",\"value\":null}\n";
        let history = parse_jsonl(text).unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(
            history.nemesis.iter().map(|n| (n.position, n.f.as_str())).collect::<Vec<_>>(),
            [(0, "kill"), (1, "start-partition"), (2, "stop-partition")]
        );
        assert_eq!(history.nemesis[0].time, Some(SimTime(1)));
        assert_eq!(history.origin(1), Origin { client: Some(3), request: Some(7), node: Some(1) });
        assert_eq!(to_jsonl(&history), text);
        let loose = parse_jsonl(
            "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"x\",\"value\":{\"a\":[1.5,true]}}",
        )
        .unwrap();
        let pair = Value::List(vec![
            Value::Str("a".into()),
            Value::List(vec![Value::Str("1.5".into()), Value::Str("true".into())]),
        ]);
        assert_eq!(loose.nemesis[0].value, Value::List(vec![pair]));
        assert_eq!(
            parse_jsonl("{\"process\":\"nemesis\",\"type\":\"info\",\"f\":3}")
                .unwrap_err()
                .to_string(),
            "1:40: a nemesis event's \"f\" must be a string, not an integer"
        );
    }

    /// A fault the engine injected becomes the nemesis line Jepsen would write.
    #[test]
    fn faults_become_nemesis_lines() {
        use crate::faults::{FaultAction, Partition};
        use crate::node::NodeId;
        let line = |action: FaultAction| {
            let mut history: History = History::default();
            history.push_nemesis(NemesisEvent::of_fault(0, &action, SimTime(9)));
            to_jsonl(&history)
        };
        let bridge = Partition::Bridge(Some((vec![NodeId(0), NodeId(1)], vec![NodeId(3)])));
        assert_eq!(
            line(FaultAction::Partition(bridge)),
            "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"start-partition\",\"value\":[\"bridge\",[[0,1],[3]]],\"time\":9}\n"
        );
        assert_eq!(
            line(FaultAction::Pause { node: NodeId(2), duration: crate::SimDuration(500) }),
            "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"pause\",\"value\":[2,500],\"time\":9}\n"
        );
        assert!(line(FaultAction::Heal).contains("\"f\":\"stop-partition\",\"value\":null"));
    }

    #[test]
    fn errors_say_line_column_and_what_was_expected() {
        let error = |text: &str| parse_jsonl(text).unwrap_err().to_string();
        assert_eq!(
            error("\n{\"process\":0,"),
            "2:14: expected a field name in quotes, found the end of the line"
        );
        assert_eq!(error("{\"process\":0,\"type\":\"ok\"}"), "1:1: this event has no \"f\" field");
        assert_eq!(
            error("{\"process\":0,\"type\":\"ok\",\"f\":\"txn\"}"),
            "1:30: unknown \"f\" \"txn\": expected \"read\", \"write\", \"cas\", \"append\", \"add\", \"enqueue\" or \"dequeue\""
        );
        assert_eq!(
            error("{\"process\":-1}"),
            "1:12: \"process\" must be a non-negative integer (or a name like \"nemesis\"), not an integer"
        );
        assert_eq!(
            error("{\"process\":0} x"),
            "1:15: expected the end of the line after the event's object"
        );
        assert_eq!(error("{\"a\":1,\"a\":2}"), "1:8: the field \"a\" appears twice");
        assert_eq!(
            error("[1]"),
            "1:1: expected an event object like {\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}, found an array"
        );
        assert!(error("{\"process\":99999999999999999999}").contains("64 bits"));
        assert!(
            error("{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1.5}")
                .contains("fractional")
        );
        assert!(error(&"[".repeat(MAX_DEPTH + 1)).contains("nest deeper"));
        assert!(error("{\"s\":\"\\ud800\"}").contains("surrogate"));
    }

    #[test]
    fn repeated_fields_are_found_in_linear_time_and_named() {
        let error = |text: &str| parse_jsonl(text).unwrap_err().to_string();
        let fields = 100_000;
        let object: String = (0..fields).map(|i| format!("\"k{i}\":{i},")).collect();
        assert_eq!(
            error(&format!("{{{object}\"process\":0}}")),
            "1:1: this event has no \"type\" field"
        );
        let column = object.len() + 2;
        assert_eq!(
            error(&format!("{{{object}\"k99999\":0}}")),
            format!("1:{column}: the field \"k99999\" appears twice")
        );
        let long = "x".repeat(100);
        assert_eq!(
            error(&format!("{{\"{long}\":1,\"{long}\":2}}")),
            format!("1:107: the field \"{}… (100 characters)\" appears twice", &long[..40])
        );
        assert_eq!(error("{\"a\\\"\":1,\"a\\\"\":2}"), "1:10: the field \"a\\\"\" appears twice");
    }

    #[test]
    fn integers_at_the_ends_of_their_ranges() {
        let event = HistoryEvent {
            process: u64::MAX,
            kind: EventType::Invoke,
            f: Function::Write,
            key: Some(Value::Int(i64::MIN)),
            value: Value::Int(i64::MAX),
            time: Some(SimTime(u64::MAX)),
        };
        let history = History::of(vec![event]);
        assert_eq!(parse_jsonl(&to_jsonl(&history)).unwrap(), history);
        let error = |text: &str| parse_jsonl(text).unwrap_err().to_string();
        assert_eq!(
            error("{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":9223372036854775808}"),
            "1:45: a value's integer must be from -2^63 to 2^63-1 (64 bits, signed)"
        );
        assert!(
            error("{\"process\":18446744073709551616}")
                .starts_with("1:12: this integer does not fit in 64 bits")
        );
        assert!(
            error("{\"process\":-9223372036854775809}")
                .starts_with("1:12: this integer does not fit")
        );
        assert!(
            error(&format!("{{\"process\":{}}}", "9".repeat(100)))
                .starts_with("1:12: this integer does not fit")
        );
        assert!(
            error("{\"process\":-9223372036854775808}")
                .starts_with("1:12: \"process\" must be a non-negative integer")
        );
    }

    #[test]
    fn a_byte_order_mark_and_crlf_are_accepted() {
        let text = "\u{feff}{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\r\n\r\n";
        assert_eq!(parse_jsonl(text).unwrap().len(), 1);
        assert_eq!(
            parse_jsonl("\u{feff}{\"process\":x}").unwrap_err().to_string(),
            "1:12: expected a JSON value (object, array, string, number, true, false or null), found 'x'"
        );
        assert_eq!(parse_jsonl("").unwrap().len(), 0);
    }
}
