//! Sign-in through an identity provider, as its relying party. The redirect flow
//! (`GET /sign-in/federated/{id}` then the callback): `state`, `nonce` and PKCE S256, the state
//! single use and bound to the browser by a cookie, the code exchanged with our client secret, the
//! ID token verified. Raw ID tokens (`POST /sign-in/federated`) only with a nonce we issued, once.
//! Then the seed's rules: social logins refused to staff while MFA is on; the organisation's SSO
//! delegates MFA, with `require_amr` enforced.

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::federation::{IdentityClaims, Provider, is_provider_id, key_id, verify_id_token};
use crate::flows::sessions;
use crate::policy::{FederatedDecision, MfaState, federated_sign_in as decide};
use crate::store::providers::FederatedState;
use crate::token::{Purpose, is_well_formed, new_token};

/// A sign-in started at a provider must come back within this.
pub const STATE_SECS: u64 = 10 * 60;
/// Our redirect URI at a provider: one per provider, so an answer that comes back on one
/// provider's URI is never taken for another's (the IdP mix-up attack, RFC 9700 4.4).
pub fn callback_uri(issuer: &str, provider_id: &str) -> String {
    format!("{issuer}/sign-in/federated/{provider_id}/callback")
}

pub struct FederatedSignIn {
    pub session: String,
    pub expires_at: u64,
    pub mfa: MfaState,
    pub username: String,
    pub kind: crate::policy::AccountKind,
    /// When the session was made (OIDC `auth_time`).
    pub auth_time: u64,
    /// How the user signed in: the identity provider's values, marked `fed` (RFC 8176).
    pub amr: Vec<String>,
}

impl FederatedSignIn {
    /// The sign-in as a pending authorization completes it.
    pub fn signed_in(&self) -> crate::flows::oidc::SignInDone<'_> {
        crate::flows::oidc::SignInDone {
            username: &self.username,
            kind: self.kind,
            mfa: self.mfa,
            amr: &self.amr,
            auth_time: self.auth_time,
            session: &self.session,
        }
    }
}

async fn refuse<T>(app: &App, target: &str, outcome: Outcome, error: Error) -> Result<T> {
    app.audit(
        crate::audit::FEDERATED,
        Action::FederatedSignIn,
        target,
        outcome,
    )
    .await;
    Err(error)
}

/// A provider by an id from the outside: only a well-formed id is looked up or recorded.
async fn provider(app: &App, id: &str) -> Result<Provider> {
    if !is_provider_id(id) {
        return refuse(
            app,
            "(invalid provider)",
            Outcome::UnknownProvider,
            Error::InvalidToken,
        )
        .await;
    }
    match app.store.get_provider(id).await? {
        Some(p) => Ok(p),
        None => refuse(app, id, Outcome::UnknownProvider, Error::InvalidToken).await,
    }
}

/// Verifies a token against the provider's keys, fetching them again (at most once a minute) when
/// it names a key we do not hold: providers rotate their keys.
async fn verify(
    app: &App,
    provider: &Provider,
    token: &str,
    nonce: Option<&str>,
) -> Result<IdentityClaims> {
    let jwks = app
        .provider_keys(provider, key_id(token).as_deref())
        .await?;
    match verify_id_token(provider, &jwks, token, app.now(), nonce) {
        Ok(c) => Ok(c),
        Err(e) => refuse(app, &provider.id, Outcome::InvalidToken, e).await,
    }
}

