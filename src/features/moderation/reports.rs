//! Player reports and the rule that acts on them. A player reports another for a reason
//! from a fixed list, with free text and optional evidence (a match id, a chat excerpt).
//! One reporter counts once per target within the window, and reporters are rate limited.
//! When `moderation.auto_ban_reporters` distinct players have reported someone within
//! `auto_ban_window`, that player is banned for `auto_ban_duration` — at most once per
//! `auto_ban_cooldown` — and the ban lands in the audit log as an automatic action.
//! Admins list reports and resolve them (optionally banning through `moderation_ban`).

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{actor, audit};
use crate::auth::UserId;
use crate::features::paging;
use crate::rpc::{RpcContext, RpcError};
use crate::store::{Abort, GameStore, Key, KeyReader, StoreError, Tree};

/// `g/<game>/moderation.report.timedesc_id`: (created ms, newest first; id) → [`Report`].
const REPORTS: &str = "moderation.report.timedesc_id";
/// `g/<game>/moderation.report.id`: id → created ms (to find a report's key).
const REPORT_IDS: &str = "moderation.report.id";
/// `g/<game>/moderation.report.targetid_reporterid`: → the reporter's latest report on
/// the target (Unix seconds, game time).
const BY_TARGET: &str = "moderation.report.targetid_reporterid";
/// `g/<game>/moderation.report.reporterid_time`: (reporter, Unix seconds) → reports filed
/// that second.
const BY_REPORTER: &str = "moderation.report.reporterid_time";
/// `g/<game>/moderation.autoban.userid`: user → time of the last automatic ban.
const AUTOBANS: &str = "moderation.autoban.userid";

pub const REASONS: &[&str] = &[
    "cheating",
    "harassment",
    "hate_speech",
    "spam",
    "inappropriate_name",
    "griefing",
    "exploiting",
    "other",
];
const MAX_TEXT: usize = 1000;
const MAX_EXCERPT: usize = 2000;
/// The actor automatic actions are recorded under.
pub const AUTO_ACTOR: &str = "auto:reports";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_excerpt: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Actioned,
    Dismissed,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub id: Uuid,
    pub reporter: UserId,
    pub target: UserId,
    pub reason: String,
    pub text: String,
    pub evidence: Evidence,
    /// Unix milliseconds, game time.
    pub created_ms: i64,
    pub status: Status,
    #[serde(default)]
    pub resolution_note: String,
    #[serde(default)]
    pub resolved_by: Option<String>,
    #[serde(default)]
    pub resolved_ms: Option<i64>,
}

/// The auto-ban rule, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct AutoBanRule {
    pub reporters: u32,
    pub window: i64,
    pub ban: i64,
    pub cooldown: i64,
}

/// Pure: should `now`'s report trigger an automatic ban? `latest` holds each distinct
/// reporter's latest report time on the target. Reports from before the last automatic
/// ban do not count again, and none fires within the cooldown after one.
pub fn should_ban(rule: &AutoBanRule, latest: &[i64], now: i64, last_ban: Option<i64>) -> bool {
    if rule.reporters == 0 {
        return false;
    }
    if last_ban.is_some_and(|t| now < t + rule.cooldown) {
        return false;
    }
    let from = (now - rule.window).max(last_ban.map_or(i64::MIN, |t| t + 1));
    latest.iter().filter(|t| **t >= from && **t <= now).count() >= rule.reporters as usize
}

