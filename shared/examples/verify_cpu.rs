//! The CPU a code verification spends outside AWS calls: open the sealed challenge and the sealed
//! secret (AES-256-GCM), match the code against three TOTP steps, make the session token and hash
//! it (HMAC-SHA-256). Median of 10,000. Part of `make bench`.

use std::time::Instant;

use shared::crypto::SecretBox;
use shared::token::{TokenHasher, new_token};
use shared::totp::{Code, code_at, matching_step, new_secret};

fn main() -> Result<(), shared::Error> {
    let secrets = SecretBox::new(&[7; 32]);
    let tokens = TokenHasher::new([9; 32]);
    let secret = new_secret()?;
    let sealed = secrets.seal(&secret, b"jane")?;
    let now = 1_800_000_000;
    let code = Code::parse(&code_at(&secret, now, 6))?;
    let challenge = secrets.seal(
        br#"{"u":"jane","i":"AAAAAAAAAAAAAAAAAAAAAA","x":1800000300,"e":3}"#,
        b"sign-in challenge v1",
    )?;
    let mut times = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let t = Instant::now();
        let opened = secrets.open(&sealed, b"jane")?;
        let step = matching_step(&opened, &code, now, Some(1));
        let a: serde_json::Value =
            serde_json::from_slice(&secrets.open(&challenge, b"sign-in challenge v1")?)
                .map_err(|e| shared::Error::Internal(e.to_string()))?;
        let session = new_token()?;
        let b = tokens.hash(shared::token::Purpose::Session, &session);
        std::hint::black_box((step, a, b));
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "verify domain work (2 decrypts, TOTP window, 1 token hash, 1 new token): median {:.1} us, p99 {:.1} us",
        times[times.len() / 2],
        times[times.len() * 99 / 100]
    );
    Ok(())
}