/// The seed's rules for a verified identity, then a session.
async fn sign_in_as(
    app: &App,
    provider: &Provider,
    claims: &IdentityClaims,
) -> Result<FederatedSignIn> {
    let now = app.now();
    let Some(username) = app
        .store
        .linked_username(&provider.id, &provider.issuer, &claims.subject)
        .await?
    else {
        return refuse(
            app,
            &provider.id,
            Outcome::UnlinkedSubject,
            Error::InvalidToken,
        )
        .await;
    };
    let (record, settings) =
        tokio::try_join!(app.store.load_account(&username), app.store.get_settings())?;
    let Some(record) = record else {
        return refuse(app, &username, Outcome::UnknownAccount, Error::InvalidToken).await;
    };
    if record.account.disabled {
        return refuse(
            app,
            &username,
            Outcome::AccountDisabled,
            Error::InvalidToken,
        )
        .await;
    }
    let account = &record.account;
    let applies = crate::policy::mfa_applies(settings.mfa_enabled, record.has_app());
    let mfa = match decide(provider.kind, account.kind, applies) {
        FederatedDecision::SocialRefused => {
            return refuse(
                app,
                &username,
                Outcome::SocialSignInDisabled,
                Error::SocialSignInDisabled,
            )
            .await;
        }
        FederatedDecision::SignIn(mfa) => mfa,
    };
    if mfa == MfaState::Delegated && !provider.require_amr.iter().all(|r| claims.amr.contains(r)) {
        return refuse(
            app,
            &username,
            Outcome::IdpMfaRequired,
            Error::IdpMfaRequired,
        )
        .await;
    }
    let amr = crate::oidc::amr(mfa, Some(&claims.amr));
    let (session, expires_at) = sessions::start(
        app,
        &account.username,
        account.kind,
        mfa,
        &amr,
        account.session_epoch,
        now,
    )
    .await?;
    // Every MFA bypass is on the record.
    let outcome = if mfa == MfaState::Delegated {
        Outcome::SignedInMfaDelegated
    } else {
        Outcome::SignedIn
    };
    app.audit(&username, Action::FederatedSignIn, &provider.id, outcome)
        .await;
    Ok(FederatedSignIn {
        session,
        expires_at,
        mfa,
        username,
        kind: account.kind,
        auth_time: now,
        amr,
    })
}

/// A nonce for a raw ID token from `provider_id`: the token must carry it, and it is good once.
pub async fn issue_nonce(app: &App, provider_id: &str) -> Result<(String, u64)> {
    provider(app, provider_id).await?;
    let nonce = new_token()?;
    let expires_at = app.now() + STATE_SECS;
    app.store
        .put_nonce(
            &app.keys.tokens.hash(Purpose::FederatedNonce, &nonce),
            provider_id,
            expires_at,
        )
        .await?;
    Ok((nonce, expires_at))
}

/// `POST /sign-in/federated`: an ID token the browser already has. Only with a nonce we issued for
/// this provider, used up here: a token leaked from anywhere else signs nobody in, and no token
/// signs in twice.
pub async fn federated_sign_in(
    app: &App,
    provider_id: &str,
    id_token: &str,
) -> Result<FederatedSignIn> {
    let provider = provider(app, provider_id).await?;
    let claims = verify(app, &provider, id_token, None).await?;
    let nonce_ok = match claims.nonce.as_deref().filter(|n| is_well_formed(n)) {
        Some(nonce) => {
            app.store
                .take_nonce(
                    &app.keys.tokens.hash(Purpose::FederatedNonce, nonce),
                    provider_id,
                    app.now(),
                )
                .await?
        }
        None => false,
    };
    if !nonce_ok {
        return refuse(app, provider_id, Outcome::NonceRefused, Error::InvalidToken).await;
    }
    sign_in_as(app, &provider, &claims).await
}

/// Where `GET /sign-in/federated/{id}` sends the browser, and the binding cookie's value.
pub struct Started {
    pub redirect: String,
    pub binding: String,
}

