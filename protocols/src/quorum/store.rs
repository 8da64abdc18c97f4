//! A replica's versioned registers, kept on its disk: last-writer-wins by [`Version`], and
//! the hints it holds for other replicas (Dynamo's hinted handoff, §4.6).
//!
//! Every change is appended to a [`RecordLog`] and synced before the replica acknowledges
//! it, so an acknowledged write survives a crash; recovery replays the log, keeping the
//! newest version of each key.

use crate::codec::{Decoder, Encoder};
use crate::durable::RecordLog;
use sim_core::hash::StableHasher;
use sim_core::history::Value;
use sim_core::node::{Context, Node, NodeId};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

const STORE_FILE: &str = "quorum-store";

/// A write's timestamp: the coordinator's clock reading, then the coordinator and the
/// client request, so that two writes never tie. Compared in that order: the newest wins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Nanoseconds on the coordinator's own (skewed) clock.
    pub time: u64,
    pub coordinator: u32,
    pub client: u32,
    pub seq: u64,
}

/// One record of the log: a register's new version, or a hint for `home` (a hint
/// delivered is a record with `delivered`).
#[derive(Clone, Debug, PartialEq)]
enum Record {
    Register { key: u64, version: Version, value: Value },
    Hint { home: NodeId, key: u64, version: Version, value: Value, delivered: bool },
}

/// The registers a replica holds and the hints it keeps for others.
#[derive(Debug)]
pub struct Store {
    registers: BTreeMap<u64, (Version, Value)>,
    /// Hints to hand off: (home, key) to the newest version held for it.
    hints: BTreeMap<(NodeId, u64), (Version, Value)>,
    file: RecordLog,
}

impl Store {
    /// Recover the store from `ctx`'s disk.
    pub fn recover<N: Node>(ctx: &mut Context<'_, N>) -> Store {
        let recovered = RecordLog::recover(ctx.disk(), STORE_FILE, |_, p| decode(p));
        recovered.report.count(ctx);
        let mut store =
            Store { registers: BTreeMap::new(), hints: BTreeMap::new(), file: recovered.log };
        for record in recovered.records {
            match record {
                Record::Register { key, version, value } => {
                    store.put(key, version, value);
                }
                Record::Hint { home, key, version, value, delivered: false } => {
                    store.keep_hint(home, key, version, value);
                }
                Record::Hint { home, key, version, delivered: true, .. } => {
                    store.drop_hint(home, key, version);
                }
            }
        }
        store
    }

    /// The version and value of `key` (the zero version and `Nil` if never written).
    pub fn get(&self, key: u64) -> (Version, Value) {
        self.registers.get(&key).cloned().unwrap_or((Version::default(), Value::Nil))
    }

    /// Store `value` at `version` if it is newer than what the key holds; `blind` stores
    /// it whatever the key holds (the bug `repair_overwrites_newer`). Durable on return.
    pub fn write<N: Node>(
        &mut self,
        ctx: &mut Context<'_, N>,
        key: u64,
        version: Version,
        value: Value,
        blind: bool,
    ) -> bool {
        let current = self.get(key).0;
        let applies = if blind { version != current } else { version > current };
        if !applies {
            return false;
        }
        self.append(ctx, &Record::Register { key, version, value: value.clone() });
        self.registers.insert(key, (version, value));
        true
    }

    fn put(&mut self, key: u64, version: Version, value: Value) {
        if version > self.get(key).0 {
            self.registers.insert(key, (version, value));
        }
    }

    /// Keep a hint for `home`, durably.
    pub fn hint<N: Node>(
        &mut self,
        ctx: &mut Context<'_, N>,
        home: NodeId,
        key: u64,
        version: Version,
        value: Value,
    ) {
        let record = Record::Hint { home, key, version, value: value.clone(), delivered: false };
        self.append(ctx, &record);
        self.keep_hint(home, key, version, value);
    }

    fn keep_hint(&mut self, home: NodeId, key: u64, version: Version, value: Value) {
        let newer = self.hints.get(&(home, key)).is_none_or(|(v, _)| version > *v);
        if newer {
            self.hints.insert((home, key), (version, value));
        }
    }

    /// `home` holds `key` at `version` or newer: the hint is handed off.
    pub fn hint_delivered<N: Node>(
        &mut self,
        ctx: &mut Context<'_, N>,
        home: NodeId,
        key: u64,
        version: Version,
    ) {
        if self.hints.get(&(home, key)).is_some_and(|(v, _)| *v <= version) {
            let record = Record::Hint { home, key, version, value: Value::Nil, delivered: true };
            self.append(ctx, &record);
            self.drop_hint(home, key, version);
        }
    }

    fn drop_hint(&mut self, home: NodeId, key: u64, version: Version) {
        if self.hints.get(&(home, key)).is_some_and(|(v, _)| *v <= version) {
            self.hints.remove(&(home, key));
        }
    }

    /// The hints held, oldest key first: (home, key, version, value).
    pub fn hints(&self) -> impl Iterator<Item = (NodeId, u64, Version, &Value)> {
        self.hints.iter().map(|(&(home, key), (version, value))| (home, key, *version, value))
    }

    /// The registers, by key.
    pub fn registers(&self) -> &BTreeMap<u64, (Version, Value)> {
        &self.registers
    }

    /// A digest of one key's register.
    pub fn key_digest(&self, key: u64) -> u64 {
        let mut h = StableHasher::new();
        self.get(key).hash(&mut h);
        h.finish()
    }

    fn append<N: Node>(&mut self, ctx: &mut Context<'_, N>, record: &Record) {
        let mut payload = Vec::new();
        encode(record, &mut payload);
        self.file.append(ctx.disk(), &payload);
        ctx.disk().sync();
    }
}

fn encode(record: &Record, out: &mut Vec<u8>) {
    let mut e = Encoder::new(out);
    let (tag, home, key, version, value, delivered) = match record {
        Record::Register { key, version, value } => (0, None, key, version, value, false),
        Record::Hint { home, key, version, value, delivered } => {
            (1, Some(*home), key, version, value, *delivered)
        }
    };
    e.u8(tag);
    e.node(home);
    e.u64(*key);
    e.u64(version.time);
    e.u32(version.coordinator);
    e.u32(version.client);
    e.u64(version.seq);
    e.value(value);
    e.u8(u8::from(delivered));
}

fn decode(payload: &[u8]) -> Option<Record> {
    let mut d = Decoder::new(payload);
    let tag = d.u8()?;
    let home = d.node()?;
    let key = d.u64()?;
    let version =
        Version { time: d.u64()?, coordinator: d.u32()?, client: d.u32()?, seq: d.u64()? };
    let value = d.value()?;
    let delivered = d.u8()? == 1;
    if !d.is_done() {
        return None;
    }
    match (tag, home) {
        (0, None) => Some(Record::Register { key, version, value }),
        (1, Some(home)) => Some(Record::Hint { home, key, version, value, delivered }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let version = Version { time: 5, coordinator: 1, client: 2, seq: 3 };
        let records = [
            Record::Register { key: 4, version, value: Value::Int(9) },
            Record::Hint { home: NodeId(3), key: 1, version, value: Value::Nil, delivered: true },
        ];
        for record in records {
            let mut bytes = Vec::new();
            encode(&record, &mut bytes);
            assert_eq!(decode(&bytes), Some(record));
        }
    }
}
