//! The seed corpora of the fuzz targets (`fuzz/corpus/<target>/seed-*`):
//! example records and queries, the records signed with the harness's seed
//! key and served as feed pages. Written by
//! `cargo test --test fuzz_regressions -- --ignored write_seeds`.
use crate::harness::{BASE, FEED_FORMATS, RECORD_FORMATS, SEED_SECRET_KEY, seed_peers_toml};
use ccis::canon::Limits;
use ccis::feed;
use ccis::proof::ProofSigner;
use ccis::rdf_input::{self, InputFormat, PinnedContexts};
use ccis::record::{self, Record};
use ccis::signed::SignedRecord;
use ccis::store::{self, FeedMember};
use ed25519_dalek::SigningKey;
use oxigraph::io::{JsonLdProfileSet, RdfFormat, RdfSerializer};
use oxrdf::{NamedNode, Quad};
use std::path::Path;

const MODIFIED: &str = "2026-03-01T12:00:00Z";

fn selector(formats: &[InputFormat], format: InputFormat) -> u8 {
    let i = formats
        .iter()
        .position(|f| *f == format)
        .expect("a listed format");
    u8::try_from(i).expect("a few formats")
}

fn serialize(quads: &[Quad], format: InputFormat) -> Vec<u8> {
    let format = match format {
        InputFormat::TriG => RdfFormat::TriG,
        InputFormat::NQuads => RdfFormat::NQuads,
        InputFormat::Turtle => RdfFormat::Turtle,
        _ => RdfFormat::JsonLd {
            profile: JsonLdProfileSet::empty(),
        },
    };
    let mut w = RdfSerializer::from_format(format)
        .with_prefix("ccis", ccis::vocab::CCIS)
        .and_then(|s| s.with_prefix("dct", ccis::vocab::DCT))
        .expect("valid prefixes")
        .for_writer(Vec::new());
    for q in quads {
        w.serialize_quad(q).expect("serializable quads");
    }
    w.finish().expect("serializable quads")
}

fn write(dir: &Path, name: &str, selector: Option<u8>, body: &[u8]) {
    std::fs::create_dir_all(dir).expect("a corpus directory");
    let mut bytes = selector.map(|s| vec![s]).unwrap_or_default();
    bytes.extend_from_slice(body);
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("a seed written");
}

fn example_records(repo: &Path, file: &str) -> Vec<Record> {
    let path = repo.join("examples/records").join(file);
    let bytes = std::fs::read(&path).expect("an example record");
    let quads = rdf_input::parse(
        &bytes,
        InputFormat::Turtle,
        Some(&format!("{BASE}/")),
        file,
        &PinnedContexts::default(),
    )
    .expect("the example parses");
    record::split_into_records(quads, BASE).expect("the example is a record")
}

fn sign(record: &Record, version: u64) -> SignedRecord {
    let record = record.stamped(version, MODIFIED);
    let signer = ProofSigner::new(SigningKey::from_bytes(&SEED_SECRET_KEY));
    let proof = signer
        .sign(&record.document(), MODIFIED, &Limits::default())
        .expect("the example signs");
    SignedRecord { record, proof }
}

fn member(position: u64, signed: &SignedRecord) -> FeedMember {
    let version = signed.record.version().expect("a stamped record");
    FeedMember {
        position,
        member: store::member_iri(signed.record.iri.as_str(), version),
        record: signed.record.iri.clone(),
        version,
        modified: MODIFIED.to_owned(),
        signed_nquads: store::signed_nquads(signed).expect("N-Quads"),
    }
}

/// Writes every seed under `{repo}/fuzz/corpus`, from the examples of `repo`.
pub fn write_all(repo: &Path) {
    let corpus = repo.join("fuzz/corpus");
    let practice = example_records(repo, "eu/community-of-practice.ttl");
    let signed = sign(&practice[0], 2);
    let gone = NamedNode::new_unchecked(format!("{BASE}/records/gone"));
    let tombstone = sign(&Record::tombstone(gone, 3, MODIFIED), 3);

    let dir = corpus.join("feed_page");
    let page = feed::page_document(BASE, 0, true, &[member(0, &signed), member(1, &tombstone)])
        .expect("a page");
    for (name, format) in [
        ("page.trig", InputFormat::TriG),
        ("page.nq", InputFormat::NQuads),
        ("page.jsonld", InputFormat::JsonLd),
    ] {
        let s = selector(&FEED_FORMATS, format);
        write(&dir, name, Some(s), &serialize(&page, format));
    }
    let last = feed::page_document(BASE, 1, false, &[member(2, &tombstone)]).expect("a page");
    write(
        &dir,
        "last-page.trig",
        Some(selector(&FEED_FORMATS, InputFormat::TriG)),
        &serialize(&last, InputFormat::TriG),
    );

    let dir = corpus.join("record");
    for file in [
        "es/movilidad-rural-compartida.ttl",
        "eu/community-of-practice.ttl",
    ] {
        let path = repo.join("examples/records").join(file);
        let name = file.replace('/', "-");
        let s = selector(&RECORD_FORMATS, InputFormat::Turtle);
        write(
            &dir,
            &name,
            Some(s),
            &std::fs::read(path).expect("an example record"),
        );
    }
    let s = selector(&RECORD_FORMATS, InputFormat::TriG);
    write(
        &dir,
        "signed.trig",
        Some(s),
        &serialize(&signed.to_quads(), InputFormat::TriG),
    );
    let s = selector(&RECORD_FORMATS, InputFormat::NQuads);
    write(
        &dir,
        "signed.nq",
        Some(s),
        &serialize(&signed.to_quads(), InputFormat::NQuads),
    );
    let json = serde_json::to_vec_pretty(&signed.to_json_ld()).expect("JSON");
    let s = selector(&RECORD_FORMATS, InputFormat::JsonLd);
    write(&dir, "signed.jsonld", Some(s), &json);

    let dir = corpus.join("peers_toml");
    let peers = std::fs::read(repo.join("peers.toml")).expect("peers.toml");
    write(&dir, "repo.toml", None, &peers);
    let seed = seed_peers_toml();
    write(&dir, "seed.toml", None, seed.as_bytes());
    let rotated = format!(
        "{seed}valid_until = \"2027-01-01T00:00:00+01:00\"\n[[peer.keys]]\npublic_key = \"{}\"\nrevoked = true\n",
        ccis::keys::public_multikey(&SigningKey::from_bytes(&[8; 32]).verifying_key())
    );
    write(&dir, "rotated.toml", None, rotated.as_bytes());

    let dir = corpus.join("sparql");
    let queries = repo.join("examples/queries");
    for entry in std::fs::read_dir(queries).expect("example queries") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        write(&dir, &name, None, &std::fs::read(&path).expect("a query"));
    }
    write(
        &dir,
        "service.rq",
        None,
        b"SELECT * WHERE { SERVICE SILENT <https://fr.example/sparql> { ?s ?p ?o } OPTIONAL { ?s <http://purl.org/dc/terms/title> ?t FILTER(langMatches(lang(?t), \"fr\")) } } LIMIT 10",
    );
    write(
        &dir,
        "update.ru",
        None,
        b"PREFIX ccis: <https://w3id.org/ccis/ns#>\nDELETE { ?r ?p ?o } INSERT { ?r a ccis:Withdrawn } WHERE { GRAPH ?g { ?r ?p ?o } }",
    );
}