pub async fn start(
    app: &App,
    provider_id: &str,
    authorization: Option<String>,
    issuer: &str,
) -> Result<Started> {
    let provider = provider(app, provider_id).await?;
    let Some(endpoints) = &provider.endpoints else {
        return Err(Error::NotFound);
    };
    let (state, nonce, verifier, binding) =
        (new_token()?, new_token()?, new_token()?, new_token()?);
    let challenge = data_encoding::BASE64URL_NOPAD
        .encode(&<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    app.store
        .put_federated_state(
            &app.keys.tokens.hash(Purpose::FederatedState, &state),
            &FederatedState {
                provider: provider.id.clone(),
                nonce: nonce.clone(),
                code_verifier: verifier,
                binding: app.keys.tokens.hash(Purpose::BrowserBinding, &binding),
                authorization,
            },
            app.now() + STATE_SECS,
        )
        .await?;
    let redirect_uri = callback_uri(issuer, &provider.id);
    let redirect = crate::oidc::with_query(
        &endpoints.authorization_endpoint,
        &[
            ("response_type", "code"),
            ("client_id", &provider.audience),
            ("redirect_uri", &redirect_uri),
            ("scope", "openid"),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    Ok(Started { redirect, binding })
}

/// The provider's answer at our callback.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    /// RFC 9207: the issuer that answered.
    pub iss: Option<String>,
}

pub struct Completed {
    pub sign_in: FederatedSignIn,
    /// The pending OpenID Connect authorization to continue, if the sign-in was for a site.
    pub authorization: Option<String>,
}

/// The provider's answer on the callback URI of `provider_id`.
pub async fn callback(
    app: &App,
    provider_id: &str,
    params: &CallbackParams,
    binding: Option<&str>,
    issuer: &str,
) -> Result<Completed> {
    let Some(state) = params.state.as_deref().filter(|s| is_well_formed(s)) else {
        return refuse(
            app,
            "(no state)",
            Outcome::InvalidState,
            Error::InvalidToken,
        )
        .await;
    };
    // Single use: a replayed callback, or a forged state, finds nothing.
    let Some(pending) = app
        .store
        .take_federated_state(
            &app.keys.tokens.hash(Purpose::FederatedState, state),
            app.now(),
        )
        .await?
    else {
        return refuse(
            app,
            "(unknown state)",
            Outcome::InvalidState,
            Error::InvalidToken,
        )
        .await;
    };
    // The same browser that started it (login CSRF: an attacker's callback URL opened in the
    // victim's browser would sign the victim in as the attacker).
    let same_browser = binding.is_some_and(|b| {
        subtle::ConstantTimeEq::ct_eq(
            app.keys.tokens.hash(Purpose::BrowserBinding, b).as_bytes(),
            pending.binding.as_bytes(),
        )
        .into()
    });
    if !same_browser {
        return refuse(
            app,
            &pending.provider,
            Outcome::OtherBrowser,
            Error::InvalidToken,
        )
        .await;
    }
    // Mix-up defence: the answer must come back on the URI of the provider the state was issued
    // for, and from that provider's issuer when it says who it is (RFC 9207; required when its
    // discovery document promises it).
    if pending.provider != provider_id {
        return refuse(
            app,
            &pending.provider,
            Outcome::WrongCallback,
            Error::InvalidToken,
        )
        .await;
    }
    let provider = provider(app, &pending.provider).await?;
    let iss_promised = provider
        .endpoints
        .as_ref()
        .is_some_and(|e| e.iss_parameter_supported);
    let iss_ok = match params.iss.as_deref() {
        Some(iss) => iss == provider.issuer,
        None => !iss_promised,
    };
    if !iss_ok {
        return refuse(
            app,
            &provider.id,
            Outcome::IssuerMismatch,
            Error::InvalidToken,
        )
        .await;
    }
    let (Some(code), None) = (params.code.as_deref(), params.error.as_deref()) else {
        return refuse(
            app,
            &provider.id,
            Outcome::ProviderRefused,
            Error::InvalidToken,
        )
        .await;
    };
    let (Some(endpoints), Some(sealed)) = (&provider.endpoints, &provider.sealed_secret) else {
        return refuse(
            app,
            &provider.id,
            Outcome::NotConfigured,
            Error::InvalidToken,
        )
        .await;
    };
    let secret = app.keys.secrets.open(sealed, provider.id.as_bytes())?;
    let secret = String::from_utf8(secret).map_err(|_| Error::Internal("client secret".into()))?;
    let redirect_uri = callback_uri(issuer, &provider.id);
    let answer = app
        .outbound
        .post_form(
            &endpoints.token_endpoint,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &pending.code_verifier),
            ],
            (&provider.audience, &secret),
        )
        .await;
    let id_token = match answer {
        Ok(tokens) => tokens["id_token"].as_str().map(str::to_owned),
        Err(Error::Unavailable { context }) => {
            tracing::warn!(%context, "code exchange failed");
            None
        }
        Err(e) => return Err(e),
    };
    let Some(id_token) = id_token else {
        return refuse(
            app,
            &provider.id,
            Outcome::CodeExchangeFailed,
            Error::InvalidToken,
        )
        .await;
    };
    let claims = verify(app, &provider, &id_token, Some(&pending.nonce)).await?;
    let sign_in = sign_in_as(app, &provider, &claims).await?;
    Ok(Completed {
        sign_in,
        authorization: pending.authorization,
    })
}
