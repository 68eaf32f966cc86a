//! Storage: the only module that names sled.
//!
//! One `sled::Db`. Global trees are `sys/<name>`; a game's trees are `g/<game_id>/<name>`
//! and are reachable only through a [`GameStore`], which is built from a registered
//! [`GameId`]. Values are MessagePack ([`codec`]); keys come from [`Key`].

pub mod codec;
pub mod games;
pub mod key;
mod tree;
mod txn;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub use games::{GameId, GameRecord};
pub use key::{Key, KeyReader};
pub use tree::Tree;
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
    games: RwLock<std::collections::HashMap<GameId, GameRecord>>,
}

impl Store {
    /// Opens (creating if needed) the database in `dir`. `flush_every_ms` is the periodic
    /// flush for writes that do not flush themselves.
    pub fn open(dir: &Path, flush_every_ms: u64) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Sled(format!("{}: {e}", dir.display())))?;
        let path = dir.join("db");
        let db = sled::Config::new()
            .path(&path)
            .flush_every_ms(if flush_every_ms == 0 {
                None
            } else {
                Some(flush_every_ms)
            })
            .cache_capacity(256 * 1024 * 1024)
            .open()
            .map_err(|e| match &e {
                sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    StoreError::Locked {
                        path: path.display().to_string(),
                    }
                }
                _ if e.to_string().contains("Resource temporarily unavailable")
                    || e.to_string().contains("WouldBlock") =>
                {
                    StoreError::Locked {
                        path: path.display().to_string(),
                    }
                }
                _ => StoreError::from(e),
            })?;
        let store = Store {
            inner: Arc::new(Inner {
                db,
                path,
                gate: Arc::new(RwLock::new(())),
                games: RwLock::new(Default::default()),
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
        Ok(Tree::new(t, self.inner.gate.clone()))
    }

    /// Makes every write answered so far durable. The flush runs on the blocking pool:
    /// sled 0.34's `flush_async` can deadlock when several callers await it at once
    /// (spacejam/sled#1308, #1241), which hung concurrent authentications for good.
    pub async fn durable(&self) -> Result<(), StoreError> {
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::Sled(format!("flush task failed: {e}")))??;
        Ok(())
    }

    /// Synchronous flush, for shutdown and the CLI.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        Ok(())
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

    pub async fn durable(&self) -> Result<(), StoreError> {
        self.store.durable().await
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
    fn a_second_open_says_the_database_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _store = Store::open(dir.path(), 100).unwrap();
        match Store::open(dir.path(), 100) {
            Err(StoreError::Locked { .. }) => {}
            Err(other) => panic!("expected Locked, got {other}"),
            Ok(_) => panic!("second open succeeded"),
        }
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
