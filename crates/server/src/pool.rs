//! A fixed number of SPARQL queries evaluated at once, and a bounded queue of
//! queries waiting for a turn: expensive requests cannot take all the
//! machine from `/node` and `/feed`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why no turn was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Busy {
    /// The queue is full.
    #[error("the queue of {0} waiting queries is full (max_queued_queries)")]
    QueueFull(usize),
    /// No turn came before the query's time limit.
    #[error("no evaluation slot became free within the query's time limit")]
    TimedOut,
}

/// The slots and the queue.
#[derive(Debug)]
pub struct QueryPool {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Counts a waiting query while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl QueryPool {
    /// `slots` queries at once (at least one), `max_waiting` in the queue.
    pub fn new(slots: usize, max_waiting: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots.clamp(1, Semaphore::MAX_PERMITS))),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// A turn, waited for at most `patience`; the slot is free again when the permit drops.
    pub async fn turn(&self, patience: Duration) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        if before >= self.max_waiting {
            return Err(Busy::QueueFull(self.max_waiting));
        }
        match tokio::time::timeout(patience, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy::TimedOut),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queue_is_bounded() {
        let pool = Arc::new(QueryPool::new(1, 1));
        let held = pool.turn(Duration::from_secs(1)).await.unwrap();
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.turn(Duration::from_secs(60)).await.is_ok() })
        };
        while pool.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            pool.turn(Duration::from_secs(60)).await.err(),
            Some(Busy::QueueFull(1))
        );
        drop(held);
        assert!(
            queued.await.unwrap(),
            "the queued query gets the freed slot"
        );
    }
}
