//! Fetching feed pages from a peer, trusting nothing, whatever the
//! [`FeedSource`]: a time limit on each answer, a size limit on each page,
//! retries with capped exponential back-off on 5xx and 429 (honouring
//! `Retry-After`), and pages parsed as TriG, N-Quads or JSON-LD only.

use crate::source::{FeedSource, FetchedPage, PageRequest, RetryAfter};
use ccis_model::clock::Clock;
use ccis_model::rdf_input::{self, InputError, InputFormat, PinnedContexts};
use oxrdf::Quad;
use std::sync::Arc;
use std::time::Duration;

/// Limits on talking to a peer.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    /// Most time to open a connection.
    pub connect_timeout: Duration,
    /// Most time for one response, headers and body.
    pub response_timeout: Duration,
    /// Largest page accepted.
    pub max_page_bytes: usize,
    /// Retries after a 5xx or 429.
    pub retries: u32,
    /// First back-off; doubled at each retry.
    pub backoff: Duration,
    /// Longest back-off (also caps `Retry-After`).
    pub max_backoff: Duration,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(30),
            max_page_bytes: 16 * 1024 * 1024,
            retries: 3,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// A fetched page.
#[derive(Debug)]
pub enum Fetched {
    /// `304`: the page did not change since the ETag given.
    NotModified,
    /// The page's quads and ETag.
    Page {
        /// Its quads.
        quads: Vec<Quad>,
        /// Its ETag, if it has one.
        etag: Option<String>,
    },
}

/// Why a page could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Connection refused, reset, timed out…
    #[error("{url}: {message}")]
    Transport {
        /// The page.
        url: String,
        /// What happened.
        message: String,
    },
    /// No complete answer within the time limit.
    #[error("{url}: no complete answer within {} s", limit.as_secs_f32())]
    TimedOut {
        /// The page.
        url: String,
        /// The limit.
        limit: Duration,
    },
    /// An HTTP status other than 200 and 304 (after retries), or a 304
    /// that was not asked for.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The page.
        url: String,
        /// The status.
        status: u16,
    },
    /// More bytes than allowed.
    #[error("{url}: page over the size limit of {limit} bytes")]
    TooLarge {
        /// The page.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// Not an RDF dataset format.
    #[error("{url}: content type {content_type:?} is not TriG, N-Quads or JSON-LD")]
    ContentType {
        /// The page.
        url: String,
        /// What it said.
        content_type: String,
    },
    /// Not parseable (the parser's error names the page, line and column).
    #[error("{source}")]
    Invalid {
        /// The page.
        url: String,
        /// What the parser said.
        source: InputError,
    },
}

impl FetchError {
    /// The page this error is about.
    pub fn url(&self) -> &str {
        match self {
            Self::Transport { url, .. }
            | Self::TimedOut { url, .. }
            | Self::Status { url, .. }
            | Self::TooLarge { url, .. }
            | Self::ContentType { url, .. }
            | Self::Invalid { url, .. } => url,
        }
    }
}

/// Fetches pages from a source within limits, with time read from a clock.
#[derive(Clone)]
pub struct Fetcher {
    /// Where pages come from.
    pub source: Arc<dyn FeedSource>,
    /// The limits every answer is held to.
    pub limits: FetchLimits,
    /// The time, to read `Retry-After` dates against.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("limits", &self.limits)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Fetches one page (conditionally, when `etag` is given: a 304 is
    /// [`Fetched::NotModified`]; without it a 304 is an error) and parses it;
    /// retries a busy peer within `limits.retries`.
    pub async fn fetch(&self, url: &str, etag: Option<&str>) -> Result<Fetched, FetchError> {
        let mut attempt = 0u32;
        loop {
            match self.attempt(url, etag).await? {
                FetchedPage::NotModified if etag.is_some() => return Ok(Fetched::NotModified),
                FetchedPage::NotModified => {
                    return Err(FetchError::Status {
                        url: url.to_owned(),
                        status: 304,
                    });
                }
                FetchedPage::Page { body, format, etag } => {
                    let quads = self.parse(url, body, format).await?;
                    return Ok(Fetched::Page { quads, etag });
                }
                FetchedPage::Busy {
                    status,
                    retry_after,
                } => {
                    if attempt >= self.limits.retries {
                        return Err(FetchError::Status {
                            url: url.to_owned(),
                            status,
                        });
                    }
                    let wait = self.backoff(attempt, retry_after);
                    tracing::info!(%url, status, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    /// One request, within the time limit of an answer.
    async fn attempt(&self, url: &str, etag: Option<&str>) -> Result<FetchedPage, FetchError> {
        let request = PageRequest {
            url,
            etag,
            limits: &self.limits,
        };
        let limit = self.limits.response_timeout;
        tokio::time::timeout(limit, self.source.fetch(request))
            .await
            .map_err(|_| FetchError::TimedOut {
                url: url.to_owned(),
                limit,
            })?
    }

    /// How long to wait before retry `attempt + 1`: doubling from
    /// `backoff`, or what the peer asked, never more than `max_backoff`.
    fn backoff(&self, attempt: u32, asked: Option<RetryAfter>) -> Duration {
        let limits = &self.limits;
        let doubled = limits
            .backoff
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(limits.max_backoff);
        let asked = asked.map(|a| match a {
            RetryAfter::Delay(d) => d,
            RetryAfter::At(when) => {
                let now: std::time::SystemTime = self.clock.now().into();
                when.duration_since(now).unwrap_or(Duration::ZERO)
            }
        });
        asked.map_or(doubled, |w| w.min(limits.max_backoff))
    }

    /// Parses a page's body (base IRI: its URL), after checking its size
    /// whatever the source did.
    async fn parse(
        &self,
        url: &str,
        body: Vec<u8>,
        format: InputFormat,
    ) -> Result<Vec<Quad>, FetchError> {
        if body.len() > self.limits.max_page_bytes {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
                limit: self.limits.max_page_bytes,
            });
        }
        let name = url.to_owned();
        let invalid = |source: InputError| FetchError::Invalid {
            url: url.to_owned(),
            source,
        };
        tokio::task::spawn_blocking(move || {
            rdf_input::parse(
                &body,
                format,
                Some(&name),
                &name,
                &PinnedContexts::default(),
            )
        })
        .await
        .map_err(|e| {
            invalid(InputError {
                source_name: url.to_owned(),
                location: None,
                message: e.to_string(),
            })
        })?
        .map_err(invalid)
    }
}
