//! The replicated state machine the protocols share: a key-value map (read, write, cas,
//! append) behind client sessions (Raft dissertation §6.3).
//!
//! Clients retry an operation under the same request id, so the same command can reach the
//! log more than once. Each client's session remembers the sequence number of its latest
//! applied command and the reply it produced: a duplicate is not executed again, and its
//! cached reply is returned instead, so every operation takes effect at most once. A
//! client has at most one operation open, so one cached reply per client is enough; the
//! workload's clients are few and long-lived, so sessions never expire (§6.3 discusses
//! deterministic expiry for unbounded client populations).

use crate::codec::{Decoder, Encoder};
use sim_core::hash::StableHasher;
use sim_core::history::Value;
use sim_core::kv::Op;
use sim_core::node::{ClientId, Reply, Request, RequestId};
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// One client's session: its latest applied request and the reply it got.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Session {
    pub last_seq: u64,
    pub reply: Reply<Value>,
}

/// What applying a command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The command ran and produced this reply.
    Executed(Reply<Value>),
    /// A retry of the session's latest command: not executed again; its cached reply.
    Duplicate(Reply<Value>),
    /// Older than the session's latest command: the client has moved on; no reply.
    Stale,
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

/// The key-value map and the client sessions. Keys never written read as `Nil`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    data: BTreeMap<u64, Value>,
    sessions: BTreeMap<ClientId, Session>,
}

impl KvStore {
    /// A digest of the data and the sessions, equal on replicas that applied the same
    /// commands.
    pub fn digest(&self) -> u64 {
        let mut h = StableHasher::new();
        self.data.hash(&mut h);
        for (client, session) in &self.sessions {
            (client, session.last_seq, &session.reply).hash(&mut h);
        }
        h.finish()
    }

    /// The current value of `key`.
    pub fn read(&self, key: u64) -> Value {
        self.data.get(&key).cloned().unwrap_or(Value::Nil)
    }

    /// Every key written, with its value, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, &Value)> {
        self.data.iter().map(|(&key, value)| (key, value))
    }

    /// The cached reply of `id` if it is its session's latest applied request.
    pub fn cached_reply(&self, id: RequestId) -> Option<&Reply<Value>> {
        self.sessions.get(&id.client).filter(|s| s.last_seq == id.seq).map(|s| &s.reply)
    }

    /// Whether the client has already had a later request applied.
    pub fn is_stale(&self, id: RequestId) -> bool {
        self.sessions.get(&id.client).is_some_and(|s| s.last_seq > id.seq)
    }

    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Apply one committed request, once per request id.
    pub fn apply(&mut self, request: &Request<Op>) -> Applied {
        if let Some(session) = self.sessions.get(&request.id.client) {
            if request.id.seq == session.last_seq {
                return Applied::Duplicate(session.reply.clone());
            }
            if request.id.seq < session.last_seq {
                return Applied::Stale;
            }
        }
        let reply = self.execute(&request.op);
        let session = Session { last_seq: request.id.seq, reply: reply.clone() };
        self.sessions.insert(request.id.client, session);
        Applied::Executed(reply)
    }

    /// Apply a request as if there were no sessions: always execute it (Raft's
    /// `no_client_sessions` bug).
    pub fn apply_without_session(&mut self, request: &Request<Op>) -> Applied {
        Applied::Executed(self.execute(&request.op))
    }

    fn execute(&mut self, op: &Op) -> Reply<Value> {
        match op {
            Op::Read { key } => Reply::Ok(self.read(*key)),
            Op::Write { key, value } => {
                self.data.insert(*key, value.clone());
                Reply::Ok(Value::Nil)
            }
            Op::Cas { key, expected, new } => {
                if self.read(*key) == *expected {
                    self.data.insert(*key, new.clone());
                    Reply::Ok(Value::Nil)
                } else {
                    Reply::Fail
                }
            }
            Op::Append { key, value } => match appended(self.read(*key), value) {
                Some(result) => {
                    self.data.insert(*key, result);
                    Reply::Ok(Value::Nil)
                }
                // A type mismatch: certainly not applied.
                None => Reply::Fail,
            },
        }
    }

    /// The state as snapshot bytes (without framing: a snapshot is one record of a
    /// [`DurableCell`](crate::durable::DurableCell), or part of one).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut e = Encoder::new(out);
        e.u64(self.data.len() as u64);
        for (key, value) in &self.data {
            e.u64(*key);
            e.value(value);
        }
        e.u64(self.sessions.len() as u64);
        for (client, session) in &self.sessions {
            e.u32(client.0);
            e.u64(session.last_seq);
            e.reply(&session.reply);
        }
    }

    /// The state [`encode`](Self::encode) wrote, or `None` if the bytes are not one.
    pub fn decode(d: &mut Decoder<'_>) -> Option<KvStore> {
        let mut store = KvStore::default();
        for _ in 0..d.u64()? {
            let key = d.u64()?;
            store.data.insert(key, d.value()?);
        }
        for _ in 0..d.u64()? {
            let client = ClientId(d.u32()?);
            let last_seq = d.u64()?;
            store.sessions.insert(client, Session { last_seq, reply: d.reply()? });
        }
        Some(store)
    }
}

