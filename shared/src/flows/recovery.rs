//! Recovery codes for a signed-in user (`POST /mfa/recovery-codes`, `GET /mfa/recovery-codes`).
//! Making a set needs a code from the last 10 minutes: a session left open, or stolen, cannot mint
//! a way past the app. Using one is a factor like a code from the app (`flows::factor`), at the
//! code step of a sign-in (`flows::verify`).

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::flows::sessions::ActiveSession;
use crate::recovery::{self, RecoverySet};
use crate::token::{Purpose, random_bytes};

/// How many codes of the user's set are left, and when it was made (None: no set).
pub struct Standing {
    pub remaining: usize,
    pub created_at: Option<u64>,
}

/// A new set for the session's account, replacing any earlier one: the codes, shown this once.
pub async fn create(app: &App, session: &ActiveSession) -> Result<Vec<String>> {
    let now = app.now();
    if let Err(e) = session.require_recent_code(now) {
        app.audit(
            &session.username,
            Action::RecoveryCodes,
            &session.username,
            Outcome::ReauthenticationRequired,
        )
        .await;
        return Err(e);
    }
    // Beside the app that gave the recent code; none, none made.
    let record = app.store.load_account(&session.username).await?;
    let Some(enrolment) = record.as_ref().and_then(|r| r.active_enrolment()) else {
        return Err(Error::bad_request(
            "not_enrolled",
            "Set up an authenticator app first: recovery codes stand in for it.",
        ));
    };
    let codes = recovery::generate()?;
    let set = RecoverySet {
        set_id: data_encoding::HEXLOWER.encode(&random_bytes::<16>()?),
        enrolment_id: enrolment.enrolment_id.clone(),
        created_at: now,
        unused: codes
            .iter()
            .map(|c| {
                app.keys
                    .tokens
                    .hash(Purpose::RecoveryCode, &recovery::normalise(c))
            })
            .collect(),
    };
    app.store
        .put_recovery_set(&session.username, &set, session.epoch)
        .await?;
    app.audit(
        &session.username,
        Action::RecoveryCodes,
        &session.username,
        Outcome::Created,
    )
    .await;
    Ok(codes)
}

pub async fn standing(app: &App, session: &ActiveSession) -> Result<Standing> {
    let set = app
        .store
        .load_account(&session.username)
        .await?
        .and_then(|r| r.recovery);
    Ok(Standing {
        remaining: set.as_ref().map_or(0, |s| s.unused.len()),
        created_at: set.map(|s| s.created_at),
    })
}
