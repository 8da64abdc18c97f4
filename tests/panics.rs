//! A protocol that panics is a finding of its seed: the campaign reports it with its
//! replay command and goes on with the other seeds.

use runner::Registry;
use sim_core::SimDuration;
use sim_core::engine::NoObserver;
use sim_core::kv::KvWorkload;
use sim_core::node::{Context, Node, NodeId};
use sim_core::protocol::{NoBugs, NoOptions, Protocol};
use std::path::Path;

/// Each node ticks every 10ms; on some seeds one tick draws a fatal number.
struct Fragile;

impl Node for Fragile {
    type Config = ();
    type Msg = ();
    type Timer = ();
    type Workload = KvWorkload;

    fn start(_config: &(), ctx: &mut Context<'_, Self>) -> Self {
        ctx.set_timer(SimDuration::from_millis(10), ());
        Fragile
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        assert!(ctx.rng().below(2000) != 0, "fragile node {} drew the fatal number", ctx.id());
        ctx.set_timer(SimDuration::from_millis(10), ());
    }
}

impl Protocol for Fragile {
    const NAME: &'static str = "fragile";
    const SUMMARY: &'static str = "Panics on some seeds (a test protocol)";
    type Invariants = NoObserver;
    type Options = NoOptions;
    type Bugs = NoBugs;

    fn configure(_options: NoOptions, _bugs: NoBugs) -> Result<(), String> {
        Ok(())
    }
}

#[test]
fn a_panicking_seed_is_reported_and_the_campaign_goes_on() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("panics");
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("fragile.toml");
    std::fs::write(
        &scenario,
        // Its clients get no answers (a missing [workload] is the default one), so the
        // liveness check is off: only the panics may fail a seed.
        "[protocol]\nname = \"fragile\"\n[cluster]\nnodes = 3\n[checks]\nliveness_bound = \"none\"\n[run]\nduration = \"2s\"\n",
    )
    .unwrap();
    let csv = dir.join("report.csv");
    let args = [
        "dsim",
        "fuzz",
        scenario.to_str().unwrap(),
        "--count",
        "20",
        "--jobs",
        "2",
        "--csv",
        csv.to_str().unwrap(),
    ];
    let code = dsim::main_from(Registry::empty().with::<Fragile>(), args);
    assert_eq!(code, 1);
    let report = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = report.lines().skip(1).collect();
    assert_eq!(rows.len(), 20, "every seed has a row");
    let panicked: Vec<&&str> = rows.iter().filter(|r| r.contains(",safety,panic,")).collect();
    let passed = rows.iter().filter(|r| r.contains(",pass,")).count();
    assert!(!panicked.is_empty() && passed > 0, "{report}");
    assert_eq!(panicked.len() + passed, 20);
    assert!(
        panicked
            .iter()
            .all(|r| r.contains("drew the fatal number") && r.contains("tests/panics.rs")),
        "{report}"
    );
    assert!(panicked.iter().all(|r| r.contains("dsim replay") && r.contains("--seed")), "{report}");
}
