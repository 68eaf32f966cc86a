//! What moves a tournament: joins and leaves (with the fee, in one vault transaction),
//! reported matches, and the scheduled steps — registration opens, play starts (brackets
//! seeded), the window closes, prizes are paid. Every step checks the state it moves from,
//! so a job re-run after a crash changes nothing that already happened, and prizes are
//! paid under one idempotency key per player and tournament.

use std::collections::HashSet;

use serde_json::Map;
use uuid::Uuid;

use super::formats::{self, Bracket, Entrant, Match, Placement, Report};
use super::model::{Entry, StageFormat, State, Tournament};
use super::rules::{self, Step};
use super::{
    board_id, bracket_key, by_user_key, entries, entry_key, get, prize_key, tournament_key,
    TournamentError, ADVANCE_JOB, BRACKETS, BY_USER, ENTRIES, TOURNAMENTS,
};
use crate::app::App;
use crate::auth::UserId;
use crate::features::leaderboards::{self, Definition, LeaderboardError, Submitter};
use crate::features::rewards;
use crate::features::schedule;
use crate::features::vault::{fail, Vault, EXTRA};
use crate::features::wallet::{self, Amounts, Change};
use crate::rpc::RpcError;
use crate::store::{Abort, GameStore, StoreError, Tree};

/// The scheduled job: runs every step that is due, in order.
pub async fn job(app: App, game: GameStore, subject: String) -> Result<(), RpcError> {
    let id: Uuid = subject
        .parse()
        .map_err(|_| RpcError::invalid(format!("tournament job subject `{subject}`")))?;
    match advance(&app, &game, id).await {
        // A tournament deleted since: nothing to do.
        Err(TournamentError::NotFound(_)) => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Applies every lifecycle step due now; returns the state reached.
pub async fn advance(app: &App, game: &GameStore, id: Uuid) -> Result<State, TournamentError> {
    for _ in 0..8 {
        let t = get(game, id)?;
        let Some(step) = rules::due(&t, game.now()) else {
            return Ok(t.state);
        };
        match step {
            Step::OpenRegistration => {
                update(game, id, |t| {
                    (t.state == State::Upcoming).then(|| t.state = State::Registration)
                })?;
            }
            Step::Start => start(app, game, &t).await?,
            Step::Qualify => qualify(app, game, &t).await?,
            Step::End => {
                end(app, game, id, "schedule").await?;
            }
            Step::Pay => pay(app, game, &t).await?,
        }
    }
    Ok(get(game, id)?.state)
}

/// Schedules every moment a tournament's state may change.
pub fn schedule_steps(game: &GameStore, t: &Tournament) -> Result<(), StoreError> {
    for at in [
        t.registration_at,
        t.starts_at,
        t.window_ends_at(),
        t.ends_at,
    ] {
        schedule::at(game, at, ADVANCE_JOB, &t.id.to_string())?;
    }
    Ok(())
}

/// Changes one tournament in its own transaction when `f` says it changed (`Some`).
fn update(
    game: &GameStore,
    id: Uuid,
    f: impl Fn(&mut Tournament) -> Option<()>,
) -> Result<Option<Tournament>, TournamentError> {
    let tree = game.tree(TOURNAMENTS)?;
    Tree::transaction(&[&tree], |tx| {
        let mut t: Tournament = tx
            .get(0, tournament_key(id))?
            .ok_or(fail(TournamentError::NotFound(id)))?;
        if f(&mut t).is_none() {
            return Ok(None);
        }
        tx.insert(0, tournament_key(id), &t)?;
        Ok(Some(t))
    })
}

/// Registration → active: a leaderboard stage gets its board; a bracket stage is seeded
/// from the entrants (fewer than two cancels the tournament and refunds the fees). A
/// recurring tournament creates its next instance.
async fn start(app: &App, game: &GameStore, t: &Tournament) -> Result<(), TournamentError> {
    if t.is_leaderboard() {
        let mut def = Definition::new(board_id(t.id));
        def.sort = match t.sort_order {
            super::model::SortOrder::Desc => leaderboards::Sort::Desc,
            super::model::SortOrder::Asc => leaderboards::Sort::Asc,
        };
        def.operator = match t.operator {
            super::model::Operator::Best => leaderboards::Operator::Best,
            super::model::Operator::Set => leaderboards::Operator::Set,
            super::model::Operator::Incr => leaderboards::Operator::Incr,
        };
        def.submitters = leaderboards::Submitters::Server;
        def.metadata
            .insert("tournament_id".into(), t.id.to_string().into());
        match leaderboards::create(app, game, def).await {
            Ok(_) | Err(LeaderboardError::Exists(_)) => {}
            Err(e) => return Err(e.into()),
        }
        update(game, t.id, |t| {
            (t.state == State::Registration).then(|| t.state = State::Active)
        })?;
    } else {
        seed_first_stage(game, t.id)?;
    }
    if t.recurrence.is_some() {
        create_next(game, t.id)?;
    }
    game.durable().await?;
    super::rooms::open_ready(app, game, t.id).await?;
    Ok(())
}

/// Seeds the first bracket stage, re-reading the entrants if a join slipped in meanwhile.
fn seed_first_stage(game: &GameStore, id: Uuid) -> Result<(), TournamentError> {
    let trees = [game.tree(TOURNAMENTS)?, game.tree(BRACKETS)?];
    for _ in 0..16 {
        let t = get(game, id)?;
        if t.state != State::Registration {
            return Ok(());
        }
        let es = entries(game, id)?;
        let now = game.now();
        let plan = if es.len() < 2 {
            None
        } else {
            let StageFormat::Bracket(format) = &t.stages[0].format else {
                return Ok(());
            };
            let entrants: Vec<Entrant> = es
                .iter()
                .map(|e| Entrant {
                    user_id: e.user_id,
                    joined: e.joined,
                    rating: e.rating,
                })
                .collect();
            let seeds = formats::seed(&entrants, t.seed_by);
            Some(format.rules().start(&seeds)?)
        };
        let count = es.len() as u32;
        let done = Tree::transaction(&[&trees[0], &trees[1]], |tx| {
            let mut t: Tournament = tx
                .get(0, tournament_key(id))?
                .ok_or(fail(TournamentError::NotFound(id)))?;
            if t.state != State::Registration {
                return Ok(true);
            }
            if t.players != count {
                return Ok(false);
            }
            match &plan {
                Some(b) => {
                    tx.insert(1, bracket_key(id, 0), b)?;
                    t.state = State::Active;
                    t.stage = 0;
                }
                None => {
                    t.state = State::Ended;
                    t.ended_by = Some("cancelled".into());
                    t.ended_at = Some(now);
                }
            }
            tx.insert(0, tournament_key(id), &t)?;
            Ok::<_, Abort<TournamentError>>(true)
        })?;
        if done {
            return Ok(());
        }
    }
    Err(TournamentError::NotNow(
        "players kept joining while the tournament started; it will retry".into(),
    ))
}

/// Creates a recurring tournament's next instance once (its id is kept on this one).
pub fn create_next(game: &GameStore, id: Uuid) -> Result<Option<Tournament>, TournamentError> {
    let t = get(game, id)?;
    let (Some(r), None) = (t.recurrence, t.next_instance) else {
        return Ok(None);
    };
    let now = game.now();
    let (registration_at, starts_at, ends_at) = rules::next_window(&t, r, now);
    let next = Tournament {
        id: Uuid::new_v4(),
        registration_at,
        starts_at,
        ends_at,
        state: if now >= registration_at {
            State::Registration
        } else {
            State::Upcoming
        },
        players: 0,
        stage: 0,
        results: Vec::new(),
        qualifying: Vec::new(),
        ended_by: None,
        ended_at: None,
        next_instance: None,
        instance: t.instance + 1,
        join_seq: 0,
        created_at: now,
        ..t.clone()
    };
    let tree = game.tree(TOURNAMENTS)?;
    let created = Tree::transaction(&[&tree], |tx| {
        let mut cur: Tournament = tx
            .get(0, tournament_key(id))?
            .ok_or(fail(TournamentError::NotFound(id)))?;
        if cur.next_instance.is_some() {
            return Ok(false);
        }
        cur.next_instance = Some(next.id);
        tx.insert(0, tournament_key(id), &cur)?;
        tx.insert(0, tournament_key(next.id), &next)?;
        Ok::<_, Abort<TournamentError>>(true)
    })?;
    if !created {
        return Ok(None);
    }
    schedule_steps(game, &next)?;
    Ok(Some(next))
}

/// The ranks of a leaderboard stage's board as placements: the best `want` (at least 100,
/// at most 1000), owners hidden or banned left out.
async fn board_placements(
    app: &App,
    game: &GameStore,
    t: &Tournament,
    want: u32,
) -> Result<Vec<Placement>, TournamentError> {
    let want = want.clamp(100, leaderboards::MAX_LIMIT);
    let listing = match leaderboards::top(app, game, &board_id(t.id), want, None).await {
        Ok(l) => l,
        Err(LeaderboardError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    Ok(listing
        .records
        .into_iter()
        .map(|s| Placement {
            user_id: s.owner_id,
            place: s.rank as u32,
            wins: 0,
            losses: 0,
            draws: 0,
            points: s.score,
            buchholz: None,
        })
        .collect())
}

/// The most places a tournament pays.
fn paid_places(t: &Tournament) -> u32 {
    t.prizes.iter().map(|p| p.to).max().unwrap_or(0)
}

/// A finished stage's standings, or a running bracket stage's as they stand: a bracket's
/// (provisional) standings, a leaderboard first stage's kept ranks once its window closed.
/// `None` for a stage not started, or a score window still running.
pub fn stage_standings(
    game: &GameStore,
    t: &Tournament,
    stage: usize,
) -> Result<Option<Vec<Placement>>, StoreError> {
    match t.stages.get(stage).map(|s| &s.format) {
        Some(StageFormat::Leaderboard) if stage < t.stage => Ok(Some(t.qualifying.clone())),
        Some(StageFormat::Bracket(_)) => {
            Ok(super::bracket(game, t.id, stage)?.map(|b| rules::provisional(&b)))
        }
        _ => Ok(None),
    }
}

/// Final standings of a tournament being ended now: the stages' standings, later stages
/// first (the running stage's provisional ones when it is not decided; a running score
/// window's live ranks).
async fn results_now(
    app: &App,
    game: &GameStore,
    t: &Tournament,
) -> Result<Vec<Placement>, TournamentError> {
    let mut results = Vec::new();
    for stage in (0..=t.stage).rev() {
        let rows = match stage_standings(game, t, stage)? {
            Some(rows) => rows,
            None if t.ranked_by_board() => board_placements(app, game, t, paid_places(t)).await?,
            None => continue,
        };
        results = merge(results, &rows);
    }
    Ok(results)
}

/// A leaderboard first stage's window closed: its ranks are kept, and the best `advance`
/// of the next stage go on into its bracket, seeded by rank. Fewer than two ranked players
/// end the tournament on the window's ranks.
async fn qualify(app: &App, game: &GameStore, t: &Tournament) -> Result<(), TournamentError> {
    let Some(next) = t.stages.get(1) else {
        return Ok(());
    };
    let advance = next.advance.unwrap_or(u32::MAX);
    let ranks = board_placements(app, game, t, paid_places(t).max(advance)).await?;
    let seeds: Vec<UserId> = ranks
        .iter()
        .take(advance as usize)
        .map(|p| p.user_id)
        .collect();
    let plan = match &next.format {
        StageFormat::Bracket(format) if seeds.len() >= 2 => Some(format.rules().start(&seeds)?),
        _ => None,
    };
    let id = t.id;
    let now = game.now();
    // An ending here is paid by the job, stored durable with the change.
    if plan.is_none() {
        schedule::at(game, now, ADVANCE_JOB, &id.to_string())?;
    }
    let trees = [game.tree(TOURNAMENTS)?, game.tree(BRACKETS)?];
    Tree::transaction(&[&trees[0], &trees[1]], |tx| {
        let mut t: Tournament = tx
            .get(0, tournament_key(id))?
            .ok_or(fail(TournamentError::NotFound(id)))?;
        if t.state != State::Active || t.stage != 0 {
            return Ok(());
        }
        t.qualifying = ranks.clone();
        match &plan {
            Some(b) => {
                tx.insert(1, bracket_key(id, 1), b)?;
                t.stage = 1;
            }
            None => {
                t.state = State::Ended;
                t.results = ranks.clone();
                t.ended_by = Some("schedule".into());
                t.ended_at = Some(now);
            }
        }
        tx.insert(0, tournament_key(id), &t)?;
        Ok::<_, Abort<TournamentError>>(())
    })?;
    game.durable().await?;
    super::rooms::open_ready(app, game, id).await?;
    Ok(())
}

/// `later` (a later stage's standings) followed by the rows of `earlier` for players not
/// in it, their places continuing after `later`'s and keeping their ties.
pub fn merge(later: Vec<Placement>, earlier: &[Placement]) -> Vec<Placement> {
    if later.is_empty() {
        return earlier.to_vec();
    }
    let seen: HashSet<UserId> = later.iter().map(|p| p.user_id).collect();
    let mut out = later;
    let offset = out.len() as u32;
    let rest: Vec<&Placement> = earlier
        .iter()
        .filter(|p| !seen.contains(&p.user_id))
        .collect();
    let mut place = 0;
    for (i, p) in rest.iter().enumerate() {
        if i == 0 || p.place != rest[i - 1].place {
            place = offset + i as u32 + 1;
        }
        out.push(Placement {
            place,
            ..(*p).clone()
        });
    }
    out
}

/// Active → ended, with the results as they stand (`by`: `schedule`, `admin`).
/// Registration or upcoming → ended as cancelled (fees are refunded when paying).
pub async fn end(
    app: &App,
    game: &GameStore,
    id: Uuid,
    by: &str,
) -> Result<Tournament, TournamentError> {
    let t = get(game, id)?;
    let results = match t.state {
        State::Active => results_now(app, game, &t).await?,
        State::Upcoming | State::Registration => Vec::new(),
        s => {
            return Err(TournamentError::NotNow(format!(
                "tournament {id} has already ended ({})",
                s.as_str()
            )))
        }
    };
    let now = game.now();
    let from = t.state;
    // The payout job is stored before and after the change, and both are made durable
    // with it: whatever a crash keeps, an ended tournament has its job.
    schedule::at(game, now, ADVANCE_JOB, &id.to_string())?;
    let ended = update(game, id, |t| {
        if t.state != from {
            return None;
        }
        t.state = State::Ended;
        t.ended_at = Some(now);
        if from == State::Active {
            t.results = results.clone();
            t.ended_by = Some(by.to_string());
        } else {
            t.ended_by = Some("cancelled".into());
        }
        Some(())
    })?;
    if ended.is_some() {
        schedule::at(game, now, ADVANCE_JOB, &id.to_string())?;
    }
    game.durable().await?;
    match ended {
        Some(t) => Ok(t),
        None => Err(TournamentError::NotNow(format!(
            "tournament {id} changed state meanwhile; try again"
        ))),
    }
}

/// Ended → rewards distributed: each placed player with a prize is paid (once, under
/// [`prize_key`]) and notified; a cancelled tournament refunds every fee instead.
async fn pay(app: &App, game: &GameStore, t: &Tournament) -> Result<(), TournamentError> {
    if t.ended_by.as_deref() == Some("cancelled") {
        for e in entries(game, t.id)? {
            refund(game, t, &e).await?;
        }
    }
    for row in &t.results {
        if let Some(reward) = t.prize_for(row.place) {
            rewards::grant_and_notify(
                &app.bus,
                game,
                row.user_id,
                reward,
                &prize_reason(t, row.place),
                Some(&prize_key(t.id)),
            )
            .await?;
        }
    }
    update(game, t.id, |t| {
        (t.state == State::Ended).then(|| t.state = State::RewardsDistributed)
    })?;
    game.durable().await?;
    Ok(())
}

pub fn prize_reason(t: &Tournament, place: u32) -> String {
    format!("tournament {} ({}): place {place}", t.title, t.id)
}

fn refund_change(t: &Tournament, fee: &Amounts, key: Option<String>) -> Change {
    Change {
        changeset: fee.clone(),
        reason: format!("tournament {} refund", t.id),
        metadata: Map::new(),
        idempotency_key: key,
    }
}

async fn refund(game: &GameStore, t: &Tournament, e: &Entry) -> Result<(), TournamentError> {
    if e.fee.is_empty() {
        return Ok(());
    }
    let key = format!("tournament:{}:refund:{}", t.id, e.joined);
    wallet::apply(game, e.user_id, &refund_change(t, &e.fee, Some(key))).await?;
    Ok(())
}

/// What a join did.
pub struct Joined {
    pub entry: Entry,
    pub tournament: Tournament,
    /// The player had joined before: nothing was charged again.
    pub already: bool,
    /// The wallet after the fee (empty when there was none).
    pub wallet: Amounts,
}

/// Joins `user`: open for joining, not full, fee taken in the same transaction.
pub async fn join(
    game: &GameStore,
    id: Uuid,
    user: UserId,
    username: &str,
    rating: Option<f64>,
) -> Result<Joined, TournamentError> {
    let now = game.now();
    let vault = Vault::open(game)?;
    let (t_tree, e_tree, u_tree) = (
        game.tree(TOURNAMENTS)?,
        game.tree(ENTRIES)?,
        game.tree(BY_USER)?,
    );
    let (t_i, e_i, u_i) = (EXTRA, EXTRA + 1, EXTRA + 2);
    let joined = vault.transaction(&[&t_tree, &e_tree, &u_tree], |tx| {
        let mut t: Tournament = tx
            .get(t_i, tournament_key(id))?
            .ok_or(fail(TournamentError::NotFound(id)))?;
        if let Some(entry) = tx.get::<Entry, TournamentError>(e_i, entry_key(id, user))? {
            return Ok(Joined {
                entry,
                tournament: t,
                already: true,
                wallet: Amounts::new(),
            });
        }
        if !t.joinable(now) {
            return Err(fail(TournamentError::NotNow(format!(
                "tournament {id} is {} and not open for joining",
                t.state.as_str()
            ))));
        }
        if t.players >= t.max_players {
            return Err(fail(TournamentError::NotNow(format!(
                "tournament {id} is full ({} players)",
                t.max_players
            ))));
        }
        let mut wallet_now = Amounts::new();
        if !t.entry_fee.is_empty() {
            let change = Change {
                changeset: t.entry_fee.iter().map(|(c, v)| (c.clone(), -v)).collect(),
                reason: format!("tournament {id} entry fee"),
                metadata: Map::new(),
                idempotency_key: None,
            };
            wallet_now = wallet::apply_in::<TournamentError>(tx, user, &change)?.wallet;
        }
        t.join_seq += 1;
        t.players += 1;
        let entry = Entry {
            user_id: user,
            username: username.to_string(),
            joined: t.join_seq,
            joined_at: now,
            fee: t.entry_fee.clone(),
            rating,
        };
        tx.insert(e_i, entry_key(id, user), &entry)?;
        tx.insert(u_i, by_user_key(user, id), &now)?;
        tx.insert(t_i, tournament_key(id), &t)?;
        Ok(Joined {
            entry,
            tournament: t,
            already: false,
            wallet: wallet_now,
        })
    })?;
    game.durable().await?;
    Ok(joined)
}

/// Leaves before the start; the fee paid is refunded in the same transaction.
pub async fn leave(
    game: &GameStore,
    id: Uuid,
    user: UserId,
) -> Result<(Tournament, Amounts), TournamentError> {
    let now = game.now();
    let vault = Vault::open(game)?;
    let (t_tree, e_tree, u_tree) = (
        game.tree(TOURNAMENTS)?,
        game.tree(ENTRIES)?,
        game.tree(BY_USER)?,
    );
    let (t_i, e_i, u_i) = (EXTRA, EXTRA + 1, EXTRA + 2);
    let left = vault.transaction(&[&t_tree, &e_tree, &u_tree], |tx| {
        let mut t: Tournament = tx
            .get(t_i, tournament_key(id))?
            .ok_or(fail(TournamentError::NotFound(id)))?;
        let Some(entry) = tx.get::<Entry, TournamentError>(e_i, entry_key(id, user))? else {
            return Err(fail(TournamentError::NotNow(format!(
                "you have not joined tournament {id}"
            ))));
        };
        if t.state != State::Registration || now >= t.starts_at {
            return Err(fail(TournamentError::NotNow(format!(
                "tournament {id} is {}: players may leave only before it starts",
                t.state.as_str()
            ))));
        }
        let mut wallet_now = Amounts::new();
        if !entry.fee.is_empty() {
            wallet_now = wallet::apply_in::<TournamentError>(
                tx,
                user,
                &refund_change(&t, &entry.fee, None),
            )?
            .wallet;
        }
        tx.remove(e_i, entry_key(id, user))?;
        tx.remove(u_i, by_user_key(user, id))?;
        t.players = t.players.saturating_sub(1);
        tx.insert(t_i, tournament_key(id), &t)?;
        Ok((t, wallet_now))
    })?;
    game.durable().await?;
    Ok(left)
}

/// Submits a score to a leaderboard-format tournament the player joined, while it runs.
pub async fn submit_score(
    app: &App,
    game: &GameStore,
    id: Uuid,
    user: UserId,
    submission: leaderboards::Submission,
) -> Result<leaderboards::Standing, TournamentError> {
    let t = get(game, id)?;
    if !t.is_leaderboard() || t.stage > 0 {
        return Err(TournamentError::NotNow(format!(
            "tournament {id} is played as a bracket: results come from tournament_report_match"
        )));
    }
    if !t.in_score_window(game.now()) {
        return Err(TournamentError::NotNow(format!(
            "tournament {id} is {}: scores are taken only while its score window is open",
            t.state.as_str()
        )));
    }
    if super::entry(game, id, user)?.is_none() {
        return Err(TournamentError::NotNow(format!(
            "join tournament {id} before submitting a score"
        )));
    }
    Ok(leaderboards::submit(
        app,
        game,
        &board_id(id),
        user,
        submission,
        Submitter::Server,
    )
    .await?)
}

/// Records a bracket match's result. A finished stage seeds the next one from its
/// standings; a finished last stage ends the tournament (prizes follow from the job).
pub async fn report(
    game: &GameStore,
    id: Uuid,
    stage: Option<usize>,
    match_id: u32,
    r: &Report,
) -> Result<(Match, Tournament), TournamentError> {
    let now = game.now();
    // Earlier stages' standings, for the results if this report ends the tournament.
    let t0 = get(game, id)?;
    let mut earlier = Vec::new();
    for s in (0..t0.stage).rev() {
        if let Some(rows) = stage_standings(game, &t0, s)? {
            earlier.push(rows);
        }
    }
    let trees = [game.tree(TOURNAMENTS)?, game.tree(BRACKETS)?];
    let done = Tree::transaction(&[&trees[0], &trees[1]], |tx| {
        let mut t: Tournament = tx
            .get(0, tournament_key(id))?
            .ok_or(fail(TournamentError::NotFound(id)))?;
        if t.state != State::Active {
            return Err(fail(TournamentError::NotNow(format!(
                "tournament {id} is {}: matches are reported only while it is active",
                t.state.as_str()
            ))));
        }
        if t.stage != t0.stage {
            return Err(Abort::Fail(TournamentError::NotNow(
                "the stage changed meanwhile; report again".into(),
            )));
        }
        let stage = stage.unwrap_or(t.stage);
        if stage != t.stage {
            return Err(fail(TournamentError::Invalid(format!(
                "stage: stage {stage} is not the one being played ({})",
                t.stage
            ))));
        }
        let Some(mut b) = tx.get::<Bracket, TournamentError>(1, bracket_key(id, stage))? else {
            return Err(fail(TournamentError::NotNow(format!(
                "tournament {id} has no bracket: it is a score window (tournament_submit_score)"
            ))));
        };
        let f = b.format.rules();
        f.report(&mut b, match_id, r).map_err(fail)?;
        let recorded = b.matches[match_id as usize].clone();
        if let Some(standings) = f.standings(&b) {
            let next = t.stages.get(stage + 1).cloned();
            let mut started_next = false;
            if let Some(next) = next {
                let n = next.advance.unwrap_or(u32::MAX) as usize;
                let seeds: Vec<UserId> = standings.iter().take(n).map(|p| p.user_id).collect();
                if let (StageFormat::Bracket(format), true) = (&next.format, seeds.len() >= 2) {
                    let nb = format.rules().start(&seeds).map_err(fail)?;
                    tx.insert(1, bracket_key(id, stage + 1), &nb)?;
                    t.stage = stage + 1;
                    started_next = true;
                }
            }
            if !started_next {
                let mut results = standings;
                for e in &earlier {
                    results = merge(results, e);
                }
                t.state = State::Ended;
                t.results = results;
                t.ended_by = Some("bracket".into());
                t.ended_at = Some(now);
            }
        }
        tx.insert(1, bracket_key(id, stage), &b)?;
        tx.insert(0, tournament_key(id), &t)?;
        Ok((recorded, t))
    })?;
    if done.1.state == State::Ended {
        schedule::at(game, now, ADVANCE_JOB, &id.to_string())?;
    }
    game.durable().await?;
    Ok(done)
}

/// Pays (or re-answers) one player's prize: what `tournament_claim_rewards` does. The key
/// is the one the automatic payout uses, so it is paid once whoever comes first.
pub async fn claim(
    app: &App,
    game: &GameStore,
    id: Uuid,
    user: UserId,
) -> Result<(Placement, rewards::Granted, bool), TournamentError> {
    let t = get(game, id)?;
    if t.state < State::Ended {
        return Err(TournamentError::NotNow(format!(
            "tournament {id} is {}: prizes come when it ends",
            t.state.as_str()
        )));
    }
    let row = t
        .results
        .iter()
        .find(|p| p.user_id == user)
        .cloned()
        .ok_or_else(|| TournamentError::NotNow(format!("you have no place in tournament {id}")))?;
    let reward = t.prize_for(row.place).ok_or_else(|| {
        TournamentError::NotNow(format!(
            "place {} of tournament {id} has no prize",
            row.place
        ))
    })?;
    let (granted, replayed) = rewards::grant_and_notify(
        &app.bus,
        game,
        user,
        reward,
        &prize_reason(&t, row.place),
        Some(&prize_key(id)),
    )
    .await?;
    Ok((row, granted, replayed))
}
