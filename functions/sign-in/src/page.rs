//! The sign-in page: username and password, then the security code, with the first-time path
//! "I don't have a security code" -> "Yes, send setup email". Opened by `/authorize` with
//! `authorization=<id>`, it names the site and, once signed in, goes back to it; opened directly, it
//! ends on a list of the organisation's sites.

use axum::response::Response;
use shared::pages::{escape_attribute, page};

const BODY_START: &str = r#"<main>
<h1>Sign in</h1>"#;

const BODY: &str = r#"<form id="password-form" novalidate>
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required autofocus value="{login_hint}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign In</button>
  <p><button type="button" class="link" id="forgot">Forgot your password?</button></p>
</form>
<form id="code-form" hidden novalidate>
  <p id="passkey-required" hidden>Your organisation asks you to sign in with your passkey.</p>
  <section id="passkey-offer" hidden aria-label="Sign in with your passkey">
  <button type="button" id="use-passkey">Use your passkey</button>
  <p id="passkey-or">Or enter a code from your app:</p>
  </section>
  <div id="code-entry">
  <p>Enter the 6-digit security code from your authenticator app.</p>
  <p id="not-enrolled" hidden>You have not set up an authenticator app yet. Choose "I don't have a security code" below and we will email you a link to set one up.</p>
  <label for="code" id="code-label">Security code</label>
  <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="64" required>
  <button type="submit">Verify</button>
  </div>
  <p id="recovery-offer"><button type="button" class="link" id="use-recovery">Use a recovery code instead</button></p>
  <p><button type="button" class="link" id="no-code">I don't have a security code</button></p>
</form>
<section id="send-setup" hidden>
  <p id="send-question"></p>
  <button type="button" id="send-yes">Yes, send setup email</button>
  <button type="button" id="send-no">Cancel</button>
</section>
<p id="message" role="status" aria-live="polite"></p>
<section id="signed-in" hidden><p id="org-line" hidden></p><p class="ok" id="welcome"></p>
<p id="recovery-used" class="error" hidden></p>
<p id="mfa-from" class="error" hidden></p>
<p id="setup-offer" hidden>Protect your account with a security code from an authenticator app.
<button type="button" id="setup-own">Set up your security code</button></p>
<p><a href="/account">Your account: passkeys, recovery codes, recent activity, sign out everywhere</a></p>
<h2 id="sites-heading" hidden>Your organisation's sites</h2>
<ul id="sites" aria-labelledby="sites-heading"></ul>
<button type="button" id="sign-out">Sign out</button></section>
<p><a href="/help">Help with signing in</a></p>
</main>"#;

