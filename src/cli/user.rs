//! `outpost user promote|demote|show`: the admin role of SPEC §0 is granted only here.

use std::process::ExitCode;

use clap::Subcommand;

use crate::auth::{Auth, Role};
use crate::config::Config;
use crate::events::Bus;

#[derive(Subcommand)]
pub enum UserCmd {
    /// Show an account (by user id, username or email).
    Show {
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Grant the admin role.
    Promote { user: String },
    /// Take the admin role away.
    Demote { user: String },
}

pub fn run(cfg: &Config, cmd: &UserCmd) -> anyhow::Result<ExitCode> {
    let store = crate::server::open_store(&cfg.server.data_dir, cfg.storage.flush_every_ms)?;
    let (keys, _) = crate::auth::secrets::load_or_create(&cfg.server.data_dir)?;
    let auth = Auth::new(&store, keys, &cfg.auth, Bus::new())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = match cmd {
        UserCmd::Show { user, json } => {
            let a = auth.find(user)?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "user_id": a.id, "username": a.username, "display_name": a.display_name,
                        "email": a.email, "role": a.role, "devices": a.devices, "custom_id": a.custom_id,
                        "create_time": crate::time::rfc3339(a.create_time),
                        "banned": auth.active_ban(a.id)?.is_some(),
                    }))?
                );
            } else {
                println!(
                    "user_id   {}\nusername  {}\nrole      {:?}\ncreated   {}",
                    a.id,
                    a.username,
                    a.role,
                    crate::time::rfc3339(a.create_time)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Promote { user } | UserCmd::Demote { user } => {
            let role = if matches!(cmd, UserCmd::Promote { .. }) {
                Role::Admin
            } else {
                Role::Player
            };
            let a = auth.find(user)?;
            let a = rt.block_on(auth.set_role(a.id, role))?;
            println!("{} ({}) is now {:?}", a.username, a.id, a.role);
            Ok(ExitCode::SUCCESS)
        }
    };
    store.flush()?;
    result
}
