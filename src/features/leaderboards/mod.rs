//! Leaderboards: boards of scores per game, one record per owner per period, ranked best
//! first by the board's sort (`desc` or `asc`), ties ordered by who got there first (or by
//! owner id, as Nakama does). A submission combines with the record by the board's operator
//! (`best`, `set`, `incr`, `decr`) and is checked server-side (`max_score`, `max_delta`,
//! `max_num_score`, a per-board rate limit); a refused one changes nothing. A board may reset
//! on a schedule (daily, weekly, monthly or cron, in UTC and in the game's time): the
//! finished period stays readable by its `expiry`, as in Nakama. Admins hide an owner from a
//! board (they still see themself); banned players are hidden while banned.
//!
//! Sled holds the truth (definitions, records, hidden owners). Ranks come from an in-memory
//! [`ranking::Ranking`] per board and period (rank, page and around-me in O(log n)), built
//! **lazily on a board's first use** after start (a million records take about a second,
//! see `bench/RESULTS.md`) and updated after each transaction commits. Archived periods are
//! built on demand and a few are cached.
//!
//! # Public API (what other features call; signatures stay, new ones are added)
//!
//! - [`create`]`(app, game, Definition) -> Board`, [`board`]`(game, id) -> Board`,
//!   [`boards`]`(game, limit, cursor)`, [`delete`]`(app, game, id)`.
//! - [`submit`]`(app, game, id, owner, Submission, Submitter) -> Standing` (the record with
//!   its rank); [`submit_many`] for several, all or nothing.
//! - Reads, each with an optional `expiry` (an archived period) and a `viewer` (a hidden
//!   viewer still sees themself): [`top`], [`around`], [`rank`], [`records_for`], and
//!   [`read`] taking a whole [`Query`].
//! - [`reset_if_due`]`(app, game, id)` (what the scheduled reset runs), [`archive`]`(app,
//!   game, id)` (closes the current period now, whatever the schedule),
//!   [`set_hidden`]`(app, game, id, owner, hidden, by)`.
//!
//! Errors are [`LeaderboardError`], which maps onto [`RpcError`].

pub mod cron;
pub mod model;
pub mod ranking;
pub(crate) mod rpc;
pub mod rules;

pub use model::{
    Board, Definition, Listing, Operator, Period, Record, Sort, Standing, Submission, Submitters,
    Tie,
};
pub use rules::Item;

