//! `etl init`: draft a pipeline file from a data file's header and sample rows and the portal's
//! property schema, commented so a person can read it, check it and edit it.

use std::io::Write as _;
use std::path::PathBuf;

use super::Exit;
use crate::config::{BaseUrl, ConfigError, Operation};
use crate::draft::{self, Plan, Request};

/// Flags of `etl init`.
#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// The data file to load (CSV, TSV or Parquet).
    #[arg(value_name = "DATA_FILE")]
    source: PathBuf,
    /// The object type: a name ("contacts") or an objectTypeId ("0-1", "2-1234567").
    #[arg(long, value_name = "OBJECT")]
    object: String,
    /// The operation; by default upsert when a column holds a unique property, else create.
    #[arg(long, value_parser = ["create", "update", "upsert", "archive"])]
    operation: Option<String>,
    /// Where the property schema comes from, and the pipeline's base_url: "sandbox" (HubSpot's
    /// standard properties, no token needed) or your portal's API, e.g. https://api.hubapi.com.
    #[arg(long, value_name = "URL", default_value = "sandbox")]
    base_url: String,
    /// The environment variable that holds the token (for a portal's URL).
    #[arg(long, value_name = "VAR", default_value = "HUBSPOT_TOKEN")]
    token_env: String,
    /// The pipeline file to write (default: beside the data file, named after it, .toml).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Overwrite the pipeline file if it exists.
    #[arg(long)]
    force: bool,
}

pub async fn execute(args: InitArgs) -> Exit {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.source.with_extension("toml"));
    let base_url = match BaseUrl::parse(&args.base_url, false) {
        Ok(base_url) => base_url,
        Err(message) => return usage("--base-url", &args.base_url, message),
    };
    let request = Request {
        source: args.source.clone(),
        object: args.object.clone(),
        operation: args.operation.as_deref().map(operation),
        base_url,
        token_env: args.token_env.clone(),
        output: output.clone(),
    };
    let plan = match draft::draft(&request).await {
        Ok(plan) => plan,
        Err(err) => {
            eprintln!("etl: error: {err}");
            return if err.is_usage() {
                Exit::Usage
            } else {
                Exit::Fatal
            };
        }
    };
    let text = draft::render(&plan, &command_line(&args));
    if let Err(err) = write(&output, &text, args.force) {
        return match err.kind() {
            std::io::ErrorKind::AlreadyExists => usage(
                "--output",
                &output.display().to_string(),
                "the file exists: pass --force to overwrite it, or -o to write another".into(),
            ),
            _ => super::fatal(&format!("cannot write {}: {err}", output.display())),
        };
    }
    eprintln!("{}", summary(&plan, &output));
    Exit::Success
}

/// The pipeline's operation from the flag's value (clap allows only the four).
fn operation(value: &str) -> Operation {
    match value {
        "create" => Operation::Create,
        "update" => Operation::Update,
        "archive" => Operation::Archive,
        _ => Operation::Upsert,
    }
}

/// Writes the file; an existing one only with `force`.
fn write(path: &std::path::Path, text: &str, force: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// `etl init contacts.csv --object contacts …`, for the file's first line.
fn command_line(args: &InitArgs) -> String {
    let mut line = format!(
        "etl init {} --object {}",
        args.source.display(),
        args.object
    );
    if let Some(op) = &args.operation {
        line.push_str(&format!(" --operation {op}"));
    }
    if args.base_url != "sandbox" {
        line.push_str(&format!(" --base-url {}", args.base_url));
    }
    line
}

/// What was written, and what to do next.
fn summary(plan: &Plan, output: &std::path::Path) -> String {
    let checks = plan
        .mappings
        .iter()
        .map(|m| m.transform.notes.len())
        .sum::<usize>()
        + plan.unmapped_required.len();
    let mut text = format!(
        "etl: wrote {}: {} {}, {}",
        output.display(),
        plan.operation,
        plan.object,
        counted(plan.mappings.len(), "column", "columns"),
    );
    text.push_str(" mapped");
    if !plan.left_out.is_empty() {
        let left: Vec<String> = plan
            .left_out
            .iter()
            .map(|l| format!("{:?}", l.column))
            .collect();
        text.push_str(&format!(", {} left out ({})", left.len(), left.join(", ")));
    }
    if checks > 0 {
        text.push_str(&format!(
            ", {} marked CHECK",
            counted(checks, "line", "lines")
        ));
    }
    text.push_str(&format!(
        "\nnext: read it, then  etl validate {}",
        output.display()
    ));
    text
}

/// `1 column`, `2 columns`.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A usage error naming the flag (exit 2).
fn usage(flag: &'static str, value: &str, message: String) -> Exit {
    let err = ConfigError::Flag {
        flag,
        value: Some(value.to_string()),
        message,
    };
    eprintln!("etl: error: {err}");
    Exit::Usage
}
