//! The experiment RPCs.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::model::{Experiment, Variant};
use super::{rules, Placement, PlayerInfo};
use crate::auth::UserId;
use crate::features::analytics;
use crate::features::audience::AudienceRule;
use crate::features::moderation::{actor, audit};
use crate::rpc::{RpcContext, RpcError};
use crate::store::Key;

const MAX_VARIANTS: usize = 10;

fn check_id(field: &str, id: &str) -> Result<(), RpcError> {
    analytics::rules::check_name(field, id).map_err(RpcError::InvalidArgument)
}

fn parse_time(field: &str, text: &str) -> Result<i64, RpcError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .map_err(|_| RpcError::invalid(format!("{field}: `{text}` is not an RFC 3339 time")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    game_id: String,
    experiment_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    variants: Vec<Variant>,
    /// Default: a random salt.
    #[serde(default)]
    salt: Option<String>,
    #[serde(default)]
    audience: Option<AudienceRule>,
    /// RFC 3339; default now.
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    goal_event: String,
    /// The goal's conversion rate today, 0–1 (exclusive).
    baseline_conversion: f64,
    /// The smallest absolute lift worth detecting, e.g. 0.02 for 10 % → 12 %.
    minimum_detectable_effect: f64,
}

#[derive(Serialize)]
pub struct ExperimentReply {
    experiment: ExperimentView,
}

#[derive(Serialize)]
pub struct ExperimentView {
    experiment_id: String,
    name: String,
    description: String,
    status: &'static str,
    variants: Vec<Variant>,
    control: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    audience: Option<AudienceRule>,
    start: String,
    end: Option<String>,
    goal_event: String,
    baseline_conversion: f64,
    minimum_detectable_effect: f64,
    planned_users_per_variant: u64,
}

impl ExperimentView {
    fn new(e: &Experiment, now: i64) -> Self {
        ExperimentView {
            experiment_id: e.id.clone(),
            name: e.name.clone(),
            description: e.description.clone(),
            status: e.status(now),
            variants: e.variants.clone(),
            control: e.variants[0].name.clone(),
            audience: e.audience.clone(),
            start: crate::time::rfc3339(e.start_at),
            end: e.end_at.map(crate::time::rfc3339),
            goal_event: e.goal_event.clone(),
            baseline_conversion: e.baseline_conversion,
            minimum_detectable_effect: e.minimum_detectable_effect,
            planned_users_per_variant: e.planned_users_per_variant,
        }
    }
}

fn check_variants(variants: &[Variant]) -> Result<(), RpcError> {
    if !(2..=MAX_VARIANTS).contains(&variants.len()) {
        return Err(RpcError::invalid(format!(
            "variants: 2 to {MAX_VARIANTS} variants, the first is control"
        )));
    }
    let mut seen = HashSet::new();
    for (i, v) in variants.iter().enumerate() {
        check_id(&format!("variants[{i}].name"), &v.name)?;
        if !seen.insert(&v.name) {
            return Err(RpcError::invalid(format!(
                "variants[{i}].name: `{}` appears twice",
                v.name
            )));
        }
        if !(1..=10_000).contains(&v.weight) {
            return Err(RpcError::invalid(format!(
                "variants[{i}].weight: 1 to 10000, not {}",
                v.weight
            )));
        }
    }
    Ok(())
}

fn check_audience(a: &Option<AudienceRule>) -> Result<(), RpcError> {
    if let Some(a) = a {
        a.check("audience").map_err(RpcError::InvalidArgument)?;
        if a.experiment.is_some() {
            return Err(RpcError::invalid(
                "audience.experiment: an experiment's audience cannot depend on another's cohorts",
            ));
        }
    }
    Ok(())
}

pub async fn create(ctx: RpcContext, req: CreateRequest) -> Result<ExperimentReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    check_id("experiment_id", &req.experiment_id)?;
    check_variants(&req.variants)?;
    check_audience(&req.audience)?;
    check_id("goal_event", &req.goal_event)?;
    let p = req.baseline_conversion;
    if !(p > 0.0 && p < 1.0) {
        return Err(RpcError::invalid(
            "baseline_conversion: between 0 and 1 (exclusive)",
        ));
    }
    let mde = req.minimum_detectable_effect;
    if !(mde > 0.0 && p + mde < 1.0) {
        return Err(RpcError::invalid(
            "minimum_detectable_effect: above 0, and baseline_conversion + it below 1",
        ));
    }
    let now = game.now();
    let start_at = match &req.start {
        Some(s) => parse_time("start", s)?,
        None => now,
    };
    let end_at = req
        .end
        .as_deref()
        .map(|s| parse_time("end", s))
        .transpose()?;
    if end_at.is_some_and(|e| e <= start_at) {
        return Err(RpcError::invalid("end: must be after start"));
    }
    let name = req.name.unwrap_or_else(|| req.experiment_id.clone());
    if name.chars().count() > 128 {
        return Err(RpcError::invalid("name: at most 128 characters"));
    }
    let salt = req
        .salt
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    if salt.is_empty() || salt.len() > 128 {
        return Err(RpcError::invalid("salt: 1 to 128 characters"));
    }
    let by = actor(&ctx.caller);
    let e = Experiment {
        id: req.experiment_id.clone(),
        name,
        description: req.description.unwrap_or_default(),
        variants: req.variants,
        salt,
        audience: req.audience,
        start_at,
        end_at,
        goal_event: req.goal_event,
        baseline_conversion: p,
        minimum_detectable_effect: mde,
        planned_users_per_variant: rules::sample_size(p, mde),
        created_by: by.clone(),
        created_at: now,
        updated_at: now,
    };
    let created = game
        .tree(super::EXPERIMENTS)?
        .insert_new(Key::new().str(&e.id), &e)?;
    if !created {
        return Err(RpcError::AlreadyExists(format!(
            "experiment_id: `{}` already exists",
            e.id
        )));
    }
    super::invalidate(&ctx.app, &game);
    audit::record(
        &ctx.app.store,
        &by,
        "experiment_create",
        &format!("{}/{}", game.id(), e.id),
        &format!(
            "{} variants, goal {}, {} users per variant planned",
            e.variants.len(),
            e.goal_event,
            e.planned_users_per_variant
        ),
    )?;
    game.durable().await?;
    Ok(ExperimentReply {
        experiment: ExperimentView::new(&e, now),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    game_id: String,
    experiment_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    /// May be given only unchanged: changing variants or weights would move players.
    #[serde(default)]
    variants: Option<Vec<Variant>>,
    #[serde(default)]
    audience: Option<AudienceRule>,
    /// RFC 3339; ending an experiment early is an edit like any other.
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    goal_event: Option<String>,
}

pub async fn update(ctx: RpcContext, req: UpdateRequest) -> Result<ExperimentReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let mut e = super::get(&game, &req.experiment_id)?;
    if let Some(v) = &req.variants {
        if *v != e.variants {
            return Err(RpcError::FailedPrecondition(
                "variants: names and weights cannot change once created (players would move); \
                 create a new experiment"
                    .into(),
            ));
        }
    }
    if let Some(n) = req.name {
        if n.is_empty() || n.chars().count() > 128 {
            return Err(RpcError::invalid("name: 1 to 128 characters"));
        }
        e.name = n;
    }
    if let Some(d) = req.description {
        e.description = d;
    }
    if req.audience.is_some() {
        check_audience(&req.audience)?;
        e.audience = req.audience;
    }
    if let Some(end) = &req.end {
        let end = parse_time("end", end)?;
        if end <= e.start_at {
            return Err(RpcError::invalid("end: must be after start"));
        }
        e.end_at = Some(end);
    }
    if let Some(g) = req.goal_event {
        check_id("goal_event", &g)?;
        e.goal_event = g;
    }
    let now = game.now();
    e.updated_at = now;
    game.tree(super::EXPERIMENTS)?
        .insert(Key::new().str(&e.id), &e)?;
    super::invalidate(&ctx.app, &game);
    audit::record(
        &ctx.app.store,
        &actor(&ctx.caller),
        "experiment_update",
        &format!("{}/{}", game.id(), e.id),
        "",
    )?;
    game.durable().await?;
    Ok(ExperimentReply {
        experiment: ExperimentView::new(&e, now),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    game_id: String,
    experiment_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    app_version: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize)]
pub struct AssignmentReply {
    experiment_id: String,
    /// `null` when the player is not in the experiment's audience.
    variant: Option<String>,
    eligible: bool,
    assigned_at: Option<String>,
}

pub async fn assignment(
    ctx: RpcContext,
    req: AssignmentRequest,
) -> Result<AssignmentReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    let e = super::get(&game, &req.experiment_id)?;
    let info = PlayerInfo {
        platform: req.platform,
        country: req.country,
        app_version: req.app_version,
        properties: req.properties,
    };
    let facts = super::facts(&ctx.app, &game, user, &info)?;
    match super::assign(&game, &e, user, &facts)? {
        Placement::In(a) => Ok(AssignmentReply {
            experiment_id: e.id,
            variant: Some(a.variant),
            eligible: true,
            assigned_at: Some(analytics::model::rfc3339_ms(a.at_ms)),
        }),
        Placement::NotEligible => Ok(AssignmentReply {
            experiment_id: e.id,
            variant: None,
            eligible: false,
            assigned_at: None,
        }),
        Placement::NotRunning(why) => Err(RpcError::FailedPrecondition(format!(
            "experiment_id: `{}` {why}",
            e.id
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    game_id: String,
}

#[derive(Serialize)]
pub struct ListReply {
    experiments: Vec<ExperimentView>,
}

pub async fn list_active(ctx: RpcContext, req: ListRequest) -> Result<ListReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let now = game.now();
    let all = super::all(&ctx.app, &game)?;
    // Admins signed in as players see targeting too.
    let trusted = ctx.is_trusted()
        || ctx.caller.session().is_some_and(|s| {
            ctx.app
                .auth
                .account(s.user_id)
                .is_ok_and(|a| a.role == crate::auth::Role::Admin)
        });
    Ok(ListReply {
        experiments: all
            .iter()
            .filter(|e| e.status(now) == "running")
            .map(|e| {
                let mut v = ExperimentView::new(e, now);
                if !trusted {
                    // Players see what runs, not who is targeted.
                    v.audience = None;
                }
                v
            })
            .collect(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultsRequest {
    game_id: String,
    experiment_id: String,
}

#[derive(Serialize)]
struct VariantResult {
    variant: String,
    users: u64,
    conversions: u64,
    conversion_rate: f64,
    /// Against control; absent for control itself and when it cannot be computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    versus_control: Option<rules::Comparison>,
    significant: bool,
    planned_users: u64,
    sample_reached: bool,
}

#[derive(Serialize)]
pub struct ResultsReply {
    experiment: ExperimentView,
    control: String,
    goal_event: String,
    variants: Vec<VariantResult>,
    /// Every variant has reached its planned users.
    sample_reached: bool,
}

pub async fn results(ctx: RpcContext, req: ResultsRequest) -> Result<ResultsReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let e = super::get(&game, &req.experiment_id)?;
    let now = game.now();
    let g = game.clone();
    let e2 = e.clone();
    let (users, conversions) = tokio::task::spawn_blocking(move || {
        let assigned = super::assignments_with_time(&g, &e2.id)?;
        let to_ms = e2.end_at.map_or(i64::MAX, |t| t * 1000);
        let mut converted: HashSet<UserId> = HashSet::new();
        for (user, at) in analytics::occurrences(&g, &e2.goal_event, e2.start_at * 1000, to_ms)? {
            if assigned.get(&user).is_some_and(|a| at >= a.at_ms) {
                converted.insert(user);
            }
        }
        let mut users: BTreeMap<String, u64> = BTreeMap::new();
        let mut conversions: BTreeMap<String, u64> = BTreeMap::new();
        for (user, a) in &assigned {
            *users.entry(a.variant.clone()).or_insert(0) += 1;
            if converted.contains(user) {
                *conversions.entry(a.variant.clone()).or_insert(0) += 1;
            }
        }
        Ok::<_, crate::store::StoreError>((users, conversions))
    })
    .await
    .map_err(|e| RpcError::Internal(format!("results task: {e}")))??;
    let count = |m: &BTreeMap<String, u64>, v: &str| m.get(v).copied().unwrap_or(0);
    let control = e.variants[0].name.clone();
    let c = (count(&users, &control), count(&conversions, &control));
    let planned = e.planned_users_per_variant;
    let variants: Vec<VariantResult> = e
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let n = count(&users, &v.name);
            let x = count(&conversions, &v.name);
            let cmp = if i == 0 {
                None
            } else {
                rules::compare(c, (n, x))
            };
            VariantResult {
                variant: v.name.clone(),
                users: n,
                conversions: x,
                conversion_rate: if n == 0 { 0.0 } else { x as f64 / n as f64 },
                significant: cmp.is_some_and(|c| c.p_value < 0.05),
                versus_control: cmp,
                planned_users: planned,
                sample_reached: n >= planned,
            }
        })
        .collect();
    Ok(ResultsReply {
        sample_reached: variants.iter().all(|v| v.sample_reached),
        control,
        goal_event: e.goal_event.clone(),
        experiment: ExperimentView::new(&e, now),
        variants,
    })
}
