//! Analytics: games send what their players do (`level_complete`, `purchase`, …) in
//! batches of up to 100 events, each checked on its own. Events are kept per game for
//! `analytics.retention_days` (the scheduler prunes older ones daily) and indexed by player,
//! by name and by day, so a player's history, counts per day, unique users and funnels are
//! answered without scanning everything. Experiments' assignments group them by variant.

pub mod model;
mod rpc;
pub mod rules;

use std::collections::HashMap;

use uuid::Uuid;

pub use model::{Event, EventView, Refused};

use crate::app::App;
use crate::auth::UserId;
use crate::features::schedule;
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{Abort, GameStore, Key, KeyReader, StoreError, Tree};

/// `g/<game>/analytics.time_id`: (time ms, event id) → [`Event`]; the export and pruning
/// walk it in time order.
pub const EVENTS: &str = "analytics.time_id";
/// `g/<game>/analytics.userid_timedesc_id`: (user, time desc, id) → event name.
pub const BY_USER: &str = "analytics.userid_timedesc_id";
/// `g/<game>/analytics.name_time_id`: (name, time, id) → user id.
pub const BY_NAME: &str = "analytics.name_time_id";
/// `g/<game>/analytics.name_day`: (name, UTC day) → count (big-endian u64).
pub const COUNTS: &str = "analytics.name_day";
/// `g/<game>/analytics.meta`: `prune_at` → the next scheduled prune (Unix seconds).
const META: &str = "analytics.meta";

pub const PRUNE_JOB: &str = "analytics_prune";
const DAY_MS: i64 = 86_400_000;

pub fn register(r: &mut Registry) {
    r.player("analytics_collect_events", Limit::Write, rpc::collect);
    r.player("analytics_get_user_events", Limit::Read, rpc::user_events);
    r.admin("analytics_query", Limit::Read, rpc::query);
    r.admin("analytics_export", Limit::Read, rpc::export);
    r.job(PRUNE_JOB, prune_job);
}

fn event_key(at_ms: i64, id: Uuid) -> Key {
    Key::new().i64(at_ms).uuid(id)
}

fn user_key(user: UserId, at_ms: i64, id: Uuid) -> Key {
    Key::new().uuid(user).i64_desc(at_ms).uuid(id)
}

fn name_key(name: &str, at_ms: i64, id: Uuid) -> Key {
    Key::new().str(name).i64(at_ms).uuid(id)
}

fn count_key(name: &str, day: i64) -> Key {
    Key::new().str(name).i64(day)
}

/// The oldest event time retention keeps, at `now_ms`.
pub fn oldest_kept_ms(app: &App, now_ms: i64) -> i64 {
    now_ms - i64::from(app.config.analytics.retention_days) * DAY_MS
}

/// Stores checked events in one transaction with their indexes and day counts.
pub fn store_events(game: &GameStore, events: &[Event]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let trees = [
        game.tree(EVENTS)?,
        game.tree(BY_USER)?,
        game.tree(BY_NAME)?,
        game.tree(COUNTS)?,
    ];
    let refs: Vec<&Tree> = trees.iter().collect();
    Tree::transaction::<_, StoreError, _>(&refs, |tx| {
        for e in events {
            tx.insert(0, event_key(e.at_ms, e.id), e)?;
            tx.insert(1, user_key(e.user_id, e.at_ms, e.id), &e.name)?;
            tx.insert(2, name_key(&e.name, e.at_ms, e.id), &e.user_id)?;
            tx.increment(3, count_key(&e.name, e.at_ms.div_euclid(DAY_MS)), 1)?;
        }
        Ok::<_, Abort<StoreError>>(())
    })
}

/// Makes sure the daily prune of `game` is scheduled (next UTC midnight of game time).
pub fn ensure_prune_scheduled(game: &GameStore) -> Result<(), StoreError> {
    let meta = game.tree(META)?;
    let now = game.now();
    let next = crate::time::day_start(crate::time::utc_day(now) + 1);
    let planned: Option<i64> = meta.get(b"prune_at")?;
    if planned.is_some_and(|p| p > now) {
        return Ok(());
    }
    schedule::at(game, next, PRUNE_JOB, "")?;
    meta.insert(b"prune_at", &next)?;
    Ok(())
}

/// Removes every event older than `before_ms` with its index entries and day counts;
/// returns how many events went. Idempotent.
pub fn prune(game: &GameStore, before_ms: i64) -> Result<u64, StoreError> {
    let events = game.tree(EVENTS)?;
    let by_user = game.tree(BY_USER)?;
    let by_name = game.tree(BY_NAME)?;
    let counts = game.tree(COUNTS)?;
    let end = Key::new().i64(before_ms);
    let mut removed = 0u64;
    loop {
        let batch: Vec<(Vec<u8>, Event)> = events
            .range::<Event, _, _>(..end.as_bytes().to_vec())
            .take(500)
            .collect::<Result<_, _>>()?;
        if batch.is_empty() {
            break;
        }
        for (k, e) in &batch {
            by_user.remove(user_key(e.user_id, e.at_ms, e.id))?;
            by_name.remove(name_key(&e.name, e.at_ms, e.id))?;
            events.remove(k)?;
            removed += 1;
        }
    }
    // Day counts of days wholly before the cutoff.
    let cutoff_day = before_ms.div_euclid(DAY_MS);
    let stale: Vec<Vec<u8>> = counts
        .iter_raw()
        .filter_map(|r| r.ok())
        .filter(|(k, _)| {
            let mut r = KeyReader::new(k);
            r.str().is_some() && r.i64().is_some_and(|d| d < cutoff_day)
        })
        .map(|(k, _)| k)
        .collect();
    for k in stale {
        counts.remove(k)?;
    }
    Ok(removed)
}

