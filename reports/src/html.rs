//! The HTML report of a failing seed (`--report DIR`), and the index of a campaign's
//! failures. Each is one self-contained file: inline CSS and SVG, nothing fetched, so it
//! works offline. The failure and the impossible operation are laid out to be on the
//! first screen; one line of inline script marks on the root element whether they are
//! (`data-failure`, `data-failing-op`: `visible`, `hidden` or `absent`), which the
//! headless-browser test reads.

use crate::latency::Latencies;
use crate::svg::{self, Window};
use crate::timeline::{Operation, Timeline};
use sim_core::SimTime;
use sim_core::check::html::escape;
use sim_core::check::linearizability::Violation;
use sim_core::record::RunRecord;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How many messages the report's diagram shows before the failure.
pub const DIAGRAM_MESSAGES: usize = 120;

const STYLE: &str = "<style>\
body{font-family:system-ui,sans-serif;margin:1em 2em;color:#222;max-width:1260px}\
h1{font-size:1.45em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid #ddd}\
.verdict{color:#b71c1c}.pass{color:#2e7d32}table{border-collapse:collapse;font-size:.9em}\
td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}\
pre,code{background:#f6f6f6}pre{padding:.6em;overflow-x:auto;white-space:pre-wrap}\
.why{background:#fff3f3;border-left:4px solid #c62828;padding:.5em 1em;margin:.6em 0}\
.figure{overflow-x:auto;border:1px solid #ddd;margin:.4em 0}.cols{display:flex;gap:2em;flex-wrap:wrap}\
</style>\n";

/// What a failing seed's page needs besides its record.
pub struct Page<'a> {
    pub record: &'a RunRecord,
    pub timeline: &'a Timeline,
    /// The linearizability checker's violation, when that is the failure.
    pub violation: Option<&'a Violation>,
    /// `dsim shrink ...` for this seed.
    pub shrink: String,
}

/// When the failure happened: the impossible operation's completion (linearizability),
/// otherwise the last event of the run (a run stops at an invariant's violation).
pub fn failure_time(timeline: &Timeline, violation: Option<&Violation>) -> SimTime {
    let impossible = violation.and_then(|v| failing_op(timeline, v));
    impossible.map_or(timeline.end, |op| op.end.min(timeline.end).max(op.start))
}

/// The first operation that cannot come next, as the timeline has it.
fn failing_op<'a>(timeline: &'a Timeline, violation: &Violation) -> Option<&'a Operation> {
    let id = violation
        .frontier
        .iter()
        .find(|id| !violation.dead_ends.contains(id))
        .or(violation.frontier.first())?;
    timeline.operations.get(*id)
}