const SCRIPT: &str = r#"(function(){
const $=id=>document.getElementById(id);
let challenge=null, setupTo=null;
const authorization=new URLSearchParams(location.search).get('authorization');
function say(text,isError){const m=$('message');m.textContent=text||'';m.className=isError?'error':'ok';}
function show(id){['password-form','code-form','send-setup','signed-in'].forEach(x=>$(x).hidden=(x!==id));}
async function call(path,body,token){
  const headers={'Content-Type':'application/json'};
  if(token)headers['Authorization']='Bearer '+token;
  const r=await fetch(path,{method:body===undefined?'GET':'POST',headers,body:body===undefined?undefined:JSON.stringify(body)});
  let data={};try{data=await r.json();}catch(e){}
  return {status:r.status,data,retry:r.headers.get('Retry-After')};
}
function explain(res){
  const d=res.data||{};
  switch(d.error){
    case 'invalid_code': return 'That security code is not correct. Attempts left: '+d.attempts_left+'.';
    case 'invalid_passkey': return 'That passkey was not accepted. Attempts left: '+d.attempts_left+'.';
    case 'too_many_requests': return 'Too many attempts. Try again in '+(res.retry||d.retry_after)+' seconds.';
    case 'invalid_challenge': show('password-form'); return 'Your sign-in expired. Enter your username and password again.';
    default: return d.message||'Something went wrong. Try again.';
  }
}
// Signed in: back to the site that asked, or our own list of the organisation's sites. The
// session itself is an HttpOnly cookie; this script never holds it.
async function signedIn(data){
  const from=$('mfa-from');from.hidden=!data.mfa_from;
  const left=data.recovery_codes_left;
  $('recovery-used').hidden=left===undefined;
  if(left!==undefined)$('recovery-used').textContent='You signed in with a recovery code; '+left+' of your recovery codes are left. Each works once. If your phone is lost or replaced, replace your authenticator app now, on your account page (within 10 minutes of this sign-in).';
  if(data.mfa_from)from.textContent='From '+new Date(data.mfa_from).toLocaleString()+', signing in will need a security code from an authenticator app. Set yours up now, below.';
  if(data.redirect_to){say('Signed in. Returning to the site...');location.assign(data.redirect_to);return;}
  if(authorization)say('Signed in, but the site\'s sign-in request has expired. Go back to the site and try again.',true);
  else say('');
  const r=await call('/session');
  if(r.status!==200)return;
  show('signed-in');$('welcome').textContent='Signed in as '+r.data.username+'.';
  $('setup-offer').hidden=!(r.data.mfa==='not_required'&&(r.data.kind==='staff'||r.data.kind==='sysadmin'));
  const s=await call('/sign-in/sites');
  const org=s.data&&s.data.org_name;
  $('org-line').hidden=!org;$('org-line').textContent=org?'Your organisation: '+org:'';
  const list=$('sites');list.replaceChildren();
  ((s.data&&s.data.sites)||[]).forEach(site=>{
    const li=document.createElement('li'),a=document.createElement('a');
    a.href=site.home_url;a.textContent=site.name;li.appendChild(a);list.appendChild(li);
  });
  $('sites-heading').hidden=list.children.length===0;
}
$('password-form').addEventListener('submit',async e=>{
  e.preventDefault();say('');
  const body={username:$('username').value,password:$('password').value};
  if(authorization)body.authorization=authorization;
  const r=await call('/sign-in',body);
  if(r.status!==200){say(explain(r),true);return;}
  $('password').value='';
  if(r.data.status==='signed_in'){await signedIn(r.data);return;}
  challenge=r.data.challenge;setupTo=r.data.setup_email_to;
  $('not-enrolled').hidden=r.data.enrolled!==false;
  // A passkey is offered first; held to it, the code's field is not offered at all.
  const offer=!!r.data.passkey&&!!window.PublicKeyCredential;
  $('passkey-offer').hidden=!offer;
  $('passkey-required').hidden=!r.data.passkey_required;
  $('passkey-or').hidden=!!r.data.passkey_required;
  $('code-entry').hidden=!!r.data.passkey_required&&offer;
  // Held to the passkey, a recovery code is refused too: not offered.
  $('recovery-offer').hidden=!!r.data.passkey_required;
  show('code-form');
  if(offer)$('use-passkey').focus();else $('code').focus();
});
$('use-passkey').addEventListener('click',async()=>{
  say('');
  const start=await call('/mfa/passkey/start',{challenge});
  if(start.status!==200){say(explain(start),true);return;}
  let passkey;
  try{passkey=await Passkeys.get(start.data);}
  catch(e){say('Your passkey was not used (cancelled or timed out). Try again, or enter a code from your app.',true);return;}
  const r=await call('/mfa/verify',{challenge,passkey});
  if(r.status===200){await signedIn(r.data);return;}
  say(explain(r),true);
});
$('code-form').addEventListener('submit',async e=>{
  e.preventDefault();say('');
  const body={challenge};
  body[recovery?'recovery_code':'code']=$('code').value;
  const r=await call('/mfa/verify',body);
  $('code').value='';
  if(r.status===200){await signedIn(r.data);return;}
  say(explain(r),true);
});
$('setup-own').addEventListener('click',async()=>{
  const r=await call('/mfa/setup-email',{});
  if(r.status===202){$('setup-offer').hidden=true;say('We sent a setup email to '+r.data.sent_to+'. Open its link to set up your app; from your next sign-in you will be asked for a code.');}
  else say(explain(r),true);
});
// A recovery code, for a lost or replaced phone: the same field, sent as one.
let recovery=false;
$('use-recovery').addEventListener('click',()=>{
  recovery=!recovery;say('');
  $('code-label').textContent=recovery?'Recovery code (one of the ten you saved)':'Security code';
  $('code').inputMode=recovery?'text':'numeric';$('code').autocomplete=recovery?'off':'one-time-code';
  $('use-recovery').textContent=recovery?'Use a code from my app instead':'Use a recovery code instead';
  $('code').value='';$('code').focus();
});
$('no-code').addEventListener('click',()=>{
  say('');
  $('send-question').textContent=setupTo?('Send a setup email to '+setupTo+'?'):'Send a setup email to the address on file?';
  show('send-setup');$('send-yes').focus();
});
$('send-no').addEventListener('click',()=>{show('code-form');$('code').focus();});
$('send-yes').addEventListener('click',async()=>{
  const r=await call('/mfa/setup-email',{challenge});
  show('code-form');
  if(r.status===202){say('Setup email sent to '+r.data.sent_to+'. Open the link in it, add the key to your app, then enter the code here.');return;}
  say(explain(r),true);
});
// Back from an identity provider (or a reload): already signed in by the session cookie.
if(!authorization)call('/session').then(r=>{if(r.status===200)signedIn({});});
$('forgot').addEventListener('click',async()=>{
  const username=$('username').value.trim();
  if(!username){say('Enter your username first, then choose "Forgot your password?".',true);$('username').focus();return;}
  const r=await call('/password/forgot',{username});
  say(r.status===202?r.data.message:explain(r),r.status!==202);
});
$('sign-out').addEventListener('click',async()=>{
  await fetch('/sign-out',{method:'POST'});
  show('password-form');say('Signed out.');
});
})();"#;

