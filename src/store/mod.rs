//! Storage: the only module that names sled.
//!
//! One `sled::Db`. Global trees are `sys/<name>`; a game's trees are `g/<game_id>/<name>`
//! and are reachable only through a [`GameStore`], which is built from a registered
//! [`GameId`]. Values are MessagePack ([`codec`]); keys come from [`Key`].

pub mod backup;
pub mod codec;
mod durability;
pub mod games;
pub mod key;
pub mod ops;
mod snapshot;
mod tree;
mod txn;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub use games::{GameId, GameRecord};
pub use key::{Key, KeyReader};
pub use tree::{decode_cursor, encode_cursor, Page, Tree};
pub use txn::{Abort, Txn};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Sled(String),
    #[error("stored value could not be read: {0}")]
    Codec(String),
    #[error("{0}")]
    Invalid(String),
    #[error("game {0} is not registered")]
    UnknownGame(String),
    #[error("the database at {path} is in use by another process (is `outpost serve` running?)")]
    Locked { path: String },
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Sled(e.to_string())
    }
}

type SharedValue = Arc<dyn std::any::Any + Send + Sync>;

/// The database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    path: PathBuf,
    /// Held shared by every write, exclusively by a backup while it reads, so a backup is
    /// one point in time.
    gate: Arc<RwLock<()>>,
    durability: Arc<durability::Durability>,
    /// A running backup's point-in-time view (copy-on-first-write).
    snapshots: Arc<snapshot::Snapshots>,
    /// One backup at a time.
    backup: std::sync::Mutex<()>,
    games: RwLock<std::collections::HashMap<GameId, GameRecord>>,
    /// One value per (game, type) that a feature keeps beside a game's trees for the life
    /// of the store (see [`GameStore::shared`]).
    shared: std::sync::Mutex<std::collections::HashMap<(GameId, std::any::TypeId), SharedValue>>,
}

impl Store {
    /// Opens (creating if needed) the database in `dir`. `flush_every_ms` is the periodic
    /// flush for writes that do not flush themselves.
    pub fn open(dir: &Path, flush_every_ms: u64) -> Result<Store, StoreError> {
        Self::open_with_cache(dir, flush_every_ms, 256 * 1024 * 1024)
    }

    /// [`Store::open`] with a given page cache size (a restore streams through once and
    /// needs little cache).
    pub(super) fn open_with_cache(
        dir: &Path,
        flush_every_ms: u64,
        cache_bytes: u64,
    ) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Sled(format!("{}: {e}", dir.display())))?;
        let path = dir.join("db");
        let db = open_db(&path, flush_every_ms, cache_bytes)?;
        let tx_gate = Arc::new(RwLock::new(()));
        let durability = durability::Durability::start(db.clone(), tx_gate.clone());
        let store = Store {
            inner: Arc::new(Inner {
                db,
                path,
                gate: Arc::new(RwLock::new(())),
                durability,
                snapshots: Arc::new(snapshot::Snapshots::default()),
                backup: std::sync::Mutex::new(()),
                games: RwLock::new(Default::default()),
                shared: Default::default(),
            }),
        };
        store.load_games()?;
        Ok(store)
    }

    /// A global tree, `sys/<name>`.
    pub fn global(&self, name: &str) -> Result<Tree, StoreError> {
        self.open_tree(&format!("sys/{name}"))
    }

    fn open_tree(&self, full_name: &str) -> Result<Tree, StoreError> {
        let t = self.inner.db.open_tree(full_name)?;
        Ok(Tree::new(
            t,
            self.inner.gate.clone(),
            self.inner.durability.tx_gate.clone(),
            self.inner.snapshots.clone(),
        ))
    }

    /// Makes every write answered so far durable. Concurrent callers share one flush
    /// (group commit, see [`durability`]).
    pub async fn durable(&self) -> Result<(), StoreError> {
        self.inner.durability.durable().await
    }

    /// Synchronous flush, for shutdown and the CLI.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.durability.flush_now()
    }

    pub fn size_on_disk(&self) -> u64 {
        self.inner.db.size_on_disk().unwrap_or(0)
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Names of every tree in the database (including sled's default tree).
    pub fn tree_names(&self) -> Vec<String> {
        self.inner
            .db
            .tree_names()
            .into_iter()
            .map(|n| String::from_utf8_lossy(&n).into_owned())
            .collect()
    }

    /// Opens a tree by its full name (`sys/...` or `g/<game>/...`): for backup and restore.
    pub fn tree_by_full_name(&self, name: &str) -> Result<Tree, StoreError> {
        self.open_tree(name)
    }

    /// Stops every write until the guard is dropped: what a backup holds while it reads.
    pub fn pause_writes(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.inner.gate.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A registered game's storage.
    pub fn game(&self, id: GameId) -> Result<GameStore, StoreError> {
        let known = self
            .inner
            .games
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&id);
        if !known {
            return Err(StoreError::UnknownGame(id.to_string()));
        }
        Ok(GameStore {
            store: self.clone(),
            id,
        })
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.durability.stop();
    }
}

/// Opens sled, retrying a lock conflict for up to a second: sled releases its file lock a
/// moment after the last handle of a closing database drops (its I/O threads let go last),
/// so a process that just stopped — or a store just dropped in this one — must not be taken
/// for a running server.
fn open_db(path: &Path, flush_every_ms: u64, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    let locked = |e: &sled::Error| match e {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => true,
        other => {
            let text = other.to_string();
            text.contains("Resource temporarily unavailable") || text.contains("WouldBlock")
        }
    };
    let mut attempts = 0;
    loop {
        let opened = sled::Config::new()
            .path(path)
            .flush_every_ms(if flush_every_ms == 0 {
                None
            } else {
                Some(flush_every_ms)
            })
            .cache_capacity(cache_bytes)
            .open();
        match opened {
            Ok(db) => return Ok(db),
            Err(e) if locked(&e) && attempts < 20 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) if locked(&e) => {
                return Err(StoreError::Locked {
                    path: path.display().to_string(),
                })
            }
            Err(e) => return Err(StoreError::from(e)),
        }
    }
}

