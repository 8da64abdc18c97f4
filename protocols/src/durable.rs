//! Durable state over a [`Disk`]: an append-only log of checksummed records
//! ([`RecordLog`]), a value overwritten whole ([`DurableCell`]), and their recovery after a
//! crash ([`Recovery`]), which tells a torn write from a flipped bit.
//!
//! Both are files of records in the frame of [`codec`]: a length, a checksum
//! over length and payload, the payload. Writes are volatile until the caller syncs the disk
//! (`disk.sync()`), so a protocol can batch several writes and sync once before any
//! message or reply that depends on them leaves its handler.
//!
//! A crash loses unsynced writes and may tear the first of them. A torn record is a strict
//! prefix of a record, so it reads as *incomplete* at the end of the file; recovery cuts it
//! off and syncs the cut. Reads may also return a copy with one flipped bit. That
//! corruption belongs to the read, not to the disk, so a file that fails its checksums is
//! read again rather than cut at the first bad record: truncating at a flipped bit would
//! forget records the node acknowledged, and with them a committed write could vanish. A
//! read is trusted when every byte of it belongs to a valid record (a flipped bit always
//! breaks a checksum or a length), or when it is byte for byte two earlier reads (three
//! corrupted reads would have to flip the same bit, where two of a small file often do; a
//! torn tail reads the same every time, so it is trusted on the third read and cut). If no
//! three of [`MAX_READS`] reads agree, each bit is taken by majority vote over all of them.
//! A persistently corrupted record, which dsim does not inject, would need repair from
//! peers (protocol-aware recovery, Alagappan et al., FAST '18); here it is cut off like a
//! torn tail.
//!
//! Recovery decodes each record with a function of the protocol's; a record it rejects
//! (intact, but not one this node would have written there) counts as corrupt. What
//! recovery noticed comes back as a [`RecoveryReport`], which
//! [`RecoveryReport::count`] adds to the run's counters.
//!
//! ```
//! use protocols::durable::{DurableCell, RecordLog, Recovery};
//! use sim_core::disk::{Disk, DiskOptions};
//! use sim_core::rng::{SimRng, Stream};
//!
//! const TERM: DurableCell = DurableCell::new("term");
//! let options = DiskOptions { torn_write_probability: 1.0, ..DiskOptions::default() };
//! let mut disk = Disk::new(options, SimRng::derive(1, Stream::Disk, 0));
//! let mut log = RecordLog::new("log"); // the file holds no records yet
//! TERM.store(&mut disk, &7u64.to_le_bytes());
//! log.append_all(&mut disk, [b"one", b"two"]); // one write
//! disk.sync();
//! log.append(&mut disk, b"three"); // not synced: the crash tears it
//! disk.crash();
//!
//! // What `Node::start` does after the crash: recover every file, then sync once.
//! let mut recovery = Recovery::new(&mut disk);
//! let term = recovery.cell(&TERM, |payload| Some(u64::from_le_bytes(payload.try_into().ok()?)));
//! let (log, records) = recovery.log("log", |_earlier, payload| Some(payload.to_vec()));
//! let report = recovery.finish();
//! assert_eq!(term, Some(7));
//! assert_eq!(records, [b"one".to_vec(), b"two".to_vec()]);
//! assert_eq!((log.len(), report.tails_cut, report.corrupt_reads), (2, 1, 0));
//! assert!(!disk.has_unsynced_writes(), "the cut is durable");
//! ```

use crate::codec::{self, Record};
use sim_core::disk::Disk;
use sim_core::node::{Context, Node};
use std::fmt;

/// Reads of one file before recovery settles for a bitwise majority vote over them.
pub const MAX_READS: usize = 16;

/// What recovery noticed, for counters. Reports of several files add up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Reads that differed from the contents recovery trusted (a flipped bit, detected).
    pub corrupt_reads: u32,
    /// Files whose tail was cut off: a torn write (or a record the decoder rejected).
    pub tails_cut: u32,
    /// Files for which no two reads agreed, so a bitwise majority vote was taken.
    pub reads_exhausted: u32,
}

