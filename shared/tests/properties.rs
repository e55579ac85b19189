//! Property tests for every parser of untrusted text: whatever arrives, no panic, and the
//! round-trips and invariants hold. A fixed seed makes every run the same (256 cases each;
//! `PROPTEST_CASES` sets more).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use shared::account::normalise_username;
use shared::oidc::{AuthorizeParams, AuthorizeRefusal, check_authorization, is_redirect_uri};
use shared::store::audit::{AuditEntry, is_cursor};
use shared::totp::Code;

proptest! {
    #![proptest_config(ProptestConfig {
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_129),
        ..ProptestConfig::default()
    })]

    #[test]
    fn codes_parse_only_to_six_digits(input in ".{0,20}") {
        if let Ok(code) = Code::parse(&input) {
            prop_assert_eq!(code.as_str().len(), 6);
            prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn codes_as_apps_show_them_parse_to_their_digits(d in "[0-9]{6}", sep in prop::sample::select(vec!["", " ", "-"])) {
        let shown = format!("{}{sep}{}", &d[..3], &d[3..]);
        let code = Code::parse(&shown).unwrap();
        prop_assert_eq!(code.as_str(), d.as_str());
    }

    #[test]
    fn usernames_normalise_to_a_fixed_point_of_allowed_characters(input in "\\PC{0,80}") {
        if let Some(name) = normalise_username(&input) {
            prop_assert!((1..=64).contains(&name.len()));
            prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@-+".contains(&b)));
            prop_assert_eq!(normalise_username(&name), Some(name.clone()));
        }
    }

    #[test]
    fn tokens_are_checked_without_panicking(input in "\\PC{0,60}") {
        let _ = shared::token::is_well_formed(&input);
        prop_assert!(shared::token::is_well_formed(&shared::token::new_token().unwrap()));
    }

    #[test]
    fn authorization_codes_from_anyone_never_open(
        b64 in "[A-Za-z0-9_-]{0,300}",
        any in "\\PC{0,80}",
    ) {
        let secrets = shared::crypto::SecretBox::new(&[7; 32]);
        prop_assert!(shared::oidc::AuthorizationCode::open(&secrets, &b64).is_none());
        prop_assert!(shared::oidc::AuthorizationCode::open(&secrets, &any).is_none());
    }

    #[test]
    fn emails_and_the_setup_address_rule_never_panic(a in "\\PC{0,80}", b in "\\PC{0,80}") {
        let _ = shared::email::is_valid(&a);
        let _ = shared::email::setup_recipient(Some(&a), Some(&b));
        let _ = shared::email::mask(&a);
    }

    #[test]
    fn an_authorization_error_only_ever_redirects_to_a_registered_uri(
        client in "[a-z]{1,8}", redirect in "\\PC{0,40}", scope in "\\PC{0,20}",
        challenge in "[A-Za-z0-9_-]{0,50}", method in "\\PC{0,6}", prompt in "\\PC{0,8}", max_age in "\\PC{0,6}",
    ) {
        let registered = vec!["https://wiki.example.org/cb".to_owned()];
        let p = AuthorizeParams {
            response_type: Some("code".into()), client_id: Some(client), redirect_uri: Some(redirect),
            scope: Some(scope), code_challenge: Some(challenge), code_challenge_method: Some(method),
            prompt: Some(prompt), max_age: Some(max_age), ..Default::default()
        };
        match check_authorization(&p, Some(&registered)) {
            Err(AuthorizeRefusal::Redirect { redirect_uri, .. }) => prop_assert!(registered.contains(&redirect_uri)),
            Ok(req) => prop_assert!(registered.contains(&req.redirect_uri)),
            Err(AuthorizeRefusal::Page(_)) => {}
        }
    }

    #[test]
    fn redirect_uris_are_judged_without_panicking(uri in "\\PC{0,80}") {
        let _ = is_redirect_uri(&uri);
        let _ = shared::outbound::is_fetchable(&uri, false);
    }

    #[test]
    fn audit_cursors_are_checked_without_panicking(input in "\\PC{0,40}") {
        let _ = is_cursor(&input);
    }

    #[test]
    fn csv_cells_read_back_as_written_and_never_as_formulas(cells in prop::collection::vec("\\PC{0,20}", 9)) {
        let entry = AuditEntry {
            at: 0, at_nanos: 0, actor: cells[0].clone(), action: cells[1].clone(), target: cells[2].clone(),
            outcome: cells[3].clone(), source: cells[4].clone(), user_agent: cells[5].clone(),
            request_id: cells[6].clone(), detail: cells[7].clone(),
        };
        let text = shared::audit_csv::to_csv(&[entry]).unwrap();
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        for (i, written) in cells.iter().take(8).enumerate() {
            let read = &row[i + 1];
            prop_assert!(!read.starts_with(['=', '+', '-', '@', '\t', '\r']), "{read:?}");
            prop_assert_eq!(read, shared::audit_csv::neutralise(written));
        }
    }

    #[test]
    fn basic_credentials_never_panic(value in "\\PC{0,80}") {
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!("Basic {value}")) {
            headers.insert(axum::http::header::AUTHORIZATION, v);
        }
        let _ = shared::http::basic_credentials(&headers);
        let _ = shared::http::cookie_session(&headers);
    }

    #[test]
    fn jwt_headers_and_claims_from_anyone_never_panic(token in "[A-Za-z0-9_.=-]{0,120}") {
        let _ = shared::federation::key_id(&token);
    }
}
