//! The byte encoding of what protocols keep on disk: values, client requests and replies
//! ([`Encoder`], [`Decoder`]), and the checksummed record frame their files are made of
//! ([`frame`], [`record_at`]).
//!
//! A record is `[payload length: u32][checksum: u64][payload]`, little-endian. The checksum
//! covers the length and the payload, so a torn write (a strict prefix of a record) and a
//! flipped bit are both detected: a torn record shows up as *incomplete* (its header or its
//! payload runs past the end of the file), a flipped bit as a *corrupt* complete record.
//!
//! Protocols rarely frame records themselves: [`crate::durable`] keeps logs and cells of
//! framed records on a disk and recovers them after a crash. What goes inside a record is
//! the protocol's own, written with an [`Encoder`] and read back with a [`Decoder`]:
//!
//! ```
//! use protocols::codec::{Decoder, Encoder};
//! use sim_core::history::Value;
//!
//! let mut payload = Vec::new();
//! let mut e = Encoder::new(&mut payload);
//! e.u64(7);
//! e.value(&Value::Str("x".into()));
//! let mut d = Decoder::new(&payload);
//! assert_eq!((d.u64(), d.value()), (Some(7), Some(Value::Str("x".into()))));
//! assert!(d.is_done());
//! ```

use sim_core::hash::StableHasher;
use sim_core::history::Value;
use sim_core::kv::Op;
use sim_core::node::{ClientId, NodeId, Reply, Request, RequestId};
use std::hash::Hasher;

/// Header bytes of a record: length (4) and checksum (8).
pub const HEADER_BYTES: usize = 12;

/// No record is larger than this; a longer length field is corruption.
const MAX_RECORD_BYTES: usize = 1 << 30;

/// Lists nest at most this deep in a decoded value (a bound on recursion).
const MAX_VALUE_DEPTH: u32 = 16;

fn checksum(payload: &[u8]) -> u64 {
    let mut hasher = StableHasher::new();
    hasher.write_u64(payload.len() as u64);
    hasher.write(payload);
    hasher.finish()
}

/// Append one framed record holding `payload` to `out`. Panics if `payload` is longer
/// than a record may be (1 GiB).
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    assert!(payload.len() <= MAX_RECORD_BYTES, "record of {} bytes", payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// What the bytes at an offset of a file hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Record<'a> {
    /// A valid record and the offset just past it.
    Valid { payload: &'a [u8], end: usize },
    /// The file ends inside this record: the shape of a torn write.
    Incomplete,
    /// A complete record whose checksum does not match: the shape of a corrupted read.
    Corrupt,
    /// Nothing left.
    End,
}

/// Parse the record that starts at `offset` of `bytes` (an offset past the end reads as
/// [`Record::End`]).
pub fn record_at(bytes: &[u8], offset: usize) -> Record<'_> {
    let rest = &bytes[offset.min(bytes.len())..];
    if rest.is_empty() {
        return Record::End;
    }
    if rest.len() < HEADER_BYTES {
        return Record::Incomplete;
    }
    let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
    let sum = u64::from_le_bytes(rest[4..12].try_into().expect("8 bytes"));
    if len > MAX_RECORD_BYTES {
        return Record::Corrupt;
    }
    if rest.len() < HEADER_BYTES + len {
        return Record::Incomplete;
    }
    let payload = &rest[HEADER_BYTES..HEADER_BYTES + len];
    if checksum(payload) != sum {
        return Record::Corrupt;
    }
    Record::Valid { payload, end: offset + HEADER_BYTES + len }
}

/// Appends little-endian fields to a buffer: fixed-width integers, length-prefixed bytes,
/// and the workload's values, requests and replies. [`Decoder`] reads them back in the
/// same order; nothing in the bytes says which field is which.
pub struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Encoder<'a> {
    /// An encoder that appends to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Encoder { out }
    }

    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.out.extend_from_slice(v);
    }

    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Nil => self.u8(0),
            Value::Int(i) => {
                self.u8(1);
                self.u64(*i as u64);
            }
            Value::Str(s) => {
                self.u8(2);
                self.bytes(s.as_bytes());
            }
            Value::List(items) => {
                self.u8(3);
                self.u32(items.len() as u32);
                for item in items {
                    self.value(item);
                }
            }
        }
    }

    /// A node id or none.
    pub fn node(&mut self, v: Option<NodeId>) {
        self.u32(v.map_or(u32::MAX, |n| n.0));
    }

    pub fn request_id(&mut self, id: RequestId) {
        self.u32(id.client.0);
        self.u64(id.seq);
    }

    pub fn request(&mut self, request: &Request<Op>) {
        self.request_id(request.id);
        match &request.op {
            Op::Read { key } => {
                self.u8(0);
                self.u64(*key);
            }
            Op::Write { key, value } => {
                self.u8(1);
                self.u64(*key);
                self.value(value);
            }
            Op::Cas { key, expected, new } => {
                self.u8(2);
                self.u64(*key);
                self.value(expected);
                self.value(new);
            }
            Op::Append { key, value } => {
                self.u8(3);
                self.u64(*key);
                self.value(value);
            }
        }
    }

    pub fn reply(&mut self, reply: &Reply<Value>) {
        match reply {
            Reply::Ok(value) => {
                self.u8(0);
                self.value(value);
            }
            Reply::Fail => self.u8(1),
            Reply::Redirect(node) => {
                self.u8(2);
                self.node(*node);
            }
        }
    }
}

