//! `etl export`: read the records of one object type back from a portal — all of them by list
//! paging, or those an id file names by batch read — and stream them to CSV or typed Parquet,
//! with their associations and, on request, their properties' history; resumable after any stop.
//!
//! The chain: the portal (rate gate inside the retry loop) → `fetch` (pages in order) → a bounded
//! channel → `sink` on its own thread (the output, the history and missing-id files, commits and
//! the state) → the report.
//!
//! Parts: `spec` (what one export reads and writes), `columns` (the column plan), `fetch` (the
//! reading half), `sink` (the writing half), `table` (one output file, CSV or Parquet), `csv_out`,
//! `parquet_out`, `parts` (Parquet part files), `typed` (Parquet column types), `state` (the
//! resume state), `report`, `error`.

pub mod columns;
mod csv_out;
pub mod error;
mod fetch;
pub mod parquet_out;
mod parts;
pub mod report;
mod sink;
pub mod spec;
mod state;
pub mod table;
pub mod typed;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use tokio::sync::mpsc;

use crate::config::Connection;
use crate::config::secret::Secret;
use crate::dispatch::concurrency::Concurrency;
use crate::job::lock::{LockError, RunLock};
use crate::job::progress::Progress;
use crate::job::report::Stopped;
use crate::portal::Portal;
use crate::portal::halt::{Halt, HaltFlag};
use crate::portal::schema::{self, ObjectSchema};
use crate::portal::target::Target;
use crate::prepare::source;
use crate::read::request;
use crate::read::{Page, Selection};

use columns::{ID, Plan};
use csv_out::CsvTable;
pub use error::ExportError;
use fetch::{IdFile, Reader};
use parquet_out::ParquetTable;
use report::{ExportCounters, ExportReport};
use sink::{Files, Sink, Sunk};
use spec::{ExportSpec, Format, Properties};
use state::{Cursor, ExportState};
use table::{Table, TableState};
use typed::Kind;

/// Pages waiting for the sink: enough to keep it busy, few enough to keep memory flat.
const PAGES_IN_FLIGHT: usize = 16;

/// How this export runs (the spec says what it reads; these say how the run goes).
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub quiet: bool,
    /// The API token, for programs that embed the engine; `None` reads the connection's variable.
    pub token: Option<Secret>,
    /// Continue an export that stopped early.
    pub resume: bool,
    /// Start over, discarding an unfinished export's files.
    pub restart: bool,
}

/// An export that went to its end, or stopped early.
#[derive(Debug)]
pub struct ExportOutcome {
    pub report: ExportReport,
    pub halt: Option<Halt>,
}

/// Runs `spec` against the portal `connection` names. Errors before anything is read are `Err`;
/// once reading started, every ending — a fatal one included — is an [`ExportOutcome`].
pub async fn export(
    spec: &ExportSpec,
    connection: &Connection,
    options: &ExportOptions,
) -> Result<ExportOutcome, ExportError> {
    let started = Instant::now();
    let _lock = RunLock::acquire(&spec.lock_path()).map_err(|error| match error {
        LockError::Busy { .. } => ExportError::Busy {
            output: spec.output.clone(),
        },
        other => other.into(),
    })?;
    let fingerprint = spec.fingerprint()?;
    let earlier = match ExportState::load(&spec.state_path())? {
        Some(state) if options.restart => {
            drop(state);
            None
        }
        Some(state) if options.resume => {
            if state.fingerprint != fingerprint {
                return Err(ExportError::Mismatch {
                    state: spec.state_path(),
                });
            }
            Some(state)
        }
        Some(_) => {
            return Err(ExportError::Unfinished {
                output: spec.output.clone(),
                state: spec.state_path(),
            });
        }
        None => None,
    };
    let resumed = earlier.clone();
    let ids = spec.ids.as_ref().map(open_ids).transpose()?;
    let target = Target::connect(connection, options.token.as_ref()).await?;
    let halt = Arc::new(HaltFlag::default());
    let signals = {
        let halt = Arc::clone(&halt);
        tokio::spawn(async move { halt.raise_on_signal().await })
    };
    let counters = Arc::new(ExportCounters::default());
    let result = match target.portal(connection, Arc::clone(&halt)) {
        Ok(portal) => {
            let run = Run {
                spec,
                portal: Arc::new(portal),
                counters: Arc::clone(&counters),
                in_flight: connection.dispatch.concurrency.get(),
                started,
            };
            run.go(earlier, fingerprint, ids, options.quiet).await
        }
        Err(err) => Err(err.into()),
    };
    signals.abort();
    target.close().await;
    let (sunk, traffic) = result?;
    if sunk.as_ref().is_some_and(|s| s.completed) {
        // Nothing is left to resume: the lock file goes with the state (we still hold it).
        let _ = std::fs::remove_file(spec.lock_path());
    }
    let halt = halt.reason();
    let state = match &sunk {
        Some(sunk) => Some((&sunk.state, sunk.completed)),
        None => resumed.as_ref().map(|state| (state, false)),
    };
    let report = report_of(spec, state, sunk.is_some(), traffic, &halt, started);
    Ok(ExportOutcome { report, halt })
}

