//! Realtime over QUIC: the quinn endpoint (same port number and certificate as HTTPS,
//! TLS 1.3, ALPN `outpost/1`), authenticated connections speaking `docs/PROTOCOL.md`, and
//! the live matches of this node, each an actor ticking at its rate. The [`Node`] is what
//! the rest of the server sees: it registers itself as the App's
//! [`MatchDirectory`](crate::features::matches::MatchDirectory) so the room RPCs can create
//! and find matches without importing this transport.

mod arena;
mod chat;
mod cid;
mod connection;
mod peer;
pub mod protocol;
mod relay;
mod room;
mod stats;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use arena::Arena;
pub use relay::Relay;
pub use room::{
    Effect, Flow, Input, Inputs, MatchHandler, MatchParams, Message, MessageKind, Outbox, Presence,
    Rules, Setup, Target,
};

use crate::app::App;
use crate::auth::UserId;
use crate::config::RealtimeConfig;
use crate::events::Event;
use crate::features::matches::{
    Access, DirectoryError, Endpoint, LiveMatch, MatchDirectory, MatchPlayer, NewMatch,
    Presence as OnlinePresence, RealtimeStats, Ticket,
};
use crate::store::GameId;
use crate::tls::Certs;
use chat::Profanity;
use peer::Peer;
use protocol::{Code, ServerMsg};
use room::{Command, MatchEntry};
use stats::Stats;

#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    #[error("QUIC TLS configuration: {0}")]
    Tls(String),
    #[error("QUIC transport configuration: {0}")]
    Config(String),
    #[error("cannot listen for QUIC on {addr}: {err}")]
    Bind { addr: SocketAddr, err: String },
}

/// The built-in modes. A studio adds a mode by implementing [`MatchHandler`] and naming it
/// here.
pub const MODES: &[&str] = &["relay", "arena"];

/// The realtime side of one server: connections, matches, tickets.
pub struct Node {
    me: Weak<Node>,
    pub(crate) app: App,
    pub(crate) cfg: RealtimeConfig,
    endpoint: Endpoint,
    matches: RwLock<HashMap<String, Arc<MatchEntry>>>,
    next_handle: AtomicU32,
    next_peer: AtomicU64,
    /// Connections between the start of their handshake and a successful `hello`, per
    /// client address (IPv6: per /64).
    pending: Mutex<HashMap<IpAddr, usize>>,
    /// Authenticated connections (the cap counts these).
    peers: RwLock<HashMap<u64, Arc<Peer>>>,
    /// Chat lines per user (all their connections), and global-chat lines per game.
    chat_users: DefaultKeyedRateLimiter<UserId>,
    global_chat: DefaultKeyedRateLimiter<GameId>,
    tickets: Mutex<HashMap<String, (GameId, Ticket)>>,
    pub(crate) profanity: Profanity,
    pub(crate) stats: Arc<Stats>,
    relay: Arc<Relay>,
    arena: Arc<Arena>,
}

/// One connection counted against its address's `max_pending_per_ip` until it is
/// authenticated (or gone); uncounted when dropped.
pub(crate) struct Pending {
    node: Arc<Node>,
    ip: IpAddr,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut pending = self.node.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = pending.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                pending.remove(&self.ip);
            }
        }
    }
}

/// IPv6 clients are counted per /64 (what one customer is handed), as the HTTP limits do.
pub(crate) fn per_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
        },
        v4 => v4,
    }
}

fn keyed<K: std::hash::Hash + Eq + Clone>(per_sec: u32, burst: u32) -> DefaultKeyedRateLimiter<K> {
    let per_sec = NonZeroU32::new(per_sec).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(per_sec);
    RateLimiter::keyed(Quota::per_second(per_sec).allow_burst(burst))
}

