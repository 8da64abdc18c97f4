//! Typed reading of a located TOML tree, collecting every problem instead of stopping at
//! the first: each says where (file:line:col), which key, what was found, and what would
//! be valid.

use crate::tree::{Entry, Item, Loc, Table, Val};
use sim_core::SimDuration;
use sim_core::names;
use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// The dotted key, e.g. `network.loss`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: a problem of a whole file, or of a command-line argument.
        match self.line {
            0 => write!(f, "{}: ", self.file.display())?,
            line => write!(f, "{}:{line}:{}: ", self.file.display(), self.column)?,
        }
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// A swarm-testable value: fixed, a uniform range, or a list of choices.
#[derive(Clone, Debug, PartialEq)]
pub enum Knob<T> {
    Fixed(T),
    Range(T, T),
    OneOf(Vec<T>),
}

impl<T> Knob<T> {
    pub fn is_fixed(&self) -> bool {
        matches!(self, Knob::Fixed(_))
    }

    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> Knob<U> {
        match self {
            Knob::Fixed(x) => Knob::Fixed(f(x)),
            Knob::Range(a, b) => Knob::Range(f(a), f(b)),
            Knob::OneOf(xs) => Knob::OneOf(xs.iter().map(f).collect()),
        }
    }
}

/// Collects problems while reading; owns nothing but the list.
pub struct Reader<'s> {
    pub(crate) sources: &'s crate::tree::Sources,
    pub problems: Vec<Problem>,
}

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

impl<'s> Reader<'s> {
    pub fn new(sources: &'s crate::tree::Sources) -> Self {
        Reader { sources, problems: Vec::new() }
    }

