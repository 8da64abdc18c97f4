//! dsim's scenario files: a TOML schema, loading with `extends`, validation that reports
//! every problem at `file:line:col`, swarm knobs drawn per seed, the protocol registry, and
//! running one seed of a scenario to its record.
#![forbid(unsafe_code)]

pub mod combinations;
pub mod load;
pub mod plan;
pub mod reader;
pub mod registry;
pub mod run;
pub mod schema;
pub mod tree;

pub use load::{ScenarioError, load, load_str};
pub use plan::RunPlan;
pub use registry::{ProtocolEntry, Registry};
pub use run::{RunOutput, RunSettings};
pub use schema::Scenario;
