//! Metrics as CloudWatch's embedded metric format (EMF): JSON log lines that CloudWatch Logs turns
//! into metrics as it ingests them, so counting costs no AWS call on the request path. Two kinds
//! of line: one per request (from the edge of every router: requests, server errors, dependency
//! failures, latency, by function) and one per audit event that a metric counts (sign-ins by
//! outcome, codes accepted and refused, lock-outs, setup mails sent and failed, tokens issued).
//!
//! The set is small on purpose: each (metric, dimension values) is a CloudWatch metric billed
//! by the month. The metrics the template's alarms watch are also published without dimensions.

use serde_json::{Map, Value, json};

use crate::audit::{Action, Outcome};

/// The CloudWatch namespace of every metric here.
pub const NAMESPACE: &str = "StaffMfa";

/// A metric an audit event counts, and whether it is split by the event's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    pub metric: &'static str,
    pub by_outcome: bool,
}

/// Which metric, if any, counts an audit event. Lock-outs are counted whatever was locked.
pub fn counted(action: Action, outcome: Outcome) -> Option<Counted> {
    let plain = |metric| {
        Some(Counted {
            metric,
            by_outcome: false,
        })
    };
    if matches!(outcome, Outcome::Locked | Outcome::Throttled) {
        return plain("LockOuts");
    }
    match (action, outcome) {
        (Action::SignIn, _) => Some(Counted {
            metric: "SignIns",
            by_outcome: true,
        }),
        (
            Action::MfaVerify | Action::Reauthenticate,
            Outcome::Success | Outcome::RecoveryCodeUsed,
        ) => plain("CodesAccepted"),
        (
            Action::MfaVerify | Action::Reauthenticate,
            Outcome::InvalidCode
            | Outcome::ReplayRefused
            | Outcome::InvalidPasskey
            | Outcome::CounterRegressed
            | Outcome::PasskeyRequired,
        ) => plain("CodesRefused"),
        (Action::SetupEmail, Outcome::Sent) => plain("SetupMailsSent"),
        (Action::SetupEmail, Outcome::SendFailed) => plain("SetupMailsFailed"),
        (Action::Token | Action::Refresh, Outcome::Issued) => plain("TokensIssued"),
        _ => None,
    }
}

/// Metrics the alarms watch: published without dimensions too (an alarm reads one metric).
const ALARMED: [&str; 4] = [
    "CodesRefused",
    "LockOuts",
    "DependencyFailures",
    "ServerErrors",
];

/// One EMF document: `metrics` (name, unit, value) under `dimensions` (name, value), at `now_ms`,
/// with `properties` beside them (searchable in Logs Insights, not metrics).
fn document(
    metrics: &[(&str, &str, f64)],
    dimensions: &[(&str, &str)],
    properties: Map<String, Value>,
    now_ms: u64,
) -> Value {
    let names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    // A directive's metrics share its dimension sets: the alarmed ones get a directive of their
    // own that adds the set without dimensions, so no other metric is published twice.
    let (alarmed, plain): (Vec<_>, Vec<_>) = metrics
        .iter()
        .partition(|(m, _, _)| ALARMED.contains(m) && !names.is_empty());
    let directive = |of: &[&(&str, &str, f64)], sets: Value| {
        json!({
            "Namespace": NAMESPACE,
            "Dimensions": sets,
            "Metrics": of.iter().map(|(name, unit, _)| json!({ "Name": name, "Unit": unit })).collect::<Vec<_>>(),
        })
    };
    let mut directives = vec![];
    if !plain.is_empty() {
        directives.push(directive(&plain, json!([names])));
    }
    if !alarmed.is_empty() {
        directives.push(directive(&alarmed, json!([names, []])));
    }
    let mut doc = properties;
    doc.insert(
        "_aws".into(),
        json!({ "Timestamp": now_ms, "CloudWatchMetrics": directives }),
    );
    for (k, v) in dimensions {
        doc.insert((*k).into(), json!(v));
    }
    for (name, _, value) in metrics {
        doc.insert((*name).into(), json!(value));
    }
    Value::Object(doc)
}

/// A request as the edge of a router saw it.
pub struct RequestDone<'a> {
    pub function: &'a str,
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub latency_ms: f64,
    pub request_id: &'a str,
}

/// The line for one request: by function (Lambda's name for it).
pub fn request_line(r: &RequestDone<'_>, now_ms: u64) -> Value {
    let RequestDone {
        function,
        method,
        route,
        status,
        latency_ms,
        request_id,
    } = *r;
    let mut properties = Map::new();
    properties.insert("message".into(), json!("request"));
    properties.insert("method".into(), json!(method));
    properties.insert("route".into(), json!(route));
    properties.insert("status".into(), json!(status));
    properties.insert("request_id".into(), json!(request_id));
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    document(
        &[
            ("Requests", "Count", 1.0),
            ("ServerErrors", "Count", flag(status >= 500)),
            // A 503 is what a failing AWS call (DynamoDB, Secrets Manager, SES) becomes.
            ("DependencyFailures", "Count", flag(status == 503)),
            ("Latency", "Milliseconds", latency_ms),
        ],
        &[("Function", function)],
        properties,
        now_ms,
    )
}

