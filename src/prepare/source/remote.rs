//! Sources on object storage (`s3://`, `gs://`, `az://`, `http(s)://`) through the `object_store`
//! crate: credentials from each cloud's standard environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`, and
//! the instance or workload identity the crate finds), never from the pipeline file. A CSV object
//! is streamed; a Parquet object is read by ranges (its footer, then one row group at a time),
//! never downloaded whole. The readers run on the prepare thread, so every request is driven on a
//! small runtime of this module's own and waited for there.

use std::io::Read;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3ConfigKey;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreScheme};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};

use super::aws_profile;

/// How much of a Parquet object's end is fetched at once: the 8-byte trailer and, for most files,
/// the whole footer, in one request.
const FOOTER_GUESS: u64 = 64 * 1024;

/// The largest row group held whole: larger ones are read page by page (more requests, less memory).
/// Writers' defaults (pyarrow, Spark, DuckDB) stay well under it.
const ROW_GROUP_HOLD_LIMIT: u64 = 128 * 1024 * 1024;

/// The runtime that drives object-store requests for blocking readers. One worker is plenty: the
/// readers wait for one request at a time.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("etl-object-store")
            .enable_all()
            .build()
            .expect("a runtime for object storage")
    })
}

/// Runs `future` on [`runtime`] and waits for it: callable from any thread, async or not (no
/// runtime is nested; the caller's thread just blocks, as it would on a file).
fn wait<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> std::io::Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv()
        .map_err(|_| std::io::Error::other("the object-storage request was abandoned"))
}

fn io(err: object_store::Error) -> std::io::Error {
    match err {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, err.to_string())
        }
        other => std::io::Error::other(other.to_string()),
    }
}

/// One object: its store, its path in it, and what a HEAD said of it.
#[derive(Clone)]
pub(super) struct Object {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    size: u64,
    /// ETag and version, as the store gave them: the object's identity for `--resume`.
    identity: String,
    /// Parquet only: the bytes fetched so far and still of use.
    held: Arc<Mutex<Held>>,
}

/// What a Parquet object's reader keeps between requests: the footer's bytes, the byte spans of
/// the row groups (from the footer), and the row group being read. Parquet's reader asks for each
/// page header and page separately; serving them from the row group fetched whole turns hundreds of
/// small requests into one per row group, and memory holds one row group, never the object.
#[derive(Default)]
struct Held {
    footer: Option<(u64, Bytes)>,
    spans: Vec<Range<u64>>,
    group: Option<(u64, Bytes)>,
}

impl Held {
    /// The held bytes from `start` to the end of the region holding `start..end`, if any.
    fn from(&self, start: u64, end: u64) -> Option<Bytes> {
        [&self.footer, &self.group]
            .into_iter()
            .flatten()
            .find(|(at, bytes)| *at <= start && end <= at + bytes.len() as u64)
            .map(|(at, bytes)| bytes.slice((start - at) as usize..))
    }

    /// The row group span holding `start..end`, when it is small enough to hold.
    fn span(&self, start: u64, end: u64) -> Option<Range<u64>> {
        self.spans
            .iter()
            .find(|span| span.start <= start && end <= span.end)
            .filter(|span| span.end - span.start <= ROW_GROUP_HOLD_LIMIT)
            .cloned()
    }
}

