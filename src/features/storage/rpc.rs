use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{Ack, Actor, ObjectId, ObjectWrite};
use super::{object_json, rules, ObjectError};
use crate::auth::UserId;
use crate::features::paging;
use crate::features::vault::{self, AnyStep, Step};
use crate::rpc::{decode, RpcContext, RpcError};
use crate::store::{Abort, GameStore, Txn};

fn actor(ctx: &RpcContext) -> Actor {
    match ctx.self_id() {
        Some(u) if !ctx.is_trusted() => Actor::Player(u),
        _ => Actor::Server,
    }
}

/// The owner a read names: `user_id`, else the caller themself.
fn owner(ctx: &RpcContext, user_id: Option<UserId>) -> Result<UserId, RpcError> {
    user_id
        .or_else(|| ctx.self_id())
        .ok_or_else(|| RpcError::invalid("user_id is required for server callers"))
}

fn max_bytes(ctx: &RpcContext) -> usize {
    ctx.app.config.storage.max_object_bytes
}

/// One object to write, as the RPCs take it (value as a JSON object).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteObject {
    collection: String,
    key: String,
    value: Value,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    permission_read: Option<u8>,
    #[serde(default)]
    permission_write: Option<u8>,
}

impl WriteObject {
    fn into_write(self, max_bytes: usize) -> Result<ObjectWrite, ObjectError> {
        let w = ObjectWrite {
            value: rules::normalize(&self.value, max_bytes)?,
            collection: self.collection,
            key: self.key,
            version: self.version,
            permission_read: self.permission_read,
            permission_write: self.permission_write,
        };
        rules::check_write(&w)?;
        Ok(w)
    }
}

/// Checked writes for one owner, ready to join a transaction.
pub struct WriteStep {
    owner: UserId,
    actor: Actor,
    writes: Vec<ObjectWrite>,
    max_objects: u64,
}

#[derive(Serialize)]
pub struct AcksReply {
    pub(super) acks: Vec<Ack>,
}

impl WriteStep {
    /// Checked writes (see `rules::check_write`) of `owner`'s objects.
    pub(super) fn new(
        owner: UserId,
        actor: Actor,
        writes: Vec<ObjectWrite>,
        max_objects: u64,
    ) -> WriteStep {
        WriteStep {
            owner,
            actor,
            writes,
            max_objects,
        }
    }
}

