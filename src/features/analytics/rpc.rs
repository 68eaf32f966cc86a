//! The analytics RPCs: collect, a player's history, the admin's query and export.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::model::{Event, EventView, Refused};
use super::rules::{self, MAX_EVENTS_PER_CALL};
use super::DAY_MS;
use crate::auth::UserId;
use crate::features::{experiments, paging};
use crate::rpc::{RpcContext, RpcError};
use crate::store::{GameStore, Key, KeyReader};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectRequest {
    game_id: String,
    /// Server callers: whose events these are.
    #[serde(default)]
    user_id: Option<UserId>,
    /// Each `{"name", "properties"?, "timestamp"?}`; checked one by one.
    events: Vec<Value>,
}

#[derive(Serialize)]
pub struct CollectReply {
    accepted: usize,
    refused: Vec<Refused>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    name: String,
    #[serde(default)]
    properties: BTreeMap<String, Value>,
    #[serde(default)]
    timestamp: Option<Value>,
}

fn check_event(raw: Value, user: UserId, now_ms: i64, oldest_ms: i64) -> Result<Event, String> {
    let raw: RawEvent = crate::rpc::decode(raw).map_err(|e| e.to_string())?;
    rules::check_name("name", &raw.name)?;
    rules::check_properties(&raw.properties)?;
    let at_ms = match &raw.timestamp {
        None | Some(Value::Null) => now_ms,
        Some(v) => rules::parse_timestamp(v, now_ms, oldest_ms)?,
    };
    Ok(Event {
        id: Uuid::new_v4(),
        user_id: user,
        name: raw.name,
        at_ms,
        properties: raw.properties,
        received_ms: now_ms,
    })
}

pub async fn collect(ctx: RpcContext, req: CollectRequest) -> Result<CollectReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    if req.events.is_empty() {
        return Err(RpcError::invalid("events: at least one event"));
    }
    if req.events.len() > MAX_EVENTS_PER_CALL {
        return Err(RpcError::invalid(format!(
            "events: at most {MAX_EVENTS_PER_CALL} per call, not {}",
            req.events.len()
        )));
    }
    let now_ms = game.now_ms();
    let oldest = super::oldest_kept_ms(&ctx.app, now_ms);
    let mut good = Vec::with_capacity(req.events.len());
    let mut refused = Vec::new();
    for (index, raw) in req.events.into_iter().enumerate() {
        match check_event(raw, user, now_ms, oldest) {
            Ok(e) => good.push(e),
            Err(error) => refused.push(Refused { index, error }),
        }
    }
    let accepted = good.len();
    if accepted > 0 {
        let g = game.clone();
        tokio::task::spawn_blocking(move || {
            super::store_events(&g, &good)?;
            super::ensure_prune_scheduled(&g)
        })
        .await
        .map_err(|e| RpcError::Internal(format!("analytics task: {e}")))??;
    }
    Ok(CollectReply { accepted, refused })
}

/// A time given as RFC 3339 or a `YYYY-MM-DD` day (its start), in Unix milliseconds.
fn parse_time(field: &str, text: &str) -> Result<i64, RpcError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(0));
    }
    Err(RpcError::invalid(format!(
        "{field}: `{text}` is neither RFC 3339 nor YYYY-MM-DD"
    )))
}

