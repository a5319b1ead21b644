//! `etl verify`: check that the portal holds what the pipeline's source would send, then report
//! what differs. Reads only.

use std::path::PathBuf;

use super::{Exit, fatal, stopped_early, write_report};
use crate::config::{self, ApiVersionArg, Overrides};
use crate::verify::{VerifyOptions, VerifyOutcome, verify};

/// Flags of `etl verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The pipeline file.
    pipeline: PathBuf,
    /// Write the verify report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// No progress display and no summary (errors still go to stderr).
    #[arg(long, short)]
    quiet: bool,
    /// Read this file instead of the pipeline's `[source] path`.
    #[arg(long, value_name = "PATH")]
    source: Option<PathBuf>,
    /// Read from this API instead of the pipeline's `base_url`.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    #[command(flatten)]
    api_version: ApiVersionArg,
}

pub async fn execute(args: VerifyArgs) -> Exit {
    let overrides = Overrides {
        source: args.source,
        base_url: args.base_url,
        api_version: args.api_version.api_version,
    };
    let pipeline = match config::load(&args.pipeline, &overrides) {
        Ok(pipeline) => pipeline,
        Err(err) => return fatal(&err),
    };
    let options = VerifyOptions {
        quiet: args.quiet,
        token: None,
    };
    let outcome = match verify(&pipeline, &options).await {
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

/// Prints what the verify found and decides its exit code: 0 when everything matches, 3 when
/// something differs, 4 when it stopped early (run it again), 1 on a fatal error.
fn exit_of(outcome: &VerifyOutcome, quiet: bool, reported: bool) -> Exit {
    let report = &outcome.report;
    if let Some(error) = &report.error {
        if !reported {
            eprintln!("{}", report.summary());
        }
        return fatal(error);
    }
    if !quiet {
        println!("{}", report.summary());
    }
    let left = format!("{} rows were not checked", report.unchecked);
    if let Some(exit) = stopped_early(outcome.halt.as_ref(), &left, "Run verify again") {
        return exit;
    }
    if report.clean() {
        Exit::Success
    } else {
        Exit::RowsFailed
    }
}
