//! `--set KEY=VALUE`: a scenario key set from the command line, over the merged tree of
//! the file and everything it extends, before validation, so that every check applies
//! and a problem names the `--set` argument. VALUE is TOML (`7`, `0.1`, `[1, 5]`,
//! `{ dist = "constant", value = "2ms" }`); a bare word is a string (`--set
//! protocol.name=raft`, `--set run.duration=5s`). In an array of tables the next part
//! picks one, by index from 0 or by name: `--set phases.storm.duration=5s`, `--set
//! phases.1.nemesis.partition_rate=4`, `--set faults.0.at=2s`.

use crate::reader::{Problem, Reader};
use crate::tree::{self, Entry, Sources, Table, Val};
use std::path::{Path, PathBuf};

/// The name of the source that holds one `--set` argument, as messages show it.
pub fn source_name(argument: &str) -> PathBuf {
    PathBuf::from(format!("--set {argument}"))
}

/// Whether `path` is the source of a `--set` argument.
pub fn is_override(path: &Path) -> bool {
    path.to_str().is_some_and(|p| p.starts_with("--set "))
}

/// Set every `KEY=VALUE` of `arguments` in `root`, in order (a later one wins); problems go
/// to `problems`, each naming its argument.
pub fn apply(
    root: &mut Table,
    arguments: &[String],
    sources: &mut Sources,
    problems: &mut Vec<Problem>,
) {
    for argument in arguments {
        let Some((key, value)) = argument.split_once('=') else {
            let file = sources.add(source_name(argument), String::new());
            let loc = tree::Loc { file, span: 0..0 };
            let mut reader = Reader::new(sources);
            reader.problem(&loc, "", "expected KEY=VALUE, e.g. --set cluster.nodes=7");
            problems.extend(reader.problems);
            continue;
        };
        let path: Vec<&str> = key.trim().split('.').map(str::trim).collect();
        let valid_part = |p: &&str| {
            !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        let value = value.trim();
        // What does not parse as TOML is a string (`5s`, `raft`), unless it opens an array,
        // a table or a quoted string: then the TOML mistake is reported.
        let parsed = format!("value = {value}");
        let text =
            if value.starts_with(['[', '{', '"', '\'']) || tree::parse(&parsed, 0).1.is_empty() {
                parsed
            } else {
                format!("value = {}", toml_string(value))
            };
        let file = sources.add(source_name(argument), text);
        let (table, syntax) = tree::parse(sources.text(file), file);
        let mut reader = Reader::new(sources);
        if !path.iter().all(valid_part) {
            let loc = tree::Loc { file, span: 0..0 };
            reader.problem(
                &loc,
                "",
                format!("`{key}` is not a scenario key: expected dotted names such as cluster.nodes or network.loss"),
            );
        } else if let Some(problem) = syntax.first() {
            reader.problem(
                &problem.loc,
                key.trim(),
                format!("the value is not TOML: {}", problem.message),
            );
        } else if let Some(entry) = table.entries.into_iter().next().map(|(_, e)| e)
            && let Err(message) = set(root, &path, entry)
        {
            reader.problem(&tree::Loc { file, span: 0..0 }, key.trim(), message);
        }
        problems.extend(reader.problems);
    }
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Put `entry` at `path` in `table`, making the tables on the way. In an array of tables
/// (`[[phases]]`, `[[faults]]`), the next part picks one: its index from 0, or the table
/// whose `name` it is (`phases.storm.duration`).
fn set(table: &mut Table, path: &[&str], entry: Entry) -> Result<(), String> {
    let (last, parents) = path.split_last().expect("a key has at least one part");
    let mut current = table;
    let mut depth = 0;
    while depth < parents.len() {
        let part = parents[depth];
        let slot = current.entries.entry(part.to_owned()).or_insert_with(|| Entry {
            key_loc: entry.key_loc.clone(),
            item: tree::Item { val: Val::Table(Table::default()), loc: entry.item.loc.clone() },
        });
        let next = path[depth + 1];
        let type_name = slot.item.val.type_name();
        current = match &mut slot.item.val {
            Val::Table(inner) => inner,
            Val::Array(items) if depth + 1 < parents.len() => {
                depth += 1;
                element(items, &path[..depth], next)?
            }
            _ => {
                return Err(format!(
                    "`{}` is {type_name}, not a table, so it has no key `{next}`",
                    path[..=depth].join("."),
                ));
            }
        };
        depth += 1;
    }
    current.entries.insert((*last).to_owned(), entry);
    Ok(())
}

/// The table of array `items` (at `path`) that `part` picks: by index, or by name.
fn element<'t>(
    items: &'t mut [tree::Item],
    path: &[&str],
    part: &str,
) -> Result<&'t mut Table, String> {
    let count = items.len();
    let named = |t: &Table| t.get("name").is_some_and(|e| e.item.val == Val::Str(part.to_owned()));
    let at = match part.parse::<usize>() {
        Ok(index) => Some(index).filter(|&i| i < count),
        Err(_) => items.iter().position(|i| matches!(&i.val, Val::Table(t) if named(t))),
    };
    let array = path.join(".");
    match at.map(|i| &mut items[i].val) {
        Some(Val::Table(t)) => Ok(t),
        Some(other) => Err(format!("`{array}.{part}` is {}, not a table", other.type_name())),
        None => Err(format!(
            "`{array}` has no table `{part}`: it has {count}; pick one by its index, 0 to {}, or by its name",
            count.saturating_sub(1)
        )),
    }
}
