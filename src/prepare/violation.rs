//! A reason a row is invalid, and the dead-letter rejection built from a row's reasons.

use std::fmt;

use super::row::{Fields, RejectStatus, Rejection, row_label};

/// One reason a row is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// HubSpot's category word (`INVALID_EMAIL`, `INVALID_OPTION`, `REQUIRED_PROPERTY`, …).
    pub category: &'static str,
    /// The source column(s), quoted, when one is involved.
    pub column: Option<String>,
    /// The property, when one is involved.
    pub property: Option<String>,
    /// The offending value (after transforms).
    pub value: String,
    /// Why, in words a person can act on.
    pub reason: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(column) = &self.column {
            write!(f, "column {column}")?;
            if self.property.is_some() {
                f.write_str(" → ")?;
            }
        }
        if let Some(property) = &self.property {
            write!(f, "property {property}")?;
        }
        if self.column.is_some() || self.property.is_some() {
            f.write_str(": ")?;
        }
        if self.value.is_empty() {
            write!(f, "{} [{}]", self.reason, self.category)
        } else {
            write!(
                f,
                "{} {} [{}]",
                quote(&self.value),
                self.reason,
                self.category
            )
        }
    }
}

/// Characters of a value a message quotes: enough to recognise it, never a whole 64 KB cell.
const QUOTED_CHARS: usize = 200;

/// `value` quoted for a message: the first [`QUOTED_CHARS`] characters, and its length when longer.
pub fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTED_CHARS) {
        None => format!("{value:?}"),
        Some((end, _)) => format!(
            "{:?}… ({} characters)",
            &value[..end],
            value.chars().count()
        ),
    }
}

/// Builds the dead-letter rejection for a row with these violations (at least one).
pub fn rejection(
    row: u64,
    origin: Option<u64>,
    fields: Fields,
    violations: &[Violation],
) -> Rejection {
    let mut message = format!("row {}: ", row_label(row, origin));
    for (i, v) in violations.iter().enumerate() {
        if i > 0 {
            message.push_str("; ");
        }
        message.push_str(&v.to_string());
    }
    Rejection {
        row,
        origin,
        fields,
        status: RejectStatus::Invalid,
        category: violations
            .first()
            .map_or("VALIDATION_ERROR", |v| v.category)
            .to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_quoted_short() {
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        let long = "x".repeat(70_000);
        let quoted = quote(&long);
        assert!(quoted.len() < 260, "{}", quoted.len());
        assert!(quoted.ends_with("… (70000 characters)"), "{quoted}");
    }
}
