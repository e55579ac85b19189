//! The rollout's figures, counted from every staff account and kept in one item, so that the
//! console's overview reads one item however many staff there are (reading the directory is
//! 277 read units and seconds at 10,000 staff).
//!
//! Counted, not kept as running counters: an account's place in the figures follows from its
//! profile (kind, disabled, emails), its enrolment (none, pending, key shown, active; a pending
//! one runs out by time alone) and its campaign mark, written by a dozen different changes. A
//! count from scratch has no drift to chase; the price is that the figures are as of the last
//! count. The schedule counts every minute (`rollout::tick`), starting a campaign counts after
//! its first batch, and an administrator can count now (`POST /settings/mfa-readiness/recount`,
//! `mfa-admin readiness recount`, which also prints what changed since the count before).

use std::collections::{BTreeMap, HashMap};

use crate::account::{EnrolmentStatus, StaffDirectory, StaffSummary};
use crate::app::App;
use crate::email::setup_recipient;
use crate::error::Result;
use crate::policy::AccountKind;
use crate::store::rollout::Mark;

/// How many of the staff who cannot be sent a setup mail the count names (all are counted).
pub const CANNOT_MAIL_NAMED: usize = 100;

/// The rollout's four figures for a set of staff who can sign in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Figures {
    pub total: usize,
    /// With an app (set up, or being set up).
    pub enrolled: usize,
    /// Without an app, mailed by the campaign at least once.
    pub mailed: usize,
    /// Without an app.
    pub pending: usize,
}

/// One count of every staff member and system administrator.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    pub counted_at: u64,
    /// Readiness, over every staff account (disabled ones too): by enrolment.
    pub enrolled: usize,
    pub pending: usize,
    pub not_enrolled: usize,
    /// Staff with at least one passkey (counts kept from before passkeys read as 0).
    #[serde(default)]
    pub with_passkey: usize,
    /// The rollout, over those who can sign in (disabled accounts left out), and by kind.
    pub figures: Figures,
    pub by_kind: BTreeMap<String, Figures>,
    /// Staff who cannot be sent a setup mail, and why (`no_email`, `invalid_email`): the first
    /// `CANNOT_MAIL_NAMED` by username, and how many in all.
    pub cannot_mail: Vec<(String, String)>,
    pub cannot_mail_total: usize,
    /// DynamoDB read units the count cost.
    pub read_units: f64,
}

impl Tally {
    /// Counts `directory` with the campaign's `marks`.
    pub fn count(directory: &StaffDirectory, marks: &HashMap<String, Mark>, now: u64) -> Tally {
        let staff = &directory.staff;
        let status =
            |want: Option<EnrolmentStatus>| staff.iter().filter(|s| s.enrolment == want).count();
        let active = active_staff(directory);
        let by_kind = [AccountKind::Staff, AccountKind::Sysadmin]
            .into_iter()
            .map(|kind| {
                let of_kind: Vec<&StaffSummary> = active
                    .iter()
                    .copied()
                    .filter(|s| s.account.kind == kind)
                    .collect();
                (kind.as_str().to_owned(), figures(&of_kind, marks))
            })
            .collect();
        // Enrolled users too: after a lost phone and a reset they will need setup mail.
        let mut cannot_mail: Vec<(String, String)> = staff
            .iter()
            .filter_map(|s| {
                setup_recipient(
                    s.account.name_email.as_deref(),
                    s.account.address_email.as_deref(),
                )
                .err()
                .map(|p| (s.account.username.clone(), p.as_str().to_owned()))
            })
            .collect();
        cannot_mail.sort();
        let cannot_mail_total = cannot_mail.len();
        cannot_mail.truncate(CANNOT_MAIL_NAMED);
        Tally {
            counted_at: now,
            enrolled: status(Some(EnrolmentStatus::Active)),
            pending: status(Some(EnrolmentStatus::Pending)),
            not_enrolled: status(None),
            with_passkey: staff.iter().filter(|s| s.account.passkeys > 0).count(),
            figures: figures(&active, marks),
            by_kind,
            cannot_mail,
            cannot_mail_total,
            read_units: directory.read_units,
        }
    }

    /// The figures of `kind` (zeros when there are none).
    pub fn of_kind(&self, kind: AccountKind) -> Figures {
        self.by_kind.get(kind.as_str()).copied().unwrap_or_default()
    }
}

fn figures(staff: &[&StaffSummary], marks: &HashMap<String, Mark>) -> Figures {
    let enrolled = staff.iter().filter(|s| s.has_app).count();
    let mailed = staff
        .iter()
        .filter(|s| !s.has_app && marks.contains_key(&s.account.username))
        .count();
    Figures {
        total: staff.len(),
        enrolled,
        mailed,
        pending: staff.len() - enrolled,
    }
}

/// Who the rollout is about: staff and system administrators who can sign in, by username.
pub fn active_staff(directory: &StaffDirectory) -> Vec<&StaffSummary> {
    let mut staff: Vec<&StaffSummary> = directory
        .staff
        .iter()
        .filter(|s| !s.account.disabled)
        .collect();
    staff.sort_by(|a, b| a.account.username.cmp(&b.account.username));
    staff
}

/// Counts from `directory` and `marks` (read by the caller, who may need them too, from
/// `read_at` on) and keeps it, unless a count read later is kept already.
pub async fn keep(
    app: &App,
    directory: &StaffDirectory,
    marks: &HashMap<String, Mark>,
    read_at: u64,
) -> Result<Tally> {
    let tally = Tally::count(directory, marks, read_at);
    let json = serde_json::to_string(&tally)
        .map_err(|e| crate::error::Error::Internal(format!("tally: {e}")))?;
    app.store.put_tally(tally.counted_at, &json).await?;
    Ok(tally)
}

/// Counts every staff account now and keeps the count.
pub async fn recount(app: &App) -> Result<Tally> {
    let read_at = app.now();
    let (directory, marks) =
        tokio::try_join!(app.store.staff_accounts(), app.store.campaign_marks())?;
    keep(app, &directory, &marks, read_at).await
}

/// The last count; the first view of a new organisation counts.
pub async fn current(app: &App) -> Result<Tally> {
    match app.store.get_tally().await? {
        Some(json) => match serde_json::from_str(&json) {
            Ok(tally) => Ok(tally),
            // A count kept by an older version of its shape: count again.
            Err(_) => recount(app).await,
        },
        None => recount(app).await,
    }
}
