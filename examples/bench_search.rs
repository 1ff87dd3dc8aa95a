//! Search index figures: 100,000 records in 6 languages stored in a node,
//! the index built from the store's feed log, then searches with text and
//! two facets, in process.
//!
//! Prints: the time to store the records (the store's own writes, batches
//! of 2,000, signing excluded), the time to build the index from the store
//! (reading the feed log included) and their ratio; the sizes of the store
//! and of the index; p50/p95/p99 latency of `Index::search` with two facets
//! selected, with and without words; and of `more_like_this`; then the
//! same searches through HTTP: `GET /search` served on loopback, the whole
//! HTML page, as a ratio to the in-process figure of the same run.
//!
//! Run: `cargo run --example bench_search [RECORDS]` (default 100000).

use ccis::node::{InitOptions, Node};
use ccis::record::Record;
use ccis::search::{Facet, Index, SearchRequest};
use ccis::store::NodeStore;
use oxrdf::vocab::rdf;
use oxrdf::{Literal, NamedNode, Triple};
use std::time::{Duration, Instant};

const CCIS: &str = "https://w3id.org/ccis/ns#";
const DCT: &str = "http://purl.org/dc/terms/";
const COUNTRY: &str = "http://publications.europa.eu/resource/authority/country/";
const COUNTRIES: &[&str] = &[
    "AUT", "BEL", "BGR", "HRV", "CYP", "CZE", "DNK", "EST", "FIN", "FRA", "DEU", "GRC", "HUN",
    "IRL", "ITA", "LVA", "LTU", "LUX", "MLT", "NLD", "POL", "PRT", "ROU", "SVK", "SVN", "ESP",
    "SWE",
];
const THEMES: &[&str] = &[
    "employment",
    "social-inclusion",
    "ecological-transition",
    "health",
    "housing",
    "education",
    "mobility",
    "digital",
];
const AUDIENCES: &[&str] = &[
    "project-holders",
    "support-professionals",
    "funders",
    "public-authorities",
    "researchers",
];
const STAGES: &[&str] = &["emergence", "consolidation", "scaling"];
const CLASSES: &[&str] = &["Tool", "Practice", "SupportProgramme", "Initiative"];

/// Six languages and words of each.
const LANGUAGES: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "social",
            "innovation",
            "guide",
            "tools",
            "enterprises",
            "impact",
            "assessment",
            "community",
            "housing",
            "employment",
            "young",
            "people",
            "rural",
            "mentoring",
            "funding",
            "scaling",
            "network",
            "cooperation",
            "municipality",
            "health",
            "training",
            "inclusion",
            "volunteers",
            "digital",
            "skills",
        ],
    ),
    (
        "fr",
        &[
            "sociale",
            "innovation",
            "guide",
            "outils",
            "entreprises",
            "impact",
            "évaluation",
            "communauté",
            "logement",
            "emploi",
            "jeunes",
            "personnes",
            "rural",
            "accompagnement",
            "financement",
            "changement",
            "réseau",
            "coopération",
            "territoire",
            "santé",
            "formation",
            "inclusion",
            "bénévoles",
            "numérique",
            "compétences",
        ],
    ),
    (
        "es",
        &[
            "social",
            "innovación",
            "guía",
            "herramientas",
            "empresas",
            "impacto",
            "evaluación",
            "comunidad",
            "vivienda",
            "empleo",
            "jóvenes",
            "personas",
            "rural",
            "mentoría",
            "financiación",
            "escala",
            "red",
            "cooperación",
            "municipio",
            "salud",
            "formación",
            "inclusión",
            "voluntarios",
            "digital",
            "competencias",
        ],
    ),
    (
        "sv",
        &[
            "sociala",
            "innovationer",
            "handbok",
            "verktyg",
            "företag",
            "effekt",
            "mätning",
            "gemenskap",
            "bostäder",
            "arbete",
            "unga",
            "människor",
            "landsbygd",
            "mentorskap",
            "finansiering",
            "spridning",
            "nätverk",
            "samverkan",
            "kommuner",
            "hälsa",
            "utbildning",
            "inkludering",
            "volontärer",
            "digitala",
            "kompetens",
        ],
    ),
    (
        "lv",
        &[
            "sociālā",
            "inovācija",
            "ceļvedis",
            "rīki",
            "uzņēmumiem",
            "ietekme",
            "novērtēšana",
            "kopiena",
            "mājokļi",
            "nodarbinātība",
            "jaunieši",
            "cilvēki",
            "lauku",
            "mentorings",
            "finansējums",
            "paplašināšana",
            "tīkls",
            "sadarbība",
            "pašvaldība",
            "veselība",
            "apmācība",
            "iekļaušana",
            "brīvprātīgie",
            "digitālās",
            "prasmes",
        ],
    ),
    (
        "de",
        &[
            "soziale",
            "Innovation",
            "Leitfaden",
            "Werkzeuge",
            "Unternehmen",
            "Wirkung",
            "Messung",
            "Gemeinschaft",
            "Wohnen",
            "Beschäftigung",
            "junge",
            "Menschen",
            "ländlich",
            "Mentoring",
            "Finanzierung",
            "Skalierung",
            "Netzwerk",
            "Zusammenarbeit",
            "Gemeinde",
            "Gesundheit",
            "Ausbildung",
            "Inklusion",
            "Freiwillige",
            "digitale",
            "Kompetenzen",
        ],
    ),
];

