#!/usr/bin/env bash
# Installs the pinned local tool chain: moto, cargo-lambda and cfn-lint into .venv
# (infra/requirements.txt), schemathesis with boto3 into .venv-fuzz (infra/requirements-fuzz.txt;
# a venv of its own, as its dependencies may conflict with moto's), and the AWS SAM CLI into
# .venv-sam (infra/requirements-sam.txt, likewise). Idempotent: each venv is
# reinstalled only when its requirements file changes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

install_venv() { # VENV REQUIREMENTS WHAT
  local venv="$root/$1" requirements="$root/infra/$2" what="$3"
  local stamp="$venv/.requirements.sha256" want
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "==> installing pinned tools into $1 ($what)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
}

install_venv .venv requirements.txt "moto, cargo-lambda, cfn-lint"
install_venv .venv-fuzz requirements-fuzz.txt "schemathesis, boto3"
install_venv .venv-sam requirements-sam.txt "aws-sam-cli"

# strace, for the cold-start check in make test (Debian's package; on this machine image already).
if ! command -v strace > /dev/null; then
  echo "==> installing strace (Debian)"
  apt-get update -qq && apt-get install -y -qq strace > /dev/null
fi
