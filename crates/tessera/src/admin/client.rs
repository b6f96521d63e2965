//! HTTP client of the admin REST API (`docs/api.md`).
//!
//! Transport failures become exit code 8, error answers are classified by their stable
//! `error` code. The bearer token is only ever put in the `Authorization` header.

use std::error::Error as _;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Url};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::config::{self, Credentials};
use super::error::{CliError, Failure};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Bulk requests carry up to 100,000 rows in one transaction.
const BULK_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// An error answer of the API: `{"error": "<code>", "message": "<text>"}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    fn from_body(status: u16, body: &Value) -> ApiError {
        let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
        ApiError { status, code: text("error"), message: text("message") }
    }

    pub fn kind(&self) -> Failure {
        Failure::from_api(self.status, &self.code)
    }

    /// The server's message with its code, or the HTTP status when the body said nothing.
    pub fn describe(&self) -> String {
        match (self.message.is_empty(), self.code.is_empty()) {
            (false, false) => format!("{} [{}]", self.message, self.code),
            (false, true) => self.message.clone(),
            (true, false) => format!("the server refused the request [{}]", self.code),
            (true, true) => format!("the server answered HTTP {}", self.status),
        }
    }

    /// The error for a request made with a stored session.
    pub fn into_cli(self) -> CliError {
        let kind = self.kind();
        let message = match kind {
            Failure::Auth => {
                format!("your session is no longer valid ({}): run `tessera login` again", self.describe())
            }
            Failure::TooManyAttempts => too_many_attempts(&self),
            _ => self.describe(),
        };
        CliError::new(kind, message)
    }
}

/// The message for a 429 answer: what to do, then the server's own words (how long).
pub fn too_many_attempts(error: &ApiError) -> String {
    format!("too many attempts, try again later ({})", error.describe())
}

/// What the server answered: a success body, or an error and the whole error body.
pub enum Answer {
    Success(Value),
    Failure(ApiError, Value),
}

