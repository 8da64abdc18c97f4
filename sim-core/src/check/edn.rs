//! A small EDN reader (https://github.com/edn-format/edn) and Jepsen histories on top of it.
//!
//! The reader handles what Jepsen and Knossos write and a little more: nil, true, false,
//! integers (with an optional `N`), floats (with an optional `M`, and `##Inf`, `##-Inf`,
//! `##NaN`), strings with escapes, characters, symbols, keywords, lists `( )`, vectors
//! `[ ]`, maps `{ }`, sets `#{ }`, tagged values `#inst "..."`, `#_` discards, `;`
//! comments, and commas as whitespace. Errors carry a 1-based line and column (in
//! characters) and say what was expected. It never panics, and its time and memory are
//! linear in the input: collections and tagged values nesting deeper than [`MAX_DEPTH`]
//! are an error rather than a stack overflow, a chain of `#_` discards is read in a loop,
//! duplicate map keys are found by sorting, and a history is converted one operation at a
//! time rather than kept whole as a tree.

use super::lines::Lines;
use super::{ParseError, abbreviate};
use crate::history::{EventType, Function, History, HistoryEvent, NemesisEvent, Origin, Value};
use crate::time::SimTime;
use std::cmp::Ordering;
use std::io::BufRead;
use std::ops::Range;

/// How deep collections and tagged values may nest. The reader recurses once per level, so
/// this bounds its stack (well under 1 MiB in a debug build; a test keeps it so).
pub const MAX_DEPTH: usize = 200;

/// A place in the text: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// An EDN value with the position where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub position: Position,
    pub value: Edn,
}

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub enum Edn {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Char(char),
    /// A keyword's name without its colon: `:ok` is `Keyword("ok")`.
    Keyword(String),
    Symbol(String),
    List(Vec<Node>),
    Vector(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Set(Vec<Node>),
    /// `#tag value`.
    Tagged(String, Box<Node>),
}

impl Edn {
    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Edn::Nil => "nil",
            Edn::Bool(_) => "a boolean",
            Edn::Int(_) => "an integer",
            Edn::Float(_) => "a float",
            Edn::Str(_) => "a string",
            Edn::Char(_) => "a character",
            Edn::Keyword(_) => "a keyword",
            Edn::Symbol(_) => "a symbol",
            Edn::List(_) => "a list",
            Edn::Vector(_) => "a vector",
            Edn::Map(_) => "a map",
            Edn::Set(_) => "a set",
            Edn::Tagged(..) => "a tagged value",
        }
    }
}

/// Reads every top-level value of an EDN text.
pub fn read_all(text: &str) -> Result<Vec<Node>, ParseError> {
    let mut reader = Reader::new(text.as_bytes());
    let mut nodes = Vec::new();
    let read = read_values(&mut reader, |node| {
        nodes.push(node);
        Ok(())
    });
    reader.finish(read).map(|()| nodes)
}

/// Values one after another to the end of the text, each handed to `add`.
fn read_values<R: BufRead>(
    reader: &mut Reader<R>,
    mut add: impl FnMut(Node) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    reader.skip_ignorable()?;
    while reader.peek().is_some() {
        add(reader.read_node()?)?;
        reader.skip_ignorable()?;
    }
    Ok(())
}

/// A reader of EDN text that holds one line of it at a time: it moves to the next line
/// when it has consumed the current one (with its `\n`), so a token, which never spans a
/// line end, is always whole in the current line.
struct Reader<R> {
    lines: Lines<R>,
    /// Where the next character is in the current line, in bytes.
    offset: usize,
    line: usize,
    column: usize,
    depth: usize,
    /// Why the text stopped early (a read error, bytes that are not UTF-8): the reader has
    /// seen the end of the input since, and this, not what that end caused, is the error.
    failure: Option<ParseError>,
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | ';')
}

fn describe_char(c: Option<char>) -> String {
    match c {
        None => "the end of the input".to_string(),
        Some(c) if c.is_control() => format!("{c:?}"),
        Some(c) => format!("`{c}`"),
    }
}

impl<R: BufRead> Reader<R> {
    /// A reader at the start of the text, after a byte order mark if there is one.
    fn new(source: R) -> Self {
        let mut reader = Reader {
            lines: Lines::new(source),
            offset: 0,
            line: 1,
            column: 1,
            depth: 0,
            failure: None,
        };
        reader.next_line();
        reader
    }

    /// Moves to the next line of the text; at its end (or a failure) the current line stays.
    fn next_line(&mut self) {
        match self.lines.advance() {
            Ok(true) => self.offset = 0,
            Ok(false) => {}
            Err(failure) => self.failure = Some(failure),
        }
    }

    /// The outcome of reading: the failure that ended the text early, if there was one.
    fn finish<T>(mut self, read: Result<T, ParseError>) -> Result<T, ParseError> {
        match self.failure.take() {
            Some(failure) => Err(failure),
            None => read,
        }
    }

    fn rest(&self) -> &str {
        &self.lines.line()[self.offset..]
    }

    fn position(&self) -> Position {
        Position { line: self.line, column: self.column }
    }

    fn error_at(&self, position: Position, message: impl Into<String>) -> ParseError {
        ParseError::new(position.line, position.column, message)
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.position(), message)
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// The character after the next: a line's last character is its `\n`, so this never
    /// needs the next line.
    fn peek_second(&self) -> Option<char> {
        let mut chars = self.rest().chars();
        chars.next();
        chars.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        if self.offset == self.lines.line().len() && self.failure.is_none() {
            self.next_line();
        }
        Some(c)
    }

