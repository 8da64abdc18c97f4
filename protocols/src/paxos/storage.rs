//! The acceptor's durable state and recovery after a crash.
//!
//! Two files of checksummed records (see `codec`):
//! - `paxos/log`: a sequence of [`LogRecord`]s, appended: the promises the acceptor made,
//!   the proposals it accepted, and the values it learned were chosen; rewritten without
//!   the slots well before the snapshot when one is taken;
//! - `paxos/snapshot`: the state machine after the last applied slot it covers, one record,
//!   overwritten.
//!
//! Promises and accepts are synced before the answer that depends on them leaves the node
//! (the node's `finish`); a learned value is written without a sync, as it can be learned
//! again. A crash loses unsynced writes and may tear the first of them: a torn record is a
//! strict prefix of a record, so it reads as *incomplete* at the end of the file, and
//! recovery cuts it off. A read may also return one flipped bit, which belongs to the read,
//! not to the disk: a file that fails its checksums is read again, and trusted when two
//! reads agree (or, after [`MAX_READS`], by a bitwise majority vote), as Raft's storage
//! does. This module is self-contained so that it can move onto `protocols::durable`.

use super::{Ballot, Command};
use crate::codec::{self, Decoder, Encoder, Record};
use crate::kv::KvStore;
use sim_core::disk::Disk;
use sim_core::node::NodeId;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub const LOG_FILE: &str = "paxos/log";
pub const SNAPSHOT_FILE: &str = "paxos/snapshot";

/// Reads of one file before recovery settles for a bitwise majority vote over them.
pub const MAX_READS: usize = 16;

/// One record of the acceptor's log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogRecord {
    /// The acceptor promised `ballot` (phase 1b).
    Promise { ballot: Ballot },
    /// The acceptor accepted `command` in slot `slot` with `ballot` (phase 2b), which also
    /// promises `ballot`.
    Accept { slot: u64, ballot: Ballot, command: Command },
    /// The node learned that `command` is chosen in `slot`.
    Chosen { slot: u64, command: Command },
}

fn encode_ballot(e: &mut Encoder<'_>, ballot: Ballot) {
    e.u64(ballot.round);
    e.u32(ballot.node.0);
}

fn decode_ballot(d: &mut Decoder<'_>) -> Option<Ballot> {
    Some(Ballot { round: d.u64()?, node: NodeId(d.u32()?) })
}

fn encode_command(e: &mut Encoder<'_>, command: &Command) {
    match command {
        Command::Noop => e.u8(0),
        Command::Client(request) => {
            e.u8(1);
            e.request(request);
        }
    }
}

fn decode_command(d: &mut Decoder<'_>) -> Option<Command> {
    match d.u8()? {
        0 => Some(Command::Noop),
        1 => Some(Command::Client(d.request()?)),
        _ => None,
    }
}

impl LogRecord {
    fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Encoder { out };
        match self {
            LogRecord::Promise { ballot } => {
                e.u8(1);
                encode_ballot(&mut e, *ballot);
            }
            LogRecord::Accept { slot, ballot, command } => {
                e.u8(2);
                e.u64(*slot);
                encode_ballot(&mut e, *ballot);
                encode_command(&mut e, command);
            }
            LogRecord::Chosen { slot, command } => {
                e.u8(3);
                e.u64(*slot);
                encode_command(&mut e, command);
            }
        }
    }

    fn decode(payload: &[u8]) -> Option<LogRecord> {
        let mut d = Decoder::new(payload);
        let record = match d.u8()? {
            1 => LogRecord::Promise { ballot: decode_ballot(&mut d)? },
            2 => LogRecord::Accept {
                slot: d.u64()?,
                ballot: decode_ballot(&mut d)?,
                command: decode_command(&mut d)?,
            },
            3 => LogRecord::Chosen { slot: d.u64()?, command: decode_command(&mut d)? },
            _ => return None,
        };
        d.is_done().then_some(record)
    }

    /// The record framed, ready to append.
    fn framed(&self, out: &mut Vec<u8>) {
        let mut payload = Vec::with_capacity(64);
        self.encode(&mut payload);
        codec::frame(&payload, out);
    }
}

/// Append one record to the log file. Durable at the next sync.
pub(crate) fn append(disk: &mut Disk, record: &LogRecord) {
    let mut bytes = Vec::with_capacity(80);
    record.framed(&mut bytes);
    disk.append(LOG_FILE, &bytes);
}

/// Replace the log file with `records`. Durable at the next sync; until then a crash
/// leaves the old file whole (an overwrite starts with a truncation, which cannot tear).
pub(crate) fn rewrite(disk: &mut Disk, records: impl IntoIterator<Item = LogRecord>) {
    let mut bytes = Vec::new();
    for record in records {
        record.framed(&mut bytes);
    }
    disk.overwrite(LOG_FILE, &bytes);
}

/// The encoded state machine of a snapshot, shared between the node and the messages that
/// carry it. Prints as its size, not its bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SnapshotBytes(pub Arc<Vec<u8>>);

impl fmt::Debug for SnapshotBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

