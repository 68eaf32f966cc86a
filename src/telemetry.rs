//! Logs (tracing: text on a terminal, JSON for journald) and metrics (counters and latency
//! histograms, rendered in Prometheus text format for `GET /metrics`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::config::LogConfig;

/// Installs the global tracing subscriber. `OUTPOST_LOG` overrides the configured filter.
pub fn init_logs(cfg: &LogConfig) {
    let filter = std::env::var("OUTPOST_LOG").unwrap_or_else(|_| cfg.level.clone());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if cfg.format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default, Clone)]
pub struct Histogram {
    counts: [u64; BUCKETS.len()],
    pub count: u64,
    pub sum: f64,
    pub max: f64,
}

impl Histogram {
    pub fn observe(&mut self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
        if secs > self.max {
            self.max = secs;
        }
    }

    /// Adds another histogram's observations to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// What was observed after `earlier`, an older copy of this histogram (its `max` is
    /// the whole run's).
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let mut d = self.clone();
        for (a, b) in d.counts.iter_mut().zip(earlier.counts.iter()) {
            *a = a.saturating_sub(*b);
        }
        d.count = self.count.saturating_sub(earlier.count);
        d.sum = (self.sum - earlier.sum).max(0.0);
        d
    }

    /// Approximate quantile from the buckets (upper bound of the bucket holding it).
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let target = (self.count as f64 * q).ceil() as u64;
        for (i, b) in BUCKETS.iter().enumerate() {
            if self.counts[i] >= target {
                return *b;
            }
        }
        self.max
    }
}

/// Counters and histograms, each named with its labels (`name{a="b"}`).
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(String, String), u64>>,
    histograms: Mutex<BTreeMap<(String, String), Histogram>>,
    /// Players seen calling RPCs per game today: game id → (UTC day, users).
    players_today: Mutex<BTreeMap<String, (i64, std::collections::HashSet<uuid::Uuid>)>>,
    /// Sizes of queues features report (matchmaking per queue, …), by name.
    queues: Mutex<BTreeMap<String, u64>>,
}

/// A gauge with labels, read at render time (per-game CCU, queue sizes…).
#[derive(Debug, Clone)]
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// Renders labelled gauges in Prometheus text format, one HELP/TYPE per name.
pub fn render_gauges(gauges: &[Gauge]) -> String {
    let mut out = String::new();
    let mut sorted: Vec<&Gauge> = gauges.iter().collect();
    sorted.sort_by_key(|g| g.name);
    let mut last = "";
    for g in sorted {
        if g.name != last {
            let _ = writeln!(out, "# HELP {} {}\n# TYPE {} gauge", g.name, g.help, g.name);
            last = g.name;
        }
        let pairs: Vec<(&str, &str)> = g.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let _ = writeln!(out, "{}{{{}}} {}", g.name, labels(&pairs), g.value);
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{k}=\"{v}\"");
    }
    s
}

