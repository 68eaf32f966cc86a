//! Nakama's `POST /v2/event`: one analytics event `{name, properties, timestamp, external}`
//! for the session's player, on the session's game. It is admitted and stored as the
//! `analytics_collect_events` RPC it stands for (same checks, same rate limit); the reply
//! is Nakama's empty object, or the event's refusal as a 400.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};
use warp::reply::Response;

use super::request::{caller, finish, json_body, json_reply, Req};
use crate::rpc::{decode, RpcError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NakamaEvent {
    name: String,
    /// Nakama sends strings; numbers and booleans are accepted too.
    #[serde(default)]
    properties: BTreeMap<String, Value>,
    /// RFC 3339; absent means now.
    #[serde(default)]
    timestamp: Option<String>,
    /// Nakama's flag for events from outside the server; every event here comes from a
    /// client, so it changes nothing.
    #[serde(default)]
    #[allow(dead_code)]
    external: Option<bool>,
}

pub async fn event(req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let who = caller(&req)?;
        let e: NakamaEvent = decode(json_body(&req.body)?)?;
        let mut event = json!({ "name": e.name, "properties": e.properties });
        if let Some(ts) = e.timestamp {
            event["timestamp"] = Value::String(ts);
        }
        // The gate admitted the caller as the RPC this route stands for.
        let entry = req
            .rpc
            .as_ref()
            .ok_or_else(|| RpcError::Internal("event route admitted no RPC".into()))?;
        let reply = app
            .registry
            .call_admitted(&app, who, entry, json!({ "events": [event] }))
            .await?;
        if let Some(refused) = reply["refused"].get(0) {
            return Err(RpcError::invalid(
                refused["error"]
                    .as_str()
                    .unwrap_or("event refused")
                    .to_string(),
            ));
        }
        Ok(json_reply(200, &json!({})))
    }
    .await;
    finish(&app, "event", result)
}
