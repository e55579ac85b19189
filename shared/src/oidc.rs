//! OpenID Connect provider rules, pure: clients and their redirect URIs (RFC 8252), the
//! authorization request (OIDC Core 3.1.2.1, PKCE S256 for every client per RFC 9700 2.1.1),
//! PKCE itself (RFC 7636), `amr` (RFC 8176), and the claims of the tokens we sign (RFC 9068).

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::crypto::SecretBox;
use crate::policy::{AccountKind, MfaState};
use crate::token::{Purpose, TokenHasher, new_token};

/// An authorization code lives 60 seconds (contract).
pub const CODE_SECS: u64 = 60;
/// Access and ID tokens live 15 minutes at most (contract).
pub const TOKEN_SECS: u64 = 15 * 60;
/// A pending authorization request waits this long for the sign-in (a first-time user may be
/// reading a setup email meanwhile).
pub const AUTHORIZATION_SECS: u64 = 30 * 60;
/// The type of our access tokens' JWT header (RFC 9068 section 2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
pub const ID_TOKEN_TYPE: &str = "JWT";
/// Scopes we know; others are ignored (OIDC Core 5.4 lets a provider grant less).
pub const SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// Client ids: 1-64 of letters, digits, `.`, `_`, `-`.
pub fn is_client_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A redirect URI we accept at registration: absolute, https, or http on a loopback host
/// (RFC 8252 section 7.3), no fragment, no credentials.
pub fn is_redirect_uri(uri: &str) -> bool {
    let Ok(u) = url::Url::parse(uri) else {
        return false;
    };
    if uri.len() > 512
        || u.fragment().is_some()
        || !u.username().is_empty()
        || u.password().is_some()
    {
        return false;
    }
    match u.scheme() {
        "https" => u.host().is_some(),
        "http" => {
            matches!(
                u.host(),
                Some(url::Host::Ipv4(ip)) if ip.is_loopback()
            ) || matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
                || u.host_str() == Some("localhost")
        }
        _ => false,
    }
}

/// RFC 7636 4.1: 43-128 unreserved characters.
pub fn is_code_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// RFC 7636 4.6: `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    if !is_code_verifier(verifier) {
        return false;
    }
    let computed = BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// RFC 8176 values for how a sign-in was made. `federated`: the identity provider's own values
/// (the ones that are RFC 8176-shaped), passed on and marked `fed`; otherwise a password, and a
/// code when one was given.
pub fn amr(mfa: MfaState, federated: Option<&[String]>) -> Vec<String> {
    if let Some(idp) = federated {
        let mut v: Vec<String> = idp
            .iter()
            .filter(|a| (1..=32).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_alphanumeric()))
            .filter(|a| *a != "fed")
            .take(8)
            .cloned()
            .collect();
        v.push("fed".into());
        return v;
    }
    match mfa {
        MfaState::Verified => vec!["pwd".into(), "otp".into(), "mfa".into()],
        MfaState::NotRequired => vec!["pwd".into()],
        // A delegated session without the provider's values (made before they were kept).
        MfaState::Delegated => vec!["fed".into()],
    }
}

/// OIDC Core 2 `acr`: `mfa` when a second factor was given here or the organisation's identity
/// provider owns MFA for the user (delegated), else `pwd`.
pub fn acr(mfa: MfaState) -> &'static str {
    match mfa {
        MfaState::Verified | MfaState::Delegated => "mfa",
        MfaState::NotRequired => "pwd",
    }
}

/// The scope an access token carries: what was granted, plus `mfa` only when it was earned, so an
/// API Gateway JWT authorizer with `AuthorizationScopes: [mfa]` refuses password-only tokens.
pub fn token_scope(granted: &str, mfa: MfaState) -> String {
    if acr(mfa) == "mfa" {
        format!("{granted} mfa")
    } else {
        granted.to_owned()
    }
}

