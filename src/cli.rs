//! The command line, as clap parses it. `validate` turns raw arguments into settings the
//! rest of the program trusts.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  dsim run raft-steady --seed 7
  dsim run raft-swarm --set cluster.nodes=7 --seed 3
  dsim fuzz raft-swarm --count 200 --csv report.csv
  dsim replay raft-swarm --seed 7 --trace trace.jsonl
  dsim run raft-swarm --seed 7 --dry-run > seed7.toml
  dsim shrink raft-minority-leader --seed 0 --bug stale_local_read -o min.toml
  dsim check history.edn --model cas-register
  dsim scenarios

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
    /// Colour on standard output: `auto` on a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
    /// Print less: no progress or speed, only results and failures.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: every seed of a campaign as it is reported, every failure in full.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// What a campaign prints on standard output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    /// A summary for people.
    Human,
    /// One JSON object per line: one per seed as it is reported (`"type": "seed"`), then
    /// one summary (`"type": "summary"`); the human summary goes to standard error.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one seed of a scenario and print its summary.
    #[command(
        after_help = "Examples:\n  dsim run raft-steady\n  dsim run pb-faults --seed 1 --bug backup_reads --history h.jsonl\n  dsim run raft-swarm --set cluster.nodes=7 --set network.loss=0.05 --seed 3\n  dsim scenarios --show raft-steady > mine.toml && dsim run mine.toml --seed 4\n  dsim run raft-swarm --seed 7 --dry-run\n  dsim run raft-phases --seed 2 --set phases.storm.nemesis.crash_rate=2\n\nA scenario is a bundled name (`dsim scenarios` lists them) or a file."
    )]
    Run(RunArgs),
    /// Run a campaign of many seeds over all cores.
    #[command(
        after_help = "Examples:\n  dsim fuzz raft-swarm --count 200\n  dsim fuzz raft-swarm paxos-swarm --seeds 0..50 --jobs 2 --csv out.csv --junit out.xml\n  dsim fuzz raft-swarm --count 800 --shard 3/8 --json shard3.json\n  dsim fuzz pb-faults --bug backup_reads --count 40 --json failed.json -q\n  dsim fuzz --rerun-failed failed.json --message-format json\n  dsim fuzz raft-swarm --count 20 --set cluster.nodes=7 -v\n  dsim fuzz raft-swarm --count 20 --isolate --seed-timeout 60\n  dsim fuzz raft-swarm --guided --count 200 --campaign-seed 3\n\nOutput files are byte-identical for any --jobs. --shard I/N runs every N-th seed\nstarting at the I-th, so a CI matrix, Kubernetes indexed Jobs or a Slurm array can\nspread one campaign (--shard auto reads the shard from their environment; see\nexamples/batch/ in the repository); `dsim merge` joins the shard reports. --isolate\nruns seeds in child processes, so a seed that overflows its stack, aborts or hangs is\nreported as a crash or a hang and the campaign goes on."
    )]
    Fuzz(FuzzArgs),
    /// Delta-debug a failing seed into a minimal scenario file that fails on its own.
    #[command(
        after_help = "Examples:\n  dsim shrink raft-minority-leader --seed 0 --bug stale_local_read -o minimal.toml\n  dsim run minimal.toml\n\nThe seed's swarm draw is fixed and the faults that fired become an explicit\nschedule with the nemesis off; then faults, nodes, clients, operations and keys are\ndropped, the run shortened and latency, clocks and disks simplified, each change kept\nonly while the run fails the same way (the same property; for linearizability the\nsame key and kind of operation). The result is the same whatever the number of\nthreads. Progress and the sizes before and after go to stderr."
    )]
    Shrink(ShrinkArgs),
    /// Run one seed again, bit for bit, optionally twice in lockstep or with a trace.
    #[command(
        after_help = "Examples:\n  dsim replay raft-swarm --seed 7\n  dsim replay raft-swarm --seed 7 --check-determinism\n  dsim replay raft-swarm --seed 7 --trace trace.jsonl\n  dsim replay raft-swarm --seed 8 --bug stale_local_read --perfetto p.json --svg m.svg --report report/"
    )]
    Replay(ReplayArgs),
    /// Compare scenarios on the same seeds: p50/p99 write and read latency, messages per
    /// operation.
    #[command(
        after_help = "Examples:\n  dsim compare raft-base paxos-base --count 4\n  dsim compare raft-base pb-base chain-base quorum-base quorum-one --count 2 --csv compare.csv\n\nThe examples are small; a comparison wants --count 200 or more. Seeds 0..count of each scenario. Latencies are those of the operations that\ncompleted ok, pooled over all of a scenario's seeds; messages per operation counts\nevery message sent (the protocol's own housekeeping too) per operation invoked. The\noutput is the same for any --jobs. Exit code: the worst seed's, as for fuzz."
    )]
    Compare(CompareArgs),
    /// Join the JSON reports of campaign shards into the report of the whole campaign.
    #[command(
        after_help = "Examples:\n  dsim fuzz pb-faults --count 100 --shard 0/2 --json shard0.json\n  dsim fuzz pb-faults --count 100 --shard 1/2 --json shard1.json\n  dsim merge shard0.json shard1.json --csv all.csv --json all.json\n\nThe reports must be the shards of one campaign (the same scenarios, seeds, --bug and\n--set), each shard exactly once and complete; the merged reports are byte for byte\nthose of the campaign run whole, whatever order the shards are given in."
    )]
    Merge(MergeArgs),
    /// Check a recorded history (Jepsen EDN or dsim JSON lines) for linearizability, or a
    /// transactional (:txn) one for serializability.
    #[command(
        after_help = "Examples:\n  dsim check history.edn --model cas-register\n  dsim run raft-steady --history run.jsonl && dsim check run.jsonl --html verdict.html\n  dsim run 2pc-base --history txn.jsonl && dsim check txn.jsonl --consistency serializable --html anomaly.html\n\nExit codes: 0 linearizable (or serializable), 1 not, 2 unknown (budget exhausted), 3 bad input."
    )]
    Check(CheckArgs),
    /// Measure the engine's and the checker's speed.
    #[command(
        after_help = "Examples:\n  dsim bench engine --events 1000000\n  dsim bench engine --nodes 10000\n  dsim bench checker --operations 10000\n  dsim bench checker --model cas-register history.edn\n\nThe examples are small; a measurement wants the defaults (10,000,000 events;\n100,000 operations) or more, and --nodes 1000000 is the million-node broadcast.\nWith history files, the checker's figures are per file (Porcupine's c50-ok.txt, say)."
    )]
    Bench(BenchArgs),
    /// List the scenarios that can be run by name, or print one's TOML.
    #[command(
        after_help = "Examples:\n  dsim scenarios\n  dsim scenarios --show raft-swarm > my-raft.toml\n  dsim scenarios --schema > dsim-scenario.schema.json\n  dsim fuzz $(dsim scenarios | grep '^raft' | cut -d' ' -f1) --count 2\n\nA scenario is named by its file's name without `.toml` (`dsim run raft-swarm`). The\nbundled ones are built into dsim; directories in DSIM_SCENARIO_PATH (separated by `:`)\nare searched first. A path to a file always works. A file may extend a bundled base by\nits file name (`extends = \"raft-base.toml\"`) when no such file lies beside it.\n\nA first line `#:schema ./dsim-scenario.schema.json` (a path relative to the file) makes\ntaplo and Even Better TOML complete and check keys as they are typed."
    )]
    Scenarios(ScenariosArgs),
    /// List the protocols: options, known-bug switches, properties, and their workload's
    /// options and checkers.
    #[command(
        after_help = "Examples:\n  dsim protocols\n  dsim protocols --json | grep -c '\"doc\"'"
    )]
    Protocols {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  dsim completions bash > dsim.bash\n\nSource it from ~/.bashrc, or install it as /etc/bash_completion.d/dsim."
    )]
    Completions { shell: clap_complete::Shell },
    /// Run the seeds `dsim fuzz --isolate` sends on standard input, one record a line on
    /// standard output (internal: the child process of an isolated campaign).
    #[command(name = "isolated-worker", hide = true)]
    IsolatedWorker(WorkerArgs),
}

