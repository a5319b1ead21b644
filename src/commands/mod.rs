//! The command line: one file per command, each turning its flags into a call to the library and
//! its result into output and an [`Exit`]. The exit-code policy lives here, in one place
//! (DESIGN.md §6): 0 every row accepted · 1 fatal · 2 usage (clap) · 3 finished with rows
//! dead-lettered or invalid · 4 stopped early and resumable.

mod completions;
mod init;
mod man;
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load the pipeline's source file into HubSpot: create, update, upsert or archive.
    Run(run::RunArgs),
    /// Map and validate every row against the target's property schema, without sending writes.
    Validate(validate::ValidateArgs),
    /// Serve the local HubSpot-compatible API.
    Sandbox(crate::sandbox::SandboxArgs),
    /// Draft a pipeline file from a data file and the portal's property schema.
    Init(init::InitArgs),
    /// Print a shell completion script: etl completions bash > /etc/bash_completion.d/etl
    Completions(completions::CompletionsArgs),
    /// Print a manual page (roff): etl man > etl.1 && man ./etl.1
    Man(man::ManArgs),
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
    /// A command-line mistake: a flag's value cannot be used (clap's own errors exit 2 too).
    Usage,
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
            Exit::Usage => 2,
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
        Command::Init(args) => init::execute(args).await,
        Command::Completions(args) => completions::execute(&args),
        Command::Man(args) => man::execute(&args),
        Command::State(args) => state::execute(args).await,
    }
}

/// Prints a fatal error the way every command does.
fn fatal(err: &dyn std::fmt::Display) -> Exit {
    eprintln!("etl: error: {err}");
    Exit::Fatal
}

/// Prints why a pipeline could not be loaded: a flag's mistake is a usage error (exit 2), the
/// pipeline file's a fatal one (exit 1).
fn load_failed(err: &crate::config::ConfigError) -> Exit {
    eprintln!("etl: error: {err}");
    if err.is_usage() {
        Exit::Usage
    } else {
        Exit::Fatal
    }
}