    pub fn problem(&mut self, loc: &Loc, key: &str, message: impl Into<String>) {
        let (line, column) = self.sources.line_col(loc.file, loc.span.start);
        self.problems.push(Problem {
            file: self.sources.path(loc.file).to_owned(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// Report every key of `table` (at `path`) that is not in `allowed`.
    pub fn only_keys(&mut self, table: &Table, path: &str, allowed: &[&str]) {
        for (key, entry) in &table.entries {
            if !allowed.contains(&key.as_str()) {
                let hint = match names::closest(key, allowed) {
                    Some(near) => format!("; did you mean `{near}`?"),
                    None => ";".to_owned(),
                };
                let section =
                    if path.is_empty() { "the top level".to_owned() } else { format!("[{path}]") };
                self.problem(
                    &entry.key_loc,
                    &join(path, key),
                    format!(
                        "unknown key `{}` in {section}{hint} valid keys are: {}",
                        sim_core::names::shown(key),
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// A sub-table, if present and a table.
    pub fn table<'t>(&mut self, table: &'t Table, path: &str, key: &str) -> Option<&'t Table> {
        let entry = table.get(key)?;
        match &entry.item.val {
            Val::Table(t) => Some(t),
            other => {
                self.problem(
                    &entry.item.loc,
                    &join(path, key),
                    format!("expected a table, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// An array of tables (`[[key]]`).
    pub fn tables<'t>(
        &mut self,
        table: &'t Table,
        path: &str,
        key: &str,
    ) -> Vec<(&'t Table, &'t Loc)> {
        let Some(entry) = table.get(key) else { return Vec::new() };
        let full = join(path, key);
        let Val::Array(items) = &entry.item.val else {
            self.problem(
                &entry.item.loc,
                &full,
                format!(
                    "expected an array of tables ([[{full}]]), found {}",
                    entry.item.val.type_name()
                ),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match &item.val {
                Val::Table(t) => out.push((t, &item.loc)),
                other => self.problem(
                    &item.loc,
                    &full,
                    format!("expected a table, found {}", other.type_name()),
                ),
            }
        }
        out
    }

    pub fn entry<'t>(&self, table: &'t Table, key: &str) -> Option<&'t Entry> {
        table.get(key)
    }

    pub fn string(&mut self, table: &Table, path: &str, key: &str) -> Option<String> {
        let entry = table.get(key)?;
        match &entry.item.val {
            Val::Str(s) => Some(s.clone()),
            other => {
                self.problem(
                    &entry.item.loc,
                    &join(path, key),
                    format!("expected a string, found {}", other.type_name()),
                );
                None
            }
        }
    }

    pub fn bool(&mut self, table: &Table, path: &str, key: &str) -> Option<bool> {
        let entry = table.get(key)?;
        match entry.item.val {
            Val::Bool(b) => Some(b),
            ref other => {
                self.problem(
                    &entry.item.loc,
                    &join(path, key),
                    format!("expected true or false, found {}", other.type_name()),
                );
                None
            }
        }
    }

    /// An integer in `[min, max]`.
    pub fn int(&mut self, table: &Table, path: &str, key: &str, min: i64, max: i64) -> Option<i64> {
        let entry = table.get(key)?;
        self.int_item(&entry.item, &join(path, key), min, max)
    }

    pub fn int_item(&mut self, item: &Item, key: &str, min: i64, max: i64) -> Option<i64> {
        match item.val {
            Val::Int(n) if (min..=max).contains(&n) => Some(n),
            Val::Int(n) => {
                self.problem(
                    &item.loc,
                    key,
                    format!("{n} is out of range; expected an integer from {min} to {max}"),
                );
                None
            }
            ref other => {
                self.problem(
                    &item.loc,
                    key,
                    format!("expected an integer from {min} to {max}, found {}", other.type_name()),
                );
                None
            }
        }
    }

    pub fn float_item(&mut self, item: &Item, key: &str, min: f64, max: f64) -> Option<f64> {
        let x = match item.val {
            Val::Float(x) => x,
            Val::Int(n) => n as f64,
            ref other => {
                self.problem(
                    &item.loc,
                    key,
                    format!("expected a number from {min} to {max}, found {}", other.type_name()),
                );
                return None;
            }
        };
        if x.is_finite() && x >= min && x <= max {
            Some(x)
        } else {
            self.problem(
                &item.loc,
                key,
                format!("{x} is out of range; expected a number from {min} to {max}"),
            );
            None
        }
    }

    /// A duration written as a string with a unit: "250ms", "1.5s", "20us", "100ns", "2m".
    pub fn duration_item(&mut self, item: &Item, key: &str, allow_negative: bool) -> Option<i64> {
        let Val::Str(text) = &item.val else {
            self.problem(
                &item.loc,
                key,
                format!(
                    "expected a duration such as \"250ms\" or \"1.5s\", found {}",
                    item.val.type_name()
                ),
            );
            return None;
        };
        match parse_duration(text) {
            Ok(n) if n >= 0 || allow_negative => Some(n),
            Ok(_) => {
                self.problem(
                    &item.loc,
                    key,
                    format!("{} is negative; expected a duration of zero or more", quoted(text)),
                );
                None
            }
            Err(why) => {
                self.problem(&item.loc, key, format!("{} {why}", quoted(text)));
                None
            }
        }
    }

    pub fn duration(&mut self, table: &Table, path: &str, key: &str) -> Option<SimDuration> {
        let entry = table.get(key)?;
        self.duration_item(&entry.item, &join(path, key), false).map(|n| SimDuration(n as u64))
    }

    /// A knob: a scalar read by `scalar`, a two-element array `[low, high]` (a uniform
    /// range, for ordered values), or `{ one_of = [...] }` (choices). For values that have
    /// no order (strings, booleans), any array is a list of choices.
    pub fn knob<T: Clone + PartialOrd + fmt::Debug>(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
        ordered: bool,
        scalar: &mut dyn FnMut(&mut Self, &Item, &str) -> Option<T>,
    ) -> Option<Knob<T>> {
        let entry = table.get(key)?;
        let full = join(path, key);
        let item = &entry.item;
        match &item.val {
            Val::Array(items) if ordered => {
                if items.len() != 2 {
                    self.problem(
                        &item.loc,
                        &full,
                        format!(
                            "a range is [low, high], found {} element(s); for a list of choices write {{ one_of = [...] }}",
                            items.len()
                        ),
                    );
                    return None;
                }
                let low = scalar(self, &items[0], &full)?;
                let high = scalar(self, &items[1], &full)?;
                if low > high {
                    self.problem(
                        &item.loc,
                        &full,
                        format!("range [{low:?}, {high:?}] has its low end above its high end"),
                    );
                    return None;
                }
                Some(Knob::Range(low, high))
            }
            Val::Array(items) => self.choices(items, &item.loc, &full, scalar),
            Val::Table(t) => {
                let Some(one_of) = t.get("one_of") else {
                    self.problem(
                        &item.loc,
                        &full,
                        "expected a value, a range [low, high], or { one_of = [...] }",
                    );
                    return None;
                };
                self.only_keys(t, &full, &["one_of"]);
                match &one_of.item.val {
                    Val::Array(items) => self.choices(items, &one_of.item.loc, &full, scalar),
                    other => {
                        self.problem(
                            &one_of.item.loc,
                            &full,
                            format!(
                                "one_of takes an array of choices, found {}",
                                other.type_name()
                            ),
                        );
                        None
                    }
                }
            }
            _ => scalar(self, item, &full).map(Knob::Fixed),
        }
    }

    fn choices<T>(
        &mut self,
        items: &[Item],
        loc: &Loc,
        key: &str,
        scalar: &mut dyn FnMut(&mut Self, &Item, &str) -> Option<T>,
    ) -> Option<Knob<T>> {
        if items.is_empty() {
            self.problem(loc, key, "a list of choices needs at least one value");
            return None;
        }
        let values: Vec<Option<T>> = items.iter().map(|i| scalar(self, i, key)).collect();
        values.into_iter().collect::<Option<Vec<T>>>().map(Knob::OneOf)
    }

    pub fn probability_knob(&mut self, table: &Table, path: &str, key: &str) -> Option<Knob<f64>> {
        self.knob(table, path, key, true, &mut |r, item, k| r.float_item(item, k, 0.0, 1.0))
    }

    pub fn float_knob(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
        min: f64,
        max: f64,
    ) -> Option<Knob<f64>> {
        self.knob(table, path, key, true, &mut |r, item, k| r.float_item(item, k, min, max))
    }

    pub fn int_knob(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
        min: i64,
        max: i64,
    ) -> Option<Knob<i64>> {
        self.knob(table, path, key, true, &mut |r, item, k| r.int_item(item, k, min, max))
    }

    pub fn duration_knob(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
        allow_negative: bool,
    ) -> Option<Knob<i64>> {
        self.knob(table, path, key, true, &mut |r, item, k| {
            r.duration_item(item, k, allow_negative)
        })
    }

    /// One of a fixed set of names; `what` says what they name ("fault action").
    pub fn name_item(
        &mut self,
        item: &Item,
        key: &str,
        what: &str,
        valid: &[&str],
    ) -> Option<String> {
        self.named_item(item, key, what, valid, |name| *name).map(|name| (*name).to_owned())
    }

    /// The item of `items` whose name (by `name_of`) the string at `item` is; a problem
    /// naming the closest one when it is none of them.
    pub fn named_item<'a, T>(
        &mut self,
        item: &Item,
        key: &str,
        what: &str,
        items: &'a [T],
        name_of: impl Fn(&T) -> &str,
    ) -> Option<&'a T> {
        match &item.val {
            Val::Str(s) => match names::lookup(what, s, items, name_of) {
                Ok(found) => Some(found),
                Err(message) => {
                    self.problem(&item.loc, key, message);
                    None
                }
            },
            other => {
                let valid: Vec<&str> = items.iter().map(name_of).collect();
                self.problem(
                    &item.loc,
                    key,
                    format!(
                        "expected a {what} (one of {}), found {}",
                        valid.join(", "),
                        other.type_name()
                    ),
                );
                None
            }
        }
    }

    pub fn name_knob(
        &mut self,
        table: &Table,
        path: &str,
        key: &str,
        what: &str,
        valid: &[&str],
    ) -> Option<Knob<String>> {
        self.knob(table, path, key, false, &mut |r, item, k| r.name_item(item, k, what, valid))
    }
}

/// Nanoseconds of a duration string such as "250ms", "-1.5s", "20us", "100ns", "2m".
pub fn parse_duration(text: &str) -> Result<i64, String> {
    const NOT_A_DURATION: &str = "is not a duration; write a number and a unit: ns, us (or µs), ms, s or m (e.g. \"250ms\", \"1.5s\")";
    let text = text.trim();
    let split = text.find(|c: char| c.is_alphabetic()).ok_or(NOT_A_DURATION)?;
    let (number, unit) = text.split_at(split);
    let scale: i128 = match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        _ => return Err(NOT_A_DURATION.into()),
    };
    // Exact decimal arithmetic, so "9007199254740993ns" is that many nanoseconds.
    let number = number.trim();
    let (negative, digits) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return Err(NOT_A_DURATION.into());
    }
    const TOO_LARGE: &str =
        "is too large; the longest duration is 9223372036854775807ns (about 292 years)";
    let whole = whole.trim_start_matches('0');
    if whole.len() > 19 {
        return Err(TOO_LARGE.into());
    }
    let whole: i128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| TOO_LARGE)? };
    // Digits past the 24th decimal cannot change the rounding to a nanosecond for any
    // unit (a minute needs 11), so they are dropped before the arithmetic.
    let fraction = &fraction[..fraction.len().min(24)];
    let part: i128 =
        if fraction.is_empty() { 0 } else { fraction.parse().map_err(|_| NOT_A_DURATION)? };
    let divisor = 10i128.pow(fraction.len() as u32);
    // Round half up to a whole nanosecond.
    let nanos = whole * scale + (part * scale * 2 + divisor) / (divisor * 2);
    let nanos = if negative { -nanos } else { nanos };
    i64::try_from(nanos).map_err(|_| TOO_LARGE.into())
}

/// `text` in double quotes, as a message shows a value the file gave (see
/// [`sim_core::names::shown`]).
pub fn quoted(text: &str) -> String {
    format!("\"{}\"", sim_core::names::shown(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("-2us"), Ok(-2_000));
        assert_eq!(parse_duration("3m"), Ok(180_000_000_000));
        assert_eq!(parse_duration("5µs"), Ok(5_000));
        assert_eq!(parse_duration("5μs"), Ok(5_000));
        assert_eq!(parse_duration(".5ms"), Ok(500_000));
        assert_eq!(parse_duration("1.0000000004s"), Ok(1_000_000_000));
        assert_eq!(parse_duration("1.0000000005s"), Ok(1_000_000_001));
        assert_eq!(parse_duration("9007199254740993ns"), Ok(9_007_199_254_740_993));
        assert_eq!(parse_duration("9223372036854775807ns"), Ok(i64::MAX));
        for not_one in ["250", "ms", "5 parsecs", ".ms", "1.2.3s", "1e3ms", "--1s"] {
            let err = parse_duration(not_one).unwrap_err();
            assert!(err.starts_with("is not a duration"), "{not_one}: {err}");
        }
        for too_large in ["9223372036854775808ns", "99999999999999999999ms", "300000000000m"] {
            let err = parse_duration(too_large).unwrap_err();
            assert!(err.starts_with("is too large"), "{too_large}: {err}");
        }
        let many = format!("1.{}5s", "0".repeat(60));
        assert_eq!(parse_duration(&many), Ok(1_000_000_000));
        assert_eq!(parse_duration("0.99999999999999999999999999999ns"), Ok(1));
    }
}