impl RecoveryReport {
    /// Bump the run's counters: `corrupt_read_detected` once per corrupt read,
    /// `torn_tail_truncated` once per cut, `recovery_reads_exhausted` once per vote.
    pub fn count<N: Node>(&self, ctx: &mut Context<'_, N>) {
        for _ in 0..self.corrupt_reads {
            ctx.count("corrupt_read_detected");
        }
        for _ in 0..self.tails_cut {
            ctx.count("torn_tail_truncated");
        }
        for _ in 0..self.reads_exhausted {
            ctx.count("recovery_reads_exhausted");
        }
    }
}

/// An append-only file of checksummed records, and where each record ends in it.
///
/// Every change is one write to the disk, made in the call; it is durable at the next sync.
/// A handle tracks the file it wrote or recovered, so write a file through one handle only.
#[derive(Clone)]
pub struct RecordLog {
    name: &'static str,
    /// `ends[k]`: the file offset just past record `k`.
    ends: Vec<usize>,
    /// The bytes of the last append, kept for their allocation.
    scratch: Vec<u8>,
}

impl fmt::Debug for RecordLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordLog({:?}: {} records, {} bytes)", self.name, self.len(), self.file_len())
    }
}

/// What [`RecordLog::recover`] found.
#[derive(Debug)]
pub struct RecoveredLog<T> {
    /// The handle to go on appending with.
    pub log: RecordLog,
    /// The decoded records, in order.
    pub records: Vec<T>,
    pub report: RecoveryReport,
}

impl RecordLog {
    /// The handle of a log file that holds no records: one that does not exist yet, or was
    /// just emptied. A file with contents is opened by recovering it.
    pub fn new(name: &'static str) -> Self {
        RecordLog { name, ends: Vec::new(), scratch: Vec::new() }
    }

    /// Recover the log `name` on its own and sync what recovery cut (see [`Recovery`] to
    /// recover several files with one sync). `decode(earlier, payload)` decodes a record
    /// given the records decoded before it, or rejects it with `None`.
    pub fn recover<T>(
        disk: &mut Disk,
        name: &'static str,
        decode: impl FnMut(&[T], &[u8]) -> Option<T>,
    ) -> RecoveredLog<T> {
        let mut recovery = Recovery::new(disk);
        let (log, records) = recovery.log(name, decode);
        RecoveredLog { log, records, report: recovery.finish() }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Records in the file.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes in the file.
    pub fn file_len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Append one record.
    pub fn append(&mut self, disk: &mut Disk, payload: &[u8]) {
        self.append_all(disk, [payload]);
    }

    /// Append a record per payload, in one write (none if there are no payloads).
    pub fn append_all<P: AsRef<[u8]>>(
        &mut self,
        disk: &mut Disk,
        payloads: impl IntoIterator<Item = P>,
    ) {
        let mut bytes = std::mem::take(&mut self.scratch);
        bytes.clear();
        let start = self.file_len();
        for payload in payloads {
            codec::frame(payload.as_ref(), &mut bytes);
            self.ends.push(start + bytes.len());
        }
        if !bytes.is_empty() {
            disk.append(self.name, &bytes);
        }
        self.scratch = bytes;
    }

    /// Keep the first `records` records and cut the rest off (no write if there are no
    /// more than that).
    pub fn truncate(&mut self, disk: &mut Disk, records: usize) {
        if records >= self.ends.len() {
            return;
        }
        self.ends.truncate(records);
        disk.truncate(self.name, self.file_len());
    }

    /// Replace the file's contents with a record per payload (one overwrite, also when
    /// there are no payloads).
    pub fn rewrite<P: AsRef<[u8]>>(
        &mut self,
        disk: &mut Disk,
        payloads: impl IntoIterator<Item = P>,
    ) {
        let mut bytes = Vec::new();
        self.ends.clear();
        for payload in payloads {
            codec::frame(payload.as_ref(), &mut bytes);
            self.ends.push(bytes.len());
        }
        disk.overwrite(self.name, &bytes);
    }

    /// The payloads of the file if it holds exactly the records this handle wrote, at the
    /// offsets it expects (one read, which may be corrupted; for tests and assertions).
    pub fn read_back(&self, disk: &mut Disk) -> Option<Vec<Vec<u8>>> {
        let bytes = disk.read(self.name);
        let mut payloads = Vec::with_capacity(self.ends.len());
        let mut offset = 0;
        for &expected_end in &self.ends {
            match codec::record_at(&bytes, offset) {
                Record::Valid { payload, end } if end == expected_end => {
                    payloads.push(payload.to_vec());
                    offset = end;
                }
                _ => return None,
            }
        }
        (offset == bytes.len()).then_some(payloads)
    }
}

/// A value kept in a file of its own and overwritten whole: a term and a vote, a snapshot.
///
/// Until the next sync after a [`store`](Self::store), a crash keeps the value synced
/// before (the overwrite is lost), or none if none was (the first store may tear, and
/// recovery cuts it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurableCell {
    name: &'static str,
}

