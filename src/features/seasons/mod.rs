//! Seasons (the battle pass): a time-boxed run of tiers 1–100 reached with season XP, each
//! tier holding a free reward and a premium one. XP comes from match results, achievement
//! unlocks and mission claims (through [`add_xp`], which those features call) and from
//! studio servers, multiplied by live XP events. A player claims each (tier, track) once —
//! the claims ledger is the truth, whatever order claims and purchases arrive in. Buying
//! premium debits the wallet in the same transaction as the upgrade, and makes the premium
//! rewards of tiers already reached claimable. At the end claims close, or every unclaimed
//! reward is paid (per season); the next scheduled season starts on its own.

pub mod model;
pub(crate) mod rpc;
pub mod rules;

pub use model::{Claim, EndPolicy, Pass, Season, SeasonState, Track, XpSources};

use crate::app::App;
use crate::auth::UserId;
use crate::features::events::{self, XpTarget};
use crate::features::rewards::{self, Granted};
use crate::features::schedule;
use crate::features::vault::{self, fail, Vault, EXTRA};
use crate::features::wallet::{self, Change};
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{GameStore, Key, KeyReader, StoreError, Tree};

/// `g/<game>/season.id`: season id → [`Season`].
pub const SEASONS: &str = "season.id";
/// `g/<game>/season.id_userid`: (season, user) → [`Pass`].
pub const PASSES: &str = "season.id_userid";
/// `g/<game>/season.id_userid_tier_track`: the claims ledger, (season, user, tier, track) → [`Claim`].
pub const CLAIMS: &str = "season.id_userid_tier_track";
/// `g/<game>/season.id_userid_source`: (season, user, XP source key) → XP it gave, so a
/// match, unlock or mission counts once.
pub const XP_RECEIPTS: &str = "season.id_userid_source";
/// `g/<game>/season.userid_id`: (user, season) → (): the seasons a player took part in.
pub const HISTORY: &str = "season.userid_id";

/// Scheduled job kinds.
pub const JOB_START: &str = "season_start";
pub const JOB_END: &str = "season_end";

/// The rpc id tier-reward grant receipts are kept under.
const GRANTS: &str = "seasons";

pub fn register(r: &mut Registry) {
    r.admin("season_create", Limit::Write, rpc::create);
    r.player("season_get_active", Limit::Read, rpc::get_active);
    r.player(
        "season_get_player_progress",
        Limit::Read,
        rpc::player_progress,
    );
    r.server("season_grant_xp", Limit::Write, rpc::grant_xp);
    r.player(
        "season_claim_tier_rewards",
        Limit::Write,
        rpc::claim_tier_rewards,
    );
    r.player(
        "season_purchase_premium",
        Limit::Write,
        rpc::purchase_premium,
    );
    r.player("season_get_all_rewards", Limit::Read, rpc::all_rewards);
    r.job(JOB_START, start_job);
    r.job(JOB_END, end_job);
}

#[derive(Debug, thiserror::Error)]
pub enum SeasonError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Closed(String),
    #[error("{0}")]
    Precondition(String),
    #[error("{0}")]
    AlreadyDone(String),
}

impl From<SeasonError> for RpcError {
    fn from(e: SeasonError) -> Self {
        match e {
            SeasonError::NotFound(m) => RpcError::NotFound(m),
            SeasonError::Closed(m) | SeasonError::Precondition(m) => {
                RpcError::FailedPrecondition(m)
            }
            SeasonError::AlreadyDone(m) => RpcError::AlreadyExists(m),
        }
    }
}

fn season_key(id: &str) -> Key {
    Key::new().str(id)
}

fn pass_key(season: &str, user: UserId) -> Key {
    Key::new().str(season).uuid(user)
}

fn claim_key(season: &str, user: UserId, tier: u32, track: Track) -> Key {
    Key::new()
        .str(season)
        .uuid(user)
        .u64(u64::from(tier))
        .str(track.as_str())
}

/// The idempotency key a tier reward is paid under.
pub fn grant_key(season: &str, tier: u32, track: Track) -> String {
    format!("season:{season}:tier:{tier}:{}", track.as_str())
}

