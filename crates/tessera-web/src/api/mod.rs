//! `/api/v1`: one router per module, merged here, and the OpenAPI document built from the
//! handlers' annotations.

mod credentials;
mod logs;
mod mfa;
mod sessions;
mod token;
mod users;

use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::ErrorBody;
use crate::{App, Backend};

pub(crate) fn router<S: Backend>() -> Router<App<S>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/openapi.json", get(openapi_json))
        .merge(token::router())
        .merge(users::router())
        .merge(mfa::router())
        .merge(logs::router())
        .merge(sessions::router())
        .merge(credentials::router())
}

/// 200 when the database answers.
async fn healthz<S: Backend>(
    axum::extract::State(app): axum::extract::State<App<S>>,
) -> Result<&'static str, crate::ApiError> {
    app.ping().await?;
    Ok("ok")
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera admin API", description = "Per-user MFA administration: users, MFA states, bulk quick steps, app passwords and remembered devices, audit, sign-ins and MFA service settings."),
    paths(
        token::issue_token,
        users::create_user, users::import_users, users::list_users, users::get_user, users::patch_user, users::delete_user,
        users::get_requirements, users::patch_requirements,
        mfa::bulk,
        sessions::list_sessions, sessions::revoke_sessions,
        credentials::list_app_passwords, credentials::delete_app_password,
        credentials::list_remembered_devices, credentials::forget_remembered_device,
        logs::audit, logs::signins, logs::get_settings, logs::patch_settings,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI 3.1 document of `/api/v1`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_document())
}
