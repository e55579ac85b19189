//! The OpenID Connect provider: `/authorize`, the completion of a sign-in that a site asked for,
//! `/token` (authorization code with PKCE, refresh token rotation, the password grant), userinfo
//! and RP-initiated logout. Rules are in `oidc`; signing in `signing`; this file sequences them.

use crate::account::normalise_username;
use crate::app::App;
use crate::email::setup_recipient;
use crate::error::{Error, Result};
use crate::flows::sessions::{self, ActiveSession};
use crate::flows::sign_in;
use crate::oidc::{
    ACCESS_TOKEN_TYPE, AUTHORIZATION_SECS, AccessClaims, AuthorizationRequest, AuthorizeParams,
    AuthorizeRefusal, CODE_SECS, Client, Grant, GrantType, ID_TOKEN_TYPE, IdClaims, Prompt,
    TOKEN_SECS, acr, amr, check_authorization, pkce_matches, session_satisfies, token_scope,
    with_query,
};
use crate::policy::{AccountKind, MfaState};
use crate::store::oidc::{Redeemed, Successor};
use crate::token::{Purpose, is_well_formed, new_token};

/// Where `/authorize` sends the browser, or the page it shows instead.
#[derive(Debug, PartialEq, Eq)]
pub enum Authorize {
    Redirect(String),
    /// Never a redirect: the client or its redirect URI could not be trusted.
    Page(&'static str),
}

/// What a completed sign-in is, for issuing a code: who, which kind, how, and when.
pub struct SignedIn<'a> {
    pub username: &'a str,
    pub kind: AccountKind,
    pub mfa: MfaState,
    /// When the user authenticated: the session's creation, the same in every token of it.
    pub auth_time: u64,
    pub session_hash: &'a str,
    /// How the sign-in was made (RFC 8176), as the session keeps it.
    pub amr: &'a [String],
}

impl<'a> From<&'a ActiveSession> for SignedIn<'a> {
    fn from(s: &'a ActiveSession) -> Self {
        SignedIn {
            username: &s.username,
            kind: s.kind,
            mfa: s.mfa,
            auth_time: s.auth_time,
            session_hash: &s.token_hash,
            amr: &s.amr,
        }
    }
}

/// A sign-in that just completed on one of our routes (password, code, identity provider).
pub struct SignInDone<'a> {
    pub username: &'a str,
    pub kind: AccountKind,
    pub mfa: MfaState,
    pub amr: &'a [String],
    /// When its session was made.
    pub auth_time: u64,
    /// The session's token.
    pub session: &'a str,
}

