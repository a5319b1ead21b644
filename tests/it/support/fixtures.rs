//! Test data: a property schema in HubSpot's response shape, CSV writers, and the one builder of
//! pipeline text. Also used by `benches/prepare.rs` (through `#[path]`), so it stands alone: no
//! `crate::` paths, no test-only crates.

#![allow(dead_code)]

use std::fmt;
use std::io::Write;
use std::path::Path;

/// `GET /crm/v3/properties/contacts` as HubSpot shapes it (trimmed to what the tests use).
pub const CONTACTS: &str = r#"{"results":[
  {"name":"email","label":"Email","type":"string","fieldType":"text","hasUniqueValue":false,
   "modificationMetadata":{"archivable":true,"readOnlyDefinition":true,"readOnlyValue":false},"calculated":false,"options":[]},
  {"name":"firstname","label":"First Name","type":"string","fieldType":"text","options":[]},
  {"name":"lastname","label":"Last Name","type":"string","fieldType":"text","options":[]},
  {"name":"phone","label":"Phone Number","type":"string","fieldType":"phonenumber","options":[]},
  {"name":"company","label":"Company Name","type":"string","fieldType":"text","options":[]},
  {"name":"website","label":"Website URL","type":"string","fieldType":"text","options":[]},
  {"name":"jobtitle","label":"Job Title","type":"string","fieldType":"text","options":[]},
  {"name":"city","label":"City","type":"string","fieldType":"text","options":[]},
  {"name":"lifecyclestage","label":"Lifecycle Stage","type":"enumeration","fieldType":"radio","options":[
    {"label":"Subscriber","value":"subscriber","hidden":false},{"label":"Lead","value":"lead","hidden":false},
    {"label":"Marketing Qualified Lead","value":"marketingqualifiedlead","hidden":false},
    {"label":"Sales Qualified Lead","value":"salesqualifiedlead","hidden":false},
    {"label":"Opportunity","value":"opportunity","hidden":false},{"label":"Customer","value":"customer","hidden":false},
    {"label":"Evangelist","value":"evangelist","hidden":false},{"label":"Other","value":"other","hidden":false}]},
  {"name":"hs_lead_status","label":"Lead Status","type":"enumeration","fieldType":"select","options":[
    {"label":"New","value":"NEW"},{"label":"Open","value":"OPEN"},{"label":"In Progress","value":"IN_PROGRESS"},
    {"label":"Open Deal","value":"OPEN_DEAL"},{"label":"Unqualified","value":"UNQUALIFIED"},
    {"label":"Attempted to Contact","value":"ATTEMPTED_TO_CONTACT"},{"label":"Connected","value":"CONNECTED"},
    {"label":"Bad Timing","value":"BAD_TIMING"}]},
  {"name":"date_of_birth","label":"Date of birth","type":"date","fieldType":"date","options":[]},
  {"name":"hs_object_id","label":"Record ID","type":"number","fieldType":"number","hasUniqueValue":true,
   "modificationMetadata":{"readOnlyValue":true},"options":[]}
]}"#;

// ------------------------------------------------------------------------------------------------
// CSV

/// The 10-column contacts CSV of the bench and the memory test, streamed to `path` (it can be large);
/// every 50th row has a bad email.
pub fn write_contacts_csv(path: &Path, rows: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create csv"));
    writeln!(
        out,
        "Email,First Name,Last Name,Phone,Company,Website,Job Title,City,Stage,Birthday"
    )
    .expect("write csv");
    const STAGES: [&str; 4] = ["lead", "customer", "Opportunity", "subscriber"];
    for i in 0..rows {
        let email = if i % 50 == 49 {
            format!("user{i}.example.com")
        } else {
            format!("user{i}@example.com")
        };
        writeln!(
            out,
            "{email},First{i},Last{i},+1 555 {:04},\"Acme {}, Inc.\",https://acme{}.example.com,Engineer,Springfield,{},19{:02}-{:02}-{:02}",
            i % 10_000,
            i % 997,
            i % 997,
            STAGES[i % 4],
            50 + i % 50,
            1 + i % 12,
            1 + i % 28
        )
        .expect("write csv");
    }
    out.flush().expect("write csv");
}

