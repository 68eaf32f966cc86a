//! The QUIC client for Outpost's realtime protocol (`docs/PROTOCOL.md`): connect and
//! authenticate, create/join/leave/list matches, send inputs as datagrams, receive state,
//! match messages and chat. Used by the tests, the bench and studios' bots.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use crate::realtime::protocol::{
    arena_op, ArenaInput, ArenaPlayer, ArenaState, Channel, ClientMsg, Code, DatagramHeader,
    MatchSummary, PresenceView, Scoreboard, ServerMsg, ALPN, PROTOCOL_VERSION,
};
use crate::realtime::protocol::{decode_body, encode_frame};

use super::{tls_client_config, Trust};

/// How long a request waits for its reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest frame this client accepts from a server.
const MAX_FRAME: usize = 16 * 1024 * 1024;
/// Frames read from the server and not yet taken. When full, the client stops reading its
/// control stream (QUIC flow control then pushes back on the server) instead of growing.
const FRAME_QUEUE: usize = 1024;
/// Datagrams received and not yet taken; when full the oldest is dropped.
const DATAGRAM_QUEUE: usize = 256;

/// Received datagrams, bounded. Datagrams are loss-tolerant and a late reader wants the
/// newest state, so a full queue drops its oldest rather than the one arriving.
struct DatagramQueue {
    items: std::sync::Mutex<VecDeque<Bytes>>,
    ready: tokio::sync::Notify,
    closed: std::sync::atomic::AtomicBool,
    dropped: std::sync::atomic::AtomicU64,
    cap: usize,
}

impl DatagramQueue {
    fn new(cap: usize) -> Self {
        DatagramQueue {
            items: std::sync::Mutex::new(VecDeque::with_capacity(cap)),
            ready: tokio::sync::Notify::new(),
            closed: std::sync::atomic::AtomicBool::new(false),
            dropped: std::sync::atomic::AtomicU64::new(0),
            cap,
        }
    }

    fn push(&self, d: Bytes) {
        {
            let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
            if items.len() >= self.cap {
                items.pop_front();
                self.dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            items.push_back(d);
        }
        self.ready.notify_one();
    }

    fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.ready.notify_one();
    }

    fn pop(&self) -> Option<Bytes> {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
    }

    /// The oldest datagram, waiting up to `within`; `None` on timeout or once the
    /// connection is gone and the queue empty.
    async fn next(&self, within: Duration) -> Option<Bytes> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(d) = self.pop() {
                return Some(d);
            }
            if self.closed.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            // A push between `pop` and here left a permit, so it is not missed.
            tokio::time::timeout(left, self.ready.notified())
                .await
                .ok()?;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuicError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("connection closed (code {code:?}): {reason}")]
    Closed { code: Option<u16>, reason: String },
    #[error("server error {code}: {message}")]
    Server { code: u16, message: String },
    #[error("unexpected reply: {0}")]
    Protocol(String),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
}