/// Builds the HTTP client (no redirects: a token must not follow one).
pub fn http_client() -> Result<reqwest::Client, CliError> {
    reqwest::Client::builder()
        .user_agent(concat!("tessera-cli/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| CliError::unexpected(format!("cannot set up the HTTP client: {e}")))
}

/// Parses a `--server` URL: http or https, no user info, query or fragment.
pub fn parse_server(text: &str) -> Result<Url, CliError> {
    let bad = |why: &str| CliError::bad_input(format!("invalid server URL '{text}': {why}"));
    let url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not contain a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    Ok(url)
}

/// The server URL in the form stored and compared (no trailing slash).
pub fn normalize_server(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

/// `base` + path segments, each percent-encoded as needed (UPNs may hold `+`, `#`...).
pub fn endpoint(base: &Url, segments: &[&str]) -> Result<Url, CliError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| CliError::bad_input(format!("invalid server URL '{base}'")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// Sends a request; only transport problems are errors here.
pub async fn exchange(request: RequestBuilder, server: &Url) -> Result<Answer, CliError> {
    let response = request.send().await.map_err(|e| transport_error(&e, server))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| transport_error(&e, server))?;
    let body = parse_body(&bytes);
    if status.is_success() {
        return match body {
            Some(body) => Ok(Answer::Success(body)),
            None => Err(CliError::unexpected(format!(
                "the server at {server} answered HTTP {status} with a body that is not JSON"
            ))),
        };
    }
    let body = body.unwrap_or(Value::Null);
    let mut error = ApiError::from_body(status.as_u16(), &body);
    if status.is_redirection() {
        error.message = format!(
            "the server answered with a redirect (HTTP {status}): check the server URL, \
             e.g. http vs https"
        );
    }
    Ok(Answer::Failure(error, body))
}

/// JSON body, `Null` for an empty one, `None` when it is not JSON.
fn parse_body(bytes: &[u8]) -> Option<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Some(Value::Null);
    }
    serde_json::from_slice(bytes).ok()
}

fn transport_error(error: &reqwest::Error, server: &Url) -> CliError {
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let detail = if causes.is_empty() { error.to_string() } else { causes.join(": ") };
    if error.is_connect() || error.is_timeout() {
        CliError::new(Failure::Unreachable, format!("cannot reach the server at {server}: {detail}"))
    } else {
        CliError::unexpected(format!("request to {server} failed: {detail}"))
    }
}

/// A logged-in session: the stored credentials and a client for the tenant's API.
pub struct Api {
    http: reqwest::Client,
    server: Url,
    tenant_base: Url,
    pub credentials: Credentials,
}

/// The report of a bulk call and whether the server rejected it (422 `bulk_rejected`).
pub struct BulkAnswer {
    pub report: Value,
    pub rejected: bool,
}

impl Api {
    /// Opens the stored session. `server_override` (`--server`/`TESSERA_SERVER`) must name
    /// the server the session belongs to: the token is never sent anywhere else.
    pub fn open(
        config_dir: &std::path::Path,
        server_override: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Api, CliError> {
        let credentials = config::load(config_dir)?.ok_or_else(|| {
            CliError::auth("not logged in: run `tessera login --server URL --tenant SLUG --upn UPN` first")
        })?;
        if credentials.is_expired(now) {
            return Err(CliError::auth(format!(
                "session expired at {}: run `tessera login` again",
                super::logs::format_time(credentials.expires_at)
            )));
        }
        let server = parse_server(&credentials.server)?;
        check_same_server(&server, server_override, &credentials)?;
        let tenant_base = endpoint(&server, &["api", "v1", "tenants", &credentials.tenant])?;
        Ok(Api { http: http_client()?, server, tenant_base, credentials })
    }

    pub async fn get(&self, path: &[&str], query: &[(&str, String)]) -> Result<Value, CliError> {
        let request = self.request(Method::GET, path)?.query(query);
        self.expect_success(request).await
    }

    pub async fn post(&self, path: &[&str], body: &impl Serialize) -> Result<Value, CliError> {
        let request = self.request(Method::POST, path)?.json(body);
        self.expect_success(request).await
    }

    pub async fn patch(&self, path: &[&str], body: &impl Serialize) -> Result<Value, CliError> {
        let request = self.request(Method::PATCH, path)?.json(body);
        self.expect_success(request).await
    }

    pub async fn delete(&self, path: &[&str]) -> Result<(), CliError> {
        let request = self.request(Method::DELETE, path)?;
        self.expect_success(request).await.map(drop)
    }

    /// Posts a bulk request; a 422 `bulk_rejected` answer is a report, not an error.
    pub async fn bulk(&self, path: &[&str], body: &impl Serialize) -> Result<BulkAnswer, CliError> {
        let request = self.request(Method::POST, path)?.timeout(BULK_TIMEOUT).json(body);
        match exchange(request, &self.server).await? {
            Answer::Success(report) => Ok(BulkAnswer { report, rejected: false }),
            Answer::Failure(error, report) if error.code == "bulk_rejected" => {
                Ok(BulkAnswer { report, rejected: true })
            }
            Answer::Failure(error, _) => Err(error.into_cli()),
        }
    }

    fn request(&self, method: Method, path: &[&str]) -> Result<RequestBuilder, CliError> {
        let url = endpoint(&self.tenant_base, path)?;
        Ok(self.http.request(method, url).timeout(REQUEST_TIMEOUT).bearer_auth(self.credentials.access_token.expose()))
    }

    async fn expect_success(&self, request: RequestBuilder) -> Result<Value, CliError> {
        match exchange(request, &self.server).await? {
            Answer::Success(body) => Ok(body),
            Answer::Failure(error, _) => Err(error.into_cli()),
        }
    }
}

fn check_same_server(stored: &Url, server_override: Option<&str>, credentials: &Credentials) -> Result<(), CliError> {
    let Some(wanted) = server_override.filter(|s| !s.trim().is_empty()) else {
        return Ok(());
    };
    if normalize_server(&parse_server(wanted)?) == normalize_server(stored) {
        return Ok(());
    }
    Err(CliError::auth(format!(
        "not logged in to {}: the stored session is for {} (tenant {}); \
         run `tessera login --server {}` first",
        wanted.trim(),
        credentials.server,
        credentials.tenant,
        wanted.trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_urls_are_checked() {
        assert!(parse_server("http://127.0.0.1:8080").is_ok());
        assert!(parse_server("https://id.example.com/tessera/").is_ok());
        for bad in ["127.0.0.1:8080", "ftp://x", "http://u:p@x", "http://x/?a=1", "nope"] {
            let error = parse_server(bad).unwrap_err();
            assert_eq!(error.exit_code(), super::super::error::exit::BAD_INPUT, "{bad}");
        }
    }

    #[test]
    fn endpoints_encode_segments_and_keep_a_path_prefix() {
        let base = parse_server("https://id.example.com/tessera/").unwrap();
        let url = endpoint(&base, &["api", "v1", "tenants", "contoso"]).unwrap();
        assert_eq!(url.as_str(), "https://id.example.com/tessera/api/v1/tenants/contoso");
        let user = endpoint(&url, &["users", "a+b#c/d@x.com"]).unwrap();
        assert_eq!(user.as_str(), "https://id.example.com/tessera/api/v1/tenants/contoso/users/a+b%23c%2Fd@x.com");
    }

    #[test]
    fn normalized_servers_compare_equal() {
        let a = parse_server("http://127.0.0.1:8080/").unwrap();
        let b = parse_server("http://127.0.0.1:8080").unwrap();
        assert_eq!(normalize_server(&a), normalize_server(&b));
        assert_eq!(normalize_server(&b), "http://127.0.0.1:8080");
    }

    #[test]
    fn api_errors_describe_and_classify() {
        let body = json!({"error": "not_found", "message": "no user bob@contoso.com"});
        let error = ApiError::from_body(404, &body);
        assert_eq!(error.describe(), "no user bob@contoso.com [not_found]");
        assert_eq!(error.clone().into_cli().exit_code(), 5);
        let expired = ApiError::from_body(401, &json!({"error": "unauthorized"}));
        let cli = expired.into_cli();
        assert_eq!(cli.exit_code(), 3);
        assert!(cli.to_string().contains("tessera login"), "{cli}");
        let locked = ApiError::from_body(
            429,
            &json!({"error": "too_many_requests", "message": "too many attempts: try again in 15 minute(s)"}),
        );
        let cli = locked.into_cli();
        assert_eq!(cli.exit_code(), 9);
        assert!(cli.to_string().starts_with("too many attempts, try again later (too many attempts: try again in 15"));
        let bare = ApiError::from_body(500, &Value::Null);
        assert_eq!(bare.describe(), "the server answered HTTP 500");
    }

    #[test]
    fn bodies_parse_leniently() {
        assert_eq!(parse_body(b""), Some(Value::Null));
        assert_eq!(parse_body(b"{\"a\":1}"), Some(json!({"a": 1})));
        assert_eq!(parse_body(b"<html>"), None);
    }

    #[tokio::test]
    async fn unreachable_server_is_exit_code_8() {
        // A port that was just free: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let server = parse_server(&format!("http://127.0.0.1:{port}")).unwrap();
        let request = http_client().unwrap().get(server.clone());
        let error = match exchange(request, &server).await {
            Err(error) => error,
            Ok(_) => panic!("expected a connection error"),
        };
        assert_eq!(error.exit_code(), 8, "{error}");
    }
}
