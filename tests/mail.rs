//! E-mail through the centre's SMTP relay (`[mail]`), against a real SMTP
//! peer written here: a minimal server on 127.0.0.1 (ephemeral port) that
//! greets, answers EHLO/HELO, AUTH PLAIN, MAIL FROM, RCPT TO, DATA and QUIT,
//! and records what it receives. A node run by `ccis serve` mails the
//! submitter and the validators when a submission arrives; `ccis submission
//! accept | reject` and `ccis review decide` mail the submitter; a relay
//! that is down, or that never answers, fails nothing (the submission is
//! stored, `202`), is logged naming the relay, and is given up at the
//! configured (tiny) timeout.

mod common;

use common::{free_port, s};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// The SMTP sink.

/// One message as the sink received it.
#[derive(Debug, Clone)]
struct Mail {
    from: String,
    rcpt: Vec<String>,
    auth: Option<String>,
    data: String,
}

impl Mail {
    /// The value of header `name` (unfolded).
    fn header(&self, name: &str) -> String {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    }

    /// The body, quoted-printable decoded.
    fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        assert!(
            self.header("Content-Transfer-Encoding")
                .eq_ignore_ascii_case("quoted-printable"),
            "{}",
            self.data
        );
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(b) =
                    u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8(out).unwrap().replace("\r\n", "\n")
    }
}

/// How the sink behaves.
#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    /// Takes every message.
    Takes,
    /// Accepts connections and never says a word.
    Silent,
}

/// A minimal SMTP server on 127.0.0.1, one thread per connection.
struct Sink {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    connections: Arc<AtomicUsize>,
}

impl Sink {
    fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (m, c) = (Arc::clone(&mails), Arc::clone(&connections));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                let m = Arc::clone(&m);
                std::thread::spawn(move || match behaviour {
                    Behaviour::Takes => {
                        let _ = session(stream, &m);
                    }
                    Behaviour::Silent => {
                        // Holds the connection open, answering nothing,
                        // until the client gives up and closes it.
                        let mut stream = stream;
                        let mut buf = [0u8; 1024];
                        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                    }
                });
            }
        });
        Self {
            port,
            mails,
            connections,
        }
    }

    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// The messages once there are `n` (a generous bound, not a timing).
    fn wait_for(&self, n: usize) -> Vec<Mail> {
        let start = Instant::now();
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return mails;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{} of {n} messages arrived: {mails:#?}",
                mails.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One SMTP session.
fn session(stream: TcpStream, mails: &Mutex<Vec<Mail>>) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 sink.test ESMTP\r\n")?;
    let (mut from, mut rcpt, mut auth) = (String::new(), Vec::new(), None);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            out.write_all(b"250-sink.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("HELO") {
            out.write_all(b"250 sink.test\r\n")?;
        } else if upper.starts_with("AUTH PLAIN ") {
            auth = Some(command[11..].to_owned());
            out.write_all(b"235 2.7.0 accepted\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = command[10..].trim().to_owned();
            rcpt.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            rcpt.push(command[8..].trim().to_owned());
            out.write_all(b"250 OK\r\n")?;
        } else if upper == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            mails.lock().unwrap().push(Mail {
                from: from.clone(),
                rcpt: rcpt.clone(),
                auth: auth.clone(),
                data,
            });
            out.write_all(b"250 OK queued\r\n")?;
        } else if upper == "RSET" || upper == "NOOP" {
            out.write_all(b"250 OK\r\n")?;
        } else if upper == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"502 not implemented\r\n")?;
        }
    }
}

/// Base64 of `bytes` (to compare the AUTH PLAIN the sink saw).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The node.

const PASSWORD_ENV: &str = "CCIS_TEST_SMTP_PASSWORD";
const PASSWORD: &str = "s3cret-relay-password";

/// A node made by `ccis init` on a free loopback address, with `[mail]`.
struct TestNode {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    url: String,
}

