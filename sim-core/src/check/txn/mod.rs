//! Serializability of transactional histories, in the style of Elle (Kingsbury and Alvaro,
//! "Elle: Inferring Isolation Anomalies from Experimental Observations", VLDB 2020).
//!
//! Elle does not search for a serial order. It infers, from what the transactions read,
//! the dependencies between them, and looks for cycles, which no serial order can have:
//!
//! 1. **Version orders.** In a list-append history every read of a key returns the whole
//!    list, so the longest read is the order of every version before it, and every other
//!    read must be a prefix of it (or the order is *incompatible*). In an rw-register
//!    history only part of the order is known: the initial nil comes first, and a value a
//!    transaction read precedes the value it then wrote; for strict serializability, a
//!    transaction's final write precedes that of one invoked after it completed (a cycle
//!    that needs such an order is named `-realtime`).
//! 2. **Dependencies** between committed transactions (Adya's): *ww* (T2 installed the
//!    version after T1's), *wr* (T2 read T1's version), *rw* (T1 read a version that T2
//!    overwrote), plus, for strict serializability, *realtime* (T1 completed before T2
//!    began) and *process* (one process ran T1, then T2).
//! 3. **Cycles.** The graph (petgraph) is cut into strongly connected components, and in
//!    each the shortest cycle of the most telling class is found: G0 (ww edges only), G1c
//!    (ww and wr), G-single (exactly one rw), G2 (several rw); with realtime or process
//!    edges in it, `-realtime` or `-process` is added to the name.
//!
//! Anomalies that need no cycle are found on the way: G1a (a read of a failed
//! transaction's write), G1b (a read of a version its writer overwrote itself), *internal*
//! (a read that disagrees with the same transaction's earlier reads and writes of the key:
//! a register read after its own write returns another value, a list read misses the
//! transaction's own appends), and reads that cannot be ordered at all (incompatible
//! orders, values no one wrote, an element read twice). Each anomaly is explained step by step, with the transactions of every edge.

mod cycles;
pub mod generate;
pub mod html;

use crate::checker::{Checker, Finding, Finished};
use crate::history::{EventType, History};
use crate::node::Node;
use crate::record::Verdict;
use crate::txn::{Mop, TxnEvent, TxnWorkload, display_txn};
use cycles::{Cycle, Graph};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// Which guarantee the history is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// Some serial order explains every read (only ww, wr and rw edges).
    Serializable,
    /// A serial order that also respects real time and each process's order.
    StrictSerializable,
}

/// An edge kind of the dependency graph, as a bit of an edge's mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dependency {
    /// Write-write: the later transaction installed the next version.
    Ww = 1,
    /// Write-read: the later transaction read the earlier one's version.
    Wr = 2,
    /// Read-write: the earlier transaction read a version the later one overwrote.
    Rw = 4,
    /// The earlier transaction completed before the later one was invoked.
    Realtime = 8,
    /// One process ran the earlier transaction, then the later one.
    Process = 16,
}

impl Dependency {
    const ALL: [Dependency; 5] =
        [Dependency::Ww, Dependency::Wr, Dependency::Rw, Dependency::Realtime, Dependency::Process];

    /// Its bit.
    pub fn bit(self) -> u8 {
        self as u8
    }

    /// Its name in an explanation.
    pub fn name(self) -> &'static str {
        match self {
            Dependency::Ww => "ww",
            Dependency::Wr => "wr",
            Dependency::Rw => "rw",
            Dependency::Realtime => "realtime",
            Dependency::Process => "process",
        }
    }
}

/// The data dependencies: ww, wr and rw.
const DATA: u8 = 1 | 2 | 4;
/// Every dependency.
const ALL_EDGES: u8 = DATA | 8 | 16;

/// A transaction of the history: its invocation and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnOp<'h> {
    pub process: u64,
    /// Ok (committed), fail (aborted) or info (unknown; also a transaction still open at
    /// the end of the history).
    pub outcome: EventType,
    /// What it did: with its reads on ok, as invoked otherwise.
    pub txn: &'h [Mop],
    /// The index of its invocation and of its completion among the history's events.
    pub invoked: usize,
    pub completed: Option<usize>,
}

/// Why an edge is there: the key, and the versions on either side of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Why {
    key: u64,
    /// The version the earlier transaction wrote or read (`None`: the initial, empty one).
    before: Option<u64>,
    /// The version the later transaction wrote or read.
    after: Option<u64>,
    /// Whether the order of the two versions comes from real time (the earlier one's
    /// writer completed before the later one's was invoked) rather than from reads.
    realtime: bool,
}

/// One edge, before edges between the same two transactions are merged: its kind's
/// bit, and the index of why it is there (`NO_WHY` for realtime and process edges).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Edge {
    from: u32,
    to: u32,
    kind: u8,
    why: u32,
}

