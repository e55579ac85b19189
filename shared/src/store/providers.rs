//! Identity providers configured by administrators, under the `ORG` partition.

use super::settings::ORG;
use super::{Store, get_s, key, s};
use crate::error::{Error, Result};
use crate::federation::{Provider, parse_jwks};
use crate::policy::ProviderKind;

fn provider_sk(id: &str) -> String {
    format!("PROVIDER#{id}")
}

impl Store {
    pub async fn put_provider(
        &self,
        id: &str,
        kind: ProviderKind,
        issuer: &str,
        audience: &str,
        jwks: &serde_json::Value,
        require_amr: &[String],
    ) -> Result<()> {
        let mut item = key(ORG, &provider_sk(id));
        item.insert("id".into(), s(id));
        item.insert(
            "kind".into(),
            s(match kind {
                ProviderKind::Social => "social",
                ProviderKind::Sso => "sso",
            }),
        );
        item.insert("issuer".into(), s(issuer));
        item.insert("audience".into(), s(audience));
        item.insert("jwks".into(), s(jwks.to_string()));
        item.insert(
            "require_amr".into(),
            s(serde_json::Value::from(require_amr.to_vec()).to_string()),
        );
        self.put(item, "put provider").await
    }

    pub async fn get_provider(&self, id: &str) -> Result<Option<Provider>> {
        let item = self.get(key(ORG, &provider_sk(id)), "get provider").await?;
        let Some(item) = item.as_ref() else {
            return Ok(None);
        };
        let corrupt = |what: &str| Error::Internal(format!("provider item: {what}"));
        let jwks: serde_json::Value = get_s(item, "jwks")
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or_else(|| corrupt("jwks"))?;
        Ok(Some(Provider {
            id: id.to_owned(),
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
            jwks: parse_jwks(&jwks).map_err(|e| corrupt(&e))?,
            require_amr: get_s(item, "require_amr")
                .and_then(|r| serde_json::from_str(r).ok())
                .unwrap_or_default(),
        }))
    }
}
