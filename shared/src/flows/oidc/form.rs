//! What `POST /token` receives: the form (RFC 6749 sections 4.1.3, 4.3.2, 6), its answer, and
//! client authentication (RFC 6749 2.3.1).

use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::error::{Error, Result};
use crate::oidc::Client;
use crate::token::Purpose;

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

pub(in crate::flows::oidc) fn missing(what: &'static str) -> Error {
    Error::bad_request("invalid_request", what)
}

/// RFC 6749 2.3.1: `client_secret_basic` or `client_secret_post`, or none for a public client.
pub(in crate::flows::oidc) async fn authenticate_client(
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
        app.audit(
            crate::audit::CLIENT,
            Action::ClientAuth,
            &client.id,
            Outcome::Refused,
        )
        .await;
        return Err(Error::InvalidClient);
    }
    Ok(client)
}
