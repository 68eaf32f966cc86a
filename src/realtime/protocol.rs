//! The wire protocol of `docs/PROTOCOL.md`: control-stream frames (u32 big-endian length +
//! MessagePack of a tagged map), the datagram header, error/close codes, and the arena
//! mode's binary input/state payloads. Shared by the server and `crate::client::quic`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The ALPN protocol id both sides must offer.
pub const ALPN: &[u8] = b"outpost/1";
/// The protocol version this build speaks (`client_version` in `hello`).
pub const PROTOCOL_VERSION: u32 = 1;
/// Every protocol version this server accepts.
pub const SUPPORTED_VERSIONS: &[u32] = &[1];
/// Bytes of the frame length prefix.
pub const FRAME_HEADER: usize = 4;
/// Bytes of the datagram header.
pub const DATAGRAM_HEADER: usize = 10;

/// Error codes, used in `error` frames and as QUIC application close codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Code {
    /// Closed on purpose, nothing wrong.
    Normal = 0,
    /// A frame that is not valid MessagePack of a known shape.
    BadFrame = 1,
    /// A frame whose `t` names no message.
    UnknownMessage = 2,
    /// A frame longer than the server's `max_frame_bytes`.
    FrameTooLarge = 3,
    /// `client_version` is not supported.
    UnsupportedVersion = 4,
    /// Missing, bad, expired or revoked session token.
    Unauthenticated = 5,
    /// The account is banned.
    Banned = 6,
    /// Unknown game, match or ticket.
    NotFound = 7,
    /// The match refused the join (full, ended, private without ticket, wrong game).
    Refused = 8,
    /// A field is missing or out of range.
    InvalidArgument = 9,
    /// Too many frames (or chat lines) per second.
    RateLimited = 10,
    /// The client read too slowly: its send queue filled up.
    SlowConsumer = 11,
    /// Removed from a match (repeated anti-cheat violations).
    Kicked = 12,
    /// The server is at its connection cap.
    ServerFull = 13,
    /// The server is shutting down.
    ShuttingDown = 14,
    /// No `hello` within the allowed time.
    HelloTimeout = 15,
    /// Something failed on the server.
    Internal = 16,
    /// A frame out of order (anything before `hello`, or a second `hello`).
    Protocol = 17,
}

impl Code {
    pub fn as_u16(self) -> u16 {
        self as u16
    }

    pub fn from_u16(n: u16) -> Option<Code> {
        use Code::*;
        [
            Normal,
            BadFrame,
            UnknownMessage,
            FrameTooLarge,
            UnsupportedVersion,
            Unauthenticated,
            Banned,
            NotFound,
            Refused,
            InvalidArgument,
            RateLimited,
            SlowConsumer,
            Kicked,
            ServerFull,
            ShuttingDown,
            HelloTimeout,
            Internal,
            Protocol,
        ]
        .into_iter()
        .find(|c| c.as_u16() == n)
    }
}

/// Which chat channel a line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Everyone in one match.
    Match,
    /// Everyone connected to the same game.
    Global,
}

/// Frames a client sends on the control stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ClientMsg {
    Hello {
        token: String,
        game_id: String,
        client_version: u32,
    },
    Ping {
        #[serde(default)]
        id: u32,
        #[serde(default)]
        client_time: i64,
    },
    MatchCreate {
        #[serde(default)]
        rid: u32,
        mode: String,
        #[serde(default)]
        label: String,
        #[serde(default)]
        params: serde_json::Value,
    },
    MatchJoin {
        #[serde(default)]
        rid: u32,
        match_id: String,
        #[serde(default)]
        ticket: Option<String>,
    },
    MatchLeave {
        #[serde(default)]
        rid: u32,
        match_id: String,
    },
    MatchList {
        #[serde(default)]
        rid: u32,
        #[serde(default)]
        mode: Option<String>,
        #[serde(default)]
        label: Option<String>,
        #[serde(default)]
        limit: Option<u32>,
    },
    MatchData {
        match_id: String,
        op: u16,
        #[serde(with = "serde_bytes", default)]
        data: Vec<u8>,
        /// User ids to deliver to; empty: everyone else in the match.
        #[serde(default)]
        to: Vec<String>,
    },
    Vote {
        match_id: String,
        option: String,
    },
    Chat {
        #[serde(default)]
        rid: u32,
        channel: Channel,
        #[serde(default)]
        match_id: Option<String>,
        text: String,
    },
}

