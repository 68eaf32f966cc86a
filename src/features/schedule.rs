//! Scheduled jobs: lifecycle work kept as **stored due times** in a game's own time, not as
//! timers in memory. A feature puts a job in with [`at`] and registers what runs it with
//! `Registry::job(kind, handler)`; the scheduler (`crate::jobs`) runs every job whose time
//! has come — also those that came while the server was down — and removes it once its
//! handler succeeded. A job is (due time, kind, subject): scheduling the same one twice is
//! one job.

use serde::{Deserialize, Serialize};

use crate::store::{GameStore, Key, KeyReader, StoreError};

/// `g/<game>/jobs.due_kind_subject`: due time (game seconds, signed order) ++ kind ++ subject.
const JOBS: &str = "jobs.due_kind_subject";

/// How many times a failing job has been tried, kept with it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct JobState {
    #[serde(default)]
    attempts: u32,
    #[serde(default)]
    last_error: Option<String>,
}

/// A job that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueJob {
    pub due_at: i64,
    pub kind: String,
    pub subject: String,
    pub attempts: u32,
}

fn key(due_at: i64, kind: &str, subject: &str) -> Result<Key, StoreError> {
    if kind.is_empty() || kind.contains('\0') || subject.contains('\0') {
        return Err(StoreError::Invalid(
            "a job's kind must be non-empty and neither kind nor subject may contain NUL".into(),
        ));
    }
    Ok(Key::new().i64(due_at).str(kind).str(subject))
}

/// Schedules `kind` for `subject` at `due_at` (Unix seconds in the game's time).
pub fn at(
    game: &GameStore,
    due_at: i64,
    kind: &'static str,
    subject: &str,
) -> Result<(), StoreError> {
    let k = key(due_at, kind, subject)?;
    game.tree(JOBS)?.insert_new(&k, &JobState::default())?;
    Ok(())
}

/// Takes a scheduled job out; true when it was there.
pub fn cancel(
    game: &GameStore,
    due_at: i64,
    kind: &str,
    subject: &str,
) -> Result<bool, StoreError> {
    game.tree(JOBS)?.remove(key(due_at, kind, subject)?)
}

/// Jobs due at or before `now`, earliest first, at most `limit`.
pub fn due(game: &GameStore, now: i64, limit: usize) -> Result<Vec<DueJob>, StoreError> {
    let tree = game.tree(JOBS)?;
    let end = Key::new().i64(now.saturating_add(1));
    let mut out = Vec::new();
    for entry in tree.range::<JobState, _, _>(..end) {
        let (k, state) = entry?;
        let mut r = KeyReader::new(&k);
        let (Some(due_at), Some(kind), Some(subject)) = (r.i64(), r.str(), r.str()) else {
            return Err(StoreError::Codec(
                "a scheduled job's key is malformed".into(),
            ));
        };
        out.push(DueJob {
            due_at,
            kind: kind.to_string(),
            subject: subject.to_string(),
            attempts: state.attempts,
        });
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// Every scheduled job (due or not) of a kind, earliest first: for admin views and tests.
pub fn pending(game: &GameStore, kind: &str) -> Result<Vec<DueJob>, StoreError> {
    Ok(due(game, i64::MAX - 1, usize::MAX)?
        .into_iter()
        .filter(|j| j.kind == kind)
        .collect())
}

/// The job ran: it leaves the schedule.
pub fn done(game: &GameStore, job: &DueJob) -> Result<(), StoreError> {
    cancel(game, job.due_at, &job.kind, &job.subject).map(|_| ())
}

/// The job failed: it is tried again at `retry_at`, with its attempts counted.
pub fn failed(
    game: &GameStore,
    job: &DueJob,
    retry_at: i64,
    error: &str,
) -> Result<(), StoreError> {
    let tree = game.tree(JOBS)?;
    let old = key(job.due_at, &job.kind, &job.subject)?;
    let new = key(retry_at.max(job.due_at), &job.kind, &job.subject)?;
    let state = JobState {
        attempts: job.attempts.saturating_add(1),
        last_error: Some(error.chars().take(500).collect()),
    };
    tree.insert(&new, &state)?;
    if new != old {
        tree.remove(&old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn due_jobs_come_earliest_first_and_leave_when_done() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let g = store.create_game("arena", Default::default()).unwrap();
        let game = store.game(g.id).unwrap();
        at(&game, 200, "season_end", "s1").unwrap();
        at(&game, 100, "tournament_advance", "t1").unwrap();
        at(&game, 100, "tournament_advance", "t1").unwrap(); // the same job once
        at(&game, -5, "old", "x").unwrap();
        at(&game, 300, "later", "y").unwrap();
        let jobs = due(&game, 200, 10).unwrap();
        let names: Vec<_> = jobs.iter().map(|j| (j.due_at, j.kind.as_str())).collect();
        assert_eq!(
            names,
            [
                (-5, "old"),
                (100, "tournament_advance"),
                (200, "season_end")
            ]
        );
        done(&game, &jobs[1]).unwrap();
        failed(&game, &jobs[2], 250, "boom").unwrap();
        let left = due(&game, 1000, 10).unwrap();
        assert_eq!(
            left.iter()
                .map(|j| (j.due_at, j.kind.as_str(), j.attempts))
                .collect::<Vec<_>>(),
            [(-5, "old", 0), (250, "season_end", 1), (300, "later", 0)]
        );
        assert!(cancel(&game, 300, "later", "y").unwrap());
        assert_eq!(pending(&game, "later").unwrap(), []);
        assert!(at(&game, 1, "", "x").is_err());
    }
}
