//! dsim's core: a single-threaded discrete-event engine under virtual time, the node API
//! that protocols implement, the simulated network, disks, clocks and faults, simulated
//! clients that record Jepsen-style histories, and the checkers.
//!
//! This crate does no IO: it cannot fail on a file or a socket. The `dsim` binary reads
//! files and prints; the engine only computes.
#![forbid(unsafe_code)]

pub mod check;
pub mod hash;
pub mod history;
pub mod rng;
pub mod time;

pub use time::{SimDuration, SimTime};
