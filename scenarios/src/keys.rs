//! Every key of the scenario format, declared once: its type and range, whether it is a
//! swarm knob, its default and one doc line. The reader ([`crate::schema`]) takes the
//! keys each table may hold from here; the JSON Schema ([`crate::json_schema`]) and the
//! key tables of `docs/scenario-reference.md` ([`crate::reference`]) are generated from
//! here; `runner/tests/schema.rs` proves, key by key, that the reader accepts what is
//! declared (types, ranges, names, swarm forms) and refuses what is not, and that a
//! declared default is what the reader gives a key that is absent.
//!
//! A protocol's options and bug switches and a workload's options are not here: they are
//! the protocol's and the workload's own declarations (`declare_options!`,
//! `declare_bugs!`), read through the [`crate::Catalogue`].

use sim_core::announce::{CrashPoint, ProtocolEvent};
use sim_core::check::ModelKind;
use sim_core::faults::Partition;

/// How many nodes ids can name (`cluster.nodes` at most; memory bounds it first).
pub const MAX_NODES: i64 = u32::MAX as i64;

/// Whether a duration may be negative, or zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sign {
    /// Zero or more.
    NonNegative,
    /// More than zero.
    Positive,
    /// Any, e.g. a clock offset.
    Any,
}

/// A set of names a key takes one (or a list) of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names {
    /// The catalogue's protocols.
    Protocols,
    /// The bug switches of the scenario's protocol.
    BugSwitches,
    FaultActions,
    /// [`Partition::SCHEDULABLE`]: what `[[faults]]` may name.
    SchedulableKinds,
    /// [`Partition::DRAWABLE`]: what the nemesis draws from.
    DrawableKinds,
    /// [`ProtocolEvent::ALL`]: what `nemesis.crash_on` listens to.
    ProtocolEvents,
    /// [`CrashPoint::ALL`]: where a crash on an event lands.
    CrashPoints,
    /// `none` and [`ModelKind::SCENARIO`], the models a scenario's key-value workload fits.
    Models,
    Expectations,
}

/// `checks.expect`'s names.
pub const EXPECTATIONS: &[&str] = &["pass", "violation"];

impl Names {
    /// The names, in declaration order; those of a catalogue are the caller's to list.
    pub fn fixed(self) -> Option<Vec<&'static str>> {
        Some(match self {
            Names::Protocols | Names::BugSwitches => return None,
            Names::FaultActions => FAULT_ACTIONS.iter().map(|a| a.name).collect(),
            Names::SchedulableKinds => Partition::SCHEDULABLE.iter().map(Partition::name).collect(),
            Names::DrawableKinds => Partition::drawable_names(),
            Names::ProtocolEvents => ProtocolEvent::names(),
            Names::CrashPoints => CrashPoint::ALL.iter().map(|p| p.name()).collect(),
            Names::Models => std::iter::once("none")
                .chain(ModelKind::SCENARIO.iter().map(|m| m.name()))
                .collect(),
            Names::Expectations => EXPECTATIONS.to_vec(),
        })
    }
}

/// What a key holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Type {
    /// A table of the keys declared under it.
    Table,
    /// An array of tables (`[[key]]`) of the keys declared under it.
    Tables,
    /// A table of the protocol's declared options.
    ProtocolOptions,
    Str,
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    /// A number from 0 to 1.
    Probability,
    Duration(Sign),
    /// A duration, or a range `[min, max]` that each fault draws from anew (not a knob).
    DurationRange,
    /// A duration, or `"none"`.
    DurationOrNone,
    /// A duration (constant), or a table with `dist` ([`LATENCY_DISTS`]).
    Latency,
    Name(Names),
    NameList(Names),
    /// An array of integers from `min` to `max`.
    IntList {
        min: i64,
        max: i64,
    },
    Node,
    NodeList,
    /// A node, or an array of nodes (`faults.from`, `faults.to`: one node for a hold, a
    /// list for a one-way partition).
    NodeOrNodes,
    /// An array of arrays of nodes.
    NodeGroups,
    /// `"A..B"`, B excluded.
    SeedRange,
}