/// One failing seed's page.
pub fn render_page(page: &Page<'_>) -> String {
    let r = page.record;
    let failure = failure_time(page.timeline, page.violation);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{scenario} seed {seed}: {failure}</title>\n{STYLE}</head>\n<body>\n\
         <h1>{scenario}, seed {seed}: <span class=\"verdict\">{verdict}: {property}</span> at {failure_at}</h1>\n\
         <div class=\"why\" id=\"failure\">{message}</div>\n\
         <p>Replay: <code>{replay}</code><br>Shrink: <code>{shrink}</code></p>\n",
        scenario = escape(&r.scenario),
        seed = r.seed,
        failure = escape(&r.failure),
        verdict = r.verdict(),
        property = escape(&r.failure),
        failure_at = failure,
        message = escape(&r.message),
        replay = escape(&r.replay),
        shrink = escape(&page.shrink),
    );
    phases(&mut out, r, failure);
    match page.violation {
        Some(v) => linearizability(&mut out, page.timeline, v),
        None => invariant(&mut out, page.timeline, failure),
    }
    out.push_str("<h2>Messages before the failure</h2>\n<div class=\"figure\">\n");
    let window = Window::last_messages(page.timeline, failure, DIAGRAM_MESSAGES);
    let highlight = page.violation.and_then(|v| failing_op(page.timeline, v)).map(|op| op.index);
    out.push_str(&svg::render(page.timeline, window, Some(failure), highlight));
    out.push_str("</div>\n<div class=\"cols\">\n<div>\n<h2>Checkers</h2>\n<table>\n");
    for (name, finding) in &r.checks {
        let _ = writeln!(out, "<tr><td>{}</td><td>{}</td></tr>", escape(name), escape(finding));
    }
    out.push_str("</table>\n</div>\n<div>\n<h2>Scenario and drawn values</h2>\n<table>\n");
    let _ = writeln!(
        out,
        "<tr><td>protocol</td><td>{}</td></tr><tr><td>bugs</td><td>{}</td></tr>",
        escape(&r.protocol),
        escape(&r.bugs.join(", "))
    );
    for (key, value) in &r.drawn {
        let _ = writeln!(out, "<tr><td>{}</td><td>{}</td></tr>", escape(key), escape(value));
    }
    out.push_str("</table>\n</div>\n<div>\n<h2>Run</h2>\n<table>\n");
    let faults: Vec<String> =
        r.faults.iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k}={n}")).collect();
    let rows = [
        ("events", r.events.to_string()),
        ("simulated", SimTime(r.sim_time_ns).to_string()),
        (
            "operations",
            format!(
                "{} ({} ok, {} fail, {} info)",
                r.ops_invoked, r.ops_ok, r.ops_fail, r.ops_info
            ),
        ),
        (
            "messages",
            format!(
                "{} sent, {} delivered, {} dropped",
                r.messages_sent, r.messages_delivered, r.messages_dropped
            ),
        ),
        ("faults", faults.join(" ")),
        ("trace hash", format!("{:016x}", r.trace_hash)),
    ];
    for (key, value) in rows {
        let _ = writeln!(out, "<tr><td>{key}</td><td>{}</td></tr>", escape(&value));
    }
    out.push_str("</table>\n</div>\n</div>\n<h2>Latency</h2>\n");
    latency(&mut out, &page.timeline.operations);
    out.push_str(
        "<script>function seen(s){var e=document.querySelector(s);if(!e)return 'absent';var r=e.getBoundingClientRect();return r.top>=0&&r.bottom<=innerHeight&&r.left>=0&&r.right<=innerWidth?'visible':'hidden';}var d=document.documentElement.dataset;d.failure=seen('#failure');d.failingOp=seen('.failing-op');</script>\n</body>\n</html>\n",
    );
    out
}

/// A run in phases: the phase the failure happened in, then a row per phase (its span,
/// operations and the faults it added), that phase's row marked.
fn phases(out: &mut String, r: &RunRecord, failure: SimTime) {
    let during = |p: &&sim_core::record::PhaseRecord| {
        (p.start_ns..p.end_ns).contains(&failure.as_nanos())
            || (p.end_ns == r.sim_time_ns && failure.as_nanos() == p.end_ns)
    };
    let Some(failing) = r.phases.iter().find(during) else { return };
    let _ = writeln!(
        out,
        "<p id=\"failing-phase\">In phase <b>{}</b> ({} to {}).</p>\n<h2>Phases</h2>\n<table>",
        escape(&failing.name),
        SimTime(failing.start_ns),
        SimTime(failing.end_ns)
    );
    for p in &r.phases {
        let faults: Vec<String> =
            p.faults.iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k}={n}")).collect();
        let name = if p.name == failing.name {
            format!("<b>{}</b> (the failure's)", escape(&p.name))
        } else {
            escape(&p.name)
        };
        let _ = writeln!(
            out,
            "<tr><td>{name}</td><td>{} to {}</td><td>{} ok of {} invoked</td><td>{}</td></tr>",
            SimTime(p.start_ns),
            SimTime(p.end_ns),
            p.ops_ok,
            p.ops_invoked,
            escape(&faults.join(" "))
        );
    }
    out.push_str("</table>\n");
}

