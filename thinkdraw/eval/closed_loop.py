"""Closed loop: render each AU at 1.0, re-detect the face with MediaPipe, measure with the rig inverse.

An AU passes when, among all AUs the inverse measures on the re-detected landmarks, the intended
one is the strongest and reaches at least ``PASS_LEVEL``. This checks rig + renderer together
against an outside detector (MediaPipe sees only pixels).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

PASS_LEVEL = 0.5
"""Minimum measured intensity of the intended AU."""


@dataclass
class AUResult:
    """One AU's closed-loop outcome (intensities in [0, 1])."""

    au: str
    measured: float  # measured intensity of the intended AU (mean over its L/R channels)
    strongest: str  # the AU measured strongest
    strongest_value: float
    passed: bool
    detected: bool  # MediaPipe found the face in the render

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


def measure_aus(rig: Any, landmarks: np.ndarray, neutral: np.ndarray | None = None) -> dict[str, float]:
    """(478, 2|3) landmarks -> {AU: intensity} by the rig inverse (mean over an AU's channels).

    neutral: optional (478, 3) landmarks of the same face at rest used as the reference.
    """
    vec = np.asarray(rig.inverse(landmarks, neutral=neutral))[0]
    return {au: float(np.mean(vec[ix])) for au, ix in au_groups().items()}


def closed_loop(image: np.ndarray, portrait: Any, aus: list[str] | None = None, level: float = 1.0,
                analyzer: Any = None, rig: Any = None, renderer: Any = None) -> list[AUResult]:
    """Run the closed loop for ``aus`` (default: every facial AU of the catalog) on one portrait."""
    from thinkdraw.errors import InputError
    from thinkdraw.face.analyze import analyze_portrait, default_analyzer
    from thinkdraw.face.rig import Rig
    from thinkdraw.motion import rig_channels
    from thinkdraw.render.warp import Renderer

    analyzer = analyzer or default_analyzer()
    rig = rig or Rig(portrait)
    renderer = renderer or Renderer(image, portrait)
    groups = au_groups()
    names = rig_channels()
    results = []
    # reference: the neutral render re-detected the same way, so detector bias cancels out
    try:
        neutral = analyze_portrait(renderer.render(rig.forward({})[0]), analyzer=analyzer).landmarks
    except InputError:
        neutral = None
    for au in aus or list(groups):
        params = {names[i]: level for i in groups[au]}
        frame = renderer.render(rig.forward(params)[0])
        try:
            seen = analyze_portrait(frame, analyzer=analyzer)
        except InputError:
            results.append(AUResult(au, 0.0, "-", 0.0, False, False))
            continue
        m = measure_aus(rig, seen.landmarks, neutral)
        top = max(m, key=m.get)
        results.append(AUResult(au, m[au], top, m[top], top == au and m[au] >= PASS_LEVEL, True))
    return results


def markdown_table(results: list[AUResult]) -> str:
    """Per-AU closed-loop results as a markdown table."""
    lines = ["| AU | measured | strongest | strongest value | pass |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.au} | {r.measured:.2f} | {r.strongest} | {r.strongest_value:.2f} | "
                     f"{'yes' if r.passed else 'no' if r.detected else 'no face'} |")
    n = sum(r.passed for r in results)
    lines.append(f"| **total** | | | | **{n}/{len(results)}** |")
    return "\n".join(lines)
