//! `etl validate`: the run's first half without writes — fetch the schema and the property
//! validation rules, map and validate every row, resolve the keys its links name (lookups are
//! reads), build every request body, and write the rows that would fail to `<source stem>.invalid.csv`
//! (in the dead-letter format, so it replays with `--source`; never over a run's dead letters). It
//! says which rules it checked and which only the portal can, and which links it could check for
//! shape only (their targets are loaded by an earlier stage of a plan).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use super::before::Before;
use super::before::{declare, shape_only};
use super::{Exit, fatal, load_failed};
use crate::config::plan::{self, Plan};
use crate::config::secret::Secret;
use crate::config::{self, ApiVersionArg, ConfigError, Operation, Overrides, Pipeline};
use crate::dispatch::resolve::{ResolveError, Resolver};
use crate::dispatch::targets::resolve_rows;
use crate::job::dead_letter::{DeadLetterError, DeadLetterWriter};
use crate::job::estimate::{Requests, SendingPlan};
use crate::job::state::{State, StateError};
use crate::job::sync::{Deletes, FilterOptions, SyncFilter, plan_deletes};
use crate::portal::halt::HaltFlag;
use crate::portal::properties;
use crate::portal::schema::{self, ObjectSchema, SchemaError};
use crate::portal::target::{Target, TargetError, refused_token};
use crate::portal::{Portal, Unpaced};
use crate::prepare::row::{RejectStatus, Rejection};
use crate::prepare::rules::RulesReport;
use crate::prepare::trace::TraceIds;
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
    /// 401/403 on the schema fetch: the message says which variable and what to do.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    DeadLetter(#[from] DeadLetterError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("stopped before every row was checked")]
    Stopped,
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
    /// Links checked for shape only, and why.
    pub notes: Vec<String>,
    /// The requests the job would send, how long they take at its windows, and the share of the
    /// daily budget they use.
    pub sending: Option<SendingPlan>,
    /// The requests counted while checking every row (writes and link batches).
    pub requests: Requests,
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
        if let Some(sending) = &self.sending {
            write!(f, "\nrequests:  {sending}")?;
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
        for note in &self.notes {
            write!(f, "\nnote: {note}")?;
        }
        if let Some(path) = &self.dead_letter {
            write!(f, "\ninvalid rows written to {}", path.display())?;
        }
        Ok(())
    }
}

pub async fn execute(args: ValidateArgs) -> Exit {
    if config::plan::names_a_plan(&args.pipeline) {
        let overrides = match super::plan_overrides(
            args.source.as_deref(),
            args.base_url,
            args.api_version.api_version,
        ) {
            Ok(overrides) => overrides,
            Err(exit) => return exit,
        };
        return validate_plan(&args.pipeline, &overrides).await;
    }
    let overrides = Overrides {
        source: args.source,
        base_url: args.base_url,
        api_version: args.api_version.api_version,
    };
    let pipeline = match config::load(&args.pipeline, &overrides) {
        Ok(pipeline) => pipeline,
        Err(err) => return load_failed(&err),
    };
    match validate(&pipeline, None).await {
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
    validate_in(pipeline, token, Before::default()).await
}

/// [`validate`] of a plan's stage: links to what `before` loads are checked for shape only, and
/// the properties it declares count as existing.
pub async fn validate_in(
    pipeline: &Pipeline,
    token: Option<Secret>,
    before: Before<'_>,
) -> Result<ValidateSummary, ValidateError> {
    // No lock: a dry run writes no file of the job's (its invalid rows go to a file of its own).
    let target = Target::connect(&pipeline.connection(), token.as_ref()).await?;
    let result = match target.portal(&pipeline.connection(), Arc::new(HaltFlag::default())) {
        Ok(portal) => check_against(pipeline, &portal, before).await,
        Err(err) => Err(err.into()),
    };
    target.close().await;
    result
}

/// Fetches the schema (with the properties `before` declares), builds the resolver of the links,
/// and checks every row.
async fn check_against(
    pipeline: &Pipeline,
    portal: &Portal,
    before: Before<'_>,
) -> Result<ValidateSummary, ValidateError> {
    let mut schema = schema::fetch_for_writing(portal, &pipeline.target.object)
        .await
        .map_err(|err| schema_error(err, pipeline))?;
    declare(&mut schema, before.declared);
    let lost_creates = lost_creates(pipeline, &schema);
    let notes = shape_only(pipeline, before);
    let resolver = if pipeline.associations.is_empty() && !pipeline.target.operation.links_only() {
        None
    } else {
        let only = |table: Option<usize>| notes.iter().any(|(t, _)| *t == table);
        Some(Resolver::new(portal, pipeline, &only).await?)
    };
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
            )?;
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
    let links = resolver.as_ref().map(|r| (r, portal));
    let mut summary = check_every_row(pipeline, handle, links).await?;
    summary.notes = notes.into_iter().map(|(_, note)| note).collect();
    summary.notes.extend(lost_creates);
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
    // Mirrored deletes are archive batches, full ones.
    let archives = summary
        .deletes
        .unwrap_or(0)
        .div_ceil(pipeline.dispatch.batch_size as u64);
    let requests = Requests {
        writes: summary.requests.writes + archives,
        ..summary.requests
    };
    summary.sending = Some(SendingPlan::new(requests, &pipeline.dispatch));
    Ok(summary)
}