/// `current` with `value` appended: strings concatenate, a list grows by one item, and a
/// key never written becomes the value. `None` for other combinations.
fn appended(current: Value, value: &Value) -> Option<Value> {
    match (current, value) {
        (Value::Nil, v) => Some(v.clone()),
        (Value::Str(mut s), Value::Str(t)) => {
            s.push_str(t);
            Some(Value::Str(s))
        }
        (Value::List(mut items), v) => {
            items.push(v.clone());
            Some(Value::List(items))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(client: u32, seq: u64, op: Op) -> Request<Op> {
        Request { id: RequestId { client: ClientId(client), seq }, op }
    }

    #[test]
    fn kv_semantics() {
        let mut kv = KvStore::default();
        let read = |kv: &mut KvStore, seq| kv.apply(&command(9, seq, Op::Read { key: 1 }));
        assert_eq!(read(&mut kv, 1), Applied::Executed(Reply::Ok(Value::Nil)));
        let cas = Op::Cas { key: 1, expected: Value::Nil, new: Value::Int(5) };
        assert_eq!(kv.apply(&command(0, 1, cas)), Applied::Executed(Reply::Ok(Value::Nil)));
        let cas = Op::Cas { key: 1, expected: Value::Nil, new: Value::Int(6) };
        assert_eq!(kv.apply(&command(0, 2, cas)), Applied::Executed(Reply::Fail));
        assert_eq!(read(&mut kv, 2), Applied::Executed(Reply::Ok(Value::Int(5))));
        let append =
            |seq, s: &str| command(1, seq, Op::Append { key: 2, value: Value::Str(s.into()) });
        kv.apply(&append(1, "1 "));
        kv.apply(&append(2, "2 "));
        assert_eq!(kv.read(2), Value::Str("1 2 ".into()));
        kv.apply(&command(1, 3, Op::Write { key: 2, value: Value::Int(1) }));
        assert_eq!(kv.apply(&append(4, "x")), Applied::Executed(Reply::Fail));
    }

    #[test]
    fn sessions_apply_a_retried_command_once() {
        let mut kv = KvStore::default();
        let append = command(1, 7, Op::Append { key: 0, value: Value::Str("a".into()) });
        assert_eq!(kv.apply(&append), Applied::Executed(Reply::Ok(Value::Nil)));
        assert_eq!(kv.apply(&append), Applied::Duplicate(Reply::Ok(Value::Nil)));
        assert_eq!(kv.read(0), Value::Str("a".into()));
        let older = command(1, 6, Op::Append { key: 0, value: Value::Str("b".into()) });
        assert_eq!(kv.apply(&older), Applied::Stale);
        assert_eq!(kv.read(0), Value::Str("a".into()));
        assert!(kv.cached_reply(RequestId { client: ClientId(1), seq: 7 }).is_some());
        assert!(kv.is_stale(RequestId { client: ClientId(1), seq: 6 }));
    }

    #[test]
    fn snapshots_round_trip() {
        let mut kv = KvStore::default();
        kv.apply(&command(1, 1, Op::Write { key: 3, value: Value::Str("x".into()) }));
        kv.apply(&command(2, 4, Op::Cas { key: 3, expected: Value::Nil, new: Value::Nil }));
        let mut bytes = Vec::new();
        kv.encode(&mut bytes);
        let mut d = Decoder::new(&bytes);
        assert_eq!(KvStore::decode(&mut d), Some(kv));
        assert!(d.is_done());
    }
}
