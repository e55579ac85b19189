//! Rolling MFA out before the switch: the campaign that mails every staff member without an app
//! the setup email, with reminders, and the scheduled switch-on (`enforce_at`). Both move on in
//! `tick`, which the schedule runs every minute (an EventBridge rule on the settings function;
//! locally `mfa-admin tick`), and the campaign's first batch goes out when it starts.

use std::collections::HashMap;

use crate::account::StaffDirectory;
use crate::app::App;
use crate::audit::{Action, Outcome};
use crate::email::setup_recipient;
use crate::error::{Error, Result};
use crate::flows::admin::{self, SettingsChange};
use crate::flows::guard::{Actor, require_step_up};
use crate::flows::notices::sender;
use crate::flows::setup::{SetupLinkMail, mail_setup_link};
use crate::flows::tally::{self, Tally, active_staff};
use crate::limits::SETUP_LINK_SECS;
use crate::policy::AccountKind;
use crate::store::rollout::{Campaign, Mark};

/// A campaign mail's setup link lives longer than one asked for at sign-in: it is read when the
/// person next looks at their mail, not while they wait on the sign-in page.
pub const CAMPAIGN_LINK_SECS: u64 = 3 * 86_400;
/// Days between reminders when the administrator names none.
pub const DEFAULT_REMINDER_DAYS: u64 = 3;
/// However often reminders are asked for, an account gets at most one campaign mail a day.
pub const MIN_GAP_SECS: u64 = 86_400;
/// Seconds of mail a run of the schedule sends, at the configured SES rate: it ends well within
/// its minute (and the function's 50 s timeout).
const BATCH_SECS: u64 = 40;
/// Seconds of mail the start sends before it answers; the schedule sends the rest.
const FIRST_BATCH_SECS: u64 = 5;

/// Where one account stands in the rollout.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Standing {
    pub username: String,
    pub kind: AccountKind,
    /// `none`, or `pending` (mailed a link; its page not yet opened).
    pub enrolment: &'static str,
    /// When the campaign last mailed it, and how often it has.
    pub mailed_at: Option<u64>,
    pub mails: u64,
    /// Why the campaign cannot mail it, if it cannot.
    pub cannot_mail: Option<&'static str>,
}

/// The rollout as the console shows it.
pub struct Progress {
    pub campaign: Option<Campaign>,
    /// The last count (`flows::tally`): its figures, overall and by kind.
    pub tally: Tally,
    /// A page of those without an app now, by username, and where the next starts (None: no more).
    pub not_enrolled: Vec<Standing>,
    pub next: Option<String>,
}

/// The figures as last counted, and a page of the people without an app as they are now, after
/// `after`: the page reads only as far into the staff index as it needs.
pub async fn progress(app: &App, after: Option<&str>, limit: usize) -> Result<Progress> {
    let (tally, (page, next), campaign) = tokio::try_join!(
        tally::current(app),
        app.store.without_app_page(after, limit),
        app.store.get_campaign()
    )?;
    let not_enrolled = page
        .into_iter()
        .map(|w| Standing {
            enrolment: if w.enrolment.is_some() {
                "pending"
            } else {
                "none"
            },
            mailed_at: w.mark.map(|m| m.mailed_at),
            mails: w.mark.map_or(0, |m| m.mails),
            cannot_mail: setup_recipient(
                w.account.name_email.as_deref(),
                w.account.address_email.as_deref(),
            )
            .err()
            .map(|p| p.as_str()),
            kind: w.account.kind,
            username: w.account.username,
        })
        .collect();
    Ok(Progress {
        campaign,
        tally,
        not_enrolled,
        next,
    })
}

