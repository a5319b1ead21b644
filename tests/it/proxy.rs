//! A hostile proxy: forwards every request to a real sandbox, then lets a test rewrite the answer
//! (status, headers, body) to produce what the sandbox never would — a 200 that accounts for no
//! row, rate-limit headers from another planet, a body of 40 MiB.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

/// The upstream's answer, as the rewrite sees it (and returns it).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// `(method, path without query, upstream answer)` → the answer the client gets.
pub type Rewrite = dyn Fn(&str, &str, Answer) -> Answer + Send + Sync;

/// `(method, path without query)` → how long to hold the request before forwarding it.
pub type Delay = dyn Fn(&str, &str) -> Duration + Send + Sync;

/// A proxy on 127.0.0.1:0 in a runtime of its own (so blocking tests can use it).
pub struct Proxy {
    pub url: String,
    _runtime: tokio::runtime::Runtime,
}

impl Proxy {
    pub fn start(
        upstream: &str,
        rewrite: impl Fn(&str, &str, Answer) -> Answer + Send + Sync + 'static,
    ) -> Proxy {
        Proxy::start_delayed(upstream, |_, _| Duration::ZERO, rewrite)
    }

    /// A proxy that also holds requests (a slow portal for some paths only).
    pub fn start_delayed(
        upstream: &str,
        delay: impl Fn(&str, &str) -> Duration + Send + Sync + 'static,
        rewrite: impl Fn(&str, &str, Answer) -> Answer + Send + Sync + 'static,
    ) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the proxy");
        let upstream = upstream.to_string();
        let rewrite: Arc<Rewrite> = Arc::new(rewrite);
        let delay: Arc<Delay> = Arc::new(delay);
        let client = crate::support::sandbox::http();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a port for the proxy");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let app = axum::Router::new().fallback(move |request: Request| {
            let (upstream, rewrite, client) =
                (upstream.clone(), Arc::clone(&rewrite), client.clone());
            let hold = delay(request.method().as_str(), request.uri().path());
            async move {
                tokio::time::sleep(hold).await;
                forward(&client, &upstream, request, &*rewrite).await
            }
        });
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy {
            url,
            _runtime: runtime,
        }
    }
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    request: Request,
    rewrite: &Rewrite,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or(path.clone(), |p| p.to_string());
    let mut outgoing = client.request(method.clone(), format!("{upstream}{path_and_query}"));
    for name in ["authorization", "content-type"] {
        if let Some(value) = request.headers().get(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .expect("a request body");
    let answer = match outgoing.body(body).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes().await.unwrap_or_default();
            Answer {
                status,
                headers,
                body,
            }
        }
        Err(_) => Answer {
            status: 502,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        },
    };
    let answer = rewrite(method.as_str(), &path, answer);
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).expect("a status");
    for (name, value) in &answer.headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

/// Sets a header on an answer.
pub fn set_header(answer: &mut Answer, name: &'static str, value: &str) {
    answer.headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_str(value).expect("a header value"),
    );
}
