//! The admin console, `GET /admin`: a system administrator signs in on it (password, then the
//! security code when MFA requires one) and then uses the admin JSON API with the session as a
//! bearer token. Six sections, one shown at a time and named by the address's fragment: Overview
//! (the MFA switch, the rollout's progress, campaign and scheduled switch-on, readiness), People
//! (search, filters, per-row and bulk actions, an account's details with its recent audit
//! entries), Sites (OpenID Connect clients: add, edit, new secret, remove, with a hand-off box for
//! the site's developer), Identity providers (add, edit, remove), Audit (closed-list filters, a
//! date range, rows as sentences, CSV) and Settings (the organisation). A sensitive change answered
//! 403 `reauthentication_required` asks for a fresh code where it was asked for, and is tried
//! again; destructive ones confirm first. Data is only ever shown with `textContent`.

use axum::response::Response;
use shared::audit::{Action, Outcome};
use shared::pages::page;

const BODY: &str = r##"<main class="wide">
<h1>Staff MFA administration<span id="org-title"></span></h1>
<p id="message" role="status" aria-live="polite"></p>
<form id="password-form" hidden novalidate>
  <p>Sign in with a system administrator account.</p>
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign In</button>
</form>
<form id="code-form" hidden novalidate>
  <p>Enter the 6-digit security code from your authenticator app.</p>
  <label for="code">Security code</label>
  <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="12" required>
  <button type="submit">Verify</button>
  <button type="button" id="code-cancel">Cancel</button>
  <p id="not-enrolled" hidden>No security code yet? On the <a href="/sign-in">sign-in page</a>, sign in and choose "I don't have a security code" to get a setup email. Once your app shows a code, sign in here with it.</p>
</form>
<form id="stepup-form" class="callout" hidden novalidate>
  <p id="stepup-why">This change needs a current security code.</p>
  <label for="stepup-code">Code from your app, to confirm</label>
  <input id="stepup-code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="12" required>
  <button type="submit">Confirm</button>
  <button type="button" id="stepup-cancel">Cancel</button>
  <p id="stepup-message" role="status" aria-live="polite"></p>
</form>
<div id="panel" hidden>
<p><span id="who"></span> <button type="button" class="link" id="sign-out">Sign out</button></p>
<nav aria-label="Console">
<ul class="tabs">
  <li><a href="#overview" id="nav-overview">Overview</a></li>
  <li><a href="#people" id="nav-people">People</a></li>
  <li><a href="#sites" id="nav-sites">Sites</a></li>
  <li><a href="#providers" id="nav-providers">Identity providers</a></li>
  <li><a href="#audit" id="nav-audit">Audit</a></li>
  <li><a href="#settings" id="nav-settings">Settings</a></li>
</ul>
</nav>

<section id="view-overview" class="view" aria-labelledby="overview-heading" hidden>
<h2 id="overview-heading">Overview</h2>
<section aria-labelledby="mfa-heading">
<h3 id="mfa-heading">Multi-factor authentication</h3>
<p>While it is on, every staff user and system administrator enters a code from an authenticator app at each sign-in.</p>
<form id="mfa-form" novalidate>
  <p><strong id="mfa-state"></strong></p>
  <button type="submit" id="mfa-toggle"></button>
  <p id="mfa-message" role="status" aria-live="polite"></p>
</form>
</section>
<section aria-labelledby="rollout-heading">
<h3 id="rollout-heading">Rollout</h3>
<p>Get every staff member an authenticator app before the switch: the campaign emails everyone without one the setup email, with reminders, and the switch can be scheduled.</p>
<label for="rollout-bar">Staff and system administrators with an app</label>
<progress id="rollout-bar" max="1" value="0"></progress>
<p id="rollout-figures"></p>
<table id="rollout-kinds" aria-labelledby="rollout-heading">
<thead><tr><th scope="col">Kind</th><th scope="col">Can sign in</th><th scope="col">With an app</th><th scope="col">Without one</th><th scope="col">Mailed</th></tr></thead>
<tbody id="rollout-by-kind"></tbody>
</table>
<p id="rollout-campaign"></p>
<form id="campaign-form" novalidate>
  <label for="campaign-days">Days between reminders</label>
  <input id="campaign-days" name="reminder_days" type="number" min="1" max="30" value="3" required>
  <button type="submit">Start campaign</button>
  <p id="campaign-message" role="status" aria-live="polite"></p>
</form>
<form id="enforce-form" novalidate>
  <p id="enforce-state"></p>
  <label for="enforce-at">Switch on at (your local time)</label>
  <input id="enforce-at" name="enforce_at" type="datetime-local" step="1" required>
  <button type="submit">Schedule the switch-on</button>
  <button type="button" id="enforce-clear">Call it off</button>
  <p id="enforce-message" role="status" aria-live="polite"></p>
</form>
<h4 id="waiting-heading">Without an app</h4>
<table aria-labelledby="waiting-heading">
<thead><tr><th scope="col">User</th><th scope="col">Kind</th><th scope="col">Setup emails sent</th><th scope="col">Last sent (UTC)</th></tr></thead>
<tbody id="waiting"></tbody>
</table>
<button type="button" id="waiting-more" hidden>More people without an app</button>
</section>
<section aria-labelledby="ready-heading">
<h3 id="ready-heading">Readiness</h3>
<p id="counts"></p>
<p id="sender"></p>
<h4 id="cannot-heading">Who cannot receive setup mail</h4>
<p id="cannot-none" hidden>Every staff user has a valid email for setup mail.</p>
<table id="cannot-table" aria-labelledby="cannot-heading" hidden>
<thead><tr><th scope="col">User</th><th scope="col">Why</th></tr></thead>
<tbody id="cannot"></tbody>
</table>
<h4 id="locked-heading">Locked out of code entry</h4>
<p id="locked-none" hidden>Nobody is locked out of code entry.</p>
<table id="locked-table" aria-labelledby="locked-heading" hidden>
<thead><tr><th scope="col">User</th><th scope="col">Until (UTC)</th><th scope="col">Action</th></tr></thead>
<tbody id="locked"></tbody>
</table>
<h4 id="pwlocked-heading">Locked out of password entry</h4>
<p>After 100 wrong passwords in a row, from any addresses, password entry is locked for an hour. Unlock once you know the account is safe; unlocking also ends a code-entry lock.</p>
<p id="pwlocked-none" hidden>Nobody is locked out of password entry.</p>
<table id="pwlocked-table" aria-labelledby="pwlocked-heading" hidden>
<thead><tr><th scope="col">User</th><th scope="col">Until (UTC)</th><th scope="col">Action</th></tr></thead>
<tbody id="pwlocked"></tbody>
</table>
<p id="unlock-message" role="status" aria-live="polite"></p>
<p id="counted"></p>
<button type="button" id="ready-refresh">Count again now</button>
</section>
</section>