    /// Whitespace, commas, `;` comments and `#_` discarded values. `#_ #_ a b` discards
    /// both `a` and `b`: each `#_` not yet matched with a value waits on a stack (for the
    /// error if its value never comes), so a chain of any length costs no recursion.
    fn skip_ignorable(&mut self) -> Result<(), ParseError> {
        let mut discards: Vec<Position> = Vec::new();
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() || c == ',' => {
                    self.bump();
                }
                Some(';') => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                Some('#') if self.peek_second() == Some('_') => {
                    discards.push(self.position());
                    self.bump();
                    self.bump();
                }
                next => {
                    let Some(start) = discards.pop() else { return Ok(()) };
                    if matches!(next, None | Some(')' | ']' | '}')) {
                        return Err(
                            self.error_at(start, "`#_` must be followed by a value to discard")
                        );
                    }
                    self.read_node()?;
                }
            }
        }
    }

    fn read_node(&mut self) -> Result<Node, ParseError> {
        let position = self.position();
        let value = match self.peek() {
            None => return Err(self.error("expected a value, found the end of the input")),
            Some('(') => Edn::List(self.read_sequence(')', "list")?),
            Some('[') => Edn::Vector(self.read_sequence(']', "vector")?),
            Some('{') => self.read_map()?,
            Some('"') => Edn::Str(self.read_string()?),
            Some(':') => self.read_keyword()?,
            Some('\\') => Edn::Char(self.read_char()?),
            Some('#') => self.read_dispatch()?,
            Some(c @ (')' | ']' | '}')) => {
                return Err(self.error(format!("unexpected `{c}`: nothing is open here to close")));
            }
            Some(_) => self.read_atom()?,
        };
        Ok(Node { position, value })
    }

    fn enter(&mut self, position: Position) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(
                self.error_at(position, format!("values nest deeper than {MAX_DEPTH} levels"))
            );
        }
        Ok(())
    }

    /// Reads the values up to `close`, the opening delimiter being next.
    fn read_sequence(&mut self, close: char, what: &str) -> Result<Vec<Node>, ParseError> {
        let mut items = Vec::new();
        self.read_items(close, what, |node| {
            items.push(node);
            Ok(())
        })?;
        Ok(items)
    }

    /// Reads the values up to `close`, the opening delimiter being next, handing each to
    /// `item` as soon as it is read.
    fn read_items(
        &mut self,
        close: char,
        what: &str,
        mut item: impl FnMut(Node) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        let start = self.position();
        self.enter(start)?;
        self.bump();
        loop {
            self.skip_ignorable()?;
            match self.peek() {
                Some(c) if c == close => {
                    self.bump();
                    self.depth -= 1;
                    return Ok(());
                }
                None => {
                    return Err(self.error(format!(
                        "expected `{close}` to close the {what} opened at line {}, column {}, found the end of the input",
                        start.line, start.column
                    )));
                }
                Some(c @ (')' | ']' | '}')) => {
                    return Err(self.error(format!(
                        "expected `{close}` to close the {what} opened at line {}, column {}, found `{c}`",
                        start.line, start.column
                    )));
                }
                Some(_) => item(self.read_node()?)?,
            }
        }
    }

    fn read_map(&mut self) -> Result<Edn, ParseError> {
        let start = self.position();
        let items = self.read_sequence('}', "map")?;
        if items.len() % 2 != 0 {
            return Err(self.error_at(
                start,
                format!(
                    "a map needs a value for every key, but this one has {} forms",
                    items.len()
                ),
            ));
        }
        let mut pairs: Vec<(Node, Node)> = Vec::with_capacity(items.len() / 2);
        let mut items = items.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            pairs.push((key, value));
        }
        if let Some(repeated) = first_repeated_key(&pairs) {
            return Err(
                self.error_at(pairs[repeated].0.position, "this key appears twice in the map")
            );
        }
        Ok(Edn::Map(pairs))
    }

    fn read_string(&mut self) -> Result<String, ParseError> {
        let start = self.position();
        self.bump();
        let mut text = String::new();
        loop {
            let escape_at = self.position();
            match self.bump() {
                None => {
                    return Err(self
                        .error_at(start, "this string is never closed: expected a closing `\"`"));
                }
                Some('"') => return Ok(text),
                Some('\\') => {
                    let c = match self.bump() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('b') => '\u{8}',
                        Some('f') => '\u{c}',
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('/') => '/',
                        Some('u') => self.read_unicode_escape(escape_at)?,
                        other => {
                            return Err(self.error_at(
                                escape_at,
                                format!(
                                    "unknown escape `\\{}` in a string: expected one of \\n \\t \\r \\b \\f \\\" \\\\ \\uXXXX",
                                    other.map_or(String::new(), String::from)
                                ),
                            ));
                        }
                    };
                    text.push(c);
                }
                Some(c) => text.push(c),
            }
        }
    }

    fn read_unicode_escape(&mut self, escape_at: Position) -> Result<char, ParseError> {
        let mut code = 0u32;
        for _ in 0..4 {
            let digit = self.bump().and_then(|c| c.to_digit(16)).ok_or_else(|| {
                self.error_at(escape_at, "`\\u` must be followed by four hexadecimal digits")
            })?;
            code = code * 16 + digit;
        }
        char::from_u32(code).ok_or_else(|| {
            self.error_at(
                escape_at,
                format!("`\\u{code:04x}` is not a character (a lone surrogate)"),
            )
        })
    }

    /// Where the characters up to the next delimiter are in the current line (see
    /// [`Reader::token`]). A line ends with its `\n`, a delimiter, so the token ends in the
    /// line it starts in; a token that ends the text ends in its last line, which stays.
    fn read_token(&mut self) -> Range<usize> {
        let start = self.offset;
        while let Some(c) = self.peek() {
            if is_delimiter(c) {
                break;
            }
            self.bump();
        }
        start..self.offset
    }

    fn token(&self, range: Range<usize>) -> &str {
        &self.lines.line()[range]
    }

    fn read_keyword(&mut self) -> Result<Edn, ParseError> {
        let start = self.position();
        self.bump();
        let range = self.read_token();
        let name = self.token(range);
        if name.is_empty() || name.starts_with(':') && name.len() == 1 {
            return Err(self.error_at(start, "a keyword needs a name after `:`, like `:ok`"));
        }
        Ok(Edn::Keyword(name.to_string()))
    }

    fn read_char(&mut self) -> Result<char, ParseError> {
        let start = self.position();
        self.bump();
        // The first character is taken whatever it is (`\(` is a character).
        let Some(first) = self.bump() else {
            return Err(self.error_at(start, "expected a character after `\\`"));
        };
        let range = self.read_token();
        let rest = self.token(range);
        if rest.is_empty() {
            return Ok(first);
        }
        let name = format!("{first}{rest}");
        match name.as_str() {
            "newline" => Ok('\n'),
            "space" => Ok(' '),
            "tab" => Ok('\t'),
            "return" => Ok('\r'),
            "backspace" => Ok('\u{8}'),
            "formfeed" => Ok('\u{c}'),
            _ if first == 'u' && rest.len() == 4 && rest.bytes().all(|b| b.is_ascii_hexdigit()) => {
                u32::from_str_radix(rest, 16).ok().and_then(char::from_u32).ok_or_else(|| {
                    self.error_at(start, format!("`\\{name}` is not a character (a lone surrogate)"))
                })
            }
            _ => Err(self.error_at(
                start,
                format!("unknown character `\\{}`: expected one character or \\newline, \\space, \\tab, \\return, \\uXXXX", abbreviate(&name)),
            )),
        }
    }

    fn read_dispatch(&mut self) -> Result<Edn, ParseError> {
        let start = self.position();
        match self.peek_second() {
            Some('{') => {
                self.bump();
                Ok(Edn::Set(self.read_sequence('}', "set")?))
            }
            Some('#') => {
                self.bump();
                self.bump();
                let range = self.read_token();
                match self.token(range) {
                    "Inf" => Ok(Edn::Float(f64::INFINITY)),
                    "-Inf" => Ok(Edn::Float(f64::NEG_INFINITY)),
                    "NaN" => Ok(Edn::Float(f64::NAN)),
                    other => Err(self.error_at(
                        start,
                        format!(
                            "unknown symbolic value `##{}`: expected ##Inf, ##-Inf or ##NaN",
                            abbreviate(other)
                        ),
                    )),
                }
            }
            Some(c) if c.is_alphabetic() => {
                self.bump();
                let range = self.read_token();
                let tag = self.token(range).to_string();
                self.skip_ignorable()?;
                if self.peek().is_none() {
                    return Err(self.error(format!(
                        "expected a value after the tag `#{}`",
                        abbreviate(&tag)
                    )));
                }
                self.enter(start)?;
                let value = self.read_node()?;
                self.depth -= 1;
                Ok(Edn::Tagged(tag, Box::new(value)))
            }
            other => Err(self.error_at(
                start,
                format!(
                    "unexpected {} after `#`: expected `#{{` (a set), `#_` (a discard), `##Inf` or a tag like `#inst`",
                    describe_char(other)
                ),
            )),
        }
    }

    /// A number, nil, true, false or a symbol.
    fn read_atom(&mut self) -> Result<Edn, ParseError> {
        let start = self.position();
        let range = self.read_token();
        let token = self.token(range);
        if token.is_empty() {
            // A character that cannot start any value, e.g. a lone `\u{0}`: consume it so
            // the message can point at it.
            let c = self.peek();
            return Err(
                self.error_at(start, format!("unexpected {}: expected a value", describe_char(c)))
            );
        }
        let mut chars = token.chars();
        let first = chars.next().unwrap_or(' ');
        let second = chars.next();
        let numeric = first.is_ascii_digit()
            || (matches!(first, '+' | '-') && second.is_some_and(|c| c.is_ascii_digit()));
        if numeric {
            return parse_number(token).ok_or_else(|| {
                self.error_at(start, format!("`{}` is not a number: expected an integer like -12 or a float like 1.5e3 (integers must fit in 64 bits, -2^63 to 2^63-1)", abbreviate(token)))
            });
        }
        Ok(match token {
            "nil" => Edn::Nil,
            "true" => Edn::Bool(true),
            "false" => Edn::Bool(false),
            _ => {
                if token.chars().any(|c| c.is_control() || c == '\\') {
                    return Err(self.error_at(
                        start,
                        format!(
                            "`{}` is not a symbol",
                            abbreviate(&token.escape_debug().to_string())
                        ),
                    ));
                }
                Edn::Symbol(token.to_string())
            }
        })
    }
}

