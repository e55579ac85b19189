//! `mfa-admin`: the operator's command line. Bad arguments: one line on stderr and exit 2.

use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use mfa_admin::{AccountSpec, AdminError, AdminResult};
use shared::flows::admin::{Actor, SettingsChange, change_settings};
use shared::policy::AccountKind;

#[derive(Parser)]
#[command(
    name = "mfa-admin",
    about = "Operate Staff MFA against the AWS endpoint the environment names"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the table, the key secret and the sender identity where missing.
    Bootstrap {
        /// Sender address to create an SES identity for (default: the organisation default email).
        #[arg(long)]
        sender: Option<String>,
    },
    /// Accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Organisation settings.
    Settings {
        #[command(subcommand)]
        command: SettingsCommand,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Add an account.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        kind: Kind,
        /// Name.Email
        #[arg(long)]
        name_email: Option<String>,
        /// Name_Address.Email
        #[arg(long)]
        address_email: Option<String>,
        /// Read the password from standard input (never from the command line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Link an external identity to an account.
    Link {
        #[arg(long)]
        username: String,
        #[arg(long)]
        provider: String,
        #[arg(long)]
        subject: String,
    },
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// Change settings; options left out keep their value.
    Set {
        #[arg(long)]
        mfa_enabled: Option<bool>,
        #[arg(long)]
        org_default_email: Option<String>,
        #[arg(long)]
        org_name: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Staff,
    Sysadmin,
    Member,
    Api,
}

impl From<Kind> for AccountKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Staff => AccountKind::Staff,
            Kind::Sysadmin => AccountKind::Sysadmin,
            Kind::Member => AccountKind::Member,
            Kind::Api => AccountKind::Api,
        }
    }
}

fn env(name: &str) -> AdminResult<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AdminError::Usage(format!("missing required environment variable {name}")))
}

async fn run(cli: Cli) -> AdminResult<()> {
    let sdk = shared::app::sdk_config().await;
    match cli.command {
        Command::Bootstrap { sender } => {
            let table = env("MFA_TABLE")?;
            let secret = env("MFA_KEYS_SECRET")?;
            for line in mfa_admin::bootstrap(&sdk, &table, &secret, sender.as_deref()).await? {
                println!("{line}");
            }
        }
        Command::Account {
            command:
                AccountCommand::Add {
                    username,
                    kind,
                    name_email,
                    address_email,
                    password_stdin,
                },
        } => {
            let password = if password_stdin {
                let mut buf = String::new();
                std::io::stdin()
                    .read_to_string(&mut buf)
                    .map_err(|e| AdminError::Usage(format!("cannot read the password: {e}")))?;
                Some(buf.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let app = mfa_admin::connect(&sdk).await?;
            mfa_admin::add_account(
                &app.store,
                &app.clock,
                AccountSpec {
                    username: &username,
                    kind: kind.into(),
                    name_email: name_email.as_deref(),
                    address_email: address_email.as_deref(),
                    password: password.as_deref(),
                },
            )
            .await?;
            println!("added {username}");
        }
        Command::Account {
            command:
                AccountCommand::Link {
                    username,
                    provider,
                    subject,
                },
        } => {
            let app = mfa_admin::connect(&sdk).await?;
            mfa_admin::link_account(&app.store, &username, &provider, &subject).await?;
            println!("linked {username} to {provider}");
        }
        Command::Settings {
            command:
                SettingsCommand::Set {
                    mfa_enabled,
                    org_default_email,
                    org_name,
                },
        } => {
            let app = mfa_admin::connect(&sdk).await?;
            let saved = change_settings(
                &app,
                &Actor::Operator("mfa-admin"),
                SettingsChange {
                    mfa_enabled,
                    org_default_email,
                    org_name,
                },
            )
            .await?;
            println!(
                "mfa_enabled={} org_default_email={} org_name={}",
                saved.mfa_enabled,
                saved.org_default_email.as_deref().unwrap_or("-"),
                saved.org_name.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let rendered = e.render().to_string();
            eprintln!(
                "mfa-admin: {}",
                rendered
                    .lines()
                    .next()
                    .unwrap_or("bad arguments")
                    .trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mfa-admin: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(AdminError::Usage(msg)) => {
            eprintln!("mfa-admin: {msg}");
            ExitCode::from(2)
        }
        Err(AdminError::Failed(msg)) => {
            eprintln!("mfa-admin: {msg}");
            ExitCode::FAILURE
        }
    }
}
