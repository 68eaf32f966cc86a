//! `outpost analytics export --game G [--since T] > events.ndjson`: every event of a game,
//! oldest first, one JSON object per line, fetched a page at a time through the running
//! server's admin socket (or the database when the server is stopped).

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;

use super::operate::operate;
use crate::admin::Operation;
use crate::config::Config;

#[derive(Subcommand)]
pub enum AnalyticsCmd {
    /// Write a game's events to stdout as NDJSON (a count goes to stderr).
    Export {
        /// The game's id.
        #[arg(long, value_name = "GAME_ID")]
        game: String,
        /// Only events at or after this time (RFC 3339 or YYYY-MM-DD).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
    },
}

pub fn run(cfg: &Config, cmd: &AnalyticsCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AnalyticsCmd::Export { game, since } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let mut cursor: Option<String> = None;
            let mut count = 0u64;
            loop {
                let reply = operate(
                    cfg,
                    Operation::AnalyticsExport {
                        game_id: game.clone(),
                        since: since.clone(),
                        cursor: cursor.clone(),
                    },
                )?;
                for e in reply["events"].as_array().into_iter().flatten() {
                    serde_json::to_writer(&mut out, e)?;
                    out.write_all(b"\n")?;
                    count += 1;
                }
                match reply["cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            out.flush()?;
            eprintln!("exported {count} events");
            Ok(ExitCode::SUCCESS)
        }
    }
}
