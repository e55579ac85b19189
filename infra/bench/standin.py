"""A stand-in for the two AWS calls a function makes during init, answered at once: Secrets
Manager's GetSecretValue (the key secret) and DynamoDB's GetItem (the settings item, answered as
absent). With it, `make bench` measures a function's own init work apart from the emulator's time
to answer; moto takes some 10 ms for the two, which no change of ours can remove. Every other
call is answered 400, so a function that starts making a third call at init shows up as an error
in the bench, not as a faster figure."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEED = json.dumps({"seed": "standin-seed-0123456789-0123456789-0123456789"})


class Standin:
    def __init__(self):
        self.calls = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                target = self.headers.get("X-Amz-Target", "")
                standin.calls.append(target)
                if target == "secretsmanager.GetSecretValue":
                    body = {"ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench/keys-AbCdEf",
                            "Name": "bench/keys", "SecretString": SEED, "VersionId": "v1",
                            "VersionStages": ["AWSCURRENT"], "CreatedDate": 1.0}
                    return self._reply(200, body, "application/x-amz-json-1.1")
                if target == "DynamoDB_20120810.GetItem":
                    return self._reply(200, {}, "application/x-amz-json-1.0")
                return self._reply(400, {"__type": "UnknownOperationException", "message": target},
                                   "application/x-amz-json-1.0")

            def _reply(self, status, body, content_type):
                # One write for head and body: written apart, the client's delayed ACK holds the
                # body back some 40 ms (Nagle's algorithm on this side).
                data = json.dumps(body).encode()
                head = (f"HTTP/1.1 {status} {'OK' if status == 200 else 'Bad Request'}\r\n"
                        f"Content-Type: {content_type}\r\nx-amzn-RequestId: standin\r\n"
                        f"Content-Length: {len(data)}\r\n\r\n")
                self.wfile.write(head.encode() + data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
