use std::ops::RangeBounds;
use std::sync::{Arc, RwLock};

use serde::{de::DeserializeOwned, Serialize};

use super::codec::{decode, encode};
use super::snapshot::Snapshots;
use super::txn::{Abort, Txn};
use super::StoreError;

/// One tree of the database, with typed values.
#[derive(Clone)]
pub struct Tree {
    inner: sled::Tree,
    gate: Arc<RwLock<()>>,
    snapshots: Arc<Snapshots>,
    full_name: Arc<str>,
}

type Entry<T> = Result<(Vec<u8>, T), StoreError>;

impl Tree {
    pub(super) fn new(inner: sled::Tree, gate: Arc<RwLock<()>>, snapshots: Arc<Snapshots>) -> Self {
        let full_name = String::from_utf8_lossy(&inner.name()).into();
        Tree {
            inner,
            gate,
            snapshots,
            full_name,
        }
    }

    /// Every write checks in here before it lands, so a running backup keeps the value
    /// the write replaces (see [`super::snapshot`]).
    fn check_in(&self, key: &[u8]) -> Result<(), StoreError> {
        self.snapshots.before_write(&self.full_name, key, || {
            Ok(self.inner.get(key)?.map(|v| v.to_vec()))
        })
    }

    /// The shared side of the write gate. While a backup holds the gate, a write waits;
    /// on a tokio worker it waits via `block_in_place`, so the worker's other tasks (reads,
    /// health checks, other games' traffic) move to another thread instead of stalling.
    fn write_guard(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        match self.gate.try_read() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                let on_worker = tokio::runtime::Handle::try_current().is_ok_and(|h| {
                    h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
                });
                let wait = || self.gate.read().unwrap_or_else(|p| p.into_inner());
                if on_worker {
                    tokio::task::block_in_place(wait)
                } else {
                    wait()
                }
            }
        }
    }

    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.inner.name()).into_owned()
    }

    pub fn get<T: DeserializeOwned>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>, StoreError> {
        match self.inner.get(key)? {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    pub fn get_raw(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.inner.get(key)?.map(|v| v.to_vec()))
    }

    pub fn contains(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        Ok(self.inner.contains_key(key)?)
    }

    pub fn insert<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<[u8]>,
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = encode(value)?;
        let _g = self.write_guard();
        self.check_in(key.as_ref())?;
        self.inner.insert(key.as_ref(), bytes)?;
        Ok(())
    }

    pub fn insert_raw(&self, key: impl AsRef<[u8]>, value: &[u8]) -> Result<(), StoreError> {
        let _g = self.write_guard();
        self.check_in(key.as_ref())?;
        self.inner.insert(key.as_ref(), value)?;
        Ok(())
    }

    /// Removes a key; true when it was there.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        let _g = self.write_guard();
        self.check_in(key.as_ref())?;
        Ok(self.inner.remove(key)?.is_some())
    }

    /// Atomically adds `delta` to a counter stored as a big-endian u64 and returns the new
    /// value (sequence numbers, ids).
    pub fn increment(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<u64, StoreError> {
        let _g = self.write_guard();
        self.check_in(key.as_ref())?;
        let v = self.inner.update_and_fetch(key, |old| {
            let n = old
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some(n.saturating_add(delta).to_be_bytes().to_vec())
        })?;
        Ok(v.and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    pub fn scan_prefix<T: DeserializeOwned>(
        &self,
        prefix: impl AsRef<[u8]>,
    ) -> impl DoubleEndedIterator<Item = Entry<T>> {
        self.inner.scan_prefix(prefix).map(decode_entry)
    }

    pub fn range<T: DeserializeOwned, K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
    ) -> impl DoubleEndedIterator<Item = Entry<T>> {
        self.inner.range(range).map(decode_entry)
    }

    pub fn iter<T: DeserializeOwned>(&self) -> impl DoubleEndedIterator<Item = Entry<T>> {
        self.inner.iter().map(decode_entry)
    }

    /// Raw key/value pairs, for backup.
    pub fn iter_raw(
        &self,
    ) -> impl DoubleEndedIterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> {
        self.inner.iter().map(|r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(StoreError::from)
        })
    }

    /// Inserts raw key/value pairs as one atomic batch (restore).
    pub(super) fn insert_raw_batch(
        &self,
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let _g = self.write_guard();
        let mut batch = sled::Batch::default();
        for (k, v) in pairs {
            self.check_in(&k)?;
            batch.insert(k, v);
        }
        self.inner.apply_batch(batch)?;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    pub fn clear(&self) -> Result<(), StoreError> {
        let _g = self.write_guard();
        for key in self.inner.iter().keys() {
            self.check_in(&key?)?;
        }
        self.inner.clear()?;
        Ok(())
    }

    /// Runs `f` as one transaction over `trees` (indexed in `Txn` calls by their position):
    /// every change it makes lands together or not at all. `f` may run more than once on
    /// conflict, so it must be free of side effects.
    pub fn transaction<R, E, F>(trees: &[&Tree], f: F) -> Result<R, E>
    where
        F: Fn(&Txn) -> Result<R, Abort<E>>,
        E: From<StoreError>,
    {
        use sled::transaction::{
            ConflictableTransactionError as C, TransactionError, Transactional,
        };
        let Some(first) = trees.first() else {
            return Err(E::from(StoreError::Sled(
                "transaction over no trees".into(),
            )));
        };
        let _g = first.write_guard();
        let sled_trees: Vec<sled::Tree> = trees.iter().map(|t| t.inner.clone()).collect();
        let names: Vec<Arc<str>> = trees.iter().map(|t| t.full_name.clone()).collect();
        let result = sled_trees.as_slice().transaction(|view| {
            let tx = Txn::new(view, &names, &first.snapshots);
            match f(&tx) {
                Ok(r) => Ok(r),
                Err(Abort::Fail(e)) => Err(C::Abort(Some(e))),
                Err(Abort::Sled(u)) => Err(u.into()),
                Err(Abort::Codec(msg)) => {
                    tx.set_codec_error(msg);
                    Err(C::Abort(None))
                }
            }
        });
        match result {
            Ok(r) => Ok(r),
            Err(TransactionError::Abort(Some(e))) => Err(e),
            Err(TransactionError::Abort(None)) => Err(E::from(StoreError::Codec(
                "a stored value could not be encoded or decoded".into(),
            ))),
            Err(TransactionError::Storage(s)) => Err(E::from(StoreError::from(s))),
        }
    }
}

fn decode_entry<T: DeserializeOwned>(r: sled::Result<(sled::IVec, sled::IVec)>) -> Entry<T> {
    let (k, v) = r?;
    Ok((k.to_vec(), decode(&v)?))
}
