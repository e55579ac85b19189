//! The setup page the email links to. Loading it reads and consumes nothing (mail scanners
//! prefetch links, and some open them in a browser and run their scripts): the key is asked for
//! (`POST /mfa/setup/key`) only when the person presses "Show my QR code", so a scanner neither
//! sees the key nor makes the account count as setting an app up.

use axum::response::Response;
use shared::messages::APPS;
use shared::pages::page;

const BODY_START: &str = r#"<main>
<h1>Set up your authenticator app</h1>
<p id="message" role="status" aria-live="polite"></p>
<p id="intro">Have your phone with its authenticator app ready, then show the QR code to scan. It can be shown a few times only.</p>
<button type="button" id="show">Show my QR code</button>
<section id="key" hidden>
<ol>
<li>Open your authenticator app: "#;

const BODY_END: &str = r#".</li>
<li>Add an account and scan this QR code:<br><img class="qr" id="qr" alt="QR code for your authenticator app"></li>
<li>Or type this key: <code class="key" id="secret"></code> (account <span id="account"></span>, issuer <span id="issuer"></span>, time-based, 6 digits).</li>
<li id="then-sign-in">Go back to the <a href="/sign-in">sign-in page</a>, sign in with your username and password, and enter the 6-digit code your app shows.</li>
<li id="then-confirm" hidden>Enter the 6-digit code your new app shows, here. Until you do, your old app keeps working; once you do, it stops.</li>
</ol>
<form id="confirm" hidden novalidate>
  <label for="confirm-code">Code from your new app</label>
  <input id="confirm-code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="12" required>
  <button type="submit">Use the new app</button>
  <p id="confirm-message" role="status" aria-live="polite"></p>
</form>
<p>We never send security codes by email or any other way.</p>
</section>
<p id="done" hidden><a href="/sign-in">Sign in</a></p>
<p id="expired" hidden class="error">This setup link has expired or was already used. <a href="/sign-in">Sign in</a> again and choose "I don't have a security code" to get a new one.</p>
</main>"#;

const SCRIPT: &str = r#"(function(){
const $=id=>document.getElementById(id);
const token=new URLSearchParams(location.search).get('token')||'';
$('show').addEventListener('click',()=>{
$('show').disabled=true;
fetch('/mfa/setup/key',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({token})})
.then(async r=>{
  let d={};try{d=await r.json();}catch(e){}
  $('show').hidden=true;$('intro').hidden=true;
  if(r.status===200){
    $('qr').src='data:image/svg+xml;charset=utf-8,'+encodeURIComponent(d.qr_svg);
    $('secret').textContent=d.secret_grouped;$('account').textContent=d.account_name;$('issuer').textContent=d.issuer;
    $('key').hidden=false;
    if(d.confirm_here){$('then-sign-in').hidden=true;$('then-confirm').hidden=false;$('confirm').hidden=false;}
    return;
  }
  if(r.status===410){$('expired').hidden=false;return;}
  $('message').className='error';$('message').textContent=d.message||'Something went wrong. Try again later.';
}).catch(()=>{$('show').disabled=false;$('message').className='error';$('message').textContent='The service could not be reached. Try again later.';});
});
$('confirm').addEventListener('submit',async e=>{
  e.preventDefault();
  const say=(text,isError)=>{$('confirm-message').className=isError?'error':'ok';$('confirm-message').textContent=text;};
  let r,d={};
  try{r=await fetch('/mfa/setup/confirm',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({token,code:$('confirm-code').value})});}
  catch(err){say('The service could not be reached. Try again.',true);return;}
  try{d=await r.json();}catch(err){}
  $('confirm-code').value='';
  if(r.status===200){$('key').hidden=true;$('message').className='ok';$('message').textContent=d.message;$('done').hidden=false;return;}
  if(r.status===410){$('key').hidden=true;$('expired').hidden=false;return;}
  say(d.error==='invalid_code'?'That code is not correct. Attempts left: '+d.attempts_left+'.':(d.message||'Something went wrong. Try again.'),true);
  $('confirm-code').focus();
});
})();"#;

pub async fn setup_page() -> Response {
    let body = format!("{BODY_START}{}{BODY_END}", APPS.join(", "));
    page("Set up your authenticator app", &body, SCRIPT)
}
