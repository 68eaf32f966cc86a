//! Passwords are stored as argon2id PHC strings. Hashing runs off the async threads, and
//! at most `auth.max_concurrent_hashes` at once (each takes about 19 MiB and tens of
//! milliseconds of a core): a flood of sign-ins waits in a short queue, and beyond it is
//! refused with [`Busy`] (429) instead of growing the server's memory without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Every hashing slot is taken and the queue is full: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

pub struct Hasher {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Hasher {
    /// `concurrent` hashes at once (0: the number of CPU cores), `queued` more may wait.
    pub fn new(concurrent: usize, queued: usize) -> Hasher {
        let concurrent = if concurrent == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            concurrent
        };
        Hasher {
            slots: Arc::new(Semaphore::new(concurrent)),
            waiting: AtomicUsize::new(0),
            max_waiting: queued,
        }
    }

    async fn slot(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Ok(p);
        }
        let admitted = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (w < self.max_waiting).then_some(w + 1)
            })
            .is_ok();
        if !admitted {
            return Err(Busy);
        }
        let permit = self.slots.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        permit.map_err(|_| Busy)
    }

    /// A new PHC string for `password`.
    pub async fn hash(&self, password: String) -> Result<Result<String, String>, Busy> {
        let permit = self.slot().await?;
        Ok(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_now(&password)
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r))
    }

    /// Whether `password` matches the stored PHC string.
    pub async fn verify(&self, password: String, stored: String) -> Result<bool, Busy> {
        let permit = self.slot().await?;
        Ok(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify_now(&password, &stored)
        })
        .await
        .unwrap_or(false))
    }
}

fn hash_now(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn verify_now(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let hasher = Hasher::new(1, 0);
        let h = hasher.hash("correct horse".into()).await.unwrap().unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(hasher
            .verify("correct horse".into(), h.clone())
            .await
            .unwrap());
        assert!(!hasher.verify("wrong horse".into(), h).await.unwrap());
    }

    #[tokio::test]
    async fn beyond_the_slots_and_the_queue_a_hash_is_refused() {
        let hasher = Arc::new(Hasher::new(1, 1));
        let held = hasher.slots.clone().try_acquire_owned().unwrap();
        let h = hasher.clone();
        let queued = tokio::spawn(async move { h.hash("correct horse".into()).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(hasher.hash("third one".into()).await, Err(Busy));
        drop(held);
        assert!(queued.await.unwrap().unwrap().is_ok());
    }
}
