//! A French node for the validators' pages, run by `ccis serve` on
//! loopback, with an initiative published by operator `alice` and
//! accounts made by `ccis account add`.

use super::{Served, ccis, free_port, s};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An initiative of the node (`<records/{slug}>`), local level.
pub fn initiative(slug: &str, title: &str) -> String {
    super::workflow::initiative(slug, title, "local")
}

/// A French node made by `ccis init`, with an initiative published by
/// operator `alice`, accounts alice and bob (validators) and carol
/// (editor), and `[review]` set by `review`.
pub struct Site {
    /// Holds the node directory.
    pub _tmp: tempfile::TempDir,
    /// The node directory.
    pub dir: PathBuf,
    /// Its base URL.
    pub url: String,
    /// Its operator API token.
    pub token: String,
    /// The initiative's IRI.
    pub iri: String,
    /// Its `ccis serve`.
    pub _served: Served,
}

/// Every account's password.
pub const PASSWORD: &str = "a long enough password";

/// `ccis account add NAME --role ROLE`, the password on standard input.
pub fn add_account(dir: &Path, name: &str, role: &str) {
    let mut child = Command::new(super::ccis_bin())
        .args(["account", "add", name, "--role", role, "--dir", s(dir)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ccis account add {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Site {
    /// The path of the initiative's review page, in English.
    pub fn review_path(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("iri", &self.iri)
            .append_pair("lang", "en");
        format!("/review/initiative?{}", query.finish())
    }

    /// The site, with `review` (TOML lines) as its `[review]` section.
    pub fn new(review: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("http://127.0.0.1:{}", free_port());
        let dir = tmp.path().join("fr");
        let out = super::init_node(&dir, "fr-test", "FR", &url, &["--name", "Centre FR"]);
        let token = out
            .lines()
            .find_map(|l| l.split("only its hash is kept): ").nth(1))
            .expect("the API token")
            .trim()
            .to_owned();
        if !review.is_empty() {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(dir.join("ccis.toml"))
                .unwrap();
            writeln!(f, "\n[review]\n{review}").unwrap();
        }
        let file = dir.join("repair-cafes.ttl");
        std::fs::write(&file, initiative("repair-cafes", "Village repair cafés")).unwrap();
        let (ok, o, e) = ccis(&["publish", "--dir", s(&dir), "--operator", "alice", s(&file)]);
        assert!(ok, "{o}{e}");
        for (name, role) in [
            ("alice", "validator"),
            ("bob", "validator"),
            ("carol", "editor"),
        ] {
            add_account(&dir, name, role);
        }
        let served = super::serve_at(&dir, &url);
        let iri = format!("{url}/records/repair-cafes");
        Self {
            _tmp: tmp,
            dir,
            url,
            token,
            iri,
            _served: served,
        }
    }

    /// The initiative's state, as `/api/initiatives` gives it.
    pub fn state(&self) -> String {
        let all: serde_json::Value =
            reqwest::blocking::get(format!("{}/api/initiatives", self.url))
                .unwrap()
                .json()
                .unwrap();
        all["initiatives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["iri"] == self.iri.as_str())
            .map(|i| i["state"].as_str().unwrap().to_owned())
            .unwrap()
    }

    /// The audit log.
    pub fn audit(&self) -> String {
        std::fs::read_to_string(self.dir.join("audit.jsonl")).unwrap_or_default()
    }
}

/// The SIM checklist's criteria, in the checklist's order.
const CRITERIA: usize = 4;

/// A browser-like client: no automatic redirects; the session cookie kept by hand.
pub struct Agent {
    http: reqwest::blocking::Client,
    base: String,
    /// The session cookie's value.
    pub cookie: Option<String>,
}

/// What a page answered.
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its `Location`.
    pub location: String,
    /// Its `Set-Cookie`.
    pub set_cookie: String,
    /// Its body.
    pub body: String,
}

impl Answer {
    /// The value of the first hidden `name` field of the page.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} field in:\n{}", self.body));
        let rest = &self.body[at + marker.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

impl Agent {
    /// A client of the node at `base`.
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_owned(),
            cookie: None,
        }
    }

    fn keep(&mut self, response: reqwest::blocking::Response) -> Answer {
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let location = header(LOCATION);
        let set_cookie = header(SET_COOKIE);
        if let Some(pair) = set_cookie.split(';').next()
            && let Some(value) = pair.strip_prefix("ccis_review=")
        {
            self.cookie = (!value.is_empty()).then(|| value.to_owned());
        }
        Answer {
            status,
            location,
            set_cookie,
            body: response.text().unwrap(),
        }
    }

    pub fn get(&mut self, path: &str) -> Answer {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            request = request.header(COOKIE, format!("ccis_review={c}"));
        }
        let response = request.send().unwrap();
        self.keep(response)
    }

    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(fields);
        if let Some(c) = &self.cookie {
            request = request.header(COOKIE, format!("ccis_review={c}"));
        }
        let response = request.send().unwrap();
        self.keep(response)
    }

    /// Logs in as `name`; the answer to the login form.
    pub fn login(&mut self, name: &str, password: &str) -> Answer {
        let form = self.get("/review/login?lang=en");
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.hidden("csrf");
        self.post(
            "/review/login?lang=en",
            &[
                ("csrf", &csrf),
                ("name", name),
                ("password", password),
                ("next", "/review"),
            ],
        )
    }
}

/// The fields of a decision on version `version` of the site's initiative,
/// every criterion passed unless `skip` names one to leave out.
pub fn decision<'a>(
    csrf: &'a str,
    iri: &'a str,
    version: &'a str,
    outcome: &'a str,
    skip: Option<usize>,
) -> Vec<(String, String)> {
    let mut fields = vec![
        ("csrf".to_owned(), csrf.to_owned()),
        ("iri".to_owned(), iri.to_owned()),
        ("version".to_owned(), version.to_owned()),
        ("checklist".to_owned(), "sim".to_owned()),
        ("outcome".to_owned(), outcome.to_owned()),
        (
            "rationale".to_owned(),
            "Clear problem, sound method, results shown.".to_owned(),
        ),
    ];
    for i in (0..CRITERIA).filter(|i| Some(*i) != skip) {
        fields.push((format!("a-{i}"), "passed".to_owned()));
        fields.push((format!("c-{i}"), format!("criterion {i} is met")));
    }
    fields
}

/// Posts `fields` to `path`.
pub fn post_fields(agent: &mut Agent, path: &str, fields: &[(String, String)]) -> Answer {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    agent.post(path, &pairs)
}
