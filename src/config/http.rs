//! `[http]`: what one HTTPS client may hold of the server (connections, streams, time to
//! send a request) and where `/metrics` is served.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Most open HTTP connections (TLS and plain together); beyond it new ones are closed
    /// at once.
    pub max_connections: usize,
    /// Most open connections from one client address (trusted proxies are exempt).
    pub max_connections_per_ip: usize,
    /// Seconds a client has to complete its TLS handshake and send a request's headers.
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's body once its headers are in (408 after).
    pub body_read_timeout_secs: u64,
    /// Seconds a connection may sit with no request in flight and no bytes moving before
    /// the server closes it.
    pub idle_timeout_secs: u64,
    /// HTTP/2 streams one connection may have open at once.
    pub h2_max_concurrent_streams: u32,
    /// Serve `GET /metrics` on this plain-HTTP address only (for example `127.0.0.1:9100`),
    /// not on the public HTTPS port. Unset: `/metrics` is on the HTTPS port.
    pub metrics_listen: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_connections: 10_000,
            max_connections_per_ip: 256,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            idle_timeout_secs: 120,
            h2_max_concurrent_streams: 64,
            metrics_listen: None,
        }
    }
}

impl HttpConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        for (name, v) in [
            ("max_connections", self.max_connections as u64),
            ("max_connections_per_ip", self.max_connections_per_ip as u64),
            ("header_read_timeout_secs", self.header_read_timeout_secs),
            ("body_read_timeout_secs", self.body_read_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            (
                "h2_max_concurrent_streams",
                self.h2_max_concurrent_streams as u64,
            ),
        ] {
            if v == 0 {
                return bad(format!("http.{name} must be at least 1"));
            }
        }
        if let Some(m) = &self.metrics_listen {
            if m.parse::<SocketAddr>().is_err() {
                return bad(format!("http.metrics_listen `{m}` is not an ADDRESS:PORT"));
            }
        }
        Ok(())
    }

    pub fn header_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.header_read_timeout_secs)
    }

    pub fn body_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.body_read_timeout_secs)
    }

    pub fn idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.idle_timeout_secs)
    }
}
