//! Every rule type the engine evaluates, one test each: `etl validate` dead-letters exactly the values
//! the rule refuses (as `PROPERTY_VALIDATION`, naming the rule, its arguments, the column and the
//! value), and the sandbox refuses exactly the same values on 2026-09 writes (see `agree`).

use super::Target::{Contact, Note};
use super::agree;

/// 2024-01-01T00:00:00Z in epoch milliseconds.
const NEW_YEAR_2024: &str = "1704067200000";

#[test]
fn min_length() {
    agree(
        Contact("firstname"),
        "MIN_LENGTH",
        &["3"],
        // UTF-16 code units: the emoji counts 2 (one char), 中文 counts 2 (six bytes).
        &[("Ada", true), ("Al", false), ("👍a", true), ("中文", false)],
    );
}

#[test]
fn max_length() {
    // Counted in UTF-16 code units: the emoji counts 2 (one char), 中文字汉 counts 4 (12 bytes).
    agree(
        Contact("firstname"),
        "MAX_LENGTH",
        &["4"],
        &[
            ("Ada", true),
            ("Grace", false),
            ("中文字汉", true),
            ("a👍bc", false),
        ],
    );
}

#[test]
fn alphanumeric() {
    agree(
        Contact("zip"),
        "ALPHANUMERIC",
        &["NUMERIC_ONLY"],
        &[
            ("02139", true),
            ("021 39", true),
            ("MA02139", false),
            ("02139-1234", false),
        ],
    );
}

#[test]
fn special_characters() {
    agree(
        Contact("company"),
        "SPECIAL_CHARACTERS",
        &["NOT_ALLOWED"],
        &[
            ("Acme 42", true),
            ("Acme & Co", false),
            ("Zoë Ltd", true),
            ("acme.com", false),
        ],
    );
}

#[test]
fn whitespace() {
    agree(
        Contact("firstname"),
        "WHITESPACE",
        &["ALL"],
        &[
            ("Ada", true),
            ("Ada Lovelace", false),
            ("Zoë", true),
            ("Ada\tL", false),
        ],
    );
}

#[test]
fn format() {
    agree(
        Contact("jobtitle"),
        "FORMAT",
        &["CAPITALIZATION"],
        &[
            ("Chief Engineer", true),
            ("chief Engineer", false),
            ("VP of Sales", false),
            ("Über Ölmeister", true),
        ],
    );
}

#[test]
fn regex() {
    agree(
        Contact("jobtitle"),
        "REGEX",
        &["^[A-Z]{2}-[0-9]{4}$", "Use a code such as AB-1234"],
        &[
            ("AB-1234", true),
            ("ab-1234", false),
            ("AB-12345", false),
            ("ZZ-0000", true),
        ],
    );
}

#[test]
fn email() {
    agree(
        Contact("jobtitle"),
        "EMAIL",
        &[],
        &[
            ("ada@example.com", true),
            ("ada@example", false),
            ("ada example.com", false),
            ("zoë@bücher.de", true),
        ],
    );
}

#[test]
fn email_allowed_domains() {
    agree(
        Contact("jobtitle"),
        "EMAIL_ALLOWED_DOMAINS",
        &["acme.com"],
        &[
            ("ada@acme.com", true),
            ("ada@eu.acme.com", true),
            ("ada@notacme.com", false),
            ("ada", false),
        ],
    );
}

#[test]
fn email_blocked_domains() {
    agree(
        Contact("jobtitle"),
        "EMAIL_BLOCKED_DOMAINS",
        &["gmail.com"],
        &[
            ("ada@acme.com", true),
            ("ada@gmail.com", false),
            ("ada@mail.GMAIL.com", false),
            ("ada@gmail.co", true),
        ],
    );
}

#[test]
fn domain() {
    agree(
        Contact("website"),
        "DOMAIN",
        &[],
        &[
            ("example.com", true),
            ("https://example.com", false),
            ("localhost", false),
            ("a-b.example.co", true),
        ],
    );
}