/// WebAuthn in the browser: the options our API gives (binary fields in base64url, as
/// `webauthn-rs` writes them) to the browser's `navigator.credentials`, and the browser's answer
/// back to JSON. Written out rather than `PublicKeyCredential.parse*FromJSON`, which not every
/// browser staff use has yet.
const PASSKEY_SCRIPT: &str = r#"const Passkeys=(()=>{
const dec=s=>{s=s.replace(/-/g,'+').replace(/_/g,'/');s+='='.repeat((4-s.length%4)%4);return Uint8Array.from(atob(s),c=>c.charCodeAt(0)).buffer;};
const enc=b=>btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g,'-').replace(/\//g,'_').replace(/=+$/,'');
const clean=o=>{if(Array.isArray(o))return o.map(clean);if(o&&typeof o==='object'){const r={};for(const k in o)if(o[k]!==null&&o[k]!==undefined)r[k]=clean(o[k]);return r;}return o;};
return {
  async create(options){
    const pk=clean(options.publicKey);
    pk.challenge=dec(pk.challenge);pk.user.id=dec(pk.user.id);
    (pk.excludeCredentials||[]).forEach(c=>{c.id=dec(c.id);});
    const c=await navigator.credentials.create({publicKey:pk});
    return {id:c.id,rawId:enc(c.rawId),type:c.type,extensions:{},
      response:{attestationObject:enc(c.response.attestationObject),clientDataJSON:enc(c.response.clientDataJSON)}};
  },
  async get(options){
    const pk=clean(options.publicKey);
    pk.challenge=dec(pk.challenge);
    (pk.allowCredentials||[]).forEach(c=>{c.id=dec(c.id);});
    const c=await navigator.credentials.get({publicKey:pk});
    return {id:c.id,rawId:enc(c.rawId),type:c.type,extensions:{},
      response:{authenticatorData:enc(c.response.authenticatorData),clientDataJSON:enc(c.response.clientDataJSON),
        signature:enc(c.response.signature),userHandle:c.response.userHandle?enc(c.response.userHandle):null}};
  }
};
})();
"#;

