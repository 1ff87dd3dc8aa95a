//! The node's HTTP server (axum): records, node description, vocabulary, SPARQL.

mod negotiate;
mod resources;
mod sparql;

pub use negotiate::choose;

use crate::config::NodeConfig;
use crate::node::Node;
use crate::store::NodeStore;
use axum::Router;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
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
    /// Settings.
    pub options: Arc<ServerOptions>,
}

/// The routes of a node.
pub fn router(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers(Any);
    let open = Router::new()
        .route("/records/{slug}", get(resources::record))
        .route("/sparql", get(sparql::get).post(sparql::post))
        .layer(cors);
    Router::new()
        .route("/node", get(resources::node))
        .route("/vocab/{file}", get(resources::vocab))
        .merge(open)
        .layer(
            // One log line per request: method, path, status, duration.
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// Opens a node (refusing a secret key readable by others) and serves it on
/// `listen` until Ctrl-C or SIGTERM; prints `listening on http://ADDR` first.
pub async fn serve(
    dir: &std::path::Path,
    listen: SocketAddr,
    options: ServerOptions,
) -> anyhow::Result<()> {
    let node = Node::open(dir)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(node = %node.config.id, %address, "serving");
    let state = AppState {
        config: Arc::new(node.config.clone()),
        store: node.store.clone(),
        options: Arc::new(options),
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
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