pub async fn authorize(
    app: &App,
    params: &AuthorizeParams,
    session: Option<&str>,
    issuer: &str,
) -> Result<Authorize> {
    let client = match params
        .client_id
        .as_deref()
        .filter(|c| crate::oidc::is_client_id(c))
    {
        Some(id) => app.store.get_client(id).await?,
        None => None,
    };
    let req = match check_authorization(params, client.as_ref().map(|c| c.redirect_uris.as_slice()))
    {
        Ok(req) => req,
        Err(AuthorizeRefusal::Page(why)) => {
            app.audit("(anonymous)", "authorize", "(invalid client)", "refused")
                .await;
            return Ok(Authorize::Page(why));
        }
        Err(AuthorizeRefusal::Redirect {
            redirect_uri,
            state,
            error,
            description,
        }) => {
            let client_id = params.client_id.as_deref().unwrap_or_default();
            app.audit("(anonymous)", "authorize", client_id, error)
                .await;
            return Ok(Authorize::Redirect(error_redirect(
                &redirect_uri,
                state.as_deref(),
                error,
                description,
                issuer,
            )));
        }
    };
    let now = app.now();
    // A session that cannot be read (DynamoDB down) is an outage, not a signed-out browser: the
    // user would be sent to a sign-in page that cannot work either.
    let live = match session {
        Some(token) => match sessions::authenticate(app, Some(token)).await {
            Ok(s) => Some(s),
            Err(Error::Unavailable { context }) => return Err(Error::Unavailable { context }),
            Err(_) => None,
        },
        None => None,
    };
    // OIDC Core 3.1.2.1: a hint names the user the site expects. Another user signed in here
    // is `login_required`, never a code for the wrong person.
    if let Some(hint) = params.id_token_hint.as_deref() {
        let ring = app.key_ring().await?;
        let Ok(claims) = ring.verify::<IdClaims>(hint, ID_TOKEN_TYPE, issuer, now, true) else {
            return refuse_authorization(
                app,
                &req,
                "invalid_request",
                "The id_token_hint is not valid.",
                issuer,
            )
            .await;
        };
        if live.as_ref().is_some_and(|s| s.subject != claims.sub) {
            return refuse_authorization(
                app,
                &req,
                "login_required",
                "Another user is signed in.",
                issuer,
            )
            .await;
        }
    }
    if let Some(s) = live.as_ref()
        && session_satisfies(&req, s.auth_time, now)
    {
        // Single sign-on: the sign-in session satisfies the request; no new password or code.
        let client = client.filter(|c| c.id == req.client_id);
        return Ok(
            match complete(app, &req, client, &SignedIn::from(s), issuer).await? {
                Some(redirect) => Authorize::Redirect(redirect),
                None => {
                    Authorize::Page("The application is no longer registered for this address.")
                }
            },
        );
    }
    if req.prompt == Some(Prompt::None) {
        return refuse_authorization(
            app,
            &req,
            "login_required",
            "The user is not signed in.",
            issuer,
        )
        .await;
    }
    let id = seal_authorization(app, &req, now + AUTHORIZATION_SECS)?;
    let mut page = format!("{issuer}/sign-in?authorization={id}");
    if let Some(hint) = req.login_hint.as_deref().and_then(normalise_username) {
        page = with_query(&page, &[("login_hint", &hint)]);
    }
    Ok(Authorize::Redirect(page))
}

/// A checked request refused: back to the client with the OAuth error (and audited).
async fn refuse_authorization(
    app: &App,
    req: &AuthorizationRequest,
    error: &'static str,
    description: &str,
    issuer: &str,
) -> Result<Authorize> {
    app.audit("(anonymous)", "authorize", &req.client_id, error)
        .await;
    Ok(Authorize::Redirect(error_redirect(
        &req.redirect_uri,
        req.state.as_deref(),
        error,
        description,
        issuer,
    )))
}

fn error_redirect(
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
    issuer: &str,
) -> String {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    // RFC 9207: the client can tell which provider answered.
    params.push(("iss", issuer));
    with_query(redirect_uri, &params)
}

/// Associated data that keeps a sealed authorization request from passing for anything else.
const AUTHORIZATION_AAD: &[u8] = b"oidc-authorization-v1";
/// Longest `authorization` we try to open.
const MAX_AUTHORIZATION_LEN: usize = 4096;

#[derive(serde::Serialize, serde::Deserialize)]
struct SealedRequest {
    req: AuthorizationRequest,
    exp: u64,
}

/// The pending request travels with the browser, sealed (AES-256-GCM under the data key): nothing
/// is stored until the sign-in completes, and nobody can read or alter it. It need not be single
/// use: completing it takes a full sign-in, and the code it yields is single use.
fn seal_authorization(app: &App, req: &AuthorizationRequest, exp: u64) -> Result<String> {
    let json = serde_json::to_vec(&SealedRequest {
        req: req.clone(),
        exp,
    })
    .map_err(|e| Error::Internal(format!("encode authorization: {e}")))?;
    let sealed = app.keys.secrets.seal(&json, AUTHORIZATION_AAD)?;
    Ok(data_encoding::BASE64URL_NOPAD.encode(&sealed))
}

