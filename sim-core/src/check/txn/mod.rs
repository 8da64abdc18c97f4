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
//!    transaction read precedes the value it then wrote.
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
//! transaction's write), G1b (a read of a version its writer overwrote itself), and reads
//! that cannot be ordered at all (incompatible orders, values no one wrote, an element read
//! twice). Each anomaly is explained step by step, with the transactions of every edge.

mod cycles;
pub mod generate;

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
pub struct TxnOp {
    pub process: u64,
    /// Ok (committed), fail (aborted) or info (unknown; also a transaction still open at
    /// the end of the history).
    pub outcome: EventType,
    /// What it did: with its reads on ok, as invoked otherwise.
    pub txn: Vec<Mop>,
    /// The index of its invocation and of its completion among the history's events.
    pub invoked: usize,
    pub completed: Option<usize>,
}

/// Why an edge is there: the key, and the versions on either side of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Why {
    key: u64,
    /// The version the earlier transaction wrote or read (`None`: the initial, empty one).
    before: Option<u64>,
    /// The version the later transaction wrote or read.
    after: Option<u64>,
}

/// One edge, before edges between the same two transactions are merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: u32,
    to: u32,
    kind: u8,
    why: Option<Why>,
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
        }
    }

    /// The isolation levels it rules out.
    pub fn rules_out(&self) -> &'static str {
        match self {
            Anomaly::Cycle(cycle) => cycle.rules_out,
            Anomaly::AbortedRead { .. } | Anomaly::IntermediateRead { .. } => {
                "read committed (PL-2) and every stronger level"
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
}

/// What the checker found in a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis {
    pub consistency: Consistency,
    pub ops: Vec<TxnOp>,
    /// Every anomaly found: at most one cycle per strongly connected component.
    pub anomalies: Vec<Anomaly>,
    /// Edges in the dependency graph (after merging edges between the same pair).
    pub edges: usize,
}

impl Analysis {
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
        format!("T{op} (process {}, {}) {}", o.process, o.outcome.name(), display_txn(&o.txn))
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
        }
    }

    fn involved(anomaly: &Anomaly) -> Vec<usize> {
        match *anomaly {
            Anomaly::Cycle(ref c) => c.txns.clone(),
            Anomaly::AbortedRead { reader, writer, .. }
            | Anomaly::IntermediateRead { reader, writer, .. } => vec![writer, reader],
            Anomaly::IncompatibleOrder { first, second, .. } => vec![first, second],
            Anomaly::GarbageRead { reader, .. } | Anomaly::DuplicateElements { reader, .. } => {
                vec![reader]
            }
        }
    }
}

impl fmt::Display for Analysis {
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
        for anomaly in &self.anomalies {
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
        Ok(())
    }
}

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
pub fn operations(history: &History<TxnEvent>) -> Result<Vec<TxnOp>, TxnHistoryError> {
    let mut ops: Vec<TxnOp> = Vec::with_capacity(history.len() / 2 + 1);
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
                txn: event.txn.clone(),
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
            op.txn = event.txn.clone();
        }
    }
    Ok(ops)
}

/// Checks a history of the transactional workload.
pub fn check(
    history: &History<TxnEvent>,
    consistency: Consistency,
) -> Result<Analysis, TxnHistoryError> {
    let ops = operations(history)?;
    let writes = WriteIndex::new(&ops)?;
    let mut anomalies = Vec::new();
    let mut edges = Vec::new();
    let lists = !ops
        .iter()
        .flat_map(|o| &o.txn)
        .any(|m| matches!(m, Mop::Write { .. } | Mop::ReadRegister { .. }));
    if lists {
        list_append(&ops, &writes, &mut edges, &mut anomalies);
    } else {
        rw_register(&ops, &writes, &mut edges, &mut anomalies);
    }
    if consistency == Consistency::StrictSerializable {
        order_edges(history, &ops, &mut edges);
    }
    edges.sort_unstable();
    let graph = Graph::new(ops.len(), &edges);
    let mut cycles = graph.cycles(DATA);
    if cycles.is_empty() && consistency == Consistency::StrictSerializable {
        cycles = graph.cycles(ALL_EDGES);
    }
    let edge_count = graph.edge_count();
    let analysis = Analysis { consistency, ops, anomalies: Vec::new(), edges: edge_count };
    let mut cycle_reports: Vec<Anomaly> =
        cycles.iter().map(|c| Anomaly::Cycle(explain(&analysis, &edges, c))).collect();
    anomalies.append(&mut cycle_reports);
    Ok(Analysis { anomalies, ..analysis })
}