/// The page; `site` names the application a pending authorization is for, `login_hint` fills in
/// the username (both escaped: they come from the request); `providers` are the buttons for the
/// organisation's identity providers and social logins: (link, name).
pub fn sign_in_page(
    site: Option<&str>,
    login_hint: Option<&str>,
    providers: &[(String, String)],
) -> Response {
    let intro = match site {
        Some(name) => format!(
            "<p id=\"for-site\">Sign in to continue to <strong>{}</strong>.</p>",
            escape_attribute(name)
        ),
        None => String::new(),
    };
    let body = BODY.replace("{login_hint}", &escape_attribute(login_hint.unwrap_or("")));
    let buttons: String = providers
        .iter()
        .map(|(href, name)| {
            format!(
                "<p><a class=\"provider\" href=\"{}\">Sign in with {}</a></p>",
                escape_attribute(href),
                escape_attribute(name)
            )
        })
        .collect();
    let buttons = if buttons.is_empty() {
        String::new()
    } else {
        format!(
            "<section id=\"providers\" aria-label=\"Other ways to sign in\">{buttons}</section>"
        )
    };
    page(
        "Sign in",
        &format!("{BODY_START}{intro}{body}{buttons}"),
        &format!("{PASSKEY_SCRIPT}{SCRIPT}"),
    )
}

/// A page for a sign-in that could not be completed, with the way back.
pub fn problem(message: &str, status: u16) -> Response {
    let body = format!(
        "<main><h1>Sign in</h1><p class=\"error\" id=\"problem\">{}</p><p><a href=\"/sign-in\">Back to sign in</a></p></main>",
        escape_attribute(message)
    );
    let mut r = page("Sign in", &body, "");
    *r.status_mut() =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    r
}

const PASSWORD_BODY: &str = r#"<main>
<h1 id="title"></h1>
<form id="password-form" novalidate>
  <p>Account: <strong id="who"></strong></p>
  <label for="new-password">New password</label>
  <input id="new-password" name="password" type="password" autocomplete="new-password" required maxlength="128" aria-describedby="rule">
  <p id="rule">12 to 128 characters; any characters; not a common password. <span id="count"></span></p>
  <div id="code-field">
  <label for="code">Security code from your authenticator app</label>
  <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="12">
  </div>
  <button type="submit">Set password</button>
</form>
<p id="message" role="status" aria-live="polite"></p>
<p><a href="/sign-in">Sign in</a></p>
</main>"#;

const PASSWORD_SCRIPT: &str = r#"(function(){
const $=id=>document.getElementById(id);
const token=new URLSearchParams(location.search).get('token');
const main=document.querySelector('main');
$('title').textContent=main.dataset.invite==='1'?'Choose your password':'Reset your password';
$('who').textContent=main.dataset.user;
$('code-field').hidden=main.dataset.code!=='1';
function say(text,isError){const m=$('message');m.textContent=text||'';m.className=isError?'error':'ok';}
// The rule, explained as the user types.
$('new-password').addEventListener('input',()=>{
  const n=[...$('new-password').value].length;
  $('count').textContent=n<12?(12-n)+' more characters needed.':'Length is fine.';
});
$('password-form').addEventListener('submit',async e=>{
  e.preventDefault();say('');
  const body={token,password:$('new-password').value};
  if(main.dataset.code==='1'&&$('code').value.trim())body.code=$('code').value;
  const r=await fetch('/password/reset',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(body)});
  let d={};try{d=await r.json();}catch(x){}
  if(r.ok){$('password-form').hidden=true;say(d.message);return;}
  say(d.error==='invalid_code'?'That security code is not correct.':(d.message||'Something went wrong. Try again.'),true);
});
})();"#;

/// The page of a reset or invitation link: whose account, the password rule, and a code field
/// when the account has an authenticator app.
pub fn password_page(username: &str, code_required: bool, invite: bool) -> Response {
    let body = PASSWORD_BODY.replacen(
        "<main>",
        &format!(
            "<main data-user=\"{}\" data-code=\"{}\" data-invite=\"{}\">",
            escape_attribute(username),
            u8::from(code_required),
            u8::from(invite)
        ),
        1,
    );
    page("Set your password", &body, PASSWORD_SCRIPT)
}

