//! Sources on object storage, against a local S3-compatible server (moto) on loopback: a gzipped
//! CSV object streamed, a Parquet object of several row groups read by ranges, objects larger than
//! a run may hold (peak memory measured in a child process), and `--resume` refusing an object that
//! changed (its ETag is the fingerprint).

use std::io::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};

use crate::bounded::{PEAK_LIMIT_KB, probe, vm_hwm_kb};
use crate::support::engine::{load, validate};
use crate::support::fixtures::{Pipeline, contacts};
use crate::support::loopback::{Served, serve};
use crate::support::s3::S3;
use crate::support::scenario::Scenario;
use crate::support::workdir::Workdir;

/// The size of the large objects: more than a run may hold ([`PEAK_LIMIT_KB`]).
const BIG_BYTES: usize = 96 << 20;
/// Bytes of an unmapped `Notes` cell in the large objects' rows: wide rows, so they are few (quick
/// to check), yet a Parquet batch of 8,192 rows stays 2 MiB.
const NOTE_BYTES: usize = 256;

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).expect("gzip");
    encoder.finish().expect("gzip")
}

/// `n` contacts as Parquet (`Email`, `First Name`, `Last Name`, and `Notes` of `note` bytes when
/// not 0), in row groups of `group` rows.
pub(crate) fn contacts_parquet(n: usize, group: usize, note: usize) -> Vec<u8> {
    let column = |f: &dyn Fn(usize) -> String| -> ArrayRef {
        Arc::new(StringArray::from((1..=n).map(f).collect::<Vec<_>>()))
    };
    let mut columns = vec![
        ("Email", column(&|i| format!("person{i}@example.com"))),
        ("First Name", column(&|i| format!("First{i}"))),
        ("Last Name", column(&|i| format!("Last{i}"))),
    ];
    if note > 0 {
        columns.push(("Notes", column(&|i| format!("{i:0note$}"))));
    }
    let batch = RecordBatch::try_from_iter(columns).expect("a batch");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(group))
        .set_dictionary_enabled(false)
        .build();
    let mut bytes = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props))
        .expect("a writer");
    writer.write(&batch).expect("written");
    writer.close().expect("closed");
    bytes
}

/// `n` contacts as CSV with a `Notes` cell of `note` bytes in every row.
fn contacts_csv_with_notes(n: usize, note: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(n * (note + 64));
    text.extend_from_slice(b"Email,First Name,Last Name,Notes\n");
    for i in 1..=n {
        writeln!(text, "person{i}@example.com,First{i},Last{i},{i:0note$}").expect("in memory");
    }
    text
}

/// A scenario reading `url` with the server's environment.
fn from(s3: &S3, url: &str) -> Scenario {
    s3.env().into_iter().fold(
        Scenario::new().pipeline(|p| p.source(url).upsert_by("email").map_contact_columns()),
        |scenario, (name, value)| scenario.env(name, &value),
    )
}

#[test]
fn a_gzipped_csv_object_is_streamed_into_the_portal() {
    let Some(s3) = S3::start() else { return };
    let url = s3.put("exports/contacts.csv.gz", gzip(&contacts(300).to_string()));
    let run = from(&s3, &url).run();
    run.exit(0).rows_read(300).accepted(300).created(300);
    // An object's folder is no local one: the dead letters go next to the pipeline file.
    run.reported("dead_letter_file", "p.failed.csv");
}

#[test]
fn a_parquet_object_is_read_by_ranges_row_group_after_row_group() {
    let Some(s3) = S3::start() else { return };
    let url = s3.put(
        "exports/contacts.parquet",
        contacts_parquet(5_000, 1_000, 0),
    );
    let run = from(&s3, &url).validate();
    run.exit(0).rows_read(5_000).valid(5_000);
}

