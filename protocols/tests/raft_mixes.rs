//! With no bug switch, every fault mix keeps every Raft invariant, passes the history
//! check, and completes every client operation after the final heal, on every seed of its
//! sweep; and "sometimes" counters, summed over the sweep, prove the faults really bit.
//!
//! Options vary with the seed (see `common::vary_options`): pre-vote, check-quorum and
//! ReadIndex each run under every mix.

mod common;

use common::{Mix, sweep_clean};

const SEEDS: u64 = 100;

/// Every mix elects leaders, snapshots, and has clients retry into deduplication.
const ALWAYS: [&str; 3] = ["leader_elected", "snapshot_taken", "client_redirected"];

fn check(mix: Mix, seeds: u64, sometimes: &[&str]) {
    let totals = sweep_clean(mix, 0..seeds);
    totals.assert_sometimes(mix, &ALWAYS);
    totals.assert_sometimes(mix, sometimes);
}

#[test]
fn steady() {
    check(Mix::Steady, SEEDS, &["read_index_served", "pre_vote_started"]);
}

#[test]
fn leader_isolation() {
    let sometimes = [
        "leader_changes",
        "dropped_by_partition",
        "conflict_truncated",
        "check_quorum_step_down",
        "snapshot_installed",
        "request_deduplicated",
    ];
    check(Mix::LeaderIsolation, SEEDS, &sometimes);
}

#[test]
fn minority_leader() {
    let sometimes = [
        "leader_changes",
        "dropped_by_partition",
        "conflict_truncated",
        "snapshot_installed",
        "request_deduplicated",
        "leader_stepped_down",
    ];
    check(Mix::MinorityLeader, SEEDS, &sometimes);
}

#[test]
fn stale_leader_reads() {
    let sometimes = ["leader_changes", "dropped_by_partition", "read_index_served"];
    check(Mix::StaleLeaderReads, SEEDS, &sometimes);
}

#[test]
fn crash_restart_storm() {
    let sometimes = [
        "leader_changes",
        "crashes",
        "restarts",
        "recovered_from_disk",
        "snapshot_installed",
        "request_deduplicated",
    ];
    check(Mix::CrashRestartStorm, SEEDS, &sometimes);
}

#[test]
fn crash_frenzy() {
    let sometimes = ["leader_changes", "crashes", "restarts", "recovered_from_disk"];
    check(Mix::CrashFrenzy, SEEDS, &sometimes);
}

#[test]
fn crash_frenzy_slow_links() {
    let sometimes = ["leader_changes", "crashes", "restarts", "request_deduplicated"];
    check(Mix::CrashFrenzySlowLinks, SEEDS, &sometimes);
}

#[test]
fn flapping_leader() {
    let sometimes =
        ["leader_changes", "dropped_by_partition", "conflict_truncated", "snapshot_installed"];
    check(Mix::FlappingLeader, SEEDS, &sometimes);
}

#[test]
fn clock_drift() {
    let sometimes = ["leader_changes", "clock_faults", "dropped_by_partition"];
    check(Mix::ClockDrift, SEEDS, &sometimes);
}

#[test]
fn unsynced_write_loss() {
    let sometimes = [
        "leader_changes",
        "crashes",
        "torn_writes",
        "torn_tail_truncated",
        "corrupted_reads",
        "corrupt_read_detected",
        "snapshot_installed",
        "request_deduplicated",
    ];
    check(Mix::UnsyncedLoss, SEEDS, &sometimes);
}

#[test]
fn swarm() {
    let sometimes = [
        "leader_changes",
        "crashes",
        "restarts",
        "dropped_by_partition",
        "clock_faults",
        "torn_tail_truncated",
        "corrupt_read_detected",
        "snapshot_installed",
        "request_deduplicated",
        "read_index_served",
    ];
    check(Mix::Swarm, 2 * SEEDS, &sometimes);
}
