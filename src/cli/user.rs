//! `outpost user show|list|promote|demote`: the admin role of SPEC §0 is granted only here.

use std::process::ExitCode;

use clap::Subcommand;

use super::operate::{operate, print_json, text};
use crate::admin::Operation;
use crate::auth::{Lookup, UserId};
use crate::config::Config;

/// Which account a command is about: a user id, username or email (refused when it could
/// be two accounts), or exactly one of `--id`, `--username`, `--email`.
#[derive(clap::Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct Who {
    /// User id, username or email.
    user: Option<String>,
    /// The account with this user id.
    #[arg(long, value_name = "USER_ID")]
    id: Option<String>,
    /// The account with this username.
    #[arg(long, value_name = "NAME")]
    username: Option<String>,
    /// The account with this email address.
    #[arg(long, value_name = "ADDRESS")]
    email: Option<String>,
}

impl Who {
    /// What was given, and as what.
    pub fn lookup(&self) -> (Lookup, String) {
        let given = [
            (Lookup::Any, &self.user),
            (Lookup::Id, &self.id),
            (Lookup::Username, &self.username),
            (Lookup::Email, &self.email),
        ];
        given
            .into_iter()
            .find_map(|(by, v)| v.clone().map(|v| (by, v)))
            .unwrap_or((Lookup::Any, String::new()))
    }
}

#[derive(Subcommand)]
pub enum UserCmd {
    /// Show an account (by user id, username or email).
    Show {
        #[command(flatten)]
        who: Who,
    },
    /// List accounts in user id order.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Continue after this user id (the last one of the previous page).
        #[arg(long, value_name = "USER_ID")]
        after: Option<UserId>,
    },
    /// Grant the admin role.
    Promote {
        #[command(flatten)]
        who: Who,
    },
    /// Take the admin role away.
    Demote {
        #[command(flatten)]
        who: Who,
    },
}

pub fn run(cfg: &Config, cmd: &UserCmd, json: bool) -> anyhow::Result<ExitCode> {
    let reply = operate(
        cfg,
        match cmd {
            UserCmd::Show { who } => {
                let (by, user) = who.lookup();
                Operation::UserShow { user, by }
            }
            UserCmd::List { limit, after } => Operation::UserList {
                limit: Some(*limit),
                after: *after,
            },
            UserCmd::Promote { who } => {
                let (by, user) = who.lookup();
                Operation::UserPromote { user, by }
            }
            UserCmd::Demote { who } => {
                let (by, user) = who.lookup();
                Operation::UserDemote { user, by }
            }
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
