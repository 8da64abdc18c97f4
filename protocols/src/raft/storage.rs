//! Durable state (§3.8) and recovery after a crash.
//!
//! Three files of checksummed records, kept with [`crate::durable`]:
//! - `raft/meta`: the current term and the vote, a [`DurableCell`];
//! - `raft/snapshot`: the latest snapshot (§5.1), a [`DurableCell`];
//! - `raft/log`: the entries after the snapshot point, a [`RecordLog`] (see `log`).
//!
//! The node syncs before any message or reply that depends on what it wrote leaves it.
//! Recovery cuts a torn tail and re-reads a file whose read fails its checksums rather
//! than cutting it at the flipped bit, which would forget entries this node acknowledged
//! (see `durable` for how a read comes to be trusted).

use super::log::{Entry, LOG_FILE, Log, decode_entry};
use crate::codec::{Decoder, Encoder};
use crate::durable::{DurableCell, RecordLog, Recovery, RecoveryReport};
use crate::kv::{KvStore, SnapshotBytes};
use sim_core::disk::Disk;
use sim_core::node::NodeId;
use std::sync::Arc;

pub const META_FILE: &str = "raft/meta";
pub const SNAPSHOT_FILE: &str = "raft/snapshot";

const META: DurableCell = DurableCell::new(META_FILE);
const SNAPSHOT: DurableCell = DurableCell::new(SNAPSHOT_FILE);

/// A snapshot: the state machine after applying every entry up to `last_index`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot {
    pub last_index: u64,
    pub last_term: u64,
    pub data: SnapshotBytes,
}

impl Snapshot {
    pub fn empty() -> Self {
        let mut data = Vec::new();
        KvStore::default().encode(&mut data);
        Snapshot { last_index: 0, last_term: 0, data: SnapshotBytes(Arc::new(data)) }
    }

    pub fn of(last_index: u64, last_term: u64, kv: &KvStore) -> Self {
        let mut data = Vec::new();
        kv.encode(&mut data);
        Snapshot { last_index, last_term, data: SnapshotBytes(Arc::new(data)) }
    }

    /// The state machine it holds (`None` if the bytes do not decode).
    pub fn state(&self) -> Option<KvStore> {
        let mut d = Decoder::new(&self.data.0);
        let kv = KvStore::decode(&mut d)?;
        d.is_done().then_some(kv)
    }
}

/// Overwrite the term and vote. Durable at the next sync.
pub(crate) fn save_meta(disk: &mut Disk, term: u64, voted_for: Option<NodeId>) {
    let mut payload = Vec::with_capacity(12);
    let mut e = Encoder::new(&mut payload);
    e.u64(term);
    e.node(voted_for);
    META.store(disk, &payload);
}

/// Overwrite the snapshot. Durable at the next sync.
pub(crate) fn save_snapshot(disk: &mut Disk, snapshot: &Snapshot) {
    let mut payload = Vec::with_capacity(16 + snapshot.data.0.len());
    let mut e = Encoder::new(&mut payload);
    e.u64(snapshot.last_index);
    e.u64(snapshot.last_term);
    payload.extend_from_slice(&snapshot.data.0);
    SNAPSHOT.store(disk, &payload);
}

fn decode_meta(payload: &[u8]) -> Option<(u64, Option<NodeId>)> {
    let mut d = Decoder::new(payload);
    let meta = (d.u64()?, d.node()?);
    d.is_done().then_some(meta)
}

/// A snapshot and the state machine it holds (`None` unless both decode).
fn decode_snapshot(payload: &[u8]) -> Option<(Snapshot, KvStore)> {
    let mut d = Decoder::new(payload);
    let (last_index, last_term) = (d.u64()?, d.u64()?);
    let data = payload[16..].to_vec();
    let snapshot = Snapshot { last_index, last_term, data: SnapshotBytes(Arc::new(data)) };
    let kv = snapshot.state()?;
    Some((snapshot, kv))
}

/// An entry record, if it follows the `earlier` ones: the file holds a contiguous run of
/// indices (anything else is not a log this node wrote).
fn decode_next_entry(earlier: &[(u64, Entry)], payload: &[u8]) -> Option<(u64, Entry)> {
    let (index, entry) = decode_entry(payload)?;
    let expected = earlier.last().map(|(last, _)| last + 1);
    (index != 0 && expected.is_none_or(|e| e == index)).then_some((index, entry))
}

/// Everything a node recovers from its disk.
pub(crate) struct Recovered {
    pub term: u64,
    pub voted_for: Option<NodeId>,
    pub snapshot: Snapshot,
    pub kv: KvStore,
    pub log: Log,
    pub report: RecoveryReport,
    /// Whether anything was on disk at all (a restart rather than a first start).
    pub found_state: bool,
}

/// Rebuild the durable state from `disk` (§3.8), repairing what a crash left behind: a
/// torn tail is cut off, and log records the snapshot already covers are dropped.
pub(crate) fn recover(disk: &mut Disk) -> Recovered {
    let found_state = disk.files().next().is_some();
    let mut recovery = Recovery::new(disk);
    let (term, voted_for) = recovery.cell(&META, decode_meta).unwrap_or((0, None));
    let (snapshot, kv) = recovery
        .cell(&SNAPSHOT, decode_snapshot)
        .unwrap_or_else(|| (Snapshot::empty(), KvStore::default()));
    let (file, records) = recovery.log(LOG_FILE, decode_next_entry);
    let log = log_after_snapshot(recovery.disk(), &snapshot, file, records);
    let report = recovery.finish();
    Recovered { term, voted_for, snapshot, kv, log, report, found_state }
}

