//! The rules on addresses held in text: email addresses and their domains, domain names, URLs and
//! their hosts, phone numbers with an explicit country code.
//!
//! Where the rules' documentation leaves room, these checks pass the value and let the portal
//! judge it: refusing a row HubSpot would take loses it, passing one it refuses only costs a
//! dead letter with HubSpot's own message.

/// A domain name: two or more dot-separated labels of 1–63 ASCII letters, digits and `-` (not at a
/// label's start or end), the last label two or more letters; 253 characters at most.
pub fn is_domain(text: &str) -> bool {
    if text.is_empty() || text.len() > 253 {
        return false;
    }
    let mut labels = text.split('.').peekable();
    let mut count = 0;
    while let Some(label) = labels.next() {
        count += 1;
        let ok = (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return false;
        }
        if labels.peek().is_none() {
            return count >= 2
                && label.len() >= 2
                && label.bytes().all(|b| b.is_ascii_alphabetic());
        }
    }
    false
}

/// The domain of an email address, lower-cased: one `@`, a non-empty local part, no whitespace, a
/// domain of two or more dot-separated labels of letters, digits and `-`, the last label two or more
/// letters. Letters include every non-ASCII character (internationalized domains are the portal's to
/// judge). `None` when `text` is not such an address.
pub fn email_domain(text: &str) -> Option<String> {
    let (local, domain) = text.split_once('@')?;
    if local.is_empty() || domain.contains('@') || text.chars().any(char::is_whitespace) {
        return None;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
    };
    let last_ok = labels.last().is_some_and(|tld| {
        tld.chars().count() >= 2
            && tld
                .chars()
                .all(|c| c.is_ascii_alphabetic() || !c.is_ascii())
    });
    (labels.len() >= 2 && labels.iter().all(label_ok) && last_ok).then(|| domain.to_lowercase())
}