/// What an absent key means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Absent {
    /// Nothing: the key is unset (or required).
    Unset,
    /// This TOML value.
    Value(&'static str),
    /// Computed from other keys, as said.
    Text(&'static str),
}

/// One key of the format.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeySpec {
    /// `section.key`, or `key` at the top level.
    pub key: &'static str,
    pub ty: Type,
    /// A swarm knob: a value, `[low, high]` or `{ one_of = [...] }`.
    pub knob: bool,
    /// The reader refuses its table without it (for `protocol.name` and
    /// `cluster.nodes`: the merged scenario, after `extends`).
    pub required: bool,
    pub default: Absent,
    /// One doc line (Markdown).
    pub doc: &'static str,
}

impl KeySpec {
    /// The table it is in (`""` for the top level) and its own name.
    pub fn split(&self) -> (&'static str, &'static str) {
        self.key.rsplit_once('.').unwrap_or(("", self.key))
    }
}

const fn key(key: &'static str, ty: Type, default: Absent, doc: &'static str) -> KeySpec {
    KeySpec { key, ty, knob: false, required: false, default, doc }
}

const fn knob(key: &'static str, ty: Type, default: Absent, doc: &'static str) -> KeySpec {
    KeySpec { key, ty, knob: true, required: false, default, doc }
}

const fn required(key: &'static str, ty: Type, doc: &'static str) -> KeySpec {
    KeySpec { key, ty, knob: false, required: true, default: Absent::Unset, doc }
}

use Absent::{Text, Unset, Value};
use Type::*;

const RATE: Type = Float { min: 0.0, max: 1000.0 };
const PPM: Type = Float { min: -100_000.0, max: 100_000.0 };
const COUNT: Type = Int { min: 1, max: i64::MAX };

