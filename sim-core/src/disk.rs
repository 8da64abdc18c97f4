//! A node's durable storage: named files of bytes. Writes land in a volatile page cache and
//! become durable only when the node syncs. A crash throws the cache away; with
//! `torn_write_probability` it also lets a prefix of the first unsynced write reach the
//! platter, which is how real disks tear records. Reads may return a corrupted byte with
//! `corrupt_read_probability`; a protocol that checksums its records must notice.

use crate::rng::LazyRng;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Fault options for disks; all zero (no faults) by default.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DiskOptions {
    /// Probability that a crash tears the first unsynced write (a non-empty strict prefix
    /// of it persists).
    pub torn_write_probability: f64,
    /// Probability that a read flips one bit of what it returns.
    pub corrupt_read_probability: f64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Write {
    Append(Vec<u8>),
    Truncate(usize),
}

#[derive(Clone, Debug, Default)]
struct File {
    /// What a read sees: durable contents plus every unsynced write.
    current: Vec<u8>,
    /// What survives a crash.
    durable: Vec<u8>,
    /// Writes since the last sync, in order.
    unsynced: Vec<Write>,
}

/// What a crash did to a disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashDamage {
    pub lost_writes: u64,
    pub torn_writes: u64,
}

/// Counters of disk activity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskStats {
    pub writes: u64,
    pub bytes_written: u64,
    pub syncs: u64,
    pub reads: u64,
    pub corrupted_reads: u64,
    pub lost_writes: u64,
    pub torn_writes: u64,
}

/// One node's disk. It outlives the node: a crash drops the node, not its disk.
#[derive(Clone, Debug)]
pub struct Disk {
    files: BTreeMap<String, File>,
    options: DiskOptions,
    rng: LazyRng,
    stats: DiskStats,
    /// Stopped by a crash inside a handler ([`crate::announce::CrashPoint::Event`]): the
    /// rest of the handler writes and syncs nothing, until the crash itself.
    stopped: bool,
}

impl Disk {
    /// A disk that draws its faults from `rng` (a [`crate::rng::SimRng`], or a
    /// [`LazyRng`] that is only derived if a fault is ever drawn).
    pub fn new(options: DiskOptions, rng: impl Into<LazyRng>) -> Self {
        Disk {
            files: BTreeMap::new(),
            options,
            rng: rng.into(),
            stats: DiskStats::default(),
            stopped: false,
        }
    }

    fn file_mut(&mut self, name: &str) -> &mut File {
        if !self.files.contains_key(name) {
            self.files.insert(name.to_owned(), File::default());
        }
        self.files.get_mut(name).expect("inserted above")
    }

    /// Append `bytes` to `file` (created if missing). Volatile until `sync`.
    pub fn append(&mut self, file: &str, bytes: &[u8]) {
        if self.stopped {
            return;
        }
        self.stats.writes += 1;
        self.stats.bytes_written += bytes.len() as u64;
        let f = self.file_mut(file);
        f.current.extend_from_slice(bytes);
        f.unsynced.push(Write::Append(bytes.to_vec()));
    }

    /// Cut `file` to `len` bytes (no-op past its end). Volatile until `sync`.
    pub fn truncate(&mut self, file: &str, len: usize) {
        if self.stopped {
            return;
        }
        self.stats.writes += 1;
        let f = self.file_mut(file);
        if len < f.current.len() {
            f.current.truncate(len);
            f.unsynced.push(Write::Truncate(len));
        }
    }

    /// Replace the contents of `file`. Volatile until `sync`.
    pub fn overwrite(&mut self, file: &str, bytes: &[u8]) {
        self.truncate(file, 0);
        self.append(file, bytes);
    }

    /// Make every write so far durable.
    pub fn sync(&mut self) {
        if self.stopped {
            return;
        }
        self.stats.syncs += 1;
        for f in self.files.values_mut() {
            // Replay the unsynced writes onto the durable copy: a sync costs the bytes
            // written since the last one, not the size of the file.
            for write in f.unsynced.drain(..) {
                match write {
                    Write::Append(bytes) => f.durable.extend_from_slice(&bytes),
                    Write::Truncate(len) => f.durable.truncate(len),
                }
            }
            debug_assert_eq!(f.durable.len(), f.current.len(), "a synced file reads as written");
        }
    }

