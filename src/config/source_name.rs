//! What a source's name tells: its format and compression from its extensions (`.csv`, `.tsv`,
//! `.parquet`, then `.gz` or `.zst`), `-` for standard input, and URLs of objects in a store.

use std::path::Path;

use super::{Compression, SourceFormat};

/// `path = "-"`: the rows come from standard input.
pub const STDIN: &str = "-";

/// The URL schemes of sources on object storage (read through the `object_store` crate).
const REMOTE: [&str; 10] = [
    "s3://", "s3a://", "gs://", "az://", "azure://", "abfs://", "abfss://", "adl://", "http://",
    "https://",
];

/// Whether `path` is the URL of an object in a store rather than a local file.
pub fn is_remote(path: &Path) -> bool {
    path.to_str().is_some_and(|p| {
        REMOTE.iter().any(|scheme| {
            p.get(..scheme.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        })
    })
}

/// Whether `path` names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// The compression a name's last extension says.
pub fn compression_of(path: &Path) -> Compression {
    match last_extension(path).as_str() {
        "gz" | "gzip" => Compression::Gzip,
        "zst" | "zstd" => Compression::Zstd,
        _ => Compression::None,
    }
}

/// The extension that says the format: the last one, or the one before `.gz`/`.zst`.
fn format_extension(path: &Path) -> String {
    match compression_of(path) {
        Compression::None => last_extension(path),
        _ => path
            .file_stem()
            .map(Path::new)
            .map(last_extension)
            .unwrap_or_default(),
    }
}

fn last_extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

pub(super) fn is_tsv(path: &Path) -> bool {
    format_extension(path) == "tsv"
}

pub(super) fn format_from_extension(path: &Path) -> Option<SourceFormat> {
    match format_extension(path).as_str() {
        "csv" | "tsv" | "txt" => Some(SourceFormat::Csv),
        "parquet" | "pq" => Some(SourceFormat::Parquet),
        _ => None,
    }
}

pub(super) fn default_delimiter(path: &Path) -> u8 {
    if is_tsv(path) { b'\t' } else { b',' }
}

/// Why a source of `format` cannot be read with `compression` from `path`, if it cannot.
pub(super) fn unreadable_combination(
    path: &Path,
    format: SourceFormat,
    compression: Compression,
) -> Option<&'static str> {
    match (format, compression, is_stdin(path)) {
        (SourceFormat::Parquet, _, true) => Some(
            "a Parquet source cannot come from standard input (it is read by ranges, from its end): \
             name the file",
        ),
        (SourceFormat::Parquet, Compression::Gzip | Compression::Zstd, _) => {
            Some("a Parquet file compresses its own pages: name the file .parquet, uncompressed")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_read_under_the_compression() {
        let p = Path::new;
        assert_eq!(compression_of(p("a/contacts.csv.gz")), Compression::Gzip);
        assert_eq!(compression_of(p("contacts.TSV.ZST")), Compression::Zstd);
        assert_eq!(compression_of(p("contacts.csv")), Compression::None);
        assert_eq!(
            format_from_extension(p("contacts.csv.gz")),
            Some(SourceFormat::Csv)
        );
        assert_eq!(
            format_from_extension(p("c.parquet")),
            Some(SourceFormat::Parquet)
        );
        assert_eq!(format_from_extension(p("contacts.gz")), None);
        assert!(is_tsv(p("contacts.tsv.zst")));
        assert_eq!(default_delimiter(p("contacts.tsv.gz")), b'\t');
        assert!(is_stdin(p("-")));
        assert!(!is_stdin(p("./-")));
    }
}
