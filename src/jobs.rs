//! The scheduler: periodic upkeep that runs inside the server.

use std::time::Duration;

use tokio::sync::watch;

use crate::app::App;

/// Runs until `stop` turns true.
pub async fn run(app: App, mut stop: watch::Receiver<bool>) {
    let mut sweep = tokio::time::interval(Duration::from_secs(30));
    let mut prune = tokio::time::interval(Duration::from_secs(600));
    let mut backups = app.config.backup.every().map(|every| {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = next_backup(&mut backups) => scheduled_backup(&app).await,
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

async fn next_backup(schedule: &mut Option<tokio::time::Interval>) {
    match schedule {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// `backup.interval`: a backup into `<data_dir>/backups`, then the oldest beyond
/// `backup.keep` are pruned.
async fn scheduled_backup(app: &App) {
    let store = app.store.clone();
    let data_dir = app.config.server.data_dir.clone();
    let keep = app.config.backup.keep;
    let done = tokio::task::spawn_blocking(move || {
        let report = crate::features::backups::take(&store, &data_dir, None, "schedule")?;
        let pruned = crate::store::backup::prune(&crate::features::backups::dir(&data_dir), keep)?;
        Ok::<_, crate::store::backup::BackupError>((report, pruned))
    })
    .await;
    match done {
        Ok(Ok((report, pruned))) => tracing::info!(
            file = %report.path.display(),
            bytes = report.file_bytes,
            records = report.header.records,
            write_pause_ms = report.write_pause.as_secs_f64() * 1000.0,
            pruned = pruned.len(),
            "scheduled backup taken"
        ),
        Ok(Err(e)) => tracing::error!(error = %e, "scheduled backup failed"),
        Err(e) => tracing::error!(error = %e, "scheduled backup task failed"),
    }
}