/// For a create: what happens to a row whose create's answer is lost on the way (it happens on
/// the internet), so a user sees before the run whether such rows can be checked.
fn lost_creates(pipeline: &Pipeline, schema: &ObjectSchema) -> Option<String> {
    if pipeline.target.operation != Operation::Create {
        return None;
    }
    Some(match crate::pipeline::verify_property(pipeline, schema) {
        Some(property) => format!(
            "a create whose answer is lost is looked up by {property} before it is sent again"
        ),
        None => format!(
            "no property with unique values is mapped, so a create whose answer is lost cannot be \
             looked up: its row is dead-lettered AMBIGUOUS. Where HubSpot allows one, map a {} \
             property with hasUniqueValue (the source system's id) to make creates safe to retry",
            pipeline.target.object
        ),
    })
}

/// A schema fetch that failed, in the pipeline's words where it is the pipeline's mistake.
fn schema_error(err: SchemaError, pipeline: &Pipeline) -> ValidateError {
    if let Some(mistake) = err.pipeline_mistake(&pipeline.file) {
        return mistake.into();
    }
    match err {
        SchemaError::Unauthorized {
            status, message, ..
        } => ValidateError::Refused(refused_token(&pipeline.target.token_env, status, &message)),
        other => other.into(),
    }
}

