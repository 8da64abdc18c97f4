//! The command line, as clap parses it. `validate` turns raw arguments into settings the
//! rest of the program trusts.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  dsim run scenarios/examples/raft-steady.toml --seed 7
  dsim fuzz scenarios/examples/raft-swarm.toml --count 1000 --csv report.csv
  dsim replay scenarios/examples/raft-swarm.toml --seed 7 --trace trace.jsonl
  dsim check history.edn --model cas-register

Exit codes: 0 pass, 1 safety violation, 2 liveness failure, 3 bad input or usage,
101 internal error, 130 interrupted (the reports hold every seed that finished).";

/// dsim: a deterministic distributed-system simulator.
///
/// Runs protocol implementations under seeded network, process, disk and clock faults,
/// and checks what clients saw (linearizability) and what nodes hold (invariants). The
/// same seed always gives the same run, event for event.
#[derive(Debug, Parser)]
#[command(name = "dsim", version, after_help = EXAMPLES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one seed of a scenario and print its summary.
    #[command(
        after_help = "Examples:\n  dsim run scenarios/examples/raft-steady.toml\n  dsim run scenarios/examples/pb-faults.toml --seed 2 --bug backup_reads --history h.jsonl"
    )]
    Run(RunArgs),
    /// Run a campaign of many seeds over all cores.
    #[command(
        after_help = "Examples:\n  dsim fuzz scenarios/examples/raft-swarm.toml --count 1000\n  dsim fuzz a.toml b.toml --seeds 0..500 --jobs 2 --csv out.csv --junit out.xml\n  dsim fuzz raft-swarm.toml --count 10000 --shard 3/8 --json shard3.json\n\nOutput files are byte-identical for any --jobs. --shard I/N runs every N-th seed\nstarting at the I-th, so a CI matrix, Kubernetes indexed Jobs or a Slurm array can\nspread one campaign; `dsim merge` joins the shard reports."
    )]
    Fuzz(FuzzArgs),
    /// Run one seed again, bit for bit, optionally twice in lockstep or with a trace.
    #[command(
        after_help = "Examples:\n  dsim replay scenarios/examples/raft-swarm.toml --seed 7\n  dsim replay raft-swarm.toml --seed 7 --check-determinism\n  dsim replay raft-swarm.toml --seed 7 --trace trace.jsonl\n  dsim replay raft-swarm.toml --seed 8 --bug stale_local_read --perfetto p.json --svg m.svg --report report/"
    )]
    Replay(ReplayArgs),
    /// Join the JSON reports of campaign shards into the report of the whole campaign.
    #[command(
        after_help = "Example:\n  dsim merge shard0.json shard1.json --csv all.csv --json all.json"
    )]
    Merge(MergeArgs),
    /// Check a recorded history (Jepsen EDN or dsim JSON lines) for linearizability, or a
    /// transactional (:txn) one for serializability.
    #[command(
        after_help = "Examples:\n  dsim check history.edn --model cas-register\n  dsim check run.jsonl --model kv --html violation.html\n  dsim check txn.edn --consistency serializable\n\nExit codes: 0 linearizable (or serializable), 1 not, 2 unknown (budget exhausted), 3 bad input."
    )]
    Check(CheckArgs),
    /// Measure the engine's and the checker's speed.
    #[command(
        after_help = "Examples:\n  dsim bench engine\n  dsim bench engine --events 20000000\n  dsim bench engine --nodes 1000000\n  dsim bench checker --operations 100000"
    )]
    Bench(BenchArgs),
    /// List the bundled scenarios.
    #[command(
        after_help = "Examples:\n  dsim scenarios\n  dsim fuzz $(dsim scenarios | grep raft | cut -d' ' -f1) --count 100"
    )]
    Scenarios,
    /// List the protocols: options, known-bug switches, properties, and their workload's
    /// options and checkers.
    #[command(
        after_help = "Examples:\n  dsim protocols\n  dsim protocols --json | jq '.[].bugs[].name'"
    )]
    Protocols {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  dsim completions bash > /etc/bash_completion.d/dsim")]
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// Turn on a protocol's known-bug switch (repeatable), over what the file says.
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// The seed (default: the first of the scenario's `run.seeds`).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Write the client history as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Write every event as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub see: SeeArgs,
}

