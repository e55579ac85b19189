//! The words of the emails. Never a code, never the secret: a link, its expiry, the apps, steps.

use crate::clock::rfc3339;

pub const APPS: [&str; 4] = [
    "Google Authenticator",
    "Microsoft Authenticator",
    "Zoho OneAuth",
    "1Password",
];

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// "30 minutes", "3 days": how long a link lives, as its mail says it.
fn lifetime(secs: u64) -> String {
    let (n, unit) = if secs.is_multiple_of(86_400) {
        (secs / 86_400, "day")
    } else if secs.is_multiple_of(3600) {
        (secs / 3600, "hour")
    } else {
        (secs.div_ceil(60), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `lives`: the link's lifetime in seconds (its expiry is `expires_at`).
pub fn setup_email(org: &str, link: &str, expires_at: u64, lives: u64) -> Rendered {
    app_email(org, link, expires_at, lives, &FIRST_APP)
}

/// The setup mail for a new app replacing the active one: its page takes the new app's first code.
pub fn new_app_email(org: &str, link: &str, expires_at: u64, lives: u64) -> Rendered {
    app_email(org, link, expires_at, lives, &NEW_APP)
}

/// What differs between a first app's setup mail and a new app's.
struct AppMail {
    subject: &'static str,
    intro: &'static str,
    last_step: &'static str,
    not_you: &'static str,
}

const FIRST_APP: AppMail = AppMail {
    subject: "Set up multi-factor authentication for",
    intro: "Your organisation protects sign-in with a security code from an authenticator app.",
    last_step: "Go back to the sign-in page, enter your username and password, then the 6-digit code the app shows.",
    not_you: "If you did not ask for this, ignore this email and tell your administrator.",
};

const NEW_APP: AppMail = AppMail {
    subject: "Replace your authenticator app for",
    intro: "You asked to replace the authenticator app you sign in with. Your current app keeps working until you finish.",
    last_step: "On that page, enter the 6-digit code the new app shows. From then on only the new app's codes work.",
    not_you: "If you did not ask for this, do not open the link: change your password from your account page and tell your administrator now.",
};

fn app_email(org: &str, link: &str, expires_at: u64, lives: u64, m: &AppMail) -> Rendered {
    let expires = rfc3339(expires_at);
    let lives = lifetime(lives);
    let apps = APPS.join(", ");
    let AppMail {
        subject,
        intro,
        last_step,
        not_you,
    } = m;
    let text = format!(
        "{subject} {org}\n\n\
         {intro}\n\n\
         Open this link to set it up (it expires at {expires}, in {lives}):\n{link}\n\n\
         You need one of these apps on your phone: {apps}.\n\n\
         Steps:\n\
         1. Open the link. It shows a QR code and a key.\n\
         2. In your authenticator app, add an account and scan the QR code (or type the key).\n\
         3. {last_step}\n\n\
         We never send security codes by email. {not_you}\n"
    );
    let (org_h, link_h) = (escape(org), escape(link));
    let apps_h: String = APPS
        .iter()
        .map(|a| format!("<li>{}</li>", escape(a)))
        .collect();
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:36em\">\
         <h1>{subject} {org_h}</h1>\
         <p>{intro}</p>\
         <p><a href=\"{link_h}\">Set up your authenticator app</a></p>\
         <p>This link expires at {expires} (in {lives}).</p>\
         <p>You need one of these apps on your phone:</p><ul>{apps_h}</ul>\
         <ol><li>Open the link. It shows a QR code and a key.</li>\
         <li>In your authenticator app, add an account and scan the QR code (or type the key).</li>\
         <li>{last_step}</li></ol>\
         <p>We never send security codes by email. {not_you}</p>\
         </body></html>"
    );
    Rendered {
        subject: format!("{subject} {org}"),
        text,
        html,
    }
}

/// `key_shown`: when the setup page showed the key (so the user can tell a stranger's view).
pub fn activation_notice(org: &str, key_shown: &[u64]) -> Rendered {
    let shown = if key_shown.is_empty() {
        "never".to_owned()
    } else {
        key_shown
            .iter()
            .map(|t| crate::clock::rfc3339(*t))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!(
        "Multi-factor authentication was set up on your {org} account.\n\n\
         From now on you sign in with your password and a code from your authenticator app.\n\
         The setup page showed your key at (UTC): {shown}.\n\
         If this wasn't you, contact your administrator now.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:36em\">\
         <p>Multi-factor authentication was set up on your {} account.</p>\
         <p>From now on you sign in with your password and a code from your authenticator app.</p>\
         <p>The setup page showed your key at (UTC): {}.</p>\
         <p><strong>If this wasn't you, contact your administrator now.</strong></p></body></html>",
        escape(org),
        escape(&shown)
    );
    Rendered {
        subject: "Multi-factor authentication was set up on your account".into(),
        text,
        html,
    }
}

pub fn reset_notice(org: &str) -> Rendered {
    let text = format!(
        "An administrator reset multi-factor authentication on your {org} account.\n\n\
         At your next sign-in, choose \"I don't have a security code\" to set up your authenticator app again.\n\
         If you did not expect this, contact your administrator.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:36em\">\
         <p>An administrator reset multi-factor authentication on your {} account.</p>\
         <p>At your next sign-in, choose \"I don't have a security code\" to set up your authenticator app again.</p>\
         <p>If you did not expect this, contact your administrator.</p></body></html>",
        escape(org)
    );
    Rendered {
        subject: "Your multi-factor authentication was reset".into(),
        text,
        html,
    }
}

/// A recovery code signed in: how many are left, and what to do if it was not them.
pub fn recovery_used_notice(org: &str, left: usize) -> Rendered {
    let text = format!(
        "A recovery code was just used to sign in to your {org} account. {left} of your recovery codes are left.\n\n\
         If your phone is lost or replaced, set up your authenticator app again, and make a new set of recovery codes.\n\
         If this was not you, contact your administrator at once.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:36em\">\
         <p>A recovery code was just used to sign in to your {} account. {left} of your recovery codes are left.</p>\
         <p>If your phone is lost or replaced, set up your authenticator app again, and make a new set of recovery codes.</p>\
         <p>If this was not you, contact your administrator at once.</p></body></html>",
        escape(org)
    );
    Rendered {
        subject: "A recovery code was used to sign in".into(),
        text,
        html,
    }
}

/// A link that sets a password: `invite` (a new account) or a reset (forgotten password).
pub fn password_link_email(org: &str, link: &str, expires_at: u64, invite: bool) -> Rendered {
    let expires = rfc3339(expires_at);
    let (subject, why) = if invite {
        (
            format!("Your {org} account: choose a password"),
            "An account was made for you. Open this link to choose your password",
        )
    } else {
        (
            format!("Reset your {org} password"),
            "Someone, probably you, asked to reset your password. Open this link to choose a new one",
        )
    };
    let text = format!(
        "{why} (it expires at {expires}):\n{link}\n\n\
         If you have set up an authenticator app, you will also need a code from it.\n\
         We never send security codes by email. If you did not ask for this, ignore this email.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:36em\">\
         <p>{}.</p><p><a href=\"{}\">Choose a password</a></p><p>The link expires at {expires}.</p>\
         <p>If you have set up an authenticator app, you will also need a code from it.</p>\
         <p>We never send security codes by email. If you did not ask for this, ignore this email.</p>\
         </body></html>",
        escape(why),
        escape(link)
    );
    Rendered {
        subject,
        text,
        html,
    }
}

/// After a password was set through a link: in case it was not the account's owner.
pub fn password_changed_notice(org: &str) -> Rendered {
    let text = format!(
        "The password of your {org} account was changed, and every session of the account was signed out.\n\
         If this wasn't you, contact your administrator now.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:36em\">\
         <p>The password of your {} account was changed, and every session of the account was signed out.</p>\
         <p><strong>If this wasn't you, contact your administrator now.</strong></p></body></html>",
        escape(org)
    );
    Rendered {
        subject: "Your password was changed".into(),
        text,
        html,
    }
}

/// A passkey was added to the account (`added`) or removed from it, named as its owner named it.
pub fn passkey_notice(org: &str, name: &str, added: bool) -> Rendered {
    let (what, subject) = if added {
        ("added to", "A passkey was added to your account")
    } else {
        ("removed from", "A passkey was removed from your account")
    };
    let text = format!(
        "A passkey named \"{name}\" was {what} your {org} account.\n\
         If this wasn't you, contact your administrator now.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:36em\">\
         <p>A passkey named \"{}\" was {what} your {} account.</p>\
         <p><strong>If this wasn't you, contact your administrator now.</strong></p></body></html>",
        escape(name),
        escape(org)
    );
    Rendered {
        subject: subject.into(),
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_email_has_link_expiry_apps_and_steps() {
        let m = setup_email(
            "Acme",
            "https://x.example/mfa/setup?token=abc",
            1_800_000_000,
            30 * 60,
        );
        for part in [&m.text, &m.html] {
            assert!(part.contains("https://x.example/mfa/setup?token=abc"));
            assert!(part.contains("2027-01-15T08:00:00Z"));
            assert!(part.contains("in 30 minutes"));
            for app in APPS {
                assert!(part.contains(app), "{app}");
            }
            assert!(part.contains("never send security codes"));
        }
        let n = new_app_email(
            "Acme",
            "https://x.example/mfa/setup?token=abc",
            1_800_000_000,
            1800,
        );
        assert!(n.subject.starts_with("Replace your authenticator app"));
        for part in [&n.text, &n.html] {
            assert!(part.contains("keeps working until you finish"));
            assert!(part.contains("On that page, enter the 6-digit code the new app shows"));
            assert!(!part.contains("Go back to the sign-in page"));
        }
    }

    #[test]
    fn lifetimes_read_as_people_say_them() {
        assert_eq!(lifetime(30 * 60), "30 minutes");
        assert_eq!(lifetime(3 * 86_400), "3 days");
        assert_eq!(lifetime(3600), "1 hour");
    }

    #[test]
    fn org_names_are_escaped_in_html() {
        let m = activation_notice("<script>", &[0]);
        assert!(!m.html.contains("<script>"));
    }
}
