//! The bundled SWIM scenarios among 1,000 members, run as `dsim fuzz` runs them: without
//! bug switches every seed passes (accuracy: no death without suspicion and no lasting
//! false positive; completeness; incarnations only grow), the faults bite (probes lost and saved by
//! ping-req, suspicions refuted, crashes detected by everyone, restarted members synced),
//! and each known-bug switch is caught by its named scenario.

use runner::Registry;
use scenarios::load_str;
use sim_core::record::{RunRecord, Verdict};
use std::path::Path;

mod common;
use common::{agreed_events, run, scenario, sweep};

fn counter(record: &RunRecord, name: &str) -> u64 {
    record.counters.iter().find(|(k, _)| k == name).map_or(0, |(_, n)| *n)
}

fn total(records: &[RunRecord], name: &str) -> u64 {
    records.iter().map(|r| counter(r, name)).sum()
}

fn assert_all_pass(name: &str, records: &[RunRecord]) {
    common::assert_all_pass(name, records);
    for r in records {
        let invariants = ("invariants".to_owned(), "pass".to_owned());
        assert!(r.checks.contains(&invariants), "{name} seed {}: {:?}", r.seed, r.checks);
    }
}

const SEEDS: u64 = common::seeds::SWIM;

#[test]
fn under_loss_suspicions_are_refuted_and_nobody_live_stays_dead() {
    let records = sweep(&scenario("swim-lossy"), SEEDS);
    assert_all_pass("swim-lossy", &records);
    for r in &records {
        assert!(r.messages_dropped > 0, "seed {}: the loss bit nothing", r.seed);
        assert!(counter(r, "ping_req_used") > 0 && counter(r, "indirect_ack") > 0);
    }
    assert!(total(&records, "member_suspected") > 0, "no probe failed outright");
    assert!(total(&records, "suspicion_refuted") > 0, "no suspicion was refuted");
    // Under 5% loss, suspicion keeps declarations of live members rare: fewer than one
    // in ten thousand probes.
    let (false_positives, probes) = (total(&records, "false_positives"), total(&records, "probes"));
    assert!(false_positives * 10_000 < probes, "{false_positives} of {probes} probes");
}

#[test]
fn every_crash_is_detected_by_everyone_and_the_membership_heals() {
    let records = sweep(&scenario("swim-crashes"), SEEDS);
    assert_all_pass("swim-crashes", &records);
    for r in &records {
        let crashes = counter(r, "crashes");
        assert!(crashes > 0, "seed {}: no crash", r.seed);
        // Crashes in the last detection bound before the heal are restarted by it first.
        assert!(counter(r, "crashes_disseminated") > 0, "seed {}: no crash known to all", r.seed);
        let first = counter(r, "detect_first_ms");
        let full = counter(r, "detect_full_ms");
        assert!(0 < first && first <= full && full < 11_200, "seed {}: {first} {full}", r.seed);
    }
    for sometimes in ["member_revived", "state_synced", "suspicion_refuted", "indirect_ack"] {
        assert!(total(&records, sometimes) > 0, "never {sometimes}");
    }
    let partitions: u64 = records
        .iter()
        .flat_map(|r| &r.faults)
        .filter(|(k, _)| k == "partition")
        .map(|(_, n)| n)
        .sum();
    assert!(partitions >= SEEDS, "the scheduled partition in every seed");
}

/// The 200 seeds, at a size CI affords: swim-crashes's faults among 100 members.
/// Every crash whose detection bound falls in the run is detected by every connected
/// member (completeness), and no live member stays dead (accuracy).
#[test]
fn two_hundred_seeds_of_crashes_among_a_hundred_members() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples/swim-crashes.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace("nodes = 1000", "nodes = 100");
    let scenario = load_str(&path, &text, Registry::bundled().catalogue()).unwrap();
    let records = sweep(&scenario, 200);
    assert_all_pass("swim-crashes among 100", &records);
    let (crashes, detected) = (total(&records, "crashes"), total(&records, "crashes_detected"));
    assert!(crashes >= 200, "{crashes} crashes in 200 seeds");
    // Only crashes in the last few seconds, restarted before anyone's suspicion expired,
    // go undetected.
    assert!(detected * 10 >= crashes * 9, "{detected} of {crashes} crashes detected");
    assert!(total(&records, "false_positives") > 0, "the partitions declared nobody live dead");
    assert!(total(&records, "member_revived") > 0);
}

/// Each known-bug switch, the scenario that finds it, the most seeds it may take (today
/// each is found at seed 0), and the property it breaks.
const BUGS: &[(&str, &str, u64, &str)] = &[
    ("no_suspicion", "swim-lossy", 3, "accuracy"),
    ("stale_refutation", "swim-lossy", 3, "accuracy"),
    ("forget_incarnation", "swim-crashes", 3, "incarnations_grow"),
];

#[test]
fn every_bug_switch_is_found_by_its_named_scenario() {
    let names: Vec<&str> =
        Registry::bundled().get("swim").unwrap().bugs.iter().map(|b| b.name).collect();
    assert_eq!(names.len(), BUGS.len(), "a bug switch without a test");
    for &(bug, example, bound, property) in BUGS {
        let scenario = scenario(example);
        let bugs = vec![bug.to_owned()];
        let found =
            (0..bound).map(|seed| run(&scenario, seed, &bugs)).find(|r| r.verdict().is_failure());
        let record =
            found.unwrap_or_else(|| panic!("{bug}: {example} found nothing in {bound} seeds"));
        assert_eq!(record.failure, property, "{bug} seed {}: {}", record.seed, record.message);
        assert_eq!(record.verdict(), Verdict::Safety);
    }
    // The seeds without the switches pass: the sweeps above include seed 0.
}

#[test]
fn runs_agree_event_for_event() {
    let events = agreed_events("swim-lossy", 2);
    assert!(events > 100_000, "{events} events");
}

#[test]
fn clients_and_bad_options_are_refused_at_load_saying_why() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples/swim-lossy.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let refused = |text: String| match load_str(&path, &text, Registry::bundled().catalogue()) {
        Ok(_) => panic!("loaded"),
        Err(e) => e.to_string(),
    };
    let clients = refused(format!("{text}\n[workload]\nclients = 2\n"));
    assert!(clients.contains("serves no client requests"), "{clients}");
    let timeout = refused(text.replace(
        "name = \"swim\"\n",
        "name = \"swim\"\n[protocol.options]\nping_timeout = \"150ms\"\n",
    ));
    assert!(timeout.contains("swim-lossy.toml:"), "{timeout}");
    assert!(timeout.contains("at most half the protocol_period (200ms)"), "{timeout}");
}
