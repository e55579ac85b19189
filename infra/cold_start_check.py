"""Cold-start check for `make test` (infra/test.sh): each of the five functions starts once under
strace against a local Lambda Runtime API and moto, and its init (process start to the first
`/runtime/invocation/next`) must not read the system's trust store: the AWS clients trust Amazon's
roots compiled in, and the identity-provider client (Mozilla's roots, compiled in) is built on
first use. Each read of the store (some 300 files) added 3 ms to every cold start of every
function; this check catches one put back without timing anything, so it cannot be flaky.

Usage: python3 infra/cold_start_check.py TARGET_DIR   (the debug binaries; AWS_* and MFA_* set,
the table and key secret bootstrapped). Prints one line per function; exits 1 on a failure."""
import collections
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "bench"))
from runtime_api import RuntimeApi  # noqa: E402

FUNCTIONS = ["sign-in", "setup-email", "verify-code", "settings", "oidc"]
# Where rustls-native-certs finds the system's roots on Debian: the bundle and the hashed links.
TRUST_STORE = re.compile(r'openat\([^"]*"(/etc/ssl/certs/[^"]+|/usr/lib/ssl/[^"]+|/etc/ssl/cert\.pem)"')


def init_trace(binary, fn):
    api = RuntimeApi()
    env = dict(os.environ)
    env.update(AWS_LAMBDA_RUNTIME_API=api.address, AWS_LAMBDA_FUNCTION_NAME=fn,
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               RUST_LOG="warn")
    with tempfile.NamedTemporaryFile(suffix=".strace", delete=False) as out:
        trace = out.name
    proc = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=openat", "-o", trace, binary],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while api.first_next is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"cold start: {fn} did not finish its init")
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    api.close()
    with open(trace) as f:
        lines = f.read().splitlines()
    os.unlink(trace)
    return lines


def main():
    target = sys.argv[1]
    failed = False
    for fn in FUNCTIONS:
        opened = collections.Counter()
        for line in init_trace(os.path.join(target, fn), fn):
            m = TRUST_STORE.search(line)
            if m:
                opened[m.group(1)] += 1
        reads = max(opened.values(), default=0)
        ok = reads == 0
        failed |= not ok
        print(f"cold start: {fn}: trust store read {reads} time(s) during init "
              f"({sum(opened.values())} certificate files opened){'' if ok else ' -- FAILED: never at init'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