impl TestNode {
    fn new(relay_port: u16, timeout_ms: Option<u64>) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("http://127.0.0.1:{}", free_port());
        let dir = tmp.path().join("fr");
        common::init_node(&dir, "fr-test", "FR", &url, &["--name", "Centre FR"]);
        let mut config = std::fs::read_to_string(dir.join("ccis.toml")).unwrap();
        config.push_str(&format!(
            "\n[submissions]\nper_client_per_hour = 100\n\n[mail]\nrelay = \"127.0.0.1\"\nport = {relay_port}\ntls = \"none\"\nusername = \"ccis\"\npassword_env = \"{PASSWORD_ENV}\"\nfrom = \"Centre FR <ccis@fr.example.org>\"\nvalidators = [\"val1@fr.example.org\", \"Val Two <val2@fr.example.org>\"]\n"
        ));
        if let Some(ms) = timeout_ms {
            config.push_str(&format!("timeout_ms = {ms}\n"));
        }
        std::fs::write(dir.join("ccis.toml"), config).unwrap();
        Self {
            _tmp: tmp,
            dir,
            url,
        }
    }

    /// `ccis ARGS… --dir DIR` with the relay password in the environment.
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let mut all = args.to_vec();
        all.extend(["--dir", s(&self.dir)]);
        let out = std::process::Command::new(common::ccis_bin())
            .args(&all)
            .env_remove("RUST_LOG")
            .env(PASSWORD_ENV, PASSWORD)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "ccis {args:?}: {out}{err}");
        out
    }

    /// `ccis serve` of this node on its base URL, its log collected.
    fn serve(&self) -> Served {
        let mut child = std::process::Command::new(common::ccis_bin())
            .args(["serve", "--dir", s(&self.dir)])
            .env_remove("RUST_LOG")
            .env(PASSWORD_ENV, PASSWORD)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), format!("listening on {}", self.url));
        let log = Arc::new(Mutex::new(String::new()));
        let (l, stderr) = (Arc::clone(&log), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = l.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Served { child, log }
    }

    fn submission_file(&self, id: &str) -> PathBuf {
        self.dir.join("submissions").join(format!("{id}.json"))
    }

    fn accepted_file(&self, id: &str) -> PathBuf {
        self.dir
            .join("submissions")
            .join("accepted")
            .join(format!("{id}.json"))
    }
}

/// A running `ccis serve`, killed when dropped.
struct Served {
    child: std::process::Child,
    log: Arc<Mutex<String>>,
}

impl Served {
    /// The log once it has a line with every one of `words` (a generous bound).
    fn wait_log(&self, words: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let log = self.log.lock().unwrap().clone();
            if log.lines().any(|l| words.iter().all(|w| l.contains(w))) {
                return log;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no line with {words:?} in the log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Submits a proposal through `POST /api/submissions`; the status and the id.
fn submit_json(url: &str, body: &serde_json::Value) -> (u16, String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}/api/submissions"))
        .json(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let answer: serde_json::Value = r.json().unwrap_or_default();
    (status, answer["id"].as_str().unwrap_or_default().to_owned())
}

/// Submits a proposal through the form in `lang`; the submission's id.
fn submit_form(url: &str, lang: &str, body: &serde_json::Value) -> String {
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}/submit?lang={lang}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(common::form_of(body))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().unwrap();
    page.split("<code id=\"submission-id\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no submission id in {page}"))
        .to_owned()
}

/// The assessments of every criterion of the SIM checklist, passed.
const ALL_PASSED: [&str; 8] = [
    "--assess",
    "problem-scope=passed",
    "--assess",
    "approach-methodology=passed",
    "--assess",
    "results-benefits=passed",
    "--assess",
    "scaling-transfer=passed",
];

fn decide(node: &TestNode, iri: &str) -> String {
    let mut args = vec![
        "review",
        "decide",
        iri,
        "--outcome",
        "validated",
        "--rationale",
        "Meets the four criteria.",
        "--operator",
        "bob",
    ];
    args.extend_from_slice(&ALL_PASSED);
    node.ok(&args)
}

/// The one message to `address` among `mails`.
fn to<'a>(mails: &'a [Mail], address: &str) -> Vec<&'a Mail> {
    mails
        .iter()
        .filter(|m| m.rcpt.iter().any(|r| r.contains(address)))
        .collect()
}

fn contains_no(path: &Path, secret: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.contains(secret), "{secret} in {}", path.display());
}

