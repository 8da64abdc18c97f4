//! The message diagram of a run (`--svg`, and inside the HTML report): one lane per node,
//! an arrow per message from its send to its delivery (drops end in a cross, a
//! duplicate's second copy is dashed), crashes, pauses and partitions shaded, client
//! operations as intervals below, on a real time axis. It draws a window of the run, so
//! it stays the width of a screen.

use crate::timeline::{Message, Operation, SpanKind, Timeline};
use sim_core::SimTime;
use sim_core::check::html::escape;
use sim_core::trace::Fate;
use std::fmt::Write as _;

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 44.0;
const LANE: f64 = 40.0;
const CLIENT_LANE: f64 = 22.0;
/// Arrows get labels only when this few are drawn (more would overlap).
const LABELLED_MESSAGES: usize = 40;
/// At most this many client lanes are drawn (those with operations in the window).
const MAX_CLIENT_LANES: usize = 24;

/// The stretch of time a diagram shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: SimTime,
    pub to: SimTime,
}

impl Window {
    /// The window that holds the last `n` messages sent up to `before`, and runs a little
    /// past it.
    pub fn last_messages(timeline: &Timeline, before: SimTime, n: usize) -> Window {
        let sent: Vec<SimTime> =
            timeline.messages.iter().map(|m| m.sent).filter(|&t| t <= before).collect();
        let from = sent.len().checked_sub(n.max(1)).map_or(SimTime::ZERO, |i| sent[i]);
        let span = before.as_nanos().saturating_sub(from.as_nanos()).max(1_000);
        let to = SimTime(
            (before.as_nanos() + span / 20).min(timeline.end.as_nanos().max(before.as_nanos())),
        );
        Window { from, to: if to > from { to } else { SimTime(from.as_nanos() + 1_000) } }
    }

    fn contains(&self, t: SimTime) -> bool {
        self.from <= t && t <= self.to
    }
}

/// A readable step for `ticks` marks over `span` nanoseconds: 1, 2 or 5 times a power of
/// ten.
fn tick_step(span: u64, ticks: u64) -> u64 {
    let rough = span.div_ceil(ticks.max(1)).max(1);
    let mut power = 1u64;
    while power.saturating_mul(10) <= rough {
        power *= 10;
    }
    [1, 2, 5, 10].into_iter().map(|m| m * power).find(|&s| s >= rough).unwrap_or(power * 10)
}

struct Layout {
    window: Window,
    nodes: u32,
    clients: Vec<u64>,
}

impl Layout {
    fn x(&self, t: SimTime) -> f64 {
        let span = (self.window.to.as_nanos() - self.window.from.as_nanos()).max(1) as f64;
        let clamped = t.clamp(self.window.from, self.window.to);
        LEFT + (clamped.as_nanos() - self.window.from.as_nanos()) as f64 / span
            * (WIDTH - LEFT - RIGHT)
    }

    fn node_y(&self, node: u32) -> f64 {
        TOP + LANE * (f64::from(node) + 0.5)
    }

    fn clients_top(&self) -> f64 {
        TOP + LANE * f64::from(self.nodes) + 16.0
    }

    fn client_y(&self, client: u64) -> Option<f64> {
        let lane = self.clients.iter().position(|&c| c == client)?;
        Some(self.clients_top() + CLIENT_LANE * lane as f64)
    }

    fn height(&self) -> f64 {
        self.clients_top() + CLIENT_LANE * self.clients.len() as f64 + 34.0
    }
}

