//! List-append histories with a known answer, for tests and benchmarks: transactions of
//! concurrent processes run one at a time against an in-memory store, each at an instant
//! between its invocation and its completion, so the history is strictly serializable by
//! construction (the execution order is a witness). As Jepsen's list-append generator,
//! a few keys are active at a time and each is retired after a number of appends, so
//! reads stay short. Deterministic: every draw is from
//! `SimRng::derive(seed, Stream::Workload, 1)`.

use crate::history::{EventType, History};
use crate::rng::{SimRng, Stream};
use crate::time::SimTime;
use crate::txn::{Mop, TxnEvent};

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub seed: u64,
    pub transactions: usize,
    /// Processes running transactions at once (1: a serial history).
    pub processes: u64,
    /// Keys in use at a time.
    pub active_keys: u64,
    /// Appends to a key before it is retired for a fresh one.
    pub appends_per_key: u64,
    /// Most micro-operations per transaction (at least 1).
    pub max_length: u64,
    /// End with one transaction per key that reads it, so every version is known.
    pub final_reads: bool,
}

impl Options {
    /// `transactions` over 10 active keys of 32 appends each, 4 micro-ops at most.
    pub fn new(seed: u64, transactions: usize, processes: u64) -> Self {
        Options {
            seed,
            transactions,
            processes,
            active_keys: 10,
            appends_per_key: 32,
            max_length: 4,
            final_reads: false,
        }
    }
}

enum State {
    Idle,
    Invoked(Vec<Mop>),
    Applied(Vec<Mop>),
}

/// A strictly serializable list-append history of `options.transactions` transactions
/// (and the final reads, if asked for).
pub fn generate(options: &Options) -> History<TxnEvent> {
    assert!(options.processes > 0 && options.active_keys > 0 && options.max_length > 0);
    let mut rng = SimRng::derive(options.seed, Stream::Workload, 1);
    let mut lists: Vec<Vec<u64>> = Vec::new();
    let mut active: Vec<u64> = (0..options.active_keys).collect();
    let mut appends: Vec<u64> = Vec::new();
    let mut next_key = options.active_keys;
    let mut next_value = 0;
    let mut states: Vec<State> = (0..options.processes).map(|_| State::Idle).collect();
    let mut history = History::default();
    let mut invoked = 0;
    let mut time = 0;
    let mut event = |history: &mut History<TxnEvent>, process: usize, kind, txn: Vec<Mop>| {
        time += 1;
        history.push(TxnEvent { process: process as u64, kind, txn, time: Some(SimTime(time)) });
    };
    let mut open = 0;
    while invoked < options.transactions || open > 0 {
        let process = rng.below(options.processes) as usize;
        match std::mem::replace(&mut states[process], State::Idle) {
            State::Idle if invoked < options.transactions => {
                let length = rng.between(1, options.max_length);
                let txn: Vec<Mop> = (0..length)
                    .map(|_| {
                        let slot = rng.below(active.len() as u64) as usize;
                        let key = active[slot];
                        if rng.chance(0.5) {
                            return Mop::ReadList { key, value: None };
                        }
                        next_value += 1;
                        if appends.len() <= key as usize {
                            appends.resize(key as usize + 1, 0);
                        }
                        appends[key as usize] += 1;
                        if appends[key as usize] >= options.appends_per_key {
                            active[slot] = next_key;
                            next_key += 1;
                        }
                        Mop::Append { key, value: next_value }
                    })
                    .collect();
                event(&mut history, process, EventType::Invoke, txn.clone());
                states[process] = State::Invoked(txn);
                invoked += 1;
                open += 1;
            }
            State::Idle => {}
            State::Invoked(txn) => states[process] = State::Applied(apply(&mut lists, txn)),
            State::Applied(txn) => {
                event(&mut history, process, EventType::Ok, txn);
                open -= 1;
            }
        }
    }
    if options.final_reads {
        for key in 0..next_key {
            let read = vec![Mop::ReadList { key, value: None }];
            event(&mut history, 0, EventType::Invoke, read.clone());
            let done = apply(&mut lists, read);
            event(&mut history, 0, EventType::Ok, done);
        }
    }
    history
}

/// Run `txn` on `lists` at once: appends append, reads see everything before them.
fn apply(lists: &mut Vec<Vec<u64>>, mut txn: Vec<Mop>) -> Vec<Mop> {
    for mop in &mut txn {
        let key = mop.key() as usize;
        if lists.len() <= key {
            lists.resize(key + 1, Vec::new());
        }
        match mop {
            Mop::Append { value, .. } => lists[key].push(*value),
            Mop::ReadList { value, .. } => *value = Some(lists[key].clone()),
            _ => unreachable!("the generator writes list-append transactions"),
        }
    }
    txn
}
