//! Outpost: a self-hosted game backend in one binary. See `DESIGN.md` for the layers:
//! transports (`http`, `realtime`, later `admin`) → `rpc` → `features` → `store`.

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod console;
pub mod events;
pub mod features;
pub mod http;
pub mod jobs;
pub mod realtime;
pub mod rpc;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod tls;
