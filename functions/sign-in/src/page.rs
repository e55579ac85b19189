//! The sign-in page: username and password, then the security code, with the first-time path
//! "I don't have a security code" -> "Yes, send setup email".

use axum::response::Response;
use shared::pages::page;

const BODY: &str = r#"<main>
<h1>Sign in</h1>
<form id="password-form" novalidate>
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign In</button>
</form>
<form id="code-form" hidden novalidate>
  <p>Enter the 6-digit security code from your authenticator app.</p>
  <label for="code">Security code</label>
  <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="12" required>
  <button type="submit">Verify</button>
  <p><button type="button" class="link" id="no-code">I don't have a security code</button></p>
</form>
<section id="send-setup" hidden>
  <p id="send-question"></p>
  <button type="button" id="send-yes">Yes, send setup email</button>
  <button type="button" id="send-no">Cancel</button>
</section>
<p id="message" role="status" aria-live="polite"></p>
<section id="signed-in" hidden><p class="ok" id="welcome"></p><button type="button" id="sign-out">Sign out</button></section>
</main>"#;

const SCRIPT: &str = r#"(function(){
const $=id=>document.getElementById(id);
let challenge=null, setupTo=null;
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
    case 'too_many_requests': return 'Too many attempts. Try again in '+(res.retry||d.retry_after)+' seconds.';
    case 'invalid_challenge': show('password-form'); return 'Your sign-in expired. Enter your username and password again.';
    default: return d.message||'Something went wrong. Try again.';
  }
}
async function signedIn(token){
  sessionStorage.setItem('session',token);
  const r=await call('/session',undefined,token);
  if(r.status===200){show('signed-in');$('welcome').textContent='Signed in as '+r.data.username+'.';say('');}
}
$('password-form').addEventListener('submit',async e=>{
  e.preventDefault();say('');
  const r=await call('/sign-in',{username:$('username').value,password:$('password').value});
  if(r.status!==200){say(explain(r),true);return;}
  $('password').value='';
  if(r.data.status==='signed_in'){await signedIn(r.data.session);return;}
  challenge=r.data.challenge;setupTo=r.data.setup_email_to;
  show('code-form');$('code').focus();
});
$('code-form').addEventListener('submit',async e=>{
  e.preventDefault();say('');
  const r=await call('/mfa/verify',{challenge,code:$('code').value.trim()});
  $('code').value='';
  if(r.status===200){await signedIn(r.data.session);return;}
  say(explain(r),true);
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
$('sign-out').addEventListener('click',async()=>{
  const t=sessionStorage.getItem('session');sessionStorage.removeItem('session');
  await fetch('/sign-out',{method:'POST',headers:{'Authorization':'Bearer '+t}});
  show('password-form');say('Signed out.');
});
})();"#;

pub async fn sign_in_page() -> Response {
    page("Sign in", BODY, SCRIPT)
}
