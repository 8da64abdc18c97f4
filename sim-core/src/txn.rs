//! The transactional workload: each operation is a transaction of micro-operations over
//! several keys, recorded as Jepsen records them (`:f :txn`, `:value` the micro-operations),
//! and checked for serializability by [`crate::check::txn`] (Elle's method).
//!
//! Two modes, as Elle's workloads: **list-append**, where a transaction appends unique
//! values to lists (`[:append k v]`) and reads whole lists (`[:r k [1 2]]`), so that every
//! read reveals the order of the versions before it; and **rw-register**, where it writes
//! unique values (`[:w k v]`) and reads single values (`[:r k v]`, `nil` before any write).
//! The op mix (reads against writes), the transaction length and the key distribution are
//! `[workload]` options ([`TxnOptions`]).
//!
//! Histories are written as EDN ([`to_edn`]) and read back from it ([`parse_edn`]), so
//! Elle's own list-append and rw-register histories can be checked too; `dsim run
//! --history` writes them as dsim's JSON lines.

use crate::check::ParseError;
use crate::check::edn::{self, Edn, Node, Position};
use crate::check::txn::{Consistency, TxnChecker};
use crate::checker::CheckerSpec;
use crate::history::{EventType, History, Recorded};
use crate::kv::{KeyDistribution, KeyPicker};
use crate::node::{ClientId, Node as SimNode};
use crate::rng::SimRng;
use crate::time::SimTime;
use crate::workload::{Outcome, ScenarioWorkload, Workload};
use std::fmt::{self, Write as _};

/// One micro-operation of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mop {
    /// Append `value` (unique for the key) to the list at `key`.
    Append { key: u64, value: u64 },
    /// Set the register at `key` to `value` (unique for the key).
    Write { key: u64, value: u64 },
    /// Read the list at `key`: the list once known (`None` in an invocation).
    ReadList { key: u64, value: Option<Vec<u64>> },
    /// Read the register at `key`: `Some(None)` is the initial nil, `None` not yet known.
    ReadRegister { key: u64, value: Option<Option<u64>> },
}

impl Mop {
    /// The key it reads or writes.
    pub fn key(&self) -> u64 {
        match *self {
            Mop::Append { key, .. } | Mop::Write { key, .. } => key,
            Mop::ReadList { key, .. } | Mop::ReadRegister { key, .. } => key,
        }
    }

    /// Whether it is a read.
    pub fn is_read(&self) -> bool {
        matches!(self, Mop::ReadList { .. } | Mop::ReadRegister { .. })
    }

    /// The same micro-operation with its read value forgotten (as it is invoked).
    pub fn unread(&self) -> Mop {
        match self {
            Mop::ReadList { key, .. } => Mop::ReadList { key: *key, value: None },
            Mop::ReadRegister { key, .. } => Mop::ReadRegister { key: *key, value: None },
            other => other.clone(),
        }
    }
}

/// Elements of a list read shown at each end in messages (`{:#}`).
const SHOWN_AT_EACH_END: usize = 3;

impl fmt::Display for Mop {
    /// Jepsen's notation: `[:append 1 2]`, `[:w 1 2]`, `[:r 1 [1 2]]`, `[:r 1 nil]`. The
    /// alternate form (`{:#}`, for messages) shortens a long list read to its ends:
    /// `[:r 1 [1 2 3 ... 8 9 10]]` (with how many elements it has).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mop::Append { key, value } => write!(f, "[:append {key} {value}]"),
            Mop::Write { key, value } => write!(f, "[:w {key} {value}]"),
            Mop::ReadList { key, value: None } | Mop::ReadRegister { key, value: None } => {
                write!(f, "[:r {key} nil]")
            }
            Mop::ReadRegister { key, value: Some(None) } => write!(f, "[:r {key} nil]"),
            Mop::ReadRegister { key, value: Some(Some(v)) } => write!(f, "[:r {key} {v}]"),
            Mop::ReadList { key, value: Some(list) } => {
                let short = f.alternate() && list.len() > 2 * SHOWN_AT_EACH_END + 1;
                let join =
                    |items: &[u64]| items.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
                if short {
                    let (head, tail) =
                        (&list[..SHOWN_AT_EACH_END], &list[list.len() - SHOWN_AT_EACH_END..]);
                    let n = list.len();
                    write!(f, "[:r {key} [{} ... {}]] ({n} elements)", join(head), join(tail))
                } else {
                    write!(f, "[:r {key} [{}]]", join(list))
                }
            }
        }
    }
}

/// A transaction: its micro-operations, in order.
pub type Txn = Vec<Mop>;

