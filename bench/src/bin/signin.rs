//! Sign-in benchmarks (issue "sign-in that enforces per-user MFA"), on SQLite in a fresh
//! temporary directory, with a fixed keyring:
//!
//! 1. `http`: sign-ins per second through `POST /api/v1/auth/token`, served in this process by
//!    `tessera_web::serve` (what `tessera serve` runs) on 127.0.0.1, with C concurrent
//!    clients: (a) password only (users in state disabled), (b) password + TOTP (users
//!    enforced with a registered authenticator app; each sign-in uses a user not used before,
//!    as a code counts once per user and step). Compared with the Argon2id verification rate
//!    of the same PHC string on as many threads as cores, measured in the same run.
//! 2. `mfa`: the second factor alone through `Tessera::check_second_factor` (decrypt, HMAC,
//!    the atomic consume of the step, throttle bookkeeping) with a fake clock: round r is at
//!    T0 + 30·r s and verifies every user once with that step's code; then a per-statement
//!    time breakdown of the same work through the store port.
//!
//! Users are seeded through the store port with one Argon2 hash shared by all. See
//! `bench/signin.sh` and `bench/RESULTS-signin.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use tessera_core::auth_ports::{AuthStore, AuthTx};
use tessera_core::crypto::{DataKey, Keyring};
use tessera_core::ids::{DisplayName, TenantId, Upn, UserId, UserRef};
use tessera_core::mfa::{MethodKind, PerUserMfaState};
use tessera_core::password::{self, Password};
use tessera_core::ports::{Clock, Store, StoreTx, SystemClock};
use tessera_core::service::{RequestCtx, Tessera};
use tessera_core::session::{NewMethod, ThrottleKey, ThrottlePolicy};
use tessera_core::totp::{STEP_SECONDS, TotpCode, TotpSecret, step_of};
use tessera_core::user::{NewUser, User};
use tessera_store::SqlStore;
use time::OffsetDateTime;

const TENANT: &str = "bench";
const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Part {
    All,
    Http,
    Mfa,
}

#[derive(Parser, Debug)]
#[command(about = "Tessera sign-in benchmarks: sign-ins/s over HTTP vs the Argon2 rate, and the TOTP step alone")]
struct Args {
    #[arg(long, value_enum, default_value_t = Part::All)]
    part: Part,
    /// http: concurrent clients, one measurement per value and flow.
    #[arg(long, value_delimiter = ',', default_values_t = [2, 4, 8])]
    clients: Vec<usize>,
    /// http: seconds of sign-ins measured per flow and client count.
    #[arg(long, default_value_t = 12.0)]
    secs: f64,
    /// http: seconds of Argon2 verifications (on as many threads as cores) measured per flow
    /// and client count, in slices between the slices of sign-ins.
    #[arg(long, default_value_t = 6.0)]
    hash_secs: f64,
    /// http: slices each measurement is cut into, hashes and sign-ins alternating, so that
    /// a change in the machine's speed weighs on both alike.
    #[arg(long, default_value_t = 3)]
    slices: u32,
    /// mfa: users, each verified once per round.
    #[arg(long, default_value_t = 2000)]
    mfa_users: usize,
    /// mfa: rounds per task count.
    #[arg(long, default_value_t = 5)]
    mfa_rounds: usize,
    /// mfa: concurrent tasks, one measurement per value.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 4, 8])]
    mfa_tasks: Vec<usize>,
}

/// Time that the benchmark sets.
struct FakeClock(AtomicI64);

impl FakeClock {
    fn set(&self, unix: i64) {
        self.0.store(unix, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0.load(Ordering::SeqCst)).expect("valid time")
    }
}

/// A user seeded for a flow, with its TOTP secret if it has one.
struct Seeded {
    id: UserId,
    upn: String,
    secret: Option<TotpSecret>,
}

/// Deterministic 160-bit secret of user `i` (SplitMix64).
fn secret_of(i: usize) -> TotpSecret {
    let mut x = 0x5EED_0000_0000_0000u64 ^ i as u64;
    let mut b = Vec::with_capacity(24);
    for _ in 0..3 {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        b.extend_from_slice(&(z ^ (z >> 31)).to_be_bytes());
    }
    b.truncate(20);
    TotpSecret::from_bytes(b)
}

fn code(secret: &TotpSecret, step: i64) -> String {
    format!("{:06}", secret.code_at_step(step))
}

