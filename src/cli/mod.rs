//! The `outpost` command line: `serve` and the admin's subcommands.

mod backup;
mod clock;
mod game;
mod moderation;
mod operate;
mod status;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Loaded, Overrides};

#[derive(Parser)]
#[command(
    name = "outpost",
    version,
    about = "Outpost: a self-hosted game backend in one binary"
)]
pub struct Cli {
    /// Config file (default: ./outpost.toml when present).
    #[arg(long, global = true, env = "OUTPOST_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (overrides server.data_dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print the reply as JSON (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// HTTPS listen address (overrides server.listen).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
    },
    /// Version, uptime, accounts, games, live connections, database size, last backup.
    Status,
    /// Register and list games.
    Game {
        #[command(subcommand)]
        cmd: game::GameCmd,
    },
    /// Inspect accounts and grant the admin role.
    User {
        #[command(subcommand)]
        cmd: user::UserCmd,
    },
    /// Ban a user now: their tokens and logins are refused at once.
    Ban {
        /// User id, username or email.
        user: String,
        /// How long, like 30m, 24h, 7d (default: permanent).
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Lift a user's ban.
    Unban {
        /// User id, username or email.
        user: String,
    },
    /// List active bans (`--all`: lifted ones too).
    Bans {
        #[arg(long)]
        all: bool,
    },
    /// The newest admin actions: bans, promotions, games, backups, restores.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show or move a game's clock (moving needs server.dev_mode).
    Clock {
        #[command(subcommand)]
        cmd: clock::ClockCmd,
    },
    /// Back up, list and verify backups.
    Backup {
        #[command(subcommand)]
        cmd: backup::BackupCmd,
    },
    /// Replace the database with a backup (the server must be stopped).
    Restore {
        file: PathBuf,
        /// Replace a data dir that already holds data (it is kept aside, not deleted).
        #[arg(long)]
        force: bool,
    },
    /// Validate and show the configuration.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Certificates.
    Cert {
        #[command(subcommand)]
        cmd: CertCmd,
    },
}

#[derive(Subcommand)]
pub enum ConfigCmd {
    /// Validate the configuration and print it with secrets masked.
    Check,
}

#[derive(Subcommand)]
pub enum CertCmd {
    /// Write a self-signed certificate and key for development.
    Generate {
        /// Directory for cert.pem and key.pem (default: tls.cert_dir).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Host names and IPs the certificate is for (repeatable).
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
    },
}

fn load(cli: &Cli, listen: Option<String>) -> Result<Loaded, config::ConfigError> {
    config::load(
        cli.config.as_deref(),
        std::env::vars(),
        &Overrides {
            data_dir: cli.data_dir.clone(),
            listen,
        },
    )
}

/// Parses the command line and runs it.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Serve { listen } => {
            let loaded = load(&cli, listen.clone())?;
            crate::telemetry::init_logs(&loaded.config.log);
            runtime()?.block_on(crate::server::serve(loaded))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status => status::run(&load(&cli, None)?.config, cli.json),
        Command::Game { cmd } => game::run(&load(&cli, None)?.config, cmd, cli.json),
        Command::User { cmd } => user::run(&load(&cli, None)?.config, cmd, cli.json),
        Command::Ban {
            user,
            duration,
            reason,
        } => moderation::ban(
            &load(&cli, None)?.config,
            user,
            duration.clone(),
            reason.clone(),
            cli.json,
        ),
        Command::Unban { user } => moderation::unban(&load(&cli, None)?.config, user, cli.json),
        Command::Bans { all } => moderation::bans(&load(&cli, None)?.config, *all, cli.json),
        Command::Audit { limit } => moderation::audit(&load(&cli, None)?.config, *limit, cli.json),
        Command::Clock { cmd } => clock::run(&load(&cli, None)?.config, cmd, cli.json),
        Command::Backup { cmd } => backup::run(&load(&cli, None)?.config, cmd, cli.json),
        Command::Restore { file, force } => {
            backup::restore(&load(&cli, None)?.config, file, *force, cli.json)
        }
        Command::Config {
            cmd: ConfigCmd::Check,
        } => {
            let loaded = load(&cli, None)?;
            match &loaded.source {
                Some(p) => println!("# config file: {}", p.display()),
                None => println!("# no config file: defaults, environment and flags"),
            }
            print!("{}", loaded.config.render_masked());
            if loaded.unknown.is_empty() {
                println!("# configuration is valid");
                Ok(ExitCode::SUCCESS)
            } else {
                for u in &loaded.unknown {
                    eprintln!("unknown: {u}");
                }
                eprintln!("configuration has {} unknown key(s)", loaded.unknown.len());
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Cert {
            cmd: CertCmd::Generate { out, hosts },
        } => {
            let loaded = load(&cli, None)?;
            let dir = out.clone().unwrap_or(loaded.config.tls.cert_dir.clone());
            let hosts = if hosts.is_empty() {
                vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]
            } else {
                hosts.clone()
            };
            let paths = crate::tls::generate_self_signed(&dir, &hosts)?;
            println!("certificate {}", paths.cert.display());
            println!("key         {} (mode 0600)", paths.key.display());
            println!("for         {}", hosts.join(", "));
            Ok(ExitCode::SUCCESS)
        }
    }
}