/// The id file, its id column resolved; and the column's name (the missing-id file's header).
fn open_ids(ids: &spec::Ids) -> Result<(IdFile, String), ExportError> {
    let source = source::open(&ids.file)?;
    let header = source.header();
    let column = match &ids.column {
        Some(name) => header.iter().position(|h| h == name).ok_or_else(|| {
            ExportError::Invalid(format!(
                "--id-column: {} has no column {name:?} (columns: {})",
                ids.file.path.display(),
                header.join(", ")
            ))
        })?,
        None => 0,
    };
    let name = header[column].clone();
    Ok((
        IdFile {
            source,
            column,
            property: ids.property.clone(),
        },
        name,
    ))
}

/// Requests sent by this run: (requests, retries, rate_limited).
type Traffic = (u64, u64, u64);

/// One run of an export against a connected portal.
struct Run<'a> {
    spec: &'a ExportSpec,
    portal: Arc<Portal>,
    counters: Arc<ExportCounters>,
    in_flight: usize,
    started: Instant,
}

impl Run<'_> {
    /// Reads and writes until the end or a stop. `None`: stopped before anything was written.
    async fn go(
        &self,
        earlier: Option<ExportState>,
        fingerprint: String,
        ids: Option<(IdFile, String)>,
        quiet: bool,
    ) -> Result<(Option<Sunk>, Traffic), ExportError> {
        let spec = self.spec;
        let portal = &self.portal;
        let schema = match schema::fetch(portal, &spec.object).await {
            Ok(schema) => schema,
            // Nothing read yet and nothing lost: the halt says why (daily limit, interrupt …).
            Err(_) if portal.halt().is_raised() => return Ok((None, self.traffic())),
            Err(error) => return Err(error.into()),
        };
        let properties = match &earlier {
            Some(state) => state.properties.clone(),
            None => match self.properties(&schema).await? {
                Some(properties) => properties,
                None => return Ok((None, self.traffic())),
            },
        };
        let plan = Plan::new(&properties, &schema, &spec.associations);
        let (id_file, id_column) = match ids {
            Some((file, column)) => (Some(file), Some(column)),
            None => (None, None),
        };
        let files = self.files(&plan, earlier.as_ref(), id_column)?;
        let state = match earlier {
            Some(state) => state,
            None => ExportState {
                fingerprint,
                properties,
                cursor: Cursor::Start,
                main: TableState::default(),
                history: None,
                missing: None,
                sent: state::Sent::default(),
            },
        };
        let start = state.cursor.clone();
        let selection = Selection {
            properties: plan.wanted.names().to_vec(),
            history: if spec.history {
                plan.wanted.names().to_vec()
            } else {
                Vec::new()
            },
            archived: spec.archived,
        };
        let (tx, rx) = mpsc::channel(PAGES_IN_FLIGHT);
        let sink = Sink {
            plan: plan.clone(),
            files,
            earlier: state.sent.clone(),
            state,
            state_path: spec.state_path(),
            csv: spec.format == Format::Csv,
            counters: Arc::clone(&self.counters),
            portal: Arc::clone(portal),
            started: self.started,
        }
        .spawn(rx, Arc::clone(portal.halt()));
        let progress = {
            let (counters, portal) = (Arc::clone(&self.counters), Arc::clone(portal));
            Progress::show(quiet, move |elapsed| {
                let traffic = portal.traffic();
                counters.line(
                    traffic.requests.load(Relaxed),
                    traffic.retries.load(Relaxed),
                    elapsed,
                )
            })
        };
        let reader = Arc::new(Reader {
            portal: Arc::clone(portal),
            object: spec.object.clone(),
            plan,
            selection,
            concurrency: Concurrency::new(self.in_flight),
            in_flight: self.in_flight,
        });
        match id_file {
            Some(file) => Arc::clone(&reader).ids(file, start, tx).await,
            None => reader.list(start, tx).await,
        }
        let sunk = tokio::task::spawn_blocking(move || sink.join())
            .await
            .map_err(|e| ExportError::Invalid(format!("the writing thread failed: {e}")))?
            .map_err(|_| ExportError::Invalid("the writing thread panicked".into()))?;
        progress.finish().await;
        Ok((Some(sunk?), self.traffic()))
    }

    fn traffic(&self) -> Traffic {
        let traffic = self.portal.traffic();
        (
            traffic.requests.load(Relaxed),
            traffic.retries.load(Relaxed),
            traffic.rate_limited.load(Relaxed),
        )
    }

    /// The properties of a new export, in column order. `None`: the run stopped while reading
    /// HubSpot's default set.
    async fn properties(&self, schema: &ObjectSchema) -> Result<Option<Vec<String>>, ExportError> {
        match &self.spec.properties {
            Properties::Named(names) => {
                let unknown: Vec<&str> = names
                    .iter()
                    .filter(|n| *n != ID && schema.property(n).is_none())
                    .map(String::as_str)
                    .collect();
                if !unknown.is_empty() {
                    return Err(ExportError::Invalid(format!(
                        "--properties: {} has no property {}",
                        self.spec.object,
                        unknown.join(", ")
                    )));
                }
                Ok(Some(names.clone()))
            }
            Properties::All => {
                let mut names: Vec<String> = schema.properties.keys().cloned().collect();
                names.sort();
                Ok(Some(names))
            }
            Properties::Default => {
                // HubSpot's default set is whatever a read without `properties` returns.
                let selection = Selection {
                    archived: self.spec.archived,
                    ..Selection::default()
                };
                match request::list_page(&self.portal, &self.spec.object, &selection, None).await {
                    Ok(body) => {
                        let names = Page::property_names(&body)
                            .map_err(|e| ExportError::Read(format!("unreadable list page: {e}")))?;
                        Ok(Some(names.into_iter().filter(|n| n != ID).collect()))
                    }
                    Err(request::ReadError::Halted) => Ok(None),
                    Err(error) => Err(ExportError::Read(error.to_string())),
                }
            }
        }
    }

    /// The files, new or as an earlier run committed them.
    fn files(
        &self,
        plan: &Plan,
        earlier: Option<&ExportState>,
        id_column: Option<String>,
    ) -> Result<Files, ExportError> {
        let spec = self.spec;
        let main = open_table(
            spec.format,
            &spec.output,
            &plan.columns(),
            earlier.map(|s| &s.main),
        )?;
        let history = if spec.history {
            Some(open_table(
                spec.format,
                &spec.history_path(),
                &Plan::history_columns(),
                earlier.and_then(|s| s.history.as_ref()),
            )?)
        } else {
            None
        };
        let missing = match id_column {
            Some(column) => {
                let path = spec.missing_path();
                let table = match earlier.and_then(|s| s.missing.as_ref()) {
                    Some(state) => CsvTable::resume(&path, state)?,
                    None => CsvTable::create(&path, &[column, "etl_row".into()])?,
                };
                Some((table, path))
            }
            None => None,
        };
        Ok(Files {
            main,
            history,
            missing,
        })
    }
}

