//! `etl run`: load the pipeline's source into HubSpot, then report what happened. A migration plan
//! (a file of `[[stage]]`s) runs each stage in turn, with one report: a section per stage and the
//! plan's totals; its exit code is the worst stage's.

use std::path::{Path, PathBuf};

use super::{Exit, fatal, load_failed, stopped_early, write_report};
use crate::config::plan;
use crate::config::{self, ApiVersionArg, Overrides};
use crate::pipeline::{self, RunOptions, RunOutcome};
use crate::plan::report::StageEnd;
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
    let options = RunOptions {
        quiet: args.quiet,
        token: None,
        resume: args.resume,
        restart: args.restart,
        full: args.full,
        allow_deletes: args.allow_deletes,
    };
    if config::plan::names_a_plan(&args.pipeline) {
        let overrides = match super::plan_overrides(
            args.source.as_deref(),
            args.base_url,
            args.api_version.api_version,
        ) {
            Ok(overrides) => overrides,
            Err(exit) => return exit,
        };
        return run_plan(&args.pipeline, &overrides, &options, args.report.as_deref()).await;
    }
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
    let outcome = match pipeline::run(&pipeline, &options).await {
        Ok(outcome) => outcome,
        Err(err) => return fatal(&err),
    };
    if let Some(path) = &args.report
        && let Err(exit) = write_report(path, &outcome.report, || outcome.report.summary())
    {
        return exit;
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
    let left = format!("{} rows were not sent", report.unfinished);
    if let Some(exit) = stopped_early(outcome.halt.as_ref(), &left, "Run again with --resume") {
        return exit;
    }
    super::exit_code(outcome)
}

/// Runs the plan at `path`; writes its report to `report` when given.
async fn run_plan(
    path: &Path,
    overrides: &Overrides,
    options: &RunOptions,
    report: Option<&Path>,
) -> Exit {
    let plan = match plan::load(path, overrides) {
        Ok(plan) => plan,
        Err(err) => return load_failed(&err),
    };
    let outcome = match crate::plan::run(&plan, options).await {
        Ok(outcome) => outcome,
        Err(err) => return fatal(&err),
    };
    let summary = outcome.report();
    if let Some(path) = report
        && let Err(exit) = write_report(path, &summary, || summary.summary())
    {
        return exit;
    }
    if !options.quiet {
        eprintln!("{}", summary.summary());
    }
    let mut exit = Exit::Success;
    for (i, stage) in outcome.stages.iter().enumerate() {
        let name = stage.pipeline.display();
        let stage_exit = match &stage.end {
            StageEnd::Ran(outcome) => {
                match (&outcome.halt, &outcome.report.error) {
                    (_, Some(error)) => eprintln!("etl: error: stage {} ({name}): {error}", i + 1),
                    (Some(Halt::DailyLimit(message)), _) => eprintln!(
                        "etl: stage {} ({name}) stopped: {message} Run the plan again with \
                         --resume after the daily reset.",
                        i + 1
                    ),
                    (Some(Halt::Interrupted), _) => eprintln!(
                        "etl: interrupted in stage {} ({name}); run the plan again with --resume \
                         to finish.",
                        i + 1
                    ),
                    _ => {}
                }
                super::exit_code(outcome)
            }
            StageEnd::Failed(error) => {
                eprintln!(
                    "etl: error: stage {} ({name}) could not start: {error}",
                    i + 1
                );
                Exit::Fatal
            }
            StageEnd::NotRun => Exit::Success,
        };
        exit = exit.worst(stage_exit);
    }
    exit
}
