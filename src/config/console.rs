//! `[console]`: the admin web console's listener.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsoleConfig {
    /// Serve the console at all.
    pub enabled: bool,
    /// HTTPS listen address. The default keeps it private to the machine (reach it through
    /// an SSH tunnel); a public address serves it behind the same certificate as the API.
    pub listen: String,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: true,
            listen: "127.0.0.1:7351".into(),
        }
    }
}

impl ConsoleConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.enabled && self.listen.parse::<SocketAddr>().is_err() {
            return Err(format!(
                "console.listen `{}` is not an ADDRESS:PORT",
                self.listen
            ));
        }
        Ok(())
    }
}
