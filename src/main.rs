//! The `dsim` binary: the bundled protocols behind the command line.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(dsim::main_with(runner::Registry::bundled()))
}
