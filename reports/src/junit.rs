//! JUnit XML: one test suite per scenario, one test case per seed; a failure carries the
//! broken property, the explanation and the replay command. A seed that could not run
//! (its drawn options refused) is an error, not a failure.

use sim_core::check::html::escape;
use sim_core::record::{RunRecord, Verdict};
use std::fmt::Write;

fn counts(records: &[&RunRecord]) -> (usize, usize) {
    let errors = records.iter().filter(|r| r.verdict() == Verdict::Error).count();
    let failed = records.iter().filter(|r| r.verdict().is_failure()).count();
    (failed - errors, errors)
}

/// The JUnit XML report of `records` (grouped by scenario, in first-seen order).
pub fn render(records: &[RunRecord]) -> String {
    let mut suites: Vec<(&str, Vec<&RunRecord>)> = Vec::new();
    for r in records {
        match suites.iter_mut().find(|(name, _)| *name == r.scenario) {
            Some((_, list)) => list.push(r),
            None => suites.push((&r.scenario, vec![r])),
        }
    }
    let all: Vec<&RunRecord> = records.iter().collect();
    let (failures, errors) = counts(&all);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"dsim\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        records.len()
    );
    for (name, list) in suites {
        let (failed, errors) = counts(&list);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"{errors}\">",
            escape(name),
            list.len()
        );
        for r in list {
            let sim_seconds = r.sim_time_ns as f64 / 1e9;
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"seed {}\" time=\"{sim_seconds:.3}\"",
                escape(&r.protocol),
                r.seed
            );
            if r.verdict().is_failure() {
                let (element, message) = match r.verdict() {
                    Verdict::Error => ("error", format!("error: {}", r.failure)),
                    verdict => ("failure", format!("{verdict} violation: {}", r.failure)),
                };
                let _ = writeln!(
                    out,
                    ">\n      <{element} type=\"{}\" message=\"{}\">{}\nreplay: {}</{element}>\n    </testcase>",
                    escape(&r.failure),
                    escape(&message),
                    escape(&r.message),
                    escape(&r.replay)
                );
            } else {
                out.push_str("/>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::record::Verdict;

    #[test]
    fn failures_carry_the_property_and_the_replay_command() {
        let pass = RunRecord { scenario: "a&b".into(), seed: 1, ..RunRecord::default() };
        let fail = RunRecord {
            scenario: "a&b".into(),
            seed: 2,
            verdict: Some(Verdict::Safety),
            failure: "linearizability".into(),
            message: "read <5>".into(),
            replay: "dsim replay f.toml --seed 2".into(),
            ..RunRecord::default()
        };
        let error = RunRecord {
            scenario: "a&b".into(),
            seed: 3,
            verdict: Some(Verdict::Error),
            failure: "configuration".into(),
            ..RunRecord::default()
        };
        let xml = render(&[pass, fail, error]);
        assert!(
            xml.contains("<testsuite name=\"a&amp;b\" tests=\"3\" failures=\"1\" errors=\"1\">"),
            "{xml}"
        );
        assert!(xml.contains("<error type=\"configuration\" message=\"error: configuration\">"));
        assert!(xml.contains("<testcase classname=\"\" name=\"seed 1\" time=\"0.000\"/>"), "{xml}");
        assert!(xml.contains("<failure type=\"linearizability\""), "{xml}");
        assert!(
            xml.contains("read &lt;5&gt;\nreplay: dsim replay f.toml --seed 2</failure>"),
            "{xml}"
        );
    }
}
