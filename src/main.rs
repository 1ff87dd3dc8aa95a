use clap::Parser;

// The system allocator, deliberately: Oxigraph's RocksDB binding frees the
// error strings RocksDB allocates with C's `malloc` through Rust's global
// allocator, so with any other allocator a store error (a damaged or busy
// store, a full disk) kills the process instead of being reported.
// `tests/damaged_store.rs` holds this; docs/04-harvesting.md has the figures.

fn main() -> std::process::ExitCode {
    // `ccis serve` runs each SPARQL query in a child: `ccis __sparql-worker DIR`.
    let mut args = std::env::args_os().skip(1);
    if args
        .next()
        .is_some_and(|a| a == ccis::server::WORKER_COMMAND)
    {
        let dir = std::path::PathBuf::from(args.next().unwrap_or_default());
        return ccis::server::worker_main(&dir);
    }
    let cli = ccis::cli::Cli::parse();
    // The demo prints its own tables; request and round logs only with RUST_LOG.
    let default_filter = match cli.command {
        ccis::cli::Command::Demo { .. } => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match ccis::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", ccis::cli::error_report(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