use std::collections::{HashMap, HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::app::App;
use crate::auth::UserId;
use crate::features::paging;
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{Abort, GameId, GameStore, Key, StoreError, Tree};
use ranking::Ranking;

/// `g/<game>/leaderboards.id`: board id → [`Board`].
pub const BOARDS: &str = "leaderboards.id";
/// `g/<game>/leaderboards.id_period_owner`: (board, period, owner) → [`Record`].
pub const RECORDS: &str = "leaderboards.id_period_owner";
/// `g/<game>/leaderboards.id_owner_hidden`: (board, owner) → [`Hidden`].
pub const HIDDEN: &str = "leaderboards.id_owner_hidden";
/// `g/<game>/leaderboards.id_seq`: board → order-of-arrival counter (u64).
pub const SEQ: &str = "leaderboards.id_seq";
/// The scheduled-job kind of a board's reset; the subject is the board id.
pub const RESET_JOB: &str = "leaderboard_reset";

/// Most records in one page (Nakama's limit).
pub const MAX_LIMIT: u32 = 1000;
/// Most owners named in one read.
pub const MAX_OWNER_IDS: usize = 100;
/// How long a snapshot of active bans is trusted before it is read again.
const BAN_REFRESH: Duration = Duration::from_secs(1);
/// Archived periods kept built in memory.
const ARCHIVES_CACHED: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum LeaderboardError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Exists(String),
    /// A submission over a limit (`max_score`, `max_delta`, `max_num_score`).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Denied(String),
    #[error("leaderboard {board}: more than {per_minute} submissions a minute")]
    RateLimited {
        board: String,
        per_minute: u32,
        retry_after_secs: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LeaderboardError> for RpcError {
    fn from(e: LeaderboardError) -> Self {
        match e {
            LeaderboardError::Invalid(m) => RpcError::InvalidArgument(m),
            LeaderboardError::NotFound(m) => RpcError::NotFound(m),
            LeaderboardError::Exists(m) => RpcError::AlreadyExists(m),
            LeaderboardError::Refused(m) => RpcError::FailedPrecondition(m),
            LeaderboardError::Denied(m) => RpcError::PermissionDenied(m),
            LeaderboardError::RateLimited {
                retry_after_secs, ..
            } => RpcError::RateLimited { retry_after_secs },
            LeaderboardError::Store(s) => s.into(),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.admin("leaderboard_create", Limit::Write, rpc::create);
    r.admin("leaderboard_list", Limit::Read, rpc::list);
    r.admin("leaderboard_delete", Limit::Write, rpc::delete);
    r.admin("leaderboard_hide_owner", Limit::Write, rpc::hide);
    r.admin("leaderboard_unhide_owner", Limit::Write, rpc::unhide);
    r.admin("leaderboard_archive", Limit::Write, rpc::archive);
    r.player("submit_score", Limit::Write, rpc::submit);
    r.player("get_leaderboard", Limit::Read, rpc::get);
    r.player("leaderboard_get_rank", Limit::Read, rpc::get_rank);
    r.player(
        "batch_leaderboard_submissions",
        Limit::Write,
        rpc::batch_submit,
    );
    r.job(RESET_JOB, reset_job);
}

/// Who is submitting: a player for themself, or trusted server logic (server/admin callers,
/// other features such as tournaments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitter {
    Player,
    Server,
}

/// An admin's hiding of an owner from a board, as stored.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Hidden {
    pub by: String,
    pub at: i64,
}

fn board_key(id: &str) -> Key {
    Key::new().str(id)
}

fn record_key(id: &str, period: u64, owner: Uuid) -> Key {
    Key::new().str(id).u64(period).uuid(owner)
}

fn hidden_key(id: &str, owner: Uuid) -> Key {
    Key::new().str(id).uuid(owner)
}

/// The game's clock (Unix seconds).
fn now(game: &GameStore) -> i64 {
    game.now()
}

// ---------------------------------------------------------------------------------------
// In-memory state
// ---------------------------------------------------------------------------------------

type Keyed = governor::RateLimiter<
    Uuid,
    governor::state::keyed::DefaultKeyedStateStore<Uuid>,
    governor::clock::DefaultClock,
>;

/// The derived, in-memory side of every game's leaderboards (one per server, in `App`).
#[derive(Default)]
pub struct Live {
    boards: Mutex<HashMap<(GameId, String), Arc<LiveBoard>>>,
    bans: Mutex<BanSnapshot>,
    archives: Mutex<VecDeque<Arc<Archive>>>,
}

#[derive(Default)]
struct BanSnapshot {
    version: u64,
    fetched: Option<Instant>,
    banned: Arc<HashSet<Uuid>>,
}

#[derive(Default)]
struct LiveBoard {
    /// Serialises writes to the board (submits, resets, hiding) and its first load.
    write: tokio::sync::Mutex<()>,
    state: RwLock<Option<Loaded>>,
    limiter: Mutex<Option<(u32, Arc<Keyed>, u32)>>,
    /// Bumped when an owner is hidden or shown again (invalidates cached archives).
    hidden_version: std::sync::atomic::AtomicU64,
}

/// The current period of a board, ranked.
struct Loaded {
    sort: Sort,
    tie: Tie,
    period: u64,
    ranking: Ranking<Item>,
    hidden: HashSet<Uuid>,
    /// Banned owners taken out of `ranking`.
    banned: HashSet<Uuid>,
    ban_version: u64,
}

impl Loaded {
    fn excluded(&self, owner: &Uuid) -> bool {
        self.hidden.contains(owner) || self.banned.contains(owner)
    }
}

/// An archived period, ranked (cached).
struct Archive {
    game: GameId,
    board: String,
    period: u64,
    ban_version: u64,
    hidden_version: u64,
    sort: Sort,
    tie: Tie,
    ranking: Ranking<Item>,
    excluded: HashSet<Uuid>,
}

impl Live {
    fn board(&self, game: GameId, id: &str) -> Arc<LiveBoard> {
        let mut boards = self.boards.lock().unwrap_or_else(|p| p.into_inner());
        boards.entry((game, id.to_string())).or_default().clone()
    }

    fn forget(&self, game: GameId, id: &str) {
        self.boards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(game, id.to_string()));
        self.archives
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|a| !(a.game == game && a.board == id));
    }

    /// Active bans, read again when older than [`BAN_REFRESH`].
    fn bans(&self, app: &App) -> (u64, Arc<HashSet<Uuid>>) {
        let mut b = self.bans.lock().unwrap_or_else(|p| p.into_inner());
        if b.fetched.is_none_or(|t| t.elapsed() >= BAN_REFRESH) {
            match app.auth.bans(false) {
                Ok(list) => {
                    let now: HashSet<Uuid> = list.into_iter().map(|b| b.user_id).collect();
                    if b.fetched.is_none() || now != *b.banned {
                        b.version += 1;
                        b.banned = Arc::new(now);
                    }
                    b.fetched = Some(Instant::now());
                }
                Err(e) => tracing::warn!(error = %e, "reading bans for leaderboards failed"),
            }
        }
        (b.version, b.banned.clone())
    }

    /// Bytes held by the ranks of every loaded board (for `detailed_health_check` and the
    /// bench).
    pub fn heap_bytes(&self) -> usize {
        let boards: Vec<Arc<LiveBoard>> = self
            .boards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        boards
            .iter()
            .filter_map(|b| {
                b.state
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .map(|l| l.ranking.heap_bytes())
            })
            .sum()
    }

    /// Ranked records held in memory across loaded boards.
    pub fn entries(&self) -> usize {
        let boards: Vec<Arc<LiveBoard>> = self
            .boards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        boards
            .iter()
            .filter_map(|b| {
                b.state
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .map(|l| l.ranking.len())
            })
            .sum()
    }
}

struct Trees {
    boards: Tree,
    records: Tree,
    hidden: Tree,
    seq: Tree,
}

fn trees(game: &GameStore) -> Result<Trees, StoreError> {
    Ok(Trees {
        boards: game.tree(BOARDS)?,
        records: game.tree(RECORDS)?,
        hidden: game.tree(HIDDEN)?,
        seq: game.tree(SEQ)?,
    })
}

/// A stored board, or `NotFound` naming it.
pub fn board(game: &GameStore, id: &str) -> Result<Board, LeaderboardError> {
    rules::check_id(id)?;
    game.tree(BOARDS)?
        .get(board_key(id))?
        .ok_or_else(|| LeaderboardError::NotFound(format!("leaderboard `{id}` not found")))
}

