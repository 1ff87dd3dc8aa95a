//! `/assets/…`: the static files of the query page, built into the binary
//! (no request to any other host): YASGUI with its licence and the page's
//! script. The pages' one stylesheet is `/style.css`.

use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};

/// Vendored files change only with their version, named in their links
/// (`?v=`): cached for a year.
const LONG: &str = "public, max-age=31536000, immutable";
/// Our own files: cached for an hour.
const HOUR: &str = "public, max-age=3600";

/// (path under `/assets/`, media type, cache policy, bytes).
const FILES: &[(&str, &str, &str, &[u8])] = &[
    (
        "yasgui/yasgui.min.js",
        "text/javascript; charset=utf-8",
        LONG,
        include_bytes!("../assets/yasgui/yasgui.min.js"),
    ),
    (
        "yasgui/yasgui.min.css",
        "text/css; charset=utf-8",
        LONG,
        include_bytes!("../assets/yasgui/yasgui.min.css"),
    ),
    (
        "yasgui/LICENSE",
        "text/plain; charset=utf-8",
        HOUR,
        include_bytes!("../assets/yasgui/LICENSE"),
    ),
    (
        "query.js",
        "text/javascript; charset=utf-8",
        HOUR,
        include_bytes!("../assets/query.js"),
    ),
];

/// The paths this module serves, each its own route (so that other
/// `/assets/…` routes can sit beside them).
pub const ROUTES: &[&str] = &[
    "/assets/yasgui/yasgui.min.js",
    "/assets/yasgui/yasgui.min.css",
    "/assets/yasgui/LICENSE",
    "/assets/query.js",
];

/// A route for each of [`ROUTES`].
pub fn routes<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    ROUTES.iter().fold(axum::Router::new(), |router, path| {
        router.route(path, axum::routing::get(file))
    })
}

/// `GET` of one of [`ROUTES`].
pub async fn file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches("/assets/");
    match FILES.iter().find(|(p, ..)| *p == path) {
        Some((_, media_type, cache, bytes)) => (
            [
                (header::CONTENT_TYPE, *media_type),
                (header::CACHE_CONTROL, *cache),
            ],
            *bytes,
        )
            .into_response(),
        None => crate::problem::Problem::not_found(format!("no asset {path:?}")).into_response(),
    }
}