const ACCOUNT_BODY: &str = r#"<main>
<h1>Your account</h1>
<p id="message" role="status" aria-live="polite"></p>
<section id="signed-out" aria-label="Not signed in" hidden>
<p>Sign in first to see your account.</p>
<p><a href="/sign-in">Sign in</a></p>
</section>
<div id="account" hidden>
<p id="who"></p>
<section aria-labelledby="rc-heading">
<h2 id="rc-heading">Recovery codes</h2>
<p>If your phone is lost, wiped or replaced, a recovery code signs you in instead of a code from your app. You get ten; each works once.</p>
<p id="rc-standing"></p>
<button type="button" id="rc-new">Make a new set of recovery codes</button>
<form id="code-prompt" class="callout" hidden novalidate>
  <p>This needs a current code from your authenticator app.</p>
  <label for="prompt-code">Code from your app, to confirm</label>
  <input id="prompt-code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="12" required>
  <button type="submit">Confirm</button>
  <button type="button" id="prompt-cancel">Cancel</button>
  <p id="prompt-message" role="status" aria-live="polite"></p>
</form>
<section id="rc-show" class="callout" aria-labelledby="rc-show-heading" hidden>
<h3 id="rc-show-heading">Your new recovery codes</h3>
<p>Save them now: print them, or keep them in a password manager. They are shown only this once, and your earlier codes no longer work.</p>
<ol id="rc-list"></ol>
<button type="button" id="rc-copy">Copy them</button>
<button type="button" id="rc-done">I have saved them</button>
<p id="rc-copy-message" role="status" aria-live="polite"></p>
</section>
</section>
<section aria-labelledby="pk-heading">
<h2 id="pk-heading">Passkeys</h2>
<p>A passkey signs you in with your device's screen lock, or a security key, instead of a code from your app. A look-alike site cannot use it, so it is the safer way in. Your authenticator app keeps working beside it.</p>
<ul id="pk-list"></ul>
<form id="pk-form" novalidate>
  <label for="pk-name">Name of the new passkey (for example, Work laptop)</label>
  <input id="pk-name" name="name" maxlength="64" required>
  <button type="submit" id="pk-add">Add a passkey</button>
  <p id="pk-message" role="status" aria-live="polite"></p>
</form>
</section>
<section aria-labelledby="app-heading">
<h2 id="app-heading">Your authenticator app</h2>
<p>New phone, or lost the old one? Replace the app: a setup email for the new one goes to your email address, and its page asks for a code from the new app. Your current app keeps working until then. Lost your phone? Sign in with a recovery code, then replace the app within 10 minutes.</p>
<button type="button" id="app-replace">Replace your app</button>
<p id="app-message" role="status" aria-live="polite"></p>
</section>
<section aria-labelledby="pw-heading">
<h2 id="pw-heading">Password</h2>
<form id="pw-form" novalidate>
  <label for="pw-current">Current password</label>
  <input id="pw-current" name="current_password" type="password" autocomplete="current-password" required maxlength="1024">
  <label for="pw-new">New password</label>
  <input id="pw-new" name="new_password" type="password" autocomplete="new-password" required maxlength="128" aria-describedby="pw-rule">
  <p id="pw-rule">12 to 128 characters; any characters; not a common password. Changing it signs you out everywhere, this device too.</p>
  <button type="submit" id="pw-change">Change password</button>
  <p id="pw-message" role="status" aria-live="polite"></p>
</form>
</section>
<section aria-labelledby="activity-heading">
<h2 id="activity-heading">Recent activity</h2>
<p>The last 20 sign-ins and changes of your account in the past 7 days (times in UTC). Something you do not recognise? Sign out everywhere, then tell your administrator.</p>
<table aria-labelledby="activity-heading">
<thead><tr><th scope="col">Time</th><th scope="col">What</th><th scope="col">From</th></tr></thead>
<tbody id="activity"></tbody>
</table>
</section>
<section aria-labelledby="out-heading">
<h2 id="out-heading">Sign out everywhere</h2>
<p>Ends every session of your account, on every device, this one too. Sites you signed in to through us can no longer renew their access through us; what they were given lasts 15 minutes at most, and a site's own session is its own.</p>
<button type="button" id="out-all">Sign out everywhere</button>
</section>
<p><a href="/sign-in">Back to the sign-in page</a></p>
</div>
</main>"#;

