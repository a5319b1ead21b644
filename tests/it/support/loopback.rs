//! An axum app served on 127.0.0.1 in a runtime of its own, for the stand-ins of outside services
//! (an object server, AWS's credential services) that a test's `etl` child talks to.

/// A served app: its base URL (`http://127.0.0.1:PORT`); it stops when dropped.
pub struct Served {
    pub url: String,
    _runtime: tokio::runtime::Runtime,
}

/// Serves `app` on a free loopback port.
pub fn serve(app: axum::Router) -> Served {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the stand-in server");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    runtime.spawn(async move { axum::serve(listener, app).await });
    Served {
        url,
        _runtime: runtime,
    }
}
