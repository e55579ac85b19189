//! Where the request being served came from: the source address and user agent as API Gateway saw
//! them, and the request id. Set once per request by the HTTP edge (a task-local), so every audit
//! entry carries them without each flow passing them along. Outside a request (`mfa-admin`), the
//! origin is the operator's command line.

/// Longest user agent recorded: enough to tell browsers and tools apart, not a place to store text.
pub const MAX_USER_AGENT: usize = 256;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub source: String,
    pub user_agent: String,
    pub request_id: String,
}

tokio::task_local! {
    static CURRENT: Origin;
}

impl Origin {
    pub fn new(source: &str, user_agent: &str, request_id: &str) -> Origin {
        let user_agent: String = user_agent
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_USER_AGENT)
            .collect();
        Origin {
            source: source.chars().take(64).collect(),
            user_agent,
            request_id: request_id.chars().take(128).collect(),
        }
    }

    /// The origin of the request being served, or the command line's.
    pub fn current() -> Origin {
        CURRENT
            .try_with(Origin::clone)
            .unwrap_or_else(|_| Origin::new("command-line", "mfa-admin", ""))
    }

    /// Runs `f` with this origin as the current one.
    pub async fn scope<F: std::future::Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }
}
