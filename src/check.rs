//! `dsim check`: a recorded history against a sequential model (linearizability), or a
//! transactional (`:f :txn`) history for serializability (Elle's method).

use crate::Failure;
use crate::cli::CheckArgs;
use crate::output::write_output;
use sim_core::check::txn::Consistency;
use sim_core::check::{self, Format, ModelKind, Position, Verdict};
use sim_core::history::History;
use sim_core::txn;
use std::fs::File;
use std::io::{BufRead, BufReader, Chain, Cursor, Read};
use std::path::Path;

/// The largest history file `dsim check` reads unless `--max-input-size` says otherwise:
/// two hundred times the largest real history in `testdata/histories` (318 KB), and small
/// enough that reading and checking it fits in a few hundred megabytes of memory.
pub const DEFAULT_MAX_INPUT_SIZE: &str = "64MiB";

pub fn check(args: CheckArgs) -> Result<u8, Failure> {
    let opened = open_history(&args.file, args.format.as_deref(), args.max_input_size)?;
    if opened.transactional {
        return check_transactions(&args, opened);
    }
    let file = opened.name.clone();
    if args.consistency.is_some() {
        return Err(Failure::input(format!(
            "--consistency is for a transactional (:f :txn) history; {file} holds single \
             operations, checked for linearizability against --model"
        )));
    }
    let model = parse_model(args.model.as_deref().unwrap_or(ModelKind::CasRegister.name()))?;
    let (history, positions) = parse_operations(opened)?;
    let verdict = run_model(&file, model, &history, &positions, args.budget, args.no_partition)?;
    let words = match (&verdict, history.operations()) {
        (Verdict::Linearizable, 0) => format!(
            "linearizable (trivially: 0 client operations, only {} nemesis events)",
            history.nemesis.len()
        ),
        _ => verdict.to_string(),
    };
    let nemesis = match history.nemesis.len() {
        0 => String::new(),
        n => format!("; {n} nemesis events, not checked"),
    };
    println!(
        "{file}: {} events ({} operations{nemesis}), {} model{}",
        history.len(),
        history.operations(),
        model.name(),
        if args.no_partition { " over the whole map" } else { "" }
    );
    print!("{words}");
    if !words.ends_with('\n') {
        println!();
    }
    if let Verdict::Unknown { .. } = verdict {
        println!(
            "to search further, raise the budget (now {}) with --budget, e.g. --budget {} (time and memory grow with it)",
            args.budget,
            args.budget.saturating_mul(4).max(check::DEFAULT_BUDGET)
        );
    }
    if let Some(path) = &args.html {
        let page = match &verdict {
            Verdict::NotLinearizable(violation) => check::html::render(&history, violation),
            _ => check::html::render_no_violation(&history, model.name(), &words),
        };
        write_output(path, &page)?;
        println!("wrote {}", path.display());
    }
    Ok(match verdict {
        Verdict::Linearizable => 0,
        Verdict::NotLinearizable(_) => 1,
        Verdict::Unknown { .. } => 2,
    })
}

/// A history file opened for reading: its format, whether it holds transactions, and its
/// text from the start, to be read a line at a time.
pub(crate) struct HistoryFile {
    pub(crate) name: String,
    pub(crate) format: Format,
    /// It holds `:f :txn` operations (checked for serializability).
    pub(crate) transactional: bool,
    /// The first lines (read to tell the format), then the rest of the file.
    text: Chain<Cursor<Vec<u8>>, BufReader<Limited>>,
}

impl HistoryFile {
    /// What `reader` makes of the text, unless the file turned out larger than the limit
    /// (which the reader saw as a read error).
    fn read<T>(
        mut self,
        reader: impl FnOnce(&mut dyn BufRead) -> Result<T, check::ParseError>,
    ) -> Result<T, Failure> {
        let read = reader(&mut self.text);
        let limited = self.text.get_ref().1.get_ref();
        if limited.over {
            return Err(limited.too_large(&self.name, None));
        }
        let format = self.format;
        read.map_err(|e| Failure::input(format!("{}:{e} (reading it as {format})", self.name)))
    }
}