/// What [`DurableCell::recover`] found.
#[derive(Debug)]
pub struct RecoveredCell<T> {
    /// The value last stored and synced, decoded; `None` if there is none.
    pub value: Option<T>,
    pub report: RecoveryReport,
}

impl DurableCell {
    pub const fn new(name: &'static str) -> Self {
        DurableCell { name }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Replace the value with `payload` (one overwrite, durable at the next sync).
    pub fn store(&self, disk: &mut Disk, payload: &[u8]) {
        let mut bytes = Vec::with_capacity(codec::HEADER_BYTES + payload.len());
        codec::frame(payload, &mut bytes);
        disk.overwrite(self.name, &bytes);
    }

    /// Recover the value on its own and sync what recovery cut (see [`Recovery`] to
    /// recover several files with one sync). `decode` rejects a payload with `None`.
    pub fn recover<T>(
        &self,
        disk: &mut Disk,
        decode: impl FnMut(&[u8]) -> Option<T>,
    ) -> RecoveredCell<T> {
        let mut recovery = Recovery::new(disk);
        let value = recovery.cell(self, decode);
        RecoveredCell { value, report: recovery.finish() }
    }
}

/// The recovery of a node's files at its start: each file is read until a read can be
/// trusted, decoded, and cut back to its last whole record; [`finish`](Self::finish) makes
/// the cuts durable with one sync. Files are read and cut in the order asked for.
#[must_use = "`finish` makes what recovery cut durable"]
pub struct Recovery<'d> {
    disk: &'d mut Disk,
    report: RecoveryReport,
}

impl<'d> Recovery<'d> {
    pub fn new(disk: &'d mut Disk) -> Self {
        Recovery { disk, report: RecoveryReport::default() }
    }

    /// Recover the record log `name`: its handle, and its records decoded by
    /// `decode(earlier, payload)` (given the records decoded before it; `None` rejects it,
    /// which ends the log there).
    pub fn log<T>(
        &mut self,
        name: &'static str,
        decode: impl FnMut(&[T], &[u8]) -> Option<T>,
    ) -> (RecordLog, Vec<T>) {
        let parsed = self.read_and_cut(name, decode);
        (RecordLog { name, ends: parsed.ends, scratch: Vec::new() }, parsed.records)
    }

    /// Recover the value of `cell`, decoded by `decode` (`None` rejects it).
    pub fn cell<T>(
        &mut self,
        cell: &DurableCell,
        mut decode: impl FnMut(&[u8]) -> Option<T>,
    ) -> Option<T> {
        // The file is one record; if it ever held more, the last whole one is the value.
        self.read_and_cut(cell.name, |_: &[T], payload| decode(payload)).records.pop()
    }

    /// The disk, to repair what the recovered state calls for before the one sync.
    pub fn disk(&mut self) -> &mut Disk {
        self.disk
    }

    /// Make durable what recovery wrote (its cuts, and what the caller wrote through
    /// [`disk`](Self::disk)) with one sync, if anything is unsynced; say what it noticed.
    pub fn finish(self) -> RecoveryReport {
        if self.disk.has_unsynced_writes() {
            self.disk.sync();
        }
        self.report
    }

