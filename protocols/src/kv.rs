//! The key-value state machine that replicated protocols apply their logs to, with client
//! sessions (Raft dissertation §6.3): each client's latest request id and reply are kept,
//! so a retried request is answered from the session instead of applied twice.

use sim_core::codec::{Decoder, Encoder};
use sim_core::history::Value;
use sim_core::node::{ClientId, Op, Reply, RequestId};
use std::collections::BTreeMap;

/// A replicated command: a client's operation under its request id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Command {
    pub id: RequestId,
    pub op: Op,
}

impl Command {
    pub fn encode(&self, e: &mut Encoder) {
        e.u64(u64::from(self.id.client.0)).u64(self.id.seq).op(&self.op);
    }

    pub fn decode(d: &mut Decoder<'_>) -> Option<Command> {
        let client = ClientId(u32::try_from(d.u64()?).ok()?);
        let seq = d.u64()?;
        Some(Command { id: RequestId { client, seq }, op: d.op()? })
    }
}

/// Keys to values, plus client sessions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvStore {
    data: BTreeMap<u64, Value>,
    /// Per client: the highest request seq applied and its reply.
    sessions: BTreeMap<ClientId, (u64, Reply)>,
}

/// What applying a command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied now, with this reply.
    Fresh(Reply),
    /// Already applied earlier (a retry); the reply from then.
    Duplicate(Reply),
    /// Older than the client's latest request: the client gave up on it long ago.
    Stale,
}

impl KvStore {
    /// The value of `key` now (Nil if never written).
    pub fn get(&self, key: u64) -> Value {
        self.data.get(&key).cloned().unwrap_or(Value::Nil)
    }

    /// Apply a command exactly once per request id.
    pub fn apply(&mut self, command: &Command) -> Applied {
        if let Some((seq, reply)) = self.sessions.get(&command.id.client) {
            if *seq == command.id.seq {
                return Applied::Duplicate(reply.clone());
            }
            if *seq > command.id.seq {
                return Applied::Stale;
            }
        }
        let reply = self.execute(&command.op);
        self.sessions.insert(command.id.client, (command.id.seq, reply.clone()));
        Applied::Fresh(reply)
    }

    /// The reply recorded for request `id`, if it is its client's latest applied request.
    pub fn session_reply(&self, id: RequestId) -> Option<&Reply> {
        match self.sessions.get(&id.client) {
            Some((seq, reply)) if *seq == id.seq => Some(reply),
            _ => None,
        }
    }

    /// The reply a read would get now, without touching sessions.
    pub fn read(&self, key: u64) -> Reply {
        Reply::Ok(self.get(key))
    }

    fn execute(&mut self, op: &Op) -> Reply {
        match op {
            Op::Read { key } => self.read(*key),
            Op::Write { key, value } => {
                self.data.insert(*key, value.clone());
                Reply::Ok(Value::Nil)
            }
            Op::Cas { key, expected, new } => {
                if self.get(*key) == *expected {
                    self.data.insert(*key, new.clone());
                    Reply::Ok(Value::Nil)
                } else {
                    Reply::Fail
                }
            }
            Op::Append { key, value } => {
                let appended = match (self.get(*key), value) {
                    (Value::Nil, v) => v.clone(),
                    (Value::Str(mut s), Value::Str(tail)) => {
                        s.push_str(tail);
                        Value::Str(s)
                    }
                    (Value::List(mut items), v) => {
                        items.push(v.clone());
                        Value::List(items)
                    }
                    (current, v) => Value::List(vec![current, v.clone()]),
                };
                self.data.insert(*key, appended);
                Reply::Ok(Value::Nil)
            }
        }
    }

    /// Serialize (for snapshots).
    pub fn encode(&self, e: &mut Encoder) {
        e.u64(self.data.len() as u64);
        for (key, value) in &self.data {
            e.u64(*key).value(value);
        }
        e.u64(self.sessions.len() as u64);
        for (client, (seq, reply)) in &self.sessions {
            e.u64(u64::from(client.0)).u64(*seq);
            match reply {
                Reply::Ok(v) => e.u8(0).value(v),
                Reply::Fail => e.u8(1),
                Reply::Redirect(_) => e.u8(2),
            };
        }
    }

    pub fn decode(d: &mut Decoder<'_>) -> Option<KvStore> {
        let mut store = KvStore::default();
        for _ in 0..d.u64()? {
            let key = d.u64()?;
            store.data.insert(key, d.value()?);
        }
        for _ in 0..d.u64()? {
            let client = ClientId(u32::try_from(d.u64()?).ok()?);
            let seq = d.u64()?;
            let reply = match d.u8()? {
                0 => Reply::Ok(d.value()?),
                1 => Reply::Fail,
                2 => Reply::Redirect(None),
                _ => return None,
            };
            store.sessions.insert(client, (seq, reply));
        }
        Some(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(client: u32, seq: u64, op: Op) -> Command {
        Command { id: RequestId { client: ClientId(client), seq }, op }
    }

    #[test]
    fn a_retried_request_applies_once() {
        let mut kv = KvStore::default();
        let append = cmd(0, 1, Op::Append { key: 1, value: Value::Str("a ".into()) });
        assert_eq!(kv.apply(&append), Applied::Fresh(Reply::Ok(Value::Nil)));
        assert_eq!(kv.apply(&append), Applied::Duplicate(Reply::Ok(Value::Nil)));
        assert_eq!(kv.get(1), Value::Str("a ".into()));
        let next = cmd(0, 2, Op::Append { key: 1, value: Value::Str("b ".into()) });
        kv.apply(&next);
        assert_eq!(kv.apply(&append), Applied::Stale);
        assert_eq!(kv.get(1), Value::Str("a b ".into()));
    }

    #[test]
    fn cas_compares_with_the_current_value() {
        let mut kv = KvStore::default();
        let cas = |seq, expected, new| cmd(1, seq, Op::Cas { key: 0, expected, new });
        assert_eq!(kv.apply(&cas(1, Value::Int(1), Value::Int(2))), Applied::Fresh(Reply::Fail));
        assert_eq!(
            kv.apply(&cas(2, Value::Nil, Value::Int(2))),
            Applied::Fresh(Reply::Ok(Value::Nil))
        );
        assert_eq!(kv.get(0), Value::Int(2));
    }

    #[test]
    fn snapshots_round_trip() {
        let mut kv = KvStore::default();
        kv.apply(&cmd(0, 1, Op::Write { key: 4, value: Value::Int(9) }));
        kv.apply(&cmd(1, 5, Op::Cas { key: 4, expected: Value::Nil, new: Value::Int(1) }));
        let mut e = Encoder::new();
        kv.encode(&mut e);
        assert_eq!(KvStore::decode(&mut Decoder::new(&e.bytes)), Some(kv));
    }
}
