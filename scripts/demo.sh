#!/usr/bin/env bash
# First README command: set up (idempotent) and run the main job on bundled defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/thinkdraw think "a bittersweet smile, remembering an old friend" "$@"
