//! "I don't have a security code": the setup email (`POST /mfa/setup-email`) and the key behind
//! its link (`POST /mfa/setup/key`). Only a user with no active enrolment can self-enrol: from a
//! sign-in challenge, or, while MFA is off, from a staff session ("Set up your security code").
//! A user with an app replaces it from the account page (`POST /mfa/setup/replace`): the same mail
//! and page, and a code from the new app on that page (`POST /mfa/setup/confirm`) puts it in the
//! old one's place.

use crate::audit::{Action, Outcome};
use qrcode::QrCode;
use qrcode::render::svg;

use crate::app::App;
use crate::email::{mask, setup_recipient};
use crate::error::{Error, Result};
use crate::flows::notices::{deliver, sender};

use crate::account::EnrolmentStatus;
use crate::limits::SETUP_LINK_SECS;
use crate::messages;
use crate::store::enrolments::PendingEnrolment;
use crate::token::{Purpose, is_well_formed, new_token, random_bytes};
use crate::totp;

/// Who asks for the setup mail.
pub enum Asker<'a> {
    /// A sign-in challenge: the password was right and a code is due.
    Challenge(&'a str),
    /// A staff session: setting an app up of one's own accord (while MFA is off, staff sign in
    /// without a code). From then on the account is asked for its code.
    Session(&'a crate::flows::sessions::ActiveSession),
}

pub struct SetupMailSent {
    /// The recipient, masked: the caller has only proved a password.
    pub sent_to: String,
}

/// What the setup page shows.
pub struct SetupKey {
    pub otpauth_uri: String,
    pub secret: String,
    pub qr_svg: String,
    pub issuer: String,
    pub account_name: String,
    /// A new app replacing the active one: a code from it, given on this page, confirms it.
    pub confirm_here: bool,
}

/// `request_base` is the API's own address from the request context, used when the configuration
/// names none.
pub async fn send_setup_email(
    app: &App,
    asker: Asker<'_>,
    request_base: Option<&str>,
) -> Result<SetupMailSent> {
    let now = app.now();
    let (username, record, settings) = match asker {
        Asker::Challenge(challenge) => {
            let live = crate::flows::challenge::open(app, challenge, now)?;
            let (record, settings) = tokio::try_join!(
                app.store.load_account(&live.username),
                app.store.get_settings()
            )?;
            let record = record
                .filter(|r| r.account.session_epoch == live.epoch && r.challenge_alive(&live.id))
                .ok_or(Error::InvalidChallenge)?;
            (live.username, record, settings)
        }
        Asker::Session(session) => {
            // Only staff are ever asked for a code; a member or an API user has nothing to set up.
            if !session.kind.is_staff() {
                return Err(Error::Forbidden);
            }
            let (record, settings) = tokio::try_join!(
                app.store.load_account(&session.username),
                app.store.get_settings()
            )?;
            let record = record.ok_or(Error::Unauthenticated)?;
            (session.username.clone(), record, settings)
        }
    };
    let username = username.as_str();
    if record.active_enrolment().is_some() {
        app.audit(
            username,
            Action::SetupEmail,
            username,
            Outcome::AlreadyEnrolled,
        )
        .await;
        return Err(Error::AlreadyEnrolled);
    }
    // While the switch is off, an app being set up is what makes a code required: a new setup
    // mail must not replace it, or a password alone would undo it. (With the switch on a code is
    // required anyway, and someone who lost their phone mid-setup can start again.)
    let new = NewApp {
        previous: record.enrolment.as_ref(),
        replaces_shown: settings.mfa_enabled,
        replacing: None,
    };
    mail_new_app(app, &record, &settings, new, request_base, now).await
}

/// Where a setup mail's new app goes, and what it may replace.
struct NewApp<'a> {
    previous: Option<&'a crate::account::Enrolment>,
    replaces_shown: bool,
    replacing: Option<crate::store::enrolments::Replacing<'a>>,
}