/// xorshift64*: the same records and queries on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
    fn words(&mut self, lang: usize, n: usize) -> String {
        (0..n)
            .map(|_| self.pick(LANGUAGES[lang].1))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn iri(s: &str) -> NamedNode {
    NamedNode::new_unchecked(s)
}

/// Record `n`: in its own language and English, with facets drawn at random.
fn record(base: &str, n: usize, rng: &mut Rng) -> Record {
    let r = iri(&format!("{base}/records/r-{n}"));
    let lang = n % LANGUAGES.len();
    let class = CLASSES[n % CLASSES.len()];
    let mut t = vec![Triple::new(
        r.clone(),
        rdf::TYPE,
        iri(&format!("{CCIS}{class}")),
    )];
    let mut add = |p: &str, o: oxrdf::Term| t.push(Triple::new(r.clone(), iri(p), o));
    for l in [lang, 0]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
    {
        let tag = LANGUAGES[l].0;
        let title = rng.words(l, 5);
        let description = rng.words(l, 30);
        add(
            &format!("{DCT}title"),
            Literal::new_language_tagged_literal_unchecked(title, tag).into(),
        );
        add(
            &format!("{DCT}description"),
            Literal::new_language_tagged_literal_unchecked(description, tag).into(),
        );
    }
    add(
        &format!("{DCT}spatial"),
        iri(&format!("{COUNTRY}{}", rng.pick(COUNTRIES))).into(),
    );
    for _ in 0..1 + rng.below(3) {
        add(
            &format!("{DCT}subject"),
            iri(&format!("{CCIS}theme-{}", rng.pick(THEMES))).into(),
        );
    }
    add(
        &format!("{DCT}audience"),
        iri(&format!("{CCIS}audience-{}", rng.pick(AUDIENCES))).into(),
    );
    add(
        &format!("{CCIS}stage"),
        iri(&format!("{CCIS}stage-{}", rng.pick(STAGES))).into(),
    );
    let day = 1 + n % 28;
    Record::new(r, t).stamped(1, &format!("2026-11-{day:02}T10:00:00Z"))
}

/// Bytes under a directory.
fn size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Stores `records` records; returns the time the store's writes took.
fn store_records(node: &Node, records: usize) -> anyhow::Result<Duration> {
    let meta = node.local_meta();
    let mut rng = Rng(0x5EED);
    let mut batch = Vec::new();
    let mut storing = Duration::ZERO;
    for n in 0..records {
        let r = NodeStore::normalized(&record(&node.config.base_url, n, &mut rng))?;
        batch.push((node.sign(r)?, meta.clone()));
        if batch.len() == 2000 || n + 1 == records {
            let t = Instant::now();
            node.store.put_all(&batch)?;
            storing += t.elapsed();
            batch.clear();
        }
        if (n + 1) % 20_000 == 0 {
            println!("  {} records stored", n + 1);
        }
    }
    Ok(storing)
}

/// The `/search` URL of the search [`latencies`] makes.
fn search_url(base: &str, rng: &mut Rng, words: usize) -> String {
    let lang = rng.below(LANGUAGES.len());
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &rng.words(lang, words))
        .append_pair("country", &format!("{COUNTRY}{}", rng.pick(COUNTRIES)))
        .append_pair("theme", &format!("{CCIS}theme-{}", rng.pick(THEMES)))
        .finish();
    format!("{base}/search?{query}")
}

/// Latencies of `runs` requests for the search page, through HTTP on
/// loopback (the node's own router, its index), each read whole.
async fn http_latencies(base: &str, runs: usize, words: usize) -> anyhow::Result<Vec<Duration>> {
    let client = reqwest::Client::new();
    let mut rng = Rng(0xFACE7);
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let url = search_url(base, &mut rng, words);
        let t = Instant::now();
        let response = client.get(&url).send().await?.error_for_status()?;
        let page = response.bytes().await?;
        out.push(t.elapsed());
        std::hint::black_box(page);
    }
    out.sort();
    Ok(out)
}

