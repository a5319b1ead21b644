//! `etl export`: read one object type's records back from a portal into a CSV or Parquet file,
//! then report what happened.

use std::path::PathBuf;

use super::connection::ConnectionArgs;
use super::{Exit, fatal, stopped_early, write_report};
use crate::config::SourceSpec;
use crate::export::spec::{ExportSpec, Ids, Properties};
use crate::export::{ExportError, ExportOptions, ExportOutcome, export};

/// Flags of `etl export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The object type: a name (`contacts`, `line_items`) or an objectTypeId (`0-1`, `2-1234567`).
    object: String,
    /// The output file; its extension says the format: `.csv` or `.parquet`.
    #[arg(long, short, value_name = "FILE")]
    output: PathBuf,
    /// These properties, in this order, as columns (comma-separated). Default: HubSpot's default
    /// set for the type.
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        conflicts_with = "all_properties"
    )]
    properties: Vec<String>,
    /// Every property of the object type, by name.
    #[arg(long)]
    all_properties: bool,
    /// Associated object types whose record ids become columns, joined with `;` (comma-separated).
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    associations: Vec<String>,
    /// Also write every version of the exported properties to `<output stem>.history.<ext>`.
    #[arg(long)]
    history: bool,
    /// Archived records (only them), instead of live ones.
    #[arg(long)]
    archived: bool,
    /// Only the records whose ids are in this file (`.csv` or `.parquet`), read in batches.
    #[arg(long, value_name = "FILE")]
    ids: Option<PathBuf>,
    /// The column of `--ids` holding the ids (default: its first column).
    #[arg(long, value_name = "COLUMN", requires = "ids")]
    id_column: Option<String>,
    /// The unique property the ids are values of, e.g. `email` (default: record ids).
    #[arg(long, value_name = "PROPERTY", requires = "ids")]
    id_property: Option<String>,
    #[command(flatten)]
    connection: ConnectionArgs,
    /// Write the export report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// No progress display and no summary (errors still go to stderr).
    #[arg(long, short)]
    quiet: bool,
    /// Continue an export that stopped early, after the last page it wrote.
    #[arg(long)]
    resume: bool,
    /// Start over, discarding an unfinished export's progress.
    #[arg(long, conflicts_with = "resume")]
    restart: bool,
}

impl ExportArgs {
    fn spec(&self) -> Result<ExportSpec, ExportError> {
        let properties = if self.all_properties {
            Properties::All
        } else if self.properties.is_empty() {
            Properties::Default
        } else {
            Properties::Named(
                self.properties
                    .iter()
                    .map(|p| p.trim().to_string())
                    .collect(),
            )
        };
        let ids = match &self.ids {
            Some(path) => Some(Ids {
                file: SourceSpec::from_flag("--ids", path)?,
                column: self.id_column.clone(),
                property: self.id_property.clone().filter(|p| p != "hs_object_id"),
            }),
            None => None,
        };
        Ok(ExportSpec {
            object: self.object.trim().to_string(),
            format: ExportSpec::format_of(&self.output)?,
            output: self.output.clone(),
            properties,
            associations: self
                .associations
                .iter()
                .map(|a| a.trim().to_string())
                .collect(),
            history: self.history,
            archived: self.archived,
            ids,
        })
    }
}

pub async fn execute(args: ExportArgs) -> Exit {
    let spec = match args.spec() {
        Ok(spec) => spec,
        Err(err) => return fatal(&err),
    };
    let connection = match args.connection.connection() {
        Ok(connection) => connection,
        Err(err) => return fatal(&err),
    };
    let options = ExportOptions {
        quiet: args.quiet,
        token: None,
        resume: args.resume,
        restart: args.restart,
    };
    let outcome = match export(&spec, &connection, &options).await {
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

/// Prints how the export ended and decides its exit code.
fn exit_of(outcome: &ExportOutcome, quiet: bool, reported: bool) -> Exit {
    let report = &outcome.report;
    if let Some(error) = &report.error {
        if !reported {
            eprintln!("{}", report.summary());
        }
        eprintln!("etl: once the cause is fixed, run again with --resume to continue the export");
        return fatal(error);
    }
    if !quiet {
        eprintln!("{}", report.summary());
    }
    let left = format!("{} records are written so far", report.records);
    let again = "Run again with --resume to continue the export";
    if let Some(exit) = stopped_early(outcome.halt.as_ref(), &left, again) {
        return exit;
    }
    if report.missing > 0 {
        Exit::RowsFailed
    } else {
        Exit::Success
    }
}