/// The line for an audit event a metric counts, if one does. It names no user: the audit log
/// line beside it does.
pub fn audit_line(action: Action, outcome: Outcome, now_ms: u64) -> Option<Value> {
    let c = counted(action, outcome)?;
    let mut properties = Map::new();
    properties.insert("message".into(), json!("metric"));
    properties.insert("action".into(), json!(action.as_str()));
    let outcome_dim = [("Outcome", outcome.as_str())];
    let dimensions: &[(&str, &str)] = if c.by_outcome { &outcome_dim } else { &[] };
    if !c.by_outcome {
        properties.insert("outcome".into(), json!(outcome.as_str()));
    }
    Some(document(
        &[(c.metric, "Count", 1.0)],
        dimensions,
        properties,
        now_ms,
    ))
}

/// The schedule's line, once a minute: whether the token signing keys are overdue for rotation (a
/// rotation was due and failed). Its alarm also fires when the line stops (the schedule stopped).
pub fn schedule_line(rotation_overdue: bool, now_ms: u64) -> Value {
    let mut properties = Map::new();
    properties.insert("message".into(), json!("schedule"));
    document(
        &[(
            "SigningKeysOverdue",
            "Count",
            if rotation_overdue { 1.0 } else { 0.0 },
        )],
        &[],
        properties,
        now_ms,
    )
}

/// Writes a line to standard output, where Lambda sends it to the function's log group.
pub fn emit(line: &Value) {
    println!("{line}");
}

/// The documented metrics (docs/operations.md, "Operating it") with their dimension sets, for the check
/// that every line is well formed (`tests/integration`, the load run's log check).
pub const DOCUMENTED: [(&str, &[&[&str]]); 12] = [
    ("Requests", &[&["Function"]]),
    ("ServerErrors", &[&["Function"], &[]]),
    ("DependencyFailures", &[&["Function"], &[]]),
    ("Latency", &[&["Function"]]),
    ("SignIns", &[&["Outcome"]]),
    ("CodesAccepted", &[&[]]),
    ("CodesRefused", &[&[]]),
    ("LockOuts", &[&[]]),
    ("SetupMailsSent", &[&[]]),
    ("SetupMailsFailed", &[&[]]),
    ("TokensIssued", &[&[]]),
    ("SigningKeysOverdue", &[&[]]),
];

