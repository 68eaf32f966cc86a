//! One error for every RPC, with its HTTP status and gRPC code. Features return it (or
//! their own error converted into it); transports render it.

use crate::auth::AuthError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    FailedPrecondition(String),
    /// A concurrent change won (stale version, …): retrying may succeed.
    #[error("{0}")]
    Aborted(String),
    #[error("{reason}")]
    Banned { reason: String, until: Option<i64> },
    #[error("rate limit exceeded: retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The client did not send its request in time (HTTP 408).
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl RpcError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        RpcError::InvalidArgument(msg.into())
    }

    /// The same error with `prefix: ` before its message (which operation of a batch, which
    /// element of a list), keeping its status.
    pub fn within(self, prefix: &str) -> Self {
        let p = |m: String| format!("{prefix}: {m}");
        match self {
            RpcError::InvalidArgument(m) => RpcError::InvalidArgument(p(m)),
            RpcError::NotFound(m) => RpcError::NotFound(p(m)),
            RpcError::AlreadyExists(m) => RpcError::AlreadyExists(p(m)),
            RpcError::PermissionDenied(m) => RpcError::PermissionDenied(p(m)),
            RpcError::Unauthenticated(m) => RpcError::Unauthenticated(p(m)),
            RpcError::FailedPrecondition(m) => RpcError::FailedPrecondition(p(m)),
            RpcError::Aborted(m) => RpcError::Aborted(p(m)),
            RpcError::PayloadTooLarge(m) => RpcError::PayloadTooLarge(p(m)),
            RpcError::Unavailable(m) => RpcError::Unavailable(p(m)),
            RpcError::Timeout(m) => RpcError::Timeout(p(m)),
            other => other,
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            RpcError::InvalidArgument(_) | RpcError::FailedPrecondition(_) => 400,
            RpcError::Unauthenticated(_) => 401,
            RpcError::PermissionDenied(_) | RpcError::Banned { .. } => 403,
            RpcError::NotFound(_) => 404,
            RpcError::Timeout(_) => 408,
            RpcError::AlreadyExists(_) | RpcError::Aborted(_) => 409,
            RpcError::PayloadTooLarge(_) => 413,
            RpcError::RateLimited { .. } => 429,
            RpcError::Internal(_) => 500,
            RpcError::Unavailable(_) => 503,
        }
    }

    /// The gRPC status code, which Nakama client SDKs read.
    pub fn grpc_code(&self) -> u32 {
        match self {
            RpcError::InvalidArgument(_) | RpcError::PayloadTooLarge(_) => 3,
            RpcError::Timeout(_) => 4,
            RpcError::NotFound(_) => 5,
            RpcError::AlreadyExists(_) => 6,
            RpcError::PermissionDenied(_) | RpcError::Banned { .. } => 7,
            RpcError::RateLimited { .. } => 8,
            RpcError::FailedPrecondition(_) => 9,
            RpcError::Aborted(_) => 10,
            RpcError::Internal(_) => 13,
            RpcError::Unavailable(_) => 14,
            RpcError::Unauthenticated(_) => 16,
        }
    }

    /// The error body every transport sends:
    /// `{"success": false, "error", "code", "message"}` plus `retry_after` / ban details.
    pub fn body(&self) -> serde_json::Value {
        let msg = self.to_string();
        let mut body = serde_json::json!({
            "success": false,
            "error": msg,
            "code": self.grpc_code(),
            "message": msg,
        });
        match self {
            RpcError::RateLimited { retry_after_secs } => {
                body["retry_after"] = (*retry_after_secs).into();
            }
            RpcError::Banned { reason, until } => {
                body["ban_reason"] = reason.clone().into();
                body["banned_until"] = match until {
                    Some(u) => crate::time::rfc3339(*u).into(),
                    None => serde_json::Value::Null,
                };
            }
            _ => {}
        }
        body
    }
}

impl From<StoreError> for RpcError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownGame(g) => RpcError::NotFound(format!("game {g} is not registered")),
            StoreError::Invalid(m) => RpcError::InvalidArgument(m),
            other => {
                tracing::error!(error = %other, "storage failure");
                RpcError::Internal("internal storage error".into())
            }
        }
    }
}

impl From<AuthError> for RpcError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidArgument(m) => RpcError::InvalidArgument(m),
            AuthError::NotFound(m) => RpcError::NotFound(m),
            AuthError::Unauthenticated(m) => RpcError::Unauthenticated(m),
            AuthError::AlreadyExists(m) => RpcError::AlreadyExists(m),
            e @ AuthError::BadCredentials => RpcError::Unauthenticated(e.to_string()),
            AuthError::RateLimited { retry_after_secs } => {
                RpcError::RateLimited { retry_after_secs }
            }
            e @ AuthError::Banned { .. } => {
                let until = match &e {
                    AuthError::Banned { ban } => ban.until,
                    _ => None,
                };
                RpcError::Banned {
                    reason: e.to_string(),
                    until,
                }
            }
            AuthError::Store(s) => s.into(),
        }
    }
}