/// The host of a URL, lower-cased: no whitespace; an optional `http://` or `https://` (any case); a
/// domain name; an optional `:port` of 1–5 digits; then nothing, or anything from a `/`, `?` or `#`.
/// `None` when `text` is not such a URL.
pub fn url_host(text: &str) -> Option<String> {
    if text.chars().any(char::is_whitespace) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .unwrap_or(&lower);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.split_once(':') {
        None => authority,
        Some((host, port))
            if (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        Some(_) => return None,
    };
    is_domain(host).then(|| host.to_string())
}

/// Whether `host` is one of `domains` or a subdomain of one (`eu.acme.com` is within `acme.com`);
/// `host` lower-cased, `domains` compared without case.
pub fn within(host: &str, domains: &[String]) -> bool {
    domains.iter().any(|domain| {
        let domain = domain.to_ascii_lowercase();
        host == domain
            || host
                .strip_suffix(domain.as_str())
                .is_some_and(|head| head.ends_with('.'))
    })
}

/// `EMAIL`.
pub fn email(value: &str) -> Result<(), String> {
    email_domain(value)
        .map(|_| ())
        .ok_or_else(|| "is not an email address".into())
}

/// `DOMAIN`.
pub fn domain(value: &str) -> Result<(), String> {
    if is_domain(value) {
        Ok(())
    } else {
        Err("is not a domain name".into())
    }
}

/// `URL`.
pub fn url(value: &str) -> Result<(), String> {
    url_host(value)
        .map(|_| ())
        .ok_or_else(|| "is not a URL".into())
}

/// `EMAIL_ALLOWED_DOMAINS` (`allowed`) and `EMAIL_BLOCKED_DOMAINS`.
pub fn email_domains(value: &str, domains: &[String], allowed: bool) -> Result<(), String> {
    let host = email_domain(value).ok_or("is not an email address")?;
    listed(&host, domains, allowed)
}

/// `URL_ALLOWED_DOMAINS` (`allowed`) and `URL_BLOCKED_DOMAINS`.
pub fn url_domains(value: &str, domains: &[String], allowed: bool) -> Result<(), String> {
    let host = url_host(value).ok_or("is not a URL")?;
    listed(&host, domains, allowed)
}

fn listed(host: &str, domains: &[String], allowed: bool) -> Result<(), String> {
    match (within(host, domains), allowed) {
        (true, true) | (false, false) => Ok(()),
        (false, true) => Err(format!("has the domain {host}, which is not allowed")),
        (true, false) => Err(format!("has the domain {host}, which is blocked")),
    }
}

/// `PHONE_NUMBER_WITH_EXPLICIT_COUNTRY_CODE` without a country: a `+`, then only digits, spaces,
/// `-`, `.`, `(` and `)`, with 7 to 15 digits.
pub fn phone_with_country_code(value: &str) -> Result<(), String> {
    let Some(rest) = value.strip_prefix('+') else {
        return Err("does not start with + and a country code".into());
    };
    if let Some(c) = rest
        .chars()
        .find(|&c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')')))
    {
        return Err(format!("has {c:?}, which a phone number does not"));
    }
    let digits = rest.bytes().filter(u8::is_ascii_digit).count();
    if (7..=15).contains(&digits) {
        Ok(())
    } else {
        Err(format!("has {digits} digits, not 7 to 15"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(domains: &[&str]) -> Vec<String> {
        domains.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn domains() {
        for good in ["example.com", "a-b.example.co", "X1.io"] {
            assert!(domain(good).is_ok(), "{good}");
        }
        for bad in [
            "localhost",
            "example.c0m",
            "-a.com",
            "a-.com",
            "a..com",
            "example.c",
            "https://example.com",
            "exa mple.com",
            "",
        ] {
            assert!(domain(bad).is_err(), "{bad}");
        }
        assert!(domain(&format!("{}.com", "a".repeat(64))).is_err());
    }

    #[test]
    fn emails_and_their_domains() {
        assert_eq!(
            email_domain("Ada@Example.COM").as_deref(),
            Some("example.com")
        );
        assert!(email("o'neil+tag@eu.acme.ie").is_ok());
        assert!(email("zoë@bücher.de").is_ok());
        for bad in [
            "ada",
            "@acme.com",
            "a@b@acme.com",
            "a b@acme.com",
            "a@acme",
            "a@acme.c",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        let acme = list(&["Acme.com"]);
        assert!(email_domains("a@eu.acme.com", &acme, true).is_ok());
        assert!(email_domains("a@notacme.com", &acme, true).is_err());
        assert!(email_domains("a@acme.com", &acme, false).is_err());
        assert!(email_domains("a@other.org", &acme, false).is_ok());
        let why = email_domains("nope", &acme, false).unwrap_err();
        assert!(why.contains("not an email"), "{why}");
    }

    #[test]
    fn urls_and_their_hosts() {
        assert_eq!(
            url_host("HTTPS://www.HubSpot.com:443/a?b#c").as_deref(),
            Some("www.hubspot.com")
        );
        assert_eq!(url_host("hubspot.com").as_deref(), Some("hubspot.com"));
        for bad in [
            "ftp://hubspot.com",
            "https://hubspot",
            "https://hubspot.com:123456",
            "https://hubspot.com:x",
            "https://hub spot.com",
            "hubspot.com/ path",
        ] {
            assert!(url(bad).is_err(), "{bad}");
        }
        let hubspot = list(&["hubspot.com"]);
        assert!(url_domains("https://www.hubspot.com", &hubspot, true).is_ok());
        assert!(url_domains("https://hubspot.com.evil.io", &hubspot, true).is_err());
        assert!(url_domains("https://hubspot.com", &hubspot, false).is_err());
    }

    #[test]
    fn phones() {
        assert!(phone_with_country_code("+1 (617) 555-0100").is_ok());
        assert!(phone_with_country_code("+49.30.1234567").is_ok());
        assert!(phone_with_country_code("617 555 0100").is_err());
        assert!(phone_with_country_code("+1 617 555 01x0").is_err());
        assert!(phone_with_country_code("+123456").is_err(), "6 digits");
        assert!(
            phone_with_country_code("+1234567890123456").is_err(),
            "16 digits"
        );
    }
}
