//! A self-contained HTML page explaining what the transactional checker found (`dsim
//! check --html` on a `:txn` history): per anomaly, its class and the isolation levels it
//! rules out; for a dependency cycle, a figure of the transactions around it with each
//! edge's kind (SVG), then the cycle step by step: each transaction with its micro-ops,
//! and the edge to the next with the operations that made it. No scripts, no external
//! assets.

use super::{Analysis, Anomaly, Consistency, CycleReport, EXPLAINED};
use crate::check::html::escape;
use crate::txn::display_txn;
use std::fmt::Write as _;

/// The figure of a cycle: transactions on a circle of this radius, in boxes this wide.
const RADIUS_PX: f64 = 150.0;
const BOX_W_PX: f64 = 64.0;
const BOX_H_PX: f64 = 28.0;
const FIGURE_PX: f64 = 2.0 * RADIUS_PX + 2.0 * BOX_W_PX + 40.0;

const STYLE: &str = "body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }\n\
    pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }\n\
    code { background: #f3f3f3; padding: 0 0.2em; }\n\
    .figure { border: 1px solid #ddd; display: inline-block; }\n\
    rect.txn { fill: #e3ecf8; stroke: #1f5fa8; }\n\
    line.edge { stroke-width: 2; }\n\
    .ww { stroke: #6a1b9a; color: #6a1b9a; fill: #6a1b9a; }\n\
    .wr { stroke: #2e7d32; color: #2e7d32; fill: #2e7d32; }\n\
    .rw { stroke: #c62828; color: #c62828; fill: #c62828; }\n\
    .realtime, .process { stroke: #616161; color: #616161; fill: #616161; }\n\
    text { font-size: 12px; }\n\
    ol.steps li { margin-bottom: 0.6em; }\n\
    span.edge { font-weight: bold; }\n";

