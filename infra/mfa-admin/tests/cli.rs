//! `mfa-admin` as an operator runs it: bad arguments are one line and exit 2, and write nothing.

use std::io::Write;
use std::process::{Command, Stdio};

async fn fresh_table() -> (String, String, aws_sdk_dynamodb::Client) {
    let sdk = shared::app::sdk_config().await;
    let suffix = format!("{}-{}", std::process::id(), rand_suffix());
    let (table, secret) = (format!("cli-{suffix}"), format!("cli-keys-{suffix}"));
    mfa_admin::bootstrap(&sdk, &table, &secret, None)
        .await
        .unwrap();
    (table, secret, aws_sdk_dynamodb::Client::new(&sdk))
}

// Tests need real time here: unique names, and tokens an identity provider would sign now.
#[allow(clippy::disallowed_methods)]
fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn admin(table: &str, secret: &str, args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa-admin"))
        .args(args)
        .env("MFA_TABLE", table)
        .env("MFA_KEYS_SECRET", secret)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn items(db: &aws_sdk_dynamodb::Client, table: &str) -> usize {
    db.scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items()
        .len()
}

#[tokio::test]
async fn bad_arguments_are_one_line_exit_2_and_write_nothing() {
    let (table, secret, db) = fresh_table().await;
    let cases: [(&[&str], &str); 4] = [
        (
            &["account", "add", "--username", "x", "--kind", "bogus"],
            "",
        ),
        (
            &[
                "account",
                "add",
                "--username",
                "bad name",
                "--kind",
                "staff",
            ],
            "",
        ),
        (
            &[
                "account",
                "add",
                "--username",
                "y",
                "--kind",
                "staff",
                "--password-stdin",
            ],
            "short\n",
        ),
        (
            &["settings", "set", "--org-default-email", "not-an-address"],
            "",
        ),
    ];
    for (args, stdin) in cases {
        let (code, stderr) = admin(&table, &secret, args, stdin);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("mfa-admin: "), "{stderr}");
    }
    assert_eq!(items(&db, &table).await, 0, "nothing was written");
}

#[tokio::test]
async fn accounts_are_added_once() {
    let (table, secret, db) = fresh_table().await;
    let args = [
        "account",
        "add",
        "--username",
        "Jane",
        "--kind",
        "staff",
        "--name-email",
        "jane@example.org",
        "--password-stdin",
    ];
    assert_eq!(
        admin(&table, &secret, &args, "a long enough passphrase\n").0,
        0
    );
    let (code, stderr) = admin(&table, &secret, &args, "a long enough passphrase\n");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("already exists"));
    assert_eq!(items(&db, &table).await, 1);
}