/// The user's own setup mail (a first app, or a new one replacing the active one): to the
/// setup-mail address, under the account's limit of mails an hour (a mail that cannot be sent gives
/// its slot back), audited.
async fn mail_new_app(
    app: &App,
    record: &crate::account::AccountRecord,
    settings: &crate::store::settings::Settings,
    new: NewApp<'_>,
    request_base: Option<&str>,
    now: u64,
) -> Result<SetupMailSent> {
    let account = &record.account;
    let username = account.username.as_str();
    let to = setup_recipient(
        account.name_email.as_deref(),
        account.address_email.as_deref(),
    )
    .map_err(Error::NoEmailOnFile)?;
    let from = sender(settings)?;
    if let Err(wait) = app.store.take_setup_mail_slot(username, now).await? {
        app.audit(username, Action::SetupEmail, username, Outcome::Throttled)
            .await;
        return Err(Error::Throttled {
            retry_after_secs: wait,
        });
    }
    let base = app
        .config
        .public_base_url
        .as_deref()
        .or(request_base)
        .ok_or_else(|| Error::Internal("no base URL for the setup link".into()))?;
    let link = SetupLinkMail {
        username,
        previous: new.previous,
        to,
        from,
        issuer: settings.issuer(),
        lives: SETUP_LINK_SECS,
        base,
        replaces_shown: new.replaces_shown,
        replacing: new.replacing,
    };
    let detail = new
        .replacing
        .map(|_| serde_json::json!({ "replacing": true }));
    let outcome = match mail_setup_link(app, &link, now).await {
        Ok(()) => Ok(Outcome::Sent),
        Err(e) => {
            // The link never reached anyone (or was never made): give back the mail slot too, so
            // the failure costs the user nothing.
            if let Err(undo) = app.store.refund_setup_mail_slot(username).await {
                tracing::error!(error = ?undo, "could not give back a setup mail slot");
            }
            Err(e)
        }
    };
    let audited = match &outcome {
        Ok(o) => *o,
        Err(Error::AlreadyEnrolled) => Outcome::AlreadyEnrolled,
        // The account changed between the read and the write (a reset, a new epoch).
        Err(Error::Conflict(_)) => Outcome::Refused,
        Err(_) => Outcome::SendFailed,
    };
    app.audit_detail(
        username,
        Action::SetupEmail,
        username,
        audited,
        detail.as_ref(),
    )
    .await;
    outcome.map(|_| SetupMailSent { sent_to: mask(to) })
}

/// A setup link to mail: a new pending enrolment (replacing `previous`, if pending) and its link.
pub(crate) struct SetupLinkMail<'a> {
    pub username: &'a str,
    pub previous: Option<&'a crate::account::Enrolment>,
    pub to: &'a str,
    pub from: &'a str,
    pub issuer: &'a str,
    /// How long the link lives.
    pub lives: u64,
    /// Where people reach the API.
    pub base: &'a str,
    /// See `PendingEnrolment::replaces_shown`.
    pub replaces_shown: bool,
    /// See `PendingEnrolment::replacing`.
    pub replacing: Option<crate::store::enrolments::Replacing<'a>>,
}

/// Makes a new pending enrolment and its setup link and mails the link. When the mail cannot be
/// sent, the link is taken back and the enrolment is what it was before (the earlier pending one,
/// whose app setup and link keep working, or none): a failed send leaves nothing usable and takes
/// nothing away.
pub(crate) async fn mail_setup_link(app: &App, m: &SetupLinkMail<'_>, now: u64) -> Result<()> {
    let secret = totp::new_secret()?;
    let sealed = app.keys.secrets.seal(&secret, m.username.as_bytes())?;
    let enrolment_id = data_encoding::HEXLOWER.encode(&random_bytes::<16>()?);
    let link_token = new_token()?;
    let link_hash = app.keys.tokens.hash(Purpose::SetupLink, &link_token);
    let link_expires_at = now + m.lives;
    app.store
        .put_pending_enrolment(&PendingEnrolment {
            username: m.username,
            enrolment_id: &enrolment_id,
            sealed_secret: &sealed,
            link_hash: &link_hash,
            now,
            link_expires_at,
            replaces_shown: m.replaces_shown,
            replacing: m.replacing,
        })
        .await?;
    let link = format!("{}/mfa/setup?token={link_token}", m.base);
    let body = match m.replacing {
        None => messages::setup_email(m.issuer, &link, link_expires_at, m.lives),
        Some(_) => messages::new_app_email(m.issuer, &link, link_expires_at, m.lives),
    };
    if let Err(e) = deliver(app, m.from, m.to, &body).await {
        if let Err(undo) = app
            .store
            .withdraw_pending_enrolment(
                m.username,
                &enrolment_id,
                &link_hash,
                m.previous,
                m.replacing.is_some(),
            )
            .await
        {
            tracing::error!(error = ?undo, "could not undo an unsent setup link; it was never delivered");
        }
        return Err(e);
    }
    Ok(())
}

