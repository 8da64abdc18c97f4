//! dsim's runner: the registry of protocols by name (the bundled ones and a user's own),
//! and running one plan of a scenario: build the simulation, run it, check it, and gather
//! the record that every report prints. The scenario format knows only the catalogue of
//! what each protocol declares; this crate pairs it with the code that runs it.
#![forbid(unsafe_code)]

pub mod registry;
pub mod run;

pub use registry::{Entry, Registry};
pub use run::{RunOutput, RunSettings};
