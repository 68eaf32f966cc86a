//! Integration tests: each module drives a real server through the project's client.

mod common;

mod core_auth;
mod realtime_arena;
mod realtime_ban;
mod realtime_connect;
mod realtime_rooms;
