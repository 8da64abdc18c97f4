//! Durable state (§3.8) and recovery after a crash.
//!
//! Three files, each a sequence of checksummed records (see `codec`):
//! - `raft/meta`: the current term and the vote, one record, overwritten on change;
//! - `raft/snapshot`: the latest snapshot (§5.1), one record, overwritten;
//! - `raft/log`: the entries after the snapshot point (see `log`).
//!
//! The node syncs before any message or reply that depends on what it wrote leaves it.
//! A crash loses unsynced writes and may tear the first of them; a torn record is a strict
//! prefix of a record, so it reads as *incomplete* at the end of the file, and recovery
//! cuts it off. Reads may also return a copy with one flipped bit. That corruption belongs
//! to the read, not to the disk, so a file that fails its checksums is read again rather
//! than cut at the first bad record (see [`read_reliably`]): truncating at a flipped bit
//! would forget entries this node acknowledged, and with them a committed entry could
//! vanish from a majority. A persistently corrupted record, which dsim does not inject,
//! would need repair from peers (protocol-aware recovery, Alagappan et al., FAST '18);
//! here it would be cut off like a torn tail.

use super::log::{Entry, LOG_FILE, Log, decode_entry};
use crate::codec::{self, Decoder, Encoder, Record};
use crate::kv::KvStore;
use sim_core::disk::Disk;
use sim_core::node::NodeId;
use std::fmt;
use std::sync::Arc;

pub const META_FILE: &str = "raft/meta";
pub const SNAPSHOT_FILE: &str = "raft/snapshot";

/// Reads of one file before recovery settles for a bitwise majority vote over them.
pub const MAX_READS: usize = 16;

/// The encoded state machine of a snapshot, shared between the node and the messages
/// that carry it. Prints as its size, not its bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SnapshotBytes(pub Arc<Vec<u8>>);

impl fmt::Debug for SnapshotBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

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
    let mut bytes = Vec::with_capacity(payload.len() + codec::HEADER_BYTES);
    codec::frame(&payload, &mut bytes);
    disk.overwrite(META_FILE, &bytes);
}

/// Overwrite the snapshot. Durable at the next sync.
pub(crate) fn save_snapshot(disk: &mut Disk, snapshot: &Snapshot) {
    let mut payload = Vec::with_capacity(16 + snapshot.data.0.len());
    let mut e = Encoder::new(&mut payload);
    e.u64(snapshot.last_index);
    e.u64(snapshot.last_term);
    payload.extend_from_slice(&snapshot.data.0);
    let mut bytes = Vec::with_capacity(payload.len() + codec::HEADER_BYTES);
    codec::frame(&payload, &mut bytes);
    disk.overwrite(SNAPSHOT_FILE, &bytes);
}

/// How the valid records of one read of a file ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// At the end of the file: every byte belongs to a valid record.
    Clean,
    /// In a record the file ends inside: a torn write (or a flipped length field).
    Incomplete,
    /// At a complete record that fails its checksum or does not decode: a flipped bit.
    Corrupt,
}

/// One read of a file, parsed.
struct Parsed<T> {
    value: T,
    /// Bytes of valid records from the start.
    valid_len: usize,
    ending: Ending,
}

/// What recovery noticed, for counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Reads that differed from the contents recovery trusted (a flipped bit, detected).
    pub corrupt_reads: u32,
    /// Files whose tail was cut off: torn writes.
    pub truncated_tails: u32,
    /// Files for which no two reads agreed, so a bitwise majority vote was taken.
    pub reads_exhausted: u32,
    /// Whether anything was on disk at all (a restart rather than a first start).
    pub found_state: bool,
}

/// Parse the records of `bytes` in order with `each`, which returns false to reject a
/// record that is intact but makes no sense where it is.
fn parse_records<T>(
    bytes: &[u8],
    mut state: T,
    mut each: impl FnMut(&mut T, &[u8], usize) -> bool,
) -> Parsed<T> {
    let mut offset = 0;
    loop {
        match codec::record_at(bytes, offset) {
            Record::Valid { payload, end } => {
                if !each(&mut state, payload, end) {
                    return Parsed { value: state, valid_len: offset, ending: Ending::Corrupt };
                }
                offset = end;
            }
            Record::End => {
                return Parsed { value: state, valid_len: offset, ending: Ending::Clean };
            }
            Record::Incomplete => {
                return Parsed { value: state, valid_len: offset, ending: Ending::Incomplete };
            }
            Record::Corrupt => {
                return Parsed { value: state, valid_len: offset, ending: Ending::Corrupt };
            }
        }
    }
}

