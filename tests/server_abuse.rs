//! No request can take the node down: `ccis serve` (a real process, SPARQL in
//! worker processes) receives abusive requests, and after each one it still
//! answers `/node`, `/feed` and `ASK {}` on `/sparql`. Limits are configured
//! tiny where a test needs one to be crossed; no outcome depends on speed.

mod common;

use ccis::config::{NodeConfig, ServerConfig};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

const BASE: &str = "https://ccis.example.fr";
/// Generous bound for what must happen "promptly" on a slow CI machine.
const PROMPTLY: Duration = Duration::from_secs(60);
/// A query no machine finishes in minutes: every quad of the store (the
/// vocabulary alone has thousands) crossed with itself three times, sorted.
const RUNAWAY: &str = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g";

/// `ccis serve` of a fresh node, killed when dropped.
struct Served {
    _tmp: tempfile::TempDir,
    child: Child,
    url: String,
    client: reqwest::blocking::Client,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(configure: impl FnOnce(&mut ServerConfig)) -> Served {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    common::init_node(&dir, "fr-abuse", "FR", BASE, &[]);
    let mut config = NodeConfig::load(&dir).unwrap();
    configure(&mut config.server);
    config.save(&dir).unwrap();
    let (child, url) = common::spawn_serve(&dir, false);
    Served {
        _tmp: tmp,
        child,
        url,
        client: reqwest::blocking::Client::builder()
            .timeout(PROMPTLY)
            .build()
            .unwrap(),
    }
}

impl Served {
    fn sparql(&self, query: &str) -> (u16, String) {
        let r = self
            .client
            .post(format!("{}/sparql", self.url))
            .header("content-type", "application/sparql-query")
            .header("accept", "application/sparql-results+json")
            .body(query.to_owned())
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    /// `/node`, `/feed` and `ASK {}` answer.
    fn still_answers(&self) {
        let node = self
            .client
            .get(format!("{}/node", self.url))
            .send()
            .unwrap();
        assert_eq!(node.status(), 200);
        assert!(node.text().unwrap().contains("fr-abuse"));
        let feed = self
            .client
            .get(format!("{}/feed", self.url))
            .send()
            .unwrap();
        assert_eq!(feed.status(), 200);
        let (status, body) = self.sparql("ASK {}");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("true"), "{body}");
    }

    /// The processes whose parent is the server (its SPARQL workers).
    fn workers(&self) -> Vec<u32> {
        children_of(self.child.id())
    }
}

fn children_of(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let mut fields = after.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) && state != "Z" {
            found.push(pid);
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after.split_whitespace().next() != Some("Z")
    })
}

/// Waits (polling) until `done` holds; fails the test after [`PROMPTLY`].
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < PROMPTLY,
            "not done in {PROMPTLY:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_problem(status: u16, body: &str, expected: u16, words: &[&str]) {
    assert_eq!(status, expected, "{body}");
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["status"], expected, "{body}");
    for w in words {
        assert!(body.contains(w), "{w:?} not in {body}");
    }
}

#[test]
fn deep_nesting_and_huge_queries_are_refused_before_parsing() {
    let n = serve(|_| {});
    let parens = format!(
        "ASK {{ FILTER({}1{}) }}",
        "(".repeat(1000),
        ")".repeat(1000)
    );
    let (status, body) = n.sparql(&parens);
    assert_problem(status, &body, 400, &["max_query_depth", "32"]);
    n.still_answers();
    let groups = format!("ASK {}{}", "{".repeat(1000), "}".repeat(1000));
    let (status, body) = n.sparql(&groups);
    assert_problem(status, &body, 400, &["max_query_depth"]);
    n.still_answers();
    let flat = format!(
        "SELECT * WHERE {{ {} }}",
        "?s <http://x/p> ?o . ".repeat(10_000)
    );
    let (status, body) = n.sparql(&flat);
    assert_problem(status, &body, 400, &["max_query_bytes", "65536"]);
    n.still_answers();
    // Four 1.5 MB unparsable queries at once.
    let garbage: String = (0..1_500_000)
        .map(|i| ["SELECT", "{", "?x", "(", "\"", "<", "FILTER"][i % 7])
        .collect::<String>()
        .chars()
        .take(1_500_000)
        .collect();
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let tasks: Vec<_> = (0..4).map(|_| s.spawn(|| n.sparql(&garbage))).collect();
        tasks.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for (status, body) in answers {
        assert_problem(status, &body, 400, &["max_query_bytes"]);
    }
    n.still_answers();
}

