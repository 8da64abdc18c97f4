//! The human summary of one run, as `dsim run` prints it.

use sim_core::record::{PhaseRecord, RunRecord};
use std::fmt::Write;

fn ms(nanos: u64) -> String {
    format!("{:.3}ms", nanos as f64 / 1e6)
}

/// How often a campaign reached each sometimes property, tallied as seeds finish.
#[derive(Clone, Debug, Default)]
pub struct Sometimes {
    tally: Vec<(String, usize)>,
    seeds: usize,
}

impl Sometimes {
    pub fn add(&mut self, r: &RunRecord) {
        self.seeds += 1;
        for (name, outcome) in &r.properties {
            let reached = usize::from(outcome == "reached");
            match self.tally.iter_mut().find(|(n, _)| n == name) {
                Some((_, count)) => *count += reached,
                None if outcome == "reached" || outcome == "unreached" => {
                    self.tally.push((name.clone(), reached))
                }
                None => {}
            }
        }
    }

    /// `snapshot_installed 12/500`, in the order declared, and, when some were never
    /// reached, which. Empty when the protocol declares none.
    pub fn render(&self) -> String {
        if self.tally.is_empty() {
            return String::new();
        }
        let seeds = self.seeds;
        let counts: Vec<String> =
            self.tally.iter().map(|(n, c)| format!("{n} {c}/{seeds}")).collect();
        let never: Vec<&str> =
            self.tally.iter().filter(|(_, c)| *c == 0).map(|(n, _)| n.as_str()).collect();
        let mut out = format!("sometimes: {}", counts.join(", "));
        if !never.is_empty() {
            out.push_str(&format!(
                "\nnever reached: {} (this campaign did not exercise them)",
                never.join(", ")
            ));
        }
        out
    }
}

/// One phase of a run: its span, its operations, and the faults and counters it added.
fn phase_line(p: &PhaseRecord) -> String {
    let time = |ns: u64| sim_core::SimDuration(ns).to_string();
    let mut line = format!(
        "{} {}..{}: {} invoked, {} ok, {} fail, {} info",
        p.name,
        time(p.start_ns),
        time(p.end_ns),
        p.ops_invoked,
        p.ops_ok,
        p.ops_fail,
        p.ops_info
    );
    if p.partitioned_at_start {
        line.push_str("; partitioned at its start");
    }
    let added: Vec<String> = p
        .faults
        .iter()
        .chain(&p.counters)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    if !added.is_empty() {
        line.push_str("; ");
        line.push_str(&added.join(" "));
    }
    line
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
    for phase in &r.phases {
        let _ = writeln!(out, "phase      {}", phase_line(phase));
    }
    if !r.counters.is_empty() {
        let counters: Vec<String> = r.counters.iter().map(|(k, n)| format!("{k}={n}")).collect();
        let _ = writeln!(out, "counters   {}", counters.join(" "));
    }
    if !r.properties.is_empty() {
        let properties: Vec<String> =
            r.properties.iter().map(|(k, outcome)| format!("{k}={outcome}")).collect();
        let _ = writeln!(out, "properties {}", properties.join(" "));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(properties: &[(&str, &str)]) -> RunRecord {
        RunRecord {
            properties: properties.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..RunRecord::default()
        }
    }

    fn sometimes(records: &[RunRecord]) -> String {
        let mut tally = Sometimes::default();
        records.iter().for_each(|r| tally.add(r));
        tally.render()
    }

    #[test]
    fn a_campaign_sums_its_sometimes_properties_and_names_the_unreached() {
        let records = [
            record(&[
                ("election_safety", "held"),
                ("snapshot_installed", "reached"),
                ("pre_vote", "unreached"),
            ]),
            record(&[
                ("election_safety", "held"),
                ("snapshot_installed", "unreached"),
                ("pre_vote", "unreached"),
            ]),
        ];
        assert_eq!(
            sometimes(&records),
            "sometimes: snapshot_installed 1/2, pre_vote 0/2\n\
             never reached: pre_vote (this campaign did not exercise them)"
        );
        assert_eq!(sometimes(&[record(&[("election_safety", "violated")])]), "");
    }
}
