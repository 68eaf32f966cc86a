//! Group commit. Callers that must be durable before they reply ask for a flush and wait;
//! one flusher thread serves every request made before its flush started, so concurrent
//! writers share one fsync.
//!
//! Why not sled's `flush_async`: it runs on sled's small I/O pool and holds sled's global
//! read guard while it waits for that same pool to write the buffers. A transaction queued
//! for sled's global write guard makes every new reader wait — including the pool's other
//! flush jobs — so the pool starves and everything deadlocks (seen under 32 concurrent
//! sign-ups). Here flushes run on their own thread and exclude transactions through
//! `tx_gate`, so no transaction ever waits for the write guard during a flush.

use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use super::StoreError;

pub(super) struct Durability {
    db: sled::Db,
    /// Shared by transactions, exclusive for a flush.
    pub(super) tx_gate: Arc<RwLock<()>>,
    requested: Mutex<Requests>,
    wake: Condvar,
    done: watch::Sender<Flushed>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

#[derive(Default)]
struct Requests {
    next_ticket: u64,
    stopping: bool,
}

#[derive(Clone, Copy, Default, PartialEq)]
struct Flushed {
    /// Every ticket up to this one is durable.
    through: u64,
    /// Bumped when a flush fails; waiters then get the error.
    failures: u64,
}

impl Durability {
    pub(super) fn start(db: sled::Db, tx_gate: Arc<RwLock<()>>) -> Arc<Durability> {
        let (done, _) = watch::channel(Flushed::default());
        let d = Arc::new(Durability {
            db,
            tx_gate,
            requested: Mutex::new(Requests::default()),
            wake: Condvar::new(),
            done,
            thread: Mutex::new(None),
        });
        let worker = Arc::downgrade(&d);
        let handle = std::thread::Builder::new()
            .name("outpost-flusher".into())
            .spawn(move || flusher(worker))
            .expect("spawn the flusher thread");
        *d.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        d
    }

    /// Flushes now on the calling thread, excluding transactions.
    pub(super) fn flush_now(&self) -> Result<(), StoreError> {
        let _exclusive = self.tx_gate.write().unwrap_or_else(|p| p.into_inner());
        self.db.flush()?;
        Ok(())
    }

    /// Returns once every write made before the call is on disk.
    pub(super) async fn durable(&self) -> Result<(), StoreError> {
        let mut rx = self.done.subscribe();
        let failures_before = rx.borrow().failures;
        let ticket = {
            let mut r = self.requested.lock().unwrap_or_else(|p| p.into_inner());
            r.next_ticket += 1;
            r.next_ticket
        };
        self.wake.notify_one();
        let state = rx
            .wait_for(|f| f.through >= ticket || f.failures > failures_before)
            .await
            .map_err(|_| StoreError::Sled("the flusher has stopped".into()))?;
        if state.through >= ticket {
            Ok(())
        } else {
            Err(StoreError::Sled("flush to disk failed".into()))
        }
    }

    pub(super) fn stop(&self) {
        self.requested
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stopping = true;
        self.wake.notify_one();
    }
}

fn flusher(d: std::sync::Weak<Durability>) {
    loop {
        let Some(d) = d.upgrade() else { return };
        let target = {
            let mut r = d.requested.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if r.stopping {
                    return;
                }
                if r.next_ticket > d.done.borrow().through {
                    break r.next_ticket;
                }
                let (guard, _) = d
                    .wake
                    .wait_timeout(r, Duration::from_millis(200))
                    .unwrap_or_else(|p| p.into_inner());
                r = guard;
            }
        };
        match d.flush_now() {
            Ok(()) => d.done.send_modify(|f| f.through = target),
            Err(e) => {
                tracing::error!(error = %e, "flush to disk failed");
                d.done.send_modify(|f| f.failures += 1);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}
