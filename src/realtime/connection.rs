//! One QUIC connection: the `hello` handshake on the control stream, then the frame loop,
//! the datagram loop and a writer draining the bounded send queue. Nothing a peer sends can
//! panic the server: every read is length-checked and every decode error closes the
//! connection with its code.

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::chat;
use super::peer::{Identity, Limits, Peer};
use super::protocol::{
    check_len, decode_body, encode_frame, Channel, ClientMsg, Code, DatagramHeader, ServerMsg,
    DATAGRAM_HEADER, PROTOCOL_VERSION, SUPPORTED_VERSIONS,
};
use super::room::{Command, Input, MessageKind};
use super::Node;
use super::Pending;
use crate::auth::AuthError;
use crate::features::matches::{Access, DirectoryError, NewMatch};
use crate::store::GameId;

const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
const JOIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Rate-limited frames in a row before the connection is closed.
const MAX_LIMITED_IN_A_ROW: u32 = 50;
/// Matches one connection may be in at once.
const MAX_MATCHES_PER_CONNECTION: usize = 8;
/// How long a closing connection waits for the client to acknowledge the frames queued
/// before the close (the `error` frame saying why, and replies before it).
const FLUSH_BEFORE_CLOSE: Duration = Duration::from_secs(2);

type Fatal = (Code, String);

enum ReadEnd {
    /// The peer finished the stream or the connection went away.
    Closed,
    Fail(Fatal),
}

async fn read_frame(recv: &mut quinn::RecvStream, max: usize) -> Result<Vec<u8>, ReadEnd> {
    let mut len = [0u8; 4];
    match recv.read_exact(&mut len).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(0)) => return Err(ReadEnd::Closed),
        Err(quinn::ReadExactError::FinishedEarly(_)) => {
            return Err(ReadEnd::Fail((
                Code::BadFrame,
                "truncated frame header".into(),
            )))
        }
        Err(quinn::ReadExactError::ReadError(_)) => return Err(ReadEnd::Closed),
    }
    let n = u32::from_be_bytes(len) as usize;
    check_len(n, max).map_err(|e| ReadEnd::Fail((e.code(), e.to_string())))?;
    let mut body = vec![0u8; n];
    match recv.read_exact(&mut body).await {
        Ok(()) => Ok(body),
        Err(quinn::ReadExactError::FinishedEarly(_)) => Err(ReadEnd::Fail((
            Code::BadFrame,
            "truncated frame body".into(),
        ))),
        Err(quinn::ReadExactError::ReadError(_)) => Err(ReadEnd::Closed),
    }
}

fn close(conn: &quinn::Connection, (code, msg): &Fatal) {
    conn.close(
        quinn::VarInt::from_u32(code.as_u16() as u32),
        msg.as_bytes(),
    );
}

/// Serves one incoming connection to its end. `pending` counts it against its address's
/// `max_pending_per_ip` until `hello` succeeds.
pub async fn serve(node: Arc<Node>, incoming: quinn::Incoming, pending: Pending) {
    let connecting = match incoming.accept() {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "QUIC connection not accepted");
            return;
        }
    };
    let conn = match tokio::time::timeout(HELLO_TIMEOUT, connecting).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "QUIC handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("QUIC handshake timed out");
            return;
        }
    };
    let (mut send, mut recv) = match tokio::time::timeout(HELLO_TIMEOUT, conn.accept_bi()).await {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => return,
        Err(_) => {
            close(
                &conn,
                &(Code::HelloTimeout, "no control stream in time".into()),
            );
            return;
        }
    };
    let who = match tokio::time::timeout(HELLO_TIMEOUT, hello(&node, &mut recv)).await {
        Ok(Ok(who)) => who,
        Ok(Err(ReadEnd::Closed)) => return,
        Ok(Err(ReadEnd::Fail(fatal))) => {
            refuse(&conn, &mut send, fatal).await;
            return;
        }
        Err(_) => {
            refuse(
                &conn,
                &mut send,
                (Code::HelloTimeout, "no hello in time".into()),
            )
            .await;
            return;
        }
    };
    run(node, conn, send, recv, who, pending).await;
}

