//! Campaign reports as JSON: the campaign (its scenarios and their seeds, bug switches,
//! `--set` overrides, and which shard of it this is), then one object per seed. The same
//! format is read back by `dsim merge` to join shard reports and check that they cover
//! the campaign exactly once, and by `dsim fuzz --rerun-failed`.

use serde_json::{Map, Value, json};
use sim_core::record::{PhaseRecord, RunRecord, Verdict};
use std::io::{self, Write};

fn pairs<T: Clone + Into<Value>>(items: &[(String, T)]) -> Value {
    Value::Object(items.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect::<Map<_, _>>())
}

/// The seeds a campaign runs of one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seeds {
    /// `A..B`, B excluded.
    Range(u64, u64),
    /// These, in this order (a rerun of a report's failed seeds).
    List(Vec<u64>),
}

/// One scenario of a campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignScenario {
    /// The name its records carry (unique in the campaign).
    pub name: String,
    /// The scenario as the command line named it: a file or a bundled name.
    pub file: String,
    pub seeds: Seeds,
}

/// What a campaign is: enough to check that shards are of one campaign, to join them in
/// its order, and to run its seeds again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Campaign {
    pub scenarios: Vec<CampaignScenario>,
    /// The `--bug` switches given on the command line.
    pub bugs: Vec<String>,
    /// The `--set` overrides given on the command line.
    pub sets: Vec<String>,
    /// This report's shard, index and count: `(0, 1)` for a whole campaign.
    pub shard: (u64, u64),
}

impl Campaign {
    /// The same campaign, whole.
    pub fn whole(&self) -> Campaign {
        Campaign { shard: (0, 1), ..self.clone() }
    }
}

fn campaign_json(c: &Campaign) -> Value {
    let scenarios: Vec<Value> = c
        .scenarios
        .iter()
        .map(|s| {
            let seeds = match &s.seeds {
                Seeds::Range(a, b) => json!(format!("{a}..{b}")),
                Seeds::List(seeds) => json!(seeds),
            };
            json!({"name": s.name, "file": s.file, "seeds": seeds})
        })
        .collect();
    json!({
        "scenarios": scenarios,
        "bugs": c.bugs,
        "set": c.sets,
        "shard": format!("{}/{}", c.shard.0, c.shard.1),
    })
}

fn parse_campaign(c: &Value) -> Result<Campaign, String> {
    let strings = |key: &str| -> Result<Vec<String>, String> {
        c.get(key)
            .and_then(Value::as_array)
            .ok_or(format!("campaign: missing array \"{key}\""))?
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(format!("campaign.{key}: not a string")))
            .collect()
    };
    let shard = c
        .get("shard")
        .and_then(Value::as_str)
        .and_then(|s| s.split_once('/'))
        .and_then(|(i, n)| Some((i.parse::<u64>().ok()?, n.parse::<u64>().ok()?)))
        .filter(|&(i, n)| i < n)
        .ok_or("campaign: missing \"shard\" I/N")?;
    let scenarios = c
        .get("scenarios")
        .and_then(Value::as_array)
        .ok_or("campaign: missing array \"scenarios\"")?
        .iter()
        .map(|s| {
            let text = |key: &str| {
                s.get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or(format!("campaign scenario: missing string \"{key}\""))
            };
            let seeds = match s.get("seeds") {
                Some(Value::String(range)) => range
                    .split_once("..")
                    .and_then(|(a, b)| Some(Seeds::Range(a.parse().ok()?, b.parse().ok()?))),
                Some(Value::Array(list)) => {
                    list.iter().map(Value::as_u64).collect::<Option<_>>().map(Seeds::List)
                }
                _ => None,
            }
            .ok_or("campaign scenario: \"seeds\" is neither \"A..B\" nor a list of seeds")?;
            Ok(CampaignScenario { name: text("name")?, file: text("file")?, seeds })
        })
        .collect::<Result<_, String>>()?;
    Ok(Campaign { scenarios, bugs: strings("bugs")?, sets: strings("set")?, shard })
}

fn record_json(r: &RunRecord) -> Value {
    let mut record = json!({
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
    });
    // Only a phased run has phases, and only its records say so.
    if !r.phases.is_empty() {
        record["phases"] = r.phases.iter().map(phase_json).collect();
    }
    record
}

