//! `/authorize` (GET and POST) and the completion of a sign-in a site asked for: the request is
//! checked, sealed into the sign-in page's URL, and answered with a code once a sign-in the
//! client's policy admits completes.

use crate::account::normalise_username;
use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::flows::sessions::{self, ActiveSession};
use crate::oidc::{
    AUTHORIZATION_SECS, AuthorizationCode, AuthorizationRequest, AuthorizeParams, AuthorizeRefusal,
    Client, Grant, GrantType, ID_TOKEN_TYPE, IdClaims, Prompt, check_authorization,
    session_satisfies, with_query,
};
use crate::policy::{AccountKind, MfaState};
use crate::token::Purpose;

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
            app.audit(
                crate::audit::ANONYMOUS,
                Action::Authorize,
                "(invalid client)",
                Outcome::Refused,
            )
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
            app.audit(
                crate::audit::ANONYMOUS,
                Action::Authorize,
                client_id,
                Outcome::of_oauth_error(error),
            )
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
    // The site's name is only for the page: dropped from an id that would be too long with it.
    let exp = now + AUTHORIZATION_SECS;
    let site = client.as_ref().map(|c| c.name.clone());
    let mut id = seal_authorization(app, &req, site, exp)?;
    if id.len() > MAX_AUTHORIZATION_LEN {
        id = seal_authorization(app, &req, None, exp)?;
    }
    if id.len() > MAX_AUTHORIZATION_LEN {
        return refuse_authorization(
            app,
            &req,
            "invalid_request",
            "The request's parameters are too long.",
            issuer,
        )
        .await;
    }
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
    app.audit(
        crate::audit::ANONYMOUS,
        Action::Authorize,
        &req.client_id,
        Outcome::of_oauth_error(error),
    )
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
    /// The client's name as `/authorize` read it, for the sign-in page to name the site without
    /// reading the client again (completing the request does read it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site: Option<String>,
    exp: u64,
}

/// The pending request travels with the browser, sealed (AES-256-GCM under the data key): nothing
/// is stored until the sign-in completes, and nobody can read or alter it. It need not be single
/// use: completing it takes a full sign-in, and the code it yields is single use.
fn seal_authorization(
    app: &App,
    req: &AuthorizationRequest,
    site: Option<String>,
    exp: u64,
) -> Result<String> {
    let json = serde_json::to_vec(&SealedRequest {
        req: req.clone(),
        site,
        exp,
    })
    .map_err(|e| Error::Internal(format!("encode authorization: {e}")))?;
    let sealed = app.keys.secrets.seal(&json, AUTHORIZATION_AAD)?;
    Ok(data_encoding::BASE64URL_NOPAD.encode(&sealed))
}

/// The request behind an `authorization` id, if it is one of ours and has not expired.
fn open_authorization(app: &App, id: &str) -> Option<AuthorizationRequest> {
    open_sealed(app, id).map(|sealed| sealed.req)
}

fn open_sealed(app: &App, id: &str) -> Option<SealedRequest> {
    if id.len() > MAX_AUTHORIZATION_LEN {
        return None;
    }
    let sealed = data_encoding::BASE64URL_NOPAD.decode(id.as_bytes()).ok()?;
    let json = app.keys.secrets.open(&sealed, AUTHORIZATION_AAD).ok()?;
    let sealed: SealedRequest = serde_json::from_slice(&json).ok()?;
    (sealed.exp > app.now()).then_some(sealed)
}

/// An `authorization` given to the sign-in routes, kept only when it is a live one of ours (so a
/// challenge never stores whatever a caller sent).
pub fn valid_authorization(app: &App, id: Option<&str>) -> Option<String> {
    id.filter(|i| open_authorization(app, i).is_some())
        .map(str::to_owned)
}

/// The name of the site an `authorization` is for, as it was when the request came (the sign-in
/// page names it): nothing is read.
pub fn pending_site(app: &App, id: &str) -> Option<String> {
    open_sealed(app, id).and_then(|sealed| sealed.site)
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
        app.audit(
            s.username,
            Action::Authorize,
            &req.client_id,
            Outcome::ClientGone,
        )
        .await;
        return Ok(None);
    };
    if !client.admits(GrantType::AuthorizationCode, s.kind, s.mfa) {
        app.audit(
            s.username,
            Action::Authorize,
            &client.id,
            Outcome::AccessDenied,
        )
        .await;
        return Ok(Some(error_redirect(
            &req.redirect_uri,
            req.state.as_deref(),
            "access_denied",
            "This application does not accept this account, or needs a sign-in with a security code.",
            issuer,
        )));
    }
    issue_code(app, req, s, issuer).map(Some)
}

/// The code goes to the client sealed: issuing it writes nothing (`oidc::AuthorizationCode`).
fn issue_code(
    app: &App,
    req: &AuthorizationRequest,
    s: &SignedIn<'_>,
    issuer: &str,
) -> Result<String> {
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
    let code = AuthorizationCode::new(grant, app.now())?.seal(&app.keys.secrets)?;
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = req.state.as_deref() {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    Ok(with_query(&req.redirect_uri, &params))
}