#[test]
fn a_query_that_breaks_the_evaluator_ends_only_its_worker() {
    // Limits far above the default: the queries reach the parser and the
    // evaluator, whatever they do there, only a worker can die of it.
    let n = serve(|s| {
        s.max_query_bytes = 8 * 1024 * 1024;
        s.max_query_depth = 1_000_000;
        s.query_timeout_secs = 20;
    });
    let server = n.child.id();
    let deep = format!(
        "ASK {{ FILTER({}1{}) }}",
        "(".repeat(500_000),
        ")".repeat(500_000)
    );
    let groups = format!("ASK {}{}", "{".repeat(500_000), "}".repeat(500_000));
    let flat = format!(
        "SELECT * WHERE {{ {} }}",
        "?s <http://x/p> ?o . ".repeat(10_000)
    );
    for query in [deep, groups, flat] {
        let (status, body) = n.sparql(&query);
        // Answered, refused as the client's error, or stopped at the limit.
        assert!([200, 400, 503].contains(&status), "{status} {body}");
        assert!(alive(server));
        n.still_answers();
    }
}

#[test]
fn a_runaway_sort_is_stopped_at_the_limit_and_its_worker_is_gone() {
    // Half a second of evaluation (the worker's start is not counted): ample
    // for `ASK {}`, nothing for a sort of billions of rows.
    let n = serve(|s| s.query_timeout_ms = Some(500));
    let r = n
        .client
        .post(format!("{}/sparql", n.url))
        .header("content-type", "application/sparql-query")
        .body(RUNAWAY)
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let body = r.text().unwrap();
    assert_problem(503, &body, 503, &["time limit", "0.5 s", "stopped"]);
    // The worker is killed and reaped before the 503 is sent.
    assert_eq!(n.workers(), Vec::<u32>::new());
    n.still_answers();
}

#[test]
fn a_query_over_its_memory_limit_is_stopped() {
    // The time limit is far beyond what the query needs to reach the memory limit.
    let n = serve(|s| {
        s.query_memory_mib = 1024;
        s.query_timeout_secs = 3600;
    });
    // A worker runs in that much: a small query is answered.
    let (status, body) = n.sparql("ASK {}");
    assert_eq!(status, 200, "{body}");
    let (status, body) = n.sparql(RUNAWAY);
    assert_problem(status, &body, 503, &["memory limit", "1024 MiB"]);
    assert_eq!(n.workers(), Vec::<u32>::new());
    n.still_answers();
}

