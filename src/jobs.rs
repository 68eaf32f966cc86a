//! The scheduler: periodic upkeep that runs inside the server.

use std::time::Duration;

use tokio::sync::watch;

use crate::app::App;

/// Runs until `stop` turns true.
pub async fn run(app: App, mut stop: watch::Receiver<bool>) {
    let mut sweep = tokio::time::interval(Duration::from_secs(30));
    let mut prune = tokio::time::interval(Duration::from_secs(600));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = sweep.tick() => {
                let (a, r, w) = app.limiters.sweep();
                tracing::debug!(auth = a, read = r, write = w, "rate limiter keys");
            }
            _ = prune.tick() => {
                let auth = app.auth.clone();
                match tokio::task::spawn_blocking(move || auth.prune_revoked()).await {
                    Ok(Ok(n)) if n > 0 => tracing::info!(pruned = n, "expired token revocations pruned"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "pruning revocations failed"),
                    _ => {}
                }
            }
        }
    }
}
