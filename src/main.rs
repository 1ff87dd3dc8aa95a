use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = ccis::cli::Cli::parse();
    match ccis::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