/// The scopes we grant from a requested `scope`: the known ones, in our order.
pub fn granted_scope(requested: &str) -> String {
    let asked: Vec<&str> = requested.split(' ').collect();
    SCOPES
        .iter()
        .filter(|s| asked.contains(s))
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `/authorize` query parameters as received.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    /// OIDC Core 3.1.2.1: a previous ID token naming the user the site expects.
    pub id_token_hint: Option<String>,
    /// OIDC Core 6: not supported; present means `request_not_supported`.
    pub request: Option<String>,
    pub request_uri: Option<String>,
    pub response_mode: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prompt {
    None,
    Login,
}

/// A request that passed every check: what the sign-in that follows must honour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub prompt: Option<Prompt>,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
}

/// Why a request was refused, and how: a page for anything that could make us an open redirector
/// (RFC 6749 4.1.2.1), a redirect with `error` otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeRefusal {
    Page(&'static str),
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: &'static str,
    },
}

/// Longest `state`, `nonce` and `login_hint` we carry.
const MAX_PARAM: usize = 512;

/// Checks an authorization request against the client's registration. `registered` is the
/// client's redirect URIs, or None when the client is unknown.
pub fn check_authorization(
    p: &AuthorizeParams,
    registered: Option<&[String]>,
) -> Result<AuthorizationRequest, AuthorizeRefusal> {
    let Some(client_id) = p.client_id.as_deref().filter(|c| is_client_id(c)) else {
        return Err(AuthorizeRefusal::Page(
            "The sign-in request names no valid application.",
        ));
    };
    let Some(registered) = registered else {
        return Err(AuthorizeRefusal::Page(
            "The sign-in request names an unknown application.",
        ));
    };
    // Exactly as registered, character for character (RFC 9700 2.1).
    let Some(redirect_uri) = p
        .redirect_uri
        .as_deref()
        .filter(|r| registered.iter().any(|x| x == r))
    else {
        return Err(AuthorizeRefusal::Page(
            "The sign-in request's return address is not registered for this application.",
        ));
    };
    let state = p.state.clone();
    let refuse = |error, description| AuthorizeRefusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone().filter(|s| s.len() <= MAX_PARAM),
        error,
        description,
    };
    if p.request.is_some() {
        return Err(refuse(
            "request_not_supported",
            "Request objects are not supported.",
        ));
    }
    if p.request_uri.is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported.",
        ));
    }
    if p.response_mode.as_deref().is_some_and(|m| m != "query") {
        return Err(refuse(
            "invalid_request",
            "Only response_mode=query is supported.",
        ));
    }
    if p.response_type.as_deref() != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "Only response_type=code is supported.",
        ));
    }
    let scope = p.scope.as_deref().unwrap_or("");
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(refuse("invalid_scope", "The scope must include openid."));
    }
    let too_long = |v: &Option<String>| v.as_ref().is_some_and(|v| v.len() > MAX_PARAM);
    if too_long(&p.state) || too_long(&p.nonce) || too_long(&p.login_hint) {
        return Err(refuse("invalid_request", "A parameter is too long."));
    }
    let Some(code_challenge) = p.code_challenge.as_deref() else {
        return Err(refuse(
            "invalid_request",
            "PKCE is required: send code_challenge.",
        ));
    };
    if p.code_challenge_method.as_deref() != Some("S256") {
        return Err(refuse(
            "invalid_request",
            "PKCE is required with code_challenge_method=S256.",
        ));
    }
    // A challenge is BASE64URL(SHA-256): 43 characters.
    if code_challenge.len() != 43 || BASE64URL_NOPAD.decode(code_challenge.as_bytes()).is_err() {
        return Err(refuse("invalid_request", "code_challenge is malformed."));
    }
    let prompt = match p.prompt.as_deref() {
        None | Some("") => None,
        Some("none") => Some(Prompt::None),
        Some("login") => Some(Prompt::Login),
        Some(_) => return Err(refuse("invalid_request", "prompt may be none or login.")),
    };
    let max_age = match p.max_age.as_deref() {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return Err(refuse(
                    "invalid_request",
                    "max_age must be a number of seconds.",
                ));
            }
        },
    };
    Ok(AuthorizationRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scope: granted_scope(scope),
        state: p.state.clone(),
        nonce: p.nonce.clone(),
        code_challenge: code_challenge.to_owned(),
        prompt,
        max_age,
        login_hint: p.login_hint.clone(),
    })
}

