//! `etl validate`: the run's first half without writes — fetch the schema and the property
//! validation rules, map and validate every row, build every request body, and write the rows that
//! would fail to the dead-letter file. It says which rules it checked and which only the portal can.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Exit, fatal};
use crate::config::secret::Secret;
use crate::config::{self, ApiVersionArg, ConfigError, Overrides, Pipeline};
use crate::job::checkpoint::lock_path;
use crate::job::dead_letter::{DeadLetterError, DeadLetterWriter};
use crate::job::lock::{LockError, RunLock};
use crate::job::state::{State, StateError};
use crate::job::sync::{Deletes, FilterOptions, SyncFilter, plan_deletes};
use crate::portal::halt::HaltFlag;
use crate::portal::schema::{self, SchemaError};
use crate::portal::target::{Target, TargetError};
use crate::prepare::rules::RulesReport;
use crate::prepare::{
    self, PrepareError, PrepareHandle, PrepareOptions, Prepared, RowFilter, encode,
};

/// Flags of `etl validate`.
#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// The pipeline file.
    pipeline: PathBuf,
    /// Read this file instead of the pipeline's `[source] path` (e.g. a fixed dead-letter CSV).
    #[arg(long, value_name = "PATH")]
    source: Option<PathBuf>,
    /// Fetch the schema from this API instead of the pipeline's `base_url`.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    #[command(flatten)]
    api_version: ApiVersionArg,
}

/// Why `etl validate` could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("cannot fetch the property schema: {0}")]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    DeadLetter(#[from] DeadLetterError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// What `etl validate` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateSummary {
    pub rows_read: u64,
    pub valid: u64,
    pub invalid: u64,
    /// Invalid rows by category (`INVALID_EMAIL`, `UNREADABLE_ROW`, …).
    pub by_category: BTreeMap<String, u64>,
    /// Batch requests the valid rows would take.
    pub batches: u64,
    /// `[sync]`: valid rows that would not be sent (unchanged since last accepted).
    pub unchanged: u64,
    /// `[sync]` with mirrored deletes: records that would be archived.
    pub deletes: Option<u64>,
    /// Where the invalid rows were written (none when every row is valid).
    pub dead_letter: Option<PathBuf>,
    /// The property validation rules of the written properties: checked here, or left to the portal.
    pub rules: RulesReport,
}

impl fmt::Display for ValidateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rows read: {}", self.rows_read)?;
        writeln!(
            f,
            "valid:     {} (in {} batch requests)",
            self.valid, self.batches
        )?;
        if self.unchanged > 0 {
            writeln!(
                f,
                "unchanged: {} (not sent: nothing changed since last accepted)",
                self.unchanged
            )?;
        }
        write!(f, "invalid:   {}", self.invalid)?;
        for (category, n) in &self.by_category {
            write!(f, "\n  {category}: {n}")?;
        }
        if let Some(deletes) = self.deletes {
            write!(
                f,
                "\ndeletes:   {deletes} (records whose key left the source)"
            )?;
        }
        let rules = &self.rules;
        if let Some(why) = &rules.unavailable {
            write!(f, "\nrules: not known ({why}); the portal checks them")?;
        } else if rules.checked.is_empty() && rules.left.is_empty() {
            write!(f, "\nrules: none on the written properties")?;
        }
        for rule in &rules.checked {
            write!(f, "\nrule checked by etl:     {rule}")?;
        }
        for rule in &rules.left {
            write!(f, "\nrule left to the portal: {rule}")?;
        }
        if let Some(path) = &self.dead_letter {
            write!(f, "\ninvalid rows written to {}", path.display())?;
        }
        Ok(())
    }
}

pub async fn execute(args: ValidateArgs) -> Exit {
    let overrides = Overrides {
        source: args.source,
        base_url: args.base_url,
        api_version: args.api_version.api_version,
    };
    let result = match config::load(&args.pipeline, &overrides) {
        Ok(pipeline) => validate(&pipeline, None).await,
        Err(err) => Err(err.into()),
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            if summary.invalid == 0 {
                Exit::Success
            } else {
                Exit::RowsFailed
            }
        }
        Err(err) => fatal(&err),
    }
}