/// The failing key's operations on a real time axis, the impossible one outlined, with
/// the node that served it and the partition in force.
fn linearizability(out: &mut String, timeline: &Timeline, v: &Violation) {
    let key = v.key.as_ref().map_or("(single register)".into(), ToString::to_string);
    let _ = writeln!(
        out,
        "<h2>Not linearizable: key {key}</h2>\n<p>Model {model}. The longest linearizable prefix orders {prefix} of this key's {ops} operations; after it {state}, and no operation that could come next can follow it:</p>\n<ul>",
        key = escape(&key),
        model = escape(v.model),
        prefix = v.prefix.len(),
        ops = v.operations.len(),
        state = escape(&v.state_after_prefix),
    );
    for &id in &v.frontier {
        let Some(op) = timeline.operations.get(id) else { continue };
        let why = if v.dead_ends.contains(&id) {
            "possible here, but then the rest cannot be ordered"
        } else {
            "impossible in this state"
        };
        let served = op.node.map_or("no node's reply".into(), |n| format!("served by n{n}"));
        let partition = timeline.partition_at(op.end).unwrap_or("none");
        let _ = writeln!(
            out,
            "<li><b>process {p}: {label}{result}</b> ({outcome}, {s} to {e}): {why}; {served}; partition in force: {partition}</li>",
            p = op.process,
            label = escape(&op.label),
            result = op.result.as_ref().map(|r| format!(" → {}", escape(r))).unwrap_or_default(),
            outcome = op.outcome,
            s = op.start,
            e = op.end,
            partition = escape(partition),
        );
    }
    out.push_str("</ul>\n<div class=\"figure\">\n");
    out.push_str(&key_operations(timeline, v));
    out.push_str("</div>\n");
}

/// The key's operations near the failure: one lane per process, on a real time axis.
fn key_operations(timeline: &Timeline, v: &Violation) -> String {
    let prefix_tail = &v.prefix[v.prefix.len().saturating_sub(12)..];
    let focus: Vec<&Operation> = prefix_tail
        .iter()
        .chain(&v.frontier)
        .filter_map(|&id| timeline.operations.get(id))
        .collect();
    let from = focus.iter().map(|op| op.start).min().unwrap_or(SimTime::ZERO);
    let to = focus.iter().map(|op| op.end).max().unwrap_or(timeline.end);
    let pad = SimTime((to.as_nanos() - from.as_nanos()) / 20 + 1);
    let window = Window {
        from: SimTime(from.as_nanos().saturating_sub(pad.as_nanos())),
        to: to + sim_core::SimDuration(pad.as_nanos()),
    };
    let ids: Vec<usize> = v.operations.iter().map(|op| op.id).collect();
    // A timeline without nodes: its lanes are the key's processes, and only partitions
    // are shaded.
    let key_only = Timeline {
        nodes: 0,
        messages: Vec::new(),
        spans: timeline.spans.iter().filter(|s| s.node.is_none()).cloned().collect(),
        marks: Vec::new(),
        operations: ids
            .iter()
            .filter_map(|&id| timeline.operations.get(id))
            .map(|op| Operation { client: op.process, ..op.clone() })
            .collect(),
        ..timeline.clone()
    };
    let highlight = failing_op(timeline, v).map(|op| op.index);
    svg::render(&key_only, window, None, highlight)
}

/// For an invariant: what each node last noted before the failure.
fn invariant(out: &mut String, timeline: &Timeline, failure: SimTime) {
    let _ = writeln!(
        out,
        "<h2>The nodes at the failure ({failure})</h2>\n<p>Each node's last notes (its handler's annotations) before the failure, and whether it was up:</p>\n<table>\n<tr><th>node</th><th>state</th><th>last notes</th></tr>"
    );
    for node in 0..timeline.nodes {
        let down = timeline.spans.iter().find(|s| {
            s.node == Some(node) && s.start <= failure && failure <= s.end && s.start != s.end
        });
        let state = down.map_or("up".into(), |s| format!("{:?} since {}", s.kind, s.start));
        let notes: Vec<String> = timeline
            .notes
            .iter()
            .filter(|(n, t, _)| *n == node && *t <= failure)
            .rev()
            .take(3)
            .map(|(_, t, note)| format!("{t}: {note}"))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>n{node}</td><td>{}</td><td>{}</td></tr>",
            escape(&state.to_lowercase()),
            escape(&notes.join("; "))
        );
    }
    out.push_str("</table>\n");
    if let Some(p) = timeline.partition_at(failure) {
        let _ = writeln!(out, "<p>Partition in force: {}</p>", escape(p));
    }
}

