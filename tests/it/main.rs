//! Integration tests: each module drives a real server through the project's client.

mod common;

mod core_auth;
mod ops_backup;
mod ops_bans;
mod ops_cli;
mod ops_signals;
