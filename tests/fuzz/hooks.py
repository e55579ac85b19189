"""Schemathesis 4.32.5 hooks and checks for infra/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Checks, beyond schemathesis' own `not_a_server_error`:
  error_contract            a 4xx/5xx the contract says is JSON is {"error": <snake_case>, "message": <string>}
  no_internal_leak          no answer names our internals (AWS, the table, the secret, Rust panics)
  refusal_changes_nothing   a 4xx leaves the table as it was, but for what records attempts
Hooks: filter_case drops the requests `cargo lambda watch` cannot carry (bytes that are not UTF-8)
and those that name the fuzzer's own administrator; filter_failure lets a 503 pass that came only
after an AWS timeout (moto too slow), counting it. Figures go to $FUZZ_STATS at exit.

Environment: MFA_TABLE, MFA_KEYS_SECRET, AWS_ENDPOINT_URL and the AWS variables (boto3 reads the
table), FUZZ_STATS (a JSON file to write), FUZZ_ADMIN_USERNAME (the fuzzer's administrator).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import time
from collections import Counter
from urllib.parse import unquote_to_bytes

import boto3
import requests
import schemathesis

TABLE = os.environ["MFA_TABLE"]
SECRET_ID = os.environ["MFA_KEYS_SECRET"]
FUZZ_ADMIN = os.environ.get("FUZZ_ADMIN_USERNAME", "").lower()

stats: Counter[str] = Counter()
started = time.monotonic()


@atexit.register
def _write_stats() -> None:
    path = os.environ.get("FUZZ_STATS")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({**stats, "seconds": round(time.monotonic() - started, 1)}, f)


# ---- every request counted ------------------------------------------------------------------
# Schemathesis sends most requests through `case.call` (which runs the call hooks), but some
# checks send probes straight through the transport (ignored_auth without credentials, the
# content-type control request). All of them go through requests.Session.send: counting there is
# the one place that sees them all, and tells the table check that an unhooked request happened.
_send = requests.Session.send


def _counting_send(self: requests.Session, request: requests.PreparedRequest, **kwargs):  # type: ignore[no-untyped-def]
    stats["requests"] += 1
    return _send(self, request, **kwargs)


requests.Session.send = _counting_send  # type: ignore[method-assign]


# ---- what is not sent ---------------------------------------------------------------------


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@schemathesis.hook
def filter_case(ctx, case) -> bool:  # type: ignore[no-untyped-def]
    # `cargo lambda watch` turns each request into an API Gateway event, a JSON document, and
    # answers 500 itself, before any function runs, when the body or a header value is not valid
    # UTF-8. API Gateway base64-encodes such a body (isBase64Encoded) and our functions answer it
    # with a JSON 400: tests/integration/edge.rs sends those bytes to the routers in-process. Only
    # these cases are dropped; other random bytes, wrong types and missing fields are all sent.
    body = case.body
    if isinstance(body, (bytes, bytearray)) and _not_utf8(bytes(body)):
        stats["dropped: body not UTF-8 (cargo lambda watch answers 500)"] += 1
        return False
    for value in (case.headers or {}).values():
        # requests sends header values as Latin-1.
        if isinstance(value, str):
            try:
                raw = value.encode("latin-1")
            except UnicodeEncodeError:
                continue
            if _not_utf8(raw):
                stats["dropped: header not UTF-8 (cargo lambda watch answers 500)"] += 1
                return False
    # The fuzzer's own administrator: disabling, deleting or resetting it would end the session
    # the rest of the run uses. A random name never comes up by chance, but the stateful phase
    # feeds path parameters from answers (GET /accounts lists it).
    username = (case.path_parameters or {}).get("username")
    if FUZZ_ADMIN and isinstance(username, str) and username.strip().lower() == FUZZ_ADMIN:
        stats["dropped: names the fuzzer's own administrator"] += 1
        return False
    return True


# ---- a dependency too slow, not a fault -----------------------------------------------------
# shared/src/app.rs gives every AWS call 2 s per attempt and 5 s in all, and the contract answers a
# failing AWS dependency with 503. The local moto serves one request at a time, and on a busy
# 2-core machine an expensive route (GET /audit reads up to 8 shards a day in parallel, each a
# full page) can wait out those timeouts: a 503 that came only after the first timeout is the
# emulator's speed, and is counted and printed (summary.py) rather than failed. A 503 that came
# sooner (an AWS error, such as a request our code built from fuzzed input and DynamoDB refused)
# still fails not_a_server_error, as does every other 5xx.
SDK_ATTEMPT_TIMEOUT_SECS = 2.0


def _error_code(response) -> str | None:  # type: ignore[no-untyped-def]
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


@schemathesis.hook
def filter_failure(ctx, failure, case, response) -> bool:  # type: ignore[no-untyped-def]
    if (
        failure.code == "ST101"  # not_a_server_error
        and response.status_code == 503
        and response.elapsed >= SDK_ATTEMPT_TIMEOUT_SECS
        and _error_code(response) == "service_unavailable"
    ):
        stats[f"tolerated: 503 after an AWS timeout, {case.operation.label}"] += 1
        return False
    return True


# ---- error_contract -----------------------------------------------------------------------

ERROR_CODE = re.compile(r"^[a-z_]+$")  # components.schemas.Error in the OpenAPI description


def _documented_as_page(case, status: int) -> bool:  # type: ignore[no-untyped-def]
    """Whether the OpenAPI description gives this operation's `status` as a page, not JSON.

    The contract: "All JSON errors are {"error", "message"}"; the routes that answer an error as a
    page say so (GET /authorize's 400 for an unknown client, the federated callback's 401/403,
    GET /sign-in/federated/{id}'s 404, GET /password/reset's 410, GET /end-session's 400), and the
    description documents those responses with no body schema, where JSON errors are
    `$ref: #/components/responses/Error`. A status the description does not list for the
    operation (404, 405, 413 anywhere) falls under the contract's general rule: JSON.
    """
    responses = case.operation.definition.raw.get("responses", {})
    spec = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    return isinstance(spec, dict) and "$ref" not in spec and "content" not in spec


@schemathesis.check
def error_contract(ctx, response, case):  # type: ignore[no-untyped-def]
    """A 4xx/5xx that the contract says is JSON is {"error": <snake_case>, "message": <string>}."""
    if response.status_code < 400 or _documented_as_page(case, response.status_code):
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.split(";")[0].strip() == "application/json", (
        f"{response.status_code} answered as {content_type or 'no Content-Type'}, not JSON "
        f"(body starts {response.content[:120]!r})"
    )
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} with a body that is not JSON: {response.content[:200]!r}") from None
    assert isinstance(body, dict), f"the error is {type(body).__name__}, not an object"
    error, message = body.get("error"), body.get("message")
    assert isinstance(error, str) and ERROR_CODE.match(error), f'"error" is {error!r}, not a snake_case code'
    assert isinstance(message, str) and message.strip(), f'"message" is {message!r}, not a sentence'
    return None


# ---- no_internal_leak ---------------------------------------------------------------------


def _whole(name: str) -> str:
    # The table and secret names as names: "staff-mfa" but not the provider client id
    # "staff-mfa-corp" the browser tests configure.
    return rf"(?<![\w.-]){re.escape(name)}(?![\w-])"


LEAKS = [
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in [
        ("DynamoDB", r"dynamodb"),
        ("ConditionalCheckFailed", r"conditionalcheckfailed"),
        ("a panic", r"panicked"),
        ("a backtrace", r"backtrace"),
        ("an ARN", r"arn:aws"),
        ("a Rust source location", r"\.rs:"),
        ("the AWS SDK", r"aws_sdk"),
        ("an SDK error", r"serviceerror"),
        # The secret id first: it may hold the table name ("staff-mfa/keys").
        ("the secret id", _whole(SECRET_ID)),
        ("the table name", _whole(TABLE)),
    ]
]


def _request_text(request: requests.PreparedRequest) -> str:
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    parts = [unquote_to_bytes(request.url or ""), body]
    parts += [str(v).encode("utf-8", "replace") for v in request.headers.values()]
    return b"\n".join(parts).decode("utf-8", "replace")


@schemathesis.check
def no_internal_leak(ctx, response, case):  # type: ignore[no-untyped-def]
    """No answer, of any status, names AWS internals, the table, the secret or a panic."""
    answer = response.content.decode("utf-8", "replace")
    answer += "\n" + "\n".join(f"{k}: {v}" for k, values in response.headers.items() for v in values)
    # What the caller sent may come back (a field name in a 400): that tells them nothing new.
    sent = _request_text(response.request)
    for label, pattern in LEAKS:
        found = pattern.search(answer)
        if found and not pattern.search(sent):
            start = max(found.start() - 80, 0)
            raise AssertionError(f"the answer names {label}: ...{answer[start : found.end() + 80]!r}...")
    return None


# ---- refusal_changes_nothing --------------------------------------------------------------
# Contract: a refused request changes nothing, except what is documented to record attempts even
# when refused, which is ignored here:
#   - audit entries, pk AUDIT#<day>#<shard> ("every ... refused admin call"): not even returned,
#     as they are most of the table (a legacy ScanFilter, which moto applies before copying an
#     item; no other key holds "AUDIT#": usernames and client ids have no "#");
#   - lock-out states (shared/src/store/locks.rs): THROTTLE#<hmac(username)> / ADDRESS#<hmac>
#     (passwords per address, and /password/forgot per address), and ACCOUNT#<u> / PASSWORD_LOCK
#     and CODE_LOCK (passwords across addresses, codes): "every password and code attempt is
#     reserved before it is evaluated";
#   - a session's last_seen (shared/src/store/sessions.rs, touch_session): "30 minutes idle", and
#     using a session is activity whatever the answer to that use.
# Not listed, because the fuzzer never holds the live tokens they need: a challenge's failure count
# (5 codes per challenge), a used federated state or nonce (single use), a reused code or refresh
# token revoking its family (POST /token). If one ever shows here, it belongs in this list, with
# the contract's words.
# Checked on every route: none is excluded.

# botocore reads AWS_DEFAULT_REGION, the scripts here set AWS_REGION (the Rust SDK's name).
_db = boto3.client(
    "dynamodb",
    endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
)
_before: dict[str, dict] = {}
# The table as the last scan saw it, and how many requests had been sent then: reused as the next
# request's "before" when no request went out in between (nothing else writes to the table
# during the run), so a run of refusals costs one scan each.
_last: tuple[int, dict] | None = None


def _snapshot() -> dict:
    started_scan = time.monotonic()
    items: dict[tuple[str, str], str] = {}
    kwargs: dict = {
        "TableName": TABLE,
        "ScanFilter": {"pk": {"AttributeValueList": [{"S": "AUDIT#"}], "ComparisonOperator": "NOT_CONTAINS"}},
        "ConsistentRead": True,
    }
    while True:
        page = _db.scan(**kwargs)
        for item in page["Items"]:
            pk, sk = item["pk"]["S"], item["sk"]["S"]
            if pk.startswith("THROTTLE#") or (pk.startswith("ACCOUNT#") and sk in ("PASSWORD_LOCK", "CODE_LOCK")):
                continue
            if pk.startswith("SESSION#"):
                item = {k: v for k, v in item.items() if k != "last_seen"}
            # Binary attributes (sealed secrets, hashes) come back as bytes.
            items[(pk, sk)] = json.dumps(item, sort_keys=True, default=bytes.hex)
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    stats["table scans"] += 1
    stats["table scan ms"] += round((time.monotonic() - started_scan) * 1000)
    return items


@schemathesis.hook
def before_call(ctx, case, kwargs):  # type: ignore[no-untyped-def]
    global _last
    if _last is not None and _last[0] == stats["requests"]:
        _before[case.id] = _last[1]
    else:
        _before[case.id] = _snapshot()
    _last = None


@schemathesis.check
def refusal_changes_nothing(ctx, response, case):  # type: ignore[no-untyped-def]
    """A request refused with a 4xx changes nothing in the table, but for what records attempts."""
    global _last
    before = _before.pop(case.id, None)
    if before is None or not 400 <= response.status_code < 500:
        return None
    after = _snapshot()
    _last = (stats["requests"], after)
    stats["refusals compared with the table"] += 1
    changed = [
        ("added" if key not in before else "removed" if key not in after else "changed", key)
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]
    if changed:
        shown = ", ".join(f"{what} {pk} / {sk}" for what, (pk, sk) in changed[:5])
        raise AssertionError(f"{len(changed)} item(s) changed by a {response.status_code}: {shown}")
    return None
