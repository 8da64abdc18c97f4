//! Protocols for dsim. Each module is one protocol: its node, its invariants (an observer
//! checked online), and its known-bug switches. Shared by them, and by protocols defined
//! outside this crate: [`kv`], the key-value state machine with client sessions;
//! [`codec`], the byte encoding of what goes on disk; and [`durable`], checksummed record
//! logs and cells over a node's disk with their recovery after a crash.
#![forbid(unsafe_code)]

pub mod chain;
pub mod codec;
pub mod durable;
pub mod gossip;
pub mod kv;
pub mod membership;
pub mod paxos;
pub mod peer_sampling;
pub mod primary_backup;
pub mod quorum;
pub mod raft;
pub mod swim;
pub mod timing;
pub mod two_phase_commit;
