//! Failures counted per key (an account, a client address) in a fixed window: once a key
//! has used up its failures, it is refused until its window ends. Unlike a rate limit,
//! successes cost nothing, so a player who types their password right is never slowed.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Window {
    failures: u32,
    started: Instant,
}

pub struct Strikes<K> {
    max: u32,
    window: Duration,
    max_keys: usize,
    keys: Mutex<HashMap<K, Window>>,
}

impl<K: Hash + Eq + Clone> Strikes<K> {
    /// `max` failures per `window`; at most `max_keys` keys are remembered.
    pub fn new(max: u32, window: Duration, max_keys: usize) -> Self {
        Strikes {
            max: max.max(1),
            window: window.max(Duration::from_secs(1)),
            max_keys: max_keys.max(1),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` while `key` has used up its failures.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        match keys.get(key) {
            Some(w) if w.failures >= self.max => {
                let left = self.window.saturating_sub(w.started.elapsed());
                if left.is_zero() {
                    Ok(())
                } else {
                    Err(left.as_secs() + u64::from(left.subsec_nanos() > 0))
                }
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure of `key`.
    pub fn strike(&self, key: &K) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= self.max_keys && !keys.contains_key(key) {
            let window = self.window;
            keys.retain(|_, w| w.started.elapsed() < window);
            if keys.len() >= self.max_keys {
                tracing::warn!(
                    keys = keys.len(),
                    "failure counter over its key cap: starting afresh"
                );
                keys.clear();
            }
        }
        let w = keys.entry(key.clone()).or_insert(Window {
            failures: 0,
            started: Instant::now(),
        });
        if w.started.elapsed() >= self.window {
            *w = Window {
                failures: 0,
                started: Instant::now(),
            };
        }
        w.failures = w.failures.saturating_add(1);
    }

    /// Forgets `key`'s failures (after a success).
    pub fn clear(&self, key: &K) {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Drops keys whose window has ended; returns how many remain.
    pub fn sweep(&self) -> usize {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.window;
        keys.retain(|_, w| w.started.elapsed() < window);
        keys.shrink_to_fit();
        keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_after_its_failures_and_others_are_not() {
        let s = Strikes::new(3, Duration::from_secs(60), 100);
        for _ in 0..3 {
            assert!(s.check(&"a").is_ok());
            s.strike(&"a");
        }
        let wait = s.check(&"a").unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(s.check(&"b").is_ok());
        s.clear(&"a");
        assert!(s.check(&"a").is_ok());
    }
}