/// Boards of a game in id order, a page at a time.
pub fn boards(
    game: &GameStore,
    limit: usize,
    cursor: Option<&str>,
) -> Result<(Vec<Board>, Option<String>), RpcError> {
    let start = paging::start(cursor)?;
    let page = game
        .tree(BOARDS)?
        .page::<Board>(&[], start.as_deref(), limit)?;
    Ok((
        page.entries.iter().map(|(_, b)| b.clone()).collect(),
        paging::next(&page),
    ))
}

/// Reads the current period's records (without the excluded owners) into a ranking.
/// Blocking: a million records take about a second.
fn load_period(
    t: &Trees,
    def: &Definition,
    period: u64,
    excluded: &dyn Fn(&Uuid) -> bool,
) -> Result<Ranking<Item>, StoreError> {
    let prefix = Key::new().str(&def.id).u64(period);
    let mut items = Vec::new();
    for entry in t.records.scan_prefix::<Record>(prefix) {
        let (_, r) = entry?;
        if !excluded(&r.owner_id) {
            items.push(Item::of(def, &r));
        }
    }
    items.sort_unstable();
    Ok(Ranking::from_sorted(items))
}

fn hidden_owners(t: &Trees, id: &str) -> Result<HashSet<Uuid>, StoreError> {
    let mut set = HashSet::new();
    for entry in t.hidden.scan_prefix::<Hidden>(Key::new().str(id)) {
        let (k, _) = entry?;
        let mut r = crate::store::KeyReader::new(&k);
        r.str();
        if let Some(owner) = r.uuid() {
            set.insert(owner);
        }
    }
    Ok(set)
}

/// Builds the board's current period in memory if it is not (the caller holds `write`).
async fn load_locked(
    app: &App,
    game: &GameStore,
    lb: &LiveBoard,
    b: &Board,
) -> Result<(), LeaderboardError> {
    let fresh = lb
        .state
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_some_and(|l| l.period == b.period);
    if fresh {
        return Ok(());
    }
    let (ban_version, banned) = app.leaderboards.bans(app);
    let game = game.clone();
    let def = b.definition.clone();
    let period = b.period;
    let loaded = tokio::task::spawn_blocking(move || -> Result<Loaded, StoreError> {
        let t = trees(&game)?;
        let hidden = hidden_owners(&t, &def.id)?;
        let ranking = load_period(&t, &def, period, &|o| {
            hidden.contains(o) || banned.contains(o)
        })?;
        Ok(Loaded {
            sort: def.sort,
            tie: def.tie,
            period,
            ranking,
            hidden,
            banned: banned.iter().copied().collect(),
            ban_version,
        })
    })
    .await
    .map_err(|e| StoreError::Sled(format!("loading a leaderboard: {e}")))??;
    *lb.state.write().unwrap_or_else(|p| p.into_inner()) = Some(loaded);
    Ok(())
}

/// Brings the loaded period in line with the current bans (owners banned since are taken
/// out, owners whose ban lifted are put back).
fn sync_bans(app: &App, t: &Trees, lb: &LiveBoard, id: &str) -> Result<(), StoreError> {
    let (version, banned) = app.leaderboards.bans(app);
    let stale = lb
        .state
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_some_and(|l| l.ban_version != version);
    if !stale {
        return Ok(());
    }
    let mut guard = lb.state.write().unwrap_or_else(|p| p.into_inner());
    let Some(l) = guard.as_mut() else {
        return Ok(());
    };
    if l.ban_version == version {
        return Ok(());
    }
    let def_of = |l: &Loaded| {
        let mut d = Definition::new(id);
        d.sort = l.sort;
        d.tie = l.tie;
        d
    };
    let def = def_of(l);
    let newly: Vec<Uuid> = banned.difference(&l.banned).copied().collect();
    let lifted: Vec<Uuid> = l.banned.difference(&banned).copied().collect();
    for owner in newly {
        l.banned.insert(owner);
        if l.hidden.contains(&owner) {
            continue;
        }
        if let Some(r) = t.records.get::<Record>(record_key(id, l.period, owner))? {
            l.ranking.remove(&Item::of(&def, &r));
        }
    }
    for owner in lifted {
        l.banned.remove(&owner);
        if l.hidden.contains(&owner) {
            continue;
        }
        if let Some(r) = t.records.get::<Record>(record_key(id, l.period, owner))? {
            l.ranking.insert(Item::of(&def, &r));
        }
    }
    l.ban_version = version;
    Ok(())
}

/// Closes the current period if it is due (or `force`), holding `write`: the period is
/// archived under its expiry, a new one starts, and the next reset is scheduled.
async fn roll_locked(
    game: &GameStore,
    lb: &LiveBoard,
    b: &mut Board,
    force: bool,
) -> Result<bool, LeaderboardError> {
    let at = now(game);
    let due = b.expiry != 0 && at >= b.expiry;
    if !due && !force {
        return Ok(false);
    }
    let cron = rules::schedule(&b.definition.reset)?;
    let ended = if due { b.expiry } else { at };
    b.archived.push(Period {
        period: b.period,
        started_at: b.period_started_at,
        expiry: ended,
    });
    b.period += 1;
    b.period_started_at = ended;
    b.expiry = rules::expiry_after(cron.as_ref(), at)?;
    game.tree(BOARDS)?.insert(board_key(&b.definition.id), b)?;
    game.durable().await?;
    {
        let mut state = lb.state.write().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = state.as_mut() {
            l.period = b.period;
            l.ranking = Ranking::new();
        }
    }
    schedule_reset(game, b);
    tracing::info!(
        game = %game.id(),
        leaderboard = %b.definition.id,
        period = b.period,
        next_reset = b.expiry,
        "leaderboard period archived"
    );
    Ok(true)
}

