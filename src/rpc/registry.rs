//! The registry: rpc id → handler, with the caller class and rate-limit class each RPC
//! declares. Every transport dispatches through [`Registry::call`], which checks the
//! caller, applies the rate limit, fills in the session's game, decodes the payload (errors
//! name the field) and times the call.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::app::App;
use crate::auth::Role;
use crate::store::GameStore;

use super::{Caller, CallerClass, Limit, RpcContext, RpcError};

type BoxFuture = Pin<Box<dyn Future<Output = Result<Value, RpcError>> + Send>>;
type Handler = Arc<dyn Fn(RpcContext, Value) -> BoxFuture + Send + Sync>;
type JobFuture = Pin<Box<dyn Future<Output = Result<(), RpcError>> + Send>>;
/// What runs a scheduled job of one kind: given the app, the game and the job's subject.
pub type JobHandler = Arc<dyn Fn(App, GameStore, String) -> JobFuture + Send + Sync>;

#[derive(Clone)]
pub struct Entry {
    pub id: &'static str,
    pub class: CallerClass,
    pub limit: Limit,
    handler: Handler,
}

#[derive(Default)]
pub struct Registry {
    entries: HashMap<String, Entry>,
    jobs: HashMap<&'static str, JobHandler>,
    /// Job kinds put in every game's schedule, due at once, each time the server starts.
    at_start: Vec<&'static str>,
}