const ACCOUNT_SCRIPT: &str = r#"(function(){
const $=id=>document.getElementById(id);
function say(id,text,isError){const m=$(id);m.textContent=text||'';m.className=isError?'error':'ok';}
async function call(method,path,body){
  const headers={};if(body!==undefined)headers['Content-Type']='application/json';
  let r;
  try{r=await fetch(path,{method,headers,body:body===undefined?undefined:JSON.stringify(body)});}
  catch(e){return {status:0,data:{message:'The service could not be reached. Try again.'}};}
  let data={};try{data=await r.json();}catch(e){}
  return {status:r.status,data:data||{}};
}
const WORDS={sign_in:'Password entered',mfa_verify:'Security code entered',federated_sign_in:'Signed in through your organisation or a social login',
  sign_out:'Signed out',recovery_codes:'Recovery codes made',password_reset:'Password set',password_forgot:'Password reset link asked for',
  setup_email:'Setup email sent',key_reveal:'Setup key shown',enrolment_activated:'Authenticator app set up',mfa_reset:'Authenticator app reset',
  account_add:'Account made',account_disable:'Account disabled',account_enable:'Account enabled',account_import:'Account imported',
  account_link:'Sign-in elsewhere linked',end_session:'Signed out through a site',
  reauthenticate:'Security code given to confirm a change',unlock:'Unlocked',password_change:'Password changed',
  passkey_add:'Passkey added',passkey_remove:'Passkey removed'};