#[test]
fn a_changed_object_refuses_to_resume() {
    let Some(s3) = S3::start() else { return };
    let url = s3.put("contacts.csv", contacts(50).to_string());
    let first = from(&s3, &url).run();
    first.exit(0).accepted(50);
    s3.put("contacts.csv", contacts(60).to_string());
    let resumed = s3
        .env()
        .into_iter()
        .fold(first.then().args(["--resume"]), |s, (name, value)| {
            s.env(name, &value)
        })
        .run();
    resumed.exit(1).says("different job");
}

/// A scenario reading `url` as the AWS profile `vault`, whose only keys come from the
/// `credential_process` `script` prints (a file `process.log` in the workdir counts its runs).
fn from_profile(s3: &S3, url: &str, script: &str) -> Scenario {
    let scenario = Scenario::new();
    let dir = scenario.workdir().dir().to_path_buf();
    let script = script.replace("LOG", &dir.join("process.log").display().to_string());
    let keys = scenario.workdir().write("keys.sh", script);
    let config = format!(
        "[profile vault]\nregion = us-east-1\ncredential_process = sh '{}'\n",
        keys.display()
    );
    let config = scenario.workdir().write("aws-config", config);
    let credentials = scenario.workdir().write("aws-credentials", "");
    scenario
        .env("AWS_ENDPOINT", &s3.env()[0].1)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_PROFILE", "vault")
        .env("AWS_CONFIG_FILE", &config.display().to_string())
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            &credentials.display().to_string(),
        )
        .pipeline(|p| p.source(url).upsert_by("email").map_contact_columns())
}

#[test]
fn an_objects_keys_come_from_the_profiles_credential_process() {
    let Some(s3) = S3::start() else { return };
    let url = s3.put("exports/contacts.csv", contacts(40).to_string());
    let print_keys = r#"echo ran >> 'LOG'
printf '{"Version":1,"AccessKeyId":"testing","SecretAccessKey":"testing","SessionToken":"t",
  "Expiration":"2099-01-01T00:00:00Z"}'
"#;
    let scenario = from_profile(&s3, &url, print_keys);
    let log = scenario.workdir().path("process.log");
    let run = scenario.run();
    run.exit(0).rows_read(40).accepted(40);
    // Run once: the keys last past the run, so every request signs with them.
    let runs = std::fs::read_to_string(log).expect("the process ran");
    assert_eq!(runs.lines().count(), 1, "{runs}");
}

#[test]
fn a_failing_credential_process_is_a_clear_fatal_error_that_shows_no_secret() {
    let Some(s3) = S3::start() else { return };
    let url = s3.put("exports/contacts.csv", contacts(5).to_string());
    let expired = "echo 'Error loading SSO Token: Token for sso-admin is expired' >&2; exit 255";
    let run = from_profile(&s3, &url, expired).run();
    run.exit(1)
        .says("AWS profile \"vault\"")
        .says("Token for sso-admin is expired");
    let not_json = "printf 'AKIA s3cr3t-value'";
    let run = from_profile(&s3, &url, not_json).run();
    run.exit(1).says("not JSON");
    assert!(!run.text().contains("s3cr3t-value"), "{}", run.text());
}

/// A stand-in for one of AWS's credential services on loopback (the SSO portal, STS): it answers
/// every request with `answer` and records each as "METHOD URI CREDENTIAL BODY" (CREDENTIAL: the
/// SSO bearer token or the `Authorization` header).
struct StandIn {
    served: Served,
    asked: Arc<std::sync::Mutex<Vec<String>>>,
}

impl StandIn {
    fn start(content_type: &'static str, answer: &'static str) -> StandIn {
        let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&asked);
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let seen = Arc::clone(&seen);
            async move {
                let (parts, body) = request.into_parts();
                let header = |name: &str| {
                    let value = parts.headers.get(name);
                    value
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                let credential = header("x-amz-sso_bearer_token") + &header("authorization");
                let body = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                let body = String::from_utf8_lossy(&body);
                let line = format!("{} {} {credential} {body}", parts.method, parts.uri);
                seen.lock().unwrap().push(line);
                ([(axum::http::header::CONTENT_TYPE, content_type)], answer)
            }
        });
        StandIn {
            served: serve(app),
            asked,
        }
    }

    fn url(&self) -> &str {
        &self.served.url
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

/// GetRoleCredentials' answer: keys the S3 server takes, expiring in 2100.
const SSO_KEYS: &str = r#"{"roleCredentials": {"accessKeyId": "testing",
    "secretAccessKey": "testing", "sessionToken": "t", "expiration": 4102444800000}}"#;