/// Drains the prepare thread: counts, resolves the keys of every batch's links (reads only),
/// encodes every batch as `etl run` would (proving every input encodes), and writes the invalid
/// rows to `<source stem>.invalid.csv` (created on the first).
async fn check_every_row(
    pipeline: &Pipeline,
    handle: PrepareHandle,
    links: Option<(&Resolver, &Portal)>,
) -> Result<ValidateSummary, ValidateError> {
    let PrepareHandle {
        header,
        replay,
        rules,
        mut events,
        done,
        ..
    } = handle;
    // No trace id is sent: any job's will do to encode the bodies.
    let traces = TraceIds::new("validate");
    let mut summary = ValidateSummary {
        rules,
        ..ValidateSummary::default()
    };
    let mut dead_letter: Option<DeadLetterWriter> = None;
    let mut body = Vec::new();
    let link_batch = pipeline.dispatch.association_batch_size as u64;
    let (op, id_property) = (
        pipeline.target.operation,
        pipeline.target.id_property.as_deref(),
    );
    while let Some(event) = events.recv().await {
        let rejections =
            match event {
                Prepared::Batch(batch) => {
                    let mut inputs = batch.inputs;
                    let mut rejected = Vec::new();
                    if let Some((resolver, portal)) = links {
                        let resolved = resolve_rows(resolver, portal, &Unpaced, inputs).await;
                        if !resolved.halted.is_empty() {
                            return Err(ValidateError::Stopped);
                        }
                        rejected.extend(resolved.not_found);
                        rejected.extend(resolved.failed.into_iter().map(|(input, reason)| {
                            Rejection {
                                row: input.row,
                                origin: input.origin,
                                fields: input.fields,
                                status: RejectStatus::GaveUp,
                                category: "LOOKUP_FAILED".into(),
                                message: format!(
                                    "could not look up the records this row names: {reason}"
                                ),
                            }
                        }));
                        inputs = resolved.ready;
                    }
                    summary.batches += 1;
                    summary.valid += inputs.len() as u64;
                    summary.requests = summary.requests.add_batch(op, &inputs, link_batch);
                    if !op.links_only() {
                        body.clear();
                        encode::write_body(&mut body, op, id_property, &traces, &inputs);
                    }
                    rejected
                }
                Prepared::Unchanged(rows) => {
                    summary.unchanged += rows;
                    Vec::new()
                }
                Prepared::Rejected(rejection) => vec![rejection],
            };
        for rejection in rejections {
            summary.invalid += 1;
            *summary
                .by_category
                .entry(rejection.category.clone())
                .or_default() += 1;
            let writer = match &mut dead_letter {
                Some(w) => w,
                None => dead_letter.insert(DeadLetterWriter::create(
                    &pipeline.invalid_rows_path(),
                    &header,
                    pipeline.dead_letter.delimiter,
                    replay,
                )?),
            };
            writer.write(&rejection)?;
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

/// Validates every stage of the plan at `path`: a stage's links to what earlier stages load are
/// checked for shape only (and it says so); the plan's properties are checked to exist or to be
/// creatable.
async fn validate_plan(path: &Path, overrides: &Overrides) -> Exit {
    let plan = match plan::load(path, overrides) {
        Ok(plan) => plan,
        Err(err) => return load_failed(&err),
    };
    let mut exit = check_properties(&plan).await;
    let stages: Vec<&Pipeline> = plan.stages.iter().map(|s| &s.pipeline).collect();
    for (i, pipeline) in stages.iter().enumerate() {
        println!("stage {} {}:", i + 1, pipeline.file.display());
        let before = Before {
            stages: &stages[..i],
            declared: &plan.properties,
        };
        match validate_in(pipeline, None, before).await {
            Ok(summary) => {
                println!("{summary}");
                if summary.invalid > 0 {
                    exit = exit.worst(Exit::RowsFailed);
                }
            }
            Err(err) => {
                println!("error: {err}");
                exit = exit.worst(fatal(&format!("stage {}: {err}", i + 1)));
            }
        }
    }
    exit
}

/// The properties step without writes: which properties exist, which the plan would create, and
/// which exist in a form the plan cannot use.
async fn check_properties(plan: &Plan) -> Exit {
    if plan.properties.is_empty() {
        return Exit::Success;
    }
    let connection = plan.stages[0].pipeline.connection();
    let target = match Target::connect(&connection, None).await {
        Ok(target) => target,
        Err(err) => return fatal(&err),
    };
    let mut exit = Exit::Success;
    match target.portal(&connection, Arc::new(HaltFlag::default())) {
        Ok(portal) => {
            for spec in &plan.properties {
                let name = format!("{}.{}", spec.object, spec.name);
                match properties::exists(&portal, spec).await {
                    Ok(true) => println!("property {name}: exists"),
                    Ok(false) => println!("property {name}: will be created"),
                    Err(err) => {
                        println!("property {name}: {err}");
                        exit = fatal(&err);
                    }
                }
            }
        }
        Err(err) => exit = fatal(&err),
    }
    target.close().await;
    exit
}