/// The request behind an `authorization` id, if it is one of ours and has not expired.
fn open_authorization(app: &App, id: &str) -> Option<AuthorizationRequest> {
    if id.len() > MAX_AUTHORIZATION_LEN {
        return None;
    }
    let sealed = data_encoding::BASE64URL_NOPAD.decode(id.as_bytes()).ok()?;
    let json = app.keys.secrets.open(&sealed, AUTHORIZATION_AAD).ok()?;
    let SealedRequest { req, exp } = serde_json::from_slice(&json).ok()?;
    (exp > app.now()).then_some(req)
}

/// An `authorization` given to the sign-in routes, kept only when it is a live one of ours (so a
/// challenge never stores whatever a caller sent).
pub fn valid_authorization(app: &App, id: Option<&str>) -> Option<String> {
    id.filter(|i| open_authorization(app, i).is_some())
        .map(str::to_owned)
}

/// The client an `authorization` is for (the sign-in page names the site).
pub async fn pending_client(app: &App, id: &str) -> Result<Option<Client>> {
    match open_authorization(app, id) {
        Some(req) => app.store.get_client(&req.client_id).await,
        None => Ok(None),
    }
}

/// After any completed sign-in (password, code, federated): the client's redirect with a code when
/// an authorization was pending (or with `access_denied` when the client's policy refuses the
/// sign-in), or None when there was none, it expired, or its client or redirect URI is no longer
/// registered (the user stays signed in on our page).
pub async fn after_sign_in(
    app: &App,
    authorization: Option<&str>,
    done: &SignInDone<'_>,
    issuer: &str,
) -> Result<Option<String>> {
    let Some(req) = authorization.and_then(|a| open_authorization(app, a)) else {
        return Ok(None);
    };
    let session_hash = app.keys.tokens.hash(Purpose::Session, done.session);
    let signed_in = SignedIn {
        username: done.username,
        kind: done.kind,
        mfa: done.mfa,
        auth_time: done.auth_time,
        session_hash: &session_hash,
        amr: done.amr,
    };
    complete(app, &req, None, &signed_in, issuer).await
}

/// Completes an authorization request for a signed-in user. The client is read again (unless the
/// caller just did): a request sealed half an hour ago must still name a registered client and
/// redirect URI, and the client's policy must admit the sign-in: its kind, and a second factor
/// when the client requires one.
async fn complete(
    app: &App,
    req: &AuthorizationRequest,
    client: Option<Client>,
    s: &SignedIn<'_>,
    issuer: &str,
) -> Result<Option<String>> {
    let client = match client {
        Some(c) => Some(c),
        None => app.store.get_client(&req.client_id).await?,
    };
    let Some(client) = client.filter(|c| c.redirect_uris.contains(&req.redirect_uri)) else {
        app.audit(s.username, "authorize", &req.client_id, "client_gone")
            .await;
        return Ok(None);
    };
    if !client.admits(GrantType::AuthorizationCode, s.kind, s.mfa) {
        app.audit(s.username, "authorize", &client.id, "access_denied")
            .await;
        return Ok(Some(error_redirect(
            &req.redirect_uri,
            req.state.as_deref(),
            "access_denied",
            "This application does not accept this account, or needs a sign-in with a security code.",
            issuer,
        )));
    }
    issue_code(app, req, s, issuer).await.map(Some)
}

async fn issue_code(
    app: &App,
    req: &AuthorizationRequest,
    s: &SignedIn<'_>,
    issuer: &str,
) -> Result<String> {
    let code = new_token()?;
    let grant = Grant {
        client_id: req.client_id.clone(),
        redirect_uri: Some(req.redirect_uri.clone()),
        code_challenge: Some(req.code_challenge.clone()),
        nonce: req.nonce.clone(),
        scope: req.scope.clone(),
        username: s.username.to_owned(),
        auth_time: s.auth_time,
        amr: s.amr.to_vec(),
        session_hash: s.session_hash.to_owned(),
        family: None,
    };
    app.store
        .put_grant(
            "CODE",
            &app.keys.tokens.hash(Purpose::AuthorizationCode, &code),
            &grant,
            app.now() + CODE_SECS,
        )
        .await?;
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = req.state.as_deref() {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    Ok(with_query(&req.redirect_uri, &params))
}

/// The token endpoint's form (RFC 6749 sections 4.1.3, 4.3.2, 6).
#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub scope: Option<String>,
}

