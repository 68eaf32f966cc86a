//! The scheduler: periodic upkeep that runs inside the server, and the stored jobs of
//! `features::schedule` (lifecycles, resets, expiries), run in each game's own time.

use std::time::Duration;

use tokio::sync::watch;

use crate::app::App;

/// Runs until `stop` turns true.
pub async fn run(app: App, mut stop: watch::Receiver<bool>) {
    schedule_start_jobs(&app);
    let mut sweep = tokio::time::interval(Duration::from_secs(30));
    // Stored jobs: at start (what fell due while the server was down), then every second,
    // and at once when a game's clock moves.
    let mut due = tokio::time::interval(Duration::from_secs(1));
    due.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
            _ = due.tick() => run_due_jobs(&app).await,
            _ = app.jobs_wake.notified() => run_due_jobs(&app).await,
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

/// Puts the kinds registered with `Registry::job_at_start` in every game's schedule, due
/// now; the first round of due jobs (right after) runs them.
fn schedule_start_jobs(app: &App) {
    let kinds = app.registry.start_jobs();
    if kinds.is_empty() {
        return;
    }
    for record in app.store.games() {
        let Ok(game) = app.store.game(record.id) else {
            continue;
        };
        for kind in kinds {
            if let Err(e) = crate::features::schedule::at(&game, game.now(), kind, "") {
                tracing::error!(game = %record.id, kind, error = %e, "start job not scheduled");
            }
        }
    }
}

/// How long a failed job waits before its next try: 5 s, doubling, at most 10 minutes.
fn retry_delay(attempts: u32) -> i64 {
    (5i64 << attempts.min(7)).min(600)
}

/// Runs every stored job that is due in its game's time, earliest first. A job leaves the
/// schedule only after its handler succeeded; a failure is logged and retried later.
pub async fn run_due_jobs(app: &App) {
    for record in app.store.games() {
        let Ok(game) = app.store.game(record.id) else {
            continue;
        };
        // A handler may schedule follow-ups that are already due (a recurring reset missed
        // several times while down): take a few rounds, never spin.
        for _ in 0..16 {
            let now = game.now();
            let jobs = match crate::features::schedule::due(&game, now, 256) {
                Ok(j) => j,
                Err(e) => {
                    tracing::error!(game = %record.id, error = %e, "reading due jobs failed");
                    break;
                }
            };
            if jobs.is_empty() {
                break;
            }
            for job in jobs {
                run_job(app, &game, job, now).await;
            }
        }
    }
}

async fn run_job(
    app: &App,
    game: &crate::store::GameStore,
    job: crate::features::schedule::DueJob,
    now: i64,
) {
    use crate::features::schedule;
    let Some(handler) = app.registry.job_handler(&job.kind) else {
        tracing::error!(game = %game.id(), kind = %job.kind, subject = %job.subject, "no handler for a stored job kind; retried later");
        let _ = schedule::failed(game, &job, now + 600, "no handler registered for this kind");
        return;
    };
    let outcome = handler(app.clone(), game.clone(), job.subject.clone()).await;
    let stored = match &outcome {
        Ok(()) => {
            tracing::info!(game = %game.id(), kind = %job.kind, subject = %job.subject, "job ran");
            schedule::done(game, &job)
        }
        Err(e) => {
            tracing::warn!(game = %game.id(), kind = %job.kind, subject = %job.subject, attempts = job.attempts + 1, error = %e, "job failed; retried later");
            schedule::failed(game, &job, now + retry_delay(job.attempts), &e.to_string())
        }
    };
    if let Err(e) = stored {
        tracing::error!(game = %game.id(), kind = %job.kind, error = %e, "updating the job schedule failed");
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