/// Read `file` until a read can be trusted, and return its parse and the file's length.
///
/// A read is trusted if every byte of it belongs to a valid record (a flipped bit always
/// breaks a checksum or a length, so such a read was not corrupted), or if it is
/// byte-for-byte equal to an earlier read (two corrupted reads would have to flip the
/// same bit). A torn tail reads the same every time, so it is trusted on the second read
/// and then cut off. If no two of [`MAX_READS`] reads agree, each bit is taken by majority
/// vote over all of them: a corrupted read flips only one bit, so the vote restores the
/// disk's contents unless most reads flipped the same bit.
fn read_reliably<T>(
    disk: &mut Disk,
    file: &str,
    report: &mut RecoveryReport,
    parse: impl Fn(&[u8]) -> Parsed<T>,
) -> (Parsed<T>, usize) {
    let mut reads: Vec<Vec<u8>> = Vec::new();
    for _ in 0..MAX_READS {
        let bytes = disk.read(file);
        let parsed = parse(&bytes);
        if parsed.ending == Ending::Clean {
            report.corrupt_reads += reads.iter().filter(|r| r.as_slice() != &*bytes).count() as u32;
            return (parsed, bytes.len());
        }
        if let Some(same) = reads.iter().position(|r| r.as_slice() == &*bytes) {
            report.corrupt_reads += reads.iter().filter(|r| **r != reads[same]).count() as u32;
            return (parsed, bytes.len());
        }
        reads.push(bytes.into_owned());
    }
    report.reads_exhausted += 1;
    report.corrupt_reads += reads.len() as u32;
    let voted = majority_vote(&reads);
    (parse(&voted), voted.len())
}

/// Each bit set if most of `reads` have it set (reads of one file all have its length).
fn majority_vote(reads: &[Vec<u8>]) -> Vec<u8> {
    let len = reads.iter().map(Vec::len).min().unwrap_or(0);
    (0..len)
        .map(|i| {
            (0..8).fold(0u8, |byte, bit| {
                let ones = reads.iter().filter(|r| r[i] & (1 << bit) != 0).count();
                if ones * 2 > reads.len() { byte | (1 << bit) } else { byte }
            })
        })
        .collect()
}

/// Everything a node recovers from its disk.
pub(crate) struct Recovered {
    pub term: u64,
    pub voted_for: Option<NodeId>,
    pub snapshot: Snapshot,
    pub kv: KvStore,
    pub log: Log,
    pub report: RecoveryReport,
}

/// Rebuild the durable state from `disk` (§3.8), repairing what a crash left behind: a
/// torn tail is cut off, and log records the snapshot already covers are dropped.
pub(crate) fn recover(disk: &mut Disk) -> Recovered {
    let mut report =
        RecoveryReport { found_state: disk.files().next().is_some(), ..RecoveryReport::default() };
    let (term, voted_for) = recover_meta(disk, &mut report);
    let (snapshot, kv) = recover_snapshot(disk, &mut report);
    let log = recover_log(disk, &snapshot, &mut report);
    if report.truncated_tails > 0 || disk.has_unsynced_writes() {
        disk.sync();
    }
    Recovered { term, voted_for, snapshot, kv, log, report }
}

/// Cut `file` back to its valid prefix if a tail follows it.
fn cut_tail(
    disk: &mut Disk,
    file: &str,
    valid_len: usize,
    file_len: usize,
    r: &mut RecoveryReport,
) {
    if valid_len < file_len {
        disk.truncate(file, valid_len);
        r.truncated_tails += 1;
    }
}

fn recover_meta(disk: &mut Disk, report: &mut RecoveryReport) -> (u64, Option<NodeId>) {
    let (parsed, file_len) = read_reliably(disk, META_FILE, report, |bytes| {
        parse_records(bytes, None, |last, payload, _| {
            let mut d = Decoder::new(payload);
            match (d.u64(), d.node()) {
                (Some(term), Some(vote)) if d.is_done() => {
                    *last = Some((term, vote));
                    true
                }
                _ => false,
            }
        })
    });
    cut_tail(disk, META_FILE, parsed.valid_len, file_len, report);
    parsed.value.unwrap_or((0, None))
}