/// May an existing sign-in session serve this request without a new sign-in?
pub fn session_satisfies(req: &AuthorizationRequest, auth_time: u64, now: u64) -> bool {
    req.prompt != Some(Prompt::Login)
        && req
            .max_age
            .is_none_or(|max| now.saturating_sub(auth_time) <= max)
}

/// `uri` with `params` added to its query, encoded (the registered URI may have a query of its own).
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.into()
        }
        Err(_) => uri.to_owned(),
    }
}

/// The OAuth 2.0 grants a client may use (RFC 6749): a closed list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    Password,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::Password,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::Password => "password",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

fn default_kinds() -> Vec<AccountKind> {
    vec![AccountKind::Staff, AccountKind::Sysadmin]
}
fn default_grants() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
}
fn yes() -> bool {
    true
}

/// A relying party registered with us.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (a browser or native app) has no secret; PKCE is its proof.
    pub public: bool,
    /// The client secret's keyed hash; None for public clients.
    #[serde(default)]
    pub secret_hash: Option<String>,
    /// Where the sign-in page sends staff who pick this site.
    #[serde(default)]
    pub home_url: Option<String>,
    pub created_at: u64,
    /// The kinds of account that may sign in to this client (default: staff and sysadmin).
    #[serde(default = "default_kinds")]
    pub allowed_kinds: Vec<AccountKind>,
    /// The grants it may use (default: authorization code and refresh token).
    #[serde(default = "default_grants")]
    pub grant_types: Vec<GrantType>,
    /// Only sign-ins with a second factor (`acr` `mfa`) yield its codes and tokens (default).
    #[serde(default = "yes")]
    pub require_code: bool,
}

impl Client {
    /// May a sign-in of an account of `kind`, made with `mfa`, have this client's codes or tokens
    /// by `grant`? The whole client policy, in one place.
    pub fn admits(&self, grant: GrantType, kind: AccountKind, mfa: MfaState) -> bool {
        self.grant_types.contains(&grant)
            && self.allowed_kinds.contains(&kind)
            && (!self.require_code || acr(mfa) == "mfa")
            // The password grant: integrations only, and only for a client that can keep a secret.
            && (grant != GrantType::Password || (kind == AccountKind::Api && !self.public))
    }
}

/// A client's policy as an administrator gives it: each part optional, the defaults above.
#[derive(Clone, Debug, Default)]
pub struct ClientPolicy {
    pub allowed_kinds: Option<Vec<AccountKind>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub require_code: Option<bool>,
}

impl ClientPolicy {
    /// Applies the given parts to `client`, the rest from `base` (the client as it was) or the
    /// defaults.
    pub fn apply(&self, client: &mut Client, base: Option<&Client>) {
        client.allowed_kinds = self
            .allowed_kinds
            .clone()
            .or_else(|| base.map(|b| b.allowed_kinds.clone()))
            .unwrap_or_else(default_kinds);
        client.grant_types = self
            .grant_types
            .clone()
            .or_else(|| base.map(|b| b.grant_types.clone()))
            .unwrap_or_else(default_grants);
        client.require_code = self
            .require_code
            .or(base.map(|b| b.require_code))
            .unwrap_or(true);
    }
}

/// Checks a client's registration: the id, 1-10 redirect URIs and up to 10 post-logout ones (each
/// https or loopback http), an https (or loopback) home URL, a name of 1-64 characters.
pub fn check_client(c: &Client) -> Result<(), &'static str> {
    if !is_client_id(&c.id) {
        return Err("The client id must be 1 to 64 letters, digits, dots, underscores or hyphens.");
    }
    if c.name.trim().is_empty() || c.name.chars().count() > 64 {
        return Err("The name must be 1 to 64 characters.");
    }
    if c.redirect_uris.is_empty() || c.redirect_uris.len() > 10 {
        return Err("Give 1 to 10 redirect URIs.");
    }
    if c.post_logout_redirect_uris.len() > 10 {
        return Err("Give at most 10 post-logout redirect URIs.");
    }
    if !c
        .redirect_uris
        .iter()
        .chain(&c.post_logout_redirect_uris)
        .chain(&c.home_url)
        .all(|u| is_redirect_uri(u))
    {
        return Err(
            "Every URI must be absolute https, or http on a loopback host (127.0.0.1, [::1], localhost), without a fragment.",
        );
    }
    if c.allowed_kinds.is_empty() || c.grant_types.is_empty() {
        return Err("Give at least one allowed account kind and one grant type.");
    }
    if c.grant_types.contains(&GrantType::Password)
        && (c.public || !c.allowed_kinds.contains(&AccountKind::Api) || c.require_code)
    {
        return Err(
            "The password grant is only for a confidential client of api accounts, without require_code (api accounts never give a code).",
        );
    }
    Ok(())
}