impl Object {
    /// Connects to the store `url` names and asks for the object's size and identity.
    pub(super) fn open(url: &str) -> std::io::Result<Object> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| std::io::Error::other(format!("not a URL: {e}")))?;
        let (scheme, path) =
            ObjectStoreScheme::parse(&parsed).map_err(|e| std::io::Error::other(e.to_string()))?;
        let store: Arc<dyn ObjectStore> = match scheme {
            ObjectStoreScheme::AmazonS3 => {
                // The environment first, then the shared profile files, as AWS's chain has it;
                // the web identity, container and instance credentials come after, in the crate.
                let builder = aws_profile::settings().into_iter().fold(
                    object_store::aws::AmazonS3Builder::from_env(),
                    |builder, (key, value)| match key.parse::<AmazonS3ConfigKey>() {
                        Ok(key) => builder.with_config(key, value),
                        Err(_) => builder,
                    },
                );
                Arc::new(builder.with_url(url).build().map_err(io)?)
            }
            ObjectStoreScheme::GoogleCloudStorage => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(io)?,
            ),
            ObjectStoreScheme::MicrosoftAzure => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(io)?,
            ),
            ObjectStoreScheme::Http => Arc::new(
                object_store::http::HttpBuilder::new()
                    .with_url(parsed.origin().ascii_serialization())
                    .build()
                    .map_err(io)?,
            ),
            _ => {
                return Err(std::io::Error::other(
                    "not an object-storage URL (s3://, gs://, az://, http(s)://)",
                ));
            }
        };
        let head = {
            let (store, path) = (Arc::clone(&store), path.clone());
            let head = GetOptions {
                head: true,
                ..GetOptions::default()
            };
            wait(async move { store.get_opts(&path, head).await.map(|got| got.meta) })?
                .map_err(io)?
        };
        let identity = format!(
            "{} size={} etag={} version={}",
            url,
            head.size,
            head.e_tag.as_deref().unwrap_or("-"),
            head.version.as_deref().unwrap_or("-")
        );
        Ok(Object {
            store,
            path,
            size: head.size,
            identity,
            held: Arc::default(),
        })
    }

    /// Prepares for Parquet reading: fetches the object's end (footer) in one request.
    pub(super) fn with_footer(self) -> std::io::Result<Object> {
        let start = self.size.saturating_sub(FOOTER_GUESS);
        let bytes = self.range(start..self.size)?;
        self.lock().footer = Some((start, bytes));
        Ok(self)
    }

    /// Learns the row groups' byte spans from the footer Parquet's reader parsed.
    pub(super) fn plan(&self, metadata: &ParquetMetaData) {
        self.lock().spans = metadata
            .row_groups()
            .iter()
            .filter_map(|group| {
                let ranges = group.columns().iter().map(|column| column.byte_range());
                let start = ranges.clone().map(|(start, _)| start).min()?;
                let end = ranges.map(|(start, len)| start + len).max()?;
                Some(start..end)
            })
            .collect();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // A panic elsewhere cannot leave `Held` half-written: every change is one assignment.
        self.held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The bytes from `start` on, as far as a held region goes, holding `start..end` at least:
    /// from what is held, or from the row group fetched whole; `None` outside every row group.
    fn held_from(&self, start: u64, end: u64) -> std::io::Result<Option<Bytes>> {
        let span = {
            let held = self.lock();
            if let Some(bytes) = held.from(start, end) {
                return Ok(Some(bytes));
            }
            held.span(start, end)
        };
        let Some(span) = span else {
            return Ok(None);
        };
        // The previous row group is let go before the next is fetched: one held at a time.
        self.lock().group = None;
        let bytes = self.range(span.clone())?;
        let mut held = self.lock();
        held.group = Some((span.start, bytes));
        Ok(held.from(start, end))
    }

    /// What identifies this version of the object (for the journal's fingerprint): its URL, size,
    /// ETag and version. A changed object changes it, as changed bytes change a file's digest.
    pub(super) fn identity(&self) -> &str {
        &self.identity
    }

    /// The object's bytes from `start` to its end, as a stream read on demand.
    pub(super) fn reader_from(&self, start: u64) -> std::io::Result<ObjectReader> {
        let (store, path) = (Arc::clone(&self.store), self.path.clone());
        let options = GetOptions {
            range: (start > 0).then_some(GetRange::Offset(start)),
            ..GetOptions::default()
        };
        let result = wait(async move { store.get_opts(&path, options).await })?.map_err(io)?;
        Ok(ObjectReader {
            stream: Some(result.into_stream()),
            chunk: Bytes::new(),
        })
    }

    fn range(&self, range: Range<u64>) -> std::io::Result<Bytes> {
        let (store, path) = (Arc::clone(&self.store), self.path.clone());
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        wait(async move {
            match store.get_opts(&path, options).await {
                Ok(got) => got.bytes().await,
                Err(err) => Err(err),
            }
        })?
        .map_err(io)
    }
}

/// An object's bytes as a [`Read`]: the next chunk is fetched when the last is used up, so
/// memory holds one chunk whatever the object's size.
pub(super) struct ObjectReader {
    stream: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    chunk: Bytes,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            let Some(mut stream) = self.stream.take() else {
                return Ok(0);
            };
            let (next, stream) = wait(async move {
                let next = stream.next().await;
                (next, stream)
            })?;
            match next {
                Some(chunk) => {
                    self.chunk = chunk.map_err(io)?;
                    self.stream = Some(stream);
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

impl Length for Object {
    fn len(&self) -> u64 {
        self.size
    }
}

fn external(err: std::io::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(err))
}

/// Parquet's view of the object: ranged reads only, served from the footer and the row group held
/// when they cover the request.
impl ChunkReader for Object {
    type T = ObjectReader;

    fn get_read(&self, start: u64) -> parquet::errors::Result<ObjectReader> {
        match self
            .held_from(start, (start + 1).min(self.size))
            .map_err(external)?
        {
            Some(chunk) => Ok(ObjectReader {
                stream: None,
                chunk,
            }),
            None => self.reader_from(start).map_err(external),
        }
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end = start + length as u64;
        match self.held_from(start, end).map_err(external)? {
            Some(bytes) => Ok(bytes.slice(..length)),
            None => self.range(start..end).map_err(external),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_bytes_serve_what_lies_inside_them_and_row_groups_are_found_by_offset() {
        let held = Held {
            footer: Some((90, Bytes::from_static(b"0123456789"))),
            spans: vec![0..40, 40..90, 100..100 + ROW_GROUP_HOLD_LIMIT + 1],
            group: Some((0, Bytes::from(vec![7u8; 40]))),
        };
        assert_eq!(held.from(95, 98), Some(Bytes::from_static(b"56789")));
        assert_eq!(held.from(10, 20).map(|b| b.len()), Some(30));
        // Across the held group's end: not held, and in no single row group either.
        assert_eq!(held.from(35, 45), None);
        assert_eq!(held.span(35, 45), None);
        assert_eq!(held.span(50, 60), Some(40..90));
        // Too large to hold: read page by page.
        assert_eq!(held.span(200, 300), None);
    }
}
