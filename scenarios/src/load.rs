//! Reading scenario files: `extends` chains resolved relative to each file, every problem
//! collected with its file, line and column.

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
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, &e))?;
    load_str(path, &text, catalogue)
}

fn io_error(path: &Path, error: &std::io::Error) -> ScenarioError {
    ScenarioError {
        problems: vec![Problem {
            file: path.to_owned(),
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("cannot read the scenario file: {error}"),
        }],
    }
}

/// Load and validate scenario `text`, as if read from `path` (which `extends` is resolved
/// against).
pub fn load_str(path: &Path, text: &str, catalogue: &Catalogue) -> Result<Scenario, ScenarioError> {
    let mut sources = Sources::default();
    let mut problems = Vec::new();
    let root = resolve(path, text.to_owned(), &mut sources, &mut problems, &mut Vec::new());
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
    let base_path = path.parent().unwrap_or(Path::new(".")).join(base);
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
    let base_text = match std::fs::read_to_string(&base_path) {
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
