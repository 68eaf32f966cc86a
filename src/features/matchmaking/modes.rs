//! The modes a game offers, as an admin writes them: presets for `solo`, `duo` and `squad`,
//! any other name custom; every field checked, the error naming it.

use serde::Deserialize;

use super::model::{Mode, RatingSystem, Widening};

/// A mode as sent to `matchmaking_set_modes`; missing fields take the preset's (or the
/// default's) value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeInput {
    pub name: String,
    #[serde(default)]
    pub team_size: Option<u32>,
    #[serde(default)]
    pub team_count: Option<u32>,
    #[serde(default)]
    pub min_players: Option<u32>,
    #[serde(default)]
    pub max_players: Option<u32>,
    #[serde(default)]
    pub rating: Option<RatingSystem>,
    #[serde(default)]
    pub initial_rating: Option<f64>,
    #[serde(default)]
    pub widening: Option<Widening>,
    #[serde(default)]
    pub expire_after_secs: Option<u64>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub match_mode: Option<String>,
    #[serde(default)]
    pub match_params: Option<serde_json::Value>,
}

/// `solo` is one against one, `duo` two against two, `squad` four against four.
fn preset(name: &str) -> Option<(u32, u32)> {
    match name {
        "solo" => Some((1, 2)),
        "duo" => Some((2, 2)),
        "squad" => Some((4, 2)),
        _ => None,
    }
}

/// The modes a game has before an admin sets any.
pub fn defaults() -> Vec<Mode> {
    ["solo", "duo", "squad"]
        .iter()
        .map(|n| {
            build(ModeInput {
                name: n.to_string(),
                team_size: None,
                team_count: None,
                min_players: None,
                max_players: None,
                rating: None,
                initial_rating: None,
                widening: None,
                expire_after_secs: None,
                regions: Vec::new(),
                match_mode: None,
                match_params: None,
            })
            .expect("presets are valid")
        })
        .collect()
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks one mode and fills in its defaults. Errors name the field (without the list index,
/// which the caller adds).
pub fn build(m: ModeInput) -> Result<Mode, String> {
    if !is_name(&m.name) {
        return Err("name: 1-32 characters of a-z, 0-9, `_` or `-`".into());
    }
    let (size, count) = match (preset(&m.name), m.team_size, m.team_count) {
        (_, Some(s), Some(c)) => (s, c),
        (Some((s, c)), s2, c2) => (s2.unwrap_or(s), c2.unwrap_or(c)),
        (None, _, _) => {
            return Err(format!(
                "team_size and team_count are required for the custom mode `{}`",
                m.name
            ))
        }
    };
    if !(1..=16).contains(&size) {
        return Err("team_size: between 1 and 16".into());
    }
    if !(1..=16).contains(&count) {
        return Err("team_count: between 1 and 16".into());
    }
    let match_mode = m.match_mode.unwrap_or_else(|| "arena".into());
    let most = match match_mode.as_str() {
        "arena" => {
            if count != 2 {
                return Err("team_count: arena matches have 2 teams (use match_mode `relay` for other shapes)".into());
            }
            16
        }
        "relay" => 64,
        other => {
            return Err(format!(
                "match_mode: `{other}` is not a realtime mode (arena, relay)"
            ))
        }
    };
    let max = m.max_players.unwrap_or(size * count);
    if max < 2 || max > size * count || max > most {
        return Err(format!(
            "max_players: between 2 and team_size × team_count ({}), at most {most} for {match_mode}",
            size * count
        ));
    }
    let min = m.min_players.unwrap_or(max);
    if min < 2 || min > max {
        return Err("min_players: between 2 and max_players".into());
    }
    let widening = m.widening.unwrap_or_default();
    if !(widening.initial.is_finite() && widening.initial >= 0.0) {
        return Err("widening.initial: a number ≥ 0".into());
    }
    if !(widening.step.is_finite() && widening.step >= 0.0) {
        return Err("widening.step: a number ≥ 0".into());
    }
    if !(1..=86_400).contains(&widening.every_secs) {
        return Err("widening.every_secs: between 1 and 86400".into());
    }
    if !(1..=86_400).contains(&widening.max_wait_secs) {
        return Err("widening.max_wait_secs: between 1 and 86400".into());
    }
    let expire = m.expire_after_secs.unwrap_or(600);
    if !(10..=86_400).contains(&expire) {
        return Err("expire_after_secs: between 10 and 86400".into());
    }
    let initial_rating = m.initial_rating.unwrap_or(1500.0);
    if !(initial_rating.is_finite() && (0.0..=10_000.0).contains(&initial_rating)) {
        return Err("initial_rating: between 0 and 10000".into());
    }
    if m.regions.len() > 32 || m.regions.iter().any(|r| !is_name(r)) {
        return Err("regions: at most 32 names of 1-32 characters a-z, 0-9, `_`, `-`".into());
    }
    let match_params = match m.match_params {
        None | Some(serde_json::Value::Null) => serde_json::json!({}),
        Some(v @ serde_json::Value::Object(_)) => v,
        Some(_) => return Err("match_params: an object".into()),
    };
    Ok(Mode {
        name: m.name,
        team_size: size,
        team_count: count,
        min_players: min,
        max_players: max,
        rating: m.rating.unwrap_or_default(),
        initial_rating,
        widening,
        expire_after_secs: expire,
        regions: m.regions,
        match_mode,
        match_params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: serde_json::Value) -> ModeInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn presets_and_custom_modes() {
        let d = defaults();
        assert_eq!(
            d.iter()
                .map(|m| (m.name.as_str(), m.team_size, m.team_count, m.max_players))
                .collect::<Vec<_>>(),
            vec![("solo", 1, 2, 2), ("duo", 2, 2, 4), ("squad", 4, 2, 8)]
        );
        assert_eq!(d[0].widening, Widening::default());
        let e = build(input(serde_json::json!({"name": "br"}))).unwrap_err();
        assert!(e.contains("team_size"), "{e}");
        let br = build(input(serde_json::json!({
            "name": "br", "team_size": 1, "team_count": 10, "min_players": 4,
            "match_mode": "relay", "rating": "glicko2"
        })))
        .unwrap();
        assert_eq!((br.min_players, br.max_players), (4, 10));
        assert_eq!(br.rating, RatingSystem::Glicko2);
        let e = build(input(
            serde_json::json!({"name": "br", "team_size": 1, "team_count": 10}),
        ))
        .unwrap_err();
        assert!(e.starts_with("team_count"), "{e}");
        let e = build(input(serde_json::json!({"name": "solo", "min_players": 3}))).unwrap_err();
        assert!(e.starts_with("min_players"), "{e}");
        let e = build(input(serde_json::json!({"name": "Solo!"}))).unwrap_err();
        assert!(e.starts_with("name"), "{e}");
    }
}