/// A transaction in Jepsen's notation, `[[:append 1 2] [:r 1 [1 2]]]`; with `short`,
/// long list reads are cut to their ends (for messages).
pub fn display_txn(txn: &[Mop], short: bool) -> String {
    let mut out = String::from("[");
    for (i, mop) in txn.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = if short { write!(out, "{mop:#}") } else { write!(out, "{mop}") };
    }
    out.push(']');
    out
}

/// One event of a transactional history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnEvent {
    pub process: u64,
    pub kind: EventType,
    /// On invoke: the transaction with its reads unknown. On ok: with what it read.
    pub txn: Txn,
    pub time: Option<SimTime>,
}

impl Recorded for TxnEvent {
    fn process(&self) -> u64 {
        self.process
    }

    fn kind(&self) -> EventType {
        self.kind
    }

    fn time(&self) -> Option<SimTime> {
        self.time
    }

    fn label(&self) -> &str {
        "txn"
    }

    /// `{"process":0,"type":"ok","f":"txn","value":[["append",1,2],["r",1,[1,2]]],"time":5}`
    fn write_json(&self, out: &mut String) {
        let _ = write!(
            out,
            "{{\"process\":{},\"type\":\"{}\",\"f\":\"txn\",\"value\":[",
            self.process,
            self.kind.name()
        );
        for (i, mop) in self.txn.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = match mop {
                Mop::Append { key, value } => write!(out, "[\"append\",{key},{value}]"),
                Mop::Write { key, value } => write!(out, "[\"w\",{key},{value}]"),
                Mop::ReadRegister { key, value: Some(Some(v)) } => write!(out, "[\"r\",{key},{v}]"),
                Mop::ReadList { key, value: Some(list) } => {
                    let items: Vec<String> = list.iter().map(u64::to_string).collect();
                    write!(out, "[\"r\",{key},[{}]]", items.join(","))
                }
                Mop::ReadList { key, .. } | Mop::ReadRegister { key, .. } => {
                    write!(out, "[\"r\",{key},null]")
                }
            };
        }
        out.push(']');
        if let Some(time) = self.time {
            let _ = write!(out, ",\"time\":{}", time.as_nanos());
        }
        out.push('}');
    }
}

/// The history as EDN, one operation map a line, as Jepsen writes it.
pub fn to_edn(history: &History<TxnEvent>) -> String {
    let mut out = String::new();
    for event in &history.events {
        let _ = write!(
            out,
            "{{:process {}, :type :{}, :f :txn, :value {}",
            event.process,
            event.kind.name(),
            display_txn(&event.txn, false)
        );
        if let Some(time) = event.time {
            let _ = write!(out, ", :time {}", time.as_nanos());
        }
        out.push_str("}\n");
    }
    out
}

/// Whether a history text (EDN or JSON lines) is transactional: its first operation has
/// `:f :txn` (or `"f":"txn"`). Cheap: it looks no further than the first operation.
pub fn is_txn_history(text: &str) -> bool {
    let edn = text.find(":f ").map(|at| (at, text[at + 3..].trim_start().starts_with(":txn")));
    let json =
        text.find("\"f\":").map(|at| (at, text[at + 4..].trim_start().starts_with("\"txn\"")));
    match (edn, json) {
        (Some(a), Some(b)) => {
            if a.0 < b.0 {
                a.1
            } else {
                b.1
            }
        }
        (Some((_, txn)), None) | (None, Some((_, txn))) => txn,
        (None, None) => false,
    }
}

/// Reads a transactional history in Jepsen's EDN (one vector or list of operation maps,
/// or maps one after another), with where each event starts. Reads of `nil` are empty
/// lists in a list-append history and the initial nil in one with `:w` writes; a read's
/// value counts only on `:ok`. Read a line at a time from any reader (`text.as_bytes()`
/// for a text).
pub fn parse_edn(
    source: impl std::io::BufRead,
) -> Result<(History<TxnEvent>, Vec<Position>), ParseError> {
    let (mut history, positions) = edn::read_operations(source, event_from_node)?;
    settle_reads(&mut history.events).map_err(|(event, message)| {
        ParseError::new(positions[event].line, positions[event].column, message)
    })?;
    Ok((history, positions))
}