/// A scenario reading `url` as the SSO profile `sso-etl` (session `corp`, account 111122223333,
/// role Loader), whose login `aws sso login` cached with `expires_at`, in a HOME of the workdir.
fn from_sso_profile(s3: &S3, portal: &StandIn, url: &str, expires_at: &str) -> Scenario {
    let scenario = Scenario::new();
    let home = scenario.workdir().dir().to_path_buf();
    scenario.workdir().write(
        ".aws/config",
        "[profile sso-etl]\nsso_session = corp\nsso_account_id = 111122223333\n\
         sso_role_name = Loader\nregion = us-east-1\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
    );
    // The file name AWS's CLI gives the login of session `corp`: the SHA-1 of its name.
    scenario.workdir().write(
        ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
        format!(r#"{{"accessToken":"tok-123","expiresAt":"{expires_at}","region":"us-east-1"}}"#),
    );
    scenario
        .env("HOME", &home.display().to_string())
        .env("AWS_ENDPOINT_URL_SSO", portal.url())
        .env("AWS_ENDPOINT", &s3.env()[0].1)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_PROFILE", "sso-etl")
        .pipeline(|p| p.source(url).upsert_by("email").map_contact_columns())
}

#[test]
fn an_objects_keys_come_from_the_profiles_sso_login() {
    let Some(s3) = S3::start() else { return };
    let url = s3.put("exports/contacts.csv", contacts(30).to_string());
    let portal = StandIn::start("application/json", SSO_KEYS);
    let run = from_sso_profile(&s3, &portal, &url, "2099-01-01T00:00:00Z").run();
    run.exit(0).rows_read(30).accepted(30);
    // Asked once for the profile's role with the cached login; the keys last past the run.
    let asked = portal.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].starts_with("GET /federation/credentials?"),
        "{asked:?}"
    );
    assert!(asked[0].contains(" tok-123 "), "{asked:?}");
    assert!(asked[0].contains("account_id=111122223333"), "{asked:?}");
    assert!(asked[0].contains("role_name=Loader"), "{asked:?}");
}

#[test]
fn an_expired_sso_login_says_to_log_in_again_and_asks_nothing() {
    let Some(s3) = S3::start() else { return };
    let url = s3.put("exports/contacts.csv", contacts(5).to_string());
    let portal = StandIn::start("application/json", SSO_KEYS);
    let run = from_sso_profile(&s3, &portal, &url, "2020-01-01T00:00:00Z").run();
    run.exit(1).says("aws sso login --profile sso-etl");
    assert!(!run.text().contains("tok-123"), "{}", run.text());
    assert!(portal.asked().is_empty());
}

#[test]
fn an_objects_keys_come_from_the_role_the_profile_assumes() {
    let Some(s3) = S3::start() else { return };
    let url = s3.put("exports/contacts.csv", contacts(20).to_string());
    let sts = StandIn::start(
        "text/xml",
        "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>testing</AccessKeyId>\
         <SecretAccessKey>testing</SecretAccessKey><SessionToken>t</SessionToken>\
         <Expiration>2100-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult>\
         </AssumeRoleResponse>",
    );
    let scenario = Scenario::new();
    let home = scenario.workdir().dir().to_path_buf();
    scenario.workdir().write(
        ".aws/credentials",
        "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n",
    );
    scenario.workdir().write(
        ".aws/config",
        "[profile loader]\nrole_arn = arn:aws:iam::123456789012:role/etl-loader\n\
         source_profile = base\nregion = us-east-1\n",
    );
    let run = scenario
        .env("HOME", &home.display().to_string())
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .env("AWS_ENDPOINT", &s3.env()[0].1)
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_PROFILE", "loader")
        .pipeline(|p| p.source(&url).upsert_by("email").map_contact_columns())
        .run();
    run.exit(0).rows_read(20).accepted(20);
    // One AssumeRole, signed (SigV4, for STS) with the source profile's key.
    let asked = sts.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let call = &asked[0];
    assert!(
        call.starts_with("POST / AWS4-HMAC-SHA256 Credential=AKIDBASE/"),
        "{call}"
    );
    assert!(call.contains("/us-east-1/sts/aws4_request"), "{call}");
    assert!(call.contains("Action=AssumeRole"), "{call}");
    assert!(
        call.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fetl-loader"),
        "{call}"
    );
    assert!(!run.text().contains("base-secret"));
}

