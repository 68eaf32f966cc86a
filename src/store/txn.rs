use std::cell::RefCell;

use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::{TransactionalTree, UnabortableTransactionError};

use super::codec::{decode, encode};
use super::snapshot::Snapshots;

/// Why a transaction closure stopped: `Fail` carries the caller's own error (the whole
/// transaction is rolled back); the other variants come from the store itself.
#[derive(Debug)]
pub enum Abort<E> {
    Fail(E),
    #[doc(hidden)]
    Sled(UnabortableTransactionError),
    #[doc(hidden)]
    Codec(String),
}

impl<E> From<UnabortableTransactionError> for Abort<E> {
    fn from(e: UnabortableTransactionError) -> Self {
        Abort::Sled(e)
    }
}

/// The trees of a running transaction, addressed by their index in the slice given to
/// [`super::Tree::transaction`].
pub struct Txn<'a> {
    trees: &'a [TransactionalTree],
    names: &'a [std::sync::Arc<str>],
    snapshots: &'a Snapshots,
    codec_error: RefCell<Option<String>>,
}

impl<'a> Txn<'a> {
    pub(super) fn new(
        trees: &'a [TransactionalTree],
        names: &'a [std::sync::Arc<str>],
        snapshots: &'a Snapshots,
    ) -> Self {
        Txn {
            trees,
            names,
            snapshots,
            codec_error: RefCell::new(None),
        }
    }

    /// A write checks in before it lands (a running backup keeps the value it replaces).
    /// Inside the transaction, the value read is the committed one unless this run wrote
    /// the key already — and then it checked in at that first write.
    fn check_in<E>(&self, tree: usize, key: &[u8]) -> Result<&TransactionalTree, Abort<E>> {
        let t = self.tree(tree)?;
        let name = self.names.get(tree).map(|n| &**n).unwrap_or_default();
        self.snapshots.before_write(name, key, || {
            Ok::<_, Abort<E>>(t.get(key)?.map(|v| v.to_vec()))
        })?;
        Ok(t)
    }

    pub(super) fn set_codec_error(&self, msg: String) {
        *self.codec_error.borrow_mut() = Some(msg);
    }

    fn tree<E>(&self, i: usize) -> Result<&TransactionalTree, Abort<E>> {
        self.trees
            .get(i)
            .ok_or_else(|| Abort::Codec(format!("transaction has no tree #{i}")))
    }

    pub fn get<T: DeserializeOwned, E>(
        &self,
        tree: usize,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<T>, Abort<E>> {
        match self.tree(tree)?.get(key.as_ref())? {
            Some(v) => decode(&v)
                .map(Some)
                .map_err(|e| Abort::Codec(e.to_string())),
            None => Ok(None),
        }
    }

    pub fn insert<T: Serialize + ?Sized, E>(
        &self,
        tree: usize,
        key: impl AsRef<[u8]>,
        value: &T,
    ) -> Result<(), Abort<E>> {
        let bytes = encode(value).map_err(|e| Abort::Codec(e.to_string()))?;
        self.check_in(tree, key.as_ref())?
            .insert(key.as_ref(), bytes)?;
        Ok(())
    }

    pub fn remove<E>(&self, tree: usize, key: impl AsRef<[u8]>) -> Result<bool, Abort<E>> {
        Ok(self
            .check_in(tree, key.as_ref())?
            .remove(key.as_ref())?
            .is_some())
    }

    /// Adds `delta` to a big-endian u64 counter inside the transaction; returns the new value.
    pub fn increment<E>(
        &self,
        tree: usize,
        key: impl AsRef<[u8]>,
        delta: u64,
    ) -> Result<u64, Abort<E>> {
        let t = self.check_in(tree, key.as_ref())?;
        let old = t
            .get(key.as_ref())?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        let new = old.saturating_add(delta);
        t.insert(key.as_ref(), new.to_be_bytes().to_vec())?;
        Ok(new)
    }
}