fn phase_json(p: &PhaseRecord) -> Value {
    json!({
        "name": p.name,
        "start_ns": p.start_ns,
        "end_ns": p.end_ns,
        "ops": {"invoked": p.ops_invoked, "ok": p.ops_ok, "fail": p.ops_fail, "info": p.ops_info},
        "messages_dropped": p.messages_dropped,
        "partitioned_at_start": p.partitioned_at_start,
        "faults": pairs(&p.faults),
        "counters": pairs(&p.counters),
    })
}

fn parse_phase(p: &Value) -> Result<PhaseRecord, String> {
    let number = |v: Option<&Value>, key: &str| -> Result<u64, String> {
        v.and_then(Value::as_u64).ok_or(format!("phase: missing number \"{key}\""))
    };
    let ops = |key: &str| number(p.get("ops").and_then(|o| o.get(key)), key);
    let counts = |key: &str| -> Result<Vec<(String, u64)>, String> {
        let object = p
            .get(key)
            .and_then(Value::as_object)
            .ok_or(format!("phase: missing object \"{key}\""))?;
        object
            .iter()
            .map(|(k, v)| {
                v.as_u64()
                    .map(|n| (k.clone(), n))
                    .ok_or(format!("phase: \"{key}.{k}\" is not a count"))
            })
            .collect()
    };
    Ok(PhaseRecord {
        name: p
            .get("name")
            .and_then(Value::as_str)
            .ok_or("phase: missing string \"name\"")?
            .to_owned(),
        start_ns: number(p.get("start_ns"), "start_ns")?,
        end_ns: number(p.get("end_ns"), "end_ns")?,
        ops_invoked: ops("invoked")?,
        ops_ok: ops("ok")?,
        ops_fail: ops("fail")?,
        ops_info: ops("info")?,
        messages_dropped: number(p.get("messages_dropped"), "messages_dropped")?,
        partitioned_at_start: p
            .get("partitioned_at_start")
            .and_then(Value::as_bool)
            .ok_or("phase: missing boolean \"partitioned_at_start\"")?,
        faults: counts("faults")?,
        counters: counts("counters")?,
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

/// What the `format` key of a report says.
pub const FORMAT: &str = "dsim-report-2";

/// `value` pretty-printed at `depth` levels of indentation, its first line not indented.
fn indented(value: &Value, depth: usize) -> String {
    let text = serde_json::to_string_pretty(value).expect("JSON of plain values");
    text.lines().collect::<Vec<_>>().join(&format!("\n{}", "  ".repeat(depth)))
}

impl<W: Write> JsonWriter<W> {
    pub fn new(mut out: W, campaign: &Campaign) -> io::Result<Self> {
        write!(
            out,
            "{{\n  \"format\": \"{FORMAT}\",\n  \"campaign\": {},\n  \"records\": [",
            indented(&campaign_json(campaign), 1)
        )?;
        Ok(JsonWriter { out, seeds: 0, passed: 0 })
    }

    pub fn record(&mut self, r: &RunRecord) -> io::Result<()> {
        let separator = if self.seeds == 0 { "\n" } else { ",\n" };
        write!(self.out, "{separator}    {}", indented(&record_json(r), 2))?;
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

/// One seed's record as a single line of JSON, with `"type": "seed"` first: what
/// `--message-format json` streams.
pub fn record_line(r: &RunRecord) -> String {
    let mut object = Map::new();
    object.insert("type".into(), json!("seed"));
    if let Value::Object(fields) = record_json(r) {
        object.extend(fields);
    }
    Value::Object(object).to_string()
}

/// A record read back from its [`record_line`].
pub fn parse_record_line(line: &str) -> Result<RunRecord, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    parse_record(&value)
}

/// The JSON report of `records` of `campaign`, pretty-printed, ending in a newline.
pub fn render(campaign: &Campaign, records: &[RunRecord]) -> String {
    let mut writer = JsonWriter::new(Vec::new(), campaign).expect("writing to memory");
    for r in records {
        writer.record(r).expect("writing to memory");
    }
    String::from_utf8(writer.finish(false).expect("writing to memory")).expect("UTF-8 JSON")
}

/// A report read back.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub campaign: Campaign,
    pub records: Vec<RunRecord>,
    /// Whether the campaign was cut short (SIGINT or SIGTERM).
    pub interrupted: bool,
}

/// Read a report written by [`render`] or [`JsonWriter`] back.
pub fn parse(text: &str) -> Result<Report, String> {
    parse_from(text.as_bytes())
}

/// Read a report from `input` as it streams in: what is not JSON (`/dev/zero`) is refused
/// at its first byte, not read to its end first.
pub fn parse_from(input: impl io::Read) -> Result<Report, String> {
    let doc: Value = serde_json::from_reader(io::BufReader::new(input)).map_err(|e| {
        if e.is_io() {
            format!("cannot read: {e}")
        } else {
            format!("line {}, column {}: {e}", e.line(), e.column())
        }
    })?;
    match doc.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        Some("dsim-report-1") => {
            return Err("a report of an older dsim, which does not say what campaign it is of; run the campaign again".into());
        }
        _ => return Err(format!("not a dsim JSON report (expected \"format\": \"{FORMAT}\")")),
    }
    let campaign = parse_campaign(doc.get("campaign").ok_or("missing \"campaign\"")?)?;
    let records =
        doc.get("records").and_then(Value::as_array).ok_or("missing \"records\" array")?;
    let records = records
        .iter()
        .enumerate()
        .map(|(i, r)| parse_record(r).map_err(|e| format!("record {i}: {e}")))
        .collect::<Result<_, _>>()?;
    let interrupted = doc.get("interrupted").and_then(Value::as_bool).unwrap_or(false);
    Ok(Report { campaign, records, interrupted })
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
        phases: match r.get("phases").and_then(Value::as_array) {
            Some(phases) => phases.iter().map(parse_phase).collect::<Result<_, _>>()?,
            None => Vec::new(),
        },
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
            phases: vec![PhaseRecord {
                name: "storm".into(),
                start_ns: 3_000_000_000,
                end_ns: 8_000_000_000,
                ops_invoked: 9,
                ops_ok: 7,
                ops_fail: 1,
                ops_info: 1,
                messages_dropped: 12,
                partitioned_at_start: true,
                faults: vec![("crash".into(), 2), ("partition".into(), 5)],
                counters: vec![("leader_elected".into(), 3)],
            }],
            ..RunRecord::default()
        };
        let campaign = Campaign {
            scenarios: vec![
                CampaignScenario {
                    name: "steady".into(),
                    file: "a/steady.toml".into(),
                    seeds: Seeds::Range(40, 50),
                },
                CampaignScenario {
                    name: "other".into(),
                    file: "raft-swarm".into(),
                    seeds: Seeds::List(vec![3, 17]),
                },
            ],
            bugs: vec!["stale_local_read".into()],
            sets: vec!["cluster.nodes=7".into()],
            shard: (2, 3),
        };
        let text = render(&campaign, &[record.clone(), record.clone()]);
        let report = parse(&text).unwrap();
        assert_eq!(report.records, vec![record.clone(), record.clone()]);
        assert_eq!(report.campaign, campaign);
        assert!(!report.interrupted);
        let line: Value = serde_json::from_str(&record_line(&record)).unwrap();
        assert_eq!(line["type"], "seed");
        assert_eq!(line["seed"], 42);
        assert!(!record_line(&record).contains('\n'));
        // The streamed text is what serde_json pretty-prints for the document.
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(text, serde_json::to_string_pretty(&doc).unwrap() + "\n");
        assert_eq!((doc["seeds"].as_u64(), doc["failed"].as_u64()), (Some(2), Some(2)));
        assert_eq!(doc["interrupted"], Value::Bool(false));
        let empty = render(&campaign, &[]);
        assert_eq!(
            empty,
            serde_json::to_string_pretty(&serde_json::from_str::<Value>(&empty).unwrap()).unwrap()
                + "\n"
        );
        assert_eq!(parse(&empty).unwrap().records, vec![]);
        assert!(parse("{}").is_err());
        assert!(parse("not json").unwrap_err().starts_with("line 1, column "));
    }
}
