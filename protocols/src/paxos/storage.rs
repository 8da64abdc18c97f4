//! The acceptor's durable state and recovery after a crash, kept with [`crate::durable`]:
//! - `paxos/log`: a [`RecordLog`] of [`LogRecord`]s: the promises the acceptor made, the
//!   proposals it accepted, and the values it learned were chosen; rewritten without the
//!   slots well before the snapshot when one is taken;
//! - `paxos/snapshot`: the state machine after the last slot it covers, a [`DurableCell`].
//!
//! Promises and accepts are synced before the answer that depends on them leaves the node
//! (the node's `finish`); a learned value is written without a sync, as it can be learned
//! again. Recovery cuts a torn tail and re-reads a file whose read fails its checksums
//! (see `durable` for how a read comes to be trusted).

use super::{Ballot, Command};
use crate::codec::{Decoder, Encoder};
use crate::durable::{DurableCell, RecordLog, Recovery, RecoveryReport};
use crate::kv::{KvStore, SnapshotBytes};
use sim_core::disk::Disk;
use sim_core::node::NodeId;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const LOG_FILE: &str = "paxos/log";
pub const SNAPSHOT_FILE: &str = "paxos/snapshot";

const SNAPSHOT: DurableCell = DurableCell::new(SNAPSHOT_FILE);

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
        let mut e = Encoder::new(out);
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

    fn payload(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(64);
        self.encode(&mut payload);
        payload
    }
}

/// Append one record to the log file. Durable at the next sync.
pub(crate) fn append(log: &mut RecordLog, disk: &mut Disk, record: &LogRecord) {
    log.append(disk, &record.payload());
}

/// Replace the log file with `records`. Durable at the next sync; until then a crash
/// leaves the old file whole (an overwrite starts with a truncation, which cannot tear).
pub(crate) fn rewrite(
    log: &mut RecordLog,
    disk: &mut Disk,
    records: impl IntoIterator<Item = LogRecord>,
) {
    log.rewrite(disk, records.into_iter().map(|r| r.payload()));
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
    Encoder::new(&mut payload).u64(snapshot.last_slot);
    payload.extend_from_slice(&snapshot.data.0);
    SNAPSHOT.store(disk, &payload);
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
    /// The log file's handle, to go on appending with.
    pub log: RecordLog,
    pub report: RecoveryReport,
    /// Whether anything was on disk at all (a restart rather than a first start).
    pub found_state: bool,
}

/// Rebuild the acceptor's state from `disk`: the highest promise (an accept promises its
/// ballot too), each slot's latest accepted proposal and learned value, the snapshot.
pub(crate) fn recover(disk: &mut Disk) -> Recovered {
    let found_state = disk.files().next().is_some();
    let mut recovery = Recovery::new(disk);
    let snapshot = recovery.cell(&SNAPSHOT, |payload| {
        let last_slot = Decoder::new(payload).u64()?;
        let data = SnapshotBytes(Arc::new(payload[8..].to_vec()));
        let snapshot = Snapshot { last_slot, data };
        let kv = snapshot.state()?;
        Some((snapshot, kv))
    });
    let (log, records) = recovery.log(LOG_FILE, |_, payload| LogRecord::decode(payload));
    let report = recovery.finish();
    let (snapshot, kv) =
        snapshot.unwrap_or_else(|| (Snapshot::of(0, &KvStore::default()), KvStore::default()));
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
    Recovered { promised, slots, base, snapshot, kv, log, report, found_state }
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
        assert!(!r.found_state);
    }

    fn log() -> RecordLog {
        RecordLog::new(LOG_FILE)
    }

    #[test]
    fn synced_state_survives_and_a_torn_tail_is_cut() {
        let mut d = disk(DiskOptions { torn_write_probability: 1.0, ..Default::default() });
        let mut l = log();
        append(&mut l, &mut d, &LogRecord::Promise { ballot: ballot(2, 1) });
        append(
            &mut l,
            &mut d,
            &LogRecord::Accept { slot: 1, ballot: ballot(2, 1), command: write(1) },
        );
        append(
            &mut l,
            &mut d,
            &LogRecord::Accept { slot: 1, ballot: ballot(4, 0), command: write(2) },
        );
        d.sync();
        append(&mut l, &mut d, &LogRecord::Chosen { slot: 1, command: write(2) });
        d.crash();
        let r = recover(&mut d);
        assert_eq!(r.promised, ballot(4, 0), "an accept promises its ballot");
        assert_eq!(r.slots[&1].accepted, Some((ballot(4, 0), write(2))));
        assert_eq!(r.slots[&1].chosen, None, "the unsynced learned value is gone");
        assert_eq!(r.report.tails_cut, 1);
        let again = recover(&mut d);
        assert_eq!(again.report.tails_cut, 0, "the cut was synced");
    }

    #[test]
    fn flipped_bits_on_read_lose_nothing() {
        let mut d = disk(DiskOptions::default());
        let mut l = log();
        append(&mut l, &mut d, &LogRecord::Promise { ballot: ballot(7, 3) });
        for slot in 1..=5 {
            append(
                &mut l,
                &mut d,
                &LogRecord::Accept { slot, ballot: ballot(7, 3), command: write(slot) },
            );
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
        let mut l = log();
        let mut kv = KvStore::default();
        if let Command::Client(request) = write(1) {
            kv.apply(&request);
        }
        append(
            &mut l,
            &mut d,
            &LogRecord::Accept { slot: 1, ballot: ballot(1, 0), command: write(1) },
        );
        append(
            &mut l,
            &mut d,
            &LogRecord::Accept { slot: 2, ballot: ballot(1, 0), command: write(2) },
        );
        save_snapshot(&mut d, &Snapshot::of(1, &kv));
        d.sync();
        let r = recover(&mut d);
        assert_eq!((r.base, r.slots.keys().copied().collect::<Vec<_>>()), (1, vec![2]));
        assert_eq!(r.kv, kv);
    }
}
