//! Writes the source files of the sample migration in `samples/migration/` (deterministic: a
//! fixed-seed generator, no randomness): an export of another CRM whose records name each other by
//! that CRM's own keys.
//!
//! Run: `cargo run --example make_migration` (rewrites companies.csv, contacts.csv, deals.csv and
//! notes.csv; the pipeline files and migration.toml are written by hand).
//!
//! - companies.csv: 2,000 accounts, keyed "Account Id" (`ACC-00001`…).
//! - contacts.csv: 5,000 people; "Account Id" names their company. Every 250th has none (no link);
//!   every 333rd names an account the export lost (`ACC-9…`): 15 broken links.
//! - deals.csv: 3,000 deals, each with its account and its contact's email. Every 401st names a lost
//!   account, every 499th a contact that left before the export: 13 broken links.
//! - notes.csv: 2,500 call notes on contacts (hs_timestamp). Every 307th names a contact that is not
//!   in the export: 8 broken links.

use std::fmt::Write as _;
use std::path::Path;

const COMPANIES: usize = 2_000;
const CONTACTS: usize = 5_000;
const DEALS: usize = 3_000;
const NOTES: usize = 2_500;

/// A tiny LCG: the files must not change when a dependency does.
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
    "Ann", "Bob", "Chloe", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Ivan", "Julia", "Kofi",
    "Lena", "Mateo", "Nora", "Omar", "Priya",
];
const LAST: &[&str] = &[
    "Smith", "Garcia", "Okafor", "Nguyen", "Muller", "Brien", "Rossi", "Kowalski", "Tanaka",
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
const CITY: &[&str] = &[
    "Boston",
    "Dublin",
    "Berlin",
    "Lagos",
    "Sao Paulo",
    "Tokyo",
    "Paris",
    "Toronto",
];
const STAGE: &[&str] = &[
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Contract Sent",
    "Closed Won",
    "Closed Lost",
];
const NOTE: &[&str] = &[
    "Intro call, wants a demo",
    "Sent pricing",
    "Follow-up: budget approved",
    "Asked about the API",
    "Renewal next quarter",
];

/// The account of company `i` (1-based).
fn account(i: usize) -> String {
    format!("ACC-{i:05}")
}

/// The email of contact `i` (1-based): the same spelling every file uses.
fn email(i: usize) -> String {
    let mut rng = Lcg(i as u64 * 7919);
    format!(
        "{}.{}{i}@{}.example.com",
        rng.pick(FIRST).to_lowercase(),
        rng.pick(LAST).to_lowercase(),
        rng.pick(COMPANY).to_lowercase()
    )
}

/// Whether contact `i` names a lost account (it is not loaded: nothing links to it).
fn lost_account(i: usize) -> bool {
    i.is_multiple_of(333)
}

/// A contact that is loaded, near `i`.
fn loaded_contact(i: usize) -> usize {
    let j = 1 + i % CONTACTS;
    if lost_account(j) { j + 1 } else { j }
}

fn companies(dir: &Path) {
    let mut rng = Lcg(11);
    let mut out = String::from("Account Id,Name,Domain,City\n");
    for i in 1..=COMPANIES {
        let base = rng.pick(COMPANY);
        let _ = writeln!(
            out,
            "{},{base} {i},{}{i}.example.com,{}",
            account(i),
            base.to_lowercase(),
            rng.pick(CITY)
        );
    }
    std::fs::write(dir.join("companies.csv"), out).unwrap();
}

fn contacts(dir: &Path) {
    let mut rng = Lcg(12);
    let mut out = String::from("Email,First Name,Last Name,Account Id\n");
    for i in 1..=CONTACTS {
        let email = email(i);
        let (first, last) = email.split_once('@').unwrap().0.split_once('.').unwrap();
        let last = last.trim_end_matches(|c: char| c.is_ascii_digit());
        let account = match i {
            _ if lost_account(i) => format!("ACC-9{:04}", i % 10_000),
            _ if i.is_multiple_of(250) => String::new(),
            _ => account(1 + (rng.next() as usize) % COMPANIES),
        };
        let _ = writeln!(out, "{email},{},{},{account}", title(first), title(last));
    }
    std::fs::write(dir.join("contacts.csv"), out).unwrap();
}

fn deals(dir: &Path) {
    let mut rng = Lcg(13);
    let mut out =
        String::from("Deal Id,Deal Name,Amount,Stage,Close Date,Account Id,Contact Email\n");
    for i in 1..=DEALS {
        let account = if i.is_multiple_of(401) {
            "ACC-77777".to_string()
        } else {
            account(1 + (i * 7) % COMPANIES)
        };
        let contact = if i.is_multiple_of(499) {
            format!("former.employee{i}@gone.example.com")
        } else {
            // Upper case now and then: the map of the contacts stage is keyed without case.
            let email = email(loaded_contact(i * 3));
            if i.is_multiple_of(10) {
                email.to_uppercase()
            } else {
                email
            }
        };
        let _ = writeln!(
            out,
            "D-{i:05},Renewal {i},{}.{:02},{},2027-{:02}-{:02},{account},{contact}",
            1_000 + rng.next() % 90_000,
            rng.next() % 100,
            rng.pick(STAGE),
            1 + rng.next() % 12,
            1 + rng.next() % 28
        );
    }
    std::fs::write(dir.join("deals.csv"), out).unwrap();
}

fn notes(dir: &Path) {
    let mut rng = Lcg(14);
    let mut out = String::from("Contact Email,When,Note\n");
    for i in 1..=NOTES {
        let contact = if i.is_multiple_of(307) {
            format!("unknown{i}@nowhere.example.com")
        } else {
            email(loaded_contact(i * 2))
        };
        let _ = writeln!(
            out,
            "{contact},2026-{:02}-{:02}T{:02}:{:02}:00Z,\"{}\"",
            1 + rng.next() % 11,
            1 + rng.next() % 28,
            8 + rng.next() % 10,
            rng.next() % 60,
            rng.pick(NOTE)
        );
    }
    std::fs::write(dir.join("notes.csv"), out).unwrap();
}

fn title(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/migration");
    std::fs::create_dir_all(&dir).unwrap();
    companies(&dir);
    contacts(&dir);
    deals(&dir);
    notes(&dir);
    println!("migration sample written to {}", dir.display());
}