/// Serves `node` with `index` on loopback; its URL.
async fn serve(node: Node, index: Index) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = ccis::server::AppState::new(node, &Default::default(), Default::default())
        .with_search(std::sync::Arc::new(index));
    tokio::spawn(async move { axum::serve(listener, ccis::server::router(state)).await });
    Ok(url)
}

/// Latencies of `runs` searches with a country and a theme selected, and
/// `words` words of a random language (none when 0).
fn latencies(index: &Index, runs: usize, words: usize) -> anyhow::Result<Vec<Duration>> {
    let mut rng = Rng(0xFACE7);
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let lang = rng.below(LANGUAGES.len());
        let request = SearchRequest::new(rng.words(lang, words))
            .select(Facet::Country, format!("{COUNTRY}{}", rng.pick(COUNTRIES)))
            .select(Facet::Theme, format!("{CCIS}theme-{}", rng.pick(THEMES)));
        let t = Instant::now();
        let results = index.search(&request)?;
        out.push(t.elapsed());
        std::hint::black_box(results);
    }
    out.sort();
    Ok(out)
}

fn report(what: &str, sorted: &[Duration]) {
    println!(
        "  {what:<44} p50 {:>6.2} ms   p95 {:>6.2} ms   p99 {:>6.2} ms",
        percentile(sorted, 0.5),
        percentile(sorted, 0.95),
        percentile(sorted, 0.99)
    );
}

/// Store and index times and sizes.
fn print_build(records: usize, storing: Duration, indexing: Duration, node: &Node) {
    let (store_bytes, index_bytes) = (size(&node.dir.store()), size(&node.dir.index()));
    println!("{records} records");
    println!(
        "  store: {:>7.1} s   ({:.0} records/s)",
        storing.as_secs_f64(),
        records as f64 / storing.as_secs_f64()
    );
    println!(
        "  index built from the feed log: {:>7.1} s   ({:.0} records/s)   {:.2}x the time to store",
        indexing.as_secs_f64(),
        records as f64 / indexing.as_secs_f64(),
        indexing.as_secs_f64() / storing.as_secs_f64()
    );
    println!(
        "  size: store {:.1} MiB, index {:.1} MiB ({:.2}x the store)",
        store_bytes as f64 / 1048576.0,
        index_bytes as f64 / 1048576.0,
        index_bytes as f64 / store_bytes as f64
    );
}

fn main() -> anyhow::Result<()> {
    let records: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir()?;
    let node = Node::init(
        &tmp.path().join("bench"),
        InitOptions {
            role: Default::default(),
            id: "bench".into(),
            country: "FR".into(),
            base_url: "https://bench.example".into(),
            name: "Bench".into(),
            key: None,
        },
    )?;
    println!("storing {records} records in 6 languages (each in its own language and English)…");
    let storing = store_records(&node, records)?;
    let t = Instant::now();
    let index = Index::rebuild(&node.dir.index(), &node.store)?;
    let indexing = t.elapsed();
    let all = index.search(&SearchRequest::default())?.total;
    anyhow::ensure!(all == records as u64, "{all} of {records} records indexed");
    print_build(records, storing, indexing, &node);
    println!("search, in process (1,000 runs each; country and theme selected):");
    let _ = latencies(&index, 100, 2)?; // warm-up
    report("two words + two facets", &latencies(&index, 1000, 2)?);
    report("one word + two facets", &latencies(&index, 1000, 1)?);
    report(
        "no words (newest first) + two facets",
        &latencies(&index, 1000, 0)?,
    );
    let mut similar = Vec::new();
    for n in 0..200 {
        let t = Instant::now();
        std::hint::black_box(index.more_like_this(
            &format!("https://bench.example/records/r-{}", n * 97 % records),
            10,
        )?);
        similar.push(t.elapsed());
    }
    similar.sort();
    report("more_like_this (200 runs)", &similar);
    let in_process = percentile(&latencies(&index, 1000, 2)?, 0.95);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let url = serve(node, index).await?;
        println!("search through HTTP (GET /search, the whole HTML page; 1,000 runs each):");
        let _ = http_latencies(&url, 100, 2).await?; // warm-up
        let two = http_latencies(&url, 1000, 2).await?;
        report("two words + two facets", &two);
        report("no words + two facets", &http_latencies(&url, 1000, 0).await?);
        println!(
            "  p95 through HTTP: {:.1}x the in-process p95 of the same searches ({in_process:.2} ms)",
            percentile(&two, 0.95) / in_process
        );
        anyhow::Ok(())
    })
}
