//! An operator sets up a federation with the real binary, without editing a
//! file by hand: `peer add | list | update | remove` against nodes served by
//! `ccis serve` on loopback, `node entry`, `key rotate | revoke` across the
//! federation, and `publish DIR`.

mod common;

use common::{Served, ccis, free_port, s};
use std::path::{Path, PathBuf};

/// A node made by `ccis init` whose base URL is a free loopback address.
struct TestNode {
    dir: PathBuf,
    url: String,
    id: String,
}

impl TestNode {
    fn new(root: &Path, id: &str, country: &str) -> Self {
        let url = format!("http://127.0.0.1:{}", free_port());
        let dir = root.join(id);
        common::init_node(
            &dir,
            id,
            country,
            &url,
            &["--name", &format!("Centre {id}")],
        );
        Self {
            dir,
            url,
            id: id.to_owned(),
        }
    }

    /// Runs `ccis ARGS… --dir DIR`.
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let mut all = args.to_vec();
        all.extend(["--dir", s(&self.dir)]);
        ccis(&all)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "ccis {args:?} --dir {}: {out}{err}", self.id);
        out
    }

    fn refused(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(!ok, "ccis {args:?} must be refused: {out}");
        err
    }

    /// `ccis serve` of this node, on its base URL.
    fn serve(&self) -> Served {
        common::serve_at(&self.dir, &self.url)
    }

    fn public_keys(&self) -> Vec<String> {
        ccis::config::NodeConfig::load(&self.dir)
            .unwrap()
            .keys
            .iter()
            .map(|k| k.public_key.clone())
            .collect()
    }

    fn peers_toml(&self) -> String {
        std::fs::read_to_string(self.dir.join("peers.toml")).unwrap_or_default()
    }

    fn record_count(&self) -> usize {
        let out = self.ok(&["status"]);
        let line = out.lines().find(|l| l.starts_with("records")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

/// A running `ccis serve`, stopped when dropped.
const GUIDE: &str = r#"@prefix ccis: <https://w3id.org/ccis/ns#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix country: <http://publications.europa.eu/resource/authority/country/> .
<records/SLUG> a ccis:Tool ;
    dct:title "Guide"@fr , "Guide SLUG"@en ;
    dct:description "Un guide."@fr , "A guide."@en ;
    dct:spatial country:FRA ;
    dct:subject ccis:theme-employment ;
    ccis:toolType ccis:tool-type-guide ;
    dct:license <https://creativecommons.org/licenses/by/4.0/> .
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn guide(dir: &Path, slug: &str) -> PathBuf {
    write(dir, &format!("{slug}.ttl"), &GUIDE.replace("SLUG", slug))
}

fn fingerprint(key: &str) -> String {
    ccis::peer_file::key_fingerprint(key).unwrap()
}

#[test]
fn peer_add_pins_a_served_node_whose_records_then_harvest() {
    let tmp = tempfile::tempdir().unwrap();
    let fr = TestNode::new(tmp.path(), "fr-avise", "FR");
    let files: Vec<String> = common::sample_files("fr")[..3]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["publish"];
    args.extend(files.iter().map(String::as_str));
    fr.ok(&args);
    let _served = fr.serve();

    let es = TestNode::new(tmp.path(), "es-uafse", "ES");
    let header = "# Peers of the Spanish node.\n# Keys compared by phone.\n\n";
    let other = common::peer_entry(
        "se-fsis",
        "national",
        "https://se.example",
        &es.public_keys()[0],
        "",
    );
    write(&es.dir, "peers.toml", &format!("{header}{other}"));

    let out = es.ok(&["peer", "add", &fr.url, "--yes"]);
    let key = &fr.public_keys()[0];
    for expected in [
        "fr-avise",
        "FR",
        "national",
        &fr.url,
        key,
        &fingerprint(key),
    ] {
        assert!(out.contains(expected), "{expected:?} shown: {out}");
    }
    let text = es.peers_toml();
    assert!(
        text.starts_with(&format!("{header}{other}")),
        "comments and entries kept:\n{text}"
    );
    let peers = ccis::peers::Peers::load(&es.dir.join("peers.toml")).unwrap();
    let pinned = peers.get("fr-avise").unwrap();
    assert_eq!(pinned.base_url, fr.url);
    assert_eq!(pinned.keys.len(), 1);
    assert_eq!(&pinned.keys[0].public_key, key);

    // What `node entry` prints is exactly what `peer add` wrote for the node.
    let (ok, entry, err) = fr.run(&["node", "entry"]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&fingerprint(key)),
        "fingerprints on stderr: {err}"
    );
    assert!(text.ends_with(&entry), "entry:\n{entry}\nfile:\n{text}");
    let entry: toml::Value = toml::from_str(&entry).unwrap();
    let file: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(entry["peer"][0], file["peer"][1]);

    let out = es.ok(&["harvest", "--peer", "fr-avise"]);
    let row = out.lines().find(|l| l.starts_with("fr-avise")).unwrap();
    assert_eq!(row.split_whitespace().nth(1), Some("3"), "{out}");
    assert_eq!(es.record_count(), 3);

    // Resetting the harvest position keeps what is stored: the next round
    // reads the peer's feed from its start again and finds nothing new.
    let out = es.ok(&["harvest", "--reset", "fr-avise"]);
    assert!(
        out.contains("harvest position of fr-avise reset (it was at http"),
        "{out}"
    );
    let out = es.ok(&["harvest", "--peer", "fr-avise"]);
    let row = out.lines().find(|l| l.starts_with("fr-avise")).unwrap();
    assert_eq!(row.split_whitespace().nth(1), Some("0"), "{out}");
    assert_eq!(es.record_count(), 3);

    let out = es.ok(&["peer", "list"]);
    for expected in [
        "se-fsis",
        "fr-avise",
        "FR",
        "national",
        &fr.url,
        &fingerprint(key),
        "valid, from ",
    ] {
        assert!(out.contains(expected), "{expected:?} listed: {out}");
    }
}

#[test]
fn node_description_reads_the_same_from_turtle_and_json_ld() {
    let tmp = tempfile::tempdir().unwrap();
    let fr = TestNode::new(tmp.path(), "fr-avise", "FR");
    let _served = fr.serve();
    let url = format!("{}/node", fr.url);
    let client = reqwest::blocking::Client::new();
    let mut read = Vec::new();
    for (accept, format) in [
        ("text/turtle", ccis::rdf_input::InputFormat::Turtle),
        ("application/ld+json", ccis::rdf_input::InputFormat::JsonLd),
    ] {
        let body = client
            .get(&url)
            .header("accept", accept)
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        let d = ccis::node_description::parse(&body, format, &url).unwrap();
        read.push((
            d.id,
            d.name,
            d.country,
            d.base_url,
            d.keys[0].public_key.clone(),
            d.keys[0].valid_from.clone(),
        ));
    }
    assert_eq!(read[0], read[1]);
    assert_eq!(read[0].0, "fr-avise");
    assert_eq!(read[0].4, fr.public_keys()[0]);
}

#[test]
fn peer_add_refuses_clearly_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let fr = TestNode::new(tmp.path(), "fr-avise", "FR");
    let _served = fr.serve();
    let es = TestNode::new(tmp.path(), "es-uafse", "ES");

    let one_line = |err: &str| {
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(es.peers_toml().is_empty(), "nothing written: {err}");
    };
    let err = es.refused(&["peer", "add", "ftp://127.0.0.1/x", "--yes"]);
    assert!(err.contains("not an http(s) URL"), "{err}");
    one_line(&err);
    let closed = format!("http://127.0.0.1:{}", free_port());
    let err = es.refused(&["peer", "add", &closed, "--yes"]);
    assert!(
        err.contains("cannot fetch") && err.contains("node is running"),
        "{err}"
    );
    one_line(&err);
    // A server that accepts and never answers: bounded by --timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let err = es.refused(&["peer", "add", &silent_url, "--yes", "--timeout", "1"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(err.contains("did not answer within 1 s"), "{err}");
    one_line(&err);
    let err = es.refused(&["peer", "add", &format!("{}/records", fr.url), "--yes"]);
    assert!(err.contains("answered HTTP 404"), "{err}");
    one_line(&err);
    // Without --yes and without a terminal, nothing is pinned.
    let err = es.refused(&["peer", "add", &fr.url]);
    assert!(err.contains("--yes"), "{err}");
    one_line(&err);
    // This node itself.
    let err = fr.refused(&["peer", "add", &fr.url, "--yes"]);
    assert!(err.contains("does not pin itself"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    es.ok(&["peer", "add", &fr.url, "--yes"]);
    let pinned = es.peers_toml();
    let err = es.refused(&["peer", "add", &format!("{}/", fr.url), "--yes"]);
    assert!(
        err.contains("already pinned") && err.contains("ccis peer remove fr-avise"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(es.peers_toml(), pinned);
}

#[test]
fn peer_list_and_remove_keep_the_rest_of_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::new(tmp.path(), "fr-test", "FR");
    let sample = std::fs::read_to_string(common::repo().join("peers.toml")).unwrap();
    write(&node.dir, "peers.toml", &sample);

    let out = node.ok(&["peer", "list"]);
    for id in ["eu-eccsi", "fr-avise", "es-uafse", "se-fsis", "lv-sif"] {
        assert!(out.contains(id), "{out}");
    }
    assert!(out.contains("european") && out.contains("LT"), "{out}");

    let err = node.refused(&["peer", "remove", "xx-none"]);
    assert!(
        err.contains("not in") && err.contains("pinned: eu-eccsi, fr-avise"),
        "{err}"
    );
    assert_eq!(node.peers_toml(), sample);

    node.ok(&["peer", "remove", "eu-eccsi"]);
    let text = node.peers_toml();
    let header: String = sample
        .lines()
        .take_while(|l| l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.starts_with(&header),
        "the file's comments stay:\n{text}"
    );
    assert!(!text.contains("eu-eccsi"), "{text}");
    let peers = ccis::peers::Peers::load(&node.dir.join("peers.toml")).unwrap();
    assert_eq!(peers.peers.len(), 4);
    // The rest of the file is byte for byte what it was.
    let rest = &sample[sample.find("[[peer]]\nid = \"fr-avise\"").unwrap()..];
    assert!(text.ends_with(rest), "{text}");
    let out = node.ok(&["peer", "list"]);
    assert!(!out.contains("eu-eccsi"), "{out}");
}

#[test]
fn key_rotation_and_revocation_across_the_federation() {
    let tmp = tempfile::tempdir().unwrap();
    let records = tmp.path().join("records");
    let fr = TestNode::new(tmp.path(), "fr-avise", "FR");
    let es = TestNode::new(tmp.path(), "es-uafse", "ES");
    fr.ok(&["publish", s(&guide(&records, "old"))]);
    let old_key = fr.public_keys()[0].clone();
    let served = fr.serve();
    es.ok(&["peer", "add", &fr.url, "--yes"]);
    es.ok(&["harvest"]);
    drop(served);

    // 1. Rotate: a new key signs from now on; the old one stays valid for what it signed.
    let out = fr.ok(&["key", "rotate"]);
    let keys = fr.public_keys();
    assert_eq!(keys.len(), 2);
    let new_key = keys[1].clone();
    assert!(
        out.contains(&new_key) && out.contains("ccis peer update fr-avise"),
        "{out}"
    );
    let config = ccis::config::NodeConfig::load(&fr.dir).unwrap();
    assert_eq!(config.active_key().unwrap().public_key, new_key);
    assert!(config.keys[0].valid_until.is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let secret = fr.dir.join(&config.keys[1].secret_key_file);
        assert_eq!(
            std::fs::metadata(secret).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // 2. The peer pins the new key (from the node's /node), before anything is signed with it.
    let served = fr.serve();
    let out = es.ok(&["peer", "update", "fr-avise", "--yes"]);
    assert!(
        out.contains("new key") && out.contains(&fingerprint(&new_key)),
        "{out}"
    );
    let (ok, entry, _) = fr.run(&["node", "entry"]);
    assert!(
        ok && es.peers_toml() == entry,
        "peer update pins what node entry says:\n{entry}"
    );
    drop(served);
    // 3. Published now: signed with the new key; the old record still verifies with the old one.
    let out = fr.ok(&["publish", s(&guide(&records, "new"))]);
    assert!(
        out.contains("created") && out.contains("records/new"),
        "{out}"
    );
    let export = tmp.path().join("fr.trig");
    fr.ok(&["export", "--output", s(&export)]);
    let verify = |trust: &[&str]| {
        let mut args = vec!["verify"];
        args.extend_from_slice(trust);
        args.push(s(&export));
        ccis(&args)
    };
    let peers = es.dir.join("peers.toml");
    let (ok, out, _) = verify(&["--peers", s(&peers)]);
    assert!(ok && out.contains("2 verified, 0 failed"), "{out}");
    let (_, out, _) = verify(&["--key", &old_key]);
    assert!(
        out.contains("1 verified, 1 failed") && out.contains("records/old v1"),
        "{out}"
    );
    let (_, out, _) = verify(&["--key", &new_key]);
    assert!(
        out.contains("1 verified, 1 failed") && out.contains("records/new v1"),
        "{out}"
    );
    let served = fr.serve();
    let out = es.ok(&["harvest"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("fr-avise") && l.split_whitespace().nth(1) == Some("1")),
        "{out}"
    );
    drop(served);

    // 4. Revoke the old key: re-sign, and the peer pins the revocation.
    let out = fr.ok(&["key", "revoke", &old_key]);
    assert!(
        out.contains("1 record(s)") && out.contains("ccis resign"),
        "{out}"
    );
    assert!(out.contains("ccis peer update fr-avise"), "{out}");
    let served = fr.serve();
    let out = es.ok(&["peer", "update", "fr-avise", "--yes"]);
    assert!(out.contains("revoked"), "{out}");
    let (ok, out, _) = verify(&["--peers", s(&peers)]);
    assert!(
        !ok && out.contains("1 verified, 1 failed") && out.contains("revoked"),
        "{out}"
    );
    drop(served);
    let out = fr.ok(&["resign"]);
    assert!(out.contains("records/old") && out.contains("v2"), "{out}");
    fr.ok(&["export", "--output", s(&export)]);
    let (ok, out, _) = verify(&["--peers", s(&peers)]);
    assert!(ok && out.contains("2 verified, 0 failed"), "{out}");
    let _served = fr.serve();
    let out = es.ok(&["harvest"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("fr-avise") && l.split_whitespace().nth(1) == Some("2")),
        "{out}"
    );
    let es_export = tmp.path().join("es.trig");
    es.ok(&["export", "--output", s(&es_export)]);
    let (ok, out, _) = ccis(&["verify", "--peers", s(&peers), s(&es_export)]);
    assert!(
        ok && out.contains("2 verified, 0 failed"),
        "what the peer holds verifies: {out}"
    );
}

#[test]
fn key_revoke_refuses_clearly_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::new(tmp.path(), "fr-test", "FR");
    let toml = || std::fs::read_to_string(node.dir.join("ccis.toml")).unwrap();
    let first = node.public_keys()[0].clone();
    let before = toml();
    let err = node.refused(&["key", "revoke", &first]);
    assert!(
        err.contains("signs this node's new records") && err.contains("ccis key rotate"),
        "{err}"
    );
    let err = node.refused(&[
        "key",
        "revoke",
        "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    ]);
    assert!(
        err.contains("no key of this node") && err.contains(&first),
        "{err}"
    );
    assert_eq!(toml(), before, "refusals change nothing");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    node.ok(&["key", "rotate"]);
    let second = node.public_keys()[1].clone();
    let err = node.refused(&["key", "revoke", &second]);
    assert!(err.contains("ccis key rotate"), "{err}");
    let out = node.ok(&["key", "revoke", &fingerprint(&first)]);
    assert!(
        out.contains("no record of this node is signed by it"),
        "{out}"
    );
    let err = node.refused(&["key", "revoke", &format!("did:key:{first}#{first}")]);
    assert!(err.contains("already revoked"), "{err}");
    let out = node.ok(&["key", "list"]);
    assert!(
        out.contains("revoked, from")
            && out
                .lines()
                .any(|l| l.starts_with("signs") && l.contains(&second)),
        "{out}"
    );
    // While the node is served, its keys are not changed under it.
    let _served = node.serve();
    let err = node.refused(&["key", "rotate"]);
    assert!(err.contains("in use by `ccis serve`"), "{err}");
}

#[test]
fn publish_dir_validates_every_file_first_and_names_the_bad_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::new(tmp.path(), "fr-test", "FR");
    let dir = tmp.path().join("records");
    guide(&dir, "b-guide");
    guide(&dir, "a-guide");
    write(
        &dir,
        "c-howto.jsonld",
        &format!(
            r#"{{"@context": "https://w3id.org/ccis/context.jsonld",
              "id": "{}/records/howto", "type": "Tool",
              "title": [{{"@value": "Fiche", "@language": "fr"}}],
              "description": {{"@value": "Une fiche.", "@language": "fr"}},
              "spatial": "http://publications.europa.eu/resource/authority/country/FRA",
              "subject": "ccis:theme-housing", "toolType": "ccis:tool-type-how-to",
              "license": "https://creativecommons.org/licenses/by/4.0/"}}"#,
            node.url
        ),
    );
    write(&dir, "notes.md", "not a record");
    let broken = write(
        &dir,
        "d-broken.ttl",
        "@prefix dct: <http://purl.org/dc/terms/> .\n<records/x> dct:title \"x\n",
    );
    let outside = write(
        &dir,
        "e-outside.ttl",
        &GUIDE.replace("<records/SLUG>", "<https://elsewhere.example/records/x>"),
    );

    let err = node.refused(&["publish", s(&dir)]);
    assert!(err.contains("nothing was stored"), "{err}");
    assert!(err.contains(&format!("{}:", broken.display())), "{err}");
    assert!(
        err.contains(&outside.display().to_string()) && err.contains("elsewhere.example"),
        "{err}"
    );
    assert!(
        !err.contains("a-guide") && !err.contains("notes.md"),
        "only bad files named: {err}"
    );
    assert_eq!(node.record_count(), 0);

    std::fs::remove_file(&broken).unwrap();
    std::fs::remove_file(&outside).unwrap();
    let bad_shape = write(
        &dir,
        "d-usa.ttl",
        &GUIDE
            .replace("SLUG", "usa")
            .replace("country:FRA", "country:USA"),
    );
    let err = node.refused(&["publish", s(&dir)]);
    assert!(
        err.contains(&format!(
            "{}: record <{}/records/usa>",
            bad_shape.display(),
            node.url
        )),
        "{err}"
    );
    assert_eq!(node.record_count(), 0);

    std::fs::remove_file(&bad_shape).unwrap();
    let out = node.ok(&["publish", s(&dir)]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("created   v1")
            && lines[0].contains("records/a-guide")
            && lines[0].contains("a-guide.ttl"),
        "{out}"
    );
    assert!(
        lines[1].contains("records/b-guide") && lines[2].contains("records/howto"),
        "name order: {out}"
    );
    assert!(out.contains("3 file(s), 3 record(s): 3 created"), "{out}");
    assert_eq!(node.record_count(), 3);
    write(
        &dir,
        "a-guide.ttl",
        &GUIDE
            .replace("SLUG", "a-guide")
            .replace("A guide.", "A better guide."),
    );
    let out = node.ok(&["publish", s(&dir)]);
    assert!(
        out.contains("updated   v2") && out.contains("unchanged v1"),
        "{out}"
    );
    assert!(out.contains("1 updated, 2 unchanged"), "{out}");

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = node.refused(&["publish", s(&empty)]);
    assert!(err.contains("holds no record file"), "{err}");
}