/// Starts the campaign (or changes its reminders) and sends its first batch. `link_base`: where
/// people reach the API, for the links. Starting it again mails nobody twice: each mail is claimed
/// by a conditional write on the account's mark before it is sent.
pub async fn start_campaign(
    app: &App,
    actor: &Actor<'_>,
    reminder_days: Option<u64>,
    link_base: &str,
) -> Result<usize> {
    if reminder_days.is_some_and(|d| !(1..=30).contains(&d)) {
        return Err(Error::bad_request(
            "invalid_request",
            "reminder_days must be 1 to 30.",
        ));
    }
    let (settings, running) = tokio::try_join!(app.store.get_settings(), app.store.get_campaign())?;
    // Started again without a number: the reminders stay as they were.
    let reminder_days = reminder_days
        .or(running.map(|c| c.reminder_days))
        .unwrap_or(DEFAULT_REMINDER_DAYS);
    sender(&settings)?;
    require_step_up(app, actor, Action::Campaign, "campaign").await?;
    let now = app.now();
    let campaign = Campaign {
        started_at: now,
        started_by: actor.name().to_owned(),
        reminder_days,
        link_base: link_base.to_owned(),
    };
    app.store.put_campaign(&campaign).await?;
    let detail = serde_json::json!({ "reminder_days": reminder_days });
    app.audit_detail(
        actor.name(),
        Action::Campaign,
        "campaign",
        Outcome::Updated,
        Some(&detail),
    )
    .await;
    // The stored campaign: a second start keeps the first one's start.
    let stored = app.store.get_campaign().await?.unwrap_or(campaign);
    let (directory, marks) =
        tokio::try_join!(app.store.staff_accounts(), app.store.campaign_marks())?;
    let sent = send_batch(app, &stored, (&directory, &marks), now, FIRST_BATCH_SECS).await?;
    // The overview shows the campaign under way at once, not from the schedule's next count (or,
    // if this count fails, from that one: the campaign has started either way).
    if let Err(e) = tally::recount(app).await {
        tracing::warn!(error = %e, "count after the campaign's start not made");
    }
    Ok(sent)
}

/// What one run of the schedule did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// MFA was switched on (its `enforce_at` came).
    pub switched_on: bool,
    /// Campaign mails sent.
    pub mailed: usize,
    /// What the signing keys' rotation did, when one was due (`signing::rotation_due`).
    pub rotated: Vec<String>,
}

/// One run of the schedule: the switch-on when its time has come, the signing keys' rotation when
/// due, the overview's count, then the campaign's next batch.
pub async fn tick(app: &App) -> Result<Tick> {
    let now = app.now();
    let mut done = Tick::default();
    let settings = app.store.get_settings().await?;
    if let Some(at) = settings.enforce_at
        && at <= now
        && !settings.mfa_enabled
    {
        // Only the switch-on scheduled for `at`: one called off or moved meanwhile is not made.
        let on = SettingsChange {
            mfa_enabled: Some(true),
            scheduled_for: Some(at),
            ..Default::default()
        };
        match admin::change_settings(app, &Actor::Operator("schedule"), on).await {
            Ok(saved) => done.switched_on = saved.mfa_enabled,
            // The checks of switching on (an organisation email, an administrator who can sign
            // in) failed, or the service did: the switch stays scheduled and is tried again next
            // minute (the console shows it overdue), and the campaign still moves on.
            Err(e) => tracing::warn!(error = %e, "scheduled switch-on not made; next minute again"),
        }
    }
    // The token signing keys, every 30 days (the publish-ahead rule of `mfa-admin signing-key
    // rotate` holds: the key promoted was published 30 days before). A failure leaves the rollout
    // to go on, and the next minute tries again.
    let overdue = match crate::flows::signing_keys::rotate_if_due(&app.store, &app.keys, now).await
    {
        Ok(lines) => {
            done.rotated = lines;
            false
        }
        // Another run rotated at the same moment.
        Err(Error::Conflict(_)) => false,
        Err(e) => {
            tracing::warn!(error = %e, "signing keys not rotated; next minute again");
            true
        }
    };
    // Watched by an alarm: a rotation failing for a quarter of an hour, or no schedule at all.
    crate::metrics::emit(&crate::metrics::schedule_line(overdue, app.clock.now_ms()));
    // One read of the directory a minute: the count the overview shows, and the campaign's batch.
    let (directory, marks, campaign) = tokio::try_join!(
        app.store.staff_accounts(),
        app.store.campaign_marks(),
        app.store.get_campaign()
    )?;
    if let Err(e) = tally::keep(app, &directory, &marks, now).await {
        tracing::warn!(error = %e, "count not kept; the next minute's will be");
    }
    if let Some(campaign) = campaign {
        done.mailed = send_batch(app, &campaign, (&directory, &marks), now, BATCH_SECS).await?;
    }
    Ok(done)
}

