//! The human summary of one run, as `dsim run` prints it.

use sim_core::record::RunRecord;
use std::fmt::Write;

fn ms(nanos: u64) -> String {
    format!("{:.3}ms", nanos as f64 / 1e6)
}

/// A multi-line summary of `r`.
pub fn render(r: &RunRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario   {} (protocol {}, seed {})", r.scenario, r.protocol, r.seed);
    if !r.bugs.is_empty() {
        let _ = writeln!(out, "bugs       {}", r.bugs.join(", "));
    }
    if !r.drawn.is_empty() {
        let drawn: Vec<String> = r.drawn.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "drawn      {}", drawn.join(" "));
    }
    let _ =
        writeln!(out, "events     {} over {:.3}s simulated", r.events, r.sim_time_ns as f64 / 1e9);
    let _ = writeln!(
        out,
        "ops        {} invoked: {} ok, {} fail, {} info",
        r.ops_invoked, r.ops_ok, r.ops_fail, r.ops_info
    );
    let _ = writeln!(
        out,
        "messages   {} sent, {} delivered, {} dropped",
        r.messages_sent, r.messages_delivered, r.messages_dropped
    );
    let _ = writeln!(
        out,
        "latency    p50 {} p99 {} max {}",
        ms(r.latency_p50_ns),
        ms(r.latency_p99_ns),
        ms(r.latency_max_ns)
    );
    let faults: Vec<String> =
        r.faults.iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k}={n}")).collect();
    let _ = writeln!(
        out,
        "faults     {}",
        if faults.is_empty() { "none".to_owned() } else { faults.join(" ") }
    );
    if !r.counters.is_empty() {
        let counters: Vec<String> = r.counters.iter().map(|(k, n)| format!("{k}={n}")).collect();
        let _ = writeln!(out, "counters   {}", counters.join(" "));
    }
    let _ = writeln!(out, "trace hash {:016x}", r.trace_hash);
    let verdict = if r.failure.is_empty() {
        r.verdict().name().to_owned()
    } else {
        format!("{} ({})", r.verdict(), r.failure)
    };
    let _ = writeln!(out, "verdict    {verdict}");
    if !r.message.is_empty() {
        let _ = writeln!(out, "           {}", r.message);
    }
    out
}