/// What an authorization code or a refresh token grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    /// Codes only: bound to the redirect URI and PKCE challenge of their request.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub code_challenge: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    pub scope: String,
    pub username: String,
    pub auth_time: u64,
    pub amr: Vec<String>,
    /// The sign-in session (its stored hash): everything granted dies with it.
    pub session_hash: String,
    /// Refresh tokens only: rotation keeps the family; a reused token revokes it.
    #[serde(default)]
    pub family: Option<String>,
}

/// Associated data that keeps a sealed code from passing for anything else sealed under the data
/// key (a pending authorization request, a TOTP secret), and names the format's version.
const CODE_AAD: &[u8] = b"authorization-code v1";

/// Longest code we try to open: more than the largest we can issue (a 512-byte nonce of control
/// characters escapes to 3 KB of JSON; see the test), little enough to refuse junk before any work.
pub const MAX_CODE_LEN: usize = 8192;

/// An authorization code: the grant, its expiry and a fresh id, sealed with AES-256-GCM under the
/// data key and given to the client as it is. Nothing is stored when a code is issued, and nobody
/// can read or alter one. Single use is not in the code but in the refresh token derived from its
/// id: the first use stores that token's item on the condition that it is new, so a second use
/// finds it (`flows::oidc::grants::code`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub grant: Grant,
    /// When it stops being redeemable.
    pub exp: u64,
    /// 256 random bits, so that no two codes share a refresh token, even for the same grant.
    pub id: String,
}

impl AuthorizationCode {
    /// A new code for `grant`, alive for `CODE_SECS` from `now`.
    pub fn new(grant: Grant, now: u64) -> crate::error::Result<Self> {
        Ok(AuthorizationCode {
            grant,
            exp: now + CODE_SECS,
            id: new_token()?,
        })
    }

    /// The code as the client holds it: unpadded base64url of the sealed JSON.
    pub fn seal(&self, secrets: &SecretBox) -> crate::error::Result<String> {
        let json = serde_json::to_vec(self)
            .map_err(|e| crate::error::Error::Internal(format!("encode code: {e}")))?;
        Ok(BASE64URL_NOPAD.encode(&secrets.seal(&json, CODE_AAD)?))
    }

    /// The code behind `code` if we sealed it, expired or not (an expired code used before must
    /// still be recognised); None for anything else, without saying why.
    pub fn open(secrets: &SecretBox, code: &str) -> Option<Self> {
        if code.len() > MAX_CODE_LEN {
            return None;
        }
        let sealed = BASE64URL_NOPAD.decode(code.as_bytes()).ok()?;
        let json = secrets.open(&sealed, CODE_AAD).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// The refresh token the code's first use issues. Derived under the token key, so only we can
    /// compute it, and shaped like any other refresh token, so a client cannot tell them apart.
    pub fn refresh_token(&self, tokens: &TokenHasher) -> String {
        tokens.derive(Purpose::CodeRefreshToken, &self.id)
    }
}

/// RFC 9068 access token claims.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub nbf: u64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    pub auth_time: u64,
    pub amr: Vec<String>,
    /// `mfa` after a second factor (here or at the organisation's identity provider), else `pwd`.
    pub acr: String,
    /// The account's kind (`staff`, `sysadmin`, `member`, `api`) when the token was issued.
    pub kind: AccountKind,
    /// The sign-in session (its stored hash), so a revoked session revokes its tokens here.
    pub sid: String,
}