const NO_WHY: u32 = u32::MAX;

/// The edges found, and why each is there.
#[derive(Default)]
struct Edges {
    list: Vec<Edge>,
    whys: Vec<Why>,
}

impl Edges {
    fn add(&mut self, from: usize, to: usize, kind: u8, why: Option<Why>) {
        let why = match why {
            Some(w) => {
                self.whys.push(w);
                (self.whys.len() - 1) as u32
            }
            None => NO_WHY,
        };
        self.list.push(Edge { from: from as u32, to: to as u32, kind, why });
    }
}

/// An anomaly, named as Elle names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anomaly {
    /// A dependency cycle.
    Cycle(CycleReport),
    /// G1a: `reader` read `value` of `key`, which `writer` wrote and then aborted.
    AbortedRead { reader: usize, writer: usize, key: u64, value: u64 },
    /// G1b: `reader` read `value` of `key`, which `writer` overwrote itself.
    IntermediateRead { reader: usize, writer: usize, key: u64, value: u64 },
    /// Two reads of `key` that are not prefixes of one another.
    IncompatibleOrder { key: u64, first: usize, second: usize },
    /// A read of a value no transaction wrote.
    GarbageRead { reader: usize, key: u64, value: u64 },
    /// A read in which a value appears twice.
    DuplicateElements { reader: usize, key: u64, value: u64 },
    /// `reader`'s read of `key` (micro-op `mop`) disagrees with its own earlier micro-ops
    /// on the key, which say it must read `expected`.
    Internal { reader: usize, key: u64, mop: usize, expected: String },
}

impl Anomaly {
    /// Its class, as Elle names it.
    pub fn name(&self) -> String {
        match self {
            Anomaly::Cycle(cycle) => cycle.class.clone(),
            Anomaly::AbortedRead { .. } => "G1a".into(),
            Anomaly::IntermediateRead { .. } => "G1b".into(),
            Anomaly::IncompatibleOrder { .. } => "incompatible-order".into(),
            Anomaly::GarbageRead { .. } => "garbage-read".into(),
            Anomaly::DuplicateElements { .. } => "duplicate-elements".into(),
            Anomaly::Internal { .. } => "internal".into(),
        }
    }

    /// The isolation levels it rules out.
    pub fn rules_out(&self) -> &'static str {
        match self {
            Anomaly::Cycle(cycle) => cycle.rules_out,
            Anomaly::AbortedRead { .. } | Anomaly::IntermediateRead { .. } => {
                "read committed (PL-2) and every stronger level"
            }
            Anomaly::Internal { .. } => {
                "every isolation level: a transaction sees its own writes and earlier reads"
            }
            _ => "every isolation level: no order of versions explains these reads",
        }
    }
}

/// A cycle, with its class and each step explained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleReport {
    /// G0, G1c, G-single or G2, perhaps with `-realtime` or `-process`.
    pub class: String,
    pub rules_out: &'static str,
    /// The transactions around the cycle, in order; the last one leads back to the first.
    pub txns: Vec<usize>,
    /// One line per edge: `T3 -rw-> T5: ...`.
    pub steps: Vec<String>,
    /// Each edge's kind (the one its step explains).
    pub kinds: Vec<Dependency>,
}

/// What the checker found in a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis<'h> {
    pub consistency: Consistency,
    pub ops: Vec<TxnOp<'h>>,
    /// Every anomaly found: at most one cycle per strongly connected component.
    pub anomalies: Vec<Anomaly>,
    /// Edges in the dependency graph (after merging edges between the same pair).
    pub edges: usize,
}

