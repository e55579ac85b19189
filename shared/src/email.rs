//! Email addresses: which one a setup email goes to, whether it is valid, and how it is shown
//! masked to someone who only proved a password.

use email_address::{EmailAddress, Options};

use crate::error::MailProblem;

/// A syntactically valid address (RFC 5322 addr-spec) with a dotted domain; display names and
/// surrounding spaces are refused, since these addresses go into SES headers as they are.
pub fn is_valid(address: &str) -> bool {
    let options = Options {
        minimum_sub_domains: 2,
        allow_domain_literal: false,
        allow_display_text: false,
        allow_long_local_parts: false,
    };
    address.trim() == address
        && EmailAddress::parse_with_options(address, options)
            .is_ok_and(|a| !a.domain().ends_with('.'))
}

fn populated(field: Option<&str>) -> Option<&str> {
    field.filter(|s| !s.trim().is_empty())
}

/// Name.Email when populated, else Name_Address.Email. A populated but invalid Name.Email is an
/// error, not a reason to fall back: the user (or an admin) should know which field is wrong.
pub fn setup_recipient<'a>(
    name_email: Option<&'a str>,
    address_email: Option<&'a str>,
) -> Result<&'a str, MailProblem> {
    match populated(name_email).or(populated(address_email)) {
        None => Err(MailProblem::NoEmail),
        Some(addr) if is_valid(addr) => Ok(addr),
        Some(_) => Err(MailProblem::InvalidEmail),
    }
}

/// `jane@example.org` -> `j***@example.org`: enough to recognise, too little to harvest.
pub fn mask(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_email_wins_over_address_email() {
        assert_eq!(
            setup_recipient(Some("a@x.org"), Some("b@x.org")),
            Ok("a@x.org")
        );
    }

    #[test]
    fn address_email_is_the_fallback() {
        assert_eq!(setup_recipient(None, Some("b@x.org")), Ok("b@x.org"));
        assert_eq!(setup_recipient(Some("  "), Some("b@x.org")), Ok("b@x.org"));
    }

    #[test]
    fn invalid_name_email_is_not_silently_skipped() {
        assert_eq!(
            setup_recipient(Some("not-an-address"), Some("b@x.org")),
            Err(MailProblem::InvalidEmail)
        );
    }

    #[test]
    fn no_email_at_all() {
        assert_eq!(setup_recipient(None, None), Err(MailProblem::NoEmail));
        assert_eq!(
            setup_recipient(Some(""), Some("")),
            Err(MailProblem::NoEmail)
        );
    }

    #[test]
    fn validity() {
        for ok in ["jane@example.org", "j.doe+mfa@mail.example.co.uk"] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "jane",
            "jane@",
            "@example.org",
            "jane@localhost",
            "Jane <jane@example.org>",
            " jane@example.org",
            "a@b@c.org",
            "jane@example.org.",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn masking() {
        assert_eq!(mask("jane@example.org"), "j***@example.org");
        assert_eq!(mask("j@example.org"), "j***@example.org");
    }
}
