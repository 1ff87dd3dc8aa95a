//! Sessions of the validators' pages, their CSRF tokens, and the limit on
//! failed logins.
//!
//! A session is a random 256-bit id in an `HttpOnly`, `SameSite=Strict`
//! cookie scoped to `/review` (`Secure` when the node's base URL is HTTPS),
//! and a row in memory: the account logged in, the session's CSRF token,
//! when it started and when it was last used. Keeping sessions on the
//! server rather than in a signed cookie means no secret key to manage and
//! rotate, an account removed or a logout takes effect at once, and a
//! restart logs everybody out, which for a handful of validators is right.
//! The whole of it is this file: `tower-sessions` and `axum-login` would add
//! a session store abstraction, a second cookie crate and version coupling
//! with axum for what is a map with two expiry rules here.
//!
//! Every form carries the session's CSRF token (the synchronizer token
//! pattern), compared in constant time; the login form too, with the token
//! of a session started before login, and the id changes at login (no
//! session fixation).

use ccis_node::config::ReviewConfig;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Name of the session cookie.
pub const COOKIE: &str = "ccis_review";

/// What a request's session holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// The session id.
    pub id: String,
    /// The account logged in, if any.
    pub account: Option<String>,
    /// The token every form of the session carries.
    pub csrf: String,
}

#[derive(Debug)]
struct Session {
    account: Option<String>,
    csrf: String,
    started: Instant,
    last_seen: Instant,
}

/// The sessions of one server.
#[derive(Debug)]
pub struct Sessions {
    rows: Mutex<HashMap<String, Session>>,
    idle: Duration,
    max_age: Duration,
    max_sessions: usize,
}

/// 32 random bytes as hex.
fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex::encode(bytes))
}

/// Whether two tokens are equal, in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl Sessions {
    /// Sessions with the limits of `[review]`.
    pub fn new(config: &ReviewConfig) -> Self {
        Self {
            rows: Mutex::new(HashMap::new()),
            idle: Duration::from_secs(config.session_idle_secs.max(1)),
            max_age: Duration::from_secs(config.session_max_secs.max(1)),
            max_sessions: config.max_sessions.max(1),
        }
    }

    fn expired(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.last_seen) >= self.idle
            || now.duration_since(s.started) >= self.max_age
    }

    /// The live session `id`, marked as used now; an expired one is dropped.
    pub fn get(&self, id: &str, now: Instant) -> Option<SessionView> {
        let mut rows = self.rows.lock().ok()?;
        let expired = self.expired(rows.get(id)?, now);
        if expired {
            rows.remove(id);
            return None;
        }
        let s = rows.get_mut(id)?;
        s.last_seen = now;
        Some(SessionView {
            id: id.to_owned(),
            account: s.account.clone(),
            csrf: s.csrf.clone(),
        })
    }

    /// Starts a session (for `account`, or anonymous before login), making
    /// room by dropping expired sessions, then the least recently used.
    pub fn start(&self, account: Option<String>, now: Instant) -> Option<SessionView> {
        let id = random_token()?;
        let csrf = random_token()?;
        let mut rows = self.rows.lock().ok()?;
        if rows.len() >= self.max_sessions {
            rows.retain(|_, s| !self.expired(s, now));
        }
        while rows.len() >= self.max_sessions {
            // Anonymous sessions go before logged-in ones, oldest use first.
            let oldest = rows
                .iter()
                .min_by_key(|(_, s)| (s.account.is_some(), s.last_seen))
                .map(|(k, _)| k.clone())?;
            rows.remove(&oldest);
        }
        rows.insert(
            id.clone(),
            Session {
                account: account.clone(),
                csrf: csrf.clone(),
                started: now,
                last_seen: now,
            },
        );
        Some(SessionView { id, account, csrf })
    }

    /// Ends session `id`.
    pub fn end(&self, id: &str) {
        if let Ok(mut rows) = self.rows.lock() {
            rows.remove(id);
        }
    }

    /// Sessions held now.
    pub fn len(&self) -> usize {
        self.rows.lock().map_or(0, |r| r.len())
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Failed logins per client address and per account name, in a sliding window.
#[derive(Debug)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
    max: usize,
    window: Duration,
}

/// Keys remembered before the stale ones are forgotten.
const MAX_KEYS: usize = 10_000;

