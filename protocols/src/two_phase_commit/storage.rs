//! What two-phase commit keeps on disk, each a record of a `durable::RecordLog`: the
//! participants' log of prepares and outcomes, and the coordinator's log of decisions
//! (and its epoch, a `DurableCell`). Encoded with `codec`. A replicated coordinator keeps
//! its records in the store of its Raft group instead, one value per transaction.

use super::TxnId;
use crate::codec::{Decoder, Encoder};
use crate::durable::DurableCell;
use sim_core::history::Value;
use sim_core::node::{NodeId, RequestId};
use sim_core::txn::Mop;

/// A participant's log.
pub const PARTICIPANT_LOG: &str = "txn-log";
/// The coordinator's log of decisions.
pub const DECISION_LOG: &str = "decisions";
/// The coordinator's epoch: one more at every start.
pub const EPOCH: DurableCell = DurableCell::new("epoch");

/// A write a prepared transaction will make when it commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    Append { key: u64, value: u64 },
    Write { key: u64, value: u64 },
}

/// A record of a participant's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParticipantRecord {
    /// Voted yes: the keys it locked and the writes it will make.
    Prepared {
        txn: TxnId,
        keys: Vec<u64>,
        effects: Vec<Effect>,
    },
    Committed {
        txn: TxnId,
    },
    Aborted {
        txn: TxnId,
    },
}

/// A record of the coordinator's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecisionRecord {
    /// The decision, the request it answers, the participants to tell, and on commit the
    /// transaction with what it read.
    Decided {
        txn: TxnId,
        request: RequestId,
        commit: bool,
        participants: Vec<NodeId>,
        result: Vec<Mop>,
    },
    /// Every participant acknowledged the decision.
    Ended { txn: TxnId },
    /// A replicated coordinator named the transaction for this request, to send its
    /// prepares to these participants (replicated before any prepare goes out).
    Begun { txn: TxnId, request: RequestId, participants: Vec<NodeId> },
}

fn txn_id(e: &mut Encoder<'_>, txn: TxnId) {
    e.u64(txn.epoch);
    e.u64(txn.seq);
}

fn read_txn_id(d: &mut Decoder<'_>) -> Option<TxnId> {
    Some(TxnId { epoch: d.u64()?, seq: d.u64()? })
}

fn u64s(e: &mut Encoder<'_>, values: &[u64]) {
    e.u32(values.len() as u32);
    for &v in values {
        e.u64(v);
    }
}

fn read_u64s(d: &mut Decoder<'_>) -> Option<Vec<u64>> {
    let n = d.u32()?;
    (0..n).map(|_| d.u64()).collect()
}

fn node_ids(e: &mut Encoder<'_>, nodes: &[NodeId]) {
    e.u32(nodes.len() as u32);
    for p in nodes {
        e.u32(p.0);
    }
}

fn read_node_ids(d: &mut Decoder<'_>) -> Option<Vec<NodeId>> {
    let n = d.u32()?;
    (0..n).map(|_| d.u32().map(NodeId)).collect()
}

fn mop(e: &mut Encoder<'_>, mop: &Mop) {
    match mop {
        Mop::Append { key, value } => {
            e.u8(0);
            e.u64(*key);
            e.u64(*value);
        }
        Mop::Write { key, value } => {
            e.u8(1);
            e.u64(*key);
            e.u64(*value);
        }
        Mop::ReadList { key, value } => {
            e.u8(2);
            e.u64(*key);
            e.u8(u8::from(value.is_some()));
            if let Some(list) = value {
                u64s(e, list);
            }
        }
        Mop::ReadRegister { key, value } => {
            e.u8(3);
            e.u64(*key);
            match value {
                None => e.u8(0),
                Some(None) => e.u8(1),
                Some(Some(v)) => {
                    e.u8(2);
                    e.u64(*v);
                }
            }
        }
    }
}

fn read_mop(d: &mut Decoder<'_>) -> Option<Mop> {
    let tag = d.u8()?;
    let key = d.u64()?;
    Some(match tag {
        0 => Mop::Append { key, value: d.u64()? },
        1 => Mop::Write { key, value: d.u64()? },
        2 => Mop::ReadList {
            key,
            value: match d.u8()? {
                0 => None,
                1 => Some(read_u64s(d)?),
                _ => return None,
            },
        },
        3 => Mop::ReadRegister {
            key,
            value: match d.u8()? {
                0 => None,
                1 => Some(None),
                2 => Some(Some(d.u64()?)),
                _ => return None,
            },
        },
        _ => return None,
    })
}

