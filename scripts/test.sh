#!/usr/bin/env bash
# Second README command: set up with the test extras (idempotent) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
