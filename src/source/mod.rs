//! (placeholder: source readers)
