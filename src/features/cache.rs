//! The server's caches in one place, so `cache_stats` and `cache_clear` see every one of
//! them: hot definitions (experiments), resolved remote config, and whatever other features
//! plug in (leaderboard tops). A cache only ever holds what sled already holds; clearing
//! one costs a few reads, never data.
//!
//! Two ways in:
//! - [`Caches::map`] hands a feature a ready [`Cached`] map by name (created on first use),
//!   with hit/miss/entry/memory counters and invalidation;
//! - [`Caches::register`] plugs in a cache of another shape that implements [`CacheView`].

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use crate::rpc::{Limit, Registry, RpcContext, RpcError};

/// What `cache_stats` reports of one cache.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CacheStats {
    pub name: String,
    pub hits: u64,
    pub misses: u64,
    /// Hits / (hits + misses), 0 when never asked.
    pub hit_rate: f64,
    pub entries: u64,
    /// Approximate bytes held (keys and values as stored).
    pub memory_bytes: u64,
    /// Entries dropped because what they copy changed.
    pub invalidations: u64,
    /// Times `cache_clear` emptied it.
    pub clears: u64,
}

/// A cache `cache_stats` and `cache_clear` can reach.
pub trait CacheView: Send + Sync {
    fn stats(&self) -> CacheStats;
    /// Drops every entry; returns how many there were.
    fn clear(&self) -> u64;
}

/// A map cache: `K` → `V` with its counters. Values are cloned out (use `Arc` for big ones).
pub struct Cached<K, V> {
    name: String,
    map: RwLock<HashMap<K, (V, u64)>>,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
    clears: AtomicU64,
    /// Bound on entries: past it the map is emptied (entries are cheap to rebuild).
    max_entries: usize,
}

impl<K: Hash + Eq + Clone, V: Clone> Cached<K, V> {
    pub fn new(name: &str, max_entries: usize) -> Self {
        Cached {
            name: name.to_string(),
            map: RwLock::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            clears: AtomicU64::new(0),
            max_entries: max_entries.max(1),
        }
    }

