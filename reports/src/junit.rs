//! JUnit XML: one test suite per scenario (per run of its seeds), one test case per
//! seed; a failure carries the broken property, the explanation and the replay command. A
//! seed that could not run (its drawn options refused) is an error, not a failure.

use sim_core::check::html::escape;
use sim_core::record::{RunRecord, Verdict};
use std::fmt::Write as _;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// The test cases of one suite: their counts, and where they lie in the spill.
struct Suite {
    name: String,
    tests: u64,
    failures: u64,
    errors: u64,
    start: u64,
    end: u64,
}

/// A JUnit report written as seeds finish. Its counts head the document, so the test
/// cases go to `spill` (a temporary file, or memory) as they come, and `finish` writes
/// the document around them: memory stays bounded by the number of suites.
pub struct JunitWriter<W: Write, S: Read + Write + Seek> {
    out: W,
    spill: S,
    suites: Vec<Suite>,
    written: u64,
}

impl<W: Write, S: Read + Write + Seek> JunitWriter<W, S> {
    pub fn new(out: W, spill: S) -> Self {
        JunitWriter { out, spill, suites: Vec::new(), written: 0 }
    }

    /// Add a test case: `r`, which took `wall_seconds` of wall-clock time when that is
    /// known (a merge of reports does not know it, and writes no `time`).
    pub fn record(&mut self, r: &RunRecord, wall_seconds: Option<f64>) -> io::Result<()> {
        if self.suites.last().is_none_or(|s| s.name != r.scenario) {
            let start = self.written;
            self.suites.push(Suite {
                name: r.scenario.clone(),
                tests: 0,
                failures: 0,
                errors: 0,
                start,
                end: start,
            });
        }
        let case = testcase(r, wall_seconds);
        self.spill.write_all(case.as_bytes())?;
        self.written += case.len() as u64;
        let suite = self.suites.last_mut().expect("pushed above");
        suite.tests += 1;
        suite.errors += u64::from(r.verdict() == Verdict::Error);
        suite.failures += u64::from(r.verdict().is_failure() && r.verdict() != Verdict::Error);
        suite.end = self.written;
        Ok(())
    }

    /// Write the document, its test cases read back from the spill, and hand back the
    /// output.
    pub fn finish(mut self) -> io::Result<W> {
        let total = |f: fn(&Suite) -> u64| self.suites.iter().map(f).sum::<u64>();
        let (tests, failures, errors) =
            (total(|s| s.tests), total(|s| s.failures), total(|s| s.errors));
        write!(
            self.out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"dsim\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">\n"
        )?;
        for suite in &self.suites {
            writeln!(
                self.out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
                escape(&suite.name),
                suite.tests,
                suite.failures,
                suite.errors
            )?;
            self.spill.seek(SeekFrom::Start(suite.start))?;
            io::copy(&mut (&mut self.spill).take(suite.end - suite.start), &mut self.out)?;
            self.out.write_all(b"  </testsuite>\n")?;
        }
        self.out.write_all(b"</testsuites>\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One seed's test case: `time` is the wall-clock time it took (the one field of any
/// report that is not deterministic), the simulated time a property beside the seed's
/// trace hash; a failure carries the broken property, the explanation and the replay
/// command.
fn testcase(r: &RunRecord, wall_seconds: Option<f64>) -> String {
    let mut out = String::new();
    let sim_seconds = r.sim_time_ns as f64 / 1e9;
    let time = wall_seconds.map_or(String::new(), |s| format!(" time=\"{s:.3}\""));
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"seed {}\"{time}>\n      <properties>\n        <property name=\"simulated_time_s\" value=\"{sim_seconds:.3}\"/>\n        <property name=\"trace_hash\" value=\"{:016x}\"/>\n      </properties>",
        escape(&r.protocol),
        r.seed,
        r.trace_hash
    );
    if r.verdict().is_failure() {
        let (element, message) = match r.verdict() {
            Verdict::Error => ("error", format!("error: {}", r.failure)),
            verdict => ("failure", format!("{verdict} violation: {}", r.failure)),
        };
        let _ = writeln!(
            out,
            "\n      <{element} type=\"{}\" message=\"{}\">{}\nreplay: {}</{element}>\n    </testcase>",
            escape(&r.failure),
            escape(&message),
            escape(&r.message),
            escape(&r.replay)
        );
    } else {
        out.push_str("\n    </testcase>\n");
    }
    out
}

/// The JUnit XML report of `records`, each with the wall-clock seconds it took if known:
/// a suite per run of records of one scenario.
pub fn render(records: &[(RunRecord, Option<f64>)]) -> String {
    let mut writer = JunitWriter::new(Vec::new(), io::Cursor::new(Vec::new()));
    for (r, wall_seconds) in records {
        writer.record(r, *wall_seconds).expect("writing to memory");
    }
    String::from_utf8(writer.finish().expect("writing to memory")).expect("UTF-8 XML")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::record::Verdict;

    #[test]
    fn failures_carry_the_property_and_the_replay_command() {
        let pass = RunRecord {
            scenario: "a&b".into(),
            seed: 1,
            sim_time_ns: 1_500_000_000,
            trace_hash: 0xabc,
            ..RunRecord::default()
        };
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
        let xml = render(&[(pass, Some(0.0123)), (fail, None), (error, None)]);
        assert!(
            xml.contains("<testsuite name=\"a&amp;b\" tests=\"3\" failures=\"1\" errors=\"1\">"),
            "{xml}"
        );
        assert!(xml.contains("<error type=\"configuration\" message=\"error: configuration\">"));
        // Wall time is `time`; simulated time is a property.
        assert!(
            xml.contains(
                "<testcase classname=\"\" name=\"seed 1\" time=\"0.012\">\n      <properties>\n        <property name=\"simulated_time_s\" value=\"1.500\"/>\n        <property name=\"trace_hash\" value=\"0000000000000abc\"/>\n      </properties>\n    </testcase>\n"
            ),
            "{xml}"
        );
        assert!(xml.contains("<testcase classname=\"\" name=\"seed 2\">\n"), "{xml}");
        assert!(xml.contains("<failure type=\"linearizability\""), "{xml}");
        assert!(
            xml.contains("read &lt;5&gt;\nreplay: dsim replay f.toml --seed 2</failure>"),
            "{xml}"
        );
    }
}