/// A snapshot: the state machine after applying every slot up to `last_slot`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Snapshot {
    pub last_slot: u64,
    pub data: SnapshotBytes,
}

impl Snapshot {
    pub fn of(last_slot: u64, kv: &KvStore) -> Self {
        let mut data = Vec::new();
        kv.encode(&mut data);
        Snapshot { last_slot, data: SnapshotBytes(Arc::new(data)) }
    }

    /// The state machine it holds (`None` if the bytes do not decode).
    pub fn state(&self) -> Option<KvStore> {
        let mut d = Decoder::new(&self.data.0);
        let kv = KvStore::decode(&mut d)?;
        d.is_done().then_some(kv)
    }
}

/// Overwrite the snapshot. Durable at the next sync.
pub(crate) fn save_snapshot(disk: &mut Disk, snapshot: &Snapshot) {
    let mut payload = Vec::with_capacity(8 + snapshot.data.0.len());
    Encoder { out: &mut payload }.u64(snapshot.last_slot);
    payload.extend_from_slice(&snapshot.data.0);
    let mut bytes = Vec::with_capacity(payload.len() + codec::HEADER_BYTES);
    codec::frame(&payload, &mut bytes);
    disk.overwrite(SNAPSHOT_FILE, &bytes);
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

/// How the valid records of one read of a file ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Every byte belongs to a valid record.
    Clean,
    /// Inside a record that runs past the end of the file: a torn write.
    Incomplete,
    /// At a complete record that fails its checksum or does not decode: a flipped bit.
    Corrupt,
}

/// The valid records at the start of one read of a file.
struct Parsed<T> {
    records: Vec<T>,
    valid_len: usize,
    ending: Ending,
}

fn parse<T>(bytes: &[u8], decode: impl Fn(&[u8]) -> Option<T>) -> Parsed<T> {
    let mut records = Vec::new();
    let mut offset = 0;
    let ending = loop {
        match codec::record_at(bytes, offset) {
            Record::Valid { payload, end } => match decode(payload) {
                Some(record) => {
                    records.push(record);
                    offset = end;
                }
                None => break Ending::Corrupt,
            },
            Record::End => break Ending::Clean,
            Record::Incomplete => break Ending::Incomplete,
            Record::Corrupt => break Ending::Corrupt,
        }
    };
    Parsed { records, valid_len: offset, ending }
}

/// Read `file` until a read can be trusted (see the module docs), cut a torn tail off it,
/// and return its records.
fn read_records<T>(
    disk: &mut Disk,
    file: &str,
    report: &mut RecoveryReport,
    decode: impl Fn(&[u8]) -> Option<T>,
) -> Vec<T> {
    let mut reads: Vec<Vec<u8>> = Vec::new();
    let mut trusted = None;
    for _ in 0..MAX_READS {
        let bytes = disk.read(file).into_owned();
        let parsed = parse(&bytes, &decode);
        let agrees = reads.iter().position(|r| *r == bytes);
        if parsed.ending == Ending::Clean || agrees.is_some() {
            report.corrupt_reads += reads.iter().filter(|r| **r != bytes).count() as u32;
            trusted = Some((parsed, bytes.len()));
            break;
        }
        reads.push(bytes);
    }
    let (parsed, file_len) = trusted.unwrap_or_else(|| {
        report.reads_exhausted += 1;
        report.corrupt_reads += reads.len() as u32;
        let voted = majority_vote(&reads);
        (parse(&voted, &decode), voted.len())
    });
    if parsed.valid_len < file_len {
        disk.truncate(file, parsed.valid_len);
        report.truncated_tails += 1;
    }
    parsed.records
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

/// What the node holds of one slot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    /// The acceptor's last accepted proposal here.
    pub accepted: Option<(Ballot, Command)>,
    /// The chosen value, once this node learned it.
    pub chosen: Option<Command>,
}

/// Everything a node recovers from its disk.
pub(crate) struct Recovered {
    pub promised: Ballot,
    /// Slots after `base`.
    pub slots: BTreeMap<u64, Slot>,
    /// Nothing is kept of slots up to here: the snapshot covers them.
    pub base: u64,
    pub snapshot: Snapshot,
    pub kv: KvStore,
    pub report: RecoveryReport,
}

