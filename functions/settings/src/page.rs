//! The admin page, `GET /admin`: a system administrator signs in on it (password, then the
//! security code when MFA requires one) and then uses the admin JSON API with the session as a
//! bearer token: the MFA switch, the organisation's default email and name, the readiness report,
//! resetting a user's MFA, unlocking an account, the sites that sign in through us (OpenID
//! Connect clients: list, add, remove, new secret), and the recent audit log. A sensitive change
//! answered 403 `reauthentication_required` asks for a fresh code and is tried again. Data is only
//! ever shown with `textContent`.

use axum::response::Response;
use shared::audit::{Action, Outcome};
use shared::pages::page;

const BODY: &str = r#"<main class="wide">
<h1>Staff MFA administration</h1>
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
<form id="stepup-form" hidden novalidate>
  <p id="stepup-why">This change needs a current security code.</p>
  <label for="stepup-code">Code from your app, to confirm</label>
  <input id="stepup-code" name="code" autocomplete="one-time-code" inputmode="numeric" maxlength="12" required>
  <button type="submit">Confirm</button>
  <button type="button" id="stepup-cancel">Cancel</button>
  <p id="stepup-message" role="status" aria-live="polite"></p>
</form>
<div id="panel" hidden>
<p><span id="who"></span> <button type="button" class="link" id="sign-out">Sign out</button></p>

<section aria-labelledby="mfa-heading">
<h2 id="mfa-heading">Multi-factor authentication</h2>
<p>While it is on, every staff user and system administrator enters a code from an authenticator app at each sign-in.</p>
<form id="mfa-form" novalidate>
  <p><strong id="mfa-state"></strong></p>
  <button type="submit" id="mfa-toggle"></button>
  <p id="mfa-message" role="status" aria-live="polite"></p>
</form>
</section>

<section aria-labelledby="rollout-heading">
<h2 id="rollout-heading">Rollout</h2>
<p>Get every staff member an authenticator app before the switch: the campaign emails everyone without one the setup email, with reminders, and the switch can be scheduled.</p>
<p id="rollout-figures"></p>
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
<h3 id="waiting-heading">Without an app</h3>
<table aria-labelledby="waiting-heading">
<thead><tr><th scope="col">User</th><th scope="col">Kind</th><th scope="col">Setup emails sent</th><th scope="col">Last sent (UTC)</th></tr></thead>
<tbody id="waiting"></tbody>
</table>
<button type="button" id="waiting-more" hidden>More people without an app</button>
</section>

<section aria-labelledby="org-heading">
<h2 id="org-heading">Organisation</h2>
<form id="org-form" novalidate>
  <label for="org-email">Default email (setup emails are sent from it)</label>
  <input id="org-email" name="org_default_email" type="email" autocomplete="off">
  <label for="org-name">Name (shown in authenticator apps)</label>
  <input id="org-name" name="org_name" autocomplete="organization" maxlength="64">
  <button type="submit">Save organisation</button>
  <p id="org-message" role="status" aria-live="polite"></p>
</form>
</section>

<section aria-labelledby="ready-heading">
<h2 id="ready-heading">Readiness</h2>
<p id="counts"></p>
<p id="sender"></p>
<h3 id="cannot-heading">Who cannot receive setup mail</h3>
<p id="cannot-none" hidden>Every staff user has a valid email for setup mail.</p>
<table id="cannot-table" aria-labelledby="cannot-heading" hidden>
<thead><tr><th scope="col">User</th><th scope="col">Why</th></tr></thead>
<tbody id="cannot"></tbody>
</table>
<h3 id="locked-heading">Locked out of code entry</h3>
<p id="locked-none" hidden>Nobody is locked out of code entry.</p>
<table id="locked-table" aria-labelledby="locked-heading" hidden>
<thead><tr><th scope="col">User</th><th scope="col">Until (UTC)</th></tr></thead>
<tbody id="locked"></tbody>
</table>
<h3 id="pwlocked-heading">Locked out of password entry</h3>
<p>After 100 wrong passwords in a row, from any addresses, password entry is locked for an hour. Unlock once you know the account is safe; unlocking also ends a code-entry lock.</p>
<p id="pwlocked-none" hidden>Nobody is locked out of password entry.</p>
<table id="pwlocked-table" aria-labelledby="pwlocked-heading" hidden>
<thead><tr><th scope="col">User</th><th scope="col">Until (UTC)</th><th scope="col">Action</th></tr></thead>
<tbody id="pwlocked"></tbody>
</table>
<p id="unlock-message" role="status" aria-live="polite"></p>
<button type="button" id="ready-refresh">Refresh readiness</button>
</section>

