//! The node's HTTP server (axum): web catalogue, records, node description,
//! vocabulary, LDES feed, read-only SPARQL and the operator API.
//!
//! The chapter of the documentation on this layer follows.
#![doc = include_str!("../../../docs/06-sparql.md")]
#![doc = include_str!("../../../docs/05-limits.md")]
#![deny(missing_docs)]

mod api;
mod assets;
mod error;
mod eval;
mod feed;
mod harden;
mod indicators;
mod listen;
mod negotiate;
mod pool;
pub mod prescan;
pub mod problem;
mod query_page;
mod resources;
pub mod review;
mod review_api;
mod service;
mod sim_export;
mod sparql;
pub mod submit;
pub mod web;
mod worker;

pub use error::{BoxError, ServerError};
pub use feed::{IMMUTABLE, SHORT};
pub use listen::{Connections, raise_open_files_limit, serve_on};
pub use negotiate::choose;
pub use service::PeerServices;
pub use worker::{WORKER_COMMAND, main as worker_main};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use ccis_integrity::peers::{Peers, PeersError};
use ccis_node::config::NodeConfig;
use ccis_node::node::Node;
use ccis_store::NodeStore;
use problem::Problem;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Server settings: the limits of `[server]` in `ccis.toml`, resolved.
///
/// [`ccis_node::config::ServerConfig`] is the file's form (plain numbers,
/// every field optional with a default, as operators write it); this is the
/// form the server runs with: durations, minimums applied (a zero timeout or
/// queue is raised to one), the connection limits grouped for
/// [`serve_on`], and the worker program, which no file sets. Tests and
/// benchmarks build it directly to set a limit tiny.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Most time a SPARQL query may run.
    pub query_timeout: Duration,
    /// Largest SPARQL query text, in bytes.
    pub max_query_bytes: usize,
    /// Deepest bracket nesting of a SPARQL query.
    pub max_query_depth: usize,
    /// SPARQL queries evaluated at once.
    pub max_concurrent_queries: usize,
    /// SPARQL queries waiting for a turn.
    pub max_queued_queries: usize,
    /// Address space of a SPARQL worker process, in MiB.
    pub query_memory_mib: u64,
    /// Largest serialized result relayed from a worker, in bytes.
    pub max_result_bytes: u64,
    /// The `ccis` executable run as SPARQL worker (`None`: queries run in
    /// this process, where a stopped query cannot be interrupted in a sort
    /// or a join; `ccis serve` always sets it).
    pub worker_program: Option<std::path::PathBuf>,
    /// Connection limits (used by [`serve_on`]).
    pub connections: Connections,
}

impl ServerOptions {
    /// The settings of a node's `[server]` configuration.
    pub fn from_config(config: &NodeConfig) -> Self {
        Self::from_server_config(&config.server)
    }

