//! The one place where domain errors become HTTP statuses and stable error codes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::CoreError;
use tessera_core::mfa::BulkReport;

/// An API error: `{"error": "<stable_code>", "message": "<human text>"}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    report: Option<Box<BulkReport>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// Stable, machine-readable code.
    error: &'static str,
    /// Human-readable explanation.
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), report: None }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// The status and stable code of a domain error.
pub(crate) fn status_and_code(e: &CoreError) -> (StatusCode, &'static str) {
    use StatusCode as S;
    match e {
        CoreError::InvalidUpn(_) => (S::BAD_REQUEST, "invalid_upn"),
        CoreError::InvalidTenant(_) => (S::BAD_REQUEST, "invalid_tenant"),
        CoreError::InvalidState(_) => (S::BAD_REQUEST, "invalid_state"),
        CoreError::InvalidSetting(_) => (S::BAD_REQUEST, "invalid_setting"),
        CoreError::InvalidDisplayName(_)
        | CoreError::InvalidRole(_)
        | CoreError::InvalidPassword(_)
        | CoreError::InvalidAppPasswordName(_)
        | CoreError::InvalidCodeFormat(_)
        | CoreError::InvalidCursor(_)
        | CoreError::InvalidKey(_)
        | CoreError::NoPendingRegistration
        | CoreError::InvalidRequest(_) => (S::BAD_REQUEST, "invalid_request"),
        CoreError::NotFound(_) => (S::NOT_FOUND, "not_found"),
        CoreError::UserExists(_) => (S::CONFLICT, "user_exists"),
        CoreError::TenantExists(_) => (S::CONFLICT, "tenant_exists"),
        CoreError::Forbidden(_) => (S::FORBIDDEN, "forbidden"),
        CoreError::InvalidCredentials => (S::UNAUTHORIZED, "invalid_credentials"),
        CoreError::Unauthorized => (S::UNAUTHORIZED, "unauthorized"),
        CoreError::MfaRequired => (S::UNAUTHORIZED, "mfa_required"),
        CoreError::MfaRegistrationRequired => (S::FORBIDDEN, "mfa_registration_required"),
        CoreError::AccountDisabled => (S::FORBIDDEN, "account_disabled"),
        CoreError::TooManyAttempts { .. } => (S::TOO_MANY_REQUESTS, "too_many_requests"),
        CoreError::InvalidCode => (S::UNAUTHORIZED, "invalid_otp"),
        CoreError::FreshMfaRequired => (S::FORBIDDEN, "fresh_mfa_required"),
        CoreError::LimitReached(_) => (S::CONFLICT, "limit_reached"),
        CoreError::BulkRejected(_) => (S::UNPROCESSABLE_ENTITY, "bulk_rejected"),
        CoreError::Store(_) | CoreError::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        let (status, code) = status_and_code(&e);
        let message = if status == S::INTERNAL_SERVER_ERROR {
            // The cause goes to the log, never to the client.
            tracing::error!(error = %e, "internal error");
            "an internal error occurred; the server log has the details".to_owned()
        } else if let CoreError::InvalidSetting(r) = &e {
            r.message(crate::wire::settings_field_name)
        } else {
            e.to_string()
        };
        let report = match e {
            CoreError::BulkRejected(r) => Some(r),
            _ => None,
        };
        Self { status, code, message, report }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = match self.report {
            Some(report) => {
                let body = crate::wire::BulkRejected::new(self.code, self.message, (*report).into());
                (self.status, Json(body)).into_response()
            }
            None => (self.status, Json(ErrorBody { error: self.code, message: self.message })).into_response(),
        };
        if self.status == StatusCode::UNAUTHORIZED && self.code == "unauthorized" {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
