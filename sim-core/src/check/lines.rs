//! A history's text, one line at a time from any [`BufRead`] the caller opened (a file, a
//! pipe, a byte slice), so that the readers ([`super::edn`], [`super::jsonl`]) hold one line
//! of the text and the operations they keep, never the whole file.
//!
//! sim-core opens nothing: a read error of the caller's reader comes back as a
//! [`ParseError`] at the line it was reading, and bytes that are not UTF-8 as one at their
//! line and column.

use super::ParseError;
use std::io::BufRead;

/// The byte order mark some editors write at the start of a UTF-8 file; skipped, and not
/// counted in the first line's columns.
const BYTE_ORDER_MARK: &str = "\u{feff}";

pub(crate) struct Lines<R> {
    reader: R,
    /// The current line, with its `\n` if it has one (every line but the last has).
    line: String,
    /// A spare buffer the next line is read into, so that the current one stays whole
    /// until the next one is known to exist.
    spare: Vec<u8>,
    /// The current line's 1-based number; 0 before the first.
    number: usize,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(reader: R) -> Self {
        Lines { reader, line: String::new(), spare: Vec::new(), number: 0 }
    }

    /// The current line (empty before the first and in an empty input).
    pub(crate) fn line(&self) -> &str {
        &self.line
    }

    /// Moves to the next line: `Ok(false)` at the end of the input, the current line staying
    /// as it was (a token that ends the input is still there to slice).
    pub(crate) fn advance(&mut self) -> Result<bool, ParseError> {
        self.spare.clear();
        let next = self.number + 1;
        let read = self.reader.read_until(b'\n', &mut self.spare).map_err(|error| {
            ParseError::new(next, 1, format!("cannot read line {next} of the history: {error}"))
        })?;
        if read == 0 {
            return Ok(false);
        }
        let text = String::from_utf8(std::mem::take(&mut self.spare))
            .map_err(|error| not_utf8(next, error.as_bytes(), error.utf8_error().valid_up_to()))?;
        self.spare = std::mem::replace(&mut self.line, text).into_bytes();
        self.number = next;
        if next == 1 && self.line.starts_with(BYTE_ORDER_MARK) {
            self.line.drain(..BYTE_ORDER_MARK.len());
        }
        Ok(true)
    }
}

/// The error for line `number`'s bytes, valid UTF-8 up to `valid`: at the column (in
/// characters, after a byte order mark on the first line) of the first bad byte.
fn not_utf8(number: usize, bytes: &[u8], valid: usize) -> ParseError {
    let mut before = &bytes[..valid];
    if number == 1 {
        before = before.strip_prefix(BYTE_ORDER_MARK.as_bytes()).unwrap_or(before);
    }
    // Count the bytes that start a character, not UTF-8 continuation bytes.
    let characters = before.iter().filter(|&&b| b & 0xC0 != 0x80).count();
    ParseError::new(
        number,
        characters + 1,
        format!("the byte 0x{:02x} is not UTF-8; a history file must be UTF-8 text", bytes[valid]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_lines(bytes: &[u8]) -> Result<Vec<String>, ParseError> {
        all_lines_of(bytes)
    }

    fn all_lines_of(source: impl BufRead) -> Result<Vec<String>, ParseError> {
        let mut lines = Lines::new(source);
        let mut seen = Vec::new();
        while lines.advance()? {
            seen.push(lines.line().to_string());
        }
        Ok(seen)
    }

    #[test]
    fn lines_keep_their_ends_and_the_last_stays_at_the_end() {
        assert_eq!(all_lines(b"").unwrap(), Vec::<String>::new());
        assert_eq!(all_lines(b"a\r\nb\n\nc").unwrap(), ["a\r\n", "b\n", "\n", "c"]);
        let mut lines = Lines::new(&b"x\nlast"[..]);
        assert!(lines.advance().unwrap());
        assert!(lines.advance().unwrap());
        assert!(!lines.advance().unwrap());
        assert_eq!(lines.line(), "last");
    }

    #[test]
    fn a_byte_order_mark_is_skipped_on_the_first_line_only() {
        let text = "\u{feff}a\n\u{feff}b";
        assert_eq!(all_lines(text.as_bytes()).unwrap(), ["a\n", "\u{feff}b"]);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_placed_in_characters() {
        let error = all_lines(b"ok\n\xc3\xa9a\xffb\n").unwrap_err();
        assert_eq!((error.line, error.column), (2, 3));
        assert_eq!(error.message, "the byte 0xff is not UTF-8; a history file must be UTF-8 text");
        let error = all_lines(b"\xef\xbb\xbfab\x80").unwrap_err();
        assert_eq!((error.line, error.column), (1, 3));
    }

    /// A reader that gives `good` and then fails.
    struct FailsAfter(&'static [u8]);

    impl std::io::Read for FailsAfter {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("the disk went away"));
            }
            let n = self.0.len().min(buffer.len());
            buffer[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_is_placed_at_the_line_being_read() {
        let error = all_lines_of(std::io::BufReader::new(FailsAfter(b"one\ntwo\n"))).unwrap_err();
        assert_eq!((error.line, error.column), (3, 1));
        assert_eq!(error.message, "cannot read line 3 of the history: the disk went away");
    }
}
