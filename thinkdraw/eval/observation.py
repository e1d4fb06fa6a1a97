"""An observation model of MediaPipe: how the detector reports each rig column on rendered faces.

The closed loop (:mod:`thinkdraw.eval.closed_loop`) measures renders with the rig inverse, whose
basis is the rig's own authored fields. MediaPipe's shape prior reports only part of many motions
and moves others to neighbouring points, so the inverse reads the detector, not only the render.
Here each rig column is rendered at 1.0 on a portrait, re-detected, and its displacement taken in
the canonical frame (pose removed on the rig's stable anchors); averaged over many faces (and over
each face's mirror image) it is a basis for :meth:`thinkdraw.face.rig.Rig.inverse`
(``observation=``). It must be learned on faces other than the ones it measures: on one face it
is circular, and learned on one other face it does not transfer (README).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from thinkdraw.errors import InputError


def _canonical(ref: Any, landmarks: np.ndarray) -> np.ndarray:
    """(478, 3) pixel landmarks -> canonical frame of ``ref`` (a Rig), pose fitted on its anchors."""
    from thinkdraw.face import geometry
    from thinkdraw.face.rig import RIG_ANCHORS

    cam = geometry.pixel_to_camera(np.asarray(landmarks, dtype=np.float64))
    anchors = list(RIG_ANCHORS)
    s, r, t = geometry.similarity_fit(ref.model_raw.neutral[anchors], cam[anchors])
    return geometry.undo_similarity(cam, s, r, t)


def observe_face(image: np.ndarray, portrait: Any, analyzer: Any = None) -> np.ndarray:
    """Render every basis column of the rig at 1.0 on one portrait (gaze at +1 and -1), re-detect
    with MediaPipe, and return (C, 478, 3) canonical-frame displacements against the re-detected
    neutral render. Raises InputError when MediaPipe loses the face in any render."""
    from thinkdraw.face.analyze import analyze_portrait, default_analyzer
    from thinkdraw.face.rig import Rig
    from thinkdraw.render.warp import Renderer

    analyzer = analyzer or default_analyzer()
    rig = Rig(portrait)
    renderer = Renderer(image, portrait)

    def seen(params: dict[str, float]) -> np.ndarray:
        frame = renderer.render(rig.forward(params)[0])
        return analyze_portrait(frame, analyzer=analyzer).landmarks.astype(np.float64)

    ref = Rig(landmarks=seen({}), neutralise=False)
    rest = ref.model_raw.neutral
    cols = ref.model_raw.columns
    basis = np.zeros((len(cols), rest.shape[0], 3))
    for k, col in enumerate(cols):
        if col.startswith("gaze"):
            basis[k] = (_canonical(ref, seen({col: 1.0})) - _canonical(ref, seen({col: -1.0}))) / 2.0
        else:
            basis[k] = _canonical(ref, seen({col: 1.0})) - rest
    return basis


def mirrored(basis: np.ndarray, columns: Sequence[str]) -> np.ndarray:
    """(C, 478, 3) -> the same observation of the mirror-image face: left and right columns and
    landmarks swapped, x negated, gaze_h negated."""
    from thinkdraw.face.canonical import mirror_index, mirror_points

    fields = mirror_points(np.asarray(basis), mirror_index())  # every column's field mirrored at once
    cols = list(columns)
    out = np.empty_like(fields)
    for k, col in enumerate(cols):
        twin = col
        if col.startswith("AU") and col[-1] in "LR":
            twin = col[:-1] + ("R" if col[-1] == "L" else "L")
        out[cols.index(twin)] = -fields[k] if col == "gaze_h" else fields[k]
    return out


def learn(bases: Sequence[np.ndarray], columns: Sequence[str]) -> np.ndarray:
    """Mean of per-face observations and their mirror images: (C, 478, 3)."""
    if not bases:
        raise InputError("an observation model needs at least one face")
    stack = np.stack([(b + mirrored(b, columns)) / 2.0 for b in bases])
    return stack.mean(0)
