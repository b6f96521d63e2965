//! The world of one end-to-end test: a temporary directory, a tenant created by the real
//! `tessera init`, a real `tessera serve` child process on port 0 over a fresh database
//! (SQLite, or PostgreSQL when `TESSERA_TEST_DATABASE_URL` is set), and a config directory
//! for the CLI's session. Every command runs the real binary with no stdin. A test may start
//! more `tessera serve` processes on the same database (one deployment of several nodes
//! sharing one encryption key file).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const TENANT: &str = "contoso";
pub const ADMIN: &str = "admin@contoso.com";
pub const ADMIN_PASSWORD: &str = "Correct-Horse-Battery-1";

const BIN: &str = env!("CARGO_BIN_EXE_tessera");
/// Generous: a debug build on a loaded machine, and PostgreSQL migrations.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(60);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Environment variables of the binary that must not leak in from the developer's shell.
const SCRUBBED_ENV: [&str; 14] = [
    "TESSERA_SERVER",
    "TESSERA_PASSWORD",
    "TESSERA_CONFIG_DIR",
    "TESSERA_DATA_DIR",
    "TESSERA_DATABASE_URL",
    "TESSERA_LISTEN",
    "TESSERA_LOG",
    "TESSERA_ENCRYPTION_KEY_FILE",
    "TESSERA_TLS_CERT",
    "TESSERA_TLS_KEY",
    "TESSERA_LDAP_LISTEN",
    "TESSERA_LDAPS_LISTEN",
    "XDG_CONFIG_HOME",
    "RUST_BACKTRACE",
];

/// Where the server keeps its data.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// The URL of a database created for this test alone.
    Postgres(String),
}

impl Backend {
    /// A fresh PostgreSQL database, when the test server is configured (required under CI).
    pub fn postgres() -> Option<Backend> {
        block_on(tessera_store::testing::fresh_postgres_url()).map(Backend::Postgres)
    }

    fn storage_args(&self, data_dir: &Path) -> Vec<String> {
        let mut args = vec!["--data-dir".to_owned(), data_dir.display().to_string()];
        if let Backend::Postgres(url) = self {
            args.extend(["--database-url".to_owned(), url.clone()]);
        }
        args
    }
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime").block_on(future)
}

/// How one command ended and what it printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    command: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited with {}\n--- stdout:\n{}--- stderr:\n{}---",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Asserts the exit code (showing the whole run when it differs).
    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "unexpected exit code: {self}");
        self
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Run {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}: {self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Run {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}: {self}");
        self
    }

    #[track_caller]
    pub fn stderr_lacks(self, needle: &str) -> Run {
        assert!(!self.stderr.contains(needle), "stderr has {needle:?}: {self}");
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self}"))
    }

    /// The data rows of a bulk report table (`LINE USER STATUS ...`): (line, user, status).
    pub fn report_rows(&self) -> Vec<(String, String, String)> {
        let mut lines = self.stdout.lines();
        assert!(lines.next().is_some_and(|h| h.starts_with("LINE")), "no LINE column: {self}");
        lines
            .filter_map(|line| {
                let mut cells = line.split_whitespace();
                let first = cells.next()?;
                if !first.chars().all(|c| c.is_ascii_digit() || c == '?') {
                    return None; // the summary line
                }
                Some((first.to_owned(), cells.next()?.to_owned(), cells.next()?.to_owned()))
            })
            .collect()
    }
}

/// The `tessera serve` child; killed (and its log shown, if the test failed) on drop.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(cannot read {}: {e})", self.log.display()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- log of tessera serve:\n{}---", self.log_text());
        }
    }
}