/// Seeds `n` users `{prefix}{i}@bench.test` sharing `phc`, in `state`; enforced ones with a
/// TOTP method (secret encrypted by `keyring`, as registration stores it).
async fn seed(
    store: &SqlStore,
    keyring: &Keyring,
    tenant: TenantId,
    phc: &str,
    prefix: &str,
    n: usize,
    state: PerUserMfaState,
) -> anyhow::Result<Vec<Seeded>> {
    let totp = state == PerUserMfaState::Enforced;
    let now = OffsetDateTime::now_utc();
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(5000) {
        let end = (start + 5000).min(n);
        let mut users = Vec::with_capacity(end - start);
        let mut methods = Vec::new();
        for i in start..end {
            let upn = format!("{prefix}{i}@bench.test");
            let id = UserId::new();
            users.push(NewUser {
                id,
                tenant_id: tenant,
                upn: Upn::parse(&upn)?,
                display_name: DisplayName::parse(&format!("{prefix} {i}"))?,
                password_hash: Some(phc.to_owned()),
                account_enabled: true,
                roles: Vec::new(),
                created_at: now,
            });
            let secret = totp.then(|| secret_of(i));
            if let Some(s) = &secret {
                let method_id = tessera_core::ids::MethodId::new();
                methods.push(NewMethod {
                    id: method_id,
                    user_id: id,
                    kind: MethodKind::Totp,
                    label: Some("Authenticator app".into()),
                    secret: Some(keyring.encrypt(s.as_bytes(), method_id.as_uuid().as_bytes())?),
                    created_at: now,
                    last_used_step: None,
                });
            }
            out.push(Seeded { id, upn, secret });
        }
        let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
        let mut tx = store.begin().await?;
        tx.insert_users(&users).await?;
        if state != PerUserMfaState::Disabled {
            tx.set_mfa_state(&ids, state).await?;
        }
        for m in &methods {
            tx.insert_method(m).await?;
        }
        tx.commit().await?;
    }
    Ok(out)
}

