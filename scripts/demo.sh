#!/usr/bin/env bash
# Install everything and start the demo: open http://127.0.0.1:8000/simulator
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/helpdesk demo "$@"
