//! OpenID Connect ID tokens from the organisation's configured providers. The signature must be
//! RS256 or ES256 under a key from the provider's JWK set, and the key's own type decides which:
//! `alg: none` and HMAC signed with a public key (the classic confusion attack) are refused.
//! Issuer and audience are checked by jsonwebtoken; times against the caller's `now`.

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
    pub audience: String,
    pub jwks: JwkSet,
    /// For `sso`: `amr` values a token must carry for the MFA bypass to hold.
    pub require_amr: Vec<String>,
}

/// What a verified token tells us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityClaims {
    pub subject: String,
    pub amr: Vec<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    nbf: Option<u64>,
    iat: Option<u64>,
    #[serde(default)]
    amr: Vec<String>,
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

pub fn verify_id_token(provider: &Provider, token: &str, now: u64) -> Result<IdentityClaims> {
    let header = decode_header(token).map_err(|_| Error::InvalidToken)?;
    let key = match &header.kid {
        Some(kid) => provider.jwks.find(kid),
        None if provider.jwks.keys.len() == 1 => provider.jwks.keys.first(),
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
    Ok(IdentityClaims {
        subject: claims.sub,
        amr: claims.amr,
    })
}
