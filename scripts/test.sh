#!/usr/bin/env bash
# The whole test suite: install, lint, type-check, then tests against real PostgreSQL and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy
echo "== knowledge"; .venv/bin/helpdesk knowledge check
echo "== pytest"; .venv/bin/pytest -q "$@"