#[test]
fn sigterm_stops_the_node_promptly_while_a_query_runs() {
    let mut n = serve(|s| {
        s.query_timeout_secs = 3600;
        s.max_concurrent_queries = 1;
        s.max_queued_queries = 0;
    });
    let url = n.url.clone();
    let running = std::thread::spawn({
        let url = url.clone();
        move || {
            reqwest::blocking::Client::builder()
                .timeout(PROMPTLY)
                .build()
                .unwrap()
                .post(format!("{url}/sparql"))
                .header("content-type", "application/sparql-query")
                .body(RUNAWAY)
                .send()
                .map(|r| r.status().as_u16())
        }
    });
    eventually("a worker runs the query", || n.workers().len() == 1);
    let worker = n.workers()[0];
    // The one slot is taken and no query may wait: the next is refused at
    // once, with a date to come back; /node, /feed and the catalogue answer.
    let r = n
        .client
        .post(format!("{url}/sparql"))
        .header("content-type", "application/sparql-query")
        .body("ASK {}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let body = r.text().unwrap();
    assert_problem(503, &body, 503, &["busy", "max_queued_queries"]);
    for path in ["/node", "/feed", "/"] {
        let r = n.client.get(format!("{url}{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let asked = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &n.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    eventually("the node exits", || n.child.try_wait().unwrap().is_some());
    let took = asked.elapsed();
    assert!(n.child.try_wait().unwrap().is_some_and(|s| s.success()));
    eventually("the worker is gone", || !alive(worker));
    // Stopped with a 503, or cut off with the connection.
    let answer = running.join().unwrap();
    assert!(answer.as_ref().map_or(true, |s| *s == 503), "{answer:?}");
    eprintln!("SIGTERM to exit with a runaway query running: {took:?}");
}

#[test]
fn huge_page_numbers_are_answered() {
    let n = serve(|_| {});
    for path in [
        "/?page=18446744073709551615",
        "/?page=368934881474191032",
        "/?page=99999999999999999999999999",
        "/?page=-1",
        "/feed/18446744073709551615",
        "/feed/99999999999999999999999999",
    ] {
        let r = n.client.get(format!("{}{path}", n.url)).send().unwrap();
        assert!(
            [200, 404].contains(&r.status().as_u16()),
            "{path}: {}",
            r.status()
        );
    }
    n.still_answers();
}

#[test]
fn slow_headers_are_cut_off() {
    let n = serve(|s| s.header_timeout_ms = 100);
    let address = n.url.trim_start_matches("http://").to_owned();
    let mut lorises: Vec<TcpStream> = (0..50)
        .map(|_| {
            let mut s = TcpStream::connect(&address).unwrap();
            s.write_all(b"GET /node HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            s.set_read_timeout(Some(PROMPTLY)).unwrap();
            s
        })
        .collect();
    for s in &mut lorises {
        // The server closes the connection: end of stream (or a reset), never a timeout.
        let mut rest = Vec::new();
        match s.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty() || rest.starts_with(b"HTTP/1.1 4"),
                "{}",
                String::from_utf8_lossy(&rest)
            ),
            Err(e) => assert!(
                e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut,
                "{e}"
            ),
        }
    }
    n.still_answers();
}

#[test]
fn connections_over_the_cap_wait_and_idle_ones_are_closed() {
    let n = serve(|s| {
        s.max_connections = 8;
        s.idle_timeout_ms = 200;
        s.header_timeout_ms = 3_600_000;
    });
    let address = n.url.trim_start_matches("http://").to_owned();
    let mut idle: Vec<TcpStream> = (0..40)
        .map(|_| {
            let s = TcpStream::connect(&address).unwrap();
            s.set_read_timeout(Some(PROMPTLY)).unwrap();
            s
        })
        .collect();
    // Served once idle connections are closed.
    n.still_answers();
    for s in &mut idle {
        let mut rest = Vec::new();
        let read = s.read_to_end(&mut rest);
        assert!(
            read.is_ok_and(|_| rest.is_empty()),
            "an idle connection is closed"
        );
    }
    n.still_answers();
}

#[test]
fn responses_carry_security_headers_and_pages_no_inline_code() {
    let n = serve(|_| {});
    for (path, accept) in [
        ("/", "text/html"),
        ("/node", "text/html"),
        ("/sparql?query=ASK%7B%7D", "*/*"),
        ("/feed", "*/*"),
        ("/records/none", "*/*"),
        ("/style.css", "*/*"),
    ] {
        let r = n
            .client
            .get(format!("{}{path}", n.url))
            .header("accept", accept)
            .send()
            .unwrap();
        let h = r.headers().clone();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        let body = r.text().unwrap();
        if accept == "text/html" {
            for inline in ["<script", "<style", " style=", " onclick="] {
                assert!(!body.contains(inline), "{path} has {inline}: {body}");
            }
        }
    }
}