impl Step for WriteStep {
    type Done = AcksReply;
    fn apply(&self, tx: &Txn) -> Result<AcksReply, Abort<RpcError>> {
        Ok(AcksReply {
            acks: super::write_in::<RpcError>(
                tx,
                self.owner,
                self.actor,
                &self.writes,
                self.max_objects,
            )?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    collection: String,
    key: String,
    value: Value,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    permission_read: Option<u8>,
    #[serde(default)]
    permission_write: Option<u8>,
}

fn plan_write(ctx: &RpcContext, req: WriteRequest) -> Result<(GameStore, WriteStep), RpcError> {
    plan_writes(
        ctx,
        &req.game_id,
        req.user_id,
        vec![WriteObject {
            collection: req.collection,
            key: req.key,
            value: req.value,
            version: req.version,
            permission_read: req.permission_read,
            permission_write: req.permission_write,
        }],
    )
}

fn plan_writes(
    ctx: &RpcContext,
    game_id: &str,
    user_id: Option<UserId>,
    objects: Vec<WriteObject>,
) -> Result<(GameStore, WriteStep), RpcError> {
    let game = ctx.game(game_id)?;
    let user = ctx.user(user_id)?;
    super::check_count("objects", objects.len())?;
    let max = max_bytes(ctx);
    let writes = objects
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.into_write(max)
                .map_err(|e| RpcError::from(e).within(&format!("objects[{i}]")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        game,
        WriteStep {
            owner: user,
            actor: actor(ctx),
            writes,
            max_objects: ctx.app.config.storage.max_objects_per_user,
        },
    ))
}

#[derive(Serialize)]
pub struct AckReply {
    ack: Ack,
}

pub async fn write(ctx: RpcContext, req: WriteRequest) -> Result<AckReply, RpcError> {
    let (game, step) = plan_write(&ctx, req)?;
    let mut done = vault::commit(&game, step).await?;
    let ack = done
        .acks
        .pop()
        .ok_or_else(|| RpcError::Internal("write gave no acknowledgement".into()))?;
    Ok(AckReply { ack })
}

/// `cloud_save_write` as a batch step (its reply in a batch is `{acks: [ack]}`).
pub fn plan_write_step(
    ctx: &RpcContext,
    payload: Value,
) -> Result<(GameStore, Box<dyn AnyStep>), RpcError> {
    let (game, step) = plan_write(ctx, decode(payload)?)?;
    Ok((game, Box::new(step)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchWriteRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    objects: Vec<WriteObject>,
}

/// `batch_write_storage`: several objects in one transaction, all or none.
pub async fn batch_write(ctx: RpcContext, req: BatchWriteRequest) -> Result<AcksReply, RpcError> {
    let (game, step) = plan_writes(&ctx, &req.game_id, req.user_id, req.objects)?;
    vault::commit(&game, step).await
}

/// `batch_write_storage` as a batch step.
pub fn plan_batch_write_step(
    ctx: &RpcContext,
    payload: Value,
) -> Result<(GameStore, Box<dyn AnyStep>), RpcError> {
    let req: BatchWriteRequest = decode(payload)?;
    let (game, step) = plan_writes(ctx, &req.game_id, req.user_id, req.objects)?;
    Ok((game, Box::new(step)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    collection: String,
    key: String,
}

#[derive(Serialize)]
pub struct ObjectReply {
    object: Value,
}

pub async fn read(ctx: RpcContext, req: ReadRequest) -> Result<ObjectReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let id = ObjectId {
        user_id: owner(&ctx, req.user_id)?,
        collection: req.collection,
        key: req.key,
        version: None,
    };
    let found = super::read(&game, actor(&ctx), std::slice::from_ref(&id))?;
    match found.into_iter().next().flatten() {
        Some(o) => Ok(ObjectReply {
            object: object_json(&o, false),
        }),
        None => Err(ObjectError::NotFound {
            collection: id.collection,
            key: id.key,
        }
        .into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadId {
    collection: String,
    key: String,
    #[serde(default)]
    user_id: Option<UserId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchReadRequest {
    game_id: String,
    objects: Vec<ReadId>,
}

#[derive(Serialize)]
pub struct BatchReadReply {
    /// By index: the object, or null when missing or not readable.
    objects: Vec<Value>,
}

pub async fn batch_read(
    ctx: RpcContext,
    req: BatchReadRequest,
) -> Result<BatchReadReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let ids = req
        .objects
        .into_iter()
        .map(|r| {
            Ok(ObjectId {
                user_id: owner(&ctx, r.user_id)?,
                collection: r.collection,
                key: r.key,
                version: None,
            })
        })
        .collect::<Result<Vec<_>, RpcError>>()?;
    let found = super::read(&game, actor(&ctx), &ids)?;
    Ok(BatchReadReply {
        objects: found
            .iter()
            .map(|o| {
                o.as_ref()
                    .map(|o| object_json(o, false))
                    .unwrap_or(Value::Null)
            })
            .collect(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    collection: String,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub struct ListReply {
    objects: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

pub async fn list(ctx: RpcContext, req: ListRequest) -> Result<ListReply, RpcError> {
    let game = ctx.game(&req.game_id)?;
    let limit = paging::limit(req.limit, 20)?;
    let owner = owner(&ctx, req.user_id)?;
    let (objects, cursor) = super::list(
        &game,
        actor(&ctx),
        &req.collection,
        Some(owner),
        limit,
        req.cursor.as_deref(),
    )?;
    Ok(ListReply {
        objects: objects.iter().map(|o| object_json(o, false)).collect(),
        cursor,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    game_id: String,
    #[serde(default)]
    user_id: Option<UserId>,
    collection: String,
    key: String,
    #[serde(default)]
    version: Option<String>,
}

/// A checked delete of one object, ready to join a transaction.
pub struct DeleteStep(DeleteObjects);

#[derive(Serialize)]
pub struct DeleteReply {
    /// False when there was no such object.
    deleted: bool,
}

/// Several objects deleted in one step (Nakama's `PUT /v2/storage/delete`): whether each
/// was there.
pub(super) struct DeleteObjects {
    pub actor: Actor,
    pub ids: Vec<ObjectId>,
}

impl Step for DeleteObjects {
    type Done = Vec<bool>;
    fn apply(&self, tx: &Txn) -> Result<Vec<bool>, Abort<RpcError>> {
        super::delete_in::<RpcError>(tx, self.actor, &self.ids)
    }
}

impl Step for DeleteStep {
    type Done = DeleteReply;
    fn apply(&self, tx: &Txn) -> Result<DeleteReply, Abort<RpcError>> {
        let gone = self.0.apply(tx)?;
        Ok(DeleteReply {
            deleted: gone.first().copied().unwrap_or(false),
        })
    }
}

fn plan_delete(ctx: &RpcContext, req: DeleteRequest) -> Result<(GameStore, DeleteStep), RpcError> {
    let game = ctx.game(&req.game_id)?;
    let user = ctx.user(req.user_id)?;
    rules::check_name("collection", &req.collection)?;
    rules::check_name("key", &req.key)?;
    Ok((
        game,
        DeleteStep(DeleteObjects {
            actor: actor(ctx),
            ids: vec![ObjectId {
                collection: req.collection,
                key: req.key,
                user_id: user,
                version: req.version,
            }],
        }),
    ))
}

pub async fn delete(ctx: RpcContext, req: DeleteRequest) -> Result<DeleteReply, RpcError> {
    let (game, step) = plan_delete(&ctx, req)?;
    vault::commit(&game, step).await
}

/// `cloud_save_delete` as a batch step.
pub fn plan_delete_step(
    ctx: &RpcContext,
    payload: Value,
) -> Result<(GameStore, Box<dyn AnyStep>), RpcError> {
    let (game, step) = plan_delete(ctx, decode(payload)?)?;
    Ok((game, Box::new(step)))
}
