#![forbid(unsafe_code)]
pub mod raft;