#[test]
fn submitters_and_validators_are_mailed_at_each_step() {
    let sink = Sink::start(Behaviour::Takes);
    let node = TestNode::new(sink.port, None);
    let url = node.url.clone();
    let (ada, grace, alan) = (
        "ada.mail@example.org",
        "grace.mail@example.org",
        "alan.mail@example.org",
    );

    let (json_id, form_id, third_id) = {
        let served = node.serve();
        // Through the API: the submitter and the validators are told.
        let (status, json_id) = submit_json(
            &url,
            &common::proposal("Repair cafes mail", "Ada Lovelace", ada),
        );
        assert_eq!(status, 202);
        // Through the form in French: the submitter is told in English and French.
        let form_id = submit_form(
            &url,
            "fr",
            &common::proposal("Outilthèque partagée", "Grace Hopper", grace),
        );
        let (status, third_id) = submit_json(
            &url,
            &common::proposal("Seed library mail", "Alan Turing", alan),
        );
        assert_eq!(status, 202);
        let mails = sink.wait_for(6);
        served.wait_log(&["e-mail sent", "new-submission"]);

        let to_ada = to(&mails, ada);
        assert_eq!(to_ada.len(), 1, "{mails:#?}");
        let m = to_ada[0];
        assert_eq!(m.rcpt, vec![format!("<{ada}>")]);
        assert_eq!(m.from, "<ccis@fr.example.org>");
        let from = m.header("From");
        assert!(
            from.contains("Centre FR") && from.ends_with("<ccis@fr.example.org>"),
            "{from}"
        );
        assert!(m.header("To").contains(ada), "{}", m.data);
        assert_eq!(
            m.header("Subject"),
            format!("Centre FR: your proposal {json_id} was received")
        );
        let body = m.body();
        assert!(body.contains("Hello Ada Lovelace,"), "{body}");
        assert!(body.contains(&format!("Its number is {json_id}")), "{body}");
        assert!(!body.contains("Français"), "API: English only: {body}");
        // The relay password came from the environment variable.
        assert_eq!(
            m.auth.as_deref(),
            Some(base64(format!("\0ccis\0{PASSWORD}").as_bytes()).as_str())
        );

        let to_grace = to(&mails, grace);
        assert_eq!(to_grace.len(), 1, "{mails:#?}");
        let body = to_grace[0].body();
        assert!(body.contains(&format!("Its number is {form_id}")), "{body}");
        assert!(
            body.contains(&format!("Son numéro est {form_id}")),
            "the form's language: {body}"
        );
        assert!(body.contains("« Outilthèque partagée »"), "{body}");

        // The validators: one message per submission, to both, without the contact.
        let to_validators = to(&mails, "val1@fr.example.org");
        assert_eq!(to_validators.len(), 3, "{mails:#?}");
        for (id, title, email) in [
            (&json_id, "Repair cafes mail", ada),
            (&form_id, "Outilthèque partagée", grace),
            (&third_id, "Seed library mail", alan),
        ] {
            let m = to_validators
                .iter()
                .find(|m| m.body().contains(&format!("number        {id}")))
                .unwrap_or_else(|| panic!("no message to the validators about {id}"));
            assert_eq!(
                m.rcpt,
                vec![
                    "<val1@fr.example.org>".to_owned(),
                    "<val2@fr.example.org>".to_owned()
                ]
            );
            let body = m.body();
            assert!(
                body.contains(&format!("ccis submission show {id}")),
                "{body}"
            );
            assert!(body.contains(title), "{body}");
            assert!(!body.contains(email) && !m.data.contains(email), "{body}");
        }
        (json_id, form_id, third_id)
    };
    // The password is never written in the node directory.
    contains_no(&node.dir.join("ccis.toml"), PASSWORD);

    // Accepted (server stopped): the submitter gets the record's URL.
    let out = node.ok(&[
        "submission",
        "accept",
        &json_id,
        "--slug",
        "repair-cafes",
        "--operator",
        "alice",
    ]);
    let record = format!("{url}/records/repair-cafes");
    assert!(out.contains(&record), "{out}");
    assert!(out.contains("contact is kept apart"), "{out}");
    // The command returns once the relay has the message.
    let mails = sink.mails();
    assert_eq!(mails.len(), 7, "{mails:#?}");
    let m = &mails[6];
    assert_eq!(m.rcpt, vec![format!("<{ada}>")]);
    assert_eq!(
        m.header("Subject"),
        format!("Centre FR: your proposal {json_id} is published")
    );
    assert!(m.body().contains(&record), "{}", m.body());
    // The contact stays private: in the accepted file, in no record.
    assert!(!node.submission_file(&json_id).exists());
    assert!(
        std::fs::read_to_string(node.accepted_file(&json_id))
            .unwrap()
            .contains(ada)
    );
    let export = node.ok(&["export"]);
    assert!(export.contains("Repair cafes mail"), "{export}");
    assert!(!export.contains(ada) && !export.contains("Ada Lovelace"));

    // Rejected, with a reason: the submitter is told, in French too.
    node.ok(&[
        "submission",
        "reject",
        &form_id,
        "--reason",
        "Hors du champ du centre.",
    ]);
    let mails = sink.mails();
    assert_eq!(mails.len(), 8, "{mails:#?}");
    let m = &mails[7];
    assert_eq!(m.rcpt, vec![format!("<{grace}>")]);
    assert!(m.header("Subject").contains("was not accepted"));
    let body = m.body();
    assert!(body.contains(&format!("(number {form_id})")), "{body}");
    assert!(body.contains("Reason: Hors du champ du centre."), "{body}");
    assert!(body.contains("Motif : Hors du champ du centre."), "{body}");
    assert!(!node.submission_file(&form_id).exists());

    // A decision on the accepted initiative: the submitter is told the
    // outcome, the rationale and where the signed decision is.
    let decided = decide(&node, &record);
    assert!(decided.contains("nationally-validated"), "{decided}");
    let mails = sink.mails();
    assert_eq!(mails.len(), 9, "{mails:#?}");
    let m = &mails[8];
    assert_eq!(m.rcpt, vec![format!("<{ada}>")]);
    assert_eq!(
        m.header("Subject"),
        "Centre FR: decision on your initiative: validated"
    );
    let body = m.body();
    assert!(body.contains("as national validator"), "{body}");
    assert!(body.contains("outcome: validated"), "{body}");
    assert!(
        body.contains("rationale: Meets the four criteria."),
        "{body}"
    );
    assert!(
        body.contains(&format!("The initiative: {record}")),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "The signed decision: {url}/records/validation-repair-cafes-v1-national"
        )),
        "{body}"
    );
    let export = node.ok(&["export"]);
    assert!(!export.contains(ada), "the contact is in no record");

    // Once the contact is erased, a decision mails nobody.
    node.ok(&[
        "submission",
        "accept",
        &third_id,
        "--slug",
        "seed-library",
        "--operator",
        "alice",
    ]);
    assert_eq!(sink.mails().len(), 10);
    assert!(node.accepted_file(&third_id).exists());
    let erased = node.ok(&["submission", "erase", &third_id]);
    assert!(erased.contains("erased"), "{erased}");
    assert!(!node.accepted_file(&third_id).exists());
    decide(&node, &format!("{url}/records/seed-library"));
    assert_eq!(sink.mails().len(), 10, "{:#?}", sink.mails());
}