    fn read_and_cut<T>(
        &mut self,
        name: &'static str,
        mut decode: impl FnMut(&[T], &[u8]) -> Option<T>,
    ) -> Parsed<T> {
        let (parsed, file_len) = read_reliably(self.disk, name, &mut self.report, &mut decode);
        if parsed.valid_len() < file_len {
            self.disk.truncate(name, parsed.valid_len());
            self.report.tails_cut += 1;
        }
        parsed
    }
}

/// One read of a file, parsed.
struct Parsed<T> {
    /// The decoded records of the valid prefix.
    records: Vec<T>,
    /// Where each of them ends.
    ends: Vec<usize>,
    /// Whether every byte belongs to a valid record: no incomplete tail (a torn write, or
    /// a flipped length field) and no record that fails its checksum or its decoding.
    clean: bool,
}

impl<T> Parsed<T> {
    /// Bytes of valid records from the start.
    fn valid_len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }
}

fn parse<T>(bytes: &[u8], decode: &mut impl FnMut(&[T], &[u8]) -> Option<T>) -> Parsed<T> {
    let mut parsed = Parsed { records: Vec::new(), ends: Vec::new(), clean: false };
    let mut offset = 0;
    // Each valid record moves on by at least a header: at most `bytes.len() / 12` turns.
    loop {
        match codec::record_at(bytes, offset) {
            Record::Valid { payload, end } => match decode(&parsed.records, payload) {
                Some(record) => {
                    parsed.records.push(record);
                    parsed.ends.push(end);
                    offset = end;
                }
                None => return parsed,
            },
            Record::End => {
                parsed.clean = true;
                return parsed;
            }
            Record::Incomplete | Record::Corrupt => return parsed,
        }
    }
}

