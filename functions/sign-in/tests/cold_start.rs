//! A function with a missing or bad variable must fail its cold start and say which variable.
//! All four binaries start through `shared::runtime::run`; sign-in stands for them.

use std::process::Command;

fn start(env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sign-in"))
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_variable_fails_the_cold_start_and_is_named() {
    let (ok, stderr) = start(&[
        ("MFA_KEYS_SECRET", "k"),
        ("PUBLIC_BASE_URL", "https://x.example"),
    ]);
    assert!(!ok);
    assert!(stderr.contains("MFA_TABLE"), "{stderr}");
}

#[test]
fn a_bad_variable_fails_the_cold_start_and_is_named() {
    let (ok, stderr) = start(&[
        ("MFA_TABLE", "t"),
        ("MFA_KEYS_SECRET", "k"),
        ("PUBLIC_BASE_URL", "ftp://x.example"),
    ]);
    assert!(!ok);
    assert!(stderr.contains("PUBLIC_BASE_URL"), "{stderr}");
}