async fn prune_job(app: App, game: GameStore, _subject: String) -> Result<(), RpcError> {
    let before = oldest_kept_ms(&app, game.now_ms());
    let g = game.clone();
    let removed = tokio::task::spawn_blocking(move || prune(&g, before))
        .await
        .map_err(|e| RpcError::Internal(format!("prune task: {e}")))??;
    if removed > 0 {
        tracing::info!(game = %game.id(), removed, "analytics: pruned old events");
    }
    ensure_prune_scheduled(&game)?;
    Ok(())
}

/// (user, time) of every `name` event in `[from_ms, to_ms)`.
pub fn occurrences(
    game: &GameStore,
    name: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(UserId, i64)>, StoreError> {
    let lo = Key::new().str(name).i64(from_ms).into_vec();
    let hi = Key::new().str(name).i64(to_ms).into_vec();
    let mut out = Vec::new();
    for r in game.tree(BY_NAME)?.range::<UserId, _, _>(lo..hi) {
        let (k, user) = r?;
        let mut rd = KeyReader::new(&k);
        rd.str();
        if let Some(at) = rd.i64() {
            out.push((user, at));
        }
    }
    Ok(out)
}

/// Count per (name, UTC day) for days in `[from_day, to_day]`, for `names` (all when empty).
pub fn day_counts(
    game: &GameStore,
    names: &[String],
    from_day: i64,
    to_day: i64,
) -> Result<Vec<(String, i64, u64)>, StoreError> {
    let counts = game.tree(COUNTS)?;
    let mut out = Vec::new();
    let mut take = |k: &[u8], v: &[u8]| {
        let mut r = KeyReader::new(k);
        if let (Some(name), Some(day)) = (r.str(), r.i64()) {
            if (from_day..=to_day).contains(&day) {
                let n = <[u8; 8]>::try_from(v).map(u64::from_be_bytes).unwrap_or(0);
                out.push((name.to_string(), day, n));
            }
        }
    };
    if names.is_empty() {
        for r in counts.iter_raw() {
            let (k, v) = r?;
            take(&k, &v);
        }
    } else {
        for name in names {
            for day in from_day..=to_day {
                let key = count_key(name, day);
                if let Some(v) = counts.get_raw(&key)? {
                    take(key.as_bytes(), &v);
                }
            }
        }
    }
    Ok(out)
}

/// Events in `[from_ms, to_ms)` in time order, from `start` (a key of an earlier page).
pub fn events_between(
    game: &GameStore,
    from_ms: i64,
    to_ms: i64,
    start: Option<Vec<u8>>,
    limit: usize,
) -> Result<(Vec<Event>, Option<Vec<u8>>), StoreError> {
    let lo = start.unwrap_or_else(|| Key::new().i64(from_ms).into_vec());
    let hi = Key::new().i64(to_ms).into_vec();
    let mut out = Vec::new();
    let mut next = None;
    for r in game.tree(EVENTS)?.range::<Event, _, _>(lo..hi) {
        let (k, e) = r?;
        if out.len() == limit {
            next = Some(k);
            break;
        }
        out.push(e);
    }
    Ok((out, next))
}

/// Unique users per event name among `events`.
pub fn unique_users(events: &[(UserId, i64)]) -> u64 {
    let mut seen: HashMap<UserId, ()> = HashMap::new();
    for (u, _) in events {
        seen.insert(*u, ());
    }
    seen.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn event(user: UserId, name: &str, at_ms: i64) -> Event {
        Event {
            id: Uuid::new_v4(),
            user_id: user,
            name: name.into(),
            at_ms,
            properties: Default::default(),
            received_ms: at_ms,
        }
    }

    #[test]
    fn pruning_drops_old_events_with_their_indexes_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let g = store.create_game("arena", Default::default()).unwrap();
        let game = store.game(g.id).unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let day = 20_000 * DAY_MS;
        store_events(
            &game,
            &[
                event(a, "kill", day - DAY_MS),
                event(b, "kill", day - 10),
                event(a, "kill", day + 5),
                event(a, "death", day + 6),
            ],
        )
        .unwrap();
        assert_eq!(occurrences(&game, "kill", 0, i64::MAX).unwrap().len(), 3);
        assert_eq!(
            day_counts(&game, &["kill".into()], 19_999, 20_000).unwrap(),
            vec![
                ("kill".to_string(), 19_999, 2),
                ("kill".to_string(), 20_000, 1)
            ]
        );
        assert_eq!(prune(&game, day).unwrap(), 2);
        assert_eq!(prune(&game, day).unwrap(), 0, "idempotent");
        assert_eq!(
            occurrences(&game, "kill", 0, i64::MAX).unwrap(),
            vec![(a, day + 5)]
        );
        assert_eq!(game.tree(BY_USER).unwrap().len(), 2);
        assert_eq!(game.tree(EVENTS).unwrap().len(), 2);
        assert_eq!(day_counts(&game, &[], 0, i64::MAX - 1).unwrap().len(), 2);
    }
}