/// A player in a match, as the wire shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceView {
    pub user_id: String,
    pub username: String,
    pub session_id: String,
    /// The player's index in this match's binary state (0..max players).
    pub slot: u8,
    /// Team (arena: `red` / `blue`); absent in modes without teams.
    #[serde(default)]
    pub team: Option<String>,
}

/// A listed match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchSummary {
    pub match_id: String,
    pub mode: String,
    pub label: String,
    pub size: u32,
    pub max_size: u32,
    pub tick_rate: u32,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Arena: the map, kill limit and time limit; absent in modes without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_secs: Option<u32>,
}

/// One player's line on the final scoreboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreLine {
    pub user_id: String,
    pub username: String,
    pub team: String,
    pub kills: u32,
    pub deaths: u32,
    pub score: i64,
}

/// How a match ended, as broadcast in `match_end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scoreboard {
    /// Winning team, or absent on a draw.
    #[serde(default)]
    pub winner: Option<String>,
    /// `kill_limit`, `time_limit` or `abandoned`.
    pub reason: String,
    pub team_scores: BTreeMap<String, u32>,
    pub duration_ms: u64,
    pub players: Vec<ScoreLine>,
}

/// Frames the server sends on the control stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome {
        user_id: String,
        username: String,
        session_id: String,
        /// Unix milliseconds.
        server_time: i64,
        protocol_version: u32,
        max_frame_bytes: u32,
        idle_timeout_ms: u64,
        keep_alive_ms: u64,
    },
    Pong {
        id: u32,
        client_time: i64,
        server_time: i64,
    },
    Error {
        rid: u32,
        code: u16,
        message: String,
    },
    MatchJoined {
        rid: u32,
        match_id: String,
        /// Put this in the datagram header for this match.
        handle: u32,
        mode: String,
        label: String,
        tick_rate: u32,
        /// Most players the match takes.
        #[serde(default)]
        max_size: u32,
        /// Arena: the map, kill limit and time limit; absent in modes without them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        map: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kill_limit: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time_limit_secs: Option<u32>,
        you: PresenceView,
        presences: Vec<PresenceView>,
    },
    MatchLeft {
        rid: u32,
        match_id: String,
        code: u16,
        reason: String,
    },
    MatchList {
        rid: u32,
        matches: Vec<MatchSummary>,
    },
    MatchPresence {
        match_id: String,
        joins: Vec<PresenceView>,
        leaves: Vec<PresenceView>,
    },
    MatchData {
        match_id: String,
        op: u16,
        #[serde(with = "serde_bytes", default)]
        data: Vec<u8>,
        /// Sender's user id; absent when the match itself sent it.
        #[serde(default)]
        from: Option<String>,
    },
    MatchEnd {
        match_id: String,
        scoreboard: Scoreboard,
        vote_options: Vec<String>,
        vote_secs: u32,
    },
    VoteResult {
        match_id: String,
        option: String,
        tally: BTreeMap<String, u32>,
        #[serde(default)]
        next_match_id: Option<String>,
    },
    Chat {
        channel: Channel,
        #[serde(default)]
        match_id: Option<String>,
        from: String,
        username: String,
        text: String,
        filtered: bool,
        /// Unix milliseconds.
        time: i64,
    },
    Notification {
        game_id: String,
        notification: serde_json::Value,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("unknown message: {0}")]
    Unknown(String),
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("cannot encode: {0}")]
    Encode(String),
}