/// Finishes the control stream and waits (bounded) until the client has acknowledged
/// everything written on it, so that a close right after does not discard it.
async fn flush(send: &mut quinn::SendStream) {
    if send.finish().is_ok() {
        let _ = tokio::time::timeout(FLUSH_BEFORE_CLOSE, send.stopped()).await;
    }
}

/// Tells the client why (an `error` frame, delivered before the close) and closes with the
/// code.
async fn refuse(conn: &quinn::Connection, send: &mut quinn::SendStream, fatal: Fatal) {
    let msg = ServerMsg::Error {
        rid: 0,
        code: fatal.0.as_u16(),
        message: fatal.1.clone(),
    };
    if let Ok(frame) = encode_frame(&msg) {
        let written = tokio::time::timeout(FLUSH_BEFORE_CLOSE, send.write_all(&frame)).await;
        if matches!(written, Ok(Ok(()))) {
            flush(send).await;
        }
    }
    close(conn, &fatal);
}

async fn hello(node: &Node, recv: &mut quinn::RecvStream) -> Result<Identity, ReadEnd> {
    let fail = |code: Code, m: String| ReadEnd::Fail((code, m));
    let body = read_frame(recv, node.cfg.max_frame_bytes).await?;
    let msg: ClientMsg = decode_body(&body).map_err(|e| fail(e.code(), e.to_string()))?;
    let ClientMsg::Hello {
        token,
        game_id,
        client_version,
    } = msg
    else {
        return Err(fail(Code::Protocol, "the first frame must be hello".into()));
    };
    if !SUPPORTED_VERSIONS.contains(&client_version) {
        return Err(fail(
            Code::UnsupportedVersion,
            format!(
                "unsupported client_version {client_version}: this server speaks {PROTOCOL_VERSION}"
            ),
        ));
    }
    let claims = node.app.auth.verify_session(&token).map_err(|e| match e {
        AuthError::Banned { .. } => fail(Code::Banned, e.to_string()),
        AuthError::Store(_) => fail(Code::Internal, "session could not be checked".into()),
        other => fail(Code::Unauthenticated, other.to_string()),
    })?;
    let user_id = uuid::Uuid::parse_str(&claims.uid)
        .map_err(|_| fail(Code::Unauthenticated, "token is malformed".into()))?;
    let game = GameId::from_str(&game_id).map_err(|m| fail(Code::NotFound, m))?;
    node.app
        .store
        .game(game)
        .map_err(|_| fail(Code::NotFound, format!("game {game_id} is not registered")))?;
    Ok(Identity {
        user_id,
        username: claims.usn,
        game,
        token_id: claims.tid,
    })
}

