//! `outpost clock show|advance`: a game's time, and moving it forward in dev mode.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use super::operate::{operate, print_json, text};
use crate::admin::Operation;
use crate::config::Config;

#[derive(Subcommand)]
pub enum ClockCmd {
    /// A game's time and how far it runs ahead of the wall clock.
    Show {
        #[arg(long, value_name = "GAME_ID")]
        game: String,
    },
    /// Move a game's clock forward (server.dev_mode only): due resets, season ends and
    /// events run at once.
    Advance {
        /// How far, like 90s, 15m, 24h, 7d, 2w.
        by: String,
        #[arg(long, value_name = "GAME_ID")]
        game: String,
    },
}

pub fn run(cfg: &Config, cmd: &ClockCmd, json: bool) -> anyhow::Result<ExitCode> {
    let (id, payload) = match cmd {
        ClockCmd::Show { game } => ("dev_clock_get", json!({ "game_id": game })),
        ClockCmd::Advance { by, game } => {
            ("dev_clock_advance", json!({ "game_id": game, "by": by }))
        }
    };
    let reply = operate(
        cfg,
        Operation::Rpc {
            id: id.into(),
            payload,
        },
    )?;
    if json {
        print_json(&reply)?;
    } else {
        println!(
            "game {} time {} (ahead of the wall clock by {} s{})",
            text(&reply["game_id"]),
            text(&reply["now"]),
            text(&reply["offset_secs"]),
            if reply["dev_mode"].as_bool() == Some(true) {
                ", dev mode"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