impl ProtocolError {
    pub fn code(&self) -> Code {
        match self {
            ProtocolError::TooLarge { .. } => Code::FrameTooLarge,
            ProtocolError::Unknown(_) => Code::UnknownMessage,
            ProtocolError::Malformed(_) => Code::BadFrame,
            ProtocolError::Encode(_) => Code::Internal,
        }
    }
}

/// One frame: 4-byte big-endian body length, then the MessagePack body (maps with field
/// names).
pub fn encode_frame<T: Serialize>(msg: &T) -> Result<Vec<u8>, ProtocolError> {
    let mut out = vec![0u8; FRAME_HEADER];
    rmp_serde::encode::write_named(&mut out, msg)
        .map_err(|e| ProtocolError::Encode(e.to_string()))?;
    let len = (out.len() - FRAME_HEADER) as u32;
    out[..FRAME_HEADER].copy_from_slice(&len.to_be_bytes());
    Ok(out)
}

/// The one thing every frame body must be: a MessagePack map with string keys whose `t` is a
/// string. serde's tagged enums would also take an array (`["ping", 1]`) or an integer tag
/// (`{"t": 1}` as the variant's index); this check refuses both before the typed decode.
struct FrameHead;

impl<'de> serde::de::Visitor<'de> for FrameHead {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a map with a string `t`")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut tagged = false;
        while let Some(key) = map.next_key::<StrKey>()? {
            if key.0 == "t" {
                if tagged {
                    return Err(serde::de::Error::duplicate_field("t"));
                }
                map.next_value::<StrKey>().map_err(|_| {
                    serde::de::Error::custom("`t` must be a string naming the message")
                })?;
                tagged = true;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        if !tagged {
            return Err(serde::de::Error::missing_field("t"));
        }
        Ok(())
    }
}

/// A string and nothing else (no bytes, no numbers).
struct StrKey(String);

impl<'de> Deserialize<'de> for StrKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = StrKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StrKey, E> {
                Ok(StrKey(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// Checks that `body` is a map with a string `t` (see [`FrameHead`]).
fn check_head(body: &[u8]) -> Result<(), ProtocolError> {
    let mut d = rmp_serde::Deserializer::from_read_ref(body);
    serde::Deserializer::deserialize_map(&mut d, FrameHead)
        .map_err(|e: rmp_serde::decode::Error| ProtocolError::Malformed(e.to_string()))
}

/// Decodes a frame body (without its length prefix): a map with a string `t` naming the
/// message, its fields of the right types (unknown extra keys are ignored).
pub fn decode_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ProtocolError> {
    check_head(body)?;
    rmp_serde::from_slice(body).map_err(|e| {
        let text = e.to_string();
        if text.contains("unknown variant") {
            ProtocolError::Unknown(text)
        } else {
            ProtocolError::Malformed(text)
        }
    })
}

/// Checks a frame length against the limit.
pub fn check_len(len: usize, max: usize) -> Result<(), ProtocolError> {
    if len > max {
        return Err(ProtocolError::TooLarge { len, max });
    }
    Ok(())
}

/// The 10-byte header of every datagram: match handle, sequence number, opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatagramHeader {
    pub handle: u32,
    pub seq: u32,
    pub op: u16,
}

impl DatagramHeader {
    /// Header followed by `payload`.
    pub fn encode(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(DATAGRAM_HEADER + payload.len());
        out.extend_from_slice(&self.handle.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.op.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// Splits a datagram into its header and payload; `None` when shorter than a header.
    pub fn parse(bytes: &[u8]) -> Option<(DatagramHeader, &[u8])> {
        if bytes.len() < DATAGRAM_HEADER {
            return None;
        }
        let (h, rest) = bytes.split_at(DATAGRAM_HEADER);
        Some((
            DatagramHeader {
                handle: u32::from_be_bytes([h[0], h[1], h[2], h[3]]),
                seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                op: u16::from_be_bytes([h[8], h[9]]),
            },
            rest,
        ))
    }
}

/// Arena opcodes (datagrams).
pub mod arena_op {
    /// Client → server: one [`super::ArenaInput`].
    pub const INPUT: u16 = 1;
    /// Server → client: one [`super::ArenaState`].
    pub const STATE: u16 = 1;
}

/// A reader over big-endian binary payloads that never panics.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        if self.0.len() < N {
            return None;
        }
        let (a, b) = self.0.split_at(N);
        self.0 = b;
        a.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_be_bytes)
    }
    fn f32(&mut self) -> Option<f32> {
        self.take().map(f32::from_be_bytes)
    }
}

/// Arena input (21 bytes): where the player is, where they aim, whether they fire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArenaInput {
    /// Client clock, Unix milliseconds.
    pub timestamp_ms: i64,
    pub x: f32,
    pub y: f32,
    /// Aim direction in radians (0 = +x, π/2 = +y).
    pub aim: f32,
    pub fire: bool,
}