#[test]
fn a_missing_object_is_a_clear_fatal_error() {
    let Some(s3) = S3::start() else { return };
    let run = from(&s3, "s3://bucket/nothing-here.csv").run();
    run.exit(1).says("nothing-here.csv");
}

/// The child: `etl validate`'s whole path (embedded sandbox, object reader) over the object
/// `ETL_BIG_OBJECT` names, which holds `ETL_BIG_ROWS` rows; prints the peak RSS.
#[test]
#[ignore = "run by the large-object tests in a child process"]
fn big_object_probe() {
    let (Ok(url), Ok(rows)) = (
        std::env::var("ETL_BIG_OBJECT"),
        std::env::var("ETL_BIG_ROWS"),
    ) else {
        return;
    };
    let work = Workdir::new();
    let pipeline = Pipeline::new()
        .source(&url)
        .upsert_by("email")
        .map_contact_columns()
        .base_url("sandbox");
    let path = work.write("p.toml", pipeline.text());
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let summary = runtime
        .block_on(validate(&load(&path), None))
        .expect("validated");
    assert_eq!(summary.rows_read.to_string(), rows);
    assert_eq!(summary.valid, summary.rows_read);
    println!("ETL_VMHWM_KB={}", vm_hwm_kb());
}

/// Validates the object at `key` (holding `rows` rows) in a child process; its peak RSS.
fn peak_reading(s3: &S3, url: &str, rows: usize) -> u64 {
    let mut env = s3.env();
    env.push(("ETL_BIG_OBJECT", url.to_string()));
    env.push(("ETL_BIG_ROWS", rows.to_string()));
    let (peak, text) = probe("object_storage::big_object_probe", &env);
    assert!(peak < PEAK_LIMIT_KB, "{peak} kB\n{text}");
    peak
}

#[test]
fn a_csv_object_larger_than_a_run_may_hold_is_streamed() {
    let Some(s3) = S3::start() else { return };
    let rows = BIG_BYTES / NOTE_BYTES;
    let object = contacts_csv_with_notes(rows, NOTE_BYTES);
    assert!(object.len() > (PEAK_LIMIT_KB as usize) << 10);
    let url = s3.put("exports/big.csv", object);
    let peak = peak_reading(&s3, &url, rows);
    eprintln!(
        "peak RSS reading a {} MiB CSV object: {peak} kB",
        BIG_BYTES >> 20
    );
}

#[test]
fn a_parquet_object_larger_than_a_run_may_hold_is_read_by_row_groups() {
    let Some(s3) = S3::start() else { return };
    let rows = BIG_BYTES / NOTE_BYTES;
    // Row groups of 4 MiB: the reader holds one at a time, never the object.
    let object = contacts_parquet(rows, (4 << 20) / NOTE_BYTES, NOTE_BYTES);
    assert!(object.len() > (PEAK_LIMIT_KB as usize) << 10);
    let url = s3.put("exports/big.parquet", object);
    let peak = peak_reading(&s3, &url, rows);
    eprintln!(
        "peak RSS reading a {} MiB Parquet object: {peak} kB",
        BIG_BYTES >> 20
    );
}
