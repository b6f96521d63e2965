//! LDAP bind benchmark (issue 5, LDAP for legacy clients), on SQLite in a fresh temporary
//! directory: the listener (`tessera_ldap::serve`, what `tessera serve --ldap-listen` runs)
//! served in this process on 127.0.0.1, driven by C concurrent clients speaking LDAP over
//! TCP (ldap3_proto's codec):
//!
//! - `fresh`: each bind on a new connection: connect, simple bind, unbind (a printer, a VPN
//!   concentrator checking one user);
//! - `reuse`: repeated binds over one persistent connection per client (a mail server's
//!   connection pool).
//!
//! With an app password (SHA-256, one indexed lookup) and, for contrast, with the password
//! (Argon2id). Every bind is a real one: throttle bookkeeping, the credential lookup, the
//! app password's `last_used_at`, the sign-in log record. In the same run: the rate of the
//! app-password hash (`tessera_core::app_password::hash`) on one core and of the Argon2id
//! verification on as many threads as cores. See `bench/ldap.sh` and `bench/RESULTS.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::proto::{LdapBindCred, LdapBindRequest, LdapMsg, LdapOp, LdapResultCode};
use tessera_core::app_password;
use tessera_core::credential_ports::{AppPasswordRecord, CredentialTx};
use tessera_core::crypto::{DataKey, Keyring};
use tessera_core::ids::{DisplayName, TenantId, Upn, UserId};
use tessera_core::password::{self, Password};
use tessera_core::ports::{Store, StoreTx, SystemClock};
use tessera_core::service::{RequestCtx, Tessera};
use tessera_core::settings::MfaSettingsPatch;
use tessera_core::user::NewUser;
use tessera_store::SqlStore;
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

const TENANT: &str = "bench";
const ADMIN: &str = "admin@bench.test";
const PASSWORD: &str = "correct horse battery staple";

#[derive(Parser, Debug)]
#[command(about = "Tessera LDAP bind benchmark: binds/s with an app password and with a password")]
struct Args {
    /// Concurrent clients of the app-password flows, one measurement per value and flow.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 4, 16, 64])]
    clients: Vec<usize>,
    /// Concurrent clients of the password (Argon2id) flows.
    #[arg(long, value_delimiter = ',', default_values_t = [2, 8])]
    password_clients: Vec<usize>,
    /// Seconds measured per flow and client count.
    #[arg(long, default_value_t = 8.0)]
    secs: f64,
    /// Seconds of hashing measured (app-password hash on one core, Argon2id on all).
    #[arg(long, default_value_t = 4.0)]
    hash_secs: f64,
    /// Users, each with one app password; client c binds as users c, c + C, ...
    #[arg(long, default_value_t = 256)]
    users: usize,
}

/// One bench user.
#[derive(Clone)]
struct Seeded {
    upn: String,
    app_password: String,
}

/// Users `u{i}@bench.test` with the password `phc` and one app password each.
async fn seed(store: &SqlStore, tenant: TenantId, phc: &str, n: usize) -> anyhow::Result<Vec<Seeded>> {
    let now = OffsetDateTime::now_utc();
    let mut users = Vec::with_capacity(n);
    let mut seeded = Vec::with_capacity(n);
    let mut records = Vec::with_capacity(n);
    for i in 0..n {
        let upn = format!("u{i}@bench.test");
        let id = UserId::new();
        users.push(NewUser {
            id,
            tenant_id: tenant,
            upn: Upn::parse(&upn)?,
            display_name: DisplayName::parse(&format!("User {i}"))?,
            password_hash: Some(phc.to_owned()),
            account_enabled: true,
            roles: Vec::new(),
            created_at: now,
        });
        let secret = app_password::generate()?;
        let normalized = app_password::normalize(&secret).context("normalize")?;
        records.push(AppPasswordRecord {
            id: tessera_core::ids::AppPasswordId::new(),
            user_id: id,
            name: "bench".into(),
            password_hash: app_password::hash(&normalized),
            created_at: now,
        });
        seeded.push(Seeded { upn, app_password: secret.to_string() });
    }
    let mut tx = store.begin().await?;
    tx.insert_users(&users).await?;
    for r in &records {
        tx.insert_app_password(r).await?;
    }
    tx.commit().await?;
    Ok(seeded)
}

/// A bind on an open connection; an error names the answer.
async fn bind(conn: &mut Framed<TcpStream, LdapCodec>, id: i32, upn: &str, secret: &str) -> anyhow::Result<()> {
    let req = LdapBindRequest { version: 3, dn: upn.to_owned(), cred: LdapBindCred::Simple(secret.to_owned()) };
    conn.send(LdapMsg::new(id, LdapOp::BindRequest(req))).await?;
    let answer = conn.next().await.context("connection closed")??;
    match answer.op {
        LdapOp::BindResponse(r) if r.res.code == LdapResultCode::Success => Ok(()),
        other => bail!("bind refused: {other:?}"),
    }
}

async fn connect(addr: &str) -> anyhow::Result<Framed<TcpStream, LdapCodec>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(Framed::new(stream, LdapCodec::default()))
}

/// Which credential and which connection use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Flow {
    app_password: bool,
    fresh: bool,
}