/// Asks the scheduler to reset the board at its expiry (nothing for a board that never
/// resets).
fn schedule_reset(game: &GameStore, b: &Board) {
    if b.expiry == 0 {
        return;
    }
    if let Err(e) = crate::features::schedule::at(game, b.expiry, RESET_JOB, &b.definition.id) {
        // The next read or submit after the expiry still rolls the period over.
        tracing::warn!(error = %e, leaderboard = %b.definition.id, "scheduling a reset failed");
    }
}

/// The scheduled reset of a board (subject: its id). A board deleted meanwhile is done.
async fn reset_job(app: App, game: GameStore, subject: String) -> Result<(), RpcError> {
    match reset_if_due(&app, &game, &subject).await {
        Ok(_) | Err(LeaderboardError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The board, with its period rolled over if a reset is due and its current period built
/// in memory and in line with current bans.
async fn open(
    app: &App,
    game: &GameStore,
    id: &str,
) -> Result<(Arc<LiveBoard>, Board), LeaderboardError> {
    let mut b = board(game, id)?;
    let lb = app.leaderboards.board(game.id(), id);
    let fresh = lb
        .state
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_some_and(|l| l.period == b.period);
    let due = b.expiry != 0 && now(game) >= b.expiry;
    if !fresh || due {
        let _w = lb.write.lock().await;
        b = board(game, id)?;
        roll_locked(game, &lb, &mut b, false).await?;
        load_locked(app, game, &lb, &b).await?;
    }
    sync_bans(app, &trees(game)?, &lb, id)?;
    Ok((lb, b))
}

// ---------------------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------------------

/// Creates a board; refused when the id is taken or the definition is invalid.
pub async fn create(
    app: &App,
    game: &GameStore,
    def: Definition,
) -> Result<Board, LeaderboardError> {
    let cron = rules::check_definition(&def)?;
    let at = now(game);
    let b = Board {
        created_at: at,
        period: 0,
        period_started_at: at,
        expiry: rules::expiry_after(cron.as_ref(), at)?,
        archived: Vec::new(),
        definition: def,
    };
    if !game
        .tree(BOARDS)?
        .insert_new(board_key(&b.definition.id), &b)?
    {
        return Err(LeaderboardError::Exists(format!(
            "leaderboard `{}` already exists",
            b.definition.id
        )));
    }
    game.durable().await?;
    app.leaderboards.forget(game.id(), &b.definition.id);
    schedule_reset(game, &b);
    Ok(b)
}

/// Deletes a board with every period's records and hidden owners.
pub async fn delete(app: &App, game: &GameStore, id: &str) -> Result<Board, LeaderboardError> {
    let lb = app.leaderboards.board(game.id(), id);
    let _w = lb.write.lock().await;
    let b = board(game, id)?;
    let g = game.clone();
    let key = id.to_string();
    tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
        let t = trees(&g)?;
        t.boards.remove(board_key(&key))?;
        for tree in [&t.records, &t.hidden] {
            let keys: Vec<Vec<u8>> = tree
                .scan_prefix::<serde::de::IgnoredAny>(Key::new().str(&key))
                .map(|e| e.map(|(k, _)| k))
                .collect::<Result<_, _>>()?;
            for k in keys {
                tree.remove(k)?;
            }
        }
        t.seq.remove(board_key(&key))?;
        Ok(())
    })
    .await
    .map_err(|e| StoreError::Sled(format!("deleting a leaderboard: {e}")))??;
    if b.expiry != 0 {
        crate::features::schedule::cancel(game, b.expiry, RESET_JOB, id)?;
    }
    game.durable().await?;
    *lb.state.write().unwrap_or_else(|p| p.into_inner()) = None;
    app.leaderboards.forget(game.id(), id);
    Ok(b)
}

/// Runs a due reset (what the scheduled job calls); false when none was due.
pub async fn reset_if_due(app: &App, game: &GameStore, id: &str) -> Result<bool, LeaderboardError> {
    let lb = app.leaderboards.board(game.id(), id);
    let _w = lb.write.lock().await;
    let mut b = board(game, id)?;
    let rolled = roll_locked(game, &lb, &mut b, false).await?;
    if !rolled {
        schedule_reset(game, &b);
    }
    Ok(rolled)
}

/// Closes the current period now, whatever the schedule: it is archived with `expiry` =
/// now, and an empty period starts. Returns the board.
pub async fn archive(app: &App, game: &GameStore, id: &str) -> Result<Board, LeaderboardError> {
    let lb = app.leaderboards.board(game.id(), id);
    let _w = lb.write.lock().await;
    let mut b = board(game, id)?;
    roll_locked(game, &lb, &mut b, true).await?;
    Ok(b)
}

/// Hides an owner from a board (`hidden`) or shows them again. A hidden owner's records stay
/// stored and they still see themself; nobody else does, and ranks close up.
pub async fn set_hidden(
    app: &App,
    game: &GameStore,
    id: &str,
    owner: UserId,
    hidden: bool,
    by: &str,
) -> Result<bool, LeaderboardError> {
    let lb = app.leaderboards.board(game.id(), id);
    let _w = lb.write.lock().await;
    let b = board(game, id)?;
    load_locked(app, game, &lb, &b).await?;
    let t = trees(game)?;
    let changed = if hidden {
        t.hidden.insert_new(
            hidden_key(id, owner),
            &Hidden {
                by: by.to_string(),
                at: now(game),
            },
        )?
    } else {
        t.hidden.remove(hidden_key(id, owner))?
    };
    game.durable().await?;
    lb.hidden_version
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let record: Option<Record> = t.records.get(record_key(id, b.period, owner))?;
    let mut state = lb.state.write().unwrap_or_else(|p| p.into_inner());
    if let Some(l) = state.as_mut() {
        if hidden {
            l.hidden.insert(owner);
        } else {
            l.hidden.remove(&owner);
        }
        if let Some(r) = record {
            let item = Item::of(&b.definition, &r);
            if hidden {
                l.ranking.remove(&item);
            } else if !l.banned.contains(&owner) {
                l.ranking.insert(item);
            }
        }
    }
    Ok(changed)
}

// ---------------------------------------------------------------------------------------
// Submissions
// ---------------------------------------------------------------------------------------

/// One submission of a batch.
#[derive(Debug, Clone)]
pub struct Entry {
    pub leaderboard_id: String,
    pub owner: UserId,
    pub submission: Submission,
}

/// Submits a score for `owner`: checked against the board's limits, combined by its
/// operator, stored, ranked. The reply is the record as it now stands, with its rank.
pub async fn submit(
    app: &App,
    game: &GameStore,
    id: &str,
    owner: UserId,
    submission: Submission,
    by: Submitter,
) -> Result<Standing, LeaderboardError> {
    let mut done = submit_many(
        app,
        game,
        vec![Entry {
            leaderboard_id: id.to_string(),
            owner,
            submission,
        }],
        by,
    )
    .await?;
    done.pop()
        .ok_or_else(|| LeaderboardError::Store(StoreError::Sled("no submission applied".into())))
}

/// Owners a read leaves out (hidden, banned).
type Excluded<'a> = Box<dyn Fn(&Uuid) -> bool + 'a>;

fn check_rate(lb: &LiveBoard, def: &Definition, owner: Uuid) -> Result<(), LeaderboardError> {
    let Some(per_minute) = def.submits_per_minute else {
        return Ok(());
    };
    let limiter = {
        let mut slot = lb.limiter.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = slot.as_ref().is_none_or(|(n, _, _)| *n != per_minute);
        if fresh {
            let q =
                governor::Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
            *slot = Some((per_minute, Arc::new(governor::RateLimiter::keyed(q)), 0));
        }
        let Some((_, l, uses)) = slot.as_mut() else {
            return Ok(());
        };
        *uses += 1;
        if uses.is_multiple_of(4096) {
            l.retain_recent();
            l.shrink_to_fit();
        }
        l.clone()
    };
    limiter.check_key(&owner).map_err(|not_until| {
        use governor::clock::Clock;
        let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
        LeaderboardError::RateLimited {
            board: def.id.clone(),
            per_minute,
            retry_after_secs: wait.as_secs().max(1),
        }
    })
}

/// Several submissions (to one board or many), all applied in one transaction or none.
/// Replies in the order given.
pub async fn submit_many(
    app: &App,
    game: &GameStore,
    entries: Vec<Entry>,
    by: Submitter,
) -> Result<Vec<Standing>, LeaderboardError> {
    // Definitions first: unknown boards, authority, shape and the rate limit, before any lock.
    let mut ids: Vec<String> = entries.iter().map(|e| e.leaderboard_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut live = Vec::with_capacity(ids.len());
    for id in &ids {
        let b = board(game, id)?;
        if by == Submitter::Player && b.definition.authoritative() {
            return Err(LeaderboardError::Denied(format!(
                "leaderboard `{id}` is authoritative: only the game server submits to it"
            )));
        }
        live.push(app.leaderboards.board(game.id(), id));
    }
    let usernames = {
        let mut m = HashMap::new();
        for e in &entries {
            if let std::collections::hash_map::Entry::Vacant(v) = m.entry(e.owner) {
                let account = app.auth.account(e.owner).map_err(|e| match e {
                    crate::auth::AuthError::NotFound(m) => LeaderboardError::NotFound(m),
                    other => LeaderboardError::Store(StoreError::Sled(other.to_string())),
                })?;
                v.insert(account.username);
            }
        }
        m
    };
    // Boards in id order, each write lock taken once, so batches never deadlock.
    let mut guards = Vec::with_capacity(live.len());
    for lb in &live {
        guards.push(lb.write.lock().await);
    }
    let mut stored: HashMap<String, Board> = HashMap::new();
    for (id, lb) in ids.iter().zip(&live) {
        let mut b = board(game, id)?;
        roll_locked(game, lb, &mut b, false).await?;
        load_locked(app, game, lb, &b).await?;
        stored.insert(id.clone(), b);
    }
    for e in &entries {
        let b = &stored[&e.leaderboard_id];
        rules::check_submission(&b.definition, &e.submission)?;
    }
    if by == Submitter::Player {
        for e in &entries {
            let i = ids.binary_search(&e.leaderboard_id).unwrap_or(0);
            check_rate(&live[i], &stored[&e.leaderboard_id].definition, e.owner)?;
        }
    }
    let t = trees(game)?;
    let at = now(game);
    let applied = Tree::transaction(&[&t.records, &t.seq], |tx| {
        let mut out = Vec::with_capacity(entries.len());
        for (n, e) in entries.iter().enumerate() {
            let b = &stored[&e.leaderboard_id];
            let key = record_key(&e.leaderboard_id, b.period, e.owner);
            let old: Option<Record> = tx.get(0, &key)?;
            let outcome =
                rules::apply(&b.definition, old.as_ref(), &e.submission).map_err(|err| {
                    match (entries.len(), err) {
                        (1, err) => Abort::Fail(err),
                        (_, LeaderboardError::Refused(m)) => {
                            Abort::Fail(LeaderboardError::Refused(format!("submissions[{n}]: {m}")))
                        }
                        (_, err) => Abort::Fail(err),
                    }
                })?;
            let seq = if outcome.moved {
                tx.increment(1, board_key(&e.leaderboard_id), 1)?
            } else {
                old.as_ref().map(|r| r.seq).unwrap_or(0)
            };
            let record = Record {
                owner_id: e.owner,
                username: usernames.get(&e.owner).cloned().unwrap_or_default(),
                score: outcome.score,
                subscore: outcome.subscore,
                num_score: old
                    .as_ref()
                    .map(|r| r.num_score)
                    .unwrap_or(0)
                    .saturating_add(1),
                metadata: match &e.submission.metadata {
                    Some(m) => m.clone(),
                    None => old.as_ref().map(|r| r.metadata.clone()).unwrap_or_default(),
                },
                create_time: old.as_ref().map(|r| r.create_time).unwrap_or(at),
                update_time: at,
                seq,
            };
            tx.insert(0, &key, &record)?;
            out.push((old, record));
        }
        Ok(out)
    })?;
    // Committed: the ranks follow, in the order the transaction applied.
    let mut ranks = Vec::with_capacity(applied.len());
    for (e, (old, new)) in entries.iter().zip(&applied) {
        let i = ids.binary_search(&e.leaderboard_id).unwrap_or(0);
        let def = &stored[&e.leaderboard_id].definition;
        let mut state = live[i].state.write().unwrap_or_else(|p| p.into_inner());
        let Some(l) = state.as_mut() else {
            ranks.push(0);
            continue;
        };
        let item = Item::of(def, new);
        if !l.excluded(&e.owner) {
            if let Some(o) = old {
                l.ranking.remove(&Item::of(def, o));
            }
            l.ranking.insert(item);
        }
        ranks.push(l.ranking.count_before(&item) as u64 + 1);
    }
    drop(guards);
    game.durable().await?;
    Ok(entries
        .iter()
        .zip(applied)
        .zip(ranks)
        .map(|((e, (_, r)), rank)| {
            let b = &stored[&e.leaderboard_id];
            standing(b, b.expiry, r, rank)
        })
        .collect())
}

/// Deletes `owner`'s record in the current period (Nakama's `DELETE /v2/leaderboard/{id}`);
/// false when there was none. Players may not delete from an authoritative board.
pub async fn delete_record(
    app: &App,
    game: &GameStore,
    id: &str,
    owner: UserId,
    by: Submitter,
) -> Result<bool, LeaderboardError> {
    let b = board(game, id)?;
    if by == Submitter::Player && b.definition.authoritative() {
        return Err(LeaderboardError::Denied(format!(
            "leaderboard `{id}` is authoritative: only the game server changes its records"
        )));
    }
    let lb = app.leaderboards.board(game.id(), id);
    let _w = lb.write.lock().await;
    let mut b = board(game, id)?;
    roll_locked(game, &lb, &mut b, false).await?;
    load_locked(app, game, &lb, &b).await?;
    let records = game.tree(RECORDS)?;
    let key = record_key(id, b.period, owner);
    let Some(old) = records.get::<Record>(&key)? else {
        return Ok(false);
    };
    records.remove(&key)?;
    if let Some(l) = lb.state.write().unwrap_or_else(|p| p.into_inner()).as_mut() {
        l.ranking.remove(&Item::of(&b.definition, &old));
    }
    drop(_w);
    game.durable().await?;
    Ok(true)
}

/// Writes records straight into a board's current period, in the order given (which orders
/// ties under `earliest`): for migrations (from Nakama) and tools run against a **stopped**
/// server — a running server that has the board in memory would not see them until its
/// next start. Returns how many were written.
pub fn import(
    game: &GameStore,
    id: &str,
    records: impl IntoIterator<Item = Record>,
) -> Result<usize, LeaderboardError> {
    let b = board(game, id)?;
    let t = trees(game)?;
    let mut seq = t.seq.increment(board_key(id), 0)?;
    let mut n = 0;
    for mut r in records {
        seq += 1;
        r.seq = seq;
        t.records.insert(record_key(id, b.period, r.owner_id), &r)?;
        n += 1;
    }
    t.seq
        .increment(board_key(id), seq - t.seq.increment(board_key(id), 0)?)?;
    game.store().flush()?;
    Ok(n)
}

fn standing(b: &Board, expiry: i64, r: Record, rank: u64) -> Standing {
    Standing {
        leaderboard_id: b.definition.id.clone(),
        owner_id: r.owner_id,
        username: r.username,
        score: r.score,
        subscore: r.subscore,
        num_score: r.num_score,
        max_num_score: b.definition.max_num_score.unwrap_or(0),
        metadata: r.metadata,
        create_time: r.create_time,
        update_time: r.update_time,
        expiry_time: expiry,
        rank,
    }
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

/// What a read asks for. `limit` defaults to 10 when neither `owner_ids` nor `around` is
/// given (then no page is read unless `limit` is).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// A page centred on this owner's record.
    pub around: Option<UserId>,
    pub owner_ids: Vec<UserId>,
    /// An archived period's expiry (Unix seconds); `None` or 0 for the current period.
    pub expiry: Option<i64>,
    /// Who is reading: an owner hidden from the board (or banned) still sees themself.
    pub viewer: Option<UserId>,
}

/// A ranking as one viewer sees it: the ranked items, plus the viewer's own item when they
/// are hidden from everyone else.
struct View<'a> {
    ranking: &'a Ranking<Item>,
    extra: Option<Item>,
}

impl View<'_> {
    fn len(&self) -> usize {
        self.ranking.len() + self.extra.is_some() as usize
    }

    fn count_before(&self, key: &Item) -> usize {
        self.ranking.count_before(key) + self.extra.is_some_and(|x| x < *key) as usize
    }

    fn count_through(&self, key: &Item) -> usize {
        self.count_before(key) + (self.ranking.contains(key) || self.extra == Some(*key)) as usize
    }

    fn range(&self, start: usize, n: usize) -> Vec<Item> {
        let Some(x) = self.extra else {
            return self.ranking.range(start, n);
        };
        let e = self.ranking.count_before(&x);
        if start > e {
            return self.ranking.range(start - 1, n);
        }
        let mut out = self.ranking.range(start, n.min(e - start));
        if out.len() < n {
            out.push(x);
            out.extend(self.ranking.range(e, n - out.len()));
        }
        out
    }
}