pub fn load(game: &GameStore, id: &str) -> Result<Option<Season>, StoreError> {
    game.tree(SEASONS)?.get(season_key(id))
}

/// Every season of a game, oldest start first.
pub fn all(game: &GameStore) -> Result<Vec<Season>, StoreError> {
    let mut v: Vec<Season> = game
        .tree(SEASONS)?
        .iter::<Season>()
        .map(|r| r.map(|(_, s)| s))
        .collect::<Result<_, _>>()?;
    v.sort_by_key(|s| s.starts_at);
    Ok(v)
}

/// The season running at `now`, if any (seasons never overlap).
pub fn running(game: &GameStore, now: i64) -> Result<Option<Season>, StoreError> {
    Ok(all(game)?.into_iter().find(|s| rules::is_running(s, now)))
}

pub fn pass(game: &GameStore, season: &str, user: UserId) -> Result<Pass, StoreError> {
    Ok(game
        .tree(PASSES)?
        .get(pass_key(season, user))?
        .unwrap_or_default())
}

/// The claims ledger of one player in one season.
pub fn claims(game: &GameStore, season: &str, user: UserId) -> Result<Vec<Claim>, StoreError> {
    game.tree(CLAIMS)?
        .scan_prefix::<Claim>(Key::new().str(season).uuid(user))
        .map(|r| r.map(|(_, c)| c))
        .collect()
}

/// Stores a new season (refused when its window overlaps another's) and schedules its
/// start and end.
pub async fn create(game: &GameStore, s: Season) -> Result<Season, RpcError> {
    let tree = game.tree(SEASONS)?;
    let others = all(game)?;
    Tree::transaction(&[&tree], |tx| {
        if tx
            .get::<Season, RpcError>(0, season_key(&s.season_id))?
            .is_some()
        {
            return Err(fail(RpcError::AlreadyExists(format!(
                "season_id: season `{}` exists",
                s.season_id
            ))));
        }
        if let Some(o) = others.iter().find(|o| {
            o.state != SeasonState::Ended && o.starts_at < s.ends_at && s.starts_at < o.ends_at
        }) {
            return Err(fail(RpcError::FailedPrecondition(format!(
                "starts_at: the season overlaps season `{}` ({} to {})",
                o.season_id,
                crate::time::rfc3339(o.starts_at),
                crate::time::rfc3339(o.ends_at)
            ))));
        }
        tx.insert(0, season_key(&s.season_id), &s)?;
        Ok(())
    })?;
    schedule::at(game, s.starts_at, JOB_START, &s.season_id)?;
    schedule::at(game, s.ends_at, JOB_END, &s.season_id)?;
    game.durable().await?;
    Ok(s)
}

/// Where season XP comes from. Each source counts once per player and season.
#[derive(Debug, Clone)]
pub enum XpSource {
    /// A finished match.
    Match {
        match_id: String,
        won: bool,
        kills: u32,
    },
    /// An achievement (or one of its tiers) unlocked.
    Achievement {
        achievement_id: String,
        step: String,
        points: u32,
    },
    /// A daily mission's reward claimed on a UTC day.
    Mission { mission_id: String, day: i64 },
    /// A studio server's grant; with a key it counts once.
    Server {
        amount: u64,
        idempotency_key: Option<String>,
    },
}

impl XpSource {
    fn base_xp(&self, x: &XpSources) -> u64 {
        match self {
            XpSource::Match { won, kills, .. } => x
                .match_played
                .saturating_add(if *won { x.match_won } else { 0 })
                .saturating_add(x.per_kill.saturating_mul(u64::from(*kills))),
            XpSource::Achievement { points, .. } => x
                .achievement_unlocked
                .saturating_add(x.per_achievement_point.saturating_mul(u64::from(*points))),
            XpSource::Mission { .. } => x.mission_claimed,
            XpSource::Server { amount, .. } => *amount,
        }
    }

    fn key(&self) -> Option<String> {
        match self {
            XpSource::Match { match_id, .. } => Some(format!("match:{match_id}")),
            XpSource::Achievement {
                achievement_id,
                step,
                ..
            } => Some(format!("achievement:{achievement_id}:{step}")),
            XpSource::Mission { mission_id, day } => Some(format!("mission:{mission_id}:{day}")),
            XpSource::Server {
                idempotency_key, ..
            } => idempotency_key.as_ref().map(|k| format!("server:{k}")),
        }
    }
}

