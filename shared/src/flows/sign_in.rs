//! Password sign-in (`POST /sign-in`) and the OAuth 2.0 password grant (`POST /token`). Both
//! check the password the same way; they differ in what a correct password leads to.

use crate::account::{Account, AccountRecord, normalise_username};
use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::email::{mask, setup_recipient};
use crate::error::{Error, Result};
use crate::flows::sessions;
use crate::password::{self, Check};
use crate::policy::{self, AccountKind, MfaState};
use crate::store::locks::LockSite;
use crate::store::settings::Settings;
use crate::token::Purpose;

/// How audit entries name a username that is not an account.
pub use crate::audit::UNKNOWN_USER;

/// Longest password we will hash; longer input is refused before argon2 sees it.
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum SignIn {
    SignedIn {
        session: String,
        expires_at: u64,
        username: String,
        kind: AccountKind,
        /// When the session was made (OIDC `auth_time`).
        auth_time: u64,
        /// When MFA is scheduled to be switched on, for a staff member without an app: from
        /// then, signing in needs a code (the sign-in page says so).
        mfa_from: Option<u64>,
    },
    MfaRequired {
        challenge: String,
        expires_at: u64,
        enrolled: bool,
        /// Where a setup email would go, masked; None when enrolled or no valid address.
        setup_email_to: Option<String>,
        /// The account has a passkey: the code step offers it first.
        passkey: bool,
        /// The organisation holds the account to its passkey: a code from the app is refused.
        passkey_required: bool,
    },
}

/// A password grant's sign-in session: its stored hash becomes the access token's `sid`.
pub struct TokenGrant {
    pub username: String,
    pub session_hash: String,
    pub auth_time: u64,
}

/// Checks username and password from `source` (API Gateway's `requestContext.http.sourceIp`).
/// Unknown users and wrong passwords take the same path and time and end in the same error; each
/// attempt is counted as `attempt` says.
async fn check_password(
    app: &App,
    username: &str,
    password: &str,
    source: &str,
) -> Result<(AccountRecord, Settings)> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::bad_request(
            "invalid_request",
            "The password is too long.",
        ));
    }
    let Some(username) = normalise_username(username) else {
        check_hash(password, None)?;
        return Err(Error::InvalidCredentials);
    };
    // Keyed hashes: the table never holds what was typed into the username box.
    let username_hash = app.keys.tokens.hash(Purpose::ThrottleUser, &username);
    let address_hash = app.keys.tokens.hash(Purpose::ThrottleAddress, source);
    let (settings, record) =
        tokio::try_join!(app.store.get_settings(), app.store.load_account(&username),)?;
    // What the user typed is only recorded when it names an account: a password typed into the
    // username box must not end up in the logs or the audit view.
    let who = if record.is_some() {
        username.as_str()
    } else {
        UNKNOWN_USER
    };
    let by_account = LockSite::PasswordAccount {
        username: &username,
    };
    // The name's count and the address's are one item, counted together once the address's
    // allows it: an address locked out can send as many requests as it likes without spending the
    // account's 100 (which would lock its owner out everywhere). The item is read before argon2
    // and written after it, known name or not, so the two paths take the same requests and the
    // same time.
    let by_name = match &record {
        Some(_) => by_account,
        // A name that is no account has its own count: 100 failures lock it too, so the lock's
        // 429 says nothing about whether the account exists.
        None => LockSite::PasswordUnknown {
            username_hash: &username_hash,
        },
    };
    // A disabled account is refused like a wrong password: the same work, the same answer.
    let record = record.filter(|r| !r.account.disabled);
    let phc = record
        .as_ref()
        .and_then(|r| r.account.password_hash.clone());
    match (
        record,
        attempt(app, &by_name, &address_hash, password, phc.as_deref()).await?,
    ) {
        (_, Attempt::Throttled(wait)) => {
            app.audit(who, Action::SignIn, who, Outcome::Throttled)
                .await;
            Err(Error::Throttled {
                retry_after_secs: wait,
            })
        }
        (Some(record), Attempt::Right { rehash }) => {
            if let (true, Some(old)) = (rehash, phc.as_deref()) {
                upgrade_hash(app, &username, old, password).await;
            }
            Ok((record, settings))
        }
        _ => {
            app.audit(who, Action::SignIn, who, Outcome::InvalidCredentials)
                .await;
            Err(Error::InvalidCredentials)
        }
    }
}

/// How a password attempt went.
enum Attempt {
    /// Not checked: wait this many seconds.
    Throttled(u64),
    Right {
        rehash: bool,
    },
    Wrong,
}

/// One password attempt against `phc` (None: no account, or none that may sign in), counted on
/// `site` for the address `address_hash`: the name's two counts (the (name, address) pair's, so
/// guesses from one address never lock the owner out elsewhere, and the name's across all
/// addresses, 100 in a row) are one item, and the outcome is only given once it is counted
/// there, from the counts as they are after argon2 ran (`Store::count_password_attempt`), so
/// neither count can be outrun by concurrency.
async fn attempt(
    app: &App,
    site: &LockSite<'_>,
    address_hash: &str,
    password: &str,
    phc: Option<&str>,
) -> Result<Attempt> {
    let counted = app
        .store
        .count_password_attempt(
            site,
            address_hash,
            app.now(),
            || check_hash(password, phc),
            |check| matches!(check, Check::Right { .. }),
        )
        .await?;
    Ok(match counted {
        Err(wait) => Attempt::Throttled(wait),
        Ok(Check::Right { rehash }) => Attempt::Right { rehash },
        Ok(Check::Wrong) => Attempt::Wrong,
    })
}

