//! Integration tests: each module drives a real server through the project's client.

mod common;

mod competition_leaderboards;
mod competition_leagues;
mod competition_tournaments;
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
mod harden_auth;
mod harden_http;
mod harden_ops;
mod insight_analytics;
mod insight_config;
mod insight_metrics;
mod insight_moderation;
mod liveops_achievements;
mod liveops_events;
mod liveops_seasons;
mod liveops_support;
mod matchmaking_queue;
mod ops_backup;
mod ops_bans;
mod ops_cli;
mod ops_signals;
mod realtime_arena;
mod realtime_ban;
mod realtime_connect;
mod realtime_hardening;
mod realtime_rooms;
