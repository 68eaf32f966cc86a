//! One authenticated QUIC connection as the rest of the node sees it: who it is, its
//! bounded send queue, its datagram path and the matches it is in.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{mpsc, oneshot};

use super::protocol::{encode_frame, Code, ServerMsg};
use super::room::MatchEntry;
use super::stats::Stats;
use crate::auth::UserId;
use crate::store::GameId;

pub struct Peer {
    pub id: u64,
    pub user_id: UserId,
    pub username: String,
    pub game: GameId,
    pub session_id: String,
    /// The token id of the session that opened the connection (a logout closes it).
    pub token_id: String,
    /// Unix milliseconds.
    pub connected_at: i64,
    conn: quinn::Connection,
    out: mpsc::Sender<Bytes>,
    joined: Mutex<HashMap<u32, Arc<MatchEntry>>>,
    stats: Arc<Stats>,
    pub frames: DefaultDirectRateLimiter,
    pub datagrams: DefaultDirectRateLimiter,
    /// Asks the connection's task to end it: the task sends the `error`, lets the client
    /// acknowledge what was queued before it, then closes with the code.
    ending: Mutex<Option<oneshot::Sender<(Code, String)>>>,
}

/// Per-second limits of one connection (chat is budgeted per user, by the node).
pub struct Limits {
    pub frames: (u32, u32),
    pub datagrams: (u32, u32),
}

fn limiter((per_sec, burst): (u32, u32)) -> DefaultDirectRateLimiter {
    let per_sec = NonZeroU32::new(per_sec).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(per_sec);
    RateLimiter::direct(Quota::per_second(per_sec).allow_burst(burst))
}

pub struct Identity {
    pub user_id: UserId,
    pub username: String,
    pub game: GameId,
    pub token_id: String,
}

impl Peer {
    pub fn new(
        id: u64,
        who: Identity,
        conn: quinn::Connection,
        out: mpsc::Sender<Bytes>,
        stats: Arc<Stats>,
        limits: Limits,
    ) -> Peer {
        Peer {
            id,
            user_id: who.user_id,
            username: who.username,
            game: who.game,
            session_id: uuid::Uuid::new_v4().to_string(),
            token_id: who.token_id,
            connected_at: crate::time::now_ms(),
            conn,
            out,
            joined: Mutex::new(HashMap::new()),
            stats,
            frames: limiter(limits.frames),
            datagrams: limiter(limits.datagrams),
            ending: Mutex::new(None),
        }
    }

    /// Where [`Self::end`] sends; the connection task holds the other side.
    pub fn on_end(&self) -> oneshot::Receiver<(Code, String)> {
        let (tx, rx) = oneshot::channel();
        *self.ending.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        rx
    }

    /// Ends the connection with `code`, the `error` frame saying why delivered first (see
    /// [`Self::on_end`]); closes at once when no task is listening.
    pub fn end(&self, code: Code, reason: &str) {
        let tx = self.ending.lock().unwrap_or_else(|p| p.into_inner()).take();
        let told = match tx {
            Some(tx) => tx.send((code, reason.to_string())).is_ok(),
            None => false,
        };
        if !told {
            self.close(code, reason);
        }
    }

    /// The client's address.
    pub fn remote_ip(&self) -> std::net::IpAddr {
        self.conn.remote_address().ip()
    }

    /// Queues a frame; a full queue means the client cannot keep up: it is closed with
    /// `11 SLOW_CONSUMER`. Never waits.
    pub fn send(&self, msg: &ServerMsg) -> bool {
        match encode_frame(msg) {
            Ok(f) => self.send_frame(Bytes::from(f)),
            Err(e) => {
                tracing::error!(error = %e, "frame not encoded");
                false
            }
        }
    }

    /// As [`Self::send`], for a frame already encoded (one encoding for many peers).
    pub fn send_frame(&self, frame: Bytes) -> bool {
        match self.out.try_send(frame) {
            Ok(()) => {
                self.stats.frames_out.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.stats.dropped_slow.fetch_add(1, Ordering::Relaxed);
                self.close(
                    Code::SlowConsumer,
                    "send queue full: the client reads too slowly",
                );
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Sends a datagram; QUIC drops the oldest queued ones rather than wait.
    pub fn send_datagram(&self, bytes: Bytes) {
        if self.conn.send_datagram(bytes).is_ok() {
            self.stats.datagrams_out.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn close(&self, code: Code, reason: &str) {
        self.conn.close(
            quinn::VarInt::from_u32(code.as_u16() as u32),
            reason.as_bytes(),
        );
    }

    pub fn enter(&self, entry: Arc<MatchEntry>) {
        self.joined
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(entry.handle, entry);
    }

    pub fn exit(&self, handle: u32) {
        self.joined
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&handle);
    }

    pub fn by_handle(&self, handle: u32) -> Option<Arc<MatchEntry>> {
        self.joined
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&handle)
            .cloned()
    }

    pub fn by_match_id(&self, match_id: &str) -> Option<Arc<MatchEntry>> {
        self.joined
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .find(|e| e.id == match_id)
            .cloned()
    }

    pub fn matches(&self) -> Vec<Arc<MatchEntry>> {
        self.joined
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}
