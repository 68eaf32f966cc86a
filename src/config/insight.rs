//! `[analytics]` and `[moderation]`: how long events are kept, and the rule that turns
//! player reports into a temporary ban.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalyticsConfig {
    /// Days an analytics event is kept; older ones are pruned by the scheduler.
    pub retention_days: u32,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig { retention_days: 90 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ModerationConfig {
    /// Distinct reporters within `auto_ban_window` that ban a player automatically
    /// (0 turns the rule off).
    pub auto_ban_reporters: u32,
    /// The window reports are counted in, like `24h`.
    pub auto_ban_window: String,
    /// How long an automatic ban lasts, like `24h`.
    pub auto_ban_duration: String,
    /// After an automatic ban, no other one for this long (counted from the ban), like `72h`.
    pub auto_ban_cooldown: String,
    /// Most reports one player may file per hour in one game.
    pub reports_per_hour: u32,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        ModerationConfig {
            auto_ban_reporters: 5,
            auto_ban_window: "24h".into(),
            auto_ban_duration: "24h".into(),
            auto_ban_cooldown: "72h".into(),
            reports_per_hour: 10,
        }
    }
}

impl ModerationConfig {
    /// (window, ban, cooldown) in seconds.
    pub fn durations(&self) -> Result<(i64, i64, i64), String> {
        let d = |name: &str, v: &str| {
            crate::time::parse_duration(v).map_err(|e| format!("moderation.{name}: {e}"))
        };
        Ok((
            d("auto_ban_window", &self.auto_ban_window)?,
            d("auto_ban_duration", &self.auto_ban_duration)?,
            d("auto_ban_cooldown", &self.auto_ban_cooldown)?,
        ))
    }
}

pub(super) fn validate(a: &AnalyticsConfig, m: &ModerationConfig) -> Result<(), ConfigError> {
    if !(1..=3650).contains(&a.retention_days) {
        return Err(ConfigError::Invalid(
            "analytics.retention_days must be 1 to 3650".into(),
        ));
    }
    m.durations().map_err(ConfigError::Invalid)?;
    if m.reports_per_hour == 0 {
        return Err(ConfigError::Invalid(
            "moderation.reports_per_hour must be at least 1".into(),
        ));
    }
    Ok(())
}
