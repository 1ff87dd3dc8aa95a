//! The validators' pages, behind operator login (`/review/…`):
//!
//! - `GET /review/login`, `POST /review/login`, `POST /review/logout`;
//! - `GET /review`: the queue, by state, with each initiative's level,
//!   country, version and age, those awaiting this node's decision first;
//! - `GET /review/initiative?iri=…`: one initiative: its fields, what
//!   changed since the version last judged, its history (the signed
//!   decisions and the audit log), and the checklist form;
//! - `POST /review/decide`: the form sent: `Node::decide` signs the decision
//!   in the name of the operator logged in (four eyes and the workflow's
//!   rules apply as on the command line);
//! - `GET /review/new`, `POST /review/new`: an initiative created by an
//!   editor, published as the node's own record;
//! - `GET /review/submissions`, `GET /review/submission?id=…`,
//!   `POST /review/submission`: the proposals of project holders, accepted
//!   (published as the node's record, the running node's lock taken in
//!   process), rejected, or their submitter's contact erased.
//!
//! Accounts are in `accounts.toml` (`ccis account`); sessions, CSRF tokens
//! and the limit on failed logins are in [`session`]. Every login, failed
//! login, logout and decision goes to the audit log.

pub mod session;

mod new_initiative;
mod pages;
mod submissions;

use crate::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ccis_node::accounts::{Account, AccountFile};
use ccis_node::audit::{AuditEntry, AuditLog};
use ccis_node::config::ReviewConfig;
use session::{COOKIE, LoginLimiter, SessionView, Sessions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

pub use new_initiative::{create as create_initiative, form as new_initiative};
pub use pages::{decide, initiative, login, login_form, logout, queue};
pub use submissions::{act as submission_act, list as submissions, show as submission};

/// Largest form accepted on the validators' pages, in bytes (a decision
/// with a rationale and a comment per criterion fits many times over).
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// The validators' side of a server: sessions, failed logins, and the node
/// directory where the accounts and the audit log are.
pub struct Review {
    /// The sessions.
    pub sessions: Sessions,
    /// Failed logins.
    pub limiter: LoginLimiter,
    dir: PathBuf,
    secure: bool,
    max_age: u64,
}

impl Review {
    /// The validators' side of the node in `dir` whose base URL is `base_url`.
    pub fn new(dir: PathBuf, base_url: &str, config: &ReviewConfig) -> Self {
        Self {
            sessions: Sessions::new(config),
            limiter: LoginLimiter::new(config),
            dir,
            secure: base_url.starts_with("https://"),
            max_age: config.session_max_secs.max(1),
        }
    }

    fn accounts(&self) -> AccountFile {
        AccountFile::of(&self.dir)
    }

    fn audit(&self, operator: &str, action: &str, detail: String) {
        let entry = AuditEntry {
            at: ccis_node::node::now(),
            operator: operator.to_owned(),
            action: action.to_owned(),
            record: String::new(),
            version: 0,
            detail,
        };
        if let Err(e) = AuditLog::of(&self.dir).append(&[entry]) {
            tracing::error!(error = %e, action, "an operator action could not be written to the audit log");
        }
    }

    /// The `Set-Cookie` value for session `id`.
    fn cookie(&self, id: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={id}; Path=/review; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            self.max_age
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("ccis_review=; Path=/review; Max-Age=0"))
    }
}

