//! `outpost game create|list`.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;
use crate::features::games::GameView;

#[derive(Subcommand)]
pub enum GameCmd {
    /// Register a new game and print its game_id.
    Create {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List registered games.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cfg: &Config, cmd: &GameCmd) -> anyhow::Result<ExitCode> {
    let store = crate::server::open_store(&cfg.server.data_dir, cfg.storage.flush_every_ms)?;
    match cmd {
        GameCmd::Create { name, json } => {
            let g = store.create_game(name, Default::default())?;
            store.flush()?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&GameView::from(g))?);
            } else {
                println!("{}", g.id);
            }
        }
        GameCmd::List { json } => {
            let games: Vec<GameView> = store.games().into_iter().map(GameView::from).collect();
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "games": games }))?
                );
            } else if games.is_empty() {
                println!("no games yet: `outpost game create <name>`");
            } else {
                println!("{:<36}  {:<24}  created", "game_id", "name");
                for g in games {
                    println!("{:<36}  {:<24}  {}", g.game_id, g.name, g.created_at);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