fn rule(ctx: &RpcContext) -> Result<AutoBanRule, RpcError> {
    let m = &ctx.app.config.moderation;
    let (window, ban, cooldown) = m.durations().map_err(RpcError::Internal)?;
    Ok(AutoBanRule {
        reporters: m.auto_ban_reporters,
        window,
        ban,
        cooldown,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    game_id: String,
    /// Server callers: who reports.
    #[serde(default)]
    user_id: Option<UserId>,
    target_user_id: UserId,
    reason: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    evidence: Option<Evidence>,
}

#[derive(Serialize)]
pub struct ReportReply {
    report_id: Uuid,
}

pub async fn report(ctx: RpcContext, req: ReportRequest) -> Result<ReportReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let reporter = ctx.user(req.user_id)?;
    if !REASONS.contains(&req.reason.as_str()) {
        return Err(RpcError::invalid(format!(
            "reason: `{}` is not one of {}",
            req.reason,
            REASONS.join(", ")
        )));
    }
    let text = req.text.unwrap_or_default().trim().to_string();
    if text.chars().count() > MAX_TEXT {
        return Err(RpcError::invalid(format!(
            "text: at most {MAX_TEXT} characters"
        )));
    }
    if req.reason == "other" && text.is_empty() {
        return Err(RpcError::invalid(
            "text: say what happened when the reason is `other`",
        ));
    }
    let evidence = req.evidence.unwrap_or_default();
    if evidence
        .match_id
        .as_ref()
        .is_some_and(|m| m.is_empty() || m.len() > 128)
    {
        return Err(RpcError::invalid("evidence.match_id: 1 to 128 characters"));
    }
    if evidence
        .chat_excerpt
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_EXCERPT)
    {
        return Err(RpcError::invalid(format!(
            "evidence.chat_excerpt: at most {MAX_EXCERPT} characters"
        )));
    }
    if req.target_user_id == reporter {
        return Err(RpcError::invalid(
            "target_user_id: you cannot report yourself",
        ));
    }
    ctx.app.auth.account(req.target_user_id).map_err(|_| {
        RpcError::NotFound(format!("target_user_id: no account {}", req.target_user_id))
    })?;
    let rule = rule(&ctx)?;
    let now = game.now();
    let now_ms = game.now_ms();

    // Rate limit: reports_per_hour per reporter in this game.
    let per_hour = ctx.app.config.moderation.reports_per_hour as usize;
    let by_reporter = game.tree(BY_REPORTER)?;
    let mut recent: Vec<(i64, u64)> = Vec::new();
    for r in by_reporter.range::<u64, _, _>(
        Key::new().uuid(reporter).i64(now - 3599).into_vec()
            ..Key::new().uuid(reporter).i64(now + 1).into_vec(),
    ) {
        let (k, n) = r?;
        let mut rd = KeyReader::new(&k);
        rd.uuid();
        if let Some(at) = rd.i64() {
            recent.push((at, n));
        }
    }
    if recent.iter().map(|(_, n)| *n as usize).sum::<usize>() >= per_hour {
        let oldest = recent.iter().map(|(t, _)| *t).min().unwrap_or(now);
        return Err(RpcError::RateLimited {
            retry_after_secs: (oldest + 3600 - now).max(1) as u64,
        });
    }

    let pair = Key::new().uuid(req.target_user_id).uuid(reporter);
    let by_target = game.tree(BY_TARGET)?;
    if let Some(last) = by_target.get::<i64>(&pair)? {
        if now - last < rule.window {
            return Err(RpcError::AlreadyExists(format!(
                "target_user_id: you already reported this player; one report per player \
                 counts within {}",
                ctx.app.config.moderation.auto_ban_window
            )));
        }
    }
    let r = Report {
        id: Uuid::new_v4(),
        reporter,
        target: req.target_user_id,
        reason: req.reason,
        text,
        evidence,
        created_ms: now_ms,
        status: Status::Open,
        resolution_note: String::new(),
        resolved_by: None,
        resolved_ms: None,
    };
    let trees = [
        game.tree(REPORTS)?,
        game.tree(REPORT_IDS)?,
        by_target.clone(),
        by_reporter.clone(),
    ];
    let refs: Vec<&Tree> = trees.iter().collect();
    let stored = Tree::transaction::<_, RpcError, _>(&refs, |tx| {
        // Re-checked inside: two reports from one reporter racing count once.
        if let Some(last) = tx.get::<i64, RpcError>(2, &pair)? {
            if now - last < rule.window {
                return Ok(false);
            }
        }
        tx.insert(0, report_key(now_ms, r.id), &r)?;
        tx.insert(1, Key::new().uuid(r.id), &now_ms)?;
        tx.insert(2, &pair, &now)?;
        let slot = Key::new().uuid(reporter).i64(now);
        let n: u64 = tx.get::<u64, RpcError>(3, &slot)?.unwrap_or(0);
        tx.insert(3, &slot, &(n + 1))?;
        Ok::<_, Abort<RpcError>>(true)
    })?;
    if !stored {
        return Err(RpcError::AlreadyExists(
            "target_user_id: you already reported this player".into(),
        ));
    }
    auto_ban(&ctx, &game, r.target, &rule, now).await?;
    game.durable().await?;
    Ok(ReportReply { report_id: r.id })
}