/// Who wrote each value of each key: `(key, value, op, index of the micro-op)`, sorted.
struct WriteIndex {
    entries: Vec<(u64, u64, u32, u32)>,
}

impl WriteIndex {
    fn new(ops: &[TxnOp]) -> Result<Self, TxnHistoryError> {
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

    /// Every write of `key`: the transaction, and the value.
    fn writes_of(&self, key: u64) -> impl Iterator<Item = (usize, u64)> + '_ {
        let start = self.entries.partition_point(|e| e.0 < key);
        self.entries[start..].iter().take_while(move |e| e.0 == key).map(|e| (e.2 as usize, e.1))
    }
}

/// Whether the micro-op at `index` of `txn` is the transaction's last write to its key.
fn is_final_write(txn: &[Mop], index: usize) -> bool {
    let key = txn[index].key();
    !txn[index + 1..].iter().any(|m| !m.is_read() && m.key() == key)
}

/// The checks of one value read: who wrote it, and whether reading it was allowed. The
/// writer, when it is a transaction that may have committed.
fn check_read(
    ops: &[TxnOp],
    writes: &WriteIndex,
    reader: usize,
    key: u64,
    value: u64,
    last: bool,
    anomalies: &mut Vec<Anomaly>,
) -> Option<usize> {
    let Some((writer, mop)) = writes.writer(key, value) else {
        anomalies.push(Anomaly::GarbageRead { reader, key, value });
        return None;
    };
    if ops[writer].outcome == EventType::Fail {
        anomalies.push(Anomaly::AbortedRead { reader, writer, key, value });
        return None;
    }
    if last && writer != reader && !is_final_write(&ops[writer].txn, mop) {
        anomalies.push(Anomaly::IntermediateRead { reader, writer, key, value });
    }
    Some(writer)
}

/// Version orders from list reads, and the ww, wr and rw edges they give.
fn list_append(
    ops: &[TxnOp],
    writes: &WriteIndex,
    edges: &mut Vec<Edge>,
    anomalies: &mut Vec<Anomaly>,
) {
    // Every committed read: (key, reader, the list).
    let mut reads: Vec<(u64, usize, &[u64])> = Vec::new();
    for (op, o) in ops.iter().enumerate() {
        if o.outcome != EventType::Ok {
            continue;
        }
        for mop in &o.txn {
            if let Mop::ReadList { key, value: Some(list) } = mop {
                reads.push((*key, op, list));
            }
        }
    }
    reads.sort_by_key(|&(key, op, _)| (key, op));
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
        let writers: Vec<Option<usize>> = order
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                check_read(ops, writes, longest_reader, key, v, i + 1 == order.len(), anomalies)
            })
            .collect();
        for (i, pair) in writers.windows(2).enumerate() {
            if let [Some(a), Some(b)] = *pair
                && a != b
            {
                let why = Why { key, before: Some(order[i]), after: Some(order[i + 1]) };
                edges.push(Edge { from: a as u32, to: b as u32, kind: 1, why: Some(why) });
            }
        }
        for &(_, reader, list) in group {
            let length = list.len();
            if length > 0 && reader != longest_reader {
                // The last element is checked for reading an intermediate version; the
                // rest were checked as part of the longest read.
                let last = list[length - 1];
                check_read(ops, writes, reader, key, last, true, anomalies);
            }
            let before = list.last().copied();
            if let Some(Some(writer)) = length.checked_sub(1).map(|i| writers[i])
                && writer != reader
            {
                let why = Why { key, before: None, after: before };
                edges.push(Edge {
                    from: writer as u32,
                    to: reader as u32,
                    kind: 2,
                    why: Some(why),
                });
            }
            if let Some(&Some(next)) = writers.get(length)
                && next != reader
            {
                let why = Why { key, before, after: Some(order[length]) };
                edges.push(Edge { from: reader as u32, to: next as u32, kind: 4, why: Some(why) });
            }
        }
    }
}