/// Reads back what an [`Encoder`] wrote, field by field; every method returns `None` on
/// malformed input (too short, an unknown tag, a list nested too deep) instead of
/// panicking, so a decoder can be pointed at any bytes.
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Decoder { bytes, pos: 0 }
    }

    /// Whether every byte has been read (a decoded record should leave nothing over).
    pub fn is_done(&self) -> bool {
        self.pos == self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    pub fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    pub fn value(&mut self) -> Option<Value> {
        self.value_at_depth(0)
    }

    fn value_at_depth(&mut self, depth: u32) -> Option<Value> {
        if depth > MAX_VALUE_DEPTH {
            return None;
        }
        Some(match self.u8()? {
            0 => Value::Nil,
            1 => Value::Int(self.u64()? as i64),
            2 => Value::Str(String::from_utf8(self.bytes()?.to_vec()).ok()?),
            3 => {
                let count = self.u32()? as usize;
                // Each item takes at least one byte: a bound before allocating.
                if count > self.bytes.len() - self.pos {
                    return None;
                }
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value_at_depth(depth + 1)?);
                }
                Value::List(items)
            }
            _ => return None,
        })
    }

    pub fn node(&mut self) -> Option<Option<NodeId>> {
        let raw = self.u32()?;
        Some((raw != u32::MAX).then_some(NodeId(raw)))
    }

    pub fn request_id(&mut self) -> Option<RequestId> {
        Some(RequestId { client: ClientId(self.u32()?), seq: self.u64()? })
    }

    pub fn request(&mut self) -> Option<Request<Op>> {
        let id = self.request_id()?;
        let op = match self.u8()? {
            0 => Op::Read { key: self.u64()? },
            1 => Op::Write { key: self.u64()?, value: self.value()? },
            2 => Op::Cas { key: self.u64()?, expected: self.value()?, new: self.value()? },
            3 => Op::Append { key: self.u64()?, value: self.value()? },
            _ => return None,
        };
        Some(Request { id, op })
    }

    pub fn reply(&mut self) -> Option<Reply<Value>> {
        Some(match self.u8()? {
            0 => Reply::Ok(self.value()?),
            1 => Reply::Fail,
            2 => Reply::Redirect(self.node()?),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            frame(p, &mut out);
        }
        out
    }

    #[test]
    fn records_round_trip_and_end_cleanly() {
        let bytes = framed(&[b"one", b"", b"three"]);
        let Record::Valid { payload, end } = record_at(&bytes, 0) else { panic!() };
        assert_eq!(payload, b"one");
        let Record::Valid { payload, end } = record_at(&bytes, end) else { panic!() };
        assert_eq!(payload, b"");
        let Record::Valid { payload, end } = record_at(&bytes, end) else { panic!() };
        assert_eq!(payload, b"three");
        assert_eq!(record_at(&bytes, end), Record::End);
    }

    #[test]
    fn every_strict_prefix_of_a_record_is_incomplete() {
        let bytes = framed(&[b"payload bytes"]);
        for cut in 1..bytes.len() {
            assert_eq!(record_at(&bytes[..cut], 0), Record::Incomplete, "cut at {cut}");
        }
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let bytes = framed(&[b"payload bytes"]);
        for bit in 0..bytes.len() * 8 {
            let mut copy = bytes.clone();
            copy[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(record_at(&copy, 0), Record::Corrupt | Record::Incomplete),
                "bit {bit} went unnoticed"
            );
        }
    }

    #[test]
    fn commands_and_replies_round_trip() {
        let requests = [
            Request { id: RequestId { client: ClientId(3), seq: 9 }, op: Op::Read { key: 1 } },
            Request {
                id: RequestId { client: ClientId(0), seq: 1 },
                op: Op::Cas { key: 2, expected: Value::Nil, new: Value::Int(-4) },
            },
            Request {
                id: RequestId { client: ClientId(1), seq: 2 },
                op: Op::Append {
                    key: 7,
                    value: Value::List(vec![Value::Str("x".into()), Value::Nil]),
                },
            },
        ];
        for request in &requests {
            let mut out = Vec::new();
            Encoder::new(&mut out).request(request);
            let mut decoder = Decoder::new(&out);
            assert_eq!(decoder.request().as_ref(), Some(request));
            assert!(decoder.is_done());
        }
        for reply in [Reply::Ok(Value::Str("a".into())), Reply::Fail, Reply::Redirect(None)] {
            let mut out = Vec::new();
            Encoder::new(&mut out).reply(&reply);
            assert_eq!(Decoder::new(&out).reply(), Some(reply));
        }
    }
}