/// One level: (binds, seconds, sorted latencies, failures, CPU seconds).
async fn level(
    addr: &str,
    users: &Arc<Vec<Seeded>>,
    flow: Flow,
    clients: usize,
    secs: f64,
) -> anyhow::Result<(usize, f64, Vec<Duration>, u64, f64)> {
    let cpu = cpu_secs();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (addr, users) = (addr.to_owned(), users.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0u64;
            let mut conn = if flow.fresh { None } else { Some(connect(&addr).await?) };
            let mut j = 0usize;
            while Instant::now() < deadline {
                let u = &users[(c + j * clients) % users.len()];
                j += 1;
                let secret = if flow.app_password { u.app_password.as_str() } else { PASSWORD };
                let t = Instant::now();
                let r = if flow.fresh {
                    let mut fresh = connect(&addr).await?;
                    let r = bind(&mut fresh, 1, &u.upn, secret).await;
                    fresh.send(LdapMsg::new(2, LdapOp::UnbindRequest)).await?;
                    r
                } else {
                    bind(conn.as_mut().context("connection")?, j as i32, &u.upn, secret).await
                };
                match r {
                    Ok(()) => lat.push(t.elapsed()),
                    Err(e) => {
                        failed += 1;
                        if failed <= 3 {
                            eprintln!("  bind failed: {e:#}");
                        }
                    }
                }
            }
            anyhow::Ok((lat, failed))
        }));
    }
    let (mut lat, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (l, f) = t.await??;
        lat.extend(l);
        failed += f;
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort();
    Ok((lat.len(), secs, lat, failed, cpu_secs() - cpu))
}

/// Calls of `f` per second on `threads` threads for `secs`.
fn rate(threads: usize, secs: f64, f: impl Fn() + Send + Sync + 'static) -> f64 {
    let f = Arc::new(f);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (f, stop) = (f.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    f();
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let n: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    n as f64 / started.elapsed().as_secs_f64()
}

/// CPU time of this process so far (user + system, all threads), in seconds.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: f64 = after_name.split_whitespace().skip(11).take(2).filter_map(|v| v.parse::<f64>().ok()).sum();
    ticks / 100.0
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let dir = tempfile::tempdir()?;
    let store = SqlStore::open_sqlite(dir.path()).await?;
    let keyring = Arc::new(Keyring::new(DataKey::from_bytes(&[0x42; 32])?, Vec::new()));
    let services = Tessera::new(store.clone(), Arc::new(SystemClock)).with_keyring(keyring);
    let (tenant, _) = services
        .init_tenant(
            &tessera_core::ids::TenantSlug::parse(TENANT)?,
            &tessera_core::ids::Upn::parse(ADMIN)?,
            PASSWORD.into(),
        )
        .await?;
    let ctx = RequestCtx { source_ip: Some("10.0.0.1".parse().unwrap()), user_agent: None, device_tokens: Vec::new() };
    let token = services.issue_token(TENANT, ADMIN, PASSWORD.into(), None, &ctx).await?;
    let actor = services.authenticate(&tenant.slug, &token.access_token.into(), &ctx).await?;
    let allow = MfaSettingsPatch { allow_app_passwords: Some(true), ..MfaSettingsPatch::default() };
    services.update_mfa_settings(&actor, allow).await?;
    let phc = password::hash(&Password::parse(PASSWORD.into())?)?;
    let users = Arc::new(seed(&store, tenant.id, &phc, args.users).await?);
    println!(
        "SQLite (WAL, synchronous=NORMAL) in {}; {cores} cores; {} users with one app password each; Argon2id {}",
        dir.path().display(),
        users.len(),
        phc.split('$').nth(3).unwrap_or("?")
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    tokio::spawn(tessera_ldap::serve(listener, None, services.clone(), tessera_ldap::Limits::default()));

    println!("\n## Hash rates (load {})\n", load());
    let normalized = app_password::normalize(&users[0].app_password).context("normalize")?;
    let sha = rate(1, args.hash_secs, move || {
        std::hint::black_box(app_password::hash(std::hint::black_box(&normalized)));
    });
    let phc2 = phc.clone();
    let argon = rate(cores, args.hash_secs, move || {
        let pw = Password::for_verification(PASSWORD.into());
        assert!(password::verify(&pw, &phc2));
    });
    println!("- app password hash (SHA-256), 1 core: {sha:.0}/s ({:.2} µs each)", 1e6 / sha);
    println!(
        "- Argon2id verification, {cores} threads: {argon:.1}/s ({:.1} ms each per core)",
        1e3 * cores as f64 / argon
    );

    // Warm-up: connections, statement caches.
    level(&addr, &users, Flow { app_password: true, fresh: false }, 4, 1.0).await?;

    println!("\n## LDAP binds\n");
    println!(
        "| credential | connection | clients | binds | binds/s | p50 ms | p99 ms | max ms | CPU cores busy | failed | load |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut flows = Vec::new();
    for fresh in [false, true] {
        for &c in &args.clients {
            flows.push((Flow { app_password: true, fresh }, c));
        }
    }
    for fresh in [false, true] {
        for &c in &args.password_clients {
            flows.push((Flow { app_password: false, fresh }, c));
        }
    }
    for (flow, c) in flows {
        let l = load();
        let (n, secs, lat, failed, cpu) = level(&addr, &users, flow, c, args.secs).await?;
        let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied();
        let show = |d: Option<Duration>| d.map_or("–".to_owned(), |d| format!("{:.2}", ms(d)));
        println!(
            "| {} | {} | {c} | {n} | {:.0} | {} | {} | {} | {:.2} | {failed} | {l} |",
            if flow.app_password { "app password" } else { "password (Argon2id)" },
            if flow.fresh { "new per bind" } else { "persistent" },
            n as f64 / secs,
            show(pct(0.5)),
            show(pct(0.99)),
            show(lat.last().copied()),
            cpu / secs,
        );
    }
    println!("\nload after: {}", load());
    store.close().await;
    Ok(())
}
