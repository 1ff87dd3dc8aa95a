//! Fetching feed pages from a peer, trusting nothing: timeouts on connecting
//! and on each response, a size limit read as the bytes arrive, retries with
//! capped exponential back-off on 5xx and 429 (honouring `Retry-After`), and
//! refusal of anything that is not TriG, N-Quads or JSON-LD.

use ccis_model::rdf_input::{self, InputFormat, PinnedContexts};
use oxrdf::Quad;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH, RETRY_AFTER};
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
    /// An HTTP status other than 200 and 304 (after retries).
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
    /// Not parseable.
    #[error("{0}")]
    Invalid(String),
}

/// An HTTP client for harvesting.
pub fn client(limits: &FetchLimits) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(limits.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ccis/", env!("CARGO_PKG_VERSION")))
        .build()
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value.trim()).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Fetches one page (with `If-None-Match` when an ETag is given) and parses it.
pub async fn fetch_page(
    client: &reqwest::Client,
    url: &str,
    etag: Option<&str>,
    limits: &FetchLimits,
) -> Result<Fetched, FetchError> {
    let transport = |e: &dyn std::fmt::Display| FetchError::Transport {
        url: url.to_owned(),
        message: e.to_string(),
    };
    let mut attempt = 0u32;
    loop {
        let mut request = client
            .get(url)
            .header(
                "accept",
                "application/trig, application/n-quads;q=0.9, application/ld+json;q=0.8",
            )
            .timeout(limits.response_timeout + Duration::from_secs(1));
        if let Some(e) = etag {
            request = request.header(IF_NONE_MATCH, e);
        }
        let exchange = async {
            let mut response = request.send().await.map_err(|e| transport(&e))?;
            let status = response.status();
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Err(None));
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                return Ok(Err(Some((status.as_u16(), retry_after(&response)))));
            }
            if status != StatusCode::OK {
                return Err(FetchError::Status {
                    url: url.to_owned(),
                    status: status.as_u16(),
                });
            }
            let content_type = rdf_input::media_type_of(
                response
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
            );
            let format = match InputFormat::from_media_type(&content_type) {
                Some(f @ (InputFormat::TriG | InputFormat::NQuads | InputFormat::JsonLd)) => f,
                _ => {
                    return Err(FetchError::ContentType {
                        url: url.to_owned(),
                        content_type,
                    });
                }
            };
            let tag = response
                .headers()
                .get(ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if response
                .content_length()
                .is_some_and(|n| n > limits.max_page_bytes as u64)
            {
                return Err(FetchError::TooLarge {
                    url: url.to_owned(),
                    limit: limits.max_page_bytes,
                });
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
                if body.len() + chunk.len() > limits.max_page_bytes {
                    return Err(FetchError::TooLarge {
                        url: url.to_owned(),
                        limit: limits.max_page_bytes,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Ok((format, body, tag)))
        };
        let outcome = tokio::time::timeout(limits.response_timeout, exchange)
            .await
            .map_err(|_| FetchError::Transport {
                url: url.to_owned(),
                message: format!(
                    "no complete answer within {} s",
                    limits.response_timeout.as_secs_f32()
                ),
            })??;
        match outcome {
            Ok((format, body, tag)) => {
                let name = url.to_owned();
                let quads = tokio::task::spawn_blocking(move || {
                    rdf_input::parse(
                        &body,
                        format,
                        Some(&name),
                        &name,
                        &PinnedContexts::default(),
                    )
                })
                .await
                .map_err(|e| FetchError::Invalid(format!("{url}: {e}")))?
                .map_err(|e| FetchError::Invalid(e.to_string()))?;
                return Ok(Fetched::Page { quads, etag: tag });
            }
            Err(None) => return Ok(Fetched::NotModified),
            Err(Some((status, wait))) => {
                if attempt >= limits.retries {
                    return Err(FetchError::Status {
                        url: url.to_owned(),
                        status,
                    });
                }
                let backoff = limits
                    .backoff
                    .saturating_mul(2u32.saturating_pow(attempt))
                    .min(limits.max_backoff);
                let wait = wait.map_or(backoff, |w| w.min(limits.max_backoff));
                tracing::info!(%url, status, wait_ms = wait.as_millis() as u64, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}
