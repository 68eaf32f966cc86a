//! The load loop the HTTPS scenarios share: C connections, each with its own player,
//! call one operation back to back; latencies are recorded after a warm-up.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use outpost::client::{Client, Session};

use crate::report::{histogram, latency_line};
use crate::target::Target;

/// What one connection does on its `n`-th call; true when the call succeeded.
pub type Op = Arc<
    dyn Fn(Client, Session, usize, u64) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync,
>;

pub struct Figures {
    pub ok: Histogram<u64>,
    pub errors: u64,
    pub secs: f64,
}

impl Figures {
    pub fn print(&self, what: &str) {
        println!(
            "{what}: {:.0} ops/s ({} ok, {} errors in {:.0} s)",
            self.ok.len() as f64 / self.secs,
            self.ok.len(),
            self.errors,
            self.secs
        );
        println!("  latency {}", latency_line(&self.ok));
    }
}

/// Authenticates one player per connection (sessions naming `game_id`).
pub async fn players(
    target: &Target,
    connections: usize,
    game_id: &str,
) -> anyhow::Result<Vec<(Client, Session)>> {
    let vars: BTreeMap<String, String> = [("game_id".to_string(), game_id.to_string())].into();
    let mut out = Vec::with_capacity(connections);
    for i in 0..connections {
        let client = target.client()?;
        let device = format!("bench-economy-{i:08}-{}", std::process::id());
        let session = client
            .authenticate_device(&device, true, None, &vars)
            .await?;
        out.push((client, session));
    }
    Ok(out)
}

/// Runs `op` on every connection for `run_for` after `warmup`.
pub async fn drive(
    players: &[(Client, Session)],
    warmup: Duration,
    run_for: Duration,
    op: Op,
) -> anyhow::Result<Figures> {
    let start_at = Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::new();
    for (i, (client, session)) in players.iter().enumerate() {
        let (client, session, op) = (client.clone(), session.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start_at.into()).await;
            let measure_from = start_at + warmup;
            let stop_at = measure_from + run_for;
            let mut h = histogram();
            let mut errors = 0u64;
            for n in 0.. {
                let t = Instant::now();
                if t >= stop_at {
                    break;
                }
                let ok = op(client.clone(), session.clone(), i, n).await;
                if t >= measure_from {
                    if ok {
                        h.record(t.elapsed().as_micros().max(1) as u64)?;
                    } else {
                        errors += 1;
                    }
                }
            }
            anyhow::Ok((h, errors))
        }));
    }
    let mut ok = histogram();
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await??;
        ok.add(&h)?;
        errors += e;
    }
    Ok(Figures {
        ok,
        errors,
        secs: run_for.as_secs_f64(),
    })
}

/// Quotas raised so a scenario measures the server, not the limiter (which still runs).
pub const OPEN_LIMITS: &[(&str, &str)] = &[
    ("OUTPOST_RATE_LIMIT_READ_PER_SEC", "10000000"),
    ("OUTPOST_RATE_LIMIT_READ_BURST", "10000000"),
    ("OUTPOST_RATE_LIMIT_WRITE_PER_SEC", "10000000"),
    ("OUTPOST_RATE_LIMIT_WRITE_BURST", "10000000"),
    ("OUTPOST_RATE_LIMIT_AUTH_BURST", "100000"),
];
