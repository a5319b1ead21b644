//! Reading records back from a portal, for `etl export` and `etl verify`: every request through
//! the [`Portal`](crate::portal::Portal) (its rate gate inside its retry loop), with the answers
//! parsed straight into what the reader wants.
//!
//! Parts:
//! - `request`: the reads — a list page, a batch read by record id or by a unique property, the
//!   v4 association reads — and why a read has no answer;
//! - `page`: a page of records parsed into the reader's columns (no map per record);
//! - `query`: query strings, percent-encoded.

pub mod page;
mod query;
pub mod request;

pub use page::{Page, Record, Version, Wanted};
pub use request::{ReadError, Selection};