impl Analysis<'_> {
    /// Whether the history is free of anomalies.
    pub fn is_valid(&self) -> bool {
        self.anomalies.is_empty()
    }

    /// The classes found, each once, in the order found.
    pub fn classes(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for anomaly in &self.anomalies {
            let name = anomaly.name();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The first anomaly in one line, with how many more there are.
    pub fn summary(&self) -> String {
        let Some(first) = self.anomalies.first() else {
            return format!("{} transactions, no anomaly", self.ops.len());
        };
        let what = match first {
            Anomaly::Cycle(c) => format!("{} cycle of {} transactions", c.class, c.txns.len()),
            other => format!("{} ({})", other.name(), self.describe(other)),
        };
        let more = match self.anomalies.len() - 1 {
            0 => String::new(),
            n => format!(" (and {n} more: {})", self.classes().join(", ")),
        };
        format!("{what}, impossible under {}{more}", first.rules_out())
    }

    fn txn_name(&self, op: usize) -> String {
        let o = &self.ops[op];
        format!("T{op} (process {}, {}) {}", o.process, o.outcome.name(), display_txn(o.txn, true))
    }

    fn describe(&self, anomaly: &Anomaly) -> String {
        match *anomaly {
            Anomaly::Cycle(_) => String::new(),
            Anomaly::AbortedRead { reader, writer, key, value } => {
                format!("T{reader} read {value} of key {key}, written by T{writer}, which aborted")
            }
            Anomaly::IntermediateRead { reader, writer, key, value } => format!(
                "T{reader} read {value} of key {key}, an intermediate version: T{writer} wrote it and then overwrote it"
            ),
            Anomaly::IncompatibleOrder { key, first, second } => format!(
                "T{first} and T{second} read key {key} in orders that are not prefixes of one another"
            ),
            Anomaly::GarbageRead { reader, key, value } => {
                format!("T{reader} read {value} of key {key}, which no transaction wrote")
            }
            Anomaly::DuplicateElements { reader, key, value } => {
                format!("T{reader} read key {key} with {value} in it twice")
            }
            Anomaly::Internal { reader, key, mop, ref expected } => format!(
                "T{reader}'s micro-op {mop} read key {key} as {}, though its own earlier \
                 micro-ops on the key say {expected}",
                display_read(&self.ops[reader].txn[mop])
            ),
        }
    }

    fn involved(anomaly: &Anomaly) -> Vec<usize> {
        match *anomaly {
            Anomaly::Cycle(ref c) => c.txns.clone(),
            Anomaly::AbortedRead { reader, writer, .. }
            | Anomaly::IntermediateRead { reader, writer, .. } => vec![writer, reader],
            Anomaly::IncompatibleOrder { first, second, .. } => vec![first, second],
            Anomaly::GarbageRead { reader, .. }
            | Anomaly::DuplicateElements { reader, .. }
            | Anomaly::Internal { reader, .. } => vec![reader],
        }
    }
}

impl fmt::Display for Analysis<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.consistency {
            Consistency::Serializable => "serializable",
            Consistency::StrictSerializable => "strict serializable",
        };
        if self.is_valid() {
            return writeln!(
                f,
                "{level}: {} transactions, {} dependencies, no anomaly",
                self.ops.len(),
                self.edges
            );
        }
        writeln!(f, "NOT {level}: {}", self.summary())?;
        for anomaly in self.anomalies.iter().take(EXPLAINED) {
            writeln!(f, "\n{}: impossible under {}", anomaly.name(), anomaly.rules_out())?;
            if let Anomaly::Cycle(cycle) = anomaly {
                writeln!(f, "  a cycle of {} transactions:", cycle.txns.len())?;
            } else {
                writeln!(f, "  {}", self.describe(anomaly))?;
            }
            for &op in &Analysis::involved(anomaly) {
                writeln!(f, "    {}", self.txn_name(op))?;
            }
            if let Anomaly::Cycle(cycle) = anomaly {
                for step in &cycle.steps {
                    writeln!(f, "  {step}")?;
                }
            }
        }
        if self.anomalies.len() > EXPLAINED {
            writeln!(f, "\n... and {} more anomalies", self.anomalies.len() - EXPLAINED)?;
        }
        Ok(())
    }
}

/// Anomalies explained in full by an analysis's text; the rest are counted.
const EXPLAINED: usize = 8;

/// A history that cannot be analysed: the same value written twice to a key (values must
/// be unique), or a completion with no invocation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("event {event}: {message}")]
pub struct TxnHistoryError {
    /// The index of the event at fault.
    pub event: usize,
    pub message: String,
}

/// The transactions of `history`: each invocation paired with its process's next
/// completion. A transaction still open at the end is indeterminate (info).
pub fn operations(history: &History<TxnEvent>) -> Result<Vec<TxnOp<'_>>, TxnHistoryError> {
    let mut ops: Vec<TxnOp<'_>> = Vec::with_capacity(history.len() / 2 + 1);
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        if event.kind == EventType::Invoke {
            if open.insert(event.process, ops.len()).is_some() {
                return Err(TxnHistoryError {
                    event: index,
                    message: format!(
                        "process {} invokes a transaction while its previous one is still open",
                        event.process
                    ),
                });
            }
            ops.push(TxnOp {
                process: event.process,
                outcome: EventType::Info,
                txn: &event.txn,
                invoked: index,
                completed: None,
            });
            continue;
        }
        let Some(op) = open.remove(&event.process) else {
            return Err(TxnHistoryError {
                event: index,
                message: format!(
                    "process {} completes a transaction it never invoked",
                    event.process
                ),
            });
        };
        let op = &mut ops[op];
        op.outcome = event.kind;
        op.completed = Some(index);
        if event.kind == EventType::Ok {
            op.txn = &event.txn;
        }
    }
    Ok(ops)
}