impl ParticipantRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out);
        match self {
            ParticipantRecord::Prepared { txn, keys, effects } => {
                e.u8(1);
                txn_id(&mut e, *txn);
                u64s(&mut e, keys);
                e.u32(effects.len() as u32);
                for effect in effects {
                    let (tag, key, value) = match *effect {
                        Effect::Append { key, value } => (0, key, value),
                        Effect::Write { key, value } => (1, key, value),
                    };
                    e.u8(tag);
                    e.u64(key);
                    e.u64(value);
                }
            }
            ParticipantRecord::Committed { txn } => {
                e.u8(2);
                txn_id(&mut e, *txn);
            }
            ParticipantRecord::Aborted { txn } => {
                e.u8(3);
                txn_id(&mut e, *txn);
            }
        }
        out
    }

    pub fn decode(payload: &[u8]) -> Option<Self> {
        let mut d = Decoder::new(payload);
        let record = match d.u8()? {
            1 => {
                let txn = read_txn_id(&mut d)?;
                let keys = read_u64s(&mut d)?;
                let n = d.u32()?;
                let effects = (0..n)
                    .map(|_| {
                        let tag = d.u8()?;
                        let (key, value) = (d.u64()?, d.u64()?);
                        match tag {
                            0 => Some(Effect::Append { key, value }),
                            1 => Some(Effect::Write { key, value }),
                            _ => None,
                        }
                    })
                    .collect::<Option<_>>()?;
                ParticipantRecord::Prepared { txn, keys, effects }
            }
            2 => ParticipantRecord::Committed { txn: read_txn_id(&mut d)? },
            3 => ParticipantRecord::Aborted { txn: read_txn_id(&mut d)? },
            _ => return None,
        };
        d.is_done().then_some(record)
    }
}

impl DecisionRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out);
        match self {
            DecisionRecord::Decided { txn, request, commit, participants, result } => {
                e.u8(1);
                txn_id(&mut e, *txn);
                e.request_id(*request);
                e.u8(u8::from(*commit));
                node_ids(&mut e, participants);
                e.u32(result.len() as u32);
                for m in result {
                    mop(&mut e, m);
                }
            }
            DecisionRecord::Ended { txn } => {
                e.u8(2);
                txn_id(&mut e, *txn);
            }
            DecisionRecord::Begun { txn, request, participants } => {
                e.u8(3);
                txn_id(&mut e, *txn);
                e.request_id(*request);
                node_ids(&mut e, participants);
            }
        }
        out
    }

    pub fn decode(payload: &[u8]) -> Option<Self> {
        let mut d = Decoder::new(payload);
        let record = match d.u8()? {
            1 => {
                let txn = read_txn_id(&mut d)?;
                let request = d.request_id()?;
                let commit = match d.u8()? {
                    0 => false,
                    1 => true,
                    _ => return None,
                };
                let participants = read_node_ids(&mut d)?;
                let n = d.u32()?;
                let result = (0..n).map(|_| read_mop(&mut d)).collect::<Option<_>>()?;
                DecisionRecord::Decided { txn, request, commit, participants, result }
            }
            2 => DecisionRecord::Ended { txn: read_txn_id(&mut d)? },
            3 => {
                let txn = read_txn_id(&mut d)?;
                let request = d.request_id()?;
                DecisionRecord::Begun { txn, request, participants: read_node_ids(&mut d)? }
            }
            _ => return None,
        };
        d.is_done().then_some(record)
    }
}

impl DecisionRecord {
    /// The record as a value of a replicated coordinator's store (its bytes, one
    /// character each).
    pub fn to_value(&self) -> Value {
        Value::Str(self.encode().into_iter().map(char::from).collect())
    }

    /// The record a store value holds, or `None` for anything else.
    pub fn from_value(value: &Value) -> Option<Self> {
        let Value::Str(text) = value else { return None };
        let bytes: Vec<u8> = text.chars().map(u8::try_from).collect::<Result<_, _>>().ok()?;
        DecisionRecord::decode(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::node::ClientId;

    #[test]
    fn records_round_trip() {
        let txn = TxnId { epoch: 3, seq: 9 };
        let participant = [
            ParticipantRecord::Prepared {
                txn,
                keys: vec![1, 4],
                effects: vec![
                    Effect::Append { key: 1, value: 7 },
                    Effect::Write { key: 4, value: 8 },
                ],
            },
            ParticipantRecord::Committed { txn },
            ParticipantRecord::Aborted { txn },
        ];
        for record in participant {
            assert_eq!(ParticipantRecord::decode(&record.encode()), Some(record));
        }
        let coordinator = [
            DecisionRecord::Decided {
                txn,
                request: RequestId { client: ClientId(2), seq: 5 },
                commit: true,
                participants: vec![NodeId(1), NodeId(3)],
                result: vec![
                    Mop::Append { key: 1, value: 7 },
                    Mop::ReadList { key: 1, value: Some(vec![3, 7]) },
                    Mop::ReadList { key: 2, value: None },
                    Mop::Write { key: 4, value: 8 },
                    Mop::ReadRegister { key: 4, value: Some(Some(8)) },
                    Mop::ReadRegister { key: 5, value: Some(None) },
                ],
            },
            DecisionRecord::Ended { txn },
            DecisionRecord::Begun {
                txn,
                request: RequestId { client: ClientId(2), seq: 5 },
                participants: vec![NodeId(4)],
            },
        ];
        for record in coordinator {
            let bytes = record.encode();
            assert_eq!(DecisionRecord::decode(&bytes).as_ref(), Some(&record));
            assert_eq!(DecisionRecord::decode(&bytes[..bytes.len() - 1]), None);
            assert_eq!(DecisionRecord::from_value(&record.to_value()).as_ref(), Some(&record));
        }
    }
}