/// A summary of one RPC's calls, for the metrics RPCs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RpcStats {
    pub rpc: String,
    pub calls: u64,
    pub errors: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Metrics {
    pub fn inc(&self, name: &str, label_pairs: &[(&str, &str)], by: u64) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry((name.to_string(), labels(label_pairs)))
            .or_insert(0) += by;
    }

    pub fn observe(&self, name: &str, label_pairs: &[(&str, &str)], d: Duration) {
        let mut h = self.histograms.lock().unwrap_or_else(|p| p.into_inner());
        h.entry((name.to_string(), labels(label_pairs)))
            .or_default()
            .observe(d.as_secs_f64());
    }

    pub fn http(&self, route: &str, status: u16) {
        let status = status.to_string();
        self.inc(
            "outpost_http_requests_total",
            &[("route", route), ("status", &status)],
            1,
        );
    }

    pub fn observe_rpc(&self, rpc: &str, status: &str, d: Duration) {
        self.inc(
            "outpost_rpc_calls_total",
            &[("rpc", rpc), ("status", status)],
            1,
        );
        self.observe("outpost_rpc_duration_seconds", &[("rpc", rpc)], d);
    }

    /// Notes that `user` called an RPC of `game` (for daily active players).
    pub fn player_seen(&self, game: &str, user: uuid::Uuid) {
        let today = crate::time::utc_day(crate::time::now());
        let mut m = self.players_today.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((day, users)) = m.get_mut(game) {
            if *day != today {
                *day = today;
                users.clear();
            }
            users.insert(user);
            return;
        }
        m.insert(game.to_string(), (today, [user].into()));
    }

    /// Distinct players of `game` who called an RPC today (UTC) since the server started.
    pub fn players_today(&self, game: &str) -> u64 {
        let today = crate::time::utc_day(crate::time::now());
        let m = self.players_today.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(game) {
            Some((day, users)) if *day == today => users.len() as u64,
            _ => 0,
        }
    }

    /// Sets the size of a queue (`/metrics` shows it as `outpost_queue_size{queue=…}`).
    pub fn set_queue_size(&self, queue: &str, size: u64) {
        self.queues
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(queue.to_string(), size);
    }

    pub fn queue_sizes(&self) -> Vec<(String, u64)> {
        self.queues
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    pub fn rate_limited(&self, class: &str) {
        self.inc("outpost_rate_limited_total", &[("class", class)], 1);
    }

    pub fn counter(&self, name: &str, label_pairs: &[(&str, &str)]) -> u64 {
        let c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        c.get(&(name.to_string(), labels(label_pairs)))
            .copied()
            .unwrap_or(0)
    }

    /// Every RPC's latencies in one histogram, and the failed calls, since start.
    pub fn rpc_totals(&self) -> (Histogram, u64) {
        let mut all = Histogram::default();
        for ((name, _), h) in self
            .histograms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            if name == "outpost_rpc_duration_seconds" {
                all.merge(h);
            }
        }
        let errors = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|((n, l), _)| n == "outpost_rpc_calls_total" && !l.ends_with("status=\"ok\""))
            .map(|(_, v)| *v)
            .sum();
        (all, errors)
    }

    /// Per-RPC call counts and latencies.
    pub fn rpc_stats(&self) -> Vec<RpcStats> {
        let h = self
            .histograms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let c = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out = Vec::new();
        for ((name, l), hist) in h {
            if name != "outpost_rpc_duration_seconds" {
                continue;
            }
            let rpc = l
                .trim_start_matches("rpc=\"")
                .trim_end_matches('"')
                .to_string();
            let errors: u64 = c
                .iter()
                .filter(|((n, cl), _)| {
                    n == "outpost_rpc_calls_total"
                        && cl.starts_with(&format!("rpc=\"{rpc}\","))
                        && !cl.ends_with("status=\"ok\"")
                })
                .map(|(_, v)| *v)
                .sum();
            out.push(RpcStats {
                rpc,
                calls: hist.count,
                errors,
                mean_ms: if hist.count > 0 {
                    hist.sum * 1000.0 / hist.count as f64
                } else {
                    0.0
                },
                p50_ms: hist.quantile(0.5) * 1000.0,
                p99_ms: hist.quantile(0.99) * 1000.0,
                max_ms: hist.max * 1000.0,
            });
        }
        out
    }

    /// Prometheus text format; `gauges` are (name, help, value) read at render time.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let mut last = String::new();
        for ((name, l), v) in self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name.clone();
            }
            let _ = writeln!(out, "{name}{{{l}}} {v}");
        }
        last.clear();
        for ((name, l), h) in self
            .histograms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} histogram");
                last = name.clone();
            }
            let sep = if l.is_empty() { "" } else { "," };
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "{name}_bucket{{{l}{sep}le=\"{b}\"}} {}", h.counts[i]);
            }
            let _ = writeln!(out, "{name}_bucket{{{l}{sep}le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{l}}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{{l}}} {}", h.count);
        }
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.http("rpc", 200);
        m.http("rpc", 200);
        m.observe_rpc("health_check", "ok", Duration::from_micros(700));
        let text = m.render(&[("outpost_db_size_bytes", "size", 42.0)]);
        assert!(text.contains("outpost_http_requests_total{route=\"rpc\",status=\"200\"} 2"));
        assert!(text
            .contains("outpost_rpc_duration_seconds_bucket{rpc=\"health_check\",le=\"0.001\"} 1"));
        assert!(text
            .contains("outpost_rpc_duration_seconds_bucket{rpc=\"health_check\",le=\"0.0005\"} 0"));
        assert!(text.contains("outpost_db_size_bytes 42"));
        let stats = m.rpc_stats();
        assert_eq!(stats[0].rpc, "health_check");
        assert_eq!(stats[0].calls, 1);
    }
}
