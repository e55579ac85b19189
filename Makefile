# The two commands: `make dev` runs the local stack, `make test` runs every test.
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: dev test outbox tools package bench bench-readiness load smoke

dev:
	bash infra/dev.sh

test:
	bash infra/test.sh

outbox:
	python3 infra/outbox.py

tools:
	bash infra/tools.sh

package: tools
	cargo lambda build --release --bin sign-in --bin setup-email --bin verify-code --bin settings --bin oidc

# Readiness with 10,000 staff on the local stack: time and DynamoDB read units.
bench-readiness: tools
	bash infra/with-moto.sh cargo run --quiet -p staff-mfa-tests --example readiness_bench

# Cold start, warm latency, CPU, memory, size, argon2id, AWS requests per sign-in, and the load run.
bench:
	bash infra/bench.sh

# A bounded load run on loopback: LOAD_USERS (200) staff sign in with codes for LOAD_SECONDS (60)
# against cargo lambda watch (LOAD_CONCURRENCY instances per function, 4); fails on any answer the
# contract does not give, a lost audit entry or a session for a wrong code.
load:
	bash infra/load.sh

# After a deploy: checks the live stack without changing real users (discovery, JWKS, pages and
# their headers, error shapes, TLS, the issuer matching BASE_URL; with SMOKE_USER and
# SMOKE_PASSWORD, a test account's password step). One line per check; fails when one does.
smoke:
	@test -n "$(BASE_URL)" || { echo "usage: make smoke BASE_URL=https://... [SMOKE_USER=... SMOKE_PASSWORD=...]" >&2; exit 2; }
	@SMOKE_USER="$(SMOKE_USER)" SMOKE_PASSWORD="$${SMOKE_PASSWORD:-$(SMOKE_PASSWORD)}" python3 infra/smoke.py "$(BASE_URL)"
