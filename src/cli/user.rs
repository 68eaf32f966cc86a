//! `outpost user show|list|promote|demote`: the admin role of SPEC §0 is granted only here.

use std::process::ExitCode;

use clap::Subcommand;

use super::operate::{operate, print_json, text};
use crate::admin::Operation;
use crate::auth::UserId;
use crate::config::Config;

#[derive(Subcommand)]
pub enum UserCmd {
    /// Show an account (by user id, username or email).
    Show { user: String },
    /// List accounts in user id order.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue after this user id (the last one of the previous page).
        #[arg(long, value_name = "USER_ID")]
        after: Option<UserId>,
    },
    /// Grant the admin role.
    Promote { user: String },
    /// Take the admin role away.
    Demote { user: String },
}

pub fn run(cfg: &Config, cmd: &UserCmd, json: bool) -> anyhow::Result<ExitCode> {
    let reply = operate(
        cfg,
        match cmd {
            UserCmd::Show { user } => Operation::UserShow { user: user.clone() },
            UserCmd::List { limit, after } => Operation::UserList {
                limit: Some(*limit),
                after: *after,
            },
            UserCmd::Promote { user } => Operation::UserPromote { user: user.clone() },
            UserCmd::Demote { user } => Operation::UserDemote { user: user.clone() },
        },
    )?;
    if json {
        print_json(&reply)?;
        return Ok(ExitCode::SUCCESS);
    }
    match cmd {
        UserCmd::Show { .. } => {
            let a = &reply["user"];
            println!("user_id   {}", text(&a["user_id"]));
            println!("username  {}", text(&a["username"]));
            println!("email     {}", text(&a["email"]));
            println!("role      {}", text(&a["role"]));
            println!("created   {}", text(&a["create_time"]));
            let ban = &reply["ban"];
            if ban.is_null() {
                println!("banned    no");
            } else {
                println!(
                    "banned    {} ({}; by {})",
                    super::moderation::until(&ban["until"]),
                    text(&ban["reason"]),
                    text(&ban["by"])
                );
            }
        }
        UserCmd::List { .. } => {
            let users = reply["users"].as_array().cloned().unwrap_or_default();
            println!(
                "{:<36}  {:<24}  {:<6}  created",
                "user_id", "username", "role"
            );
            for a in &users {
                println!(
                    "{:<36}  {:<24}  {:<6}  {}",
                    text(&a["user_id"]),
                    text(&a["username"]),
                    text(&a["role"]),
                    text(&a["create_time"])
                );
            }
            println!(
                "{} shown of {} accounts",
                users.len(),
                text(&reply["total"])
            );
        }
        UserCmd::Promote { .. } | UserCmd::Demote { .. } => {
            let a = &reply["user"];
            println!(
                "{} ({}) is now {}",
                text(&a["username"]),
                text(&a["user_id"]),
                text(&a["role"])
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
