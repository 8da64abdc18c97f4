//! Protocols for dsim. Each module is one protocol: its node, its invariants (an observer
//! checked online), and its known-bug switches.
#![forbid(unsafe_code)]

pub mod codec;
pub mod kv;
pub mod paxos;
pub mod primary_backup;
pub mod raft;
