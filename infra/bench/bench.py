"""`make bench`: per function, the init time (process start to the first request for work, as
Lambda's Init Duration), warm latency per route (median, p99), CPU per request, peak RSS, binary
and zip size; a boto3 handler's init and RSS beside it. Needs the local stack seeded by
infra/bench.sh. Prints a Markdown report and writes it to target/bench/report.md."""
import base64
import hashlib
import hmac
import io
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import time
import urllib.request
import zipfile

from runtime_api import RuntimeApi, http_event
from standin import ANSWERED, Standin

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FUNCTIONS = ["sign-in", "setup-email", "verify-code", "settings", "oidc"]
STARTS = int(os.environ.get("BENCH_STARTS", "20"))
USERS = int(os.environ.get("BENCH_USERS", "60"))
PASSWORD = "bench password 2026"
TICKS = os.sysconf("SC_CLK_TCK")


def binary(fn):
    return os.path.join(ROOT, "target", "lambda", fn, "bootstrap")


def env_for(api, fn):
    env = dict(os.environ)
    env.update(AWS_LAMBDA_RUNTIME_API=api.address, AWS_LAMBDA_FUNCTION_NAME=fn,
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024", AWS_LAMBDA_FUNCTION_VERSION="$LATEST", RUST_LOG="warn",
               AWS_DEFAULT_REGION=os.environ.get("AWS_REGION", "us-east-1"))
    return env


def start(cmd, api, fn, env=None):
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env or env_for(api, fn), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while api.first_next is None:
        if proc.poll() is not None:
            raise RuntimeError(f"{fn} exited during init ({proc.returncode})")
        time.sleep(0.0002)
    return proc, (api.first_next - t0) * 1000


