//! The last hour of the server's vital signs, one sample every 10 seconds, for the
//! overview's charts: live players, RPCs per second, failed RPCs per second and the RPC
//! latency p99 of each interval. Read from the metrics the server already keeps.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::app::App;
use crate::telemetry::Histogram;

pub const EVERY: Duration = Duration::from_secs(10);
const KEEP: usize = 360;

#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Sample {
    /// Unix seconds.
    pub t: i64,
    /// Live QUIC connections.
    pub ccu: u64,
    pub live_matches: u64,
    pub rpc_per_sec: f64,
    pub errors_per_sec: f64,
    pub p99_ms: f64,
}

#[derive(Default)]
pub struct Series {
    samples: Mutex<VecDeque<Sample>>,
}

impl Series {
    pub fn snapshot(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect()
    }

    pub fn latest(&self) -> Option<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .back()
            .copied()
    }

    fn push(&self, s: Sample) {
        let mut v = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        if v.len() == KEEP {
            v.pop_front();
        }
        v.push_back(s);
    }
}

/// Live players and matches right now.
pub fn live(app: &App) -> (u64, u64) {
    match app.matches.get() {
        Some(d) => {
            let s = d.stats(false);
            (s.connections, s.matches)
        }
        None => (0, 0),
    }
}

/// Samples until `stop` turns true.
pub async fn run(
    app: App,
    series: std::sync::Arc<Series>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(EVERY);
    let mut last: Option<(std::time::Instant, Histogram, u64)> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let (hist, errors) = app.metrics.rpc_totals();
        let now = std::time::Instant::now();
        let (ccu, live_matches) = live(&app);
        // The first sample (at start) has players and matches but no rates yet.
        let (rpc_per_sec, errors_per_sec, p99_ms) = match &last {
            Some((at, prev, prev_errors)) => {
                let secs = now.duration_since(*at).as_secs_f64().max(0.001);
                let d = hist.since(prev);
                (
                    d.count as f64 / secs,
                    errors.saturating_sub(*prev_errors) as f64 / secs,
                    d.quantile(0.99) * 1000.0,
                )
            }
            None => (0.0, 0.0, 0.0),
        };
        series.push(Sample {
            t: crate::time::now(),
            ccu,
            live_matches,
            rpc_per_sec,
            errors_per_sec,
            p99_ms,
        });
        last = Some((now, hist, errors));
    }
}
