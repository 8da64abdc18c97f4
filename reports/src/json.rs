//! Campaign reports as JSON: `{"records": [...]}` with one object per seed. The same
//! format is read back by `dsim merge` to join shard reports.

use serde_json::{Map, Value, json};
use sim_core::record::{RunRecord, Verdict};
use std::io::{self, Write};

fn pairs<T: Clone + Into<Value>>(items: &[(String, T)]) -> Value {
    Value::Object(items.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect::<Map<_, _>>())
}

fn record_json(r: &RunRecord) -> Value {
    json!({
        "scenario": r.scenario,
        "protocol": r.protocol,
        "seed": r.seed,
        "bugs": r.bugs,
        "verdict": r.verdict().name(),
        "failure": r.failure,
        "message": r.message,
        "checks": pairs(&r.checks),
        "events": r.events,
        "sim_time_ns": r.sim_time_ns,
        "ops": {"invoked": r.ops_invoked, "ok": r.ops_ok, "fail": r.ops_fail, "info": r.ops_info},
        "messages": {"sent": r.messages_sent, "delivered": r.messages_delivered, "dropped": r.messages_dropped},
        "latency_ns": {"p50": r.latency_p50_ns, "p99": r.latency_p99_ns, "max": r.latency_max_ns},
        "faults": pairs(&r.faults),
        "trace_hash": format!("{:016x}", r.trace_hash),
        "drawn": pairs(&r.drawn),
        "counters": pairs(&r.counters),
        "properties": pairs(&r.properties),
        "replay": r.replay,
    })
}

/// A JSON report written a record at a time, as seeds finish: the records first, then
/// the counts and whether the campaign was interrupted. The text is what serde_json
/// pretty-prints for the whole document.
pub struct JsonWriter<W: Write> {
    out: W,
    seeds: u64,
    passed: u64,
}

impl<W: Write> JsonWriter<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"{\n  \"format\": \"dsim-report-1\",\n  \"records\": [")?;
        Ok(JsonWriter { out, seeds: 0, passed: 0 })
    }

    pub fn record(&mut self, r: &RunRecord) -> io::Result<()> {
        let text = serde_json::to_string_pretty(&record_json(r)).expect("JSON of plain values");
        let separator = if self.seeds == 0 { "\n" } else { ",\n" };
        self.out.write_all(separator.as_bytes())?;
        for (i, line) in text.lines().enumerate() {
            let newline = if i == 0 { "" } else { "\n" };
            write!(self.out, "{newline}    {line}")?;
        }
        self.seeds += 1;
        self.passed += u64::from(!r.verdict().is_failure());
        Ok(())
    }

    /// End the document, saying whether the campaign was cut short, and hand back the
    /// output.
    pub fn finish(mut self, interrupted: bool) -> io::Result<W> {
        let close = if self.seeds == 0 { "]" } else { "\n  ]" };
        write!(
            self.out,
            "{close},\n  \"seeds\": {},\n  \"passed\": {},\n  \"failed\": {},\n  \"interrupted\": {interrupted}\n}}\n",
            self.seeds,
            self.passed,
            self.seeds - self.passed
        )?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The JSON report of `records`, pretty-printed, ending in a newline.
pub fn render(records: &[RunRecord]) -> String {
    let mut writer = JsonWriter::new(Vec::new()).expect("writing to memory");
    for r in records {
        writer.record(r).expect("writing to memory");
    }
    String::from_utf8(writer.finish(false).expect("writing to memory")).expect("UTF-8 JSON")
}

/// Read a report written by [`render`] back into records.
pub fn parse(text: &str) -> Result<Vec<RunRecord>, String> {
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))?;
    if doc.get("format").and_then(Value::as_str) != Some("dsim-report-1") {
        return Err("not a dsim JSON report (expected \"format\": \"dsim-report-1\")".into());
    }
    let records =
        doc.get("records").and_then(Value::as_array).ok_or("missing \"records\" array")?;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| parse_record(r).map_err(|e| format!("record {i}: {e}")))
        .collect()
}