fn recover_snapshot(disk: &mut Disk, report: &mut RecoveryReport) -> (Snapshot, KvStore) {
    let (parsed, file_len) = read_reliably(disk, SNAPSHOT_FILE, report, |bytes| {
        parse_records(bytes, None, |last, payload, _| {
            let mut d = Decoder::new(payload);
            let (Some(last_index), Some(last_term)) = (d.u64(), d.u64()) else { return false };
            let data = payload[16..].to_vec();
            let snapshot = Snapshot { last_index, last_term, data: SnapshotBytes(Arc::new(data)) };
            match snapshot.state() {
                Some(kv) => {
                    *last = Some((snapshot, kv));
                    true
                }
                None => false,
            }
        })
    });
    cut_tail(disk, SNAPSHOT_FILE, parsed.valid_len, file_len, report);
    parsed.value.unwrap_or_else(|| (Snapshot::empty(), KvStore::default()))
}

/// The entries of a log file: a contiguous run of indices, with their record ends.
#[derive(Default)]
struct LogRecords {
    first_index: Option<u64>,
    entries: Vec<Entry>,
    ends: Vec<usize>,
}

fn recover_log(disk: &mut Disk, snapshot: &Snapshot, report: &mut RecoveryReport) -> Log {
    let (parsed, file_len) = read_reliably(disk, LOG_FILE, report, |bytes| {
        parse_records(bytes, LogRecords::default(), |records, payload, end| {
            let Some((index, entry)) = decode_entry(payload) else { return false };
            let expected = records.first_index.map(|f| f + records.entries.len() as u64);
            if expected.is_some_and(|e| e != index) || index == 0 {
                return false; // not contiguous: not a log this node wrote
            }
            records.first_index.get_or_insert(index);
            records.entries.push(entry);
            records.ends.push(end);
            true
        })
    });
    cut_tail(disk, LOG_FILE, parsed.valid_len, file_len, report);
    let records = parsed.value;
    let (s_index, s_term) = (snapshot.last_index, snapshot.last_term);
    let Some(first) = records.first_index else {
        return Log::from_recovered(s_index, s_term, Vec::new(), Vec::new());
    };
    // The file may predate the snapshot (a crash between saving the snapshot and compacting
    // the log, §5.1): keep only what follows the snapshot point, and only if the log
    // agrees with the snapshot about the term there (§5.3: otherwise discard the log). A
    // file that starts after the snapshot point leaves a gap and cannot be used.
    let last = first + records.entries.len() as u64 - 1;
    if first == s_index + 1 {
        return Log::from_recovered(s_index, s_term, records.entries, records.ends);
    }
    let agrees = first <= s_index
        && s_index <= last
        && records.entries[(s_index - first) as usize].term == s_term;
    let kept = if agrees {
        records.entries[(s_index + 1 - first) as usize..].to_vec()
    } else {
        Vec::new()
    };
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

    fn entries(terms: &[u64]) -> Vec<Entry> {
        terms.iter().map(|&term| Entry { term, command: Command::Noop }).collect()
    }

    #[test]
    fn a_fresh_disk_recovers_empty() {
        let mut d = disk(DiskOptions::default());
        let r = recover(&mut d);
        assert_eq!((r.term, r.voted_for, r.log.last_index()), (0, None, 0));
        assert!(!r.report.found_state);
    }

    #[test]
    fn synced_state_survives_and_a_torn_tail_is_cut() {
        let mut d = disk(DiskOptions { torn_write_probability: 1.0, ..Default::default() });
        save_meta(&mut d, 4, Some(NodeId(2)));
        let mut log = Log::from_recovered(0, 0, Vec::new(), Vec::new());
        log.append(&mut d, &entries(&[1, 1, 4]));
        d.sync();
        log.append(&mut d, &entries(&[4, 4]));
        d.crash();
        let r = recover(&mut d);
        assert_eq!((r.term, r.voted_for), (4, Some(NodeId(2))));
        assert_eq!(r.log.last_index(), 3);
        assert!(r.log.matches_file(&mut d));
        assert!(r.report.truncated_tails <= 1);
    }

    #[test]
    fn flipped_bits_on_read_lose_nothing() {
        let mut d = disk(DiskOptions::default());
        save_meta(&mut d, 7, None);
        let mut log = Log::from_recovered(0, 0, Vec::new(), Vec::new());
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
        let mut log = Log::from_recovered(0, 0, Vec::new(), Vec::new());
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
        let mut log = Log::from_recovered(0, 0, Vec::new(), Vec::new());
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
