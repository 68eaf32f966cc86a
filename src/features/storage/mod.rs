//! Cloud save: JSON objects a player keeps under (collection, key) in one game, as Nakama's
//! storage engine keeps them — a version (MD5 of the value) for optimistic concurrency,
//! read permission 0/1/2 (nobody, owner, public) and write permission 0/1 (servers only,
//! owner). Players never write another's objects; public objects are readable and
//! listable by everyone. Served as RPCs and as Nakama's `/v2/storage` REST API.

pub mod model;
pub(crate) mod rpc;
pub mod rules;

pub use model::{Ack, Actor, ObjectId, ObjectWrite, StoredObject};

use crate::auth::UserId;
use crate::features::paging;
use crate::features::vault::{self, fail};
use crate::rpc::{Limit, Registry, RpcError};
use crate::store::{Abort, GameStore, Key, StoreError, Txn};

/// `g/<game>/storage.collection_userid_key`: (collection, owner, key) → [`StoredObject`].
pub const OBJECTS: &str = "storage.collection_userid_key";
/// `g/<game>/storage.public_collection_userid_key`: (collection, owner, key) → `true` for
/// each public-read object (permission 2), kept in the transaction that writes or deletes
/// it, so listing a collection's public objects never walks the private ones.
pub const PUBLIC_OBJECTS: &str = "storage.public_collection_userid_key";
/// `g/<game>/storage.userid`: owner → how many objects they keep (the per-player quota).
pub const OBJECT_COUNTS: &str = "storage.userid";

