//! Mail on behalf of the organisation: its sender, sending, and the notices that tell a user what
//! happened to their account (MFA set up, MFA reset, password changed). Used by several flows, so
//! it lives in none of them.

use crate::account::Account;
use crate::app::App;
use crate::email::{is_valid, setup_recipient};
use crate::error::{Error, Result};
use crate::mail::Mail;
use crate::messages;
use crate::store::settings::Settings;

/// The organisation's sender, or a 503 an administrator can act on.
pub fn sender(settings: &Settings) -> Result<&str> {
    settings
        .org_default_email
        .as_deref()
        .filter(|e| is_valid(e))
        .ok_or_else(|| {
            Error::EmailUnavailable(
                "The setup email could not be sent: the organisation's default email is not set. Ask an administrator to set it."
                    .into(),
            )
        })
}

/// Tells the user their MFA was set up, in case it was not them. Best effort: the sign-in that
/// triggered it has already succeeded.
pub async fn notify_activation(app: &App, account: &Account, key_shown: &[u64]) {
    notify(app, account, |org| {
        messages::activation_notice(org, key_shown)
    })
    .await
}

/// Tells the user a recovery code signed in, and how many are left.
pub async fn notify_recovery_used(app: &App, account: &Account, left: usize) {
    notify(app, account, |org| {
        messages::recovery_used_notice(org, left)
    })
    .await
}

/// Tells the user an administrator reset their MFA.
pub async fn notify_reset(app: &App, account: &Account) {
    notify(app, account, messages::reset_notice).await
}

/// A notice to the account's setup-mail address, from the organisation's. Best effort: what it
/// tells of has already happened.
pub async fn notify(app: &App, account: &Account, render: impl Fn(&str) -> messages::Rendered) {
    let Ok(to) = setup_recipient(
        account.name_email.as_deref(),
        account.address_email.as_deref(),
    ) else {
        return;
    };
    let settings = match app.store.get_settings().await {
        Ok(s) => s,
        Err(e) => return tracing::warn!(error = ?e, "notice not sent"),
    };
    let Ok(from) = sender(&settings) else { return };
    let body = render(settings.issuer());
    if let Err(e) = deliver(app, from, to, &body).await {
        tracing::warn!(error = ?e, "notice not sent");
    }
}

/// Sends one mail through SES.
pub async fn deliver(app: &App, from: &str, to: &str, body: &messages::Rendered) -> Result<()> {
    let mail = Mail {
        from,
        to,
        subject: &body.subject,
        text: &body.text,
        html: &body.html,
    };
    app.mailer.send(&mail).await
}