/// The `Set-Cookie` value that ends the session cookie.
fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("ccis_review=; Path=/review; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The session id a request's cookie carries.
fn cookie_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The live session of a request, if any.
fn session_of(state: &AppState, headers: &HeaderMap) -> Option<SessionView> {
    let id = cookie_id(headers)?;
    state.review.sessions.get(&id, Instant::now())
}

/// Who is logged in: the session and its account as `accounts.toml` has
/// it now; else the answer to give (to the login page, for a page; 403 for
/// a form).
fn logged_in(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(SessionView, Account), Box<Response>> {
    let to_login = || {
        let next = uri
            .path_and_query()
            .map_or("/review", |p| p.as_str())
            .to_owned();
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("next", &next);
        Box::new(redirect(&format!("/review/login?{}", query.finish())))
    };
    let Some(session) = session_of(state, headers) else {
        return Err(to_login());
    };
    let Some(name) = session.account.clone() else {
        return Err(to_login());
    };
    match state.review.accounts().load() {
        Ok(accounts) => match accounts.find(&name) {
            Some(account) => Ok((session, account.clone())),
            None => {
                // The account was removed: its sessions end with it.
                state.review.sessions.end(&session.id);
                Err(to_login())
            }
        },
        Err(e) => Err(Box::new(
            crate::problem::Problem::internal(e).into_response(),
        )),
    }
}

/// A `303 See Other` to `to`.
fn redirect(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, to.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// The peer's address, when the server was given it.
fn client(request: &Request) -> String {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(
            || "unknown".to_owned(),
            |ConnectInfo(addr)| addr.ip().to_string(),
        )
}

/// A form's fields, from a body of at most [`MAX_FORM_BYTES`].
async fn form_of(request: Request) -> Result<(HeaderMap, Uri, Vec<(String, String)>), Response> {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            crate::problem::Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("a form of the validators' pages is at most {MAX_FORM_BYTES} bytes"),
            )
            .into_response()
        })?;
    let fields = form_urlencoded::parse(&bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    Ok((parts.headers, parts.uri, fields))
}

/// A form sent by an operator logged in, carrying the session's token.
struct SentForm {
    headers: HeaderMap,
    uri: Uri,
    fields: Vec<(String, String)>,
    lang: &'static str,
    session: SessionView,
    account: Account,
}

/// The form of `request` if its session is live and it carries the
/// session's CSRF token; else the answer: 403 (`csrf` or
/// `session-expired`), nothing done.
async fn sent_form(state: &AppState, request: Request) -> Result<SentForm, Box<Response>> {
    let (headers, uri, fields) = form_of(request).await.map_err(Box::new)?;
    let lang = crate::web::language(&uri, &headers);
    let Ok((session, account)) = logged_in(state, &headers, &uri) else {
        if session_of(state, &headers).is_some_and(|s| !carries_token(&s, &fields)) {
            return Err(Box::new(forged(lang)));
        }
        let tr = crate::web::i18n::Tr::new(lang);
        return Err(Box::new(
            crate::problem::Problem::new(
                StatusCode::FORBIDDEN,
                "session-expired",
                tr.t("review-session-expired"),
            )
            .titled("Log in again")
            .into_response(),
        ));
    };
    if !carries_token(&session, &fields) {
        return Err(Box::new(forged(lang)));
    }
    Ok(SentForm {
        headers,
        uri,
        fields,
        lang,
        session,
        account,
    })
}

/// The first value of field `name`.
fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Whether the form carries the session's CSRF token.
fn carries_token(session: &SessionView, fields: &[(String, String)]) -> bool {
    session::same_token(field(fields, "csrf"), &session.csrf)
}

/// `403` for a form without the session's token.
fn forged(lang: &str) -> Response {
    let tr = crate::web::i18n::Tr::new(lang);
    crate::problem::Problem::new(StatusCode::FORBIDDEN, "csrf", tr.t("review-csrf"))
        .titled("Form refused")
        .into_response()
}

/// Only `/review…` paths are followed after login (no open redirect).
fn safe_next(next: &str) -> &str {
    let ok = (next == "/review" || next.starts_with("/review/") || next.starts_with("/review?"))
        && !next.contains("//")
        && !next.contains('\\');
    if ok { next } else { "/review" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_review_paths_are_followed_after_login() {
        assert_eq!(
            safe_next("/review/initiative?iri=x"),
            "/review/initiative?iri=x"
        );
        assert_eq!(safe_next("/review?lang=fr"), "/review?lang=fr");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/reviewer",
            "/review//evil",
            "/\\evil",
            "",
        ] {
            assert_eq!(safe_next(bad), "/review", "{bad}");
        }
    }

    #[test]
    fn the_cookie_is_read_only_in_its_form() {
        let mut headers = HeaderMap::new();
        let id = "ab".repeat(32);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("x=1; {COOKIE}={id}")).unwrap(),
        );
        assert_eq!(cookie_id(&headers), Some(id));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("ccis_review=short"),
        );
        assert_eq!(cookie_id(&headers), None);
    }
}
