//! Configuration from environment variables, read and checked once per cold start. A bad or
//! missing variable stops the cold start with a message naming it.

use thiserror::Error;

#[derive(Clone, Debug)]
pub struct Config {
    /// The DynamoDB table (`MFA_TABLE`).
    pub table_name: String,
    /// The Secrets Manager secret holding the keys (`MFA_KEYS_SECRET`).
    pub keys_secret_id: String,
    /// Where people reach the API, for links in mail (`PUBLIC_BASE_URL`, optional), without
    /// trailing slash. Unset on AWS: links then use the API's own domain from the request context
    /// (set by API Gateway, not by the client), which spares the template a cycle between the API
    /// and the functions.
    pub public_base_url: Option<String>,
    /// Idle session lifetime (`MFA_SESSION_IDLE_SECONDS`, default 1800).
    pub session_idle_secs: u64,
    /// Absolute session lifetime (`MFA_SESSION_MAX_SECONDS`, default 43200).
    pub session_max_secs: u64,
    /// Mails per second the rollout campaign may send (`MFA_SES_SEND_RATE`, default 1: SES's
    /// rate in its sandbox; an account out of it has a higher one, shown in the SES console).
    pub ses_send_rate: u64,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing required environment variable {0}")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let seconds = |name: &'static str, default: u64| match get(name) {
            None => Ok(default),
            Some(v) => {
                v.parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| ConfigError::Invalid {
                        name,
                        reason: format!("{v:?} is not a positive number of seconds"),
                    })
            }
        };
        let rate = |name: &'static str, default: u64| match get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|r| (1..=1000).contains(r))
                .ok_or_else(|| ConfigError::Invalid {
                    name,
                    reason: format!("{v:?} is not a number of mails per second from 1 to 1000"),
                }),
        };
        let public_base_url = get("PUBLIC_BASE_URL").filter(|v| !v.trim().is_empty());
        if let Some(url) = &public_base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError::Invalid {
                name: "PUBLIC_BASE_URL",
                reason: "must start with https:// (or http:// locally)".into(),
            });
        }
        let config = Config {
            table_name: required("MFA_TABLE")?,
            keys_secret_id: required("MFA_KEYS_SECRET")?,
            public_base_url: public_base_url.map(|u| u.trim_end_matches('/').to_owned()),
            session_idle_secs: seconds("MFA_SESSION_IDLE_SECONDS", 30 * 60)?,
            session_max_secs: seconds("MFA_SESSION_MAX_SECONDS", 12 * 60 * 60)?,
            ses_send_rate: rate("MFA_SES_SEND_RATE", 1)?,
        };
        if config.session_idle_secs > config.session_max_secs {
            return Err(ConfigError::Invalid {
                name: "MFA_SESSION_IDLE_SECONDS",
                reason: "must not exceed MFA_SESSION_MAX_SECONDS".into(),
            });
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const FULL: [(&str, &str); 3] = [
        ("MFA_TABLE", "t"),
        ("MFA_KEYS_SECRET", "s"),
        ("PUBLIC_BASE_URL", "https://mfa.example.org/"),
    ];

    #[test]
    fn defaults_apply() {
        let c = Config::from_lookup(env(&FULL)).unwrap();
        assert_eq!(c.session_idle_secs, 1800);
        assert_eq!(c.session_max_secs, 43200);
        assert_eq!(
            c.public_base_url.as_deref(),
            Some("https://mfa.example.org")
        );
    }

    #[test]
    fn each_missing_variable_is_named() {
        for skip in ["MFA_TABLE", "MFA_KEYS_SECRET"] {
            let pairs: Vec<_> = FULL.iter().copied().filter(|(k, _)| *k != skip).collect();
            let err = Config::from_lookup(env(&pairs)).unwrap_err();
            assert_eq!(err, ConfigError::Missing(skip));
            assert!(err.to_string().contains(skip));
        }
    }

    #[test]
    fn bad_numbers_are_named() {
        let mut pairs = FULL.to_vec();
        pairs.push(("MFA_SESSION_IDLE_SECONDS", "soon"));
        let err = Config::from_lookup(env(&pairs)).unwrap_err();
        assert!(
            err.to_string().contains("MFA_SESSION_IDLE_SECONDS"),
            "{err}"
        );
    }
}