/// Every key a scenario may use, section by section, in the order the reference lists
/// them. The `[workload]` keys here are the clients' own, the same for every workload;
/// the rest of `[workload]` is the workload's declared options.
pub const KEYS: &[KeySpec] = &[
    key(
        "extends",
        Str,
        Unset,
        "A base scenario file, relative to this one; this file's keys override the base's, table by table. Chains of up to 8 files. A bare file name that is not beside this file names a bundled base (`extends = \"raft-base.toml\"`).",
    ),
    key("scenario", Table, Unset, "What the scenario is called."),
    key("scenario.name", Str, Text("the file name"), "Name in reports."),
    key("scenario.description", Str, Value("\"\""), "One line for `dsim scenarios`."),
    key(
        "protocol",
        Table,
        Unset,
        "The protocol under test, its options and its bug switches. **Required** (in the file or a base).",
    ),
    required("protocol.name", Name(Names::Protocols), "A protocol of `dsim protocols`."),
    key(
        "protocol.bugs",
        NameList(Names::BugSwitches),
        Value("[]"),
        "Known-bug switches to turn on (`--bug` adds more); see [Protocol options and bug switches](#protocol-options-and-bug-switches).",
    ),
    key(
        "protocol.buggify",
        Bool,
        Value("false"),
        "Let the protocol's buggify points fire (FoundationDB's BUGGIFY): each point the protocol asks is activated for the run with probability 0.25, and an activated point fires with probability 0.25 each time, from the seed's own stream; a firing makes the protocol do something legal but rare (Raft: skip a heartbeat round, send one entry where it could send many), counted under the point's name. Off, the run is the same event for event as without points.",
    ),
    key(
        "protocol.options",
        ProtocolOptions,
        Unset,
        "The protocol's options (see `dsim protocols`; unset options take their declared defaults); each a knob of the option's type. Combinations are checked at load: see [below](#protocol-options-and-bug-switches).",
    ),
    key("cluster", Table, Unset, "The nodes. **Required** (in the file or a base)."),
    KeySpec {
        key: "cluster.nodes",
        ty: Int { min: 1, max: MAX_NODES },
        knob: true,
        required: true,
        default: Unset,
        doc: "Nodes, with ids `0..nodes`; a swarm knob, drawn per seed (e.g. `[1, 7]` for every size from one node to seven, even sizes included). Node ids elsewhere in the scenario must exist at the smallest size drawn, `cluster.regions` needs a fixed size, and the protocol's options are checked at each end of the range. Bounded by memory, not by a fixed cap: a cluster whose engine state alone (`bytes per node` × nodes, about 1 KiB per node before what the protocol keeps) at the largest size exceeds the memory this machine has available is refused at load.",
    },
    key(
        "cluster.regions",
        IntList { min: 0, max: 255 },
        Unset,
        "A region per node (one entry per node); links between regions use `[network.wan]`.",
    ),
    key(
        "network",
        Table,
        Unset,
        "Every link's latency, loss and duplication, with overrides between regions and per link. Absent: 1ms, no loss, no duplication.",
    ),
    key("network.latency", Latency, Value("\"1ms\""), "Default one-way delay of every link."),
    knob("network.loss", Probability, Value("0.0"), "Chance a message is lost."),
    knob("network.duplicate", Probability, Value("0.0"), "Chance a message is delivered twice."),
    key(
        "network.wan",
        Table,
        Unset,
        "Links between different regions: `latency`, `loss`, `duplicate` (defaults as for `[network]`). Needs `cluster.regions`.",
    ),
    key("network.wan.latency", Latency, Value("\"1ms\""), "One-way delay between regions."),
    knob(
        "network.wan.loss",
        Probability,
        Value("0.0"),
        "Chance a message between regions is lost.",
    ),
    knob(
        "network.wan.duplicate",
        Probability,
        Value("0.0"),
        "Chance a message between regions is delivered twice.",
    ),
    key(
        "network.links",
        Tables,
        Value("[]"),
        "`[[network.links]]` overrides one link: `from`, `to`, `both_ways`, and its `latency`, `loss`, `duplicate` (defaults as for `[network]`).",
    ),
    required("network.links.from", Node, "Sending end of an overridden link."),
    required("network.links.to", Node, "Receiving end."),
    key("network.links.both_ways", Bool, Value("false"), "Override `to -> from` too."),
    key("network.links.latency", Latency, Value("\"1ms\""), "The link's one-way delay."),
    knob("network.links.loss", Probability, Value("0.0"), "The link's loss."),
    knob("network.links.duplicate", Probability, Value("0.0"), "The link's duplication."),
    key("clocks", Table, Unset, "Every node's clock. Absent: perfect clocks."),
    knob(
        "clocks.drift_ppm",
        PPM,
        Value("0.0"),
        "Clock rate error in parts per million, drawn for each node.",
    ),
    knob(
        "clocks.offset",
        Duration(Sign::Any),
        Value("\"0ns\""),
        "Initial clock offset (may be negative), drawn for each node.",
    ),
    key(
        "clocks.node",
        Tables,
        Value("[]"),
        "`[[clocks.node]]` with `node`, `drift_ppm`, `offset`: one node's clock, instead of `[clocks]`'s.",
    ),
    required("clocks.node.node", Node, "The node whose clock this is."),
    knob("clocks.node.drift_ppm", PPM, Value("0.0"), "Its rate error in parts per million."),
    knob("clocks.node.offset", Duration(Sign::Any), Value("\"0ns\""), "Its initial offset."),
    key(
        "disk",
        Table,
        Unset,
        "Every node's disk faults. Absent: perfect disks (a crash still loses unsynced writes).",
    ),
    knob(
        "disk.torn_write_probability",
        Probability,
        Value("0.0"),
        "Chance a crash lets a prefix of the first unsynced write persist.",
    ),
    knob(
        "disk.corrupt_read_probability",
        Probability,
        Value("0.0"),
        "Chance a read returns one flipped bit.",
    ),
    key(
        "nemesis",
        Table,
        Unset,
        "Faults drawn at random rates until `run.heal_at`. Absent: no random faults.",
    ),
    knob(
        "nemesis.crash_rate",
        RATE,
        Value("0.0"),
        "Crashes per second (cluster-wide) until `run.heal_at`.",
    ),
    key(
        "nemesis.restart_after",
        DurationRange,
        Value("[\"100ms\", \"1s\"]"),
        "How long a crashed node stays down.",
    ),
    knob("nemesis.pause_rate", RATE, Value("0.0"), "Pauses (GC stalls) per second."),
    key(
        "nemesis.pause_duration",
        DurationRange,
        Value("[\"100ms\", \"1s\"]"),
        "Length of a pause.",
    ),
    knob(
        "nemesis.partition_rate",
        RATE,
        Value("0.0"),
        "Partitions per second. A partition drawn while another is in force heals it first (and any fixed one).",
    ),
    key(
        "nemesis.partition_kinds",
        NameList(Names::DrawableKinds),
        Value("[\"isolate\", \"halves\", \"bridge\", \"ring\", \"mute-one\"]"),
        "Kinds the nemesis draws from (see [Partition kinds](#partition-kinds)). `isolate-leader` cuts off a node that believes it leads; `leader-minority` puts a leader on the minority side (both pick a random node when no node leads).",
    ),
    key(
        "nemesis.partition_duration",
        DurationRange,
        Value("[\"200ms\", \"2s\"]"),
        "How long a partition lasts; then a `heal` (of every partition in force).",
    ),
    knob("nemesis.clock_jump_rate", RATE, Value("0.0"), "Clock steps per second."),
    knob(
        "nemesis.clock_jump_max",
        Duration(Sign::NonNegative),
        Value("\"500ms\""),
        "Steps are uniform in ±this.",
    ),
    knob(
        "nemesis.max_down",
        Int { min: 0, max: MAX_NODES },
        Text("a minority, `(nodes-1)/2`"),
        "Most nodes crashed or paused at once (at most `cluster.nodes`).",
    ),
    knob(
        "nemesis.isolate_new_leader",
        Probability,
        Value("0.0"),
        "Chance that a node which has just become leader is isolated (for a `partition_duration`), as soon as `isolate_new_leader_after` later: leaders that win and lose the cluster before they can replicate.",
    ),
    key(
        "nemesis.isolate_new_leader_after",
        DurationRange,
        Value("[\"0ns\", \"30ms\"]"),
        "How soon after its election a new leader is cut off.",
    ),
    key(
        "nemesis.crash_on",
        NameList(Names::ProtocolEvents),
        Value("[]"),
        "Protocol events that may crash the node announcing them, until `run.heal_at`: `became_leader`, `voted` (the vote durable, its reply not sent), `appended` (written, not synced), `synced` (a sync just completed), `installing_snapshot`, `prepared` (a 2PC participant's yes vote durable, not sent). The node restarts `restart_after` later; `max_down` holds. Each crash counts `crash_on_<event>`.",
    ),
    knob(
        "nemesis.crash_on_probability",
        Probability,
        Value("0.05"),
        "Chance that an announcement of a `crash_on` event crashes its node.",
    ),
    knob(
        "nemesis.crash_on_point",
        Name(Names::CrashPoints),
        Value("\"event\""),
        "Where a crash on an event lands: `event`, at the announcement (the rest of the handler is lost: its disk writes and syncs, and every message and reply it queued, as they leave only when it returns); `handler_end`, once the handler has returned and its messages and replies have left.",
    ),
    key(
        "faults",
        Tables,
        Value("[]"),
        "`[[faults]]`: a fault at a fixed time; which fields each action takes: [Fault actions](#fault-actions).",
    ),
    required("faults.at", Duration(Sign::NonNegative), "When; before `run.duration`."),
    required(
        "faults.action",
        Name(Names::FaultActions),
        "What happens: see [Fault actions](#fault-actions).",
    ),
    key(
        "faults.node",
        Node,
        Text("random, for `isolate` and `mute-one`"),
        "The node (crash, restart, pause, clock-jump, clock-drift, disk; the victim of isolate, mute-one).",
    ),
    key("faults.duration", Duration(Sign::NonNegative), Unset, "Length of a `pause`."),
    key(
        "faults.kind",
        Name(Names::SchedulableKinds),
        Unset,
        "A partition's kind: see [Partition kinds](#partition-kinds).",
    ),
    key(
        "faults.groups",
        NodeGroups,
        Unset,
        "For `groups`: nodes in different groups cannot talk (unlisted nodes are a group of their own). For `bridge`: its two sides (the nodes in neither are the bridge; random sides when absent).",
    ),
    key("faults.order", NodeList, Text("random"), "For `ring`: the nodes in ring order."),
    key(
        "faults.from",
        NodeOrNodes,
        Unset,
        "`hold`/`release`: the link's sender (a node); `one-way`: the senders cut off (an array).",
    ),
    key(
        "faults.to",
        NodeOrNodes,
        Unset,
        "`hold`/`release`: the link's receiver (a node); `one-way`: the receivers (an array).",
    ),
    key("faults.delta", Duration(Sign::Any), Unset, "A `clock-jump`'s step (may be negative)."),
    key("faults.drift_ppm", PPM, Unset, "A `clock-drift`'s new rate, in parts per million."),
    key(
        "faults.torn_write_probability",
        Probability,
        Value("0.0"),
        "A `disk` fault's new torn-write chance for the node.",
    ),
    key(
        "faults.corrupt_read_probability",
        Probability,
        Value("0.0"),
        "A `disk` fault's new corrupt-read chance for the node.",
    ),
    key(
        "workload",
        Table,
        Text("the defaults below, for a protocol that serves clients"),
        "The clients: the keys below, the same for every workload, and the workload's own options (see [Workloads](#workloads)). An absent `[workload]` is the same as an empty one: 3 clients with the defaults; for a protocol that serves no client requests (SWIM), no clients, and a `[workload]` is refused.",
    ),
    knob("workload.clients", Int { min: 1, max: 10_000 }, Value("3"), "Concurrent clients."),
    key(
        "workload.think_time",
        Latency,
        Value("{ dist = \"uniform\", min = \"1ms\", max = \"10ms\" }"),
        "Pause between a client's operations.",
    ),
    knob(
        "workload.timeout",
        Duration(Sign::Positive),
        Value("\"1s\""),
        "An operation with no answer by then is `info`. Positive, and at least `checks.liveness_bound`.",
    ),
    knob(
        "workload.retry_after",
        Duration(Sign::Positive),
        Value("\"200ms\""),
        "Re-send to another node after this long (same request id). Positive.",
    ),
    key("workload.latency", Latency, Value("\"1ms\""), "One-way client–node delay."),
    key("workload.ops", COUNT, Text("unlimited"), "Stop after this many operations."),
    key("checks", Table, Unset, "What is checked; absent keys take their defaults."),
    key(
        "checks.linearizability",
        Name(Names::Models),
        Text("`cas-register`, or `kv` with appends; `none` for a workload without models"),
        "Model the history is checked against.",
    ),
    key("checks.invariants", Bool, Value("true"), "Check the protocol's invariants online."),
    key(
        "checks.convergence",
        Bool,
        Value("false"),
        "At the end, every live replica holds the same state (protocols that expose a digest of their replicas' state: Raft, Multi-Paxos, primary-backup and chain; for the quorum store, which places each key on N of the nodes, every replica of each key holds the same value); a replica that has not caught up fails the run as a liveness failure (`convergence`).",
    ),
    key(
        "checks.liveness_bound",
        DurationOrNone,
        Text("the shortest `workload.timeout`, with a workload"),
        "After `run.heal_at`, every operation must complete (ok or fail) within this, and some operation must complete ok. At most the shortest `workload.timeout` a seed can draw: an operation its client gave up on (`info`) counts as a failure, so a longer bound could never be what is checked. Clients stop invoking this long before the end, so it must be shorter than `run.duration - run.heal_at` (else nothing would be checked: refused at load).",
    ),
    key(
        "checks.budget",
        COUNT,
        Value("50000000"),
        "Linearizability search steps before \"unknown\".",
    ),
    key(
        "checks.expect",
        Name(Names::Expectations),
        Value("\"pass\""),
        "`violation`: the scenario's configuration does not promise what its checks check (e.g. a quorum store with R + W <= N, a sloppy quorum, last-writer-wins under clock skew). `dsim fuzz` then reports its safety violations as expected (`EXPECTED`, not `FAIL`) and fails (exit 1) only if none of its seeds has one; any other failure (liveness, an error) still fails. `dsim merge` does not know what a scenario expects.",
    ),
    key(
        "phases",
        Tables,
        Unset,
        "`[[phases]]`: the run as phases in order, each with its own duration, nemesis, workload, faults and checks; see [Phases](#phases). Without it the run is one phase: the top-level sections from 0 to `run.duration`.",
    ),
    required(
        "phases.name",
        Str,
        "The phase's name, unique: a letter, then letters, digits, `_`, `-`. It names the phase in reports and in `--set phases.NAME.KEY=VALUE`.",
    ),
    required(
        "phases.duration",
        Duration(Sign::Positive),
        "How long the phase lasts; the run lasts as long as its phases together.",
    ),
    key(
        "phases.heal",
        Bool,
        Value("false"),
        "At the phase's end, heal everything as the fault `heal-all` does (partitions, holds, crashed and paused nodes). The end of the last phase that heals is the run's `heal_at`.",
    ),
    key(
        "phases.nemesis",
        Table,
        Text("the top-level `[nemesis]`"),
        "The phase's nemesis: the top-level `[nemesis]` with these keys over it, key by key; it runs from the phase's start to its end.",
    ),
    key(
        "phases.workload",
        Table,
        Text("the top-level `[workload]`"),
        "The phase's clients and operations (op mix, keys, distribution, think time, retry, latency): the top-level `[workload]` with these keys over it, from the phase's start. `clients`, `ops` and `timeout` are the run's, refused here. Needs a top-level `[workload]`.",
    ),
    key(
        "phases.faults",
        Tables,
        Unset,
        "`[[phases.faults]]`: a fault at a fixed time from the phase's start (`at` before the phase's `duration`), with the keys of `[[faults]]`.",
    ),
    key(
        "phases.checks",
        Table,
        Unset,
        "What the phase checks of the operations invoked in it, as `PHASE.CHECK` liveness failures (exit 2).",
    ),
    key(
        "phases.checks.liveness_bound",
        Duration(Sign::Positive),
        Unset,
        "Every operation invoked in the phase completes (ok or fail) within this, and some operation completes ok in it; at most the shortest `workload.timeout`.",
    ),
    key(
        "phases.checks.max_unavailability",
        Duration(Sign::Positive),
        Unset,
        "No stretch of the phase (from its start to the first operation completing ok, between two, from the last to its end or to when the clients stop invoking) longer than this without an operation completing ok.",
    ),
    key("run", Table, Unset, "How long, and which seeds."),
    key(
        "run.duration",
        Duration(Sign::Positive),
        Value("\"10s\""),
        "Simulated time to run. With `[[phases]]`, their durations together: the file that gives the phases (or a `--set`) may not set it; a base file's is replaced.",
    ),
    key(
        "run.heal_at",
        Duration(Sign::NonNegative),
        Text("70% of `run.duration`"),
        "End of the safety phase: a `heal-all` (partitions heal, holds are released, crashed nodes restart, paused ones resume) and the nemesis stops. At most `run.duration`; at `run.duration`, no heal-all.",
    ),
    key(
        "run.max_events",
        COUNT,
        Value("100000000"),
        "Events before the run stops. A run that reaches the limit before `run.duration` fails with `event_limit` (a liveness failure, exit 2): it proved nothing.",
    ),
    key(
        "run.max_pending_events",
        COUNT,
        Value("1000000"),
        "Events that may wait in the queue at once (messages in flight, timers, client wake-ups): the bound on a run's memory (about 150 bytes an event: 10,000,000 pending took 1.5 GB). A run with more fails with `event_queue` (a liveness failure, exit 2), naming the time: a protocol whose messages multiply faster than they are delivered. Raise it for a cluster that really keeps that many in flight (`scale/gossip-broadcast-1m` sets 20000000).",
    ),
    key(
        "run.seeds",
        SeedRange,
        Value("\"0..100\""),
        "Default seeds of `dsim fuzz` (and `dsim run`'s default: the first).",
    ),
];

