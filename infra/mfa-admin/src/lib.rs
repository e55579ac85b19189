//! `mfa-admin`'s operations, as a library so the integration tests seed data the same way an
//! operator does.

pub mod import;

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use shared::account::{NewAccount, normalise_username};
use shared::clock::Clock;
use shared::config::Config;
use shared::email::is_valid;
use shared::keys::Keys;
use shared::password;
use shared::policy::AccountKind;
use shared::store::Store;
use shared::{App, Error};

/// What went wrong, split by who has to fix it: the caller's arguments (exit 2) or the world.
#[derive(Debug)]
pub enum AdminError {
    Usage(String),
    Failed(String),
}

impl From<Error> for AdminError {
    fn from(e: Error) -> Self {
        match e {
            Error::BadRequest { message, .. } => AdminError::Usage(message),
            Error::Unavailable { context } => AdminError::Failed(context),
            other => AdminError::Failed(other.to_string()),
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// Creates what is missing: the table, the key secret, the first token signing keys, and (when
/// an address is known) the SES sender identity. Safe to run again. Returns one line per thing it created.
pub async fn bootstrap(
    sdk: &SdkConfig,
    table: &str,
    secret_id: &str,
    sender: Option<&str>,
) -> AdminResult<Vec<String>> {
    let mut done = vec![];
    let store = Store::new(aws_sdk_dynamodb::Client::new(sdk), table);
    if store.create_table_if_missing().await? {
        done.push(format!("created table {table}"));
    }
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let existing = secrets.describe_secret().secret_id(secret_id).send().await;
    match existing {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_resource_not_found_exception()) =>
        {
            secrets
                .create_secret()
                .name(secret_id)
                .description("Staff MFA keys: data_key seals TOTP secrets, token_key hashes tokens")
                .secret_string(Keys::generate_json()?)
                .send()
                .await
                .map_err(|e| {
                    AdminError::Failed(format!("create secret: {}", DisplayErrorContext(&e)))
                })?;
            done.push(format!("created secret {secret_id}"));
        }
        Err(e) => {
            return Err(AdminError::Failed(format!(
                "describe secret: {}",
                DisplayErrorContext(&e)
            )));
        }
    }
    let keys = Keys::load(&secrets, secret_id).await?;
    let now = Clock::system().now();
    done.extend(shared::flows::signing_keys::ensure(&store, &keys, now).await?);
    let sender = match sender {
        Some(s) => Some(s.to_owned()),
        None => store.get_settings().await?.org_default_email,
    };
    if let Some(sender) = sender
        && ensure_sender(sdk, &sender).await?
    {
        done.push(format!("created SES identity {sender}"));
    }
    Ok(done)
}

/// Creates the SES identity for `sender` unless it exists. True when it was created.
pub async fn ensure_sender(sdk: &SdkConfig, sender: &str) -> AdminResult<bool> {
    if !is_valid(sender) {
        return Err(AdminError::Usage(format!(
            "{sender:?} is not a valid email address"
        )));
    }
    let ses = aws_sdk_sesv2::Client::new(sdk);
    if ses
        .get_email_identity()
        .email_identity(sender)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    ses.create_email_identity()
        .email_identity(sender)
        .send()
        .await
        .map_err(|e| {
            AdminError::Failed(format!(
                "create SES identity: {}",
                aws_sdk_sesv2::error::DisplayErrorContext(&e)
            ))
        })?;
    Ok(true)
}

pub struct AccountSpec<'a> {
    pub username: &'a str,
    pub kind: AccountKind,
    pub name_email: Option<&'a str>,
    pub address_email: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// Adds an account. Emails are stored as given (they come from a directory; the readiness report
/// flags the bad ones); the password must pass the rules for new passwords.
pub async fn add_account(store: &Store, clock: &Clock, spec: AccountSpec<'_>) -> AdminResult<()> {
    let username = normalise_username(spec.username).ok_or_else(|| {
        AdminError::Usage(
            "username must be 1-64 characters of letters, digits and . _ @ - +".into(),
        )
    })?;
    let hash = match spec.password {
        Some(pw) => {
            password::check_new(pw).map_err(AdminError::Usage)?;
            Some(password::hash(pw)?)
        }
        None => None,
    };
    let created = store
        .create_account(NewAccount {
            username: &username,
            kind: spec.kind,
            name_email: spec.name_email,
            address_email: spec.address_email,
            password_hash: hash.as_deref(),
            created_at: clock.now(),
        })
        .await?;
    if !created {
        return Err(AdminError::Failed(format!(
            "account {username} already exists"
        )));
    }
    Ok(())
}

pub async fn link_account(
    store: &Store,
    username: &str,
    provider: &str,
    subject: &str,
) -> AdminResult<()> {
    let username = normalise_username(username)
        .ok_or_else(|| AdminError::Usage("not a valid username".into()))?;
    // One provider-id rule for the CLI and the API.
    if !shared::federation::is_provider_id(provider) {
        return Err(AdminError::Usage(
            "the provider id must be 1 to 32 lowercase letters, digits or hyphens".into(),
        ));
    }
    if subject.is_empty() || subject.len() > 255 {
        return Err(AdminError::Usage(
            "the subject must be 1 to 255 characters".into(),
        ));
    }
    let Some(p) = store.get_provider(provider).await? else {
        return Err(AdminError::Failed(format!("no provider {provider}")));
    };
    if store.load_account(&username).await?.is_none() {
        return Err(AdminError::Failed(format!("no account {username}")));
    }
    // Keyed by the provider's issuer and subject: the identity, not our name for the provider.
    store
        .link_subject(&p.id, &p.issuer, subject, &username)
        .await?;
    Ok(())
}

/// Where links in mail point: `PUBLIC_BASE_URL`, which must be the stack's `ApiUrl`, an absolute
/// http(s) URL (no query or fragment: the link's path and token are appended). Commands that mail
/// a link ask for it before they write anything, so a missing or wrong value never mails people a
/// link to somewhere else (such as a local address).
pub fn link_base() -> AdminResult<String> {
    let value = std::env::var("PUBLIC_BASE_URL").unwrap_or_default();
    check_link_base(&value)
}

/// `link_base`'s rule, for a given value.
pub fn check_link_base(value: &str) -> AdminResult<String> {
    let value = value.trim();
    let refuse = |why: &str| {
        Err(AdminError::Usage(format!(
            "PUBLIC_BASE_URL {why}: set it to the stack's ApiUrl (https://...) to mail links"
        )))
    };
    if value.is_empty() {
        return refuse("is not set");
    }
    let Ok(url) = url::Url::parse(value) else {
        return refuse("is not an absolute URL");
    };
    if !matches!(url.scheme(), "https" | "http")
        || url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return refuse("is not an http(s) base URL");
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Connects like a function does, from the same environment variables.
pub async fn connect(sdk: &SdkConfig) -> AdminResult<App> {
    let config = Config::from_lookup(|name| match name {
        // Links in mail take `link_base` (checked), not this; any base URL will do here.
        "PUBLIC_BASE_URL" => std::env::var(name)
            .ok()
            .or(Some("http://127.0.0.1:9000".into())),
        _ => std::env::var(name).ok(),
    })
    .map_err(|e| AdminError::Usage(e.to_string()))?;
    Ok(App::connect(config, sdk, Clock::system()).await?)
}

/// `mfa-admin readiness recount`'s lines: the new count, and how each figure moved since the
/// count it replaced (what changed in between; a count has no drift of its own to report).
pub fn recount_report(
    before: Option<&shared::flows::tally::Tally>,
    now: &shared::flows::tally::Tally,
) -> Vec<String> {
    use shared::clock::rfc3339;
    let figures = |t: &shared::flows::tally::Tally| {
        [
            ("enrolled", t.enrolled),
            ("pending", t.pending),
            ("not enrolled", t.not_enrolled),
            ("can sign in", t.figures.total),
            ("with an app", t.figures.enrolled),
            ("mailed, no app yet", t.figures.mailed),
            ("without an app", t.figures.pending),
            ("cannot be mailed", t.cannot_mail_total),
        ]
    };
    let mut lines = vec![format!(
        "counted at {} ({} read units)",
        rfc3339(now.counted_at),
        now.read_units
    )];
    let was = before.map(figures);
    for (i, (name, n)) in figures(now).into_iter().enumerate() {
        let change = match &was {
            Some(w) => {
                let diff = i128::try_from(n).unwrap_or(i128::MAX)
                    - i128::try_from(w[i].1).unwrap_or(i128::MAX);
                format!(" ({diff:+})")
            }
            None => String::new(),
        };
        lines.push(format!("{name}: {n}{change}"));
    }
    lines.push(match before {
        Some(b) => format!("changes since the count at {}", rfc3339(b.counted_at)),
        None => "no earlier count".to_owned(),
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_need_an_absolute_http_base() {
        for good in [
            "https://abc.execute-api.eu-west-1.amazonaws.com",
            "https://mfa.example.org/",
            "https://mfa.example.org/staff",
            "http://127.0.0.1:9000",
        ] {
            assert!(check_link_base(good).is_ok(), "{good}");
        }
        assert_eq!(
            check_link_base(" https://mfa.example.org/ ")
                .ok()
                .as_deref(),
            Some("https://mfa.example.org")
        );
        for bad in [
            "",
            " ",
            "mfa.example.org",
            "/x",
            "ftp://mfa.example.org",
            "mailto:a@example.org",
            "https://mfa.example.org?x",
            "https://mfa.example.org#x",
            "https://u:p@mfa.example.org",
            "file:///etc",
        ] {
            assert!(
                matches!(check_link_base(bad), Err(AdminError::Usage(_))),
                "{bad:?}"
            );
        }
    }
}