/// The mapping of [`write_contacts_csv`]'s columns: (property, TOML value).
pub const CONTACTS_MAPPING: [(&str, &str); 10] = [
    (
        "email",
        r#"{ column = "Email", trim = true, lowercase = true }"#,
    ),
    ("firstname", r#""First Name""#),
    ("lastname", r#""Last Name""#),
    ("phone", r#""Phone""#),
    ("company", r#""Company""#),
    ("website", r#""Website""#),
    ("jobtitle", r#""Job Title""#),
    ("city", r#""City""#),
    (
        "lifecyclestage",
        r#"{ column = "Stage", values = { "Opportunity" = "opportunity" } }"#,
    ),
    ("date_of_birth", r#""Birthday""#),
];

/// A small CSV file built row by row; `Display` renders it, quoted where needed.
#[derive(Debug, Clone)]
pub struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    /// An empty file with this header.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Csv {
        Csv {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends one row.
    pub fn row<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Csv {
        self.rows.push(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Appends rows.
    pub fn rows<S: Into<String>, R: IntoIterator<Item = S>>(
        self,
        rows: impl IntoIterator<Item = R>,
    ) -> Csv {
        rows.into_iter().fold(self, |csv, row| csv.row(row))
    }
}

impl fmt::Display for Csv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // flexible: tests write ragged rows on purpose.
        let mut writer = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        for record in std::iter::once(&self.header).chain(&self.rows) {
            writer.write_record(record).map_err(|_| fmt::Error)?;
        }
        let bytes = writer.into_inner().map_err(|_| fmt::Error)?;
        f.write_str(&String::from_utf8_lossy(&bytes))
    }
}

/// `n` contacts: data row `i` (1-based) is `person{i}@example.com,First{i},Last{i}` under the
/// header `Email,First Name,Last Name` (mapped by [`Pipeline::map_contact_columns`]).
pub fn contacts(n: usize) -> Csv {
    contacts_with_bad_emails(n, usize::MAX)
}

/// [`contacts`], except that every `every`-th row's email lacks its `@` (`broken{i}.example.com`):
/// rejected locally as INVALID_EMAIL.
pub fn contacts_with_bad_emails(n: usize, every: usize) -> Csv {
    Csv::new(["Email", "First Name", "Last Name"]).rows((1..=n).map(|i| {
        let email = if i % every == 0 {
            format!("broken{i}.example.com")
        } else {
            format!("person{i}@example.com")
        };
        [email, format!("First{i}"), format!("Last{i}")]
    }))
}

// ------------------------------------------------------------------------------------------------
// Pipeline files

/// A pipeline file, built key by key; [`Pipeline::text`] renders the TOML. Keys left unset are left
/// out (the engine's defaults apply), except `[source] path` (`input.csv`), `[target] object`
/// (`contacts`) and `base_url` (an unused loopback port, for tests that never send).
#[derive(Debug, Clone)]
pub struct Pipeline {
    source: Vec<(String, String)>,
    target: Vec<(String, String)>,
    mapping: Vec<(String, String)>,
    associations: Vec<(String, u32)>,
    dispatch: Vec<(String, String)>,
    dead_letter: Option<String>,
    checkpoint: Option<String>,
    sync: Vec<(String, String)>,
}

/// The engine's `[dispatch]` defaults (README), for a pipeline that leaves them out.
const DEFAULT_WINDOW: (u64, u64) = (100, 10_000);

/// A TOML basic string. Rust's debug escaping matches TOML's for the text tests use.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// Sets `key` in a section, replacing an earlier value.
fn set(section: &mut Vec<(String, String)>, key: &str, value: String) {
    section.retain(|(k, _)| k != key);
    section.push((key.to_string(), value));
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline::new()
    }
}

impl Pipeline {
    pub fn new() -> Pipeline {
        Pipeline {
            source: vec![("path".into(), quoted("input.csv"))],
            target: vec![("object".into(), quoted("contacts"))],
            mapping: Vec::new(),
            associations: Vec::new(),
            dispatch: Vec::new(),
            dead_letter: None,
            checkpoint: None,
            sync: Vec::new(),
        }
    }

    /// `[source] path`.
    pub fn source(mut self, path: &str) -> Pipeline {
        set(&mut self.source, "path", quoted(path));
        self
    }

    /// `[source] delimiter`.
    pub fn delimiter(mut self, delimiter: &str) -> Pipeline {
        set(&mut self.source, "delimiter", quoted(delimiter));
        self
    }

    /// `[target] object`.
    pub fn object(mut self, object: &str) -> Pipeline {
        set(&mut self.target, "object", quoted(object));
        self
    }

    /// `[target] operation`.
    pub fn operation(mut self, operation: &str) -> Pipeline {
        set(&mut self.target, "operation", quoted(operation));
        self
    }

    pub fn create(self) -> Pipeline {
        self.operation("create")
    }

    pub fn update(self) -> Pipeline {
        self.operation("update")
    }

    pub fn archive(self) -> Pipeline {
        self.operation("archive")
    }

    /// Upsert, keyed by the unique `property`.
    pub fn upsert_by(self, property: &str) -> Pipeline {
        self.operation("upsert").id_property(property)
    }

    /// `[target] id_property`.
    pub fn id_property(mut self, property: &str) -> Pipeline {
        set(&mut self.target, "id_property", quoted(property));
        self
    }

    /// `[target] id_column`.
    pub fn id_column(mut self, column: &str) -> Pipeline {
        set(&mut self.target, "id_column", quoted(column));
        self
    }

    /// `[target] base_url`.
    pub fn base_url(mut self, url: &str) -> Pipeline {
        set(&mut self.target, "base_url", quoted(url));
        self
    }

    /// Whether `base_url` was set.
    pub fn has_base_url(&self) -> bool {
        self.target.iter().any(|(k, _)| k == "base_url")
    }

    /// `[target] api_version`: `"v3"`, `"2026-03"` or `"2026-09"`.
    pub fn api_version(mut self, version: &str) -> Pipeline {
        set(&mut self.target, "api_version", quoted(version));
        self
    }

    /// `[target] token_env`.
    pub fn token_env(mut self, variable: &str) -> Pipeline {
        set(&mut self.target, "token_env", quoted(variable));
        self
    }

    /// `property = "column"` in `[mapping]`.
    pub fn map(self, property: &str, column: &str) -> Pipeline {
        self.map_toml(property, &quoted(column))
    }

    /// `property = <value>` in `[mapping]`, the value written as TOML (a table with transforms).
    pub fn map_toml(mut self, property: &str, value: &str) -> Pipeline {
        set(&mut self.mapping, property, value.to_string());
        self
    }

    /// Every `(property, TOML value)` of `mapping` (such as [`CONTACTS_MAPPING`]).
    pub fn map_all(self, mapping: &[(&str, &str)]) -> Pipeline {
        mapping
            .iter()
            .fold(self, |p, (property, value)| p.map_toml(property, value))
    }

    /// Maps the columns of [`contacts`]: email, firstname, lastname.
    pub fn map_contact_columns(self) -> Pipeline {
        self.map("email", "Email")
            .map("firstname", "First Name")
            .map("lastname", "Last Name")
    }

    /// One `[[associations]]` table: the record id in `column`, association type `type_id`.
    pub fn associate(mut self, column: &str, type_id: u32) -> Pipeline {
        self.associations.push((column.to_string(), type_id));
        self
    }

    /// A `[dispatch]` key.
    pub fn dispatch(mut self, key: &str, value: u64) -> Pipeline {
        set(&mut self.dispatch, key, value.to_string());
        self
    }

    /// `[dispatch] requests_per_interval` and `interval_ms`.
    pub fn window(self, requests: u64, interval_ms: u64) -> Pipeline {
        self.dispatch("requests_per_interval", requests)
            .dispatch("interval_ms", interval_ms)
    }

    pub fn concurrency(self, n: u64) -> Pipeline {
        self.dispatch("concurrency", n)
    }

    pub fn batch_size(self, n: u64) -> Pipeline {
        self.dispatch("batch_size", n)
    }

    pub fn max_retries(self, n: u64) -> Pipeline {
        self.dispatch("max_retries", n)
    }

    /// Whether `[dispatch] key` was set.
    pub fn has_dispatch(&self, key: &str) -> bool {
        self.dispatch.iter().any(|(k, _)| k == key)
    }

    /// The window the run will keep: (requests, interval in ms), set or the engine's defaults.
    pub fn effective_window(&self) -> (u64, u64) {
        let get = |key: &str, default: u64| {
            self.dispatch
                .iter()
                .find(|(k, _)| k == key)
                .map_or(default, |(_, v)| v.parse().expect("a number"))
        };
        (
            get("requests_per_interval", DEFAULT_WINDOW.0),
            get("interval_ms", DEFAULT_WINDOW.1),
        )
    }

    /// `[dead_letter] path`.
    pub fn dead_letter(mut self, path: &str) -> Pipeline {
        self.dead_letter = Some(path.to_string());
        self
    }

    /// A `[sync]` key, its value written as TOML (`"changes"`, `["Account Id"]`, `true`).
    pub fn sync(mut self, key: &str, toml: &str) -> Pipeline {
        set(&mut self.sync, key, toml.to_string());
        self
    }

    /// `[sync] mode = "changes"` with `key` columns (none: the id).
    pub fn sync_changes(self, key: &[&str]) -> Pipeline {
        let pipeline = self.sync("mode", "\"changes\"");
        if key.is_empty() {
            return pipeline;
        }
        let columns: Vec<String> = key.iter().map(|c| quoted(c)).collect();
        pipeline.sync("key", &format!("[{}]", columns.join(", ")))
    }

    /// `[checkpoint] path`.
    pub fn checkpoint(mut self, path: &str) -> Pipeline {
        self.checkpoint = Some(path.to_string());
        self
    }

    /// The pipeline file's text.
    pub fn text(&self) -> String {
        let mut text = String::new();
        let section = |text: &mut String, name: &str, keys: &[(String, String)]| {
            text.push_str(&format!("[{name}]\n"));
            for (key, value) in keys {
                text.push_str(&format!("{key} = {value}\n"));
            }
            text.push('\n');
        };
        section(&mut text, "source", &self.source);
        let mut target = self.target.clone();
        if !self.has_base_url() {
            target.push(("base_url".into(), quoted("http://127.0.0.1:9")));
        }
        section(&mut text, "target", &target);
        section(&mut text, "mapping", &self.mapping);
        for (column, type_id) in &self.associations {
            text.push_str(&format!(
                "[[associations]]\nto_id_column = {}\ntype_id = {type_id}\n\n",
                quoted(column)
            ));
        }
        if !self.dispatch.is_empty() {
            section(&mut text, "dispatch", &self.dispatch);
        }
        if let Some(path) = &self.dead_letter {
            section(&mut text, "dead_letter", &[("path".into(), quoted(path))]);
        }
        if let Some(path) = &self.checkpoint {
            section(&mut text, "checkpoint", &[("path".into(), quoted(path))]);
        }
        if !self.sync.is_empty() {
            section(&mut text, "sync", &self.sync);
        }
        text
    }
}
