//! A self-contained HTML page explaining a violation: one lane per process, operations as
//! intervals on a time axis a screen wide (SVG; history order for a history without
//! times), the end of the longest linearizable prefix numbered in its order, and the
//! operations that cannot follow it in red. No scripts, no external assets.

use super::linearizability::Violation;
use super::operations::Operation;
use crate::history::History;
use crate::time::SimTime;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// At most this many prefix operations before the frontier are drawn (with every operation
/// overlapping them), so that the figure is about the failure; the page says how many were
/// left out.
const PREFIX_DRAWN: usize = 30;
/// The figure's width: a screen's, whatever the history's length.
const FIGURE_PX: usize = 1200;
const LANE_PX: usize = 34;
const MARGIN_LEFT_PX: usize = 110;
const MARGIN_TOP_PX: usize = 30;

/// `text` safe inside HTML or XML text and attributes: markup characters become entities,
/// and control characters XML 1.0 cannot hold (all but tab, newline, return) are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// In the prefix, at this position (1-based).
    Prefix(usize),
    Frontier,
    DeadEnd,
    Other,
}

/// The page for a history with no violation to show: what was checked and the verdict
/// (linearizable, or unknown with the reason), so a report always has its page.
pub fn render_no_violation(history: &History, model: &str, verdict: &str) -> String {
    let title = verdict.lines().next().unwrap_or("no violation");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>\n\
         body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}\n\
         pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}\n\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <p>Model: <b>{model}</b>. The history has {events} events ({operations} operations); \
         there is no violation to show.</p>\n<pre>{verdict}</pre>\n</body>\n</html>\n",
        title = escape(title),
        model = escape(model),
        events = history.len(),
        operations = history.operations(),
        verdict = escape(verdict),
    )
}

