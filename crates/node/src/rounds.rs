//! Harvest rounds, one after another, for as long as the node runs.

use ccis_harvest::{Harvester, Quiet};
use std::sync::Arc;
use std::time::Duration;

/// Runs a round at once, then every `interval` (± 10 % jitter), forever:
/// spawn it, and abort the task to stop (a page being stored still commits
/// or not at all).
pub async fn run_periodically(harvester: Harvester, interval: Duration) {
    loop {
        for r in harvester.round(None, Arc::new(Quiet)).await {
            tracing::info!(
                peer = %r.peer,
                accepted = r.accepted,
                known = r.known,
                refused = r.refused_total(),
                pages = r.pages,
                error = r.error.as_deref().unwrap_or(""),
                "harvest round"
            );
        }
        let mut bytes = [0u8; 8];
        let _ = getrandom::fill(&mut bytes);
        let spread = (u64::from_le_bytes(bytes) % 2001) as f64 / 1000.0 - 1.0;
        tokio::time::sleep(interval.mul_f64(1.0 + 0.1 * spread)).await;
    }
}
