#!/usr/bin/env bash
# Starts or stops the local AWS stack: moto's server (DynamoDB, SES v2, Secrets Manager) on
# 127.0.0.1. Usage: infra/moto.sh start PORT | stop PORT
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cmd="${1:?start|stop}"; port="${2:?port}"
mkdir -p "$root/.local"
pidfile="$root/.local/moto-$port.pid"
case "$cmd" in
  start)
    "$root/.venv/bin/python" "$root/infra/moto_server.py" "$port" > "$root/.local/moto-$port.log" 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 100); do
      if "$root/.venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=1)" 2>/dev/null; then
        exit 0
      fi
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "moto failed to start on port $port:" >&2; cat "$root/.local/moto-$port.log" >&2; exit 1
      fi
      sleep 0.2
    done
    echo "moto did not answer on port $port" >&2; exit 1 ;;
  stop)
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi ;;
  *) echo "usage: $0 start|stop PORT" >&2; exit 2 ;;
esac