fn report_key(created_ms: i64, id: Uuid) -> Key {
    Key::new().i64_desc(created_ms).uuid(id)
}

/// Applies the auto-ban rule to `target` after a report at `now`.
async fn auto_ban(
    ctx: &RpcContext,
    game: &GameStore,
    target: UserId,
    rule: &AutoBanRule,
    now: i64,
) -> Result<(), RpcError> {
    if rule.reporters == 0 {
        return Ok(());
    }
    let latest: Vec<i64> = game
        .tree(BY_TARGET)?
        .scan_prefix::<i64>(Key::new().uuid(target))
        .filter_map(|r| r.ok().map(|(_, t)| t))
        .collect();
    let autobans = game.tree(AUTOBANS)?;
    let key = Key::new().uuid(target);
    let last: Option<i64> = autobans.get(&key)?;
    if !should_ban(rule, &latest, now, last) {
        return Ok(());
    }
    // One automatic ban per decision even when reports race: claim it first.
    let won = Tree::transaction::<_, StoreError, _>(&[&autobans], |tx| {
        if tx.get::<i64, StoreError>(0, &key)? != last {
            return Ok(false);
        }
        tx.insert(0, &key, &now)?;
        Ok::<_, Abort<StoreError>>(true)
    })?;
    if !won {
        return Ok(());
    }
    let auth = &ctx.app.auth;
    if auth.active_ban(target)?.is_some() {
        audit::record(
            &ctx.app.store,
            AUTO_ACTOR,
            "auto_ban_skipped",
            &target.to_string(),
            &format!("game {}: already banned", game.id()),
        )?;
        return Ok(());
    }
    let m = &ctx.app.config.moderation;
    let reason = format!(
        "automatic: reported by {} players within {}",
        m.auto_ban_reporters, m.auto_ban_window
    );
    // Bans span the server and lift by the wall clock.
    auth.ban(
        target,
        Some(crate::time::now() + rule.ban),
        &reason,
        AUTO_ACTOR,
    )
    .await?;
    audit::record(
        &ctx.app.store,
        AUTO_ACTOR,
        "auto_ban",
        &target.to_string(),
        &format!("game {}: for {}: {reason}", game.id(), m.auto_ban_duration),
    )?;
    tracing::info!(user = %target, game = %game.id(), "moderation: automatic ban after reports");
    Ok(())
}

#[derive(Serialize)]
pub struct ReportView {
    report_id: Uuid,
    reporter_user_id: UserId,
    target_user_id: UserId,
    reason: String,
    text: String,
    evidence: Evidence,
    created_at: String,
    status: Status,
    resolution_note: String,
    resolved_by: Option<String>,
    resolved_at: Option<String>,
}

