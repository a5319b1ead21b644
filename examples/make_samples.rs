//! Writes the sample files in `samples/` (deterministic: a fixed-seed generator, no randomness).
//!
//! Run: `cargo run --example make_samples` (rewrites contacts.csv, companies.parquet, deals.csv and
//! archive_contacts.csv). Each file has a few deliberately bad rows, listed in README.md.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Decimal128Array, Int32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};

/// A tiny LCG: the samples must not change when a dependency does.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Ann", "Bob", "Chloé", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Ivan", "Júlia", "Kofi",
    "Lena", "Mateo", "Nora", "Omar", "Priya",
];
const LAST: &[&str] = &[
    "Smith", "García", "Okafor", "Nguyen", "Müller", "O'Brien", "Rossi", "Kowalski", "Tanaka",
    "Dubois", "Haddad", "Silva",
];
const COMPANY: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
];
const SUFFIX: &[&str] = &["Inc.", "LLC", "GmbH", "Ltd", "S.A.", "Co."];
const TITLE: &[&str] = &[
    "Engineer",
    "Buyer",
    "CTO",
    "Office Manager",
    "Head of Sales",
    "Analyst",
];
const CITY: &[&str] = &[
    "Boston",
    "Dublin",
    "Berlin",
    "Lagos",
    "São Paulo",
    "Tokyo",
    "Paris",
    "Toronto",
];
const STAGE: &[&str] = &[
    "Lead",
    "Subscriber",
    "Marketing Qualified Lead",
    "Sales Qualified Lead",
    "Opportunity",
    "Customer",
];
const STATUS: &[&str] = &["New", "Open", "In Progress", "Connected", "Bad Timing", ""];

fn csv_line(fields: &[String]) -> String {
    let mut line = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            let _ = write!(line, "\"{}\"", f.replace('"', "\"\""));
        } else {
            line.push_str(f);
        }
    }
    line.push('\n');
    line
}

/// Writes `contacts.csv`; returns the well-formed emails (lowercase), for the update and archive samples.
fn contacts(dir: &Path) -> Vec<String> {
    let mut rng = Lcg(1);
    let mut good = Vec::new();
    // Row i's own email at index i - 1.
    let mut emails: Vec<String> = Vec::new();
    let mut out = String::from(
        "Email,First Name,Last Name,Phone,Company,Website,Job Title,Lifecycle Stage,Lead Status,Birthday\n",
    );
    for i in 1..=3000u32 {
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let company = rng.pick(COMPANY);
        let domain = format!("{}.example.com", company.to_lowercase());
        // Every 200th row updates the contact of row i - 150 (same email, upper case): the upsert
        // must apply the two rows in file order.
        let own = format!("{}.{}{i}@{domain}", ascii(first), ascii(last));
        emails.push(own.clone());
        let mut email = if i % 200 == 0 {
            emails[(i - 151) as usize].to_uppercase()
        } else {
            own
        };
        let mut stage = rng.pick(STAGE).to_string();
        let mut birthday = format!(
            "{:02}/{:02}/{}",
            1 + rng.next() % 28,
            1 + rng.next() % 12,
            1950 + rng.next() % 55
        );
        let mut note_title = rng.pick(TITLE).to_string();
        match i {
            _ if i % 97 == 0 => email = format!("{}.{}{i}@@{domain}", ascii(first), ascii(last)),
            _ if i % 131 == 0 => email = format!("{} {}", first, last),
            _ if i % 151 == 0 => stage = "Prospect".into(),
            _ if i % 173 == 0 => birthday = "31/02/1980".into(),
            _ if i % 181 == 0 => birthday = "1980-13-01".into(),
            _ => {}
        }
        if i == 42 {
            note_title = "Head of\nPartnerships".into();
        }
        let bad = [97, 131, 151, 173, 181].iter().any(|m| i % m == 0) || i == 777;
        if !bad && i % 200 != 0 {
            good.push(email.to_lowercase());
        }
        let fields = [
            format!(" {email} "),
            first.to_string(),
            last.to_string(),
            format!("+1 617 555 {:04}", rng.next() % 10_000),
            format!("{company} {}", rng.pick(SUFFIX)),
            format!("https://{domain}"),
            note_title,
            stage,
            rng.pick(STATUS).to_string(),
            birthday,
        ];
        let mut line = csv_line(&fields);
        if i == 777 {
            // A ragged line: a field lost in an old export.
            line = format!("{email},{first},{last},+1 617 555 0000,{company}\n");
        }
        out.push_str(&line);
    }
    std::fs::write(dir.join("contacts.csv"), out).unwrap();
    good
}

/// Every 10th contact became a customer: an update by email (looked up to record ids first).
fn contact_updates(dir: &Path, emails: &[String]) {
    let mut out = String::from("Email,Lifecycle Stage\n");
    for email in emails.iter().step_by(10) {
        out.push_str(&format!("{email},Customer\n"));
    }
    out.push_str("nobody@nowhere.example.com,Customer\n");
    std::fs::write(dir.join("contacts_update.csv"), out).unwrap();
}

/// Every 25th contact unsubscribed: archive by email, plus one address the portal never had.
fn contact_unsubscribes(dir: &Path, emails: &[String]) {
    let mut out = String::from("Email\n");
    for email in emails.iter().skip(5).step_by(25) {
        out.push_str(&format!("{email}\n"));
    }
    out.push_str("never.seen@nowhere.example.com\n");
    std::fs::write(dir.join("contacts_unsubscribed.csv"), out).unwrap();
}

