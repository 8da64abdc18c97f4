//! Checks of timing options that leader-based protocols share.

use sim_core::SimDuration;

/// Randomized election timeouts in `[min, max]` with heartbeats every `heartbeat`: the
/// minimum positive, the range not empty, and a heartbeat that comes before the shortest
/// timeout (or followers would time out on a live leader). The message says what would be
/// valid.
pub fn check_election_timing(
    min: SimDuration,
    max: SimDuration,
    heartbeat: SimDuration,
) -> Result<(), String> {
    if min.0 == 0 {
        return Err("election_timeout_min must be positive".into());
    }
    if max < min {
        return Err(format!(
            "election_timeout_max ({max}) must be at least election_timeout_min ({min})"
        ));
    }
    if heartbeat.0 == 0 || heartbeat >= min {
        return Err(format!(
            "heartbeat_interval ({heartbeat}) must be positive and below election_timeout_min ({min})"
        ));
    }
    Ok(())
}
