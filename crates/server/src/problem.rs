//! RFC 9457 problem details: the one shape of every HTTP error a node sends.
//!
//! Handlers return a [`Problem`]; any other error response (a body too large,
//! a method not allowed, an unknown path) is rewritten into one by
//! [`every_error_is_a_problem`], so clients parse errors one way.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Where problem types are described; a problem's `type` is this plus its kind.
pub const PROBLEM_TYPES: &str = "https://w3id.org/ccis/problems#";

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem: a status, a kind (the fragment of its `type`), a
/// human-readable detail and optional extension members.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    kind: String,
    title: Option<String>,
    detail: String,
    extra: Map<String, Value>,
    retry_after_secs: Option<u32>,
}

impl Problem {
    /// A problem of `kind` with `status` and `detail`.
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind: kind.to_owned(),
            title: None,
            detail: detail.into(),
            extra: Map::new(),
            retry_after_secs: None,
        }
    }

    /// 404: nothing here.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 406: none of the offered media types is acceptable.
    pub fn not_acceptable(offered: &[&str]) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            format!("acceptable media types: {}", offered.join(", ")),
        )
        .with("acceptable", json!(offered))
    }

    /// 500: the node failed; the detail says on what.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            detail.to_string(),
        )
    }

    /// A title more specific than the status's reason phrase.
    pub fn titled(mut self, title: &str) -> Self {
        self.title = Some(title.to_owned());
        self
    }

    /// Its kind (the fragment of its `type`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Its detail, for people.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Its title: the one given, else the status's reason phrase.
    pub fn title(&self) -> &str {
        self.title
            .as_deref()
            .or(self.status.canonical_reason())
            .unwrap_or("Error")
    }

    /// Adds an extension member.
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.extra.insert(name.to_owned(), value);
        self
    }

    /// Adds every member of a JSON object as extension members.
    pub fn with_all(mut self, members: Value) -> Self {
        if let Value::Object(map) = members {
            self.extra.extend(map);
        }
        self
    }

    /// Asks the client to retry after `seconds` (a `Retry-After` header).
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after_secs = Some(seconds);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The problem as its JSON document.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "type": format!("{PROBLEM_TYPES}{}", self.kind),
            "title": self.title.as_deref().unwrap_or(self.status.canonical_reason().unwrap_or("Error")),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Value::Object(map) = &mut body {
            map.extend(self.extra.clone());
        }
        body
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, PROBLEM_JSON)],
            self.to_json().to_string(),
        )
            .into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The problem kind of a status answered by the framework, not by a handler.
fn kind_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::UNAUTHORIZED => "unauthorized",
        s if s.is_server_error() => "internal",
        _ => "bad-request",
    }
}

/// Middleware: an error response without a body of its own (none, or plain
/// text from the framework) becomes a problem, keeping its status and its
/// text as the detail (at most 1 KiB of it). Error responses that carry a
/// representation (a withdrawn record's tombstone with 410) pass unchanged.
pub async fn every_error_is_a_problem(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 1024).await.unwrap_or_default();
    let detail = match String::from_utf8_lossy(&text).trim() {
        "" => status.canonical_reason().unwrap_or("error").to_lowercase(),
        t => t.to_owned(),
    };
    let mut problem = Problem::new(status, kind_of(status), detail).into_response();
    for name in [header::RETRY_AFTER, header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            problem.headers_mut().insert(name, v.clone());
        }
    }
    problem
}

/// A handler for paths no route matches: a 404 problem.
pub async fn no_such_path(request: Request<Body>) -> Problem {
    Problem::not_found(format!("no resource at {}", request.uri().path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_has_the_rfc_9457_members() {
        let p = Problem::not_acceptable(&["text/turtle"]).with("extra", json!(1));
        let v = p.to_json();
        assert_eq!(v["type"], "https://w3id.org/ccis/problems#not-acceptable");
        assert_eq!(v["title"], "Not Acceptable");
        assert_eq!(v["status"], 406);
        assert_eq!(v["acceptable"], json!(["text/turtle"]));
        assert_eq!(v["extra"], 1);
        let r = p.into_response();
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