/// Checks a history of the transactional workload.
pub fn check(
    history: &History<TxnEvent>,
    consistency: Consistency,
) -> Result<Analysis<'_>, TxnHistoryError> {
    let ops = operations(history)?;
    let writes = WriteIndex::new(&ops)?;
    let mut anomalies = internal(&ops);
    let mut edges = Edges::default();
    let lists = !ops
        .iter()
        .flat_map(|o| o.txn)
        .any(|m| matches!(m, Mop::Write { .. } | Mop::ReadRegister { .. }));
    if lists {
        list_append(&ops, &writes, &mut edges, &mut anomalies);
    } else {
        let reads = rw_register(&ops, &writes, &mut edges, &mut anomalies);
        if consistency == Consistency::StrictSerializable {
            realtime_versions(history, &ops, &reads, &mut edges);
        }
    }
    if consistency == Consistency::StrictSerializable {
        order_edges(history, &ops, &mut edges);
    }
    let graph = Graph::new(ops.len(), edges);
    let strict = consistency == Consistency::StrictSerializable;
    // With every edge acyclic, so is any part of it: one search answers a valid history.
    let mut cycles = Vec::new();
    if !strict || !graph.is_acyclic(ALL_EDGES) {
        cycles = graph.cycles(DATA);
        if cycles.is_empty() && strict {
            cycles = graph.cycles(ALL_EDGES);
        }
    }
    let edge_count = graph.edge_count();
    let analysis = Analysis { consistency, ops, anomalies: Vec::new(), edges: edge_count };
    let mut cycle_reports: Vec<Anomaly> =
        cycles.iter().map(|c| Anomaly::Cycle(explain(&analysis, &graph, c))).collect();
    anomalies.append(&mut cycle_reports);
    Ok(Analysis { anomalies, ..analysis })
}

/// What a transaction's own micro-ops say it must read of one key next.
enum Expect {
    /// A list read, then appends: exactly this list.
    List(Vec<u64>),
    /// Appends with no read before them: a list that ends with these.
    EndsWith(Vec<u64>),
    /// A register read or written: this value (`None`, the initial nil).
    Register(Option<u64>),
}

/// Elle's internal consistency: in every committed transaction, each read of a key agrees
/// with the transaction's earlier micro-ops on it.
fn internal(ops: &[TxnOp<'_>]) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for (reader, o) in ops.iter().enumerate() {
        if o.outcome != EventType::Ok {
            continue;
        }
        let mut expect: BTreeMap<u64, Expect> = BTreeMap::new();
        for (mop, m) in o.txn.iter().enumerate() {
            let key = m.key();
            let wrong = match (m, expect.remove(&key)) {
                (&Mop::Append { value, .. }, known) => {
                    let next = match known {
                        Some(Expect::List(mut list)) => {
                            list.push(value);
                            Expect::List(list)
                        }
                        Some(Expect::EndsWith(mut tail)) => {
                            tail.push(value);
                            Expect::EndsWith(tail)
                        }
                        _ => Expect::EndsWith(vec![value]),
                    };
                    expect.insert(key, next);
                    None
                }
                (&Mop::Write { value, .. }, _) => {
                    expect.insert(key, Expect::Register(Some(value)));
                    None
                }
                (Mop::ReadList { value: Some(read), .. }, known) => {
                    let wrong = match known {
                        Some(Expect::List(list)) if list != *read => Some(format!("{list:?}")),
                        Some(Expect::EndsWith(tail)) if !read.ends_with(&tail) => {
                            Some(format!("a list ending with {tail:?}"))
                        }
                        _ => None,
                    };
                    expect.insert(key, Expect::List(read.clone()));
                    wrong
                }
                (&Mop::ReadRegister { value: Some(read), .. }, known) => {
                    let wrong = match known {
                        Some(Expect::Register(value)) if value != read => {
                            Some(value.map_or("nil".to_owned(), |v| v.to_string()))
                        }
                        _ => None,
                    };
                    expect.insert(key, Expect::Register(read));
                    wrong
                }
                // A read whose value is unknown says nothing.
                (_, known) => {
                    if let Some(known) = known {
                        expect.insert(key, known);
                    }
                    None
                }
            };
            if let Some(expected) = wrong {
                anomalies.push(Anomaly::Internal { reader, key, mop, expected });
            }
        }
    }
    anomalies
}

