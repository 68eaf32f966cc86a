//! `outpost status`: is the server up, and how is it doing.

use std::process::ExitCode;

use super::operate::{operate, print_json, size, text};
use crate::admin::Operation;
use crate::config::Config;

pub fn run(cfg: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let s = operate(cfg, Operation::Status)?;
    if json {
        print_json(&s)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("server        {}", text(&s["server"]));
    println!("version       {}", text(&s["version"]));
    if let Some(up) = s["uptime_secs"].as_u64() {
        println!(
            "uptime        {}h {:02}m {:02}s (since {}, pid {})",
            up / 3600,
            up / 60 % 60,
            up % 60,
            text(&s["started_at"]),
            text(&s["pid"])
        );
    }
    println!("data dir      {}", text(&s["data_dir"]));
    if s["dev_mode"].as_bool() == Some(true) {
        println!(
            "DEV MODE      on: games' clocks can be moved (server.dev_mode); never on a live game"
        );
    }
    println!("accounts      {}", text(&s["accounts"]));
    println!("games         {}", text(&s["games"]));
    println!("active bans   {}", text(&s["active_bans"]));
    println!(
        "connections   {} live ({} HTTPS, {} QUIC)",
        text(&s["live_connections"]["total"]),
        text(&s["live_connections"]["http"]),
        text(&s["live_connections"]["quic"])
    );
    println!("matches       {} live", text(&s["live_matches"]));
    println!(
        "database      {}",
        size(s["db_size_bytes"].as_u64().unwrap_or(0))
    );
    let b = &s["last_backup"];
    if b.is_null() {
        println!("last backup   never");
    } else {
        println!(
            "last backup   {} {} ({}, writes paused {:.3} ms)",
            text(&b["at"]),
            text(&b["path"]),
            size(b["bytes"].as_u64().unwrap_or(0)),
            b["write_pause_ms"].as_f64().unwrap_or(0.0)
        );
    }
    Ok(ExitCode::SUCCESS)
}
