//! The `dsim` command line as a library, so that a crate with its own protocols can get the
//! whole command line for them:
//!
//! ```no_run
//! use runner::Registry;
//! // let registry = Registry::bundled().with::<my_crate::MyProtocol>();
//! let registry = Registry::bundled();
//! std::process::exit(i32::from(dsim::main_with(registry)));
//! ```
#![forbid(unsafe_code)]

pub mod bench;
mod campaign;
mod check;
pub mod cli;
mod compare;
mod guided;
mod isolate;
mod output;
mod see;
mod shard;
pub mod shrink;
mod tally;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use runner::Registry;
use scenarios::Scenario;
use sim_core::protocol::OptionSpec;
use std::fmt;
use std::path::Path;

/// An error with the exit code it ends the program with.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Bad input or usage: exit code 3.
    pub fn input(message: impl Into<String>) -> Self {
        Failure { code: 3, message: message.into() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub const EXIT_INTERNAL: u8 = 101;

/// `dsim ... | head` closes the pipe early: stop as a SIGPIPE would, without the panic
/// message that `print!` on a closed stdout would otherwise produce.
fn exit_quietly_on_broken_pipe() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info.to_string();
            if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
                std::process::exit(0);
            }
            previous(info);
        }));
    });
}

/// Parse the process arguments and run; returns the exit code.
pub fn main_with(registry: Registry) -> u8 {
    main_from(registry, std::env::args_os())
}

/// Parse `args` (the first is the program name) and run; returns the exit code.
pub fn main_from<I, T>(registry: Registry, args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    exit_quietly_on_broken_pipe();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 3 } else { 0 };
        }
    };
    output::set_style(output::Style {
        color: output::color_wanted(
            &cli.color,
            std::env::var("NO_COLOR").ok().as_deref(),
            std::env::var("TERM").ok().as_deref(),
            output::stdout_is_terminal(),
        ),
        quiet: cli.quiet,
        verbose: cli.verbose,
    });
    match run(cli, &registry) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.code
        }
    }
}

fn run(cli: Cli, registry: &Registry) -> Result<u8, Failure> {
    match cli.command {
        Command::Run(args) if args.dry_run => shrink::dry_run(&args, registry),
        Command::Run(args) => campaign::run_one(args, registry),
        Command::Shrink(args) => shrink::shrink_command(args, registry),
        Command::Fuzz(args) => campaign::fuzz(args, registry),
        Command::Replay(args) => campaign::replay(args, registry),
        Command::Merge(args) => campaign::merge(args),
        Command::Compare(args) => compare::compare(args, registry),
        Command::Check(args) => check::check(args),
        Command::Bench(args) => bench::bench(&args),
        Command::Scenarios(args) => list_scenarios(&args, registry),
        Command::Protocols { json } => {
            write_stdout(list_protocols(registry, json).as_bytes())?;
            Ok(0)
        }
        Command::IsolatedWorker(args) => isolate::worker(args, registry),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "dsim", &mut script);
            write_stdout(&script)?;
            Ok(0)
        }
    }
}

/// Write a command's whole output to standard output. A reader that went away
/// (`dsim ... | head`) is not an error; any other failure (a full disk) is reported.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::input(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

/// The directories `DSIM_SCENARIO_PATH` names (separated as in `PATH`): searched, in
/// order, for a scenario named on the command line before the bundled ones.
pub(crate) fn scenario_dirs() -> Vec<std::path::PathBuf> {
    std::env::var_os("DSIM_SCENARIO_PATH")
        .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect())
        .unwrap_or_default()
}

fn scenario_failure(e: &scenarios::ScenarioError) -> Failure {
    Failure::input(e.to_string().trim_start_matches("error: ").to_owned())
}

/// Load the scenario `argument` names (a file, or a scenario by name) with the `--set`
/// overrides `sets`, or fail with every problem found (exit 3).
pub(crate) fn load_scenario(
    argument: &Path,
    sets: &[String],
    registry: &Registry,
) -> Result<Scenario, Failure> {
    let located =
        scenarios::locate(argument, &scenario_dirs()).map_err(|e| scenario_failure(&e))?;
    scenarios::load_with(&located.path, &located.text, sets, registry.catalogue())
        .map_err(|e| scenario_failure(&e))
}