async fn run(
    node: Arc<Node>,
    conn: quinn::Connection,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    who: Identity,
    pending: Pending,
) {
    let cfg = &node.cfg;
    let (tx, mut rx) = mpsc::channel::<Bytes>(cfg.send_queue);
    let peer = Arc::new(Peer::new(
        node.next_peer_id(),
        who,
        conn.clone(),
        tx,
        node.stats.clone(),
        Limits {
            frames: (cfg.messages_per_sec, cfg.messages_burst),
            datagrams: (cfg.datagrams_per_sec, cfg.datagrams_burst),
        },
    ));
    let welcome = ServerMsg::Welcome {
        user_id: peer.user_id.to_string(),
        username: peer.username.clone(),
        session_id: peer.session_id.clone(),
        server_time: crate::time::now_ms(),
        protocol_version: PROTOCOL_VERSION,
        max_frame_bytes: cfg.max_frame_bytes as u32,
        idle_timeout_ms: cfg.idle_timeout_secs * 1000,
        keep_alive_ms: cfg.keep_alive_secs * 1000,
    };
    let ended = peer.on_end();
    // Counted against the caps only now that it is authenticated.
    if let Err(fatal) = node.add_peer(peer.clone(), &welcome) {
        drop(pending);
        refuse(&conn, &mut send, fatal).await;
        return;
    }
    drop(pending);
    // The writer drains the send queue; told to finish, it writes what is queued, finishes
    // the stream and waits for the client's acknowledgement, so a close after it loses
    // nothing (the `error` saying why arrives before the close).
    let (finish_tx, mut finish_rx) = oneshot::channel::<()>();
    let queued_at_most = cfg.send_queue;
    let mut writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                _ = &mut finish_rx => {
                    // What is queued now (bounded: matches may still be adding).
                    for _ in 0..queued_at_most {
                        let Ok(f) = rx.try_recv() else { break };
                        if send.write_all(&f).await.is_err() {
                            return;
                        }
                    }
                    flush(&mut send).await;
                    return;
                }
                frame = rx.recv() => match frame {
                    Some(f) => {
                        if send.write_all(&f).await.is_err() {
                            return;
                        }
                    }
                    None => return,
                },
            }
        }
    });
    // A ban stored after `hello` was checked but before the peer was findable published its
    // event to nobody: look again now that any later event will find this peer.
    let banned = match node.app.auth.active_ban(peer.user_id) {
        Ok(ban) => ban.map(|b| (Code::Banned, format!("account banned: {}", b.reason))),
        Err(e) => {
            tracing::warn!(error = %e, user = %peer.user_id, "ban not re-checked");
            None
        }
    };
    let datagrams = tokio::spawn(read_datagrams(node.clone(), peer.clone(), conn.clone()));
    let fatal = match banned {
        Some(b) => Some(b),
        None => tokio::select! {
            f = control(&node, &peer, &mut recv) => f,
            Ok(f) = ended => Some(f),
        },
    };
    if let Some(fatal) = fatal {
        peer.send(&ServerMsg::Error {
            rid: 0,
            code: fatal.0.as_u16(),
            message: fatal.1.clone(),
        });
        let _ = finish_tx.send(());
        let _ = tokio::time::timeout(FLUSH_BEFORE_CLOSE * 2, &mut writer).await;
        close(&conn, &fatal);
    }
    datagrams.abort();
    node.remove_peer(peer.id);
    for entry in peer.matches() {
        let cmd = Command::Leave {
            user_id: peer.user_id,
            rid: None,
        };
        tokio::spawn(async move {
            let _ = entry.tx.send(cmd).await;
        });
    }
    writer.abort();
}

async fn read_datagrams(node: Arc<Node>, peer: Arc<Peer>, conn: quinn::Connection) {
    while let Ok(d) = conn.read_datagram().await {
        node.stats.datagrams_in.fetch_add(1, Ordering::Relaxed);
        if peer.datagrams.check().is_err() {
            continue;
        }
        let Some((h, _)) = DatagramHeader::parse(&d) else {
            continue;
        };
        let Some(entry) = peer.by_handle(h.handle) else {
            continue;
        };
        // A full match queue drops the input rather than wait: inputs are loss-tolerant.
        let _ = entry.tx.try_send(Command::Input(Input {
            user_id: peer.user_id,
            slot: 0,
            seq: h.seq,
            op: h.op,
            payload: d.slice(DATAGRAM_HEADER..),
            at_ms: crate::time::now_ms(),
        }));
    }
}

/// The frame loop; returns why the connection must close, or `None` when the peer left.
async fn control(
    node: &Arc<Node>,
    peer: &Arc<Peer>,
    recv: &mut quinn::RecvStream,
) -> Option<Fatal> {
    let mut limited = 0u32;
    loop {
        let body = match read_frame(recv, node.cfg.max_frame_bytes).await {
            Ok(b) => b,
            Err(ReadEnd::Closed) => return None,
            Err(ReadEnd::Fail(f)) => return Some(f),
        };
        node.stats.frames_in.fetch_add(1, Ordering::Relaxed);
        if peer.frames.check().is_err() {
            limited += 1;
            // Refused in order, each with the request id it carried (if any).
            error(
                peer,
                request_id(&body),
                Code::RateLimited,
                "too many frames per second: frame dropped",
            );
            if limited >= MAX_LIMITED_IN_A_ROW {
                return Some((
                    Code::RateLimited,
                    format!("{MAX_LIMITED_IN_A_ROW} frames in a row over the rate limit"),
                ));
            }
            continue;
        }
        limited = 0;
        let msg: ClientMsg = match decode_body(&body) {
            Ok(m) => m,
            Err(e) => return Some((e.code(), e.to_string())),
        };
        if let Some(fatal) = handle(node, peer, msg).await {
            return Some(fatal);
        }
    }
}

