"""moto's server, answering one request at a time.

DynamoDB makes every request atomic: a conditional write or a transaction either sees the state
before a concurrent one or after it, never half of it. moto's in-memory backends take no locks, so
under a threaded server two conditional writes can both pass their checks (the race tests caught
exactly that). Processing one request at a time, while still accepting connections on many threads,
gives the local stack DynamoDB's isolation. Usage: moto_server.py PORT
"""
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

port = int(sys.argv[1])
os.environ.setdefault("MOTO_PORT", str(port))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def one_at_a_time(environ, start_response):
    with lock:
        # Materialise the body inside the lock, so the whole request is one step.
        return list(app(environ, start_response))


run_simple("127.0.0.1", port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)