<section aria-labelledby="reset-heading">
<h2 id="reset-heading">Reset a user's MFA</h2>
<p>For a lost or replaced phone: removes the user's authenticator key and ends their sessions. They set up again at their next sign-in.</p>
<form id="reset-form" novalidate>
  <label for="reset-username">Username</label>
  <input id="reset-username" name="username" autocomplete="off" required>
  <button type="submit">Reset MFA</button>
  <p id="reset-message" role="status" aria-live="polite"></p>
</form>
</section>

<section aria-labelledby="accounts-heading">
<h2 id="accounts-heading">Accounts</h2>
<form id="accounts-form" novalidate>
  <label for="accounts-search">Account name starts with</label>
  <input id="accounts-search" name="search" autocomplete="off">
  <label for="accounts-kind">Kind</label>
  <select id="accounts-kind" name="kind"><option value="">Any</option><option>staff</option><option>sysadmin</option><option>member</option><option>api</option></select>
  <label for="accounts-enrolment">Authenticator</label>
  <select id="accounts-enrolment" name="enrolment"><option value="">Any</option><option value="active">set up</option><option value="pending">being set up</option><option value="none">none</option></select>
  <label for="accounts-locked">Locked</label>
  <select id="accounts-locked" name="locked"><option value="">Any</option><option value="true">locked now</option><option value="false">not locked</option></select>
  <button type="submit">Search accounts</button>
</form>
<table aria-labelledby="accounts-heading">
<thead><tr><th scope="col">User</th><th scope="col">Kind</th><th scope="col">Authenticator</th><th scope="col">Locked until (UTC)</th><th scope="col">Actions</th></tr></thead>
<tbody id="accounts"></tbody>
</table>
<button type="button" id="accounts-more" hidden>More accounts</button>
<p id="accounts-message" role="status" aria-live="polite"></p>
<p>The last sign-ins of an account: filter the activity below by its username and the action sign_in.</p>
</section>

<section aria-labelledby="clients-heading">
<h2 id="clients-heading">Sites that sign in through us</h2>
<p>OpenID Connect clients: the organisation's staff sites and tools. A new confidential client's secret is shown once.</p>
<table id="clients-table" aria-labelledby="clients-heading">
<thead><tr><th scope="col">Client</th><th scope="col">Redirect URIs</th><th scope="col">Actions</th></tr></thead>
<tbody id="clients"></tbody>
</table>
<form id="client-form" novalidate>
  <h3>Add a site</h3>
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
  <button type="submit">Add site</button>
</form>
<p id="client-message" role="status" aria-live="polite"></p>
<section id="handoff" aria-labelledby="handoff-heading" hidden>
<h3 id="handoff-heading">For the site's developer</h3>
<p>What the site needs to sign people in through us. The secret is shown only now: copy it into the site's configuration (never into its code or a chat).</p>
<dl id="handoff-list"></dl>
<button type="button" id="handoff-copy">Copy all of it</button>
<p id="handoff-message" role="status" aria-live="polite"></p>
</section>
</section>

<section aria-labelledby="providers-heading">
<h2 id="providers-heading">Identity providers</h2>
<p>The organisation's own sign-in (SSO: its users skip our code, their provider asks for its own) and social logins (refused to staff while MFA applies to them). Adding one: <code>PUT /settings/providers/{id}</code> or <code>mfa-admin provider set</code>.</p>
<p id="providers-none" hidden>No identity provider is configured.</p>
<table id="providers-table" aria-labelledby="providers-heading" hidden>
<thead><tr><th scope="col">Provider</th><th scope="col">Kind</th><th scope="col">Issuer</th><th scope="col">Actions</th></tr></thead>
<tbody id="providers"></tbody>
</table>
<p id="provider-message" role="status" aria-live="polite"></p>
</section>

