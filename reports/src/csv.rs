//! One CSV row per seed. Columns are fixed; checks are `name=finding` lists, faults and
//! counters `name=count` lists, properties `name=outcome` lists and drawn swarm values
//! `key=value` lists, separated by `;`.

use sim_core::record::RunRecord;
use std::io::{self, Write};

pub const HEADER: &[&str] = &[
    "scenario",
    "protocol",
    "seed",
    "bugs",
    "verdict",
    "failure",
    "checks",
    "events",
    "sim_time_ns",
    "ops_invoked",
    "ops_ok",
    "ops_fail",
    "ops_info",
    "messages_sent",
    "messages_delivered",
    "messages_dropped",
    "latency_p50_ns",
    "latency_p99_ns",
    "latency_max_ns",
    "faults",
    "trace_hash",
    "drawn",
    "counters",
    "properties",
    "message",
    "replay",
];

fn pairs<T: ToString>(items: &[(String, T)]) -> String {
    items.iter().map(|(k, v)| format!("{k}={}", v.to_string())).collect::<Vec<_>>().join(";")
}

/// The fields of `r`'s row, in [`HEADER`]'s order.
fn row(r: &RunRecord) -> [String; HEADER.len()] {
    [
        r.scenario.clone(),
        r.protocol.clone(),
        r.seed.to_string(),
        r.bugs.join(";"),
        r.verdict().name().to_owned(),
        r.failure.clone(),
        pairs(&r.checks),
        r.events.to_string(),
        r.sim_time_ns.to_string(),
        r.ops_invoked.to_string(),
        r.ops_ok.to_string(),
        r.ops_fail.to_string(),
        r.ops_info.to_string(),
        r.messages_sent.to_string(),
        r.messages_delivered.to_string(),
        r.messages_dropped.to_string(),
        r.latency_p50_ns.to_string(),
        r.latency_p99_ns.to_string(),
        r.latency_max_ns.to_string(),
        pairs(&r.faults),
        format!("{:016x}", r.trace_hash),
        pairs(&r.drawn),
        pairs(&r.counters),
        pairs(&r.properties),
        r.message.clone(),
        r.replay.clone(),
    ]
}

/// A CSV report written a row at a time, as seeds finish: the header first.
pub struct CsvWriter<W: Write> {
    writer: ::csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(out: W) -> io::Result<Self> {
        let mut writer = ::csv::Writer::from_writer(out);
        writer.write_record(HEADER)?;
        Ok(CsvWriter { writer })
    }

    pub fn record(&mut self, r: &RunRecord) -> io::Result<()> {
        Ok(self.writer.write_record(row(r))?)
    }

    /// Flush what is buffered and hand back the output.
    pub fn finish(self) -> io::Result<W> {
        self.writer.into_inner().map_err(|e| e.into_error())
    }
}

/// The CSV text for `records`, with a header.
pub fn render(records: &[RunRecord]) -> String {
    let mut writer = CsvWriter::new(Vec::new()).expect("writing to memory");
    for r in records {
        writer.record(r).expect("writing to memory");
    }
    String::from_utf8(writer.finish().expect("flushing to memory")).expect("CSV of UTF-8 fields")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::record::Verdict;

    #[test]
    fn a_row_per_record_with_quoted_fields() {
        let record = RunRecord {
            scenario: "s".into(),
            protocol: "raft".into(),
            seed: 7,
            verdict: Some(Verdict::Safety),
            failure: "election_safety".into(),
            message: "two leaders, term 3".into(),
            checks: vec![("invariants".into(), "fail".into()), ("liveness".into(), "pass".into())],
            faults: vec![("crash".into(), 2), ("pause".into(), 0)],
            trace_hash: 0xabc,
            ..RunRecord::default()
        };
        let text = render(&[record]);
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), HEADER.join(","));
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("s,raft,7,,safety,election_safety,invariants=fail;liveness=pass,0,"),
            "{row}"
        );
        assert!(row.contains(",crash=2;pause=0,0000000000000abc,"), "{row}");
        assert!(row.contains("\"two leaders, term 3\""), "{row}");
        assert_eq!(lines.next(), None);
    }
}
