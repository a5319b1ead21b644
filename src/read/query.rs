//! Query strings for list reads: `name=value` pairs joined by `&`, every byte outside RFC 3986's
//! unreserved set percent-encoded (property names are plain, but `after` cursors are opaque).

use std::fmt::Write as _;

/// A query string being built (without the leading `?`).
#[derive(Debug, Default, Clone)]
pub struct Query(String);

impl Query {
    /// Appends `name=value`.
    pub fn push(&mut self, name: &str, value: &str) -> &mut Query {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        encode_into(&mut self.0, name);
        self.0.push('=');
        encode_into(&mut self.0, value);
        self
    }

    /// Appends `name=a,b,c` (HubSpot takes comma-separated lists); nothing when `values` is empty.
    pub fn push_list(&mut self, name: &str, values: &[String]) -> &mut Query {
        if !values.is_empty() {
            self.push(name, &values.join(","));
        }
        self
    }

    /// `path?query`, or `path` alone when the query is empty.
    pub fn on(&self, path: &str) -> String {
        if self.0.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", self.0)
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

fn encode_into(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_encoded_and_joined() {
        let mut q = Query::default();
        q.push("limit", "100")
            .push("after", "a b&c=é")
            .push_list("properties", &["email".into(), "first name".into()])
            .push_list("associations", &[]);
        assert_eq!(
            q.on("/x"),
            "/x?limit=100&after=a%20b%26c%3D%C3%A9&properties=email%2Cfirst%20name"
        );
        assert_eq!(Query::default().on("/x"), "/x");
    }
}