/// A started realtime endpoint.
pub struct Running {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

fn server_config(
    certs: &Arc<Certs>,
    cfg: &RealtimeConfig,
) -> Result<quinn::ServerConfig, RealtimeError> {
    let tls = certs.server_config(&[protocol::ALPN], true);
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| RealtimeError::Tls(e.to_string()))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    // Handshakes waiting for `accept`: bounded well below quinn's 65,536 default.
    server.max_incoming(cfg.max_connections.clamp(1024, 65_536));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_idle_timeout(Some(
            quinn::IdleTimeout::try_from(Duration::from_secs(cfg.idle_timeout_secs))
                .map_err(|e| RealtimeError::Config(e.to_string()))?,
        ))
        .keep_alive_interval(Some(Duration::from_secs(cfg.keep_alive_secs)))
        .max_concurrent_bidi_streams(1u32.into())
        .max_concurrent_uni_streams(0u32.into())
        .datagram_receive_buffer_size(Some(64 * 1024))
        .datagram_send_buffer_size(64 * 1024);
    server.transport_config(Arc::new(transport));
    Ok(server)
}

/// Socket buffers asked of the kernel (it caps them at `net.core.rmem_max`/`wmem_max`):
/// the default 208 KiB overflows at tens of thousands of inputs per second.
const SOCKET_BUFFER_BYTES: libc::c_int = 4 * 1024 * 1024;

/// Asks the kernel for [`SOCKET_BUFFER_BYTES`] of receive and send buffer on `socket`
/// (best effort). The QUIC client does the same: a bot carrying hundreds of players receives
/// as many datagrams as the server sends.
pub fn raise_socket_buffers(socket: &std::net::UdpSocket) {
    use std::os::fd::AsRawFd;
    for option in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: a live socket descriptor, and a c_int value with its exact size.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&SOCKET_BUFFER_BYTES as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            tracing::debug!(option, "socket buffer size not raised");
        }
    }
}

fn bind(addr: SocketAddr, config: quinn::ServerConfig) -> std::io::Result<quinn::Endpoint> {
    let socket = std::net::UdpSocket::bind(addr)?;
    raise_socket_buffers(&socket);
    quinn::Endpoint::new(
        cid::endpoint_config(),
        Some(config),
        socket,
        Arc::new(quinn::TokioRuntime),
    )
}

/// Starts QUIC on `addr` and registers the node as the App's match directory. Runs until
/// `stop` turns true, then ends every match and closes every connection.
pub fn start(
    app: App,
    certs: &Arc<Certs>,
    addr: SocketAddr,
    stop: watch::Receiver<bool>,
) -> Result<Running, RealtimeError> {
    let cfg = app.config.realtime.clone();
    let endpoint = bind(addr, server_config(certs, &cfg)?).map_err(|e| RealtimeError::Bind {
        addr,
        err: e.to_string(),
    })?;
    let bound = endpoint.local_addr().map_err(|e| RealtimeError::Bind {
        addr,
        err: e.to_string(),
    })?;
    let host = match &cfg.public_host {
        Some(h) => h.clone(),
        None if bound.ip().is_unspecified() => "localhost".into(),
        None => bound.ip().to_string(),
    };
    let chat_users = keyed(cfg.chat_per_sec, cfg.chat_burst);
    let global_chat = keyed(cfg.global_chat_per_sec, cfg.global_chat_burst);
    let node = Arc::new_cyclic(|me| Node {
        me: me.clone(),
        endpoint: Endpoint {
            host,
            port: bound.port(),
            alpn: String::from_utf8_lossy(protocol::ALPN).into_owned(),
        },
        profanity: Profanity::new(&cfg.profanity_extra),
        cfg,
        app: app.clone(),
        matches: RwLock::new(HashMap::new()),
        next_handle: AtomicU32::new(1),
        next_peer: AtomicU64::new(1),
        pending: Mutex::new(HashMap::new()),
        peers: RwLock::new(HashMap::new()),
        chat_users,
        global_chat,
        tickets: Mutex::new(HashMap::new()),
        stats: Arc::new(Stats::default()),
        relay: Arc::new(Relay),
        arena: Arc::new(Arena),
    });
    tracing::debug!(
        words = node.profanity.words(),
        "chat profanity filter loaded"
    );
    let _ = app.matches.set(node.clone());
    tokio::spawn(node.clone().listen_bus(stop.clone()));
    tokio::spawn(node.clone().sweep_tickets(stop.clone()));
    let task = tokio::spawn(node.accept(endpoint, stop));
    Ok(Running { addr: bound, task })
}

impl Node {
    fn arc(&self) -> Option<Arc<Node>> {
        self.me.upgrade()
    }