/// The keys directly in table `table` (`""` for the top level), as the reader allows them.
pub fn keys_in(table: &str) -> Vec<&'static str> {
    KEYS.iter().filter(|k| k.split().0 == table).map(|k| k.split().1).collect()
}

/// The declaration of `key`.
pub fn spec(key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.key == key)
}

/// A fault action of `[[faults]]`, or a partition kind: the fields it needs (beside `at`,
/// `action` and, for a partition, `kind`) and those it may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldsSpec {
    pub name: &'static str,
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
    pub doc: &'static str,
}

/// Every fault action, with its fields (beside `at` and `action`).
pub const FAULT_ACTIONS: &[FieldsSpec] = &[
    FieldsSpec {
        name: "crash",
        required: &["node"],
        optional: &[],
        doc: "The node stops and loses everything it has not synced to its disk.",
    },
    FieldsSpec {
        name: "restart",
        required: &["node"],
        optional: &[],
        doc: "A crashed node starts again from its disk (nothing if it is up).",
    },
    FieldsSpec {
        name: "pause",
        required: &["node", "duration"],
        optional: &[],
        doc: "The node freezes for `duration` (a GC pause): its events wait, its clock runs on.",
    },
    FieldsSpec {
        name: "partition",
        required: &["kind"],
        optional: &["node", "groups", "order", "from", "to"],
        doc: "Cut links, on top of any partition in force; the fields its `kind` takes: [Partition kinds](#partition-kinds).",
    },
    FieldsSpec {
        name: "heal",
        required: &[],
        optional: &[],
        doc: "Remove every partition in force, of every kind, fixed or the nemesis's. Holds stay.",
    },
    FieldsSpec {
        name: "hold",
        required: &["from", "to"],
        optional: &[],
        doc: "Hold back the messages arriving on the link `from -> to` (one node each), in order, until a `release`.",
    },
    FieldsSpec {
        name: "release",
        required: &["from", "to"],
        optional: &[],
        doc: "Deliver the held messages of `from -> to` now, in arrival order (a partition in force still drops them), and stop holding it.",
    },
    FieldsSpec {
        name: "clock-jump",
        required: &["node", "delta"],
        optional: &[],
        doc: "Step the node's clock by `delta` (may be negative).",
    },
    FieldsSpec {
        name: "clock-drift",
        required: &["node", "drift_ppm"],
        optional: &[],
        doc: "Set the node's clock rate error to `drift_ppm` from now on.",
    },
    FieldsSpec {
        name: "disk",
        required: &["node"],
        optional: &["torn_write_probability", "corrupt_read_probability"],
        doc: "Set the node's disk fault chances from now on (each 0 when absent).",
    },
    FieldsSpec {
        name: "heal-all",
        required: &[],
        optional: &[],
        doc: "What `run.heal_at` does, now: heal every partition, release every hold, restart crashed nodes, resume paused ones, and stop the nemesis.",
    },
];