impl From<Report> for ReportView {
    fn from(r: Report) -> Self {
        let t = crate::features::analytics::model::rfc3339_ms;
        ReportView {
            report_id: r.id,
            reporter_user_id: r.reporter,
            target_user_id: r.target,
            reason: r.reason,
            text: r.text,
            evidence: r.evidence,
            created_at: t(r.created_ms),
            status: r.status,
            resolution_note: r.resolution_note,
            resolved_by: r.resolved_by,
            resolved_at: r.resolved_ms.map(t),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    game_id: String,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    target_user_id: Option<UserId>,
    #[serde(default)]
    reporter_user_id: Option<UserId>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct ListReply {
    reports: Vec<ReportView>,
    cursor: Option<String>,
}

pub async fn list(ctx: RpcContext, req: ListRequest) -> Result<ListReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let limit = paging::limit(req.limit, 50)?;
    let start = paging::start(req.cursor.as_deref())?;
    let page = game
        .tree(REPORTS)?
        .page_filtered::<Report>(&[], start.as_deref(), limit, |r| {
            req.status.is_none_or(|s| r.status == s)
                && req.target_user_id.is_none_or(|t| r.target == t)
                && req.reporter_user_id.is_none_or(|t| r.reporter == t)
        })?;
    Ok(ListReply {
        cursor: paging::next(&page),
        reports: page.entries.into_iter().map(|(_, r)| r.into()).collect(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BanOnResolve {
    /// Like `24h`; absent for a permanent ban.
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    game_id: String,
    report_id: Uuid,
    /// `actioned` or `dismissed`.
    resolution: Status,
    #[serde(default)]
    note: Option<String>,
    /// With `actioned`: ban the reported player (through `moderation_ban`).
    #[serde(default)]
    ban: Option<BanOnResolve>,
}

#[derive(Serialize)]
pub struct ResolveReply {
    report: ReportView,
    #[serde(skip_serializing_if = "Option::is_none")]
    ban: Option<serde_json::Value>,
}

pub async fn resolve(ctx: RpcContext, req: ResolveRequest) -> Result<ResolveReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    if req.resolution == Status::Open {
        return Err(RpcError::invalid("resolution: `actioned` or `dismissed`"));
    }
    if req.ban.is_some() && req.resolution != Status::Actioned {
        return Err(RpcError::invalid("ban: only with resolution `actioned`"));
    }
    let note = req.note.unwrap_or_default();
    if note.chars().count() > MAX_TEXT {
        return Err(RpcError::invalid(format!(
            "note: at most {MAX_TEXT} characters"
        )));
    }
    let created: i64 = game
        .tree(REPORT_IDS)?
        .get(Key::new().uuid(req.report_id))?
        .ok_or_else(|| RpcError::NotFound(format!("report_id: no report {}", req.report_id)))?;
    let reports = game.tree(REPORTS)?;
    let key = report_key(created, req.report_id);
    let by = actor(&ctx.caller);
    let now_ms = game.now_ms();
    let resolution = req.resolution;
    let updated = Tree::transaction::<_, RpcError, _>(&[&reports], |tx| {
        let Some(mut r) = tx.get::<Report, RpcError>(0, &key)? else {
            return Err(Abort::Fail(RpcError::NotFound(format!(
                "report_id: no report {}",
                req.report_id
            ))));
        };
        if r.status != Status::Open {
            return Err(Abort::Fail(RpcError::FailedPrecondition(format!(
                "report_id: already resolved as {:?}",
                r.status
            ))));
        }
        r.status = resolution;
        r.resolution_note = note.clone();
        r.resolved_by = Some(by.clone());
        r.resolved_ms = Some(now_ms);
        tx.insert(0, &key, &r)?;
        Ok(r)
    })?;
    audit::record(
        &ctx.app.store,
        &by,
        "report_resolve",
        &updated.target.to_string(),
        &format!("report {}: {:?} {note}", updated.id, resolution),
    )?;
    let ban = match req.ban {
        Some(b) => Some(
            ctx.app
                .call(
                    ctx.caller.clone(),
                    "moderation_ban",
                    json!({
                        "user": updated.target.to_string(),
                        "duration": b.duration,
                        "reason": b.reason.unwrap_or_else(|| format!("report: {}", updated.reason)),
                    }),
                )
                .await?,
        ),
        None => None,
    };
    game.durable().await?;
    Ok(ResolveReply {
        report: updated.into(),
        ban,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: AutoBanRule = AutoBanRule {
        reporters: 3,
        window: 100,
        ban: 50,
        cooldown: 300,
    };

    #[test]
    fn the_rule_fires_exactly_at_the_threshold_within_the_window() {
        assert!(!should_ban(&RULE, &[10, 20], 20, None));
        assert!(should_ban(&RULE, &[10, 20, 30], 30, None));
        // one of the three fell out of the window
        assert!(!should_ban(&RULE, &[10, 120, 130], 130, None));
        assert!(!should_ban(
            &AutoBanRule {
                reporters: 0,
                ..RULE
            },
            &[1, 2, 3],
            3,
            None
        ));
    }

    #[test]
    fn the_cooldown_holds_and_old_reports_do_not_count_twice() {
        // banned at 30: within the cooldown nothing fires
        assert!(!should_ban(&RULE, &[10, 20, 30, 40, 50, 60], 60, Some(30)));
        // after the cooldown, only reports after the last ban count
        assert!(!should_ban(&RULE, &[10, 20, 30, 340], 340, Some(30)));
        assert!(should_ban(&RULE, &[331, 335, 340], 340, Some(30)));
    }
}