#[test]
fn a_relay_that_is_down_fails_nothing() {
    // Nothing listens on this port: every connection is refused.
    let closed = free_port();
    let node = TestNode::new(closed, None);
    let relay = format!("relay=127.0.0.1:{closed}");
    let id = {
        let served = node.serve();
        let (status, id) = submit_json(
            &node.url,
            &common::proposal("Down relay", "Ada", "ada.down@example.org"),
        );
        assert_eq!(status, 202);
        assert!(node.submission_file(&id).exists());
        served.wait_log(&["e-mail not sent", "submission-received", &relay]);
        served.wait_log(&["e-mail not sent", "new-submission", &relay]);
        id
    };
    // The acceptance is published all the same; the failure is logged.
    let (ok, out, err) = node.run(&["submission", "accept", &id, "--operator", "alice"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("published v1"), "{out}");
    assert!(
        err.lines().any(|l| l.contains("e-mail not sent")
            && l.contains("submission-accepted")
            && l.contains(&relay)),
        "{err}"
    );
    assert!(!node.submission_file(&id).exists());
}

#[test]
fn a_relay_that_never_answers_is_given_up_at_the_timeout() {
    let sink = Sink::start(Behaviour::Silent);
    // A tiny limit: the relay never answers, so only it ends each attempt.
    let node = TestNode::new(sink.port, Some(200));
    let relay = format!("relay=127.0.0.1:{}", sink.port);
    {
        let served = node.serve();
        let (status, id) = submit_json(
            &node.url,
            &common::proposal("Silent relay", "Ada", "ada.silent@example.org"),
        );
        // The answer does not wait for the relay.
        assert_eq!(status, 202);
        assert!(node.submission_file(&id).exists());
        let log = served.wait_log(&["e-mail not sent", "submission-received", &relay]);
        assert!(
            log.contains("did not answer within 200 ms (mail.timeout_ms)"),
            "{log}"
        );
        // The queue goes on to the next message, which times out too.
        served.wait_log(&["e-mail not sent", "new-submission", &relay]);
        assert!(sink.connections.load(Ordering::SeqCst) >= 2);
        // A command ends too, its action done.
        let (ok, out, err) = node.run(&["submission", "reject", &id]);
        assert!(ok, "{out}{err}");
        assert!(err.contains("did not answer within 200 ms"), "{err}");
        assert!(!node.submission_file(&id).exists());
    }
    assert!(sink.mails().is_empty());
}
