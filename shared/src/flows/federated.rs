//! `POST /sign-in/federated`: an ID token from a configured provider. Social logins are refused
//! to staff while MFA is on; the organisation's SSO bypasses our MFA because its identity provider
//! owns MFA, and a provider can demand proof of that in the token's `amr` claim.

use crate::app::App;
use crate::error::{Error, Result};
use crate::federation::verify_id_token;
use crate::flows::sessions;
use crate::policy::{FederatedDecision, MfaState, federated_sign_in as decide};

pub struct FederatedSignIn {
    pub session: String,
    pub expires_at: u64,
    pub mfa: MfaState,
    pub username: String,
}

pub async fn federated_sign_in(
    app: &App,
    provider_id: &str,
    id_token: &str,
) -> Result<FederatedSignIn> {
    let now = app.now();
    let refuse = async |target: &str, outcome: &str, error: Error| {
        app.audit("federated", "federated_sign_in", target, outcome)
            .await;
        Err(error)
    };
    // Only a well-formed id is looked up or recorded: the audit log is not a place for whatever
    // an anonymous caller sends.
    if !crate::flows::admin::is_provider_id(provider_id) {
        return refuse(
            "(invalid provider)",
            "unknown_provider",
            Error::InvalidToken,
        )
        .await;
    }
    let Some(provider) = app.store.get_provider(provider_id).await? else {
        return refuse(provider_id, "unknown_provider", Error::InvalidToken).await;
    };
    let claims = match verify_id_token(&provider, id_token, now) {
        Ok(c) => c,
        Err(e) => return refuse(provider_id, "invalid_token", e).await,
    };
    let Some(username) = app
        .store
        .linked_username(provider_id, &claims.subject)
        .await?
    else {
        return refuse(provider_id, "unlinked_subject", Error::InvalidToken).await;
    };
    let (record, settings) =
        tokio::try_join!(app.store.load_account(&username), app.store.get_settings())?;
    let Some(record) = record else {
        return refuse(&username, "unknown_account", Error::InvalidToken).await;
    };
    let account = &record.account;
    let mfa = match decide(provider.kind, account.kind, settings.mfa_enabled) {
        FederatedDecision::SocialRefused => {
            return refuse(
                &username,
                "social_sign_in_disabled",
                Error::SocialSignInDisabled,
            )
            .await;
        }
        FederatedDecision::SignIn(mfa) => mfa,
    };
    if mfa == MfaState::Delegated && !provider.require_amr.iter().all(|r| claims.amr.contains(r)) {
        return refuse(&username, "idp_mfa_required", Error::IdpMfaRequired).await;
    }
    let (session, expires_at) = sessions::start(
        app,
        &account.username,
        account.kind,
        mfa,
        account.session_epoch,
        now,
    )
    .await?;
    // Every MFA bypass is on the record.
    let outcome = if mfa == MfaState::Delegated {
        "signed_in_mfa_delegated"
    } else {
        "signed_in"
    };
    app.audit(&username, "federated_sign_in", provider_id, outcome)
        .await;
    Ok(FederatedSignIn {
        session,
        expires_at,
        mfa,
        username,
    })
}