    fn from_server_config(server: &ccis_node::config::ServerConfig) -> Self {
        let query_timeout = match server.query_timeout_ms {
            Some(ms) => Duration::from_millis(ms.max(1)),
            None => Duration::from_secs(server.query_timeout_secs.max(1)),
        };
        Self {
            query_timeout,
            max_query_bytes: server.max_query_bytes,
            max_query_depth: server.max_query_depth,
            max_concurrent_queries: server.max_concurrent_queries.max(1),
            max_queued_queries: server.max_queued_queries,
            query_memory_mib: server.query_memory_mib,
            max_result_bytes: server.max_result_bytes,
            worker_program: None,
            connections: Connections {
                header_timeout: Duration::from_millis(server.header_timeout_ms.max(1)),
                idle_timeout: Duration::from_millis(server.idle_timeout_ms.max(1)),
                max_connections: server.max_connections.max(1),
                shutdown_grace: Duration::from_millis(server.shutdown_grace_ms),
            },
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self::from_server_config(&ccis_node::config::ServerConfig::default())
    }
}

/// What every handler reads.
#[derive(Clone)]
pub struct AppState {
    /// The node's configuration.
    pub config: Arc<NodeConfig>,
    /// Its store.
    pub store: NodeStore,
    /// The node itself, for the operator's writes (one at a time).
    pub node: Arc<Mutex<Node>>,
    /// The search index (the node's own, which its writes update), when
    /// the server was started by [`NodeServer`] or given one.
    pub search: Option<Arc<ccis_search::Index>>,
    /// Settings.
    pub options: Arc<ServerOptions>,
    /// The SPARQL endpoints `SERVICE` may call: the peers'.
    pub services: PeerServices,
    /// The peers the node trusts.
    pub peers: Arc<Peers>,
    /// Full feed pages already serialized.
    pages: feed::PageCache,
    /// The vocabulary's labels, read on the first page that shows one.
    labels: Arc<std::sync::OnceLock<Arc<web::labels::Labels>>>,
    /// Turns for SPARQL queries.
    queries: Arc<pool::QueryPool>,
    /// SPARQL worker processes, if the options name a program.
    workers: Option<Arc<worker::Workers>>,
    /// Set when the node shuts down: running queries stop.
    stop: Arc<tokio::sync::watch::Sender<bool>>,
    /// Where public submissions go, and how many each client sent.
    intake: Arc<submit::Intake>,
    /// The validators' pages: sessions and failed logins.
    review: Arc<review::Review>,
    /// The initiatives by validation state, for the search's validation facet.
    validations: Arc<Mutex<Option<Arc<web::search_page::Validations>>>>,
}

impl AppState {
    /// The state of a server for `node`, trusting `peers`.
    pub fn new(node: Node, peers: &Peers, options: ServerOptions) -> Self {
        let workers = options.worker_program.clone().map(|program| {
            Arc::new(worker::Workers::new(
                program,
                &node.dir.root,
                node.store.clone(),
                options.query_memory_mib.saturating_mul(1024 * 1024),
                options.max_result_bytes,
            ))
        });
        let intake = Arc::new(submit::Intake::new(
            ccis_node::submissions::SubmissionStore::new(node.dir.submissions()),
        ));
        let review = Arc::new(review::Review::new(
            node.dir.root.clone(),
            &node.config.base_url,
            &node.config.review,
        ));
        Self {
            intake,
            review,
            validations: Arc::default(),
            config: Arc::new(node.config.clone()),
            store: node.store.clone(),
            services: PeerServices::new(peers, options.query_timeout),
            peers: Arc::new(peers.clone()),
            queries: Arc::new(pool::QueryPool::new(
                options.max_concurrent_queries,
                options.max_queued_queries,
            )),
            workers,
            options: Arc::new(options),
            node: Arc::new(Mutex::new(node)),
            search: None,
            pages: feed::PageCache::default(),
            labels: Arc::default(),
            stop: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }

    /// The same state, searching (and showing pages from) `index`: for
    /// servers built without [`NodeServer`], such as tests'.
    pub fn with_search(mut self, index: Arc<ccis_search::Index>) -> Self {
        self.search = Some(index);
        self
    }

    /// Stops the SPARQL queries running or waiting (at shutdown).
    pub fn stop_queries(&self) {
        self.stop.send_replace(true);
    }

    fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.subscribe()
    }
}

/// Resolves once `stopping` turns true.
async fn stopped(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    if stopping.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The routes of a node.
pub fn router(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers(Any)
        .expose_headers(Any);
    let open = Router::new()
        .route("/records/{slug}", get(resources::record))
        .route("/feed", get(web::views::feed))
        .route("/feed/{page}", get(web::views::feed_page))
        .route("/search.atom", get(web::search_page::search_atom))
        .route("/sparql", get(sparql::get).post(sparql::post))
        .layer(cors);
    let operator = Router::new()
        .route("/api/records", post(api::publish))
        .route("/api/records/{slug}", delete(api::withdraw))
        .route("/api/decisions", post(review_api::decide))
        .route("/api/sim-export", get(sim_export::export))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::require_token,
        ))
        .layer(DefaultBodyLimit::max(state.config.server.max_body_bytes));
    let routes = Router::new()
        .route("/", get(web::search_page::search))
        .route("/search", get(web::search_page::search))
        .route("/catalogue/record", get(web::record_page::held))
        .route("/node", get(resources::node))
        .route("/status", get(status))
        .route("/vocab/{file}", get(resources::vocab))
        .route("/style.css", get(harden::stylesheet))
        .route("/indicators", get(indicators::page))
        .route("/indicators/{file}", get(indicators::file))
        .route("/api/indicators", get(indicators::json))
        .route("/api/initiatives", get(review_api::initiatives))
        .route("/query", get(query_page::page))
        .route("/submit", get(submit::form).post(submit::post_form))
        .route("/api/submissions", post(submit::api))
        .route("/review", get(review::queue))
        .route("/review/login", get(review::login_form).post(review::login))
        .route("/review/logout", post(review::logout))
        .route("/review/initiative", get(review::initiative))
        .route("/review/decide", post(review::decide))
        .route(
            "/review/new",
            get(review::new_initiative).post(review::create_initiative),
        )
        .route("/review/submissions", get(review::submissions))
        .route(
            "/review/submission",
            get(review::submission).post(review::submission_act),
        )
        .merge(assets::routes())
        .merge(open)
        .merge(operator)
        .fallback(problem::no_such_path)
        .layer(axum::middleware::from_fn(problem::every_error_is_a_problem));
    harden::layers(routes)
        .layer(
            // One log line per request: method, path, status, duration.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// `GET /status`: what the node holds and each peer's health, as JSON (or
/// a page when the client prefers HTML).
async fn status(
    axum::extract::State(state): axum::extract::State<AppState>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let html = !web::has_format(&uri) && web::wants_html(&headers, &["application/json"]);
    let store = state.store.clone();
    let config = state.config.clone();
    let peers = state.peers.clone();
    match tokio::task::spawn_blocking(move || {
        ccis_node::status::NodeStatus::read_with_peers(&config, &store, &peers)
    })
    .await
    {
        Ok(Ok(s)) if html => web::views::status(&state, &s, &uri, &headers),
        Ok(Ok(s)) => axum::Json(s).into_response(),
        Ok(Err(e)) => Problem::internal(e).into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

/// The peers a node trusts: `peers.toml` in its directory, if there is one.
pub fn node_peers(dir: &std::path::Path) -> Result<Peers, PeersError> {
    Peers::load_for_node(dir)
}

/// A node ready to be served: its listener bound, its handlers' state built
/// and its harvester made. `ccis serve` and `ccis demo` both run nodes
/// through it.
pub struct NodeServer {
    state: AppState,
    listener: tokio::net::TcpListener,
    connections: Connections,
    harvester: Option<(ccis_harvest::Harvester, Duration)>,
}

impl NodeServer {
    /// Prepares `node` to be served on `listener`, trusting `peers`. SPARQL
    /// queries run in worker processes of this executable unless `options`
    /// names another program. The node harvests its peers every
    /// `[harvest] interval_secs` (none when 0 or without peers).
    pub fn new(
        node: Node,
        peers: &Peers,
        listener: tokio::net::TcpListener,
        mut options: ServerOptions,
    ) -> Result<Self, ServerError> {
        if options.worker_program.is_none() {
            options.worker_program =
                Some(std::env::current_exe().map_err(ServerError::WorkerProgram)?);
        }
        let files = raise_open_files_limit();
        let harvester = match node.config.harvest.interval_secs {
            secs if secs > 0 && !peers.peers.is_empty() => {
                Some((node.harvester()?, Duration::from_secs(secs)))
            }
            _ => None,
        };
        // Caught up with the store before the first request.
        let search = node.search_index()?;
        expire_submissions(&node);
        if node.config.mail.is_some() {
            // Requests never wait for the relay: one thread sends the e-mails.
            if let Err(e) = ccis_node::mail::deliver_in_background() {
                tracing::warn!(error = %e, "e-mails will be sent as requests are answered");
            }
        }
        let mut connections = options.connections.clone();
        connections.max_connections = connections
            .max_connections
            .min(listen::connections_allowed(files));
        tracing::info!(node = %node.config.id, peers = peers.peers.len(), open_files = files, "serving");
        let mut state = AppState::new(node, peers, options);
        state.search = Some(search);
        Ok(Self {
            state,
            listener,
            connections,
            harvester,
        })
    }

    /// Harvests every `interval` instead of the configured interval.
    pub fn harvest_every(mut self, interval: Duration) -> Self {
        if let Some((_, every)) = &mut self.harvester {
            *every = interval;
        }
        self
    }

    /// The address the node is served on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The node's search index (caught up when the server was made).
    pub fn search_index(&self) -> Option<Arc<ccis_search::Index>> {
        self.state.search.clone()
    }

    /// The node's harvester, when it harvests peers.
    pub fn harvester(&self) -> Option<&ccis_harvest::Harvester> {
        self.harvester.as_ref().map(|(h, _)| h)
    }

    /// Serves until `shutdown` resolves, harvesting periodically from
    /// `first_round_after` on. Then running queries stop, requests in flight
    /// (and their writes) get `shutdown_grace_ms` to finish, and the store closes.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
        first_round_after: Duration,
    ) -> Result<(), ServerError> {
        let search = self
            .state
            .search
            .clone()
            .map(|index| (index, self.state.store.clone()));
        let harvesting = self.harvester.map(|(harvester, interval)| {
            tokio::spawn(async move {
                tokio::time::sleep(first_round_after).await;
                ccis_node::rounds::run_periodically(harvester, interval, search).await
            })
        });
        // E-mails still queued at the end get the shutdown grace to go out.
        let grace = self.connections.shutdown_grace;
        let stopper = self.state.clone();
        let shutdown = async move {
            shutdown.await;
            stopper.stop_queries();
        };
        let served = serve_on(
            self.listener,
            router(self.state),
            self.connections,
            shutdown,
        )
        .await;
        if let Some(task) = harvesting {
            task.abort();
        }
        if !tokio::task::spawn_blocking(move || ccis_node::mail::flush(grace))
            .await
            .unwrap_or(false)
        {
            tracing::warn!("stopped with e-mails still queued; they are not sent");
        }
        tracing::info!("stopped");
        served.map_err(ServerError::Serve)
    }
}

/// Deletes the submissions older than `[submissions] expire_days` (logged;
/// a failure is logged too and does not keep the node from serving).
fn expire_submissions(node: &Node) {
    let store = ccis_node::submissions::SubmissionStore::new(node.dir.submissions());
    match store.expire(
        node.config.submissions.expire_days,
        time::OffsetDateTime::now_utc(),
    ) {
        Ok(expired) if !expired.is_empty() => {
            tracing::info!(count = expired.len(), "expired submissions deleted");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot expire submissions"),
    }
    match store.expire_accepted(
        node.config.submissions.expire_days,
        time::OffsetDateTime::now_utc(),
    ) {
        Ok(expired) if !expired.is_empty() => {
            tracing::info!(
                count = expired.len(),
                "expired contacts of accepted submissions deleted"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot expire the contacts of accepted submissions"),
    }
}

/// Opens a node (refusing a secret key readable by others) and serves it on
/// `listen` until Ctrl-C or SIGTERM; prints `listening on http://ADDR` first.
pub async fn serve(
    dir: &std::path::Path,
    listen: SocketAddr,
    options: ServerOptions,
) -> Result<(), ServerError> {
    let node = Node::open_for(dir, "`ccis serve`")?;
    let peers = node_peers(dir)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServerError::Listen {
            addr: listen,
            source,
        })?;
    let server = NodeServer::new(node, &peers, listener, options)?;
    let addr = server.local_addr().map_err(|source| ServerError::Listen {
        addr: listen,
        source,
    })?;
    println!("listening on http://{addr}");
    server.run(shutdown_signal(), Duration::ZERO).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