/// OIDC Core 2 ID token claims.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
    pub auth_time: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nonce: Option<String>,
    pub amr: Vec<String>,
    pub acr: String,
    pub kind: AccountKind,
    pub azp: String,
    pub sid: String,
    /// The username (`sub` is opaque).
    pub preferred_username: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> AuthorizeParams {
        AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some("wiki".into()),
            redirect_uri: Some("https://wiki.example.org/cb".into()),
            scope: Some("openid email".into()),
            state: Some("s1".into()),
            nonce: Some("n1".into()),
            code_challenge: Some(BASE64URL_NOPAD.encode(&Sha256::digest(b"v"))),
            code_challenge_method: Some("S256".into()),
            ..Default::default()
        }
    }
    fn registered() -> Vec<String> {
        vec!["https://wiki.example.org/cb".into()]
    }

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        for ok in [
            "https://wiki.example.org/cb",
            "https://a.example/cb?x=1",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
        ] {
            assert!(is_redirect_uri(ok), "{ok}");
        }
        for bad in [
            "http://wiki.example.org/cb",
            "https://wiki.example.org/cb#frag",
            "https://user:pw@wiki.example.org/cb",
            "javascript:alert(1)",
            "/relative",
            "",
            "http://10.0.0.1/cb",
        ] {
            assert!(!is_redirect_uri(bad), "{bad}");
        }
    }

    #[test]
    fn pkce_s256_matches_only_its_verifier() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            challenge
        ));
        assert!(!pkce_matches("short", challenge));
    }

    #[test]
    fn unknown_clients_and_unregistered_redirects_get_a_page_never_a_redirect() {
        let r = registered();
        assert!(matches!(
            check_authorization(&params(), None),
            Err(AuthorizeRefusal::Page(_))
        ));
        let mut p = params();
        p.redirect_uri = Some("https://wiki.example.org/cb/".into());
        assert!(matches!(
            check_authorization(&p, Some(&r)),
            Err(AuthorizeRefusal::Page(_))
        ));
        p.redirect_uri = Some("https://wiki.example.org/c".into());
        assert!(matches!(
            check_authorization(&p, Some(&r)),
            Err(AuthorizeRefusal::Page(_))
        ));
    }

    #[test]
    fn other_errors_redirect_with_the_oauth_error() {
        let r = registered();
        let err = |p: AuthorizeParams| match check_authorization(&p, Some(&r)) {
            Err(AuthorizeRefusal::Redirect { error, state, .. }) => (error, state),
            other => panic!("{other:?}"),
        };
        let mut p = params();
        p.code_challenge = None;
        assert_eq!(err(p), ("invalid_request", Some("s1".into())));
        let mut p = params();
        p.code_challenge_method = Some("plain".into());
        assert_eq!(err(p).0, "invalid_request");
        let mut p = params();
        p.scope = Some("email".into());
        assert_eq!(err(p).0, "invalid_scope");
        let mut p = params();
        p.response_type = Some("token".into());
        assert_eq!(err(p).0, "unsupported_response_type");
        let mut p = params();
        p.prompt = Some("consent".into());
        assert_eq!(err(p).0, "invalid_request");
        let ok = check_authorization(&params(), Some(&r)).unwrap();
        assert_eq!(ok.scope, "openid email");
    }

    #[test]
    fn prompt_login_and_max_age_call_for_a_new_sign_in() {
        let r = registered();
        let mut req = check_authorization(&params(), Some(&r)).unwrap();
        assert!(session_satisfies(&req, 100, 10_000));
        req.max_age = Some(60);
        assert!(session_satisfies(&req, 100, 160));
        assert!(!session_satisfies(&req, 100, 161));
        req.max_age = None;
        req.prompt = Some(Prompt::Login);
        assert!(!session_satisfies(&req, 100, 100));
    }

    #[test]
    fn amr_says_whether_a_code_was_given() {
        assert_eq!(amr(MfaState::Verified, None), ["pwd", "otp", "mfa"]);
        assert_eq!(amr(MfaState::NotRequired, None), ["pwd"]);
        assert_eq!(
            amr(MfaState::NotRequired, Some(&[])),
            ["fed"],
            "a social login: no password here"
        );
        assert_eq!(
            amr(
                MfaState::Delegated,
                Some(&["mfa".into(), "bad value".into()])
            ),
            ["mfa", "fed"]
        );
    }

    fn grant(nonce: Option<String>) -> Grant {
        Grant {
            client_id: "wiki".into(),
            redirect_uri: Some("https://wiki.example.org/cb".into()),
            code_challenge: Some(BASE64URL_NOPAD.encode(&Sha256::digest(b"v"))),
            nonce,
            scope: "openid".into(),
            username: "jane".into(),
            auth_time: 100,
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
            session_hash: "ab".repeat(32),
            family: None,
        }
    }

    #[test]
    fn a_code_opens_only_as_sealed_under_its_key() {
        let secrets = SecretBox::new(&[7; 32]);
        let code = AuthorizationCode::new(grant(Some("n".into())), 1000).unwrap();
        assert_eq!(code.exp, 1000 + CODE_SECS);
        let sealed = code.seal(&secrets).unwrap();
        assert!(
            !sealed.contains("jane") && !sealed.contains("wiki"),
            "{sealed}"
        );
        assert_eq!(
            AuthorizationCode::open(&secrets, &sealed),
            Some(code.clone())
        );
        assert_eq!(
            AuthorizationCode::open(&SecretBox::new(&[8; 32]), &sealed),
            None
        );
        for i in [0, sealed.len() / 2, sealed.len() - 1] {
            let mut tampered = sealed.clone().into_bytes();
            tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(tampered).unwrap();
            assert_eq!(AuthorizationCode::open(&secrets, &tampered), None, "{i}");
        }
        assert_eq!(AuthorizationCode::open(&secrets, ""), None);
        assert_eq!(AuthorizationCode::open(&secrets, "not base64!"), None);
        // Another thing sealed under the same key is no code.
        let other = BASE64URL_NOPAD.encode(&secrets.seal(b"{}", b"oidc-authorization-v1").unwrap());
        assert_eq!(AuthorizationCode::open(&secrets, &other), None);
    }

    #[test]
    fn each_code_has_its_own_refresh_token_shaped_like_a_random_one() {
        let tokens = TokenHasher::new([1; 32]);
        let a = AuthorizationCode::new(grant(None), 0).unwrap();
        let b = AuthorizationCode::new(grant(None), 0).unwrap();
        assert_ne!(a.refresh_token(&tokens), b.refresh_token(&tokens));
        assert_eq!(a.refresh_token(&tokens), a.clone().refresh_token(&tokens));
        assert!(crate::token::is_well_formed(&a.refresh_token(&tokens)));
    }

    #[test]
    fn the_largest_code_we_issue_opens() {
        // Every field at its longest: a nonce of 512 control characters (each escaped to six
        // bytes of JSON), a 512-byte redirect URI, a 64-byte client id and username, 8 provider
        // `amr` values of 32 characters.
        let mut g = grant(Some("\u{1}".repeat(512)));
        g.client_id = "c".repeat(64);
        g.redirect_uri = Some(format!("https://{}", "a".repeat(504)));
        g.username = "u".repeat(64);
        g.scope = SCOPES.join(" ");
        g.amr = (0..8)
            .map(|_| "a".repeat(32))
            .chain(["fed".into()])
            .collect();
        let code = AuthorizationCode::new(g, u64::MAX / 2).unwrap();
        let sealed = code.seal(&SecretBox::new(&[7; 32])).unwrap();
        assert!(sealed.len() <= MAX_CODE_LEN, "{}", sealed.len());
        assert!(AuthorizationCode::open(&SecretBox::new(&[7; 32]), &sealed).is_some());
        let too_long = format!("{sealed}{}", "A".repeat(MAX_CODE_LEN));
        assert!(AuthorizationCode::open(&SecretBox::new(&[7; 32]), &too_long).is_none());
    }

    #[test]
    fn redirects_keep_the_registered_query() {
        assert_eq!(
            with_query(
                "https://a.example/cb?x=1",
                &[("code", "c d"), ("state", "&")]
            ),
            "https://a.example/cb?x=1&code=c+d&state=%26"
        );
    }
}
