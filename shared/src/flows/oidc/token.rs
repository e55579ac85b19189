//! `POST /token`: client authentication, then one grant per file under `grants/`, chosen from the
//! closed list of grant types.

use crate::app::App;
use crate::error::{Error, Result};

use super::form::{TokenForm, Tokens, authenticate_client, missing};
use super::grants;

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
            grants::code::grant(app, form, &client, issuer).await
        }
        Some("refresh_token") => {
            let client = authenticate_client(app, form, basic).await?;
            grants::refresh::grant(app, form, &client, issuer).await
        }
        Some("password") => grants::password::grant(app, form, basic, issuer, source).await,
        Some(_) => Err(Error::UnsupportedGrantType(
            "grant_type may be authorization_code, refresh_token or password.".into(),
        )),
        None => Err(missing("grant_type is required.")),
    }
}