/// What an XP grant did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct XpGranted {
    pub season_id: String,
    pub base_xp: u64,
    /// In percent: 100 = ×1, 200 = double XP.
    pub multiplier_percent: u32,
    pub xp_granted: u64,
    pub xp: u64,
    pub tier: u32,
    pub tiers_gained: u32,
    /// The source had counted before: nothing changed.
    pub replayed: bool,
}

/// Adds season XP from `source` to the running season, multiplied by the live XP events;
/// `None` when no season runs or the source gives no XP. Durable before it returns.
pub async fn add_xp(
    _app: &App,
    game: &GameStore,
    user: UserId,
    source: XpSource,
) -> Result<Option<XpGranted>, RpcError> {
    let now = game.now();
    let Some(season) = running(game, now)? else {
        return Ok(None);
    };
    let base = source.base_xp(&season.xp_sources);
    if base == 0 {
        return Ok(None);
    }
    let percent = events::xp_multiplier(game, now, XpTarget::Season)?;
    let xp = rules::boosted(base, percent);
    let passes = game.tree(PASSES)?;
    let receipts = game.tree(XP_RECEIPTS)?;
    let history = game.tree(HISTORY)?;
    let key = source.key();
    let sid = season.season_id.clone();
    let done = Tree::transaction(&[&passes, &receipts, &history], |tx| {
        let mut p: Pass = tx.get(0, pass_key(&sid, user))?.unwrap_or_default();
        let before = p.tier;
        if let Some(k) = &key {
            let rk = Key::new().str(&sid).uuid(user).str(k);
            if let Some(given) = tx.get::<u64, RpcError>(1, &rk)? {
                return Ok((p, given, before, true));
            }
            tx.insert(1, &rk, &xp)?;
        }
        p.xp = p.xp.saturating_add(xp);
        p.tier = rules::tier_for(&season.xp_table, p.xp);
        p.updated_at = now;
        tx.insert(0, pass_key(&sid, user), &p)?;
        tx.insert(2, Key::new().uuid(user).str(&sid), &())?;
        Ok((p, xp, before, false))
    })?;
    let (p, given, before, replayed) = done;
    game.durable().await?;
    Ok(Some(XpGranted {
        season_id: sid,
        base_xp: base,
        multiplier_percent: percent,
        xp_granted: given,
        xp: p.xp,
        tier: p.tier,
        tiers_gained: p.tier.saturating_sub(before),
        replayed,
    }))
}

/// One paid claim.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Paid {
    pub tier: u32,
    pub track: Track,
    pub granted: Granted,
}