/// The token endpoint's answer.
#[derive(Debug, serde::Serialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

fn missing(what: &'static str) -> Error {
    Error::bad_request("invalid_request", what)
}

pub async fn token(
    app: &App,
    form: &TokenForm,
    basic: Option<(String, String)>,
    issuer: &str,
    source: &str,
) -> Result<Tokens> {
    match form.grant_type.as_deref() {
        Some("authorization_code") => {
            let client = authenticate_client(app, form, basic).await?;
            code_grant(app, form, &client, issuer).await
        }
        Some("refresh_token") => {
            let client = authenticate_client(app, form, basic).await?;
            refresh_grant(app, form, &client, issuer).await
        }
        Some("password") => password_grant(app, form, basic, issuer, source).await,
        Some(_) => Err(Error::UnsupportedGrantType(
            "grant_type may be authorization_code, refresh_token or password.".into(),
        )),
        None => Err(missing("grant_type is required.")),
    }
}

/// RFC 6749 2.3.1: `client_secret_basic` or `client_secret_post`, or none for a public client.
async fn authenticate_client(
    app: &App,
    form: &TokenForm,
    basic: Option<(String, String)>,
) -> Result<Client> {
    let (id, secret) = match basic {
        Some((id, secret)) => {
            if form.client_secret.is_some() {
                return Err(missing("Use one client authentication method."));
            }
            (id, Some(secret))
        }
        None => (
            form.client_id.clone().ok_or(Error::InvalidClient)?,
            form.client_secret.clone(),
        ),
    };
    if !crate::oidc::is_client_id(&id) {
        return Err(Error::InvalidClient);
    }
    let client = app
        .store
        .get_client(&id)
        .await?
        .ok_or(Error::InvalidClient)?;
    let ok = match (&client.secret_hash, secret) {
        (None, None) => client.public,
        (Some(stored), Some(given)) => {
            let given = app.keys.tokens.hash(Purpose::ClientSecret, &given);
            subtle::ConstantTimeEq::ct_eq(stored.as_bytes(), given.as_bytes()).into()
        }
        _ => false,
    };
    if !ok {
        app.audit("(client)", "client_auth", &client.id, "refused")
            .await;
        return Err(Error::InvalidClient);
    }
    Ok(client)
}

const CODE_REFUSED: &str = "The authorization code is invalid, expired, used, or was issued to another client or redirect URI.";
const REFRESH_REFUSED: &str = "The refresh token is invalid, expired, used or revoked.";
const SESSION_ENDED: &str = "The sign-in this grant came from has ended.";

