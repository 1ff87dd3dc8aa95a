//! Where feed pages come from: the [`FeedSource`] seam. [`HttpSource`] asks
//! peers over HTTP (reqwest); [`crate::MemoryFeed`] serves pages from memory
//! in tests. A source makes one request and answers what it got; retries,
//! the time limit, the size limit and parsing are the harvester's
//! ([`crate::Fetcher`]), the same whatever the source.

use crate::fetch::{FetchError, FetchLimits};
use ccis_model::rdf_input::{self, InputFormat};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH, RETRY_AFTER};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// One request for a page.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    /// The page.
    pub url: &'a str,
    /// The ETag of the copy already read: the source answers
    /// [`FetchedPage::NotModified`] if the page still has it.
    pub etag: Option<&'a str>,
    /// The limits to keep while reading (a source stops reading a body
    /// past `max_page_bytes`).
    pub limits: &'a FetchLimits,
}

/// When a busy peer asks to be asked again (`Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// After this long.
    Delay(Duration),
    /// At this instant.
    At(SystemTime),
}

/// What a source answered to one request.
#[derive(Debug)]
pub enum FetchedPage {
    /// The page still has the ETag given (`304 Not Modified`).
    NotModified,
    /// The page's bytes (`200 OK`).
    Page {
        /// The body, as served.
        body: Vec<u8>,
        /// Its format (TriG, N-Quads or JSON-LD).
        format: InputFormat,
        /// Its ETag, if it has one.
        etag: Option<String>,
    },
    /// The peer is busy or failing (429 or 5xx): worth asking again.
    Busy {
        /// The status.
        status: u16,
        /// When the peer asked to be asked again, if it did.
        retry_after: Option<RetryAfter>,
    },
}

/// The future a [`FeedSource`] answers with.
pub type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<FetchedPage, FetchError>> + Send + 'a>>;

/// Reads peers' feed pages: one request, one answer.
pub trait FeedSource: Send + Sync {
    /// Requests one page. Errors name the page: a transport failure, a
    /// status other than 200, 304, 429 and 5xx, a body past
    /// `request.limits.max_page_bytes`, a content type that is not TriG,
    /// N-Quads or JSON-LD.
    fn fetch<'a>(&'a self, request: PageRequest<'a>) -> FetchFuture<'a>;
}

/// Peers' feeds over HTTP: no redirects, a connection time limit, the
/// body read as it arrives and dropped past the size limit.
#[derive(Debug, Clone)]
pub struct HttpSource {
    client: reqwest::Client,
}

impl HttpSource {
    /// A source with an HTTP client built for `limits`.
    pub fn new(limits: &FetchLimits) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ccis/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client })
    }

    /// One exchange: the status, then the body within the size limit.
    async fn exchange(&self, request: PageRequest<'_>) -> Result<FetchedPage, FetchError> {
        let PageRequest { url, etag, limits } = request;
        let transport = |e: reqwest::Error| FetchError::Transport {
            url: url.to_owned(),
            message: e.to_string(),
        };
        let mut builder = self
            .client
            .get(url)
            .header(
                "accept",
                "application/trig, application/n-quads;q=0.9, application/ld+json;q=0.8",
            )
            // A backstop: the harvester's own limit on the answer is shorter.
            .timeout(limits.response_timeout + Duration::from_secs(1));
        if let Some(e) = etag {
            builder = builder.header(IF_NONE_MATCH, e);
        }
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchedPage::NotModified);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Ok(FetchedPage::Busy {
                status: status.as_u16(),
                retry_after: retry_after(&response),
            });
        }
        if status != StatusCode::OK {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let format = format_of(url, &response)?;
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_body(response, url, limits.max_page_bytes).await?;
        Ok(FetchedPage::Page { body, format, etag })
    }
}

/// A response's body, read as it arrives, refused past `max` bytes.
async fn read_body(
    mut response: reqwest::Response,
    url: &str,
    max: usize,
) -> Result<Vec<u8>, FetchError> {
    let too_large = || FetchError::TooLarge {
        url: url.to_owned(),
        limit: max,
    };
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| FetchError::Transport {
        url: url.to_owned(),
        message: e.to_string(),
    })? {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl FeedSource for HttpSource {
    fn fetch<'a>(&'a self, request: PageRequest<'a>) -> FetchFuture<'a> {
        Box::pin(self.exchange(request))
    }
}

/// The dataset format a response declares, if it is one a feed may use.
fn format_of(url: &str, response: &reqwest::Response) -> Result<InputFormat, FetchError> {
    let content_type = rdf_input::media_type_of(
        response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    match InputFormat::from_media_type(&content_type) {
        Some(f @ (InputFormat::TriG | InputFormat::NQuads | InputFormat::JsonLd)) => Ok(f),
        _ => Err(FetchError::ContentType {
            url: url.to_owned(),
            content_type,
        }),
    }
}

/// A response's `Retry-After`: seconds, or an HTTP date.
fn retry_after(response: &reqwest::Response) -> Option<RetryAfter> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(RetryAfter::Delay(Duration::from_secs(secs)));
    }
    httpdate::parse_http_date(value).ok().map(RetryAfter::At)
}
