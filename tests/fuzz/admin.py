"""The fuzzer's own system administrator, for infra/fuzz.sh.

The admin API answers 401 without a session, so the fuzzer needs a sysadmin's bearer session to
reach the bodies of those routes. It gets one the way a person would on a stack with MFA on, with no
shortcut around any rule: an operator adds a sysadmin with `mfa-admin account add
--password-stdin`; the account signs in with its password, asks for the setup email, reads the key
behind the link in that email (moto's SES keeps the mails sent), and signs in again with a TOTP code
from that key (RFC 6238, as an authenticator app computes it). The session then also satisfies
step-up for 10 minutes, so sensitive routes are exercised past the 403 too.

  admin.py start SNAPSHOT   create and sign in the fuzz admin; print "USERNAME SESSION"; write the
                            organisation settings as they were before fuzzing to SNAPSHOT (JSON)
  admin.py finish SNAPSHOT USERNAME
                            put the settings back as SNAPSHOT has them (the fuzzer may switch MFA
                            off or change the sender, which would break a later run on the same
                            stack), then delete the fuzz admin

Environment: FUZZ_BASE_URL, AWS_ENDPOINT_URL (moto), MFA_ADMIN (the mfa-admin binary), and what
mfa-admin reads (MFA_TABLE, MFA_KEYS_SECRET, AWS_REGION, credentials).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import struct
import subprocess
import sys
import time

import requests

BASE = os.environ["FUZZ_BASE_URL"].rstrip("/")
MOTO = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
MFA_ADMIN = os.environ["MFA_ADMIN"]
TIMEOUT = 60


def fail(message: str) -> None:
    print(f"fuzz admin: {message}", file=sys.stderr)
    sys.exit(1)


def post(path: str, body: dict, expected: int, session: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {session}"} if session else {}
    r = requests.post(f"{BASE}{path}", json=body, headers=headers, timeout=TIMEOUT)
    if r.status_code != expected:
        fail(f"POST {path} answered {r.status_code}, not {expected}: {r.text[:300]}")
    return r.json() if r.content else {}


def totp(secret_b32: str, at: float) -> str:
    """RFC 6238: HMAC-SHA-1 over the 30 s step, dynamic truncation, 6 digits."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def setup_token(address: str) -> str:
    """The token of the newest setup link mailed to `address` (moto keeps SES's sent mail)."""
    pattern = re.compile(r"/mfa/setup\?token=([A-Za-z0-9_-]+)")
    for _ in range(50):
        data = requests.get(f"{MOTO}/moto-api/data.json", timeout=TIMEOUT).json()
        mails = [
            m
            for m in data.get("ses", {}).get("Message", [])
            if address in m.get("destinations", {}).get("ToAddresses", [])
        ]
        for mail in reversed(mails):
            found = pattern.search(mail.get("body", ""))
            if found:
                return found.group(1)
        time.sleep(0.2)
    fail(f"no setup email to {address} with a link to /mfa/setup")
    raise AssertionError  # unreachable: fail() exits


def mfa_admin(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [MFA_ADMIN, *args], input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        fail(f"mfa-admin {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def start(snapshot_path: str) -> None:
    # A new account per run: its name is random, so no generated path parameter names it by
    # chance, and a rerun on the same stack never meets an enrolment whose key it lost.
    username = f"fuzz-admin-{secrets.token_hex(4)}"
    address = f"{username}@example.org"
    password = secrets.token_urlsafe(24)
    mfa_admin(
        "account", "add", "--username", username, "--kind", "sysadmin",
        "--name-email", address, "--password-stdin",
        stdin=password + "\n",
    )
    try:
        session = sign_in(username, address, password)
    except BaseException:
        # Nothing half-made is left behind: infra/fuzz.sh only cleans up what it was told about.
        mfa_admin("account", "delete", "--username", username)
        raise
    r = requests.get(
        f"{BASE}/settings", headers={"Authorization": f"Bearer {session}"}, timeout=TIMEOUT
    )
    if r.status_code != 200:
        mfa_admin("account", "delete", "--username", username)
        fail(f"GET /settings with the fuzz admin's session answered {r.status_code}: {r.text[:300]}")
    with open(snapshot_path, "w", encoding="utf-8") as f:
        json.dump(r.json(), f)
    print(username, session)


def sign_in(username: str, address: str, password: str) -> str:
    """The first sign-in of the seed flow: password, setup email, key, code. Returns the session."""
    credentials = {"username": username, "password": password}
    first = post("/sign-in", credentials, 200)
    if first.get("status") != "mfa_required":
        # With MFA off the session would carry no code, and the fuzzer switching MFA on would end
        # it halfway through the run. infra/seed.sh leaves MFA on, and so do the browser tests.
        fail(f"expected MFA on (as infra/seed.sh leaves it); sign-in answered {first.get('status')}")
    post("/mfa/setup-email", {"challenge": first["challenge"]}, 202)
    key = post("/mfa/setup/key", {"token": setup_token(address)}, 200)["secret"]
    # A code near the end of its 30 s step could be stale on arrival: wait for the next step.
    if time.time() % 30 > 25:
        time.sleep(30.5 - time.time() % 30)
    challenge = post("/sign-in", credentials, 200)["challenge"]
    signed_in = post("/mfa/verify", {"challenge": challenge, "code": totp(key, time.time())}, 200)
    return signed_in["session"]


def finish(snapshot_path: str, username: str) -> None:
    try:
        with open(snapshot_path, encoding="utf-8") as f:
            before = json.load(f)
    except FileNotFoundError:
        before = None
    if before is not None:
        # As the operator (mfa-admin), not through the fuzz admin's session: restoring must not
        # depend on what the fuzzer did to that session or to step-up.
        args = ["settings", "set", "--mfa-enabled", str(bool(before["mfa_enabled"])).lower()]
        for field, flag in (
            ("org_default_email", "--org-default-email"),
            ("org_name", "--org-name"),
            ("audit_retention_days", "--audit-retention-days"),
        ):
            if before.get(field) is not None:
                args += [flag, str(before[field])]
        mfa_admin(*args)
    mfa_admin("account", "delete", "--username", username)


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "start" and len(sys.argv) == 3:
        start(sys.argv[2])
    elif command == "finish" and len(sys.argv) == 4:
        finish(sys.argv[2], sys.argv[3])
    else:
        fail("usage: admin.py start SNAPSHOT | finish SNAPSHOT USERNAME")


if __name__ == "__main__":
    main()