impl LoginLimiter {
    /// The limiter of `[review]`.
    pub fn new(config: &ReviewConfig) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            max: config.max_login_failures as usize,
            window: Duration::from_secs(config.login_window_secs.max(1)),
        }
    }

    /// `None` if a login may be tried for all of `keys` now, else the
    /// seconds until it may.
    pub fn wait(&self, keys: &[String], now: Instant) -> Option<u64> {
        let Ok(mut failures) = self.failures.lock() else {
            return Some(60);
        };
        let mut wait = None;
        for key in keys {
            let Some(times) = failures.get_mut(key) else {
                continue;
            };
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                times.pop_front();
            }
            if times.len() >= self.max {
                let left = times.front().map_or(self.window, |t| {
                    self.window.saturating_sub(now.duration_since(*t))
                });
                let secs = left.as_secs().max(1);
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
        wait
    }

    /// Counts a failed login against each of `keys`.
    pub fn failed(&self, keys: &[String], now: Instant) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_KEYS {
            let window = self.window;
            failures.retain(|_, t| t.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        for key in keys {
            failures.entry(key.clone()).or_default().push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(idle: u64, max: u64, sessions: usize) -> ReviewConfig {
        ReviewConfig {
            session_idle_secs: idle,
            session_max_secs: max,
            max_sessions: sessions,
            max_login_failures: 2,
            login_window_secs: 60,
        }
    }

    #[test]
    fn sessions_end_when_idle_or_too_old() {
        let sessions = Sessions::new(&config(10, 30, 100));
        let t0 = Instant::now();
        let s = sessions.start(Some("marie".into()), t0).unwrap();
        assert_eq!(s.id.len(), 64);
        assert_ne!(s.id, s.csrf);
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(
            sessions.get(&s.id, at(9)).unwrap().account.as_deref(),
            Some("marie")
        );
        assert!(
            sessions.get(&s.id, at(18)).is_some(),
            "used at 9 s: idle only 9 s"
        );
        assert!(sessions.get(&s.id, at(27)).is_some());
        assert!(sessions.get(&s.id, at(30)).is_none(), "30 s after login");
        let idle = sessions.start(None, t0).unwrap();
        assert!(sessions.get(&idle.id, at(10)).is_none(), "10 s unused");
        assert!(sessions.get("not a session", t0).is_none());
        let ended = sessions.start(None, t0).unwrap();
        sessions.end(&ended.id);
        assert!(sessions.get(&ended.id, t0).is_none());
    }

    #[test]
    fn a_full_table_drops_anonymous_sessions_first() {
        let sessions = Sessions::new(&config(100, 100, 2));
        let t0 = Instant::now();
        let user = sessions.start(Some("marie".into()), t0).unwrap();
        let anon = sessions.start(None, t0 + Duration::from_secs(1)).unwrap();
        let newer = sessions.start(None, t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(sessions.len(), 2);
        assert!(
            sessions
                .get(&user.id, t0 + Duration::from_secs(3))
                .is_some()
        );
        assert!(
            sessions
                .get(&anon.id, t0 + Duration::from_secs(3))
                .is_none()
        );
        assert!(
            sessions
                .get(&newer.id, t0 + Duration::from_secs(3))
                .is_some()
        );
    }

    #[test]
    fn failures_over_the_limit_wait_for_the_window() {
        let limiter = LoginLimiter::new(&config(10, 10, 10));
        let t0 = Instant::now();
        let keys = vec!["ip:127.0.0.1".to_owned(), "name:marie".to_owned()];
        assert_eq!(limiter.wait(&keys, t0), None);
        limiter.failed(&keys, t0);
        assert_eq!(limiter.wait(&keys, t0), None);
        limiter.failed(&keys, t0 + Duration::from_secs(5));
        assert_eq!(limiter.wait(&keys, t0 + Duration::from_secs(6)), Some(54));
        let other = vec!["ip:127.0.0.2".to_owned(), "name:marie".to_owned()];
        assert!(
            limiter.wait(&other, t0).is_some(),
            "the name is limited too"
        );
        assert_eq!(limiter.wait(&["ip:127.0.0.2".to_owned()], t0), None);
        assert_eq!(limiter.wait(&keys, t0 + Duration::from_secs(61)), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", "a"));
    }
}
