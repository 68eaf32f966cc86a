//! Write combining: the steps that concurrent callers commit to one game's vault share one
//! transaction and one flush.
//!
//! A sled transaction holds sled's global lock exclusively, and a flush excludes every
//! transaction while it syncs, so one transaction and one flush per write caps durable
//! writes at a few thousand per second whatever the disk does. Here each game has one
//! committer thread. It takes every step waiting in its queue (up to [`MAX_BATCH`]), applies
//! them in order in one transaction (a later step sees an earlier one's writes, as if they
//! had run one after the other), flushes once, and only then answers each caller. Steps that
//! arrive while it flushes wait for the next round, so the busier the game, the more writes
//! share each transaction and each sync.
//!
//! A step that fails (insufficient funds, a version conflict…) must not take its neighbours
//! down, and a failed step may already have written inside the transaction. So the whole
//! transaction is rolled back, the failed step is answered with its error, and the rest run
//! again without it. An answered write is on disk before its answer: the flush comes first.

use std::any::Any;
use std::cell::RefCell;
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::{Step, Vault};
use crate::rpc::RpcError;
use crate::store::{Abort, GameStore, StoreError, Txn};

/// The most steps one transaction takes: bounds a transaction's size and a round's latency.
const MAX_BATCH: usize = 256;

type Done = Box<dyn Any + Send>;
type Apply = Box<dyn Fn(&Txn) -> Result<Done, Abort<RpcError>> + Send>;

struct Job {
    /// The caller's handle on the game: the committer holds none of its own between
    /// rounds, so a dropped store is not kept open by its committer.
    game: GameStore,
    apply: Apply,
    reply: oneshot::Sender<Result<Done, RpcError>>,
}

/// One game's committer: the queue its thread serves.
pub(super) struct Combiner {
    queue: std::sync::Mutex<mpsc::Sender<Job>>,
}

impl Combiner {
    fn start(game: &GameStore) -> Combiner {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(format!("outpost-commit-{}", game.id()))
            .spawn(move || serve(rx))
            .expect("spawn a committer thread");
        Combiner {
            queue: std::sync::Mutex::new(tx),
        }
    }
}

/// Applies `step` in a transaction shared with other callers' steps on this game, durable
/// before it returns.
pub(super) async fn commit<S>(game: &GameStore, step: S) -> Result<S::Done, RpcError>
where
    S: Step + 'static,
    S::Done: Send + 'static,
{
    let combiner = game.shared(|| Combiner::start(game));
    let (reply, answer) = oneshot::channel();
    let apply: Apply = Box::new(move |tx| step.apply(tx).map(|d| Box::new(d) as Done));
    combiner
        .queue
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send(Job {
            game: game.clone(),
            apply,
            reply,
        })
        .map_err(|_| RpcError::Internal("the game's committer has stopped".into()))?;
    let done = answer
        .await
        .map_err(|_| RpcError::Internal("the game's committer has stopped".into()))??;
    Ok(*done
        .downcast::<S::Done>()
        .unwrap_or_else(|_| unreachable!("a job answers with its own step's result")))
}

/// Serves rounds until the store that holds the queue's sender is dropped.
fn serve(rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let game = first.game.clone();
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let vault = match Vault::open(&game) {
            Ok(v) => v,
            Err(e) => {
                answer_all(jobs, &e);
                continue;
            }
        };
        // Steps that panic are refused one by one (see `run_once`); a panic anywhere else
        // loses this round's answers (their callers see the committer's error), not the
        // committer.
        let round = std::panic::AssertUnwindSafe(|| run_round(&game, &vault, jobs));
        if std::panic::catch_unwind(round).is_err() {
            tracing::error!(game = %game.id(), "a write step panicked; its round was not answered");
        }
    }
}

/// After this many failed steps in one round, the rest run one per transaction, so a flood
/// of refused steps costs one transaction each rather than a rerun of the round each.
const RERUNS: usize = 2;

