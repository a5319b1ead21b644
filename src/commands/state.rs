//! `etl state`: what a `[sync]` pipeline's state holds — a summary (`show`), the key → record id
//! map as CSV for other systems (`export`), and forgetting keys after a person checked them
//! (`forget`).

use std::io::Write;
use std::path::PathBuf;

use super::{Exit, fatal};
use crate::config::{self, Overrides, Pipeline};
use crate::job::state::{Entry, State};
use crate::prepare::validate::KEY_SEPARATOR;

/// Flags of `etl state`.
#[derive(clap::Args, Debug)]
pub struct StateArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// How many keys the state holds, how many are in doubt, and the last accepted change.
    Show {
        /// The pipeline file.
        pipeline: PathBuf,
    },
    /// Write the key → record id map as CSV (the key columns, then record_id, accepted_at).
    Export {
        /// The pipeline file.
        pipeline: PathBuf,
        /// Write here instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Forget keys (after checking their records by hand: a key in doubt is then sent again).
    Forget {
        /// The pipeline file.
        pipeline: PathBuf,
        /// A key, as `etl state export` writes it (composite keys: the columns joined with `|`).
        #[arg(long = "key", value_name = "KEY", required = true)]
        keys: Vec<String>,
    },
}

pub async fn execute(args: StateArgs) -> Exit {
    let result = match args.action {
        Action::Show { pipeline } => load(&pipeline).and_then(|p| show(&p)),
        Action::Export { pipeline, output } => {
            load(&pipeline).and_then(|p| export(&p, output.as_deref()))
        }
        Action::Forget { pipeline, keys } => load(&pipeline).and_then(|p| forget(&p, &keys)),
    };
    match result {
        Ok(()) => Exit::Success,
        Err(message) => fatal(&message),
    }
}

fn load(path: &std::path::Path) -> Result<Pipeline, String> {
    let pipeline = config::load(path, &Overrides::default()).map_err(|e| e.to_string())?;
    if pipeline.sync.is_none() {
        return Err(format!(
            "pipeline file {}: has no [sync] table, so it keeps no state",
            path.display()
        ));
    }
    Ok(pipeline)
}

fn open(pipeline: &Pipeline) -> Result<Option<State>, String> {
    let spec = pipeline.sync.as_ref().expect("load checked [sync]");
    State::read(&spec.state).map_err(|e| e.to_string())
}

fn show(pipeline: &Pipeline) -> Result<(), String> {
    let spec = pipeline.sync.as_ref().expect("load checked [sync]");
    let Some(state) = open(pipeline)? else {
        println!(
            "state: {} (none yet: no run has accepted a row)",
            spec.state.display()
        );
        return Ok(());
    };
    let (mut keys, mut in_doubt, mut latest) = (0u64, 0u64, 0i64);
    state
        .entries(|entry| {
            keys += 1;
            in_doubt += u64::from(entry.in_doubt);
            latest = latest.max(entry.accepted_at);
        })
        .map_err(|e| e.to_string())?;
    println!("state:     {}", spec.state.display());
    println!("keys:      {keys}");
    println!("in doubt:  {in_doubt}");
    if latest > 0 {
        let at = chrono::DateTime::from_timestamp_millis(latest)
            .map_or_else(|| latest.to_string(), |t| t.to_rfc3339());
        println!("last accepted change: {at}");
    }
    Ok(())
}

fn export(pipeline: &Pipeline, output: Option<&std::path::Path>) -> Result<(), String> {
    let spec = pipeline.sync.as_ref().expect("load checked [sync]");
    let columns: Vec<String> = if spec.key.is_empty() {
        vec![
            pipeline
                .target
                .id_property
                .clone()
                .or_else(|| pipeline.target.id_column.clone())
                .unwrap_or_else(|| "key".into()),
        ]
    } else {
        spec.key.clone()
    };
    let sink: Box<dyn Write> = match output {
        Some(path) => {
            Box::new(std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut writer = csv::Writer::from_writer(sink);
    let header = columns.iter().map(String::as_str).chain([
        "record_id",
        "accepted_at",
        "in_doubt",
        "sent_after",
    ]);
    writer.write_record(header).map_err(|e| e.to_string())?;
    let Some(state) = open(pipeline)? else {
        return writer.flush().map_err(|e| e.to_string());
    };
    let mut failure = None;
    state
        .entries(|entry: Entry| {
            if failure.is_some() {
                return;
            }
            let at = chrono::DateTime::from_timestamp_millis(entry.accepted_at)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            // A key in doubt: a record its create made is no older than this (portal's clock).
            let sent_after = entry
                .sent_after_ms
                .filter(|_| entry.in_doubt)
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default();
            let record = entry
                .key
                .split(KEY_SEPARATOR)
                .chain([
                    entry.record_id.as_deref().unwrap_or(""),
                    at.as_str(),
                    if entry.in_doubt { "true" } else { "false" },
                    sent_after.as_str(),
                ])
                .map(str::to_string)
                .collect::<Vec<_>>();
            if let Err(e) = writer.write_record(&record) {
                failure = Some(e.to_string());
            }
        })
        .map_err(|e| e.to_string())?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    writer.flush().map_err(|e| e.to_string())
}

fn forget(pipeline: &Pipeline, keys: &[String]) -> Result<(), String> {
    let Some(mut state) = open(pipeline)? else {
        return Err("the state holds no keys yet".into());
    };
    let keys: Vec<String> = keys
        .iter()
        .map(|k| k.replace('|', &KEY_SEPARATOR.to_string()))
        .collect();
    let forgotten = state.forget(&keys).map_err(|e| e.to_string())?;
    println!("forgot {forgotten} of {} keys", keys.len());
    Ok(())
}