/// Every kind of [`Partition::SCHEDULABLE`], in its order, with its fields.
pub const PARTITION_KINDS: &[FieldsSpec] = &[
    FieldsSpec {
        name: "isolate",
        required: &[],
        optional: &["node"],
        doc: "One node (`node`, or a random one) cannot send to or hear from any other.",
    },
    FieldsSpec {
        name: "mute-one",
        required: &[],
        optional: &["node"],
        doc: "One node (`node`, or a random one) hears everyone, but nothing it sends arrives.",
    },
    FieldsSpec {
        name: "halves",
        required: &[],
        optional: &[],
        doc: "A random half of the nodes (rounded down) and the rest cannot talk.",
    },
    FieldsSpec {
        name: "bridge",
        required: &[],
        optional: &["groups"],
        doc: "Two sides that cannot talk to each other (`groups = [[...], [...]]`, or random sides leaving one node out) and the nodes in neither, the bridge, which talk to both.",
    },
    FieldsSpec {
        name: "ring",
        required: &[],
        optional: &["order"],
        doc: "The nodes on a ring (`order`, or a random one); each reaches only the ⌈⌊n/2⌋/2⌉ nearest on either side.",
    },
    FieldsSpec {
        name: "isolate-leader",
        required: &[],
        optional: &[],
        doc: "`isolate` of a node that believes it leads when the fault fires (a random node when none does).",
    },
    FieldsSpec {
        name: "leader-minority",
        required: &[],
        optional: &[],
        doc: "A node that believes it leads and random others, a minority, are cut from the majority both ways.",
    },
    FieldsSpec {
        name: "groups",
        required: &["groups"],
        optional: &[],
        doc: "Nodes in different `groups` cannot talk; unlisted nodes are a group of their own.",
    },
    FieldsSpec {
        name: "one-way",
        required: &["from", "to"],
        optional: &[],
        doc: "Messages from each node of `from` to each node of `to` are cut; the other direction flows.",
    },
];

