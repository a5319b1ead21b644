//! The command line: one file per command, each turning its flags into a call to the library and
//! its result into output and an [`Exit`]. The exit-code policy lives here, in one place
//! (DESIGN.md §6): 0 every row accepted · 1 fatal · 2 usage (clap) · 3 finished with rows
//! dead-lettered or invalid (export: ids not found; verify: differences) · 4 stopped early and
//! resumable.

mod connection;
mod export;
mod run;
mod sandbox;
mod state;
mod validate;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::portal::halt::Halt;

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
    /// Read one object type's records back into a CSV or Parquet file.
    Export(export::ExportArgs),
    /// Check that the portal holds what the pipeline's source would send.
    Verify(verify::VerifyArgs),
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
        Command::Export(args) => export::execute(args).await,
        Command::Verify(args) => verify::execute(args).await,
        Command::Sandbox(args) => sandbox::execute(args).await,
        Command::State(args) => state::execute(args).await,
    }
}

/// Writes a command's JSON report to `path`; when it cannot, prints the summary (so the run
/// still leaves a record) and says why.
fn write_report(
    path: &std::path::Path,
    report: &impl serde::Serialize,
    summary: impl FnOnce() -> String,
) -> Result<(), Exit> {
    let json = serde_json::to_vec_pretty(report).expect("a report always serializes");
    std::fs::write(path, json).map_err(|err| {
        eprintln!("{}", summary());
        fatal(&format!(
            "cannot write the report {}: {err}",
            path.display()
        ))
    })
}

/// The exit of a command that stopped before the end of its work, with what it says: the daily
/// limit and an interrupt are resumable (`left` says what is left, `again` how to go on), a refused
/// token or a failure is fatal. `None` when it did not stop early.
fn stopped_early(halt: Option<&Halt>, left: &str, again: &str) -> Option<Exit> {
    match halt? {
        Halt::DailyLimit(message) => {
            eprintln!(
                "etl: stopped: {message} The daily limit resets at midnight in the portal's time \
                 zone; {left}. {again} after the reset."
            );
            Some(Exit::Resumable)
        }
        Halt::Interrupted => {
            eprintln!("etl: interrupted; {left}. {again}.");
            Some(Exit::Resumable)
        }
        Halt::Refused { .. } | Halt::Failed(_) => Some(Exit::Fatal),
    }
}

/// Prints a fatal error the way every command does.
fn fatal(err: &dyn std::fmt::Display) -> Exit {
    eprintln!("etl: error: {err}");
    Exit::Fatal
}