/// Settles what each read is once the whole history is known: a history with `:w` writes
/// is rw-register, so its `nil` reads are of the initial nil; otherwise it is list-append,
/// and a read of a single value is an error. The error names the event.
pub(crate) fn settle_reads(events: &mut [TxnEvent]) -> Result<(), (usize, String)> {
    let registers = events.iter().flat_map(|e| &e.txn).any(|m| matches!(m, Mop::Write { .. }));
    for (index, event) in events.iter_mut().enumerate() {
        for mop in &mut event.txn {
            match mop {
                Mop::ReadList { key, value } if registers => {
                    if value.as_ref().is_some_and(|list| !list.is_empty()) {
                        return Err((
                            index,
                            format!(
                                "key {key} is read as a list in a history that writes registers (:w); a history is list-append or rw-register, not both"
                            ),
                        ));
                    }
                    let known = value.is_some();
                    *mop = Mop::ReadRegister { key: *key, value: known.then_some(None) };
                }
                Mop::ReadRegister { key, .. } if !registers => {
                    return Err((
                        index,
                        format!(
                            "key {key} is read as a single value in a history with no :w writes; list-append reads are vectors"
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn event_from_node(node: &Node) -> Result<Option<TxnEvent>, ParseError> {
    let Some((pairs, process, kind)) = edn::operation_head(node)? else { return Ok(None) };
    let f = edn::field(pairs, "f").ok_or_else(|| edn::content_error(node, "no :f"))?;
    if edn::name_of(f) != Some("txn") {
        return Err(edn::content_error(f, "expected :f :txn in a transactional history"));
    }
    let value = edn::field(pairs, "value")
        .ok_or_else(|| edn::content_error(node, "a :txn operation needs a :value"))?;
    let (Edn::Vector(mops) | Edn::List(mops)) = &value.value else {
        return Err(edn::content_error(
            value,
            format!(
                "a transaction is a vector of micro-ops like [[:r 1 nil] [:append 1 2]], not {}",
                value.value.kind()
            ),
        ));
    };
    let txn =
        mops.iter().map(|m| mop_from_node(m, kind == EventType::Ok)).collect::<Result<_, _>>()?;
    Ok(Some(TxnEvent { process, kind, txn, time: edn::operation_time(pairs)? }))
}

fn mop_from_node(node: &Node, completed: bool) -> Result<Mop, ParseError> {
    let shape = "a micro-op is [:r key value], [:append key value] or [:w key value]";
    let (Edn::Vector(parts) | Edn::List(parts)) = &node.value else {
        return Err(edn::content_error(node, shape));
    };
    let [f, key, value] = parts.as_slice() else { return Err(edn::content_error(node, shape)) };
    let integer = |n: &Node, what: &str| match n.value {
        Edn::Int(i) if i >= 0 => Ok(i as u64),
        _ => Err(edn::content_error(n, format!("a {what} must be a non-negative integer"))),
    };
    let key = integer(key, "key")?;
    match edn::name_of(f) {
        Some("append") => Ok(Mop::Append { key, value: integer(value, "appended value")? }),
        Some("w") => Ok(Mop::Write { key, value: integer(value, "written value")? }),
        Some("r") if !completed => Ok(Mop::ReadList { key, value: None }),
        Some("r") => match &value.value {
            Edn::Nil => Ok(Mop::ReadList { key, value: Some(Vec::new()) }),
            Edn::Int(_) => {
                Ok(Mop::ReadRegister { key, value: Some(Some(integer(value, "value read")?)) })
            }
            Edn::Vector(items) | Edn::List(items) => {
                let list =
                    items.iter().map(|i| integer(i, "list element")).collect::<Result<_, _>>()?;
                Ok(Mop::ReadList { key, value: Some(list) })
            }
            other => Err(edn::content_error(
                value,
                format!("a read's value is nil, an integer or a vector, not {}", other.kind()),
            )),
        },
        _ => Err(edn::content_error(f, "unknown micro-op: expected :r, :append or :w")),
    }
}

/// Which of Elle's workloads the clients run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxnMode {
    /// Appends of unique values to lists, and reads of whole lists.
    ListAppend,
    /// Writes of unique values to registers, and reads of single values.
    RwRegister,
}

impl TxnMode {
    /// Every mode, by its option name.
    pub const ALL: [TxnMode; 2] = [TxnMode::ListAppend, TxnMode::RwRegister];

    /// The name `workload.mode` uses.
    pub fn name(self) -> &'static str {
        match self {
            TxnMode::ListAppend => "list-append",
            TxnMode::RwRegister => "rw-register",
        }
    }
}

/// The most micro-operations in one transaction.
const MAX_LENGTH: u64 = 64;
/// The largest weight of reads or writes.
const MAX_WEIGHT: u32 = 1_000_000;

crate::declare_options! {
    /// What the transactional clients ask for: the `[workload]` keys of the transactional
    /// workload.
    pub struct TxnOptions {
        /// "list-append" (appends and whole-list reads) or "rw-register" (writes and reads).
        mode: String = "list-append".to_owned(),
        /// How many keys the transactions use.
        keys: u64 = 8,
        /// Fewest micro-operations in a transaction.
        min_length: u64 = 1,
        /// Most micro-operations in a transaction.
        max_length: u64 = 4,
        /// Relative weight of reads among micro-operations.
        read: u32 = 1,
        /// Relative weight of appends (or writes, in rw-register) among micro-operations.
        write: u32 = 1,
        /// How keys are chosen: "uniform" or "zipf".
        distribution: String = "uniform".to_owned(),
        /// The Zipf exponent (1.0 is classic; larger is more skewed), with "zipf".
        zipf_exponent: f64 = 1.0,
    }
}

/// Transactions of reads and appends (or writes) of fresh values over a few keys.
#[derive(Clone, Debug)]
pub struct TxnWorkload {
    mode: TxnMode,
    keys: KeyPicker,
    min_length: u64,
    max_length: u64,
    read: u32,
    write: u32,
    /// The last value written; every write gets the next one, so values are unique.
    last_value: u64,
}

impl TxnWorkload {
    /// The workload of `options`, or why they cannot work.
    pub fn new(options: TxnOptions) -> Result<Self, String> {
        let mode =
            *crate::names::lookup("transaction mode", &options.mode, &TxnMode::ALL, |m| m.name())?;
        let keys = KeyPicker::new(
            options.keys,
            KeyDistribution::parse(&options.distribution, options.zipf_exponent)?,
        )?;
        if options.min_length < 1 || options.min_length > options.max_length {
            return Err(format!(
                "min_length is {} and max_length {}: a transaction needs 1 <= min_length <= max_length",
                options.min_length, options.max_length
            ));
        }
        if options.max_length > MAX_LENGTH {
            return Err(format!(
                "max_length is {}, above the most, {MAX_LENGTH}",
                options.max_length
            ));
        }
        if options.read > MAX_WEIGHT || options.write > MAX_WEIGHT {
            return Err(format!("read and write weigh at most {MAX_WEIGHT}"));
        }
        if u64::from(options.read) + u64::from(options.write) == 0 {
            return Err("read and write are both 0: give one of them a weight above zero".into());
        }
        Ok(TxnWorkload {
            mode,
            keys,
            min_length: options.min_length,
            max_length: options.max_length,
            read: options.read,
            write: options.write,
            last_value: 0,
        })
    }

    /// Its mode.
    pub fn mode(&self) -> TxnMode {
        self.mode
    }
}

impl Default for TxnWorkload {
    fn default() -> Self {
        TxnWorkload::new(TxnOptions::default()).expect("the default options work")
    }
}

impl Workload for TxnWorkload {
    type Op = Txn;
    /// The transaction with what each of its reads returned.
    type Output = Txn;
    type Event = TxnEvent;

    fn next_op(&mut self, _client: ClientId, rng: &mut SimRng) -> Txn {
        let length = rng.between(self.min_length, self.max_length);
        let total = u64::from(self.read) + u64::from(self.write);
        (0..length)
            .map(|_| {
                let key = self.keys.pick(rng);
                let read = rng.below(total) < u64::from(self.read);
                match (self.mode, read) {
                    (TxnMode::ListAppend, true) => Mop::ReadList { key, value: None },
                    (TxnMode::RwRegister, true) => Mop::ReadRegister { key, value: None },
                    (mode, false) => {
                        self.last_value += 1;
                        let value = self.last_value;
                        match mode {
                            TxnMode::ListAppend => Mop::Append { key, value },
                            TxnMode::RwRegister => Mop::Write { key, value },
                        }
                    }
                }
            })
            .collect()
    }

    /// Written values stay unique over the whole run, as Elle's inference needs.
    fn continue_from(&mut self, previous: &Self) {
        self.last_value = previous.last_value;
    }

    fn record(&self, process: u64, op: &Txn, outcome: Outcome<'_, Txn>, at: SimTime) -> TxnEvent {
        let txn = match outcome {
            Outcome::Ok(done) => done.clone(),
            _ => op.clone(),
        };
        TxnEvent { process, kind: outcome.kind(), txn, time: Some(at) }
    }
}

impl ScenarioWorkload for TxnWorkload {
    const NAME: &'static str = "transactions";
    type Options = TxnOptions;

    fn configure(options: TxnOptions) -> Result<Self, String> {
        TxnWorkload::new(options)
    }

    fn checkers<N: SimNode<Workload = Self>>() -> Vec<CheckerSpec<N>> {
        vec![
            CheckerSpec {
                name: "serializability",
                doc: "No cycle of ww, wr and rw dependencies between committed transactions (Elle: G0, G1c, G-single, G2), no aborted or intermediate read (G1a, G1b)",
                make: || Box::new(TxnChecker { consistency: Consistency::Serializable }),
            },
            CheckerSpec {
                name: "strict_serializability",
                doc: "Serializability in an order that respects real time and each process's order (Elle's -realtime and -process cycles)",
                make: || Box::new(TxnChecker { consistency: Consistency::StrictSerializable }),
            },
        ]
    }
}