/// Latency of completed operations (ok and fail), by function: percentiles and a
/// histogram on log-scaled buckets, from an HdrHistogram ([`Latencies`]).
fn latency(out: &mut String, operations: &[Operation]) {
    let mut by_f: BTreeMap<String, Latencies> = BTreeMap::new();
    for op in operations.iter().filter(|op| op.outcome == "ok" || op.outcome == "fail") {
        let f = op.label.split(' ').next().unwrap_or("").to_owned();
        by_f.entry(f).or_default().record(op.end.as_nanos() - op.start.as_nanos());
    }
    if by_f.is_empty() {
        out.push_str("<p>No completed operations.</p>\n");
        return;
    }
    out.push_str("<p>Percentiles to three significant digits.</p>\n<div class=\"cols\">\n");
    for (f, latencies) in by_f {
        let at = |q: f64| significant(latencies.quantile(q));
        let _ = write!(
            out,
            "<div><b>{f}</b> ({n}): p50 {p50}, p90 {p90}, p99 {p99}, p99.9 {p999}, max {max}<br>",
            f = escape(&f),
            n = latencies.len(),
            p50 = at(0.5),
            p90 = at(0.9),
            p99 = at(0.99),
            p999 = at(0.999),
            max = significant(latencies.max()),
        );
        out.push_str(&histogram(&latencies));
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n");
}

/// A duration's value and unit, the unit picked so that the value is below 1000.
fn in_unit(nanos: u64) -> (f64, &'static str) {
    match nanos {
        1_000_000_000.. => (nanos as f64 / 1e9, "s"),
        1_000_000.. => (nanos as f64 / 1e6, "ms"),
        1_000.. => (nanos as f64 / 1e3, "us"),
        _ => (nanos as f64, "ns"),
    }
}

/// A duration in two or three digits and a unit, for an axis ("17ms", "1.1s").
fn short(nanos: u64) -> String {
    let (value, unit) = in_unit(nanos);
    if value < 10.0 { format!("{value:.1}{unit}") } else { format!("{value:.0}{unit}") }
}

/// A duration to three significant digits ("6.96ms", "48.5ms", "494ms"), as precise as
/// a [`Latencies`] percentile.
fn significant(nanos: u64) -> String {
    let (value, unit) = in_unit(nanos);
    let decimals = if unit == "ns" || value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$}{unit}")
}

