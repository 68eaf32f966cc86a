//! A game's clock, and moving it forward to test time-driven rules. Every reset, lifecycle
//! and expiry reads a game's time through `GameStore::now`; on a server in dev mode
//! (`server.dev_mode = true`, off by default) an admin moves one game's clock forward
//! (`dev_clock_advance`, `outpost clock advance 7d --game G`) and the scheduler runs what
//! fell due at once. Refused when dev mode is off: a live game's time is the wall clock.

use serde::{Deserialize, Serialize};

use crate::features::moderation::{actor, audit};
use crate::rpc::{Limit, Registry, RpcContext, RpcError};

pub fn register(r: &mut Registry) {
    r.admin("dev_clock_advance", Limit::Write, advance);
    r.admin("dev_clock_get", Limit::Read, get);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceRequest {
    game_id: String,
    /// How far: `90s`, `15m`, `24h`, `7d`, `2w`.
    by: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetRequest {
    game_id: String,
}

#[derive(Serialize)]
struct ClockReply {
    game_id: String,
    dev_mode: bool,
    /// Seconds the game's clock runs ahead of the wall clock.
    offset_secs: i64,
    /// The game's time now, RFC 3339 and Unix seconds.
    now: String,
    now_unix: i64,
}

fn reply(ctx: &RpcContext, game: &crate::store::GameStore) -> ClockReply {
    let now = game.now();
    ClockReply {
        game_id: game.id().to_string(),
        dev_mode: ctx.app.config.server.dev_mode,
        offset_secs: now - crate::time::now(),
        now: crate::time::rfc3339(now),
        now_unix: now,
    }
}

async fn advance(ctx: RpcContext, req: AdvanceRequest) -> Result<ClockReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    if !ctx.app.config.server.dev_mode {
        return Err(RpcError::FailedPrecondition(
            "dev mode is off: a game's clock moves only on a server with server.dev_mode = true"
                .into(),
        ));
    }
    let secs =
        crate::time::parse_duration(&req.by).map_err(|e| RpcError::invalid(format!("by: {e}")))?;
    let offset = ctx.app.store.advance_game_clock(game.id(), secs)?;
    audit::record(
        &ctx.app.store,
        &actor(&ctx.caller),
        "clock_advance",
        &game.id().to_string(),
        &format!("by {} (offset now {offset} s)", req.by),
    )?;
    ctx.app.jobs_wake.notify_one();
    Ok(reply(&ctx, &game))
}

async fn get(ctx: RpcContext, req: GetRequest) -> Result<ClockReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    Ok(reply(&ctx, &game))
}
