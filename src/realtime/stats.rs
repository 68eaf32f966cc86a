//! Figures of the realtime node: tick durations and lateness, datagram and frame counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::features::matches::RealtimeStats;

pub struct Stats {
    ticks: Mutex<Histogram<u64>>,
    lateness: Mutex<Histogram<u64>>,
    jitter: Mutex<Histogram<u64>>,
    pub datagrams_in: AtomicU64,
    pub datagrams_out: AtomicU64,
    pub frames_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub dropped_slow: AtomicU64,
    pub stale: AtomicU64,
    pub violations: AtomicU64,
    /// QUIC Retry packets sent, and handshakes refused over the per-address cap.
    pub retried: AtomicU64,
    pub refused: AtomicU64,
}

fn histogram() -> Mutex<Histogram<u64>> {
    // 1 µs to 60 s, 3 significant figures.
    Mutex::new(Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant bounds are valid"))
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            ticks: histogram(),
            lateness: histogram(),
            jitter: histogram(),
            datagrams_in: AtomicU64::new(0),
            datagrams_out: AtomicU64::new(0),
            frames_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            dropped_slow: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            violations: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, 60_000_000)
}

impl Stats {
    /// One tick: how long it ran, how late it started, and how far the time since the
    /// match's previous tick was from its period (`None` for a first tick).
    pub fn tick(&self, took: Duration, late: Duration, interval_error: Option<Duration>) {
        if let Some(e) = interval_error {
            let _ = self
                .jitter
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .record(micros(e));
        }
        let _ = self
            .ticks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(micros(took));
        let _ = self
            .lateness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(micros(late));
    }

    pub fn snapshot(&self, connections: u64, pending: u64, matches: u64) -> RealtimeStats {
        let t = self.ticks.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let l = self
            .lateness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let j = self
            .jitter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let q = |h: &Histogram<u64>, q: f64| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(q)
            }
        };
        RealtimeStats {
            connections,
            pending,
            handshakes_retried: self.retried.load(Ordering::Relaxed),
            handshakes_refused: self.refused.load(Ordering::Relaxed),
            matches,
            ticks: t.len(),
            tick_p50_us: q(&t, 0.5),
            tick_p99_us: q(&t, 0.99),
            tick_max_us: t.max(),
            jitter_p50_us: q(&j, 0.5),
            jitter_p99_us: q(&j, 0.99),
            jitter_max_us: j.max(),
            lateness_p50_us: q(&l, 0.5),
            lateness_p99_us: q(&l, 0.99),
            datagrams_in: self.datagrams_in.load(Ordering::Relaxed),
            datagrams_out: self.datagrams_out.load(Ordering::Relaxed),
            frames_in: self.frames_in.load(Ordering::Relaxed),
            frames_out: self.frames_out.load(Ordering::Relaxed),
            dropped_slow: self.dropped_slow.load(Ordering::Relaxed),
            stale_inputs: self.stale.load(Ordering::Relaxed),
            violations: self.violations.load(Ordering::Relaxed),
        }
    }

    /// Starts the figures afresh (the bench measures a window).
    pub fn reset(&self) {
        self.ticks.lock().unwrap_or_else(|p| p.into_inner()).reset();
        self.lateness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reset();
        self.jitter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reset();
    }
}
