//! Feeds served from memory, for tests: a map from URL to what a peer
//! answers there, with the requests it was asked, so that the harvest rules
//! are exercised without sockets.

use crate::fetch::FetchError;
use crate::source::{FeedSource, FetchFuture, FetchedPage, PageRequest};
use ccis_model::rdf_input::InputFormat;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// What a [`MemoryFeed`] answers at one URL.
#[derive(Debug, Clone)]
pub enum MemoryPage {
    /// `200` with this body, or `304` when asked with its ETag.
    Page {
        /// The body.
        body: Vec<u8>,
        /// Its format.
        format: InputFormat,
        /// Its ETag, if it has one.
        etag: Option<String>,
    },
    /// This status (404, 410, 500…; 429 and 5xx answer "busy", as a peer
    /// that may be asked again).
    Status(u16),
    /// Never answers.
    Hang,
}

/// One request a [`MemoryFeed`] was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryRequest {
    /// The page.
    pub url: String,
    /// The ETag sent with it.
    pub etag: Option<String>,
    /// What it answered: 200, 304 or another status (0: no answer).
    pub status: u16,
}

/// Peers' pages in memory, shared by its clones.
#[derive(Debug, Clone, Default)]
pub struct MemoryFeed {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    pages: HashMap<String, MemoryPage>,
    requests: Vec<MemoryRequest>,
}

impl MemoryFeed {
    /// A feed serving nothing (every URL answers 404).
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves `answer` at `url` from now on.
    pub fn set(&self, url: &str, answer: MemoryPage) {
        self.lock().pages.insert(url.to_owned(), answer);
    }

    /// Serves `body` at `url` as `format`, with an ETag made of its hash.
    pub fn put(&self, url: &str, body: Vec<u8>, format: InputFormat) {
        use sha2::Digest;
        let etag = format!("\"{}\"", hex::encode(&sha2::Sha256::digest(&body)[..12]));
        self.set(
            url,
            MemoryPage::Page {
                body,
                format,
                etag: Some(etag),
            },
        );
    }

    /// Serves `quads` at `url` as N-Quads.
    pub fn put_quads(&self, url: &str, quads: &[oxrdf::Quad]) {
        let mut body = String::new();
        for q in quads {
            body.push_str(&q.to_string());
            body.push_str(" .\n");
        }
        self.put(url, body.into_bytes(), InputFormat::NQuads);
    }

    /// Stops serving `url` (it answers 404).
    pub fn remove(&self, url: &str) {
        self.lock().pages.remove(url);
    }

    /// Stops serving anything (a feed reset starts from here).
    pub fn clear(&self) {
        self.lock().pages.clear();
    }

    /// The requests asked so far, in order.
    pub fn requests(&self) -> Vec<MemoryRequest> {
        self.lock().requests.clone()
    }

    /// Forgets the requests asked so far.
    pub fn forget_requests(&self) {
        self.lock().requests.clear();
    }

    /// The answer to `request`, noted.
    fn answer(&self, request: &PageRequest<'_>) -> Result<FetchedPage, FetchError> {
        let url = request.url;
        let mut inner = self.lock();
        let answer = inner.pages.get(url).cloned();
        let (outcome, status) = match answer {
            None => (None, 404),
            Some(MemoryPage::Hang) => (None, 0),
            Some(MemoryPage::Status(status)) => (None, status),
            Some(MemoryPage::Page { etag, .. })
                if etag.is_some() && etag.as_deref() == request.etag =>
            {
                (Some(FetchedPage::NotModified), 304)
            }
            Some(MemoryPage::Page { body, format, etag }) => {
                (Some(FetchedPage::Page { body, format, etag }), 200)
            }
        };
        inner.requests.push(MemoryRequest {
            url: url.to_owned(),
            etag: request.etag.map(str::to_owned),
            status,
        });
        match (outcome, status) {
            (Some(page), _) => Ok(page),
            (None, 429 | 500..=599) => Ok(FetchedPage::Busy {
                status,
                retry_after: None,
            }),
            (None, status) => Err(FetchError::Status {
                url: url.to_owned(),
                status,
            }),
        }
    }
}

impl FeedSource for MemoryFeed {
    fn fetch<'a>(&'a self, request: PageRequest<'a>) -> FetchFuture<'a> {
        let hangs = matches!(self.lock().pages.get(request.url), Some(MemoryPage::Hang));
        Box::pin(async move {
            let answer = self.answer(&request);
            if hangs {
                std::future::pending::<()>().await;
            }
            answer
        })
    }
}