const CURSOR_NEXT: u8 = b'n';
const CURSOR_PREV: u8 = b'p';

fn encode_cursor(kind: u8, period: u64, item: Item) -> String {
    let mut b = Vec::with_capacity(49);
    b.push(kind);
    b.extend_from_slice(&period.to_be_bytes());
    b.extend_from_slice(&item.to_bytes());
    crate::store::encode_cursor(&b)
}

fn decode_cursor(text: &str, period: u64) -> Result<Option<(u8, Item)>, LeaderboardError> {
    let bad = || LeaderboardError::Invalid("cursor is not valid".into());
    let Some(b) = crate::store::decode_cursor(text).map_err(|_| bad())? else {
        return Ok(None);
    };
    if b.len() != 49 || !matches!(b[0], CURSOR_NEXT | CURSOR_PREV) {
        return Err(bad());
    }
    let p = u64::from_be_bytes(b[1..9].try_into().map_err(|_| bad())?);
    if p != period {
        return Err(LeaderboardError::Invalid(
            "cursor belongs to another period of this leaderboard".into(),
        ));
    }
    Ok(Some((b[0], Item::from_bytes(&b[9..]).ok_or_else(bad)?)))
}

/// Items picked under the lock, read from storage after it.
struct Picked {
    page: Vec<(Item, u64)>,
    owners: Vec<(Item, u64)>,
    next: Option<Item>,
    prev: Option<Item>,
    count: u64,
}