/// The page for `analysis`: its anomalies explained, or that it has none.
pub fn render(analysis: &Analysis<'_>) -> String {
    let level = match analysis.consistency {
        Consistency::Serializable => "serializable",
        Consistency::StrictSerializable => "strict serializable",
    };
    let title = if analysis.is_valid() {
        format!("{}: no anomaly", capitalized(level))
    } else {
        format!("Not {level}: {}", analysis.classes().join(", "))
    };
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <p>Checked for <b>{level}</b>: {txns} transactions, {edges} dependencies between \
         committed ones (ww: the later installed the next version; wr: the later read the \
         earlier's version; rw: the earlier read a version the later overwrote{realtime}).</p>\n",
        title = escape(&title),
        txns = analysis.ops.len(),
        edges = analysis.edges,
        realtime = match analysis.consistency {
            Consistency::Serializable => "",
            Consistency::StrictSerializable => {
                "; realtime: the earlier completed before the later was invoked; process: one \
                 process ran the earlier, then the later"
            }
        },
    );
    if !analysis.is_valid() {
        let _ = writeln!(page, "<p>{}.</p>", escape(&analysis.summary()));
    }
    for (n, anomaly) in analysis.anomalies.iter().take(EXPLAINED).enumerate() {
        let _ = writeln!(
            page,
            "<h2>{}. {}: impossible under {}</h2>",
            n + 1,
            escape(&anomaly.name()),
            escape(anomaly.rules_out())
        );
        match anomaly {
            Anomaly::Cycle(cycle) => render_cycle(&mut page, analysis, cycle),
            other => {
                let _ = writeln!(page, "<p>{}</p>\n<ul>", escape(&analysis.describe(other)));
                for &op in &Analysis::involved(other) {
                    let _ = writeln!(page, "<li>{}</li>", txn_html(analysis, op));
                }
                page.push_str("</ul>\n");
            }
        }
    }
    if analysis.anomalies.len() > EXPLAINED {
        let _ = writeln!(
            page,
            "<p>... and {} more anomalies (in the text below).</p>",
            analysis.anomalies.len() - EXPLAINED
        );
    }
    let _ = write!(
        page,
        "<h2>In words</h2>\n<pre>{}</pre>\n</body>\n</html>\n",
        escape(&analysis.to_string())
    );
    page
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A transaction: its name, process, outcome and micro-ops.
fn txn_html(analysis: &Analysis<'_>, op: usize) -> String {
    let o = &analysis.ops[op];
    format!(
        "<b>T{op}</b> (process {}, {}) <code>{}</code>",
        o.process,
        o.outcome.name(),
        escape(&display_txn(o.txn, true))
    )
}

/// A cycle: the figure, then each step with its edge and why the edge is there.
fn render_cycle(page: &mut String, analysis: &Analysis<'_>, cycle: &CycleReport) {
    let _ = writeln!(
        page,
        "<p>A cycle of {} transactions: each must come before the next in any serial order \
         the guarantee allows, which no order can do.</p>",
        cycle.txns.len()
    );
    render_figure(page, cycle);
    page.push_str("<ol class=\"steps\">\n");
    let n = cycle.txns.len();
    for (i, (&from, step)) in cycle.txns.iter().zip(&cycle.steps).enumerate() {
        let to = cycle.txns[(i + 1) % n];
        let kind = cycle.kinds[i].name();
        let why = step.split_once(": ").map_or("", |(_, why)| why);
        let _ = writeln!(
            page,
            "<li>{}<br><span class=\"edge {kind}\">&#8594; {kind} &#8594;</span> <b>T{to}</b>: {}</li>",
            txn_html(analysis, from),
            escape(why)
        );
    }
    page.push_str("</ol>\n");
}

/// The transactions around a circle, each edge an arrow labelled with its kind.
fn render_figure(page: &mut String, cycle: &CycleReport) {
    let n = cycle.txns.len();
    let centre = FIGURE_PX / 2.0;
    let at = |i: usize| {
        // Clockwise from the top.
        let angle = std::f64::consts::TAU * i as f64 / n as f64 - std::f64::consts::FRAC_PI_2;
        (centre + RADIUS_PX * angle.cos(), centre + RADIUS_PX * angle.sin())
    };
    let _ = writeln!(
        page,
        "<div class=\"figure\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{FIGURE_PX}\" \
         height=\"{FIGURE_PX}\" viewBox=\"0 0 {FIGURE_PX} {FIGURE_PX}\">"
    );
    page.push_str("<defs>");
    for kind in ["ww", "wr", "rw", "realtime", "process"] {
        let _ = write!(
            page,
            "<marker id=\"arrow-{kind}\" class=\"{kind}\" viewBox=\"0 0 10 10\" refX=\"10\" \
             refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">\
             <path d=\"M0,0 L10,5 L0,10 z\"/></marker>"
        );
    }
    page.push_str("</defs>\n");
    for i in 0..n {
        let ((x1, y1), (x2, y2)) = (at(i), at((i + 1) % n));
        // From box edge to box edge: shorten the line by the boxes' half-diagonal.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let length = (dx * dx + dy * dy).sqrt().max(1.0);
        let cut = (BOX_W_PX.hypot(BOX_H_PX) / 2.0).min(length / 3.0);
        let (ux, uy) = (dx / length, dy / length);
        let kind = cycle.kinds[i].name();
        let (sx, sy, ex, ey) = (x1 + ux * cut, y1 + uy * cut, x2 - ux * cut, y2 - uy * cut);
        let _ = writeln!(
            page,
            "<line class=\"edge {kind}\" x1=\"{sx:.1}\" y1=\"{sy:.1}\" x2=\"{ex:.1}\" \
             y2=\"{ey:.1}\" marker-end=\"url(#arrow-{kind})\"/>\
             <text class=\"{kind}\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{kind}</text>",
            (sx + ex) / 2.0 - uy * 12.0,
            (sy + ey) / 2.0 + ux * 12.0 + 4.0,
        );
    }
    for (i, &op) in cycle.txns.iter().enumerate() {
        let (x, y) = at(i);
        let _ = writeln!(
            page,
            "<rect class=\"txn\" x=\"{:.1}\" y=\"{:.1}\" width=\"{BOX_W_PX}\" height=\"{BOX_H_PX}\" rx=\"6\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">T{op}</text>",
            x - BOX_W_PX / 2.0,
            y - BOX_H_PX / 2.0,
            y + 4.0,
        );
    }
    page.push_str("</svg></div>\n");
}