let me='';
function signedOut(text){$('account').hidden=true;$('signed-out').hidden=false;if(text)say('message',text);}
async function standing(){
  const r=await call('GET','/mfa/recovery-codes');
  if(r.status===401){signedOut('Your session has ended. Sign in again.');return;}
  if(r.status!==200){say('rc-standing',r.data.message||'Could not read your recovery codes.',true);return;}
  $('rc-standing').className='';
  $('rc-standing').textContent=r.data.created_at?(r.data.remaining+' of 10 left, from the set made '+r.data.created_at.replace('T',' ').replace('Z','')+' UTC.'):'You have no recovery codes yet.';
  $('rc-new').dataset.has=r.data.created_at?'1':'';
}
async function activity(){
  const r=await call('GET','/account/activity');
  const body=$('activity');body.replaceChildren();
  const row=cells=>{const tr=document.createElement('tr');cells.forEach(c=>{const td=document.createElement('td');td.textContent=c;tr.appendChild(td);});body.appendChild(tr);};
  if(r.status!==200){row([r.data.message||'Could not read your activity.','','']);return;}
  r.data.entries.forEach(e=>row([e.at.replace('T',' ').replace('Z',''),(WORDS[e.action]||e.action.replace(/_/g,' '))+': '+e.outcome.replace(/_/g,' ')+(e.by!==me?' (by '+e.by+')':''),e.source+(e.user_agent?' ('+e.user_agent+')':'')]));
  if(!r.data.entries.length)row(['Nothing yet.','','']);
}
// Changes need a code from the app in the last 10 minutes: asked for beside what asked (`near`),
// then tried again.
let confirmed=null;
function askCode(near){
  // A prompt still open for an earlier click is answered "no" first.
  if(confirmed){const earlier=confirmed;confirmed=null;earlier(false);}
  // Beside it, but never inside another form: a form in a form would hand its submit on.
  (near.closest('form')||near).after($('code-prompt'));
  return new Promise(resolve=>{confirmed=resolve;say('prompt-message','');$('prompt-code').value='';$('code-prompt').hidden=false;$('prompt-code').focus();});
}
$('code-prompt').addEventListener('submit',async e=>{
  e.preventDefault();e.stopPropagation();
  const r=await call('POST','/mfa/reauthenticate',{code:$('prompt-code').value});
  $('prompt-code').value='';
  if(r.data.error==='not_enrolled'){$('code-prompt').hidden=true;confirmed=null;say('message','Recovery codes stand in for an authenticator app: set one up first.',true);return;}
  if(r.status!==200){say('prompt-message',r.data.error==='invalid_code'?'That code is not correct. Attempts left: '+r.data.attempts_left+'.':(r.data.message||'Something went wrong.'),true);return;}
  $('code-prompt').hidden=true;const done=confirmed;confirmed=null;if(done)done(true);
});
$('prompt-cancel').addEventListener('click',()=>{$('code-prompt').hidden=true;const done=confirmed;confirmed=null;if(done)done(false);});
$('rc-new').addEventListener('click',async()=>{
  say('message','');
  if($('rc-new').dataset.has&&!confirm('Make a new set? Your current recovery codes stop working.'))return;
  let r=await call('POST','/mfa/recovery-codes');
  if(r.status===403&&r.data.error==='reauthentication_required'){
    if(!await askCode($('rc-new')))return;
    r=await call('POST','/mfa/recovery-codes');
  }
  if(r.status===401){signedOut('Your session has ended. Sign in again.');return;}
  if(r.status!==200){say('message',r.data.message||'Something went wrong. Try again.',true);return;}
  const list=$('rc-list');list.replaceChildren();
  r.data.codes.forEach(c=>{const li=document.createElement('li');const code=document.createElement('code');code.textContent=c;li.appendChild(code);list.appendChild(li);});
  $('rc-show').dataset.text=r.data.codes.join('\n');$('rc-show').hidden=false;$('rc-copy').focus();
  await Promise.all([standing(),activity()]);
});
async function passkeys(){
  const r=await call('GET','/mfa/passkeys');
  const list=$('pk-list');list.replaceChildren();
  if(r.status!==200){say('pk-message',r.data.message||'Could not read your passkeys.',true);return;}
  const day=t=>t.replace('T',' ').replace('Z','').slice(0,16)+' UTC';
  r.data.passkeys.forEach(p=>{
    const li=document.createElement('li');
    li.append(p.name+' (added '+day(p.created_at)+(p.last_used_at?', last used '+day(p.last_used_at):', not used yet')+') ');
    const b=document.createElement('button');b.type='button';b.textContent='Remove';b.setAttribute('aria-label','Remove passkey '+p.name);
    b.addEventListener('click',()=>removePasskey(p,b));li.appendChild(b);list.appendChild(li);
  });
  if(!r.data.passkeys.length){const li=document.createElement('li');li.textContent='No passkeys yet.';list.appendChild(li);}
}
async function removePasskey(p,button){
  say('pk-message','');
  if(!confirm('Remove the passkey "'+p.name+'"? It will no longer sign you in.'))return;
  const path='/mfa/passkeys/'+encodeURIComponent(p.id);
  let r=await call('DELETE',path);
  if(r.status===403&&r.data.error==='reauthentication_required'){
    if(!await askCode(button))return;
    r=await call('DELETE',path);
  }
  if(r.status===401){signedOut('Your session has ended. Sign in again.');return;}
  if(r.status!==200){say('pk-message',r.data.message||'Something went wrong. Try again.',true);return;}
  say('pk-message','Passkey "'+p.name+'" removed.');
  await Promise.all([passkeys(),activity()]);
}
$('pk-form').addEventListener('submit',async e=>{
  e.preventDefault();say('pk-message','');
  const name=$('pk-name').value.trim();
  if(!name){say('pk-message','Name the passkey first, so you can tell it apart later.',true);$('pk-name').focus();return;}
  if(!window.PublicKeyCredential){say('pk-message','This browser cannot make passkeys.',true);return;}
  let r=await call('POST','/mfa/passkeys/register/start');
  if(r.status===403&&r.data.error==='reauthentication_required'){
    if(!await askCode($('pk-add')))return;
    r=await call('POST','/mfa/passkeys/register/start');
  }
  if(r.status===401){signedOut('Your session has ended. Sign in again.');return;}
  if(r.status!==200){say('pk-message',r.data.message||'Something went wrong. Try again.',true);return;}
  let credential;
  try{credential=await Passkeys.create(r.data);}
  catch(e){say('pk-message','No passkey was made (cancelled, timed out, or this device has one for your account already).',true);return;}
  const done=await call('POST','/mfa/passkeys/register/finish',{name,credential});
  if(done.status===201){$('pk-name').value='';say('pk-message','Passkey "'+done.data.name+'" added. You can use it at your next sign-in.');await Promise.all([passkeys(),activity()]);return;}
  if(done.status===401){signedOut('Your session has ended. Sign in again.');return;}
  say('pk-message',done.data.message||'Something went wrong. Try again.',true);
});
$('rc-copy').addEventListener('click',async()=>{
  try{await navigator.clipboard.writeText($('rc-show').dataset.text||'');say('rc-copy-message','Copied.');}
  catch(e){say('rc-copy-message','Your browser did not allow copying: select the codes above instead.',true);}
});
$('rc-done').addEventListener('click',()=>{$('rc-show').hidden=true;$('rc-show').dataset.text='';$('rc-list').replaceChildren();$('rc-new').focus();});
$('app-replace').addEventListener('click',async()=>{
  say('app-message','');
  let r=await call('POST','/mfa/setup/replace');
  if(r.status===403&&r.data.error==='reauthentication_required'){
    if(!await askCode($('app-replace')))return;
    r=await call('POST','/mfa/setup/replace');
  }
  if(r.status===401){signedOut('Your session has ended. Sign in again.');return;}
  if(r.status===202){say('app-message','A setup email for your new app is on its way to '+r.data.sent_to+'. Open its link, scan the new key with your new phone and enter a code from it on that page. Your current app keeps working until then.');await activity();return;}
  say('app-message',r.data.message||'Something went wrong. Try again.',true);
});
$('pw-form').addEventListener('submit',async e=>{
  e.preventDefault();say('pw-message','');
  const body={current_password:$('pw-current').value,new_password:$('pw-new').value};
  if(!body.current_password||!body.new_password){say('pw-message','Enter your current password and a new one.',true);return;}
  let r=await call('POST','/account/password',body);
  if(r.status===403&&r.data.error==='reauthentication_required'){
    if(!await askCode($('pw-change')))return;
    r=await call('POST','/account/password',body);
  }
  if(r.status===200){$('pw-current').value='';$('pw-new').value='';signedOut(r.data.message);return;}
  if(r.status===401){signedOut('Your session has ended. Sign in again.');return;}
  say('pw-message',r.data.message||'Something went wrong. Try again.',true);
  if(r.data.error==='invalid_current_password')$('pw-current').focus();else if(r.data.error==='invalid_password')$('pw-new').focus();
});
$('out-all').addEventListener('click',async()=>{
  if(!confirm('Sign out on every device, this one too?'))return;
  const r=await call('POST','/account/sign-out-everywhere');
  if(r.status===204){signedOut('Signed out everywhere.');return;}
  say('message',r.data.message||'Something went wrong. Try again.',true);
});
(async()=>{
  const r=await call('GET','/session');
  if(r.status!==200){signedOut();return;}
  me=r.data.username;
  $('who').textContent='Signed in as '+me+'.';
  $('account').hidden=false;
  await Promise.all([standing(),passkeys(),activity()]);
})();
})();"#;