/// One test's world. Fields drop in order: the servers stop before their directory goes.
pub struct Env {
    server: Option<Server>,
    /// Servers started by [`Env::start_another_server`].
    more_servers: Vec<Server>,
    backend: Backend,
    /// The `--encryption-key-file` every server gets, if not the default in the data dir.
    key_file: Option<PathBuf>,
    /// More arguments of every `tessera serve` (e.g. `--ldap-listen 127.0.0.1:0`).
    serve_args: Vec<String>,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT` of the running server.
    pub url: String,
    /// The other `listening on` URLs of the running server, in the order it printed them
    /// (`ldap://...`, `ldaps://...`).
    pub listening: Vec<String>,
}

impl Env {
    /// `tessera init` (tenant `contoso`, Global Administrator `admin@contoso.com`), then
    /// `tessera serve` on port 0. Not logged in yet.
    pub fn start(backend: Backend) -> Env {
        Env::start_inner(backend, false, &[])
    }

    /// Like [`Env::start`], with more arguments for `tessera serve`. Each `--*-listen` among
    /// them adds a URL to [`Env::listening`].
    pub fn start_with_serve_args(backend: Backend, args: &[&str]) -> Env {
        Env::start_inner(backend, false, args)
    }

    /// Like [`Env::start`], but the key that encrypts secrets at rest is a file made by
    /// `tessera keys generate` and given to every server with `--encryption-key-file`, as
    /// nodes of one deployment share it.
    pub fn start_with_key_file(backend: Backend) -> Env {
        Env::start_inner(backend, true, &[])
    }

