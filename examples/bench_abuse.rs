//! What abuse of `/sparql` costs everyone else, and what running each query
//! in a worker process costs a query.
//!
//! Run: `cargo build --bin ccis && cargo run --example bench_abuse [SECONDS]`
//! (default 20 s of abuse; the worker is the `ccis` binary beside the
//! example's directory, or `CCIS_BIN`). It serves two copies of a node built
//! from the sample records on 127.0.0.1, one evaluating SPARQL in the
//! server's process, one in worker processes (as `ccis serve` does), and prints:
//! * per query, the median latency through `/sparql` in-process and in a
//!   worker, and their ratio (the worker's per-query overhead);
//! * the median and p99 latency of `/node` and `/feed` while clients send
//!   runaway sorts, deep nesting, 1.5 MB garbage and slow headers to the
//!   worker node, as ratios to the same latencies measured without abuse
//!   in the same run.

use ccis::node::{InitOptions, Node};
use ccis::server::{AppState, ServerOptions, router, serve_on};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const RUNAWAY: &str = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?a ?d ?g";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A node with the sample records, served with `options`; returns its URL.
async fn node(tmp: &std::path::Path, name: &str, options: ServerOptions) -> anyhow::Result<String> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let node = Node::init(
        &tmp.join(name),
        InitOptions {
            role: Default::default(),
            id: name.into(),
            country: "FR".into(),
            base_url: url.clone(),
            name: name.into(),
            key: None,
        },
    )?;
    for folder in ["fr", "es", "lv", "se", "eu"] {
        let dir = repo.join("examples/records").join(folder);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "ttl"))
            .collect();
        files.sort();
        if let Ok(records) = node.read_records(&files, None) {
            let _ = node.publish(records);
        }
    }
    let connections = options.connections.clone();
    let app = router(AppState::new(node, &Default::default(), options));
    tokio::spawn(serve_on(listener, app, connections, std::future::pending()));
    Ok(url)
}

async fn latency(client: &reqwest::Client, url: &str, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let ok = match client.get(url).send().await {
            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
            Err(_) => false,
        };
        if ok {
            times.push(started.elapsed());
        }
    }
    times.sort();
    times
}

async fn query_time(client: &reqwest::Client, url: &str, query: &str) -> Duration {
    let started = Instant::now();
    let r = client
        .post(format!("{url}/sparql"))
        .header("content-type", "application/sparql-query")
        .header("accept", "application/sparql-results+json")
        .body(query.to_owned())
        .send()
        .await;
    if let Ok(r) = r {
        let _ = r.bytes().await;
    }
    started.elapsed()
}

/// One abusive client: loops over its kind of abuse until `stop`.
fn abuse(kind: usize, url: String, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let garbage = "{ ( \" < FILTER ".repeat(100_000);
        let deep = format!(
            "ASK {{ FILTER({}1{}) }}",
            "(".repeat(2000),
            ")".repeat(2000)
        );
        while !stop.load(Ordering::Relaxed) {
            let body = match kind % 3 {
                0 => RUNAWAY.to_owned(),
                1 => deep.clone(),
                _ => garbage.clone(),
            };
            let _ = client
                .post(format!("{url}/sparql"))
                .header("content-type", "application/sparql-query")
                .body(body)
                .send()
                .await;
            sent.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// Slow-loris connections: headers never finished, reopened when closed.
fn lorises(url: &str, n: usize, stop: Arc<AtomicBool>) {
    let address = url.trim_start_matches("http://").to_owned();
    for _ in 0..n {
        let (address, stop) = (address.clone(), stop.clone());
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = tokio::net::TcpStream::connect(&address).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let _ = s
                    .write_all(b"GET /node HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .await;
                let mut buf = [0u8; 64];
                let _ = s.read(&mut buf).await;
            }
        });
    }
}

fn row(what: &str, quiet: &[Duration], loud: &[Duration]) {
    let (qm, q99) = (percentile(quiet, 0.5), percentile(quiet, 0.99));
    let (lm, l99) = (percentile(loud, 0.5), percentile(loud, 0.99));
    println!(
        "{what:<8} {:>9.2} {:>9.2} {:>11.2} {:>9.2} {:>9.1}x {:>8.1}x",
        ms(qm),
        ms(q99),
        ms(lm),
        ms(l99),
        ms(lm) / ms(qm),
        ms(l99) / ms(q99)
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20);
    let program = match std::env::var_os("CCIS_BIN") {
        Some(p) => std::path::PathBuf::from(p),
        None => std::env::current_exe()?
            .parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("ccis"))
            .ok_or_else(|| anyhow::anyhow!("no ccis binary: set CCIS_BIN"))?,
    };
    anyhow::ensure!(
        program.exists(),
        "{} missing: cargo build --bin ccis",
        program.display()
    );
    let tmp = tempfile::tempdir()?;
    let timeout = Duration::from_secs(2);
    let inproc = node(
        tmp.path(),
        "in-process",
        ServerOptions {
            query_timeout: timeout,
            ..Default::default()
        },
    )
    .await?;
    let options = ServerOptions {
        query_timeout: timeout,
        worker_program: Some(program),
        ..Default::default()
    };
    let worker = node(tmp.path(), "worker", options).await?;
    let client = reqwest::Client::new();

    println!("per-query cost of a worker process (median of 30, alternating)");
    println!("query                              in-process ms  worker ms  ratio");
    let queries = [
        ("ASK {}", "ASK {}".to_owned()),
        (
            "titles (SELECT)",
            "SELECT ?r ?t WHERE { GRAPH ?r { ?r <http://purl.org/dc/terms/title> ?t } }".to_owned(),
        ),
        (
            "count all quads",
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }".to_owned(),
        ),
    ];
    for (name, q) in &queries {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..30 {
            a.push(query_time(&client, &inproc, q).await);
            b.push(query_time(&client, &worker, q).await);
        }
        a.sort();
        b.sort();
        let (ma, mb) = (percentile(&a, 0.5), percentile(&b, 0.5));
        println!(
            "{name:<34} {:>13.2} {:>10.2} {:>6.1}x",
            ms(ma),
            ms(mb),
            ms(mb) / ms(ma)
        );
    }

    let n = 200;
    let node_url = format!("{worker}/node");
    let feed_url = format!("{worker}/feed");
    let quiet_node = latency(&client, &node_url, n).await;
    let quiet_feed = latency(&client, &feed_url, n).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    for kind in 0..12 {
        abuse(kind, worker.clone(), stop.clone(), sent.clone());
    }
    lorises(&worker, 200, stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let (mut loud_node, mut loud_feed) = (Vec::new(), Vec::new());
    while started.elapsed() < Duration::from_secs(seconds) {
        loud_node.extend(latency(&client, &node_url, 20).await);
        loud_feed.extend(latency(&client, &feed_url, 20).await);
    }
    stop.store(true, Ordering::Relaxed);
    loud_node.sort();
    loud_feed.sort();
    println!(
        "\n/node and /feed of the worker node, quiet ({n} requests each) and under abuse \
         ({} s: 12 clients sending runaway sorts, 4000-deep nesting and 1.5 MB garbage \
         to /sparql, {} abusive requests answered; 200 slow-loris connections)",
        seconds,
        sent.load(Ordering::Relaxed)
    );
    println!("path     quiet p50 quiet p99  abused p50 abused p99  p50 ratio p99 ratio   (ms)");
    row("/node", &quiet_node, &loud_node);
    row("/feed", &quiet_feed, &loud_feed);
    println!(
        "(requests measured under abuse: /node {}, /feed {})",
        loud_node.len(),
        loud_feed.len()
    );
    Ok(())
}