/// Decodes a payload into a request type; the error names the field that is wrong.
pub fn decode<T: DeserializeOwned>(payload: Value) -> Result<T, RpcError> {
    serde_path_to_error::deserialize(payload).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." || path.is_empty() {
            RpcError::InvalidArgument(inner)
        } else {
            RpcError::InvalidArgument(format!("{path}: {inner}"))
        }
    })
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    fn add<T, R, F, Fut>(&mut self, id: &'static str, class: CallerClass, limit: Limit, f: F)
    where
        T: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(RpcContext, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, RpcError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let handler: Handler = Arc::new(move |ctx, payload| {
            let f = f.clone();
            Box::pin(async move {
                let req: T = decode(payload)?;
                let reply = f(ctx, req).await?;
                let mut v =
                    serde_json::to_value(reply).map_err(|e| RpcError::Internal(e.to_string()))?;
                if let Value::Object(m) = &mut v {
                    m.entry("success").or_insert(Value::Bool(true));
                }
                Ok(v)
            })
        });
        let key = id.to_ascii_lowercase();
        assert!(
            !self.entries.contains_key(&key),
            "rpc `{id}` registered twice"
        );
        self.entries.insert(
            key,
            Entry {
                id,
                class,
                limit,
                handler,
            },
        );
    }

    /// An RPC any authenticated caller may make (players for themselves).
    pub fn player<T, R, F, Fut>(&mut self, id: &'static str, limit: Limit, f: F)
    where
        T: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(RpcContext, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, RpcError>> + Send + 'static,
    {
        self.add(id, CallerClass::Player, limit, f)
    }

    /// An RPC for studio servers (http key) and admins.
    pub fn server<T, R, F, Fut>(&mut self, id: &'static str, limit: Limit, f: F)
    where
        T: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(RpcContext, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, RpcError>> + Send + 'static,
    {
        self.add(id, CallerClass::Server, limit, f)
    }

    /// An RPC for admins only.
    pub fn admin<T, R, F, Fut>(&mut self, id: &'static str, limit: Limit, f: F)
    where
        T: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(RpcContext, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, RpcError>> + Send + 'static,
    {
        self.add(id, CallerClass::Admin, limit, f)
    }

    /// Registers the handler of a scheduled job kind (see `features::schedule`). The
    /// scheduler calls it when a job of that kind is due in its game's time; it must be
    /// idempotent, since a crash between its work and the job's removal runs it again.
    pub fn job<F, Fut>(&mut self, kind: &'static str, f: F)
    where
        F: Fn(App, GameStore, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), RpcError>> + Send + 'static,
    {
        assert!(
            !self.jobs.contains_key(kind),
            "job kind `{kind}` registered twice"
        );
        let f = Arc::new(f);
        self.jobs.insert(
            kind,
            Arc::new(move |app, game, subject| {
                let f = f.clone();
                Box::pin(async move { f(app, game, subject).await })
            }),
        );
    }

    /// Registers a job kind (as [`Registry::job`]) that the scheduler also puts in every
    /// game's schedule, due at once with an empty subject, each time the server starts: for
    /// a feature that must look again at what lived only in the memory of the last run (live
    /// rooms). Being a stored job, a failure is retried later, and a start cut short runs it
    /// at the next start.
    pub fn job_at_start<F, Fut>(&mut self, kind: &'static str, f: F)
    where
        F: Fn(App, GameStore, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), RpcError>> + Send + 'static,
    {
        self.job(kind, f);
        self.at_start.push(kind);
    }

    /// The job kinds to schedule in every game at each start.
    pub fn start_jobs(&self) -> &[&'static str] {
        &self.at_start
    }

    /// The handler of a job kind.
    pub fn job_handler(&self, kind: &str) -> Option<JobHandler> {
        self.jobs.get(kind).cloned()
    }

    /// Looks an RPC up by id, case-insensitively.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.get(&id.to_ascii_lowercase())
    }

    /// Every registered RPC, sorted by id.
    pub fn entries(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.values().collect();
        v.sort_by_key(|e| e.id);
        v
    }

    /// Dispatches one call: the single path every transport uses.
    pub async fn call(
        &self,
        app: &App,
        caller: Caller,
        id: &str,
        payload: Value,
    ) -> Result<Value, RpcError> {
        let entry = self
            .get(id)
            .ok_or_else(|| RpcError::NotFound(format!("RPC function `{id}` not found")))?
            .clone();
        // The session's game first: an admin account's session is raised to an admin
        // caller, which carries no session vars.
        let payload = with_session_game(app, &caller, payload)?;
        match self.admit(app, caller, &entry) {
            Ok(admitted) => self.call_admitted(app, admitted, &entry, payload).await,
            Err(e) => {
                app.metrics
                    .observe_rpc(entry.id, e.status_label(), Duration::ZERO);
                Err(e)
            }
        }
    }

    /// Dispatches a call whose caller the transport has already passed through
    /// [`Registry::admit`] for this `entry` (HTTPS admits from the headers, before it reads
    /// the body). Times it, and counts the player as active in the game on success.
    pub async fn call_admitted(
        &self,
        app: &App,
        admitted: Caller,
        entry: &Entry,
        payload: Value,
    ) -> Result<Value, RpcError> {
        let started = Instant::now();
        // For daily active players per game (telemetry).
        let seen = admitted.session().map(|s| s.user_id).and_then(|u| {
            let game = match payload.get("game_id") {
                Some(Value::String(g)) => Some(g.clone()),
                _ => session_game(app, &admitted),
            };
            game.and_then(|g| g.parse::<crate::store::GameId>().ok())
                .filter(|id| app.store.game(*id).is_ok())
                .map(|id| (id.to_string(), u))
        });
        let result = self.dispatch(app, admitted, entry, payload).await;
        if let (Ok(_), Some((game, user))) = (&result, seen) {
            app.metrics.player_seen(&game, user);
        }
        let status = match &result {
            Ok(_) => "ok",
            Err(e) => e.status_label(),
        };
        app.metrics.observe_rpc(entry.id, status, started.elapsed());
        result
    }

    async fn dispatch(
        &self,
        app: &App,
        caller: Caller,
        entry: &Entry,
        payload: Value,
    ) -> Result<Value, RpcError> {
        let payload = with_session_game(app, &caller, payload)?;
        let ctx = RpcContext {
            app: app.clone(),
            caller,
            rpc_id: entry.id,
        };
        (entry.handler)(ctx, payload).await
    }

    /// Checks that `caller` may make the RPC of `entry` (raising an admin account to admin)
    /// and applies its rate limit: what every call goes through before its handler, and
    /// what a batch checks for each operation it runs itself.
    pub fn admit(&self, app: &App, caller: Caller, entry: &Entry) -> Result<Caller, RpcError> {
        let caller = authorize(app, caller, entry.class)?;
        match &caller {
            Caller::Player(s) => app.limiters.check_user(entry.limit, s.user_id),
            Caller::Server if !app.limiters.exempt_server => {
                app.limiters.check_user(entry.limit, uuid::Uuid::nil())
            }
            _ => Ok(()),
        }
        .map_err(|retry_after_secs| {
            app.metrics.rate_limited(entry.limit.as_str());
            RpcError::RateLimited { retry_after_secs }
        })?;
        Ok(caller)
    }
}

/// Checks the caller may make an RPC of `class`; a player whose account is an admin is
/// raised to admin for server and admin RPCs.
fn authorize(app: &App, caller: Caller, class: CallerClass) -> Result<Caller, RpcError> {
    if caller.class() >= class {
        return Ok(caller);
    }
    if let Caller::Player(s) = &caller {
        let account = app.auth.account(s.user_id)?;
        if account.role == Role::Admin {
            return Ok(Caller::Admin(Some(s.user_id)));
        }
    }
    Err(RpcError::PermissionDenied(format!(
        "this RPC is for {} callers",
        class.as_str()
    )))
}

/// Nakama-style callers send no `game_id`: use the session's `vars.game_id`, else the
/// server's default game.
fn with_session_game(app: &App, caller: &Caller, payload: Value) -> Result<Value, RpcError> {
    let mut payload = match payload {
        Value::Null => Value::Object(Default::default()),
        Value::Object(m) => Value::Object(m),
        other => {
            return Err(RpcError::invalid(format!(
                "payload must be a JSON object, not {}",
                json_kind(&other)
            )))
        }
    };
    if let Value::Object(m) = &mut payload {
        if !m.contains_key("game_id") {
            if let Some(g) = session_game(app, caller) {
                m.insert("game_id".into(), Value::String(g));
            }
        }
    }
    Ok(payload)
}

/// The game a caller acts on when it names none: the session's `vars.game_id`, else the
/// server's default game (SPEC §0). Nakama-style endpoints use it too.
pub fn session_game(app: &App, caller: &Caller) -> Option<String> {
    caller
        .session()
        .and_then(|s| s.vars.get("game_id").cloned())
        .or_else(|| app.config.server.default_game_id.clone())
}

pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl RpcError {
    /// A short label for metrics.
    pub fn status_label(&self) -> &'static str {
        match self {
            RpcError::InvalidArgument(_) => "invalid_argument",
            RpcError::NotFound(_) => "not_found",
            RpcError::AlreadyExists(_) => "already_exists",
            RpcError::PermissionDenied(_) => "permission_denied",
            RpcError::Unauthenticated(_) => "unauthenticated",
            RpcError::FailedPrecondition(_) => "failed_precondition",
            RpcError::Aborted(_) => "aborted",
            RpcError::Banned { .. } => "banned",
            RpcError::RateLimited { .. } => "rate_limited",
            RpcError::PayloadTooLarge(_) => "payload_too_large",
            RpcError::Timeout(_) => "timeout",
            RpcError::Unavailable(_) => "unavailable",
            RpcError::Internal(_) => "internal",
        }
    }
}
