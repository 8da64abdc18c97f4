//! A TOML document as a tree whose every value remembers the file and byte span it came
//! from, so that validation can point at `file:line:col`. `extends` chains are merged here:
//! a file's keys override its base's, table by table.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

/// Where a value was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: usize,
    pub span: Range<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Array(Vec<Item>),
    Table(Table),
    /// A TOML datetime: valid TOML, never a valid dsim value.
    Datetime,
}

impl Val {
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Str(_) => "a string",
            Val::Int(_) => "an integer",
            Val::Float(_) => "a float",
            Val::Bool(_) => "a boolean",
            Val::Array(_) => "an array",
            Val::Table(_) => "a table",
            Val::Datetime => "a datetime",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub val: Val,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key_loc: Loc,
    pub item: Item,
}

/// A table; keys in sorted order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub entries: BTreeMap<String, Entry>,
}

impl Table {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }
}

/// The text of every file read, for turning spans into lines and columns.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Vec<(PathBuf, String)>,
}

impl Sources {
    pub fn add(&mut self, path: PathBuf, text: String) -> usize {
        self.files.push((path, text));
        self.files.len() - 1
    }

    pub fn path(&self, file: usize) -> &Path {
        &self.files[file].0
    }

    pub fn text(&self, file: usize) -> &str {
        &self.files[file].1
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: usize, offset: usize) -> (usize, usize) {
        let text = &self.files[file].1;
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

/// A parse problem: location and message.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxProblem {
    pub loc: Loc,
    pub message: String,
}

/// Parse `text` (file number `file`) into a tree, collecting every syntax problem.
pub fn parse(text: &str, file: usize) -> (Table, Vec<SyntaxProblem>) {
    let (document, errors) = DeTable::parse_recoverable(text);
    let mut problems: Vec<SyntaxProblem> = errors
        .iter()
        .map(|e| SyntaxProblem {
            loc: Loc { file, span: e.span().unwrap_or(0..0) },
            message: e.message().trim().to_owned(),
        })
        .collect();
    let table = convert_table(document.get_ref(), file, &mut problems);
    (table, problems)
}

fn convert_table(table: &DeTable<'_>, file: usize, problems: &mut Vec<SyntaxProblem>) -> Table {
    let mut entries = BTreeMap::new();
    for (key, value) in table.iter() {
        let key_loc = Loc { file, span: key.span() };
        let item = convert(value.get_ref(), Loc { file, span: value.span() }, problems);
        entries.insert(key.get_ref().to_string(), Entry { key_loc, item });
    }
    Table { entries }
}

fn convert(value: &DeValue<'_>, loc: Loc, problems: &mut Vec<SyntaxProblem>) -> Item {
    let val = match value {
        DeValue::String(s) => Val::Str(s.to_string()),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            match i64::from_str_radix(&digits, i.radix()) {
                Ok(n) => Val::Int(n),
                Err(_) => {
                    problems.push(SyntaxProblem {
                        loc: loc.clone(),
                        message: format!("integer {i} does not fit in 64 bits"),
                    });
                    Val::Int(0)
                }
            }
        }
        DeValue::Float(f) => {
            let text = f.as_str().replace('_', "");
            match text.parse::<f64>() {
                Ok(x) => Val::Float(x),
                Err(_) => {
                    problems.push(SyntaxProblem {
                        loc: loc.clone(),
                        message: format!("invalid float {text}"),
                    });
                    Val::Float(0.0)
                }
            }
        }
        DeValue::Boolean(b) => Val::Bool(*b),
        DeValue::Datetime(_) => Val::Datetime,
        DeValue::Array(items) => Val::Array(
            items
                .iter()
                .map(|v| convert(v.get_ref(), Loc { file: loc.file, span: v.span() }, problems))
                .collect(),
        ),
        DeValue::Table(t) => Val::Table(convert_table(t, loc.file, problems)),
    };
    Item { val, loc }
}

/// Tables that are values, not sections: a latency (`dist = ...`) or a list of choices
/// (`one_of = [...]`). An override replaces them whole.
fn is_value_table(table: &Table) -> bool {
    table.get("dist").is_some() || table.get("one_of").is_some()
}

/// Merge `child` over `base`: sections merge key by key; anything else in `child`,
/// value tables included, replaces what `base` had.
pub fn merge(base: Table, child: Table) -> Table {
    let mut merged = base;
    for (key, entry) in child.entries {
        let combined = match (merged.entries.remove(&key), entry) {
            (
                Some(Entry { item: Item { val: Val::Table(b), .. }, .. }),
                Entry { key_loc, item: Item { val: Val::Table(c), loc } },
            ) if !is_value_table(&b) && !is_value_table(&c) => {
                Entry { key_loc, item: Item { val: Val::Table(merge(b, c)), loc } }
            }
            (_, entry) => entry,
        };
        merged.entries.insert(key, combined);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_map_to_lines_and_columns() {
        let mut sources = Sources::default();
        let text = "a = 1\n[b]\nc = \"x\"\n";
        let file = sources.add("t.toml".into(), text.to_owned());
        let (table, problems) = parse(text, file);
        assert!(problems.is_empty());
        let Val::Table(b) = &table.get("b").unwrap().item.val else { panic!() };
        let c = b.get("c").unwrap();
        assert_eq!(sources.line_col(file, c.key_loc.span.start), (3, 1));
        assert_eq!(sources.line_col(file, c.item.loc.span.start), (3, 5));
    }

    #[test]
    fn syntax_errors_are_collected_with_locations() {
        let (_, problems) = parse("a = \nb = [1,\n", 0);
        assert!(!problems.is_empty());
    }

    #[test]
    fn merge_overrides_leaves_and_merges_tables() {
        let (base, _) = parse("[x]\na = 1\nb = 2\n[y]\nc = 3\n", 0);
        let (child, _) = parse("[x]\nb = 20\n", 1);
        let merged = merge(base, child);
        let Val::Table(x) = &merged.get("x").unwrap().item.val else { panic!() };
        assert_eq!(x.get("a").unwrap().item.val, Val::Int(1));
        assert_eq!(x.get("b").unwrap().item.val, Val::Int(20));
        assert_eq!(x.get("b").unwrap().item.loc.file, 1);
        assert!(merged.get("y").is_some());
    }

    #[test]
    fn value_tables_are_replaced_not_merged() {
        let (base, _) =
            parse("[n]\nlatency = { dist = \"uniform\", min = \"1ms\", max = \"2ms\" }\n", 0);
        let (child, _) = parse("[n]\nlatency = { dist = \"constant\", value = \"3ms\" }\n", 1);
        let merged = merge(base, child);
        let Val::Table(n) = &merged.get("n").unwrap().item.val else { panic!() };
        let Val::Table(latency) = &n.get("latency").unwrap().item.val else { panic!() };
        assert_eq!(latency.entries.keys().collect::<Vec<_>>(), vec!["dist", "value"]);
    }
}
