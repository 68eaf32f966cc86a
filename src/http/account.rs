//! Nakama-compatible authentication, sessions and accounts.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};
use warp::reply::Response;

use super::request::{finish, json_body, json_reply, session, Req};
use crate::auth::{Account, AccountUpdate, AuthError, Credential};
use crate::rpc::{decode, RpcError};

#[derive(Deserialize)]
struct DeviceBody {
    id: String,
    #[serde(default)]
    vars: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct EmailBody {
    email: String,
    password: String,
    #[serde(default)]
    vars: BTreeMap<String, String>,
}

fn create_flag(req: &Req) -> Result<bool, RpcError> {
    match req.query("create") {
        None => Ok(true),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(RpcError::invalid(format!(
                "create must be true or false, not `{other}`"
            ))),
        },
    }
}

pub async fn authenticate(kind: String, req: Req) -> Response {
    let app = req.app.clone();
    finish(&app, "authenticate", authenticate_inner(kind, req).await)
}

/// The route's gate has applied the per-address AUTH limit and checked the server key.
async fn authenticate_inner(kind: String, req: Req) -> Result<Response, RpcError> {
    let create = create_flag(&req)?;
    let username = req
        .query("username")
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    let body = json_body(&req.body)?;
    let (cred, vars) = match kind.as_str() {
        "device" => {
            let b: DeviceBody = decode(body)?;
            (Credential::Device(b.id), b.vars)
        }
        "custom" => {
            let b: DeviceBody = decode(body)?;
            (Credential::Custom(b.id), b.vars)
        }
        "email" => {
            let b: EmailBody = decode(body)?;
            (
                Credential::Email {
                    email: b.email,
                    password: b.password,
                },
                b.vars,
            )
        }
        other => {
            return Err(RpcError::NotFound(format!(
                "no authentication method `{other}`"
            )))
        }
    };
    let limiters = &req.app.limiters;
    let peer = req.peer;
    let with_password = matches!(cred, Credential::Email { .. });
    if with_password {
        limiters
            .check_logins(peer)
            .map_err(|retry_after_secs| RpcError::RateLimited { retry_after_secs })?;
    }
    let may_create = move || limiters.check_new_account(peer);
    let done = match req
        .app
        .auth
        .authenticate_gated(cred, create, username, vars, &may_create)
        .await
    {
        Ok(done) => done,
        Err(e) => {
            if matches!(e, AuthError::BadCredentials) {
                limiters.wrong_password(peer);
            }
            if matches!(e, AuthError::RateLimited { .. }) {
                req.app.metrics.rate_limited("auth");
            }
            return Err(e.into());
        }
    };
    tracing::info!(user = %done.account.id, method = %kind, created = done.created, "authenticated");
    Ok(json_reply(
        200,
        &json!({
            "token": done.session.token,
            "refresh_token": done.session.refresh_token,
            "created": done.created,
        }),
    ))
}

#[derive(Deserialize)]
struct RefreshBody {
    token: String,
    #[serde(default)]
    vars: Option<BTreeMap<String, String>>,
}

pub async fn refresh(req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let b: RefreshBody = decode(json_body(&req.body)?)?;
        let pair = req.app.auth.refresh(&b.token, b.vars).await?;
        Ok(json_reply(
            200,
            &json!({"token": pair.token, "refresh_token": pair.refresh_token, "created": false}),
        ))
    }
    .await;
    finish(&app, "session_refresh", result)
}

#[derive(Deserialize, Default)]
struct LogoutBody {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

pub async fn logout(req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let token = bearer_token(&req).ok_or_else(|| {
            RpcError::Unauthenticated("a player session (Bearer token) is required".into())
        })?;
        let claims = req.app.auth.verify_session(&token)?;
        let b: LogoutBody = decode(json_body(&req.body)?)?;
        req.app
            .auth
            .logout(&claims, b.token.as_deref(), b.refresh_token.as_deref())
            .await?;
        Ok(json_reply(200, &json!({})))
    }
    .await;
    finish(&app, "session_logout", result)
}

fn bearer_token(req: &Req) -> Option<String> {
    req.headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_string)
}

pub fn account_json(a: &Account) -> Value {
    let mut out = json!({
        "user": {
            "id": a.id.to_string(),
            "username": a.username,
            "display_name": a.display_name,
            "avatar_url": a.avatar_url,
            "lang_tag": a.lang_tag,
            "location": a.location,
            "timezone": a.timezone,
            "metadata": a.metadata,
            "online": false,
            "edge_count": 0,
            "create_time": crate::time::rfc3339(a.create_time),
            "update_time": crate::time::rfc3339(a.update_time),
        },
        "wallet": "{}",
        "devices": a.devices.iter().map(|d| json!({"id": d})).collect::<Vec<_>>(),
    });
    if let Some(e) = &a.email {
        out["email"] = json!(e);
    }
    if let Some(c) = &a.custom_id {
        out["custom_id"] = json!(c);
    }
    out
}

pub async fn get_account(req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let s = session(&req)?;
        let account = req.app.auth.account(s.user_id)?;
        Ok(json_reply(200, &account_json(&account)))
    }
    .await;
    finish(&app, "account_get", result)
}

pub async fn update_account(req: Req) -> Response {
    let app = req.app.clone();
    let result = async {
        let s = session(&req)?;
        let update: AccountUpdate = decode(json_body(&req.body)?)?;
        req.app.auth.update_account(s.user_id, update).await?;
        Ok(json_reply(200, &json!({})))
    }
    .await;
    finish(&app, "account_update", result)
}
