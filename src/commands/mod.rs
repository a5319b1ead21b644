//! The command line: one file per command, each turning its flags into a call to the library and
//! its result into output and an [`Exit`]. The exit-code policy lives here, in one place
//! (DESIGN.md §6): 0 every row accepted · 1 fatal · 2 usage (clap) · 3 finished with rows
//! dead-lettered or invalid · 4 stopped early and resumable.

mod run;
mod sandbox;
mod state;
mod validate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use validate::{ValidateSummary, validate};

/// `etl`: bulk-load CSV and Parquet files into HubSpot's CRM.
#[derive(Parser, Debug)]
#[command(
    name = "etl",
    version,
    about = "Bulk-load CSV and Parquet files into HubSpot's CRM"
)]
pub struct Cli {
    /// How log lines are written to stderr: `human`, or `json` (one object a line, for log
    /// collectors).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = LogFormat::Human,
        env = "ETL_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// The format the binary writes its log lines in.
    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }
}

/// `--log-format`: log lines for people or for log collectors, with the same fields either way.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load the pipeline's source file into HubSpot: create, update, upsert or archive.
    Run(run::RunArgs),
    /// Map and validate every row against the target's property schema, without sending writes.
    Validate(validate::ValidateArgs),
    /// Serve the local HubSpot-compatible API.
    Sandbox(crate::sandbox::SandboxArgs),
    /// Show, export or edit a [sync] pipeline's state (the key → record id map).
    State(state::StateArgs),
}

/// How a command ended, as far as the exit code is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every row accepted (or valid).
    Success,
    /// The job could not run, or stopped on an error.
    Fatal,
    /// Finished, with rows dead-lettered or invalid.
    RowsFailed,
    /// Stopped early; `--resume` finishes it.
    Resumable,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(match exit {
            Exit::Success => 0,
            Exit::Fatal => 1,
            Exit::RowsFailed => 3,
            Exit::Resumable => 4,
        })
    }
}

/// Runs the parsed command line.
pub async fn execute(cli: Cli) -> Exit {
    match cli.command {
        Command::Run(args) => run::execute(args).await,
        Command::Validate(args) => validate::execute(args).await,
        Command::Sandbox(args) => sandbox::execute(args).await,
        Command::State(args) => state::execute(args).await,
    }
}

/// Prints a fatal error the way every command does.
fn fatal(err: &dyn std::fmt::Display) -> Exit {
    eprintln!("etl: error: {err}");
    Exit::Fatal
}
