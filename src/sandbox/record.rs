//! One record of a table: its id, its three timestamps, and its property values with their history.

use super::history::History;

/// One record. `values` holds every property's current value and its history (see `history.rs`).
#[derive(Debug, Clone)]
pub struct Record {
    pub id: u64,
    pub created: i64,
    pub updated: i64,
    pub archived: Option<i64>,
    pub values: History,
}

impl Record {
    /// The current value of a property (`None` when unset or cleared).
    pub fn current(&self, prop: usize) -> Option<&str> {
        self.values.current(prop)
    }
}
