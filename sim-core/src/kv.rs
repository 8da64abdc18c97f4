//! The key-value workload: reads, writes, compare-and-sets and appends over a few keys,
//! recorded as Jepsen records them (`:f :read`, `:value` the value read), so the
//! linearizability checker's register and list models can check the history.

use crate::history::{Function, HistoryEvent, Value};
use crate::node::ClientId;
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::workload::{Outcome, Workload};

/// A client operation on a key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Read {
        key: u64,
    },
    Write {
        key: u64,
        value: Value,
    },
    /// Set to `new` if the current value is `expected`.
    Cas {
        key: u64,
        expected: Value,
        new: Value,
    },
    Append {
        key: u64,
        value: Value,
    },
}

impl Op {
    pub fn key(&self) -> u64 {
        match *self {
            Op::Read { key } | Op::Write { key, .. } => key,
            Op::Cas { key, .. } | Op::Append { key, .. } => key,
        }
    }

    pub fn function(&self) -> Function {
        match self {
            Op::Read { .. } => Function::Read,
            Op::Write { .. } => Function::Write,
            Op::Cas { .. } => Function::Cas,
            Op::Append { .. } => Function::Append,
        }
    }

    /// The argument as a history records it: nil for a read, `[expected new]` for a cas.
    pub fn argument(&self) -> Value {
        match self {
            Op::Read { .. } => Value::Nil,
            Op::Write { value, .. } | Op::Append { value, .. } => value.clone(),
            Op::Cas { expected, new, .. } => Value::List(vec![expected.clone(), new.clone()]),
        }
    }
}

/// Relative weights of each operation kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpMix {
    pub read: u32,
    pub write: u32,
    pub cas: u32,
    pub append: u32,
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix { read: 1, write: 1, cas: 0, append: 0 }
    }
}

impl OpMix {
    fn total(&self) -> u64 {
        u64::from(self.read) + u64::from(self.write) + u64::from(self.cas) + u64::from(self.append)
    }
}

/// How keys are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyDistribution {
    Uniform,
    /// Zipf with this exponent (1.0 is classic; larger is more skewed).
    Zipf {
        exponent: f64,
    },
}

/// What the key-value clients ask for.
#[derive(Clone, Debug, PartialEq)]
pub struct KvOptions {
    pub mix: OpMix,
    pub keys: u64,
    pub distribution: KeyDistribution,
}

impl Default for KvOptions {
    fn default() -> Self {
        KvOptions { mix: OpMix::default(), keys: 3, distribution: KeyDistribution::Uniform }
    }
}

/// Reads, writes, cas and appends of fresh values over `keys` keys.
#[derive(Clone, Debug)]
pub struct KvWorkload {
    options: KvOptions,
    zipf_cdf: Vec<f64>,
    next_value: i64,
    /// The last value the workload wrote to each key (a likely cas expectation).
    last_written: Vec<Value>,
    /// Values are strings (which `append` concatenates) when the mix appends, else integers.
    string_values: bool,
}

impl KvWorkload {
    pub fn new(options: KvOptions) -> Self {
        assert!(options.keys > 0, "a key-value workload needs keys");
        assert!(options.mix.total() > 0, "a key-value workload needs a non-empty op mix");
        let zipf_cdf = match options.distribution {
            KeyDistribution::Uniform => Vec::new(),
            KeyDistribution::Zipf { exponent } => zipf_cdf(options.keys, exponent),
        };
        KvWorkload {
            last_written: vec![Value::Nil; options.keys as usize],
            string_values: options.mix.append > 0,
            options,
            zipf_cdf,
            next_value: 0,
        }
    }

    pub fn options(&self) -> &KvOptions {
        &self.options
    }

    fn fresh_value(&mut self) -> Value {
        self.next_value += 1;
        if self.string_values {
            Value::Str(format!("{} ", self.next_value))
        } else {
            Value::Int(self.next_value)
        }
    }
}

impl Default for KvWorkload {
    fn default() -> Self {
        KvWorkload::new(KvOptions::default())
    }
}

impl Workload for KvWorkload {
    type Op = Op;
    /// The value read (nil for every other operation).
    type Output = Value;
    type Event = HistoryEvent;

    fn next_op(&mut self, _client: ClientId, rng: &mut SimRng) -> Op {
        let mix = self.options.mix;
        let key = match self.options.distribution {
            KeyDistribution::Uniform => rng.below(self.options.keys),
            KeyDistribution::Zipf { .. } => {
                let u = rng.unit();
                self.zipf_cdf.partition_point(|&p| p < u).min(self.zipf_cdf.len() - 1) as u64
            }
        };
        let mut pick = rng.below(mix.total());
        let expect_current = rng.chance(0.75);
        let mut take = |weight: u32| {
            let hit = pick < u64::from(weight);
            pick = pick.saturating_sub(u64::from(weight));
            hit
        };
        if take(mix.read) {
            return Op::Read { key };
        }
        let slot = key as usize;
        if take(mix.write) {
            let value = self.fresh_value();
            self.last_written[slot] = value.clone();
            return Op::Write { key, value };
        }
        if take(mix.cas) {
            let expected =
                if expect_current { self.last_written[slot].clone() } else { self.fresh_value() };
            let new = self.fresh_value();
            self.last_written[slot] = new.clone();
            return Op::Cas { key, expected, new };
        }
        let value = self.fresh_value();
        Op::Append { key, value }
    }

    fn record(
        &self,
        process: u64,
        op: &Op,
        outcome: Outcome<'_, Value>,
        at: SimTime,
    ) -> HistoryEvent {
        let value = match (op, outcome) {
            (Op::Read { .. }, Outcome::Ok(read)) => read.clone(),
            _ => op.argument(),
        };
        HistoryEvent {
            process,
            kind: outcome.kind(),
            f: op.function(),
            key: Some(Value::Int(op.key() as i64)),
            value,
            time: Some(at),
        }
    }
}

fn zipf_cdf(keys: u64, exponent: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=keys).map(|k| 1.0 / libm::pow(k as f64, exponent)).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect()
}
