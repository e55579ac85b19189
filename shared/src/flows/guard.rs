//! Who may administer: a system administrator's session (`require_admin`), or an operator at the
//! command line (`Actor`); and the step-up rule for sensitive administration. Every admin flow
//! asks here, so the rule has one home.

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::flows::sessions;
use crate::policy::AccountKind;

/// The session of a system administrator who satisfied MFA where it is required.
pub async fn require_admin(app: &App, bearer: Option<&str>) -> Result<sessions::ActiveSession> {
    let session = match sessions::authenticate(app, bearer).await {
        Ok(s) => s,
        Err(Error::Unauthenticated) => {
            app.audit(
                crate::audit::ANONYMOUS,
                Action::AdminCall,
                "(no session)",
                Outcome::Unauthenticated,
            )
            .await;
            return Err(Error::Unauthenticated);
        }
        Err(e) => return Err(e),
    };
    if session.kind != AccountKind::Sysadmin {
        app.audit(
            &session.username,
            Action::AdminCall,
            &session.username,
            Outcome::Forbidden,
        )
        .await;
        return Err(Error::Forbidden);
    }
    // A session without a code while MFA is on was already refused by `authenticate`.
    Ok(session)
}

/// Who makes an administrative change: a system administrator's session, or an operator at the
/// command line (`mfa-admin`, whose authority is its access to the AWS account itself).
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    Admin(&'a sessions::ActiveSession),
    Operator(&'a str),
}

impl Actor<'_> {
    pub fn name(&self) -> &str {
        match self {
            Actor::Admin(s) => &s.username,
            Actor::Operator(name) => name,
        }
    }
}

/// Sensitive administration needs a code in the last 10 minutes while MFA is on (while it is off,
/// sessions carry no code to refresh). Refusals are audited.
pub async fn require_step_up(
    app: &App,
    actor: &Actor<'_>,
    action: Action,
    target: &str,
) -> Result<()> {
    let Actor::Admin(session) = actor else {
        return Ok(());
    };
    if !app.store.get_settings().await?.mfa_enabled {
        return Ok(());
    }
    if let Err(e) = session.require_recent_code(app.now()) {
        app.audit(
            &session.username,
            action,
            target,
            Outcome::ReauthenticationRequired,
        )
        .await;
        return Err(e);
    }
    Ok(())
}
