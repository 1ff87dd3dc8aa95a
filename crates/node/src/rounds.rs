//! Harvest rounds, one after another, for as long as the node runs.

use ccis_harvest::{Harvester, Quiet};
use ccis_search::Index;
use ccis_store::NodeStore;
use std::sync::Arc;
use std::time::Duration;

/// Runs a round at once, then every `interval` (± 10 % jitter), forever:
/// spawn it, and abort the task to stop (a page being stored still commits
/// or not at all). After each round the search index, if given, catches up
/// with the store, so what a round withdrew leaves the results in that round.
pub async fn run_periodically(
    harvester: Harvester,
    interval: Duration,
    search: Option<(Arc<Index>, NodeStore)>,
) {
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
        if let Some((index, store)) = &search {
            update_index(index.clone(), store.clone()).await;
        }
        let mut bytes = [0u8; 8];
        let _ = getrandom::fill(&mut bytes);
        let spread = (u64::from_le_bytes(bytes) % 2001) as f64 / 1000.0 - 1.0;
        tokio::time::sleep(interval.mul_f64(1.0 + 0.1 * spread)).await;
    }
}

/// Brings `index` up to `store` on a blocking thread; a failure is logged
/// (the index catches up at the next round or when next opened).
pub async fn update_index(index: Arc<Index>, store: NodeStore) {
    let done = tokio::task::spawn_blocking(move || index.catch_up(&store)).await;
    match done {
        Ok(Ok(c)) => tracing::debug!(from = c.from, to = c.to, "search index caught up"),
        Ok(Err(e)) => tracing::warn!(error = %e, "search index not updated"),
        Err(e) => tracing::warn!(error = %e, "search index update panicked"),
    }
}
