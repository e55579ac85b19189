//! The few pages the provider shows itself: a refused request (never a redirect to an address we
//! cannot trust), the sign-out confirmation, and "signed out".

use axum::http::StatusCode;
use axum::response::Response;
use shared::pages::{escape_attribute, page};

/// A 400 page: the request could not be trusted to name where to send the user.
pub fn error(why: &str) -> Response {
    let body = format!(
        "<main><h1>This sign-in request cannot be used</h1><p class=\"error\">{}</p>\
         <p>Go back to the site you came from and try again, or <a href=\"/sign-in\">sign in here</a>.</p></main>",
        escape_attribute(why)
    );
    let mut r = page("Sign-in request refused", &body, "");
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

pub fn signed_out() -> Response {
    page(
        "Signed out",
        "<main><h1>Signed out</h1><p class=\"ok\">You are signed out.</p><p><a href=\"/sign-in\">Sign in again</a></p></main>",
        "",
    )
}

const CONFIRM_BODY: &str = r#"<main><h1>Sign out?</h1>
<p>A site asked to sign you out of your organisation's account.</p>
<button type="button" id="yes">Sign out</button> <a href="/sign-in">Stay signed in</a>
<p id="message" role="status" aria-live="polite"></p></main>"#;

const CONFIRM_SCRIPT: &str = r#"(function(){
document.getElementById('yes').addEventListener('click',async()=>{
  const r=await fetch('/end-session',{method:'POST'});
  const m=document.getElementById('message');
  m.textContent=r.ok?'You are signed out.':'Something went wrong. Try again.';m.className=r.ok?'ok':'error';
});
})();"#;

/// Logout without an `id_token_hint` could be a cross-site trick: ask the user.
pub fn confirm_sign_out() -> Response {
    page("Sign out?", CONFIRM_BODY, CONFIRM_SCRIPT)
}
