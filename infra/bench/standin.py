"""A stand-in for the AWS calls a function makes during init, answered at once with what moto
answered: Secrets Manager's GetSecretValue (the key secret) and DynamoDB's GetItem or Query (the
settings item; for the OpenID Connect function, the organisation's partition with its sealed
signing keys). The first time a call is seen it is passed on to moto (`upstream`) and its answer
kept; after that the kept answer is replayed. So a start against the stand-in does all of its real
work (the key derivation, opening and loading the signing keys) without the emulator's time to
answer, which no change of ours can remove (moto takes some 10 ms for the two calls). Any other
call is answered 400, so a function that starts making a new kind of call at init shows up as an
error in the bench, not as a faster figure."""
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWERED = {"secretsmanager.GetSecretValue", "DynamoDB_20120810.GetItem", "DynamoDB_20120810.Query"}


class Standin:
    def __init__(self, upstream):
        self.calls = []
        self.passed_on = 0
        self.kept = {}
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target", "")
                standin.calls.append(target)
                if target not in ANSWERED:
                    data = json.dumps({"__type": "UnknownOperationException", "message": target}).encode()
                    return self._reply(400, data, "application/x-amz-json-1.0")
                # The SDK writes a key's attributes in no fixed order: the same call, compared
                # as JSON.
                key = (target, json.dumps(json.loads(body or b"{}"), sort_keys=True))
                if key not in standin.kept:
                    standin.kept[key] = standin.pass_on(upstream, self.headers, body)
                self._reply(*standin.kept[key])

            def _reply(self, status, data, content_type):
                # One write for head and body: written apart, the client's delayed ACK holds the
                # body back some 40 ms (Nagle's algorithm on this side).
                head = (f"HTTP/1.1 {status} {'OK' if status == 200 else 'Bad Request'}\r\n"
                        f"Content-Type: {content_type}\r\nx-amzn-RequestId: standin\r\n"
                        f"Content-Length: {len(data)}\r\n\r\n")
                self.wfile.write(head.encode() + data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def pass_on(self, upstream, headers, body):
        """moto's answer to the call, as (status, body, content type)."""
        self.passed_on += 1
        forward = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")}
        request = urllib.request.Request(upstream + "/", data=body, headers=forward, method="POST")
        try:
            with urllib.request.urlopen(request) as r:
                return r.status, r.read(), r.headers.get("Content-Type", "application/x-amz-json-1.0")
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers.get("Content-Type", "application/x-amz-json-1.0")

    def close(self):
        self.server.shutdown()
        self.server.server_close()
