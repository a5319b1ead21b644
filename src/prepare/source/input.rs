//! The bytes of a CSV source: a file as it is, a compressed file through a streaming decoder
//! (gzip, zstd: never unpacked whole, so memory stays flat whatever the size), standard input, or
//! an object in a store (streamed, and decoded the same way).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::remote::Object;
use crate::config::Compression;
use crate::config::source_name::{is_remote, is_stdin};

/// A source's bytes, decoded; read on the prepare thread.
pub(super) type Input = Box<dyn Read + Send>;

/// Opens `path` (`-`: standard input) and decodes it as `compression` says.
pub(super) fn open(path: &Path, compression: Compression) -> std::io::Result<Input> {
    let raw: Input = if is_stdin(path) {
        Box::new(std::io::stdin())
    } else if is_remote(path) {
        let url = path.to_str().unwrap_or_default();
        Box::new(Object::open(url)?.reader_from(0)?)
    } else {
        Box::new(File::open(path)?)
    };
    Ok(match compression {
        Compression::None => raw,
        // Multi-member: `pigz` and concatenated `gzip` outputs are one stream of several members.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(raw))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(raw)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn compressed_files_read_back_as_written() {
        let text = "Email,Name\na@example.com,Ann\n".repeat(1000);
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("a.csv.gz");
        let mut encoder =
            flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap();
        let zst = dir.path().join("a.csv.zst");
        std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
        for (path, compression) in [(gz, Compression::Gzip), (zst, Compression::Zstd)] {
            let mut read = String::new();
            open(&path, compression)
                .unwrap()
                .read_to_string(&mut read)
                .unwrap();
            assert_eq!(read, text, "{}", path.display());
        }
    }

    #[test]
    fn a_damaged_stream_is_an_error_not_an_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv.gz");
        std::fs::write(&path, b"\x1f\x8b\x08\x00garbage, not deflate").unwrap();
        let mut read = Vec::new();
        let result = open(&path, Compression::Gzip)
            .unwrap()
            .read_to_end(&mut read);
        assert!(result.is_err());
    }
}