fn pick(
    view: &View,
    q: &Query,
    limit: Option<usize>,
    cursor: Option<(u8, Item)>,
    own_items: &[Item],
    around: Option<Item>,
) -> Picked {
    let len = view.len();
    let mut page = Vec::new();
    let (mut next, mut prev) = (None, None);
    if let Some(n) = limit {
        let start = match (cursor, around) {
            (Some((CURSOR_NEXT, k)), _) => Some(view.count_through(&k)),
            (Some((_, k)), _) => Some(view.count_before(&k).saturating_sub(n)),
            (None, Some(me)) => {
                let p = view.count_before(&me);
                Some(p.saturating_sub(n / 2).min(len.saturating_sub(n)))
            }
            (None, None) if q.around.is_some() => None,
            (None, None) => Some(0),
        };
        if let Some(start) = start {
            let items = view.range(start, n);
            if start > 0 {
                prev = items.first().copied();
            }
            if start + items.len() < len {
                next = items.last().copied();
            }
            page = items
                .into_iter()
                .enumerate()
                .map(|(i, it)| (it, (start + i) as u64 + 1))
                .collect();
        }
    }
    let owners = own_items
        .iter()
        .map(|it| (*it, view.count_before(it) as u64 + 1))
        .collect();
    Picked {
        page,
        owners,
        next,
        prev,
        count: len as u64,
    }
}