<section id="view-people" class="view" aria-labelledby="people-heading" hidden>
<h2 id="people-heading">People</h2>
<form id="accounts-form" class="filters" novalidate>
  <div><label for="accounts-search">Username starts with</label>
  <input id="accounts-search" name="search" autocomplete="off"></div>
  <div><label for="accounts-kind">Kind</label>
  <select id="accounts-kind" name="kind"><option value="">Any</option><option>staff</option><option>sysadmin</option><option>member</option><option>api</option></select></div>
  <div><label for="accounts-enrolment">Authenticator</label>
  <select id="accounts-enrolment" name="enrolment"><option value="">Any</option><option value="active">set up</option><option value="pending">being set up</option><option value="none">none</option></select></div>
  <div><label for="accounts-locked">Locked</label>
  <select id="accounts-locked" name="locked"><option value="">Any</option><option value="true">locked now</option><option value="false">not locked</option></select></div>
  <div><button type="submit">Search accounts</button></div>
</form>
<fieldset id="bulk">
  <legend>With the selected accounts (<span id="bulk-count">0</span>)</legend>
  <button type="button" id="bulk-remind">Send setup email</button>
  <button type="button" id="bulk-disable">Disable</button>
</fieldset>
<p id="accounts-message" role="status" aria-live="polite"></p>
<div class="scroll">
<table id="accounts-table" aria-labelledby="people-heading">
<thead><tr><th scope="col"><label><input type="checkbox" id="select-all" aria-label="Select every account shown"><span class="sr">Select every account shown</span></label></th><th scope="col">User</th><th scope="col">Kind</th><th scope="col">Authenticator</th><th scope="col">Locked until (UTC)</th><th scope="col">Actions</th></tr></thead>
<tbody id="accounts"></tbody>
</table>
</div>
<button type="button" id="accounts-more" hidden>More accounts</button>
<section id="detail" class="callout" aria-labelledby="detail-heading" hidden>
<h3 id="detail-heading"></h3>
<dl id="detail-facts" class="facts"></dl>
<h4 id="detail-audit-heading">Recent activity (newest first, UTC)</h4>
<table aria-labelledby="detail-audit-heading">
<thead><tr><th scope="col">Time</th><th scope="col">What happened</th></tr></thead>
<tbody id="detail-audit"></tbody>
</table>
<button type="button" id="detail-close">Close the details</button>
</section>
</section>

