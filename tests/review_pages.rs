//! The validators' pages over HTTP against a node run by `ccis serve` on
//! loopback, with accounts made by `ccis account add`: login (a new session
//! id at login), the queue, one initiative, a decision signed from the form
//! in the name of the operator logged in; forms without the session's CSRF
//! token refused; four eyes; an editor cannot decide; a decision on a
//! version that is no longer current refused, with the changes shown;
//! logout and a removed account end sessions; sessions expire after the
//! configured idle time; failed logins are limited per address and per name.

mod common;

use common::review_site::{Agent, PASSWORD, Site, decision, initiative, post_fields};
use common::{ccis, s};
use reqwest::StatusCode;

#[test]
fn validators_log_in_review_and_sign_a_decision_from_the_form() {
    let site = Site::new("");
    let mut bob = Agent::new(&site.url);

    // Not logged in: to the login page, which starts a session.
    let queue = bob.get("/review");
    assert_eq!(queue.status, StatusCode::SEE_OTHER);
    assert_eq!(queue.location, "/review/login?next=%2Freview");
    let form = bob.get("/review/login?lang=en");
    assert_eq!(form.status, StatusCode::OK);
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/review"] {
        assert!(form.set_cookie.contains(attribute), "{}", form.set_cookie);
    }
    let before_login = bob.cookie.clone().unwrap();
    let csrf = form.hidden("csrf");

    // A wrong password, then a login form without the token, are refused.
    let wrong = bob.post(
        "/review/login?lang=en",
        &[
            ("csrf", &csrf),
            ("name", "bob"),
            ("password", "not the password"),
        ],
    );
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("Wrong name or password"),
        "{}",
        wrong.body
    );
    let forged = bob.post("/review/login", &[("name", "bob"), ("password", PASSWORD)]);
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    assert!(forged.body.contains("security token"), "{}", forged.body);

    // Logged in: a new session id; the one from before login is worth nothing.
    let ok = bob.login("bob", PASSWORD);
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location, "/review");
    let session = bob.cookie.clone().unwrap();
    assert_ne!(session, before_login);
    let mut stale = Agent::new(&site.url);
    stale.cookie = Some(before_login);
    assert_eq!(stale.get("/review").status, StatusCode::SEE_OTHER);

    // The queue shows the initiative awaiting this node's decision.
    let queue = bob.get("/review?lang=en");
    assert_eq!(queue.status, StatusCode::OK);
    let awaiting = &queue.body[queue.body.find("id=\"queue-awaiting\"").unwrap()..];
    let awaiting = &awaiting[..awaiting.find("</section>").unwrap()];
    assert!(awaiting.contains("Village repair cafés"), "{awaiting}");
    assert!(
        queue
            .body
            .contains("Logged in as <strong id=\"review-user\">bob</strong>")
    );

    // The initiative's page has the checklist form with the session's token.
    let page = bob.get(&site.review_path());
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"decision\""), "{}", page.body);
    assert!(page.body.contains("Scope of the problem addressed") || page.body.contains("problem"));
    let csrf = page.hidden("csrf");
    assert_eq!(page.hidden("version"), "1");

    // A decision without the token, or with another session's, signs nothing.
    let mut fields = decision("", &site.iri, "1", "validated", None);
    assert_eq!(
        post_fields(&mut bob, "/review/decide?lang=en", &fields).status,
        StatusCode::FORBIDDEN
    );
    fields[0].1 = "0".repeat(64);
    assert_eq!(
        post_fields(&mut bob, "/review/decide?lang=en", &fields).status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(site.state(), "submitted");

    // Alice published it: four eyes.
    let mut alice = Agent::new(&site.url);
    assert_eq!(alice.login("alice", PASSWORD).status, StatusCode::SEE_OTHER);
    let alice_csrf = alice.get(&site.review_path()).hidden("csrf");
    let refused = post_fields(
        &mut alice,
        "/review/decide?lang=en",
        &decision(&alice_csrf, &site.iri, "1", "validated", None),
    );
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("four eyes"), "{}", refused.body);
    assert_eq!(site.state(), "submitted");

    // A criterion left out: the form again, with what was entered.
    let partial = post_fields(
        &mut bob,
        "/review/decide?lang=en",
        &decision(&csrf, &site.iri, "1", "validated", Some(2)),
    );
    assert_eq!(
        partial.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        partial.body
    );
    assert!(
        partial.body.contains("Assess every criterion"),
        "{}",
        partial.body
    );
    assert!(
        partial.body.contains("Clear problem, sound method"),
        "the rationale is kept"
    );
    assert_eq!(site.state(), "submitted");

    // Bob validates: signed in his name, published, audited.
    let signed = post_fields(
        &mut bob,
        "/review/decide?lang=en",
        &decision(&csrf, &site.iri, "1", "validated", None),
    );
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert!(signed.location.contains("decided="), "{}", signed.location);
    assert_eq!(site.state(), "nationally-validated");
    let after = bob.get(&signed.location);
    assert!(
        after.body.contains("Decision signed and published"),
        "{}",
        after.body
    );
    assert!(
        after
            .body
            .contains("No decision is awaited from this node now")
    );
    let audit = site.audit();
    for line in [
        r#""operator":"bob","action":"login""#,
        r#""operator":"bob","action":"login-failed""#,
        r#""operator":"bob","action":"decide""#,
    ] {
        assert!(audit.contains(line), "{line} not in:\n{audit}");
    }

    // The catalogue's validation facet follows the signed decision.
    let search = |query: &str| {
        reqwest::blocking::get(format!("{}/search?lang=en&{query}", site.url))
            .unwrap()
            .text()
            .unwrap()
    };
    let all = search("");
    let facet = &all[all
        .find("id=\"facet-validation\"")
        .expect("a validation facet")..];
    let facet = &facet[..facet.find("</section>").unwrap()];
    assert!(
        facet.contains("nationally validated</a> <span class=\"count\">1</span>"),
        "{facet}"
    );
    assert!(search("validation=nationally-validated").contains("Village repair cafés"));
    let submitted = search("validation=submitted");
    assert!(!submitted.contains("Village repair cafés"), "{submitted}");
    assert!(
        submitted.contains("Validation: submitted"),
        "a chip: {submitted}"
    );

    // An editor reads but never decides.
    let mut carol = Agent::new(&site.url);
    assert_eq!(carol.login("carol", PASSWORD).status, StatusCode::SEE_OTHER);
    let page = carol.get(&site.review_path());
    assert!(page.body.contains("Editors do not decide"), "{}", page.body);
    assert!(!page.body.contains("id=\"decision\""));
    let carol_csrf = page.hidden("csrf");
    let refused = post_fields(
        &mut carol,
        "/review/decide?lang=en",
        &decision(&carol_csrf, &site.iri, "1", "rejected", None),
    );
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(site.state(), "nationally-validated");

    // Logout ends the session; so does removing the account.
    let out = bob.post("/review/logout?lang=en", &[("csrf", &csrf)]);
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    bob.cookie = Some(session);
    assert_eq!(bob.get("/review").status, StatusCode::SEE_OTHER);
    assert_eq!(alice.get("/review").status, StatusCode::OK);
    let (ok, o, e) = ccis(&["account", "remove", "alice", "--dir", s(&site.dir)]);
    assert!(ok, "{o}{e}");
    let gone = alice.get("/review");
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(gone.location.starts_with("/review/login"));
}

