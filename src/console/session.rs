//! Who is signed in to the console: an account with the admin role, signed in with its
//! email and password. The session token travels in an HttpOnly, Secure, SameSite=Strict
//! cookie; every change carries a CSRF token derived from the session (HMAC of its token
//! id under the session secret), so a page of another site cannot make one.

use std::collections::BTreeMap;

use ring::hmac;

use crate::app::App;
use crate::auth::{AuthError, Credential, Role};
use crate::rpc::Caller;

pub const COOKIE: &str = "outpost_console";

/// A signed-in admin.
#[derive(Clone)]
pub struct Admin {
    pub caller: Caller,
    pub username: String,
    pub csrf: String,
}

/// Why sign-in failed, in words for the form.
pub fn sign_in_error(e: &AuthError) -> String {
    match e {
        AuthError::Banned { .. } => "This account is banned.".into(),
        AuthError::BadCredentials | AuthError::NotFound(_) => "Wrong email or password.".into(),
        AuthError::RateLimited { retry_after_secs } => {
            format!("Too many sign-in attempts: try again in {retry_after_secs} s.")
        }
        AuthError::InvalidArgument(m) => format!("{m}."),
        AuthError::Store(_) | AuthError::Unauthenticated(_) | AuthError::AlreadyExists(_) => {
            "The server could not sign you in (see its log); try again.".into()
        }
    }
}

/// Signs in with email and password; only admins get a console session. Wrong passwords
/// from `peer`'s network are limited as the API limits them.
pub async fn sign_in(
    app: &App,
    peer: Option<std::net::IpAddr>,
    email: &str,
    password: &str,
) -> Result<String, String> {
    if let Some(ip) = peer {
        app.limiters.check_logins(ip).map_err(|retry_after_secs| {
            app.metrics.rate_limited("auth");
            sign_in_error(&AuthError::RateLimited { retry_after_secs })
        })?;
    }
    let cred = Credential::Email {
        email: email.trim().to_string(),
        password: password.to_string(),
    };
    let done = match app
        .auth
        .authenticate(cred, false, None, BTreeMap::new())
        .await
    {
        Ok(done) => done,
        Err(e) => {
            if let (AuthError::BadCredentials, Some(ip)) = (&e, peer) {
                app.limiters.wrong_password(ip);
            }
            if let AuthError::Store(err) = &e {
                tracing::warn!(error = %err, "console sign-in failed on the store");
            }
            return Err(sign_in_error(&e));
        }
    };
    let token = done.session.token.clone();
    let claims = app
        .auth
        .verify_session(&token)
        .map_err(|e| sign_in_error(&e))?;
    let account = app
        .auth
        .account(done.account.id)
        .map_err(|e| sign_in_error(&e))?;
    if account.role != Role::Admin {
        // Do not leave a usable session behind for a non-admin.
        let _ = app.auth.logout(&claims, None, None).await;
        return Err("This account is not an administrator (`outpost user promote`).".into());
    }
    Ok(token)
}

/// The admin behind a cookie's token, if it is still good and still an admin.
pub fn admin(app: &App, token: &str) -> Option<Admin> {
    let claims = app.auth.verify_session(token).ok()?;
    let uid = uuid::Uuid::parse_str(&claims.uid).ok()?;
    let account = app.auth.account(uid).ok()?;
    if account.role != Role::Admin {
        return None;
    }
    Some(Admin {
        // Checked just above: an admin acts as one, on any player's data.
        caller: Caller::Admin(Some(uid)),
        username: account.username,
        csrf: csrf_token(app, &claims.tid),
    })
}

/// Signs out: the session token is revoked.
pub async fn sign_out(app: &App, token: &str) {
    if let Ok(claims) = app.auth.verify_session(token) {
        let _ = app.auth.logout(&claims, None, None).await;
    }
}

pub fn csrf_token(app: &App, token_id: &str) -> String {
    let key = hmac::Key::new(
        hmac::HMAC_SHA256,
        app.auth.secrets().session_secret.as_bytes(),
    );
    let tag = hmac::sign(&key, format!("console-csrf:{token_id}").as_bytes());
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time comparison of a submitted CSRF token.
pub fn csrf_ok(admin: &Admin, submitted: Option<&str>) -> bool {
    match submitted {
        Some(s) if s.len() == admin.csrf.len() => {
            s.bytes()
                .zip(admin.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        }
        _ => false,
    }
}

pub fn set_cookie(token: &str, max_age: i64) -> String {
    format!("{COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}")
}

pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
}
