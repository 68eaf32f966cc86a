use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{planner, MAX_OPERATIONS};
use crate::features::vault::{self, AnyStep, Vault};
use crate::rpc::{RpcContext, RpcError};
use crate::store::GameStore;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteRequest {
    /// The game operations act on when their payload names none.
    #[serde(default)]
    game_id: Option<String>,
    #[serde(default)]
    atomic: bool,
    operations: Vec<Operation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    rpc_id: String,
    #[serde(default)]
    payload: Option<Value>,
}

#[derive(Serialize)]
pub struct OperationResult {
    operation_index: usize,
    rpc_id: String,
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u32>,
}

#[derive(Serialize)]
pub struct ExecuteReply {
    atomic: bool,
    total_operations: usize,
    successful_operations: usize,
    failed_operations: usize,
    /// By index.
    results: Vec<OperationResult>,
}

fn payload_of(op: &Operation, game_id: Option<&str>) -> Result<Value, RpcError> {
    let mut payload = match &op.payload {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(other) => {
            return Err(RpcError::invalid(format!(
                "payload must be a JSON object, not {}",
                crate::rpc::json_kind(other)
            )))
        }
    };
    if let (Value::Object(m), Some(g)) = (&mut payload, game_id) {
        m.entry("game_id")
            .or_insert_with(|| Value::String(g.to_string()));
    }
    Ok(payload)
}

fn at(i: usize, op: &Operation) -> String {
    format!("operations[{i}] ({})", op.rpc_id)
}

pub async fn execute(ctx: RpcContext, req: ExecuteRequest) -> Result<ExecuteReply, RpcError> {
    if req.operations.is_empty() || req.operations.len() > MAX_OPERATIONS {
        return Err(RpcError::invalid(format!(
            "operations must hold 1 to {MAX_OPERATIONS} operations"
        )));
    }
    for (i, op) in req.operations.iter().enumerate() {
        if op.rpc_id.eq_ignore_ascii_case(ctx.rpc_id) {
            return Err(RpcError::invalid(format!(
                "{}: a batch cannot contain another batch_execute",
                at(i, op)
            )));
        }
    }
    let results = if req.atomic {
        atomic(&ctx, &req).await?
    } else {
        one_by_one(&ctx, &req).await
    };
    let ok = results.iter().filter(|r| r.success).count();
    Ok(ExecuteReply {
        atomic: req.atomic,
        total_operations: results.len(),
        successful_operations: ok,
        failed_operations: results.len() - ok,
        results,
    })
}

/// Each operation through the registry as if called alone; failures are reported by index
/// and the rest still run.
async fn one_by_one(ctx: &RpcContext, req: &ExecuteRequest) -> Vec<OperationResult> {
    let mut out = Vec::with_capacity(req.operations.len());
    for (i, op) in req.operations.iter().enumerate() {
        let result = match payload_of(op, req.game_id.as_deref()) {
            Ok(p) => ctx.app.call(ctx.caller.clone(), &op.rpc_id, p).await,
            Err(e) => Err(e),
        };
        out.push(match result {
            Ok(data) => OperationResult {
                operation_index: i,
                rpc_id: op.rpc_id.clone(),
                success: true,
                data: Some(data),
                error: None,
                code: None,
            },
            Err(e) => OperationResult {
                operation_index: i,
                rpc_id: op.rpc_id.clone(),
                success: false,
                data: None,
                code: Some(e.grpc_code()),
                error: Some(e.to_string()),
            },
        });
    }
    out
}

/// Every operation planned (caller class, rate limit, payload, permissions checked), then
/// all applied in one transaction over the game's vault and made durable; the first
/// failure rolls everything back and is the reply, naming its operation.
async fn atomic(ctx: &RpcContext, req: &ExecuteRequest) -> Result<Vec<OperationResult>, RpcError> {
    let mut game: Option<GameStore> = None;
    let mut steps: Vec<Box<dyn AnyStep>> = Vec::with_capacity(req.operations.len());
    for (i, op) in req.operations.iter().enumerate() {
        let plan = planner(&op.rpc_id).ok_or_else(|| {
            RpcError::invalid(format!(
                "{}: this RPC cannot join an atomic batch (atomic batches take {})",
                at(i, op),
                super::JOINABLE
                    .iter()
                    .map(|(id, _)| *id)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let entry = ctx
            .app
            .registry
            .get(&op.rpc_id)
            .ok_or_else(|| RpcError::NotFound(format!("{}: no such RPC", at(i, op))))?;
        let caller = ctx
            .app
            .registry
            .admit(&ctx.app, ctx.caller.clone(), entry)
            .map_err(|e| e.within(&at(i, op)))?;
        let op_ctx = RpcContext {
            app: ctx.app.clone(),
            caller,
            rpc_id: entry.id,
        };
        let payload = payload_of(op, req.game_id.as_deref()).map_err(|e| e.within(&at(i, op)))?;
        let (g, step) = plan(&op_ctx, payload).map_err(|e| e.within(&at(i, op)))?;
        match &game {
            Some(first) if first.id() != g.id() => {
                return Err(RpcError::invalid(format!(
                    "{}: an atomic batch acts on one game; this operation names another",
                    at(i, op)
                )))
            }
            Some(_) => {}
            None => game = Some(g),
        }
        steps.push(step);
    }
    let game = game.ok_or_else(|| RpcError::invalid("operations must not be empty"))?;
    let vault = Vault::open(&game)?;
    let data = vault.transaction(&[], |tx| {
        let mut out = Vec::with_capacity(steps.len());
        for (i, step) in steps.iter().enumerate() {
            let prefix = format!("{}; nothing was applied", at(i, &req.operations[i]));
            out.push(vault::within(&prefix, step.apply_json(tx))?);
        }
        Ok(out)
    })?;
    game.durable().await?;
    Ok(data
        .into_iter()
        .enumerate()
        .map(|(i, mut d)| {
            if let Value::Object(m) = &mut d {
                m.entry("success").or_insert(Value::Bool(true));
            }
            OperationResult {
                operation_index: i,
                rpc_id: req.operations[i].rpc_id.clone(),
                success: true,
                data: Some(d),
                error: None,
                code: None,
            }
        })
        .collect())
}
