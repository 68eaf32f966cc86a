//! The `outpost` command line: `serve` and the admin's subcommands.

mod game;
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
        Command::Game { cmd } => {
            let loaded = load(&cli, None)?;
            game::run(&loaded.config, cmd)
        }
        Command::User { cmd } => {
            let loaded = load(&cli, None)?;
            user::run(&loaded.config, cmd)
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