fn parse_record(r: &Value) -> Result<RunRecord, String> {
    let text = |key: &str| -> Result<String, String> {
        r.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(format!("missing string \"{key}\""))
    };
    let number = |v: Option<&Value>, key: &str| -> Result<u64, String> {
        v.and_then(Value::as_u64).ok_or(format!("missing number \"{key}\""))
    };
    let nested = |outer: &str, inner: &str| {
        number(r.get(outer).and_then(|o| o.get(inner)), &format!("{outer}.{inner}"))
    };
    let object_pairs = |key: &str| -> Result<Vec<(String, Value)>, String> {
        let object =
            r.get(key).and_then(Value::as_object).ok_or(format!("missing object \"{key}\""))?;
        Ok(object.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    let verdict = Verdict::named(&text("verdict")?)?;
    let counts = |key: &str| -> Result<Vec<(String, u64)>, String> {
        object_pairs(key)?
            .into_iter()
            .map(|(k, v)| {
                v.as_u64().map(|n| (k.clone(), n)).ok_or(format!("\"{key}.{k}\" is not a count"))
            })
            .collect()
    };
    let strings = |key: &str| -> Result<Vec<(String, String)>, String> {
        object_pairs(key)?
            .into_iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k.clone(), s.to_owned()))
                    .ok_or(format!("\"{key}.{k}\" is not a string"))
            })
            .collect()
    };
    Ok(RunRecord {
        scenario: text("scenario")?,
        protocol: text("protocol")?,
        seed: number(r.get("seed"), "seed")?,
        bugs: r
            .get("bugs")
            .and_then(Value::as_array)
            .ok_or("missing array \"bugs\"")?
            .iter()
            .map(|b| b.as_str().map(str::to_owned).ok_or("a bug name is not a string".to_owned()))
            .collect::<Result<_, _>>()?,
        verdict: Some(verdict),
        failure: text("failure")?,
        message: text("message")?,
        checks: strings("checks")?,
        events: number(r.get("events"), "events")?,
        sim_time_ns: number(r.get("sim_time_ns"), "sim_time_ns")?,
        ops_invoked: nested("ops", "invoked")?,
        ops_ok: nested("ops", "ok")?,
        ops_fail: nested("ops", "fail")?,
        ops_info: nested("ops", "info")?,
        messages_sent: nested("messages", "sent")?,
        messages_delivered: nested("messages", "delivered")?,
        messages_dropped: nested("messages", "dropped")?,
        latency_p50_ns: nested("latency_ns", "p50")?,
        latency_p99_ns: nested("latency_ns", "p99")?,
        latency_max_ns: nested("latency_ns", "max")?,
        faults: counts("faults")?,
        trace_hash: u64::from_str_radix(&text("trace_hash")?, 16)
            .map_err(|e| format!("trace_hash: {e}"))?,
        drawn: strings("drawn")?,
        counters: counts("counters")?,
        properties: strings("properties")?,
        replay: text("replay")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_json() {
        let record = RunRecord {
            scenario: "steady".into(),
            protocol: "raft".into(),
            seed: 42,
            bugs: vec!["stale_local_read".into()],
            verdict: Some(Verdict::Liveness),
            failure: "liveness".into(),
            message: "no progress".into(),
            checks: vec![("invariants".into(), "pass".into()), ("liveness".into(), "fail".into())],
            events: 1000,
            faults: vec![("crash".into(), 1)],
            trace_hash: u64::MAX,
            drawn: vec![("network.loss".into(), "0.1".into())],
            counters: vec![("leader_elected".into(), 3)],
            properties: vec![
                ("election_safety".into(), "held".into()),
                ("snapshot_installed".into(), "unreached".into()),
            ],
            replay: "dsim replay x --seed 42".into(),
            ..RunRecord::default()
        };
        let text = render(&[record.clone(), record.clone()]);
        assert_eq!(parse(&text), Ok(vec![record.clone(), record]));
        // The streamed text is what serde_json pretty-prints for the document.
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(text, serde_json::to_string_pretty(&doc).unwrap() + "\n");
        assert_eq!((doc["seeds"].as_u64(), doc["failed"].as_u64()), (Some(2), Some(2)));
        assert_eq!(doc["interrupted"], Value::Bool(false));
        let empty = render(&[]);
        assert_eq!(
            empty,
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(&empty).unwrap()).unwrap()
                + "\n"
        );
        assert_eq!(parse(&empty), Ok(vec![]));
        assert!(parse("{}").is_err());
        assert!(parse("not json").unwrap_err().starts_with("line 1, column "));
    }
}