/// Is a campaign mail due to an account last mailed as `mark`?
fn due(mark: Option<&Mark>, campaign: &Campaign, now: u64) -> bool {
    match mark {
        None => true,
        Some(m) => {
            let gap = (campaign.reminder_days * 86_400).max(MIN_GAP_SECS);
            now >= m.mailed_at.saturating_add(gap)
        }
    }
}

/// Mails the setup email to the accounts without an app that are due, at most `secs` worth,
/// spaced to the configured SES send rate. Returns how many were sent.
async fn send_batch(
    app: &App,
    campaign: &Campaign,
    (directory, marks): (&StaffDirectory, &HashMap<String, Mark>),
    now: u64,
    secs: u64,
) -> Result<usize> {
    let settings = app.store.get_settings().await?;
    let Ok(from) = sender(&settings) else {
        tracing::warn!("campaign paused: no valid organisation email to send from");
        return Ok(0);
    };
    // At most `rate` mails a second, counting each mail's own work: the n-th goes no sooner than
    // n / rate seconds after the first, and none after `secs`.
    let rate = app.config.ses_send_rate.max(1);
    let gap = std::time::Duration::from_millis(1000 / rate);
    let started = tokio::time::Instant::now();
    let deadline = started + std::time::Duration::from_secs(secs);
    let mut sent: u32 = 0;
    for s in active_staff(directory) {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        let username = s.account.username.as_str();
        let mark = marks.get(username).copied();
        if s.has_app || !due(mark.as_ref(), campaign, now) {
            continue;
        }
        let Ok(to) = setup_recipient(
            s.account.name_email.as_deref(),
            s.account.address_email.as_deref(),
        ) else {
            continue;
        };
        if !app.store.claim_campaign_mail(username, mark, now).await? {
            // Another batch claimed it.
            continue;
        }
        tokio::time::sleep_until(started + gap * sent).await;
        let mail = ClaimedMail {
            username,
            mark,
            to,
            from,
            issuer: settings.issuer(),
            link_base: &campaign.link_base,
            by: "campaign",
        };
        match send_claimed(app, &mail, now).await? {
            Claimed::Sent => sent += 1,
            Claimed::NotNeeded(_) => {}
            Claimed::SendFailed(e) => {
                // The rest wait for SES to recover: the next run tries again.
                tracing::warn!(error = %e, "campaign mail not sent; the next run tries again");
                break;
            }
        }
    }
    Ok(sent as usize)
}

/// A setup mail claimed on the account's mark, to send.
struct ClaimedMail<'a> {
    username: &'a str,
    /// The mark as it was before the claim, to give back.
    mark: Option<Mark>,
    to: &'a str,
    from: &'a str,
    issuer: &'a str,
    link_base: &'a str,
    /// Who sends it, for the audit trail: the campaign, or an administrator.
    by: &'a str,
}

/// What became of a claimed mail.
enum Claimed {
    Sent,
    /// Not sent, and the claim given back: the account has an app now, or a setup mail it asked
    /// for itself is still live (which a new one would replace).
    NotNeeded(Error),
    /// SES refused it; the claim is given back.
    SendFailed(Error),
}

