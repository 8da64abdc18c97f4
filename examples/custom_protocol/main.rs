//! A protocol defined outside dsim's `protocols` crate, with the whole `dsim` command line
//! for it. Run it like `dsim`:
//!
//! ```sh
//! cargo run --example custom_protocol -- run examples/custom_protocol/scenario.toml
//! cargo run --example custom_protocol -- protocols
//! ```

mod single_copy;

use runner::Registry;

fn main() -> std::process::ExitCode {
    let registry = Registry::bundled().with::<single_copy::SingleCopy>();
    std::process::ExitCode::from(dsim::main_with(registry))
}