<section id="view-sites" class="view" aria-labelledby="sites-heading" hidden>
<h2 id="sites-heading">Sites that sign in through us</h2>
<p>OpenID Connect clients: the organisation's staff sites and tools. A confidential client's secret is shown once, when it is made.</p>
<table id="clients-table" aria-labelledby="sites-heading">
<thead><tr><th scope="col">Site</th><th scope="col">Redirect URIs and policy</th><th scope="col">Actions</th></tr></thead>
<tbody id="clients"></tbody>
</table>
<button type="button" id="client-new">Add a site</button>
<p id="client-message" role="status" aria-live="polite"></p>
<form id="client-form" class="callout" hidden novalidate>
  <h3 id="client-form-heading">Add a site</h3>
  <label for="client-id">Client id</label>
  <input id="client-id" name="client_id" autocomplete="off" required>
  <label for="client-name">Name</label>
  <input id="client-name" name="name" autocomplete="off" maxlength="64">
  <label for="client-redirects">Redirect URIs (one per line)</label>
  <textarea id="client-redirects" name="redirect_uris" rows="2" required></textarea>
  <label for="client-home">Home page (listed for signed-in staff)</label>
  <input id="client-home" name="home_url" type="url" autocomplete="off">
  <label><input id="client-public" type="checkbox"> Public client (browser or app; no secret)</label>
  <fieldset>
    <legend>Who may sign in to it</legend>
    <label><input class="client-kind" type="checkbox" value="staff" checked> Staff</label>
    <label><input class="client-kind" type="checkbox" value="sysadmin" checked> System administrators</label>
    <label><input class="client-kind" type="checkbox" value="member"> Members</label>
    <label><input class="client-kind" type="checkbox" value="api"> API users</label>
  </fieldset>
  <fieldset>
    <legend>Grants</legend>
    <label><input class="client-grant" type="checkbox" value="authorization_code" checked> Sign-in (authorization code)</label>
    <label><input class="client-grant" type="checkbox" value="refresh_token" checked> Refresh tokens</label>
    <label><input class="client-grant" type="checkbox" value="password"> Tokens for integrations by their own credentials (confidential client, API users only)</label>
  </fieldset>
  <label><input id="client-require-code" type="checkbox" checked> Require a second factor (an authenticator app, or the organisation's own MFA)</label>
  <button type="submit" id="client-submit">Add site</button>
  <button type="button" id="client-cancel">Cancel</button>
</form>
<section id="handoff" class="callout" aria-labelledby="handoff-heading" hidden>
<h3 id="handoff-heading">For the site's developer</h3>
<p>What the site needs to sign people in through us. The secret is shown only now: copy it into the site's configuration (never into its code or a chat).</p>
<dl id="handoff-list" class="facts"></dl>
<button type="button" id="handoff-copy">Copy all of it</button>
<button type="button" id="handoff-close">Done</button>
<p id="handoff-message" role="status" aria-live="polite"></p>
</section>
</section>

<section id="view-providers" class="view" aria-labelledby="providers-heading" hidden>
<h2 id="providers-heading">Identity providers</h2>
<p>The organisation's own sign-in (SSO: its users skip our code, their provider asks for its own) and social logins (refused to staff while MFA applies to them).</p>
<p id="providers-none" hidden>No identity provider is configured.</p>
<table id="providers-table" aria-labelledby="providers-heading" hidden>
<thead><tr><th scope="col">Provider</th><th scope="col">Kind</th><th scope="col">Issuer</th><th scope="col">Actions</th></tr></thead>
<tbody id="providers"></tbody>
</table>
<button type="button" id="provider-new">Add a provider</button>
<p id="provider-message" role="status" aria-live="polite"></p>
<form id="provider-form" class="callout" hidden novalidate>
  <h3 id="provider-form-heading">Add a provider</h3>
  <label for="provider-id">Provider id (lowercase letters, digits, hyphens)</label>
  <input id="provider-id" name="id" autocomplete="off" maxlength="32" required>
  <label for="provider-display">Button text on the sign-in page</label>
  <input id="provider-display" name="display_name" autocomplete="off" maxlength="64">
  <label for="provider-kind">Kind</label>
  <select id="provider-kind" name="kind"><option value="sso">The organisation's own sign-in (SSO)</option><option value="social">Social login</option></select>
  <label for="provider-issuer">Issuer (its discovery document is read from here)</label>
  <input id="provider-issuer" name="issuer" type="url" autocomplete="off" required>
  <label for="provider-client-id">Our client id at the provider</label>
  <input id="provider-client-id" name="client_id" autocomplete="off" required>
  <label for="provider-secret">Our client secret at the provider</label>
  <input id="provider-secret" name="client_secret" type="password" autocomplete="new-password">
  <p id="provider-secret-hint" hidden>Leave it empty to keep the secret saved.</p>
  <label for="provider-amr">Methods its sign-in must report, for SSO (amr, space-separated; empty: any)</label>
  <input id="provider-amr" name="require_amr" autocomplete="off">
  <button type="submit" id="provider-submit">Add provider</button>
  <button type="button" id="provider-cancel">Cancel</button>
</form>
</section>

<section id="view-audit" class="view" aria-labelledby="audit-heading" hidden>
<h2 id="audit-heading">Audit</h2>
<p>Newest first, 20 at a time (times in UTC).</p>
<form id="audit-form" class="filters" novalidate>
  <div><label for="audit-user">User</label>
  <input id="audit-user" name="user" autocomplete="off"></div>
  <div><label for="audit-action">Action</label>
  <select id="audit-action" name="action"><option value="">Any</option>{ACTIONS}</select></div>
  <div><label for="audit-outcome">Outcome</label>
  <select id="audit-outcome" name="outcome"><option value="">Any</option>{OUTCOMES}</select></div>
  <div><label for="audit-since">From (UTC date)</label>
  <input id="audit-since" name="since" type="date"></div>
  <div><label for="audit-until">To (UTC date, included)</label>
  <input id="audit-until" name="until" type="date"></div>
  <div><button type="submit">Filter</button>
  <button type="button" id="audit-csv">Download CSV</button></div>
</form>
<p id="audit-message" role="status" aria-live="polite"></p>
<table id="audit-table" aria-labelledby="audit-heading">
<thead><tr><th scope="col">Time</th><th scope="col">What happened</th><th scope="col">Outcome</th></tr></thead>
<tbody id="audit"></tbody>
</table>
<button type="button" id="audit-refresh">Refresh activity</button>
<button type="button" id="audit-older" hidden>Older</button>
</section>

<section id="view-settings" class="view" aria-labelledby="settings-heading" hidden>
<h2 id="settings-heading">Settings</h2>
<form id="org-form" novalidate>
  <label for="org-email">Default email (setup emails are sent from it)</label>
  <input id="org-email" name="org_default_email" type="email" autocomplete="off">
  <label for="org-name">Name (shown in authenticator apps and on these pages)</label>
  <input id="org-name" name="org_name" autocomplete="organization" maxlength="64">
  <label for="org-passkeys">Who must sign in with their passkey once they have one (a code from the app is then refused)</label>
  <select id="org-passkeys" name="phishing_resistant_required_for">
    <option value="none">Nobody: a code from the app is always accepted</option>
    <option value="sysadmin">System administrators</option>
    <option value="all_staff">All staff users and system administrators</option>
  </select>
  <button type="submit">Save organisation</button>
  <p id="org-message" role="status" aria-live="polite"></p>
</form>
</section>
</div>
</main>"##;

const SCRIPT: &str = r#"(function(){
const $=id=>document.getElementById(id);
let challenge=null, token=sessionStorage.getItem('session'), settings=null;
const REASONS={no_email:'No email on file (Name.Email and Name_Address.Email are both empty).',
  invalid_email:'The email on file is not a valid address (Name.Email, or Name_Address.Email when Name.Email is empty).'};
const PHRASES={PHRASES};
function note(id,text,isError){const m=$(id);m.textContent=text||'';m.className=isError?'error':'ok';}
function say(text,isError){note('message',text,isError);}
function show(id){['password-form','code-form','panel'].forEach(x=>$(x).hidden=(x!==id));$('stepup-form').hidden=true;}
async function call(method,path,body,auth){
  const headers={};
  if(body!==undefined)headers['Content-Type']='application/json';
  if(auth)headers['Authorization']='Bearer '+auth;
  let r;
  try{r=await fetch(path,{method,headers,body:body===undefined?undefined:JSON.stringify(body)});}
  catch(e){return {status:0,data:{message:'The service could not be reached. Try again.'}};}
  let data={};try{data=await r.json();}catch(e){}
  return {status:r.status,data:data||{},retry:r.headers.get('Retry-After'),next:r.headers.get('Audit-Next-Cursor')};
}
function explain(res){
  const d=res.data||{};
  switch(d.error){
    case 'invalid_code': return 'That security code is not correct. Attempts left: '+d.attempts_left+'.';
    case 'too_many_requests': return 'Too many attempts. Try again in '+(res.retry||d.retry_after)+' seconds.';
    case 'invalid_challenge': signInAgain(); return 'Your sign-in expired. Enter your username and password again.';
    case 'no_email_on_file': return (d.message||'No email on file.')+' '+(REASONS[d.reason]||'');
    default: return d.message||'Something went wrong. Try again.';
  }
}
function signInAgain(){
  challenge=null;token=null;sessionStorage.removeItem('session');
  show('password-form');$('username').focus();
}
// The console's sections: one shown at a time, named by the address's #fragment, so the back
// button and a bookmark work.
const VIEWS=['overview','people','sites','providers','audit','settings'];
function showView(){
  const name=VIEWS.includes(location.hash.slice(1))?location.hash.slice(1):'overview';
  VIEWS.forEach(v=>{$('view-'+v).hidden=(v!==name);
    if(v===name)$('nav-'+v).setAttribute('aria-current','page');else $('nav-'+v).removeAttribute('aria-current');});
  if(!$('panel').hidden)LOADERS[name]();
}
window.addEventListener('hashchange',showView);
// Sensitive changes need a code from the last 10 minutes: the prompt opens where the change was
// asked for, and the change is tried again once the code is accepted.
let stepUpDone=null, trigger=null;
// The button or form that asked, whatever the browser focuses on a click.
document.addEventListener('click',e=>{const b=e.target.closest&&e.target.closest('button');if(b)trigger=b;},true);
document.addEventListener('submit',e=>{trigger=e.submitter||e.target;},true);
function stepUp(){
  // A prompt still open for an earlier change is answered "no" first.
  if(stepUpDone){const earlier=stepUpDone;stepUpDone=null;earlier(false);}
  let near=trigger&&trigger.isConnected?trigger.closest('.callout,form,fieldset,table,section'):null;
  if(near&&near.parentElement.classList.contains('scroll'))near=near.parentElement;
  if(!near||near.offsetParent===null)near=$('message');
  if(near.id!=='stepup-form')near.after($('stepup-form'));
  return new Promise(resolve=>{
    stepUpDone=resolve;note('stepup-message','');$('stepup-code').value='';
    $('stepup-form').hidden=false;$('stepup-code').focus();
  });
}
$('stepup-form').addEventListener('submit',async e=>{
  e.preventDefault();
  const r=await call('POST','/mfa/reauthenticate',{code:$('stepup-code').value},token);
  $('stepup-code').value='';
  if(r.status!==200){note('stepup-message',explain(r),true);return;}
  $('stepup-form').hidden=true;const done=stepUpDone;stepUpDone=null;if(done)done(true);
});
$('stepup-cancel').addEventListener('click',()=>{$('stepup-form').hidden=true;const done=stepUpDone;stepUpDone=null;if(done)done(false);});
// An admin call: a session that ended or may not administer sends the admin back to sign in.
async function api(method,path,body){
  let r=await call(method,path,body,token);
  if(r.status===403&&r.data.error==='reauthentication_required'){
    if(!await stepUp())return {status:403,data:{message:'Not changed: the change needs a current security code.'}};
    r=await call(method,path,body,token);
  }
  if(r.status===401){signInAgain();say('Your session has ended. Sign in again.',true);return null;}
  if(r.status===403){signInAgain();say((r.data.message||'You are not allowed to do this.')+' Sign in as a system administrator; while multi-factor authentication is on, with your security code.',true);return null;}
  return r;
}
async function enter(t){
  const s=await call('GET','/session',undefined,t);
  if(s.status!==200){signInAgain();if(s.status!==401)say(explain(s),true);return;}
  if(s.data.kind!=='sysadmin'){signInAgain();say(s.data.username+' is not a system administrator. Sign in with an administrator account.',true);return;}
  token=t;sessionStorage.setItem('session',t);
  $('who').textContent='Signed in as '+s.data.username+'.';
  const r=await api('GET','/settings');
  if(!r)return;
  if(r.status!==200){say(explain(r),true);return;}
  say('');show('panel');showSettings(r.data);showView();
}
function showSettings(s){
  settings=s;
  $('org-title').textContent=s.org_name?' for '+s.org_name:'';
  $('mfa-state').textContent='Multi-factor authentication for staff users is '+(s.mfa_enabled?'on.':'off.');
  $('mfa-toggle').textContent=s.mfa_enabled?'Switch off':'Switch on';
  $('org-email').value=s.org_default_email||'';
  $('org-name').value=s.org_name||'';
  $('org-passkeys').value=s.phishing_resistant_required_for||'none';
  $('enforce-state').textContent=s.mfa_enabled?'Multi-factor authentication is on: nothing to schedule.':
    s.enforce_at?('Scheduled: multi-factor authentication switches on at '+when(s.enforce_at)+' UTC'+(new Date(s.enforce_at)<new Date()?' (overdue: check the organisation email and that an administrator can sign in).':'.')):'No switch-on is scheduled.';
  $('enforce-form').hidden=s.mfa_enabled;
}
function cell(row,text){const td=document.createElement('td');td.textContent=text;row.appendChild(td);return td;}
function button(parent,label,handler){const b=document.createElement('button');b.type='button';b.textContent=label;b.addEventListener('click',handler);parent.appendChild(b);return b;}
function when(at){return String(at||'').replace('T',' ').replace(/(:\d\d)(Z|[+-]00:00)$/,'$1');}
function empty(body,cols,text){const row=document.createElement('tr');cell(row,text).colSpan=cols;body.appendChild(row);}

// Overview: the switch, the rollout and readiness.
let waitingNext=null;
async function loadRollout(more){
  const q=new URLSearchParams({limit:'25'});
  if(more&&waitingNext)q.set('cursor',waitingNext);
  const r=await api('GET','/settings/campaign?'+q.toString());
  if(!r)return;
  if(r.status!==200){note('rollout-figures',explain(r),true);return;}
  const d=r.data;
  $('rollout-bar').max=Math.max(d.total,1);$('rollout-bar').value=d.enrolled;
  $('rollout-bar').textContent=d.enrolled+' of '+d.total;
  $('rollout-figures').className='';
  $('rollout-figures').textContent=d.enrolled+' of '+d.total+' staff and system administrators have an app; '+d.pending+' do not yet, of whom '+d.mailed+' have had a setup email (counted at '+when(d.counted_at)+' UTC).';
  const kinds=$('rollout-by-kind');kinds.replaceChildren();
  Object.entries(d.by_kind||{}).forEach(([k,f])=>{const row=document.createElement('tr');
    [k==='sysadmin'?'system administrators':k,f.total,f.enrolled,f.pending,f.mailed].forEach(x=>cell(row,String(x)));kinds.appendChild(row);});
  $('rollout-campaign').textContent=d.campaign?('Campaign running since '+when(d.campaign.started_at)+' UTC (started by '+d.campaign.started_by+'), reminding every '+d.campaign.reminder_days+' days.'):'No campaign yet.';
  waitingNext=d.next||null;$('waiting-more').hidden=!waitingNext;
  const body=$('waiting');if(!more)body.replaceChildren();
  (d.not_enrolled||[]).forEach(a=>{
    const row=document.createElement('tr');
    cell(row,a.username);cell(row,a.kind);
    cell(row,a.cannot_mail?('cannot be emailed: '+(REASONS[a.cannot_mail]||a.cannot_mail)):String(a.mails));
    cell(row,a.mailed_at?when(a.mailed_at):'');
    body.appendChild(row);
  });
  if(!body.children.length)empty(body,4,'Everyone has an app.');
}
$('waiting-more').addEventListener('click',()=>loadRollout(true));
$('campaign-form').addEventListener('submit',async e=>{
  e.preventDefault();note('campaign-message','');
  const days=Number($('campaign-days').value);
  const r=await api('POST','/settings/campaign',{reminder_days:days});
  if(!r)return;
  if(r.status!==202){note('campaign-message',explain(r),true);return;}
  note('campaign-message','Campaign started: '+r.data.sent_now+' setup emails sent now; the rest follow every minute.');
  await loadRollout(false);
});
$('enforce-form').addEventListener('submit',async e=>{
  e.preventDefault();note('enforce-message','');
  const local=$('enforce-at').value;
  if(!local){note('enforce-message','Choose a date and time.',true);return;}
  const r=await api('PUT','/settings',{enforce_at:new Date(local).toISOString().replace(/\.\d{3}Z$/,'Z')});
  if(!r)return;
  if(r.status!==200){note('enforce-message',explain(r),true);return;}
  showSettings(r.data);note('enforce-message','Saved.');
});
$('enforce-clear').addEventListener('click',async()=>{
  if(!confirm('Call off the scheduled switch-on?'))return;
  const r=await api('PUT','/settings',{enforce_at:null});
  if(!r)return;
  if(r.status!==200){note('enforce-message',explain(r),true);return;}
  showSettings(r.data);note('enforce-message','Called off.');
});
async function loadReadiness(){
  const r=await api('GET','/settings/mfa-readiness');
  if(!r)return;
  if(r.status!==200){note('counts',explain(r),true);return;}
  const st=r.data.staff||{};
  $('counts').className='';$('counts').textContent='Staff users and administrators: '+st.enrolled+' enrolled, '+st.pending+' set up but not yet confirmed, '+st.not_enrolled+' not enrolled; '+(st.with_passkey||0)+' with a passkey.';
  const from=settings&&settings.org_default_email;
  const v=r.data.sender_verified;
  note('sender',!from?'No organisation default email is set, so no setup email can be sent.'
    :v===false?'Setup emails are sent from '+from+', which is not verified in SES: sending will fail until it is.'
    :v===true?'Setup emails are sent from '+from+' (verified in SES).':'Setup emails are sent from '+from+'.',!from||v===false);
  if(from&&v!==false)$('sender').className='';
  const named=r.data.cannot_receive_setup_mail||[],all=r.data.cannot_receive_setup_mail_total||named.length;
  table('cannot',named.concat(all>named.length?[{username:'and '+(all-named.length)+' more',reason:''}]:[]),x=>[x.username,REASONS[x.reason]||x.reason]);
  $('counted').textContent='Figures counted at '+when(r.data.counted_at)+' UTC; they are counted again every minute. Locks are as they are now.';
  table('locked',r.data.code_entry_locked,x=>[x.username,when(x.until),{unlock:x.username}]);
  table('pwlocked',r.data.password_locked,x=>[x.username,when(x.until),{unlock:x.username}]);
}
async function unlock(who){
  note('unlock-message','');
  const r=await api('POST','/accounts/'+encodeURIComponent(who)+'/unlock');
  if(!r)return;
  if(r.status===204){note('unlock-message','Unlocked '+who+'.');await loadReadiness();return;}
  note('unlock-message',explain(r),true);
}
function table(id,list,columns){
  list=list||[];
  const body=$(id);body.replaceChildren();
  list.forEach(x=>{const row=document.createElement('tr');columns(x).forEach(c=>{
    if(c&&c.unlock)button(cell(row,''),'Unlock '+c.unlock,()=>unlock(c.unlock));
    else cell(row,c);});body.appendChild(row);});
  $(id+'-table').hidden=list.length===0;$(id+'-none').hidden=list.length!==0;
}
$('ready-refresh').addEventListener('click',async()=>{
  const r=await api('POST','/settings/mfa-readiness/recount');
  if(!r)return;
  if(r.status!==200){note('counted',explain(r),true);return;}
  await Promise.all([loadReadiness(),loadRollout(false)]);
});
$('mfa-form').addEventListener('submit',async e=>{
  e.preventDefault();note('mfa-message','');
  const want=!settings.mfa_enabled;
  if(!want&&!confirm('Switch multi-factor authentication off? Staff without an app of their own will sign in with a password only.'))return;
  const r=await api('PUT','/settings',{mfa_enabled:want});
  if(!r)return;
  if(r.status!==200){note('mfa-message',explain(r),true);return;}
  showSettings(r.data);
  note('mfa-message','Saved: multi-factor authentication is now '+(r.data.mfa_enabled?'on.':'off.'));
  $('mfa-toggle').focus();
  await Promise.all([loadReadiness(),loadRollout(false)]);
});

// People: one table, filters, per-row actions, a selection for bulk actions, and a detail view.
let accountsNext=null;
const shown=new Map();
function selected(){return [...document.querySelectorAll('.pick:checked')].map(b=>b.value);}
function countSelected(){const n=selected().length;$('bulk-count').textContent=String(n);
  $('bulk-remind').disabled=n===0;$('bulk-disable').disabled=n===0;}
async function loadAccounts(more){
  const q=new URLSearchParams({limit:'25'});
  const search=$('accounts-search').value.trim(), kind=$('accounts-kind').value;
  const enrolment=$('accounts-enrolment').value, locked=$('accounts-locked').value;
  if(search)q.set('search',search);if(kind)q.set('kind',kind);
  if(enrolment)q.set('enrolment',enrolment);if(locked)q.set('locked',locked);
  if(more&&accountsNext)q.set('cursor',accountsNext);
  const r=await api('GET','/accounts?'+q.toString());
  if(!r)return;
  if(r.status!==200){note('accounts-message',explain(r),true);return;}
  accountsNext=r.data.next||null;$('accounts-more').hidden=!accountsNext;
  const body=$('accounts');
  if(!more){body.replaceChildren();shown.clear();$('select-all').checked=false;$('detail').hidden=true;detailFor++;}
  (r.data.accounts||[]).forEach(a=>{
    shown.set(a.username,a);
    const row=document.createElement('tr');
    const pick=document.createElement('input');pick.type='checkbox';pick.className='pick';pick.value=a.username;
    pick.setAttribute('aria-label','Select '+a.username);
    pick.addEventListener('change',countSelected);
    const label=document.createElement('label');const hint=document.createElement('span');hint.className='sr';hint.textContent='Select '+a.username;
    label.append(pick,hint);cell(row,'').appendChild(label);
    cell(row,a.username+(a.disabled?' (disabled)':''));cell(row,a.kind);
    cell(row,(a.enrolment==='active'?'set up':a.enrolment==='pending'?'being set up':'none')+(a.passkeys?', '+a.passkeys+(a.passkeys===1?' passkey':' passkeys'):''));
    cell(row,a.locked_until?when(a.locked_until):'');
    const actions=cell(row,'');actions.className='row-actions';
    const act=(label,method,path,done,ask)=>button(actions,label+' '+a.username,async()=>{
      if(ask&&!confirm(ask))return;
      const x=await api(method,'/accounts/'+encodeURIComponent(a.username)+path);
      if(x&&(x.status===204||x.status===202)){note('accounts-message',done+' '+a.username+'.');await loadAccounts(false);}
      else if(x)note('accounts-message',explain(x),true);
    });
    button(actions,'Details of '+a.username,()=>details(a.username));
    if(a.locked_until)act('Unlock account','POST','/unlock','Unlocked');
    if(a.enrolment)act('Reset app of','POST','/mfa/reset','Reset the app of','Reset the authenticator app of '+a.username+'? Their sessions end, and they set up again at their next sign-in.');
    if(a.disabled)act('Enable','POST','/enable','Enabled');
    else act('Disable','POST','/disable','Disabled','Disable '+a.username+'? They cannot sign in, and their sessions end.');
    act('Delete','DELETE','','Deleted','Delete the account '+a.username+' for good? This cannot be undone.');
    body.appendChild(row);
  });
  if(!body.children.length)empty(body,6,'No account matches.');
  countSelected();
}
$('accounts-form').addEventListener('submit',e=>{e.preventDefault();note('accounts-message','');loadAccounts(false);});
$('accounts-more').addEventListener('click',()=>loadAccounts(true));
$('select-all').addEventListener('change',()=>{document.querySelectorAll('.pick').forEach(b=>b.checked=$('select-all').checked);countSelected();});
// A bulk action runs one request per account, one after another, and reports each refusal. It
// stops when the code prompt is cancelled, or when the service fails (the rest are left as they
// were, to try again).
async function bulk(method,path,okStatus,verb){
  const names=selected();
  const done=[],refused=[];
  for(const who of names){
    const x=await api(method,'/accounts/'+encodeURIComponent(who)+path);
    if(!x)return;
    if(x.status===okStatus){done.push(who);continue;}
    refused.push(who+': '+explain(x));
    if(x.status===403||x.status===0||x.status>=500)break;
  }
  await loadAccounts(false);
  note('accounts-message',verb+' '+done.length+' of '+names.length+'.'+(refused.length?' Not done: '+refused.join(' '):''),refused.length>0);
}
$('bulk-remind').addEventListener('click',()=>bulk('POST','/setup-email',202,'Setup email sent to'));
$('bulk-disable').addEventListener('click',()=>{
  const n=selected().length;
  if(confirm('Disable '+n+' account'+(n===1?'':'s')+'? They cannot sign in, and their sessions end.'))bulk('POST','/disable',204,'Disabled');
});
let detailFor=0;
async function details(who){
  const mine=++detailFor;
  const a=shown.get(who)||{username:who};
  $('detail-heading').textContent=who;
  const facts=$('detail-facts');facts.replaceChildren();
  [['Kind',a.kind],['Authenticator',a.enrolment==='active'?'set up':a.enrolment==='pending'?'being set up':'none'],['Passkeys',String(a.passkeys||0)],
   ['Account',a.disabled?'disabled':'can sign in'],['Locked until (UTC)',a.locked_until?when(a.locked_until):'not locked']]
    .forEach(([k,v])=>{const dt=document.createElement('dt');dt.textContent=k;const dd=document.createElement('dd');dd.textContent=v||'';facts.append(dt,dd);});
  $('detail').hidden=false;
  const body=$('detail-audit');body.replaceChildren();
  const r=await api('GET','/audit?'+new URLSearchParams({user:who,limit:'20'}).toString());
  // A later Details click, or a reload of the list, wins.
  if(!r||mine!==detailFor)return;
  if(r.status!==200){empty(body,2,explain(r));return;}
  r.data.forEach(e=>{const row=document.createElement('tr');cell(row,when(e.at));cell(row,sentence(e)+' ('+outcomeWords(e)+')');body.appendChild(row);});
  if(!r.data.length)empty(body,2,'Nothing yet.');
  $('detail-heading').tabIndex=-1;$('detail-heading').focus();
}
$('detail-close').addEventListener('click',()=>{$('detail').hidden=true;});

// Audit: sentences from the closed lists of actions and outcomes.
function sentence(e){
  const actor=e.actor==='(anonymous)'?'Someone not signed in':e.actor;
  // A target that only repeats the action (settings, campaign) or the actor is left out.
  const target=e.target&&e.target!==e.actor&&!['settings','campaign','(address)'].includes(e.target)?e.target:'';
  let verb=PHRASES.actions[e.action]||String(e.action||'').replace(/_/g,' ');
  if(!target)verb=verb.replace(/ (of|for|to|as)$/,'');
  return actor+' '+verb+(target?' '+target:'');
}
function outcomeWords(e){
  return (PHRASES.outcomes[e.outcome]||String(e.outcome||'').replace(/_/g,' '))+(e.detail&&e.detail.change?' ('+e.detail.change+')':'');
}
function auditQuery(){
  const q=new URLSearchParams({limit:'20'});
  ['user','action','outcome'].forEach(f=>{const v=$('audit-'+f).value.trim();if(v)q.set(f,v);});
  if($('audit-since').value)q.set('since',$('audit-since').value+'T00:00:00Z');
  if($('audit-until').value)q.set('until',$('audit-until').value+'T23:59:59Z');
  return q;
}
let auditCursor=null;
async function loadAudit(older){
  note('audit-message','');
  const q=auditQuery();
  if(older&&auditCursor)q.set('cursor',auditCursor);
  const r=await api('GET','/audit?'+q.toString());
  if(!r)return;
  const body=$('audit');body.replaceChildren();
  if(r.status!==200){note('audit-message',explain(r),true);return;}
  auditCursor=r.next||null;$('audit-older').hidden=!auditCursor;
  r.data.forEach(e=>{
    const row=document.createElement('tr');
    cell(row,when(e.at));cell(row,sentence(e));cell(row,outcomeWords(e));
    body.appendChild(row);
  });
  if(!r.data.length)empty(body,3,'Nothing matches.');
}
$('audit-refresh').addEventListener('click',()=>loadAudit(false));
$('audit-older').addEventListener('click',()=>loadAudit(true));
$('audit-form').addEventListener('submit',e=>{e.preventDefault();loadAudit(false);});
// The CSV needs the session, so it is fetched here and handed to the browser as a file.
$('audit-csv').addEventListener('click',async()=>{
  const q=auditQuery();q.set('limit','500');q.set('format','csv');
  const r=await fetch('/audit?'+q.toString(),{headers:{'Authorization':'Bearer '+token}});
  if(!r.ok){note('audit-message','The download failed. Try again.',true);return;}
  const a=document.createElement('a');a.href=URL.createObjectURL(await r.blob());a.download='audit.csv';
  document.body.appendChild(a);a.click();a.remove();
});

// Sites: the list; a form that adds a new one or edits one; a hand-off box for its developer.
let editingClient=null, editingLogout=[];
function handOff(c,secret){
  const issuer=location.origin;
  const rows=[['Issuer',issuer],['Discovery',issuer+'/.well-known/openid-configuration'],['Client id',c.client_id],
    ['Redirect URIs',(c.redirect_uris||[]).join(' ')]];
  if(secret)rows.push(['Client secret (shown once)',secret]);
  rows.push(['Scopes','openid (profile email if it needs them)'],['Also required','PKCE (S256)']);
  const list=$('handoff-list');list.replaceChildren();
  rows.forEach(([k,v])=>{const dt=document.createElement('dt');dt.textContent=k;const dd=document.createElement('dd');dd.textContent=v;list.append(dt,dd);});
  $('handoff').dataset.text=rows.map(([k,v])=>k+': '+v).join('\n');
  note('handoff-message','');$('handoff').hidden=false;$('handoff-copy').focus();
}
$('handoff-copy').addEventListener('click',async()=>{
  try{await navigator.clipboard.writeText($('handoff').dataset.text||'');note('handoff-message','Copied.');}
  catch(e){note('handoff-message','Your browser did not allow copying: select the text above instead.',true);}
});
$('handoff-close').addEventListener('click',()=>{$('handoff').hidden=true;$('handoff').dataset.text='';$('handoff-list').replaceChildren();});
function clientForm(c){
  editingClient=c?c.client_id:null;editingLogout=c?(c.post_logout_redirect_uris||[]):[];
  $('client-form').reset();
  $('client-form-heading').textContent=c?'Edit '+c.client_id:'Add a site';
  $('client-submit').textContent=c?'Save site':'Add site';
  $('client-id').readOnly=!!c;
  if(c){
    $('client-id').value=c.client_id;$('client-name').value=c.name||'';
    $('client-redirects').value=(c.redirect_uris||[]).join('\n');$('client-home').value=c.home_url||'';
    $('client-public').checked=!!c.public;$('client-public').disabled=true;
    document.querySelectorAll('.client-kind').forEach(b=>b.checked=(c.allowed_kinds||[]).includes(b.value));
    document.querySelectorAll('.client-grant').forEach(b=>b.checked=(c.grant_types||[]).includes(b.value));
    $('client-require-code').checked=!!c.require_code;
  }else $('client-public').disabled=false;
  $('client-form').hidden=false;(c?$('client-name'):$('client-id')).focus();
}
$('client-new').addEventListener('click',()=>{note('client-message','');clientForm(null);});
$('client-cancel').addEventListener('click',()=>{$('client-form').hidden=true;editingClient=null;});
async function loadClients(){
  const r=await api('GET','/settings/clients');
  if(!r)return;
  const body=$('clients');body.replaceChildren();
  if(r.status!==200){note('client-message',explain(r),true);return;}
  r.data.forEach(c=>{
    const row=document.createElement('tr');
    cell(row,c.name+' ('+c.client_id+(c.public?', public':'')+')');
    cell(row,(c.redirect_uris||[]).join(' ')+' | for: '+(c.allowed_kinds||[]).join(', ')+'; '+(c.require_code?'code required':'no code required')+'; grants: '+(c.grant_types||[]).join(', '));
    const actions=cell(row,'');actions.className='row-actions';
    button(actions,'Edit '+c.client_id,()=>{note('client-message','');clientForm(c);});
    if(!c.public)button(actions,'New secret for '+c.client_id,async()=>{
      if(!confirm('Make a new secret for '+c.client_id+'? The old one stops working at once.'))return;
      const x=await api('POST','/settings/clients/'+encodeURIComponent(c.client_id)+'/secret');
      if(x&&x.status===200){note('client-message','New secret for '+c.client_id+'.');handOff(c,x.data.client_secret);}
      else if(x)note('client-message',explain(x),true);
    });
    button(actions,'Remove '+c.client_id,async()=>{
      if(!confirm('Remove the site '+c.client_id+'? Its users can no longer sign in to it through us.'))return;
      const x=await api('DELETE','/settings/clients/'+encodeURIComponent(c.client_id));
      if(x&&x.status===204){note('client-message','Removed '+c.client_id+'.');await loadClients();}
      else if(x)note('client-message',explain(x),true);
    });
    body.appendChild(row);
  });
  if(!r.data.length)empty(body,3,'No site signs in through us yet.');
}
$('client-form').addEventListener('submit',async e=>{
  e.preventDefault();note('client-message','');
  const id=$('client-id').value.trim();
  const checked=cls=>[...document.querySelectorAll('.'+cls)].filter(i=>i.checked).map(i=>i.value);
  const spec={redirect_uris:$('client-redirects').value.split('\n').map(s=>s.trim()).filter(Boolean),
    allowed_kinds:checked('client-kind'),grant_types:checked('client-grant'),require_code:$('client-require-code').checked};
  if($('client-name').value.trim())spec.name=$('client-name').value.trim();
  if($('client-home').value.trim())spec.home_url=$('client-home').value.trim();
  if(!id){note('client-message','Enter a client id.',true);$('client-id').focus();return;}
  const editing=editingClient;
  let r;
  if(editing){spec.public=$('client-public').checked;spec.post_logout_redirect_uris=editingLogout;r=await api('PUT','/settings/clients/'+encodeURIComponent(editing),spec);}
  else{spec.client_id=id;spec.public=$('client-public').checked;r=await api('POST','/settings/clients',spec);}
  if(!r)return;
  if(r.status!==(editing?200:201)){note('client-message',explain(r),true);return;}
  note('client-message',(editing?'Saved ':'Added ')+id+'.');
  $('client-form').hidden=true;editingClient=null;
  if(!editing||r.data.client_secret)handOff(r.data,r.data.client_secret);
  await loadClients();
});

// Identity providers: list, add, edit, remove.
let editingProvider=null, providerIds=[];
function providerForm(p){
  editingProvider=p?p.id:null;
  $('provider-form').reset();
  $('provider-form-heading').textContent=p?'Edit '+p.display_name:'Add a provider';
  $('provider-submit').textContent=p?'Save provider':'Add provider';
  $('provider-id').readOnly=!!p;$('provider-secret-hint').hidden=!(p&&p.client_secret_set);
  if(p){$('provider-id').value=p.id;$('provider-display').value=p.display_name||'';$('provider-kind').value=p.kind;
    $('provider-issuer').value=p.issuer;$('provider-client-id').value=p.client_id||'';$('provider-amr').value=(p.require_amr||[]).join(' ');}
  $('provider-form').hidden=false;(p?$('provider-display'):$('provider-id')).focus();
}
$('provider-new').addEventListener('click',()=>{note('provider-message','');providerForm(null);});
$('provider-cancel').addEventListener('click',()=>{$('provider-form').hidden=true;editingProvider=null;});
$('provider-form').addEventListener('submit',async e=>{
  e.preventDefault();note('provider-message','');
  const id=$('provider-id').value.trim();
  if(!id){note('provider-message','Enter a provider id.',true);$('provider-id').focus();return;}
  // Adding never replaces: the API's PUT would, so an id in use is refused here.
  if(!editingProvider&&providerIds.includes(id)){note('provider-message','A provider with the id '+id+' exists already: edit it instead.',true);$('provider-id').focus();return;}
  const spec={kind:$('provider-kind').value,issuer:$('provider-issuer').value.trim(),client_id:$('provider-client-id').value.trim(),
    require_amr:$('provider-amr').value.split(/\s+/).filter(Boolean)};
  if($('provider-display').value.trim())spec.display_name=$('provider-display').value.trim();
  if($('provider-secret').value)spec.client_secret=$('provider-secret').value;
  const r=await api('PUT','/settings/providers/'+encodeURIComponent(id),spec);
  $('provider-secret').value='';
  if(!r)return;
  if(r.status!==200){note('provider-message',explain(r),true);return;}
  note('provider-message',(editingProvider?'Saved ':'Added ')+id+'.');
  $('provider-form').hidden=true;editingProvider=null;
  await loadProviders();
});
async function loadProviders(){
  const r=await api('GET','/settings/providers');
  if(!r)return;
  if(r.status!==200){note('provider-message',explain(r),true);return;}
  const body=$('providers');body.replaceChildren();
  providerIds=r.data.map(p=>p.id);
  r.data.forEach(p=>{
    const row=document.createElement('tr');
    cell(row,p.display_name+' ('+p.id+')');cell(row,p.kind==='sso'?'organisation SSO':'social login');cell(row,p.issuer);
    const actions=cell(row,'');actions.className='row-actions';
    // One with keys given inline (no discovery) is changed with mfa-admin, which can give keys.
    if(p.discovery)button(actions,'Edit '+p.id,()=>{note('provider-message','');providerForm(p);});
    button(actions,'Remove '+p.id,async()=>{
      if(!confirm('Remove '+p.display_name+'? Nobody signs in through it any more, and its links to accounts go.'))return;
      const x=await api('DELETE','/settings/providers/'+encodeURIComponent(p.id));
      if(x&&x.status===204){note('provider-message','Removed '+p.id+'.');await loadProviders();}
      else if(x)note('provider-message',explain(x),true);
    });
    body.appendChild(row);
  });
  $('providers-none').hidden=r.data.length>0;$('providers-table').hidden=r.data.length===0;
}

// Settings: the organisation.
$('org-form').addEventListener('submit',async e=>{
  e.preventDefault();note('org-message','');
  const change={};
  const email=$('org-email').value.trim(), name=$('org-name').value.trim();
  if(email!==(settings.org_default_email||''))change.org_default_email=email;
  if(name!==(settings.org_name||''))change.org_name=name;
  const held=$('org-passkeys').value;
  if(held!==(settings.phishing_resistant_required_for||'none'))change.phishing_resistant_required_for=held;
  if(!Object.keys(change).length){note('org-message','Nothing to save.');return;}
  const r=await api('PUT','/settings',change);
  if(!r)return;
  if(r.status!==200){note('org-message',explain(r),true);return;}
  showSettings(r.data);note('org-message','Saved.');
});
// An answer about a form's earlier value goes once the value is edited.
$('org-form').addEventListener('input',()=>note('org-message',''));

const LOADERS={overview:()=>Promise.all([loadReadiness(),loadRollout(false)]),people:()=>loadAccounts(false),
  sites:loadClients,providers:loadProviders,audit:()=>loadAudit(false),settings:async()=>{}};

$('password-form').addEventListener('submit',async e=>{
  e.preventDefault();say('');
  const r=await call('POST','/sign-in',{username:$('username').value,password:$('password').value});
  if(r.status!==200){say(explain(r),true);return;}
  $('password').value='';
  if(r.data.status==='signed_in'){await enter(r.data.session);return;}
  challenge=r.data.challenge;
  $('not-enrolled').hidden=!!r.data.enrolled;
  show('code-form');$('code').focus();
});
$('code-form').addEventListener('submit',async e=>{
  e.preventDefault();say('');
  const r=await call('POST','/mfa/verify',{challenge,code:$('code').value});
  $('code').value='';
  if(r.status===200){challenge=null;await enter(r.data.session);return;}
  say(explain(r),true);
});
$('code-cancel').addEventListener('click',()=>{say('');signInAgain();});
$('sign-out').addEventListener('click',async()=>{
  const t=token;signInAgain();
  await call('POST','/sign-out',undefined,t);
  say('Signed out.');
});
if(token){enter(token);}else{show('password-form');$('username').focus();}
})();"#;

