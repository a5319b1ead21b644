//! A type for the API token: its `Debug` and `Display` never show the value, so it cannot leak into
//! logs, errors or reports by accident.

use std::fmt;

/// A secret string (the API token). Read it only with [`Secret::expose`], at the one place that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Call this only where it is put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**REDACTED**)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("pat-na1-very-secret");
        assert!(!format!("{secret:?}").contains("very-secret"));
        assert!(!format!("{secret}").contains("very-secret"));
        assert_eq!(secret.expose(), "pat-na1-very-secret");
    }
}
