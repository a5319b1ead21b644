//! `etl run`: load the pipeline's source into HubSpot, then report what happened.

use std::path::PathBuf;

use super::{Exit, fatal, load_failed};
use crate::config::{self, ApiVersionArg, Overrides};
use crate::pipeline::{self, RunOptions, RunOutcome};
use crate::portal::halt::Halt;

/// Flags of `etl run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The pipeline file.
    pipeline: PathBuf,
    /// Write the run report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// No progress display and no summary (errors still go to stderr).
    #[arg(long, short)]
    quiet: bool,
    /// Read this file instead of the pipeline's `[source] path` (e.g. a fixed dead-letter CSV).
    #[arg(long, value_name = "PATH")]
    source: Option<PathBuf>,
    /// Send to this API instead of the pipeline's `base_url` (e.g. a running `etl sandbox`).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    #[command(flatten)]
    api_version: ApiVersionArg,
    /// Continue the job where an earlier run stopped: finished rows are skipped.
    #[arg(long)]
    resume: bool,
    /// Start the job over, discarding an earlier run's journal and dead letters.
    #[arg(long, conflicts_with = "resume")]
    restart: bool,
    /// [sync]: send every row whatever the state says, and refresh the state.
    #[arg(long)]
    full: bool,
    /// [sync]: mirror deletes even beyond sync.max_deletes.
    #[arg(long)]
    allow_deletes: bool,
}

pub async fn execute(args: RunArgs) -> Exit {
    let overrides = Overrides {
        source: args.source,
        base_url: args.base_url,
        api_version: args.api_version.api_version,
    };
    let loaded = config::load(&args.pipeline, &overrides).and_then(|pipeline| {
        pipeline
            .check_files(args.report.as_deref())
            .map(|()| pipeline)
    });
    let pipeline = match loaded {
        Ok(pipeline) => pipeline,
        Err(err) => return load_failed(&err),
    };
    let options = RunOptions {
        quiet: args.quiet,
        token: None,
        resume: args.resume,
        restart: args.restart,
        full: args.full,
        allow_deletes: args.allow_deletes,
    };
    let outcome = match pipeline::run(&pipeline, &options).await {
        Ok(outcome) => outcome,
        Err(err) => return fatal(&err),
    };
    if let Some(path) = &args.report {
        let json = serde_json::to_vec_pretty(&outcome.report).expect("a report always serializes");
        if let Err(err) = std::fs::write(path, json) {
            eprintln!("{}", outcome.report.summary());
            return fatal(&format!(
                "cannot write the report {}: {err}",
                path.display()
            ));
        }
    }
    exit_of(&outcome, args.quiet, args.report.is_some())
}

/// Prints how the run ended and decides its exit code.
fn exit_of(outcome: &RunOutcome, quiet: bool, reported: bool) -> Exit {
    let report = &outcome.report;
    if let Some(error) = &report.error {
        // A fatal stop always leaves a record: the report file, else the summary.
        if !reported {
            eprintln!("{}", report.summary());
        }
        if matches!(outcome.halt, Some(Halt::Failed(_))) && report.unfinished > 0 {
            eprintln!("etl: once the cause is fixed, run again with --resume to finish the job");
        }
        return fatal(error);
    }
    if outcome.already_finished {
        eprintln!(
            "etl: this job already finished; nothing to do (run without --resume to load the file again)"
        );
    }
    if !quiet {
        eprintln!("{}", report.summary());
    }
    match &outcome.halt {
        Some(Halt::DailyLimit(message)) => {
            eprintln!(
                "etl: stopped: {message} The daily limit resets at midnight in the portal's time \
                 zone; {} rows were not sent. Run again with --resume after the reset.",
                report.unfinished
            );
            Exit::Resumable
        }
        Some(Halt::Interrupted) => {
            eprintln!(
                "etl: interrupted; {} rows were not sent. Run again with --resume to finish.",
                report.unfinished
            );
            Exit::Resumable
        }
        Some(Halt::Refused { .. } | Halt::Failed(_)) => Exit::Fatal,
        None if report.dead_lettered > 0 => Exit::RowsFailed,
        None => Exit::Success,
    }
}