/// Validates `pipeline` against its target's schema. The token is `token` when given (programs
/// that embed the engine), else the environment variable the pipeline names.
pub async fn validate(
    pipeline: &Pipeline,
    token: Option<Secret>,
) -> Result<ValidateSummary, ValidateError> {
    // The job's lock: a dry run must never truncate the dead letters of a run in progress.
    let _lock = RunLock::acquire(&lock_path(&pipeline.checkpoint.path))?;
    let target = Target::connect(&pipeline.connection(), token.as_ref()).await?;
    let result = match target.portal(&pipeline.connection(), Arc::new(HaltFlag::default())) {
        Ok(portal) => schema::fetch_for_writing(&portal, &pipeline.target.object)
            .await
            .map_err(ValidateError::from),
        Err(err) => Err(err.into()),
    };
    target.close().await;
    let schema = result?;
    // With [sync]: the same filter a run uses, on the state as it is (nothing is changed).
    let (filter, seen) = match &pipeline.sync {
        Some(sync) => {
            let reader = State::read(&sync.state)?;
            let filter = SyncFilter::new(
                sync,
                pipeline.target.operation,
                reader,
                FilterOptions {
                    full: false,
                    can_verify: true,
                },
            );
            let seen = filter.seen();
            (Some(Box::new(filter) as Box<dyn RowFilter>), seen)
        }
        None => (None, None),
    };
    let options = PrepareOptions {
        filter,
        ..PrepareOptions::default()
    };
    let handle = prepare::spawn(pipeline, schema, options)?;
    let mut summary = check_every_row(pipeline, handle).await?;
    if let (Some(sync), Some(seen)) = (&pipeline.sync, seen) {
        let seen = std::mem::take(&mut *seen.lock().expect("seen lock poisoned"));
        summary.deletes = Some(match State::read(&sync.state)? {
            Some(state) => match plan_deletes(&state, seen, sync, true)? {
                Deletes::Send(entries) => entries.len() as u64,
                Deletes::TooMany { count, .. } => count,
                Deletes::Keyless(_) => 0,
            },
            None => 0,
        });
    }
    Ok(summary)
}

/// Drains the prepare thread: counts, encodes every batch as `etl run` would (proving every
/// input encodes), and writes the invalid rows to the dead-letter file (created on the first).
async fn check_every_row(
    pipeline: &Pipeline,
    handle: PrepareHandle,
) -> Result<ValidateSummary, ValidateError> {
    let PrepareHandle {
        header,
        rules,
        mut events,
        done,
    } = handle;
    let mut summary = ValidateSummary {
        rules,
        ..ValidateSummary::default()
    };
    let mut dead_letter: Option<DeadLetterWriter> = None;
    let mut body = Vec::new();
    let (op, id_property) = (
        pipeline.target.operation,
        pipeline.target.id_property.as_deref(),
    );
    while let Some(event) = events.recv().await {
        match event {
            Prepared::Batch(batch) => {
                summary.batches += 1;
                summary.valid += batch.inputs.len() as u64;
                body.clear();
                encode::write_body(&mut body, op, id_property, &batch.inputs);
            }
            Prepared::Unchanged(rows) => summary.unchanged += rows,
            Prepared::Rejected(rejection) => {
                summary.invalid += 1;
                *summary
                    .by_category
                    .entry(rejection.category.clone())
                    .or_default() += 1;
                let writer = match &mut dead_letter {
                    Some(w) => w,
                    None => dead_letter.insert(DeadLetterWriter::create(
                        &pipeline.dead_letter.path,
                        &header,
                        pipeline.dead_letter.delimiter,
                    )?),
                };
                writer.write(&rejection)?;
            }
        }
    }
    if let Some(writer) = &mut dead_letter {
        writer.flush()?;
        summary.dead_letter = Some(writer.path().to_path_buf());
    }
    let outcome = done
        .await
        .map_err(|_| PrepareError::Thread("ended without a result".into()))?;
    if let Some(error) = outcome.error {
        return Err(error.into());
    }
    summary.rows_read = outcome.totals.rows_read;
    debug_assert_eq!(
        summary.rows_read,
        summary.valid + summary.unchanged + summary.invalid
    );
    Ok(summary)
}
