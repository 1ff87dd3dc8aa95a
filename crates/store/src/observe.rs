//! Who else learns, in feed order, what the store appends to its feed log.

use crate::write::StoreMeta;
use ccis_integrity::signed::SignedRecord;
use std::sync::{Arc, RwLock, Weak};

/// Told of the versions the store appends to its feed log, while the
/// store's writer is held, so calls never interleave between two writes:
/// every write first [`discards`](FeedObserver::discarded) what an earlier
/// write left staged, then [`stages`](FeedObserver::staged) its versions in
/// feed order, then says whether they were
/// [`committed`](FeedObserver::committed). A search index uses it to take
/// what was just verified from memory rather than read it back from the
/// log; the log stays the reference (an observer may miss versions, for
/// example when attached in the middle of a write, and reads those from it).
/// Calls must be quick: the store's writer waits on them.
pub trait FeedObserver: Send + Sync {
    /// `signed`, stored with `meta`, is to be written at feed `position`
    /// (not yet committed).
    fn staged(&self, position: u64, signed: &SignedRecord, meta: &StoreMeta);
    /// Every version staged since the last [`FeedObserver::discarded`] is
    /// now committed.
    fn committed(&self);
    /// The versions staged and not committed will never be: forget them.
    fn discarded(&self);
}

/// The observer of a store, shared by its clones. Held weakly: the store
/// does not keep an observer alive (nor, say, a search index's lock).
#[derive(Clone, Default)]
pub(crate) struct ObserverSlot(Arc<RwLock<Option<Weak<dyn FeedObserver>>>>);

impl ObserverSlot {
    /// Sets (or with `None` removes) the observer.
    pub(crate) fn set(&self, observer: Option<Weak<dyn FeedObserver>>) {
        let mut slot = self.0.write().unwrap_or_else(|p| p.into_inner());
        *slot = observer;
    }

    /// The observer, if any is set and alive.
    pub(crate) fn get(&self) -> Option<Arc<dyn FeedObserver>> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(Weak::upgrade)
    }

    /// [`FeedObserver::staged`], if observed.
    pub(crate) fn staged(&self, position: u64, signed: &SignedRecord, meta: &StoreMeta) {
        if let Some(o) = self.get() {
            o.staged(position, signed, meta);
        }
    }

    /// [`FeedObserver::committed`] if `ok`, else [`FeedObserver::discarded`].
    pub(crate) fn ended(&self, ok: bool) {
        if let Some(o) = self.get() {
            if ok { o.committed() } else { o.discarded() }
        }
    }

    /// [`FeedObserver::discarded`], if observed.
    pub(crate) fn discarded(&self) {
        self.ended(false);
    }
}
