//! Property validation rules (HubSpot's Property Validations API): rules an admin sets on a property
//! (`MAX_LENGTH`, `REGEX`, `START_DATE`, …), which writes through the 2026-09 API must satisfy.
//!
//! Parts:
//! - `kind`: the 27 rule types of the spec and the property types each applies to.
//! - `rule`: one rule, its wire shape, and its arguments read (and refused) when it is set.
//! - `check`: a stored value against a rule → pass, or an error code and message.
//! - `period` (ISO-8601 periods of the duration rules), `phone` (calling codes), `web` (domains, URLs).
//! - `set`: the rules of a portal (`RuleSet`) and the live/start pair behind reset (`RuleBook`).
//! - `file`: the rules file of `--rules-file` and of `/_sandbox/config`.

mod check;
mod file;
mod kind;
mod period;
mod phone;
mod rule;
mod set;
mod web;

pub use file::{from_value, load};
pub use kind::RuleType;
pub use rule::{Rule, RuleBody};
pub use set::{RuleBook, RuleSet};