/// Bars of counts in buckets of powers of two of nanoseconds.
pub fn histogram(latencies: &Latencies) -> String {
    let bars = latencies.log2_bars();
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let (w, h) = (18 * bars.len() + 30, 110);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-size=\"9\" font-family=\"sans-serif\">"
    );
    for (i, &(upper, n)) in bars.iter().enumerate() {
        let bar = (n as f64 / max * 70.0).round();
        let x = 10 + i * 18;
        // Bars end at a power of two minus one: labelled by the power of two.
        let limit = upper.saturating_add(1);
        let _ = write!(
            svg,
            "<g><title>{n} under {}</title><rect x=\"{x}\" y=\"{}\" width=\"15\" height=\"{bar}\" fill=\"#64b5f6\"/></g>",
            SimTime(limit),
            80.0 - bar
        );
        if i % 3 == 0 {
            let _ = write!(svg, "<text x=\"{x}\" y=\"94\">{}</text>", short(limit));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// What a campaign's index gathers from each seed: failures by property, pass and fail
/// by drawn value, and latency percentiles.
#[derive(Clone, Debug, Default)]
pub struct Index {
    seeds: u64,
    /// Failing seeds by property.
    failures: BTreeMap<String, Vec<Failed>>,
    /// Knob, then value, then (passed, failed).
    knobs: BTreeMap<String, BTreeMap<String, (u64, u64)>>,
    /// Each seed's p50 and p99 (of those that completed an operation).
    p50: Latencies,
    p99: Latencies,
}

/// A failing seed on the index: scenario, seed, its page's file if one was written, and
/// the failure's message.
type Failed = (String, u64, Option<String>, String);

/// Failures listed per property on the index, at most.
const LISTED: usize = 200;

impl Index {
    /// Count `record`; `page` is its page's file name, if one was written.
    pub fn add(&mut self, record: &RunRecord, page: Option<String>) {
        self.seeds += 1;
        let failed = record.verdict().is_failure();
        if failed {
            let list = self.failures.entry(record.failure.clone()).or_default();
            if list.len() < LISTED {
                list.push((record.scenario.clone(), record.seed, page, record.message.clone()));
            }
        }
        for (knob, value) in &record.drawn {
            let counts =
                self.knobs.entry(knob.clone()).or_default().entry(value.clone()).or_default();
            if failed {
                counts.1 += 1;
            } else {
                counts.0 += 1;
            }
        }
        if record.ops_ok > 0 {
            self.p50.record(record.latency_p50_ns);
            self.p99.record(record.latency_p99_ns);
        }
    }

    pub fn render(&self) -> String {
        let failed: usize = self.failures.values().map(Vec::len).sum();
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>dsim campaign: {failed} failing of {seeds}</title>\n{STYLE}</head>\n<body>\n<h1>Campaign: {failed} failing seeds of {seeds}</h1>\n<h2>Failures by property</h2>\n",
            seeds = self.seeds
        );
        if self.failures.is_empty() {
            out.push_str("<p class=\"pass\">Every seed passed.</p>\n");
        }
        for (property, list) in &self.failures {
            let _ = writeln!(out, "<h3>{} ({})</h3>\n<table>", escape(property), list.len());
            for (scenario, seed, page, message) in list {
                let seed_cell = match page {
                    Some(file) => format!("<a href=\"{}\">seed {seed}</a>", escape(file)),
                    None => format!("seed {seed}"),
                };
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{seed_cell}</td><td>{}</td></tr>",
                    escape(scenario),
                    escape(message)
                );
            }
            out.push_str("</table>\n");
        }
        out.push_str("<h2>Pass and fail by drawn value</h2>\n<div class=\"cols\">\n");
        for (knob, values) in &self.knobs {
            let _ = writeln!(
                out,
                "<table><tr><th colspan=\"3\">{}</th></tr><tr><th>value</th><th>pass</th><th>fail</th></tr>",
                escape(knob)
            );
            for (value, (pass, fail)) in values.iter().take(30) {
                let bar = format!(
                    "<svg width=\"60\" height=\"8\"><rect width=\"{}\" height=\"8\" fill=\"#e57373\"/></svg>",
                    (60 * fail / (pass + fail).max(1))
                );
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{pass}</td><td>{fail} {bar}</td></tr>",
                    escape(value)
                );
            }
            if values.len() > 30 {
                let _ = writeln!(
                    out,
                    "<tr><td colspan=\"3\">… {} more values</td></tr>",
                    values.len() - 30
                );
            }
            out.push_str("</table>\n");
        }
        out.push_str("</div>\n<h2>Latency per seed</h2>\n");
        if self.p50.is_empty() {
            out.push_str("<p>No seed completed an operation.</p>\n");
        } else {
            let (p50, p99) = (&self.p50, &self.p99);
            let _ = writeln!(
                out,
                "<div class=\"cols\"><div>p50 of each seed (median {}, worst {}):<br>{}</div><div>p99 of each seed (median {}, worst {}):<br>{}</div></div>",
                significant(p50.quantile(0.5)),
                significant(p50.max()),
                histogram(p50),
                significant(p99.quantile(0.5)),
                significant(p99.max()),
                histogram(p99)
            );
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(label: &str, outcome: &str, nanos: u64) -> Operation {
        Operation {
            index: 0,
            process: 0,
            client: 0,
            label: label.into(),
            key: Some("0".into()),
            start: SimTime(1_000),
            end: SimTime(1_000 + nanos),
            outcome: outcome.into(),
            result: None,
            node: Some(0),
        }
    }

    /// The bars' counts, from their titles ("12 under 1.048576ms").
    fn bar_counts(html: &str) -> Vec<u64> {
        html.split("<title>")
            .skip(1)
            .map(|t| t.split(' ').next().unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn the_latency_section_gives_percentiles_and_bars_per_function() {
        let mut operations: Vec<Operation> =
            (1..=1000).map(|ms| operation("write 0 1", "ok", ms * 1_000_000)).collect();
        operations.extend((0..10).map(|_| operation("read 0 nil", "fail", 5_000_000)));
        // Indeterminate and open operations have no latency.
        operations.push(operation("read 0 nil", "info", 9_000_000_000));
        operations.push(operation("cas 0 [1 2]", "open", 1));
        let mut out = String::new();
        latency(&mut out, &operations);
        assert!(
            out.contains(
                "<b>read</b> (10): p50 5.00ms, p90 5.00ms, p99 5.00ms, p99.9 5.00ms, max 5.00ms<br>"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "<b>write</b> (1000): p50 500ms, p90 900ms, p99 990ms, p99.9 999ms, max 1.00s<br>"
            ),
            "{out}"
        );
        assert!(!out.contains("<b>cas</b>"), "{out}");
        let (read, write) = out.split_once("<b>write</b>").unwrap();
        assert_eq!(bar_counts(read), [10], "one bar: 5ms is under 2^23 ns");
        let writes = bar_counts(write);
        assert_eq!(writes.iter().sum::<u64>(), 1000);
        // 1ms..1000ms spans 2^19 ns to 2^30 ns: eleven bars, the last half of the values
        // (from 537ms) in the last one.
        assert_eq!(writes.len(), 11, "{writes:?}");
        assert_eq!(writes.last(), Some(&464), "{writes:?}");
        assert!(write.contains("<title>464 under 1.073741824s</title>"), "{write}");
        let mut none = String::new();
        latency(&mut none, &operations[1010..]);
        assert_eq!(none, "<p>No completed operations.</p>\n");
    }

    #[test]
    fn the_index_gives_the_seeds_latency_percentiles() {
        let mut index = Index::default();
        for seed in 0..200 {
            let record = RunRecord {
                scenario: "s".into(),
                seed,
                ops_ok: u64::from(seed != 7),
                latency_p50_ns: 1_000_000 + seed * 10_000,
                latency_p99_ns: 50_000_000 + seed * 1_000_000,
                ..RunRecord::default()
            };
            index.add(&record, None);
        }
        let html = index.render();
        // Seed 7 completed nothing: 199 seeds, median 100th (seed 100), worst seed 199.
        assert!(html.contains("p50 of each seed (median 2.00ms, worst 2.99ms)"), "{html}");
        assert!(html.contains("p99 of each seed (median 150ms, worst 249ms)"), "{html}");
        let (_, latency) = html.split_once("<h2>Latency per seed</h2>").unwrap();
        assert_eq!(bar_counts(latency).iter().sum::<u64>(), 2 * 199);
        assert_eq!(index.render(), html, "rendering is deterministic");
    }

    #[test]
    fn durations_to_three_significant_digits() {
        let cases = [
            (0, "0ns"),
            (999, "999ns"),
            (1_000, "1.00us"),
            (6_955_199, "6.96ms"),
            (48_538_000, "48.5ms"),
            (493_766_000, "494ms"),
            (1_000_000_000, "1.00s"),
            (123_456_000_000, "123s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(significant(nanos), text, "{nanos}");
        }
    }
}
