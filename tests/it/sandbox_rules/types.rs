//! Every rule type enforced on a 2026-09 write, one test each: a value that passes, one that is refused
//! with the rule's code, and the refused value written through v3 and 2026-03, which do not enforce rules.

use chrono::{Duration, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::RULES_2609;
use crate::support::sandbox::{Sandbox, embedded};

/// One rule setting and a value it lets through and one it refuses with `code`.
struct Case<'a> {
    args: Value,
    good: &'a str,
    bad: &'a str,
    code: &'a str,
}

fn case<'a>(args: Value, good: &'a str, bad: &'a str, code: &'a str) -> Case<'a> {
    Case {
        args,
        good,
        bad,
        code,
    }
}

/// A record of `object` to write to, created through v3 (where rules do not apply).
async fn record(sb: &Sandbox, object: &str) -> String {
    let properties = match object {
        "contacts" => json!({"email": "base@example.com"}),
        "notes" => json!({"hs_timestamp": "2024-03-01T12:00:00Z"}),
        other => panic!("no base record for {other}"),
    };
    sb.create(object, properties).await
}

/// Sets each case's rule of `rule` on `object.property` and checks: the good value is written through
/// 2026-09, the bad one is refused there with HubSpot's validation shape and written through v3 and
/// 2026-03.
async fn enforced(object: &str, property: &str, rule: &str, cases: &[Case<'_>]) {
    let sb = &Sandbox::new().await;
    let id = record(sb, object).await;
    for c in cases {
        let path = format!("{RULES_2609}/{object}/{property}/rule-type/{rule}");
        let put = sb
            .send(Method::PUT, &path, Some(json!({"ruleArguments": c.args})))
            .await;
        assert_eq!(
            put.status,
            StatusCode::NO_CONTENT,
            "{rule} {}: {:?}",
            c.args,
            put.body
        );
        let patch = |version: &str, value: &str| {
            let path = match version {
                "v3" => format!("/crm/v3/objects/{object}/{id}"),
                dated => format!("/crm/objects/{dated}/{object}/{id}"),
            };
            let body = json!({"properties": {property: value}});
            async move { sb.patch(&path, body).await }
        };
        let good = patch("2026-09", c.good).await;
        assert_eq!(
            good.status,
            StatusCode::OK,
            "{rule} {} passes {:?}: {:?}",
            c.args,
            c.good,
            good.body
        );

        let bad = patch("2026-09", c.bad).await;
        assert_eq!(
            bad.status,
            StatusCode::BAD_REQUEST,
            "{rule} {} refuses {:?}",
            c.args,
            c.bad
        );
        assert_eq!(bad.body["category"], "VALIDATION_ERROR");
        let issue = &embedded(&bad.body["message"])[0];
        assert_eq!(issue["error"], c.code, "{rule} {}: {issue}", c.args);
        assert_eq!(issue["name"], property);
        assert_eq!(bad.body["errors"][0]["code"], c.code);
        assert_eq!(
            bad.body["errors"][0]["context"]["propertyName"],
            json!([property])
        );

        for version in ["v3", "2026-03"] {
            let through = patch(version, c.bad).await;
            assert_eq!(
                through.status,
                StatusCode::OK,
                "{version} does not enforce {rule}: {:?}",
                through.body
            );
        }
    }
}

fn today(days: i64) -> String {
    (Utc::now() + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn now(minutes: i64) -> String {
    (Utc::now() + Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[tokio::test]
async fn rule_min_length() {
    let cases = [case(json!(["3"]), "Ada", "Al", "INVALID_MIN_LENGTH")];
    enforced("contacts", "firstname", "MIN_LENGTH", &cases).await;
}

#[tokio::test]
async fn rule_max_length() {
    // Counted in UTF-16 code units: an emoji counts two.
    let cases = [
        case(json!(["3"]), "Ada", "Adam", "INVALID_MAX_LENGTH"),
        case(json!(["3"]), "Zoë", "Z😀ë", "INVALID_MAX_LENGTH"),
    ];
    enforced("contacts", "firstname", "MAX_LENGTH", &cases).await;
}

#[tokio::test]
async fn rule_regex() {
    let cases = [case(
        json!(["^[A-Z]+$", "Must be uppercase"]),
        "CEO",
        "Ceo",
        "INVALID_REGEX",
    )];
    enforced("contacts", "jobtitle", "REGEX", &cases).await;
    // The rule's second argument is the message.
    let sb = Sandbox::new().await;
    let path = format!("{RULES_2609}/0-1/jobtitle/rule-type/REGEX");
    sb.send(
        Method::PUT,
        &path,
        Some(json!({"ruleArguments": ["^[A-Z]+$", "Must be uppercase"]})),
    )
    .await;
    let reply = sb
        .post(
            "/crm/objects/2026-09/0-1",
            json!({"properties": {"email": "r@example.com", "jobtitle": "Ceo"}}),
        )
        .await;
    assert_eq!(
        embedded(&reply.body["message"])[0]["message"],
        "Must be uppercase"
    );
}

#[tokio::test]
async fn rule_min_number() {
    let cases = [case(
        json!(["-10.5"]),
        "-10.5",
        "-10.6",
        "INVALID_MIN_NUMBER",
    )];
    enforced("contacts", "annualrevenue", "MIN_NUMBER", &cases).await;
}

#[tokio::test]
async fn rule_max_number() {
    let cases = [case(json!(["99.99"]), "99.99", "1e2", "INVALID_MAX_NUMBER")];
    enforced("contacts", "annualrevenue", "MAX_NUMBER", &cases).await;
}

#[tokio::test]
async fn rule_decimal() {
    // At most two places after the point, counted as written (1.250 has three).
    let cases = [case(json!(["2"]), "1.25", "1.250", "INVALID_DECIMAL")];
    enforced("contacts", "annualrevenue", "DECIMAL", &cases).await;
}

#[tokio::test]
async fn rule_alphanumeric() {
    let cases = [
        case(json!(["ALPHA_ONLY"]), "Mary Ann", "R2D2", "INVALID_ALPHA"),
        case(json!(["NUMERIC_ONLY"]), "02139", "0213A", "INVALID_NUMERIC"),
        case(
            json!(["ALPHANUMERIC"]),
            "R2D2",
            "R2-D2",
            "INVALID_ALPHANUMERIC",
        ),
    ];
    enforced("contacts", "zip", "ALPHANUMERIC", &cases).await;
}

#[tokio::test]
async fn rule_whitespace() {
    let cases = [
        case(json!([]), "02139", "021 39", "INVALID_WHITESPACE"),
        case(json!(["ALL"]), "02139", "02139\t", "INVALID_WHITESPACE"),
        case(json!(["TRIM"]), "021 39", " 02139", "INVALID_WHITESPACE"),
    ];
    enforced("contacts", "zip", "WHITESPACE", &cases).await;
}

#[tokio::test]
async fn rule_special_characters() {
    let cases = [case(
        json!(["NOT_ALLOWED"]),
        "Acme Corp 2",
        "Acme & Co",
        "INVALID_SPECIAL_CHARACTERS",
    )];
    enforced("contacts", "company", "SPECIAL_CHARACTERS", &cases).await;
}

#[tokio::test]
async fn rule_format() {
    let cases = [
        case(json!(["UPPER"]), "NEW YORK", "New York", "INVALID_FORMAT"),
        case(json!(["LOWER"]), "new york", "New york", "INVALID_FORMAT"),
        case(
            json!(["CAPITALIZATION"]),
            "New York",
            "New york",
            "INVALID_FORMAT",
        ),
    ];
    enforced("contacts", "city", "FORMAT", &cases).await;
}

#[tokio::test]
async fn rule_email() {
    let cases = [case(
        json!([]),
        "ada@example.com",
        "ada at example",
        "INVALID_EMAIL",
    )];
    enforced("contacts", "jobtitle", "EMAIL", &cases).await;
}

#[tokio::test]
async fn rule_email_allowed_domains() {
    // A listed domain covers its subdomains.
    let cases = [case(
        json!(["company.com", "partner.com"]),
        "ada@eu.company.com",
        "ada@gmail.com",
        "INVALID_EMAIL_DOMAIN",
    )];
    enforced("contacts", "email", "EMAIL_ALLOWED_DOMAINS", &cases).await;
}

#[tokio::test]
async fn rule_email_blocked_domains() {
    let cases = [case(
        json!(["competitor.com"]),
        "ada@company.com",
        "ada@Competitor.com",
        "INVALID_EMAIL_DOMAIN",
    )];
    enforced("contacts", "email", "EMAIL_BLOCKED_DOMAINS", &cases).await;
}

#[tokio::test]
async fn rule_url() {
    let cases = [case(
        json!([]),
        "https://www.example.com/about",
        "example dot com",
        "INVALID_URL",
    )];
    enforced("contacts", "website", "URL", &cases).await;
}

#[tokio::test]
async fn rule_url_allowed_domains() {
    let cases = [case(
        json!(["hubspot.com"]),
        "https://www.hubspot.com/products",
        "https://example.com",
        "INVALID_URL_DOMAIN",
    )];
    enforced("contacts", "website", "URL_ALLOWED_DOMAINS", &cases).await;
}

#[tokio::test]
async fn rule_url_blocked_domains() {
    let cases = [case(
        json!(["spam.com", "bad-site.net"]),
        "https://example.com",
        "http://www.spam.com/offer",
        "INVALID_URL_DOMAIN",
    )];
    enforced("contacts", "website", "URL_BLOCKED_DOMAINS", &cases).await;
}

#[tokio::test]
async fn rule_domain() {
    let cases = [case(
        json!([]),
        "example.com",
        "https://example.com",
        "INVALID_DOMAIN",
    )];
    enforced("contacts", "company", "DOMAIN", &cases).await;
}

#[tokio::test]
async fn rule_phone_number_with_explicit_country_code() {
    let cases = [
        case(
            json!([]),
            "+1 (617) 555-0100",
            "617 555 0100",
            "INVALID_PHONE_NUMBER",
        ),
        case(
            json!(["de"]),
            "+49 30 1234567",
            "+1 617 555 0100",
            "INVALID_PHONE_NUMBER",
        ),
    ];
    enforced(
        "contacts",
        "phone",
        "PHONE_NUMBER_WITH_EXPLICIT_COUNTRY_CODE",
        &cases,
    )
    .await;
}

#[tokio::test]
async fn rule_start_date() {
    // 1640995200000 is 2022-01-01T00:00:00Z; the bound is inclusive.
    let cases = [case(
        json!(["1640995200000"]),
        "2022-01-01",
        "2021-12-31",
        "INVALID_DATE_RANGE",
    )];
    enforced("contacts", "date_of_birth", "START_DATE", &cases).await;
}

#[tokio::test]
async fn rule_end_date() {
    let cases = [case(
        json!(["1640995200000"]),
        "2022-01-01",
        "2022-01-02",
        "INVALID_DATE_RANGE",
    )];
    enforced("contacts", "date_of_birth", "END_DATE", &cases).await;
}

#[tokio::test]
async fn rule_after_duration() {
    // Within 7 days from today (today included).
    let (good, bad) = (today(3), today(10));
    let cases = [case(json!(["P7D"]), &good, &bad, "INVALID_DATE_RANGE")];
    enforced("contacts", "date_of_birth", "AFTER_DURATION", &cases).await;
}

#[tokio::test]
async fn rule_before_duration() {
    let (good, bad) = (today(-10), today(-40));
    let cases = [case(json!(["P30D"]), &good, &bad, "INVALID_DATE_RANGE")];
    enforced("contacts", "date_of_birth", "BEFORE_DURATION", &cases).await;
}

#[tokio::test]
async fn rule_start_datetime() {
    // 1709294400000 is 2024-03-01T12:00:00Z.
    let cases = [case(
        json!(["1709294400000"]),
        "2024-03-01T12:00:00Z",
        "2024-03-01T11:59:59.999Z",
        "INVALID_DATE_RANGE",
    )];
    enforced("notes", "hs_timestamp", "START_DATETIME", &cases).await;
}

#[tokio::test]
async fn rule_end_datetime() {
    let cases = [case(
        json!(["1709294400000"]),
        "1709294400000",
        "2024-03-01T12:00:00.001Z",
        "INVALID_DATE_RANGE",
    )];
    enforced("notes", "hs_timestamp", "END_DATETIME", &cases).await;
}

#[tokio::test]
async fn rule_after_datetime_duration() {
    let (good, bad) = (now(60), now(3 * 24 * 60));
    let cases = [case(json!(["P1D"]), &good, &bad, "INVALID_DATE_RANGE")];
    enforced("notes", "hs_timestamp", "AFTER_DATETIME_DURATION", &cases).await;
}

#[tokio::test]
async fn rule_before_datetime_duration() {
    let (good, bad) = (now(-10), now(-120));
    let cases = [case(json!(["PT1H"]), &good, &bad, "INVALID_DATE_RANGE")];
    enforced("notes", "hs_timestamp", "BEFORE_DATETIME_DURATION", &cases).await;
}

#[tokio::test]
async fn rule_days_of_week() {
    // 2024-03-04 was a Monday; datetimes count by their UTC day.
    let cases = [case(
        json!(["MONDAY", "WEDNESDAY"]),
        "2024-03-06",
        "2024-03-05",
        "INVALID_DAY_OF_WEEK",
    )];
    enforced("contacts", "date_of_birth", "DAYS_OF_WEEK", &cases).await;
    let cases = [case(
        json!(["FRIDAY"]),
        "2024-03-01T23:59:59Z",
        "2024-03-02T00:00:00Z",
        "INVALID_DAY_OF_WEEK",
    )];
    enforced("notes", "hs_timestamp", "DAYS_OF_WEEK", &cases).await;
}
