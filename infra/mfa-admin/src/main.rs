//! `mfa-admin`: the operator's command line. Bad arguments: one line on stderr and exit 2.

use shared::audit::{Action, Outcome};
use std::io::Read;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use mfa_admin::{AccountSpec, AdminError, AdminResult};
use shared::flows::admin::{SettingsChange, change_settings};
use shared::flows::guard::Actor;
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
    /// OpenID Connect clients: the organisation's sites that sign in through us.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Identity providers and social logins (we are their relying party).
    Provider {
        #[command(subcommand)]
        command: ProviderCommand,
    },
    /// The provider's token signing keys.
    SigningKey {
        #[command(subcommand)]
        command: SigningKeyCommand,
    },
    /// Runs the rollout's schedule once, as EventBridge does every minute on AWS: a scheduled
    /// switch-on whose time has come, then the campaign's next batch of setup mails.
    Tick,
    /// The rollout's figures the console's overview shows.
    Readiness {
        #[command(subcommand)]
        command: ReadinessCommand,
    },
}

#[derive(Subcommand)]
enum ReadinessCommand {
    /// Counts every staff account from scratch now, keeps the count, and prints it beside the
    /// count it replaces: what changed since then.
    Recount,
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client (or replace its registration). Prints a confidential client's secret once.
    Add {
        #[arg(long)]
        client_id: String,
        /// A redirect URI, exactly as the client will send it (repeat for more).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (browser or native app): no secret, PKCE only.
        #[arg(long)]
        public: bool,
        #[arg(long)]
        name: Option<String>,
        /// Listed on the sign-in page for signed-in staff.
        #[arg(long)]
        home_url: Option<String>,
        /// A kind of account that may sign in to it (repeat; default: staff and sysadmin).
        #[arg(long = "allowed-kind", value_parser = parse_kind)]
        allowed_kinds: Vec<shared::policy::AccountKind>,
        /// A grant it may use: authorization_code, refresh_token, password (repeat; default: the
        /// first two). The password grant is only for a confidential client of api accounts.
        #[arg(long = "grant-type", value_parser = parse_grant)]
        grant_types: Vec<shared::oidc::GrantType>,
        /// Also accept sign-ins without a second factor (by default only `acr` `mfa` sign-ins).
        #[arg(long)]
        no_require_code: bool,
    },
    /// Remove a client; its tokens stop refreshing.
    Remove {
        #[arg(long)]
        client_id: String,
    },
    /// A new secret for a confidential client (printed once); the old one stops working.
    RotateSecret {
        #[arg(long)]
        client_id: String,
    },
    /// Every client.
    List,
}