impl QuicError {
    /// The protocol code of a server error or of the connection close.
    pub fn code(&self) -> Option<u16> {
        match self {
            QuicError::Closed { code, .. } => *code,
            QuicError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// What `welcome` said.
#[derive(Debug, Clone)]
pub struct Welcome {
    pub user_id: String,
    pub username: String,
    pub session_id: String,
    pub server_time: i64,
    pub max_frame_bytes: u32,
}

/// A match this client is in.
#[derive(Debug, Clone)]
pub struct Joined {
    pub match_id: String,
    pub handle: u32,
    pub mode: String,
    pub label: String,
    pub tick_rate: u32,
    pub max_size: u32,
    /// Arena: the map, kill limit and time limit.
    pub map: Option<String>,
    pub kill_limit: Option<u32>,
    pub time_limit_secs: Option<u32>,
    pub you: PresenceView,
    pub presences: Vec<PresenceView>,
}

/// A UDP socket for QUIC client connections, trusting `trust`; one endpoint may carry many
/// connections.
pub fn endpoint(trust: Trust<'_>) -> Result<quinn::Endpoint, QuicError> {
    endpoint_with(trust, SocketAddr::from(([0, 0, 0, 0], 0)), None)
}

/// As [`endpoint`], bound to `bind` (tests speak from another loopback address), and with
/// `stream_window` bytes of control-stream receive window when given (tests play a client
/// that reads slowly).
pub fn endpoint_with(
    trust: Trust<'_>,
    bind: SocketAddr,
    stream_window: Option<u32>,
) -> Result<quinn::Endpoint, QuicError> {
    let tls = tls_client_config(trust, &[ALPN]).map_err(|e| QuicError::Connect(e.message))?;
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| QuicError::Connect(e.to_string()))?;
    let mut cfg = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .keep_alive_interval(Some(Duration::from_secs(5)))
        // Inputs are worth little once late: keep a small queue (about 100 inputs), so an
        // overloaded client drops old ones instead of sending them seconds late.
        .datagram_send_buffer_size(8 * 1024);
    if let Some(w) = stream_window {
        transport
            .stream_receive_window(w.into())
            .receive_window(w.into());
    }
    cfg.transport_config(Arc::new(transport));
    let socket = std::net::UdpSocket::bind(bind).map_err(|e| QuicError::Connect(e.to_string()))?;
    crate::realtime::raise_socket_buffers(&socket);
    let mut ep = quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        None,
        socket,
        Arc::new(quinn::TokioRuntime),
    )
    .map_err(|e| QuicError::Connect(e.to_string()))?;
    ep.set_default_client_config(cfg);
    Ok(ep)
}

fn close_error(conn: &quinn::Connection) -> QuicError {
    match conn.close_reason() {
        Some(quinn::ConnectionError::ApplicationClosed(c)) => QuicError::Closed {
            code: u16::try_from(c.error_code.into_inner()).ok(),
            reason: String::from_utf8_lossy(&c.reason).into_owned(),
        },
        Some(other) => QuicError::Closed {
            code: None,
            reason: other.to_string(),
        },
        None => QuicError::Closed {
            code: None,
            reason: "control stream ended".into(),
        },
    }
}

fn rid_of(msg: &ServerMsg) -> Option<u32> {
    match msg {
        ServerMsg::Error { rid, .. }
        | ServerMsg::MatchJoined { rid, .. }
        | ServerMsg::MatchLeft { rid, .. }
        | ServerMsg::MatchList { rid, .. } => Some(*rid),
        _ => None,
    }
}

pub struct QuicClient {
    _endpoint: quinn::Endpoint,
    conn: quinn::Connection,
    send: quinn::SendStream,
    frames: mpsc::Receiver<ServerMsg>,
    datagrams: Arc<DatagramQueue>,
    backlog: VecDeque<ServerMsg>,
    next_rid: u32,
    pub welcome: Welcome,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for QuicClient {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl QuicClient {
    /// Connects and authenticates with protocol version 1.
    pub async fn connect(
        endpoint: &quinn::Endpoint,
        addr: SocketAddr,
        server_name: &str,
        token: &str,
        game_id: &str,
    ) -> Result<QuicClient, QuicError> {
        Self::connect_with(
            endpoint,
            addr,
            server_name,
            &ClientMsg::Hello {
                token: token.to_string(),
                game_id: game_id.to_string(),
                client_version: PROTOCOL_VERSION,
            },
        )
        .await
    }

    /// Connects and sends `hello` as given (tests try other versions and bad tokens).
    pub async fn connect_with(
        endpoint: &quinn::Endpoint,
        addr: SocketAddr,
        server_name: &str,
        hello: &ClientMsg,
    ) -> Result<QuicClient, QuicError> {
        let conn = endpoint
            .connect(addr, server_name)
            .map_err(|e| QuicError::Connect(e.to_string()))?
            .await
            .map_err(|e| QuicError::Connect(e.to_string()))?;
        let (mut send, recv) = conn.open_bi().await.map_err(|_| close_error(&conn))?;
        let frame = encode_frame(hello).map_err(|e| QuicError::Protocol(e.to_string()))?;
        send.write_all(&frame)
            .await
            .map_err(|_| close_error(&conn))?;
        let (ftx, frames) = mpsc::channel(FRAME_QUEUE);
        let datagrams = Arc::new(DatagramQueue::new(DATAGRAM_QUEUE));
        let reader = tokio::spawn(read_frames(recv, ftx));
        let dconn = conn.clone();
        let dqueue = datagrams.clone();
        let dreader = tokio::spawn(async move {
            while let Ok(d) = dconn.read_datagram().await {
                dqueue.push(d);
            }
            dqueue.close();
        });
        let mut client = QuicClient {
            _endpoint: endpoint.clone(),
            conn,
            send,
            frames,
            datagrams,
            backlog: VecDeque::new(),
            next_rid: 1,
            welcome: Welcome {
                user_id: String::new(),
                username: String::new(),
                session_id: String::new(),
                server_time: 0,
                max_frame_bytes: 0,
            },
            tasks: vec![reader, dreader],
        };
        match client.recv(REPLY_TIMEOUT).await? {
            ServerMsg::Welcome {
                user_id,
                username,
                session_id,
                server_time,
                max_frame_bytes,
                ..
            } => {
                client.welcome = Welcome {
                    user_id,
                    username,
                    session_id,
                    server_time,
                    max_frame_bytes,
                };
                Ok(client)
            }
            ServerMsg::Error { code, message, .. } => Err(QuicError::Server { code, message }),
            other => Err(QuicError::Protocol(format!("{other:?}"))),
        }
    }

    pub fn connection(&self) -> &quinn::Connection {
        &self.conn
    }

    /// Sends one frame.
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<(), QuicError> {
        let frame = encode_frame(msg).map_err(|e| QuicError::Protocol(e.to_string()))?;
        self.send_raw(&frame).await
    }

    /// Sends bytes as they are (tests send broken frames).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), QuicError> {
        self.send
            .write_all(bytes)
            .await
            .map_err(|_| close_error(&self.conn))
    }

    /// The next frame from the server, oldest first.
    pub async fn recv(&mut self, within: Duration) -> Result<ServerMsg, QuicError> {
        if let Some(m) = self.backlog.pop_front() {
            return Ok(m);
        }
        match tokio::time::timeout(within, self.frames.recv()).await {
            Ok(Some(m)) => Ok(m),
            Ok(None) => {
                // The stream ended: give the close frame a moment to land.
                let _ = tokio::time::timeout(Duration::from_secs(2), self.conn.closed()).await;
                Err(close_error(&self.conn))
            }
            Err(_) => Err(QuicError::Timeout("a frame")),
        }
    }

    /// Waits for a frame `want` accepts; frames before it are set aside for [`Self::recv`].
    pub async fn wait_for(
        &mut self,
        within: Duration,
        want: impl Fn(&ServerMsg) -> bool,
    ) -> Result<ServerMsg, QuicError> {
        let deadline = Instant::now() + within;
        let mut skipped = VecDeque::new();
        let mut from_backlog = std::mem::take(&mut self.backlog);
        let found = loop {
            let next = match from_backlog.pop_front() {
                Some(m) => Ok(m),
                None => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match tokio::time::timeout(left, self.frames.recv()).await {
                        Ok(Some(m)) => Ok(m),
                        Ok(None) => {
                            let _ =
                                tokio::time::timeout(Duration::from_secs(2), self.conn.closed())
                                    .await;
                            Err(close_error(&self.conn))
                        }
                        Err(_) => Err(QuicError::Timeout("the expected frame")),
                    }
                }
            };
            match next {
                Ok(m) if want(&m) => break Ok(m),
                Ok(m) => skipped.push_back(m),
                Err(e) => break Err(e),
            }
        };
        skipped.extend(from_backlog);
        self.backlog = skipped;
        found
    }