/// Opens a history file and finds its format (`--format`, or detected from its first
/// lines). Only those lines are read here; the readers take the rest a line at a time.
pub(crate) fn open_history(
    path: &Path,
    format: Option<&str>,
    limit: u64,
) -> Result<HistoryFile, Failure> {
    let name = path.display().to_string();
    let cannot_read = |e: std::io::Error| Failure::input(format!("{name}: cannot read: {e}"));
    let opened = File::open(path).map_err(cannot_read)?;
    let metadata = opened.metadata().map_err(cannot_read)?;
    if metadata.is_dir() {
        return Err(Failure::input(format!(
            "{name}: is a directory; expected a history file (Jepsen EDN or dsim JSON lines)"
        )));
    }
    let limited = Limited { file: opened, limit, read: 0, over: false };
    if metadata.is_file() && metadata.len() > limit {
        return Err(limited.too_large(&name, Some(metadata.len())));
    }
    let mut rest = BufReader::with_capacity(1 << 16, limited);
    let first_lines = first_lines(&mut rest);
    if rest.get_ref().over {
        return Err(rest.get_ref().too_large(&name, None));
    }
    let first_lines = first_lines.map_err(cannot_read)?;
    let sniffed = String::from_utf8_lossy(&first_lines);
    let format = match format {
        Some(given) => {
            given.parse::<Format>().map_err(|e| Failure::input(format!("--format {given}: {e}")))?
        }
        None => {
            check::detect_format(&sniffed).ok_or_else(|| undetected_format(&name, &first_lines))?
        }
    };
    let transactional = sim_core::txn::is_txn_history(&sniffed);
    Ok(HistoryFile { name, format, transactional, text: Cursor::new(first_lines).chain(rest) })
}

/// The first lines of a history: up to the first `:f ` (EDN) or `"f":` (JSON) field and
/// the start of its value, which is enough to tell the format and whether the history is
/// transactional ([`sim_core::txn::is_txn_history`] reads the first such field); the whole
/// file if it has no such field.
fn first_lines(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut lines = Vec::new();
    let mut field_seen = false;
    loop {
        let start = lines.len();
        if reader.read_until(b'\n', &mut lines)? == 0 {
            return Ok(lines);
        }
        let line = &lines[start..];
        let after_field = if field_seen {
            line
        } else {
            let field = [&b":f "[..], b"\"f\":"].into_iter().find_map(|name| {
                line.windows(name.len()).position(|w| w == name).map(|at| at + name.len())
            });
            let Some(end) = field else { continue };
            field_seen = true;
            &line[end..]
        };
        if after_field.iter().any(|b| !b.is_ascii_whitespace()) {
            return Ok(lines);
        }
    }
}

/// A file read up to a limit: one byte more is a read error (and `over`), so a pipe or
/// `/dev/zero` is refused after reading at most `limit + 1` bytes.
struct Limited {
    file: File,
    limit: u64,
    read: u64,
    over: bool,
}

impl Read for Limited {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let room = self.limit.saturating_sub(self.read).saturating_add(1);
        let wanted = buffer.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let read = self.file.read(&mut buffer[..wanted])?;
        self.read += read as u64;
        if self.read > self.limit {
            self.over = true;
            return Err(std::io::Error::other("over the size limit"));
        }
        Ok(read)
    }
}

impl Limited {
    /// The message for a file of `size` bytes (unknown: more than the limit).
    fn too_large(&self, file: &str, size: Option<u64>) -> Failure {
        let limit = self.limit;
        let size = size
            .map_or(format!("holds more than {limit} bytes"), |size| format!("is {size} bytes"));
        Failure::input(format!(
            "{file}: {size}, over the limit of {} for a history file; raise the limit with --max-input-size, e.g. --max-input-size {}",
            describe_size(limit),
            size_argument(limit.saturating_mul(4))
        ))
    }
}

