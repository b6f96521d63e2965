//! Tessera over HTTP: the admin REST API under `/api/v1` (with its OpenAPI document), the
//! browser sign-in pages under `/t/{tenant}` and, in later issues, the admin center. Handlers
//! are thin: extract, call one service method, map the result.

mod api;
mod error;
mod extract;
mod pages;
pub mod tls;
pub mod wire;

use axum::Router;
use tessera_core::ports::Backend;
use tessera_core::service::Tessera;
use tokio::net::TcpListener;

pub use api::openapi_document;
pub use error::ApiError;

/// The services the handlers call, over the store `S` (the binary picks `SqlStore`).
type App<S> = Tessera<S>;

/// The whole HTTP application.
pub fn app<S: Backend>(services: Tessera<S>) -> Router {
    Router::new().merge(api::router()).merge(pages::router()).with_state(services)
}

/// Serves `app` on `listener` until Ctrl-C / SIGTERM, then finishes in-flight requests.
pub async fn serve<S: Backend>(listener: TcpListener, services: Tessera<S>) -> std::io::Result<()> {
    axum::serve(listener, app(services).into_make_service_with_connect_info::<tls::ClientAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// As [`serve`], over TLS.
pub async fn serve_tls<S: Backend>(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    services: Tessera<S>,
) -> std::io::Result<()> {
    let listener = tls::TlsListener::new(listener, acceptor);
    axum::serve(listener, app(services).into_make_service_with_connect_info::<tls::ClientAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
