//! The node's HTTP server (axum): web catalogue, records, node description,
//! vocabulary, LDES feed, read-only SPARQL and the operator API.

mod api;
mod catalogue;
mod feed;
mod negotiate;
mod resources;
mod service;
mod sparql;

pub use feed::{IMMUTABLE, SHORT};
pub use negotiate::choose;
pub use service::PeerServices;

use crate::config::NodeConfig;
use crate::node::Node;
use crate::peers::Peers;
use crate::store::NodeStore;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Most time a SPARQL query may run.
    pub query_timeout: Duration,
}

impl ServerOptions {
    /// The settings of a node's `[server]` configuration.
    pub fn from_config(config: &NodeConfig) -> Self {
        Self {
            query_timeout: Duration::from_secs(config.server.query_timeout_secs.max(1)),
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            query_timeout: Duration::from_secs(10),
        }
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
    /// Settings.
    pub options: Arc<ServerOptions>,
    /// The SPARQL endpoints `SERVICE` may call: the peers'.
    pub services: PeerServices,
    /// The peers the node trusts.
    pub peers: Arc<Peers>,
    /// Full feed pages already serialized.
    pages: feed::PageCache,
}

impl AppState {
    /// The state of a server for `node`, trusting `peers`.
    pub fn new(node: Node, peers: &Peers, options: ServerOptions) -> Self {
        Self {
            config: Arc::new(node.config.clone()),
            store: node.store.clone(),
            services: PeerServices::new(peers, options.query_timeout),
            peers: Arc::new(peers.clone()),
            options: Arc::new(options),
            node: Arc::new(Mutex::new(node)),
            pages: feed::PageCache::default(),
        }
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
        .route("/feed", get(feed::stream))
        .route("/feed/{page}", get(feed::page))
        .route("/sparql", get(sparql::get).post(sparql::post))
        .layer(cors);
    let operator = Router::new()
        .route("/api/records", post(api::publish))
        .route("/api/records/{slug}", delete(api::withdraw))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::require_token,
        ))
        .layer(DefaultBodyLimit::max(state.config.server.max_body_bytes));
    Router::new()
        .route("/", get(catalogue::index))
        .route("/node", get(resources::node))
        .route("/status", get(status))
        .route("/vocab/{file}", get(resources::vocab))
        .merge(open)
        .merge(operator)
        .layer(
            // One log line per request: method, path, status, duration.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// `GET /status`: what the node holds and each peer's health, as JSON.
async fn status(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let store = state.store.clone();
    let config = state.config.clone();
    let peers = state.peers.clone();
    match tokio::task::spawn_blocking(move || {
        crate::status::NodeStatus::read_with_peers(&config, &store, &peers)
    })
    .await
    {
        Ok(Ok(s)) => axum::Json(s).into_response(),
        Ok(Err(e)) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("{e:#}"),
        )
            .into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The peers a node trusts: `peers.toml` in its directory, if there is one.
pub fn node_peers(dir: &std::path::Path) -> anyhow::Result<Peers> {
    Peers::load_for_node(dir)
}

/// Opens a node (refusing a secret key readable by others) and serves it on
/// `listen` until Ctrl-C or SIGTERM; prints `listening on http://ADDR` first.
/// On a signal, requests in flight (and their writes) finish, then the store closes.
pub async fn serve(
    dir: &std::path::Path,
    listen: SocketAddr,
    options: ServerOptions,
) -> anyhow::Result<()> {
    let node = Node::open(dir)?;
    let peers = node_peers(dir)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(node = %node.config.id, %address, peers = peers.peers.len(), "serving");
    let harvesting = match node.config.harvest.interval_secs {
        0 => None,
        secs if !peers.peers.is_empty() => {
            let harvester = node.harvester()?;
            Some(tokio::spawn(crate::harvest::run_periodically(
                harvester,
                Duration::from_secs(secs),
            )))
        }
        _ => None,
    };
    let state = AppState::new(node, &peers, options);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    if let Some(task) = harvesting {
        task.abort();
    }
    tracing::info!("stopped");
    Ok(())
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