/// `--model`'s value.
pub(crate) fn parse_model(name: &str) -> Result<ModelKind, Failure> {
    name.parse().map_err(|e| Failure::input(format!("--model {name}: {e}")))
}

/// Reads a history of single operations, a line at a time, with each event's place in the
/// file. A file with no events at all (not even nemesis events) is refused: nothing was
/// recorded, which is more likely a wrong or truncated file than a run. A history of only
/// nemesis events is kept: with no client operations it is trivially linearizable.
pub(crate) fn parse_operations(opened: HistoryFile) -> Result<(History, Vec<Position>), Failure> {
    let file = opened.name.clone();
    let format = opened.format;
    let (history, positions) =
        opened.read(|text| check::read_history_with_positions(text, format))?;
    if history.is_empty() && history.nemesis.is_empty() {
        return Err(Failure::input(format!(
            "{file}: the history holds no events (no client operations, no nemesis events), \
             so there is nothing to check"
        )));
    }
    Ok((history, positions))
}

/// Checks a history for linearizability, key by key or (`whole_map`) all at once; a
/// history the model cannot read is bad input at the offending event's place.
pub(crate) fn run_model(
    file: &str,
    model: ModelKind,
    history: &History,
    positions: &[Position],
    budget: u64,
    whole_map: bool,
) -> Result<Verdict, Failure> {
    let checked = if whole_map {
        model.check_whole_map(history, budget)
    } else {
        model.check(history, budget)
    };
    checked.map_err(|e| {
        let place = positions
            .get(e.event_index())
            .map_or("1:1".into(), |p| format!("{}:{}", p.line, p.column));
        Failure::input(format!("{file}:{place}: {e}"))
    })
}

/// A transactional history, checked for (strict) serializability: exit 0 when it has no
/// anomaly, 1 when it has one.
fn check_transactions(args: &CheckArgs, opened: HistoryFile) -> Result<u8, Failure> {
    let file = opened.name.clone();
    if args.no_partition {
        return Err(Failure::input(
            "--no-partition is for linearizability; a transactional history is checked as a whole",
        ));
    }
    if let Some(model) = &args.model {
        return Err(Failure::input(format!(
            "--model {model} is for linearizability; {file} is a transactional (:f :txn) \
             history, checked for serializability (choose the guarantee with --consistency)"
        )));
    }
    let consistency = match args.consistency.as_deref() {
        Some("serializable") => Consistency::Serializable,
        _ => Consistency::StrictSerializable,
    };
    let format = opened.format;
    let (history, places) = opened.read(|text| match format {
        Format::JepsenEdn => txn::parse_edn(text).map(|(history, positions)| {
            (history, positions.iter().map(|p| (p.line, p.column)).collect::<Vec<_>>())
        }),
        Format::Jsonl => check::jsonl::parse_txn_jsonl(text)
            .map(|(history, lines)| (history, lines.iter().map(|&l| (l, 1)).collect::<Vec<_>>())),
    })?;
    let analysis = check::txn::check(&history, consistency).map_err(|e| {
        let (line, column) = places.get(e.event).copied().unwrap_or((1, 1));
        Failure::input(format!("{file}:{line}:{column}: {}", e.message))
    })?;
    println!("{file}: {} transactions", analysis.ops.len());
    print!("{analysis}");
    if let Some(path) = &args.html {
        write_output(path, &check::txn::html::render(&analysis))?;
        println!("wrote {}", path.display());
    }
    Ok(if analysis.is_valid() { 0 } else { 1 })
}

/// The 1-based line and column (in characters) just after `valid`, which is valid UTF-8;
/// a byte order mark opening the first line is not counted, as the readers skip it.
fn line_and_column(valid: &[u8]) -> (usize, usize) {
    let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |newline| newline + 1);
    let line = valid[..line_start].iter().filter(|&&b| b == b'\n').count() + 1;
    let mut current = &valid[line_start..];
    if line == 1 {
        current = current.strip_prefix("\u{feff}".as_bytes()).unwrap_or(current);
    }
    // Count the bytes that start a character, not UTF-8 continuation bytes.
    let characters = current.iter().filter(|&&b| b & 0xC0 != 0x80).count();
    (line, characters + 1)
}