/// The diagram of `window`, with a red line at `failure` and the operation `highlight`
/// (its index in the timeline) outlined.
pub fn render(
    timeline: &Timeline,
    window: Window,
    failure: Option<SimTime>,
    highlight: Option<usize>,
) -> String {
    let ops: Vec<&Operation> = timeline
        .operations
        .iter()
        .filter(|op| op.end >= window.from && op.start <= window.to)
        .collect();
    let mut clients: Vec<u64> = ops.iter().map(|op| op.client).collect();
    clients.sort_unstable();
    clients.dedup();
    clients.truncate(MAX_CLIENT_LANES);
    let layout = Layout { window, nodes: timeline.nodes, clients };
    let height = layout.height();
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"diagram\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    svg.push_str(STYLE);
    let plot_w = WIDTH - LEFT - RIGHT;
    let _ = writeln!(
        svg,
        "<clipPath id=\"plot\"><rect x=\"{LEFT}\" y=\"0\" width=\"{plot_w}\" height=\"{height}\"/></clipPath>"
    );
    lanes(&mut svg, &layout);
    spans(&mut svg, timeline, &layout);
    axis(&mut svg, &layout);
    messages(&mut svg, timeline, &layout);
    operations(&mut svg, &ops, &layout, highlight);
    if let Some(t) = failure.filter(|&t| window.contains(t)) {
        let x = layout.x(t);
        let bottom = height - 30.0;
        // Near the right edge the label goes to the line's left.
        let near_right = x > WIDTH - 200.0;
        let anchor = if near_right { "end" } else { "start" };
        let _ = writeln!(
            svg,
            "<line class=\"failure\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{bottom}\"/><text class=\"failure-label\" x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\">failure at {t}</text>",
            if near_right { x - 3.0 } else { x + 3.0 },
            TOP - 4.0
        );
    }
    legend(&mut svg, height - 12.0);
    svg.push_str("</svg>\n");
    svg
}

const STYLE: &str = "<style>\
.lane{stroke:#ddd}.lane-label{fill:#333;font-weight:bold}\
.crashed{fill:#e53935;opacity:.22}.paused{fill:#fb8c00;opacity:.25}\
.partition{fill:#546e7a;opacity:.12}.partition-label{fill:#37474f}\
.tick{stroke:#eee}.tick-label{fill:#666}\
.msg{stroke:#1e88e5;stroke-width:1.1;fill:none}.msg.copy{stroke-dasharray:4 3}\
.msg.dropped{stroke:#e53935;stroke-dasharray:2 2}.msg.pending{stroke:#9e9e9e}\
.cross{stroke:#e53935;stroke-width:2}.msg-label{fill:#1565c0;font-size:9px}\
.op{stroke:#555;stroke-width:.8}.op.ok{fill:#c8e6c9}.op.fail{fill:#eeeeee}\
.op.info,.op.open{fill:#ffe0b2;stroke-dasharray:3 2}\
.op.highlight{stroke:#c62828;stroke-width:3}.op-label{fill:#222;font-size:10px}\
.failure{stroke:#c62828;stroke-width:2}.failure-label{fill:#c62828;font-weight:bold}\
.mark{fill:#37474f;font-size:9px}</style>\n\
<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#1e88e5\"/></marker></defs>\n";

fn lanes(svg: &mut String, layout: &Layout) {
    for node in 0..layout.nodes {
        let y = layout.node_y(node);
        let _ = writeln!(
            svg,
            "<line class=\"lane\" x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/><text class=\"lane-label\" x=\"8\" y=\"{}\">n{node}</text>",
            WIDTH - RIGHT,
            y + 4.0
        );
    }
    // A timeline without nodes is one key's operations, a lane per process.
    let lane = if layout.nodes == 0 { "process" } else { "client" };
    for &client in &layout.clients {
        if let Some(y) = layout.client_y(client) {
            let _ = writeln!(
                svg,
                "<text class=\"tick-label\" x=\"8\" y=\"{}\">{lane} {client}</text>",
                y + 14.0
            );
        }
    }
}