/// The `rid` (or a ping's `id`) of a frame, for the `error` refusing it; 0 when it has none
/// or does not decode.
fn request_id(body: &[u8]) -> u32 {
    match decode_body::<ClientMsg>(body) {
        Ok(
            ClientMsg::MatchCreate { rid, .. }
            | ClientMsg::MatchJoin { rid, .. }
            | ClientMsg::MatchLeave { rid, .. }
            | ClientMsg::MatchList { rid, .. }
            | ClientMsg::Chat { rid, .. },
        ) => rid,
        Ok(ClientMsg::Ping { id, .. }) => id,
        _ => 0,
    }
}

fn error(peer: &Peer, rid: u32, code: Code, message: impl Into<String>) {
    peer.send(&ServerMsg::Error {
        rid,
        code: code.as_u16(),
        message: message.into(),
    });
}

fn too_many_matches(peer: &Peer, rid: u32) {
    error(
        peer,
        rid,
        Code::Refused,
        format!("at most {MAX_MATCHES_PER_CONNECTION} matches per connection"),
    );
}

fn directory_code(e: &DirectoryError) -> Code {
    match e {
        DirectoryError::NotFound(_) => Code::NotFound,
        DirectoryError::Invalid(_) => Code::InvalidArgument,
        DirectoryError::Refused(_) => Code::Refused,
        DirectoryError::Unavailable(_) => Code::Internal,
    }
}

async fn handle(node: &Arc<Node>, peer: &Arc<Peer>, msg: ClientMsg) -> Option<Fatal> {
    match msg {
        ClientMsg::Hello { .. } => {
            return Some((Code::Protocol, "hello was already received".into()));
        }
        ClientMsg::Ping { id, client_time } => {
            peer.send(&ServerMsg::Pong {
                id,
                client_time,
                server_time: crate::time::now_ms(),
            });
        }
        ClientMsg::MatchCreate {
            rid,
            mode,
            label,
            params,
        } => {
            // Checked before the match exists, so a refused create leaves nothing running.
            if peer.matches().len() >= MAX_MATCHES_PER_CONNECTION {
                too_many_matches(peer, rid);
                return None;
            }
            let created = node.create_match(
                &NewMatch {
                    game: peer.game,
                    mode,
                    label,
                    params,
                    private: false,
                    creator: Some(peer.user_id),
                },
                Access {
                    creator_ip: Some(peer.remote_ip()),
                    invited: Vec::new(),
                    player_made: true,
                },
            );
            match created {
                Ok((m, _)) => join(node, peer, rid, &m.match_id, None, true).await,
                Err(e) => error(peer, rid, directory_code(&e), e.to_string()),
            }
        }
        ClientMsg::MatchJoin {
            rid,
            match_id,
            ticket,
        } => join(node, peer, rid, &match_id, ticket.as_deref(), false).await,
        ClientMsg::MatchLeave { rid, match_id } => match peer.by_match_id(&match_id) {
            Some(entry) => {
                let leave = Command::Leave {
                    user_id: peer.user_id,
                    rid: Some(rid),
                };
                if entry.tx.send(leave).await.is_err() {
                    peer.exit(entry.handle);
                    error(peer, rid, Code::NotFound, "the match has ended");
                }
            }
            None => error(peer, rid, Code::NotFound, "you are not in that match"),
        },
        ClientMsg::MatchList {
            rid,
            mode,
            label,
            limit,
        } => {
            use crate::features::matches::MatchDirectory;
            let limit = limit.unwrap_or(20).clamp(1, 100) as usize;
            let matches = node
                .list(peer.game, mode.as_deref(), label.as_deref(), limit)
                .into_iter()
                .map(|m| super::protocol::MatchSummary {
                    match_id: m.match_id,
                    mode: m.mode,
                    label: m.label,
                    size: m.size,
                    max_size: m.max_size,
                    tick_rate: m.tick_rate,
                    created_at: m.created_at,
                    map: m.map,
                    kill_limit: m.kill_limit,
                    time_limit_secs: m.time_limit_secs,
                })
                .collect();
            peer.send(&ServerMsg::MatchList { rid, matches });
        }
        ClientMsg::MatchData {
            match_id,
            op,
            data,
            to,
        } => {
            // Relayed to every other player: a cap keeps one sender from multiplying
            // megabytes into everyone's send queue.
            let max = node.cfg.max_relay_bytes;
            if data.len() > max {
                error(
                    peer,
                    0,
                    Code::InvalidArgument,
                    format!(
                        "data: {} bytes is over the {max}-byte match_data limit: message dropped",
                        data.len()
                    ),
                );
                return None;
            }
            let mut targets = Vec::with_capacity(to.len());
            for t in &to {
                match uuid::Uuid::parse_str(t) {
                    Ok(u) => targets.push(u),
                    Err(_) => {
                        error(
                            peer,
                            0,
                            Code::InvalidArgument,
                            format!("to: `{t}` is not a user id"),
                        );
                        return None;
                    }
                }
            }
            to_match(
                peer,
                &match_id,
                MessageKind::Data {
                    op,
                    data,
                    to: targets,
                },
            );
        }
        ClientMsg::Vote { match_id, option } => {
            to_match(peer, &match_id, MessageKind::Vote { option });
        }
        ClientMsg::Chat {
            rid,
            channel,
            match_id,
            text,
        } => chat(node, peer, rid, channel, match_id, &text),
    }
    None
}