/// Pays tier rewards to `user` from the claims ledger in one transaction: `which` names one
/// (tier, track) or, `None`, takes every claimable one. Each line pays once (the ledger and
/// a grant receipt keyed [`grant_key`] commit with the payment). `by` is `player` or
/// `season_end`.
pub async fn claim(
    game: &GameStore,
    season: &Season,
    user: UserId,
    which: Option<(u32, Track)>,
    by: &str,
) -> Result<Vec<Paid>, RpcError> {
    let now = game.now();
    if by == "player" {
        if now < season.starts_at {
            return Err(SeasonError::Closed(format!(
                "season `{}` has not started",
                season.season_id
            ))
            .into());
        }
        if now >= season.ends_at
            || season.state == SeasonState::Ended
            || season.state == SeasonState::Settling
        {
            let why = match season.end_policy {
                EndPolicy::Close => "claims are closed",
                EndPolicy::AutoGrant => "unclaimed rewards were paid automatically at the end",
            };
            return Err(SeasonError::Closed(format!(
                "season `{}` has ended: {why}",
                season.season_id
            ))
            .into());
        }
    }
    if let Some((tier, track)) = which {
        if !(1..=season.max_tier).contains(&tier) {
            return Err(RpcError::invalid(format!(
                "tier must be between 1 and {}, not {tier}",
                season.max_tier
            )));
        }
        if !season.rewards(track).contains_key(&tier) {
            return Err(SeasonError::NotFound(format!(
                "tier {tier} has no {} reward",
                track.as_str()
            ))
            .into());
        }
    }
    let ids: std::collections::BTreeMap<(u32, Track), Vec<uuid::Uuid>> =
        [Track::Free, Track::Premium]
            .into_iter()
            .flat_map(|t| season.rewards(t).iter().map(move |(n, r)| ((*n, t), r)))
            .filter(|(k, _)| which.is_none_or(|w| w == *k))
            .map(|(k, r)| (k, rewards::instance_ids(r)))
            .collect();
    let passes = game.tree(PASSES)?;
    let ledger = game.tree(CLAIMS)?;
    let sid = &season.season_id;
    let vault = Vault::open(game)?;
    let paid = vault.transaction(&[&passes, &ledger], |tx| {
        let p: Pass = tx.get(EXTRA, pass_key(sid, user))?.unwrap_or_default();
        let mut taken = std::collections::BTreeSet::new();
        for tier in 1..=p.tier.min(season.max_tier) {
            for track in [Track::Free, Track::Premium] {
                if season.rewards(track).contains_key(&tier)
                    && tx
                        .get::<Claim, RpcError>(EXTRA + 1, claim_key(sid, user, tier, track))?
                        .is_some()
                {
                    taken.insert((tier, track));
                }
            }
        }
        let lines = match which {
            Some((tier, track)) => {
                if taken.contains(&(tier, track)) {
                    return Err(fail(RpcError::from(SeasonError::AlreadyDone(format!(
                        "the {} reward of tier {tier} was already claimed",
                        track.as_str()
                    )))));
                }
                if tier > p.tier {
                    return Err(fail(RpcError::from(SeasonError::Precondition(format!(
                        "tier {tier} is not reached yet (tier {}, {} XP)",
                        p.tier, p.xp
                    )))));
                }
                if track == Track::Premium && !p.premium {
                    return Err(fail(RpcError::from(SeasonError::Precondition(
                        "premium rewards need the premium pass (season_purchase_premium)".into(),
                    ))));
                }
                vec![(tier, track)]
            }
            None => rules::claimable(season, &p, &|t, k| taken.contains(&(t, k))),
        };
        let mut out = Vec::with_capacity(lines.len());
        for (tier, track) in lines {
            let reward = &season.rewards(track)[&tier];
            let reason = format!("season {sid} tier {tier} {}", track.as_str());
            let key = grant_key(sid, tier, track);
            let request = serde_json::json!({ "reward": reward, "reason": reason });
            let no_ids = Vec::new();
            let item_ids = ids.get(&(tier, track)).unwrap_or(&no_ids);
            let (granted, _) = vault::once(tx, user, GRANTS, Some(&key), &request, || {
                rewards::grant_in::<RpcError>(tx, user, reward, &reason, item_ids)
            })?;
            tx.insert(
                EXTRA + 1,
                claim_key(sid, user, tier, track),
                &Claim {
                    tier,
                    track,
                    reward: reward.clone(),
                    by: by.to_string(),
                    at: now,
                },
            )?;
            out.push(Paid {
                tier,
                track,
                granted,
            });
        }
        Ok(out)
    })?;
    game.durable().await?;
    Ok(paid)
}