/// The child process of `dsim fuzz --isolate`: the campaign's scenarios, as the parent
/// loaded and named them.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// A scenario of the campaign, in campaign order (repeated).
    #[arg(long = "scenario", value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// The name of each scenario in the campaign (the parent may have renamed it).
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
}

#[derive(Debug, Default, Args)]
pub struct ScenarioArgs {
    /// Turn on a protocol's known-bug switch (repeatable), over what the file says.
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    /// Set a scenario key (repeatable), over what the file says, before validation:
    /// `--set cluster.nodes=7 --set network.loss=0.1`. The value is TOML; a bare word is
    /// a string (`--set run.duration=5s`). In an array of tables a part picks one, by
    /// name or index from 0: `--set phases.storm.duration=2s`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ScenariosArgs {
    /// Print the TOML of the scenario NAME (a name or a path), to start a file from.
    #[arg(long, value_name = "NAME")]
    pub show: Option<String>,
    /// Print the JSON Schema of scenario files (every key, its type, range, default and
    /// doc line; each protocol's options and bug switches), for editors.
    #[arg(long, conflicts_with = "show")]
    pub schema: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario: a bundled name (`raft-swarm`, see `dsim scenarios`) or a file.
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
    /// Print the scenario resolved for the seed (after `extends`, defaults and the swarm
    /// draw) as TOML that runs as it is, and validate it, without simulating.
    #[arg(long, conflicts_with_all = ["history", "trace"])]
    pub dry_run: bool,
    #[command(flatten)]
    pub see: SeeArgs,
}