fn spans(svg: &mut String, timeline: &Timeline, layout: &Layout) {
    let window = layout.window;
    let mut label_row = 0;
    for span in &timeline.spans {
        if span.end < window.from || span.start > window.to {
            continue;
        }
        let (x1, x2) = (layout.x(span.start), layout.x(span.end));
        let w = (x2 - x1).max(1.0);
        match (&span.kind, span.node) {
            (SpanKind::Partition { text }, _) => {
                let h = LANE * f64::from(layout.nodes);
                let y = TOP + 13.0 * f64::from(label_row % 2);
                label_row += 1;
                let _ = writeln!(
                    svg,
                    "<g><title>partition {t}, {s} to {e}</title><rect class=\"partition\" x=\"{x1:.1}\" y=\"{TOP}\" width=\"{w:.1}\" height=\"{h}\"/><text class=\"partition-label\" x=\"{:.1}\" y=\"{:.1}\" clip-path=\"url(#plot)\">{t}</text></g>",
                    x1 + 3.0,
                    y + 10.0,
                    t = escape(text),
                    s = span.start,
                    e = span.end,
                );
            }
            (kind, Some(node)) => {
                let class = if *kind == SpanKind::Crashed { "crashed" } else { "paused" };
                let y = layout.node_y(node) - LANE / 2.0 + 2.0;
                let _ = writeln!(
                    svg,
                    "<g><title>n{node} {class} {s} to {e}</title><rect class=\"{class}\" x=\"{x1:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\"/><text class=\"mark\" x=\"{:.1}\" y=\"{}\" clip-path=\"url(#plot)\">{class}</text></g>",
                    LANE - 4.0,
                    x1 + 2.0,
                    y + LANE - 8.0,
                    s = span.start,
                    e = span.end,
                );
            }
            _ => {}
        }
    }
    for mark in timeline.marks.iter().filter(|m| window.contains(m.time)) {
        let x = layout.x(mark.time);
        let y = mark.node.map_or(TOP - 2.0, |n| layout.node_y(n) - 8.0);
        let _ = writeln!(
            svg,
            "<text class=\"mark\" x=\"{x:.1}\" y=\"{y:.1}\"><title>{t} at {time}</title>▾ {t}</text>",
            t = escape(&mark.text),
            time = mark.time
        );
    }
}

fn axis(svg: &mut String, layout: &Layout) {
    let (from, to) = (layout.window.from.as_nanos(), layout.window.to.as_nanos());
    let step = tick_step(to - from, 10);
    let bottom = layout.height() - 30.0;
    let mut t = from.div_ceil(step) * step;
    while t <= to {
        let x = layout.x(SimTime(t));
        let _ = writeln!(
            svg,
            "<line class=\"tick\" x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{bottom}\"/><text class=\"tick-label\" x=\"{x:.1}\" y=\"14\" text-anchor=\"middle\">{}</text>",
            TOP - 14.0,
            SimTime(t)
        );
        t += step;
    }
    let _ = writeln!(svg, "<text class=\"tick-label\" x=\"8\" y=\"14\">time →</text>");
}

