//! Shared test fixtures: property schemas in HubSpot's response shape, and pipeline/CSV writers.
//! Also used by `benches/prepare.rs` (through `#[path]`), so keep it free of test-only crates.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

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

/// A Write-able temp dir with helpers.
pub struct Dir {
    pub dir: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write fixture");
        path
    }
}

/// A contacts pipeline text reading `source` with these extra `[source]` lines and `[target]` lines.
pub fn pipeline_text(source: &str, source_extra: &str, target: &str, mapping: &str) -> String {
    format!(
        "[source]\npath = \"{source}\"\n{source_extra}\n[target]\nobject = \"contacts\"\nbase_url = \"http://127.0.0.1:9\"\n{target}\n[mapping]\n{mapping}\n"
    )
}

/// The 10-column contacts CSV used by the bench and the memory test; every 50th row has a bad email.
pub fn write_contacts_csv(path: &Path, rows: usize) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create csv"));
    writeln!(
        out,
        "Email,First Name,Last Name,Phone,Company,Website,Job Title,City,Stage,Birthday"
    )
    .unwrap();
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
        .unwrap();
    }
}

/// The mapping for [`write_contacts_csv`].
pub const CONTACTS_MAPPING: &str = r#"email = { column = "Email", trim = true, lowercase = true }
firstname = "First Name"
lastname = "Last Name"
phone = "Phone"
company = "Company"
website = "Website"
jobtitle = "Job Title"
city = "City"
lifecyclestage = { column = "Stage", values = { "Opportunity" = "opportunity" } }
date_of_birth = "Birthday"
"#;

/// `GET /crm/v3/properties/companies`, trimmed.
pub const COMPANIES: &str = r#"{"results":[
  {"name":"name","label":"Company name","type":"string","fieldType":"text"},
  {"name":"domain","label":"Company Domain Name","type":"string","fieldType":"text"},
  {"name":"city","label":"City","type":"string","fieldType":"text"},
  {"name":"phone","label":"Phone Number","type":"string","fieldType":"phonenumber"},
  {"name":"numberofemployees","label":"Number of Employees","type":"number","fieldType":"number"},
  {"name":"annualrevenue","label":"Annual Revenue","type":"number","fieldType":"number"}
]}"#;

/// `GET /crm/v3/properties/deals`, trimmed.
pub const DEALS: &str = r#"{"results":[
  {"name":"dealname","label":"Deal Name","type":"string","fieldType":"text"},
  {"name":"amount","label":"Amount","type":"number","fieldType":"number"},
  {"name":"dealstage","label":"Deal Stage","type":"enumeration","fieldType":"radio","options":[
    {"label":"Appointment Scheduled","value":"appointmentscheduled"},{"label":"Qualified To Buy","value":"qualifiedtobuy"},
    {"label":"Presentation Scheduled","value":"presentationscheduled"},{"label":"Decision Maker Bought-In","value":"decisionmakerboughtin"},
    {"label":"Contract Sent","value":"contractsent"},{"label":"Closed Won","value":"closedwon"},{"label":"Closed Lost","value":"closedlost"}]},
  {"name":"pipeline","label":"Pipeline","type":"enumeration","fieldType":"select","options":[{"label":"Sales Pipeline","value":"default"}]},
  {"name":"closedate","label":"Close Date","type":"datetime","fieldType":"date"}
]}"#;