/// Most objects one call reads, writes or deletes.
pub const MAX_OBJECTS_PER_CALL: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("{0}")]
    Invalid(String),
    #[error("Storage write rejected - version check failed.")]
    WriteVersion,
    #[error("Storage write rejected - permission denied.")]
    WritePermission,
    #[error("Storage delete rejected - version check failed.")]
    DeleteVersion,
    #[error("Storage delete rejected - permission denied.")]
    DeletePermission,
    #[error("no object {collection}/{key} readable for this caller")]
    NotFound { collection: String, key: String },
    #[error("Storage write rejected - quota reached: a player keeps at most {max} objects (storage.max_objects_per_user).")]
    Quota { max: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ObjectError> for RpcError {
    fn from(e: ObjectError) -> Self {
        match e {
            ObjectError::Store(s) => s.into(),
            e @ ObjectError::NotFound { .. } => RpcError::NotFound(e.to_string()),
            e @ ObjectError::Quota { .. } => RpcError::FailedPrecondition(e.to_string()),
            // Nakama answers every refused write or delete with 400 / code 3.
            other => RpcError::InvalidArgument(other.to_string()),
        }
    }
}

pub fn register(r: &mut Registry) {
    r.player("cloud_save_write", Limit::Write, rpc::write);
    r.player("cloud_save_read", Limit::Read, rpc::read);
    r.player("cloud_save_list", Limit::Read, rpc::list);
    r.player("cloud_save_delete", Limit::Write, rpc::delete);
    r.player("batch_read_storage", Limit::Read, rpc::batch_read);
    r.player("batch_write_storage", Limit::Write, rpc::batch_write);
}

pub fn object_key(collection: &str, user: UserId, key: &str) -> Key {
    Key::new().str(collection).uuid(user).str(key)
}

pub fn check_count(field: &str, n: usize) -> Result<(), ObjectError> {
    if n == 0 || n > MAX_OBJECTS_PER_CALL {
        return Err(ObjectError::Invalid(format!(
            "{field} must hold 1 to {MAX_OBJECTS_PER_CALL} objects"
        )));
    }
    Ok(())
}

fn count_key(user: UserId) -> Key {
    Key::new().uuid(user)
}

/// Writes objects owned by `owner` inside a running vault transaction: all or none. A new
/// object past `max_objects` held by the owner is refused ([`ObjectError::Quota`]).
pub fn write_in<E: From<ObjectError>>(
    tx: &Txn,
    owner: UserId,
    actor: Actor,
    writes: &[ObjectWrite],
    max_objects: u64,
) -> Result<Vec<Ack>, Abort<E>> {
    if matches!(actor, Actor::Player(p) if p != owner) {
        return Err(fail(ObjectError::WritePermission));
    }
    let now = crate::time::now();
    let held_count: u64 = tx.get(vault::OBJECT_COUNTS, count_key(owner))?.unwrap_or(0);
    let mut count = held_count;
    let mut acks = Vec::with_capacity(writes.len());
    for w in writes {
        rules::check_write(w).map_err(fail)?;
        let k = object_key(&w.collection, owner, &w.key);
        let held: Option<StoredObject> = tx.get(vault::OBJECTS, &k)?;
        rules::may_write(held.as_ref(), w, actor).map_err(fail)?;
        let o = StoredObject {
            collection: w.collection.clone(),
            key: w.key.clone(),
            user_id: owner,
            version: rules::version_of(&w.value),
            value: w.value.clone(),
            permission_read: w.permission_read.unwrap_or(1),
            permission_write: w.permission_write.unwrap_or(1),
            create_time: held.as_ref().map(|h| h.create_time).unwrap_or(now),
            update_time: now,
        };
        if held.is_none() {
            count += 1;
            if count > max_objects {
                return Err(fail(ObjectError::Quota { max: max_objects }));
            }
        }
        tx.insert(vault::OBJECTS, &k, &o)?;
        if o.permission_read == 2 {
            tx.insert(vault::PUBLIC_OBJECTS, &k, &true)?;
        } else if held.as_ref().is_some_and(|h| h.permission_read == 2) {
            tx.remove(vault::PUBLIC_OBJECTS, &k)?;
        }
        acks.push(ack(&o));
    }
    if count != held_count {
        tx.insert(vault::OBJECT_COUNTS, count_key(owner), &count)?;
    }
    Ok(acks)
}

pub fn ack(o: &StoredObject) -> Ack {
    Ack {
        collection: o.collection.clone(),
        key: o.key.clone(),
        version: o.version.clone(),
        user_id: o.user_id,
        create_time: crate::time::rfc3339(o.create_time),
        update_time: crate::time::rfc3339(o.update_time),
    }
}

/// Deletes objects inside a running vault transaction; true for each that was there.
/// A player deletes only their own objects, and not those with write permission 0.
pub fn delete_in<E: From<ObjectError>>(
    tx: &Txn,
    actor: Actor,
    ids: &[ObjectId],
) -> Result<Vec<bool>, Abort<E>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        rules::check_name("collection", &id.collection).map_err(fail)?;
        rules::check_name("key", &id.key).map_err(fail)?;
        if matches!(actor, Actor::Player(p) if p != id.user_id) {
            return Err(fail(ObjectError::DeletePermission));
        }
        let k = object_key(&id.collection, id.user_id, &id.key);
        let held: Option<StoredObject> = tx.get(vault::OBJECTS, &k)?;
        if let (Some(o), Actor::Player(_)) = (&held, actor) {
            if o.permission_write == 0 {
                return Err(fail(ObjectError::DeletePermission));
            }
        }
        rules::check_version(
            held.as_ref(),
            id.version.as_deref(),
            ObjectError::DeleteVersion,
        )
        .map_err(fail)?;
        if let Some(o) = &held {
            tx.remove(vault::OBJECTS, &k)?;
            if o.permission_read == 2 {
                tx.remove(vault::PUBLIC_OBJECTS, &k)?;
            }
            let count: u64 = tx
                .get(vault::OBJECT_COUNTS, count_key(id.user_id))?
                .unwrap_or(0);
            tx.insert(
                vault::OBJECT_COUNTS,
                count_key(id.user_id),
                &count.saturating_sub(1),
            )?;
        }
        out.push(held.is_some());
    }
    Ok(out)
}