/// One round: the jobs' steps in one transaction (dropping the ones that fail), one flush,
/// then every answer.
fn run_round(game: &GameStore, vault: &Vault, mut jobs: Vec<Job>) {
    let mut answers: Vec<(Job, Result<Done, RpcError>)> = Vec::with_capacity(jobs.len());
    let mut reruns = 0;
    while !jobs.is_empty() {
        if reruns >= RERUNS {
            for job in jobs.drain(..) {
                let answer = match run_once(vault, std::slice::from_ref(&job)) {
                    Ok(mut done) => Ok(done.remove(0)),
                    Err((_, e)) => Err(e),
                };
                answers.push((job, answer));
            }
            break;
        }
        match run_once(vault, &jobs) {
            Ok(done) => answers.extend(jobs.drain(..).zip(done.into_iter().map(Ok))),
            Err((Some(i), e)) => {
                answers.push((jobs.remove(i), Err(e)));
                reruns += 1;
            }
            Err((None, e)) => {
                // The store itself failed: every remaining job gets that error.
                let msg = e.to_string();
                answers.extend(
                    jobs.drain(..)
                        .map(|j| (j, Err(RpcError::Internal(msg.clone())))),
                );
            }
        }
    }
    if answers.iter().any(|(_, r)| r.is_ok()) {
        // One retry: a transient I/O error should not cost the round its answers.
        let flushed = game.store().flush().or_else(|_| game.store().flush());
        if let Err(e) = flushed {
            tracing::error!(game = %game.id(), error = %e, "flushing a round of writes failed");
            // The applied steps are in the database but not known to be on disk: their
            // callers are told so (not that they failed), and refused steps keep their
            // own errors.
            let unknown = format!(
                "the write was applied but could not be made durable ({}): it may or may not survive a crash; retry it with an idempotency key",
                RpcError::from(e)
            );
            for (job, answer) in answers {
                let answer = match answer {
                    Ok(_) => Err(RpcError::Unavailable(unknown.clone())),
                    refused => refused,
                };
                let _ = job.reply.send(answer);
            }
            return;
        }
    }
    for (job, answer) in answers {
        let _ = job.reply.send(answer);
    }
}

/// The jobs' steps in order in one transaction: every result, or the index of the step
/// that failed (if a step did) and the error, with nothing written.
fn run_once(vault: &Vault, jobs: &[Job]) -> Result<Vec<Done>, (Option<usize>, RpcError)> {
    let failed: RefCell<Option<usize>> = RefCell::new(None);
    vault
        .transaction::<Vec<Done>, RpcError, _>(&[], |tx| {
            *failed.borrow_mut() = None;
            let mut done = Vec::with_capacity(jobs.len());
            for (i, job) in jobs.iter().enumerate() {
                match apply_caught(job, tx) {
                    Ok(d) => done.push(d),
                    Err(Abort::Sled(e)) => return Err(Abort::Sled(e)),
                    Err(Abort::Fail(e)) => {
                        *failed.borrow_mut() = Some(i);
                        return Err(Abort::Fail(e));
                    }
                    Err(Abort::Codec(msg)) => {
                        *failed.borrow_mut() = Some(i);
                        return Err(Abort::Fail(StoreError::Codec(msg).into()));
                    }
                }
            }
            Ok(done)
        })
        .map_err(|e| (failed.into_inner(), e))
}

/// What a step failing inside the server answers (its panic is in the log).
const PANICKED: &str = "the write failed inside the server (see its log); nothing was changed";

/// Applies one job's step. A step that panics is refused alone, like one that fails: the
/// round goes on without it and its neighbours are answered.
fn apply_caught(job: &Job, tx: &Txn) -> Result<Done, Abort<RpcError>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (job.apply)(tx))).unwrap_or_else(
        |_| {
            tracing::error!("a write step panicked: refused, nothing it wrote is kept");
            Err(Abort::Fail(RpcError::Internal(PANICKED.into())))
        },
    )
}