/// One output file: new, or resumed from its committed state.
fn open_table(
    format: Format,
    path: &std::path::Path,
    columns: &[(String, Kind)],
    state: Option<&TableState>,
) -> Result<Box<dyn Table>, ExportError> {
    Ok(match (format, state) {
        (Format::Csv, None) => {
            let header: Vec<String> = columns.iter().map(|(name, _)| name.clone()).collect();
            Box::new(CsvTable::create(path, &header)?)
        }
        (Format::Csv, Some(state)) => Box::new(CsvTable::resume(path, state)?),
        (Format::Parquet, None) => Box::new(ParquetTable::create(path, columns)?),
        (Format::Parquet, Some(state)) => Box::new(ParquetTable::resume(path, columns, state)?),
    })
}

/// The report of the whole export: from the state the sink left (`written`: this run's sink, whose
/// state counts this run's requests too), or from an earlier run's state when this run stopped
/// before writing anything.
fn report_of(
    spec: &ExportSpec,
    state: Option<(&ExportState, bool)>,
    written: bool,
    traffic: Traffic,
    halt: &Option<Halt>,
    started: Instant,
) -> ExportReport {
    let completed = state.is_some_and(|(_, completed)| completed);
    let this_run = state::Sent {
        requests: traffic.0,
        retries: traffic.1,
        rate_limited: traffic.2,
        elapsed_s: started.elapsed().as_secs_f64(),
    };
    let (records, history_rows, missing, sent) = match state {
        Some((state, _)) => (
            state.main.rows,
            state.history.as_ref().map_or(0, |h| h.rows),
            state.missing.as_ref().map_or(0, |m| m.rows),
            if written {
                state.sent.clone()
            } else {
                state.sent.plus(&this_run)
            },
        ),
        None => (0, 0, 0, this_run),
    };
    let mut stopped = Stopped::from(halt.as_ref());
    let mut error = match halt {
        Some(Halt::Failed(reason)) => Some(reason.clone()),
        Some(Halt::Refused { status, message }) => {
            Some(format!("HubSpot refused the token ({status}): {message}"))
        }
        _ => None,
    };
    if stopped == Stopped::Completed && !completed {
        stopped = Stopped::Fatal;
        error.get_or_insert_with(|| "the export stopped before the end".into());
    }
    let elapsed_s = (sent.elapsed_s * 1000.0).round() / 1000.0;
    ExportReport {
        records,
        history_rows,
        missing,
        requests: sent.requests,
        retries: sent.retries,
        rate_limited: sent.rate_limited,
        elapsed_s,
        records_per_s: if sent.elapsed_s > 0.0 {
            (records as f64 / sent.elapsed_s).round()
        } else {
            0.0
        },
        stopped,
        error,
        output: spec.output.display().to_string(),
        history_file: spec
            .history
            .then(|| spec.history_path().display().to_string()),
        missing_file: (missing > 0).then(|| spec.missing_path().display().to_string()),
    }
}