    /// Waits for a pushed notification with `code` (e.g. 1, match found) and returns it
    /// (`id`, `code`, `subject`, `content`, …); other frames stay queued for later reads.
    pub async fn notification(
        &mut self,
        code: i64,
        within: Duration,
    ) -> Result<serde_json::Value, QuicError> {
        match self
            .wait_for(within, |m| {
                matches!(m, ServerMsg::Notification { notification, .. }
                    if notification["code"].as_i64() == Some(code))
            })
            .await?
        {
            ServerMsg::Notification { notification, .. } => Ok(notification),
            other => Err(QuicError::Protocol(format!("{other:?}"))),
        }
    }

    async fn request(&mut self, msg: ClientMsg, rid: u32) -> Result<ServerMsg, QuicError> {
        self.send(&msg).await?;
        match self
            .wait_for(REPLY_TIMEOUT, |m| rid_of(m) == Some(rid))
            .await?
        {
            ServerMsg::Error { code, message, .. } => Err(QuicError::Server { code, message }),
            other => Ok(other),
        }
    }

    fn rid(&mut self) -> u32 {
        let r = self.next_rid;
        self.next_rid = self.next_rid.wrapping_add(1).max(1);
        r
    }

    fn joined(reply: ServerMsg) -> Result<Joined, QuicError> {
        match reply {
            ServerMsg::MatchJoined {
                match_id,
                handle,
                mode,
                label,
                tick_rate,
                max_size,
                map,
                kill_limit,
                time_limit_secs,
                you,
                presences,
                ..
            } => Ok(Joined {
                match_id,
                handle,
                mode,
                label,
                tick_rate,
                max_size,
                map,
                kill_limit,
                time_limit_secs,
                you,
                presences,
            }),
            other => Err(QuicError::Protocol(format!("{other:?}"))),
        }
    }

