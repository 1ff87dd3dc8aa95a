//! Public submissions of initiatives against nodes run by `ccis serve` on
//! loopback: the JSON API and the form take a complete proposal; a proposal
//! missing fields is refused naming them; an oversize body gets 413 and a
//! client over its hourly limit 429; until `ccis submission accept`, nothing
//! of a submission is in SPARQL, the feed, the record pages, the search or
//! the exports; once accepted it is the node's record, without the
//! submitter's e-mail anywhere; `erase` removes the e-mail from the file, and
//! expiry deletes old submissions (at `list` and when `ccis serve` starts).

mod common;

use common::{Served, ccis, free_port, s};
use std::path::PathBuf;

/// A node made by `ccis init` on a free loopback address, its
/// `[submissions]` set by `configure`.
struct TestNode {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    url: String,
}

impl TestNode {
    fn new(configure: impl FnOnce(&mut ccis::config::SubmissionsConfig)) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("http://127.0.0.1:{}", free_port());
        let dir = tmp.path().join("fr");
        common::init_node(&dir, "fr-test", "FR", &url, &["--name", "Centre FR"]);
        let mut config = ccis::config::NodeConfig::load(&dir).unwrap();
        configure(&mut config.submissions);
        config.save(&dir).unwrap();
        Self {
            _tmp: tmp,
            dir,
            url,
        }
    }

    /// `ccis serve` of this node, on its base URL.
    fn serve(&self) -> Served {
        common::serve_at(&self.dir, &self.url)
    }

    /// `ccis ARGS… --dir DIR`, which must succeed; its output.
    fn ok(&self, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.extend(["--dir", s(&self.dir)]);
        let (ok, out, err) = ccis(&all);
        assert!(ok, "ccis {args:?}: {out}{err}");
        out
    }

    fn submission_file(&self, id: &str) -> PathBuf {
        self.dir.join("submissions").join(format!("{id}.json"))
    }

    fn pending(&self) -> usize {
        std::fs::read_dir(self.dir.join("submissions")).map_or(0, |d| d.count())
    }
}

/// A complete proposal as JSON, titled `title`, from `email`.
fn proposal(title: &str, email: &str) -> serde_json::Value {
    common::proposal(title, "Ada Lovelace", email)
}