/// The current password of a signed-in account that is changing it: counted against the account's
/// password limits from `source`, exactly as a sign-in's. Ok when it is right.
pub async fn check_current_password(
    app: &App,
    record: &AccountRecord,
    password: &str,
    source: &str,
) -> Result<()> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::bad_request(
            "invalid_request",
            "The password is too long.",
        ));
    }
    let username = &record.account.username;
    let address_hash = app.keys.tokens.hash(Purpose::ThrottleAddress, source);
    let site = LockSite::PasswordAccount { username };
    let phc = record.account.password_hash.as_deref();
    match attempt(app, &site, &address_hash, password, phc).await? {
        Attempt::Throttled(wait) => Err(Error::Throttled {
            retry_after_secs: wait,
        }),
        // Not rehashed: the password is about to be replaced.
        Attempt::Right { .. } => Ok(()),
        Attempt::Wrong => Err(Error::bad_request(
            "invalid_current_password",
            "The current password is not correct.",
        )),
    }
}

/// argon2id runs on the request's own thread. A Lambda instance serves one request at a time, so
/// there is nothing to keep responsive meanwhile; a blocking-pool thread per hash would instead
/// give each thread its own malloc arena holding 19 MiB (measured: peak RSS 125 MiB, against 28 MiB
/// this way; see `make bench`).
fn check_hash(password: &str, phc: Option<&str>) -> Result<Check> {
    match phc {
        Some(phc) => password::verify(password, phc),
        None => {
            password::verify_dummy(password);
            Ok(Check::Wrong)
        }
    }
}

async fn upgrade_hash(app: &App, username: &str, old: &str, password: &str) {
    match password::hash(password) {
        Ok(phc) => {
            if let Err(e) = app.store.rehash_password(username, old, &phc).await {
                tracing::warn!(error = ?e, "password rehash not saved; will retry next sign-in");
            }
        }
        Err(_) => tracing::warn!("password rehash failed; will retry next sign-in"),
    }
}

/// `authorization`: a pending OpenID Connect authorization request (sealed), carried by the
/// challenge when a code is still to come.
pub async fn password_sign_in(
    app: &App,
    username: &str,
    password: &str,
    source: &str,
    authorization: Option<&str>,
) -> Result<SignIn> {
    let (record, settings) = check_password(app, username, password, source).await?;
    let account = &record.account;
    let now = app.now();
    let mfa = policy::mfa_applies(settings.mfa_enabled, record.has_app());
    if policy::code_required(account.kind, mfa) {
        let (challenge, expires_at) = crate::flows::challenge::issue(
            app,
            &account.username,
            account.session_epoch,
            now,
            authorization,
        )?;
        app.audit(
            &account.username,
            Action::SignIn,
            &account.username,
            Outcome::MfaRequired,
        )
        .await;
        let enrolled = record.active_enrolment().is_some();
        let setup_email_to = (!enrolled)
            .then(|| {
                setup_recipient(
                    account.name_email.as_deref(),
                    account.address_email.as_deref(),
                )
                .ok()
            })
            .flatten()
            .map(mask);
        let passkey = !record.passkeys.passkeys.is_empty();
        return Ok(SignIn::MfaRequired {
            challenge,
            expires_at,
            enrolled,
            setup_email_to,
            passkey,
            passkey_required: policy::passkey_required(
                account.kind,
                settings.phishing_resistant_required_for,
                passkey,
            ),
        });
    }
    let (session, expires_at) =
        session_without_code(app, account, now, Action::SignIn, Outcome::SignedIn).await?;
    let mfa_from = settings
        .enforce_at
        .filter(|_| account.kind.is_staff() && !settings.mfa_enabled && !record.has_app());
    Ok(SignIn::SignedIn {
        session,
        expires_at,
        username: account.username.clone(),
        kind: account.kind,
        auth_time: now,
        mfa_from,
    })
}

/// RFC 6749 section 4.3. Staff may not use it while MFA is on: it would skip the code. `admits`:
/// the client's policy for the account's kind (a grant naming no client admits every kind).
pub async fn token_grant(
    app: &App,
    username: &str,
    password: &str,
    source: &str,
    admits: impl Fn(AccountKind) -> bool,
) -> Result<TokenGrant> {
    let (record, settings) = match check_password(app, username, password, source).await {
        Err(Error::InvalidCredentials) => {
            return Err(Error::InvalidGrant(
                "The username or password is incorrect.",
            ));
        }
        other => other?,
    };
    let account = &record.account;
    let mfa = policy::mfa_applies(settings.mfa_enabled, record.has_app());
    if !policy::token_grant_allowed(account.kind, mfa) || !admits(account.kind) {
        app.audit(
            &account.username,
            Action::Token,
            &account.username,
            Outcome::UnauthorizedClient,
        )
        .await;
        return Err(Error::UnauthorizedClient);
    }
    let now = app.now();
    let (session, _) =
        session_without_code(app, account, now, Action::Token, Outcome::Issued).await?;
    Ok(TokenGrant {
        username: account.username.clone(),
        session_hash: app.keys.tokens.hash(Purpose::Session, &session),
        auth_time: now,
    })
}

/// A session for an account the policy asks no code of, with its audit entry.
async fn session_without_code(
    app: &App,
    account: &Account,
    now: u64,
    action: Action,
    outcome: Outcome,
) -> Result<(String, u64)> {
    let started = sessions::start(
        app,
        &account.username,
        account.kind,
        MfaState::NotRequired,
        &crate::oidc::amr(MfaState::NotRequired, None),
        account.session_epoch,
        now,
    )
    .await?;
    app.audit(&account.username, action, &account.username, outcome)
        .await;
    Ok(started)
}
