//! (placeholder: filled in by the readers/validation work)
