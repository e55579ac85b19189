//! "I don't have a security code": the setup email (`POST /mfa/setup-email`) and the key behind
//! its link (`POST /mfa/setup/key`). Only a user with no active enrolment can self-enrol.

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
}

/// `request_base` is the API's own address from the request context, used when the configuration
/// names none.
pub async fn send_setup_email(
    app: &App,
    challenge: &str,
    request_base: Option<&str>,
) -> Result<SetupMailSent> {
    let now = app.now();
    let live = crate::flows::challenge::open(app, challenge, now)?;
    let username = live.username.as_str();
    let (record, settings) =
        tokio::try_join!(app.store.load_account(username), app.store.get_settings())?;
    let record = record
        .filter(|r| r.account.session_epoch == live.epoch && r.challenge_alive(&live.id))
        .ok_or(Error::InvalidChallenge)?;
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
    let account = &record.account;
    let to = setup_recipient(
        account.name_email.as_deref(),
        account.address_email.as_deref(),
    )
    .map_err(Error::NoEmailOnFile)?;
    let from = sender(&settings)?;
    if let Err(wait) = app.store.take_setup_mail_slot(username, now).await? {
        app.audit(username, Action::SetupEmail, username, Outcome::Throttled)
            .await;
        return Err(Error::Throttled {
            retry_after_secs: wait,
        });
    }

    let secret = totp::new_secret()?;
    let sealed = app.keys.secrets.seal(&secret, username.as_bytes())?;
    let enrolment_id = data_encoding::HEXLOWER.encode(&random_bytes::<16>()?);
    let link_token = new_token()?;
    let link_hash = app.keys.tokens.hash(Purpose::SetupLink, &link_token);
    let link_expires_at = now + SETUP_LINK_SECS;
    app.store
        .put_pending_enrolment(&PendingEnrolment {
            username,
            enrolment_id: &enrolment_id,
            sealed_secret: &sealed,
            link_hash: &link_hash,
            now,
            link_expires_at,
        })
        .await?;

    let base = app
        .config
        .public_base_url
        .as_deref()
        .or(request_base)
        .ok_or_else(|| Error::Internal("no base URL for the setup link".into()))?;
    let link = format!("{base}/mfa/setup?token={link_token}");
    let body = messages::setup_email(settings.issuer(), &link, link_expires_at);
    let sent = deliver(app, from, to, &body).await;
    if let Err(e) = sent {
        // The link never reached anyone: take it back, put the earlier pending enrolment (if any)
        // back as it was, and give back the mail slot, so the failure costs the user nothing.
        let undo = async {
            app.store
                .withdraw_pending_enrolment(
                    username,
                    &enrolment_id,
                    &link_hash,
                    record.enrolment.as_ref(),
                )
                .await?;
            app.store.refund_setup_mail_slot(username).await
        };
        if let Err(undo) = undo.await {
            tracing::error!(error = ?undo, "could not undo an unsent setup link; it was never delivered");
        }
        app.audit(username, Action::SetupEmail, username, Outcome::SendFailed)
            .await;
        return Err(e);
    }
    app.audit(username, Action::SetupEmail, username, Outcome::Sent)
        .await;
    Ok(SetupMailSent { sent_to: mask(to) })
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
        .and_then(|r| r.enrolment)
        .filter(|e| e.status == EnrolmentStatus::Pending && e.enrolment_id == link.enrolment_id)
        .ok_or(Error::SetupLinkExpired)?;
    let secret = app
        .keys
        .secrets
        .open(&enrolment.sealed_secret, link.username.as_bytes())?;
    if !app
        .store
        .record_key_reveal(&link_hash, &link.username, &enrolment.enrolment_id, now)
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
    })
}
