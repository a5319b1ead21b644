//! (placeholder: the sandbox)
