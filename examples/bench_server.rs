//! What HTTP costs a researcher and a harvester: the example SPARQL queries
//! through `/sparql` next to the same queries run directly on the store, and
//! feed pages served per second, on a node holding many records.
//!
//! Run: `cargo run --example bench_server [RECORDS]` (default 50000). It builds
//! a node in a temporary directory from the sample records (renamed copies,
//! each signed), serves it on 127.0.0.1 and prints the figures and ratios,
//! all measured in the same run.

use ccis::node::{InitOptions, Node};
use ccis::rdf_input::{self, InputFormat, PinnedContexts};
use ccis::record::{self, Record};
use ccis::store::NodeStore;
use oxigraph::sparql::QueryResults;
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxrdf::NamedNode;
use std::time::{Duration, Instant};

/// A copy of a sample under `{slug}-{n}`.
fn copy(sample: &Record, n: usize) -> Record {
    sample.renamed(NamedNode::new_unchecked(format!(
        "{}-{n}",
        sample.iri.as_str()
    )))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run_direct(store: &NodeStore, query: &str) -> anyhow::Result<usize> {
    let serializer = QueryResultsSerializer::from_format(QueryResultsFormat::Json);
    let bytes = match store.query(query)? {
        QueryResults::Solutions(solutions) => {
            let mut writer = serializer
                .serialize_solutions_to_writer(Vec::new(), solutions.variables().to_vec())?;
            for s in solutions {
                writer.serialize(&s?)?;
            }
            writer.finish()?
        }
        QueryResults::Boolean(b) => serializer.serialize_boolean_to_writer(Vec::new(), b)?,
        QueryResults::Graph(_) => Vec::new(),
    };
    Ok(bytes.len())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let records: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50_000);
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let node = Node::init(
        &tmp.path().join("node"),
        InitOptions {
            role: Default::default(),
            id: "fr-bench".into(),
            country: "FR".into(),
            base_url: url.clone(),
            name: "Benchmark node".into(),
            key: None,
        },
    )?;

    // The sample records of every folder, as records of this node.
    let mut samples = Vec::new();
    for folder in ["fr", "es", "se", "lv", "eu"] {
        let mut files: Vec<_> = std::fs::read_dir(repo.join("examples/records").join(folder))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for path in files {
            let bytes = std::fs::read(&path)?;
            let quads = rdf_input::parse(
                &bytes,
                InputFormat::Turtle,
                Some(&format!("{url}/")),
                &path.display().to_string(),
                &PinnedContexts::default(),
            )?;
            samples.extend(record::split_into_records(quads, &url)?);
        }
    }
    samples.retain(|r| !r.is_withdrawn());
    println!(
        "building a node with {records} records (copies of {} samples)…",
        samples.len()
    );
    let started = Instant::now();
    let meta = node.local_meta();
    let mut batch = Vec::new();
    let mut triples = 0usize;
    for n in 0..records {
        let r = copy(&samples[n % samples.len()], n);
        let stamped = NodeStore::normalized(&r.stamped(1, "2026-11-22T10:00:00Z"))?;
        triples += stamped.triples.len();
        batch.push((node.sign(stamped)?, meta.clone()));
        if batch.len() == 1000 {
            node.store.put_all(&batch)?;
            batch.clear();
        }
    }
    node.store.put_all(&batch)?;
    println!(
        "  {records} records, {:.1} triples each, built in {:.1} s",
        triples as f64 / records as f64,
        started.elapsed().as_secs_f64()
    );

    let store = node.store.clone();
    let options = ccis::server::ServerOptions {
        query_timeout: Duration::from_secs(120),
        ..Default::default()
    };
    let state = ccis::server::AppState::new(node, &Default::default(), options);
    tokio::spawn(async move { axum::serve(listener, ccis::server::router(state)).await });
    let client = reqwest::Client::new();

    // SPARQL: each example query, direct and through /sparql, alternately.
    println!("\nexample query                      direct ms   /sparql ms   HTTP overhead");
    let mut queries: Vec<_> = std::fs::read_dir(repo.join("examples/queries"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    queries.sort();
    let (mut total_direct, mut total_http) = (Duration::ZERO, Duration::ZERO);
    for path in queries {
        let query = std::fs::read_to_string(&path)?;
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let (mut direct, mut http) = (Vec::new(), Vec::new());
        // Alternate which goes first, so caches favour neither.
        for round in 0..9 {
            let http_first = round % 2 == 1;
            let mut d = Duration::ZERO;
            let mut h = Duration::ZERO;
            for step in 0..2 {
                if (step == 0) == http_first {
                    let t = Instant::now();
                    let r = client
                        .post(format!("{url}/sparql"))
                        .header("content-type", "application/sparql-query")
                        .header("accept", "application/sparql-results+json")
                        .body(query.clone())
                        .send()
                        .await?;
                    anyhow::ensure!(r.status().is_success(), "{name}: {}", r.status());
                    r.bytes().await?;
                    h = t.elapsed();
                } else {
                    let s = store.clone();
                    let q = query.clone();
                    let t = Instant::now();
                    tokio::task::spawn_blocking(move || run_direct(&s, &q)).await??;
                    d = t.elapsed();
                }
            }
            if round > 0 {
                direct.push(d);
                http.push(h);
            }
        }
        let (d, h) = (median(direct), median(http));
        total_direct += d;
        total_http += h;
        println!(
            "{name:<34} {:>9.2} {:>12.2} {:>+14.1} %",
            d.as_secs_f64() * 1e3,
            h.as_secs_f64() * 1e3,
            (h.as_secs_f64() / d.as_secs_f64() - 1.0) * 100.0
        );
    }
    println!(
        "{:<34} {:>9.2} {:>12.2} {:>+14.1} %",
        "all queries",
        total_direct.as_secs_f64() * 1e3,
        total_http.as_secs_f64() * 1e3,
        (total_http.as_secs_f64() / total_direct.as_secs_f64() - 1.0) * 100.0
    );

    // Feed: building pages directly, serving them the first time, serving them cached.
    let (count, page_size) = store.feed_state()?;
    let full_pages = count / page_size;
    let sample_pages = full_pages.min(40);
    let t = Instant::now();
    for p in 0..sample_pages {
        let members = store.members(p * page_size, (p + 1) * page_size)?;
        let quads = ccis::feed::page_document(&url, p, true, &members)?;
        let mut w = oxigraph::io::RdfSerializer::from_format(oxigraph::io::RdfFormat::TriG)
            .for_writer(Vec::new());
        for q in &quads {
            w.serialize_quad(q)?;
        }
        w.finish()?;
    }
    let direct_rate = sample_pages as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for p in 0..sample_pages {
        let r = client
            .get(format!("{url}/feed/{p}"))
            .header("accept", "application/trig")
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success());
        r.bytes().await?;
    }
    let cold_rate = sample_pages as f64 / t.elapsed().as_secs_f64();
    let clients = 8;
    let budget = Duration::from_secs(3);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut served = 0u64;
            let mut p = c as u64;
            while t.elapsed() < budget {
                let r = client
                    .get(format!("{url}/feed/{}", p % sample_pages))
                    .header("accept", "application/trig")
                    .send()
                    .await?;
                anyhow::ensure!(r.status().is_success());
                r.bytes().await?;
                served += 1;
                p += 7;
            }
            Ok(served)
        }));
    }
    let mut served = 0;
    for task in tasks {
        served += task.await??;
    }
    let warm_rate = served as f64 / t.elapsed().as_secs_f64();
    println!("\nfeed: {count} members, {page_size} per page, {full_pages} full pages");
    println!("  page built directly (store + TriG), no HTTP   {direct_rate:>8.1} pages/s   1.00x");
    println!(
        "  first request of a page over HTTP              {cold_rate:>8.1} pages/s   {:.2}x",
        cold_rate / direct_rate
    );
    println!(
        "  full pages, {clients} concurrent clients (cached)     {warm_rate:>8.1} pages/s   {:.2}x  ({:.0} members/s)",
        warm_rate / direct_rate,
        warm_rate * page_size as f64
    );
    Ok(())
}