/// The key behind a setup link. The page that shows it consumes nothing (mail scanners prefetch
/// links); the key itself, fetched by the page's script, is shown at most `SETUP_KEY_REVEALS`
/// times, each one audited and recorded for the activation notice. The link dies when the
/// enrolment activates, is replaced, or expires.
pub async fn setup_key(app: &App, link_token: &str) -> Result<SetupKey> {
    if !is_well_formed(link_token) {
        return Err(Error::SetupLinkExpired);
    }
    let now = app.now();
    let link_hash = app.keys.tokens.hash(Purpose::SetupLink, link_token);
    let link = app
        .store
        .get_setup_link(&link_hash, now)
        .await?
        .ok_or(Error::SetupLinkExpired)?;
    let (record, settings) = tokio::try_join!(
        app.store.load_account(&link.username),
        app.store.get_settings()
    )?;
    let enrolment = record
        .and_then(|r| {
            if link.replacing {
                r.replacement
            } else {
                r.enrolment
            }
        })
        .filter(|e| e.status == EnrolmentStatus::Pending && e.enrolment_id == link.enrolment_id)
        .ok_or(Error::SetupLinkExpired)?;
    let secret = app
        .keys
        .secrets
        .open(&enrolment.sealed_secret, link.username.as_bytes())?;
    if !app
        .store
        .record_key_reveal(
            &link_hash,
            &link.username,
            &enrolment.enrolment_id,
            link.replacing,
            now,
        )
        .await?
    {
        app.audit(
            &link.username,
            Action::KeyReveal,
            &link.username,
            Outcome::Refused,
        )
        .await;
        return Err(Error::SetupLinkExpired);
    }
    app.audit(
        &link.username,
        Action::KeyReveal,
        &link.username,
        Outcome::Success,
    )
    .await;
    let issuer = settings.issuer().to_owned();
    let otpauth_uri = totp::key_uri(&issuer, &link.username, &secret);
    let qr_svg = QrCode::new(otpauth_uri.as_bytes())
        .map_err(|e| Error::Internal(format!("qr: {e}")))?
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .build();
    Ok(SetupKey {
        secret: totp::secret_base32(&secret),
        otpauth_uri,
        qr_svg,
        issuer,
        account_name: link.username,
        confirm_here: link.replacing,
    })
}

/// A new app for a signed-in account that has one (the account page's "Replace your app"), asked
/// with a code from the app in the last 10 minutes, or in a session signed in with a recovery code
/// in the last 10 minutes (a lost phone). The setup mail goes as for a first app, under the same
/// limit of mails an hour; the active app keeps working until a code from the new one confirms it
/// on the setup page (`confirm_new_app`). Asking again replaces the earlier new app and its link.
pub async fn replace_app(
    app: &App,
    session: &crate::flows::sessions::ActiveSession,
    request_base: Option<&str>,
) -> Result<SetupMailSent> {
    let now = app.now();
    let username = session.username.as_str();
    let recovered = session.amr.iter().any(|m| m == "rec")
        && session.auth_time + crate::flows::sessions::RECENT_CODE_SECS > now;
    let (record, settings) =
        tokio::try_join!(app.store.load_account(username), app.store.get_settings())?;
    let record = record.ok_or(Error::Unauthenticated)?;
    let Some(active) = record.active_enrolment() else {
        app.audit(username, Action::SetupEmail, username, Outcome::Refused)
            .await;
        return Err(Error::bad_request(
            "not_enrolled",
            "There is no app to replace: set one up with the setup email from the sign-in page.",
        ));
    };
    if !recovered && let Err(e) = session.require_recent_code(now) {
        app.audit(
            username,
            Action::SetupEmail,
            username,
            Outcome::ReauthenticationRequired,
        )
        .await;
        return Err(e);
    }
    let new = NewApp {
        previous: record.replacement.as_ref(),
        // Asking again replaces the earlier new app, shown or not: the active one stays.
        replaces_shown: true,
        replacing: Some(crate::store::enrolments::Replacing {
            active_id: &active.enrolment_id,
            epoch: session.epoch,
        }),
    };
    mail_new_app(app, &record, &settings, new, request_base, now).await
}