fn messages(svg: &mut String, timeline: &Timeline, layout: &Layout) {
    let window = layout.window;
    let drawn: Vec<&Message> = timeline
        .messages
        .iter()
        .filter(|m| {
            let last = m.delivered.last().copied().or(m.dropped).unwrap_or(timeline.end);
            last >= window.from && m.sent <= window.to
        })
        .collect();
    let labelled = drawn.len() <= LABELLED_MESSAGES;
    svg.push_str("<g clip-path=\"url(#plot)\">\n");
    for m in drawn {
        let (x1, y1) = (layout.x(m.sent), layout.node_y(m.from));
        let y2 = layout.node_y(m.to);
        let title = format!(
            "message {id}: n{from} → n{to} {msg}, sent {sent}, {fate}",
            id = m.id,
            from = m.from,
            to = m.to,
            msg = m.msg,
            sent = m.sent,
            fate = m.fate_text()
        );
        let _ = write!(svg, "<g><title>{}</title>", escape(&title));
        for (copy, &at) in m.delivered.iter().enumerate() {
            let class = if copy == 0 { "msg" } else { "msg copy" };
            let x2 = layout.x(at);
            let _ = write!(
                svg,
                "<line class=\"{class}\" x1=\"{x1:.1}\" y1=\"{y1}\" x2=\"{x2:.1}\" y2=\"{y2}\" marker-end=\"url(#arrow)\"/>"
            );
        }
        match (m.fate, m.dropped) {
            (Fate::Dropped { at_send, .. }, Some(at)) if m.delivered.is_empty() => {
                // A drop at the send is a short stub towards the receiver.
                let (x2, y2) = if at_send {
                    (x1 + 10.0, y1 + (y2 - y1).signum() * 10.0)
                } else {
                    (layout.x(at), y2)
                };
                let _ = write!(
                    svg,
                    "<line class=\"msg dropped\" x1=\"{x1:.1}\" y1=\"{y1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\"/>\
                     <path class=\"cross\" d=\"M{a:.1},{b:.1}l6,6m0,-6l-6,6\"/>",
                    a = x2 - 3.0,
                    b = y2 - 3.0
                );
            }
            (Fate::Held | Fate::InFlight, _) => {
                let x2 = layout.x(timeline.end);
                let _ = write!(
                    svg,
                    "<line class=\"msg pending\" x1=\"{x1:.1}\" y1=\"{y1}\" x2=\"{x2:.1}\" y2=\"{y2}\"/>"
                );
            }
            _ => {}
        }
        if labelled {
            let end = m.delivered.first().copied().or(m.dropped).unwrap_or(m.sent);
            let xm = (x1 + layout.x(end)) / 2.0;
            let _ = write!(
                svg,
                "<text class=\"msg-label\" x=\"{xm:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                (y1 + y2) / 2.0 - 3.0,
                escape(&m.msg_type)
            );
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</g>\n");
}

fn operations(svg: &mut String, ops: &[&Operation], layout: &Layout, highlight: Option<usize>) {
    svg.push_str("<g clip-path=\"url(#plot)\">\n");
    for op in ops {
        let Some(y) = layout.client_y(op.client) else { continue };
        let (x1, x2) = (layout.x(op.start), layout.x(op.end));
        let w = (x2 - x1).max(2.0);
        let lit = highlight == Some(op.index);
        let class = format!("op {}{}", op.outcome, if lit { " highlight" } else { "" });
        let id = if lit { " class=\"failing-op\"" } else { "" };
        let label = match &op.result {
            Some(result) => format!("{} → {result}", op.label),
            None => op.label.clone(),
        };
        let served = op.node.map(|n| format!(", served by n{n}")).unwrap_or_default();
        let title = format!(
            "process {p}: {label} ({outcome}){served}, {s} to {e}",
            p = op.process,
            outcome = op.outcome,
            s = op.start,
            e = op.end
        );
        let _ = write!(
            svg,
            "<g{id}><title>{}</title><rect class=\"{class}\" x=\"{x1:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{}\" rx=\"2\"/>",
            escape(&title),
            y + 2.0,
            CLIENT_LANE - 4.0
        );
        // A label only where it fits, so labels never overlap.
        if (label.chars().count() as f64) * 5.6 + 4.0 < w {
            let _ = write!(
                svg,
                "<text class=\"op-label\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                x1 + 3.0,
                y + 15.0,
                escape(&label)
            );
        }
        svg.push_str("</g>\n");
    }
    svg.push_str("</g>\n");
}

fn legend(svg: &mut String, y: f64) {
    let items = [
        (
            "<line class=\"msg\" x1=\"0\" y1=\"-4\" x2=\"22\" y2=\"-4\" marker-end=\"url(#arrow)\"/>",
            "message",
        ),
        ("<line class=\"msg copy\" x1=\"0\" y1=\"-4\" x2=\"22\" y2=\"-4\"/>", "duplicate"),
        (
            "<line class=\"msg dropped\" x1=\"0\" y1=\"-4\" x2=\"18\" y2=\"-4\"/><path class=\"cross\" d=\"M16,-7l6,6m0,-6l-6,6\"/>",
            "dropped",
        ),
        ("<rect class=\"crashed\" x=\"0\" y=\"-10\" width=\"22\" height=\"10\"/>", "crashed"),
        ("<rect class=\"paused\" x=\"0\" y=\"-10\" width=\"22\" height=\"10\"/>", "paused"),
        ("<rect class=\"partition\" x=\"0\" y=\"-10\" width=\"22\" height=\"10\"/>", "partition"),
        ("<rect class=\"op ok\" x=\"0\" y=\"-10\" width=\"22\" height=\"10\"/>", "ok"),
        ("<rect class=\"op info\" x=\"0\" y=\"-10\" width=\"22\" height=\"10\"/>", "info / open"),
        ("<rect class=\"op fail\" x=\"0\" y=\"-10\" width=\"22\" height=\"10\"/>", "fail"),
    ];
    let mut x = LEFT;
    for (mark, text) in items {
        let _ = write!(
            svg,
            "<g transform=\"translate({x:.1},{y:.1})\">{mark}<text class=\"tick-label\" x=\"27\" y=\"0\">{text}</text></g>"
        );
        x += 40.0 + text.len() as f64 * 6.0;
    }
    svg.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(1_000_000_000, 10), 100_000_000);
        assert_eq!(tick_step(3_000_000, 10), 500_000);
        assert_eq!(tick_step(15, 10), 2);
        assert_eq!(tick_step(0, 10), 1);
    }
}