    fn start_inner(backend: Backend, key_file: bool, serve_args: &[&str]) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let serve_args = serve_args.iter().map(|a| (*a).to_owned()).collect();
        let mut env = Env {
            server: None,
            more_servers: Vec::new(),
            backend,
            key_file: None,
            serve_args,
            dir,
            url: String::new(),
            listening: Vec::new(),
        };
        fs::write(env.admin_password_file(), format!("{ADMIN_PASSWORD}\n")).expect("write password file");
        env.init(ADMIN, &env.admin_password_file()).ok().stdout_has("created tenant 'contoso'");
        if key_file {
            let path = env.path("shared.key");
            let shown = path.display().to_string();
            run(base_command().args(["keys", "generate", &shown]), &format!("keys generate {shown}"))
                .ok()
                .stdout_has("wrote a new key");
            env.key_file = Some(path);
        }
        let (server, url, listening) = env.spawn_server("serve.log");
        env.server = Some(server);
        env.url = url;
        env.listening = listening;
        env
    }

    /// Starts one more `tessera serve` on the same database and key; returns its URL.
    pub fn start_another_server(&mut self) -> String {
        let log = format!("serve-{}.log", self.more_servers.len() + 2);
        let (server, url, _) = self.spawn_server(&log);
        self.more_servers.push(server);
        url
    }

    fn spawn_server(&self, log_name: &str) -> (Server, String, Vec<String>) {
        let log = self.path(log_name);
        let mut command = base_command();
        command.arg("serve").args(self.backend.storage_args(&self.data_dir()));
        if let Some(key) = &self.key_file {
            command.arg("--encryption-key-file").arg(key);
        }
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(&self.serve_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("create serve.log"));
        let mut child = command.spawn().expect("spawn tessera serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let server = Server { child, log };
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            // Every line goes to the test; the pipe stays open and drained for as long as the
            // server lives.
            for line in BufReader::new(stdout).lines() {
                let _ = tx.send(line.unwrap_or_default());
            }
        });
        let mut urls = Vec::new();
        let listeners = 1 + self.serve_args.iter().filter(|a| a.starts_with("--") && a.ends_with("-listen")).count();
        for _ in 0..listeners {
            let line = rx.recv_timeout(SERVER_START_TIMEOUT).unwrap_or_default();
            let Some(url) = line.trim().strip_prefix("listening on ") else {
                panic!(
                    "tessera serve did not print `listening on URL` (got {line:?}); its log:\n{}",
                    server.log_text()
                );
            };
            urls.push(url.to_owned());
        }
        let url = urls.remove(0);
        (server, url, urls)
    }

    /// Kills the server: the stored session then points at a closed port.
    pub fn stop_server(&mut self) {
        self.server = None;
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The file holding the key that encrypts secrets at rest (the servers' default is
    /// `secret.key` in the data directory, created by the first `tessera serve`).
    pub fn key_file(&self) -> PathBuf {
        self.key_file.clone().unwrap_or_else(|| self.data_dir().join("secret.key"))
    }

    /// The CLI's config directory (holds credentials.json after `tessera login`).
    pub fn config_dir(&self) -> PathBuf {
        self.path("config")
    }

    pub fn admin_password_file(&self) -> PathBuf {
        self.path("admin-password")
    }

    /// Writes a file in the test directory and returns its path as an argument.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.path(name);
        fs::write(&path, contents).expect("write test file");
        path.display().to_string()
    }

    /// `tessera init` on this test's database.
    pub fn init(&self, admin: &str, password_file: &Path) -> Run {
        let mut args = vec!["init".to_owned()];
        args.extend(self.backend.storage_args(&self.data_dir()));
        args.extend(["--tenant", TENANT, "--admin", admin, "--admin-password-file"].map(str::to_owned));
        args.push(password_file.display().to_string());
        run(base_command().args(&args), &args.join(" "))
    }

    /// Runs `tessera ARGS` with this test's config directory.
    pub fn tessera(&self, args: &[&str]) -> Run {
        self.tessera_with(args, &[])
    }

    /// Runs `tessera ARGS` with extra environment variables (they may override
    /// `TESSERA_CONFIG_DIR`).
    pub fn tessera_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut command = base_command();
        command.env("TESSERA_CONFIG_DIR", self.config_dir()).args(args);
        for (name, value) in vars {
            command.env(name, value);
        }
        run(&mut command, &args.join(" "))
    }

    /// `tessera ARGS --output json`, which must succeed; its stdout as JSON.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["--output", "json"]);
        self.tessera(&args).ok().json()
    }

    /// Logs the Global Administrator in (password file).
    pub fn login(&self) {
        let password_file = self.admin_password_file().display().to_string();
        self.tessera(&[
            "login",
            "--server",
            &self.url,
            "--tenant",
            TENANT,
            "--upn",
            ADMIN,
            "--password-file",
            &password_file,
        ])
        .ok()
        .stdout_has("Logged in to");
    }

    /// `tessera login` as `upn` on `server`, with `password` (written to a file) and an
    /// optional `--otp`, storing the session in the config directory `config`.
    pub fn login_as(&self, config: &Path, server: &str, upn: &str, password: &str, otp: Option<&str>) -> Run {
        let password_file = self.write(&format!("{upn}.pw"), format!("{password}\n"));
        let mut args = vec!["login", "--server", server, "--tenant", TENANT, "--upn", upn, "--password-file"];
        args.push(&password_file);
        if let Some(otp) = otp {
            args.extend(["--otp", otp]);
        }
        self.tessera_in(config, &args)
    }

    /// Runs `tessera ARGS` with the session stored in `config` (another user's CLI).
    pub fn tessera_in(&self, config: &Path, args: &[&str]) -> Run {
        let config = config.display().to_string();
        self.tessera_with(args, &[("TESSERA_CONFIG_DIR", &config)])
    }

    /// Creates a user with a password and roles (role names as the API spells them) through
    /// the API as the logged-in administrator.
    #[track_caller]
    pub fn add_user_with(&self, upn: &str, password: &str, roles: &[&str]) {
        let name = upn.split('@').next().unwrap_or(upn);
        let body = serde_json::json!({"upn": upn, "displayName": name, "password": password, "roles": roles});
        let (status, answer) = self.api_post("users", &body);
        assert_eq!(status, 201, "create {upn}: {answer}");
    }

    /// `tessera users add UPN --display-name NAME` for each (no password: no Argon2 cost).
    pub fn add_users(&self, upns: &[&str]) {
        for upn in upns {
            let name = upn.split('@').next().unwrap_or(upn);
            self.tessera(&["users", "add", upn, "--display-name", name]).ok();
        }
    }

    /// Every user, from `users list --all --output json`.
    pub fn users(&self) -> Vec<Value> {
        items(self.json(&["users", "list", "--all"]))
    }

    /// UPN -> per-user MFA state of every user.
    pub fn states(&self) -> BTreeMap<String, String> {
        self.users().iter().map(|u| (text(&u["upn"]), text(&u["perUserMfaState"]))).collect()
    }

    /// The UPNs `users list --state STATE` returns, sorted.
    pub fn upns_in_state(&self, state: &str) -> Vec<String> {
        let mut upns: Vec<String> =
            items(self.json(&["users", "list", "--all", "--state", state])).iter().map(|u| text(&u["upn"])).collect();
        upns.sort();
        upns
    }

    /// Every audit record (newest first), optionally only actions with this prefix.
    pub fn audit(&self, action: Option<&str>) -> Vec<Value> {
        let mut args = vec!["audit", "--all"];
        if let Some(action) = action {
            args.extend(["--action", action]);
        }
        items(self.json(&args))
    }

    /// The bearer token `tessera login` stored.
    pub fn stored_token(&self) -> String {
        let path = self.config_dir().join("credentials.json");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let credentials: Value = serde_json::from_str(&text).expect("credentials.json is JSON");
        text_of(&credentials, "access_token")
    }

    /// `POST /api/v1/tenants/contoso/PATH` with the stored token: (status, body).
    pub fn api_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let url = format!("{}/api/v1/tenants/{TENANT}/{path}", self.url);
        let token = self.stored_token();
        block_on(async move {
            let response =
                reqwest::Client::new().post(url).bearer_auth(token).json(body).send().await.expect("POST to the API");
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        })
    }
}