/// Rebuild the acceptor's state from `disk`: the highest promise (an accept promises its
/// ballot too), each slot's latest accepted proposal and learned value, the snapshot.
pub(crate) fn recover(disk: &mut Disk) -> Recovered {
    let mut report =
        RecoveryReport { found_state: disk.files().next().is_some(), ..RecoveryReport::default() };
    let snapshots = read_records(disk, SNAPSHOT_FILE, &mut report, |payload| {
        let mut d = Decoder::new(payload);
        let last_slot = d.u64()?;
        let snapshot = Snapshot { last_slot, data: SnapshotBytes(Arc::new(payload[8..].to_vec())) };
        let kv = snapshot.state()?;
        Some((snapshot, kv))
    });
    let (snapshot, kv) = snapshots
        .into_iter()
        .last()
        .unwrap_or_else(|| (Snapshot::of(0, &KvStore::default()), KvStore::default()));
    let records = read_records(disk, LOG_FILE, &mut report, LogRecord::decode);
    let mut promised = Ballot::ZERO;
    let mut slots: BTreeMap<u64, Slot> = BTreeMap::new();
    let base = snapshot.last_slot;
    for record in records {
        match record {
            LogRecord::Promise { ballot } => promised = promised.max(ballot),
            LogRecord::Accept { slot, ballot, command } => {
                promised = promised.max(ballot);
                if slot > base {
                    slots.entry(slot).or_default().accepted = Some((ballot, command));
                }
            }
            LogRecord::Chosen { slot, command } => {
                if slot > base {
                    slots.entry(slot).or_default().chosen = Some(command);
                }
            }
        }
    }
    if disk.has_unsynced_writes() {
        disk.sync(); // a cut tail stays cut
    }
    Recovered { promised, slots, base, snapshot, kv, report }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::disk::DiskOptions;
    use sim_core::kv::Op;
    use sim_core::node::{ClientId, Request, RequestId};
    use sim_core::rng::{SimRng, Stream};

    fn disk(options: DiskOptions) -> Disk {
        Disk::new(options, SimRng::derive(3, Stream::Disk, 0))
    }

    fn ballot(round: u64, node: u32) -> Ballot {
        Ballot { round, node: NodeId(node) }
    }

    fn write(key: u64) -> Command {
        let id = RequestId { client: ClientId(1), seq: key };
        Command::Client(Request {
            id,
            op: Op::Write { key, value: sim_core::history::Value::Int(7) },
        })
    }

    #[test]
    fn records_round_trip() {
        let records = [
            LogRecord::Promise { ballot: ballot(3, 2) },
            LogRecord::Accept { slot: 10, ballot: ballot(3, 2), command: write(1) },
            LogRecord::Chosen { slot: 10, command: Command::Noop },
        ];
        for record in records {
            let mut payload = Vec::new();
            record.encode(&mut payload);
            assert_eq!(LogRecord::decode(&payload), Some(record));
        }
    }

    #[test]
    fn a_fresh_disk_recovers_empty() {
        let r = recover(&mut disk(DiskOptions::default()));
        assert_eq!((r.promised, r.base, r.slots.len()), (Ballot::ZERO, 0, 0));
        assert!(!r.report.found_state);
    }

    #[test]
    fn synced_state_survives_and_a_torn_tail_is_cut() {
        let mut d = disk(DiskOptions { torn_write_probability: 1.0, ..Default::default() });
        append(&mut d, &LogRecord::Promise { ballot: ballot(2, 1) });
        append(&mut d, &LogRecord::Accept { slot: 1, ballot: ballot(2, 1), command: write(1) });
        append(&mut d, &LogRecord::Accept { slot: 1, ballot: ballot(4, 0), command: write(2) });
        d.sync();
        append(&mut d, &LogRecord::Chosen { slot: 1, command: write(2) });
        d.crash();
        let r = recover(&mut d);
        assert_eq!(r.promised, ballot(4, 0), "an accept promises its ballot");
        assert_eq!(r.slots[&1].accepted, Some((ballot(4, 0), write(2))));
        assert_eq!(r.slots[&1].chosen, None, "the unsynced learned value is gone");
        assert_eq!(r.report.truncated_tails, 1);
        let again = recover(&mut d);
        assert_eq!(again.report.truncated_tails, 0, "the cut was synced");
    }

    #[test]
    fn flipped_bits_on_read_lose_nothing() {
        let mut d = disk(DiskOptions::default());
        append(&mut d, &LogRecord::Promise { ballot: ballot(7, 3) });
        for slot in 1..=5 {
            append(&mut d, &LogRecord::Accept { slot, ballot: ballot(7, 3), command: write(slot) });
        }
        save_snapshot(&mut d, &Snapshot::of(0, &KvStore::default()));
        d.sync();
        d.set_options(DiskOptions { corrupt_read_probability: 1.0, ..Default::default() });
        let r = recover(&mut d);
        assert_eq!((r.promised, r.slots.len()), (ballot(7, 3), 5));
        assert!(r.report.corrupt_reads > 0);
        d.set_options(DiskOptions { corrupt_read_probability: 0.5, ..Default::default() });
        for _ in 0..20 {
            let r = recover(&mut d);
            assert_eq!((r.promised, r.slots.len()), (ballot(7, 3), 5));
        }
    }

    #[test]
    fn slots_the_snapshot_covers_are_dropped() {
        let mut d = disk(DiskOptions::default());
        let mut kv = KvStore::default();
        if let Command::Client(request) = write(1) {
            kv.apply(&request);
        }
        append(&mut d, &LogRecord::Accept { slot: 1, ballot: ballot(1, 0), command: write(1) });
        append(&mut d, &LogRecord::Accept { slot: 2, ballot: ballot(1, 0), command: write(2) });
        save_snapshot(&mut d, &Snapshot::of(1, &kv));
        d.sync();
        let r = recover(&mut d);
        assert_eq!((r.base, r.slots.keys().copied().collect::<Vec<_>>()), (1, vec![2]));
        assert_eq!(r.kv, kv);
    }
}
