//! `GET /assets/tessera.css`: the one stylesheet, compiled into the binary. No fonts, scripts
//! or anything else from other sites.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::App;

const CSS: &str = include_str!("../../assets/tessera.css");

pub(super) fn router() -> Router<App> {
    Router::new().route("/assets/tessera.css", get(stylesheet))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        CSS,
    )
}
