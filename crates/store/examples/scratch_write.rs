//! SCRATCH (not committed): the store side of a harvest, batch by batch.
use ccis_integrity::proof::Proof;
use ccis_integrity::signed::SignedRecord;
use ccis_model::record::Record;
use ccis_model::vocab;
use ccis_store::{NodeStore, PeerState, StoreMeta, member_iri, signed_nquads};
use oxrdf::vocab::{rdf, xsd};
use oxrdf::{Literal, NamedNode, Term, Triple};
use std::time::Instant;

fn record(n: usize) -> SignedRecord {
    let iri = NamedNode::new_unchecked(format!("https://fr.example/records/tool-{n}"));
    let dct = |l: &str| NamedNode::new_unchecked(format!("http://purl.org/dc/terms/{l}"));
    let mut t = vec![
        Triple::new(iri.clone(), rdf::TYPE, vocab::TOOL),
        Triple::new(iri.clone(), dct("title"), Literal::new_language_tagged_literal_unchecked(format!("Guide numéro {n} de l'innovation sociale"), "fr")),
        Triple::new(iri.clone(), dct("title"), Literal::new_language_tagged_literal_unchecked(format!("Social innovation guide number {n}"), "en")),
        Triple::new(iri.clone(), dct("description"), Literal::new_language_tagged_literal_unchecked(format!("{n} A long description of what this guide holds, for whom it is written, and how it can be used by support professionals and project holders across Europe. {n}"), "en")),
        Triple::new(iri.clone(), dct("language"), NamedNode::new_unchecked("http://publications.europa.eu/resource/authority/language/FRA")),
        Triple::new(iri.clone(), dct("spatial"), NamedNode::new_unchecked("http://publications.europa.eu/resource/authority/country/FRA")),
        Triple::new(iri.clone(), dct("license"), NamedNode::new_unchecked("https://creativecommons.org/licenses/by/4.0/")),
        Triple::new(iri.clone(), dct("issued"), Literal::new_typed_literal("2024-01-01", xsd::DATE)),
    ];
    for s in 0..3 {
        t.push(Triple::new(iri.clone(), dct("subject"), NamedNode::new_unchecked(format!("https://w3id.org/ccis/themes#t{}", (n + s) % 12))));
    }
    for a in 0..2 {
        t.push(Triple::new(iri.clone(), dct("audience"), NamedNode::new_unchecked(format!("https://w3id.org/ccis/audiences#a{}", (n + a) % 5))));
    }
    let rec = Record::new(iri, t).stamped(1, "2026-11-20T10:00:00Z");
    let rec = NodeStore::normalized(&rec).unwrap();
    let mut proof = Proof::options("2026-11-20T10:00:00Z", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK");
    proof.statements.push((vocab::SEC_PROOF_VALUE.into(), Term::from(Literal::new_simple_literal(format!("z5{n:0>86}")))));
    SignedRecord { record: rec, proof }
}

fn main() {
    let records: usize = std::env::args().nth(1).map(|a| a.parse().unwrap()).unwrap_or(20000);
    let batch: usize = std::env::args().nth(2).map(|a| a.parse().unwrap()).unwrap_or(5000);
    let tmp = tempfile::tempdir().unwrap();
    let store = NodeStore::open(&tmp.path().join("s"), "https://lv.example").unwrap();
    let meta = |s: &SignedRecord| StoreMeta {
        origin: "fr".into(),
        source: "https://fr.example".into(),
        stored_at: "2026-11-21T10:00:00Z".into(),
        verified_with: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK".into(),
        signed_nquads: Some(signed_nquads(s).unwrap()),
    };
    let mut state = PeerState::default();
    let (mut t_read, mut t_write) = (0.0, 0.0);
    let total = Instant::now();
    let mut n = 0;
    while n < records {
        let items: Vec<_> = (n..(n + batch).min(records)).map(|i| { let s = record(i); let m = meta(&s); (s, m) }).collect();
        let t = Instant::now();
        for (s, _) in &items {
            let pv = s.proof.proof_value().unwrap().to_owned();
            assert!(store.member_has_proof(&member_iri(s.record.iri.as_str(), 1), &pv).unwrap().is_none());
            assert!(store.get(&s.record.iri).unwrap().is_none());
        }
        let r = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let w = store.put_harvested_refusing(&items, "fr", &mut state, &[], 1000).unwrap();
        let wr = t.elapsed().as_secs_f64();
        assert!(w.by_bulk_loader);
        t_read += r; t_write += wr;
        eprintln!("batch at {n:>6}: reads {:>6.0} ms, write {:>6.0} ms", r * 1e3, wr * 1e3);
        n += batch;
    }
    let harvest = total.elapsed().as_secs_f64();
    let stored: Vec<_> = store.oxigraph().iter().map(|q| q.unwrap()).filter(|q| q.graph_name.to_string() != format!("<{}>", ccis_store::VOCABULARY_GRAPH)).collect();
    let other = oxigraph::store::Store::open(&tmp.path().join("b")).unwrap();
    let t = Instant::now();
    let mut l = other.bulk_loader();
    l.load_quads(stored.iter().cloned()).unwrap();
    l.commit().unwrap();
    let bulk = t.elapsed().as_secs_f64();
    println!("{records} records, {} quads: store path {harvest:.1}s (reads {t_read:.1}s, writes {t_write:.1}s, making {:.1}s), one bulk load {bulk:.1}s; ratio {:.2}", stored.len(), harvest - t_read - t_write, bulk / (t_read + t_write));
}