#[derive(Subcommand)]
enum ProviderCommand {
    /// Configure a provider by its issuer (its discovery document is fetched now).
    Set {
        #[arg(long)]
        id: String,
        #[arg(long, value_enum)]
        kind: ProviderKindArg,
        #[arg(long)]
        issuer: String,
        /// Our client id at the provider.
        #[arg(long)]
        client_id: String,
        /// Read our client secret at the provider from standard input (never the command line).
        #[arg(long)]
        client_secret_stdin: bool,
        #[arg(long)]
        display_name: Option<String>,
        /// An `amr` value the provider's tokens must carry (repeat for more; sso only).
        #[arg(long = "require-amr")]
        require_amr: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ProviderKindArg {
    Social,
    Sso,
}

#[derive(Subcommand)]
enum SigningKeyCommand {
    /// Promote the key published ahead, retire the current one (still published for a day),
    /// and publish a new one ahead. No token fails verification anywhere.
    Rotate,
    /// Every key, its state and age.
    List,
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
        /// No password: mail the user a link to choose one (valid 7 days). Links use
        /// PUBLIC_BASE_URL (the stack's ApiUrl), required: refused without it.
        #[arg(long, conflicts_with = "password_stdin")]
        invite: bool,
    },
    /// Import accounts from a CSV file with the header username,kind,name_email,address_email.
    Import {
        file: std::path::PathBuf,
        /// Report what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Mail each added account an invitation to choose a password (PUBLIC_BASE_URL, the
        /// stack's ApiUrl, required: refused without it, even for a dry run).
        #[arg(long)]
        invite: bool,
    },
    /// Disable an account: it cannot sign in, and its sessions end.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// Delete an account with its enrolment, sessions, links and tokens.
    Delete {
        #[arg(long)]
        username: String,
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
        /// Days audit entries are kept (30 to 3650; default 400).
        #[arg(long)]
        audit_retention_days: Option<u32>,
        /// Who must sign in with their passkey once they have one: none, sysadmin or all_staff.
        #[arg(long, value_parser = parse_phishing_resistant)]
        phishing_resistant_required_for: Option<shared::policy::PhishingResistant>,
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
    let sdk = shared::app::sdk_config().await?;
    match cli.command {
        Command::Bootstrap { sender } => {
            let table = env("MFA_TABLE")?;
            let secret = env("MFA_KEYS_SECRET")?;
            for line in mfa_admin::bootstrap(&sdk, &table, &secret, sender.as_deref()).await? {
                println!("{line}");
            }
        }
        Command::Client { command } => client(&sdk, command).await?,
        Command::Provider {
            command:
                ProviderCommand::Set {
                    id,
                    kind,
                    issuer,
                    client_id,
                    client_secret_stdin,
                    display_name,
                    require_amr,
                },
        } => {
            let client_secret = if client_secret_stdin {
                let mut buf = String::new();
                std::io::stdin()
                    .read_to_string(&mut buf)
                    .map_err(|e| AdminError::Usage(format!("cannot read the secret: {e}")))?;
                Some(buf.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let app = mfa_admin::connect(&sdk).await?;
            let spec = shared::flows::providers::ProviderSpec {
                kind: match kind {
                    ProviderKindArg::Social => shared::policy::ProviderKind::Social,
                    ProviderKindArg::Sso => shared::policy::ProviderKind::Sso,
                },
                issuer,
                client_id,
                client_secret,
                display_name,
                jwks: None,
                require_amr,
            };
            let saved =
                shared::flows::providers::put(&app, &Actor::Operator("mfa-admin"), &id, spec)
                    .await?;
            println!("{}", shared::flows::providers::describe(&saved));
        }
        Command::Tick => {
            let app = mfa_admin::connect(&sdk).await?;
            let done = shared::flows::rollout::tick(&app).await?;
            println!(
                "MFA switched on: {}; campaign mails sent: {}",
                if done.switched_on { "yes" } else { "no" },
                done.mailed
            );
            for line in &done.rotated {
                println!("signing keys: {line}");
            }
        }
        Command::Readiness {
            command: ReadinessCommand::Recount,
        } => {
            let app = mfa_admin::connect(&sdk).await?;
            let before = app.store.get_tally().await?;
            let before: Option<shared::flows::tally::Tally> =
                before.and_then(|json| serde_json::from_str(&json).ok());
            let now = shared::flows::tally::recount(&app).await?;
            for line in mfa_admin::recount_report(before.as_ref(), &now) {
                println!("{line}");
            }
        }
        Command::SigningKey { command } => {
            let app = mfa_admin::connect(&sdk).await?;
            match command {
                SigningKeyCommand::Rotate => {
                    for line in
                        shared::flows::signing_keys::rotate(&app.store, &app.keys, app.now())
                            .await?
                    {
                        println!("{line}");
                    }
                }
                SigningKeyCommand::List => {
                    for (kid, state, created) in
                        shared::flows::signing_keys::list(&app.store).await?
                    {
                        println!(
                            "{kid}\t{}\tcreated {}",
                            state.as_str(),
                            shared::clock::rfc3339(created)
                        );
                    }
                }
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
                    invite,
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
            // An invitation needs somewhere to go, and a link that leads there: refused before
            // anything is written.
            let base = if invite {
                Some(mfa_admin::link_base()?)
            } else {
                None
            };
            if invite
                && let Err(problem) =
                    shared::email::setup_recipient(name_email.as_deref(), address_email.as_deref())
            {
                return Err(AdminError::Usage(format!(
                    "an invitation needs a valid email ({})",
                    problem.as_str()
                )));
            }
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
            app.audit(
                "mfa-admin",
                Action::AccountAdd,
                &username.to_lowercase(),
                Outcome::Success,
            )
            .await;
            if let Some(base) = base {
                let record = app
                    .store
                    .load_account(&username.to_lowercase())
                    .await?
                    .ok_or_else(|| AdminError::Failed("the account vanished".into()))?;
                shared::flows::passwords::mail_link(&app, &record.account, true, &base).await?;
                app.audit(
                    "mfa-admin",
                    Action::Invitation,
                    &record.account.username,
                    Outcome::Sent,
                )
                .await;
                println!("added {username}; invitation mailed");
                return Ok(());
            }
            println!("added {username}");
        }
        Command::Account {
            command:
                AccountCommand::Import {
                    file,
                    dry_run,
                    invite,
                },
        } => {
            // Checked even for a dry run, which shows what the real run would do.
            let base = if invite {
                Some(mfa_admin::link_base()?)
            } else {
                None
            };
            let bytes = std::fs::read(&file)
                .map_err(|e| AdminError::Usage(format!("cannot read {}: {e}", file.display())))?;
            let app = mfa_admin::connect(&sdk).await?;
            let report = mfa_admin::import::import(&app.store, app.now(), &bytes, dry_run).await?;
            let verb = |done: &'static str, would: &'static str| if dry_run { would } else { done };
            for (line, why) in &report.refused {
                println!("refused line {line}: {why}");
            }
            for (user, fields) in &report.updated {
                println!(
                    "{} {user} ({})",
                    verb("updated", "would update"),
                    fields.join(", ")
                );
            }
            for user in &report.added {
                println!("{} {user}", verb("added", "would add"));
            }
            let mut invited = 0;
            if let Some(base) = base.filter(|_| !dry_run) {
                for account in app.store.get_profiles(&report.added).await? {
                    match shared::flows::passwords::mail_link(&app, &account, true, &base).await {
                        Ok(()) => invited += 1,
                        Err(e) => println!("not invited {}: {e}", account.username),
                    }
                }
            }
            let detail = serde_json::json!({
                "added": report.added.len(), "updated": report.updated.len(),
                "unchanged": report.unchanged.len(), "refused": report.refused.len(),
                "invited": invited, "dry_run": dry_run,
            });
            if !dry_run {
                app.audit_detail(
                    "mfa-admin",
                    Action::AccountImport,
                    &file.display().to_string(),
                    Outcome::Success,
                    Some(&detail),
                )
                .await;
            }
            println!(
                "{} {}, {} {}, unchanged {}, refused {}{}",
                verb("added", "would add"),
                report.added.len(),
                verb("updated", "would update"),
                report.updated.len(),
                report.unchanged.len(),
                report.refused.len(),
                if invite {
                    format!(", invited {invited}")
                } else {
                    String::new()
                }
            );
        }
        Command::Account {
            command:
                command @ (AccountCommand::Disable { .. }
                | AccountCommand::Enable { .. }
                | AccountCommand::Delete { .. }),
        } => {
            use shared::flows::admin::{AccountChange, change_account};
            let (username, change, done) = match command {
                AccountCommand::Disable { username } => {
                    (username, AccountChange::Disable, "disabled")
                }
                AccountCommand::Enable { username } => (username, AccountChange::Enable, "enabled"),
                AccountCommand::Delete { username } => (username, AccountChange::Delete, "deleted"),
                _ => return Err(AdminError::Usage("unexpected command".into())),
            };
            let username = shared::account::normalise_username(&username)
                .ok_or_else(|| AdminError::Usage("not a valid username".into()))?;
            let app = mfa_admin::connect(&sdk).await?;
            change_account(&app, &Actor::Operator("mfa-admin"), &username, change)
                .await
                .map_err(|e| match e {
                    shared::Error::NotFound => AdminError::Failed(format!("no account {username}")),
                    other => other.into(),
                })?;
            println!("{done} {username}");
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
            app.audit_detail(
                "mfa-admin",
                Action::AccountLink,
                &username.to_lowercase(),
                Outcome::Success,
                Some(&serde_json::json!({ "provider": provider })),
            )
            .await;
            println!("linked {username} to {provider}");
        }
        Command::Settings {
            command:
                SettingsCommand::Set {
                    mfa_enabled,
                    org_default_email,
                    org_name,
                    audit_retention_days,
                    phishing_resistant_required_for,
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
                    audit_retention_days,
                    phishing_resistant_required_for,
                    ..Default::default()
                },
            )
            .await?;
            println!(
                "mfa_enabled={} org_default_email={} org_name={} phishing_resistant_required_for={}",
                saved.mfa_enabled,
                saved.org_default_email.as_deref().unwrap_or("-"),
                saved.org_name.as_deref().unwrap_or("-"),
                saved.phishing_resistant_required_for.as_str()
            );
        }
    }
    Ok(())
}

fn parse_phishing_resistant(s: &str) -> Result<shared::policy::PhishingResistant, String> {
    shared::policy::PhishingResistant::parse(s)
        .ok_or_else(|| "who must use a passkey: none, sysadmin or all_staff".to_owned())
}

fn parse_kind(s: &str) -> Result<shared::policy::AccountKind, String> {
    shared::policy::AccountKind::parse(s)
        .ok_or_else(|| "a kind is staff, sysadmin, member or api".to_owned())
}

fn parse_grant(s: &str) -> Result<shared::oidc::GrantType, String> {
    shared::oidc::GrantType::parse(s)
        .ok_or_else(|| "a grant type is authorization_code, refresh_token or password".to_owned())
}

async fn client(sdk: &aws_config::SdkConfig, command: ClientCommand) -> AdminResult<()> {
    use shared::flows::clients;
    let app = mfa_admin::connect(sdk).await?;
    let operator = Actor::Operator("mfa-admin");
    match command {
        ClientCommand::Add {
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            name,
            home_url,
            allowed_kinds,
            grant_types,
            no_require_code,
        } => {
            let spec = clients::ClientSpec {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                public,
                home_url,
                allowed_kinds: (!allowed_kinds.is_empty()).then_some(allowed_kinds),
                grant_types: (!grant_types.is_empty()).then_some(grant_types),
                require_code: Some(!no_require_code),
            };
            match clients::put(&app, &operator, &client_id, spec).await? {
                Some(secret) => println!("client_id: {client_id}\nclient_secret: {secret}"),
                None => println!("client_id: {client_id}"),
            }
        }
        ClientCommand::Remove { client_id } => {
            clients::delete(&app, &operator, &client_id).await?;
            println!("removed {client_id}");
        }
        ClientCommand::RotateSecret { client_id } => {
            let secret = clients::rotate_secret(&app, &operator, &client_id).await?;
            println!("client_id: {client_id}\nclient_secret: {secret}");
        }
        ClientCommand::List => {
            for c in app.store.list_clients().await? {
                let kinds: Vec<&str> = c.allowed_kinds.iter().map(|k| k.as_str()).collect();
                let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}\tkinds={} grants={} require_code={}",
                    c.id,
                    if c.public { "public" } else { "confidential" },
                    c.redirect_uris.join(" "),
                    c.name,
                    kinds.join(","),
                    grants.join(","),
                    c.require_code
                );
            }
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
