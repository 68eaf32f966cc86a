//! The RPC gateway, `/v2/rpc/{id}`, as Nakama shapes it:
//! - body a JSON **string** (what Nakama SDKs send) → reply `{"id", "payload": "<JSON text>"}`;
//! - body a JSON **object** → reply the JSON object;
//! - `?unwrap` → raw JSON in, raw JSON out;
//! - `GET` with `?payload=` → as a string body.

use serde_json::{json, Value};
use warp::reply::Response;

use super::request::{caller, finish, json_body, json_reply, Req};
use crate::rpc::{json_kind, RpcError};

enum Shape {
    /// Reply `{"id", "payload": string}`.
    Wrapped,
    /// Reply the object itself.
    Raw,
}

fn parse_payload_text(text: &str) -> Result<Value, RpcError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_str(text)
        .map_err(|e| RpcError::invalid(format!("payload is not valid JSON: {e}")))
}

fn payload_of(req: &Req, get: bool) -> Result<(Value, Shape), RpcError> {
    let unwrap = req.has_query("unwrap");
    if get {
        let text = req.query("payload").unwrap_or("");
        let v = parse_payload_text(text)?;
        // A GET payload may itself be a JSON-encoded string.
        let v = match v {
            Value::String(inner) => parse_payload_text(&inner)?,
            other => other,
        };
        return Ok((v, if unwrap { Shape::Raw } else { Shape::Wrapped }));
    }
    let body = json_body(&req.body)?;
    if unwrap {
        return Ok((body, Shape::Raw));
    }
    match body {
        Value::String(text) => Ok((parse_payload_text(&text)?, Shape::Wrapped)),
        Value::Object(_) => Ok((body, Shape::Raw)),
        other => Err(RpcError::invalid(format!(
            "request body must be a JSON object or a JSON-encoded string, not {}",
            json_kind(&other)
        ))),
    }
}

pub async fn call(id: String, get: bool, req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        // The gate admitted the caller for this RPC (class and rate limit) from the head.
        let who = caller(&req)?;
        let entry = req
            .rpc
            .as_ref()
            .ok_or_else(|| RpcError::NotFound(format!("RPC function `{id}` not found")))?;
        let (mut payload, shape) = payload_of(&req, get)?;
        if let (serde_json::Value::Object(m), Some(g)) = (&mut payload, &req.session_game) {
            m.entry("game_id")
                .or_insert_with(|| serde_json::Value::String(g.clone()));
        }
        let reply = crate::rpc::with_client_ip(
            req.peer,
            req.app
                .registry
                .call_admitted(&req.app, who, entry, payload),
        )
        .await?;
        Ok(match shape {
            Shape::Raw => json_reply(200, &reply),
            Shape::Wrapped => json_reply(200, &json!({"id": id, "payload": reply.to_string()})),
        })
    }
    .await;
    finish(&app, "rpc", result)
}
