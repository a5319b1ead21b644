//! Sources on object storage (`s3://`, `gs://`, `az://`, `http(s)://`) through the `object_store`
//! crate: credentials from each cloud's standard environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`, and
//! the instance or workload identity the crate finds), never from the pipeline file. A CSV object
//! is streamed; a Parquet object is read by ranges (its footer, then one row group at a time),
//! never downloaded whole. The readers run on the prepare thread, so every request is driven on a
//! small runtime of this module's own and waited for there.
//!
//! A CSV object's stream stays open as long as the run reads it: at the portal's pace, hours. The
//! store's own retries of a broken stream end a few minutes after it was opened (`object_store`'s
//! `retry_timeout`) and need an ETag, so the reader opens a broken stream again itself, from the
//! byte where it broke, and only when the object is still the one it started reading.

use std::io::Read;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3ConfigKey;
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientConfigKey, ClientOptions, GetOptions, GetRange, ObjectMeta, ObjectStore,
    ObjectStoreScheme,
};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};

use super::aws_keys::RenewedKeys;
use super::aws_profile;

/// How much of a Parquet object's end is fetched at once: the 8-byte trailer and, for most files,
/// the whole footer, in one request.
const FOOTER_GUESS: u64 = 64 * 1024;

/// The largest row group held whole: larger ones are read page by page (more requests, less memory).
/// Writers' defaults (pyarrow, Spark, DuckDB) stay well under it.
const ROW_GROUP_HOLD_LIMIT: u64 = 128 * 1024 * 1024;

/// A read that waits this long for bytes fails (and is retried). A request as a whole may take
/// as long as it needs, up to [`WHOLE_REQUEST`]: object_store cuts every request at 30 s by
/// default, which broke a CSV stream read at the portal's pace (hours) every 30 s, and a row group
/// that takes longer to download on a slow link every time.
const STALLED_READ: &str = "30s";
const WHOLE_REQUEST: &str = "24h";

/// A store builder's timeouts, unless the user's environment set them: `get` and `set` a client
/// setting of `builder`.
fn timeouts<B>(
    builder: B,
    get: impl Fn(&B, ClientConfigKey) -> Option<String>,
    set: impl Fn(B, ClientConfigKey, &str) -> B,
) -> B {
    // object_store's defaults: 30 s for a whole request, no limit on a stalled read.
    let defaults = [
        (ClientConfigKey::Timeout, Some("30s"), WHOLE_REQUEST),
        (ClientConfigKey::ReadTimeout, None, STALLED_READ),
    ];
    defaults
        .into_iter()
        .fold(builder, |builder, (key, default, ours)| {
            match get(&builder, key).as_deref() == default {
                true => set(builder, key, ours),
                false => builder,
            }
        })
}

