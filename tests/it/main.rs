//! Integration tests: each module drives a real server through the project's client.

mod common;

mod core_auth;
mod core_cli;
mod core_rpc;