#[test]
fn a_new_version_since_the_page_was_opened_is_not_decided_on_and_its_changes_show() {
    let site = Site::new("");
    let mut bob = Agent::new(&site.url);
    assert_eq!(bob.login("bob", PASSWORD).status, StatusCode::SEE_OTHER);
    let csrf = bob.get(&site.review_path()).hidden("csrf");

    // The origin publishes version 2 with another title.
    let v2 = initiative("repair-cafes", "Village repair cafés and tool libraries");
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/records", site.url))
        .bearer_auth(&site.token)
        .header("content-type", "text/turtle")
        .body(v2)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().unwrap());

    let refused = post_fields(
        &mut bob,
        "/review/decide?lang=en",
        &decision(&csrf, &site.iri, "1", "validated", None),
    );
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused.body.contains("is at version 2 now, not version 1"),
        "{}",
        refused.body
    );
    assert_eq!(site.state(), "submitted");

    let page = bob.get(&site.review_path());
    assert_eq!(page.hidden("version"), "2");
    let changes = &page.body[page.body.find("id=\"review-changes\"").unwrap()..];
    let changes = &changes[..changes.find("</section>").unwrap()];
    assert!(changes.contains("From version 1 to version 2"), "{changes}");
    assert!(
        changes.contains("<del>Village repair cafés (en)</del>"),
        "{changes}"
    );
    assert!(
        changes.contains("<ins>Village repair cafés and tool libraries (en)</ins>"),
        "{changes}"
    );
    assert!(
        !changes.contains("modified"),
        "the version stamps are not changes: {changes}"
    );
}

