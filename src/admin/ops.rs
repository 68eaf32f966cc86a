//! The admin operations. Those that are also RPCs go through the registry as the admin
//! socket's caller (`Caller::Admin(None)`); the others call the features directly.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::app::App;
use crate::auth::{Lookup, Role, UserId};
use crate::features::backups;
use crate::features::games::GameView;
use crate::features::moderation::{actor, audit};
use crate::features::players::account_view;
use crate::rpc::{Caller, RpcError};

/// What an admin asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    Status,
    GameCreate {
        name: String,
    },
    GameList,
    UserShow {
        user: String,
        /// What `user` is; absent: any of id, username, email (refused if ambiguous).
        #[serde(default)]
        by: Lookup,
    },
    UserList {
        #[serde(default)]
        limit: Option<usize>,
        #[serde(default)]
        after: Option<UserId>,
    },
    UserPromote {
        user: String,
        #[serde(default)]
        by: Lookup,
    },
    UserDemote {
        user: String,
        #[serde(default)]
        by: Lookup,
    },
    Ban {
        user: String,
        #[serde(default)]
        by: Lookup,
        #[serde(default)]
        duration: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    },
    Unban {
        user: String,
        #[serde(default)]
        by: Lookup,
    },
    Bans {
        #[serde(default)]
        all: bool,
    },
    Audit {
        #[serde(default)]
        limit: Option<usize>,
    },
    /// One page (up to 1000) of a game's analytics events, oldest first.
    AnalyticsExport {
        game_id: String,
        #[serde(default)]
        since: Option<String>,
        #[serde(default)]
        cursor: Option<String>,
    },
    /// `out` is absolute (the CLI resolves it); absent: the default backups dir.
    BackupCreate {
        #[serde(default)]
        out: Option<PathBuf>,
    },
    /// Any registered RPC, as the admin socket's caller (for commands that are thin
    /// wrappers of an admin RPC, like `outpost clock advance`).
    Rpc {
        id: String,
        #[serde(default)]
        payload: Value,
    },
}

/// Whether a server is running (the operation came over its socket) or the CLI opened a
/// stopped server's database itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Live,
    Direct,
}

const CALLER: Caller = Caller::Admin(None);

/// Runs one operation against the app; the reply is what the CLI renders (or prints as
/// JSON with `--json`).
pub async fn perform(app: &App, op: Operation, mode: Mode) -> Result<Value, RpcError> {
    let who = actor(&CALLER);
    match op {
        Operation::Status => status(app, mode),
        Operation::GameCreate { name } => {
            let store = app.store.clone();
            let game = blocking(move || store.create_game(&name, Default::default())).await??;
            audit::record(
                &app.store,
                &who,
                "game_create",
                &game.id.to_string(),
                &game.name,
            )?;
            app.store.durable().await?;
            Ok(json!({ "game": GameView::from(game) }))
        }
        Operation::GameList => app.call(CALLER, "game_list", json!({})).await,
        Operation::Rpc { id, payload } => app.call(CALLER, &id, payload).await,
        Operation::UserShow { user, by } => {
            let account = app.auth.find_by(by, &user)?;
            let ban = app.auth.active_ban(account.id)?.map(|b| {
                crate::features::moderation::BanView::new(&b, Some(&account), crate::time::now())
            });
            Ok(json!({ "user": account_view(&account), "ban": ban }))
        }
        Operation::UserList { limit, after } => {
            let limit = limit.unwrap_or(50);
            if !(1..=1000).contains(&limit) {
                return Err(RpcError::invalid("limit: must be 1 to 1000"));
            }
            let accounts = app.auth.list(limit, after)?;
            let users: Vec<Value> = accounts.iter().map(account_view).collect();
            Ok(json!({ "users": users, "total": app.auth.count() }))
        }
        Operation::UserPromote { user, .. } | Operation::UserDemote { user, .. }
            if user.trim().is_empty() =>
        {
            Err(RpcError::invalid("user: give a user id, username or email"))
        }
        Operation::UserPromote { user, by } => {
            set_role(app, by, &user, Role::Admin, "promote").await
        }
        Operation::UserDemote { user, by } => {
            set_role(app, by, &user, Role::Player, "demote").await
        }
        Operation::Ban {
            user,
            by,
            duration,
            reason,
        } => {
            app.call(
                CALLER,
                "moderation_ban",
                json!({ "user": user, "by": by, "duration": duration, "reason": reason }),
            )
            .await
        }
        Operation::Unban { user, by } => {
            app.call(
                CALLER,
                "moderation_unban",
                json!({ "user": user, "by": by }),
            )
            .await
        }
        Operation::Bans { all } => {
            app.call(
                CALLER,
                "moderation_list_bans",
                json!({ "all": all, "limit": 1000 }),
            )
            .await
        }
        Operation::Audit { limit } => {
            app.call(
                CALLER,
                "audit_list",
                json!({ "limit": limit.unwrap_or(50) }),
            )
            .await
        }
        Operation::AnalyticsExport {
            game_id,
            since,
            cursor,
        } => {
            app.call(
                CALLER,
                "analytics_export",
                json!({ "game_id": game_id, "since": since, "cursor": cursor, "limit": 1000 }),
            )
            .await
        }
        Operation::BackupCreate { out } => {
            if let Some(p) = &out {
                if !p.is_absolute() {
                    return Err(RpcError::invalid(format!(
                        "out: `{}` must be an absolute path",
                        p.display()
                    )));
                }
            }
            let store = app.store.clone();
            let data_dir = app.config.server.data_dir.clone();
            let report = blocking(move || backups::take(&store, &data_dir, out, &who)).await??;
            Ok(backups::report_json(&report))
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RpcError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RpcError::Internal(format!("admin task failed: {e}")))
}

async fn set_role(
    app: &App,
    by: Lookup,
    user: &str,
    role: Role,
    action: &str,
) -> Result<Value, RpcError> {
    let account = app.auth.find_by(by, user)?;
    let account = app.auth.set_role(account.id, role).await?;
    audit::record(
        &app.store,
        &actor(&CALLER),
        action,
        &account.id.to_string(),
        &account.username,
    )?;
    app.store.durable().await?;
    Ok(json!({ "user": account_view(&account) }))
}

fn status(app: &App, mode: Mode) -> Result<Value, RpcError> {
    let live = mode == Mode::Live;
    let http = if live {
        app.http_connections.load(Ordering::Relaxed)
    } else {
        0
    };
    let (quic, matches) = match app.matches.get() {
        Some(directory) if live => {
            let stats = directory.stats(false);
            (stats.connections as i64, stats.matches)
        }
        _ => (0, 0),
    };
    Ok(json!({
        "server": if live { "running" } else { "stopped" },
        "version": env!("CARGO_PKG_VERSION"),
        "pid": live.then(std::process::id),
        "uptime_secs": live.then(|| app.started.elapsed().as_secs()),
        "started_at": live.then(|| crate::time::rfc3339(app.started_at)),
        "data_dir": app.config.server.data_dir,
        "dev_mode": app.config.server.dev_mode,
        "accounts": app.auth.count(),
        "games": app.store.games().len(),
        "active_bans": app.auth.bans(false)?.len(),
        "live_connections": { "http": http, "quic": quic, "total": http + quic },
        "live_matches": matches,
        "db_size_bytes": app.store.size_on_disk(),
        "last_backup": backups::last(&app.store)?,
    }))
}
