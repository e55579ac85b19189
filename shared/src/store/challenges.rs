//! Where a sign-in challenge's state lives (the challenge itself is sealed, `flows::challenge`):
//! its code attempts in the account's code-count item (`challenges`: id -> {f, x}), reserved with
//! the count by the same compare-and-swap, and its use in the MFA item (`used_challenges`: id ->
//! expiry), written with the step the accepted code used. Every write drops the entries of
//! challenges that expired, so neither item grows past the few challenges alive at once.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Item, n};
use crate::account::ChallengeFailures;

fn number(v: &AttributeValue) -> Option<u64> {
    v.as_n().ok().and_then(|n| n.parse().ok())
}

pub(crate) fn parse_failures(item: &Item) -> BTreeMap<String, ChallengeFailures> {
    let Some(Ok(map)) = item.get("challenges").map(AttributeValue::as_m) else {
        return BTreeMap::new();
    };
    map.iter()
        .filter_map(|(id, v)| {
            let m = v.as_m().ok()?;
            Some((
                id.clone(),
                ChallengeFailures {
                    failures: m.get("f").and_then(number)?,
                    expires_at: m.get("x").and_then(number)?,
                },
            ))
        })
        .collect()
}

/// The failures map as written at `now` (expired challenges dropped); None when empty.
pub(crate) fn failures_value(
    map: &BTreeMap<String, ChallengeFailures>,
    now: u64,
) -> Option<AttributeValue> {
    let live: std::collections::HashMap<String, AttributeValue> = map
        .iter()
        .filter(|(_, c)| c.expires_at > now)
        .map(|(id, c)| {
            let entry = [
                ("f".to_owned(), n(c.failures)),
                ("x".to_owned(), n(c.expires_at)),
            ];
            (id.clone(), AttributeValue::M(entry.into_iter().collect()))
        })
        .collect();
    (!live.is_empty()).then_some(AttributeValue::M(live))
}

pub(crate) fn parse_used(item: &Item) -> BTreeMap<String, u64> {
    let Some(Ok(map)) = item.get("used_challenges").map(AttributeValue::as_m) else {
        return BTreeMap::new();
    };
    map.iter()
        .filter_map(|(id, v)| Some((id.clone(), number(v)?)))
        .collect()
}

/// The used map as written at `now` with `id` added (expired challenges dropped).
pub(crate) fn used_value(
    map: &BTreeMap<String, u64>,
    id: &str,
    expires_at: u64,
    now: u64,
) -> AttributeValue {
    let mut live: std::collections::HashMap<String, AttributeValue> = map
        .iter()
        .filter(|(_, x)| **x > now)
        .map(|(id, x)| (id.clone(), n(*x)))
        .collect();
    live.insert(id.to_owned(), n(expires_at));
    AttributeValue::M(live)
}
