//! The state a function builds once per cold start: configuration, AWS clients, keys, clock.
//! Handlers borrow it; nothing in it is built per request.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::audit::{Action, Outcome};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::federation::Provider as IdentityProvider;
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::outbound::Outbound;
use crate::signing::KeyRing;
use crate::store::Store;
use crate::store::audit::AuditEntry;
use jsonwebtoken::jwk::JwkSet;
use std::collections::HashMap;

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub mailer: Mailer,
    pub keys: Arc<Keys>,
    pub clock: Clock,
    /// The token signing keys, read from the table and kept for `KEY_RING_SECS`.
    key_ring: Arc<tokio::sync::Mutex<Option<CachedRing>>>,
    /// Calls to identity providers (discovery, keys, code exchange).
    pub outbound: Outbound,
    /// The audit retention (seconds) and when it was read.
    audit_retention: Arc<tokio::sync::Mutex<Option<(u64, u64)>>>,
    /// Identity providers' keys by provider id, and when they were fetched: kept per cold start.
    provider_keys: Arc<tokio::sync::Mutex<HashMap<String, HeldKeys>>>,
    /// Table entries this instance wrote for anonymous callers, per (actor, action, outcome).
    anonymous_audit: Arc<std::sync::Mutex<HashMap<NoiseKey, NoiseWindow>>>,
}

/// An anonymous audit entry's (actor, action, outcome).
type NoiseKey = (String, String, String);

/// Table entries per (actor, action, outcome) per instance per minute for anonymous callers; the
/// rest are only logged, and the next entry written says how many were left out.
const ANONYMOUS_ENTRIES_PER_MINUTE: u64 = 20;

#[derive(Clone, Copy, Debug, Default)]
struct NoiseWindow {
    minute: u64,
    written: u64,
    left_out: u64,
}

/// A provider's keys as an instance holds them.
struct HeldKeys {
    fetched_at: u64,
    /// When a token naming a key we did not hold last made us fetch.
    unknown_kid_at: u64,
    keys: JwkSet,
}

/// An unknown `kid` refetches a provider's keys at most this often (a flood of made-up key ids
/// cannot turn into a flood of fetches).
const KEY_REFETCH_SECS: u64 = 60;
/// A provider's keys are fetched again at least this often, whatever the tokens name.
const KEY_MAX_AGE_SECS: u64 = 3600;

/// The signing keys an instance holds, and when it read them.
type CachedRing = (u64, Arc<KeyRing>);

/// How long an instance keeps the signing keys it read: a rotation reaches every instance within
/// this, long before the new `next` key is used (it is published two hours ahead).
const KEY_RING_SECS: u64 = 5 * 60;

/// The root certificates AWS's endpoints chain to (Amazon Trust Services: Amazon Root CA 1-4 and
/// the Starfield Services G2 root that cross-signs them), compiled in. The AWS clients trust these
/// and nothing else: no certificate from another authority is accepted for an AWS API, and the
/// system's trust store (some 300 files, 3 ms of every cold start) is never read.
const AWS_ROOTS_PEM: &str = include_str!("aws_roots.pem");

/// What a function reads during init beside its keys (`App::connect_preloading`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preload {
    /// The settings item: every function's first request reads it, or writes an audit entry
    /// whose retention it gives.
    pub settings: bool,
    /// The token signing keys (the OpenID Connect endpoints), read with the settings in one Query
    /// of the organisation's partition.
    pub signing_keys: bool,
}

impl Preload {
    pub const NOTHING: Preload = Preload {
        settings: false,
        signing_keys: false,
    };
    pub const SETTINGS: Preload = Preload {
        settings: true,
        signing_keys: false,
    };
    pub const SETTINGS_AND_SIGNING_KEYS: Preload = Preload {
        settings: true,
        signing_keys: true,
    };
}

/// The one HTTP client of every AWS client: hyper with rustls on ring (ring is already linked for
/// SigV4; a second TLS crypto library would only add megabytes to each binary).
pub fn http_client() -> Result<SharedHttpClient> {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AWS_ROOTS_PEM.as_bytes());
    let tls = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| Error::Internal(format!("TLS context: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https())
}

/// The SDK configuration: region and credentials from the default chains (environment, profile
/// files, SSO: what an operator running `mfa-admin` has), `AWS_ENDPOINT_URL` honoured, and
/// timeouts short enough that a dead dependency becomes a 503 well inside the function's timeout
/// instead of a hung invocation.
pub async fn sdk_config() -> Result<SdkConfig> {
    Ok(loader()?.load().await)
}

/// A function's SDK configuration: `sdk_config`, with credentials read from the environment only.
/// Lambda's runtime puts the execution role's credentials there; the default chain's set-up (profile
/// files, web identity with its own STS client and endpoint rules) was a tenth of every init.
pub async fn function_sdk_config() -> Result<SdkConfig> {
    Ok(loader()?
        .credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .load()
        .await)
}

fn loader() -> Result<aws_config::ConfigLoader> {
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client()?)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3)))
}