/// Reads a board: a page (from the top, from a cursor, or around an owner) and the records
/// of named owners, with ranks, in the current period or an archived one.
pub async fn read(
    app: &App,
    game: &GameStore,
    id: &str,
    q: Query,
) -> Result<Listing, LeaderboardError> {
    let limit = match (q.limit, q.around.is_some() || !q.owner_ids.is_empty()) {
        (Some(n), _) if !(1..=MAX_LIMIT).contains(&n) => {
            return Err(LeaderboardError::Invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}, not {n}"
            )))
        }
        (Some(n), _) => Some(n as usize),
        (None, false) => Some(10),
        (None, true) if q.around.is_some() => Some(10),
        (None, true) => None,
    };
    if q.owner_ids.len() > MAX_OWNER_IDS {
        return Err(LeaderboardError::Invalid(format!(
            "owner_ids may name at most {MAX_OWNER_IDS} owners"
        )));
    }
    let (lb, b) = open(app, game, id).await?;
    let expiry = q.expiry.filter(|e| *e != 0 && *e != b.expiry);
    let period = match expiry {
        None => Some((b.period, b.expiry)),
        Some(e) => b
            .archived
            .iter()
            .rev()
            .find(|p| p.expiry == e)
            .map(|p| (p.period, p.expiry)),
    };
    let Some((period, expiry_time)) = period else {
        // Nakama answers an expiry that names no period with an empty list.
        return Ok(Listing::default());
    };
    let cursor = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => decode_cursor(c, period)?,
    };
    let t = trees(game)?;
    let def = &b.definition;
    let get = |owner: Uuid| t.records.get::<Record>(record_key(id, period, owner));
    // Items of the named owners, the viewer and the owner to centre on, from storage.
    let mut wanted: Vec<Uuid> = q.owner_ids.clone();
    wanted.extend(q.viewer);
    wanted.extend(q.around);
    let mut items: HashMap<Uuid, Item> = HashMap::new();
    for o in wanted {
        if let std::collections::hash_map::Entry::Vacant(v) = items.entry(o) {
            if let Some(r) = get(o)? {
                v.insert(Item::of(def, &r));
            }
        }
    }
    let archive = if period == b.period {
        None
    } else {
        Some(archived(app, game, &lb, &b, period).await?)
    };
    let picked = {
        let state;
        let (ranking, excluded): (&Ranking<Item>, Excluded<'_>) = match &archive {
            Some(a) => (&a.ranking, Box::new(|o| a.excluded.contains(o))),
            None => {
                state = lb.state.read().unwrap_or_else(|p| p.into_inner());
                let Some(l) = state.as_ref() else {
                    return Err(LeaderboardError::Store(StoreError::Sled(
                        "leaderboard was not loaded".into(),
                    )));
                };
                (&l.ranking, Box::new(move |o| l.excluded(o)))
            }
        };
        let extra = q
            .viewer
            .filter(|v| excluded(v))
            .and_then(|v| items.get(&v).copied());
        let view = View { ranking, extra };
        let visible = |o: &Uuid| !excluded(o) || Some(*o) == q.viewer;
        let own_items: Vec<Item> = q
            .owner_ids
            .iter()
            .filter(|o| visible(o))
            .filter_map(|o| items.get(o).copied())
            .collect();
        let around = q
            .around
            .filter(|o| visible(o))
            .and_then(|o| items.get(&o).copied());
        pick(&view, &q, limit, cursor, &own_items, around)
    };
    let standings = |list: Vec<(Item, u64)>| -> Result<Vec<Standing>, LeaderboardError> {
        let mut out = Vec::with_capacity(list.len());
        for (it, rank) in list {
            if let Some(r) = get(it.owner(def.sort, def.tie))? {
                out.push(standing(&b, expiry_time, r, rank));
            }
        }
        Ok(out)
    };
    Ok(Listing {
        records: standings(picked.page)?,
        owner_records: standings(picked.owners)?,
        next_cursor: picked.next.map(|i| encode_cursor(CURSOR_NEXT, period, i)),
        prev_cursor: picked.prev.map(|i| encode_cursor(CURSOR_PREV, period, i)),
        rank_count: picked.count,
    })
}