fn parse_number(token: &str) -> Option<Edn> {
    let digits = token.strip_prefix('+').unwrap_or(token);
    let integer = digits.strip_suffix('N').unwrap_or(digits);
    let unsigned = integer.strip_prefix('-').unwrap_or(integer);
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return integer.parse::<i64>().ok().map(Edn::Int);
    }
    let float = digits.strip_suffix('M').unwrap_or(digits);
    let unsigned = float.strip_prefix('-').unwrap_or(float);
    let well_formed = unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && unsigned.bytes().next().is_some_and(|b| b.is_ascii_digit());
    if well_formed { float.parse::<f64>().ok().map(Edn::Float) } else { None }
}

/// The index of the first key (in the order of the text) equal to an earlier key of the
/// same map, if any. Sorting makes this n log n where comparing each key with every earlier
/// one took a hundred-thousand-key map minutes.
fn first_repeated_key(pairs: &[(Node, Node)]) -> Option<usize> {
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_unstable_by(|&a, &b| compare(&pairs[a].0.value, &pairs[b].0.value).then(a.cmp(&b)));
    // Equal keys are adjacent, each run in text order: the second of a run is that key's
    // first repeat, and the earliest of those is the first repeat of any key.
    order
        .windows(2)
        .filter(|pair| compare(&pairs[pair[0]].0.value, &pairs[pair[1]].0.value).is_eq())
        .map(|pair| pair[1])
        .min()
}