/// The log that follows `snapshot`, from the records of the log file.
fn log_after_snapshot(
    disk: &mut Disk,
    snapshot: &Snapshot,
    file: RecordLog,
    records: Vec<(u64, Entry)>,
) -> Log {
    let (s_index, s_term) = (snapshot.last_index, snapshot.last_term);
    let Some(&(first, _)) = records.first() else {
        return Log::from_recovered(s_index, s_term, Vec::new(), file);
    };
    let entries: Vec<Entry> = records.into_iter().map(|(_, entry)| entry).collect();
    // The file may predate the snapshot (a crash between saving the snapshot and compacting
    // the log, §5.1): keep only what follows the snapshot point, and only if the log
    // agrees with the snapshot about the term there (§5.3: otherwise discard the log). A
    // file that starts after the snapshot point leaves a gap and cannot be used.
    let last = first + entries.len() as u64 - 1;
    if first == s_index + 1 {
        return Log::from_recovered(s_index, s_term, entries, file);
    }
    let agrees =
        first <= s_index && s_index <= last && entries[(s_index - first) as usize].term == s_term;
    let kept = if agrees { entries[(s_index + 1 - first) as usize..].to_vec() } else { Vec::new() };
    Log::rebuilt(disk, s_index, s_term, kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::log::Command;
    use sim_core::disk::DiskOptions;
    use sim_core::rng::{SimRng, Stream};

    fn disk(options: DiskOptions) -> Disk {
        Disk::new(options, SimRng::derive(3, Stream::Disk, 0))
    }

    fn empty_log() -> Log {
        Log::from_recovered(0, 0, Vec::new(), RecordLog::new(LOG_FILE))
    }

    fn entries(terms: &[u64]) -> Vec<Entry> {
        terms.iter().map(|&term| Entry { term, command: Command::Noop }).collect()
    }

    #[test]
    fn a_fresh_disk_recovers_empty() {
        let mut d = disk(DiskOptions::default());
        let r = recover(&mut d);
        assert_eq!((r.term, r.voted_for, r.log.last_index()), (0, None, 0));
        assert!(!r.found_state);
    }

    #[test]
    fn synced_state_survives_and_a_torn_tail_is_cut() {
        let mut d = disk(DiskOptions { torn_write_probability: 1.0, ..Default::default() });
        save_meta(&mut d, 4, Some(NodeId(2)));
        let mut log = empty_log();
        log.append(&mut d, &entries(&[1, 1, 4]));
        d.sync();
        log.append(&mut d, &entries(&[4, 4]));
        d.crash();
        let r = recover(&mut d);
        assert_eq!((r.term, r.voted_for), (4, Some(NodeId(2))));
        assert_eq!(r.log.last_index(), 3);
        assert!(r.log.matches_file(&mut d));
        assert_eq!(r.report.tails_cut, 1);
    }

    #[test]
    fn flipped_bits_on_read_lose_nothing() {
        let mut d = disk(DiskOptions::default());
        save_meta(&mut d, 7, None);
        let mut log = empty_log();
        log.append(&mut d, &entries(&[1, 2, 3, 5, 7]));
        d.sync();
        d.set_options(DiskOptions { corrupt_read_probability: 0.5, ..Default::default() });
        for _ in 0..50 {
            let r = recover(&mut d);
            assert_eq!(r.term, 7);
            assert_eq!(r.log.last_index(), 5);
            assert_eq!(r.log.last_term(), 7);
        }
        d.set_options(DiskOptions::default());
        assert!(d.stats().corrupted_reads > 0);
    }

    #[test]
    fn even_always_corrupted_reads_are_outvoted() {
        let mut d = disk(DiskOptions::default());
        save_meta(&mut d, 9, Some(NodeId(1)));
        let mut log = empty_log();
        log.append(&mut d, &entries(&[2, 9, 9]));
        d.sync();
        d.set_options(DiskOptions { corrupt_read_probability: 1.0, ..Default::default() });
        let r = recover(&mut d);
        assert_eq!((r.term, r.voted_for, r.log.last_index()), (9, Some(NodeId(1)), 3));
        assert!(r.report.reads_exhausted > 0);
        d.set_options(DiskOptions::default());
        assert!(r.log.matches_file(&mut d));
    }

    #[test]
    fn a_log_older_than_the_snapshot_is_trimmed_or_discarded() {
        let mut d = disk(DiskOptions::default());
        let mut log = empty_log();
        log.append(&mut d, &entries(&[1, 1, 2, 2]));
        // Snapshot at 2 (term 1) saved, log not yet compacted: entries 3 and 4 remain.
        save_snapshot(&mut d, &Snapshot::of(2, 1, &KvStore::default()));
        d.sync();
        let r = recover(&mut d);
        assert_eq!((r.log.base_index(), r.log.last_index()), (2, 4));
        assert!(r.log.matches_file(&mut d));
        // A snapshot at 3 with a different term there: the log after it is not ours.
        save_snapshot(&mut d, &Snapshot::of(3, 3, &KvStore::default()));
        d.sync();
        let r = recover(&mut d);
        assert_eq!((r.log.base_index(), r.log.last_index()), (3, 3));
        assert!(r.log.matches_file(&mut d));
    }
}