impl ArenaInput {
    pub const LEN: usize = 21;

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out.extend_from_slice(&self.x.to_be_bytes());
        out.extend_from_slice(&self.y.to_be_bytes());
        out.extend_from_slice(&self.aim.to_be_bytes());
        out.push(u8::from(self.fire));
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<ArenaInput> {
        if bytes.len() != Self::LEN {
            return None;
        }
        let mut c = Cursor(bytes);
        Some(ArenaInput {
            timestamp_ms: c.i64()?,
            x: c.f32()?,
            y: c.f32()?,
            aim: c.f32()?,
            fire: c.u8()? & 1 == 1,
        })
    }
}

/// One player in an arena state datagram (23 bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArenaPlayer {
    pub slot: u8,
    /// 0 red, 1 blue.
    pub team: u8,
    /// 0 while dead.
    pub health: u8,
    pub x: f32,
    pub y: f32,
    pub aim: f32,
    pub kills: u16,
    pub deaths: u16,
    /// The last input sequence number the server accepted from this player.
    pub ack: u32,
}

/// The arena state broadcast every tick.
#[derive(Debug, Clone, PartialEq)]
pub struct ArenaState {
    pub time_left_ms: u32,
    pub red: u16,
    pub blue: u16,
    /// 0 playing, 1 ended (post-match vote).
    pub phase: u8,
    pub players: Vec<ArenaPlayer>,
}