fn to_match(peer: &Peer, match_id: &str, kind: MessageKind) {
    match peer.by_match_id(match_id) {
        Some(entry) => {
            let _ = entry.tx.try_send(Command::Message {
                user_id: peer.user_id,
                kind,
            });
        }
        None => error(peer, 0, Code::NotFound, "you are not in that match"),
    }
}

fn chat(
    node: &Node,
    peer: &Peer,
    rid: u32,
    channel: Channel,
    match_id: Option<String>,
    text: &str,
) {
    if let Err(m) = chat::check_line(text, node.cfg.chat_max_chars) {
        return error(peer, rid, Code::InvalidArgument, m);
    }
    if let Err(m) = node.chat_budget(peer.user_id, peer.game, channel == Channel::Global) {
        return error(peer, rid, Code::RateLimited, m);
    }
    let (text, filtered) = node.profanity.filter(text);
    let msg = |match_id: Option<String>| ServerMsg::Chat {
        channel,
        match_id,
        from: peer.user_id.to_string(),
        username: peer.username.clone(),
        text: text.clone(),
        filtered,
        time: crate::time::now_ms(),
    };
    match channel {
        Channel::Global => node.broadcast(peer.game, &msg(None)),
        Channel::Match => {
            let entry = match_id.as_deref().and_then(|id| peer.by_match_id(id));
            match entry {
                Some(e) => {
                    let _ = e.tx.try_send(Command::Chat(msg(Some(e.id.clone()))));
                }
                None => error(
                    peer,
                    rid,
                    Code::NotFound,
                    "match chat needs the match_id of a match you are in",
                ),
            }
        }
    }
}

async fn join(
    node: &Arc<Node>,
    peer: &Arc<Peer>,
    rid: u32,
    match_id: &str,
    ticket: Option<&str>,
    created: bool,
) {
    let Some(entry) = node.entry(peer.game, match_id) else {
        return error(
            peer,
            rid,
            Code::NotFound,
            format!("no live match {match_id}"),
        );
    };
    if peer.matches().len() >= MAX_MATCHES_PER_CONNECTION {
        return too_many_matches(peer, rid);
    }
    match ticket {
        Some(t) => {
            if let Err((code, m)) = node.redeem(t, peer.game, match_id, peer.user_id) {
                return error(peer, rid, code, m);
            }
        }
        None if entry.private && !created => {
            return error(
                peer,
                rid,
                Code::Refused,
                "a private room needs a ticket from room_join",
            );
        }
        None => {}
    }
    let (reply, answer) = oneshot::channel();
    let cmd = Command::Join {
        peer: peer.clone(),
        rid,
        reply,
    };
    if entry.tx.send(cmd).await.is_err() {
        return error(peer, rid, Code::NotFound, "the match has ended");
    }
    match tokio::time::timeout(JOIN_TIMEOUT, answer).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err((code, m)))) => error(peer, rid, code, m),
        Ok(Err(_)) => error(peer, rid, Code::NotFound, "the match has ended"),
        Err(_) => error(
            peer,
            rid,
            Code::Internal,
            "the match did not answer in time",
        ),
    }
}