#[test]
fn url() {
    agree(
        Contact("website"),
        "URL",
        &[],
        &[
            ("https://www.hubspot.com/pricing?x=1", true),
            ("hubspot.com", true),
            ("ftp://hubspot.com", false),
            ("https://hubspot", false),
        ],
    );
}

#[test]
fn url_allowed_domains() {
    agree(
        Contact("website"),
        "URL_ALLOWED_DOMAINS",
        &["hubspot.com"],
        &[
            ("https://www.hubspot.com", true),
            ("https://hubspot.com.evil.io", false),
            ("not a url", false),
            ("hubspot.com/x", true),
        ],
    );
}

#[test]
fn url_blocked_domains() {
    agree(
        Contact("website"),
        "URL_BLOCKED_DOMAINS",
        &["evil.io"],
        &[
            ("https://good.io", true),
            ("http://www.evil.io/x", false),
            ("evil.io", false),
            ("https://notevil.io", true),
        ],
    );
}

#[test]
fn phone_number_with_explicit_country_code() {
    agree(
        Contact("phone"),
        "PHONE_NUMBER_WITH_EXPLICIT_COUNTRY_CODE",
        &[],
        &[
            ("+1 617 555 0100", true),
            ("617 555 0100", false),
            ("+49 (30) 123456", true),
            ("+12345", false),
        ],
    );
}

#[test]
fn min_number() {
    agree(
        Contact("annualrevenue"),
        "MIN_NUMBER",
        &["10"],
        &[
            ("10", true),
            ("9.99", false),
            ("-20", false),
            ("1000000", true),
        ],
    );
}

#[test]
fn max_number() {
    agree(
        Contact("annualrevenue"),
        "MAX_NUMBER",
        &["100.5"],
        &[
            ("100.5", true),
            ("100.51", false),
            ("-3", true),
            ("1000", false),
        ],
    );
}

#[test]
fn decimal() {
    agree(
        Contact("annualrevenue"),
        "DECIMAL",
        &["2"],
        &[
            ("19.99", true),
            ("19.999", false),
            ("20", true),
            ("0.125", false),
        ],
    );
}

#[test]
fn start_date() {
    agree(
        Contact("date_of_birth"),
        "START_DATE",
        &[NEW_YEAR_2024],
        &[
            ("2024-01-01", true),
            ("2023-12-31", false),
            ("2025-06-30", true),
            ("1999-01-01", false),
        ],
    );
}

#[test]
fn end_date() {
    agree(
        Contact("date_of_birth"),
        "END_DATE",
        &[NEW_YEAR_2024],
        &[
            ("2024-01-01", true),
            ("2024-01-02", false),
            ("1906-12-09", true),
            ("2030-01-01", false),
        ],
    );
}

#[test]
fn start_datetime() {
    agree(
        Note("hs_timestamp"),
        "START_DATETIME",
        &[NEW_YEAR_2024],
        &[
            ("2024-01-01T00:00:00.000Z", true),
            ("2023-12-31T23:59:59.999Z", false),
            ("2025-01-01T12:00:00.000Z", true),
            ("2000-01-01T00:00:00.000Z", false),
        ],
    );
}

#[test]
fn end_datetime() {
    agree(
        Note("hs_timestamp"),
        "END_DATETIME",
        &[NEW_YEAR_2024],
        &[
            ("2024-01-01T00:00:00.000Z", true),
            ("2024-01-01T00:00:00.001Z", false),
            ("1999-12-31T23:00:00.000Z", true),
            ("2030-01-01T00:00:00.000Z", false),
        ],
    );
}

#[test]
fn days_of_week() {
    // 2024-06-01 is a Saturday.
    agree(
        Contact("date_of_birth"),
        "DAYS_OF_WEEK",
        &["SATURDAY", "sunday"],
        &[
            ("2024-06-01", true),
            ("2024-06-02", true),
            ("2024-06-03", false),
            ("2024-06-07", false),
        ],
    );
}
