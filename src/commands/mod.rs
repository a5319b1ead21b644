//! The command line: one file per command, each turning its flags into a call to the library and
//! its result into output and an [`Exit`]. The exit-code policy lives here, in one place
//! (DESIGN.md §6): 0 every row accepted · 1 fatal · 2 usage (clap) · 3 finished with rows
//! dead-lettered or invalid (export: ids not found; verify: differences) · 4 stopped early and
//! resumable.

mod before;
mod completions;
mod connection;
mod export;
mod init;
mod man;
mod run;
mod sandbox;
mod state;
mod validate;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::pipeline::RunOutcome;
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
    /// Load the pipeline's source file into HubSpot (create, update, upsert, archive, associate,
    /// dissociate), or run a migration plan's stages.
    Run(run::RunArgs),
    /// Map and validate every row against the target's property schema, without sending writes
    /// (every stage of a migration plan).
    Validate(validate::ValidateArgs),
    /// Read one object type's records back into a CSV or Parquet file.
    Export(export::ExportArgs),
    /// Check that the portal holds what the pipeline's source would send.
    Verify(verify::VerifyArgs),
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

impl Exit {
    /// The worse of two endings (a plan ends as its worst stage): fatal, then resumable, then
    /// rows failed, then success.
    pub fn worst(self, other: Exit) -> Exit {
        let rank = |exit: Exit| match exit {
            Exit::Success => 0,
            Exit::RowsFailed => 1,
            Exit::Resumable => 2,
            Exit::Fatal | Exit::Usage => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
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
        Command::Export(args) => export::execute(args).await,
        Command::Verify(args) => verify::execute(args).await,
        Command::Sandbox(args) => sandbox::execute(args).await,
        Command::Init(args) => init::execute(args).await,
        Command::Completions(args) => completions::execute(&args),
        Command::Man(args) => man::execute(&args),
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
        Halt::BudgetUnavailable(message) => {
            eprintln!("etl: stopped: {message}; {left}. {again} once Redis answers.");
            Some(Exit::Resumable)
        }
        Halt::Refused { .. } | Halt::Failed(_) => Some(Exit::Fatal),
    }
}

/// The exit code of a run's outcome (a plan's stage too).
fn exit_code(outcome: &RunOutcome) -> Exit {
    if outcome.report.error.is_some() {
        return Exit::Fatal;
    }
    match &outcome.halt {
        Some(Halt::DailyLimit(_) | Halt::Interrupted | Halt::BudgetUnavailable(_)) => {
            Exit::Resumable
        }
        Some(Halt::Refused { .. } | Halt::Failed(_)) => Exit::Fatal,
        None if outcome.report.dead_lettered > 0 => Exit::RowsFailed,
        None => Exit::Success,
    }
}

/// Prints a fatal error the way every command does.
fn fatal(err: &dyn std::fmt::Display) -> Exit {
    eprintln!("etl: error: {err}");
    Exit::Fatal
}

/// The command-line overrides every stage of a plan takes; `--source` replays one pipeline's file
/// and has no meaning for a plan (a usage error, printed).
fn plan_overrides(
    source: Option<&std::path::Path>,
    base_url: Option<String>,
    api_version: Option<crate::config::api_version::ApiVersion>,
) -> Result<crate::config::Overrides, Exit> {
    if source.is_some() {
        eprintln!(
            "etl: error: --source replays one pipeline's file; the stages of a plan read their own"
        );
        return Err(Exit::Usage);
    }
    Ok(crate::config::Overrides {
        source: None,
        base_url,
        api_version,
    })
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
