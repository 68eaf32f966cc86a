//! The remote config RPCs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::rules::{self, AudienceOverride, ConfigVersion};
use crate::auth::UserId;
use crate::features::experiments::{self, Placement, PlayerInfo};
use crate::features::moderation::{actor, audit};
use crate::features::paging;
use crate::rpc::{RpcContext, RpcError};
use crate::store::Key;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchRequest {
    game_id: String,
    /// Server callers: whose config.
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    app_version: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, Value>,
}

#[derive(Serialize)]
pub struct FetchReply {
    version: u64,
    config: BTreeMap<String, Value>,
    /// key → `default` or the audience its value came from.
    sources: BTreeMap<String, String>,
    audiences: Vec<String>,
}

pub async fn fetch(ctx: RpcContext, req: FetchRequest) -> Result<FetchReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let cfg = super::current(&ctx.app, &game)?;
    let info = PlayerInfo {
        platform: req.platform,
        country: req.country,
        app_version: req.app_version,
        properties: req.properties,
    };
    let mut facts = experiments::facts(&ctx.app, &game, user, &info)?;
    // Audiences over an experiment's cohorts enrol the player the first time they ask.
    for id in cfg.experiments() {
        if facts.cohorts.contains_key(&id) {
            continue;
        }
        let Ok(e) = experiments::get(&game, &id) else {
            continue;
        };
        if let Placement::In(a) = experiments::assign(&game, &e, user, &facts)? {
            facts.cohorts.insert(id, a.variant);
        }
    }
    let r = rules::resolve(&cfg, &facts);
    Ok(FetchReply {
        version: cfg.version,
        config: r.config,
        sources: r.sources,
        audiences: r.audiences,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    game_id: String,
    /// Replaces the whole default when given.
    #[serde(default)]
    default: Option<BTreeMap<String, Value>>,
    /// Keys to set in the default.
    #[serde(default)]
    set: BTreeMap<String, Value>,
    /// Keys to remove from the default.
    #[serde(default)]
    unset: Vec<String>,
    /// Replaces every audience override when given.
    #[serde(default)]
    audiences: Option<Vec<AudienceOverride>>,
    #[serde(default)]
    note: Option<String>,
    /// Refuse (ABORTED) unless the current version is this one.
    #[serde(default)]
    expected_version: Option<u64>,
}

#[derive(Serialize)]
pub struct UpdateReply {
    version: u64,
    changed: bool,
    changes: Vec<String>,
}

async fn publish(
    ctx: &RpcContext,
    game: &crate::store::GameStore,
    mut next: ConfigVersion,
    current: &ConfigVersion,
    action: &str,
) -> Result<UpdateReply, RpcError> {
    next.changes = rules::changes(current, &next);
    if next.changes.is_empty() {
        return Ok(UpdateReply {
            version: current.version,
            changed: false,
            changes: vec![],
        });
    }
    if !super::publish(&ctx.app, game, &next)? {
        return Err(RpcError::Aborted(format!(
            "version {} was published meanwhile; fetch and retry",
            next.version
        )));
    }
    let detail = format!("v{}: {}", next.version, next.changes.join("; "));
    let detail: String = detail.chars().take(1000).collect();
    audit::record(
        &ctx.app.store,
        &next.by,
        action,
        &game.id().to_string(),
        &detail,
    )?;
    game.durable().await?;
    Ok(UpdateReply {
        version: next.version,
        changed: true,
        changes: next.changes,
    })
}

pub async fn update(ctx: RpcContext, req: UpdateRequest) -> Result<UpdateReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let current = super::current(&ctx.app, &game)?;
    if let Some(v) = req.expected_version {
        if v != current.version {
            return Err(RpcError::Aborted(format!(
                "expected_version: the current version is {}, not {v}",
                current.version
            )));
        }
    }
    let mut default = req.default.unwrap_or_else(|| current.default.clone());
    for (k, v) in req.set {
        default.insert(k, v);
    }
    for (i, k) in req.unset.iter().enumerate() {
        if default.remove(k).is_none() {
            return Err(RpcError::invalid(format!(
                "unset[{i}]: `{k}` is not in the default"
            )));
        }
    }
    let audiences = req.audiences.unwrap_or_else(|| current.audiences.clone());
    rules::check(&default, &audiences).map_err(RpcError::InvalidArgument)?;
    for (i, a) in audiences.iter().enumerate() {
        if let Some(c) = &a.rule.experiment {
            experiments::get(&game, &c.experiment_id).map_err(|_| {
                RpcError::NotFound(format!(
                    "audiences[{i}].rule.experiment.experiment_id: no experiment `{}`",
                    c.experiment_id
                ))
            })?;
        }
    }
    let note = req.note.unwrap_or_default();
    if note.chars().count() > 500 {
        return Err(RpcError::invalid("note: at most 500 characters"));
    }
    let next = ConfigVersion {
        version: current.version + 1,
        default,
        audiences,
        by: actor(&ctx.caller),
        at: game.now(),
        note,
        changes: vec![],
    };
    publish(&ctx, &game, next, &current, "remote_config_update").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    game_id: String,
    /// The version whose content becomes current again.
    version: u64,
}

pub async fn rollback(ctx: RpcContext, req: RollbackRequest) -> Result<UpdateReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let current = super::current(&ctx.app, &game)?;
    let old = super::version(&game, req.version)?
        .ok_or_else(|| RpcError::NotFound(format!("version: no version {}", req.version)))?;
    let next = ConfigVersion {
        version: current.version + 1,
        default: old.default,
        audiences: old.audiences,
        by: actor(&ctx.caller),
        at: game.now(),
        note: format!("rollback to version {}", req.version),
        changes: vec![],
    };
    publish(&ctx, &game, next, &current, "remote_config_rollback").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    game_id: String,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
struct VersionView {
    version: u64,
    by: String,
    at: String,
    note: String,
    changes: Vec<String>,
    default: BTreeMap<String, Value>,
    audiences: Vec<AudienceOverride>,
}

#[derive(Serialize)]
pub struct HistoryReply {
    versions: Vec<VersionView>,
    cursor: Option<String>,
}

pub async fn history(ctx: RpcContext, req: HistoryRequest) -> Result<HistoryReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let limit = paging::limit(req.limit, 20)?;
    let start = paging::start(req.cursor.as_deref())?;
    let page = game.tree(super::VERSIONS)?.page::<ConfigVersion>(
        Key::new().as_bytes(),
        start.as_deref(),
        limit,
    )?;
    Ok(HistoryReply {
        cursor: paging::next(&page),
        versions: page
            .entries
            .into_iter()
            .map(|(_, v)| VersionView {
                version: v.version,
                by: v.by,
                at: crate::time::rfc3339(v.at),
                note: v.note,
                changes: v.changes,
                default: v.default,
                audiences: v.audiences,
            })
            .collect(),
    })
}
