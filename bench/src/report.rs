//! Result rows (markdown), percentiles, and what machine the benchmark ran on.

use std::time::Duration;

/// One markdown table row of results.
pub struct Row {
    pub scenario: &'static str,
    pub backend: &'static str,
    pub users: usize,
    /// What was measured, e.g. "3 runs" or "2000 queries".
    pub samples: String,
    pub stats: Stats,
    pub target: String,
    /// `None` when there is no target for this backend.
    pub passed: Option<bool>,
}

impl Row {
    pub const HEADER: &'static str = "| scenario | backend | users | samples | min | p50 | p95 | p99 | max | target | result |\n\
                                      |---|---|---:|---|---:|---:|---:|---:|---:|---|---|";

    pub fn markdown(&self) -> String {
        let s = &self.stats;
        let opt = |d: Option<Duration>| d.map(fmt).unwrap_or_else(|| "–".into());
        let result = match self.passed {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "no target",
        };
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            self.scenario,
            self.backend,
            thousands(self.users),
            self.samples,
            fmt(s.min),
            fmt(s.p50),
            opt(s.p95),
            opt(s.p99),
            fmt(s.max),
            self.target,
            result
        )
    }
}

pub struct Stats {
    pub min: Duration,
    pub p50: Duration,
    pub p95: Option<Duration>,
    pub p99: Option<Duration>,
    pub max: Duration,
}

impl Stats {
    /// Nearest-rank percentiles; p95/p99 only from 20 samples up.
    pub fn of(samples: &[Duration]) -> Self {
        let mut v = samples.to_vec();
        v.sort();
        let many = v.len() >= 20;
        Self {
            min: v[0],
            p50: percentile(&v, 50.0),
            p95: many.then(|| percentile(&v, 95.0)),
            p99: many.then(|| percentile(&v, 99.0)),
            max: v[v.len() - 1],
        }
    }
}

/// The nearest-rank percentile `p` of sorted, non-empty `v`.
pub fn percentile(v: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// Milliseconds under 10 s, with a precision that suits the size.
pub fn fmt(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.3} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// CPU time (user + system) this process has used so far, all threads; 10 ms resolution.
/// Less disturbed than wall time when other work competes for the CPUs.
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime (fields 14 and 15 of the line; 11 and 12 counting from 0 after the
    // name), in USER_HZ, which is 100 on Linux.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn proc_field(file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_owned())
}

/// Prints the machine: CPUs, CPU model, RAM and the load average right now.
pub fn print_machine(when: &str) {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into());
    let mem = proc_field("/proc/meminfo", "MemTotal")
        .and_then(|v| v.trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map(|kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into());
    println!("machine ({when}): {cpus} CPUs, {model}, {mem} RAM, load average {load}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
        let s = Stats::of(&v[..3]);
        assert_eq!(
            (s.min, s.p50, s.max),
            (Duration::from_millis(1), Duration::from_millis(2), Duration::from_millis(3))
        );
        assert!(s.p99.is_none());
    }

    #[test]
    fn formats() {
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(950), "950");
        assert_eq!(fmt(Duration::from_micros(1234)), "1.23 ms");
        assert_eq!(fmt(Duration::from_millis(1500)), "1.500 s");
    }
}