async fn text(client: &reqwest::Client, url: &str, accept: &str) -> (u16, String) {
    let r = client
        .get(url)
        .header("Accept", accept)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Everything the node serves that could show a record: SPARQL solutions
/// for `word`, the feed (root and first page), the search page for `word`.
async fn public_views(client: &reqwest::Client, url: &str, word: &str) -> String {
    let query = format!("SELECT ?s ?o WHERE {{ ?s ?p ?o FILTER(CONTAINS(STR(?o), \"{word}\")) }}");
    let mut sparql = form_urlencoded::Serializer::new(String::new());
    sparql.append_pair("query", &query);
    let (status, solutions) = text(
        client,
        &format!("{url}/sparql?{}", sparql.finish()),
        "application/sparql-results+json",
    )
    .await;
    assert_eq!(status, 200, "{solutions}");
    let (_, feed) = text(client, &format!("{url}/feed?format=trig"), "*/*").await;
    let (_, page) = text(client, &format!("{url}/feed/0?format=trig"), "*/*").await;
    let (status, search) = text(
        client,
        &format!("{url}/search?q={word}&lang=en"),
        "text/html",
    )
    .await;
    assert_eq!(status, 200);
    format!("{solutions}\n{feed}\n{page}\n{search}")
}

/// Submits `body` as JSON; the status and the answer.
async fn submit_json(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = client
        .post(format!("{url}/api/submissions"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn submissions_stay_private_until_accepted() {
    let node = TestNode::new(|s| s.per_client_per_hour = 100);
    let client = reqwest::Client::new();
    let url = node.url.clone();
    let title_json = "Repair cafes for every village zq7x";
    let title_form = "Shared tool library zq7x";
    let email_json = "ada.zq7x@example.org";
    let email_form = "grace.zq7x@example.org";
    let (json_id, form_id) = {
        let _served = node.serve();

        // The JSON API takes a complete proposal: 202 and its id.
        let (status, answer) = submit_json(&client, &url, &proposal(title_json, email_json)).await;
        assert_eq!(status, 202, "{answer}");
        let json_id = answer["id"].as_str().unwrap().to_owned();
        assert_eq!(json_id.len(), 16);

        // The form, in French, has a label for each field.
        let (status, form) = text(&client, &format!("{url}/submit?lang=fr"), "text/html").await;
        assert_eq!(status, 200);
        assert!(form.contains("Proposer une initiative"), "{form}");
        for field in ["title", "description", "theme", "stage", "contact_email"] {
            assert!(
                form.contains(&format!("<label for=\"{field}\">")),
                "no label for {field}"
            );
        }

        // The form sent back: the page with the submission's id.
        let r = client
            .post(format!("{url}/submit?lang=en"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(common::form_of(&proposal(title_form, email_form)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let page = r.text().await.unwrap();
        let form_id = page
            .split("<code id=\"submission-id\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or_else(|| panic!("no submission id in {page}"))
            .to_owned();
        assert!(node.submission_file(&form_id).exists());

        // Missing fields: a problem naming them (JSON), errors beside them (form).
        let (status, problem) = submit_json(
            &client,
            &url,
            &serde_json::json!({"title": "Only a title", "contact_email": "not an address"}),
        )
        .await;
        assert_eq!(status, 422, "{problem}");
        let fields: Vec<&str> = problem["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        for f in [
            "description",
            "problem_addressed",
            "theme",
            "stage",
            "level_of_action",
            "contact_name",
            "contact_email",
        ] {
            assert!(fields.contains(&f), "{f} not named in {problem}");
        }
        assert!(!fields.contains(&"title"), "{problem}");
        let r = client
            .post(format!("{url}/submit?lang=en"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("title=Kept+%3Cb%3Evalue%3C%2Fb%3E&language=en")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 422);
        let page = r.text().await.unwrap();
        assert!(page.contains("id=\"description-error\""), "{page}");
        assert!(page.contains("This field is required."));
        assert!(
            page.contains("Kept &#60;b&#62;value&#60;/b&#62;")
                || page.contains("Kept &lt;b&gt;value&lt;/b&gt;"),
            "the value is kept, escaped: {page}"
        );

        // A wrong value of a closed list is refused by the shapes, by field.
        let mut wrong = proposal("Wrong stage", email_json);
        wrong["stage"] = "forever".into();
        let (status, problem) = submit_json(&client, &url, &wrong).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["fields"], serde_json::json!(["stage"]), "{problem}");

        // An oversize body: 413.
        let mut big = proposal("Too big", email_json);
        big["description"] = "x".repeat(70 * 1024).into();
        let (status, problem) = submit_json(&client, &url, &big).await;
        assert_eq!(status, 413, "{problem}");

        // Nothing of the submissions is public.
        assert_eq!(
            text(
                &client,
                &format!("{url}/records/submission-{json_id}"),
                "text/turtle"
            )
            .await
            .0,
            404
        );
        let public = public_views(&client, &url, "zq7x").await;
        for secret in [title_json, title_form, email_json, email_form] {
            assert!(!public.contains(secret), "{secret} is public: {public}");
        }
        let export = node.ok(&["export"]);
        assert!(!export.contains("zq7x"), "{export}");
        (json_id, form_id)
    };

    // The operator lists them, without contacts unless asked.
    let list = node.ok(&["submission", "list"]);
    assert!(
        list.contains(&json_id) && list.contains(&form_id) && list.contains(title_json),
        "{list}"
    );
    assert!(list.contains("Village Association"), "{list}");
    assert!(!list.contains(email_json), "{list}");
    assert!(
        node.ok(&["submission", "list", "--contacts"])
            .contains(email_json)
    );
    assert!(
        node.ok(&["submission", "show", &json_id])
            .contains(title_json)
    );

    // Erase: the e-mail leaves the file, the proposal stays.
    let erased = node.ok(&["submission", "erase", &form_id]);
    assert!(erased.contains("proposal is kept"), "{erased}");
    let file = std::fs::read_to_string(node.submission_file(&form_id)).unwrap();
    assert!(
        !file.contains(email_form) && !file.contains("Ada Lovelace"),
        "{file}"
    );
    assert!(file.contains(title_form));

    // Accept: the node's own record, version 1; the submission is gone.
    let accepted = node.ok(&["submission", "accept", &json_id, "--slug", "repair-cafes"]);
    assert!(
        accepted.contains(&format!("{url}/records/repair-cafes")),
        "{accepted}"
    );
    assert!(accepted.contains("v1"), "{accepted}");
    assert!(!node.submission_file(&json_id).exists());

    // Reject: deleted.
    node.ok(&["submission", "reject", &form_id]);
    assert_eq!(node.pending(), 0);

    let _served = node.serve();
    let public = public_views(&client, &url, "zq7x").await;
    assert!(
        public.contains(title_json),
        "the accepted initiative is public: {public}"
    );
    let (status, record) = text(
        &client,
        &format!("{url}/records/repair-cafes"),
        "text/turtle",
    )
    .await;
    assert_eq!(status, 200);
    assert!(record.contains(title_json));
    let everything = format!(
        "{public}\n{record}\n{}",
        public_views(&client, &url, "example.org").await
    );
    for secret in [email_json, "Ada Lovelace", title_form] {
        assert!(
            !everything.contains(secret),
            "{secret} is public: {everything}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_over_its_hourly_limit_gets_429() {
    let node = TestNode::new(|s| s.per_client_per_hour = 2);
    let _served = node.serve();
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let (status, _) = submit_json(&client, &node.url, &serde_json::json!({})).await;
        assert_eq!(status, 422);
    }
    let r = client
        .post(format!("{}/api/submissions", node.url))
        .json(&proposal("Third", "ada@example.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = common::http::header(&r, "retry-after").parse().unwrap();
    assert!(retry > 0 && retry <= 3600, "{retry}");
    assert_eq!(node.pending(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn old_submissions_expire() {
    let node = TestNode::new(|s| s.expire_days = 0);
    let client = reqwest::Client::new();
    {
        let _served = node.serve();
        let (status, _) =
            submit_json(&client, &node.url, &proposal("Old one", "a@example.org")).await;
        assert_eq!(status, 202);
    }
    assert_eq!(node.pending(), 1);
    {
        // `ccis serve` deletes them when it starts.
        let _served = node.serve();
        assert_eq!(node.pending(), 0);
        let (status, _) =
            submit_json(&client, &node.url, &proposal("Old two", "a@example.org")).await;
        assert_eq!(status, 202);
    }
    assert_eq!(node.pending(), 1);
    let list = node.ok(&["submission", "list"]);
    assert!(list.contains("deleted 1 submission(s)"), "{list}");
    assert!(list.contains("no pending submission"), "{list}");
    assert_eq!(node.pending(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn turtle_submissions_and_disabled_nodes() {
    let node = TestNode::new(|_| {});
    let served = node.serve();
    let client = reqwest::Client::new();
    let ttl = r#"@prefix ccis: <https://w3id.org/ccis/ns#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
<records/night-buses> a ccis:Initiative ;
    dct:title "Night buses for shift workers"@en ;
    dct:description "Buses at night."@en ;
    dct:spatial country:FRA ;
    dct:subject ccis:theme-mobility ;
    ccis:stage ccis:stage-emergence ;
    ccis:levelOfAction ccis:level-local ;
    ccis:problemAddressed "No transport at night."@en ;
    ccis:approach "Buses on demand."@en ;
    ccis:keyResults "Workers reach work."@en ;
    ccis:scalingPotential "Any town."@en ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
"#;
    let post = |query: &'static str, body: &'static str| {
        client
            .post(format!("{}/api/submissions{query}", node.url))
            .header("Content-Type", "text/turtle")
            .body(body)
            .send()
    };
    let r = post("", ttl).await.unwrap();
    assert_eq!(r.status().as_u16(), 422, "a contact is required");
    let r = post("?contact_name=Ada&contact_email=ada%40example.org", ttl)
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let id: serde_json::Value = r.json().await.unwrap();
    let id = id["id"].as_str().unwrap().to_owned();
    let r = post(
        "?contact_name=Ada&contact_email=ada%40example.org",
        "<records/x> a <https://w3id.org/ccis/ns#Tool> .",
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    drop(served);

    // The slug proposed by the record IRI is the record's.
    let accepted = node.ok(&["submission", "accept", &id]);
    assert!(accepted.contains("/records/night-buses"), "{accepted}");

    // A node that takes no submissions.
    let mut config = ccis::config::NodeConfig::load(&node.dir).unwrap();
    config.submissions.enabled = false;
    config.save(&node.dir).unwrap();
    let _served = node.serve();
    assert_eq!(
        text(&client, &format!("{}/submit", node.url), "text/html")
            .await
            .0,
        404
    );
    let (status, _) = submit_json(&client, &node.url, &proposal("Off", "a@example.org")).await;
    assert_eq!(status, 404);
}
