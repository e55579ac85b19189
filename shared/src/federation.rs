//! We as a relying party: the organisation's identity providers and social logins. Pure rules:
//! the discovery document (issuer compared exactly, RFC 8414 / OIDC Discovery 4.3), and ID tokens
//! (OIDC Core 3.1.3.7). The signature must be RS256 or ES256 under a key from the provider's JWK
//! set, and the key's own type decides which: `alg: none` and HMAC signed with a public key (the
//! classic confusion attack) are refused. Issuer, audience, `azp` and `nonce` are checked; times
//! against the caller's `now`.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::policy::ProviderKind;

/// Clock skew allowed between us and the identity provider.
pub const LEEWAY_SECS: u64 = 60;

#[derive(Clone, Debug)]
pub struct Provider {
    pub id: String,
    pub kind: ProviderKind,
    pub issuer: String,
    /// Our client id at the provider: the audience of its ID tokens.
    pub audience: String,
    /// The name on the sign-in page's button.
    pub display_name: String,
    /// Keys given inline, or the ones last fetched from `jwks_uri`.
    pub jwks: JwkSet,
    /// For `sso`: `amr` values a token must carry for the MFA bypass to hold.
    pub require_amr: Vec<String>,
    /// From discovery, for the redirect flow; None for a provider configured with inline keys
    /// (raw ID tokens only).
    pub endpoints: Option<Endpoints>,
    /// Our client secret at the provider, sealed (the provider id as associated data).
    pub sealed_secret: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Endpoints {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// The provider names itself in its answers (RFC 9207 `iss`): an answer without it is refused.
    #[serde(default)]
    pub iss_parameter_supported: bool,
}

/// The endpoints of a discovery document fetched from `<issuer>/.well-known/openid-configuration`,
/// whose `issuer` must be exactly the one configured (OIDC Discovery 4.3: no look-alike issuer).
pub fn endpoints_from_discovery(
    doc: &serde_json::Value,
    issuer: &str,
    fetchable: impl Fn(&str) -> bool,
) -> std::result::Result<Endpoints, String> {
    if doc["issuer"].as_str() != Some(issuer) {
        return Err("the discovery document names another issuer".into());
    }
    let url = |name: &str| {
        doc[name]
            .as_str()
            .filter(|u| fetchable(u))
            .map(str::to_owned)
            .ok_or_else(|| format!("the discovery document has no usable {name}"))
    };
    Ok(Endpoints {
        authorization_endpoint: url("authorization_endpoint")?,
        token_endpoint: url("token_endpoint")?,
        jwks_uri: url("jwks_uri")?,
        iss_parameter_supported: doc["authorization_response_iss_parameter_supported"]
            .as_bool()
            .unwrap_or(false),
    })
}

/// Provider ids, one rule for the API and `mfa-admin`: 1 to 32 of `a-z0-9-`, and not a word our
/// own routes use under `/sign-in/federated/`.
pub fn is_provider_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !["callback", "nonce"].contains(&id)
}

/// What a verified token tells us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityClaims {
    pub subject: String,
    pub amr: Vec<String>,
    pub nonce: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    nbf: Option<u64>,
    iat: Option<u64>,
    #[serde(default)]
    amr: Vec<String>,
    #[serde(default)]
    aud: serde_json::Value,
    azp: Option<String>,
    nonce: Option<String>,
}

/// The key id a token names, to find (or fetch) its key.
pub fn key_id(token: &str) -> Option<String> {
    decode_header(token).ok()?.kid
}

/// A JWK set as an administrator gives it: at least one key, each RSA or EC P-256.
pub fn parse_jwks(value: &serde_json::Value) -> std::result::Result<JwkSet, String> {
    let set: JwkSet =
        serde_json::from_value(value.clone()).map_err(|e| format!("jwks is not a JWK set: {e}"))?;
    if set.keys.is_empty() {
        return Err("jwks has no keys".into());
    }
    for key in &set.keys {
        if algorithm_for(key).is_none() {
            return Err("jwks may hold only RSA and EC P-256 public keys".into());
        }
    }
    Ok(set)
}

/// The one algorithm a key may verify.
fn algorithm_for(key: &Jwk) -> Option<Algorithm> {
    match &key.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec)
            if ec.curve == jsonwebtoken::jwk::EllipticCurve::P256 =>
        {
            Some(Algorithm::ES256)
        }
        _ => None,
    }
}

/// Verifies an ID token from `provider` against `jwks` (its current keys). `nonce`: the value we
/// sent in the authentication request, which the token must carry (OIDC Core 3.1.3.7 step 11).
pub fn verify_id_token(
    provider: &Provider,
    jwks: &JwkSet,
    token: &str,
    now: u64,
    nonce: Option<&str>,
) -> Result<IdentityClaims> {
    let header = decode_header(token).map_err(|_| Error::InvalidToken)?;
    let key = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or(Error::InvalidToken)?;
    // The key, not the token, names the algorithm.
    let alg = algorithm_for(key).ok_or(Error::InvalidToken)?;
    if header.alg != alg {
        return Err(Error::InvalidToken);
    }
    let decoding_key = DecodingKey::from_jwk(key).map_err(|_| Error::InvalidToken)?;
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[&provider.issuer]);
    validation.set_audience(&[&provider.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Times are checked below against our clock, which tests can move.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let claims = decode::<Claims>(token, &decoding_key, &validation)
        .map_err(|_| Error::InvalidToken)?
        .claims;
    let expired = now > claims.exp.saturating_add(LEEWAY_SECS);
    let early = |t: Option<u64>| t.is_some_and(|t| t > now.saturating_add(LEEWAY_SECS));
    if expired || early(claims.nbf) || early(claims.iat) || claims.sub.is_empty() {
        return Err(Error::InvalidToken);
    }
    // Step 4-5: a token for several audiences must name us as its authorized party.
    let audiences = claims.aud.as_array().map_or(1, Vec::len);
    let azp_ok = match claims.azp.as_deref() {
        Some(azp) => azp == provider.audience,
        None => audiences == 1,
    };
    let nonce_ok = match nonce {
        Some(expected) => claims.nonce.as_deref() == Some(expected),
        None => true,
    };
    if !azp_ok || !nonce_ok {
        return Err(Error::InvalidToken);
    }
    Ok(IdentityClaims {
        subject: claims.sub,
        amr: claims.amr,
        nonce: claims.nonce,
    })
}
