//! Identity providers (we are their relying party) under the `ORG` partition; the links from a
//! provider's subjects to our accounts, keyed by the provider's issuer; and the single-use states
//! and nonces of sign-ins through them.

use aws_sdk_dynamodb::types::ReturnValue;

use super::accounts::bytes;
use super::keys::{self, ORG, PROFILE, link_pk};
use super::{Item, Store, get_b, get_s, is_condition_failure, key, n, s, unavailable};
use crate::error::{Error, Result};
use crate::federation::{Endpoints, Provider, parse_jwks};
use crate::policy::ProviderKind;

fn kind_str(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Social => "social",
        ProviderKind::Sso => "sso",
    }
}

/// A sign-in through a provider, between the redirect there and the callback here.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FederatedState {
    pub provider: String,
    pub nonce: String,
    pub code_verifier: String,
    /// The hash of the browser's binding cookie: the callback must come from the same browser.
    pub binding: String,
    /// A pending OpenID Connect authorization (sealed) to continue afterwards.
    pub authorization: Option<String>,
}

impl Store {
    pub async fn put_provider(&self, p: &Provider) -> Result<()> {
        let mut item = keys::provider(&p.id);
        item.insert("id".into(), s(&p.id));
        item.insert("kind".into(), s(kind_str(p.kind)));
        item.insert("issuer".into(), s(&p.issuer));
        item.insert("audience".into(), s(&p.audience));
        item.insert("display_name".into(), s(&p.display_name));
        let jwks = serde_json::to_string(&p.jwks)
            .map_err(|e| Error::Internal(format!("encode jwks: {e}")))?;
        item.insert("jwks".into(), s(jwks));
        item.insert(
            "require_amr".into(),
            s(serde_json::Value::from(p.require_amr.clone()).to_string()),
        );
        if let Some(e) = &p.endpoints {
            let endpoints = serde_json::to_string(e)
                .map_err(|e| Error::Internal(format!("encode endpoints: {e}")))?;
            item.insert("endpoints".into(), s(endpoints));
        }
        if let Some(secret) = &p.sealed_secret {
            item.insert("sealed_secret".into(), bytes(secret));
        }
        self.put(item, "put provider").await
    }

    pub async fn get_provider(&self, id: &str) -> Result<Option<Provider>> {
        let item = self.get(keys::provider(id), "get provider").await?;
        item.as_ref().map(parse_provider).transpose()
    }

