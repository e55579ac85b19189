//! A user's own account (`/account`): their recent activity from the audit trail, and signing out
//! everywhere. Recovery codes are `flows::recovery`.

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::Result;
use crate::flows::sessions::ActiveSession;
use crate::store::audit::{AuditEntry, AuditQuery};

/// How many entries the account page shows.
pub const ACTIVITY_ENTRIES: usize = 20;

/// The account's last entries in the audit trail (as actor or target), newest first.
pub async fn activity(app: &App, session: &ActiveSession) -> Result<Vec<AuditEntry>> {
    let query = AuditQuery {
        user: Some(session.username.clone()),
        action: None,
        outcome: None,
        since: 0,
        until: app.now(),
        before: None,
        limit: ACTIVITY_ENTRIES,
    };
    Ok(app.store.audit_page(&query).await?.0)
}

/// Ends every session of the account, this one too, and every token that depends on them.
pub async fn sign_out_everywhere(app: &App, session: &ActiveSession) -> Result<()> {
    app.store.end_sessions(&session.username).await?;
    app.audit(
        &session.username,
        Action::SignOut,
        "everywhere",
        Outcome::Success,
    )
    .await;
    Ok(())
}
