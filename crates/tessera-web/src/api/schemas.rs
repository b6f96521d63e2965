//! OpenAPI schemas of response bodies that the handlers serialize straight from the core's
//! types (whose `serde` attributes fix the wire format). These types are never built; the
//! `openapi_matches_responses` test checks that they stay in step with real responses.
#![allow(dead_code)]

use serde_json::Value;
use utoipa::ToSchema;

/// The per-user report of a bulk operation.
#[derive(ToSchema)]
#[schema(as = BulkReport)]
#[serde(rename_all = "camelCase")]
pub struct BulkReportSchema {
    dry_run: bool,
    /// True when the change was committed (not a dry run, no failed row).
    applied: bool,
    results: Vec<BulkRowSchema>,
    summary: BulkSummarySchema,
}

/// `bulk_rejected` (422): nothing was applied; the report says which rows failed.
#[derive(ToSchema)]
#[schema(as = BulkRejected)]
#[serde(rename_all = "camelCase")]
pub struct BulkRejectedSchema {
    /// `bulk_rejected`
    error: String,
    message: String,
    dry_run: bool,
    applied: bool,
    results: Vec<BulkRowSchema>,
    summary: BulkSummarySchema,
}

#[derive(ToSchema)]
#[schema(as = BulkRow)]
pub struct BulkRowSchema {
    /// The user as the request named it.
    user: String,
    id: Option<String>,
    upn: Option<String>,
    /// `changed`, `unchanged`, `skipped`, `duplicate` (not failures); `not_found`, `forbidden`, `invalid` (failures).
    status: String,
    before: Option<Value>,
    after: Option<Value>,
    error: Option<RowErrorSchema>,
}

#[derive(ToSchema)]
#[schema(as = RowError)]
pub struct RowErrorSchema {
    code: String,
    message: String,
}

#[derive(ToSchema)]
#[schema(as = BulkSummary)]
pub struct BulkSummarySchema {
    total: u64,
    changed: u64,
    unchanged: u64,
    failed: u64,
}

#[derive(ToSchema)]
#[schema(as = AuditRecord)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordSchema {
    id: String,
    /// RFC 3339.
    time: String,
    actor_id: Option<String>,
    actor_upn: String,
    source_ip: Option<String>,
    action: String,
    target_id: Option<String>,
    target_upn: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
    correlation_id: String,
}

#[derive(ToSchema)]
#[schema(as = AuditPage)]
pub struct AuditPageSchema {
    items: Vec<AuditRecordSchema>,
    next: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = SignInRecord)]
#[serde(rename_all = "camelCase")]
pub struct SignInRecordSchema {
    id: String,
    time: String,
    user_id: Option<String>,
    upn: String,
    source_ip: Option<String>,
    user_agent: Option<String>,
    /// `api`, `browser` or `legacy`.
    client: String,
    /// `success` or `failure`.
    result: String,
    failure_reason: Option<String>,
    /// `none` or `perUserState`.
    mfa_required_by: String,
    mfa_method: Option<String>,
    /// What was presented: `password` or `appPassword`; null when the attempt never got to a
    /// credential check (e.g. a second-factor step).
    credential: Option<String>,
    /// Why MFA was required but not asked for: `trustedIp` or `rememberedDevice`.
    mfa_skipped_by: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = SignInPage)]
pub struct SignInPageSchema {
    items: Vec<SignInRecordSchema>,
    next: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = MfaSettings)]
#[serde(rename_all = "camelCase")]
pub struct MfaSettingsSchema {
    allow_app_passwords: bool,
    /// IPv4/IPv6 CIDR ranges whose sign-ins skip MFA (at most 50).
    trusted_ip_ranges: Vec<String>,
    /// Of `totp`, `webauthn`, `email`, `sms`, `recoveryCode`, `temporaryAccessPass`.
    allowed_methods: Vec<String>,
    /// Allow users to remember MFA on devices they trust: the MFA prompt offers "Don't ask
    /// again for N days" (N = `rememberDeviceDays`). Off by default.
    allow_remember_devices: bool,
    /// 1-365.
    remember_device_days: u16,
}

/// A partial update of the MFA service settings; omitted fields stay as they are.
#[derive(ToSchema)]
#[schema(as = MfaSettingsPatch)]
#[serde(rename_all = "camelCase")]
pub struct MfaSettingsPatchSchema {
    allow_app_passwords: Option<bool>,
    trusted_ip_ranges: Option<Vec<String>>,
    allowed_methods: Option<Vec<String>>,
    allow_remember_devices: Option<bool>,
    remember_device_days: Option<i64>,
}

#[derive(ToSchema)]
#[schema(as = Session)]
#[serde(rename_all = "camelCase")]
pub struct SessionSchema {
    /// A short, non-secret reference.
    id: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    /// `signed_in`, `mfa` or `register`.
    stage: String,
    source_ip: Option<String>,
    user_agent: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = SessionList)]
pub struct SessionListSchema {
    items: Vec<SessionSchema>,
}

#[derive(ToSchema)]
#[schema(as = RememberedDevice)]
#[serde(rename_all = "camelCase")]
pub struct RememberedDeviceSchema {
    id: String,
    /// RFC 3339: when "Don't ask again" was ticked.
    created_at: String,
    /// RFC 3339; null when it has not skipped a prompt yet.
    last_used_at: Option<String>,
    /// RFC 3339: the prompt comes back after this time.
    expires_at: String,
    /// Where and in which browser it was remembered.
    source_ip: Option<String>,
    user_agent: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = RememberedDeviceList)]
pub struct RememberedDeviceListSchema {
    items: Vec<RememberedDeviceSchema>,
}