impl App {
    /// Builds the clients and fetches the keys. Fails the cold start if the keys cannot be read.
    pub async fn connect(config: Config, sdk: &SdkConfig, clock: Clock) -> Result<App> {
        Self::connect_preloading(config, sdk, clock, Preload::NOTHING).await
    }

    /// `connect`, reading at the same time what the function's first request will need, so that
    /// it is no slower than the tenth: the reads also open the DynamoDB connection during init,
    /// which would otherwise be the first request's TCP and TLS handshakes. A failed read here is
    /// only logged; the request that needs it reads again (and answers 503 if it still fails).
    pub async fn connect_preloading(
        config: Config,
        sdk: &SdkConfig,
        clock: Clock,
        preload: Preload,
    ) -> Result<App> {
        let store = Store::new(aws_sdk_dynamodb::Client::new(sdk), &config.table_name);
        let secrets = aws_sdk_secretsmanager::Client::new(sdk);
        let (keys, org) = tokio::join!(Keys::load(&secrets, &config.keys_secret_id), async {
            match (preload.settings, preload.signing_keys) {
                (_, true) => Some(
                    store
                        .settings_and_signing_keys()
                        .await
                        .map(|(s, k)| (s, Some(k))),
                ),
                (true, false) => Some(store.get_settings().await.map(|s| (s, None))),
                (false, false) => None,
            }
        });
        let keys = keys?;
        let now = clock.now();
        let (settings, sealed) = match org {
            Some(Ok((settings, sealed))) => (Some(settings), sealed),
            Some(Err(e)) => {
                tracing::warn!(error = ?e, "init: settings not read");
                (None, None)
            }
            None => (None, None),
        };
        let audit_retention = settings.map(|s| (now, u64::from(s.audit_retention_days()) * 86_400));
        let key_ring = sealed.and_then(|sealed| {
            crate::flows::signing_keys::open(sealed, &keys)
                .and_then(|opened| Ok((now, Arc::new(KeyRing::new(&opened)?))))
                .inspect_err(|e| tracing::warn!(error = ?e, "init: signing keys not opened"))
                .ok()
        });
        let outbound = Outbound::new(crate::outbound::is_local(config.public_base_url.as_deref()));
        Ok(App {
            config: Arc::new(config),
            store,
            mailer: Mailer::new(sdk),
            keys: Arc::new(keys),
            clock,
            key_ring: Arc::new(tokio::sync::Mutex::new(key_ring)),
            outbound,
            provider_keys: Arc::default(),
            audit_retention: Arc::new(tokio::sync::Mutex::new(audit_retention)),
            anonymous_audit: Arc::default(),
        })
    }

    /// The keys to check a token from `provider` against: the ones held, or, when the token's
    /// `kid` is not among them (the provider rotated), its `jwks_uri` fetched again, at most once a
    /// minute.
    pub async fn provider_keys(
        &self,
        provider: &IdentityProvider,
        kid: Option<&str>,
    ) -> Result<JwkSet> {
        let Some(endpoints) = &provider.endpoints else {
            return Ok(provider.jwks.clone());
        };
        let now = self.now();
        let mut cache = self.provider_keys.lock().await;
        let held = cache
            .entry(provider.id.clone())
            .or_insert_with(|| HeldKeys {
                fetched_at: 0,
                unknown_kid_at: 0,
                keys: provider.jwks.clone(),
            });
        let known = kid.is_some_and(|k| held.keys.find(k).is_some());
        let unknown_kid = !known && held.unknown_kid_at + KEY_REFETCH_SECS <= now;
        // Keys a provider removed (after a compromise, say) stop being trusted within the hour.
        let stale = held.fetched_at + KEY_MAX_AGE_SECS <= now;
        if unknown_kid || stale {
            // Counted before the call: a provider that is down is not asked again meanwhile.
            held.fetched_at = now;
            if unknown_kid {
                held.unknown_kid_at = now;
            }
            let doc = self.outbound.get_json(&endpoints.jwks_uri).await?;
            held.keys = crate::federation::parse_jwks(&doc).map_err(|e| {
                Error::unavailable(format!("identity provider {} keys: {e}", provider.id))
            })?;
        }
        Ok(held.keys.clone())
    }