/// Ways to see one run: Perfetto, the message diagram, the HTML report.
#[derive(Debug, Args)]
pub struct SeeArgs {
    /// Write Chrome trace-event JSON, to open in ui.perfetto.dev.
    #[arg(long, value_name = "FILE")]
    pub perfetto: Option<PathBuf>,
    /// Write the message diagram (SVG) of the last --diagram-last messages before the
    /// failure (or the end), or of --diagram-window.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// The diagram's window of simulated time, e.g. 1.2s..1.5s.
    #[arg(long, value_name = "A..B", conflicts_with = "diagram_last")]
    pub diagram_window: Option<String>,
    /// How many messages the diagram shows, up to the failure [default: 120].
    #[arg(long, value_name = "N")]
    pub diagram_last: Option<usize>,
    /// Write an HTML report into DIR: index.html, and a page for the seed if it fails.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// Scenario files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Seeds A..B (B excluded); default: each scenario's `run.seeds`.
    #[arg(long, value_name = "A..B", conflicts_with = "count")]
    pub seeds: Option<String>,
    /// Seeds 0..N.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// Run only shard I of N (every N-th seed, starting at the I-th).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Stop at the first failing seed (in seed order: earlier seeds are all still run).
    #[arg(long)]
    pub stop_on_first: bool,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Write one CSV row per seed.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write a JSON report (mergeable with `dsim merge`).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write an HTML report into DIR: index.html, and one page per failing seed (the
    /// first 20, replayed with a trace).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    pub file: PathBuf,
    #[arg(long)]
    pub seed: u64,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Run the seed twice in lockstep and name the first divergent event, if any.
    #[arg(long)]
    pub check_determinism: bool,
    /// Write every event as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write the client history as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    #[command(flatten)]
    pub see: SeeArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports written by `dsim fuzz --json`.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    pub file: PathBuf,
    /// The history's format (default: detected).
    #[arg(long, value_parser = format_names())]
    pub format: Option<String>,
    /// The sequential model.
    #[arg(long, default_value = "cas-register", value_parser = model_names())]
    pub model: String,
    /// Search steps before answering "unknown".
    #[arg(long, default_value_t = 50_000_000)]
    pub budget: u64,
    /// Write an HTML page of the verdict: the violation drawn, when there is one.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// For a transactional (`:f :txn`) history: the guarantee it is checked against.
    #[arg(long, default_value = "strict-serializable", value_parser = ["serializable", "strict-serializable"])]
    pub consistency: String,
    /// Refuse a history file larger than this: bytes, or KiB, MiB, GiB (`256MiB`).
    #[arg(long, value_name = "SIZE", default_value = crate::check::DEFAULT_MAX_INPUT_SIZE, value_parser = crate::check::parse_size)]
    pub max_input_size: u64,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// `engine` (events per second) or `checker` (linearizability checking time).
    #[arg(value_parser = ["engine", "checker"])]
    pub what: String,
    /// Events per engine benchmark [default: 10000000] (only for `engine`).
    #[arg(long)]
    pub events: Option<u64>,
    /// Run an epidemic broadcast among this many nodes instead (only for `engine`):
    /// prints events per second, peak memory and rounds to full coverage.
    #[arg(long)]
    pub nodes: Option<u32>,
    /// Operations per generated history [default: 100000] (only for `checker`).
    #[arg(long)]
    pub operations: Option<usize>,
}

/// `--model`'s values: the models by their one name.
fn format_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(sim_core::check::Format::ALL.map(|f| f.name()))
}

fn model_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        sim_core::check::ModelKind::ALL.iter().map(|model| model.name()),
    )
}