/// `dsim scenarios`: those of `DSIM_SCENARIO_PATH`, then the bundled ones a name there
/// does not hide, that load on their own (a base for `extends` alone does not); or, with
/// `--show NAME`, the TOML of one; or, with `--schema`, the JSON Schema of the format.
fn list_scenarios(args: &cli::ScenariosArgs, registry: &Registry) -> Result<u8, Failure> {
    if args.schema {
        write_stdout(scenarios::json_schema::text(registry.catalogue()).as_bytes())?;
        return Ok(0);
    }
    let dirs = scenario_dirs();
    if let Some(name) = &args.show {
        let located =
            scenarios::locate(Path::new(name), &dirs).map_err(|e| scenario_failure(&e))?;
        // A bundled file names the schema where the repository keeps it; a copy names it
        // beside itself, where `dsim scenarios --schema > dsim-scenario.schema.json` puts it.
        let text = match located.text.strip_prefix("#:schema ../dsim-scenario.schema.json\n") {
            Some(rest) if scenarios::bundled::is_bundled(&located.path) => {
                format!("#:schema ./dsim-scenario.schema.json\n{rest}")
            }
            _ => located.text,
        };
        write_stdout(text.as_bytes())?;
        return Ok(0);
    }
    let mut listing = String::new();
    let mut seen: Vec<String> = Vec::new();
    for name in scenarios::load::known_names(&dirs) {
        if seen.contains(&name) {
            continue;
        }
        let Ok(located) = scenarios::locate(Path::new(&name), &dirs) else { continue };
        seen.push(name.clone());
        if let Ok(s) = scenarios::load_str(&located.path, &located.text, registry.catalogue()) {
            let from = if scenarios::bundled::is_bundled(&located.path) {
                String::new()
            } else {
                format!(" ({})", located.path.display())
            };
            listing.push_str(&format!("{name:<28} {:<15} {}{from}\n", s.protocol, s.description));
        }
    }
    write_stdout(listing.as_bytes())?;
    Ok(0)
}

fn options_json(options: &[OptionSpec]) -> Vec<serde_json::Value> {
    options
        .iter()
        .map(|o| {
            serde_json::json!({
                "name": o.name, "type": o.default.type_name(), "default": o.default.to_string(), "doc": o.doc,
            })
        })
        .collect()
}

fn options_text(options: &[OptionSpec], out: &mut String) {
    for o in options {
        *out += &format!(
            "    {:<24} {:<9} default {:<10} {}\n",
            o.name,
            o.default.type_name(),
            o.default.to_string(),
            o.doc
        );
    }
}

fn list_protocols(registry: &Registry, json: bool) -> String {
    if json {
        let protocols: Vec<serde_json::Value> = registry
            .catalogue()
            .entries()
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "summary": e.summary,
                    "options": options_json(&e.options),
                    "bugs": e.bugs.iter().map(|b| serde_json::json!({"name": b.name, "doc": b.doc})).collect::<Vec<_>>(),
                    "properties": e.properties.iter().map(|p| serde_json::json!({
                        "name": p.name, "expect": p.expect.name(), "doc": p.doc,
                    })).collect::<Vec<_>>(),
                    "workload": {
                        "name": e.workload.name,
                        "options": options_json(&e.workload.options),
                        "checkers": e.workload.checkers.iter().map(|(name, doc)| serde_json::json!({"name": name, "doc": doc})).collect::<Vec<_>>(),
                        "linearizability": e.workload.has_models,
                    },
                })
            })
            .collect();
        return serde_json::to_string_pretty(&protocols).expect("plain JSON") + "\n";
    }
    let mut out = String::new();
    for e in registry.catalogue().entries() {
        out += &format!("{}\n  {}\n", e.name, e.summary);
        if !e.options.is_empty() {
            out += "  options:\n";
            options_text(&e.options, &mut out);
        }
        if !e.bugs.is_empty() {
            out += "  known-bug switches (--bug NAME):\n";
            for b in &e.bugs {
                out += &format!("    {:<24} {}\n", b.name, b.doc);
            }
        }
        if !e.properties.is_empty() {
            out += "  properties:\n";
            for p in &e.properties {
                out += &format!("    {:<24} {:<9} {}\n", p.name, p.expect.name(), p.doc);
            }
        }
        let w = &e.workload;
        out += &format!("  workload {} ([workload] keys beside the clients' own):\n", w.name);
        options_text(&w.options, &mut out);
        for (name, doc) in &w.checkers {
            out += &format!("    checker {name:<16} {doc}\n");
        }
    }
    out
}
