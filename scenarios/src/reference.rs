//! The tables of `docs/scenario-reference.md` that are generated from the declarations
//! ([`crate::keys`] and the catalogue): each lies between `<!-- generated: NAME -->` and
//! `<!-- end generated -->`, and [`regenerate`] writes them anew (a test compares the
//! file with its regeneration, so the reference cannot drift from the loader).

use crate::catalogue::Catalogue;
use crate::keys::{Absent, FAULT_ACTIONS, KEYS, KeySpec, Names, PARTITION_KINDS, Sign, Type};
use sim_core::protocol::OptionSpec;

const END: &str = "<!-- end generated -->";

/// `text` with every generated table written anew; an error names an unknown or
/// unclosed one.
pub fn regenerate(text: &str, catalogue: &Catalogue) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!-- generated: ") {
        let (before, marker) = rest.split_at(start);
        out.push_str(before);
        let close = marker.find(" -->").ok_or("an unclosed generated marker")?;
        let name = &marker["<!-- generated: ".len()..close];
        let end = marker.find(END).ok_or_else(|| format!("`{name}` has no `{END}`"))?;
        out.push_str(&marker[..close + " -->".len()]);
        out.push('\n');
        out.push_str(
            &table(name, catalogue).ok_or_else(|| format!("no generated table `{name}`"))?,
        );
        out.push_str(END);
        rest = &marker[end + END.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

fn table(name: &str, catalogue: &Catalogue) -> Option<String> {
    Some(match name {
        "keys" => keys_table(),
        "fault-actions" => fault_actions_table(),
        "partition-kinds" => partition_kinds_table(),
        "workloads" => workloads_tables(catalogue),
        _ => return None,
    })
}

fn keys_table() -> String {
    let mut out = String::from("| key | type | default | meaning |\n| --- | --- | --- | --- |\n");
    for spec in KEYS {
        let default = match spec.default {
            Absent::Value(v) => format!("`{v}`"),
            Absent::Text(t) => t.to_owned(),
            Absent::Unset if spec.required => String::new(),
            Absent::Unset => "none".to_owned(),
        };
        out += &format!("| `{}` | {} | {default} | {} |\n", spec.key, type_text(spec), spec.doc);
    }
    out
}

/// A key's type as the reference says it: `probability knob`, `integer from 1 to 10000`.
pub fn type_text(spec: &KeySpec) -> String {
    let names = |n: Names| -> String {
        match n.fixed() {
            Some(names) => names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
            None => String::new(),
        }
    };
    let mut text = match spec.ty {
        Type::Table => "table".to_owned(),
        Type::Tables => "array of tables".to_owned(),
        Type::ProtocolOptions => "table of the protocol's options".to_owned(),
        Type::Str => "string".to_owned(),
        Type::Bool => "boolean".to_owned(),
        Type::Int { min, max } if max == i64::MAX => format!("integer ≥ {min}"),
        Type::Int { min, max } => format!("integer from {min} to {max}"),
        Type::Float { min, max } if min == -max => format!("number, ±{max}"),
        Type::Float { min, max } => format!("number from {min} to {max}"),
        Type::Probability => "probability".to_owned(),
        Type::Duration(Sign::NonNegative) => "duration".to_owned(),
        Type::Duration(Sign::Positive) => "duration > 0".to_owned(),
        Type::Duration(Sign::Any) => "duration (may be negative)".to_owned(),
        Type::DurationRange => "duration or `[min, max]`".to_owned(),
        Type::DurationOrNone => "duration, or `\"none\"`".to_owned(),
        Type::Latency => "latency".to_owned(),
        Type::Name(Names::Protocols) => "a protocol name".to_owned(),
        Type::Name(n) => format!("one of {}", names(n)),
        Type::NameList(Names::BugSwitches) => "array of bug switch names".to_owned(),
        Type::NameList(n) => format!("array of {}", names(n)),
        Type::IntList { min, max } => format!("array of integers from {min} to {max}"),
        Type::Node => "node".to_owned(),
        Type::NodeList => "array of nodes".to_owned(),
        Type::NodeOrNodes => "node, or array of nodes".to_owned(),
        Type::NodeGroups => "array of arrays of nodes".to_owned(),
        Type::SeedRange => "seed range".to_owned(),
    };
    if spec.knob {
        text += " (knob)";
    }
    if spec.required {
        text += ", **required**";
    }
    text
}

fn fields(required: &[&str], optional: &[&str]) -> (String, String) {
    let list = |names: &[&str]| {
        if names.is_empty() {
            "—".to_owned()
        } else {
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        }
    };
    (list(required), list(optional))
}

fn fault_actions_table() -> String {
    let mut out =
        String::from("| `action` | needs | may take | what it does |\n| --- | --- | --- | --- |\n");
    for action in FAULT_ACTIONS {
        let (needs, may) = fields(action.required, action.optional);
        out += &format!("| `{}` | {needs} | {may} | {} |\n", action.name, action.doc);
    }
    out
}

fn partition_kinds_table() -> String {
    let drawable = Names::DrawableKinds.fixed().unwrap_or_default();
    let mut out = String::from(
        "| `kind` | needs | may take | nemesis | what it cuts |\n| --- | --- | --- | --- | --- |\n",
    );
    for kind in PARTITION_KINDS {
        let (needs, may) = fields(kind.required, kind.optional);
        let nemesis = if drawable.contains(&kind.name) { "yes" } else { "no" };
        out += &format!("| `{}` | {needs} | {may} | {nemesis} | {} |\n", kind.name, kind.doc);
    }
    out
}

/// A table of each workload's `[workload]` options, and the protocols that serve it.
fn workloads_tables(catalogue: &Catalogue) -> String {
    let mut out = String::new();
    let mut done: Vec<&str> = Vec::new();
    for entry in catalogue.entries() {
        let workload = &entry.workload;
        if done.contains(&workload.name) {
            continue;
        }
        done.push(workload.name);
        let served_by: Vec<String> = catalogue
            .entries()
            .iter()
            .filter(|e| e.workload.name == workload.name)
            .map(|e| format!("`{}`", e.name))
            .collect();
        out += &format!("**`{}`** (served by {}). ", workload.name, served_by.join(", "));
        if workload.options.is_empty() && (workload.configure)(&Default::default()).is_err() {
            out += "No client requests: a `[workload]` is refused.\n\n";
            continue;
        }
        // Its checkers, and each protocol's own, all turned off alike.
        let checkers: Vec<String> = catalogue
            .entries()
            .iter()
            .filter(|e| e.workload.name == workload.name && !e.workload.checkers.is_empty())
            .map(|e| {
                let names: Vec<String> =
                    e.workload.checkers.iter().map(|(n, _)| format!("`{n}`")).collect();
                format!("{}: {}", e.name, names.join(", "))
            })
            .collect();
        if !checkers.is_empty() {
            out += &format!(
                "Its checkers (`[checks] NAME = false` turns one off): {}.",
                checkers.join("; ")
            );
        }
        if workload.options.is_empty() {
            out += " No options of its own.\n\n";
            continue;
        }
        out.truncate(out.trim_end().len());
        out.push_str("\n\n");
        out += &options_table(&workload.options);
        out.push('\n');
    }
    out
}

fn options_table(options: &[OptionSpec]) -> String {
    let mut out = String::from("| key | type | default | meaning |\n| --- | --- | --- | --- |\n");
    for o in options {
        out += &format!(
            "| `{}` | {} knob | `{}` | {} |\n",
            o.name,
            o.default.type_name(),
            o.default,
            o.doc
        );
    }
    out
}