/// The trees of one game: `g/<game_id>/<name>`. Obtainable only for a registered game.
#[derive(Clone)]
pub struct GameStore {
    store: Store,
    id: GameId,
}

impl GameStore {
    pub fn id(&self) -> GameId {
        self.id
    }

    pub fn tree(&self, name: &str) -> Result<Tree, StoreError> {
        self.store.open_tree(&format!("g/{}/{name}", self.id))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// This game's time, Unix seconds: the wall clock plus the game's dev-mode offset.
    /// Every time-driven rule (resets, lifecycles, expiries, daily days) reads this.
    pub fn now(&self) -> i64 {
        crate::time::now() + self.store.game_clock_offset(self.id)
    }

    /// [`GameStore::now`] in milliseconds.
    pub fn now_ms(&self) -> i64 {
        crate::time::now_ms() + self.store.game_clock_offset(self.id) * 1000
    }

    pub async fn durable(&self) -> Result<(), StoreError> {
        self.store.durable().await
    }

    /// This game's one `T`, made by `make` on first use and kept as long as the store:
    /// for in-memory companions of a game's trees (a write combiner, say) that every
    /// caller of the game must share.
    pub fn shared<T: std::any::Any + Send + Sync>(&self, make: impl FnOnce() -> T) -> Arc<T> {
        let key = (self.id, std::any::TypeId::of::<T>());
        let mut map = self
            .store
            .inner
            .shared
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let value = map
            .entry(key)
            .or_insert_with(|| Arc::new(make()) as SharedValue)
            .clone();
        drop(map);
        value
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("the map is keyed by the value's type"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_game_tree_needs_a_registered_game() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let stranger = GameId::new();
        assert!(matches!(
            store.game(stranger),
            Err(StoreError::UnknownGame(_))
        ));
        let g = store.create_game("arena", Default::default()).unwrap();
        let game = store.game(g.id).unwrap();
        let t = game.tree("things").unwrap();
        t.insert(Key::new().u64(1), &"one".to_string()).unwrap();
        assert_eq!(
            t.get::<String>(Key::new().u64(1)).unwrap().as_deref(),
            Some("one")
        );
        assert!(store
            .tree_names()
            .iter()
            .any(|n| n == &format!("g/{}/things", g.id)));
    }

    #[test]
    fn a_filtered_page_counts_only_kept_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let g = store.create_game("arena", Default::default()).unwrap();
        let t = store.game(g.id).unwrap().tree("numbers").unwrap();
        for n in 0..10u64 {
            t.insert(Key::new().str("n").u64(n), &n).unwrap();
        }
        t.insert(Key::new().str("other").u64(0), &0u64).unwrap();
        let prefix = Key::new().str("n");
        let even = |n: &u64| n.is_multiple_of(2);
        let p1 = t.page_filtered(prefix.as_bytes(), None, 3, even).unwrap();
        assert_eq!(
            p1.entries.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            [0, 2, 4]
        );
        let p2 = t
            .page_filtered(prefix.as_bytes(), p1.next.as_deref(), 3, even)
            .unwrap();
        assert_eq!(
            p2.entries.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            [6, 8]
        );
        assert!(p2.next.is_none());
        let foreign = Key::new().str("other").u64(0);
        assert!(matches!(
            t.page_filtered(prefix.as_bytes(), Some(foreign.as_bytes()), 3, even),
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(
            t.page::<u64>(prefix.as_bytes(), None, 20)
                .unwrap()
                .entries
                .len(),
            10
        );
    }

    #[test]
    fn a_second_open_says_the_database_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _store = Store::open(dir.path(), 100).unwrap();
        match Store::open(dir.path(), 100) {
            Err(StoreError::Locked { .. }) => {}
            Err(other) => panic!("expected Locked, got {other}"),
            Ok(_) => panic!("second open succeeded"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_durable_calls_all_return() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).unwrap();
        let t = store.global("t").unwrap();
        let mut calls = Vec::new();
        for i in 0..64u64 {
            let (store, t) = (store.clone(), t.clone());
            calls.push(tokio::spawn(async move {
                t.insert(Key::new().u64(i), &i).unwrap();
                store.durable().await
            }));
        }
        let all = tokio::time::timeout(std::time::Duration::from_secs(20), async {
            for c in calls {
                c.await.unwrap().unwrap();
            }
        });
        all.await.expect("concurrent durable calls must not hang");
        assert_eq!(t.len(), 64);
    }

    #[test]
    fn a_page_starts_where_the_last_one_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let t = store.global("paged").unwrap();
        for i in 0..5u64 {
            t.insert(Key::new().u64(1).u64(i), &i).unwrap();
        }
        t.insert(Key::new().u64(2).u64(0), &99u64).unwrap();
        let prefix = Key::new().u64(1);
        let p1 = t.page::<u64>(prefix.as_bytes(), None, 3).unwrap();
        assert_eq!(
            p1.entries.iter().map(|e| e.1).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        let cursor = encode_cursor(p1.next.as_deref().unwrap());
        let start = decode_cursor(&cursor).unwrap();
        let p2 = t
            .page::<u64>(prefix.as_bytes(), start.as_deref(), 3)
            .unwrap();
        assert_eq!(
            p2.entries.iter().map(|e| e.1).collect::<Vec<_>>(),
            vec![3, 4]
        );
        assert!(p2.next.is_none());
        let elsewhere = Key::new().u64(2).u64(0);
        assert!(t
            .page::<u64>(prefix.as_bytes(), Some(elsewhere.as_bytes()), 3)
            .is_err());
        assert!(decode_cursor("%%").is_err());
    }

    #[test]
    fn many_concurrent_durable_writes_finish() {
        // More concurrent callers than sled's IO pool has threads: with `flush_async` this
        // could park every pool thread behind a log write that never ran.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut tasks = Vec::new();
            for t in 0..32u64 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let tree = store.global("counts").unwrap();
                    for i in 0..20u64 {
                        tree.insert(Key::new().u64(t).u64(i), &i).unwrap();
                        store.durable().await.unwrap();
                    }
                }));
            }
            let all = futures_util::future::join_all(tasks);
            tokio::time::timeout(std::time::Duration::from_secs(60), all)
                .await
                .expect("durable writes finished");
        });
        assert_eq!(store.global("counts").unwrap().len(), 32 * 20);
    }

    #[test]
    fn insert_new_checks_in_with_a_running_backup() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let t = store.global("t").unwrap();
        let name = t.name();
        let key = Key::new().u64(7);
        store.inner.snapshots.begin(std::slice::from_ref(&name));
        assert!(t.insert_new(&key, &1u64).unwrap());
        assert!(
            !t.insert_new(&key, &2u64).unwrap(),
            "only the first insert lands"
        );
        // The walk meets the key, but it did not exist when the backup began: not backed up.
        assert!(!store.inner.snapshots.visit(&name, key.as_bytes()));
        assert!(store.inner.snapshots.finish_tree(&name).is_empty());
        store.inner.snapshots.end();
    }

    #[test]
    fn a_transaction_changes_all_trees_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 100).unwrap();
        let a = store.global("a").unwrap();
        let b = store.global("b").unwrap();
        let ok: Result<(), StoreError> = Tree::transaction(&[&a, &b], |tx| {
            tx.insert(0, Key::new().u64(1), &1u64)?;
            tx.insert(1, Key::new().u64(1), &2u64)?;
            Ok(())
        });
        ok.unwrap();
        let failed: Result<(), StoreError> = Tree::transaction(&[&a, &b], |tx| {
            tx.insert(0, Key::new().u64(2), &1u64)?;
            Err(Abort::Fail(StoreError::Codec("refused".into())))
        });
        assert!(failed.is_err());
        assert_eq!(a.get::<u64>(Key::new().u64(2)).unwrap(), None);
        assert_eq!(b.get::<u64>(Key::new().u64(1)).unwrap(), Some(2));
    }
}
