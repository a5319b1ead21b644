//! The sandbox's bearer token as a value that never prints (`Debug` shows `**REDACTED**`) and is compared
//! in constant time. The engine has its own secret type; the sandbox shares no types with it.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// A bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Secret {
        Secret(token.into())
    }

    /// Whether `candidate` is this token. The time taken depends only on this token's length, never on
    /// how much of `candidate` matches, so a client cannot guess the token byte by byte from timings.
    pub fn matches(&self, candidate: &str) -> bool {
        same_bytes(self.0.as_bytes(), candidate.as_bytes())
    }

    /// Whether the token is empty (an empty `--token` means "no token").
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The token itself, for the one place that needs it (`SandboxConfig`, whose `Debug` hides it).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

/// Lets clap read `--token` straight into a `Secret`, so the parsed flags never hold it in plain text.
impl FromStr for Secret {
    type Err = Infallible;
    fn from_str(text: &str) -> Result<Secret, Infallible> {
        Ok(Secret::new(text))
    }
}

/// Constant-time equality: every byte of `expected` is visited and the differences are OR-ed together;
/// a length mismatch is folded in rather than returned early.
fn same_bytes(expected: &[u8], candidate: &[u8]) -> bool {
    let mut diff = u8::from(expected.len() != candidate.len());
    for (i, byte) in expected.iter().enumerate() {
        let other = candidate.get(i).copied().unwrap_or(!byte);
        diff |= byte ^ other;
    }
    // Keeps the optimiser from turning the loop into an early-exit compare.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_whole_tokens() {
        let secret = Secret::new("pat-na1-abc");
        assert!(secret.matches("pat-na1-abc"));
        for other in ["", "pat-na1-ab", "pat-na1-abcd", "pat-na1-abd", "x"] {
            assert!(!secret.matches(other), "{other}");
        }
        assert!(Secret::new("").matches(""));
    }

    #[test]
    fn never_prints() {
        let secret: Secret = "pat-very-secret".parse().unwrap();
        assert_eq!(format!("{secret:?}"), "**REDACTED**");
        assert_eq!(format!("{:?}", Some(secret)), "Some(**REDACTED**)");
    }
}
