//! Options a protocol refuses: at load when the scenario writes them (or a swarm range
//! reaches them at an end), and as an error of its seed when a draw between the ends is
//! refused: the campaign names the seed, goes on with the others, and exits 3.

use runner::Registry;
use sim_core::engine::NoObserver;
use sim_core::kv::KvWorkload;
use sim_core::node::{Context, Node, NodeId};
use sim_core::protocol::{NoBugs, Protocol};
use std::path::{Path, PathBuf};

sim_core::declare_options! {
    pub struct PickyOptions {
        /// Any even number (odd ones are refused).
        even: i64 = 0,
    }
}

/// Does nothing, and accepts only even numbers.
struct Picky;

impl Node for Picky {
    type Config = ();
    type Msg = ();
    type Timer = ();
    type Workload = KvWorkload;

    fn start(_config: &(), _ctx: &mut Context<'_, Self>) -> Self {
        Picky
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}

    fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: ()) {}
}

impl Protocol for Picky {
    const NAME: &'static str = "picky";
    const SUMMARY: &'static str = "Refuses odd numbers (a test protocol)";
    type Invariants = NoObserver;
    type Options = PickyOptions;
    type Bugs = NoBugs;

    fn configure(options: PickyOptions, _bugs: NoBugs) -> Result<(), String> {
        match options.even % 2 {
            0 => Ok(()),
            _ => Err(format!("even must be even, not {}", options.even)),
        }
    }
}

/// Its clients get no answers (a missing [workload] is the default one), so the liveness
/// check is off: only the drawn option decides a seed.
fn scenario(test: &str, even: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("picky.toml");
    let text = format!(
        "[protocol]\nname = \"picky\"\n[protocol.options]\neven = {even}\n[cluster]\nnodes = 1\n\
         [checks]\nliveness_bound = \"none\"\n[run]\nduration = \"100ms\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn dsim(args: &[&str]) -> u8 {
    let registry = Registry::empty().with::<Picky>();
    dsim::main_from(registry, std::iter::once("dsim").chain(args.iter().copied()))
}

#[test]
fn a_refused_draw_is_an_error_of_its_seed_and_the_campaign_goes_on() {
    // Both ends (0 and 10) are even, so the scenario loads; odd draws are refused.
    let path = scenario("refused_draws", "[0, 10]");
    let csv = path.with_file_name("report.csv");
    let args = ["fuzz", path.to_str().unwrap(), "--count", "30", "--csv", csv.to_str().unwrap()];
    assert_eq!(dsim(&args), 3);
    let report = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = report.lines().skip(1).collect();
    assert_eq!(rows.len(), 30, "every seed has a row: {report}");
    let refused: Vec<&&str> = rows.iter().filter(|r| r.contains(",error,configuration,")).collect();
    let passed = rows.iter().filter(|r| r.contains(",pass,")).count();
    assert!(!refused.is_empty() && passed > 0, "{report}");
    assert_eq!(refused.len() + passed, 30, "{report}");
    assert!(
        refused.iter().all(|r| r.contains("refuses the options this seed drew: even must be even")
            && r.contains("dsim replay")),
        "{report}"
    );
    // The seed alone is the same error.
    let seed = refused[0].split(',').nth(2).unwrap();
    assert_eq!(dsim(&["run", path.to_str().unwrap(), "--seed", seed]), 3);
}

#[test]
fn a_refused_end_or_fixed_value_is_refused_at_load() {
    for even in ["3", "[0, 9]", "{ one_of = [2, 4, 5] }"] {
        let path = scenario("refused_at_load", even);
        let scenario = scenarios::load(&path, Registry::empty().with::<Picky>().catalogue());
        let problems = scenario.expect_err(even).problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].line, problems[0].key.as_str()), (4, "protocol.options.even"));
        assert!(problems[0].message.contains("even must be even"), "{}", problems[0].message);
        assert_eq!(dsim(&["fuzz", path.to_str().unwrap(), "--count", "2"]), 3, "{even}");
    }
}
