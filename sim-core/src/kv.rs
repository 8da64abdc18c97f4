//! The key-value workload: reads, writes, compare-and-sets and appends over a few keys,
//! recorded as Jepsen records them (`:f :read`, `:value` the value read), so the
//! linearizability checker's register and list models can check the history.

use crate::check::ModelKind;
use crate::checker::{Checker, Linearizability};
use crate::history::{Function, HistoryEvent, Value};
use crate::node::ClientId;
use crate::node::Node;
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::workload::{Outcome, ScenarioWorkload, Workload};

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

/// The most keys, and the largest weight of an operation kind.
const MAX_KEYS: u64 = 1_000_000;
const MAX_WEIGHT: u32 = 1_000_000;

crate::declare_options! {
    /// What the key-value clients ask for: the `[workload]` keys of the key-value workload.
    pub struct KvOptions {
        /// Relative weight of reads in the op mix.
        read: u32 = 1,
        /// Relative weight of writes of a fresh value.
        write: u32 = 1,
        /// Relative weight of compare-and-sets (expecting the last value written to the key
        /// three times in four).
        cas: u32 = 0,
        /// Relative weight of appends of a fresh value (values are then strings).
        append: u32 = 0,
        /// How many keys the clients use.
        keys: u64 = 3,
        /// How keys are chosen: "uniform" or "zipf".
        distribution: String = "uniform".to_owned(),
        /// The Zipf exponent (1.0 is classic; larger is more skewed), with "zipf".
        zipf_exponent: f64 = 1.0,
    }
}

impl KvOptions {
    /// The op mix, after checking it can draw something.
    pub fn mix(&self) -> Result<OpMix, String> {
        let mix = OpMix { read: self.read, write: self.write, cas: self.cas, append: self.append };
        if let Some((name, weight)) =
            [("read", mix.read), ("write", mix.write), ("cas", mix.cas), ("append", mix.append)]
                .into_iter()
                .find(|&(_, w)| w > MAX_WEIGHT)
        {
            return Err(format!("{name} has weight {weight}, above the most, {MAX_WEIGHT}"));
        }
        if mix.total() == 0 {
            return Err("the op mix is empty: give at least one of read, write, cas, append a \
                        weight above zero"
                .into());
        }
        Ok(mix)
    }

    /// The key distribution, after checking its name and exponent.
    pub fn key_distribution(&self) -> Result<KeyDistribution, String> {
        KeyDistribution::parse(&self.distribution, self.zipf_exponent)
    }
}

impl KeyDistribution {
    /// The distribution a workload's `distribution` and `zipf_exponent` options name.
    pub fn parse(name: &str, zipf_exponent: f64) -> Result<Self, String> {
        match name {
            "uniform" => Ok(KeyDistribution::Uniform),
            "zipf" if (0.0..=10.0).contains(&zipf_exponent) => {
                Ok(KeyDistribution::Zipf { exponent: zipf_exponent })
            }
            "zipf" => Err(format!("zipf_exponent is {zipf_exponent}, outside 0 to 10")),
            other => Err(crate::names::unknown("key distribution", other, &["uniform", "zipf"])),
        }
    }
}

/// Draws keys `0..keys` from a [`KeyDistribution`] (key 0 the hottest under Zipf).
#[derive(Clone, Debug)]
pub struct KeyPicker {
    keys: u64,
    /// The cumulative Zipf weights; empty for uniform.
    zipf_cdf: Vec<f64>,
}

impl KeyPicker {
    /// A picker over `keys` keys, refusing a count outside 1 to a million.
    pub fn new(keys: u64, distribution: KeyDistribution) -> Result<Self, String> {
        if !(1..=MAX_KEYS).contains(&keys) {
            return Err(format!("keys is {keys}; it must be 1 to {MAX_KEYS}"));
        }
        let zipf_cdf = match distribution {
            KeyDistribution::Uniform => Vec::new(),
            KeyDistribution::Zipf { exponent } => zipf_cdf(keys, exponent),
        };
        Ok(KeyPicker { keys, zipf_cdf })
    }

    /// How many keys it draws from.
    pub fn keys(&self) -> u64 {
        self.keys
    }

    /// The next key.
    pub fn pick(&self, rng: &mut SimRng) -> u64 {
        if self.zipf_cdf.is_empty() {
            rng.below(self.keys)
        } else {
            let u = rng.unit();
            self.zipf_cdf.partition_point(|&p| p < u).min(self.zipf_cdf.len() - 1) as u64
        }
    }
}

/// Reads, writes, cas and appends of fresh values over `keys` keys.
#[derive(Clone, Debug)]
pub struct KvWorkload {
    mix: OpMix,
    keys: KeyPicker,
    next_value: i64,
    /// The last value the workload wrote to each key (a likely cas expectation).
    last_written: Vec<Value>,
    /// Values are strings (which `append` concatenates) when the mix appends, else integers.
    string_values: bool,
}

impl KvWorkload {
    /// The workload of `options`, or why they cannot work.
    pub fn new(options: KvOptions) -> Result<Self, String> {
        let mix = options.mix()?;
        let keys = KeyPicker::new(options.keys, options.key_distribution()?)?;
        Ok(KvWorkload {
            mix,
            next_value: 0,
            last_written: vec![Value::Nil; keys.keys() as usize],
            keys,
            string_values: mix.append > 0,
        })
    }

    pub fn mix(&self) -> OpMix {
        self.mix
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
        KvWorkload::new(KvOptions::default()).expect("the default options work")
    }
}

impl ScenarioWorkload for KvWorkload {
    const NAME: &'static str = "key-value";
    type Options = KvOptions;

    fn configure(options: KvOptions) -> Result<Self, String> {
        KvWorkload::new(options)
    }

    fn model_checker<N: Node<Workload = Self>>(
        model: ModelKind,
        budget: u64,
    ) -> Option<Box<dyn Checker<N>>> {
        Some(Box::new(Linearizability { model, budget }))
    }
}

impl Workload for KvWorkload {
    type Op = Op;
    /// The value read (nil for every other operation).
    type Output = Value;
    type Event = HistoryEvent;

    fn next_op(&mut self, _client: ClientId, rng: &mut SimRng) -> Op {
        let mix = self.mix;
        let key = self.keys.pick(rng);
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

    /// Values stay fresh, and a key both phases use keeps its last written value (the
    /// likely cas expectation).
    fn continue_from(&mut self, previous: &Self) {
        self.next_value = previous.next_value;
        for (slot, value) in self.last_written.iter_mut().zip(&previous.last_written) {
            *slot = value.clone();
        }
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
