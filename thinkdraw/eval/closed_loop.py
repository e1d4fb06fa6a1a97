"""Closed loop: render each AU at 1.0, re-detect the face with MediaPipe, measure with the rig inverse.

An AU passes when, among all AUs the inverse measures on the re-detected landmarks, the intended
one is the strongest and reaches at least ``PASS_LEVEL``. This checks rig + renderer together
against an outside detector (MediaPipe sees only pixels).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from thinkdraw.eval.observation import ObservationModel

PASS_LEVEL = 0.5
"""Minimum measured intensity of the intended AU."""

LID_LOWERING: tuple[str, ...] = ("AU41", "AU42", "AU43", "AU45")
"""One lid action at different amounts: relaxation of levator palpebrae. FACS 2002 (Ekman, Friesen &
Hager, Manual ch. on AU 45) scores droop and slit as AU43 at lower intensity (43B ... 43E = closed)
and states that AU45 (blink) cannot be scored in a still photograph: it differs from 43E only by
lasting < 0.5 s. The rig keeps 41/42/45 as channels (old FACS codes, and blink timing for the motion
stage), but a still cannot tell them apart beyond their amount."""

STILL_EQUIVALENT: dict[str, tuple[str, ...]] = {au: LID_LOWERING for au in LID_LOWERING}
"""AUs a single still cannot tell apart (see LID_LOWERING). In the still closed loop an AU in this
table passes when the strongest measured AU is any member of its class and the class's strongest
channel reaches PASS_LEVEL; results also report the strict outcome (``strict``). This is a stated
limit of a still-image check, not a rig property: the motion stage still uses the codes by timing."""


STILL_NOTE = ("AU41/42/43/45 are one lid action (levator relaxation) in a still: FACS 2002 scores droop and "
              "slit as AU43 levels and blink by duration, so any of them counts for another; 'strict' counts "
              "only the intended code.")
"""The reading note printed under every closed-loop table (see STILL_EQUIVALENT)."""


@dataclass
class AUResult:
    """One AU's closed-loop outcome (intensities in [0, 1])."""

    au: str
    measured: float  # measured intensity of the intended AU (mean over its L/R channels; for an AU of
    # STILL_EQUIVALENT the strongest member of its class)
    strongest: str  # the AU measured strongest
    strongest_value: float
    passed: bool
    detected: bool  # MediaPipe found the face in the render
    all_measured: dict[str, float] | None = None  # every AU's measured intensity
    strict: bool = False  # passed without STILL_EQUIVALENT: the intended AU itself strongest and >= PASS_LEVEL

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def au_groups() -> dict[str, list[int]]:
    """Facial AU -> indices of its rig channels (split AUs: both sides)."""
    from thinkdraw.facs import au_catalog
    from thinkdraw.motion import au_to_channels, channel_index

    idx = channel_index()
    out: dict[str, list[int]] = {}
    for au, info in au_catalog().items():
        if str(info.get("rig", "both")).startswith("alias:"):
            continue
        out[au] = [idx[c] for c in au_to_channels(au)]
    return out


def measure_aus(rig: Any, landmarks: np.ndarray, neutral: np.ndarray | None = None,
                observation: ObservationModel | None = None) -> dict[str, float]:
    """(478, 2|3) landmarks -> {AU: intensity} by the rig inverse (mean over an AU's channels).

    neutral: optional (478, 3) landmarks of the same face at rest used as the reference.
    observation: optional :class:`thinkdraw.eval.observation.ObservationModel` (needs ``neutral``):
    read with the detector's learned basis and noise instead of the rig inverse.
    """
    if observation is not None:
        if neutral is None:
            raise ValueError("reading with an observation model needs the neutral landmarks")
        vec = observation.measure(landmarks, neutral)  # basis columns: the rig's AU channels come first
    else:
        vec = np.asarray(rig.inverse(landmarks, neutral=neutral))[0]
    return {au: float(np.mean(vec[ix])) for au, ix in au_groups().items()}


@dataclass
class LoopRenders:
    """Each AU's render as MediaPipe re-detects it: what the closed loop measures."""

    rig: Any  # the portrait's Rig (measures with its inverse)
    neutral: np.ndarray | None  # (478, 3) landmarks of the neutral render (None: face lost)
    seen: dict[str, np.ndarray | None]  # AU -> (478, 3) landmarks of its render (None: face lost)