/// `GET /account`: the signed-in user's own page: passkeys, recovery codes, the password, recent activity,
/// signing out everywhere. It reads and changes them with the session cookie, from this origin only.
pub fn account_page() -> Response {
    page(
        "Your account",
        ACCOUNT_BODY,
        &format!("{PASSKEY_SCRIPT}{ACCOUNT_SCRIPT}"),
    )
}

/// The staff help page: docs/staff-help.md, the same words the repository's documentation has,
/// rendered once per cold start. The Markdown is ours (no raw HTML in it), and its HTML is
/// escaped by the renderer.
const STAFF_HELP: &str = include_str!("../../../docs/staff-help.md");

pub fn help_page() -> Response {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = BODY.get_or_init(|| {
        let parser = pulldown_cmark::Parser::new(STAFF_HELP).map(|event| match event {
            // Raw HTML in the Markdown is shown as text, never run.
            pulldown_cmark::Event::Html(h) | pulldown_cmark::Event::InlineHtml(h) => {
                pulldown_cmark::Event::Text(h)
            }
            other => other,
        });
        let mut html = String::from("<main>");
        pulldown_cmark::html::push_html(&mut html, parser);
        html.push_str("<p><a href=\"/sign-in\">Back to the sign-in page</a></p></main>");
        html
    });
    page("Help with signing in", body, "")
}