/// Renders the page for one failing key. `history` is the checked history (for its length).
pub fn render(history: &History, violation: &Violation) -> String {
    let mut roles: BTreeMap<usize, Role> = BTreeMap::new();
    for (position, &id) in violation.prefix.iter().enumerate() {
        roles.insert(id, Role::Prefix(position + 1));
    }
    for &id in &violation.frontier {
        let role = if violation.dead_ends.contains(&id) { Role::DeadEnd } else { Role::Frontier };
        roles.insert(id, role);
    }
    let drawn = drawn_operations(violation);
    let key = violation.key.as_ref().map_or("(single register)".to_string(), |key| key.to_string());
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Not linearizable: key {key}</title>\n<style>\n\
         body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}\n\
         pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}\n\
         .figure {{ overflow-x: auto; border: 1px solid #ddd; }}\n\
         rect.prefix {{ fill: #cfe8cf; stroke: #2e7d32; }}\n\
         rect.frontier {{ fill: #f8c4c4; stroke: #c62828; stroke-width: 2; }}\n\
         rect.dead-end {{ fill: #fde2b8; stroke: #ef6c00; stroke-width: 2; }}\n\
         rect.other {{ fill: #eeeeee; stroke: #9e9e9e; }}\n\
         rect.indeterminate {{ stroke-dasharray: 4 3; }}\n\
         text {{ font-size: 11px; }}\n\
         li.frontier {{ color: #c62828; }} li.dead-end {{ color: #ef6c00; }}\n\
         </style>\n</head>\n<body>\n<h1>Not linearizable: key {key}</h1>\n\
         <p>Model: <b>{model}</b>. The history has {events} events; this key has {ops} operations. \
         The longest linearizable prefix found orders {prefix} of them (green, numbered in \
         that order); after it {state}, and none of the operations that could come next can \
         follow (red: impossible in that state; orange: possible, but then the rest cannot be \
         ordered). Dashed operations are indeterminate (info): they may have taken effect at \
         any time after their call, or never.</p>\n",
        key = escape(&key),
        model = escape(violation.model),
        events = history.len(),
        ops = violation.operations.len(),
        prefix = violation.prefix.len(),
        state = escape(&violation.state_after_prefix),
    );
    if drawn.len() < violation.operations.len() {
        let _ = writeln!(
            page,
            "<p>The figure shows the {} operations around the end of the prefix; {} earlier ones are left out.</p>",
            drawn.len(),
            violation.operations.len() - drawn.len()
        );
    }
    page.push_str("<div class=\"figure\">\n");
    render_svg(&mut page, &drawn, &roles);
    page.push_str("</div>\n<h2>Operations that cannot come next</h2>\n<ul>\n");
    for &id in &violation.frontier {
        if let Some(op) = violation.operation(id) {
            let (class, why) = if violation.dead_ends.contains(&id) {
                ("dead-end", "possible here, but then the rest cannot be ordered")
            } else {
                ("frontier", "impossible in this state")
            };
            let _ = writeln!(page, "<li class=\"{class}\">{}: {why}</li>", escape(&op.to_string()));
        }
    }
    page.push_str("</ul>\n<h2>The longest linearizable prefix, in order</h2>\n<ol>\n");
    for &id in &violation.prefix {
        if let Some(op) = violation.operation(id) {
            let _ = writeln!(page, "<li>{}</li>", escape(&op.to_string()));
        }
    }
    let _ = write!(
        page,
        "</ol>\n<h2>In words</h2>\n<pre>{}</pre>\n</body>\n</html>\n",
        escape(&violation.to_string())
    );
    page
}

/// The operations to draw: the frontier, the last `PREFIX_DRAWN` prefix operations, and
/// every operation whose interval reaches past the earliest call among those.
fn drawn_operations(violation: &Violation) -> Vec<&Operation> {
    let tail = &violation.prefix[violation.prefix.len().saturating_sub(PREFIX_DRAWN)..];
    let start = tail
        .iter()
        .chain(&violation.frontier)
        .filter_map(|&id| violation.operation(id))
        .map(|op| op.invoke_index)
        .min()
        .unwrap_or(0);
    // Nor what was called after the last of those returned (or was called, for an
    // indeterminate one): the failure is decided by then.
    let end = tail
        .iter()
        .chain(&violation.frontier)
        .filter_map(|&id| violation.operation(id))
        .map(|op| op.return_position().unwrap_or(op.invoke_index))
        .max()
        .unwrap_or(usize::MAX);
    violation
        .operations
        .iter()
        .filter(|op| op.return_position().is_none_or(|position| position >= start))
        .filter(|op| op.invoke_index <= end)
        .collect()
}

/// Where an operation's ends go on the figure's x axis: at their times when every drawn
/// operation has them (dsim's histories do), otherwise at their places in the history.
struct Axis {
    by_time: bool,
    /// The first and last coordinate drawn (nanoseconds, or history positions).
    from: u64,
    to: u64,
}

impl Axis {
    fn new(ops: &[&Operation]) -> Axis {
        let by_time = ops.iter().all(|op| op.invoke_time.is_some());
        let start = |op: &Operation| match by_time {
            true => op.invoke_time.map_or(0, |t| t.as_nanos()),
            false => op.invoke_index as u64,
        };
        let end = |op: &Operation| match by_time {
            true => op.complete_time.map(|t| t.as_nanos()),
            false => op.complete_index.map(|i| i as u64),
        };
        let from = ops.iter().map(|op| start(op)).min().unwrap_or(0);
        let last = ops.iter().filter_map(|op| end(op)).chain(ops.iter().map(|op| start(op))).max();
        let to = last.unwrap_or(from);
        // Room past the last event for the operations that never returned.
        let to = to + (to - from) / 12 + 1;
        Axis { by_time, from, to }
    }

    fn x(&self, at: u64) -> usize {
        let span = (self.to - self.from).max(1) as f64;
        let plot = (FIGURE_PX - MARGIN_LEFT_PX - 10) as f64;
        MARGIN_LEFT_PX + ((at.clamp(self.from, self.to) - self.from) as f64 / span * plot) as usize
    }

    fn start(&self, op: &Operation) -> usize {
        match (self.by_time, op.invoke_time) {
            (true, Some(t)) => self.x(t.as_nanos()),
            _ => self.x(op.invoke_index as u64),
        }
    }

    /// The end of an operation's interval; the right edge for one that may take effect
    /// at any later time.
    fn end(&self, op: &Operation) -> usize {
        let returned = if self.by_time {
            op.complete_time.filter(|_| !op.is_indeterminate()).map(|t| t.as_nanos())
        } else {
            op.return_position().map(|i| i as u64)
        };
        self.x(returned.unwrap_or(self.to))
    }

    /// Six marks along the axis, with their labels.
    fn ticks(&self) -> Vec<(usize, String)> {
        (0..=5u64)
            .map(|i| {
                let at = self.from + (self.to - self.from) * i / 5;
                let label =
                    if self.by_time { SimTime(at).to_string() } else { format!("event {at}") };
                (self.x(at), label)
            })
            .collect()
    }
}

fn render_svg(page: &mut String, ops: &[&Operation], roles: &BTreeMap<usize, Role>) {
    let axis = Axis::new(ops);
    let processes: Vec<u64> = {
        let mut processes: Vec<u64> = ops.iter().map(|op| op.process).collect();
        processes.sort_unstable();
        processes.dedup();
        processes
    };
    let width = FIGURE_PX;
    let height = MARGIN_TOP_PX + processes.len() * LANE_PX + 10;
    let _ = writeln!(
        page,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    );
    let what = if axis.by_time { "time" } else { "history order (the history has no times)" };
    let _ = writeln!(page, "<text x=\"4\" y=\"16\">{what} →</text>");
    for (x, label) in axis.ticks() {
        let _ = writeln!(
            page,
            "<line x1=\"{x}\" y1=\"20\" x2=\"{x}\" y2=\"{height}\" stroke=\"#eee\"/><text x=\"{x}\" y=\"16\" text-anchor=\"middle\" fill=\"#666\">{label}</text>"
        );
    }
    for (lane, process) in processes.iter().enumerate() {
        let y = MARGIN_TOP_PX + lane * LANE_PX;
        let _ = writeln!(
            page,
            "<text x=\"4\" y=\"{}\">process {process}</text><line x1=\"{MARGIN_LEFT_PX}\" y1=\"{}\" x2=\"{width}\" y2=\"{}\" stroke=\"#eee\"/>",
            y + 18,
            y + LANE_PX - 2,
            y + LANE_PX - 2
        );
    }
    for op in ops {
        let lane = processes.partition_point(|&p| p < op.process);
        let y = MARGIN_TOP_PX + lane * LANE_PX + 4;
        let (x1, x2) = (axis.start(op), axis.end(op));
        let role = roles.get(&op.id).copied().unwrap_or(Role::Other);
        let class = match role {
            Role::Prefix(_) => "prefix",
            Role::Frontier => "frontier",
            Role::DeadEnd => "dead-end",
            Role::Other => "other",
        };
        let dashed = if op.is_indeterminate() { " indeterminate" } else { "" };
        let label = match role {
            Role::Prefix(order) => format!("{order}. {}", op.describe()),
            _ => op.describe(),
        };
        let w = (x2 - x1).max(4);
        // A label only where it fits inside its interval, so that labels never overlap;
        // the tooltip always has it.
        let text = if label.chars().count() * 7 + 4 < w {
            format!("<text x=\"{}\" y=\"{}\">{}</text>", x1 + 3, y + 15, escape(&label))
        } else {
            String::new()
        };
        let id = if role == Role::Frontier { " id=\"failing-op\"" } else { "" };
        let _ = writeln!(
            page,
            "<g{id}><title>{title}</title><rect class=\"{class}{dashed}\" x=\"{x1}\" y=\"{y}\" width=\"{w}\" height=\"22\" rx=\"3\"/>{text}</g>",
            title = escape(&format!("{}: {label}", op)),
        );
    }
    page.push_str("</svg>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{self, Format, ModelKind, Verdict};

    #[test]
    fn page_is_self_contained_and_marks_the_frontier() {
        let text = "[{:process 0, :type :invoke, :f :write, :value 0}
                     {:process 0, :type :ok, :f :write, :value 0}
                     {:process 1, :type :invoke, :f :read, :value nil}
                     {:process 2, :type :invoke, :f :write, :value 4}
                     {:process 1, :type :ok, :f :read, :value \"<3>\"}
                     {:process 2, :type :ok, :f :write, :value 4}]";
        let history = check::parse_history(text, Format::JepsenEdn).unwrap();
        let Verdict::NotLinearizable(violation) =
            ModelKind::Register.check(&history, 1000).unwrap()
        else {
            panic!("expected a violation")
        };
        let page = render(&history, &violation);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<svg"));
        assert!(page.contains("class=\"frontier\""));
        // A screen wide, whatever the history's length; this history has no times.
        assert!(page.contains("width=\"1200\""));
        assert!(page.contains("history order (the history has no times) →"));
        assert_eq!(page.matches("id=\"failing-op\"").count(), 1);
        assert!(page.contains("read &quot;&lt;3&gt;&quot;"));
        assert!(!page.contains("<script"));
        // The only address is the SVG namespace, which is a name, not a fetch.
        assert_eq!(page.matches("http").count(), page.matches("xmlns=\"http").count());
        assert!(!page.contains("src=") && !page.contains("href="));
    }
}
