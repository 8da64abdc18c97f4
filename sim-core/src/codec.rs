//! A small binary codec for what protocols persist: integers, bytes, history values and
//! client operations, and checksummed record framing so recovery can tell a torn or
//! corrupted tail from good data. Decoding never panics: bad input is `None`.

use crate::hash::stable_hash;
use crate::history::Value;
use crate::node::Op;

/// Appends encoded values to a byte buffer.
#[derive(Clone, Debug, Default)]
pub struct Encoder {
    pub bytes: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Encoder::default()
    }

    pub fn u8(&mut self, x: u8) -> &mut Self {
        self.bytes.push(x);
        self
    }

    pub fn u64(&mut self, x: u64) -> &mut Self {
        self.bytes.extend_from_slice(&x.to_le_bytes());
        self
    }

    pub fn i64(&mut self, x: i64) -> &mut Self {
        self.u64(x as u64)
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u64(b.len() as u64);
        self.bytes.extend_from_slice(b);
        self
    }

    pub fn value(&mut self, v: &Value) -> &mut Self {
        match v {
            Value::Nil => self.u8(0),
            Value::Int(i) => self.u8(1).i64(*i),
            Value::Str(s) => self.u8(2).bytes(s.as_bytes()),
            Value::List(items) => {
                self.u8(3).u64(items.len() as u64);
                for item in items {
                    self.value(item);
                }
                self
            }
        }
    }

    pub fn op(&mut self, op: &Op) -> &mut Self {
        match op {
            Op::Read { key } => self.u8(0).u64(*key),
            Op::Write { key, value } => self.u8(1).u64(*key).value(value),
            Op::Cas { key, expected, new } => self.u8(2).u64(*key).value(expected).value(new),
            Op::Append { key, value } => self.u8(3).u64(*key).value(value),
        }
    }
}

/// Reads values back from a byte slice.
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
}

/// Values nest at most this deep (no stack overflow on hostile input).
const MAX_DEPTH: u32 = 16;

impl<'a> Decoder<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Decoder { bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn i64(&mut self) -> Option<i64> {
        self.u64().map(|x| x as i64)
    }

    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u64()?).ok()?;
        self.take(len)
    }

    pub fn value(&mut self) -> Option<Value> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: u32) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match self.u8()? {
            0 => Value::Nil,
            1 => Value::Int(self.i64()?),
            2 => Value::Str(String::from_utf8(self.bytes()?.to_vec()).ok()?),
            3 => {
                let len = self.u64()?;
                let mut items = Vec::new();
                for _ in 0..len {
                    items.push(self.value_at(depth + 1)?);
                }
                Value::List(items)
            }
            _ => return None,
        })
    }

    pub fn op(&mut self) -> Option<Op> {
        Some(match self.u8()? {
            0 => Op::Read { key: self.u64()? },
            1 => Op::Write { key: self.u64()?, value: self.value()? },
            2 => Op::Cas { key: self.u64()?, expected: self.value()?, new: self.value()? },
            3 => Op::Append { key: self.u64()?, value: self.value()? },
            _ => return None,
        })
    }
}

/// Frame `payload` as a record: length, payload, checksum.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 16);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&stable_hash(payload).to_le_bytes());
    out
}

/// Split a log of framed records. Returns the payloads of the valid prefix and the byte
/// length of that prefix; anything after it is a torn or corrupted tail.
pub fn unframe(log: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut records = Vec::new();
    let mut offset = 0;
    loop {
        let rest = &log[offset..];
        let Some(len) = rest.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8"))) else {
            break;
        };
        let Some(end) = usize::try_from(len).ok().and_then(|l| l.checked_add(16)) else { break };
        let Some(record) = rest.get(..end) else { break };
        let payload = &record[8..end - 8];
        let sum = u64::from_le_bytes(record[end - 8..].try_into().expect("8"));
        if stable_hash(payload) != sum {
            break;
        }
        records.push(payload);
        offset += end;
    }
    (records, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_ops_round_trip() {
        let ops = [
            Op::Read { key: 3 },
            Op::Write { key: 1, value: Value::Str("x".into()) },
            Op::Cas { key: 2, expected: Value::Nil, new: Value::List(vec![Value::Int(-4)]) },
            Op::Append { key: 9, value: Value::Int(7) },
        ];
        let mut e = Encoder::new();
        for op in &ops {
            e.op(op);
        }
        let mut d = Decoder::new(&e.bytes);
        for op in &ops {
            assert_eq!(d.op().as_ref(), Some(op));
        }
        assert!(d.is_empty());
    }

    #[test]
    fn unframe_stops_at_a_torn_or_corrupt_record() {
        let mut log = frame(b"first");
        log.extend(frame(b"second"));
        let good = log.len();
        log.extend(&frame(b"third")[..7]);
        let (records, valid) = unframe(&log);
        assert_eq!(records, vec![&b"first"[..], &b"second"[..]]);
        assert_eq!(valid, good);
        let mut corrupt = frame(b"first");
        corrupt[9] ^= 1;
        assert_eq!(unframe(&corrupt), (vec![], 0));
    }
}