def detect_renders(image: np.ndarray, portrait: Any, aus: list[str] | None = None, level: float = 1.0,
                   analyzer: Any = None, rig: Any = None, renderer: Any = None) -> LoopRenders:
    """Render each of ``aus`` (default: every facial AU of the catalog) at ``level`` on one
    portrait and re-detect the face in every render (and in the neutral render)."""
    from thinkdraw.errors import InputError
    from thinkdraw.face.analyze import analyze_portrait, default_analyzer
    from thinkdraw.face.rig import Rig
    from thinkdraw.motion import rig_channels
    from thinkdraw.render.warp import Renderer

    analyzer = analyzer or default_analyzer()
    rig = rig or Rig(portrait)
    renderer = renderer or Renderer(image, portrait, rig=rig)
    groups = au_groups()
    names = rig_channels()

    def redetect(params: dict[str, float]) -> np.ndarray | None:
        try:
            return analyze_portrait(renderer.render(rig.forward(params)[0]), analyzer=analyzer).landmarks
        except InputError:
            return None

    # reference: the neutral render re-detected the same way, so detector bias cancels out
    neutral = redetect({})
    seen = {au: redetect({names[i]: level for i in groups[au]}) for au in aus or list(groups)}
    return LoopRenders(rig, neutral, seen)


def score(renders: LoopRenders, observation: ObservationModel | None = None) -> list[AUResult]:
    """Measure every re-detected render with the rig inverse (or with a detector observation model
    learned on other faces, :class:`thinkdraw.eval.observation.ObservationModel`) and judge each AU."""
    results = []
    for au, landmarks in renders.seen.items():
        if landmarks is None or (observation is not None and renders.neutral is None):  # nothing to read against
            results.append(AUResult(au, 0.0, "-", 0.0, False, False))
            continue
        m = measure_aus(renders.rig, landmarks, renders.neutral, observation)
        top = max(m, key=m.get)
        cls = STILL_EQUIVALENT.get(au, (au,))
        value = max(m[a] for a in cls)
        strict = top == au and m[au] >= PASS_LEVEL
        results.append(AUResult(au, value, top, m[top], top in cls and value >= PASS_LEVEL, True, m, strict))
    return results


def closed_loop(image: np.ndarray, portrait: Any, aus: list[str] | None = None, level: float = 1.0,
                analyzer: Any = None, rig: Any = None, renderer: Any = None,
                observation: ObservationModel | None = None) -> list[AUResult]:
    """Run the closed loop for ``aus`` (default: every facial AU of the catalog) on one portrait:
    :func:`detect_renders` then :func:`score` (``observation``: see there)."""
    return score(detect_renders(image, portrait, aus, level, analyzer, rig, renderer), observation)


def markdown_table(results: list[AUResult]) -> str:
    """Per-AU closed-loop results as a markdown table."""
    lines = ["| AU | measured | strongest | strongest value | pass |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.au} | {r.measured:.2f} | {r.strongest} | {r.strongest_value:.2f} | "
                     f"{'yes' if r.passed else 'no' if r.detected else 'no face'} |")
    n = sum(r.passed for r in results)
    k = sum(r.strict for r in results)
    lines.append(f"| **total** | | | | **{n}/{len(results)}** (strict: {k}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m thinkdraw.eval.closed_loop [--portrait astronaut|grace_hopper]``: print the tables,
    measured with the rig inverse and with the shipped MediaPipe observation model."""
    import argparse

    from thinkdraw.eval.observation import shipped
    from thinkdraw.face.analyze import analyze_portrait
    from thinkdraw.samples import load_sample

    ap = argparse.ArgumentParser(prog="python -m thinkdraw.eval.closed_loop")
    ap.add_argument("--portrait", choices=("astronaut", "grace_hopper"), action="append",
                    help="portrait(s) to run (default: both)")
    args = ap.parse_args(argv)
    model = shipped()
    for name in args.portrait or ["astronaut", "grace_hopper"]:
        img = load_sample(name)
        renders = detect_renders(img, analyze_portrait(img))
        print(f"### {name}, rig inverse\n")
        print(markdown_table(score(renders)))
        print(f"\n### {name}, read with the shipped observation model "
              f"(learned on {len(model.meta.get('faces', []))} registry faces)\n")
        print(markdown_table(score(renders, observation=model)))
        print(f"\n{STILL_NOTE}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
