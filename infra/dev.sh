#!/usr/bin/env bash
# `make dev`: a fresh machine to a running local stack. moto on 127.0.0.1:$MFA_AWS_PORT, the
# table, keys and sender identity bootstrapped, demo data seeded (MFA on), and all five functions
# behind `cargo lambda watch` on 127.0.0.1:$MFA_HTTP_PORT. Ctrl-C stops everything.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
http_port="${MFA_HTTP_PORT:-9000}"
aws_port="${MFA_AWS_PORT:-5000}"
bash infra/tools.sh

export AWS_ENDPOINT_URL="http://127.0.0.1:$aws_port" AWS_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true \
       MFA_TABLE=staff-mfa MFA_KEYS_SECRET=staff-mfa/keys \
       PUBLIC_BASE_URL="http://localhost:$http_port" \
         MFA_SES_SEND_RATE=100

cleanup() { trap - EXIT INT TERM; kill 0 2>/dev/null || true; bash infra/moto.sh stop "$aws_port"; }
trap cleanup EXIT INT TERM
bash infra/moto.sh start "$aws_port"

echo "==> bootstrap and demo data"
bash infra/seed.sh

cat <<INFO

  Staff MFA is starting on http://localhost:$http_port (the first request builds each function)

  Sign in:     http://localhost:$http_port/sign-in
  Admin page:  http://localhost:$http_port/admin

  Demo accounts (MFA is on; none is enrolled yet):
    admin   / admin password 2026    sysadmin
    manager / manager password 2026  sysadmin (MANAGER)
    jane    / jane password 2026     staff
    member  / member password 2026   member (never asked for a code)
    api     / api password 2026      api (POST /token)

  Setup emails sent:  make outbox   (MFA_AWS_PORT=$aws_port)
  Stop:               Ctrl-C

INFO
# Several instances per function (MFA_CONCURRENCY, default 4), as Lambda runs them: races show.
cargo lambda watch --concurrency "${MFA_CONCURRENCY:-4}" -A 127.0.0.1 -P "$http_port" \
  --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" --env-var AWS_REGION=us-east-1 \
  --env-var AWS_ACCESS_KEY_ID=local --env-var AWS_SECRET_ACCESS_KEY=local \
  --env-var "MFA_TABLE=$MFA_TABLE" --env-var "MFA_KEYS_SECRET=$MFA_KEYS_SECRET" \
  --env-var "PUBLIC_BASE_URL=$PUBLIC_BASE_URL" \
    --env-var "MFA_SES_SEND_RATE=$MFA_SES_SEND_RATE" &
wait
