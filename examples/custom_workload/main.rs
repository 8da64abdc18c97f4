//! A protocol with a workload and a checker of its own (not key-value), defined outside
//! dsim's crates, with the whole `dsim` command line for it:
//!
//! ```sh
//! cargo run --example custom_workload -- fuzz examples/custom_workload/scenario.toml
//! cargo run --example custom_workload -- fuzz examples/custom_workload/scenario.toml --bug local_tickets
//! ```

mod tickets;

use runner::Registry;

fn main() -> std::process::ExitCode {
    let registry = Registry::bundled().with::<tickets::Dispenser>();
    std::process::ExitCode::from(dsim::main_with(registry))
}
