//! What every response carries whatever happens in a handler: security
//! headers, and a problem (500) instead of a panic that would end the process.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;

/// The Content-Security-Policy of pages that set none: no script, styles
/// from this node only, never in a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The stylesheet of the HTML pages (served, not inline, for the CSP).
/// Colours keep a contrast of at least 4.5:1 (WCAG 2.1 AA) on white.
const STYLESHEET: &str = include_str!("../templates/style.css");

/// `GET /style.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Adds `X-Content-Type-Options`, `X-Frame-Options`, `Referrer-Policy` and,
/// unless the handler chose its own, the Content-Security-Policy.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
    }
    response
}

/// Security headers on every response, and a 500 problem for a panic.
pub fn layers<S: Clone + Send + Sync + 'static>(routes: axum::Router<S>) -> axum::Router<S> {
    routes
        .layer(catch_panic())
        .layer(axum::middleware::from_fn(security_headers))
}

/// What answers a request whose handler panicked.
type PanicHandler = fn(Box<dyn Any + Send + 'static>) -> Response<Body>;

/// Turns a handler's panic into a 500 problem; the process goes on.
pub fn catch_panic() -> CatchPanicLayer<PanicHandler> {
    CatchPanicLayer::custom(panic_response as PanicHandler)
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "a request handler panicked");
    let mut response = crate::problem::Problem::internal(
        "the server failed on this request; it goes on serving others",
    )
    .into_response();
    response.headers_mut().insert(
        HeaderName::from_static("cache-control"),
        HeaderValue::from_static("no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    async fn boom() -> &'static str {
        panic!("a handler that fails")
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_panicking_handler_gets_a_problem_and_the_server_goes_on() {
        let app = layers(
            axum::Router::new()
                .route("/boom", get(boom))
                .route("/ok", get(|| async { "ok" })),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let limits = crate::ServerOptions::default().connections;
        tokio::spawn(crate::serve_on(
            listener,
            app,
            limits,
            std::future::pending(),
        ));
        for _ in 0..3 {
            let r = reqwest::get(format!("{url}/boom")).await.unwrap();
            assert_eq!(r.status(), 500);
            assert_eq!(r.headers()["content-type"], "application/problem+json");
            assert_eq!(r.headers()["x-content-type-options"], "nosniff");
            let r = reqwest::get(format!("{url}/ok")).await.unwrap();
            assert_eq!(r.status(), 200);
            assert!(
                r.headers()["content-security-policy"]
                    .to_str()
                    .unwrap()
                    .contains("frame-ancestors 'none'")
            );
        }
    }
}
