#!/usr/bin/env bash
# Bootstraps the table, keys and sender on the stack the environment names, and seeds the demo
# accounts with MFA on. Used by `make dev` and the browser test. With --with-unreachable, also two
# staff who cannot receive setup mail (no email; an invalid Name.Email), for the readiness report.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --quiet -p mfa-admin
admin="${CARGO_TARGET_DIR:-$root/target}/debug/mfa-admin"
"$admin" bootstrap
"$admin" settings set --org-default-email mfa@example.org --org-name "Example Org" > /dev/null
"$admin" bootstrap --sender mfa@example.org
add() { printf '%s\n' "$2" | "$admin" account add --username "$1" --password-stdin "${@:3}" > /dev/null; }
add admin   "admin password 2026"   --kind sysadmin --name-email admin@example.org
add manager "manager password 2026" --kind sysadmin --name-email manager@example.org
add jane    "jane password 2026"    --kind staff --name-email jane@example.org --address-email jane.home@example.org
add member  "member password 2026"  --kind member --address-email member@example.org
add api     "api password 2026"     --kind api
if [ "${1:-}" = "--with-unreachable" ]; then
  add bob   "bob password 2026"     --kind staff
  add carol "carol password 2026"   --kind staff --name-email "carol at example" --address-email carol@example.org
fi
"$admin" settings set --mfa-enabled true > /dev/null