async fn code_grant(app: &App, form: &TokenForm, client: &Client, issuer: &str) -> Result<Tokens> {
    let code = form.code.as_deref().ok_or(missing("code is required."))?;
    let redirect_uri = form
        .redirect_uri
        .as_deref()
        .ok_or(missing("redirect_uri is required."))?;
    let verifier = form
        .code_verifier
        .as_deref()
        .ok_or(missing("code_verifier is required (PKCE)."))?;
    if !is_well_formed(code) {
        return Err(Error::InvalidGrant(CODE_REFUSED));
    }
    let now = app.now();
    let family = new_token()?;
    let hash = app.keys.tokens.hash(Purpose::AuthorizationCode, code);
    let grant = match app.store.peek_grant("CODE", &hash, now).await? {
        Redeemed::Fresh(g) => g,
        Redeemed::Reused { family } => return code_reused(app, client, family).await,
        Redeemed::Missing | Redeemed::AccountChanged => {
            app.audit("(client)", "token", &client.id, "invalid_grant")
                .await;
            return Err(Error::InvalidGrant(CODE_REFUSED));
        }
    };
    let bound = grant.client_id == client.id
        && grant.redirect_uri.as_deref() == Some(redirect_uri)
        && grant
            .code_challenge
            .as_deref()
            .is_some_and(|c| pkce_matches(verifier, c));
    // The redirect URI must still be registered: the client may have changed since the code.
    let bound = bound
        && client
            .redirect_uris
            .iter()
            .any(|u| Some(u) == grant.redirect_uri.as_ref());
    if !bound {
        // Shown with the wrong verifier, client or redirect, the code is used up all the same:
        // whoever holds it without its verifier gets no second try. It issues nothing, so the
        // rightful client's later attempt revokes nothing and ends no session.
        burn(app, &hash, now).await?;
        app.audit(&grant.username, "token", &client.id, "invalid_grant")
            .await;
        return Err(Error::InvalidGrant(CODE_REFUSED));
    }
    let session = live_session(app, &grant).await?;
    if !client.admits(GrantType::AuthorizationCode, session.kind, session.mfa) {
        burn(app, &hash, now).await?;
        app.audit(&grant.username, "token", &client.id, "unauthorized_client")
            .await;
        return Err(Error::UnauthorizedClient);
    }
    let tokens = match issue(
        app,
        &grant,
        &family,
        &session,
        issuer,
        Some(("CODE", &hash)),
    )
    .await?
    {
        Redeemed::Fresh(t) => t,
        Redeemed::Reused { family } => return code_reused(app, client, family).await,
        Redeemed::Missing => return Err(Error::InvalidGrant(CODE_REFUSED)),
        Redeemed::AccountChanged => return Err(Error::InvalidGrant(SESSION_ENDED)),
    };
    app.audit(&grant.username, "token", &client.id, "issued")
        .await;
    Ok(tokens)
}

/// Uses a code up without issuing anything.
async fn burn(app: &App, hash: &str, now: u64) -> Result<()> {
    app.store
        .redeem_grant_issuing("CODE", hash, None, now, None)
        .await?;
    Ok(())
}

/// RFC 6749 4.1.2: a code used twice revokes what its first use issued (the refresh family). The
/// user's sign-in session is not the code's to end: a leaked code shown by someone else must not
/// sign the rightful user out.
async fn code_reused(app: &App, client: &Client, family: Option<String>) -> Result<Tokens> {
    let now = app.now();
    if let Some(f) = family {
        app.store
            .revoke_family(&f, now, now + app.config.session_max_secs)
            .await?;
    }
    app.audit("(client)", "token", &client.id, "code_reused")
        .await;
    Err(Error::InvalidGrant(CODE_REFUSED))
}

async fn refresh_grant(
    app: &App,
    form: &TokenForm,
    client: &Client,
    issuer: &str,
) -> Result<Tokens> {
    let token = form
        .refresh_token
        .as_deref()
        .ok_or(missing("refresh_token is required."))?;
    if !is_well_formed(token) {
        return Err(Error::InvalidGrant(REFRESH_REFUSED));
    }
    let now = app.now();
    let hash = app.keys.tokens.hash(Purpose::RefreshToken, token);
    let grant = match app.store.peek_grant("REFRESH", &hash, now).await? {
        Redeemed::Fresh(g) => g,
        Redeemed::Reused { family } => return refresh_reused(app, client, family).await,
        Redeemed::Missing => return Err(Error::InvalidGrant(REFRESH_REFUSED)),
        Redeemed::AccountChanged => return Err(Error::InvalidGrant(SESSION_ENDED)),
    };
    // The family is the one the token was issued in; its successor keeps it.
    let Some(family) = grant.family.clone() else {
        return Err(Error::InvalidGrant(REFRESH_REFUSED));
    };
    if grant.client_id != client.id || app.store.family_revoked(&family).await? {
        app.audit(&grant.username, "refresh", &client.id, "invalid_grant")
            .await;
        return Err(Error::InvalidGrant(REFRESH_REFUSED));
    }
    let session = live_session(app, &grant).await?;
    if !client.admits(GrantType::RefreshToken, session.kind, session.mfa) {
        app.audit(
            &grant.username,
            "refresh",
            &client.id,
            "unauthorized_client",
        )
        .await;
        return Err(Error::UnauthorizedClient);
    }
    let tokens = match issue(
        app,
        &grant,
        &family,
        &session,
        issuer,
        Some(("REFRESH", &hash)),
    )
    .await?
    {
        Redeemed::Fresh(t) => t,
        Redeemed::Reused { family } => return refresh_reused(app, client, family).await,
        Redeemed::Missing => return Err(Error::InvalidGrant(REFRESH_REFUSED)),
        Redeemed::AccountChanged => return Err(Error::InvalidGrant(SESSION_ENDED)),
    };
    app.audit(&grant.username, "refresh", &client.id, "issued")
        .await;
    Ok(tokens)
}

