"""THINK benchmark: dominant-emotion accuracy, intensity agreement, AU precision/recall, speed.

Run from the repo root: ``.venv/bin/python bench/think.py [--data PATH] [--repeat N]``.
Prints markdown tables.

- Dominant-emotion accuracy: for each line of the eval file ({"text", "accept", "intensity"?}),
  the plan's highest-weight emotion must be one of ``accept``. Target >= 90%.
- Intensity agreement, where a line gives "low" or "high": low means plan intensity < 0.4,
  high means > 0.7 (the bands in thinkdraw/facs/rules.yaml).
- AU precision/recall: plan the label text of each basic emotion ("happiness", ...) and compare the
  planned AU set with the EMFACS prototype (DESIGN.md); plan each compound's name ("happily
  surprised", ...) and compare with the prototypical AUs of Du, Tao & Martinez (PNAS 2014),
  Table 1. Micro-averaged over emotions. The references are written out below, independently of
  the YAML files the planner reads.
- Load time: a fresh Python process imports thinkdraw.think and builds a Planner (lexicons,
  MiniLM weights, the emotion-description embeddings shipped in thinkdraw/think/data). Target
  <= 5 s. Also shown: the one-off cost of embedding the descriptions when the shipped file does not
  match the YAML (edited knowledge), after which they are cached in ~/.cache/thinkdraw. Per-plan latency: mean and 95th percentile over the eval texts, once loaded.
  Target <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from thinkdraw.think import Planner  # noqa: E402

EMFACS = {  # DESIGN.md reference facts
    "happiness": {6, 12}, "sadness": {1, 4, 15}, "surprise": {1, 2, 5, 26}, "fear": {1, 2, 4, 5, 7, 20, 26},
    "anger": {4, 5, 7, 23}, "disgust": {9, 15, 16}, "contempt": {12, 14},
}
DU_2014 = {  # Du, Tao & Martinez, PNAS 2014, Table 1, prototypical AUs
    "happily surprised": {1, 2, 12, 25}, "happily disgusted": {10, 12, 25}, "sadly fearful": {1, 4, 20, 25},
    "sadly angry": {4, 15}, "sadly surprised": {1, 4, 25, 26}, "sadly disgusted": {4, 10},
    "fearfully angry": {4, 20, 25}, "fearfully surprised": {1, 2, 5, 20, 25},
    "fearfully disgusted": {1, 4, 10, 20, 25}, "angrily surprised": {4, 25, 26}, "angrily disgusted": {4, 10, 17},
    "disgustedly surprised": {1, 2, 5, 10}, "appalled": {4, 10}, "hatred": {4, 10}, "awed": {1, 2, 5, 25},
}


def accuracy(planner: Planner, rows: list[dict]) -> tuple[int, int, int, int, list[str]]:
    ok = int_ok = int_n = 0
    misses = []
    for row in rows:
        plan = planner.plan(row["text"])
        hit = plan.dominant in row["accept"]
        ok += hit
        if not hit:
            misses.append(f"{row['text']!r}: got {plan.dominant}, accept {row['accept']}")
        if row.get("intensity") in ("low", "high"):
            int_n += 1
            good = plan.intensity < 0.4 if row["intensity"] == "low" else plan.intensity > 0.7
            int_ok += good
            if not good:
                misses.append(f"{row['text']!r}: intensity {plan.intensity:.2f}, expected {row['intensity']}")
    return ok, len(rows), int_ok, int_n, misses


def au_scores(planner: Planner, refs: dict[str, set[int]]) -> tuple[float, float, list[str]]:
    tp = fp = fn = 0
    diffs = []
    for label, ref in refs.items():
        got = {int(a[2:]) for a in planner.plan(label).au_dict()}
        tp += len(got & ref)
        fp += len(got - ref)
        fn += len(ref - got)
        if got != ref:
            diffs.append(f"{label}: planned {sorted(got)}, reference {sorted(ref)}")
    return tp / max(1, tp + fp), tp / max(1, tp + fn), diffs


def load_time(cache_dir: str) -> float:
    code = ("import time; t = time.perf_counter(); from thinkdraw.think import Planner; Planner(); "
            "print(time.perf_counter() - t)")
    env = dict(os.environ, THINKDRAW_CACHE=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(REPO / ".." / "shared" / "eval" / "emotions_dev.jsonl"),
                    help="JSON Lines eval file (default ../shared/eval/emotions_dev.jsonl)")
    ap.add_argument("--repeat", type=int, default=5, help="passes over the texts for the latency figure")
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_file():
        print(f"bench/think.py: error: no eval file at {data}", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]

    with tempfile.TemporaryDirectory() as tmp:
        load = min(load_time(tmp) for _ in range(2))
    planner = Planner()
    from thinkdraw.think.knowledge import _anchor_texts

    texts = _anchor_texts()[1]
    t = time.perf_counter()
    planner.knowledge.encoder.encode(texts)
    embed_all = time.perf_counter() - t
    ok, n, int_ok, int_n, misses = accuracy(planner, rows)
    p_b, r_b, d_b = au_scores(planner, EMFACS)
    p_c, r_c, d_c = au_scores(planner, DU_2014)

    times = []
    for _ in range(args.repeat):
        for row in rows:
            t = time.perf_counter()
            planner.plan(row["text"])
            times.append(time.perf_counter() - t)
    times.sort()
    mean_ms = 1000 * statistics.fmean(times)
    p95_ms = 1000 * times[int(0.95 * (len(times) - 1))]

    print(f"## THINK benchmark (knowledge backend, {data.name}, {n} texts)\n")
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| dominant-emotion accuracy | {ok}/{n} = {ok / n:.1%} | >= 90% |")
    print(f"| intensity agreement (low < 0.4, high > 0.7) | {int_ok}/{int_n} = {int_ok / max(1, int_n):.1%} | |")
    print(f"| AU precision / recall, basic vs EMFACS (7) | {p_b:.2f} / {r_b:.2f} | |")
    print(f"| AU precision / recall, compounds vs Du et al. 2014 (15) | {p_c:.2f} / {r_c:.2f} | |")
    print(f"| load time (fresh process, best of 2) | {load:.2f} s | <= 5 s |")
    print(f"| one-off: embed {len(texts)} descriptions when the shipped file is stale | {embed_all:.2f} s | |")
    print(f"| latency per plan, mean / p95 ({len(times)} plans) | {mean_ms:.1f} / {p95_ms:.1f} ms | <= 50 ms |")
    if misses or d_b or d_c:
        print("\nDifferences:\n")
        for m in misses + d_b + d_c:
            print(f"- {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
