//! Checkers for what clients saw.
//!
//! Linearizability ([`linearizability`]): Wing and Gong's search with Lowe's memoization,
//! as Porcupine does it, one independent search per key (P-compositionality), under a
//! deterministic step budget; a key whose written values are all distinct is decided in
//! polynomial time instead ([`Model::register_op`]; Gibbons and Korach's method). Histories come from the simulator or from files: Jepsen EDN
//! ([`edn`]) and dsim's own JSON lines ([`jsonl`], documented in `docs/history-format.md`).
//!
//! The usual path:
//!
//! ```
//! use sim_core::check::{self, Format, ModelKind, Verdict};
//!
//! let text = "{:process 0, :type :invoke, :f :write, :value 1}\n\
//!             {:process 0, :type :ok, :f :write, :value 1}\n\
//!             {:process 1, :type :invoke, :f :read, :value nil}\n\
//!             {:process 1, :type :ok, :f :read, :value 2}\n";
//! assert_eq!(check::detect_format(text), Some(Format::JepsenEdn));
//! let history = check::parse_history(text, Format::JepsenEdn).unwrap();
//! let verdict = ModelKind::Register.check(&history, check::DEFAULT_BUDGET).unwrap();
//! assert!(matches!(verdict, Verdict::NotLinearizable(_)));
//! ```

pub mod edn;
pub mod generate;
pub mod html;
pub mod jsonl;
pub mod linearizability;
pub mod model;
pub mod operations;
pub mod txn;

mod bitset;
mod lines;
mod table;
mod unique;

use std::fmt;
use std::str::FromStr;

pub use edn::Position;
pub use linearizability::{
    DEFAULT_BUDGET, KeyProgress, Verdict, Violation, check, check_operations,
};
pub use model::{
    CasRegister, Counter, KeyValue, ListAppend, Model, ModelKind, Queue, Register, RegisterOp, Set,
    WholeMap,
};
pub use operations::{HistoryError, OpId, Operation, operations};

use crate::history::History;

/// A syntax or content error in a history file, with the place it was found (1-based line
/// and column, columns counted in characters).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError { line, column, message: message.into() }
    }
}

/// The history file formats dsim reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Jepsen's EDN: one vector or list of maps, or one map a line.
    JepsenEdn,
    /// dsim's JSON lines: one JSON object a line.
    Jsonl,
}

impl Format {
    /// Every format, each spelled once, by [`Format::name`].
    pub const ALL: [Format; 2] = [Format::JepsenEdn, Format::Jsonl];

    pub fn name(self) -> &'static str {
        match self {
            Format::JepsenEdn => "jepsen-edn",
            Format::Jsonl => "jsonl",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        crate::names::lookup("history format", name, &Format::ALL, |f| f.name()).copied()
    }
}

