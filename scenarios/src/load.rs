//! Reading scenario files: a scenario found by path or by name (a user's scenario
//! directories, then the bundled ones), `extends` chains resolved relative to each file,
//! `--set` overrides applied, every problem collected with its file, line and column.

use crate::bundled;
use crate::catalogue::Catalogue;
use crate::reader::{Problem, Reader};
use crate::schema::{Scenario, read_scenario};
use crate::tree::{self, Loc, Sources, Table, Val};
use std::fmt;
use std::path::{Path, PathBuf};

/// Every problem found in a scenario (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// How many files an `extends` chain may have.
const MAX_EXTENDS: usize = 8;

/// Load and validate the scenario at `path`.
pub fn load(path: &Path, catalogue: &Catalogue) -> Result<Scenario, ScenarioError> {
    let text = read_source(path)
        .map_err(|e| unlocated(path, format!("cannot read the scenario file: {e}")))?;
    load_str(path, &text, catalogue)
}

/// A problem of a whole file (or argument), with no line and column.
fn unlocated(path: &Path, message: String) -> ScenarioError {
    ScenarioError {
        problems: vec![Problem {
            file: path.to_owned(),
            line: 0,
            column: 0,
            key: String::new(),
            message,
        }],
    }
}

/// The text of a scenario file: a bundled one, or one on disk.
fn read_source(path: &Path) -> std::io::Result<String> {
    match bundled::at(path) {
        Some(file) => Ok(file.text.to_owned()),
        None if bundled::is_bundled(path) => {
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such bundled scenario file"))
        }
        None => read_bounded(path),
    }
}

/// The most a scenario file may hold: far more than any scenario needs (an explicit
/// schedule of thousands of faults is a few hundred KiB), so that `extends = "/dev/zero"`
/// or a wrong file is refused instead of read until memory runs out.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// The text of the file at `path`, refused past [`MAX_SCENARIO_BYTES`] after reading at
/// most one byte more.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_SCENARIO_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it holds more than {} MiB, the most a scenario file may (is it a scenario?)",
                MAX_SCENARIO_BYTES >> 20
            ),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

/// A scenario as the command line names it: where it was found, and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// Its path: on disk, or `bundled:...` (what `extends` is resolved against).
    pub path: PathBuf,
    pub text: String,
}

/// Find the scenario `argument` names: a file, if one is there; else, for a name
/// (`raft-swarm` or `raft-swarm.toml`, no directory), `NAME.toml` in the first of `dirs`
/// that has it, else the bundled scenario of that name. A name found nowhere is an error
/// naming the close ones.
pub fn locate(argument: &Path, dirs: &[PathBuf]) -> Result<Located, ScenarioError> {
    let read = |path: &Path| {
        read_source(path)
            .map(|text| Located { path: path.to_owned(), text })
            .map_err(|e| unlocated(path, format!("cannot read the scenario file: {e}")))
    };
    let name = argument.to_str().map(|a| a.strip_suffix(".toml").unwrap_or(a));
    let name = match name {
        Some(name) if !argument.is_file() && !name.is_empty() && !name.contains(['/', '\\']) => {
            name
        }
        _ => return read(argument),
    };
    if let Some(path) = dirs.iter().map(|d| d.join(format!("{name}.toml"))).find(|p| p.is_file()) {
        return read(&path);
    }
    if let Some(file) = bundled::named(name) {
        return read(&file.virtual_path());
    }
    let known = known_names(dirs);
    let close = close_names(name, &known);
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!(": did you mean {}?", close.join(", "))
    };
    let searched = if dirs.is_empty() {
        "not a file here, not a bundled scenario".to_owned()
    } else {
        let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        format!("not a file here, not in {}, not a bundled scenario", dirs.join(", "))
    };
    Err(unlocated(
        argument,
        format!("no scenario named `{name}` ({searched}){hint} (`dsim scenarios` lists them)"),
    ))
}

/// The scenario names `dirs` hold (their `.toml` files), then the bundled ones.
pub fn known_names(dirs: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for dir in dirs {
        let mut here: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".toml").map(str::to_owned))
            .collect();
        here.sort();
        names.extend(here);
    }
    names.extend(bundled::files().map(|f| f.name().to_owned()));
    names
}

/// Up to five of `known` that `name` may have meant: within a few edits, or containing it.
fn close_names(name: &str, known: &[String]) -> Vec<String> {
    let mut close: Vec<(usize, &String)> = known
        .iter()
        .map(|k| (sim_core::names::distance(name, k), k))
        .filter(|(d, k)| {
            *d <= 2.max(k.chars().count() / 3) || (name.len() >= 3 && k.contains(name))
        })
        .collect();
    close.sort();
    close.dedup_by(|a, b| a.1 == b.1);
    close.into_iter().take(5).map(|(_, k)| k.clone()).collect()
}

