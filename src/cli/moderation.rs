//! `outpost ban|unban|bans|audit`: moderation from the command line, through the same
//! `moderation_*` RPCs admins can call over HTTPS.

use std::process::ExitCode;

use super::operate::{operate, print_json, text};
use super::user::Who;
use crate::admin::Operation;
use crate::config::Config;

/// A ban's end as people read it.
pub fn until(v: &serde_json::Value) -> String {
    match v.as_str() {
        Some(s) => format!("until {s}"),
        None => "permanently".into(),
    }
}

pub fn ban(
    cfg: &Config,
    who: &Who,
    duration: Option<String>,
    reason: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (by, user) = who.lookup();
    let reply = operate(
        cfg,
        Operation::Ban {
            user,
            by,
            duration,
            reason,
        },
    )?;
    if json {
        print_json(&reply)?;
    } else {
        let b = &reply["ban"];
        println!(
            "banned {} ({}) {}: {}",
            text(&b["username"]),
            text(&b["user_id"]),
            until(&b["until"]),
            text(&b["reason"])
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn unban(cfg: &Config, who: &Who, json: bool) -> anyhow::Result<ExitCode> {
    let (by, user) = who.lookup();
    let reply = operate(cfg, Operation::Unban { user, by })?;
    if json {
        print_json(&reply)?;
    } else if reply["unbanned"] == true {
        println!(
            "unbanned {} ({})",
            text(&reply["username"]),
            text(&reply["user_id"])
        );
    } else {
        println!(
            "{} ({}) was not banned",
            text(&reply["username"]),
            text(&reply["user_id"])
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn bans(cfg: &Config, all: bool, json: bool) -> anyhow::Result<ExitCode> {
    let reply = operate(cfg, Operation::Bans { all })?;
    let bans = reply["bans"].as_array().cloned().unwrap_or_default();
    if json {
        print_json(&serde_json::json!({ "bans": bans }))?;
    } else if bans.is_empty() {
        println!("{}", if all { "no bans" } else { "no active bans" });
    } else {
        println!(
            "{:<36}  {:<20}  {:<20}  {:<20}  {:<6}  reason",
            "user_id", "username", "since", "until", "active"
        );
        for b in &bans {
            println!(
                "{:<36}  {:<20}  {:<20}  {:<20}  {:<6}  {}",
                text(&b["user_id"]),
                text(&b["username"]),
                text(&b["created_at"]),
                b["until"].as_str().unwrap_or("permanent"),
                text(&b["active"]),
                text(&b["reason"])
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn audit(cfg: &Config, limit: usize, json: bool) -> anyhow::Result<ExitCode> {
    let reply = operate(cfg, Operation::Audit { limit: Some(limit) })?;
    let entries = reply["entries"].as_array().cloned().unwrap_or_default();
    if json {
        print_json(&serde_json::json!({ "entries": entries }))?;
    } else if entries.is_empty() {
        println!("no admin actions recorded yet");
    } else {
        for e in &entries {
            println!(
                "{}  {:<10}  {:<14}  {}  {}",
                text(&e["at"]),
                text(&e["actor"]),
                text(&e["action"]),
                text(&e["target"]),
                e["detail"].as_str().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
