//! `outpost game create|list`.

use std::process::ExitCode;

use clap::Subcommand;

use super::operate::{operate, print_json, text};
use crate::admin::Operation;
use crate::config::Config;

#[derive(Subcommand)]
pub enum GameCmd {
    /// Register a new game and print its game_id.
    Create { name: String },
    /// List registered games.
    List,
}

pub fn run(cfg: &Config, cmd: &GameCmd, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        GameCmd::Create { name } => {
            let reply = operate(cfg, Operation::GameCreate { name: name.clone() })?;
            if json {
                print_json(&reply["game"])?;
            } else {
                println!("{}", text(&reply["game"]["game_id"]));
            }
        }
        GameCmd::List => {
            let reply = operate(cfg, Operation::GameList)?;
            let games = reply["games"].as_array().cloned().unwrap_or_default();
            if json {
                print_json(&serde_json::json!({ "games": games }))?;
            } else if games.is_empty() {
                println!("no games yet: `outpost game create <name>`");
            } else {
                println!("{:<36}  {:<24}  created", "game_id", "name");
                for g in games {
                    println!(
                        "{:<36}  {:<24}  {}",
                        text(&g["game_id"]),
                        text(&g["name"]),
                        text(&g["created_at"])
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