/// Guesses the format from the first meaningful characters: `{"` starts JSON lines; `[`,
/// `(`, a `;` comment, or `{` followed by a `:keyword` starts EDN. `None` when neither fits
/// (including an empty text).
pub fn detect_format(text: &str) -> Option<Format> {
    let trimmed = without_bom(text).trim_start_matches(|c: char| c.is_whitespace() || c == ',');
    let mut chars = trimmed.chars();
    match chars.next()? {
        '[' | '(' | ';' | '#' => Some(Format::JepsenEdn),
        '{' => {
            let rest = chars.as_str().trim_start_matches(|c: char| c.is_whitespace() || c == ',');
            match rest.chars().next() {
                Some('"') | Some('}') => Some(Format::Jsonl),
                Some(':') => Some(Format::JepsenEdn),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The text without a leading byte order mark (U+FEFF), which some editors write at the
/// start of a UTF-8 file. Columns on the first line are counted after it.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// How much of a token from the input an error message quotes: enough to recognize it, not
/// the whole of a megabyte-long run of digits.
const QUOTED_CHARS_MAX: usize = 40;

/// `text`, or its first [`QUOTED_CHARS_MAX`] characters and how long it is, for quoting in
/// an error message.
pub(crate) fn abbreviate(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS_MAX) {
        None => text.to_string(),
        Some((end, _)) => {
            format!("{}… ({} characters)", &text[..end], text.chars().count())
        }
    }
}

/// Parses a history in the given format.
pub fn parse_history(text: &str, format: Format) -> Result<History, ParseError> {
    match format {
        Format::JepsenEdn => edn::parse_history(text),
        Format::Jsonl => jsonl::parse_jsonl(text),
    }
}

/// Parses a history and says where each event starts in the text (`positions[i]` for
/// `history.events[i]`; column 1 for JSON lines), so that a [`HistoryError`], which names
/// an event index, can be reported as `file:line:column`.
pub fn parse_history_with_positions(
    text: &str,
    format: Format,
) -> Result<(History, Vec<Position>), ParseError> {
    read_history_with_positions(text.as_bytes(), format)
}

/// [`parse_history_with_positions`] from any reader (a file, a pipe), a line at a time:
/// memory holds one line of the text and the history, never the whole text.
pub fn read_history_with_positions(
    source: impl std::io::BufRead,
    format: Format,
) -> Result<(History, Vec<Position>), ParseError> {
    match format {
        Format::JepsenEdn => edn::read_history(source),
        Format::Jsonl => jsonl::read_jsonl(source).map(|(history, lines)| {
            (history, lines.into_iter().map(|line| Position { line, column: 1 }).collect())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        assert_eq!(detect_format("  [{:process 0}]"), Some(Format::JepsenEdn));
        assert_eq!(detect_format("; comment\n({:a 1})"), Some(Format::JepsenEdn));
        assert_eq!(detect_format("{:process 0, :type :ok}"), Some(Format::JepsenEdn));
        assert_eq!(detect_format("{\"process\":0}"), Some(Format::Jsonl));
        assert_eq!(detect_format("{ \"process\":0}"), Some(Format::Jsonl));
        assert_eq!(detect_format(""), None);
        assert_eq!(detect_format("hello"), None);
        assert_eq!(detect_format("{"), None);
        assert_eq!(detect_format("\u{feff}[{:process 0}]"), Some(Format::JepsenEdn));
        assert_eq!(detect_format("\u{feff}{\"process\":0}"), Some(Format::Jsonl));
    }

    #[test]
    fn positions_point_at_each_event() {
        let edn_text = "; c\n[{:process 0, :type :invoke, :f :read}\n {:process :nemesis, :type :info, :f :kill}\n  {:process 0, :type :ok, :f :read}]";
        let (history, positions) =
            parse_history_with_positions(edn_text, Format::JepsenEdn).unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(positions, [Position { line: 2, column: 2 }, Position { line: 4, column: 3 }]);
        let jsonl_text = "\n{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\"}";
        let (_, positions) = parse_history_with_positions(jsonl_text, Format::Jsonl).unwrap();
        assert_eq!(positions, [Position { line: 2, column: 1 }, Position { line: 3, column: 1 }]);
    }

    /// A reader handing over one byte at a time gives what the whole text gives: the line
    /// reader never loses a token, a place or an error at a buffer's edge.
    #[test]
    fn a_reader_gives_what_the_text_gives() {
        let edn_text = "\u{feff}[{:process 0, :type :invoke, :f :write, :key \"k\", :value 1}\r\n {:process :nemesis, :type :info, :f :kill, :value 2}\n {:process 0, :type :ok,\n  :f :write, :key \"k\", :value 1}]";
        let jsonl_text = "\u{feff}{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\r\n\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":3}";
        for (text, format) in [(edn_text, Format::JepsenEdn), (jsonl_text, Format::Jsonl)] {
            let whole = parse_history_with_positions(text, format).unwrap();
            assert_eq!(whole.0.len(), 2, "{format}");
            let byte_by_byte = std::io::BufReader::with_capacity(1, text.as_bytes());
            assert_eq!(read_history_with_positions(byte_by_byte, format).unwrap(), whole);
            let cut = &text[..text.len() - 2];
            let error = parse_history_with_positions(cut, format).unwrap_err();
            let byte_by_byte = std::io::BufReader::with_capacity(1, cut.as_bytes());
            assert_eq!(read_history_with_positions(byte_by_byte, format).unwrap_err(), error);
        }
        // A token that ends the text, with no line end after it, is read whole.
        let nodes = edn::read_all("1\n22 333").unwrap();
        let values: Vec<_> = nodes.into_iter().map(|node| node.value).collect();
        assert_eq!(values, [edn::Edn::Int(1), edn::Edn::Int(22), edn::Edn::Int(333)]);
    }

    #[test]
    fn long_tokens_are_abbreviated_in_messages() {
        assert_eq!(abbreviate("short"), "short");
        let long = "9".repeat(1000);
        assert_eq!(abbreviate(&long), format!("{}… (1000 characters)", &long[..40]));
        assert_eq!(abbreviate(&"é".repeat(41)), format!("{}… (41 characters)", "é".repeat(40)));
    }

    #[test]
    fn format_names_round_trip() {
        for format in [Format::JepsenEdn, Format::Jsonl] {
            assert_eq!(format.name().parse::<Format>(), Ok(format));
        }
        assert!("xml".parse::<Format>().is_err());
    }
}