/// Sends a setup mail whose claim is held, the one way for the campaign and for an
/// administrator's reminder. The enrolment is read now: a setup started since the caller looked is
/// not replaced.
async fn send_claimed(app: &App, m: &ClaimedMail<'_>, now: u64) -> Result<Claimed> {
    let record = app.store.load_account(m.username).await?;
    let not_needed = match &record {
        None => Some(Error::NotFound),
        Some(r) if r.account.disabled => Some(Error::Conflict(format!(
            "{} was disabled meanwhile.",
            m.username
        ))),
        Some(r) if r.has_app() => Some(Error::AlreadyEnrolled),
        Some(r)
            if r.enrolment.as_ref().is_some_and(|e| {
                e.created_at + SETUP_LINK_SECS > now
                    && m.mark.is_none_or(|k| k.mailed_at < e.created_at)
            }) =>
        {
            Some(Error::Conflict(format!(
                "{} asked for a setup email of their own a moment ago; it is still good.",
                m.username
            )))
        }
        Some(_) => None,
    };
    if let Some(why) = not_needed {
        app.store
            .release_campaign_mail(m.username, m.mark, now)
            .await?;
        return Ok(Claimed::NotNeeded(why));
    }
    let link = SetupLinkMail {
        username: m.username,
        previous: record.as_ref().and_then(|r| r.enrolment.as_ref()),
        to: m.to,
        from: m.from,
        issuer: m.issuer,
        lives: CAMPAIGN_LINK_SECS,
        base: m.link_base,
        // The write refuses to replace an enrolment whose key was shown since it was read.
        replaces_shown: false,
        replacing: None,
    };
    match mail_setup_link(app, &link, now).await {
        Ok(()) => {
            app.audit(m.by, Action::SetupEmail, m.username, Outcome::Sent)
                .await;
            Ok(Claimed::Sent)
        }
        Err(Error::AlreadyEnrolled) => {
            app.store
                .release_campaign_mail(m.username, m.mark, now)
                .await?;
            Ok(Claimed::NotNeeded(Error::AlreadyEnrolled))
        }
        Err(e) => {
            app.store
                .release_campaign_mail(m.username, m.mark, now)
                .await?;
            app.audit(m.by, Action::SetupEmail, m.username, Outcome::SendFailed)
                .await;
            Ok(Claimed::SendFailed(e))
        }
    }
}

/// An administrator sends one person without an app their setup email now (the console's
/// "Send setup email", one row or a selection): the campaign's mail, under the campaign's rule of
/// at most one a day per account, claimed the same way, so a double click or two administrators
/// at once mail nobody twice. Returns where it went, masked.
pub async fn remind(
    app: &App,
    actor: &Actor<'_>,
    username: &str,
    link_base: &str,
) -> Result<String> {
    let (settings, record, mark) = tokio::try_join!(
        app.store.get_settings(),
        app.store.load_account(username),
        app.store.campaign_mark(username)
    )?;
    let from = sender(&settings)?;
    let Some(record) = record else {
        return Err(Error::NotFound);
    };
    let account = &record.account;
    if account.disabled {
        return Err(Error::Conflict(format!(
            "{username} is disabled: enable the account first."
        )));
    }
    if !matches!(account.kind, AccountKind::Staff | AccountKind::Sysadmin) {
        return Err(Error::Conflict(format!(
            "{username} is not staff: only staff and system administrators set up an app here."
        )));
    }
    if record.has_app() {
        return Err(Error::AlreadyEnrolled);
    }
    let to = setup_recipient(
        account.name_email.as_deref(),
        account.address_email.as_deref(),
    )
    .map_err(Error::NoEmailOnFile)?;
    let now = app.now();
    let recently = |m: &Mark| now < m.mailed_at.saturating_add(MIN_GAP_SECS);
    if mark.as_ref().is_some_and(recently)
        || !app.store.claim_campaign_mail(username, mark, now).await?
    {
        return Err(Error::Conflict(format!(
            "A setup email went to {username} less than a day ago: at most one a day."
        )));
    }
    let mail = ClaimedMail {
        username,
        mark,
        to,
        from,
        issuer: settings.issuer(),
        link_base,
        by: actor.name(),
    };
    match send_claimed(app, &mail, now).await? {
        Claimed::Sent => Ok(crate::email::mask(to)),
        Claimed::NotNeeded(e) => Err(e),
        Claimed::SendFailed(_) => Err(Error::EmailUnavailable(
            "The setup email could not be sent. Try again later.".into(),
        )),
    }
}
