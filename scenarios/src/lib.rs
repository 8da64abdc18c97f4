//! dsim's scenario files: a TOML schema, loading with `extends`, validation against a
//! catalogue of protocols (their options, bug switches and workloads) that reports every
//! problem at `file:line:col`, and swarm knobs drawn per seed into a plan of one run.
//! Running a plan is the `runner` crate's.
#![forbid(unsafe_code)]

pub mod bundled;
pub mod catalogue;
pub mod combinations;
pub mod json_schema;
pub mod keys;
pub mod load;
pub mod overrides;
pub mod phases;
pub mod plan;
pub mod reader;
pub mod reference;
pub mod resolve;
pub mod schema;
pub mod tree;

pub use catalogue::{Catalogue, ProtocolEntry, WorkloadEntry};
pub use load::{Located, ScenarioError, load, load_str, load_with, locate};
pub use plan::RunPlan;
pub use schema::Scenario;