/// RFC 9700 4.14.2: a rotated-out token used again means a copy exists; the whole family goes,
/// the legitimate holder's newest token included.
async fn refresh_reused(app: &App, client: &Client, family: Option<String>) -> Result<Tokens> {
    let now = app.now();
    if let Some(f) = family {
        app.store
            .revoke_family(&f, now, now + app.config.session_max_secs)
            .await?;
    }
    app.audit("(client)", "refresh", &client.id, "reuse_revoked_family")
        .await;
    Err(Error::InvalidGrant(REFRESH_REFUSED))
}

/// The sign-in session a grant came from, if it still lives (idle, 12 hours, sign-out, reset).
async fn live_session(app: &App, grant: &Grant) -> Result<ActiveSession> {
    match sessions::by_hash(app, grant.session_hash.clone()).await {
        Ok(s) => Ok(s),
        Err(Error::Unauthenticated) => Err(Error::InvalidGrant(SESSION_ENDED)),
        Err(e) => Err(e),
    }
}

/// Signs the access token and the ID token for the session's account as it is now (its subject
/// and kind); when a code or refresh token is redeemed, uses it up and stores its successor refresh
/// token (of `family`) in one write.
async fn issue(
    app: &App,
    grant: &Grant,
    family: &str,
    session: &ActiveSession,
    issuer: &str,
    redeem: Option<(&'static str, &str)>,
) -> Result<Redeemed<Tokens>> {
    let now = app.now();
    let ring = app.key_ring().await?;
    let exp = now + TOKEN_SECS;
    let scope = token_scope(&grant.scope, session.mfa);
    let access = AccessClaims {
        iss: issuer.to_owned(),
        sub: session.subject.clone(),
        aud: grant.client_id.clone(),
        exp,
        iat: now,
        nbf: now,
        jti: new_token()?,
        client_id: grant.client_id.clone(),
        scope: scope.clone(),
        auth_time: session.auth_time,
        amr: grant.amr.clone(),
        acr: acr(session.mfa).to_owned(),
        kind: session.kind,
        sid: grant.session_hash.clone(),
    };
    let id = IdClaims {
        iss: issuer.to_owned(),
        sub: session.subject.clone(),
        aud: grant.client_id.clone(),
        exp,
        iat: now,
        auth_time: session.auth_time,
        nonce: grant.nonce.clone(),
        amr: grant.amr.clone(),
        acr: acr(session.mfa).to_owned(),
        kind: session.kind,
        azp: grant.client_id.clone(),
        sid: grant.session_hash.clone(),
        preferred_username: session.username.clone(),
    };
    let access_token = ring.sign(ACCESS_TOKEN_TYPE, &access)?;
    let id_token = ring.sign(ID_TOKEN_TYPE, &id)?;
    // Redeeming a code or refresh token issues a refresh token, in the same write.
    let mut refresh_token = None;
    if let Some((kind, hash)) = redeem {
        let token = new_token()?;
        let refresh = Grant {
            redirect_uri: None,
            code_challenge: None,
            nonce: None,
            family: Some(family.to_owned()),
            ..grant.clone()
        };
        // A refresh token cannot outlive the sign-in session it came from.
        let session_end = session.auth_time + app.config.session_max_secs;
        let refresh_hash = app.keys.tokens.hash(Purpose::RefreshToken, &token);
        // The account must still be as the session saw it when the write lands: a change of kind
        // (or anything else that moves its epoch) between the check and the write refuses it.
        let next = Successor {
            hash: &refresh_hash,
            grant: &refresh,
            expires_at: session_end.max(now + 1),
            username: &session.username,
            epoch: session.epoch,
        };
        match app
            .store
            .redeem_grant_issuing(kind, hash, Some(family), now, Some(next))
            .await?
        {
            Redeemed::Fresh(()) => refresh_token = Some(token),
            Redeemed::Reused { family } => return Ok(Redeemed::Reused { family }),
            Redeemed::Missing => return Ok(Redeemed::Missing),
            Redeemed::AccountChanged => return Err(Error::InvalidGrant(SESSION_ENDED)),
        }
    }
    Ok(Redeemed::Fresh(Tokens {
        access_token,
        token_type: "Bearer",
        expires_in: TOKEN_SECS,
        scope,
        id_token: Some(id_token),
        refresh_token,
    }))
}

/// The password grant, for `api` users (RFC 6749 4.3): a JWT access token like the others, for
/// the client that authenticated (if any) or the audience `api`. No ID or refresh token.
async fn password_grant(
    app: &App,
    form: &TokenForm,
    basic: Option<(String, String)>,
    issuer: &str,
    source: &str,
) -> Result<Tokens> {
    let username = form
        .username
        .as_deref()
        .ok_or(missing("username is required."))?;
    let password = form
        .password
        .as_deref()
        .ok_or(missing("password is required."))?;
    // A named client must be one whose policy allows the password grant for the account.
    let client = if basic.is_some() || form.client_id.is_some() {
        Some(authenticate_client(app, form, basic).await?)
    } else {
        None
    };
    let admits = |kind: AccountKind| {
        client
            .as_ref()
            .is_none_or(|c| c.admits(GrantType::Password, kind, MfaState::NotRequired))
    };
    let granted = sign_in::token_grant(app, username, password, source, admits).await?;
    let client_id = client.map_or_else(|| PASSWORD_GRANT_AUDIENCE.to_owned(), |c| c.id);
    let grant = Grant {
        client_id,
        redirect_uri: None,
        code_challenge: None,
        nonce: None,
        scope: "openid".into(),
        username: granted.username,
        auth_time: granted.auth_time,
        amr: amr(MfaState::NotRequired, None),
        session_hash: granted.session_hash,
        family: None,
    };
    let session = live_session(app, &grant).await?;
    let Redeemed::Fresh(mut tokens) = issue(app, &grant, "", &session, issuer, None).await? else {
        return Err(Error::Internal("a password grant redeems nothing".into()));
    };
    tokens.id_token = None;
    Ok(tokens)
}

/// The audience of a password-grant token that named no client.
pub const PASSWORD_GRANT_AUDIENCE: &str = "api";

/// An access token of ours (RFC 9068: typ `at+jwt`, our issuer, not expired) whose sign-in
/// session still lives.
pub async fn access_token_session(
    app: &App,
    token: &str,
    issuer: &str,
) -> Result<(AccessClaims, ActiveSession)> {
    let ring = app.key_ring().await?;
    let claims: AccessClaims = ring
        .verify(token, ACCESS_TOKEN_TYPE, issuer, app.now(), false)
        .map_err(|_| Error::Unauthenticated)?;
    let session = sessions::by_hash(app, claims.sid.clone()).await?;
    if session.subject != claims.sub {
        return Err(Error::Unauthenticated);
    }
    Ok((claims, session))
}

/// OIDC Core 5.3: the claims the access token's scope allows.
pub async fn userinfo(app: &App, token: &str, issuer: &str) -> Result<serde_json::Value> {
    let (claims, session) = access_token_session(app, token, issuer).await?;
    let mut info = serde_json::json!({
        "sub": claims.sub,
        "preferred_username": session.username,
    });
    if claims.scope.split(' ').any(|s| s == "email")
        && let Some(record) = app.store.load_account(&session.username).await?
        && let Ok(email) = setup_recipient(
            record.account.name_email.as_deref(),
            record.account.address_email.as_deref(),
        )
    {
        info["email"] = serde_json::json!(email);
        // Addresses come from the organisation's directory; we have not proved them.
        info["email_verified"] = serde_json::json!(false);
    }
    Ok(info)
}

/// `/end-session` parameters (OIDC RP-Initiated Logout 1.0).
#[derive(Debug, Default, serde::Deserialize)]
pub struct EndSessionParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
}