/// How the audit view reads an action: what the actor did (the target follows).
fn action_words(a: Action) -> &'static str {
    match a {
        Action::AccountAdd => "added the account",
        Action::AccountDelete => "deleted the account",
        Action::AccountDisable => "disabled the account",
        Action::AccountEnable => "enabled the account",
        Action::AccountImport => "imported accounts",
        Action::AccountLink => "linked a sign-in elsewhere to the account",
        Action::AdminCall => "called the admin API",
        Action::Authorize => "asked to sign in to the site",
        Action::Campaign => "started the setup campaign",
        Action::ClientAuth => "authenticated as the site",
        Action::ClientChange => "changed the site",
        Action::EndSession => "signed out through the site",
        Action::EnrolmentActivated => "finished setting up an authenticator app",
        Action::FederatedSignIn => "signed in through an identity provider",
        Action::Invitation => "was invited",
        Action::KeyReveal => "opened the setup key of",
        Action::MfaReset => "reset the authenticator app of",
        Action::MfaVerify => "entered a security code",
        Action::PasskeyAdd => "registered a passkey for",
        Action::PasskeyRemove => "removed a passkey of",
        Action::PasswordChange => "changed the password of",
        Action::PasswordForgot => "asked for a password reset link for",
        Action::PasswordReset => "set a new password for",
        Action::ProviderChange => "changed the identity provider",
        Action::Reauthenticate => "confirmed a change with a security code",
        Action::RecoveryCodes => "made a new set of recovery codes",
        Action::Refresh => "refreshed the tokens of the site",
        Action::SettingsChange => "changed the settings",
        Action::SetupEmail => "sent a setup email to",
        Action::SignIn => "signed in with a password as",
        Action::SignOut => "signed out",
        Action::Token => "asked for tokens for the site",
        Action::Unlock => "unlocked",
    }
}