/// Buys the premium pass: the price leaves the wallet in the same transaction that marks
/// the pass premium (bought once; a retry is refused and charges nothing).
pub async fn purchase_premium(
    game: &GameStore,
    season: &Season,
    user: UserId,
) -> Result<(Pass, wallet::Applied), RpcError> {
    let now = game.now();
    if !rules::is_running(season, now) {
        return Err(SeasonError::Closed(format!(
            "season `{}` is not running: premium is sold from its start to its end",
            season.season_id
        ))
        .into());
    }
    if season.premium_price.is_empty() {
        return Err(SeasonError::Precondition(format!(
            "season `{}` has no premium pass for sale",
            season.season_id
        ))
        .into());
    }
    let sid = &season.season_id;
    let change = Change {
        changeset: season
            .premium_price
            .iter()
            .map(|(c, a)| (c.clone(), -a))
            .collect(),
        reason: format!("season {sid} premium pass"),
        idempotency_key: Some(format!("season:{sid}:premium")),
        ..Default::default()
    };
    let passes = game.tree(PASSES)?;
    let history = game.tree(HISTORY)?;
    let vault = Vault::open(game)?;
    let done = vault.transaction(&[&passes, &history], |tx| {
        let mut p: Pass = tx.get(EXTRA, pass_key(sid, user))?.unwrap_or_default();
        if p.premium {
            return Err(fail(RpcError::from(SeasonError::AlreadyDone(format!(
                "the premium pass of season `{sid}` is already bought"
            )))));
        }
        let applied = wallet::apply_in::<RpcError>(tx, user, &change)?;
        p.premium = true;
        p.premium_at = Some(now);
        p.updated_at = now;
        tx.insert(EXTRA, pass_key(sid, user), &p)?;
        tx.insert(EXTRA + 1, Key::new().uuid(user).str(sid), &())?;
        Ok((p, applied))
    })?;
    game.durable().await?;
    Ok(done)
}

/// The seasons a player took part in, newest first.
pub fn history(game: &GameStore, user: UserId) -> Result<Vec<String>, StoreError> {
    let prefix = Key::new().uuid(user);
    let plen = prefix.as_bytes().len();
    let mut ids = Vec::new();
    for r in game.tree(HISTORY)?.scan_prefix::<()>(&prefix) {
        let (k, ()) = r?;
        if let Some(id) = KeyReader::new(&k[plen..]).str() {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

fn set_state(
    game: &GameStore,
    id: &str,
    from: &[SeasonState],
    to: SeasonState,
) -> Result<bool, RpcError> {
    let tree = game.tree(SEASONS)?;
    Tree::transaction(&[&tree], |tx| {
        let Some(mut s) = tx.get::<Season, RpcError>(0, season_key(id))? else {
            return Ok(false);
        };
        if !from.contains(&s.state) {
            return Ok(false);
        }
        s.state = to;
        tx.insert(0, season_key(id), &s)?;
        Ok(true)
    })
}

/// Job `season_start`: a scheduled season becomes active at its start.
async fn start_job(_app: App, game: GameStore, id: String) -> Result<(), RpcError> {
    let Some(s) = load(&game, &id)? else {
        return Ok(());
    };
    if game.now() >= s.starts_at
        && set_state(&game, &id, &[SeasonState::Scheduled], SeasonState::Active)?
    {
        game.durable().await?;
        tracing::info!(game_id = %game.id(), season_id = %id, "season started");
    }
    Ok(())
}

/// Job `season_end`: at its end a season stops counting XP and taking claims; with
/// `auto_grant`, every reached and unclaimed reward is paid. Re-running resumes a payout
/// cut short (the ledger pays each line once).
async fn end_job(app: App, game: GameStore, id: String) -> Result<(), RpcError> {
    let Some(s) = load(&game, &id)? else {
        return Ok(());
    };
    if game.now() < s.ends_at || s.state == SeasonState::Ended {
        return Ok(());
    }
    set_state(
        &game,
        &id,
        &[SeasonState::Scheduled, SeasonState::Active],
        SeasonState::Settling,
    )?;
    if s.end_policy == EndPolicy::AutoGrant {
        let prefix = Key::new().str(&id);
        let plen = prefix.as_bytes().len();
        let users: Vec<UserId> = game
            .tree(PASSES)?
            .scan_prefix::<Pass>(&prefix)
            .filter_map(|r| r.ok())
            .filter_map(|(k, _)| KeyReader::new(&k[plen..]).uuid())
            .collect();
        for user in users {
            let paid = claim(&game, &s, user, None, "season_end").await?;
            for p in &paid {
                let reason = format!("season {id} tier {} {}", p.tier, p.track.as_str());
                if let Err(e) = rewards::announce(&app.bus, &game, user, &p.granted, &reason) {
                    tracing::warn!(error = %e, "season reward paid, notification not stored");
                }
            }
        }
    }
    set_state(&game, &id, &[SeasonState::Settling], SeasonState::Ended)?;
    game.durable().await?;
    tracing::info!(game_id = %game.id(), season_id = %id, "season ended");
    Ok(())
}
