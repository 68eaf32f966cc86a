//! `outpost achievements load FILE --game G`: achievement definitions from a JSON file (a
//! list, or an object with `achievements`, like `data/templates/*.json`) into a game,
//! through `achievements_bulk_create`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::Value;

use super::operate::{operate, print_json, text};
use crate::admin::Operation;
use crate::config::Config;

#[derive(Subcommand)]
pub enum AchievementsCmd {
    /// Create the achievements a JSON file defines (all or none).
    Load {
        file: PathBuf,
        /// The game: its game_id or its name.
        #[arg(long, value_name = "GAME")]
        game: String,
        /// Change achievements that exist already (players keep their progress).
        #[arg(long)]
        replace: bool,
    },
}

/// The definitions a template file holds.
fn definitions(file: &PathBuf) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", file.display()))?;
    match v {
        Value::Array(list) => Ok(list),
        Value::Object(mut m) => match m.remove("achievements") {
            Some(Value::Array(list)) => Ok(list),
            _ => anyhow::bail!(
                "{}: expected a list of achievements or an object with `achievements`",
                file.display()
            ),
        },
        _ => anyhow::bail!("{}: expected a list of achievements", file.display()),
    }
}

/// A game id as given, or the id of the game with that name.
fn game_id(cfg: &Config, game: &str) -> anyhow::Result<String> {
    if uuid::Uuid::parse_str(game).is_ok() {
        return Ok(game.to_string());
    }
    let reply = operate(cfg, Operation::GameList)?;
    let found: Vec<String> = reply["games"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|g| g["name"] == game)
        .map(|g| text(&g["game_id"]))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => anyhow::bail!("no game named `{game}` (see `outpost game list`)"),
        _ => anyhow::bail!("several games are named `{game}`: give its game_id"),
    }
}

pub fn run(cfg: &Config, cmd: &AchievementsCmd, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        AchievementsCmd::Load {
            file,
            game,
            replace,
        } => {
            let achievements = definitions(file)?;
            let game_id = game_id(cfg, game)?;
            let reply = operate(
                cfg,
                Operation::Rpc {
                    id: "achievements_bulk_create".into(),
                    payload: serde_json::json!({
                        "game_id": game_id,
                        "achievements": achievements,
                        "replace": replace,
                    }),
                },
            )?;
            if json {
                print_json(&reply)?;
            } else {
                println!(
                    "loaded {} achievements: {}",
                    text(&reply["created"]),
                    reply["achievement_ids"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(text)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