    /// Creates a match and joins it.
    pub async fn create_match(
        &mut self,
        mode: &str,
        label: &str,
        params: serde_json::Value,
    ) -> Result<Joined, QuicError> {
        let rid = self.rid();
        let reply = self
            .request(
                ClientMsg::MatchCreate {
                    rid,
                    mode: mode.into(),
                    label: label.into(),
                    params,
                },
                rid,
            )
            .await?;
        Self::joined(reply)
    }

    pub async fn join_match(
        &mut self,
        match_id: &str,
        ticket: Option<&str>,
    ) -> Result<Joined, QuicError> {
        let rid = self.rid();
        let reply = self
            .request(
                ClientMsg::MatchJoin {
                    rid,
                    match_id: match_id.into(),
                    ticket: ticket.map(str::to_string),
                },
                rid,
            )
            .await?;
        Self::joined(reply)
    }

    pub async fn leave_match(&mut self, match_id: &str) -> Result<(), QuicError> {
        let rid = self.rid();
        self.request(
            ClientMsg::MatchLeave {
                rid,
                match_id: match_id.into(),
            },
            rid,
        )
        .await
        .map(|_| ())
    }

    pub async fn list_matches(
        &mut self,
        mode: Option<&str>,
        label: Option<&str>,
    ) -> Result<Vec<MatchSummary>, QuicError> {
        let rid = self.rid();
        match self
            .request(
                ClientMsg::MatchList {
                    rid,
                    mode: mode.map(str::to_string),
                    label: label.map(str::to_string),
                    limit: Some(100),
                },
                rid,
            )
            .await?
        {
            ServerMsg::MatchList { matches, .. } => Ok(matches),
            other => Err(QuicError::Protocol(format!("{other:?}"))),
        }
    }

    /// Round trip and the server's clock (Unix ms) at the middle of it.
    pub async fn ping(&mut self) -> Result<(Duration, i64), QuicError> {
        let id = self.rid();
        let started = Instant::now();
        self.send(&ClientMsg::Ping {
            id,
            client_time: crate::time::now_ms(),
        })
        .await?;
        match self
            .wait_for(
                REPLY_TIMEOUT,
                |m| matches!(m, ServerMsg::Pong { id: i, .. } if *i == id),
            )
            .await?
        {
            ServerMsg::Pong { server_time, .. } => Ok((started.elapsed(), server_time)),
            other => Err(QuicError::Protocol(format!("{other:?}"))),
        }
    }

    /// Sends a chat line; refusals arrive as `error` frames with the returned `rid`.
    pub async fn chat(
        &mut self,
        channel: Channel,
        match_id: Option<&str>,
        text: &str,
    ) -> Result<u32, QuicError> {
        let rid = self.rid();
        self.send(&ClientMsg::Chat {
            rid,
            channel,
            match_id: match_id.map(str::to_string),
            text: text.into(),
        })
        .await?;
        Ok(rid)
    }

