//! Serving: the router (`app`), the accept loop with its shutdown signal as a parameter (so tests bind
//! port 0 and stop it at will), the in-process `start` handle, and `etl sandbox` (`serve`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::config::{SandboxArgs, SandboxConfig};
use super::gate::{gate, guard};
use super::handlers::admin;
use super::routes;
use super::state::AppState;

/// The whole API as a router: HubSpot's paths of every version behind the gate (`routes.rs`),
/// `/_sandbox/*` beside it.
pub fn app(state: AppState) -> Router {
    let hubspot = routes::hubspot().route_layer(from_fn_with_state(state.clone(), gate));
    let sandbox = Router::new()
        .route("/_sandbox/stats", get(admin::stats))
        .route("/_sandbox/reset", post(admin::reset))
        .route("/_sandbox/config", post(admin::configure))
        .route("/_sandbox/records/{objectType}", get(admin::records))
        .route("/_sandbox/links/{objectType}", get(admin::links))
        .route_layer(from_fn_with_state(state.clone(), guard));
    hubspot
        .merge(sandbox)
        .fallback(admin::not_found)
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    // Nagle's algorithm would hold back the tail of a response until the client's ACK: on loopback
    // that idles a pipelined client for milliseconds per request. HTTP servers turn it off.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A sandbox running in this process.
#[derive(Debug)]
pub struct SandboxHandle {
    addr: SocketAddr,
    state: AppState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<io::Result<()>>,
}

impl SandboxHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The live state (stats, store) for in-process inspection.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), and waits for the server.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Binds `config.addr` and serves in the background.
pub async fn start(config: SandboxConfig) -> io::Result<SandboxHandle> {
    let state = AppState::new(&config)?;
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(SandboxHandle {
        addr,
        state,
        stop,
        task,
    })
}

/// `etl sandbox`: prints the listening URL and serves until Ctrl-C or SIGTERM.
pub async fn serve(args: SandboxArgs) -> io::Result<()> {
    let config = args
        .into_config()
        .map_err(|msg| io::Error::new(io::ErrorKind::InvalidInput, msg))?;
    let state = AppState::new(&config)?;
    let listener = TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        token_required = config.token.is_some(),
        sandbox_paths_need_token = config.exposed(),
        requests_per_interval = config.requests_per_interval,
        association_requests_per_interval = config.association_requests_per_interval,
        interval_ms = config.interval.as_millis() as u64,
        daily_limit = config.daily_limit,
        "sandbox listening"
    );
    println!("etl sandbox listening on http://{addr}");
    run(listener, state, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("sandbox shutting down");
}
