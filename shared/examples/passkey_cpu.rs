//! The CPU a passkey sign-in's check spends beside a code's, outside AWS calls: for the passkey,
//! read the ceremony's state (JSON) and verify the assertion (`webauthn-rs`: client data, origin,
//! RP ID hash, flags, an ECDSA P-256 signature, the counter); for the code, open the sealed secret
//! (AES-256-GCM) and match the code against three TOTP steps. The assertions are made beforehand
//! by a software authenticator and not timed. Median of 2,000 each. Part of `make bench`.

use std::time::Instant;

use shared::crypto::SecretBox;
use shared::passkey::{StoredPasskey, check_assertion, credential_id, relying_party};
use shared::totp::{Code, code_at, matching_step, new_secret};
use webauthn_authenticator_rs::prelude::{Url, WebauthnAuthenticator};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const ROUNDS: usize = 2_000;

fn median(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let origin = Url::parse("https://mfa.example.org")?;
    let rp = relying_party(origin.as_str().trim_end_matches('/'), "Bench")?;
    let mut key = SoftPasskey::new(true);
    let user = shared::passkey::user_handle("00112233445566778899aabbccddeeff");
    let (options, state) = rp.start_passkey_registration(user, "jane", "jane", None)?;
    let made = key
        .do_registration(origin.clone(), options)
        .map_err(|e| format!("{e:?}"))?;
    let passkey = rp.finish_passkey_registration(&made, &state)?;
    let mut stored = vec![StoredPasskey {
        id: credential_id(&passkey),
        name: "bench".into(),
        created_at: 0,
        last_used_at: None,
        credential: shared::passkey::to_json(&passkey)?,
    }];
    let mut passkey_times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let (options, state) =
            rp.start_passkey_authentication(&[shared::passkey::parse(&stored[0].credential)?])?;
        let state = serde_json::to_string(&state)?;
        let answer = key
            .do_authentication(origin.clone(), options)
            .map_err(|e| format!("{e:?}"))?;
        let t = Instant::now();
        let (used, _) = check_assertion(&rp, &state, &stored, &answer)
            .map_err(|e| format!("refused: {e:?}"))?;
        passkey_times.push(t.elapsed().as_secs_f64() * 1e6);
        stored[0] = used;
    }

    let secrets = SecretBox::new(&[7; 32]);
    let secret = new_secret()?;
    let sealed = secrets.seal(&secret, b"jane")?;
    let now = 1_800_000_000;
    let code = Code::parse(&code_at(&secret, now, 6))?;
    let mut totp_times = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let opened = secrets.open(&sealed, b"jane")?;
        std::hint::black_box(matching_step(&opened, &code, now, Some(1)));
        totp_times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (p50, p99) = median(passkey_times);
    let (t50, t99) = median(totp_times);
    println!("passkey check (state, assertion, ECDSA P-256): median {p50:.1} us, p99 {p99:.1} us");
    println!("TOTP check (decrypt, three steps):            median {t50:.1} us, p99 {t99:.1} us");
    println!(
        "a passkey's check costs {:.0}x a code's CPU",
        p50 / t50.max(0.001)
    );
    Ok(())
}