/// How many times in a row a broken stream is opened again without a byte coming between. Each
/// opening has the store's own retries and backoff behind it (minutes), so more would only wait.
const REOPENS: u32 = 3;

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
    /// What the store says of the object (size, ETag, version): the same at every opening of a
    /// stream, or the object changed.
    fingerprint: String,
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
                // The environment first, then the shared profile files (a profile's role, SSO
                // login, keys or credential_process), as AWS's chain has it; the web identity,
                // container and instance credentials come after, in the crate.
                let profile = aws_profile::profile();
                let mut builder = profile.settings.into_iter().fold(
                    object_store::aws::AmazonS3Builder::from_env(),
                    |builder, (key, value)| match key.parse::<AmazonS3ConfigKey>() {
                        Ok(key) => builder.with_config(key, value),
                        Err(_) => builder,
                    },
                );
                if let Some(source) = profile.keys {
                    builder = builder.with_credentials(RenewedKeys::shared(profile.name, source));
                }
                let builder = timeouts(
                    builder,
                    |b, key| b.get_config_value(&AmazonS3ConfigKey::Client(key)),
                    |b, key, value| b.with_config(AmazonS3ConfigKey::Client(key), value),
                );
                Arc::new(builder.with_url(url).build().map_err(io)?)
            }
            ObjectStoreScheme::GoogleCloudStorage => {
                use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
                let builder = timeouts(
                    GoogleCloudStorageBuilder::from_env(),
                    |b, key| b.get_config_value(&GoogleConfigKey::Client(key)),
                    |b, key, value| b.with_config(GoogleConfigKey::Client(key), value),
                );
                Arc::new(builder.with_url(url).build().map_err(io)?)
            }
            ObjectStoreScheme::MicrosoftAzure => {
                use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
                let builder = timeouts(
                    MicrosoftAzureBuilder::from_env(),
                    |b, key| b.get_config_value(&AzureConfigKey::Client(key)),
                    |b, key, value| b.with_config(AzureConfigKey::Client(key), value),
                );
                Arc::new(builder.with_url(url).build().map_err(io)?)
            }
            // The URL says http:// or https:// itself; nothing secret is sent to it.
            ObjectStoreScheme::Http => {
                let options = timeouts(
                    ClientOptions::new().with_allow_http(parsed.scheme() == "http"),
                    |o, key| o.get_config_value(&key),
                    |o, key, value| o.with_config(key, value),
                );
                Arc::new(
                    object_store::http::HttpBuilder::new()
                        .with_url(parsed.origin().ascii_serialization())
                        .with_client_options(options)
                        .build()
                        .map_err(io)?,
                )
            }
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
        let fingerprint = fingerprint(&head);
        Ok(Object {
            store,
            path,
            size: head.size,
            identity: format!("{url} {fingerprint}"),
            fingerprint,
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

    /// The object's bytes from `start` to its end, as a stream read on demand (and opened again
    /// where it breaks).
    pub(super) fn reader_from(&self, start: u64) -> std::io::Result<ObjectReader> {
        Ok(ObjectReader {
            stream: Some(self.stream_from(start)?),
            chunk: Bytes::new(),
            resume: Some(Resume {
                object: self.clone(),
                offset: start,
                reopened: 0,
            }),
        })
    }

    /// A stream of the object's bytes from `start`; `Err` when the object is no longer the one
    /// [`Object::open`] found.
    fn stream_from(&self, start: u64) -> std::io::Result<ByteStream> {
        let (store, path) = (Arc::clone(&self.store), self.path.clone());
        let options = GetOptions {
            range: (start > 0).then_some(GetRange::Offset(start)),
            ..GetOptions::default()
        };
        let result = wait(async move { store.get_opts(&path, options).await })?.map_err(io)?;
        self.same(&result.meta, start)?;
        Ok(result.into_stream())
    }

    /// The bytes of `range`, of the object [`Object::open`] found (a Parquet object rewritten
    /// between two row groups would otherwise be decoded half old, half new).
    fn range(&self, range: Range<u64>) -> std::io::Result<Bytes> {
        let (store, path) = (Arc::clone(&self.store), self.path.clone());
        let start = range.start;
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let got = wait(async move { store.get_opts(&path, options).await })?.map_err(io)?;
        self.same(&got.meta, start)?;
        wait(got.bytes())?.map_err(io)
    }

    /// `Ok` when `meta` (from a request at byte `at`) is the object's as first seen.
    fn same(&self, meta: &ObjectMeta, at: u64) -> std::io::Result<()> {
        let now = fingerprint(meta);
        if now == self.fingerprint {
            return Ok(());
        }
        Err(std::io::Error::other(Changed {
            at,
            was: self.fingerprint.clone(),
            now,
        }))
    }
}

/// What the store says of an object, to tell whether two openings see the same one.
fn fingerprint(meta: &ObjectMeta) -> String {
    format!(
        "size={} etag={} version={}",
        meta.size,
        meta.e_tag.as_deref().unwrap_or("-"),
        meta.version.as_deref().unwrap_or("-")
    )
}

type ByteStream = BoxStream<'static, object_store::Result<Bytes>>;

/// An object's bytes as a [`Read`]: the next chunk is fetched when the last is used up, so
/// memory holds one chunk whatever the object's size.
pub(super) struct ObjectReader {
    stream: Option<ByteStream>,
    chunk: Bytes,
    /// Where the stream is in the object, to open it again there if it breaks; `None` for bytes
    /// already held (Parquet's footer or row group).
    resume: Option<Resume>,
}

struct Resume {
    object: Object,
    /// The next byte the stream gives.
    offset: u64,
    /// Openings since the last byte came.
    reopened: u32,
}

impl ObjectReader {
    /// The stream's next chunk; `None` at its end.
    fn next_chunk(&mut self) -> std::io::Result<Option<Bytes>> {
        let Some(mut stream) = self.stream.take() else {
            return Ok(None);
        };
        let (next, stream) = wait(async move {
            let next = stream.next().await;
            (next, stream)
        })?;
        match next {
            Some(chunk) => {
                self.stream = Some(stream);
                chunk.map(Some).map_err(io)
            }
            None => Ok(None),
        }
    }

    /// After the stream broke (`broke`), or ended before the object's end: the stream again
    /// from where it stopped, or why not.
    fn reopen(&mut self, broke: std::io::Error) -> std::io::Result<()> {
        self.stream = None;
        let Some(resume) = &mut self.resume else {
            return Err(broke);
        };
        let mut last = broke;
        while resume.reopened < REOPENS {
            resume.reopened += 1;
            tracing::warn!(
                offset = resume.offset,
                size = resume.object.size,
                error = %last,
                "the source object's stream broke; opening it again where it stopped"
            );
            match resume.object.stream_from(resume.offset) {
                Ok(stream) => {
                    self.stream = Some(stream);
                    return Ok(());
                }
                // Changed: another opening would see the same.
                Err(err) if err.get_ref().is_some_and(|e| e.is::<Changed>()) => return Err(err),
                Err(err) => last = err,
            }
        }
        Err(std::io::Error::new(
            last.kind(),
            format!(
                "{last} (the object's stream broke at byte {} of {}, and opening it there again \
                 failed {REOPENS} times)",
                resume.offset, resume.object.size
            ),
        ))
    }
}

/// The object is not the one the run started reading.
#[derive(Debug, thiserror::Error)]
#[error(
    "the object changed while it was read (at byte {at}): it was {was}, it is now {now}; nothing \
     after that byte was read"
)]
struct Changed {
    at: u64,
    was: String,
    now: String,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.next_chunk() {
                Ok(Some(chunk)) => {
                    if let Some(resume) = &mut self.resume
                        && !chunk.is_empty()
                    {
                        resume.offset += chunk.len() as u64;
                        resume.reopened = 0;
                    }
                    self.chunk = chunk;
                }
                Ok(None) => match &self.resume {
                    Some(resume) if resume.offset < resume.object.size => {
                        let short = std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!("the stream ended at byte {}", resume.offset),
                        );
                        self.reopen(short)?;
                    }
                    _ => return Ok(0),
                },
                Err(err) => self.reopen(err)?,
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
                resume: None,
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

    fn with_timeouts(options: ClientOptions) -> ClientOptions {
        timeouts(
            options,
            |o, key| o.get_config_value(&key),
            |o, key, value| o.with_config(key, value),
        )
    }

    #[test]
    fn a_request_may_take_long_but_a_stalled_read_fails_unless_the_user_said_otherwise() {
        let ours = with_timeouts(ClientOptions::new());
        assert_eq!(
            ours.get_config_value(&ClientConfigKey::Timeout).as_deref(),
            Some(WHOLE_REQUEST)
        );
        assert_eq!(
            ours.get_config_value(&ClientConfigKey::ReadTimeout)
                .as_deref(),
            Some(STALLED_READ)
        );
        // Set by the user (an environment variable, through the builder): kept.
        let theirs = with_timeouts(
            ClientOptions::new()
                .with_timeout(std::time::Duration::from_secs(90))
                .with_read_timeout(std::time::Duration::from_secs(5)),
        );
        assert_eq!(
            theirs
                .get_config_value(&ClientConfigKey::Timeout)
                .as_deref(),
            Some("1m 30s")
        );
        assert_eq!(
            theirs
                .get_config_value(&ClientConfigKey::ReadTimeout)
                .as_deref(),
            Some("5s")
        );
    }

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