/// `POST URL` with a JSON body and no token (e.g. `/api/v1/auth/token`): (status, body).
pub fn post_anonymous(url: &str, body: &Value) -> (u16, Value) {
    block_on(async move {
        let response = reqwest::Client::new().post(url).json(body).send().await.expect("POST to the API");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// The binary, with nothing inherited that changes its behaviour.
fn base_command() -> Command {
    let mut command = Command::new(BIN);
    for name in SCRUBBED_ENV {
        command.env_remove(name);
    }
    command
}

/// Runs a command to its end (no stdin), with a time limit.
fn run(command: &mut Command, shown: &str) -> Run {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap_or_else(|e| panic!("spawn `tessera {shown}`: {e}"));
    let (tx, rx) = mpsc::channel();
    drain(child.stdout.take().expect("piped stdout"), 0, tx.clone());
    drain(child.stderr.take().expect("piped stderr"), 1, tx);
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let mut output = [String::new(), String::new()];
    for _ in 0..2 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((index, text)) => output[index] = text,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`tessera {shown}` did not finish within {COMMAND_TIMEOUT:?}");
            }
        }
    }
    let status = child.wait().expect("wait for tessera");
    let [stdout, stderr] = output;
    Run { code: status.code().unwrap_or(-1), stdout, stderr, command: format!("tessera {shown}") }
}

/// Reads a pipe to its end on a thread, then sends (index, text).
fn drain(mut pipe: impl Read + Send + 'static, index: usize, tx: mpsc::Sender<(usize, String)>) {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send((index, String::from_utf8_lossy(&bytes).into_owned()));
    });
}

/// The `items` of a `{items, next}` listing.
#[track_caller]
pub fn items(listing: Value) -> Vec<Value> {
    match listing {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items,
            other => panic!("listing without items: {other:?}"),
        },
        other => panic!("not a listing: {other}"),
    }
}

/// A JSON string (panics on anything else).
#[track_caller]
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("expected a string, got {value}")).to_owned()
}

#[track_caller]
pub fn text_of(value: &Value, key: &str) -> String {
    text(&value[key])
}

/// A local port nobody listens on (it was free a moment ago).
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}