/// What CloudWatch requires of an EMF document (a millisecond timestamp; one directive in our
/// namespace; every dimension a non-empty string and every metric a number at the root; known
/// units), and that its metrics are documented ones, each under its documented dimension sets.
/// Used by the tests and by the check of the local stack's logs (`tests/examples/emf_check.rs`).
pub fn check(doc: &Value) -> std::result::Result<(), String> {
    let fail = |what: &str| Err(format!("{what}: {doc}"));
    let aws = &doc["_aws"];
    if aws["Timestamp"].as_u64().is_none() {
        return fail("no millisecond Timestamp");
    }
    let Some(directives) = aws["CloudWatchMetrics"]
        .as_array()
        .filter(|d| !d.is_empty())
    else {
        return fail("no CloudWatchMetrics directive");
    };
    for d in directives {
        if d["Namespace"] != NAMESPACE {
            return fail("another namespace");
        }
        let mut sets: Vec<Vec<&str>> = vec![];
        for set in d["Dimensions"].as_array().into_iter().flatten() {
            let keys: Vec<&str> = set
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for key in &keys {
                if doc[*key].as_str().is_none_or(str::is_empty) {
                    return fail(&format!(
                        "dimension {key} is not a non-empty string at the root"
                    ));
                }
            }
            sets.push(keys);
        }
        for m in d["Metrics"].as_array().into_iter().flatten() {
            let Some(name) = m["Name"].as_str() else {
                return fail("a metric without a name");
            };
            if !doc[name].is_number() {
                return fail(&format!("metric {name} is not a number at the root"));
            }
            if !["Count", "Milliseconds"].contains(&m["Unit"].as_str().unwrap_or("")) {
                return fail(&format!("metric {name} has an unknown unit"));
            }
            let Some((_, wanted)) = DOCUMENTED.iter().find(|(n, _)| *n == name) else {
                return fail(&format!("metric {name} is not documented"));
            };
            // Exactly the documented sets: each is a metric stream, billed by the month.
            let wanted: Vec<Vec<&str>> = wanted.iter().map(|s| s.to_vec()).collect();
            if wanted != sets {
                return fail(&format!(
                    "metric {name} has dimension sets {sets:?}, documented {wanted:?}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(doc: &Value) {
        if let Err(e) = super::check(doc) {
            panic!("{e}");
        }
    }

    #[test]
    fn a_request_line_is_emf_with_the_documented_dimensions() {
        let done = |status| RequestDone {
            function: "staff-mfa-SignIn",
            method: "POST",
            route: "/sign-in",
            status,
            latency_ms: 12.5,
            request_id: "r-1",
        };
        let ok = request_line(&done(200), 1_700_000_000_000);
        check(&ok);
        // Requests and Latency by function only; the alarmed two also without dimensions.
        let d = &ok["_aws"]["CloudWatchMetrics"];
        assert_eq!(d[0]["Dimensions"], json!([["Function"]]));
        assert_eq!(d[1]["Dimensions"], json!([["Function"], []]));
        assert_eq!(d[1]["Metrics"][0]["Name"], "ServerErrors");
        assert_eq!(
            (
                ok["ServerErrors"].as_f64(),
                ok["DependencyFailures"].as_f64()
            ),
            (Some(0.0), Some(0.0))
        );
        let failed = request_line(&done(503), 1);
        check(&failed);
        assert_eq!(
            (
                failed["ServerErrors"].as_f64(),
                failed["DependencyFailures"].as_f64()
            ),
            (Some(1.0), Some(1.0))
        );
        assert_eq!(failed["Function"], "staff-mfa-SignIn");
        // A line another kind of document, or a metric nobody documented, fails the check.
        let mut odd = ok.clone();
        odd["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] = json!("Surprise");
        odd["Surprise"] = json!(1);
        assert!(super::check(&odd).is_err());
        assert!(super::check(&json!({ "message": "request" })).is_err());
    }

    #[test]
    fn the_schedules_line_is_documented() {
        for overdue in [false, true] {
            let line = schedule_line(overdue, 1);
            check(&line);
            assert_eq!(line["SigningKeysOverdue"], if overdue { 1.0 } else { 0.0 });
        }
    }

    #[test]
    fn audit_events_count_in_the_documented_metrics() {
        let sign_in = audit_line(Action::SignIn, Outcome::InvalidCredentials, 1).unwrap();
        check(&sign_in);
        assert_eq!(sign_in["Outcome"], "invalid_credentials");
        for (action, outcome, metric) in [
            (Action::MfaVerify, Outcome::Success, "CodesAccepted"),
            (
                Action::MfaVerify,
                Outcome::RecoveryCodeUsed,
                "CodesAccepted",
            ),
            (Action::MfaVerify, Outcome::InvalidCode, "CodesRefused"),
            (Action::MfaVerify, Outcome::InvalidPasskey, "CodesRefused"),
            (Action::MfaVerify, Outcome::CounterRegressed, "CodesRefused"),
            (Action::MfaVerify, Outcome::PasskeyRequired, "CodesRefused"),
            (Action::MfaVerify, Outcome::Locked, "LockOuts"),
            (Action::SignIn, Outcome::Throttled, "LockOuts"),
            (Action::SetupEmail, Outcome::Sent, "SetupMailsSent"),
            (Action::Token, Outcome::Issued, "TokensIssued"),
        ] {
            let line = audit_line(action, outcome, 1).unwrap();
            check(&line);
            assert_eq!(line[metric], 1.0, "{line}");
            assert!(
                line.get("actor").is_none() && line.get("target").is_none(),
                "no user in it"
            );
        }
        assert!(audit_line(Action::SettingsChange, Outcome::Updated, 1).is_none());
    }

    #[test]
    fn every_documented_metric_is_written_somewhere() {
        let mut seen: Vec<String> = vec![];
        let request = request_line(
            &RequestDone {
                function: "f",
                method: "GET",
                route: "/",
                status: 200,
                latency_ms: 1.0,
                request_id: "",
            },
            1,
        );
        for (name, _) in DOCUMENTED {
            if request.get(name).is_some() {
                seen.push(name.into());
            }
        }
        for action in Action::ALL {
            for outcome in Outcome::ALL {
                if let Some(c) = counted(*action, *outcome) {
                    seen.push(c.metric.into());
                }
            }
        }
        let schedule = schedule_line(false, 1);
        for (name, _) in DOCUMENTED {
            if schedule.get(name).is_some() {
                seen.push(name.into());
            }
        }
        for (name, _) in DOCUMENTED {
            assert!(seen.iter().any(|s| s == name), "{name} is never written");
        }
        // And the other way: everything written is documented, and every line it makes checks.
        for name in &seen {
            assert!(
                DOCUMENTED.iter().any(|(n, _)| n == name),
                "{name} is written but not documented"
            );
        }
        for action in Action::ALL {
            for outcome in Outcome::ALL {
                if let Some(line) = audit_line(*action, *outcome, 1) {
                    check(&line);
                }
            }
        }
        check(&request);
    }
}