/// A code from the new app, given on the setup page of a replacement link: counted against the
/// account's code limits before it is checked, as at a sign-in. When it matches, the new app takes
/// the old one's place in one write (`Store::confirm_new_app`): the old app's codes stop working
/// and every session ends. A notice is mailed.
pub async fn confirm_new_app(app: &App, link_token: &str, code: &str) -> Result<()> {
    if !is_well_formed(link_token) {
        return Err(Error::SetupLinkExpired);
    }
    let code = totp::Code::parse(code)?;
    let now = app.now();
    let link_hash = app.keys.tokens.hash(Purpose::SetupLink, link_token);
    let link = app
        .store
        .get_setup_link(&link_hash, now)
        .await?
        .ok_or(Error::SetupLinkExpired)?;
    if !link.replacing {
        return Err(Error::bad_request(
            "invalid_request",
            "This link sets up a first app: its first code at sign-in confirms it.",
        ));
    }
    let username = link.username.as_str();
    let record = app
        .store
        .load_account(username)
        .await?
        .filter(|r| !r.account.disabled)
        .ok_or(Error::SetupLinkExpired)?;
    let refused = |outcome| {
        let detail = serde_json::json!({ "replacing": true });
        async move {
            app.audit_detail(
                username,
                Action::EnrolmentActivated,
                username,
                outcome,
                Some(&detail),
            )
            .await;
        }
    };
    // The new app this link shows, its key shown, asked in the account's epoch as it is now (a
    // new password, a sign-out everywhere or a reset since then ended it), beside an active app.
    let (Some(active), Some(next)) = (
        record.active_enrolment(),
        record.replacement.as_ref().filter(|n| {
            n.enrolment_id == link.enrolment_id
                && !n.key_shown.is_empty()
                && n.asked_in_epoch == Some(record.account.session_epoch)
        }),
    ) else {
        refused(Outcome::Refused).await;
        return Err(Error::SetupLinkExpired);
    };
    let (lock, count) = match app
        .store
        .reserve_code_attempt(username, &record, None, now)
        .await?
    {
        crate::store::locks::CodeCount::Reserved { lock, written, .. } => (lock, written),
        crate::store::locks::CodeCount::Locked(wait) => {
            refused(Outcome::Locked).await;
            return Err(Error::Throttled {
                retry_after_secs: wait,
            });
        }
        crate::store::locks::CodeCount::ChallengeSpent => return Err(Error::SetupLinkExpired),
    };
    let secret = app
        .keys
        .secrets
        .open(&next.sealed_secret, username.as_bytes())?;
    let Some(step) = totp::matching_step(&secret, &code, now, None) else {
        refused(Outcome::InvalidCode).await;
        return Err(crate::flows::factor::refusal(&lock, now, None));
    };
    use crate::store::enrolments::{Confirmation, Confirmed, RecoverySet};
    let recovery = match &record.recovery {
        None => RecoverySet::None,
        Some(set) if set.enrolment_id == active.enrolment_id => {
            RecoverySet::OfTheActiveApp(&set.set_id)
        }
        Some(set) => RecoverySet::Dead(&set.set_id),
    };
    let confirmed = app
        .store
        .confirm_new_app(&Confirmation {
            username,
            link_hash: &link_hash,
            next,
            active_id: &active.enrolment_id,
            epoch: record.account.session_epoch,
            step,
            recovery,
            count: &count,
            now,
        })
        .await?;
    match confirmed {
        Confirmed::Done => {}
        Confirmed::LinkGone => {
            refused(Outcome::Refused).await;
            return Err(Error::SetupLinkExpired);
        }
        // The code was right; what changed (a recovery set made, a code counted) is worth
        // another try with the next code.
        Confirmed::Changed => {
            refused(Outcome::Refused).await;
            return Err(Error::Conflict(
                "Your account changed while this was confirmed: enter the next code from the new app."
                    .into(),
            ));
        }
    }
    let detail = serde_json::json!({ "replaced": true });
    app.audit_detail(
        username,
        Action::EnrolmentActivated,
        username,
        Outcome::Success,
        Some(&detail),
    )
    .await;
    crate::flows::notices::notify_activation(app, &record.account, &next.key_shown).await;
    Ok(())
}
