//! The `etl` binary: parses the command line, calls the library, and decides the exit code.
//!
//! Exit codes (DESIGN.md §6): 0 every row accepted · 1 fatal · 2 usage (clap) ·
//! 3 finished with dead-lettered rows · 4 stopped early and resumable.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "etl",
    version,
    about = "Bulk-load CSV and Parquet files into HubSpot's CRM"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Map and validate every row against the target's property schema, without sending writes.
    Validate {
        /// The pipeline file.
        pipeline: PathBuf,
        /// Read this file instead of the pipeline's `[source] path` (e.g. a fixed dead-letter CSV).
        #[arg(long, value_name = "PATH")]
        source: Option<PathBuf>,
    },
    /// Serve the local HubSpot-compatible API.
    Sandbox(etl::sandbox::SandboxArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Validate { pipeline, source } => {
            let options = etl::prepare::ValidateOptions { source };
            match etl::prepare::validate(&pipeline, &options).await {
                Ok(summary) => {
                    println!("{summary}");
                    if summary.invalid == 0 {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(3)
                    }
                }
                Err(err) => fatal(&err),
            }
        }
        Command::Sandbox(args) => match etl::sandbox::serve(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => fatal(&err),
        },
    }
}

/// Logs go to stderr; `RUST_LOG` overrides the default level.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn fatal(err: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("etl: error: {err}");
    ExitCode::from(1)
}