pub enum EndSession {
    /// Signed out; go to the client's registered post-logout URI.
    Redirect(String),
    /// Signed out; show our page.
    SignedOut,
    /// Nothing proves the request came from the user's site: ask before signing out.
    Confirm,
    Refused(&'static str),
}

/// Ends the sign-in session named by a valid `id_token_hint` (even an expired one), which must be
/// the browser's own when it has one. Redirects only to a URI registered for the hint's client.
pub async fn end_session(
    app: &App,
    p: &EndSessionParams,
    cookie_session: Option<&str>,
    issuer: &str,
) -> Result<EndSession> {
    let Some(hint) = p.id_token_hint.as_deref() else {
        return Ok(
            if cookie_session.is_some() && p.post_logout_redirect_uri.is_none() {
                EndSession::Confirm
            } else if p.post_logout_redirect_uri.is_some() {
                EndSession::Refused("A return address needs an id_token_hint.")
            } else {
                EndSession::SignedOut
            },
        );
    };
    let ring = app.key_ring().await?;
    let Ok(claims) = ring.verify::<IdClaims>(hint, ID_TOKEN_TYPE, issuer, app.now(), true) else {
        app.audit("(anonymous)", "end_session", "(invalid hint)", "refused")
            .await;
        return Ok(EndSession::Refused("The id_token_hint is not valid."));
    };
    if p.client_id.as_deref().is_some_and(|c| c != claims.aud) {
        return Ok(EndSession::Refused(
            "client_id does not match the id_token_hint.",
        ));
    }
    let redirect = match p.post_logout_redirect_uri.as_deref() {
        None => None,
        Some(uri) => {
            let client = app.store.get_client(&claims.aud).await?;
            if !client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|u| u == uri)) {
                return Ok(EndSession::Refused(
                    "The return address is not registered for this application.",
                ));
            }
            let mut params = vec![];
            if let Some(state) = p.state.as_deref() {
                params.push(("state", state));
            }
            Some(with_query(uri, &params))
        }
    };
    // A hint proves which session the site means; it is no licence to end it. Only the browser
    // that holds the session's cookie ends it at once; anyone else is asked first (a link with
    // somebody's hint, even an expired one, must not sign them out).
    let cookie = cookie_session
        .filter(|t| is_well_formed(t))
        .map(|t| app.keys.tokens.hash(Purpose::Session, t));
    if cookie.as_ref() != Some(&claims.sid) {
        return Ok(EndSession::Confirm);
    }
    app.store.delete_session(&claims.sid).await?;
    app.audit(
        &claims.preferred_username,
        "sign_out",
        &claims.aud,
        "success",
    )
    .await;
    Ok(match redirect {
        Some(r) => EndSession::Redirect(r),
        None => EndSession::SignedOut,
    })
}

/// The sign-in session behind the browser's cookie ends (the confirmation page's button).
pub async fn end_cookie_session(app: &App, cookie_session: Option<&str>) -> Result<()> {
    if let Ok(s) = sessions::authenticate(app, cookie_session).await {
        app.store.delete_session(&s.token_hash).await?;
        app.audit(&s.username, "sign_out", &s.username, "success")
            .await;
    }
    Ok(())
}

/// The discovery document (OIDC Discovery 1.0, section 3).
pub fn discovery(issuer: &str) -> serde_json::Value {
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "end_session_endpoint": format!("{issuer}/end-session"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "password"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "mfa"],
        "acr_values_supported": ["mfa", "pwd"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr", "kind", "azp", "sid", "preferred_username", "email", "email_verified"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    })
}
