"""Benchmark of the FACE stage: ``python -m thinkdraw.face.bench [--frames N] [--threads K]``.

Prints (one line per figure): face analysis time per image size, rig build time, forward
throughput (frames/s, vectorised), inverse throughput for 3D and 2D landmarks, and the
forward->inverse recovery error (AU MAE, pose and gaze error) on random sparse AU combinations
with head rotations up to 20 degrees.  Seeds are fixed.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _timeit(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=300, help="frames for the inverse benchmark")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for forward (1 = one core)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args(argv)

    import cv2
    from skimage import data
    from threadpoolctl import threadpool_limits

    from thinkdraw.face.analyze import analyze_portrait, default_analyzer
    from thinkdraw.face.rig import Rig
    from thinkdraw.motion import au_channels, rig_channels

    out: dict[str, float] = {}
    img = data.astronaut()
    analyze_portrait(img)  # load MediaPipe once
    for side in (512, 2048, 6000):
        big = img if side == 512 else cv2.resize(img, (side, side))
        out[f"analyze_{side}px_ms"] = 1000 * _timeit(lambda: analyze_portrait(big, analyzer=default_analyzer()))
    portrait = analyze_portrait(img)
    out["rig_build_ms"] = 1000 * _timeit(lambda: Rig(portrait))
    rig = Rig(portrait)

    # random sparse motion (same recipe as the tests)
    rng = np.random.default_rng(0)
    ch = rig_channels()
    n_au = len(au_channels())
    t_n = args.frames
    p = np.zeros((t_n, len(ch)))
    for t in range(t_n):
        k = int(rng.integers(1, 5))
        idx = rng.choice(n_au, k, replace=False)
        p[t, idx] = rng.uniform(0.2, 1.0, k)
    p[:, n_au:n_au + 3] = rng.uniform(-20, 20, (t_n, 3))
    p[:, n_au + 3:n_au + 5] = rng.uniform(-0.2, 0.2, (t_n, 2))
    p[:, n_au + 5] = rng.uniform(-0.2, 0.2, t_n)
    p[:, n_au + 6:] = rng.uniform(-0.6, 0.6, (t_n, 2))

    with threadpool_limits(limits=args.threads):
        long = np.repeat(p, max(1, 3000 // t_n), axis=0)
        dt = _timeit(lambda: rig.forward(long))
        out["forward_frames_per_s"] = len(long) / dt
        lm = rig.forward(p)
        for dims in (3, 2):
            t0 = time.perf_counter()
            est = rig.inverse(lm[..., :dims])
            dt = time.perf_counter() - t0
            err = np.abs(est - p)
            out[f"inverse_{dims}d_frames_per_s"] = t_n / dt
            out[f"inverse_{dims}d_au_mae"] = float(err[:, :n_au].mean())
            out[f"inverse_{dims}d_pose_deg_mae"] = float(err[:, n_au:n_au + 3].mean())
            out[f"inverse_{dims}d_gaze_mae"] = float(err[:, n_au + 6:].mean())
    if args.json:
        print(json.dumps({k: round(v, 4) for k, v in out.items()}))
    else:
        for k, v in out.items():
            print(f"{k:32s} {v:12.4f}")
    return out


if __name__ == "__main__":  # pragma: no cover
    main()