/// Writes in one transaction, durable before it returns; concurrent writers' transactions
/// and flushes are shared (see [`vault::commit`]).
pub async fn write(
    game: &GameStore,
    owner: UserId,
    actor: Actor,
    writes: Vec<ObjectWrite>,
    max_objects: u64,
) -> Result<Vec<Ack>, RpcError> {
    check_count("objects", writes.len())?;
    let step = rpc::WriteStep::new(owner, actor, writes, max_objects);
    Ok(vault::commit(game, step).await?.acks)
}

/// Deletes in one transaction, durable before it returns, shared as [`write`] is; each
/// answer says whether that object was there.
pub async fn delete(
    game: &GameStore,
    actor: Actor,
    ids: Vec<ObjectId>,
) -> Result<Vec<bool>, RpcError> {
    check_count("object_ids", ids.len())?;
    vault::commit(game, rpc::DeleteObjects { actor, ids }).await
}

/// Reads objects; each answer is `None` when the object is missing or not readable by
/// `actor` (as Nakama leaves them out).
pub fn read(
    game: &GameStore,
    actor: Actor,
    ids: &[ObjectId],
) -> Result<Vec<Option<StoredObject>>, ObjectError> {
    check_count("object_ids", ids.len())?;
    let tree = game.tree(OBJECTS)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        rules::check_name("collection", &id.collection)?;
        rules::check_name("key", &id.key)?;
        let o: Option<StoredObject> = tree.get(object_key(&id.collection, id.user_id, &id.key))?;
        out.push(o.filter(|o| rules::may_read(o, actor)));
    }
    Ok(out)
}

/// A page of a collection as `actor` may see it: one owner's objects, or (no owner) the
/// public objects of every owner, paged over the public index. Returns the objects and
/// the next cursor.
/// Objects one listing page reads at most (each up to `storage.max_object_bytes`).
pub fn max_scan(limit: usize) -> usize {
    2 * limit + 10
}

pub fn list(
    game: &GameStore,
    actor: Actor,
    collection: &str,
    owner: Option<UserId>,
    limit: usize,
    cursor: Option<&str>,
) -> Result<(Vec<StoredObject>, Option<String>), RpcError> {
    rules::check_name("collection", collection)?;
    let start = paging::start(cursor)?;
    let objects = game.tree(OBJECTS)?;
    match owner {
        Some(u) => {
            let prefix = Key::new().str(collection).uuid(u);
            // Objects the caller may not read are skipped, but never more than a bounded
            // number per page: the page may then be short, with a cursor to go on.
            let page = objects.page_scanning::<StoredObject>(
                prefix.as_bytes(),
                start.as_deref(),
                limit,
                max_scan(limit),
                |o| rules::may_read(o, actor),
            )?;
            let next = paging::next(&page);
            Ok((page.entries.into_iter().map(|(_, o)| o).collect(), next))
        }
        None => {
            let prefix = Key::new().str(collection);
            let page = game.tree(PUBLIC_OBJECTS)?.page::<bool>(
                prefix.as_bytes(),
                start.as_deref(),
                limit,
            )?;
            let mut out = Vec::with_capacity(page.entries.len());
            for (k, _) in &page.entries {
                if let Some(o) = objects.get::<StoredObject>(k)? {
                    out.push(o);
                }
            }
            Ok((out, paging::next(&page)))
        }
    }
}

/// An object as clients see it. Nakama's REST API carries the value as JSON text
/// (`value_as_text`); Outpost's RPCs carry it as a JSON object.
pub fn object_json(o: &StoredObject, value_as_text: bool) -> serde_json::Value {
    let value = if value_as_text {
        serde_json::Value::String(o.value.clone())
    } else {
        serde_json::from_str(&o.value).unwrap_or(serde_json::Value::Null)
    };
    serde_json::json!({
        "collection": o.collection,
        "key": o.key,
        "user_id": o.user_id,
        "value": value,
        "version": o.version,
        "permission_read": o.permission_read,
        "permission_write": o.permission_write,
        "create_time": crate::time::rfc3339(o.create_time),
        "update_time": crate::time::rfc3339(o.update_time),
    })
}