/// How the audit view reads an outcome.
fn outcome_words(o: Outcome) -> &'static str {
    match o {
        Outcome::AccessDenied => "refused: the site does not accept this account or sign-in",
        Outcome::AccountDisabled => "refused: the account is disabled",
        Outcome::AlreadyEnrolled => "not needed: an app is set up already",
        Outcome::ClientGone => "the site is no longer registered",
        Outcome::CodeExchangeFailed => "the provider's code could not be exchanged",
        Outcome::CodeReused => "refused: a code used twice",
        Outcome::CounterRegressed => "refused: the passkey's counter went back (a copied key?)",
        Outcome::Created => "created",
        Outcome::CredentialInUse => "refused: that passkey is registered already",
        Outcome::Deleted => "deleted",
        Outcome::Forbidden => "refused: not allowed",
        Outcome::IdpMfaRequired => "refused: the provider's sign-in had no second factor",
        Outcome::InvalidClient => "refused: the site's credentials were wrong",
        Outcome::InvalidCode => "wrong security code",
        Outcome::InvalidCredentials => "wrong username or password",
        Outcome::InvalidGrant => "refused: the grant is not valid",
        Outcome::InvalidPasskey => "refused: the passkey's answer was not valid",
        Outcome::InvalidRequest => "refused: a malformed request",
        Outcome::InvalidScope => "refused: a scope not allowed",
        Outcome::InvalidState => "refused: the sign-in's state did not match",
        Outcome::InvalidToken => "refused: the token is not valid",
        Outcome::InvitationAccepted => "invitation accepted",
        Outcome::Issued => "issued",
        Outcome::IssuerMismatch => "refused: the token came from another issuer",
        Outcome::Locked => "refused: locked after too many attempts",
        Outcome::LoginRequired => "refused: nobody was signed in",
        Outcome::MfaRequired => "password right; a security code is asked for next",
        Outcome::NoAccount => "no such account",
        Outcome::NoEmail => "no email on file",
        Outcome::NonceRefused => "refused: the nonce did not match",
        Outcome::NotConfigured => "refused: not configured",
        Outcome::OtherBrowser => "refused: started in another browser",
        Outcome::PasskeyRequired => "refused: this account must use its passkey",
        Outcome::ProviderRefused => "the provider refused",
        Outcome::ReauthenticationRequired => "refused until confirmed with a security code",
        Outcome::RecoveryCodeUsed => "done, with a recovery code instead of the app",
        Outcome::Refused => "refused",
        Outcome::ReplayRefused => "refused: a code already used",
        Outcome::RequestNotSupported => "refused: request objects are not supported",
        Outcome::RequestUriNotSupported => "refused: request_uri is not supported",
        Outcome::ReuseRevokedFamily => "refused: a used refresh token, so its family was revoked",
        Outcome::SecretRotated => "new secret made",
        Outcome::SendFailed => "the mail could not be sent",
        Outcome::Sent => "sent",
        Outcome::SignedIn => "signed in",
        Outcome::SignedInMfaDelegated => "signed in (the provider asked for the second factor)",
        Outcome::SocialSignInDisabled => {
            "refused: social sign-in is off for staff while MFA applies"
        }
        Outcome::Success => "done",
        Outcome::Throttled => "refused: too many attempts, wait",
        Outcome::Unauthenticated => "refused: not signed in",
        Outcome::UnauthorizedClient => "refused: the site may not do this",
        Outcome::UnknownAccount => "no such account",
        Outcome::UnknownProvider => "refused: no such identity provider",
        Outcome::UnlinkedSubject => "refused: that sign-in is linked to no account",
        Outcome::UnsupportedResponseType => "refused: that response type is not supported",
        Outcome::Updated => "updated",
        Outcome::WrongCallback => "refused: the provider answered on the wrong address",
    }
}

/// The filters offer the audit trail's closed lists, so a filter can never be a typo; the rows
/// read as sentences made from the same lists.
pub async fn admin_page() -> Response {
    let options = |words: Vec<&'static str>| -> String {
        words
            .iter()
            .map(|w| format!("<option value=\"{w}\">{}</option>", w.replace('_', " ")))
            .collect()
    };
    let body = BODY
        .replace(
            "{ACTIONS}",
            &options(Action::ALL.iter().map(|a| a.as_str()).collect()),
        )
        .replace(
            "{OUTCOMES}",
            &options(Outcome::ALL.iter().map(|o| o.as_str()).collect()),
        );
    let words = |pairs: Vec<(&str, &str)>| -> serde_json::Map<String, serde_json::Value> {
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
            .collect()
    };
    let phrases = serde_json::json!({
        "actions": words(Action::ALL.iter().map(|a| (a.as_str(), action_words(*a))).collect()),
        "outcomes": words(Outcome::ALL.iter().map(|o| (o.as_str(), outcome_words(*o))).collect()),
    });
    // No phrase may end the script early, whatever it says.
    let script = SCRIPT.replace("{PHRASES}", &phrases.to_string().replace('<', "\\u003c"));
    page("Staff MFA administration", &body, &script)
}
