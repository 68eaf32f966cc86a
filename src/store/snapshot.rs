//! A point-in-time view of the whole database for a backup, without holding writes for the
//! length of the copy: copy-on-first-write.
//!
//! A backup starts a capture while it holds the write gate (so no write is half done), at
//! the instant T0, and lets writes flow again at once. It then walks each tree in key
//! order. Every write checks in first ([`Snapshots::before_write`]): if the key lies ahead
//! of the walk in a tree that existed at T0 and nobody recorded it yet, its current value
//! (or its absence) — which is still its value at T0, since any earlier write would have
//! recorded it — is kept aside. The walk skips keys kept aside and, when a tree is done,
//! adds their T0 values. So the backup holds every tree exactly as it was at T0, and memory
//! grows with the writes made during the backup, not with the database.
//!
//! The lock here is only ever held for map work, never across a sled call: sled runs a
//! transaction's closure under its own global lock, and a write outside a transaction
//! reads under that lock's shared side.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub(super) struct Snapshots {
    active: AtomicBool,
    state: Mutex<Option<Capture>>,
}

type Value = Option<Vec<u8>>;

struct Capture {
    trees: HashMap<String, Progress>,
}

#[derive(Default)]
struct Progress {
    /// Keys up to and including this one have been walked.
    cursor: Option<Vec<u8>>,
    /// The walk (and its kept-aside values) is complete: later writes do not matter.
    done: bool,
    /// T0 values of keys ahead of the cursor written since T0 (`None`: absent at T0).
    before: BTreeMap<Vec<u8>, Value>,
}

impl Progress {
    fn wants(&self, key: &[u8]) -> bool {
        !self.done
            && self.cursor.as_deref().is_none_or(|c| key > c)
            && !self.before.contains_key(key)
    }
}

impl Snapshots {
    fn state(&self) -> std::sync::MutexGuard<'_, Option<Capture>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a capture of `trees` as they are now. Call with writes paused.
    pub(super) fn begin(&self, trees: &[String]) {
        *self.state() = Some(Capture {
            trees: trees
                .iter()
                .map(|t| (t.clone(), Progress::default()))
                .collect(),
        });
        self.active.store(true, Ordering::SeqCst);
    }

    /// Ends the capture (also when a backup fails half way).
    pub(super) fn end(&self) {
        self.active.store(false, Ordering::SeqCst);
        *self.state() = None;
    }

    fn wants(&self, tree: &str, key: &[u8]) -> bool {
        self.state()
            .as_ref()
            .and_then(|c| c.trees.get(tree))
            .is_some_and(|p| p.wants(key))
    }

    /// Called by every write to `key` in `tree` before it lands. `current` reads the value
    /// the write replaces; it is called without the lock held.
    pub(super) fn before_write<E>(
        &self,
        tree: &str,
        key: &[u8],
        current: impl FnOnce() -> Result<Value, E>,
    ) -> Result<(), E> {
        if !self.active.load(Ordering::SeqCst) || !self.wants(tree, key) {
            return Ok(());
        }
        let value = current()?;
        // Another write may have recorded the key meanwhile (with the same T0 value), or
        // the walk may have passed it (having read it before any write): then keep nothing.
        if let Some(p) = self.state().as_mut().and_then(|c| c.trees.get_mut(tree)) {
            if p.wants(key) {
                p.before.insert(key.to_vec(), value);
            }
        }
        Ok(())
    }

    /// The walk reached `key` in `tree` (having read its value): true when that value is
    /// the T0 one to back up, false when the key's T0 value was kept aside.
    pub(super) fn visit(&self, tree: &str, key: &[u8]) -> bool {
        let mut state = self.state();
        let Some(p) = state.as_mut().and_then(|c| c.trees.get_mut(tree)) else {
            return true;
        };
        if p.before.contains_key(key) {
            return false;
        }
        p.cursor = Some(key.to_vec());
        true
    }

    /// The walk of `tree` is complete: the T0 values kept aside for keys that existed then.
    pub(super) fn finish_tree(&self, tree: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut state = self.state();
        let Some(p) = state.as_mut().and_then(|c| c.trees.get_mut(tree)) else {
            return Vec::new();
        };
        p.done = true;
        std::mem::take(&mut p.before)
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Result<Value, ()> {
        Ok(None)
    }

    #[test]
    fn only_writes_ahead_of_the_walk_are_kept() {
        let s = Snapshots::default();
        s.before_write("t", b"a", || -> Result<Value, ()> {
            panic!("not capturing")
        })
        .unwrap();
        s.begin(&["t".to_string()]);
        assert!(s.visit("t", b"b"));
        // Behind the walk: already backed up as it was.
        s.before_write("t", b"a", || -> Result<Value, ()> { panic!("behind") })
            .unwrap();
        // Ahead: kept, once.
        s.before_write("t", b"c", || Ok::<_, ()>(Some(b"c0".to_vec())))
            .unwrap();
        s.before_write("t", b"c", || -> Result<Value, ()> {
            panic!("kept already")
        })
        .unwrap();
        s.before_write("t", b"d", none).unwrap();
        // A tree made after T0 is not in the backup.
        s.before_write("new", b"x", || -> Result<Value, ()> { panic!("new tree") })
            .unwrap();
        assert!(!s.visit("t", b"c"), "c is backed up from its kept value");
        assert!(!s.visit("t", b"d"), "d did not exist at T0");
        assert_eq!(s.finish_tree("t"), vec![(b"c".to_vec(), b"c0".to_vec())]);
        s.before_write("t", b"z", || -> Result<Value, ()> { panic!("done") })
            .unwrap();
        s.end();
    }
}