/// An archived period ranked, from the cache or built now.
async fn archived(
    app: &App,
    game: &GameStore,
    lb: &LiveBoard,
    b: &Board,
    period: u64,
) -> Result<Arc<Archive>, LeaderboardError> {
    let live = &app.leaderboards;
    let (ban_version, banned) = live.bans(app);
    let hidden_version = lb.hidden_version.load(std::sync::atomic::Ordering::Relaxed);
    let cached = live
        .archives
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|a| {
            a.game == game.id()
                && a.board == b.definition.id
                && a.period == period
                && a.ban_version == ban_version
                && a.hidden_version == hidden_version
        })
        .cloned();
    if let Some(a) = cached {
        return Ok(a);
    }
    let g = game.clone();
    let def = b.definition.clone();
    let built = tokio::task::spawn_blocking(move || -> Result<Archive, StoreError> {
        let t = trees(&g)?;
        let mut excluded = hidden_owners(&t, &def.id)?;
        excluded.extend(banned.iter().copied());
        let ranking = load_period(&t, &def, period, &|o| excluded.contains(o))?;
        Ok(Archive {
            game: g.id(),
            board: def.id.clone(),
            period,
            ban_version,
            hidden_version,
            sort: def.sort,
            tie: def.tie,
            ranking,
            excluded,
        })
    })
    .await
    .map_err(|e| StoreError::Sled(format!("loading an archived period: {e}")))??;
    let a = Arc::new(built);
    debug_assert!(a.sort == b.definition.sort && a.tie == b.definition.tie);
    let mut cache = live.archives.lock().unwrap_or_else(|p| p.into_inner());
    cache.push_front(a.clone());
    cache.truncate(ARCHIVES_CACHED);
    Ok(a)
}

/// The best `limit` records (1–1000) of the current period.
pub async fn top(
    app: &App,
    game: &GameStore,
    id: &str,
    limit: u32,
    viewer: Option<UserId>,
) -> Result<Listing, LeaderboardError> {
    read(
        app,
        game,
        id,
        Query {
            limit: Some(limit),
            viewer,
            ..Default::default()
        },
    )
    .await
}

/// A page of `limit` records centred on `owner` (empty when they have no record).
pub async fn around(
    app: &App,
    game: &GameStore,
    id: &str,
    owner: UserId,
    limit: u32,
    viewer: Option<UserId>,
) -> Result<Listing, LeaderboardError> {
    read(
        app,
        game,
        id,
        Query {
            limit: Some(limit),
            around: Some(owner),
            viewer,
            ..Default::default()
        },
    )
    .await
}

/// `owner`'s record with its rank in the current period, if they have one (and the viewer
/// may see it).
pub async fn rank(
    app: &App,
    game: &GameStore,
    id: &str,
    owner: UserId,
    viewer: Option<UserId>,
) -> Result<Option<Standing>, LeaderboardError> {
    Ok(records_for(app, game, id, &[owner], viewer).await?.pop())
}

/// The records of `owners` (those who have one) with their ranks in the current period.
pub async fn records_for(
    app: &App,
    game: &GameStore,
    id: &str,
    owners: &[UserId],
    viewer: Option<UserId>,
) -> Result<Vec<Standing>, LeaderboardError> {
    Ok(read(
        app,
        game,
        id,
        Query {
            owner_ids: owners.to_vec(),
            viewer,
            ..Default::default()
        },
    )
    .await?
    .owner_records)
}
