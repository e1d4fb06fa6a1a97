#!/usr/bin/env bash
# First README command: set up (idempotent), then run the main job on bundled defaults:
# THINK a feeling, RENDER it on the bundled astronaut portrait, SPEAK a line with that feeling.
# Outputs go to out/ (or the folder given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
OUT=${1:-out}
FEELING=${THINKDRAW_FEELING:-"a bittersweet smile, remembering an old friend"}
mkdir -p "$OUT"
TD=.venv/bin/thinkdraw
$TD think "$FEELING"
$TD think "$FEELING" --json > "$OUT/plan.json"
$TD render astronaut --emotion "$FEELING" -o "$OUT/astronaut_emotion.png"
$TD atlas astronaut -o "$OUT/atlas_astronaut.png"
$TD speak "I found the photo of us at the lake. It feels like yesterday." --emotion "$FEELING" \
  -o "$OUT/speech.wav" --json > "$OUT/speech_track.json"
echo "wrote: $OUT/plan.json $OUT/astronaut_emotion.png $OUT/atlas_astronaut.png $OUT/speech.wav $OUT/speech_track.json"