#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// The failing seed.
    #[arg(long)]
    pub seed: u64,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// Write the minimal scenario here (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The most runs shrinking may spend, the failing run included.
    #[arg(long, value_name = "K", default_value_t = 400)]
    pub max_runs: u64,
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
    /// Scenarios: bundled names (`raft-swarm`, see `dsim scenarios`) or files.
    #[arg(required_unless_present = "rerun_failed")]
    pub files: Vec<PathBuf>,
    /// Run again exactly the failed seeds of a JSON report (`--json`), with its
    /// scenarios, --bug and --set.
    #[arg(long, value_name = "REPORT", conflicts_with_all = ["files", "seeds", "count", "bugs", "sets"])]
    pub rerun_failed: Option<PathBuf>,
    /// What standard output carries.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "human")]
    pub message_format: MessageFormat,
    /// Seeds A..B (B excluded); default: each scenario's `run.seeds`.
    #[arg(long, value_name = "A..B", conflicts_with = "count")]
    pub seeds: Option<String>,
    /// Seeds 0..N.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// Run only shard I of N (every N-th seed of each scenario, starting at the I-th);
    /// `auto` reads it from a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT)
    /// or GitLab `parallel:` (CI_NODE_INDEX, CI_NODE_TOTAL); `auto/N` from a Kubernetes
    /// Indexed Job (JOB_COMPLETION_INDEX) of N completions.
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,
    /// Stop at the first failing seed (in seed order: earlier seeds are all still run).
    #[arg(long)]
    pub stop_on_first: bool,
    /// Run the seeds in child processes (--jobs of them), so that a seed that overflows
    /// its stack, aborts, runs out of memory or hangs costs that seed (failure `crash` or
    /// `hang`), not the campaign. Reports are byte for byte those of a campaign without it.
    #[arg(long)]
    pub isolate: bool,
    /// With --isolate: wall-clock seconds a seed may run before its child is killed and
    /// the seed reported as a hang. It decides only whether a run finished, never what it
    /// did (a run's events are bounded by run.max_events).
    #[arg(long, value_name = "SECONDS", requires = "isolate", value_parser = clap::value_parser!(u64).range(1..))]
    pub seed_timeout: Option<u64>,
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
    /// Steer the campaign by coverage (--count runs of each scenario, default the length
    /// of its `run.seeds`): runs that reach new coverage (protocol counters, message
    /// kinds and faults, counts bucketed 1, 2-3, 4-7, ...; sometimes properties reached)
    /// join a corpus, and new runs mutate their drawn knobs, fixed nemesis rates and
    /// seed. Each run's replay command carries the --set overrides that fix its knobs.
    #[arg(long, conflicts_with_all = ["rerun_failed", "seeds", "shard", "isolate"])]
    pub guided: bool,
    /// With --guided: the seed of the campaign's own choices [default: 0]; the same seed
    /// gives the same campaign whatever --jobs.
    #[arg(long, value_name = "S", requires = "guided")]
    pub campaign_seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The scenario: a bundled name (`raft-swarm`, see `dsim scenarios`) or a file.
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
pub struct CompareArgs {
    /// Scenarios: bundled names (`raft-base`, see `dsim scenarios`) or files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Seeds 0..N of each scenario.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub count: u64,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// Write the table as CSV (latencies in nanoseconds).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports written by `dsim fuzz --json`.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// What standard output carries.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "human")]
    pub message_format: MessageFormat,
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
    /// The sequential model [default: cas-register] (not for a transactional history).
    #[arg(long, value_parser = model_names())]
    pub model: Option<String>,
    /// Search steps before answering "unknown".
    #[arg(long, default_value_t = 50_000_000)]
    pub budget: u64,
    /// Search every key at once (the model over the whole map) instead of key by key:
    /// the same verdict, far slower; for comparison with checkers that do so.
    #[arg(long)]
    pub no_partition: bool,
    /// Write an HTML page of the verdict: the violation drawn, when there is one (for a
    /// transactional history, each anomaly's cycle step by step).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// For a transactional (`:f :txn`) history only: the guarantee it is checked against
    /// [default: strict-serializable].
    #[arg(long, value_parser = ["serializable", "strict-serializable"])]
    pub consistency: Option<String>,
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
    /// History files to time instead of generated histories (only for `checker`): each
    /// file's operations, verdict, CPU time of the check and peak memory.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The model the FILEs are checked against [default: cas-register].
    #[arg(long, value_parser = model_names())]
    pub model: Option<String>,
    /// Check the FILEs with every key at once, as `dsim check --no-partition`.
    #[arg(long)]
    pub no_partition: bool,
    /// Search steps per FILE before "unknown" [default: 50000000].
    #[arg(long)]
    pub budget: Option<u64>,
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