impl ArenaState {
    pub fn encode(&self) -> Vec<u8> {
        let n = self.players.len().min(255);
        let mut out = Vec::with_capacity(10 + n * 23);
        out.extend_from_slice(&self.time_left_ms.to_be_bytes());
        out.extend_from_slice(&self.red.to_be_bytes());
        out.extend_from_slice(&self.blue.to_be_bytes());
        out.push(self.phase);
        out.push(n as u8);
        for p in self.players.iter().take(n) {
            out.push(p.slot);
            out.push(p.team);
            out.push(p.health);
            out.extend_from_slice(&p.x.to_be_bytes());
            out.extend_from_slice(&p.y.to_be_bytes());
            out.extend_from_slice(&p.aim.to_be_bytes());
            out.extend_from_slice(&p.kills.to_be_bytes());
            out.extend_from_slice(&p.deaths.to_be_bytes());
            out.extend_from_slice(&p.ack.to_be_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<ArenaState> {
        let mut c = Cursor(bytes);
        let time_left_ms = c.u32()?;
        let red = c.u16()?;
        let blue = c.u16()?;
        let phase = c.u8()?;
        let n = c.u8()? as usize;
        let mut players = Vec::with_capacity(n);
        for _ in 0..n {
            players.push(ArenaPlayer {
                slot: c.u8()?,
                team: c.u8()?,
                health: c.u8()?,
                x: c.f32()?,
                y: c.f32()?,
                aim: c.f32()?,
                kills: c.u16()?,
                deaths: c.u16()?,
                ack: c.u32()?,
            });
        }
        Some(ArenaState {
            time_left_ms,
            red,
            blue,
            phase,
            players,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_as_tagged_maps() {
        let msg = ClientMsg::MatchData {
            match_id: "m".into(),
            op: 7,
            data: vec![1, 2, 3],
            to: vec![],
        };
        let frame = encode_frame(&msg).unwrap();
        let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(len, frame.len() - 4);
        // A map whose first key is "t".
        assert_eq!(frame[4] & 0xf0, 0x80);
        assert_eq!(decode_body::<ClientMsg>(&frame[4..]).unwrap(), msg);
        let unknown = encode_frame(&serde_json::json!({"t": "teleport"})).unwrap();
        assert!(matches!(
            decode_body::<ClientMsg>(&unknown[4..]),
            Err(ProtocolError::Unknown(_))
        ));
        assert!(matches!(
            decode_body::<ClientMsg>(&[0xc1, 0x00]),
            Err(ProtocolError::Malformed(_))
        ));
    }

    #[test]
    fn only_a_map_with_a_string_t_is_a_frame() {
        let body = |v: serde_json::Value| rmp_serde::to_vec_named(&v).unwrap();
        for bad in [
            body(serde_json::json!(["ping", 1])),
            body(serde_json::json!({"t": 1})),
            body(serde_json::json!({"t": 5, "id": 1})),
            body(serde_json::json!({"id": 1})),
            body(serde_json::json!("ping")),
            body(serde_json::json!({"t": "ping", "id": "one"})),
            body(serde_json::json!({"t": "match_join", "rid": 1})),
        ] {
            assert!(
                matches!(
                    decode_body::<ClientMsg>(&bad),
                    Err(ProtocolError::Malformed(_))
                ),
                "{bad:?} was accepted"
            );
        }
        // The tag as MessagePack bin, not str, is not a string either.
        let mut bin_tag = vec![0x81, 0xa1, b't', 0xc4, 4];
        bin_tag.extend_from_slice(b"ping");
        assert!(decode_body::<ClientMsg>(&bin_tag).is_err());
        // Extra keys are ignored; a missing field names itself.
        let ok = body(serde_json::json!({"t": "ping", "id": 3, "extra": [1, 2]}));
        assert_eq!(
            decode_body::<ClientMsg>(&ok).unwrap(),
            ClientMsg::Ping {
                id: 3,
                client_time: 0
            }
        );
        let missing = body(serde_json::json!({"t": "match_leave", "rid": 1}));
        let e = decode_body::<ClientMsg>(&missing).unwrap_err();
        assert!(e.to_string().contains("match_id"), "{e}");
    }

    #[test]
    fn datagrams_and_arena_payloads_round_trip() {
        let h = DatagramHeader {
            handle: 9,
            seq: 42,
            op: arena_op::INPUT,
        };
        let input = ArenaInput {
            timestamp_ms: 1_700_000_000_000,
            x: 1.5,
            y: 2.5,
            aim: 0.25,
            fire: true,
        };
        let bytes = h.encode(&input.encode());
        let (h2, rest) = DatagramHeader::parse(&bytes).unwrap();
        assert_eq!(h2, h);
        assert_eq!(ArenaInput::decode(rest), Some(input));
        assert!(DatagramHeader::parse(&bytes[..5]).is_none());
        assert!(ArenaInput::decode(&rest[..20]).is_none());
        let state = ArenaState {
            time_left_ms: 1000,
            red: 3,
            blue: 1,
            phase: 0,
            players: vec![ArenaPlayer {
                slot: 1,
                team: 1,
                health: 100,
                x: 3.0,
                y: 4.0,
                aim: 0.0,
                kills: 2,
                deaths: 1,
                ack: 77,
            }],
        };
        assert_eq!(ArenaState::decode(&state.encode()), Some(state.clone()));
        assert!(ArenaState::decode(&state.encode()[..15]).is_none());
        assert_eq!(Code::from_u16(3), Some(Code::FrameTooLarge));
    }
}
