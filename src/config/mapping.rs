//! The `[mapping]` table's validated types: which property each column becomes, and how.

/// One `[mapping]` entry, as declared in `pipeline.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyMapping {
    /// The HubSpot property (internal name) to write.
    pub property: String,
    pub source: ValueSource,
    /// Trim surrounding whitespace (typed values are always trimmed).
    pub trim: bool,
    /// Lowercase the value.
    pub lowercase: bool,
    /// Labels → internal enumeration values; exact match first, then case-insensitive.
    pub values: Vec<(String, String)>,
    /// Parse and re-render as this type; `None` takes the type from the portal's schema.
    pub kind: Option<ValueType>,
    /// chrono format for date/datetime input, e.g. `%d/%m/%Y`.
    pub format: Option<String>,
    /// Used when the cell is empty.
    pub default: Option<String>,
    /// Split one cell on this separator and re-join with `;` (multi-checkbox).
    pub split: Option<String>,
}

impl PropertyMapping {
    /// A plain `property = "Column"` mapping.
    pub fn column(property: impl Into<String>, column: impl Into<String>) -> Self {
        PropertyMapping {
            property: property.into(),
            source: ValueSource::Column(column.into()),
            trim: false,
            lowercase: false,
            values: Vec::new(),
            kind: None,
            format: None,
            default: None,
            split: None,
        }
    }
}

/// Where a property's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    Column(String),
    /// Several columns joined with `;` (multi-checkbox), empty cells left out.
    Columns(Vec<String>),
    /// The same value for every row.
    Constant(String),
}

/// A typed transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Date,
    DateTime,
    Number,
    Bool,
}