/// Why the format of a file's first lines (`bytes`) cannot be told: it is empty, its first
/// meaningful byte is not UTF-8, or that character starts neither format.
fn undetected_format(file: &str, bytes: &[u8]) -> Failure {
    let lossy = String::from_utf8_lossy(bytes);
    let text: &str = &lossy;
    let flags: Vec<String> = Format::ALL.iter().map(|f| format!("--format {f}")).collect();
    let expected = format!(
        "expected Jepsen EDN (maps of :keywords) or dsim JSON lines; give {}",
        flags.join(" or ")
    );
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(first) = body.find(|c: char| !c.is_whitespace() && c != ',') else {
        return Failure::input(format!(
            "{file}: the file is empty (an empty EDN history is `[]`); {expected}"
        ));
    };
    // Everything before it is valid UTF-8, so its offset is the same in `bytes`.
    let at = first + text.len() - body.len();
    let (line, column) = line_and_column(&bytes[..at]);
    if std::str::from_utf8(&bytes[at..]).is_err_and(|error| error.valid_up_to() == 0) {
        return Failure::input(format!(
            "{file}:{line}:{column}: the byte 0x{:02x} is not UTF-8; a history file must be UTF-8 text",
            bytes[at]
        ));
    }
    Failure::input(format!("{file}:{line}:{column}: cannot tell the history's format; {expected}"))
}

/// Parses a size in bytes for `--max-input-size`: a number of bytes, or of KiB, MiB or GiB
/// (`512KiB`, `64MiB`, `2GiB`; `K`, `M` and `G` alone mean the same).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let multiplier: u64 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size: expected bytes, or a number followed by KiB, MiB or GiB, like 64MiB"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|&bytes| bytes > 0)
        .ok_or_else(|| format!("`{text}` is not a size: expected a whole number of bytes from 1 to 2^64-1, or of KiB, MiB or GiB, like 64MiB"))
}

/// A size in the largest binary unit that divides it: `(64, "MiB")`, or `(1000, "")`.
fn in_units(bytes: u64) -> (u64, &'static str) {
    [(30, "GiB"), (20, "MiB"), (10, "KiB")]
        .into_iter()
        .find(|&(shift, _)| bytes > 0 && bytes.is_multiple_of(1 << shift))
        .map_or((bytes, ""), |(shift, unit)| (bytes >> shift, unit))
}

/// `64 MiB`, or `1000 bytes`, for a message.
fn describe_size(bytes: u64) -> String {
    match in_units(bytes) {
        (number, "") => format!("{number} bytes"),
        (number, unit) => format!("{number} {unit}"),
    }
}

/// `64MiB`, or `1000`, as `--max-input-size` takes it.
fn size_argument(bytes: u64) -> String {
    let (number, unit) = in_units(bytes);
    format!("{number}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_bytes_and_binary_units() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("2gib"), Ok(2 << 30));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert!(parse_size("").is_err());
        assert!(parse_size("64MB").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert!(parse_size("0").is_err());
        assert_eq!(describe_size(64 << 20), "64 MiB");
        assert_eq!(describe_size(1000), "1000 bytes");
        assert_eq!(size_argument(4000), "4000");
        assert_eq!(size_argument(256 << 20), "256MiB");
        for bytes in [1, 1000, 4 << 10, 256 << 20, 3 << 30] {
            assert_eq!(parse_size(&size_argument(bytes)), Ok(bytes));
        }
    }

    #[test]
    fn places_count_characters_after_a_byte_order_mark() {
        assert_eq!(line_and_column(b""), (1, 1));
        assert_eq!(line_and_column("ab\ncé".as_bytes()), (2, 3));
        assert_eq!(line_and_column("\u{feff}ab".as_bytes()), (1, 3));
        assert_eq!(line_and_column("a\n\u{feff}b".as_bytes()), (2, 3));
    }
}