def status(proc, field):
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(proc):
    with open(f"/proc/{proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def stop(proc):
    proc.kill()
    proc.wait()


def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def totp(secret_b32, t=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((t or time.time()) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 15
    return f"{(struct.unpack('>I', mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def outbox_token(address):
    data = json.load(urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/data.json"))
    for m in reversed(data["ses"]["Message"]):
        if address in m["destinations"]["ToAddresses"]:
            return re.search(r"token=([A-Za-z0-9_-]{43})", m["body"]).group(1)
    raise RuntimeError(f"no mail to {address}")


class Function:
    def __init__(self, fn):
        self.fn, self.api = fn, RuntimeApi()
        self.proc, self.init_ms = start([binary(fn)], self.api, fn)

    def call(self, method, path, body=None, token=None, query=None):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        latency, res = self.api.invoke(http_event(method, path, body, headers, query))
        return latency * 1000, res.get("statusCode"), json.loads(res.get("body") or "null") if res.get("body", "").startswith(("{", "[")) else res.get("body")


def cold_starts():
    """Init time over STARTS rounds, and the first request after init against the tenth; and the
    boto3 handler's init and peak RSS. Each round starts every function once, then the boto3
    handler once, so that whatever the machine and moto are doing at a moment weighs on all of
    them alike: measured one after another (all starts of one, then the next), the same init
    differed by a third between functions of one run, and the ratio to boto3 by a quarter
    between runs."""
    probe = {
        "sign-in": ("GET", "/session", None, "x" * 43),
        "setup-email": ("POST", "/mfa/setup/key", {"token": "x" * 43}, None),
        "verify-code": ("POST", "/mfa/verify", {"challenge": "x" * 43, "code": "123456"}, None),
        "settings": ("GET", "/settings", None, "x" * 43),
        "oidc": ("GET", "/jwks.json", None, None),
    }
    inits, firsts, tenths = ({fn: [] for fn in FUNCTIONS} for _ in range(3))
    py_inits, py_rss = [], []
    for _ in range(STARTS):
        for fn in FUNCTIONS:
            f = Function(fn)
            inits[fn].append(f.init_ms)
            method, path, body, token = probe[fn]
            lat = [f.call(method, path, body, token)[0] for _ in range(10)]
            firsts[fn].append(lat[0])
            tenths[fn].append(lat[9])
            stop(f.proc)
            f.api.close()
        api = RuntimeApi()
        proc, init = start([sys.executable, os.path.join(os.path.dirname(__file__), "python_baseline.py")], api, "python")
        py_inits.append(init)
        py_rss.append(status(proc, "VmHWM"))
        stop(proc)
        api.close()
    out = {fn: (statistics.median(inits[fn]), statistics.median(firsts[fn]), statistics.median(tenths[fn]))
           for fn in FUNCTIONS}
    return out, (statistics.median(py_inits), max(py_rss))


def own_init():
    """Init against a stand-in that answers init's AWS calls at once with what moto answered
    (standin.py): the function's own work (process start, clients, signing, key derivation,
    opening the signing keys), without the emulator's time to answer, which no change of ours
    removes. One start per function first, whose calls the stand-in passes on to moto and keeps;
    the measured starts are all answered from what it kept."""
    standin = Standin(os.environ["AWS_ENDPOINT_URL"])
    out = {}
    for fn in FUNCTIONS:
        inits = []
        for i in range(STARTS + 1):
            api = RuntimeApi()
            env = env_for(api, fn)
            env.update(AWS_ENDPOINT_URL=standin.url)
            passed_on = standin.passed_on
            proc, init = start([binary(fn)], api, fn, env)
            stop(proc)
            api.close()
            if i == 0:
                continue
            if standin.passed_on != passed_on:
                raise RuntimeError(f"{fn}: a measured start made a call the first one did not")
            inits.append(init)
        out[fn] = statistics.median(inits)
    unexpected = sorted(set(standin.calls) - set(ANSWERED))
    standin.close()
    if unexpected:
        raise RuntimeError(f"init made calls the stand-in does not answer: {unexpected}")
    return out


def floor():
    """The harness's floor: init of a process that asks for work at once (floor.rs), built here
    with rustc. What any process takes here, subtracted from own init, which is the function's."""
    out = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "bench")
    os.makedirs(out, exist_ok=True)
    exe = os.path.join(out, "floor")
    subprocess.run(["rustc", "-O", "--edition", "2024", "-o", exe,
                    os.path.join(os.path.dirname(__file__), "floor.rs")], check=True)
    inits = []
    for _ in range(STARTS):
        api = RuntimeApi()
        proc, init = start([exe], api, "floor")
        inits.append(init)
        stop(proc)
        api.close()
    return statistics.median(inits)


def warm():
    f = {fn: Function(fn) for fn in FUNCTIONS}
    lat = {}
    cpu = {}

    def measure(route, fn, calls):
        before = cpu_seconds(f[fn].proc)
        times = []
        for call in calls:
            ms, code, body = call()
            assert code in (200, 202, 204), (route, code, body)
            times.append(ms)
        cpu[route] = (cpu_seconds(f[fn].proc) - before) * 1000 / len(times)
        lat[route] = times

    users = [f"bench{i:03d}" for i in range(USERS)]
    # Enrol and activate every user through the real flow: password, setup mail, key, first code.
    secrets = {}
    for u in users:
        _, _, body = f["sign-in"].call("POST", "/sign-in", {"username": u, "password": PASSWORD})
        f["setup-email"].call("POST", "/mfa/setup-email", {"challenge": body["challenge"]})
        token = outbox_token(f"{u}@example.org")
        _, _, key = f["setup-email"].call("POST", "/mfa/setup/key", {"token": token})
        secrets[u] = (key["secret"], token)
    measure("POST /mfa/setup/key", "setup-email",
            [lambda u=u: f["setup-email"].call("POST", "/mfa/setup/key", {"token": secrets[u][1]}) for u in users])
    for u in users:
        _, _, body = f["sign-in"].call("POST", "/sign-in", {"username": u, "password": PASSWORD})
        _, code, _ = f["verify-code"].call("POST", "/mfa/verify", {"challenge": body["challenge"], "code": totp(secrets[u][0])})
        assert code == 200, code
    # The everyday sign-in of an enrolled user. Its code is the next step's (accepted: +1 step),
    # since each user's current step was just used.
    challenges = {}
    measure("POST /sign-in (mfa_required)", "sign-in",
            [lambda u=u: (lambda r: (challenges.__setitem__(u, r[2]["challenge"]), r)[1])(
                f["sign-in"].call("POST", "/sign-in", {"username": u, "password": PASSWORD})) for u in users])
    sessions = {}
    measure("POST /mfa/verify (signed in)", "verify-code",
            [lambda u=u: (lambda r: (sessions.__setitem__(u, r[2]["session"]), r)[1])(
                f["verify-code"].call("POST", "/mfa/verify", {"challenge": challenges[u], "code": totp(secrets[u][0], time.time() + 30)})) for u in users])
    measure("GET /session", "sign-in", [lambda u=u: f["sign-in"].call("GET", "/session", token=sessions[u]) for u in users])
    admin = sessions[users[0]]
    measure("GET /settings (admin)", "settings", [lambda: f["settings"].call("GET", "/settings", token=admin) for _ in users])
    rss = {fn: status(f[fn].proc, "VmHWM") for fn in FUNCTIONS}
    for x in f.values():
        stop(x.proc)
        x.api.close()
    return lat, cpu, rss


def zipped(path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(path, "bootstrap")
    return len(buf.getvalue())


def main():
    lines = ["# make bench", "", f"{STARTS} cold starts per function; {USERS} warm requests per route; local stack: moto on loopback.", ""]
    cold, (py_init, py_rss) = cold_starts()
    own = own_init()
    base = floor()
    lat, cpu, rss = warm()
    lines += ["| function | init median (ms) | own init, stand-in, less the floor (ms) | 1st request after init (ms) | 10th request (ms) | peak RSS (MiB) | binary (MiB) | zip (MiB) |",
              "|---|---|---|---|---|---|---|---|"]
    for fn in FUNCTIONS:
        init, first, tenth = cold[fn]
        size = os.path.getsize(binary(fn))
        lines.append(f"| {fn} | {init:.1f} | {own[fn] - base:.1f} (raw {own[fn]:.1f}) | {first:.1f} | {tenth:.1f} | {rss[fn] / 1024:.1f} | {size / 2**20:.1f} | {zipped(binary(fn)) / 2**20:.1f} |")
    lines.append(f"| python 3 + boto3 (3 clients) | {py_init:.1f} | | | | {py_rss / 1024:.1f} | | |")
    ratio = py_init / statistics.median(c[0] for c in cold.values())
    lines += ["", f"harness floor (a process that asks for work at once, floor.rs): {base:.1f} ms"]
    lines += ["", f"boto3 baseline init / ours (median of the five): {ratio:.1f}x", "",
              "| route (warm) | median (ms) | p99 (ms) | process CPU per request (ms) |", "|---|---|---|---|"]
    for route, times in lat.items():
        lines.append(f"| {route} | {statistics.median(times):.2f} | {p(times, 0.99):.2f} | {cpu[route]:.2f} |")
    report = "\n".join(lines)
    print(report)
    out = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "bench")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(report + "\n")
    # The figures as data, for the budget check (budget.py) and the figures page.
    figures = {
        "starts": STARTS,
        "functions": {fn: {
            "init_ms": round(cold[fn][0], 1), "own_init_ms": round(own[fn] - base, 1),
            "own_init_raw_ms": round(own[fn], 1),
            "first_request_ms": round(cold[fn][1], 1),
            "tenth_request_ms": round(cold[fn][2], 1), "peak_rss_mib": round(rss[fn] / 1024, 1),
            "binary_mib": round(os.path.getsize(binary(fn)) / 2**20, 2),
            "zip_mib": round(zipped(binary(fn)) / 2**20, 2),
        } for fn in FUNCTIONS},
        "floor_ms": round(base, 1),
        "boto3_init_ms": round(py_init, 1),
        "boto3_over_ours": round(ratio, 1),
        "routes": {route: {"median_ms": round(statistics.median(times), 2),
                           "p99_ms": round(p(times, 0.99), 2), "cpu_ms": round(cpu[route], 2)}
                   for route, times in lat.items()},
    }
    with open(os.path.join(out, "figures.json"), "w") as f:
        json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
