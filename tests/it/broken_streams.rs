//! A source object whose stream breaks mid-read: the reader opens it again where it broke (a
//! stream read at the portal's pace stays open for hours, longer than the object store's own
//! retries last), so every row lands once; an object that changed in between stops the run with a
//! clear error instead of splicing two versions. The object is served over `http://` on loopback by
//! a server that cuts its first answer short and sends no ETag (so the object store itself does
//! not retry). A Parquet object rewritten between two row groups stops the run the same way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use crate::object_storage::contacts_parquet;
use crate::support::fixtures::contacts;
use crate::support::loopback::{Served, serve};
use crate::support::scenario::Scenario;

/// What the server does with the object's bytes.
#[derive(Clone, Copy)]
enum Cut {
    /// The first GET ends after this many bytes; ranged GETs are served whole.
    FirstAnswerAt(usize),
    /// As `FirstAnswerAt`, and the object is 10 bytes longer when asked again.
    ThenChanged(usize),
    /// Nothing cut; the object is 10 bytes longer from the GET after this many on.
    ChangedAfter(usize),
}

/// An object server on loopback.
struct ObjectServer {
    url: String,
    /// The `Range` headers of the GETs it answered, in order (`-`: none).
    ranges: Arc<Mutex<Vec<String>>>,
    _served: Served,
}

impl ObjectServer {
    fn start(object: Vec<u8>, cut: Cut) -> ObjectServer {
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let gets = Arc::new(AtomicUsize::new(0));
        let object = Bytes::from(object);
        let seen = Arc::clone(&ranges);
        let app = axum::Router::new().fallback(move |request: Request| {
            let (object, seen, gets) = (object.clone(), Arc::clone(&seen), Arc::clone(&gets));
            async move { answer(request, object, cut, &seen, &gets) }
        });
        let served = serve(app);
        ObjectServer {
            url: format!("{}/exports/contacts", served.url),
            ranges,
            _served: served,
        }
    }

    fn ranges(&self) -> Vec<String> {
        self.ranges.lock().unwrap().clone()
    }
}

fn answer(
    request: Request,
    object: Bytes,
    cut: Cut,
    seen: &Mutex<Vec<String>>,
    gets: &AtomicUsize,
) -> Response {
    let head = request.method() == axum::http::Method::HEAD;
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|r| r.to_str().ok())
        .map(String::from);
    let mut object = object;
    if !head {
        seen.lock()
            .unwrap()
            .push(range.clone().unwrap_or("-".into()));
        let nth = gets.fetch_add(1, Ordering::SeqCst);
        let changed = match cut {
            Cut::FirstAnswerAt(_) => false,
            Cut::ThenChanged(_) => nth > 0,
            Cut::ChangedAfter(n) => nth >= n,
        };
        if changed {
            let mut longer = object.to_vec();
            longer.extend_from_slice(b"ten bytes\n");
            object = Bytes::from(longer);
        }
        if let (0, Cut::FirstAnswerAt(at) | Cut::ThenChanged(at)) = (nth, cut) {
            // The whole length announced, part of it sent, then the connection dropped.
            // (After a pause, so the part has reached the reader before the connection drops.)
            use futures_util::StreamExt;
            let part = futures_util::stream::iter([Ok(object.slice(..at))]);
            let reset = futures_util::stream::once(async {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                Err(std::io::Error::other("connection reset"))
            });
            let body = part.chain(reset);
            return Response::builder()
                .header(header::CONTENT_LENGTH, object.len())
                .body(Body::from_stream(body))
                .unwrap();
        }
    }
    let total = object.len();
    // `bytes=a-` or `bytes=a-b` (b inclusive), the forms the object store sends.
    let span = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .map(|(a, b)| {
            let start: usize = a.parse().expect("a range start");
            let end = b.parse::<usize>().map_or(total, |b| (b + 1).min(total));
            start..end
        });
    let mut response = Response::builder().header(header::ACCEPT_RANGES, "bytes");
    let body = match span {
        Some(span) => {
            response = response.status(StatusCode::PARTIAL_CONTENT).header(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {}-{}/{total}", span.start, span.end - 1))
                    .unwrap(),
            );
            object.slice(span)
        }
        None => object,
    };
    response
        .header(header::CONTENT_LENGTH, body.len())
        .body(if head {
            Body::empty()
        } else {
            Body::from(body)
        })
        .unwrap()
}

fn from_url(url: String) -> Scenario {
    Scenario::new().pipeline(move |p| p.source(&url).upsert_by("email").map_contact_columns())
}

#[test]
fn a_stream_cut_short_is_read_on_from_where_it_broke_and_every_row_lands_once() {
    let csv = contacts(2_000).to_string();
    let at = csv.len() / 3;
    let server = ObjectServer::start(csv.into_bytes(), Cut::FirstAnswerAt(at));
    let run = from_url(format!("{}.csv", server.url)).run();
    run.exit(0).rows_read(2_000).accepted(2_000).created(2_000);
    assert_eq!(run.portal().records("contacts"), 2_000);
    assert_eq!(server.ranges(), ["-".to_string(), format!("bytes={at}-")]);
}

#[test]
fn an_object_changed_when_read_again_stops_the_run_clearly() {
    let csv = contacts(2_000).to_string();
    let at = csv.len() / 3;
    let server = ObjectServer::start(csv.into_bytes(), Cut::ThenChanged(at));
    let run = from_url(format!("{}.csv", server.url)).run();
    run.exit(1).says("changed while it was read");
    // What was read before the cut was sent; nothing after it.
    let landed = run.portal().records("contacts");
    assert!(landed < 2_000, "{landed} rows landed");
}

#[test]
fn a_parquet_object_changed_between_row_groups_stops_the_run_clearly() {
    // Five row groups: the footer and the first group read, then the object is written again.
    let parquet = contacts_parquet(5_000, 1_000, 0);
    let server = ObjectServer::start(parquet, Cut::ChangedAfter(2));
    let run = from_url(format!("{}.parquet", server.url)).validate();
    run.exit(1).says("changed while it was read");
    assert_eq!(server.ranges().len(), 3, "{:?}", server.ranges());
}
