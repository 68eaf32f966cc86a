//! Pure rules: what a new event may hold, when a recurring event comes back (weekends,
//! dates, cron in UTC), how live XP boosts stack, and which goal thresholds pay whom.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::model::{
    AppliesTo, CommunityGoal, Event, EventMission, EventState, Recurrence, Threshold, XpBoost,
};
use crate::features::achievements::rules::check_id;
use crate::features::missions::Reporter;
use crate::features::profiles::rules::{check_name, check_text};
use crate::features::rewards::{self, Reward};
use crate::features::seasons::rules::parse_time;
use crate::rpc::RpcError;

pub const MAX_MISSIONS: usize = 50;
pub const MAX_GOALS: usize = 10;
pub const MAX_THRESHOLDS: usize = 20;
pub const MAX_EVENT_SECS: i64 = 90 * 86_400;
/// Live XP boosts add their bonuses (×2 and ×1.5 make ×2.5), up to this many percent.
pub const MAX_BOOST_PERCENT: u32 = 1000;
pub const MAX_AMOUNT: u64 = 1_000_000_000;

fn invalid(msg: String) -> RpcError {
    RpcError::InvalidArgument(msg)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissionInput {
    pub mission_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub target: u64,
    #[serde(default)]
    pub reward: Option<Value>,
    #[serde(default)]
    pub rewards: Option<Value>,
    #[serde(default)]
    pub progress_by: Reporter,
    #[serde(default)]
    pub max_player_increment: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdInput {
    pub at: u64,
    #[serde(default)]
    pub reward: Option<Value>,
    #[serde(default)]
    pub rewards: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalInput {
    pub goal_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub thresholds: Vec<ThresholdInput>,
    #[serde(default)]
    pub min_contribution: u64,
    #[serde(default)]
    pub contribution_by: Reporter,
    #[serde(default)]
    pub max_player_contribution: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    pub starts_at: Value,
    pub ends_at: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RecurrenceInput {
    Weekends,
    Dates { windows: Vec<WindowInput> },
    Cron { cron: String, duration: String },
}

/// `event_create` as the request writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub game_id: String,
    pub event_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub starts_at: Option<Value>,
    #[serde(default)]
    pub ends_at: Option<Value>,
    #[serde(default)]
    pub recurrence: Option<RecurrenceInput>,
    #[serde(default)]
    pub xp_multiplier: Option<f64>,
    #[serde(default)]
    pub xp_applies_to: AppliesTo,
    #[serde(default)]
    pub missions: Vec<MissionInput>,
    #[serde(default)]
    pub goals: Vec<GoalInput>,
    #[serde(default = "yes")]
    pub announce: bool,
}

fn yes() -> bool {
    true
}

fn reward_of(field: &str, a: &Option<Value>, b: &Option<Value>) -> Result<Reward, RpcError> {
    let r = match (a, b) {
        (Some(_), Some(_)) => {
            return Err(invalid(format!(
                "{field}: give `reward` or `rewards`, not both"
            )))
        }
        (Some(v), None) | (None, Some(v)) => rewards::rules::from_shorthand(field, v)?,
        (None, None) => return Err(invalid(format!("{field}: a reward is required"))),
    };
    if rewards::rules::is_empty(&r) {
        return Err(invalid(format!("{field}: the reward is empty")));
    }
    Ok(r)
}

fn cap(field: &str, by: Reporter, cap: Option<u64>) -> Result<u64, RpcError> {
    match (by, cap) {
        (Reporter::Server, Some(_)) => Err(invalid(format!(
            "{field}: only what players report takes a cap"
        ))),
        (_, Some(0)) => Err(invalid(format!("{field} must be at least 1"))),
        (_, Some(n)) if n > MAX_AMOUNT => Err(invalid(format!("{field} is too large"))),
        (_, Some(n)) => Ok(n),
        (_, None) => Ok(1),
    }
}

fn recurrence(r: &RecurrenceInput) -> Result<Recurrence, RpcError> {
    Ok(match r {
        RecurrenceInput::Weekends => Recurrence::Weekends,
        RecurrenceInput::Dates { windows } => {
            if windows.is_empty() || windows.len() > 366 {
                return Err(invalid("recurrence.windows: give 1 to 366 windows".into()));
            }
            let mut out: Vec<(i64, i64)> = Vec::with_capacity(windows.len());
            for (i, w) in windows.iter().enumerate() {
                let f = format!("recurrence.windows[{i}]");
                let s = parse_time(&format!("{f}.starts_at"), &w.starts_at)?;
                let e = parse_time(&format!("{f}.ends_at"), &w.ends_at)?;
                if e <= s || e - s > MAX_EVENT_SECS {
                    return Err(invalid(format!(
                        "{f}: ends_at must be after starts_at, at most 90 days later"
                    )));
                }
                if out.last().is_some_and(|(_, pe)| s < *pe) {
                    return Err(invalid(format!(
                        "{f}: windows must be in order and not overlap"
                    )));
                }
                out.push((s, e));
            }
            Recurrence::Dates { windows: out }
        }
        RecurrenceInput::Cron { cron, duration } => {
            Cron::parse(cron).map_err(|e| invalid(format!("recurrence.cron: {e}")))?;
            let d = crate::time::parse_duration(duration)
                .map_err(|e| invalid(format!("recurrence.duration: {e}")))?;
            if d > MAX_EVENT_SECS {
                return Err(invalid("recurrence.duration: at most 90 days".into()));
            }
            Recurrence::Cron {
                cron: cron.clone(),
                duration_secs: d,
            }
        }
    })
}

/// Checks a new event and builds it (`now`: the game's clock).
pub fn event(req: &EventInput, now: i64) -> Result<Event, RpcError> {
    check_id("event_id", &req.event_id)?;
    check_name("title", &req.title)?;
    check_text("description", &req.description, 1024)?;
    let rec = req.recurrence.as_ref().map(recurrence).transpose()?;
    let (starts_at, ends_at) = match (&req.starts_at, &req.ends_at, &rec) {
        (Some(s), Some(e), _) => (parse_time("starts_at", s)?, parse_time("ends_at", e)?),
        (None, None, Some(r)) => first_window(r, now)
            .ok_or_else(|| invalid("recurrence: it has no window after now".into()))?,
        (None, None, None) => {
            return Err(invalid(
                "starts_at and ends_at are required (or a recurrence)".into(),
            ))
        }
        _ => {
            return Err(invalid(
                "give both starts_at and ends_at, or neither".into(),
            ))
        }
    };
    if ends_at <= starts_at {
        return Err(invalid("ends_at must be after starts_at".into()));
    }
    if ends_at <= now {
        return Err(invalid("ends_at is already past".into()));
    }
    if ends_at - starts_at > MAX_EVENT_SECS {
        return Err(invalid("ends_at: an event lasts at most 90 days".into()));
    }
    let xp_boost = match req.xp_multiplier {
        None => None,
        Some(m) if m.is_finite() && m > 1.0 && m <= 10.0 => Some(XpBoost {
            percent: (m * 100.0).round() as u32,
            applies_to: req.xp_applies_to,
        }),
        Some(m) => {
            return Err(invalid(format!(
                "xp_multiplier must be above 1 and at most 10, not {m}"
            )))
        }
    };
    if req.missions.len() > MAX_MISSIONS {
        return Err(invalid(format!("missions: at most {MAX_MISSIONS}")));
    }
    let mut missions: Vec<EventMission> = Vec::new();
    for (i, m) in req.missions.iter().enumerate() {
        let f = format!("missions[{i}]");
        check_id(&format!("{f}.mission_id"), &m.mission_id)?;
        if missions.iter().any(|x| x.mission_id == m.mission_id) {
            return Err(invalid(format!(
                "{f}.mission_id: `{}` appears twice",
                m.mission_id
            )));
        }
        check_name(&format!("{f}.title"), &m.title)?;
        check_text(&format!("{f}.description"), &m.description, 512)?;
        if m.target == 0 || m.target > MAX_AMOUNT {
            return Err(invalid(format!(
                "{f}.target must be between 1 and {MAX_AMOUNT}"
            )));
        }
        missions.push(EventMission {
            mission_id: m.mission_id.clone(),
            title: m.title.clone(),
            description: m.description.clone(),
            target: m.target,
            reward: reward_of(&f, &m.reward, &m.rewards)?,
            progress_by: m.progress_by,
            max_player_increment: cap(
                &format!("{f}.max_player_increment"),
                m.progress_by,
                m.max_player_increment,
            )?,
        });
    }
    if req.goals.len() > MAX_GOALS {
        return Err(invalid(format!("goals: at most {MAX_GOALS}")));
    }
    let mut goals: Vec<CommunityGoal> = Vec::new();
    for (i, g) in req.goals.iter().enumerate() {
        let f = format!("goals[{i}]");
        check_id(&format!("{f}.goal_id"), &g.goal_id)?;
        if goals.iter().any(|x| x.goal_id == g.goal_id) {
            return Err(invalid(format!(
                "{f}.goal_id: `{}` appears twice",
                g.goal_id
            )));
        }
        check_name(&format!("{f}.title"), &g.title)?;
        check_text(&format!("{f}.description"), &g.description, 512)?;
        if g.thresholds.is_empty() || g.thresholds.len() > MAX_THRESHOLDS {
            return Err(invalid(format!(
                "{f}.thresholds: give 1 to {MAX_THRESHOLDS} thresholds"
            )));
        }
        let mut thresholds: Vec<Threshold> = Vec::new();
        for (j, t) in g.thresholds.iter().enumerate() {
            let tf = format!("{f}.thresholds[{j}]");
            if t.at == 0 || t.at > MAX_AMOUNT || thresholds.last().is_some_and(|p| t.at <= p.at) {
                return Err(invalid(format!(
                    "{tf}.at must rise from threshold to threshold, between 1 and {MAX_AMOUNT}"
                )));
            }
            thresholds.push(Threshold {
                at: t.at,
                reward: reward_of(&tf, &t.reward, &t.rewards)?,
            });
        }
        if g.min_contribution > MAX_AMOUNT {
            return Err(invalid(format!("{f}.min_contribution is too large")));
        }
        goals.push(CommunityGoal {
            goal_id: g.goal_id.clone(),
            title: g.title.clone(),
            description: g.description.clone(),
            thresholds,
            min_contribution: g.min_contribution,
            contribution_by: g.contribution_by,
            max_player_contribution: cap(
                &format!("{f}.max_player_contribution"),
                g.contribution_by,
                g.max_player_contribution,
            )?,
        });
    }
    if xp_boost.is_none() && missions.is_empty() && goals.is_empty() {
        return Err(invalid(
            "an event needs an xp_multiplier, missions or goals".into(),
        ));
    }
    Ok(Event {
        event_id: req.event_id.clone(),
        title: req.title.clone(),
        description: req.description.clone(),
        starts_at,
        ends_at,
        occurrence: 1,
        recurrence: rec,
        xp_boost,
        missions,
        goals,
        announce: req.announce,
        state: EventState::Scheduled,
        created_at: now,
    })
}

/// True while the event counts: inside its window and not ended.
pub fn is_live(e: &Event, now: i64) -> bool {
    matches!(e.state, EventState::Scheduled | EventState::Active)
        && e.starts_at <= now
        && now < e.ends_at
}

/// The XP multiplier (percent) of these live boosts for `target`: bonuses add
/// (×2 and ×1.5 give ×2.5), capped at [`MAX_BOOST_PERCENT`].
pub fn stacked_percent<'a>(boosts: impl Iterator<Item = &'a XpBoost>, season: bool) -> u32 {
    let bonus: u32 = boosts
        .filter(|b| match b.applies_to {
            AppliesTo::All => true,
            AppliesTo::Season => season,
            AppliesTo::Profile => !season,
        })
        .map(|b| b.percent.saturating_sub(100))
        .fold(0u32, |a, b| a.saturating_add(b));
    100u32.saturating_add(bonus).min(MAX_BOOST_PERCENT)
}

/// Goal thresholds a `total` reaches (their indexes).
pub fn reached(goal: &CommunityGoal, total: u64) -> Vec<usize> {
    goal.thresholds
        .iter()
        .enumerate()
        .filter(|(_, t)| total >= t.at)
        .map(|(i, _)| i)
        .collect()
}

/// A contributor qualifies for a goal's thresholds with at least the minimum (and more
/// than nothing).
pub fn qualifies(goal: &CommunityGoal, contribution: u64) -> bool {
    contribution > 0 && contribution >= goal.min_contribution
}

const DAY: i64 = 86_400;

fn weekend_at_or_after(t: i64) -> (i64, i64) {
    let d = t.div_euclid(DAY);
    // 1970-01-01 was a Thursday; Monday = 0.
    let wd = (d + 3).rem_euclid(7);
    let sat = d - (wd - 5).rem_euclid(7);
    let (s, e) = (sat * DAY, (sat + 2) * DAY);
    if t < e {
        (s, e)
    } else {
        (s + 7 * DAY, e + 7 * DAY)
    }
}

/// The window an event created at `now` opens with: the one under way or the next.
pub fn first_window(r: &Recurrence, now: i64) -> Option<(i64, i64)> {
    match r {
        Recurrence::Weekends => Some(weekend_at_or_after(now)),
        Recurrence::Dates { windows } => windows.iter().copied().find(|(_, e)| *e > now),
        Recurrence::Cron {
            cron,
            duration_secs,
        } => {
            let c = Cron::parse(cron).ok()?;
            let s = c.next_at_or_after(now)?;
            Some((s, s + duration_secs))
        }
    }
}

/// The window after one that ended at `after`: the first that starts at or after it.
pub fn next_window(r: &Recurrence, after: i64) -> Option<(i64, i64)> {
    match r {
        Recurrence::Weekends => {
            let (s, e) = weekend_at_or_after(after);
            Some(if s < after {
                (s + 7 * DAY, e + 7 * DAY)
            } else {
                (s, e)
            })
        }
        Recurrence::Dates { windows } => windows.iter().copied().find(|(s, _)| *s >= after),
        Recurrence::Cron {
            cron,
            duration_secs,
        } => {
            let c = Cron::parse(cron).ok()?;
            let s = c.next_at_or_after(after)?;
            Some((s, s + duration_secs))
        }
    }
}

/// A 5-field cron expression in UTC: minute hour day-of-month month day-of-week, each `*`,
/// a number, a range `a-b`, a step `*/n` or `a-b/n`, or a list of those; day-of-week 0–7
/// (0 and 7 are Sunday). When both day fields are restricted, either may match (as cron).
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    any_day: bool,
    any_weekday: bool,
}

fn field(text: &str, lo: u32, hi: u32, name: &str) -> Result<(u64, bool), String> {
    let mut mask = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{name}: bad step in `{part}`"))?,
            ),
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = a.parse::<u32>().map_err(|_| format!("{name}: `{part}`"))?;
            let b = b.parse::<u32>().map_err(|_| format!("{name}: `{part}`"))?;
            (a, b)
        } else {
            let a = range
                .parse::<u32>()
                .map_err(|_| format!("{name}: `{part}` is not a number"))?;
            (a, if part.contains('/') { hi } else { a })
        };
        if a < lo || b > hi || a > b {
            return Err(format!("{name}: `{part}` is outside {lo}-{hi}"));
        }
        let mut v = a;
        while v <= b {
            mask |= 1 << v;
            v += step;
        }
    }
    Ok((mask, text == "*"))
}

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "`{text}` needs 5 fields: minute hour day-of-month month day-of-week"
            ));
        }
        let (minutes, _) = field(parts[0], 0, 59, "minute")?;
        let (hours, _) = field(parts[1], 0, 23, "hour")?;
        let (days, any_day) = field(parts[2], 1, 31, "day-of-month")?;
        let (months, _) = field(parts[3], 1, 12, "month")?;
        let (mut weekdays, any_weekday) = field(parts[4], 0, 7, "day-of-week")?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            minutes,
            hours,
            days,
            months,
            weekdays,
            any_day,
            any_weekday,
        })
    }

    fn day_matches(&self, t: &DateTime<Utc>) -> bool {
        let dom = self.days & (1 << t.day()) != 0;
        let dow = self.weekdays & (1 << t.weekday().num_days_from_sunday()) != 0;
        match (self.any_day, self.any_weekday) {
            (false, false) => dom || dow,
            _ => dom && dow,
        }
    }

    /// The first matching minute at or after `t` (within about 4 years).
    pub fn next_at_or_after(&self, t: i64) -> Option<i64> {
        let mut at = Utc
            .timestamp_opt(t + (60 - t.rem_euclid(60)) % 60, 0)
            .single()?;
        let limit = at + Duration::days(4 * 366);
        while at < limit {
            if self.months & (1 << at.month()) == 0 {
                let (y, m) = if at.month() == 12 {
                    (at.year() + 1, 1)
                } else {
                    (at.year(), at.month() + 1)
                };
                at = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single()?;
                continue;
            }
            if !self.day_matches(&at) {
                at = (at + Duration::days(1)).with_hour(0)?.with_minute(0)?;
                continue;
            }
            if self.hours & (1 << at.hour()) == 0 {
                at = (at + Duration::hours(1)).with_minute(0)?;
                continue;
            }
            if self.minutes & (1 << at.minute()) == 0 {
                at += Duration::minutes(1);
                continue;
            }
            return Some(at.timestamp());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn weekends_run_saturday_to_monday() {
        // 2026-12-02 is a Wednesday.
        let w = first_window(&Recurrence::Weekends, t("2026-12-02T10:00:00Z")).unwrap();
        assert_eq!(w, (t("2026-12-05T00:00:00Z"), t("2026-12-07T00:00:00Z")));
        let inside = first_window(&Recurrence::Weekends, t("2026-12-06T23:00:00Z")).unwrap();
        assert_eq!(inside, w, "a weekend under way is the first window");
        assert_eq!(
            next_window(&Recurrence::Weekends, w.1).unwrap(),
            (t("2026-12-12T00:00:00Z"), t("2026-12-14T00:00:00Z"))
        );
    }

    #[test]
    fn cron_finds_the_next_minute_in_utc() {
        let c = Cron::parse("30 18 * * 5").unwrap();
        assert_eq!(
            c.next_at_or_after(t("2026-12-02T10:00:00Z")),
            Some(t("2026-12-04T18:30:00Z"))
        );
        let c = Cron::parse("0 0 1 */3 *").unwrap();
        assert_eq!(
            c.next_at_or_after(t("2026-12-02T10:00:00Z")),
            Some(t("2027-01-01T00:00:00Z"))
        );
        let c = Cron::parse("0 12 13 * 5").unwrap();
        // Either the 13th or a Friday (cron's rule when both are given).
        assert_eq!(
            c.next_at_or_after(t("2026-12-02T13:00:00Z")),
            Some(t("2026-12-04T12:00:00Z"))
        );
        assert!(Cron::parse("61 * * * *").is_err());
        assert!(Cron::parse("* * *").is_err());
        assert!(Cron::parse("*/0 * * * *").is_err());
    }

    #[test]
    fn boosts_add_their_bonuses_up_to_the_cap() {
        let b = |p, a| XpBoost {
            percent: p,
            applies_to: a,
        };
        let live = [
            b(200, AppliesTo::All),
            b(150, AppliesTo::Season),
            b(300, AppliesTo::Profile),
        ];
        assert_eq!(stacked_percent(live.iter(), true), 250);
        assert_eq!(stacked_percent(live.iter(), false), 400);
        assert_eq!(stacked_percent([].iter(), true), 100);
        let many = vec![b(1000, AppliesTo::All); 3];
        assert_eq!(stacked_percent(many.iter(), true), MAX_BOOST_PERCENT);
    }
}