#[test]
fn a_submission_is_accepted_from_the_pages_with_the_node_running() {
    let site = Site::new("");
    let proposal = serde_json::json!({
        "language": "en",
        "title": "Shared gardens on estates",
        "description": "Residents grow food together on unused land.",
        "problem_addressed": "Isolation and poor diets on large estates.",
        "approach": "Plots shared by residents with a gardener's help.",
        "key_results": "Twelve gardens, three hundred households.",
        "scaling_potential": "A guide for landlords.",
        "theme": ["theme-social-inclusion"],
        "stage": "emergence",
        "level_of_action": "local",
        "organisation": "Estate Gardens",
        "contact_name": "Grace Hopper",
        "contact_email": "grace@example.org",
    });
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/api/submissions", site.url))
        .json(&proposal)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<serde_json::Value>().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut carol = Agent::new(&site.url);
    assert_eq!(carol.login("carol", PASSWORD).status, StatusCode::SEE_OTHER);
    let list = carol.get("/review/submissions?lang=en");
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("Shared gardens on estates") && list.body.contains(&id),
        "{}",
        list.body
    );
    let one = carol.get(&format!("/review/submission?id={id}&lang=en"));
    assert!(
        one.body
            .contains("Grace Hopper &#60;grace@example.org&#62;"),
        "{}",
        one.body
    );
    let csrf = one.hidden("csrf");

    // Without the token nothing happens; with it, published while `ccis serve` runs.
    let forged = carol.post("/review/submission", &[("id", &id), ("action", "accept")]);
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let accepted = carol.post(
        "/review/submission?lang=en",
        &[
            ("csrf", &csrf),
            ("id", &id),
            ("action", "accept"),
            ("slug", "shared-gardens"),
        ],
    );
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert!(
        accepted.location.contains("shared-gardens"),
        "{}",
        accepted.location
    );
    let record =
        reqwest::blocking::get(format!("{}/records/shared-gardens?format=turtle", site.url))
            .unwrap()
            .text()
            .unwrap();
    assert!(record.contains("Shared gardens on estates"), "{record}");
    assert!(
        !record.contains("grace@example.org"),
        "no contact in the record: {record}"
    );
    assert!(
        carol
            .get("/review/submissions?lang=en")
            .body
            .contains("No submission is waiting")
    );
    let audit = site.audit();
    assert!(
        audit.contains(r#""operator":"carol","action":"accept-submission""#),
        "{audit}"
    );
}

#[test]
fn an_editor_creates_an_initiative_that_another_operator_decides_on() {
    let site = Site::new("");
    let mut carol = Agent::new(&site.url);
    assert_eq!(carol.login("carol", PASSWORD).status, StatusCode::SEE_OTHER);
    let form = carol.get("/review/new?lang=en");
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        !form.body.contains("contact_email"),
        "an operator's initiative has no submitter"
    );
    let csrf = form.hidden("csrf");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("language", "en"),
        ("title", "Tool libraries in every town"),
        ("description", "Lend tools instead of buying them."),
        ("problem_addressed", "Tools bought for one use."),
        ("approach", "A library of tools run by volunteers."),
        ("key_results", "Two thousand loans a year."),
        ("theme", "ecological-transition"),
        ("stage", "emergence"),
        ("level_of_action", "local"),
    ];
    // A required field left out: the form again, the error beside it, nothing published.
    let missing = carol.post("/review/new?lang=en", &fields);
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    assert!(
        missing.body.contains("scaling_potential-error"),
        "{}",
        missing.body
    );
    assert!(
        missing.body.contains("Tool libraries in every town"),
        "the values are kept"
    );
    fields.push(("scaling_potential", "A handbook for other towns."));
    let created = carol.post("/review/new?lang=en", &fields);
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert!(
        created.location.contains("tool-libraries-in-every-town"),
        "{}",
        created.location
    );
    let iri = format!("{}/records/tool-libraries-in-every-town", site.url);
    let all: serde_json::Value = reqwest::blocking::get(format!("{}/api/initiatives", site.url))
        .unwrap()
        .json()
        .unwrap();
    let created = all["initiatives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["iri"] == iri.as_str())
        .unwrap_or_else(|| panic!("not an initiative held: {all}"));
    assert_eq!(created["state"], "submitted");
    assert!(
        site.audit()
            .contains(r#""operator":"carol","action":"publish""#)
    );

    // A validator may not create one; carol may not decide on hers, bob may.
    let mut bob = Agent::new(&site.url);
    assert_eq!(bob.login("bob", PASSWORD).status, StatusCode::SEE_OTHER);
    assert_eq!(bob.get("/review/new?lang=en").status, StatusCode::FORBIDDEN);
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("iri", &iri).append_pair("lang", "en");
    let page = bob.get(&format!("/review/initiative?{}", query.finish()));
    assert!(page.body.contains("id=\"decision\""), "{}", page.body);
}

#[test]
fn sessions_expire_and_failed_logins_are_limited() {
    let site = Site::new("session_idle_secs = 1\nmax_login_failures = 2");
    let mut bob = Agent::new(&site.url);
    assert_eq!(bob.login("bob", PASSWORD).status, StatusCode::SEE_OTHER);
    assert_eq!(bob.get("/review").status, StatusCode::OK);
    // Idle for longer than the configured second: the session is over.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let expired = bob.get("/review");
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert!(expired.location.starts_with("/review/login"));

    // Two failures, then even the right password waits, for this name from
    // any address and for any name from this address.
    let mut mallory = Agent::new(&site.url);
    assert_eq!(
        mallory.login("bob", "guess number one").status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        mallory.login("bob", "guess number two").status,
        StatusCode::UNAUTHORIZED
    );
    let limited = mallory.login("bob", PASSWORD);
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
    assert!(
        limited.body.contains("Too many failed logins"),
        "{}",
        limited.body
    );
    assert_eq!(
        mallory.login("carol", PASSWORD).status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert!(mallory.cookie.is_some());
    let audit = site.audit();
    assert_eq!(
        audit.matches(r#""action":"login-failed""#).count(),
        2,
        "{audit}"
    );
}
