//! `GET /assets/tessera.css`: the one stylesheet, and `GET /assets/tessera-admin.js`, the
//! admin center's optional script (progressive enhancement only), compiled into the binary.
//! No fonts, scripts or anything else from other sites.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::{App, Backend};

const CSS: &str = include_str!("../../assets/tessera.css");
const ADMIN_JS: &str = include_str!("../../assets/tessera-admin.js");

pub(super) fn router<S: Backend>() -> Router<App<S>> {
    Router::new().route("/assets/tessera.css", get(stylesheet)).route("/assets/tessera-admin.js", get(admin_script))
}

async fn stylesheet() -> impl IntoResponse {
    asset("text/css; charset=utf-8", CSS)
}

async fn admin_script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", ADMIN_JS)
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        body,
    )
}
