//! Web names for the text rules: domain names (`DOMAIN` and the domain lists), URLs and their host
//! (`URL`, `URL_*_DOMAINS`), the domain of an email address (`EMAIL_*_DOMAINS`), and how a host matches
//! a listed domain.

use super::super::values;

/// A domain name: two or more dot-separated labels of ASCII letters, digits and `-` (1–63 characters,
/// not starting or ending with `-`), the last one (the TLD) two or more letters; 253 characters at most.
pub fn is_domain(text: &str) -> bool {
    if text.is_empty() || text.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = text.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// The lower-cased host of a URL: an optional `http://` or `https://` (any case), a domain name, an
/// optional `:port` of 1–5 digits, then nothing or a path, query or fragment starting with `/`, `?` or
/// `#`. No whitespace anywhere. `None` when the text is not such a URL.
pub fn url_host(text: &str) -> Option<String> {
    if text.chars().any(char::is_whitespace) {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = match authority.split_once(':') {
        Some((host, port))
            if (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host
        }
        Some(_) => return None,
        None => authority,
    };
    is_domain(host).then(|| host.to_owned())
}

/// The lower-cased domain of a valid email address (the text after its `@`).
pub fn email_domain(text: &str) -> Option<String> {
    if !values::is_email(text) {
        return None;
    }
    text.rsplit_once('@').map(|(_, d)| d.to_lowercase())
}

/// Whether `host` is `domain` or a subdomain of it (`www.example.com` is within `example.com`); both
/// compared without case.
pub fn within(host: &str, domain: &str) -> bool {
    let domain = domain.to_ascii_lowercase();
    host == domain
        || host
            .strip_suffix(domain.as_str())
            .is_some_and(|head| head.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        for good in ["example.com", "a-b.example.co", "X1.io"] {
            assert!(is_domain(good), "{good}");
        }
        for bad in [
            "localhost",
            "-a.com",
            "a-.com",
            "a..com",
            "a.c",
            "a.c0m",
            "a_b.com",
            "é.com",
        ] {
            assert!(!is_domain(bad), "{bad}");
        }
    }

    #[test]
    fn urls_and_hosts() {
        assert_eq!(
            url_host("HTTPS://www.Example.com:8080/a?b#c").as_deref(),
            Some("www.example.com")
        );
        assert_eq!(url_host("example.com").as_deref(), Some("example.com"));
        for bad in [
            "ftp://example.com",
            "https://",
            "https://exa mple.com",
            "https://example.com:port",
            "example",
        ] {
            assert_eq!(url_host(bad), None, "{bad}");
        }
    }

    #[test]
    fn hosts_within_domains() {
        assert!(within("www.example.com", "example.com"));
        assert!(within("example.com", "Example.com"));
        assert!(!within("badexample.com", "example.com"));
        assert_eq!(
            email_domain("a@Mail.Example.com").as_deref(),
            Some("mail.example.com")
        );
        assert_eq!(email_domain("nope"), None);
    }
}
