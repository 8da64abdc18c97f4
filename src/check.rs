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
use std::io::Read;
use std::path::Path;

/// The largest history file `dsim check` reads unless `--max-input-size` says otherwise:
/// two hundred times the largest real history in `testdata/histories` (318 KB), and small
/// enough that reading and checking it fits in a few hundred megabytes of memory.
pub const DEFAULT_MAX_INPUT_SIZE: &str = "64MiB";

pub fn check(args: CheckArgs) -> Result<u8, Failure> {
    let file = args.file.display().to_string();
    let (text, format) = read_and_detect(&args.file, args.format.as_deref(), args.max_input_size)?;
    if sim_core::txn::is_txn_history(&text) {
        return check_transactions(&args, &file, &text, format);
    }
    if args.consistency.is_some() {
        return Err(Failure::input(format!(
            "--consistency is for a transactional (:f :txn) history; {file} holds single \
             operations, checked for linearizability against --model"
        )));
    }
    let model = parse_model(args.model.as_deref().unwrap_or(ModelKind::CasRegister.name()))?;
    let (history, positions) = parse_operations(&file, &text, format)?;
    drop(text);
    let verdict = run_model(&file, model, &history, &positions, args.budget, args.no_partition)?;
    let words = verdict.to_string();
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

/// Reads a history file and finds its format (`--format`, or detected).
pub(crate) fn read_and_detect(
    path: &Path,
    format: Option<&str>,
    limit: u64,
) -> Result<(String, Format), Failure> {
    let text = read_history(path, limit)?;
    let format = match format {
        Some(name) => {
            name.parse::<Format>().map_err(|e| Failure::input(format!("--format {name}: {e}")))?
        }
        None => check::detect_format(&text)
            .ok_or_else(|| undetected_format(&path.display().to_string(), &text))?,
    };
    Ok((text, format))
}

/// `--model`'s value.
pub(crate) fn parse_model(name: &str) -> Result<ModelKind, Failure> {
    name.parse().map_err(|e| Failure::input(format!("--model {name}: {e}")))
}

/// Parses a history of single operations, with each event's place in the file; an empty
/// one is refused.
pub(crate) fn parse_operations(
    file: &str,
    text: &str,
    format: Format,
) -> Result<(History, Vec<Position>), Failure> {
    let (history, positions) = check::parse_history_with_positions(text, format)
        .map_err(|e| Failure::input(format!("{file}:{e} (reading it as {format})")))?;
    if history.is_empty() {
        return Err(Failure::input(format!(
            "{file}: the history holds no events, so there is nothing to check"
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
fn check_transactions(
    args: &CheckArgs,
    file: &str,
    text: &str,
    format: Format,
) -> Result<u8, Failure> {
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
    let parsed = match format {
        Format::JepsenEdn => txn::parse_edn(text).map(|(history, positions)| {
            (history, positions.iter().map(|p| (p.line, p.column)).collect())
        }),
        Format::Jsonl => check::jsonl::parse_txn_jsonl(text)
            .map(|(history, lines)| (history, lines.iter().map(|&l| (l, 1)).collect::<Vec<_>>())),
    };
    let (history, places) =
        parsed.map_err(|e| Failure::input(format!("{file}:{e} (reading it as {format})")))?;
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

/// Reads a history file whole as UTF-8 text. A file (or a pipe, or `/dev/zero`) holding more
/// than `limit` bytes is refused after reading at most `limit + 1` of them.
fn read_history(path: &Path, limit: u64) -> Result<String, Failure> {
    let file = path.display();
    let cannot_read = |e: std::io::Error| Failure::input(format!("{file}: cannot read: {e}"));
    let opened = File::open(path).map_err(cannot_read)?;
    let metadata = opened.metadata().map_err(cannot_read)?;
    if metadata.is_dir() {
        return Err(Failure::input(format!(
            "{file}: is a directory; expected a history file (Jepsen EDN or dsim JSON lines)"
        )));
    }
    let too_large = |size: String| {
        Failure::input(format!(
            "{file}: {size}, over the limit of {} for a history file; raise the limit with --max-input-size, e.g. --max-input-size {}",
            describe_size(limit),
            size_argument(limit.saturating_mul(4))
        ))
    };
    if metadata.is_file() && metadata.len() > limit {
        return Err(too_large(format!("is {} bytes", metadata.len())));
    }
    let mut bytes = Vec::new();
    opened.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(cannot_read)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(format!("holds more than {limit} bytes")));
    }
    String::from_utf8(bytes).map_err(|error| {
        let bytes = error.as_bytes();
        let at = error.utf8_error().valid_up_to();
        let (line, column) = line_and_column(&bytes[..at]);
        Failure::input(format!(
            "{file}:{line}:{column}: the byte 0x{:02x} is not UTF-8; a history file must be UTF-8 text",
            bytes[at]
        ))
    })
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

fn undetected_format(file: &str, text: &str) -> Failure {
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
    let (line, column) = line_and_column(&text.as_bytes()[..first + text.len() - body.len()]);
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
