//! `dsim check`: a recorded history against a sequential model.

use crate::Failure;
use crate::cli::CheckArgs;
use crate::output::write_output;
use sim_core::check::{self, Format, ModelKind, Verdict};

pub fn check(args: CheckArgs) -> Result<u8, Failure> {
    let file = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| Failure::input(format!("{file}: cannot read: {e}")))?;
    let format = match &args.format {
        Some(name) => name.parse::<Format>().map_err(|e| Failure::input(format!("--format {name}: {e}")))?,
        None => check::detect_format(&text).ok_or_else(|| {
            Failure::input(format!(
                "{file}: cannot tell the history's format; expected Jepsen EDN (maps of :keywords) or dsim JSON lines; give --format jepsen-edn or --format jsonl"
            ))
        })?,
    };
    let model: ModelKind =
        args.model.parse().map_err(|e| Failure::input(format!("--model {}: {e}", args.model)))?;
    let (history, positions) = check::parse_history_with_positions(&text, format)
        .map_err(|e| Failure::input(format!("{file}:{e} (reading it as {format})")))?;
    let verdict = model.check(&history, args.budget).map_err(|e| {
        let place = positions
            .get(e.event_index())
            .map_or("1:1".into(), |p| format!("{}:{}", p.line, p.column));
        Failure::input(format!("{file}:{place}: {e}"))
    })?;
    println!("{file}: {} operations, {} model", history.len(), model.name());
    print!("{verdict}");
    if !verdict.to_string().ends_with('\n') {
        println!();
    }
    match verdict {
        Verdict::Linearizable => Ok(0),
        Verdict::NotLinearizable(violation) => {
            if let Some(path) = &args.html {
                write_output(path, &check::html::render(&history, &violation))?;
                println!("wrote {}", path.display());
            }
            Ok(1)
        }
        Verdict::Unknown { .. } => Ok(2),
    }
}