    pub async fn vote(&mut self, match_id: &str, option: &str) -> Result<(), QuicError> {
        self.send(&ClientMsg::Vote {
            match_id: match_id.into(),
            option: option.into(),
        })
        .await
    }

    /// Reliable match data (relay forwards it to everyone else, or to `to`).
    pub async fn send_data(
        &mut self,
        match_id: &str,
        op: u16,
        data: &[u8],
        to: &[String],
    ) -> Result<(), QuicError> {
        self.send(&ClientMsg::MatchData {
            match_id: match_id.into(),
            op,
            data: data.to_vec(),
            to: to.to_vec(),
        })
        .await
    }

    /// One input datagram.
    pub fn send_input(
        &self,
        handle: u32,
        seq: u32,
        op: u16,
        payload: &[u8],
    ) -> Result<(), QuicError> {
        let bytes = DatagramHeader { handle, seq, op }.encode(payload);
        self.conn
            .send_datagram(Bytes::from(bytes))
            .map_err(|e| QuicError::Protocol(e.to_string()))
    }

    /// The next datagram from the server.
    pub async fn next_datagram(&mut self, within: Duration) -> Option<(DatagramHeader, Bytes)> {
        let d = self.datagrams.next(within).await?;
        let (h, _) = DatagramHeader::parse(&d)?;
        Some((h, d.slice(crate::realtime::protocol::DATAGRAM_HEADER..)))
    }

    /// Datagrams received and not yet read.
    pub fn drain_datagrams(&mut self) -> Vec<(DatagramHeader, Bytes)> {
        let mut v = Vec::new();
        while let Some(d) = self.datagrams.pop() {
            if let Some((h, _)) = DatagramHeader::parse(&d) {
                v.push((h, d.slice(crate::realtime::protocol::DATAGRAM_HEADER..)));
            }
        }
        v
    }

    /// Datagrams dropped because they were not read in time (the queue keeps the newest
    /// 256).
    pub fn datagrams_dropped(&self) -> u64 {
        self.datagrams
            .dropped
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until the server closes the connection; its code and reason.
    pub async fn closed(&self, within: Duration) -> Result<(Option<u16>, String), QuicError> {
        tokio::time::timeout(within, self.conn.closed())
            .await
            .map_err(|_| QuicError::Timeout("the connection to close"))?;
        match close_error(&self.conn) {
            QuicError::Closed { code, reason } => Ok((code, reason)),
            other => Err(other),
        }
    }

    pub fn close(&self) {
        self.conn.close(0u32.into(), b"bye");
    }
}

async fn read_frames(mut recv: quinn::RecvStream, tx: mpsc::Sender<ServerMsg>) {
    loop {
        let mut len = [0u8; 4];
        if recv.read_exact(&mut len).await.is_err() {
            return;
        }
        let n = u32::from_be_bytes(len) as usize;
        if n > MAX_FRAME {
            return;
        }
        let mut body = vec![0u8; n];
        if recv.read_exact(&mut body).await.is_err() {
            return;
        }
        match decode_body::<ServerMsg>(&body) {
            Ok(m) => {
                // Waits while the queue is full: a frame is never dropped.
                if tx.send(m).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "undecodable frame from the server");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_datagram_queue_keeps_the_newest() {
        let q = DatagramQueue::new(4);
        for i in 0u8..10 {
            q.push(Bytes::from(vec![i]));
        }
        assert_eq!(q.dropped.load(std::sync::atomic::Ordering::Relaxed), 6);
        let got: Vec<u8> = std::iter::from_fn(|| q.pop()).map(|b| b[0]).collect();
        assert_eq!(got, vec![6, 7, 8, 9]);
        // Empty: waits out its time, then answers none; a push wakes a waiter.
        assert!(q.next(Duration::from_millis(20)).await.is_none());
        q.push(Bytes::from_static(b"x"));
        assert_eq!(
            q.next(Duration::from_secs(1)).await.as_deref(),
            Some(&b"x"[..])
        );
        q.close();
        assert!(q.next(Duration::from_secs(5)).await.is_none());
    }
}