<section aria-labelledby="audit-heading">
<h2 id="audit-heading">Recent activity</h2>
<p>Newest first, 20 at a time (times in UTC).</p>
<form id="audit-form" novalidate>
  <label for="audit-user">User</label>
  <input id="audit-user" name="user" autocomplete="off">
  <label for="audit-action">Action</label>
  <select id="audit-action" name="action"><option value="">Any</option>{ACTIONS}</select>
  <label for="audit-outcome">Outcome</label>
  <select id="audit-outcome" name="outcome"><option value="">Any</option>{OUTCOMES}</select>
  <button type="submit">Filter</button>
  <button type="button" id="audit-csv">Download CSV</button>
</form>
<table aria-labelledby="audit-heading">
<thead><tr><th scope="col">Time</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Outcome</th></tr></thead>
<tbody id="audit"></tbody>
</table>
<button type="button" id="audit-refresh">Refresh activity</button>
<button type="button" id="audit-older" hidden>Older</button>
</section>
</div>
</main>"#;

const SCRIPT: &str = r#"(function(){
const $=id=>document.getElementById(id);
let challenge=null, token=sessionStorage.getItem('session'), settings=null;
const REASONS={no_email:'No email on file (Name.Email and Name_Address.Email are both empty).',
  invalid_email:'The email on file is not a valid address (Name.Email, or Name_Address.Email when Name.Email is empty).'};
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
    default: return d.message||'Something went wrong. Try again.';
  }
}
function signInAgain(){
  challenge=null;token=null;sessionStorage.removeItem('session');
  show('password-form');$('username').focus();
}
// Sensitive changes need a code from the last 10 minutes: ask for one, then try again.
let stepUpDone=null;
function stepUp(){
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
  say('');show('panel');showSettings(r.data);
  await Promise.all([loadReadiness(),loadRollout(false),loadAudit(),loadClients(),loadProviders(),loadAccounts(false)]);
}
function showSettings(s){
  settings=s;
  $('mfa-state').textContent='Multi-factor authentication for staff users is '+(s.mfa_enabled?'on.':'off.');
  $('mfa-toggle').textContent=s.mfa_enabled?'Switch off':'Switch on';
  $('org-email').value=s.org_default_email||'';
  $('org-name').value=s.org_name||'';
  $('enforce-state').textContent=s.mfa_enabled?'Multi-factor authentication is on: nothing to schedule.':
    s.enforce_at?('Scheduled: multi-factor authentication switches on at '+when(s.enforce_at)+' UTC'+(new Date(s.enforce_at)<new Date()?' (overdue: check the organisation email and that an administrator can sign in).':'.')):'No switch-on is scheduled.';
  $('enforce-form').hidden=s.mfa_enabled;
}
let waitingNext=null;
async function loadRollout(more){
  const q=new URLSearchParams({limit:'25'});
  if(more&&waitingNext)q.set('cursor',waitingNext);
  const r=await api('GET','/settings/campaign?'+q.toString());
  if(!r)return;
  if(r.status!==200){note('rollout-figures',explain(r),true);return;}
  const d=r.data;
  $('rollout-figures').textContent=d.enrolled+' of '+d.total+' staff and system administrators have an app; '+d.pending+' do not yet, of whom '+d.mailed+' have had a setup email.';
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
}
$('waiting-more').addEventListener('click',()=>loadRollout(true));
$('campaign-form').addEventListener('submit',async e=>{
  e.preventDefault();note('campaign-message','');
  const days=Number($('campaign-days').value);
  const r=await api('POST','/settings/campaign',{reminder_days:days});
  if(!r)return;
  if(r.status!==202){note('campaign-message',explain(r),true);return;}
  note('campaign-message','Campaign started: '+r.data.sent_now+' setup emails sent now; the rest follow every minute.');
  await Promise.all([loadRollout(false),loadAudit()]);
});
$('enforce-form').addEventListener('submit',async e=>{
  e.preventDefault();note('enforce-message','');
  const local=$('enforce-at').value;
  if(!local){note('enforce-message','Choose a date and time.',true);return;}
  const r=await api('PUT','/settings',{enforce_at:new Date(local).toISOString().replace(/\.\d{3}Z$/,'Z')});
  if(!r)return;
  if(r.status!==200){note('enforce-message',explain(r),true);return;}
  showSettings(r.data);note('enforce-message','Saved.');await loadAudit();
});
$('enforce-clear').addEventListener('click',async()=>{
  if(!confirm('Call off the scheduled switch-on?'))return;
  const r=await api('PUT','/settings',{enforce_at:null});
  if(!r)return;
  if(r.status!==200){note('enforce-message',explain(r),true);return;}
  showSettings(r.data);note('enforce-message','Called off.');await loadAudit();
});
function cell(row,text){const td=document.createElement('td');td.textContent=text;row.appendChild(td);return td;}
async function loadReadiness(){
  const r=await api('GET','/settings/mfa-readiness');
  if(!r)return;
  if(r.status!==200){note('counts',explain(r),true);return;}
  const st=r.data.staff||{};
  $('counts').className='';$('counts').textContent='Staff users and administrators: '+st.enrolled+' enrolled, '+st.pending+' set up but not yet confirmed, '+st.not_enrolled+' not enrolled.';
  const from=settings&&settings.org_default_email;
  const v=r.data.sender_verified;
  note('sender',!from?'No organisation default email is set, so no setup email can be sent.'
    :v===false?'Setup emails are sent from '+from+', which is not verified in SES: sending will fail until it is.'
    :v===true?'Setup emails are sent from '+from+' (verified in SES).':'Setup emails are sent from '+from+'.',!from||v===false);
  if(from&&v!==false)$('sender').className='';
  table('cannot',r.data.cannot_receive_setup_mail,x=>[x.username,REASONS[x.reason]||x.reason]);
  table('locked',r.data.code_entry_locked,x=>[x.username,when(x.until)]);
  table('pwlocked',r.data.password_locked,x=>[x.username,when(x.until),{unlock:x.username}]);
}
async function unlock(who){
  note('unlock-message','');
  const r=await api('POST','/accounts/'+encodeURIComponent(who)+'/unlock');
  if(!r)return;
  if(r.status===204){note('unlock-message','Unlocked '+who+'.');await afterChange();return;}
  note('unlock-message',explain(r),true);
}
function when(at){return String(at||'').replace('T',' ').replace(/(:\d\d)(Z|[+-]00:00)$/,'$1');}
function table(id,list,columns){
  list=list||[];
  const body=$(id);body.replaceChildren();
  list.forEach(x=>{const row=document.createElement('tr');columns(x).forEach(c=>{
    if(c&&c.unlock){const b=document.createElement('button');b.type='button';b.textContent='Unlock '+c.unlock;
      b.addEventListener('click',()=>unlock(c.unlock));cell(row,'').appendChild(b);}
    else cell(row,c);});body.appendChild(row);});
  $(id+'-table').hidden=list.length===0;$(id+'-none').hidden=list.length!==0;
}
function auditQuery(){
  const q=new URLSearchParams({limit:'20'});
  ['user','action','outcome'].forEach(f=>{const v=$('audit-'+f).value.trim();if(v)q.set(f,v);});
  return q;
}
let auditCursor=null;
async function loadAudit(older){
  const q=auditQuery();
  if(older&&auditCursor)q.set('cursor',auditCursor);
  const r=await api('GET','/audit?'+q.toString());
  if(!r)return;
  auditCursor=r.next||null;$('audit-older').hidden=!auditCursor;
  const body=$('audit');body.replaceChildren();
  if(r.status!==200){const row=document.createElement('tr');cell(row,explain(r)).colSpan=4;body.appendChild(row);return;}
  r.data.forEach(e=>{
    const row=document.createElement('tr');
    cell(row,when(e.at));
    cell(row,e.actor);
    const what=String(e.action||'');
    cell(row,what.replace(/_/g,' ')+(e.target&&e.target!==e.actor&&!what.includes(e.target)?' ('+e.target+')':''));
    cell(row,e.outcome+(e.detail&&e.detail.change?' ('+e.detail.change+')':''));
    body.appendChild(row);
  });
  if(!r.data.length){const row=document.createElement('tr');cell(row,'Nothing yet.').colSpan=4;body.appendChild(row);}
}
// What a new site's developer needs, with its secret: shown once, right after the site is added.
function handOff(c){
  const issuer=location.origin;
  const rows=[['Issuer',issuer],['Discovery',issuer+'/.well-known/openid-configuration'],['Client id',c.client_id],
    ['Redirect URIs',(c.redirect_uris||[]).join(' ')]];
  if(c.client_secret)rows.push(['Client secret (shown once)',c.client_secret]);
  rows.push(['Scopes','openid (profile email if it needs them)'],['Also required','PKCE (S256)']);
  const list=$('handoff-list');list.replaceChildren();
  rows.forEach(([k,v])=>{const dt=document.createElement('dt');dt.textContent=k;const dd=document.createElement('dd');dd.textContent=v;list.append(dt,dd);});
  $('handoff').dataset.text=rows.map(([k,v])=>k+': '+v).join('\n');
  note('handoff-message','');$('handoff').hidden=false;
}
$('handoff-copy').addEventListener('click',async()=>{
  try{await navigator.clipboard.writeText($('handoff').dataset.text||'');note('handoff-message','Copied.');}
  catch(e){note('handoff-message','Your browser did not allow copying: select the text above instead.',true);}
});
async function loadProviders(){
  const r=await api('GET','/settings/providers');
  if(!r||r.status!==200)return;
  const body=$('providers');body.replaceChildren();
  r.data.forEach(p=>{
    const row=document.createElement('tr');
    cell(row,p.display_name+' ('+p.id+')');cell(row,p.kind==='sso'?'organisation SSO':'social login');cell(row,p.issuer);
    const actions=cell(row,'');
    const b=document.createElement('button');b.type='button';b.textContent='Remove '+p.id;
    b.addEventListener('click',async()=>{
      if(!confirm('Remove '+p.display_name+'? Nobody signs in through it any more, and its links to accounts go.'))return;
      const x=await api('DELETE','/settings/providers/'+encodeURIComponent(p.id));
      if(x&&x.status===204){note('provider-message','Removed '+p.id+'.');await loadProviders();await loadAudit();}
      else if(x)note('provider-message',explain(x),true);
    });
    actions.appendChild(b);body.appendChild(row);
  });
  $('providers-none').hidden=r.data.length>0;$('providers-table').hidden=r.data.length===0;
}
async function loadClients(){
  const r=await api('GET','/settings/clients');
  if(!r||r.status!==200)return;
  const body=$('clients');body.replaceChildren();
  r.data.forEach(c=>{
    const row=document.createElement('tr');
    cell(row,c.name+' ('+c.client_id+(c.public?', public':'')+')');
    cell(row,(c.redirect_uris||[]).join(' ')+' | for: '+(c.allowed_kinds||[]).join(', ')+'; '+(c.require_code?'code required':'no code required')+'; grants: '+(c.grant_types||[]).join(', '));
    const actions=cell(row,'');
    const button=(label,handler)=>{const b=document.createElement('button');b.type='button';b.textContent=label;b.addEventListener('click',handler);actions.appendChild(b);};
    if(!c.public)button('New secret for '+c.client_id,async()=>{
      const x=await api('POST','/settings/clients/'+encodeURIComponent(c.client_id)+'/secret');
      if(x&&x.status===200)note('client-message','New secret for '+c.client_id+' (shown once): '+x.data.client_secret);
      else if(x)note('client-message',explain(x),true);
    });
    button('Remove '+c.client_id,async()=>{
      if(!confirm('Remove the site '+c.client_id+'? Its users can no longer sign in to it through us.'))return;
      const x=await api('DELETE','/settings/clients/'+encodeURIComponent(c.client_id));
      if(x&&x.status===204){note('client-message','Removed '+c.client_id+'.');await loadClients();await loadAudit();}
      else if(x)note('client-message',explain(x),true);
    });
    body.appendChild(row);
  });
}
$('client-form').addEventListener('submit',async e=>{
  e.preventDefault();note('client-message','');
  const id=$('client-id').value.trim();
  const checked=cls=>[...document.querySelectorAll('.'+cls)].filter(i=>i.checked).map(i=>i.value);
  const spec={redirect_uris:$('client-redirects').value.split('\n').map(s=>s.trim()).filter(Boolean),public:$('client-public').checked,
    allowed_kinds:checked('client-kind'),grant_types:checked('client-grant'),require_code:$('client-require-code').checked};
  if($('client-name').value.trim())spec.name=$('client-name').value.trim();
  if($('client-home').value.trim())spec.home_url=$('client-home').value.trim();
  if(!id){note('client-message','Enter a client id.',true);return;}
  spec.client_id=id;
  const r=await api('POST','/settings/clients',spec);
  if(!r)return;
  if(r.status!==201){note('client-message',explain(r),true);return;}
  note('client-message','Added '+id+'.');
  handOff(r.data);
  $('client-form').reset();
  await loadClients();await loadAudit();
});
let accountsNext=null;
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
  const body=$('accounts');if(!more)body.replaceChildren();
  (r.data.accounts||[]).forEach(a=>{
    const row=document.createElement('tr');
    cell(row,a.username+(a.disabled?' (disabled)':''));cell(row,a.kind);
    cell(row,a.enrolment==='active'?'set up':a.enrolment==='pending'?'being set up':'none');
    cell(row,a.locked_until?when(a.locked_until):'');
    const actions=cell(row,'');
    const act=(label,path,done,ask)=>{
      const b=document.createElement('button');b.type='button';b.textContent=label+' '+a.username;
      b.addEventListener('click',async()=>{
        if(ask&&!confirm(ask))return;
        const x=await api('POST','/accounts/'+encodeURIComponent(a.username)+path);
        if(x&&x.status===204){note('accounts-message',done+' '+a.username+'.');await loadAccounts(false);await afterChange();}
        else if(x)note('accounts-message',explain(x),true);
      });
      actions.appendChild(b);
    };
    if(a.locked_until)act('Unlock account','/unlock','Unlocked');
    if(a.enrolment)act('Reset app of','/mfa/reset','Reset the app of','Reset the authenticator app of '+a.username+'? They set up again at their next sign-in.');
    if(a.disabled)act('Enable','/enable','Enabled');
    else act('Disable','/disable','Disabled','Disable '+a.username+'? They cannot sign in, and their sessions end.');
    body.appendChild(row);
  });
}
$('accounts-form').addEventListener('submit',e=>{e.preventDefault();loadAccounts(false);});
$('accounts-more').addEventListener('click',()=>loadAccounts(true));
async function afterChange(){await Promise.all([loadReadiness(),loadRollout(false),loadAudit()]);}

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
  await afterChange();
});
$('org-form').addEventListener('submit',async e=>{
  e.preventDefault();note('org-message','');
  const change={};
  const email=$('org-email').value.trim(), name=$('org-name').value.trim();
  if(email!==(settings.org_default_email||''))change.org_default_email=email;
  if(name!==(settings.org_name||''))change.org_name=name;
  if(!Object.keys(change).length){note('org-message','Nothing to save.');return;}
  const r=await api('PUT','/settings',change);
  if(!r)return;
  if(r.status!==200){note('org-message',explain(r),true);return;}
  showSettings(r.data);note('org-message','Saved.');
  await afterChange();
});
$('reset-form').addEventListener('submit',async e=>{
  e.preventDefault();note('reset-message','');
  const who=$('reset-username').value.trim();
  if(!who){note('reset-message','Enter a username.',true);$('reset-username').focus();return;}
  const r=await api('POST','/accounts/'+encodeURIComponent(who)+'/mfa/reset');
  if(!r)return;
  if(r.status===204){$('reset-username').value='';note('reset-message','MFA reset for '+who+'. Their sessions have ended; they set up again at their next sign-in.');await afterChange();return;}
  if(r.status===404){note('reset-message','There is no account named '+who+'.',true);return;}
  note('reset-message',explain(r),true);
});
// An answer about a form's earlier value goes once the value is edited.
['org','reset'].forEach(f=>$(f+'-form').addEventListener('input',()=>note(f+'-message','')));
$('ready-refresh').addEventListener('click',loadReadiness);
$('audit-refresh').addEventListener('click',()=>loadAudit(false));
$('audit-older').addEventListener('click',()=>loadAudit(true));
$('audit-form').addEventListener('submit',e=>{e.preventDefault();loadAudit(false);});
// The CSV needs the session, so it is fetched here and handed to the browser as a file.
$('audit-csv').addEventListener('click',async()=>{
  const q=auditQuery();q.set('limit','500');q.set('format','csv');
  const r=await fetch('/audit?'+q.toString(),{headers:{'Authorization':'Bearer '+token}});
  if(!r.ok){note('message','The download failed. Try again.',true);return;}
  const a=document.createElement('a');a.href=URL.createObjectURL(await r.blob());a.download='audit.csv';
  document.body.appendChild(a);a.click();a.remove();
});
$('sign-out').addEventListener('click',async()=>{
  const t=token;signInAgain();
  await call('POST','/sign-out',undefined,t);
  say('Signed out.');
});
if(token){enter(token);}else{show('password-form');$('username').focus();}
})();"#;

/// The filters offer the audit trail's closed lists, so a filter can never be a typo.
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
    page("Staff MFA administration", &body, SCRIPT)
}