/// Load and validate scenario `text`, as if read from `path` (which `extends` is resolved
/// against).
pub fn load_str(path: &Path, text: &str, catalogue: &Catalogue) -> Result<Scenario, ScenarioError> {
    load_with(path, text, &[], catalogue)
}

/// Load and validate scenario `text`, as if read from `path`, with the `--set KEY=VALUE`
/// overrides in `sets` applied over the merged tree before validation.
pub fn load_with(
    path: &Path,
    text: &str,
    sets: &[String],
    catalogue: &Catalogue,
) -> Result<Scenario, ScenarioError> {
    let mut sources = Sources::default();
    let mut problems = Vec::new();
    let mut root = resolve(path, text.to_owned(), &mut sources, &mut problems, &mut Vec::new());
    if let Some(root) = &mut root {
        crate::overrides::apply(root, sets, &mut sources, &mut problems);
    }
    let mut reader = Reader::new(&sources);
    reader.problems = problems;
    let root_loc = Loc { file: 0, span: 0..0 };
    let default_name =
        path.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    let scenario = match &root {
        Some(root) if reader.problems.is_empty() => {
            read_scenario(&mut reader, root, &root_loc, &default_name, catalogue)
        }
        _ => None,
    };
    match scenario {
        Some(s) if reader.problems.is_empty() => Ok(s),
        _ => {
            let mut problems = reader.problems;
            // An argument is one line: its problems name it, with no line and column.
            for problem in &mut problems {
                if crate::overrides::is_override(&problem.file) {
                    (problem.line, problem.column) = (0, 0);
                }
            }
            problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
            problems.dedup();
            if problems.is_empty() {
                problems.push(Problem {
                    file: path.to_owned(),
                    line: 1,
                    column: 1,
                    key: String::new(),
                    message: "invalid scenario".into(),
                });
            }
            Err(ScenarioError { problems })
        }
    }
}

/// Parse `text` and everything it extends, merged; syntax problems go to `problems`.
fn resolve(
    path: &Path,
    text: String,
    sources: &mut Sources,
    problems: &mut Vec<Problem>,
    chain: &mut Vec<PathBuf>,
) -> Option<Table> {
    let file = sources.add(path.to_owned(), text);
    let (mut table, syntax) = tree::parse(sources.text(file), file);
    if !syntax.is_empty() {
        let mut reader = Reader::new(sources);
        for p in syntax {
            reader.problem(&p.loc, "", format!("TOML syntax: {}", p.message));
        }
        problems.extend(reader.problems);
        return None;
    }
    chain.push(path.to_owned());
    let Some(extends) = table.entries.remove("extends") else { return Some(table) };
    let mut reader = Reader::new(sources);
    let Val::Str(base) = &extends.item.val else {
        reader.problem(
            &extends.item.loc,
            "extends",
            format!(
                "expected a path to a base scenario file, found {}",
                extends.item.val.type_name()
            ),
        );
        problems.extend(reader.problems);
        return None;
    };
    let mut base_path = path.parent().unwrap_or(Path::new(".")).join(base);
    // A user's file may extend a bundled base by its file name (`extends = "raft-base.toml"`,
    // as `dsim scenarios --show` prints it) when no such file lies beside it.
    if !bundled::is_bundled(&base_path)
        && !base_path.exists()
        && let Some(file) = bundled::with_file_name(base)
    {
        base_path = file.virtual_path();
    }
    if chain.iter().any(|p| same_file(p, &base_path)) {
        reader.problem(
            &extends.item.loc,
            "extends",
            format!("\"{base}\" is already in this extends chain (a cycle)"),
        );
    } else if chain.len() >= MAX_EXTENDS {
        reader.problem(
            &extends.item.loc,
            "extends",
            format!("extends chains are at most {MAX_EXTENDS} files long"),
        );
    }
    let base_text = match read_source(&base_path) {
        Ok(text) if reader.problems.is_empty() => text,
        Ok(_) => {
            problems.extend(reader.problems);
            return None;
        }
        Err(e) => {
            reader.problem(
                &extends.item.loc,
                "extends",
                format!("cannot read base scenario {}: {e}", base_path.display()),
            );
            problems.extend(reader.problems);
            return None;
        }
    };
    let base_table = resolve(&base_path, base_text, sources, problems, chain)?;
    Some(tree::merge(base_table, table))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
