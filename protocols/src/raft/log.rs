//! The Raft log: the entries after its *base* (the latest snapshot point, or a little
//! before it, see `maybe_snapshot`), kept in memory and, record for record, in the file
//! `raft/log` (§3.8: the log is persistent state).
//!
//! Every in-memory change has its disk twin in the same call (append, truncate, rewrite),
//! so memory and file never disagree about what was written; what is *durable* is decided
//! by the node's syncs. The file is a [`RecordLog`], one record per entry, and each record
//! carries its entry's index, so recovery can check that the file holds a contiguous run.

use crate::codec::{Decoder, Encoder};
use crate::durable::RecordLog;
use sim_core::disk::Disk;
use sim_core::hash::stable_hash;
use sim_core::kv::Op;
use sim_core::node::Request;

pub const LOG_FILE: &str = "raft/log";

/// What a log entry asks the state machine to do.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Appended by a new leader at the start of its term (§6.4), so that it can commit an
    /// entry of its own term promptly and learn which entries are committed.
    Noop,
    Client(Request<Op>),
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    pub term: u64,
    pub command: Command,
}

impl Entry {
    /// A digest of the command, for invariant checks that compare entries across nodes.
    pub fn digest(&self) -> u64 {
        stable_hash(&self.command)
    }
}

/// The payload of an entry's record: its index, its term and its command.
fn entry_record(index: u64, entry: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let mut e = Encoder::new(&mut out);
    e.u64(index);
    e.u64(entry.term);
    match &entry.command {
        Command::Noop => e.u8(0),
        Command::Client(request) => {
            e.u8(1);
            e.request(request);
        }
    }
    out
}

pub(crate) fn decode_entry(payload: &[u8]) -> Option<(u64, Entry)> {
    let mut d = Decoder::new(payload);
    let index = d.u64()?;
    let term = d.u64()?;
    let command = match d.u8()? {
        0 => Command::Noop,
        1 => Command::Client(d.request()?),
        _ => return None,
    };
    d.is_done().then_some((index, Entry { term, command }))
}

/// The log after its base, and its file.
#[derive(Clone, Debug)]
pub struct Log {
    base_index: u64,
    base_term: u64,
    /// `entries[k]` has index `base_index + 1 + k`; its record is record `k` of `file`.
    entries: Vec<Entry>,
    file: RecordLog,
}

impl Log {
    /// A log whose file holds exactly the records of `entries`, in order.
    pub(crate) fn from_recovered(
        base_index: u64,
        base_term: u64,
        entries: Vec<Entry>,
        file: RecordLog,
    ) -> Self {
        assert_eq!(entries.len(), file.len(), "one record per entry");
        Log { base_index, base_term, entries, file }
    }

    /// A log holding `entries` after its base, its file rewritten to match.
    pub(crate) fn rebuilt(
        disk: &mut Disk,
        base_index: u64,
        base_term: u64,
        entries: Vec<Entry>,
    ) -> Self {
        let mut log = Log { base_index, base_term, entries, file: RecordLog::new(LOG_FILE) };
        log.rewrite(disk);
        log
    }

    pub fn base_index(&self) -> u64 {
        self.base_index
    }

    pub fn base_term(&self) -> u64 {
        self.base_term
    }

    pub fn last_index(&self) -> u64 {
        self.base_index + self.entries.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.base_term, |e| e.term)
    }

    /// Entries held (after the base).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn slot(&self, index: u64) -> Option<usize> {
        (index > self.base_index && index <= self.last_index())
            .then(|| (index - self.base_index - 1) as usize)
    }

    /// The term of the entry at `index`: known for the base and every entry after it,
    /// unknown before the base (compacted) and past the end.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.base_index {
            return Some(self.base_term);
        }
        self.slot(index).map(|k| self.entries[k].term)
    }

    pub fn entry(&self, index: u64) -> Option<&Entry> {
        self.slot(index).map(|k| &self.entries[k])
    }

    /// Up to `max` entries starting at `from` (which must be after the base).
    pub fn entries_from(&self, from: u64, max: u64) -> &[Entry] {
        assert!(from > self.base_index, "entries from {from} are compacted");
        let start = ((from - self.base_index - 1) as usize).min(self.entries.len());
        let end = start.saturating_add(max as usize).min(self.entries.len());
        &self.entries[start..end]
    }

    /// The first index of the run of entries with the same term as the entry at `index`
    /// (not before the first entry in memory): the conflict hint of §3.5.
    pub fn first_index_of_term_run(&self, index: u64) -> u64 {
        let Some(term) = self.term_at(index) else { return index };
        let mut first = index;
        while first > self.base_index + 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// The last index whose entry has `term`, if the log (after the base) holds one.
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        let k = self.entries.iter().rposition(|e| e.term == term)?;
        Some(self.base_index + 1 + k as u64)
    }

    /// Append entries at the end, in memory and (one write) in the file.
    pub(crate) fn append(&mut self, disk: &mut Disk, entries: &[Entry]) {
        let first = self.last_index() + 1;
        let records = (first..).zip(entries).map(|(index, entry)| entry_record(index, entry));
        self.file.append_all(disk, records);
        self.entries.extend_from_slice(entries);
    }

    /// Drop the entry at `index` and every entry after it (§3.5: a conflicting suffix).
    pub(crate) fn truncate_from(&mut self, disk: &mut Disk, index: u64) {
        assert!(index > self.base_index, "truncating the snapshot at {index}");
        let Some(k) = self.slot(index) else { return };
        self.entries.truncate(k);
        self.file.truncate(disk, k);
    }

    /// Put `entry` at `index` in place, keeping every entry after it. Only the
    /// `no_truncate_conflict` bug does this; the file is rewritten to match.
    pub(crate) fn replace_in_place(&mut self, disk: &mut Disk, index: u64, entry: Entry) {
        let k = self.slot(index).expect("replacing an entry that exists");
        self.entries[k] = entry;
        self.rewrite(disk);
    }

    /// Move the base to `index` with `term` (§5.1 when taking a snapshot, §5.3 when
    /// installing one): if the entry at `index` has `term`, the entries after it stay;
    /// otherwise the whole log is discarded. The file is rewritten.
    pub(crate) fn compact(&mut self, disk: &mut Disk, index: u64, term: u64) {
        if self.term_at(index) == Some(term) && index >= self.base_index {
            let keep = (index - self.base_index) as usize;
            self.entries.drain(..keep);
        } else {
            self.entries.clear();
        }
        self.base_index = index;
        self.base_term = term;
        self.rewrite(disk);
    }

    /// Replace the file's contents with the records of the entries in memory.
    pub(crate) fn rewrite(&mut self, disk: &mut Disk) {
        let first = self.base_index + 1;
        let records = (first..).zip(&self.entries).map(|(index, entry)| entry_record(index, entry));
        self.file.rewrite(disk, records);
    }

    /// Whether the file's records are exactly the entries in memory (for tests and debug
    /// assertions; reads the disk).
    pub fn matches_file(&self, disk: &mut Disk) -> bool {
        let Some(records) = self.file.read_back(disk) else { return false };
        records.len() == self.entries.len()
            && (self.base_index + 1..).zip(&self.entries).zip(&records).all(
                |((index, entry), record)| {
                    decode_entry(record).is_some_and(|(i, e)| i == index && e == *entry)
                },
            )
    }
}