/// A total order on values (positions play no part), used to find equal map keys. Floats
/// compare by `total_cmp` with `-0.0` taken as `0.0`, so `##NaN` equals itself here;
/// different kinds of value order by kind. Recursion is bounded by [`MAX_DEPTH`].
fn compare(a: &Edn, b: &Edn) -> Ordering {
    fn rank(value: &Edn) -> u8 {
        match value {
            Edn::Nil => 0,
            Edn::Bool(_) => 1,
            Edn::Int(_) => 2,
            Edn::Float(_) => 3,
            Edn::Str(_) => 4,
            Edn::Char(_) => 5,
            Edn::Keyword(_) => 6,
            Edn::Symbol(_) => 7,
            Edn::List(_) => 8,
            Edn::Vector(_) => 9,
            Edn::Map(_) => 10,
            Edn::Set(_) => 11,
            Edn::Tagged(..) => 12,
        }
    }
    fn nodes(a: &[Node], b: &[Node]) -> Ordering {
        a.iter()
            .zip(b)
            .map(|(x, y)| compare(&x.value, &y.value))
            .find(|order| order.is_ne())
            .unwrap_or_else(|| a.len().cmp(&b.len()))
    }
    let unsigned_zero = |f: f64| if f == 0.0 { 0.0 } else { f };
    match (a, b) {
        (Edn::Nil, Edn::Nil) => Ordering::Equal,
        (Edn::Bool(x), Edn::Bool(y)) => x.cmp(y),
        (Edn::Int(x), Edn::Int(y)) => x.cmp(y),
        (Edn::Float(x), Edn::Float(y)) => unsigned_zero(*x).total_cmp(&unsigned_zero(*y)),
        (Edn::Str(x), Edn::Str(y))
        | (Edn::Keyword(x), Edn::Keyword(y))
        | (Edn::Symbol(x), Edn::Symbol(y)) => x.cmp(y),
        (Edn::Char(x), Edn::Char(y)) => x.cmp(y),
        (Edn::List(x), Edn::List(y))
        | (Edn::Vector(x), Edn::Vector(y))
        | (Edn::Set(x), Edn::Set(y)) => nodes(x, y),
        (Edn::Map(x), Edn::Map(y)) => x
            .iter()
            .zip(y)
            .map(|((xk, xv), (yk, yv))| {
                compare(&xk.value, &yk.value).then_with(|| compare(&xv.value, &yv.value))
            })
            .find(|order| order.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        (Edn::Tagged(x_tag, x), Edn::Tagged(y_tag, y)) => {
            x_tag.cmp(y_tag).then_with(|| compare(&x.value, &y.value))
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Parses a Jepsen history: one vector or list of maps, or maps one after another (one a
/// line). Maps are `{:process P, :type T, :f F, :key K, :value V, :time T}`; `:key` and
/// `:time` are optional, other keys are ignored. Operations whose `:process` is not an
/// integer (`:nemesis`) are fault injections and are skipped.
pub fn parse_history(text: &str) -> Result<History, ParseError> {
    parse_history_with_positions(text).map(|(history, _)| history)
}

/// [`parse_history`], also returning where each event's map starts, so that an error found
/// later in event `i` (such as a [`super::HistoryError`]) can point into the file.
pub fn parse_history_with_positions(text: &str) -> Result<(History, Vec<Position>), ParseError> {
    read_history(text.as_bytes())
}

/// [`parse_history_with_positions`] from any reader, a line at a time: each operation is
/// converted as soon as its map is read, so memory holds one line of the text and the
/// history, never the whole text or the history as a tree of EDN values.
pub fn read_history(source: impl BufRead) -> Result<(History, Vec<Position>), ParseError> {
    read_operations(source, event_from_node)
}

/// Reads the operation maps of a Jepsen history (one vector or list of maps, or maps one
/// after another) a line at a time, handing each to `convert` as soon as it is read: the
/// history of any workload (key-value operations here, transactions in [`crate::txn`]). A
/// map of a process that is not a client (`:nemesis`) is kept as a [`NemesisEvent`]
/// instead; `convert` returns `None` for any other map to leave out. Returns the history,
/// with each client event's `:client`, `:request` and `:node` as its [`Origin`], and where
/// each client event's map starts.
pub fn read_operations<T>(
    source: impl BufRead,
    mut convert: impl FnMut(&Node) -> Result<Option<T>, ParseError>,
) -> Result<(History<T>, Vec<Position>), ParseError> {
    let mut reader = Reader::new(source);
    let mut history = History::default();
    let mut positions = Vec::new();
    let add = |item: Node| {
        if let Some(mut nemesis) = nemesis_event(&item)? {
            nemesis.position = history.len();
            history.push_nemesis(nemesis);
        } else if let Some(event) = convert(&item)? {
            history.push_from(event, origin(&item));
            positions.push(item.position);
        }
        Ok(())
    };
    let read = read_top_level(&mut reader, add);
    reader.finish(read)?;
    history.shrink_to_fit();
    positions.shrink_to_fit();
    Ok((history, positions))
}

/// The top level of a history: one vector or list, whose items go to `add`, or values one
/// after another.
fn read_top_level<R: BufRead>(
    reader: &mut Reader<R>,
    mut add: impl FnMut(Node) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    reader.skip_ignorable()?;
    if let Some(open @ ('[' | '(')) = reader.peek() {
        let start = reader.position();
        let (close, what) = if open == '[' { (']', "vector") } else { (')', "list") };
        reader.read_items(close, what, &mut add)?;
        reader.skip_ignorable()?;
        if reader.peek().is_some() {
            let next = reader.position();
            return Err(reader.error_at(
                start,
                format!(
                    "a history is one vector or list of operation maps, or maps one after another, but this {what} is followed by more at line {}, column {}",
                    next.line, next.column
                ),
            ));
        }
        Ok(())
    } else {
        read_values(reader, add)
    }
}

/// A map of a process that is not a client (`{:process :nemesis, :type :info, :f
/// :start-partition, :value ...}`) as a nemesis event (at position 0: the caller places
/// it); `None` for a client's operation or anything that is not an operation map.
fn nemesis_event(node: &Node) -> Result<Option<NemesisEvent>, ParseError> {
    let Edn::Map(pairs) = &node.value else { return Ok(None) };
    let Some(process) = field(pairs, "process") else { return Ok(None) };
    if matches!(process.value, Edn::Int(_)) {
        return Ok(None);
    }
    let kind = field(pairs, "type")
        .ok_or_else(|| content_error(node, "this operation has no :type"))
        .and_then(event_type)?;
    Ok(Some(NemesisEvent {
        position: 0,
        process: name_of(process).map_or_else(|| loose_text(process), str::to_owned),
        kind,
        f: field(pairs, "f")
            .map(|f| name_of(f).map_or_else(|| loose_text(f), str::to_owned))
            .unwrap_or_default(),
        value: field(pairs, "value").map_or(Value::Nil, loose_value),
        time: operation_time(pairs)?,
    }))
}

/// A client operation's `:client`, `:request` and `:node`, where they are non-negative
/// integers (Jepsen's own `:node` is a host name, which dsim does not number: left out).
fn origin(node: &Node) -> Origin {
    let Edn::Map(pairs) = &node.value else { return Origin::default() };
    let number = |name: &str| match field(pairs, name)?.value {
        Edn::Int(n) if n >= 0 => Some(n as u64),
        _ => None,
    };
    let id = |name: &str| number(name).and_then(|n| u32::try_from(n).ok());
    Origin { client: id("client"), request: number("request"), node: id("node") }
}

/// A nemesis's value as a [`Value`], whatever EDN it is: maps become lists of `[key value]`
/// pairs, sets lists, a tagged value `[#tag value]`, and other atoms their text.
fn loose_value(node: &Node) -> Value {
    match &node.value {
        Edn::Nil => Value::Nil,
        Edn::Int(i) => Value::Int(*i),
        Edn::Str(s) => Value::Str(s.clone()),
        Edn::Keyword(k) => Value::Str(format!(":{k}")),
        Edn::Vector(items) | Edn::List(items) | Edn::Set(items) => {
            Value::List(items.iter().map(loose_value).collect())
        }
        Edn::Map(pairs) => Value::List(
            pairs.iter().map(|(k, v)| Value::List(vec![loose_value(k), loose_value(v)])).collect(),
        ),
        Edn::Tagged(tag, inner) => {
            Value::List(vec![Value::Str(format!("#{tag}")), loose_value(inner)])
        }
        Edn::Bool(_) | Edn::Float(_) | Edn::Char(_) | Edn::Symbol(_) => {
            Value::Str(loose_text(node))
        }
    }
}

/// An atom's text: `true`, `1.5`, `\\a`, a symbol's name.
fn loose_text(node: &Node) -> String {
    match &node.value {
        Edn::Bool(b) => b.to_string(),
        Edn::Float(x) => x.to_string(),
        Edn::Char(c) => format!("\\{c}"),
        Edn::Symbol(name) | Edn::Str(name) => name.clone(),
        Edn::Keyword(name) => format!(":{name}"),
        Edn::Int(i) => i.to_string(),
        Edn::Nil => "nil".into(),
        other => other.kind().to_owned(),
    }
}

/// The head of a Jepsen operation map: its key-value pairs, its process and its type.
pub type OperationHead<'n> = (&'n [(Node, Node)], u64, EventType);

/// The common head of a Jepsen operation map; `None` for an operation of a process that is
/// not a client (`:nemesis`).
pub fn operation_head(node: &Node) -> Result<Option<OperationHead<'_>>, ParseError> {
    let Edn::Map(pairs) = &node.value else {
        return Err(content_error(
            node,
            format!(
                "expected an operation map like {{:process 0, :type :invoke, :f :read, :value nil}}, found {}",
                node.value.kind()
            ),
        ));
    };
    let process = field(pairs, "process")
        .ok_or_else(|| content_error(node, "this operation has no :process"))?;
    let process = match process.value {
        Edn::Int(p) if p >= 0 => p as u64,
        Edn::Int(p) => {
            return Err(content_error(
                process,
                format!("a :process must be a non-negative integer, not {p}"),
            ));
        }
        // `:nemesis` and other non-client processes inject faults; they are not operations.
        _ => return Ok(None),
    };
    let kind_node =
        field(pairs, "type").ok_or_else(|| content_error(node, "this operation has no :type"))?;
    Ok(Some((pairs, process, event_type(kind_node)?)))
}

/// An operation's `:type`.
fn event_type(kind_node: &Node) -> Result<EventType, ParseError> {
    match name_of(kind_node) {
        Some("invoke") => Ok(EventType::Invoke),
        Some("ok") => Ok(EventType::Ok),
        Some("fail") => Ok(EventType::Fail),
        Some("info") => Ok(EventType::Info),
        _ => Err(content_error(kind_node, "expected a :type of :invoke, :ok, :fail or :info")),
    }
}

/// An operation's `:time`, if it has one (nanoseconds).
pub fn operation_time(pairs: &[(Node, Node)]) -> Result<Option<SimTime>, ParseError> {
    match field(pairs, "time") {
        None => Ok(None),
        Some(Node { value: Edn::Int(t), .. }) if *t >= 0 => Ok(Some(SimTime(*t as u64))),
        Some(other) => {
            Err(content_error(other, "a :time must be a non-negative integer (nanoseconds)"))
        }
    }
}

/// The value of the keyword `name` in a map's pairs.
pub fn field<'n>(pairs: &'n [(Node, Node)], name: &str) -> Option<&'n Node> {
    pairs
        .iter()
        .find(|(key, _)| matches!(&key.value, Edn::Keyword(k) if k == name))
        .map(|(_, value)| value)
}

/// An error about the contents of `node`, at its position.
pub fn content_error(node: &Node, message: impl Into<String>) -> ParseError {
    ParseError::new(node.position.line, node.position.column, message)
}

/// One history event, or `None` for a non-client (nemesis) operation.
fn event_from_node(node: &Node) -> Result<Option<HistoryEvent>, ParseError> {
    let Some((pairs, process, kind)) = operation_head(node)? else { return Ok(None) };
    let f_node =
        field(pairs, "f").ok_or_else(|| content_error(node, "this operation has no :f"))?;
    let Some(f) = name_of(f_node).and_then(Function::named) else {
        return Err(content_error(
            f_node,
            "unknown :f for a client operation: expected :read, :write, :cas, :get, :put, :append, :add, :enqueue or :dequeue",
        ));
    };
    let value = match field(pairs, "value") {
        Some(value) => value_from_node(value)?,
        None => Value::Nil,
    };
    let key = field(pairs, "key").map(value_from_node).transpose()?;
    let time = operation_time(pairs)?;
    Ok(Some(HistoryEvent { process, kind, f, key, value, time }))
}

/// The name of a keyword, symbol or string.
pub fn name_of(node: &Node) -> Option<&str> {
    match &node.value {
        Edn::Keyword(name) | Edn::Symbol(name) | Edn::Str(name) => Some(name),
        _ => None,
    }
}

fn value_from_node(node: &Node) -> Result<Value, ParseError> {
    Ok(match &node.value {
        Edn::Nil => Value::Nil,
        Edn::Int(i) => Value::Int(*i),
        Edn::Str(s) => Value::Str(s.clone()),
        Edn::Keyword(k) => Value::Str(format!(":{k}")),
        // A set (a set model's read) is a list of its elements, in the file's order.
        Edn::Vector(items) | Edn::List(items) | Edn::Set(items) => {
            Value::List(items.iter().map(value_from_node).collect::<Result<_, _>>()?)
        }
        other => {
            return Err(content_error(
                node,
                format!(
                    "a :value or :key must be nil, an integer, a string, a keyword, a vector or a set, not {}",
                    other.kind()
                ),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_one(text: &str) -> Edn {
        let mut nodes = read_all(text).unwrap();
        assert_eq!(nodes.len(), 1, "{text}");
        nodes.remove(0).value
    }

    fn error(text: &str) -> String {
        read_all(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_scalars() {
        assert_eq!(read_one("nil"), Edn::Nil);
        assert_eq!(read_one("true"), Edn::Bool(true));
        assert_eq!(read_one("-42"), Edn::Int(-42));
        assert_eq!(read_one("+7"), Edn::Int(7));
        assert_eq!(read_one("12N"), Edn::Int(12));
        assert_eq!(read_one("1.5e3"), Edn::Float(1500.0));
        assert_eq!(read_one("2.5M"), Edn::Float(2.5));
        assert_eq!(read_one(":ok"), Edn::Keyword("ok".into()));
        assert_eq!(read_one(":a/b"), Edn::Keyword("a/b".into()));
        assert_eq!(read_one("foo-bar?"), Edn::Symbol("foo-bar?".into()));
        assert_eq!(read_one("-"), Edn::Symbol("-".into()));
        assert_eq!(read_one(r#""a\"b\\c\n\u00e9""#), Edn::Str("a\"b\\c\né".into()));
        assert_eq!(read_one(r"\a"), Edn::Char('a'));
        assert_eq!(read_one(r"\newline"), Edn::Char('\n'));
        assert_eq!(read_one("##Inf"), Edn::Float(f64::INFINITY));
    }

    #[test]
    fn reads_collections_comments_and_discards() {
        let value = read_one("[1, (2 3) ; comment\n {:a #{4}} #_ 5 #inst \"2020\"]");
        let Edn::Vector(items) = value else { panic!("not a vector") };
        assert_eq!(items.len(), 4);
        assert_eq!(items[1].position, Position { line: 1, column: 5 });
        assert!(matches!(&items[1].value, Edn::List(list) if list.len() == 2));
        assert!(matches!(&items[2].value, Edn::Map(pairs) if pairs.len() == 1));
        assert_eq!(items[2].position, Position { line: 2, column: 2 });
        assert!(matches!(&items[3].value, Edn::Tagged(tag, _) if tag == "inst"));
    }

    #[test]
    fn errors_say_where_and_what() {
        assert_eq!(
            error("[1 2"),
            "1:5: expected `]` to close the vector opened at line 1, column 1, found the end of the input"
        );
        assert_eq!(
            error("[1 2)"),
            "1:5: expected `]` to close the vector opened at line 1, column 1, found `)`"
        );
        assert_eq!(error("\n  \"abc"), "2:3: this string is never closed: expected a closing `\"`");
        assert_eq!(
            error("{:a 1 :b}"),
            "1:1: a map needs a value for every key, but this one has 3 forms"
        );
        assert_eq!(error("{:a 1 :a 2}"), "1:7: this key appears twice in the map");
        assert!(
            error("99999999999999999999")
                .starts_with("1:1: `99999999999999999999` is not a number")
        );
        assert!(error(":").starts_with("1:1: a keyword needs a name"));
        assert!(error("#?").starts_with("1:1: unexpected `?` after `#`"));
        assert!(error(")").starts_with("1:1: unexpected `)`"));
        assert!(error(&"[".repeat(MAX_DEPTH + 1)).contains("nest deeper"));
        assert!(error(&format!("{}1", "#t ".repeat(MAX_DEPTH + 1))).contains("nest deeper"));
        assert_eq!(
            error(&"9".repeat(1000)),
            format!(
                "1:1: `{}… (1000 characters)` is not a number: expected an integer like -12 or a float like 1.5e3 (integers must fit in 64 bits, -2^63 to 2^63-1)",
                "9".repeat(40)
            )
        );
        assert!(error(r"\u+123").starts_with("1:1: unknown character"));
    }

    #[test]
    fn discards_chain_without_recursion() {
        assert_eq!(read_one("#_ #_ 1 2 3"), Edn::Int(3));
        assert_eq!(error("[#_ #_ 1]"), "1:2: `#_` must be followed by a value to discard");
        assert_eq!(error("[#_ #_]"), "1:5: `#_` must be followed by a value to discard");
        // Far more than any stack would take one frame each for.
        let chain = 100_000;
        let text = format!("[{}{} 7]", "#_ ".repeat(chain), "1 ".repeat(chain));
        assert_eq!(
            read_one(&text),
            Edn::Vector(vec![Node {
                position: Position { line: 1, column: 3 + 5 * chain },
                value: Edn::Int(7)
            }])
        );
        assert_eq!(
            error(&format!("[{}1]", "#_ ".repeat(chain))),
            format!("1:{}: `#_` must be followed by a value to discard", 2 + 3 * (chain - 2))
        );
    }

    #[test]
    fn repeated_keys_are_found_whatever_their_kind() {
        assert_eq!(error("{:b 1 :a 2 :a 3 :b 4}"), "1:12: this key appears twice in the map");
        assert_eq!(error("{[1 {:x 2}] 1 [1 {:x 2}] 2}"), "1:15: this key appears twice in the map");
        assert_eq!(error("{0.0 1 -0.0 2}"), "1:8: this key appears twice in the map");
        assert_eq!(error("{#t 1, 2 #t 1, 3}"), "1:10: this key appears twice in the map");
        assert!(
            matches!(read_one("{[1] 1 (1) 2 #{1} 3 1 4 \\1 5 \"1\" 6 :1 7}"), Edn::Map(pairs) if pairs.len() == 7)
        );
        let keys = 100_000;
        let map: String = (0..keys).map(|i| format!(":k{i} {i} ")).collect();
        assert!(matches!(read_one(&format!("{{{map}}}")), Edn::Map(pairs) if pairs.len() == keys));
        let column = map.len() + 2;
        assert_eq!(
            error(&format!("{{{map}:k7 0}}")),
            format!("1:{column}: this key appears twice in the map")
        );
    }

    #[test]
    fn history_from_a_vector_or_one_map_a_line() {
        let vector = "; a comment\n[{:process 0, :type :invoke, :f :write, :value 1}\n \
                      {:process :nemesis, :type :info, :f :kill, :value nil}\n \
                      {:process 0, :type :ok, :f :write, :value 1, :time 17}]";
        let lines = "{:process 0, :type :invoke, :f :put, :key \"k\", :value \"x\"}\n\
                     {:process 0, :type :ok, :f :put, :key \"k\", :value \"x\"}\n";
        let history = parse_history(vector).unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history.events[1].time, Some(SimTime(17)));
        assert_eq!(history.events[1].kind, EventType::Ok);
        let history = parse_history(lines).unwrap();
        assert_eq!(history.events[0].f, Function::Write);
        assert_eq!(history.events[0].key, Some(Value::Str("k".into())));
        let cas = parse_history("({:process 1 :type :invoke :f :cas :value [1 2]})").unwrap();
        assert_eq!(cas.events[0].value, Value::List(vec![Value::Int(1), Value::Int(2)]));
        assert_eq!(parse_history("").unwrap().len(), 0);
        assert_eq!(parse_history("\u{feff}[]").unwrap().len(), 0);
        assert_eq!(
            parse_history("\u{feff}[{:process 0, :type :invoke, :f :read}]\r\n").unwrap().len(),
            1
        );
    }

    #[test]
    fn nemesis_operations_and_origins_are_kept() {
        let text = "{:process 0, :type :invoke, :f :read, :client 0, :request 4, :node \"n1\"}\n\
                    {:process :nemesis, :type :info, :f :start-partition, :value {\"n1\" #{\"n2\"}}, :time 5}\n\
                    {:process 0, :type :ok, :f :read, :value 3, :client 0, :request 4, :node 2}\n\
                    {:process :nemesis, :type :info, :f :stop-partition, :value :majority}\n";
        let history = parse_history(text).unwrap();
        assert_eq!(history.len(), 2);
        // Jepsen's host name is not a node id: left out.
        assert_eq!(history.origin(0), Origin { client: Some(0), request: Some(4), node: None });
        assert_eq!(history.origin(1), Origin { client: Some(0), request: Some(4), node: Some(2) });
        let pair =
            Value::List(vec![Value::Str("n1".into()), Value::List(vec![Value::Str("n2".into())])]);
        assert_eq!(
            history.nemesis,
            [
                NemesisEvent {
                    position: 1,
                    process: "nemesis".into(),
                    kind: EventType::Info,
                    f: "start-partition".into(),
                    value: Value::List(vec![pair]),
                    time: Some(SimTime(5)),
                },
                NemesisEvent {
                    position: 2,
                    process: "nemesis".into(),
                    kind: EventType::Info,
                    f: "stop-partition".into(),
                    value: Value::Str(":majority".into()),
                    time: None,
                },
            ]
        );
        assert_eq!(
            parse_history("{:process :nemesis, :type :begin}").unwrap_err().to_string(),
            "1:27: expected a :type of :invoke, :ok, :fail or :info"
        );
    }

    #[test]
    fn a_history_is_one_sequence_or_maps_one_after_another() {
        let error = |text: &str| parse_history(text).unwrap_err().to_string();
        assert_eq!(
            error("[{:process 0, :type :invoke, :f :read}]\n{:process 0, :type :ok, :f :read}"),
            "1:1: a history is one vector or list of operation maps, or maps one after another, but this vector is followed by more at line 2, column 1"
        );
        assert_eq!(
            error("[] []"),
            "1:1: a history is one vector or list of operation maps, or maps one after another, but this vector is followed by more at line 1, column 4"
        );
        assert!(
            error("{:process 0, :type :invoke, :f :read} []")
                .starts_with("1:39: expected an operation map")
        );
        assert_eq!(
            error("[{:process 0, :type :invoke, :f :read}"),
            "1:39: expected `]` to close the vector opened at line 1, column 1, found the end of the input"
        );
    }

    #[test]
    fn history_content_errors_point_at_the_field() {
        let error = |text: &str| parse_history(text).unwrap_err().to_string();
        assert_eq!(
            error("[{:process 0, :type :invoke, :f :txn, :value 1}]"),
            "1:33: unknown :f for a client operation: expected :read, :write, :cas, :get, :put, :append, :add, :enqueue or :dequeue"
        );
        assert_eq!(
            error("{:process 0, :type :begun, :f :read}"),
            "1:20: expected a :type of :invoke, :ok, :fail or :info"
        );
        assert_eq!(error("[{:type :ok}]"), "1:2: this operation has no :process");
        assert!(error("[1]").starts_with("1:2: expected an operation map"));
        assert!(error("{:process 0, :type :ok, :f :read, :value 1.5}").contains("not a float"));
        assert!(error("{:process 0, :type :ok, :f :read, :time -1}").contains(":time"));
        // A nemesis op with an unknown :f is skipped, not an error.
        assert_eq!(
            parse_history("{:process :nemesis, :type :info, :f :partition}").unwrap().len(),
            0
        );
    }
}