/// Read `name` until a read can be trusted (see the module docs), and return its parse and
/// the file's length. A read is trusted if it is clean or byte for byte two earlier reads;
/// after [`MAX_READS`] reads of which no three agree, their bitwise majority vote is: a
/// corrupted read flips one bit, so the vote restores the disk's contents unless most reads
/// flipped the same bit.
fn read_reliably<T>(
    disk: &mut Disk,
    name: &str,
    report: &mut RecoveryReport,
    decode: &mut impl FnMut(&[T], &[u8]) -> Option<T>,
) -> (Parsed<T>, usize) {
    let mut reads: Vec<Vec<u8>> = Vec::new();
    for _ in 0..MAX_READS {
        let bytes = disk.read(name);
        let parsed = parse(&bytes, decode);
        if parsed.clean {
            report.corrupt_reads += reads.iter().filter(|r| r.as_slice() != &*bytes).count() as u32;
            return (parsed, bytes.len());
        }
        // Two corrupted reads of a small file flip the same bit often enough (one in 8
        // times its length) to be taken for a torn tail and cut: a read that fails its
        // checksums is trusted only once two earlier reads were the same.
        if reads.iter().filter(|r| r.as_slice() == &*bytes).count() >= 2 {
            report.corrupt_reads += reads.iter().filter(|r| r.as_slice() != &*bytes).count() as u32;
            return (parsed, bytes.len());
        }
        reads.push(bytes.into_owned());
    }
    report.reads_exhausted += 1;
    report.corrupt_reads += reads.len() as u32;
    let voted = majority_vote(&reads);
    (parse(&voted, decode), voted.len())
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

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::disk::DiskOptions;
    use sim_core::rng::{SimRng, Stream};

    const LOG: &str = "log";
    const CELL: DurableCell = DurableCell::new("cell");

    fn disk(options: DiskOptions) -> Disk {
        Disk::new(options, SimRng::derive(5, Stream::Disk, 0))
    }

    fn corrupting(probability: f64) -> DiskOptions {
        DiskOptions { corrupt_read_probability: probability, ..DiskOptions::default() }
    }

    /// Payloads of several sizes, the empty one among them.
    fn payloads() -> Vec<Vec<u8>> {
        ["first", "", "a third, longer record", "4"].iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    fn raw(_earlier: &[Vec<u8>], payload: &[u8]) -> Option<Vec<u8>> {
        Some(payload.to_vec())
    }

    /// A disk whose log file durably holds `bytes`.
    fn disk_holding(bytes: &[u8]) -> Disk {
        let mut d = disk(DiskOptions::default());
        d.append(LOG, bytes);
        d.sync();
        d
    }

    fn written_log() -> (Vec<u8>, RecordLog) {
        let mut d = disk(DiskOptions::default());
        let mut log = RecordLog::new(LOG);
        log.append_all(&mut d, payloads());
        (d.read(LOG).into_owned(), log)
    }

    #[test]
    fn a_log_reads_back_as_written_through_appends_truncation_and_rewrites() {
        let mut d = disk(DiskOptions::default());
        let mut log = RecordLog::new(LOG);
        log.append(&mut d, b"zero");
        log.append_all(&mut d, payloads());
        assert_eq!(d.stats().writes, 2, "one write per append");
        log.append_all(&mut d, Vec::<Vec<u8>>::new());
        assert_eq!(d.stats().writes, 2, "appending nothing writes nothing");
        assert_eq!(log.read_back(&mut d).unwrap().len(), 5);
        log.truncate(&mut d, 2);
        assert_eq!(log.read_back(&mut d).unwrap(), [b"zero".to_vec(), b"first".to_vec()]);
        log.truncate(&mut d, 2);
        assert_eq!(d.stats().writes, 3, "truncating to the length writes nothing");
        log.rewrite(&mut d, [b"only"]);
        assert_eq!(log.read_back(&mut d).unwrap(), [b"only".to_vec()]);
        log.append(&mut d, b"after");
        d.sync();
        d.crash();
        let recovered = RecordLog::recover(&mut d, LOG, raw);
        assert_eq!(recovered.records, [b"only".to_vec(), b"after".to_vec()]);
        assert_eq!(recovered.report, RecoveryReport::default());
        assert_eq!(recovered.log.file_len(), log.file_len());
    }

    #[test]
    fn every_strict_prefix_of_a_log_recovers_to_its_last_whole_record() {
        let (bytes, log) = written_log();
        let all = payloads();
        for cut in 0..bytes.len() {
            let mut d = disk_holding(&bytes[..cut]);
            let syncs = d.stats().syncs;
            let recovered = RecordLog::recover(&mut d, LOG, raw);
            let whole = log.ends.iter().filter(|&&end| end <= cut).count();
            assert_eq!(recovered.records, all[..whole], "cut at {cut}");
            let boundary = log.ends[..whole].last().copied().unwrap_or(0);
            let torn = boundary < cut;
            assert_eq!(recovered.report.tails_cut, u32::from(torn), "cut at {cut}");
            assert_eq!(recovered.report.corrupt_reads, 0, "cut at {cut}");
            assert_eq!(d.stats().syncs, syncs + u64::from(torn), "the cut is synced at {cut}");
            d.crash();
            assert_eq!(d.read(LOG).len(), boundary, "cut at {cut}");
            assert_eq!(recovered.log.file_len(), boundary);
        }
    }

    #[test]
    fn every_flipped_bit_is_detected_and_yields_only_true_records() {
        let (bytes, _) = written_log();
        let all = payloads();
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let parsed = parse(&flipped, &mut raw);
            assert!(!parsed.clean, "bit {bit} went unnoticed");
            assert_eq!(parsed.records, all[..parsed.records.len()], "bit {bit}");
        }
    }

    #[test]
    fn corrupt_reads_are_read_again_and_outvoted() {
        let (bytes, _) = written_log();
        let mut d = disk_holding(&bytes);
        d.set_options(corrupting(0.5));
        let mut corrupt_reads = 0;
        for _ in 0..50 {
            let recovered = RecordLog::recover(&mut d, LOG, raw);
            assert_eq!(recovered.records, payloads());
            assert_eq!(recovered.report.tails_cut, 0);
            corrupt_reads += recovered.report.corrupt_reads;
        }
        assert!(corrupt_reads > 0);
        // Every read corrupted: no two agree, and the vote restores the file.
        d.set_options(corrupting(1.0));
        let recovered = RecordLog::recover(&mut d, LOG, raw);
        assert_eq!(recovered.records, payloads());
        assert_eq!(recovered.report.reads_exhausted, 1);
        assert_eq!(recovered.report.corrupt_reads, MAX_READS as u32);
        d.set_options(DiskOptions::default());
        assert_eq!(&*d.read(LOG), bytes, "nothing was cut");
    }

    #[test]
    fn recovery_is_idempotent() {
        let (bytes, _) = written_log();
        for cut in [bytes.len(), bytes.len() - 3, 20] {
            let mut d = disk_holding(&bytes[..cut]);
            let first = RecordLog::recover(&mut d, LOG, raw);
            let (syncs, writes) = (d.stats().syncs, d.stats().writes);
            let second = RecordLog::recover(&mut d, LOG, raw);
            assert_eq!(second.records, first.records, "cut at {cut}");
            assert_eq!(second.report, RecoveryReport::default(), "cut at {cut}");
            assert_eq!((d.stats().syncs, d.stats().writes), (syncs, writes), "cut at {cut}");
            assert_eq!(second.log.ends, first.log.ends);
        }
    }

    #[test]
    fn a_rejected_record_ends_the_log_and_is_cut() {
        let (bytes, _) = written_log();
        let mut d = disk_holding(&bytes);
        let no_empty = |_: &[Vec<u8>], p: &[u8]| (!p.is_empty()).then(|| p.to_vec());
        let recovered = RecordLog::recover(&mut d, LOG, no_empty);
        assert_eq!(recovered.records, [b"first".to_vec()]);
        assert_eq!(recovered.report.tails_cut, 1);
        assert_eq!(recovered.log.read_back(&mut d).unwrap(), recovered.records);
    }

    #[test]
    fn a_cell_keeps_its_last_synced_value() {
        let decode = |p: &[u8]| Some(p.to_vec());
        let mut d = disk(DiskOptions { torn_write_probability: 1.0, ..DiskOptions::default() });
        // The first store tears in a crash: no value, and the tail is cut.
        CELL.store(&mut d, b"first value");
        d.crash();
        let recovered = CELL.recover(&mut d, decode);
        assert_eq!((recovered.value, recovered.report.tails_cut), (None, 1));
        // A synced value survives an unsynced overwrite.
        CELL.store(&mut d, b"synced");
        d.sync();
        CELL.store(&mut d, b"lost");
        d.crash();
        let recovered = CELL.recover(&mut d, decode);
        assert_eq!(recovered.value.as_deref(), Some(&b"synced"[..]));
        assert_eq!(recovered.report, RecoveryReport::default());
        // Corrupted reads are outvoted here too.
        d.set_options(corrupting(1.0));
        let recovered = CELL.recover(&mut d, decode);
        assert_eq!(recovered.value.as_deref(), Some(&b"synced"[..]));
        assert_eq!(recovered.report.reads_exhausted, 1);
    }

    #[test]
    fn a_recovery_of_several_files_syncs_once() {
        let mut d = disk(DiskOptions { torn_write_probability: 1.0, ..DiskOptions::default() });
        let mut log = RecordLog::new(LOG);
        CELL.store(&mut d, b"value");
        log.append(&mut d, b"entry");
        d.crash();
        let syncs = d.stats().syncs;
        let mut recovery = Recovery::new(&mut d);
        assert_eq!(recovery.cell(&CELL, |p| Some(p.to_vec())), None);
        let (log, records) = recovery.log(LOG, raw);
        assert!(log.is_empty() && records.is_empty());
        let report = recovery.finish();
        assert_eq!(report, RecoveryReport { tails_cut: 2, ..RecoveryReport::default() });
        assert_eq!(d.stats().syncs, syncs + 1);
    }
}