    /// The signing keys, opened from the table (sealed with the data key, the key id as
    /// associated data), at most `KEY_RING_SECS` old.
    pub async fn key_ring(&self) -> Result<Arc<KeyRing>> {
        let now = self.now();
        let mut cached = self.key_ring.lock().await;
        if let Some((at, ring)) = cached.as_ref()
            && now < at + KEY_RING_SECS
            && *at <= now
        {
            return Ok(ring.clone());
        }
        let stored = crate::flows::signing_keys::open_all(&self.store, &self.keys).await?;
        let ring = Arc::new(KeyRing::new(&stored)?);
        *cached = Some((now, ring.clone()));
        Ok(ring)
    }

    /// The issuer: the configured public base URL, else the API's own address from API Gateway's
    /// request context (stable for a deployment, and never the client's Host header).
    pub fn issuer(&self, api_base: Option<&str>) -> Result<String> {
        self.config
            .public_base_url
            .as_deref()
            .or(api_base)
            .map(|b| b.trim_end_matches('/').to_owned())
            .ok_or_else(|| Error::Internal("no issuer: set PUBLIC_BASE_URL".into()))
    }

    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Records an audit event: a structured log line always, and an item in the table. A failed
    /// audit write is logged and does not undo what already happened.
    pub async fn audit(&self, actor: &str, action: Action, target: &str, outcome: Outcome) {
        self.audit_detail(actor, action, target, outcome, None)
            .await
    }

    /// An audit entry with the detail of a change (before and after, as JSON). The origin (source
    /// address, user agent, request id) is the request's. The JSON log line is the second copy.
    pub async fn audit_detail(
        &self,
        actor: &str,
        action: Action,
        target: &str,
        outcome: Outcome,
        detail: Option<&serde_json::Value>,
    ) {
        if let Some(line) = crate::metrics::audit_line(action, outcome, self.clock.now_ms()) {
            crate::metrics::emit(&line);
        }
        let (action, outcome) = (action.as_str(), outcome.as_str());
        let origin = crate::origin::Origin::current();
        // Anonymous noise past its share goes to the log only: the log groups are the record,
        // the table its index.
        let left_out = self.anonymous_noise(actor, action, outcome);
        let detail = match (detail, left_out) {
            (None, Some(n)) if n > 0 => {
                Some(serde_json::json!({ "similar_not_in_table_before": n }))
            }
            (d, _) => d.cloned(),
        };
        let detail = detail.map(|d| d.to_string()).unwrap_or_default();
        tracing::info!(
            audit = true,
            actor,
            action,
            target,
            outcome,
            source = origin.source,
            request_id = origin.request_id,
            detail,
            table = left_out.is_some(),
            "audit"
        );
        if left_out.is_none() {
            return;
        }
        let entry = AuditEntry {
            at: self.now(),
            at_nanos: self.clock.subsec_nanos(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            outcome: outcome.to_owned(),
            source: origin.source,
            user_agent: origin.user_agent,
            request_id: origin.request_id,
            detail,
        };
        let retention = self.audit_retention_secs().await;
        if let Err(e) = self.store.append_audit(&entry, retention).await {
            tracing::error!(error = ?e, action, "audit write failed");
        }
    }

    /// For an anonymous caller's entry: Some(how many like it were left out of the table since the
    /// last one written) when this one goes in, None when this instance has written its share of
    /// them this minute. Every other entry goes in.
    fn anonymous_noise(&self, actor: &str, action: &str, outcome: &str) -> Option<u64> {
        if !crate::audit::ANONYMOUS_ACTORS.contains(&actor) {
            return Some(0);
        }
        let minute = self.now() / 60;
        let mut seen = self
            .anonymous_audit
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let w = seen
            .entry((actor.to_owned(), action.to_owned(), outcome.to_owned()))
            .or_default();
        if w.minute != minute {
            w.minute = minute;
            w.written = 0;
        }
        if w.written >= ANONYMOUS_ENTRIES_PER_MINUTE {
            w.left_out += 1;
            return None;
        }
        w.written += 1;
        Some(std::mem::take(&mut w.left_out))
    }

    /// The newest `limit` audit entries (of the last month), newest first.
    pub async fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let q = crate::store::audit::AuditQuery {
            until: self.now(),
            limit,
            ..Default::default()
        };
        Ok(self.store.audit_page(&q).await?.0)
    }

    /// The audit retention setting, read at most every `KEY_RING_SECS` per instance.
    async fn audit_retention_secs(&self) -> u64 {
        let now = self.now();
        let mut cached = self.audit_retention.lock().await;
        if let Some((at, secs)) = *cached
            && now < at + KEY_RING_SECS
            && at <= now
        {
            return secs;
        }
        let days = match self.store.get_settings().await {
            Ok(s) => s.audit_retention_days(),
            Err(_) => crate::store::settings::DEFAULT_AUDIT_RETENTION_DAYS,
        };
        let secs = u64::from(days) * 86_400;
        *cached = Some((now, secs));
        secs
    }
}