    /// The cached value, counting a hit or a miss.
    pub fn get(&self, key: &K) -> Option<V> {
        let found = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .map(|(v, _)| v.clone());
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Stores `value`, which weighs about `bytes`.
    pub fn insert(&self, key: K, value: V, bytes: u64) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.max_entries && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, (value, bytes));
    }

    /// The cached value, or `load`'s (stored when it succeeds).
    pub fn get_or_load<E>(
        &self,
        key: &K,
        load: impl FnOnce() -> Result<(V, u64), E>,
    ) -> Result<V, E> {
        if let Some(v) = self.get(key) {
            return Ok(v);
        }
        let (v, bytes) = load()?;
        self.insert(key.clone(), v.clone(), bytes);
        Ok(v)
    }

    /// Drops one entry because what it copies changed.
    pub fn invalidate(&self, key: &K) {
        let removed = self
            .map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
            .is_some();
        if removed {
            self.invalidations.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<K: Hash + Eq + Clone + Send + Sync, V: Clone + Send + Sync> CacheView for Cached<K, V> {
    fn stats(&self) -> CacheStats {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        let hits = self.hits.load(Ordering::Relaxed);
        let misses = self.misses.load(Ordering::Relaxed);
        CacheStats {
            name: self.name.clone(),
            hits,
            misses,
            hit_rate: if hits + misses == 0 {
                0.0
            } else {
                hits as f64 / (hits + misses) as f64
            },
            entries: map.len() as u64,
            memory_bytes: map.values().map(|(_, b)| *b).sum(),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            clears: self.clears.load(Ordering::Relaxed),
        }
    }

    fn clear(&self) -> u64 {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        let n = map.len() as u64;
        map.clear();
        self.clears.fetch_add(1, Ordering::Relaxed);
        n
    }
}

struct Slot {
    view: Arc<dyn CacheView>,
    /// The same object as `view` when it is a [`Cached`] made by [`Caches::map`].
    typed: Option<Arc<dyn Any + Send + Sync>>,
}

/// Every cache of the server, by name (`App::caches`).
#[derive(Default)]
pub struct Caches {
    slots: RwLock<BTreeMap<String, Slot>>,
}

impl Caches {
    /// The map cache called `name`, created (holding at most `max_entries`) on first use.
    pub fn map<K, V>(&self, name: &str, max_entries: usize) -> Arc<Cached<K, V>>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if let Some(c) = self.typed(name) {
            return c;
        }
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = slots
            .get(name)
            .and_then(|s| s.typed.clone())
            .and_then(|t| t.downcast::<Cached<K, V>>().ok())
        {
            return c;
        }
        let cache = Arc::new(Cached::<K, V>::new(name, max_entries));
        slots.insert(
            name.to_string(),
            Slot {
                view: cache.clone(),
                typed: Some(cache.clone()),
            },
        );
        cache
    }

    fn typed<K, V>(&self, name: &str) -> Option<Arc<Cached<K, V>>>
    where
        K: Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        let slots = self.slots.read().unwrap_or_else(|p| p.into_inner());
        slots
            .get(name)?
            .typed
            .clone()?
            .downcast::<Cached<K, V>>()
            .ok()
    }

    /// Plugs in a cache of another shape (leaderboard tops…). A later registration under
    /// the same name replaces the earlier one.
    pub fn register(&self, name: &str, view: Arc<dyn CacheView>) {
        self.slots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), Slot { view, typed: None });
    }

    pub fn names(&self) -> Vec<String> {
        self.slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    pub fn stats(&self) -> Vec<CacheStats> {
        let views: Vec<(String, Arc<dyn CacheView>)> = self
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(n, s)| (n.clone(), s.view.clone()))
            .collect();
        views
            .into_iter()
            .map(|(name, v)| CacheStats { name, ..v.stats() })
            .collect()
    }

    /// Clears the cache called `name` (every cache when `None`); returns (name, entries
    /// dropped) per cache cleared, or `None` when no cache has that name.
    pub fn clear(&self, name: Option<&str>) -> Option<Vec<(String, u64)>> {
        let slots = self.slots.read().unwrap_or_else(|p| p.into_inner());
        match name {
            Some(n) => slots.get(n).map(|s| vec![(n.to_string(), s.view.clear())]),
            None => Some(
                slots
                    .iter()
                    .map(|(n, s)| (n.clone(), s.view.clear()))
                    .collect(),
            ),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.admin("cache_stats", Limit::Read, stats);
    r.admin("cache_clear", Limit::Write, clear);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsRequest {
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

#[derive(Serialize)]
struct StatsReply {
    caches: Vec<CacheStats>,
}

async fn stats(ctx: RpcContext, _req: StatsRequest) -> Result<StatsReply, RpcError> {
    Ok(StatsReply {
        caches: ctx.app.caches.stats(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearRequest {
    /// One cache by name; absent clears every cache.
    #[serde(default)]
    cache: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    game_id: Option<String>,
}

#[derive(Serialize)]
struct Cleared {
    name: String,
    entries_dropped: u64,
}

#[derive(Serialize)]
struct ClearReply {
    cleared: Vec<Cleared>,
}

async fn clear(ctx: RpcContext, req: ClearRequest) -> Result<ClearReply, RpcError> {
    let caches = &ctx.app.caches;
    let cleared = caches.clear(req.cache.as_deref()).ok_or_else(|| {
        RpcError::NotFound(format!(
            "cache: no cache named `{}` (there are: {})",
            req.cache.as_deref().unwrap_or(""),
            caches.names().join(", ")
        ))
    })?;
    crate::features::moderation::audit::record(
        &ctx.app.store,
        &crate::features::moderation::actor(&ctx.caller),
        "cache_clear",
        req.cache.as_deref().unwrap_or("*"),
        &format!("{} caches", cleared.len()),
    )?;
    Ok(ClearReply {
        cleared: cleared
            .into_iter()
            .map(|(name, entries_dropped)| Cleared {
                name,
                entries_dropped,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_counts_hits_misses_and_invalidations() {
        let caches = Caches::default();
        let c = caches.map::<u32, String>("things", 10);
        assert_eq!(c.get(&1), None);
        c.insert(1, "one".into(), 3);
        assert_eq!(c.get(&1).as_deref(), Some("one"));
        c.invalidate(&1);
        assert_eq!(c.get(&1), None);
        let s = &caches.stats()[0];
        assert_eq!((s.hits, s.misses, s.invalidations), (1, 2, 1));
        // the same name hands back the same cache
        caches
            .map::<u32, String>("things", 10)
            .insert(2, "two".into(), 3);
        assert_eq!(c.get(&2).as_deref(), Some("two"));
        assert_eq!(caches.stats()[0].memory_bytes, 3);
        assert_eq!(
            caches.clear(Some("things")),
            Some(vec![("things".into(), 1)])
        );
        assert_eq!(caches.clear(Some("nothing")), None);
    }
}
