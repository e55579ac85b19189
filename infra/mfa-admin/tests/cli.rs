//! `mfa-admin` as an operator runs it: bad arguments are one line and exit 2, and write nothing.

use std::io::Write;
use std::process::{Command, Stdio};

async fn fresh_table() -> (String, String, aws_sdk_dynamodb::Client) {
    let sdk = shared::app::sdk_config().await.unwrap();
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

/// Items other than what bootstrap itself writes (the provider's signing keys) and the audit
/// trail (every change is recorded there, by design).
async fn items(db: &aws_sdk_dynamodb::Client, table: &str) -> usize {
    db.scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter(|i| {
            let attr = |name: &str| i.get(name).and_then(|v| v.as_s().ok());
            // The signing keys and their ring's version (`SIGNING_KEYS`) come with every table.
            !attr("sk").is_some_and(|sk| sk.starts_with("SIGNING_KEY"))
                && !attr("pk").is_some_and(|pk| pk.starts_with("AUDIT#"))
        })
        .count()
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

#[tokio::test]
async fn bootstrap_creates_signing_keys_once_and_rotation_is_refused_until_the_next_key_is_cached()
{
    let (table, secret, db) = fresh_table().await;
    let keys = |db: aws_sdk_dynamodb::Client, table: String| async move {
        db.scan()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .items()
            .iter()
            .filter(|i| {
                i.get("sk")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|sk| sk.starts_with("SIGNING_KEY#"))
            })
            .count()
    };
    let first = keys(db.clone(), table.clone()).await;
    assert_eq!(first, 2, "a current key and one published ahead");
    let sdk = shared::app::sdk_config().await.unwrap();
    mfa_admin::bootstrap(&sdk, &table, &secret, None)
        .await
        .unwrap();
    assert_eq!(
        keys(db.clone(), table.clone()).await,
        2,
        "bootstrap again adds none"
    );
    // The next key was published just now: promoting it would break verifiers whose cached JWKS
    // (API Gateway keeps one for 2 hours) lacks it.
    let (code, stderr) = admin(&table, &secret, &["signing-key", "rotate"], "");
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("rotate after"), "{stderr}");
}

#[tokio::test]
async fn a_confidential_client_gets_its_secret_once_and_bad_uris_are_refused() {
    let (table, secret, _) = fresh_table().await;
    let (code, stderr) = admin(
        &table,
        &secret,
        &[
            "client",
            "add",
            "--client-id",
            "wiki",
            "--redirect-uri",
            "http://wiki.example.org/cb",
        ],
        "",
    );
    assert_eq!(code, 2, "plain http off loopback: {stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_mfa-admin"))
        .args([
            "client",
            "add",
            "--client-id",
            "wiki",
            "--redirect-uri",
            "https://wiki.example.org/cb",
        ])
        .env("MFA_TABLE", &table)
        .env("MFA_KEYS_SECRET", &secret)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("client_secret: "))
        .unwrap();
    assert_eq!(line.len(), "client_secret: ".len() + 43);
}

fn admin_out(table: &str, secret: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mfa-admin"))
        .args(args)
        .env("MFA_TABLE", table)
        .env("MFA_KEYS_SECRET", secret)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn an_import_reports_every_row_and_running_it_again_changes_nothing() {
    let (table, secret, db) = fresh_table().await;
    let file = std::env::temp_dir().join(format!("import-{}.csv", rand_suffix()));
    std::fs::write(
        &file,
        "\u{feff}username,kind,name_email,address_email\r\n\
         jane,staff,jane@example.org,\r\n\
         \"smith, john\",staff,,\r\n\
         bob,wizard,,\r\n\
         carl,staff,not an email,\r\n\
         JANE,member,,\r\n\
         dora,member,,\"dora@example.org\"\r\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (code, out) = admin_out(&table, &secret, &["account", "import", path, "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("would add jane") && out.contains("would add dora"),
        "{out}"
    );
    assert_eq!(items(&db, &table).await, 0, "a dry run writes nothing");

    let (code, out) = admin_out(&table, &secret, &["account", "import", path]);
    assert_eq!(code, 0, "{out}");
    for expected in [
        "refused line 3: invalid username \"smith, john\"",
        "refused line 4: unknown kind",
        "refused line 5: invalid name_email",
        "refused line 6: duplicate of line 2",
        "added jane",
        "added dora",
        "added 2, updated 0, unchanged 0, refused 4",
    ] {
        assert!(out.contains(expected), "{expected:?} in {out}");
    }
    assert_eq!(items(&db, &table).await, 2);

    let (_, again) = admin_out(&table, &secret, &["account", "import", path]);
    assert!(
        again.contains("added 0, updated 0, unchanged 2, refused 4"),
        "{again}"
    );
    std::fs::write(
        &file,
        "username,kind,name_email,address_email\njane,sysadmin,jane@example.org,\n",
    )
    .unwrap();
    let (_, changed) = admin_out(&table, &secret, &["account", "import", path]);
    assert!(changed.contains("updated jane (kind)"), "{changed}");
    std::fs::remove_file(&file).unwrap();
}

/// Runs mfa-admin with `PUBLIC_BASE_URL` set to `base`, or removed when `None`.
fn admin_with_base(table: &str, secret: &str, args: &[&str], base: Option<&str>) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mfa-admin"));
    command
        .args(args)
        .env("MFA_TABLE", table)
        .env("MFA_KEYS_SECRET", secret)
        .stdin(Stdio::null());
    match base {
        Some(base) => command.env("PUBLIC_BASE_URL", base),
        None => command.env_remove("PUBLIC_BASE_URL"),
    };
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_command_that_mails_a_link_needs_a_public_base_url_before_it_writes_anything() {
    let (table, secret, db) = fresh_table().await;
    // An organisation sender, so an invitation would otherwise go out.
    let (code, stderr) = admin_with_base(
        &table,
        &secret,
        &["settings", "set", "--org-default-email", "mfa@example.org"],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    let file = std::env::temp_dir().join(format!("invite-{}.csv", rand_suffix()));
    std::fs::write(
        &file,
        "username,kind,name_email,address_email\nkay,staff,kay@example.org,\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let add = [
        "account",
        "add",
        "--username",
        "jane",
        "--kind",
        "staff",
        "--name-email",
        "jane@example.org",
        "--invite",
    ];
    let import = ["account", "import", path, "--invite"];
    let dry_run = ["account", "import", path, "--invite", "--dry-run"];
    let audit_entries = async || {
        db.scan()
            .table_name(&table)
            .send()
            .await
            .unwrap()
            .items()
            .iter()
            .filter(|i| {
                i.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|pk| pk.starts_with("AUDIT#"))
            })
            .count()
    };
    let audited = audit_entries().await;
    for base in [
        None,
        Some(""),
        Some("  "),
        Some("mfa.example.org"),
        Some("/password"),
        Some("ftp://mfa.example.org"),
        Some("https://mfa.example.org/?x=1"),
        Some("https://user@mfa.example.org"),
    ] {
        for args in [&add[..], &import[..], &dry_run[..]] {
            let (code, stderr) = admin_with_base(&table, &secret, args, base);
            assert_eq!(code, 2, "{base:?} {args:?}: {stderr}");
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
            assert!(
                stderr.starts_with("mfa-admin: PUBLIC_BASE_URL "),
                "{base:?} {args:?}: {stderr}"
            );
            assert!(stderr.contains("ApiUrl"), "{stderr}");
        }
    }
    assert_eq!(items(&db, &table).await, 1, "only the settings: no account");
    assert_eq!(audit_entries().await, audited, "and nothing audited");
    std::fs::remove_file(&file).unwrap();
}