/// Verifies `phc` on `threads` threads for `dur`: (verifications, seconds, CPU seconds).
fn hash_count(phc: &str, threads: usize, dur: Duration) -> (u64, f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let (started, cpu) = (Instant::now(), cpu_secs());
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (phc, stop) = (phc.to_owned(), stop.clone());
            std::thread::spawn(move || {
                let pw = Password::for_verification(PASSWORD.into());
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    assert!(password::verify(&pw, &phc));
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(dur);
    stop.store(true, Ordering::Relaxed);
    let n: u64 = handles.into_iter().map(|h| h.join().expect("hash thread")).sum();
    (n, started.elapsed().as_secs_f64(), cpu_secs() - cpu)
}

/// Argon2id verifications per second of `phc` on `threads` threads for `secs` seconds.
fn hash_rate(phc: &str, threads: usize, secs: f64) -> f64 {
    let (n, secs, _) = hash_count(phc, threads, Duration::from_secs_f64(secs));
    n as f64 / secs
}

/// CPU time of this process so far (all threads, user + system), in seconds.
fn cpu_secs() -> f64 {
    // Fields 14 and 15 of /proc/self/stat (after the parenthesised name), in 1/100 s.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    f.iter().sum::<f64>() / 100.0
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// One token request; an error names the status and body.
async fn sign_in(http: &reqwest::Client, url: &str, upn: &str, otp: Option<&str>) -> anyhow::Result<()> {
    let otp = otp.map(|c| format!(r#","otp":"{c}""#)).unwrap_or_default();
    let body = format!(r#"{{"tenant":"{TENANT}","upn":"{upn}","password":"{PASSWORD}"{otp}}}"#);
    let resp = http.post(url).header("content-type", "application/json").body(body).send().await?;
    let status = resp.status();
    if !status.is_success() {
        bail!("{status}: {}", resp.text().await.unwrap_or_default());
    }
    let _ = resp.bytes().await?;
    Ok(())
}

/// Runs `clients` concurrent clients for `secs`; returns (sign-ins, seconds, failures).
/// Flow (a) when `otp_users` is None: client c signs in as its own users in turn. Flow (b):
/// every sign-in takes the next unused user of `otp_users`, with the code of now's step.
async fn http_level(
    http: &reqwest::Client,
    url: &str,
    clients: usize,
    secs: f64,
    pw_users: &Arc<Vec<Seeded>>,
    otp_users: Option<(&Arc<Vec<Seeded>>, &Arc<AtomicUsize>)>,
) -> anyhow::Result<(u64, f64, u64)> {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, url, done, failed) = (http.clone(), url.to_owned(), done.clone(), failed.clone());
        let pw_users = pw_users.clone();
        let otp = otp_users.map(|(u, next)| (u.clone(), next.clone()));
        tasks.push(tokio::spawn(async move {
            let mut j = 0usize;
            while Instant::now() < deadline {
                let r = match &otp {
                    None => {
                        let per = pw_users.len() / clients;
                        let u = &pw_users[c * per + j % per];
                        j += 1;
                        sign_in(&http, &url, &u.upn, None).await
                    }
                    Some((users, next)) => {
                        let Some(u) = users.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            return Err(anyhow::anyhow!("ran out of TOTP users: seed more"));
                        };
                        let secret = u.secret.as_ref().expect("seeded with TOTP");
                        let c = code(secret, step_of(OffsetDateTime::now_utc()));
                        sign_in(&http, &url, &u.upn, Some(&c)).await
                    }
                };
                match r {
                    Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("  sign-in failed: {e:#}");
                        }
                        0
                    }
                };
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((done.load(Ordering::Relaxed), started.elapsed().as_secs_f64(), failed.load(Ordering::Relaxed)))
}

async fn part_http(
    args: &Args,
    store: &SqlStore,
    keyring: &Arc<Keyring>,
    tenant: TenantId,
    phc: &str,
    cores: usize,
) -> anyhow::Result<()> {
    println!("\n## 1. Sign-ins per second over HTTP (POST /api/v1/auth/token)\n");
    let before = hash_rate(phc, cores, args.hash_secs);
    println!("Argon2id verifications/s on {cores} threads: {before:.1} (load {})", load());

    let max_clients = args.clients.iter().copied().max().unwrap_or(1);
    let pw_users = Arc::new(seed(store, keyring, tenant, phc, "pw", max_clients * 8, PerUserMfaState::Disabled).await?);
    // Flow (b) spends one user per sign-in: the hash rate bounds the sign-in rate (twice it,
    // should the machine get quieter meanwhile).
    let need = (before * 2.0 * (args.secs + 1.0)).ceil() as usize * args.clients.len() + 100;
    let t = Instant::now();
    let otp_users = Arc::new(seed(store, keyring, tenant, phc, "otp", need, PerUserMfaState::Enforced).await?);
    println!("seeded {} password-only and {need} TOTP users in {:.1} s", pw_users.len(), t.elapsed().as_secs_f64());

    let services = Tessera::new(store.clone(), Arc::new(SystemClock)).with_keyring(keyring.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/auth/token", listener.local_addr()?);
    tokio::spawn(tessera_web::serve(listener, services));
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let next = Arc::new(AtomicUsize::new(0));
    // Warm-up: connections, statement caches, the blocking pool.
    http_level(&http, &url, max_clients, 2.0, &pw_users, None).await?;

    // Each level is compared with the hash rate measured in slices between its own slices.
    let mut rows = Vec::new();
    let slices = f64::from(args.slices.max(1));
    for flow in ["a", "b"] {
        for &c in &args.clients {
            let l = load();
            let (mut hn, mut hsecs, mut hcpu) = (0u64, 0.0, 0.0);
            let (mut n, mut secs, mut cpu, mut failed) = (0u64, 0.0, 0.0, 0u64);
            for _ in 0..args.slices.max(1) {
                let h = hash_count(phc, cores, Duration::from_secs_f64(args.hash_secs / slices));
                (hn, hsecs, hcpu) = (hn + h.0, hsecs + h.1, hcpu + h.2);
                let otp = (flow == "b").then_some((&otp_users, &next));
                let c0 = cpu_secs();
                let r = http_level(&http, &url, c, args.secs / slices, &pw_users, otp).await?;
                (n, secs, failed, cpu) = (n + r.0, secs + r.1, failed + r.2, cpu + cpu_secs() - c0);
            }
            let (rate, hashes) = (n as f64 / secs, hn as f64 / hsecs);
            println!(
                "flow {flow}, {c} clients: {n} sign-ins in {secs:.2} s = {rate:.1}/s, {failed} failed, \
                 CPU {:.2} cores busy, {:.1} ms per sign-in; Argon2id {hashes:.1}/s, CPU {:.2} cores busy, \
                 {:.1} ms per verification (load {l})",
                cpu / secs,
                cpu * 1e3 / n as f64,
                hcpu / hsecs,
                hcpu * 1e3 / hn as f64,
            );
            rows.push((flow, c, rate, hashes, failed, cpu / secs, cpu * 1e3 / n as f64, hcpu * 1e3 / hn as f64));
        }
    }
    let over = hash_rate(phc, max_clients, args.hash_secs / slices);
    println!("(for reference: Argon2id on {max_clients} threads: {over:.1}/s)");

    println!(
        "\n| flow | clients | sign-ins/s | Argon2id verif./s ({cores} threads) | overhead 1 - s/h | target < 10% | \
         cores busy | CPU ms per sign-in | CPU ms per verif. | failed |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|");
    for (flow, c, rate, hashes, failed, busy, cpu_sign_in, cpu_hash) in rows {
        let overhead = 1.0 - rate / hashes;
        let name = if flow == "a" { "a: password" } else { "b: password + TOTP" };
        let ok = if overhead < 0.10 { "met" } else { "**missed**" };
        println!(
            "| {name} | {c} | {rate:.1} | {hashes:.1} | {:.1}% | {ok} | {busy:.2} | {cpu_sign_in:.1} | {cpu_hash:.1} | {failed} |",
            overhead * 100.0
        );
    }
    // A success gives its attempt back: the per-IP count must be back near zero (one more
    // hit here, given back at once).
    let policy = ThrottlePolicy { max_attempts: u32::MAX, window: time::Duration::minutes(15) };
    let ip = ThrottleKey::source_ip(&"127.0.0.1");
    let st = store.throttle_hit(&[(&ip, &policy)], OffsetDateTime::now_utc()).await?[0];
    // Clears an account key no one uses, and gives the IP's attempt back.
    store.throttle_settle(&ThrottleKey::password(None, "bench@nothing"), Some(&ip)).await?;
    println!("\nper-IP throttle count of 127.0.0.1 after the run: {} (limit 100)", st.attempts - 1);
    Ok(())
}

async fn part_mfa(
    args: &Args,
    store: &SqlStore,
    keyring: &Arc<Keyring>,
    tenant: TenantId,
    phc: &str,
) -> anyhow::Result<()> {
    println!("\n## 2. The TOTP step alone (Tessera::check_second_factor, fake clock)\n");
    let seeded = seed(store, keyring, tenant, phc, "mfa", args.mfa_users, PerUserMfaState::Enforced).await?;
    let mut users = Vec::with_capacity(seeded.len());
    for s in &seeded {
        users.push(store.user(tenant, &UserRef::Id(s.id)).await?.context("seeded user")?);
    }
    let users: Arc<Vec<User>> = Arc::new(users);
    let secrets: Vec<TotpSecret> = seeded.iter().map(|s| s.secret.clone().expect("TOTP")).collect();
    let clock = Arc::new(FakeClock(AtomicI64::new(0)));
    let services = Tessera::new(store.clone(), clock.clone()).with_keyring(keyring.clone());
    let ctx = RequestCtx { source_ip: Some("10.9.8.7".parse().unwrap()), ..Default::default() };
    // Round r is in step s0 + r, 10 s into it.
    let s0 = step_of(OffsetDateTime::now_utc()) + 1;
    let mut round = 0i64;
    let next_round = |round: &mut i64| {
        let step = s0 + *round;
        *round += 1;
        clock.set(step * STEP_SECONDS + 10);
        step
    };

    println!("| tasks | verifications | seconds | verifications/s | target > 5,000/s | load |");
    println!("|---:|---:|---:|---:|---|---|");
    for warm in [true, false] {
        for &tasks in &args.mfa_tasks {
            let rounds = if warm { 1 } else { args.mfa_rounds };
            let l = load();
            let mut total = Duration::ZERO;
            for _ in 0..rounds {
                let step = next_round(&mut round);
                let codes: Arc<Vec<String>> = Arc::new(secrets.iter().map(|s| code(s, step)).collect());
                let idx = Arc::new(AtomicUsize::new(0));
                let started = Instant::now();
                let handles: Vec<_> = (0..tasks)
                    .map(|_| {
                        let (services, users, codes, idx, ctx) =
                            (services.clone(), users.clone(), codes.clone(), idx.clone(), ctx.clone());
                        tokio::spawn(async move {
                            loop {
                                let i = idx.fetch_add(1, Ordering::Relaxed);
                                let Some(u) = users.get(i) else { return anyhow::Ok(()) };
                                let m = services.check_second_factor(u, &codes[i], &ctx).await?;
                                anyhow::ensure!(m == MethodKind::Totp);
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.await??;
                }
                total += started.elapsed();
            }
            if warm {
                if tasks == args.mfa_tasks[args.mfa_tasks.len() - 1] {
                    eprintln!("  (warm-up rounds done)");
                }
                continue;
            }
            let n = users.len() * rounds;
            let rate = n as f64 / total.as_secs_f64();
            let ok = if rate > 5000.0 { "met" } else { "**missed**" };
            println!("| {tasks} | {n} | {:.2} | {rate:.0} | {ok} | {l} |", total.as_secs_f64());
        }
    }

    // Replay: the same step again is refused.
    let step = s0 + round - 1;
    let replay = services.check_second_factor(&users[0], &code(&secrets[0], step), &ctx).await;
    anyhow::ensure!(replay.is_err(), "a replayed code was accepted");

    // Breakdown: the same work as check_second_factor, call by call through the store port, on
    // one task, timed per call.
    let step = next_round(&mut round);
    let now = clock.now();
    let policy = ThrottlePolicy { max_attempts: 1_000_000, window: time::Duration::minutes(15) };
    let names = [
        "throttle_hit (ip + code)",
        "totp_methods",
        "decrypt + HMAC",
        "consume_totp_step",
        "throttle_settle (clear code, release ip)",
    ];
    let mut spent = [Duration::ZERO; 5];
    let started = Instant::now();
    let ip = ThrottleKey::source_ip(&"10.9.8.6");
    for (u, s) in users.iter().zip(&secrets) {
        let code_key = ThrottleKey::Code(u.id);
        let c = TotpCode::parse(&code(s, step))?;
        let mut t = Instant::now();
        let mut lap = |i: usize| {
            spent[i] += t.elapsed();
            t = Instant::now();
        };
        store.throttle_hit(&[(&ip, &policy), (&code_key, &policy)], now).await?;
        lap(0);
        let methods = store.totp_methods(u.id).await?;
        lap(1);
        let m = &methods[0];
        let secret = TotpSecret::from_bytes(keyring.decrypt(&m.secret, m.id.as_uuid().as_bytes())?.to_vec());
        let matched = secret.verify(&c, now).context("code")?;
        lap(2);
        anyhow::ensure!(store.consume_totp_step(m.id, matched, now).await?);
        lap(3);
        store.throttle_settle(&code_key, Some(&ip)).await?;
        lap(4);
    }
    let total = started.elapsed();
    let n = users.len() as f64;
    println!(
        "\nBreakdown, 1 task, {} verifications: {:.0}/s, per verification:\n",
        users.len(),
        n / total.as_secs_f64()
    );
    println!("| call | µs per verification | share |");
    println!("|---|---:|---:|");
    for (name, d) in names.iter().zip(spent) {
        println!(
            "| {name} | {:.1} | {:.0}% |",
            d.as_secs_f64() * 1e6 / n,
            100.0 * d.as_secs_f64() / total.as_secs_f64()
        );
    }
    println!("| total | {:.1} | |", total.as_secs_f64() * 1e6 / n);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let dir = tempfile::tempdir()?;
    let store = SqlStore::open_sqlite(dir.path()).await?;
    let keyring = Arc::new(Keyring::new(DataKey::from_bytes(&[0x42; 32])?, Vec::new()));
    let services = Tessera::new(store.clone(), Arc::new(SystemClock)).with_keyring(keyring.clone());
    let (tenant, _) = services
        .init_tenant(
            &tessera_core::ids::TenantSlug::parse(TENANT)?,
            &tessera_core::ids::Upn::parse("admin@bench.test")?,
            "bench admin password".into(),
        )
        .await?;
    let phc = password::hash(&Password::parse(PASSWORD.into())?)?;
    println!(
        "SQLite (WAL, synchronous=NORMAL) in {}; {cores} cores; Argon2id {}",
        dir.path().display(),
        phc.split('$').nth(3).unwrap_or("?")
    );
    if matches!(args.part, Part::All | Part::Http) {
        part_http(&args, &store, &keyring, tenant.id, &phc, cores).await?;
    }
    if matches!(args.part, Part::All | Part::Mfa) {
        part_mfa(&args, &store, &keyring, tenant.id, &phc).await?;
    }
    store.close().await;
    Ok(())
}