/// A read micro-op's value, as an explanation shows it.
fn display_read(mop: &Mop) -> String {
    match mop {
        Mop::ReadList { value: Some(list), .. } => format!("{list:?}"),
        Mop::ReadRegister { value: Some(Some(v)), .. } => v.to_string(),
        Mop::ReadRegister { value: Some(None), .. } => "nil".to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// Who wrote each value of each key: `(key, value, op, index of the micro-op)`, sorted.
struct WriteIndex {
    entries: Vec<(u64, u64, u32, u32)>,
}

impl WriteIndex {
    fn new(ops: &[TxnOp<'_>]) -> Result<Self, TxnHistoryError> {
        let mut entries = Vec::new();
        for (op, o) in ops.iter().enumerate() {
            for (i, mop) in o.txn.iter().enumerate() {
                if let Mop::Append { key, value } | Mop::Write { key, value } = *mop {
                    entries.push((key, value, op as u32, i as u32));
                }
            }
        }
        entries.sort_unstable();
        if let Some(pair) = entries.windows(2).find(|p| (p[0].0, p[0].1) == (p[1].0, p[1].1)) {
            let (key, value) = (pair[1].0, pair[1].1);
            return Err(TxnHistoryError {
                event: ops[pair[1].2 as usize].invoked,
                message: format!(
                    "value {value} is written to key {key} twice (by T{} and T{}); Elle's workloads need every written value to be unique",
                    pair[0].2, pair[1].2
                ),
            });
        }
        Ok(WriteIndex { entries })
    }

    /// The transaction that wrote `value` to `key`, and the index of its micro-op.
    fn writer(&self, key: u64, value: u64) -> Option<(usize, usize)> {
        let at = self.entries.binary_search_by(|e| (e.0, e.1).cmp(&(key, value))).ok()?;
        let (_, _, op, mop) = self.entries[at];
        Some((op as usize, mop as usize))
    }

    /// Every write of `key`: the transaction, the index of its micro-op, and the value.
    fn writes_of(&self, key: u64) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
        let start = self.entries.partition_point(|e| e.0 < key);
        self.entries[start..]
            .iter()
            .take_while(move |e| e.0 == key)
            .map(|e| (e.2 as usize, e.3 as usize, e.1))
    }
}

/// Whether the micro-op at `index` of `txn` is the transaction's last write to its key.
fn is_final_write(txn: &[Mop], index: usize) -> bool {
    let key = txn[index].key();
    !txn[index + 1..].iter().any(|m| !m.is_read() && m.key() == key)
}

/// The checks of one value read: who wrote it, and whether reading it was allowed. The
/// writer and the index of its micro-op, when it is a transaction that may have
/// committed.
fn check_read(
    ops: &[TxnOp<'_>],
    writes: &WriteIndex,
    reader: usize,
    key: u64,
    value: u64,
    last: bool,
    anomalies: &mut Vec<Anomaly>,
) -> Option<(usize, usize)> {
    let Some((writer, mop)) = writes.writer(key, value) else {
        anomalies.push(Anomaly::GarbageRead { reader, key, value });
        return None;
    };
    if ops[writer].outcome == EventType::Fail {
        anomalies.push(Anomaly::AbortedRead { reader, writer, key, value });
        return None;
    }
    if last && writer != reader && !is_final_write(ops[writer].txn, mop) {
        anomalies.push(Anomaly::IntermediateRead { reader, writer, key, value });
    }
    Some((writer, mop))
}

/// Version orders from list reads, and the ww, wr and rw edges they give.
fn list_append(
    ops: &[TxnOp<'_>],
    writes: &WriteIndex,
    edges: &mut Edges,
    anomalies: &mut Vec<Anomaly>,
) {
    // Every committed read: (key, reader, the list).
    let mut reads: Vec<(u64, usize, &[u64])> = Vec::new();
    for (op, o) in ops.iter().enumerate() {
        if o.outcome != EventType::Ok {
            continue;
        }
        for mop in o.txn {
            if let Mop::ReadList { key, value: Some(list) } = mop {
                reads.push((*key, op, list));
            }
        }
    }
    reads.sort_unstable_by_key(|&(key, op, _)| (key, op));
    let mut seen: Vec<u64> = Vec::new();
    for group in reads.chunk_by(|a, b| a.0 == b.0) {
        let key = group[0].0;
        let (longest_reader, order) = group
            .iter()
            .map(|&(_, op, list)| (op, list))
            .max_by_key(|&(op, list)| (list.len(), std::cmp::Reverse(op)))
            .expect("a group has a read");
        if let Some(&(_, other, _)) = group.iter().find(|r| !order.starts_with(r.2)) {
            anomalies.push(Anomaly::IncompatibleOrder {
                key,
                first: other.min(longest_reader),
                second: other.max(longest_reader),
            });
            continue;
        }
        seen.clear();
        seen.extend_from_slice(order);
        seen.sort_unstable();
        if let Some(pair) = seen.windows(2).find(|p| p[0] == p[1]) {
            let value = pair[0];
            anomalies.push(Anomaly::DuplicateElements { reader: longest_reader, key, value });
            continue;
        }
        // The writer of each version, in order (`None` where it cannot have committed).
        let mut writers: Vec<Option<(usize, usize)>> = order
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                check_read(ops, writes, longest_reader, key, v, i + 1 == order.len(), anomalies)
            })
            .collect();
        // A committed append no read saw, when it is the only write to the key outside
        // the order that may have taken effect, is the next version: it took effect,
        // after every version read, and nothing else can come between.
        let mut unseen = writes.writes_of(key).filter(|&(op, _, value)| {
            ops[op].outcome != EventType::Fail && seen.binary_search(&value).is_err()
        });
        let mut order = order.to_vec();
        if let (Some((op, mop, value)), None) = (unseen.next(), unseen.next())
            && ops[op].outcome == EventType::Ok
        {
            order.push(value);
            writers.push(Some((op, mop)));
        }
        for (i, pair) in writers.windows(2).enumerate() {
            if let [Some((a, _)), Some((b, _))] = *pair
                && a != b
            {
                let why =
                    Why { key, before: Some(order[i]), after: Some(order[i + 1]), realtime: false };
                edges.add(a, b, 1, Some(why));
            }
        }
        for &(_, reader, list) in group {
            let length = list.len();
            let last_writer = length.checked_sub(1).and_then(|i| writers[i]);
            // The read's last element may be an intermediate version (the rest, and who
            // wrote each, were checked as part of the longest read).
            if let Some((writer, mop)) = last_writer
                && reader != longest_reader
                && writer != reader
                && !is_final_write(ops[writer].txn, mop)
            {
                let value = list[length - 1];
                anomalies.push(Anomaly::IntermediateRead { reader, writer, key, value });
            }
            let before = list.last().copied();
            if let Some((writer, _)) = last_writer
                && writer != reader
            {
                let why = Why { key, before: None, after: before, realtime: false };
                edges.add(writer, reader, 2, Some(why));
            }
            if let Some(&Some((next, _))) = writers.get(length)
                && next != reader
            {
                let why = Why { key, before, after: Some(order[length]), realtime: false };
                edges.add(reader, next, 4, Some(why));
            }
        }
    }
}

/// The dependencies rw-register reads reveal: wr from the writer of each value read; a
/// read of the initial nil rw-precedes every writer of the key; and a transaction that
/// read a value and then wrote the key installed a later version (ww from the writer of
/// what it read, rw from every other reader of it).
fn rw_register(
    ops: &[TxnOp<'_>],
    writes: &WriteIndex,
    edges: &mut Edges,
    anomalies: &mut Vec<Anomaly>,
) -> Vec<(u64, Option<u64>, usize)> {
    // (key, value read or None for nil, reader), for every committed read of another
    // transaction's write or of the initial value.
    let mut reads: Vec<(u64, Option<u64>, usize)> = Vec::new();
    // (key, value read, the later value the reader wrote, reader).
    let mut overwrites: Vec<(u64, Option<u64>, u64, usize)> = Vec::new();
    for (op, o) in ops.iter().enumerate() {
        if o.outcome != EventType::Ok {
            continue;
        }
        for (i, mop) in o.txn.iter().enumerate() {
            let Mop::ReadRegister { key, value: Some(value) } = *mop else { continue };
            // A read after the transaction's own write of the key says nothing of others.
            if o.txn[..i].iter().any(|m| matches!(m, Mop::Write { key: k, .. } if *k == key)) {
                continue;
            }
            if let Some(v) = value {
                let Some((writer, _)) = check_read(ops, writes, op, key, v, true, anomalies) else {
                    continue;
                };
                if writer != op {
                    let why = Why { key, before: None, after: Some(v), realtime: false };
                    edges.add(writer, op, 2, Some(why));
                }
            }
            reads.push((key, value, op));
            let later = o.txn[i + 1..].iter().find_map(|m| match *m {
                Mop::Write { key: k, value } if k == key => Some(value),
                _ => None,
            });
            if let Some(written) = later {
                overwrites.push((key, value, written, op));
            }
        }
    }
    reads.sort_unstable();
    for &(key, read, written, op) in &overwrites {
        if let Some(v) = read
            && let Some((writer, _)) = writes.writer(key, v)
            && writer != op
            && ops[writer].outcome != EventType::Fail
        {
            let why = Why { key, before: Some(v), after: Some(written), realtime: false };
            edges.add(writer, op, 1, Some(why));
        }
        let start = reads.partition_point(|r| (r.0, r.1) < (key, read));
        for &(_, _, reader) in reads[start..].iter().take_while(|r| (r.0, r.1) == (key, read)) {
            if reader != op {
                let why = Why { key, before: read, after: Some(written), realtime: false };
                edges.add(reader, op, 4, Some(why));
            }
        }
    }
    // The initial nil precedes every write.
    for &(key, read, reader) in &reads {
        if read.is_some() {
            continue;
        }
        for (writer, _, value) in writes.writes_of(key) {
            if writer != reader && ops[writer].outcome != EventType::Fail {
                let why = Why { key, before: None, after: Some(value), realtime: false };
                edges.add(reader, writer, 4, Some(why));
            }
        }
    }
    reads
}

/// Per-key version orders from real time, sound under strict serializability only: a
/// committed transaction that completed before another was invoked is serialized first,
/// so its final write of a key is an earlier version than the other's. From each such
/// pair, ww from the first writer to the second, and rw from every reader of the first's
/// version to the second. Pairs are taken as [`order_edges`] takes realtime edges, key by
/// key (the transitive reduction: the rest follow through ww chains).
fn realtime_versions(
    history: &History<TxnEvent>,
    ops: &[TxnOp<'_>],
    reads: &[(u64, Option<u64>, usize)],
    edges: &mut Edges,
) {
    // Per committed transaction, its final write of each key it writes.
    let finals: Vec<Vec<(u64, u64)>> = ops
        .iter()
        .map(|o| {
            if o.outcome != EventType::Ok {
                return Vec::new();
            }
            let mut last: BTreeMap<u64, u64> = BTreeMap::new();
            for mop in o.txn {
                if let Mop::Write { key, value } = *mop {
                    last.insert(key, value);
                }
            }
            last.into_iter().collect()
        })
        .collect();
    let mut op_of_event: Vec<u32> = vec![u32::MAX; history.len()];
    for (op, o) in ops.iter().enumerate() {
        if !finals[op].is_empty() {
            op_of_event[o.invoked] = op as u32;
            if let Some(c) = o.completed {
                op_of_event[c] = op as u32;
            }
        }
    }
    // Per key, the writers completed and not yet followed by a writer that completed.
    let mut frontier: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    // Per transaction and key it writes, the key's frontier when it was invoked.
    let mut followed: Vec<Vec<Vec<usize>>> =
        finals.iter().map(|f| vec![Vec::new(); f.len()]).collect();
    for (index, event) in history.events.iter().enumerate() {
        let op = op_of_event[index];
        if op == u32::MAX {
            continue;
        }
        let op = op as usize;
        for (j, &(key, value)) in finals[op].iter().enumerate() {
            let writers = frontier.entry(key).or_default();
            if event.kind == EventType::Invoke {
                for &before in writers.iter() {
                    let earlier = finals[before].iter().find(|f| f.0 == key).expect("a writer").1;
                    let why =
                        Why { key, before: Some(earlier), after: Some(value), realtime: true };
                    edges.add(before, op, 1, Some(why));
                    let start = reads.partition_point(|r| (r.0, r.1) < (key, Some(earlier)));
                    let readers =
                        reads[start..].iter().take_while(|r| (r.0, r.1) == (key, Some(earlier)));
                    for &(_, _, reader) in readers {
                        if reader != op {
                            edges.add(reader, op, 4, Some(why));
                        }
                    }
                }
                followed[op][j].clone_from(writers);
            } else {
                let before = std::mem::take(&mut followed[op][j]);
                writers.retain(|w| !before.contains(w));
                writers.push(op);
            }
        }
    }
}

/// Realtime and process edges between committed transactions. Realtime edges are the
/// transitive reduction Elle uses: when a transaction is invoked, an edge from each
/// transaction of the current frontier (completed, and not yet followed by a transaction
/// that completed after them); when it completes, it joins the frontier and replaces the
/// transactions it followed.
fn order_edges(history: &History<TxnEvent>, ops: &[TxnOp<'_>], edges: &mut Edges) {
    let mut op_of_event: Vec<u32> = vec![u32::MAX; history.len()];
    for (op, o) in ops.iter().enumerate() {
        if o.outcome == EventType::Ok {
            op_of_event[o.invoked] = op as u32;
            if let Some(c) = o.completed {
                op_of_event[c] = op as u32;
            }
        }
    }
    let mut frontier: Vec<u32> = Vec::new();
    // Per transaction, the frontier when it was invoked.
    let mut followed: Vec<Vec<u32>> = vec![Vec::new(); ops.len()];
    // The transaction whose completion last covered each one.
    let mut covered: Vec<u32> = vec![u32::MAX; ops.len()];
    let mut last_of_process: BTreeMap<u64, u32> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        let op = op_of_event[index];
        if op == u32::MAX {
            continue;
        }
        if event.kind == EventType::Invoke {
            for &before in &frontier {
                edges.add(before as usize, op as usize, 8, None);
            }
            followed[op as usize].clone_from(&frontier);
            if let Some(previous) = last_of_process.insert(event.process, op) {
                edges.add(previous as usize, op as usize, 16, None);
            }
        } else {
            for p in std::mem::take(&mut followed[op as usize]) {
                covered[p as usize] = op;
            }
            frontier.retain(|&f| covered[f as usize] != op);
            frontier.push(op);
        }
    }
}

fn explain(analysis: &Analysis<'_>, graph: &Graph, cycle: &Cycle) -> CycleReport {
    let ops = &analysis.ops;
    let mut steps = Vec::new();
    let mut kinds = Vec::new();
    // A version order inferred from real time makes the cycle one of strict
    // serializability only.
    let mut inferred = 0;
    let n = cycle.txns.len();
    for (i, (&from, &mask)) in cycle.txns.iter().zip(&cycle.masks).enumerate() {
        let to = cycle.txns[(i + 1) % n];
        let kind =
            Dependency::ALL.into_iter().find(|d| mask & d.bit() != 0).expect("an edge has a kind");
        let why = graph.why(from, to, kind.bit());
        if why.is_some_and(|w| w.realtime) {
            inferred = Dependency::Realtime.bit();
        }
        let registers = ops[from]
            .txn
            .iter()
            .chain(ops[to].txn)
            .any(|m| matches!(m, Mop::Write { .. } | Mop::ReadRegister { .. }));
        let version =
            |v: Option<u64>| v.map_or("the initial (empty) version".to_owned(), |v| v.to_string());
        let reason = match (kind, why) {
            (Dependency::Ww, Some(w)) if w.realtime => format!(
                "T{from} wrote {} to key {} and completed before T{to}, which wrote {}, was \
                 invoked: a later version",
                version(w.before),
                w.key,
                version(w.after)
            ),
            (Dependency::Rw, Some(w)) if w.realtime => format!(
                "T{from} read key {} = {}, and T{to} wrote {}, a later version (its writer \
                 completed before T{to} was invoked)",
                w.key,
                version(w.before),
                version(w.after)
            ),
            (Dependency::Ww, Some(w)) if registers => format!(
                "T{to} read {} of key {} and then wrote {}, a later version",
                version(w.before),
                w.key,
                version(w.after)
            ),
            (Dependency::Ww, Some(w)) => format!(
                "T{from} appended {} to key {} and T{to} appended {}, the next element",
                version(w.before),
                w.key,
                version(w.after)
            ),
            (Dependency::Wr, Some(w)) => format!(
                "T{to} read key {} {} {}, which T{from} wrote",
                w.key,
                if registers { "=" } else { "up to" },
                version(w.after)
            ),
            (Dependency::Rw, Some(w)) => format!(
                "T{from} read key {} {} {}, and T{to} wrote {}, a later version",
                w.key,
                if registers { "=" } else { "up to" },
                version(w.before),
                version(w.after)
            ),
            (Dependency::Realtime, _) => format!("T{from} completed before T{to} was invoked"),
            (Dependency::Process, _) => {
                format!("process {} ran T{from}, then T{to}", ops[from].process)
            }
            (_, None) => String::new(),
        };
        steps.push(format!("T{from} -{}-> T{to}: {reason}", kind.name()));
        kinds.push(kind);
    }
    let used = cycle.masks.iter().fold(inferred, |a, m| a | m);
    CycleReport {
        class: cycle.class.name(used),
        rules_out: cycle.class.rules_out(used),
        txns: cycle.txns.clone(),
        steps,
        kinds,
    }
}

/// The serializability checker of the transactional workload, as a run's checker: on a
/// history that cannot be analysed (a simulator bug), it panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnChecker {
    pub consistency: Consistency,
}

impl<N: Node<Workload = TxnWorkload>> Checker<N> for TxnChecker {
    fn name(&self) -> &'static str {
        match self.consistency {
            Consistency::Serializable => "serializability",
            Consistency::StrictSerializable => "strict_serializability",
        }
    }

    fn severity(&self) -> Verdict {
        Verdict::Safety
    }

    fn check(&self, run: &Finished<'_, N>) -> Finding {
        let Some(history) = run.history else { return Finding::Pass };
        let analysis = check(history, self.consistency)
            .unwrap_or_else(|e| panic!("the simulator recorded a history Elle rejects: {e}"));
        if analysis.is_valid() {
            return Finding::Pass;
        }
        let mut detail = String::new();
        let _ = write!(detail, "{analysis}");
        Finding::Fail { summary: analysis.summary(), detail }
    }
}

#[cfg(test)]
mod tests;
