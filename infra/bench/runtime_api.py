"""A local Lambda Runtime API (2018-06-01) for benchmarks: it hands events to a function process
and takes its responses, and notes when the process first asks for work, which is the moment
Lambda reports as Init Duration ends."""
import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RuntimeApi:
    def __init__(self):
        self.events = queue.Queue()
        self.responses = {}
        self.first_next = None
        self.init_error = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self._reply(404, b"{}")
                if api.first_next is None:
                    api.first_next = time.perf_counter()
                request_id, payload = api.events.get()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = self.path.strip("/").split("/")
                if parts[-1] == "error" and parts[-2] == "init":
                    api.init_error = body
                elif parts[-1] in ("response", "error"):
                    api.responses[parts[-2]].put((parts[-1], body, time.perf_counter()))
                self._reply(202, b"{}")

            def _reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a function process killed between starts resets its connection

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event, timeout=30):
        """Sends one event; returns (latency seconds, parsed response)."""
        request_id = str(uuid.uuid4())
        self.responses[request_id] = queue.Queue()
        started = time.perf_counter()
        self.events.put((request_id, json.dumps(event).encode()))
        kind, body, finished = self.responses[request_id].get(timeout=timeout)
        del self.responses[request_id]
        if kind == "error":
            raise RuntimeError(f"invocation error: {body[:300]!r}")
        return finished - started, json.loads(body)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def http_event(method, path, body=None, headers=None, query=None):
    """An API Gateway HTTP API (payload 2.0) event."""
    hdrs = {"content-type": "application/json", "host": "bench.local"}
    hdrs.update(headers or {})
    qs = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": qs,
        "queryStringParameters": query or None,
        "headers": hdrs,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "bench",
            "domainName": "bench.local",
            "domainPrefix": "bench",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "29/Nov/2026:00:00:00 +0000",
            "timeEpoch": int(time.time() * 1000),
        },
        "body": json.dumps(body) if isinstance(body, (dict, list)) else body,
        "isBase64Encoded": False,
    }
