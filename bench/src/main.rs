//! Tessera benchmarks (issue 2), run against a fresh database each time:
//!
//! - `bulk-enforce`: one bulk Enforce of N users (default 100,000) through
//!   `Tessera::bulk`: resolve, permission checks, state update and one audit record per
//!   changed user, in one transaction. Target on SQLite: under 2 s.
//! - `list-users`: user list pages of 50 at N users (default 1,000,000) through
//!   `Tessera::list_users`, mixing first pages, state filters, UPN-prefix searches and
//!   cursor pages. Target on both backends: p99 under 20 ms.
//!
//! Prints a markdown table row per scenario, and the machine it ran on. See `bench/run.sh`.

mod db;
mod report;
mod scenarios;
mod seed;

use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum BackendArg {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Scenario {
    BulkEnforce,
    ListUsers,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Analyze {
    Auto,
    Always,
    Never,
}

#[derive(Parser, Debug)]
#[command(version, about = "Tessera benchmarks: bulk Enforce and the user list")]
pub struct Args {
    /// Which database to benchmark.
    #[arg(long, value_enum)]
    pub backend: BackendArg,
    /// PostgreSQL server URL (`postgres://user@host:port/db`); each run creates a fresh
    /// database on that server and drops it afterwards. Required with `--backend postgres`.
    #[arg(long, env = "TESSERA_BENCH_DATABASE_URL")]
    pub database_url: Option<String>,
    #[arg(long, value_enum)]
    pub scenario: Scenario,
    /// Users to seed (default: 100,000 for bulk-enforce, 1,000,000 for list-users).
    #[arg(long)]
    pub users: Option<usize>,
    /// bulk-enforce: runs, each on a fresh database.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// list-users: measured queries (after the warm-up).
    #[arg(long, default_value_t = 2000)]
    pub queries: usize,
    /// list-users: warm-up queries, not measured.
    #[arg(long, default_value_t = 200)]
    pub warmup: usize,
    /// Per-user MFA states of the seeded users, percent disabled,enabled,enforced (default:
    /// 70,30,0 for bulk-enforce, so every row changes and writes an audit record;
    /// 70,20,10 for list-users).
    #[arg(long, value_parser = parse_mix)]
    pub mix: Option<[u32; 3]>,
    /// Seed of the pseudo-random generator (state assignment, insertion order, queries).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Users per seeding transaction.
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    /// ANALYZE after seeding: `auto` does on PostgreSQL only, standing in for autovacuum,
    /// which would have analyzed tables of this size long before anyone lists or bulk-changes
    /// them (right after a bulk load it has not yet); SQLite never analyzes unless told.
    #[arg(long, value_enum, default_value_t = Analyze::Auto)]
    pub analyze: Analyze,
    /// Keep the database of the last run (prints where it is), to look at query plans.
    #[arg(long)]
    pub keep_db: bool,
    /// Print the markdown table header before the row.
    #[arg(long)]
    pub header: bool,
}

fn parse_mix(s: &str) -> Result<[u32; 3], String> {
    let parts: Vec<u32> =
        s.split(',').map(|p| p.trim().parse::<u32>().map_err(|e| format!("{p:?}: {e}"))).collect::<Result<_, _>>()?;
    match parts.as_slice() {
        [a, b, c] if a + b + c == 100 => Ok([*a, *b, *c]),
        _ => Err("give three percentages that add up to 100, e.g. 70,20,10".into()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.backend == BackendArg::Postgres && args.database_url.is_none() {
        anyhow::bail!(
            "--backend postgres needs --database-url postgres://... (a server where databases may be created)"
        );
    }
    report::print_machine("start");
    let row = match args.scenario {
        Scenario::BulkEnforce => scenarios::bulk_enforce(&args).await?,
        Scenario::ListUsers => scenarios::list_users(&args).await?,
    };
    report::print_machine("end");
    if args.header {
        println!("{}", report::Row::HEADER);
    }
    println!("{}", row.markdown());
    if row.passed == Some(false) {
        eprintln!("note: target missed ({})", row.target);
    }
    Ok(())
}