    /// The current contents of `file` (empty if it does not exist). With
    /// `corrupt_read_probability`, one bit of the returned copy is flipped.
    pub fn read(&mut self, file: &str) -> Cow<'_, [u8]> {
        self.stats.reads += 1;
        let corrupt = self.rng.get().chance(self.options.corrupt_read_probability);
        let Some(f) = self.files.get(file) else { return Cow::Borrowed(&[]) };
        if !corrupt || f.current.is_empty() {
            return Cow::Borrowed(&f.current);
        }
        self.stats.corrupted_reads += 1;
        let mut copy = f.current.clone();
        let bit = self.rng.get().below(copy.len() as u64 * 8);
        copy[(bit / 8) as usize] ^= 1 << (bit % 8);
        Cow::Owned(copy)
    }

    /// The names of the files that exist, in order.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Whether any write is not yet durable.
    pub fn has_unsynced_writes(&self) -> bool {
        self.files.values().any(|f| !f.unsynced.is_empty())
    }

    /// A crash: unsynced writes are lost, except that the first one may be torn.
    pub fn crash(&mut self) -> CrashDamage {
        self.stopped = false;
        let mut damage = CrashDamage::default();
        let torn_probability = self.options.torn_write_probability;
        for f in self.files.values_mut() {
            if f.unsynced.is_empty() {
                continue;
            }
            let mut survivor = f.durable.clone();
            // A tear keeps a non-empty strict prefix: keeping nothing would be a plain
            // lost write (invisible to a checksum, yet counted as torn), so a write of
            // fewer than two bytes cannot tear.
            if let Some(Write::Append(bytes)) = f.unsynced.first()
                && bytes.len() >= 2
                && self.rng.get().chance(torn_probability)
            {
                let kept = self.rng.get().between(1, bytes.len() as u64 - 1) as usize;
                survivor.extend_from_slice(&bytes[..kept]);
                damage.torn_writes += 1;
            }
            damage.lost_writes += f.unsynced.len() as u64;
            f.unsynced.clear();
            f.durable.clone_from(&survivor);
            f.current = survivor;
        }
        self.stats.lost_writes += damage.lost_writes;
        self.stats.torn_writes += damage.torn_writes;
        damage
    }

    /// Ignore every write and sync from now until the next [`Disk::crash`]: the node
    /// crashed here, though its handler runs on.
    pub(crate) fn stop(&mut self) {
        self.stopped = true;
    }

    /// Change the fault options (a scheduled "disk corruption" fault does this).
    pub fn set_options(&mut self, options: DiskOptions) {
        self.options = options;
    }

    pub fn options(&self) -> DiskOptions {
        self.options
    }

    pub fn stats(&self) -> DiskStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SimRng, Stream};

    fn disk(options: DiskOptions) -> Disk {
        Disk::new(options, SimRng::derive(1, Stream::Disk, 0))
    }

    #[test]
    fn a_crash_loses_unsynced_writes_and_keeps_synced_ones() {
        let mut d = disk(DiskOptions::default());
        d.append("log", b"one");
        d.sync();
        d.append("log", b"two");
        d.overwrite("meta", b"term=3");
        assert_eq!(&*d.read("log"), b"onetwo");
        let damage = d.crash();
        assert_eq!(damage, CrashDamage { lost_writes: 2, torn_writes: 0 });
        assert_eq!(&*d.read("log"), b"one");
        assert_eq!(&*d.read("meta"), b"");
        assert!(!d.has_unsynced_writes());
    }

    #[test]
    fn truncation_is_volatile_until_synced() {
        let mut d = disk(DiskOptions::default());
        d.append("log", b"abcdef");
        d.sync();
        d.truncate("log", 2);
        assert_eq!(&*d.read("log"), b"ab");
        d.crash();
        assert_eq!(&*d.read("log"), b"abcdef");
        d.truncate("log", 2);
        d.sync();
        d.crash();
        assert_eq!(&*d.read("log"), b"ab");
    }

    #[test]
    fn a_torn_write_keeps_a_strict_prefix_of_the_first_unsynced_append() {
        let mut d = disk(DiskOptions { torn_write_probability: 1.0, ..Default::default() });
        d.append("log", b"head");
        d.sync();
        d.append("log", b"0123456789");
        d.append("log", b"never");
        assert_eq!(d.crash().torn_writes, 1);
        let after = d.read("log").into_owned();
        assert!(after.starts_with(b"head"));
        assert!(after.len() < b"head0123456789".len());
        assert!(b"head0123456789".starts_with(&after));
    }

    #[test]
    fn corrupted_reads_flip_exactly_one_bit_of_a_copy() {
        let mut d = disk(DiskOptions { corrupt_read_probability: 1.0, ..Default::default() });
        d.append("f", &[0u8; 16]);
        let read = d.read("f").into_owned();
        assert_eq!(read.iter().map(|b| b.count_ones()).sum::<u32>(), 1);
        d.set_options(DiskOptions::default());
        assert_eq!(&*d.read("f"), &[0u8; 16]);
        assert_eq!(d.stats().corrupted_reads, 1);
    }
}
