//! Serving the mock: in-process ([`MockServer`]) or in the foreground (`runner mock`).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::config::{MockArgs, MockConfig};
use super::routes::app;
use super::state::AppState;

/// How long [`MockServer::shutdown`] waits for open connections before aborting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The mock's axum app for `config` (fresh state), to serve or test with `tower`.
pub fn router(config: MockConfig) -> axum::Router {
    app(AppState::new(config))
}

/// A mock running on the current tokio runtime. Dropping it also stops it.
pub struct MockServer {
    base_url: String,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Binds `addr` (port 0 picks a free port) and serves in a spawned task.
    pub async fn start(config: MockConfig, addr: SocketAddr) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(config);
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                // A dropped sender also means stop.
                let _ = rx.await;
            });
            if let Err(error) = server.await {
                eprintln!("mock server error: {error}");
            }
        });
        Ok(MockServer {
            base_url: format!("http://{addr}"),
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Base URL without trailing slash, e.g. `http://127.0.0.1:41235`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish (up to a grace period), and waits.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// `runner mock`: binds, prints `mock listening on http://HOST:PORT`, serves until
/// Ctrl-C or SIGTERM (how CI and process managers stop a service).
pub async fn serve_foreground(args: &MockArgs) -> Result<(), String> {
    serve_config_foreground(args.addr(), args.to_config()?).await
}

/// [`serve_foreground`] with the config built already (its keys file read once).
pub async fn serve_config_foreground(addr: SocketAddr, config: MockConfig) -> Result<(), String> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot bind {addr}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "mock listening on http://{addr}");
        let _ = out.flush();
    }
    axum::serve(listener, router(config))
        .with_graceful_shutdown(stop_signal())
        .await
        .map_err(|e| format!("mock server failed: {e}"))
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