/// One latency distribution: its fields (durations unless said), each a knob.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyDist {
    pub name: &'static str,
    /// Each field: its name, whether it is needed, its type and its default.
    pub fields: &'static [(&'static str, bool, Type, Absent)],
}

const SPAN: Type = Duration(Sign::NonNegative);

/// The latency tables' `dist`s, with their fields.
pub const LATENCY_DISTS: &[LatencyDist] = &[
    LatencyDist { name: "constant", fields: &[("value", true, SPAN, Unset)] },
    LatencyDist {
        name: "uniform",
        fields: &[("min", true, SPAN, Unset), ("max", true, SPAN, Unset)],
    },
    LatencyDist {
        name: "normal",
        fields: &[
            ("mean", true, SPAN, Unset),
            ("stddev", true, SPAN, Unset),
            ("min", false, SPAN, Value("\"0ns\"")),
        ],
    },
    LatencyDist {
        name: "lognormal",
        fields: &[
            ("median", true, SPAN, Unset),
            ("sigma", false, Float { min: 0.0, max: 10.0 }, Value("0.5")),
        ],
    },
    LatencyDist {
        name: "pareto",
        fields: &[
            ("scale", true, SPAN, Unset),
            ("shape", false, Float { min: 0.01, max: 100.0 }, Value("2.0")),
            ("max", false, SPAN, Value("\"10s\"")),
        ],
    },
];

/// The latency distributions by name.
pub fn latency_names() -> Vec<&'static str> {
    LATENCY_DISTS.iter().map(|d| d.name).collect()
}

/// The fields a latency table of `dist` may hold, `dist` first.
pub fn latency_fields(dist: &str) -> Vec<&'static str> {
    let fields = LATENCY_DISTS.iter().find(|d| d.name == dist).map_or(&[][..], |d| d.fields);
    std::iter::once("dist").chain(fields.iter().map(|f| f.0)).collect()
}
