//! Readers, mapping, validation and batching on real files.
