//! dsim's core: a single-threaded discrete-event engine under virtual time, the node API
//! that protocols implement, the simulated network, disks, clocks and faults, simulated
//! clients that record Jepsen-style histories, and the checkers.
//!
//! This crate does no IO: it cannot fail on a file or a socket. The `dsim` binary reads
//! files and prints; the engine only computes.
#![forbid(unsafe_code)]

pub mod announce;
pub mod buggify;
pub mod check;
pub mod checker;
pub mod client;
pub mod clock;
pub mod coverage;
pub mod disk;
pub mod engine;
pub mod faults;
pub mod hash;
pub mod history;
pub mod kv;
pub mod latency;
pub mod names;
pub mod network;
pub mod node;
pub mod protocol;
mod queue;
pub mod record;
pub mod rng;
pub mod selfcheck;
pub mod time;
pub mod toys;
pub mod trace;
pub mod txn;
pub mod workload;

pub use engine::{
    EngineStats, EventView, NoObserver, Nodes, Observer, RunLimits, SimBuilder, Simulation,
    StopReason, Violation,
};
pub use queue::Position;
pub use time::{SimDuration, SimTime};