    async fn accept(self: Arc<Self>, endpoint: quinn::Endpoint, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                incoming = endpoint.accept() => match incoming {
                    Some(i) => self.admit_handshake(i),
                    None => break,
                },
            }
        }
        let entries: Vec<Arc<MatchEntry>> = self
            .matches
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for e in entries {
            let _ = e.tx.try_send(Command::Stop);
        }
        endpoint.close(
            quinn::VarInt::from_u32(Code::ShuttingDown.as_u16() as u32),
            b"server stopping",
        );
        let _ = tokio::time::timeout(Duration::from_secs(2), endpoint.wait_idle()).await;
    }

    /// A new handshake: an address not yet validated gets a Retry (a forged source never
    /// answers it, so it holds nothing here); a validated one is served unless its address
    /// already has `max_pending_per_ip` connections short of `hello`.
    fn admit_handshake(self: &Arc<Self>, incoming: quinn::Incoming) {
        if !incoming.remote_address_validated() {
            self.stats.retried.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = incoming.retry() {
                e.into_incoming().ignore();
            }
            return;
        }
        let ip = per_network(incoming.remote_address().ip());
        {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let n = pending.entry(ip).or_insert(0);
            if *n >= self.cfg.max_pending_per_ip {
                drop(pending);
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                incoming.refuse();
                return;
            }
            *n += 1;
        }
        let pending = Pending {
            node: self.clone(),
            ip,
        };
        tokio::spawn(connection::serve(self.clone(), incoming, pending));
    }

    /// Bans close connections at once; notifications are pushed to connected users.
    async fn listen_bus(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut rx = self.app.bus.subscribe();
        loop {
            let event = tokio::select! {
                _ = stop.changed() => return,
                e = rx.recv() => e,
            };
            match event {
                Ok(Event::Banned { user_id, reason }) => {
                    for p in self.peers_where(|p| p.user_id == user_id) {
                        close_banned(&p, &reason);
                    }
                }
                Ok(Event::SessionRevoked { user_id, token_id }) => {
                    for p in self.peers_where(|p| p.user_id == user_id && p.token_id == token_id) {
                        p.close(Code::Unauthenticated, "session logged out");
                    }
                }
                Ok(Event::Notification {
                    game_id,
                    user_id,
                    notification,
                }) => {
                    let msg = ServerMsg::Notification {
                        game_id: game_id.to_string(),
                        notification,
                    };
                    for p in self.peers_where(|p| p.user_id == user_id && p.game == game_id) {
                        p.send(&msg);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "realtime fell behind the event bus");
                    // A missed event may have been a ban: look every connected user up.
                    let closed = self.sweep_bans();
                    if closed > 0 {
                        tracing::info!(closed, "banned connections closed after a lag");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Closes every connection whose user has an active ban; returns how many.
    fn sweep_bans(&self) -> usize {
        let peers = self.peers_where(|_| true);
        let mut checked: HashMap<UserId, Option<String>> = HashMap::new();
        let mut closed = 0;
        for p in peers {
            let ban = checked.entry(p.user_id).or_insert_with(|| {
                match self.app.auth.active_ban(p.user_id) {
                    Ok(b) => b.map(|b| b.reason),
                    Err(e) => {
                        tracing::warn!(error = %e, user = %p.user_id, "ban not checked");
                        None
                    }
                }
            });
            if let Some(reason) = ban {
                close_banned(&p, reason);
                closed += 1;
            }
        }
        closed
    }

    async fn sweep_tickets(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut every = tokio::time::interval(Duration::from_secs(10));
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = every.tick() => {
                    let now = crate::time::now_ms();
                    self.tickets
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .retain(|_, (_, t)| t.expires_at > now);
                    // Keyed limiters never forget a key on their own.
                    self.chat_users.retain_recent();
                    self.chat_users.shrink_to_fit();
                    self.global_chat.retain_recent();
                    self.global_chat.shrink_to_fit();
                }
            }
        }
    }

    fn peers_where(&self, f: impl Fn(&Peer) -> bool) -> Vec<Arc<Peer>> {
        self.peers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|p| f(p))
            .cloned()
            .collect()
    }

    pub(crate) fn next_peer_id(&self) -> u64 {
        self.next_peer.fetch_add(1, Ordering::Relaxed)
    }

    /// Admits an authenticated connection under the node's and its user's caps, and queues
    /// `welcome` while no event can reach the peer yet (so it is the first frame).
    pub(crate) fn add_peer(&self, p: Arc<Peer>, welcome: &ServerMsg) -> Result<(), (Code, String)> {
        let mut peers = self.peers.write().unwrap_or_else(|p| p.into_inner());
        if peers.len() >= self.cfg.max_connections {
            return Err((
                Code::ServerFull,
                "the server is at its connection cap".into(),
            ));
        }
        let cap = self.cfg.max_connections_per_user;
        let mine = peers.values().filter(|x| x.user_id == p.user_id).count();
        if mine >= cap {
            return Err((
                Code::Refused,
                format!("you already have {mine} live connections (at most {cap})"),
            ));
        }
        p.send(welcome);
        peers.insert(p.id, p);
        Ok(())
    }

    /// A chat line from `user`: `Err` when over the user's budget (all connections), or,
    /// for global chat, over the game's.
    pub(crate) fn chat_budget(
        &self,
        user: UserId,
        game: GameId,
        global: bool,
    ) -> Result<(), &'static str> {
        if self.chat_users.check_key(&user).is_err() {
            return Err("too many chat lines: slow down");
        }
        if global && self.global_chat.check_key(&game).is_err() {
            return Err("global chat of this game is busy: try again in a moment");
        }
        Ok(())
    }

    pub(crate) fn remove_peer(&self, id: u64) {
        self.peers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    pub(crate) fn connections(&self) -> usize {
        self.peers.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Sends a frame to everyone connected to `game` (encoded once).
    pub(crate) fn broadcast(&self, game: GameId, msg: &ServerMsg) {
        let frame = match protocol::encode_frame(msg) {
            Ok(f) => bytes::Bytes::from(f),
            Err(e) => {
                tracing::error!(error = %e, "frame not encoded");
                return;
            }
        };
        for p in self.peers_where(|p| p.game == game) {
            p.send_frame(frame.clone());
        }
    }

    pub(crate) fn entry(&self, game: GameId, match_id: &str) -> Option<Arc<MatchEntry>> {
        self.matches
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(match_id)
            .filter(|e| e.game == game)
            .cloned()
    }

    pub(crate) fn remove_match(&self, match_id: &str) {
        self.matches
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(match_id);
    }

    /// Starts a match of a known mode; a private one comes with its join code.
    pub(crate) fn create_match(
        &self,
        new: &NewMatch,
        access: Access,
    ) -> Result<(LiveMatch, Option<String>), DirectoryError> {
        let Some(me) = self.arc() else {
            return Err(DirectoryError::Unavailable("realtime is stopping".into()));
        };
        if !MODES.contains(&new.mode.as_str()) {
            return Err(DirectoryError::Invalid(format!(
                "mode: `{}` is not a mode (known: {})",
                new.mode,
                MODES.join(", ")
            )));
        }
        if new.label.chars().count() > 64 || new.label.chars().any(char::is_control) {
            return Err(DirectoryError::Invalid(
                "label must be at most 64 characters without control characters".into(),
            ));
        }
        if !matches!(
            new.params,
            serde_json::Value::Object(_) | serde_json::Value::Null
        ) {
            return Err(DirectoryError::Invalid("params must be an object".into()));
        }
        // Checked and inserted under one lock, so concurrent creates cannot pass a cap.
        let mut live = self.matches.write().unwrap_or_else(|p| p.into_inner());
        if live.len() >= self.cfg.max_matches {
            return Err(DirectoryError::Unavailable(
                "this node runs as many matches as it may".into(),
            ));
        }
        if let Some(user) = new.creator {
            let cap = self.cfg.max_matches_per_user;
            let mine = live.values().filter(|e| e.creator == Some(user)).count();
            if mine >= cap {
                return Err(DirectoryError::Refused(format!(
                    "you already run {mine} live matches you created (at most {cap}): \
                     join one or wait for one to end"
                )));
            }
        }
        let creator_ip = access.creator_ip.map(per_network);
        if let Some(ip) = creator_ip {
            let cap = self.cfg.max_matches_per_ip;
            let from_ip = live.values().filter(|e| e.creator_ip() == Some(ip)).count();
            if from_ip >= cap {
                return Err(DirectoryError::Refused(format!(
                    "{from_ip} live matches were created from your address (at most {cap}): \
                     join one or wait for one to end"
                )));
            }
        }
        let join_code = new.private.then(|| {
            let mut raw = [0u8; 12];
            rand::Rng::fill(&mut rand::thread_rng(), &mut raw);
            URL_SAFE_NO_PAD.encode(raw)
        });
        let mut invited: std::collections::HashSet<UserId> = access.invited.into_iter().collect();
        invited.extend(new.creator);
        let access = room::Admission {
            creator_ip,
            invited: Mutex::new(invited),
            join_code: join_code.clone(),
            player_made: new.creator.is_some() || access.player_made,
        };
        let params = MatchParams {
            match_id: uuid::Uuid::new_v4().to_string(),
            mode: new.mode.clone(),
            label: new.label.clone(),
            params: new.params.clone(),
            default_tick_hz: self.cfg.tick_hz,
        };
        let handle = self.next_handle.fetch_add(1, Ordering::Relaxed);
        let entry = match new.mode.as_str() {
            "arena" => room::spawn(me, self.arena.clone(), new, access, params, handle),
            _ => room::spawn(me, self.relay.clone(), new, access, params, handle),
        }
        .map_err(DirectoryError::Invalid)?;
        let summary = entry.live();
        live.insert(entry.id.clone(), entry);
        Ok((summary, join_code))
    }

    /// Spends a ticket: it must be unexpired and for this user, game and match. A ticket
    /// presented by anyone else, or for another match, stays for its owner.
    pub(crate) fn redeem(
        &self,
        ticket: &str,
        game: GameId,
        match_id: &str,
        user: UserId,
    ) -> Result<(), (Code, String)> {
        let mut tickets = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        let Some((g, t)) = tickets.get(ticket) else {
            return Err((Code::NotFound, "unknown ticket (tickets work once)".into()));
        };
        if *g != game || t.match_id != match_id || t.user_id != user {
            return Err((
                Code::Refused,
                "the ticket is for another player or match".into(),
            ));
        }
        let expired = t.expires_at <= crate::time::now_ms();
        tickets.remove(ticket);
        if expired {
            return Err((Code::Refused, "the ticket has expired".into()));
        }
        Ok(())
    }

    fn issue_ticket(&self, game: GameId, entry: &MatchEntry, user: UserId) -> Ticket {
        let mut raw = [0u8; 24];
        rand::Rng::fill(&mut rand::thread_rng(), &mut raw);
        let t = Ticket {
            ticket: URL_SAFE_NO_PAD.encode(raw),
            match_id: entry.id.clone(),
            user_id: user,
            expires_at: crate::time::now_ms() + self.cfg.ticket_ttl_secs as i64 * 1000,
        };
        self.tickets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(t.ticket.clone(), (game, t.clone()));
        t
    }

    fn open_entry(&self, game: GameId, match_id: &str) -> Result<Arc<MatchEntry>, DirectoryError> {
        let entry = self.entry(game, match_id).ok_or_else(|| {
            DirectoryError::NotFound(format!("match_id: no live match {match_id}"))
        })?;
        if !entry.has_room() {
            return Err(DirectoryError::Refused(
                "the match is full or has ended".into(),
            ));
        }
        Ok(entry)
    }

    fn presences_where(
        &self,
        game: GameId,
        users: &[UserId],
        shown: impl Fn(&MatchEntry) -> bool,
    ) -> Vec<OnlinePresence> {
        let mut by_user: BTreeMap<UserId, OnlinePresence> = BTreeMap::new();
        for p in
            self.peers_where(|p| p.game == game && (users.is_empty() || users.contains(&p.user_id)))
        {
            let e = by_user.entry(p.user_id).or_insert_with(|| OnlinePresence {
                user_id: p.user_id,
                username: p.username.clone(),
                sessions: 0,
                match_ids: Vec::new(),
                online_since: p.connected_at,
            });
            e.sessions += 1;
            e.online_since = e.online_since.min(p.connected_at);
            for m in p.matches() {
                if shown(&m) && !e.match_ids.contains(&m.id) {
                    e.match_ids.push(m.id.clone());
                }
            }
        }
        by_user.into_values().collect()
    }
}

/// Tells a banned user's connection why (an `error` frame, delivered before the close) and
/// closes it with `BANNED`.
pub(crate) fn close_banned(p: &Peer, reason: &str) {
    p.end(Code::Banned, &format!("account banned: {reason}"));
}

impl MatchDirectory for Node {
    fn create_with(
        &self,
        new: NewMatch,
        access: Access,
    ) -> Result<(LiveMatch, Option<String>), DirectoryError> {
        self.create_match(&new, access)
    }

    fn find(&self, game: GameId, match_id: &str) -> Option<LiveMatch> {
        self.entry(game, match_id).map(|e| e.live())
    }

    fn list(
        &self,
        game: GameId,
        mode: Option<&str>,
        label: Option<&str>,
        limit: usize,
    ) -> Vec<LiveMatch> {
        let mut v: Vec<LiveMatch> = self
            .matches
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|e| {
                e.game == game
                    && !e.private
                    && e.has_room()
                    && mode.is_none_or(|m| m == e.mode)
                    && label.is_none_or(|l| l == e.label)
            })
            .map(|e| e.live())
            .collect();
        v.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(a.match_id.cmp(&b.match_id))
        });
        v.truncate(limit);
        v
    }

    fn ticket(
        &self,
        game: GameId,
        match_id: &str,
        user: UserId,
        team: Option<usize>,
    ) -> Result<Ticket, DirectoryError> {
        let entry = self.open_entry(game, match_id)?;
        let mut teams = entry.seat_teams.lock().unwrap_or_else(|p| p.into_inner());
        match team {
            Some(t) => teams.insert(user, t),
            None => teams.remove(&user),
        };
        drop(teams);
        entry
            .admission
            .invited
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user);
        Ok(self.issue_ticket(game, &entry, user))
    }

    fn release_seat(&self, game: GameId, match_id: &str, user: UserId) {
        self.tickets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (g, t)| !(*g == game && t.match_id == match_id && t.user_id == user));
        let Some(entry) = self.entry(game, match_id) else {
            return;
        };
        let inside = self
            .peers_where(|p| p.user_id == user && p.game == game)
            .iter()
            .any(|p| p.matches().iter().any(|m| m.id == match_id));
        if inside {
            return;
        }
        entry
            .seat_teams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&user);
        entry
            .admission
            .invited
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&user);
    }

    fn ticket_for_player(
        &self,
        game: GameId,
        match_id: &str,
        user: UserId,
        join_code: Option<&str>,
    ) -> Result<Ticket, DirectoryError> {
        let entry = self.open_entry(game, match_id)?;
        if entry.private && !entry.admits(user, join_code) {
            return Err(DirectoryError::Refused(
                "this room is private: you need an invitation or its join_code".into(),
            ));
        }
        Ok(self.issue_ticket(game, &entry, user))
    }

    fn presences(&self, game: GameId, users: &[UserId]) -> Vec<OnlinePresence> {
        self.presences_where(game, users, |_| true)
    }

    fn presences_seen_by(
        &self,
        game: GameId,
        users: &[UserId],
        viewer: UserId,
    ) -> Vec<OnlinePresence> {
        let mine: Vec<String> = self
            .peers_where(|p| p.user_id == viewer && p.game == game)
            .iter()
            .flat_map(|p| p.matches())
            .map(|m| m.id.clone())
            .collect();
        self.presences_where(game, users, |m| !m.private || mine.contains(&m.id))
    }

    fn all(&self, game: GameId, limit: usize) -> Vec<(LiveMatch, Vec<MatchPlayer>)> {
        let mut players: HashMap<String, Vec<MatchPlayer>> = HashMap::new();
        for p in self.peers_where(|p| p.game == game) {
            for m in p.matches() {
                let list = players.entry(m.id.clone()).or_default();
                if !list.iter().any(|x| x.user_id == p.user_id) {
                    list.push(MatchPlayer {
                        user_id: p.user_id,
                        username: p.username.clone(),
                    });
                }
            }
        }
        let mut v: Vec<LiveMatch> = self
            .matches
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|e| e.game == game)
            .map(|e| e.live())
            .collect();
        v.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(a.match_id.cmp(&b.match_id))
        });
        v.truncate(limit);
        v.into_iter()
            .map(|m| {
                let mut who = players.remove(&m.match_id).unwrap_or_default();
                who.sort_by(|a, b| a.username.cmp(&b.username));
                (m, who)
            })
            .collect()
    }

    fn end(
        &self,
        game: GameId,
        match_id: &str,
        reason: &str,
    ) -> Result<(LiveMatch, tokio::sync::oneshot::Receiver<()>), DirectoryError> {
        let entry = self.entry(game, match_id).ok_or_else(|| {
            DirectoryError::NotFound(format!("match_id: no live match {match_id}"))
        })?;
        let (done, closed) = tokio::sync::oneshot::channel();
        entry
            .tx
            .try_send(Command::End {
                reason: reason.to_string(),
                done,
            })
            .map_err(|e| match e {
                tokio::sync::mpsc::error::TrySendError::Full(_) => DirectoryError::Unavailable(
                    "the match is too busy to take the order: try again".into(),
                ),
                tokio::sync::mpsc::error::TrySendError::Closed(_) => {
                    DirectoryError::NotFound(format!("match_id: match {match_id} has ended"))
                }
            })?;
        // Takes no one else in while it closes.
        entry.open.store(false, Ordering::Relaxed);
        Ok((entry.live(), closed))
    }

    fn endpoint(&self) -> Endpoint {
        self.endpoint.clone()
    }

    fn stats(&self, reset: bool) -> RealtimeStats {
        let matches = self.matches.read().unwrap_or_else(|p| p.into_inner()).len();
        let pending: usize = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .sum();
        let s = self
            .stats
            .snapshot(self.connections() as u64, pending as u64, matches as u64);
        if reset {
            self.stats.reset();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credential;
    use crate::client::quic::QuicClient;
    use crate::client::Trust;

    /// A ban whose event is pushed out of the bus before realtime reads it still closes the
    /// banned user's connection: on `Lagged` every connected user's ban is looked up.
    /// (The test runtime has one thread, so nothing runs between the ban and the flood.)
    #[tokio::test]
    async fn a_ban_lost_to_a_lagging_bus_still_closes_the_connection() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = crate::config::Config::default();
        cfg.server.data_dir = dir.path().join("data");
        cfg.tls.cert_dir = dir.path().join("certs");
        let store = crate::store::Store::open(&cfg.server.data_dir, 100).unwrap();
        let (secrets, _) = crate::auth::secrets::load_or_create(&cfg.server.data_dir).unwrap();
        let certs = Certs::load(&cfg.tls).unwrap();
        let app = App::new(cfg.clone(), store.clone(), secrets).unwrap();
        let game = store.create_game("g", Default::default()).unwrap().id;
        let (_stop_tx, stop) = watch::channel(false);
        let running = start(app.clone(), &certs, "127.0.0.1:0".parse().unwrap(), stop).unwrap();

        let who = app
            .auth
            .authenticate(
                Credential::Device("device-lagging-bus".into()),
                true,
                None,
                Default::default(),
            )
            .await
            .unwrap();
        let pem = std::fs::read(cfg.tls.cert_dir.join("cert.pem")).unwrap();
        let ep = crate::client::quic::endpoint(Trust::Pem(&pem)).unwrap();
        let c = QuicClient::connect(
            &ep,
            running.addr,
            "localhost",
            &who.session.token,
            &game.to_string(),
        )
        .await
        .unwrap();
        let node = app.matches.get().unwrap().clone();
        assert_eq!(node.stats(false).connections, 1);

        let user = who.account.id;
        app.auth
            .ban(user, None, "lost event", "test")
            .await
            .unwrap();
        // More events than the bus holds: the `Banned` one is overwritten before it is read.
        for _ in 0..5000 {
            app.bus.publish(Event::Notification {
                game_id: game,
                user_id: uuid::Uuid::nil(),
                notification: serde_json::Value::Null,
            });
        }
        let (code, reason) = c.closed(Duration::from_secs(10)).await.unwrap();
        assert_eq!(code, Some(Code::Banned.as_u16()));
        assert!(reason.contains("lost event"), "{reason}");
    }
}
