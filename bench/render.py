"""Renderer benchmark: closed loop, FER emotion confusion, dlib identity, head turns, fold-overs, speed. Prints markdown.

    OMP_NUM_THREADS=1 .venv/bin/python bench/render.py            # everything
    .venv/bin/python bench/render.py --only speed --frames 100    # one section

Portraits: skimage's astronaut and matplotlib's grace_hopper (public domain), plus stylised
versions of both (OpenCV pencil sketch and stylization filters). Speed is measured on one CPU
core (cv2 / torch / BLAS threads set to 1) for warp + compositing of a rig-driven sequence.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from thinkdraw.eval.fer_judge import EMOTION_TO_FER, STILL_PROMPTS  # noqa: E402

EMOTIONS = ("happiness", "sadness", "surprise", "anger", "fear", "disgust", "neutral")


def portraits(stylised: bool) -> dict[str, np.ndarray]:
    import cv2

    from thinkdraw.samples import SAMPLE_NAMES, load_sample

    out = {name: load_sample(name) for name in SAMPLE_NAMES}
    if stylised:
        for name, img in list(out.items()):
            bgr = img[..., ::-1].copy()
            _, sketch = cv2.pencilSketch(bgr, sigma_s=40, sigma_r=0.06, shade_factor=0.05)
            out[f"{name} (pencil)"] = np.ascontiguousarray(sketch[..., ::-1])
            out[f"{name} (painting)"] = np.ascontiguousarray(cv2.stylization(bgr, sigma_s=40, sigma_r=0.35)[..., ::-1])
    return out


def emotion_params(name: str) -> dict[str, float]:
    if name == "neutral":
        return {}
    from thinkdraw.render.cli import emotion_params as ep

    # as a user asks for a still: `thinkdraw render PORTRAIT --emotion "very happy"` (THINK plan at apex)
    return ep(STILL_PROMPTS.get(name, name))


def section_closed_loop(imgs: dict[str, np.ndarray]) -> None:
    from thinkdraw.eval.closed_loop import STILL_NOTE, detect_renders, score
    from thinkdraw.eval.observation import shipped
    from thinkdraw.face.analyze import analyze_portrait

    model = shipped()
    print("## Closed loop (render AU at 1.0 -> MediaPipe -> rig inverse; pass = strongest and >= 0.5)\n")
    print(f"Each cell: the rig inverse / the shipped MediaPipe observation model's reader (basis and noise learned on "
          f"{len(model.meta.get('faces', []))} registry faces, {model.meta.get('learned', '?')}; never on these two).\n")
    res = {}
    for name in ("astronaut", "grace_hopper"):
        img = imgs[name]
        renders = detect_renders(img, analyze_portrait(img))
        res[name] = (score(renders), score(renders, observation=model))
    names = list(res)

    def cell(r) -> str:  # noqa: ANN001
        return f"{r.measured:.2f} ({r.strongest} {r.strongest_value:.2f}) {'pass' if r.passed else 'FAIL'}"

    print("| AU | " + " | ".join(f"{n} measured (strongest): rig / observed" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for i, r0 in enumerate(res[names[0]][0]):
        print(f"| {r0.au} | " + " | ".join(f"{cell(res[n][0][i])} / {cell(res[n][1][i])}" for n in names) + " |")

    def total(rs) -> str:  # noqa: ANN001
        return f"{sum(r.passed for r in rs)}/{len(rs)} (strict {sum(r.strict for r in rs)})"

    print("| **passed** | " + " | ".join(f"**{total(res[n][0])} / {total(res[n][1])}**" for n in names) + " |\n")
    print(f"{STILL_NOTE}\n")


def section_fer(imgs: dict[str, np.ndarray]) -> None:
    from thinkdraw.eval.fer_judge import FER_CLASSES, FerJudge
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    judge = FerJudge()
    print("## Emotion judged by fer's FER2013 classifier (rows: intended, columns: predicted)\n")
    groups = {"photos": [n for n in imgs if "(" not in n], "stylised": [n for n in imgs if "(" in n]}
    per_image: list[str] = []
    params = {e: emotion_params(e) for e in EMOTIONS}
    for gname, names in groups.items():
        if not names:
            continue
        conf = np.zeros((len(EMOTIONS), len(FER_CLASSES)), int)
        for name in names:
            img = imgs[name]
            p = analyze_portrait(img)
            rig = Rig(p)
            r = Renderer(img, p, rig=rig)
            row = []
            for i, e in enumerate(EMOTIONS):
                frame = r.render(rig.forward(params[e])[0])
                res = judge.judge(frame) or judge.judge(frame, box=p.box)
                top = res.top if res else "neutral"
                conf[i, FER_CLASSES.index(top)] += 1
                row.append(f"{top}{'' if top == EMOTION_TO_FER[e] else ' ✗'}")
            per_image.append(f"| {name} | " + " | ".join(row) + " |")
        print(f"### {gname}: {', '.join(names)}\n")
        print("| intended \\ FER | " + " | ".join(FER_CLASSES) + " |")
        print("|---|" + "---|" * len(FER_CLASSES))
        for i, e in enumerate(EMOTIONS):
            print(f"| {e} | " + " | ".join(str(v) for v in conf[i]) + " |")
        core = [EMOTIONS.index(e) for e in ("happiness", "sadness", "surprise", "anger")]
        hit = sum(conf[i, FER_CLASSES.index(EMOTION_TO_FER[EMOTIONS[i]])] for i in core)
        print(f"\nhappiness/sadness/surprise/anger correct: {hit}/{len(core) * len(names)}\n")
    print("Per image (top FER class; ✗ = not the intended one):\n")
    print("| image | " + " | ".join(EMOTIONS) + " |")
    print("|---|" + "---|" * len(EMOTIONS))
    print("\n".join(per_image) + "\n")


def section_identity(imgs: dict[str, np.ndarray]) -> None:
    from thinkdraw.eval.identity import IdentityJudge
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    judge = IdentityJudge()
    print("## Identity: dlib face-recognition distance, source vs full-intensity renders (target <= 0.4)\n")
    tests = {e: emotion_params(e) for e in EMOTIONS}
    tests.update({"AU26 jaw drop": {"AU26": 1.0}, "AU27 mouth stretch": {"AU27": 1.0}, "AU43 eyes closed": {"AU43": 1.0},
                  "AU12 smile": {"AU12L": 1.0, "AU12R": 1.0}, "AU4 brow lowerer": {"AU4": 1.0}})
    print("| image | " + " | ".join(tests) + " | max |")
    print("|---|" + "---|" * (len(tests) + 1))
    for name, img in imgs.items():
        p = analyze_portrait(img)
        rig = Rig(p)
        r = Renderer(img, p, rig=rig)
        # dlib's HOG detector misses some stylised faces: MediaPipe's box then
        d = judge.distances(img, [r.render(rig.forward(prm)[0]) for prm in tests.values()], box=p.box)
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in d) + f" | {np.nanmax(d):.3f} |")
    print()


def section_head_turn(imgs: dict[str, np.ndarray]) -> None:
    from thinkdraw.eval.head_motion import torso_and_hair_motion, under_chin_follow
    from thinkdraw.eval.streaks import band_mask, streakiness
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer, RenderConfig

    print("## Head turns: streaks in the stretched side band (|d/dy| / |d/dx| inside it; skin ~1)\n")
    print("| portrait | side gates (left, right) | yaw | without fill | with fill |")
    print("|---|---|---|---|---|")
    setups = {}
    for name in ("astronaut", "grace_hopper"):
        p = analyze_portrait(imgs[name])
        rig = Rig(p)
        setups[name] = (p, rig, Renderer(imgs[name], p, rig=rig))
    for name, (p, rig, r) in setups.items():
        plain = Renderer(imgs[name], p, RenderConfig(side_fill=False), rig=rig)
        gates = ", ".join(f"{g:.2f}" for g in r.side_band.gates)
        for yaw in (-20.0, -12.0, 12.0, 20.0):
            lm = rig.forward({"yaw": yaw})[0]
            mask = band_mask(r.landmarks, r.target_vertices(lm[:, :2])[0], r.ipd, yaw > 0, (r.H, r.W))
            print(f"| {name} | {gates} | {yaw:+.0f} | {streakiness(plain.render(lm), mask):.2f} | "
                  f"{streakiness(r.render(lm), mask):.2f} |")
    print()
    print("## Head motion: hair follows, the torso stays (mean |backward-map displacement|, px)\n")
    print("Torso: below the chin by more than 0.45 face heights (forehead-top to chin), within one face height "
          "sideways. Hair: a band 0.05-0.25 face heights above the forehead top.\n")
    print("| portrait | motion | torso mean (max) | hair mean |")
    print("|---|---|---|---|")
    for name, (p, rig, r) in setups.items():
        for ch, v in (("pitch", 20.0), ("pitch", -20.0), ("yaw", 20.0), ("yaw", -20.0), ("roll", 10.0)):
            torso, hair = torso_and_hair_motion(r, p.landmarks, rig.forward({ch: v})[0][:, :2])
            print(f"| {name} | {ch} {v:+.0f}° | {torso.mean():.2f} ({torso.max():.1f}) | {hair.mean():.1f} |")
    print()
    print("## Jaw drop: the skin under the chin moves with it (`eval.head_motion.under_chin_follow`)\n")
    print("Mean vertical backward-map motion of the pixels 0.05-0.2 IPD under the target chin point, as a "
          "fraction of the chin point's own motion (1 = carried, ~0 = squeezed against a still neck band).\n")
    print("| portrait | AU | chin carried (default) | chin_carry=(0, 0) |")
    print("|---|---|---|---|")
    for name, (p, rig, r) in setups.items():
        still = Renderer(imgs[name], p, RenderConfig(chin_carry=(0.0, 0.0)), rig=rig)
        for au in ("AU26", "AU27", "AU17"):
            t = rig.forward({au: 1.0})[0]
            print(f"| {name} | {au} 1.0 | {under_chin_follow(r, t):.2f} | {under_chin_follow(still, t):.2f} |")
    print()


FOLDOVER_EXTRAS = {
    "laughing": "extremely happy, laughing",
    "AU12+25+26 1.0": {"AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0, "AU26": 1.0},
    "AU10+12+25 1.0": {"AU10": 1.0, "AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0},
}


def section_foldover(imgs: dict[str, np.ndarray]) -> None:
    from thinkdraw.eval.foldover import foldover
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.cli import atlas_entries
    from thinkdraw.render.cli import emotion_params as ep
    from thinkdraw.render.warp import Renderer

    print("## Fold-overs: frame area of flipped face-mesh triangles (`eval.foldover`; tears and smears)\n")
    print("Over the atlas (every AU at 0.5 and 1.0, 7 basic and 6 compound emotions) and three extreme mouths.\n")
    print("| portrait | total px^2 | IPD px | worst entries (px^2) |")
    print("|---|---|---|---|")
    for name in ("astronaut", "grace_hopper"):
        p = analyze_portrait(imgs[name])
        rig = Rig(p)
        r = Renderer(imgs[name], p, rig=rig)
        areas = {}
        for label, prm in list(atlas_entries()) + list(FOLDOVER_EXTRAS.items()):
            lm = rig.forward(ep(prm) if isinstance(prm, str) else prm)[0]
            areas[label] = foldover(r.src, r.target_vertices(lm)[0]).area
        worst = sorted(areas.items(), key=lambda kv: -kv[1])[:6]
        print(f"| {name} | {sum(areas.values()):.0f} | {r.ipd:.0f} | " + ", ".join(f"{k} {v:.0f}" for k, v in worst) + " |")
    print()


def _sequence(rig, n: int, head: bool) -> np.ndarray:
    """A rig-driven 100-frame style sequence: talking mouth, smile, blinks, gaze (+ head)."""
    from thinkdraw.motion import channel_index, rig_channels

    idx = channel_index()
    t = np.arange(n) / 25.0
    P = np.zeros((n, len(rig_channels())))
    P[:, idx["AU25"]] = 0.5 + 0.5 * np.sin(2 * np.pi * 3.1 * t) ** 2
    P[:, idx["AU26"]] = 0.6 * np.abs(np.sin(2 * np.pi * 2.3 * t))
    P[:, idx["AU12L"]] = P[:, idx["AU12R"]] = 0.6 * (0.5 + 0.5 * np.sin(2 * np.pi * 0.4 * t))
    P[:, idx["AU6"]] = 0.4
    blink = np.exp(-(((t % 2.0) - 1.0) / 0.06) ** 2)
    P[:, idx["AU45L"]] = P[:, idx["AU45R"]] = blink
    P[:, idx["gaze_h"]] = 0.5 * np.sin(2 * np.pi * 0.3 * t)
    if head:
        P[:, idx["yaw"]] = 8 * np.sin(2 * np.pi * 0.25 * t)
        P[:, idx["pitch"]] = 4 * np.sin(2 * np.pi * 0.35 * t)
        P[:, idx["roll"]] = 3 * np.sin(2 * np.pi * 0.2 * t)
    return rig.forward(P)


def section_speed(imgs: dict[str, np.ndarray], frames: int, device: str | None) -> None:
    import cv2
    import torch

    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.torch_warp import TorchRenderer
    from thinkdraw.render.warp import Renderer

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    img = imgs["astronaut"]
    assert img.shape[:2] == (512, 512)
    t0 = time.perf_counter()
    p = analyze_portrait(img)
    t1 = time.perf_counter()
    rig = Rig(p)
    r = Renderer(img, p)
    t2 = time.perf_counter()
    print("## Speed (512x512 astronaut, one CPU core: OMP/cv2/torch threads = 1)\n")
    print(f"face analysis once (incl. loading MediaPipe): {1000 * (t1 - t0):.0f} ms; rig + renderer precompute: {1000 * (t2 - t1):.0f} ms\n")
    # a phone-camera-sized portrait (grace_hopper scaled 10x, 6000x5120, with glasses): set-up
    # (analysis, clean plates, glasses fill) and one still, as `thinkdraw render` does
    big = cv2.resize(imgs["grace_hopper"], None, fx=10, fy=10, interpolation=cv2.INTER_CUBIC)
    t0 = time.perf_counter()
    pb = analyze_portrait(big)
    t1 = time.perf_counter()
    rig_b = Rig(pb)
    rb = Renderer(big, pb, rig=rig_b)
    t2 = time.perf_counter()
    rb.render(rig_b.forward({"AU12L": 1.0, "AU12R": 1.0, "AU25": 1.0})[0])
    t3 = time.perf_counter()
    rb.render(rig_b.forward({"AU12L": 0.8, "AU12R": 0.8, "AU25": 0.9, "yaw": 3.0})[0])
    t4 = time.perf_counter()
    print(f"{big.shape[1]}x{big.shape[0]} portrait (ipd {rb.ipd:.0f} px, map lattice every {rb.steps.fine} px): "
          f"analysis {t1 - t0:.1f} s, rig + renderer precompute {t2 - t1:.1f} s, first still {t3 - t2:.1f} s, "
          f"next frame {t4 - t3:.2f} s\n")
    del big, pb, rb, rig_b
    print("| path | sequence | frames | frames/s |")
    print("|---|---|---|---|")
    for head in (False, True):
        seq = _sequence(rig, frames, head)
        r.render(seq[0])
        t = time.perf_counter()
        r.render_batch(seq)
        fps = frames / (time.perf_counter() - t)
        print(f"| numpy warp + composite | expression{' + head motion' if head else ''} | {frames} | {fps:.1f} |")
    # grace_hopper (600x512): glasses and her side band's fill at work on every head-motion frame
    pg = analyze_portrait(imgs["grace_hopper"])
    rg = Renderer(imgs["grace_hopper"], pg)
    seq = _sequence(Rig(pg), frames, True)
    rg.render(seq[0])
    t = time.perf_counter()
    rg.render_batch(seq)
    print(f"| numpy warp + composite, grace_hopper 600x512 | expression + head motion | {frames} | "
          f"{frames / (time.perf_counter() - t):.1f} |")
    seq = _sequence(rig, frames, True)
    tr = TorchRenderer(r, "cpu")
    tr.render_batch(seq[:4])
    for threads in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        t = time.perf_counter()
        for i in range(0, frames, 25):
            tr.render_batch(seq[i : i + 25])
        print(f"| torch batch 25, CPU {threads} thread(s) | expression + head | {frames} | {frames / (time.perf_counter() - t):.1f} |")
    dev = device or ("cuda" if torch.cuda.is_available() else None)
    if dev and dev != "cpu":
        tg = TorchRenderer(r, dev)
        for batch in (25, 100):
            tg.render_batch(seq[:batch], overlays=False)
            torch.cuda.synchronize()
            t = time.perf_counter()
            for _ in range(3):
                tg.render_batch(seq[:batch], overlays=False)
            torch.cuda.synchronize()
            fps_w = 3 * batch / (time.perf_counter() - t)
            t = time.perf_counter()
            tg.render_batch(seq[:batch])
            fps_o = batch / (time.perf_counter() - t)
            print(f"| torch batch {batch}, {torch.cuda.get_device_name()} | warp only / + CPU overlays | {batch} | {fps_w:.1f} / {fps_o:.1f} |")
    print()


SECTIONS = ("closed_loop", "fer", "identity", "head_turn", "foldover", "speed")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=SECTIONS, action="append")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--no-stylised", action="store_true", help="skip the pencil/painting versions")
    ap.add_argument("--device", default=None, help="torch device for the batch path (default: cuda if present)")
    args = ap.parse_args()
    from thinkdraw.utils.logs import setup_logging

    setup_logging(-1)
    only = set(args.only or SECTIONS)
    imgs = portraits(stylised=not args.no_stylised and bool(only & {"fer", "identity"}))
    if "closed_loop" in only:
        section_closed_loop(imgs)
    if "fer" in only:
        section_fer(imgs)
    if "identity" in only:
        section_identity(imgs)
    if "head_turn" in only:
        section_head_turn(imgs)
    if "foldover" in only:
        section_foldover(imgs)
    if "speed" in only:
        section_speed(imgs, args.frames, args.device)


if __name__ == "__main__":
    main()