    /// False when there was no such provider.
    pub async fn delete_provider(&self, id: &str) -> Result<bool> {
        let out = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::provider(id)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("delete provider")(e)),
        }
    }

    /// Every provider, for the sign-in page's buttons.
    pub async fn list_providers(&self) -> Result<Vec<Provider>> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(ORG))
            .expression_attribute_values(":prefix", s(keys::PROVIDER_PREFIX))
            .send()
            .await
            .map_err(unavailable("query providers"))?;
        out.items().iter().map(parse_provider).collect()
    }

    /// Links an external identity (the provider's issuer and subject) to an account.
    pub async fn link_subject(
        &self,
        provider: &str,
        issuer: &str,
        subject: &str,
        username: &str,
    ) -> Result<()> {
        let mut item = key(link_pk(provider, issuer), &keys::link_sk(subject));
        item.insert("username".into(), s(username));
        self.put(item, "put link").await?;
        // The account remembers its links, so deleting it can remove them.
        self.db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::account(username, PROFILE)))
            .update_expression("ADD links :l")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(
                ":l",
                aws_sdk_dynamodb::types::AttributeValue::Ss(vec![format!(
                    "{}\n{}",
                    link_pk(provider, issuer),
                    subject
                )]),
            )
            .send()
            .await
            .map_err(unavailable("note link"))?;
        Ok(())
    }

    /// The account linked to a provider's `(issuer, subject)`, if any.
    pub async fn linked_username(
        &self,
        provider: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<String>> {
        let item = self
            .get(
                key(link_pk(provider, issuer), &keys::link_sk(subject)),
                "get link",
            )
            .await?;
        Ok(item
            .as_ref()
            .and_then(|i| get_s(i, "username"))
            .map(str::to_owned))
    }

    /// Removes every link of `provider` under `issuer` (it now points elsewhere). Returns how many.
    pub async fn drop_links(&self, provider: &str, issuer: &str) -> Result<usize> {
        let mut dropped = 0;
        let mut pages = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(link_pk(provider, issuer)))
            .projection_expression("pk, sk")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(unavailable("query links"))?;
            for item in page.items() {
                let (Some(pk), Some(sk)) = (get_s(item, "pk"), get_s(item, "sk")) else {
                    continue;
                };
                self.db
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, sk)))
                    .send()
                    .await
                    .map_err(unavailable("delete link"))?;
                dropped += 1;
            }
        }
        Ok(dropped)
    }

    pub async fn put_federated_state(
        &self,
        hash: &str,
        state: &FederatedState,
        expires_at: u64,
    ) -> Result<()> {
        let mut item = keys::federated_state(hash);
        item.insert(
            "data".into(),
            s(serde_json::to_string(state)
                .map_err(|e| Error::Internal(format!("encode state: {e}")))?),
        );
        item.insert("expires_at".into(), n(expires_at));
        item.insert("ttl".into(), n(expires_at));
        self.put(item, "put federated state").await
    }

    /// Takes a sign-in state once (a replayed callback finds nothing).
    pub async fn take_federated_state(
        &self,
        hash: &str,
        now: u64,
    ) -> Result<Option<FederatedState>> {
        let out = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::federated_state(hash)))
            .condition_expression("expires_at > :now")
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match out {
            Ok(o) => Ok(o
                .attributes()
                .and_then(|i| get_s(i, "data"))
                .and_then(|d| serde_json::from_str(d).ok())),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(unavailable("take federated state")(e)),
        }
    }

    /// A nonce issued for a raw ID token from `provider`.
    pub async fn put_nonce(&self, hash: &str, provider: &str, expires_at: u64) -> Result<()> {
        let mut item = keys::nonce(hash);
        item.insert("provider".into(), s(provider));
        item.insert("expires_at".into(), n(expires_at));
        item.insert("ttl".into(), n(expires_at));
        self.put(item, "put nonce").await
    }

    /// Uses up a nonce issued for `provider`; false when there is none (never issued, used, expired).
    pub async fn take_nonce(&self, hash: &str, provider: &str, now: u64) -> Result<bool> {
        let out = self
            .db
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::nonce(hash)))
            .condition_expression("provider = :p AND expires_at > :now")
            .expression_attribute_values(":p", s(provider))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable("take nonce")(e)),
        }
    }
}

fn parse_provider(item: &Item) -> Result<Provider> {
    let corrupt = |what: &str| Error::Internal(format!("provider item: {what}"));
    let jwks: serde_json::Value = get_s(item, "jwks")
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(|| corrupt("jwks"))?;
    let id = get_s(item, "id").ok_or_else(|| corrupt("id"))?.to_owned();
    Ok(Provider {
        kind: match get_s(item, "kind") {
            Some("social") => ProviderKind::Social,
            Some("sso") => ProviderKind::Sso,
            _ => return Err(corrupt("kind")),
        },
        issuer: get_s(item, "issuer")
            .ok_or_else(|| corrupt("issuer"))?
            .to_owned(),
        audience: get_s(item, "audience")
            .ok_or_else(|| corrupt("audience"))?
            .to_owned(),
        display_name: get_s(item, "display_name").unwrap_or(&id).to_owned(),
        jwks: parse_jwks(&jwks).map_err(|e| corrupt(&e))?,
        require_amr: get_s(item, "require_amr")
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default(),
        endpoints: get_s(item, "endpoints").and_then(|e| serde_json::from_str::<Endpoints>(e).ok()),
        sealed_secret: get_b(item, "sealed_secret").map(<[u8]>::to_vec),
        id,
    })
}
