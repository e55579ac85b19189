//! The OpenID Connect provider, by endpoint family: `authorize` (and the completion of a sign-in a
//! site asked for), `token` (its `form`, one file per grant under `grants/`, and what they `issue`), `userinfo`, `logout`,
//! `discovery`. Rules are in `crate::oidc`; signing in `crate::signing`; these files sequence them.

mod authorize;
mod discovery;
mod form;
mod grants;
mod issue;
mod logout;
mod token;
mod userinfo;

pub use authorize::{
    Authorize, SignInDone, SignedIn, after_sign_in, authorize, pending_site, valid_authorization,
};
pub use discovery::discovery;
pub use form::{TokenForm, Tokens};
pub use grants::password::PASSWORD_GRANT_AUDIENCE;
pub use logout::{EndSession, EndSessionParams, end_cookie_session, end_session};
pub use token::token;
pub use userinfo::{access_token_session, userinfo};
