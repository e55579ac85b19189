# The two commands: `make dev` runs the local stack, `make test` runs every test.
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: dev test outbox tools package

dev:
	bash infra/dev.sh

test:
	bash infra/test.sh

outbox:
	python3 infra/outbox.py

tools:
	bash infra/tools.sh

package: tools
	cargo lambda build --release --bin sign-in --bin setup-email --bin verify-code --bin settings
