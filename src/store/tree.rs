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
    /// Transactions hold it shared; a flush holds it exclusively (see `durability`).
    tx_gate: Arc<RwLock<()>>,
    snapshots: Arc<Snapshots>,
    full_name: Arc<str>,
}

type Entry<T> = Result<(Vec<u8>, T), StoreError>;

impl Tree {
    pub(super) fn new(
        inner: sled::Tree,
        gate: Arc<RwLock<()>>,
        tx_gate: Arc<RwLock<()>>,
        snapshots: Arc<Snapshots>,
    ) -> Self {
        let full_name = String::from_utf8_lossy(&inner.name()).into();
        Tree {
            inner,
            gate,
            tx_gate,
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

    /// The shared side of the write gate. While a backup holds the gate, a write waits.
    fn write_guard(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        shared(&self.gate)
    }

    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.inner.name()).into_owned()
    }

    pub fn get<T: DeserializeOwned>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>, StoreError> {
        super::ops::count(super::ops::Op::Read);
        match self.inner.get(key)? {
            Some(v) => Ok(Some(decode(&v)?)),
            None => Ok(None),
        }
    }

    pub fn get_raw(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, StoreError> {
        super::ops::count(super::ops::Op::Read);
        Ok(self.inner.get(key)?.map(|v| v.to_vec()))
    }

    pub fn contains(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        super::ops::count(super::ops::Op::Read);
        Ok(self.inner.contains_key(key)?)
    }

    pub fn insert<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<[u8]>,
        value: &T,
    ) -> Result<(), StoreError> {
        super::ops::count(super::ops::Op::Write);
        let bytes = encode(value)?;
        let _g = self.write_guard();
        self.check_in(key.as_ref())?;
        self.inner.insert(key.as_ref(), bytes)?;
        Ok(())
    }

    pub fn insert_raw(&self, key: impl AsRef<[u8]>, value: &[u8]) -> Result<(), StoreError> {
        super::ops::count(super::ops::Op::Write);
        let _g = self.write_guard();
        self.check_in(key.as_ref())?;
        self.inner.insert(key.as_ref(), value)?;
        Ok(())
    }

    /// Inserts only if the key is absent, atomically; false when it was already there.
    pub fn insert_new<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<[u8]>,
        value: &T,
    ) -> Result<bool, StoreError> {
        super::ops::count(super::ops::Op::Write);
        let bytes = encode(value)?;
        let _g = self.write_guard();
        self.check_in(key.as_ref())?;
        Ok(self
            .inner
            .compare_and_swap(key.as_ref(), None as Option<&[u8]>, Some(bytes))?
            .is_ok())
    }

    /// Removes a key; true when it was there.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        super::ops::count(super::ops::Op::Remove);
        let _g = self.write_guard();
        self.check_in(key.as_ref())?;
        Ok(self.inner.remove(key)?.is_some())
    }

    /// Atomically adds `delta` to a counter stored as a big-endian u64 and returns the new
    /// value (sequence numbers, ids).
    pub fn increment(&self, key: impl AsRef<[u8]>, delta: u64) -> Result<u64, StoreError> {
        super::ops::count(super::ops::Op::Write);
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
        super::ops::count(super::ops::Op::Scan);
        self.inner.scan_prefix(prefix).map(decode_entry)
    }

    pub fn range<T: DeserializeOwned, K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
    ) -> impl DoubleEndedIterator<Item = Entry<T>> {
        super::ops::count(super::ops::Op::Scan);
        self.inner.range(range).map(decode_entry)
    }

    pub fn iter<T: DeserializeOwned>(&self) -> impl DoubleEndedIterator<Item = Entry<T>> {
        super::ops::count(super::ops::Op::Scan);
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
        super::ops::count(super::ops::Op::Transaction);
        use sled::transaction::{
            ConflictableTransactionError as C, TransactionError, Transactional,
        };
        let Some(first) = trees.first() else {
            return Err(E::from(StoreError::Sled(
                "transaction over no trees".into(),
            )));
        };
        let _g = first.write_guard();
        let _tx = shared(&first.tx_gate);
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

/// Takes the shared side of a gate. If it must wait (a backup or a flush holds the other
/// side), a tokio worker waits via `block_in_place`, so its other tasks (reads, health
/// checks, other games' traffic) move to another thread instead of stalling.
fn shared(gate: &RwLock<()>) -> std::sync::RwLockReadGuard<'_, ()> {
    match gate.try_read() {
        Ok(g) => g,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => {
            let on_worker = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            let wait = || gate.read().unwrap_or_else(|p| p.into_inner());
            if on_worker {
                tokio::task::block_in_place(wait)
            } else {
                wait()
            }
        }
    }
}

fn decode_entry<T: DeserializeOwned>(r: sled::Result<(sled::IVec, sled::IVec)>) -> Entry<T> {
    let (k, v) = r?;
    Ok((k.to_vec(), decode(&v)?))
}

/// One page of a prefix scan: the entries, and the key to start the next page from.
pub struct Page<T> {
    pub entries: Vec<(Vec<u8>, T)>,
    pub next: Option<Vec<u8>>,
}

impl Tree {
    /// Up to `limit` entries under `prefix` in key order, starting at `start` (a key under
    /// the prefix, from an earlier page's `next`; anything else is refused).
    pub fn page<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
        start: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page<T>, StoreError> {
        self.page_filtered(prefix, start, limit, |_| true)
    }

    /// As [`Tree::page`], counting and returning only the entries `keep` accepts (those it
    /// refuses are skipped, not counted against `limit`).
    pub fn page_filtered<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
        start: Option<&[u8]>,
        limit: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, StoreError> {
        self.page_scanning(prefix, start, limit, usize::MAX, keep)
    }

    /// As [`Tree::page_filtered`], reading at most `max_scan` entries: when `keep` refuses
    /// many, the page ends early (fewer than `limit` entries) with `next` where the scan
    /// stopped, so one call never decodes more than `max_scan` values.
    pub fn page_scanning<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
        start: Option<&[u8]>,
        limit: usize,
        max_scan: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, StoreError> {
        super::ops::count(super::ops::Op::Scan);
        let from = match start {
            Some(s) if !s.starts_with(prefix) => {
                return Err(StoreError::Invalid(
                    "cursor does not belong to this listing".into(),
                ))
            }
            Some(s) => s.to_vec(),
            None => prefix.to_vec(),
        };
        let mut entries = Vec::with_capacity(limit.min(128));
        let mut next = None;
        for (scanned, r) in self.inner.range(from..).enumerate() {
            let (k, v) = r?;
            if !k.starts_with(prefix) {
                break;
            }
            if scanned == max_scan {
                next = Some(k.to_vec());
                break;
            }
            let value: T = decode(&v)?;
            if !keep(&value) {
                continue;
            }
            if entries.len() == limit {
                next = Some(k.to_vec());
                break;
            }
            entries.push((k.to_vec(), value));
        }
        Ok(Page { entries, next })
    }
}

/// A page cursor as clients see it: the next key, base64url without padding.
pub fn encode_cursor(key: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

/// Reads a cursor made by [`encode_cursor`]; an empty text means the first page.
pub fn decode_cursor(text: &str) -> Result<Option<Vec<u8>>, StoreError> {
    use base64::Engine;
    if text.is_empty() {
        return Ok(None);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map(Some)
        .map_err(|_| StoreError::Invalid("cursor is not valid".into()))
}