fn opt_time(field: &str, v: &Option<String>) -> Result<Option<i64>, RpcError> {
    v.as_deref().map(|t| parse_time(field, t)).transpose()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEventsRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    /// Only events of this name.
    #[serde(default)]
    name: Option<String>,
    /// Only events at or after this time (RFC 3339 or YYYY-MM-DD).
    #[serde(default)]
    since: Option<String>,
    /// Only events before this time.
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct UserEventsReply {
    events: Vec<EventView>,
    cursor: Option<String>,
}

pub async fn user_events(
    ctx: RpcContext,
    req: UserEventsRequest,
) -> Result<UserEventsReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let limit = paging::limit(req.limit, 50)?;
    if let Some(n) = &req.name {
        rules::check_name("name", n).map_err(RpcError::InvalidArgument)?;
    }
    let since = opt_time("since", &req.since)?.unwrap_or(i64::MIN);
    let until = opt_time("until", &req.until)?.unwrap_or(i64::MAX);
    if since >= until {
        return Err(RpcError::invalid("since: must be before until"));
    }
    let prefix = Key::new().uuid(user).into_vec();
    let start = match paging::start(req.cursor.as_deref())? {
        Some(s) if !s.starts_with(&prefix) => {
            return Err(RpcError::invalid("cursor does not belong to this listing"))
        }
        Some(s) => s,
        // Newest first: start at `until` (exclusive) and walk back in time.
        None if until == i64::MAX => prefix.clone(),
        None => Key::new().uuid(user).i64_desc(until - 1).into_vec(),
    };
    let events_tree = game.tree(super::EVENTS)?;
    let mut events = Vec::new();
    let mut next = None;
    for r in game.tree(super::BY_USER)?.range::<String, _, _>(start..) {
        let (k, name) = r?;
        if !k.starts_with(&prefix) {
            break;
        }
        let mut rd = KeyReader::new(&k);
        rd.uuid();
        let (Some(at), Some(id)) = (rd.i64_desc(), rd.uuid()) else {
            continue;
        };
        if at < since {
            break;
        }
        if req.name.as_ref().is_some_and(|n| *n != name) {
            continue;
        }
        if events.len() == limit {
            next = Some(k);
            break;
        }
        if let Some(e) = events_tree.get::<Event>(super::event_key(at, id))? {
            events.push(EventView::from(&e));
        }
    }
    Ok(UserEventsReply {
        events,
        cursor: next.map(|k| crate::store::encode_cursor(&k)),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    game_id: String,
    /// Start of the window (RFC 3339 or YYYY-MM-DD); default 7 days before `until`.
    #[serde(default)]
    since: Option<String>,
    /// End of the window (exclusive); default now.
    #[serde(default)]
    until: Option<String>,
    /// Event names to count; all names when absent.
    #[serde(default)]
    names: Vec<String>,
    /// Event names of a funnel's steps, in order (2 to 10).
    #[serde(default)]
    funnel: Vec<String>,
    /// Group users and event counts by this experiment's variants.
    #[serde(default)]
    experiment_id: Option<String>,
}

#[derive(Serialize)]
struct DayCount {
    name: String,
    day: String,
    count: u64,
}

#[derive(Serialize)]
struct FunnelStep {
    step: String,
    users: u64,
    /// Of the users of step 1.
    rate_from_start: f64,
    /// Of the users of the step before.
    rate_from_previous: f64,
}

#[derive(Serialize)]
struct VariantGroup {
    variant: String,
    users: u64,
    events: BTreeMap<String, u64>,
}

#[derive(Serialize)]
pub struct QueryReply {
    since: String,
    until: String,
    counts: Vec<DayCount>,
    /// Distinct users with at least one event (of `names`, when given) in the window.
    unique_users: u64,
    /// Distinct users per event name.
    unique_users_by_name: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    funnel: Vec<FunnelStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    by_variant: Option<Vec<VariantGroup>>,
}

const MAX_QUERY_DAYS: i64 = 366;
const MAX_SCAN: usize = 2_000_000;

pub async fn query(ctx: RpcContext, req: QueryRequest) -> Result<QueryReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let until = opt_time("until", &req.until)?.unwrap_or_else(|| game.now_ms() + 1);
    let since = opt_time("since", &req.since)?.unwrap_or(until - 7 * DAY_MS);
    if since >= until {
        return Err(RpcError::invalid("since: must be before until"));
    }
    if until - since > MAX_QUERY_DAYS * DAY_MS {
        return Err(RpcError::invalid(format!(
            "since: the window is at most {MAX_QUERY_DAYS} days"
        )));
    }
    for (i, n) in req.names.iter().enumerate() {
        rules::check_name(&format!("names[{i}]"), n).map_err(RpcError::InvalidArgument)?;
    }
    if !req.funnel.is_empty() && !(2..=10).contains(&req.funnel.len()) {
        return Err(RpcError::invalid("funnel: 2 to 10 steps"));
    }
    for (i, n) in req.funnel.iter().enumerate() {
        rules::check_name(&format!("funnel[{i}]"), n).map_err(RpcError::InvalidArgument)?;
    }
    let assignments = match &req.experiment_id {
        Some(id) => {
            experiments::get(&game, id)?;
            Some(experiments::assignments(&game, id)?)
        }
        None => None,
    };
    let g = game.clone();
    tokio::task::spawn_blocking(move || answer(&g, req, since, until, assignments))
        .await
        .map_err(|e| RpcError::Internal(format!("query task: {e}")))?
}

fn answer(
    game: &GameStore,
    req: QueryRequest,
    since: i64,
    until: i64,
    assignments: Option<HashMap<UserId, String>>,
) -> Result<QueryReply, RpcError> {
    let day = |d: i64| crate::time::rfc3339(crate::time::day_start(d))[..10].to_string();
    let counts = super::day_counts(
        game,
        &req.names,
        since.div_euclid(DAY_MS),
        (until - 1).div_euclid(DAY_MS),
    )?
    .into_iter()
    .map(|(name, d, count)| DayCount {
        name,
        day: day(d),
        count,
    })
    .collect();

    // Who did what in the window: from the name index when names are given, else a walk
    // over the window's events.
    let mut users_by_name: BTreeMap<String, HashSet<UserId>> = BTreeMap::new();
    let mut events_by_user: HashMap<UserId, BTreeMap<String, u64>> = HashMap::new();
    let track = |name: &str,
                 user: UserId,
                 ubn: &mut BTreeMap<String, HashSet<UserId>>,
                 ebu: &mut HashMap<UserId, BTreeMap<String, u64>>| {
        ubn.entry(name.to_string()).or_default().insert(user);
        *ebu.entry(user)
            .or_default()
            .entry(name.to_string())
            .or_insert(0) += 1;
    };
    if req.names.is_empty() {
        let mut start = None;
        let mut scanned = 0usize;
        loop {
            let (page, next) = super::events_between(game, since, until, start, 10_000)?;
            scanned += page.len();
            for e in &page {
                track(&e.name, e.user_id, &mut users_by_name, &mut events_by_user);
            }
            match next {
                Some(k) if scanned < MAX_SCAN => start = Some(k),
                Some(_) => {
                    return Err(RpcError::FailedPrecondition(format!(
                        "since: more than {MAX_SCAN} events in the window; name the events \
                         (names) or narrow the window"
                    )))
                }
                None => break,
            }
        }
    } else {
        for name in &req.names {
            for (user, _) in super::occurrences(game, name, since, until)? {
                track(name, user, &mut users_by_name, &mut events_by_user);
            }
        }
    }
    let unique_users = events_by_user.len() as u64;
    let unique_users_by_name = users_by_name
        .iter()
        .map(|(n, s)| (n.clone(), s.len() as u64))
        .collect();

    let mut funnel = Vec::new();
    if !req.funnel.is_empty() {
        let steps: Vec<Vec<(UserId, i64)>> = req
            .funnel
            .iter()
            .map(|n| super::occurrences(game, n, since, until))
            .collect::<Result<_, _>>()?;
        let reached = rules::funnel(&steps);
        let first = reached.first().copied().unwrap_or(0);
        let mut prev = first;
        for (name, users) in req.funnel.iter().zip(reached) {
            let rate = |of: u64| {
                if of == 0 {
                    0.0
                } else {
                    users as f64 / of as f64
                }
            };
            funnel.push(FunnelStep {
                step: name.clone(),
                users,
                rate_from_start: rate(first),
                rate_from_previous: rate(prev),
            });
            prev = users;
        }
    }

    let by_variant = assignments.map(|assigned| {
        let mut groups: BTreeMap<String, VariantGroup> = BTreeMap::new();
        for (user, variant) in &assigned {
            let g = groups
                .entry(variant.clone())
                .or_insert_with(|| VariantGroup {
                    variant: variant.clone(),
                    users: 0,
                    events: BTreeMap::new(),
                });
            g.users += 1;
            if let Some(ev) = events_by_user.get(user) {
                for (n, c) in ev {
                    *g.events.entry(n.clone()).or_insert(0) += c;
                }
            }
        }
        groups.into_values().collect()
    });

    Ok(QueryReply {
        since: super::model::rfc3339_ms(since),
        until: super::model::rfc3339_ms(until),
        counts,
        unique_users,
        unique_users_by_name,
        funnel,
        by_variant,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    game_id: String,
    /// Events at or after this time (RFC 3339 or YYYY-MM-DD); all when absent.
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct ExportReply {
    events: Vec<EventView>,
    cursor: Option<String>,
}

pub async fn export(ctx: RpcContext, req: ExportRequest) -> Result<ExportReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let limit = paging::limit_up_to(req.limit, 1000, 1000)?;
    let since = opt_time("since", &req.since)?.unwrap_or(i64::MIN);
    let start = paging::start(req.cursor.as_deref())?;
    let (events, next) = super::events_between(&game, since, i64::MAX, start, limit)?;
    Ok(ExportReply {
        events: events.iter().map(EventView::from).collect(),
        cursor: next.map(|k| crate::store::encode_cursor(&k)),
    })
}
