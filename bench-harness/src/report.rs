//! Results: latency histograms and their summary, a run's result as JSON, ratios and medians
//! over rounds, and the markdown rows `docs/BENCHMARKS.md` is generated from.

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies are recorded in nanoseconds, 3 significant digits, up to 100 s.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

/// Adds every count in `from` to `into` (one histogram per load thread, merged at the end).
pub fn merge(into: &mut Histogram<u64>, from: &Histogram<u64>) -> Result<()> {
    into.add(from).map_err(|e| anyhow::anyhow!("cannot merge histograms: {e:?}"))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        let ms = |ns: u64| ns as f64 / 1e6;
        Latency {
            mean_ms: h.mean() / 1e6,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// What one `run` measured; written by `--json` and read back by `compare`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub target: String,
    pub workload: String,
    pub mix: String,
    pub distribution: String,
    pub keys: u64,
    pub value_size: usize,
    pub connections: usize,
    pub threads: usize,
    pub pipeline: usize,
    pub seed: u64,
    pub requests: u64,
    pub errors: u64,
    pub elapsed_s: f64,
    pub ops_per_s: f64,
    pub latency: Latency,
}

impl RunResult {
    pub fn print(&self) {
        let l = &self.latency;
        println!(
            "{} {} mix {} {} keys={} value={}B conns={} threads={} P={}: {} requests in {:.2} s, {} errors",
            self.target,
            self.workload,
            self.mix,
            self.distribution,
            self.keys,
            self.value_size,
            self.connections,
            self.threads,
            self.pipeline,
            self.requests,
            self.elapsed_s,
            self.errors
        );
        println!("  throughput {} ops/s", thousands(self.ops_per_s));
        println!(
            "  latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  (mean {:.3})",
            l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.mean_ms
        );
    }

    pub fn write_json(&self, path: &std::path::Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn read_json(path: &std::path::Path) -> Result<RunResult> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a run result", path.display()))
    }
}

/// The median; the mean of the middle two for an even count. `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 })
}

/// Per-round ratios `a[i] / b[i]` (rounds ran A then B, in order); a zero denominator gives no
/// ratio for that round.
pub fn ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).filter(|(_, y)| **y > 0.0).map(|(x, y)| x / y).collect()
}

/// Runs of both servers over rounds, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub orbit_ops: Vec<f64>,
    pub redis_ops: Vec<f64>,
    pub ratios: Vec<f64>,
    pub median_ratio: f64,
    pub orbit_median_ops: f64,
    pub redis_median_ops: f64,
}

impl Comparison {
    pub fn of(orbit_ops: Vec<f64>, redis_ops: Vec<f64>) -> Comparison {
        let ratios = ratios(&orbit_ops, &redis_ops);
        Comparison {
            median_ratio: median(&ratios).unwrap_or(f64::NAN),
            orbit_median_ops: median(&orbit_ops).unwrap_or(f64::NAN),
            redis_median_ops: median(&redis_ops).unwrap_or(f64::NAN),
            orbit_ops,
            redis_ops,
            ratios,
        }
    }

    /// "0.93 (0.91, 0.95)": the median ratio, then each round's.
    pub fn ratio_cell(&self) -> String {
        let rounds: Vec<String> = self.ratios.iter().map(|r| format!("{r:.2}")).collect();
        format!("**{:.2}** ({})", self.median_ratio, rounds.join(", "))
    }
}

/// 1234567.8 -> "1,234,568".
pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// The command line that reproduces this run, for the markdown rows: the harness's arguments as
/// given (less the output options), quoted for a POSIX shell where needed.
pub fn reproduce_command() -> String {
    format!("cargo run --release -p bench-harness -- {}", reproduce_args(std::env::args().skip(1)))
}

fn reproduce_args(args: impl Iterator<Item = String>) -> String {
    let mut out = Vec::new();
    let mut skip_value = false;
    for a in args {
        if std::mem::take(&mut skip_value) || a == "--markdown" || a.starts_with("--json=") {
            continue;
        }
        if a == "--json" {
            skip_value = true;
            continue;
        }
        out.push(shell_quote(&a));
    }
    out.join(" ")
}

pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | ',' | '=' | '+'));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_histogram_holds_both() {
        let mut a = new_histogram();
        let mut b = new_histogram();
        for v in 1..=1000u64 {
            a.record(v * 1000).unwrap(); // 1..1000 us
        }
        b.record_n(5_000_000, 1000).unwrap(); // 1000 requests of one 5 ms batch
        let before = Latency::of(&a);
        merge(&mut a, &b).unwrap();
        assert_eq!(a.len(), 2000);
        let l = Latency::of(&a);
        // Half the requests are <= 1 ms and half are 5 ms: the median sits at the top of the
        // first half, p90 and max in the second.
        assert!((l.p50_ms - 1.0).abs() < 0.01, "{l:?}");
        assert!((l.p90_ms - 5.0).abs() < 0.01, "{l:?}");
        assert!((l.max_ms - 5.0).abs() < 0.01, "{l:?}");
        assert!(before.max_ms < 1.01);
        assert!((l.mean_ms - (0.5005 + 5.0) / 2.0).abs() < 0.01, "{l:?}");
    }

    #[test]
    fn median_and_ratios() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(ratios(&[2.0, 3.0, 1.0], &[1.0, 0.0, 4.0]), vec![2.0, 0.25]);
        let c = Comparison::of(vec![90.0, 110.0, 100.0], vec![100.0, 100.0, 125.0]);
        assert_eq!(c.ratios, vec![0.9, 1.1, 0.8]);
        assert!((c.median_ratio - 0.9).abs() < 1e-12);
        assert_eq!(c.orbit_median_ops, 100.0);
        assert_eq!(c.redis_median_ops, 100.0);
        assert_eq!(c.ratio_cell(), "**0.90** (0.90, 1.10, 0.80)");
    }

    #[test]
    fn formatting() {
        assert_eq!(thousands(1234567.8), "1,234,568");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(shell_quote("--shards"), "--shards");
        assert_eq!(shell_quote("it's here"), r"'it'\''s here'");
        assert_eq!(shell_quote(""), "''");
        let args = ["compare", "--markdown", "--json", "/tmp/x.json", "--mix", "10:1", "--json=y", "--x", "a b"];
        assert_eq!(reproduce_args(args.iter().map(|s| s.to_string())), "compare --mix 10:1 --x 'a b'");
    }
}