/// The dependencies rw-register reads reveal: wr from the writer of each value read; a
/// read of the initial nil rw-precedes every writer of the key; and a transaction that
/// read a value and then wrote the key installed a later version (ww from the writer of
/// what it read, rw from every other reader of it).
fn rw_register(
    ops: &[TxnOp],
    writes: &WriteIndex,
    edges: &mut Vec<Edge>,
    anomalies: &mut Vec<Anomaly>,
) {
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
                let Some(writer) = check_read(ops, writes, op, key, v, true, anomalies) else {
                    continue;
                };
                if writer != op {
                    let why = Why { key, before: None, after: Some(v) };
                    edges.push(Edge {
                        from: writer as u32,
                        to: op as u32,
                        kind: 2,
                        why: Some(why),
                    });
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
            let why = Why { key, before: Some(v), after: Some(written) };
            edges.push(Edge { from: writer as u32, to: op as u32, kind: 1, why: Some(why) });
        }
        let start = reads.partition_point(|r| (r.0, r.1) < (key, read));
        for &(_, _, reader) in reads[start..].iter().take_while(|r| (r.0, r.1) == (key, read)) {
            if reader != op {
                let why = Why { key, before: read, after: Some(written) };
                edges.push(Edge { from: reader as u32, to: op as u32, kind: 4, why: Some(why) });
            }
        }
    }
    // The initial nil precedes every write.
    for &(key, read, reader) in &reads {
        if read.is_some() {
            continue;
        }
        for (writer, value) in writes.writes_of(key) {
            if writer != reader && ops[writer].outcome != EventType::Fail {
                let why = Why { key, before: None, after: Some(value) };
                edges.push(Edge {
                    from: reader as u32,
                    to: writer as u32,
                    kind: 4,
                    why: Some(why),
                });
            }
        }
    }
}

/// Realtime and process edges between committed transactions. Realtime edges are the
/// transitive reduction Elle uses: when a transaction is invoked, an edge from each
/// transaction of the current frontier (completed, and not yet followed by a transaction
/// that completed after them); when it completes, it joins the frontier and replaces the
/// transactions it followed.
fn order_edges(history: &History<TxnEvent>, ops: &[TxnOp], edges: &mut Vec<Edge>) {
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
    let mut followed: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut last_of_process: BTreeMap<u64, u32> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        let op = op_of_event[index];
        if op == u32::MAX {
            continue;
        }
        if event.kind == EventType::Invoke {
            for &before in &frontier {
                edges.push(Edge { from: before, to: op, kind: 8, why: None });
            }
            followed.insert(op, frontier.clone());
            if let Some(previous) = last_of_process.insert(event.process, op) {
                edges.push(Edge { from: previous, to: op, kind: 16, why: None });
            }
        } else {
            let predecessors = followed.remove(&op).unwrap_or_default();
            frontier.retain(|f| !predecessors.contains(f));
            frontier.push(op);
        }
    }
}

fn explain(analysis: &Analysis, edges: &[Edge], cycle: &Cycle) -> CycleReport {
    let ops = &analysis.ops;
    let mut steps = Vec::new();
    let n = cycle.txns.len();
    for (i, (&from, &mask)) in cycle.txns.iter().zip(&cycle.masks).enumerate() {
        let to = cycle.txns[(i + 1) % n];
        let kind =
            Dependency::ALL.into_iter().find(|d| mask & d.bit() != 0).expect("an edge has a kind");
        let why = edges
            .iter()
            .skip(edges.partition_point(|e| (e.from, e.to) < (from as u32, to as u32)))
            .take_while(|e| (e.from, e.to) == (from as u32, to as u32))
            .find(|e| e.kind == kind.bit())
            .and_then(|e| e.why);
        let registers = ops[from]
            .txn
            .iter()
            .chain(&ops[to].txn)
            .any(|m| matches!(m, Mop::Write { .. } | Mop::ReadRegister { .. }));
        let version =
            |v: Option<u64>| v.map_or("the initial (empty) version".to_owned(), |v| v.to_string());
        let reason = match (kind, why) {
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
    }
    CycleReport {
        class: cycle.class.name(cycle.masks.iter().fold(0, |a, m| a | m)),
        rules_out: cycle.class.rules_out(cycle.masks.iter().fold(0, |a, m| a | m)),
        txns: cycle.txns.clone(),
        steps,
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
