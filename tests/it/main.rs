//! Integration tests: each module drives a real server through the project's client.

mod common;

mod console_actions;
mod core_auth;
mod core_cli;
mod core_clock;
mod core_rpc;
mod economy_batch;
mod economy_items;
mod economy_storage;
mod economy_support;
mod economy_wallet;
mod ops_backup;
mod ops_bans;
mod ops_cli;
mod ops_signals;
mod realtime_arena;
mod realtime_ban;
mod realtime_connect;
mod realtime_rooms;
