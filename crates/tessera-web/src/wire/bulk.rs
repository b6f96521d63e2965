//! The per-user report of a bulk request (`/mfa/bulk`, `/users/import`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::mfa;
use utoipa::ToSchema;

/// The per-user report of a bulk operation.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BulkReport {
    #[schema(required)]
    pub dry_run: bool,
    /// True when the change was committed (not a dry run, no failed row).
    #[schema(required)]
    pub applied: bool,
    #[schema(required)]
    pub results: Vec<BulkRow>,
    #[schema(required)]
    pub summary: BulkSummary,
}

/// `bulk_rejected` (422): nothing was applied; the report says which rows failed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BulkRejected {
    /// `bulk_rejected`
    #[schema(required)]
    pub error: String,
    #[schema(required)]
    pub message: String,
    #[schema(required)]
    pub dry_run: bool,
    #[schema(required)]
    pub applied: bool,
    #[schema(required)]
    pub results: Vec<BulkRow>,
    #[schema(required)]
    pub summary: BulkSummary,
}

impl BulkRejected {
    pub fn new(error: impl Into<String>, message: impl Into<String>, report: BulkReport) -> Self {
        let BulkReport { dry_run, applied, results, summary } = report;
        Self { error: error.into(), message: message.into(), dry_run, applied, results, summary }
    }
}

/// The outcome for one user of a bulk request.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct BulkRow {
    /// The user as the request named it.
    #[schema(required)]
    pub user: String,
    pub id: Option<String>,
    pub upn: Option<String>,
    /// `changed`, `unchanged`, `skipped`, `duplicate` (not failures); `not_found`, `forbidden`, `invalid` (failures).
    #[schema(required)]
    pub status: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub error: Option<RowError>,
}

impl BulkRow {
    /// `not_found`, `forbidden` and `invalid` reject the whole request; `unchanged`,
    /// `skipped` and `duplicate` do not.
    pub fn is_failure(&self) -> bool {
        matches!(self.status.as_str(), "not_found" | "forbidden" | "invalid")
    }
}

/// Why a row failed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RowError {
    #[schema(required)]
    pub code: String,
    #[schema(required)]
    pub message: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct BulkSummary {
    #[schema(required)]
    pub total: u64,
    #[schema(required)]
    pub changed: u64,
    #[schema(required)]
    pub unchanged: u64,
    #[schema(required)]
    pub failed: u64,
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn status(s: mfa::RowStatus) -> &'static str {
    match s {
        mfa::RowStatus::Changed => "changed",
        mfa::RowStatus::Unchanged => "unchanged",
        mfa::RowStatus::Skipped => "skipped",
        mfa::RowStatus::Duplicate => "duplicate",
        mfa::RowStatus::NotFound => "not_found",
        mfa::RowStatus::Forbidden => "forbidden",
        mfa::RowStatus::Invalid => "invalid",
    }
}

impl From<mfa::BulkRow> for BulkRow {
    fn from(r: mfa::BulkRow) -> Self {
        let (before, after) = r.json();
        Self {
            user: r.user,
            id: r.id.map(|i| i.to_string()),
            upn: r.upn,
            status: status(r.status).to_owned(),
            before: super::json_of(&before),
            after: super::json_of(&after),
            error: r.error.map(|e| RowError { code: e.code.to_owned(), message: e.message }),
        }
    }
}

impl From<mfa::BulkReport> for BulkReport {
    fn from(r: mfa::BulkReport) -> Self {
        let s = r.summary;
        Self {
            dry_run: r.dry_run,
            applied: r.applied,
            results: r.results.into_iter().map(Into::into).collect(),
            summary: BulkSummary {
                total: count(s.total),
                changed: count(s.changed),
                unchanged: count(s.unchanged),
                failed: count(s.failed),
            },
        }
    }
}