fn answer_all(jobs: Vec<Job>, e: &StoreError) {
    for job in jobs {
        let _ = job
            .reply
            .send(Err(RpcError::from(StoreError::Sled(e.to_string()))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Key, Store};

    /// Moves one counter in the vault by `delta`; refuses to take it below zero, after it
    /// has already written (so a refusal must roll back its own write).
    struct Move {
        counter: u64,
        delta: i64,
    }

    impl Step for Move {
        type Done = i64;
        fn apply(&self, tx: &Txn) -> Result<i64, Abort<RpcError>> {
            let key = Key::new().str("counter").u64(self.counter);
            let old: i64 = tx.get(0, &key)?.unwrap_or(0);
            let new = old + self.delta;
            tx.insert(0, &key, &new)?;
            if new < 0 {
                return Err(Abort::Fail(RpcError::FailedPrecondition(format!(
                    "counter {} would go to {new}",
                    self.counter
                ))));
            }
            Ok(new)
        }
    }

    /// Writes, then panics: a bug in one write's code.
    struct Panics;

    impl Step for Panics {
        type Done = i64;
        fn apply(&self, tx: &Txn) -> Result<i64, Abort<RpcError>> {
            tx.insert(0, Key::new().str("counter").u64(9), &1_000i64)?;
            panic!("a bug in a write step");
        }
    }

    #[test]
    fn a_panicking_step_is_refused_alone_and_its_neighbours_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).unwrap();
        let g = store
            .create_game("combine-panic", Default::default())
            .unwrap();
        let game = store.game(g.id).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (ok, panicked) = rt.block_on(async {
            let mut tasks = Vec::new();
            for n in 0..200u64 {
                let game = game.clone();
                tasks.push(tokio::spawn(async move {
                    if n % 10 == 3 {
                        commit(&game, Panics).await.map(|_| false)
                    } else {
                        commit(
                            &game,
                            Move {
                                counter: 0,
                                delta: 1,
                            },
                        )
                        .await
                        .map(|_| true)
                    }
                }));
            }
            let (mut ok, mut panicked) = (0, 0);
            for t in tasks {
                match t.await.unwrap() {
                    Ok(_) => ok += 1,
                    Err(RpcError::Internal(m)) => {
                        assert!(m.contains("nothing was changed"), "{m}");
                        panicked += 1
                    }
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
            (ok, panicked)
        });
        assert_eq!((ok, panicked), (180, 20));
        let vault = Vault::open(&game).unwrap();
        let counter = |c: u64| -> Option<i64> {
            vault.tree(0).get(Key::new().str("counter").u64(c)).unwrap()
        };
        // Every good write landed once; nothing the panicking steps wrote was kept.
        assert_eq!(counter(0), Some(180));
        assert_eq!(counter(9), None);
    }

    #[test]
    fn concurrent_steps_share_rounds_and_refusals_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).unwrap();
        let g = store.create_game("combine", Default::default()).unwrap();
        let game = store.game(g.id).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // 4 counters; per counter, 100 credits of 1 and 150 debits of 1 from many tasks:
        // exactly 100 debits can succeed, whatever the order, and the counter ends at 0.
        let (ok, refused) = rt.block_on(async {
            let mut tasks = Vec::new();
            for n in 0..1000u64 {
                let game = game.clone();
                tasks.push(tokio::spawn(async move {
                    let counter = n % 4;
                    let delta = if (n / 4) % 5 < 2 { 1 } else { -1 };
                    commit(&game, Move { counter, delta }).await
                }));
            }
            let (mut ok, mut refused) = (0, 0);
            for t in tasks {
                match t.await.unwrap() {
                    Ok(v) => {
                        assert!(v >= 0);
                        ok += 1
                    }
                    Err(RpcError::FailedPrecondition(m)) => {
                        assert!(m.contains("would go to -1"), "{m}");
                        refused += 1
                    }
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
            (ok, refused)
        });
        assert_eq!(ok + refused, 1000);
        let vault = Vault::open(&game).unwrap();
        let mut total = 0;
        for c in 0..4u64 {
            let v: i64 = vault
                .tree(0)
                .get(Key::new().str("counter").u64(c))
                .unwrap()
                .unwrap_or(0);
            assert!(v >= 0, "counter {c} is {v}");
            total += v;
        }
        // Every credit landed; every accepted debit took one away.
        assert_eq!(400 - (ok - 400), total);

        // The committer keeps no handle on the store between rounds: once the store is
        // dropped, the database can be opened again in this process (sled locks it).
        drop((vault, game, store, rt));
        let started = std::time::Instant::now();
        let reopened = loop {
            match Store::open(dir.path(), 0) {
                Ok(s) => break s,
                Err(e) if started.elapsed() > std::time::Duration::from_secs(5) => {
                    panic!("the store stays open after it was dropped: {e}")
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        };
        let game = reopened.game(g.id).unwrap();
        let v: i64 = Vault::open(&game)
            .unwrap()
            .tree(0)
            .get(Key::new().str("counter").u64(0))
            .unwrap()
            .unwrap_or(0);
        assert!(v >= 0);
    }
}
