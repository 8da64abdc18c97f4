use sim_core::toys::*;
use sim_core::*;
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn main() {
    let t = std::time::Instant::now();
    let mut sim = SimBuilder::new(1, 2).build::<PingPong>(PingPongConfig { balls: 16 });
    sim.run(RunLimits { max_events: 10_000_000, ..Default::default() });
    let e = t.elapsed();
    println!("pingpong {} events {:?} {:.1} M/s hash {:016x}", sim.stats().events, e, sim.stats().events as f64 / e.as_secs_f64() / 1e6, sim.trace_hash());
    let t = std::time::Instant::now();
    let mut sim = SimBuilder::new(1, 64).build::<Broadcast>(BroadcastConfig { interval: SimDuration::from_millis(1) });
    sim.run(RunLimits { max_events: 10_000_000, ..Default::default() });
    let e = t.elapsed();
    println!("broadcast {} events {:?} {:.1} M/s hash {:016x}", sim.stats().events, e, sim.stats().events as f64 / e.as_secs_f64() / 1e6, sim.trace_hash());
}