fn ascii(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'é' => Some('e'),
            'ü' => Some('u'),
            'ú' => Some('u'),
            'í' => Some('i'),
            '\'' => None,
            c => Some(c.to_ascii_lowercase()),
        })
        .collect()
}

fn companies(dir: &Path) {
    let mut rng = Lcg(2);
    let rows = 2000;
    let (mut name, mut domain, mut city, mut phone) = (vec![], vec![], vec![], vec![]);
    let (mut employees, mut revenue, mut public) = (vec![], vec![], vec![]);
    for i in 0..rows {
        let base = rng.pick(COMPANY);
        name.push(if i % 250 == 7 {
            None
        } else {
            Some(format!("{base} {} #{i}", rng.pick(SUFFIX)))
        });
        // Rows with neither name nor domain are invalid (companies need one of them).
        domain.push(if i % 250 == 7 {
            None
        } else {
            Some(format!("{}{i}.example.com", base.to_lowercase()))
        });
        city.push(Some(rng.pick(CITY).to_string()));
        phone.push(if i % 3 == 0 {
            None
        } else {
            Some(format!("+44 20 7946 {:04}", rng.next() % 10_000))
        });
        employees.push(Some((rng.next() % 5000) as i32));
        // Cents, scale 2: rendered exactly ("1234567.89").
        revenue.push(Some(
            (rng.next() % 1_000_000_000) as i128 * 100 + (rng.next() % 100) as i128,
        ));
        public.push(Some(i % 5 == 0));
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("Name", Arc::new(StringArray::from(name))),
        ("Domain", Arc::new(StringArray::from(domain))),
        ("City", Arc::new(StringArray::from(city))),
        ("Phone", Arc::new(StringArray::from(phone))),
        ("Employees", Arc::new(Int32Array::from(employees))),
        (
            "Annual Revenue",
            Arc::new(
                Decimal128Array::from(revenue)
                    .with_precision_and_scale(14, 2)
                    .unwrap(),
            ),
        ),
        ("Public", Arc::new(BooleanArray::from(public))),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(dir.join("companies.parquet")).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let _ = DataType::Utf8;
}

fn deals(dir: &Path) {
    let mut rng = Lcg(3);
    let mut out = String::from("Deal,Amount,Stage,Close Date,Owner Email\n");
    const STAGES: &[&str] = &[
        "Appointment Scheduled",
        "Qualified To Buy",
        "Presentation Scheduled",
        "Contract Sent",
        "Closed Won",
        "Closed Lost",
    ];
    for i in 1..=1500u32 {
        let mut amount = format!(
            "{},{:03}.{:02}",
            1 + rng.next() % 900,
            rng.next() % 1000,
            rng.next() % 100
        );
        let mut stage = rng.pick(STAGES).to_string();
        let mut close = format!("{:02}/{:02}/2025", 1 + rng.next() % 12, 1 + rng.next() % 28);
        let mut name = format!("{} renewal {i}", rng.pick(COMPANY));
        match i {
            _ if i % 113 == 0 => amount = "12,5".into(),
            _ if i % 127 == 0 => stage = "Won".into(),
            _ if i % 139 == 0 => close = "2025-31-12".into(),
            _ if i % 149 == 0 => name = String::new(),
            _ => {}
        }
        out.push_str(&csv_line(&[
            name,
            amount,
            stage,
            close,
            format!("rep{}@example.com", i % 7),
        ]));
    }
    std::fs::write(dir.join("deals.csv"), out).unwrap();
}

fn archive(dir: &Path) {
    let mut out = String::from("Record ID;Reason\n");
    for i in 0..500u64 {
        let id = 1000 + i * 3;
        let line = match i {
            123 => "N/A;duplicate\n".to_string(),
            321 => ";merged\n".to_string(),
            _ => format!(
                "{id};{}\n",
                if i % 2 == 0 { "duplicate" } else { "bounced" }
            ),
        };
        out.push_str(&line);
    }
    std::fs::write(dir.join("archive_contacts.csv"), out).unwrap();
}

/// Two nights of an accounts export for `samples/sync/`: night 2 changes 4 cities, adds 3 accounts
/// and drops 2.
fn sync_nights(dir: &Path) {
    let dir = dir.join("sync");
    std::fs::create_dir_all(&dir).unwrap();
    const CITIES: &[&str] = &["Lyon", "Porto", "Ghent", "Aarhus", "Brno", "Turin", "Graz"];
    let line = |i: usize, city: &str| {
        csv_line(&[
            format!("ACC-{i:04}"),
            format!("Account {i} Ltd"),
            city.to_string(),
            (10 + i * 7 % 490).to_string(),
        ])
    };
    let header = "Account Id,Company,City,Employees\n";
    let mut night1 = String::from(header);
    for i in 1..=60 {
        night1.push_str(&line(i, CITIES[i % CITIES.len()]));
    }
    std::fs::write(dir.join("night1.csv"), night1).unwrap();
    let mut night2 = String::from(header);
    for i in (1..=63).filter(|i| ![17, 42].contains(i)) {
        let city = if i % 15 == 0 {
            "Tallinn"
        } else {
            CITIES[i % CITIES.len()]
        };
        night2.push_str(&line(i, city));
    }
    std::fs::write(dir.join("night2.csv"), night2).unwrap();
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::create_dir_all(&dir).unwrap();
    let emails = contacts(&dir);
    contact_updates(&dir, &emails);
    contact_unsubscribes(&dir, &emails);
    companies(&dir);
    deals(&dir);
    archive(&dir);
    sync_nights(&dir);
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "samples written to {}", dir.display());
}
