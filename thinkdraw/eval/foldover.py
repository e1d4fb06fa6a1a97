"""Fold-overs in the warp: face-mesh triangles whose orientation flips between photo and frame.

The renderer maps each target triangle back onto its source triangle. Where rig motion carries a
vertex across the edge of a neighbouring triangle (an upper lip raised over the skin above it, the
subnasale over the columella), two triangles cover the same target pixels and one of them is drawn
mirrored: lip red smeared above the lip, a hard seam, a torn patch. The measure is the target area
(px^2) of the flipped face-mesh triangles. The lips' inner ring is left out: the mouth interior is
drawn over it, and its slivers at the corners flip harmlessly when the lips part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thinkdraw.face import mesh as M
from thinkdraw.render.raster import signed_area

MIN_SOURCE_AREA = 0.05
"""Source triangles smaller than this (px^2) have no orientation to keep."""


@dataclass(frozen=True)
class Foldover:
    area: float  # px^2 of the frame covered by flipped triangles
    triangles: tuple[tuple[int, int, int], ...]  # their vertex ids (MediaPipe face mesh)


def foldover(source: np.ndarray, target: np.ndarray) -> Foldover:
    """Flipped face-mesh triangles between ``source`` and ``target`` (>= 468, 2+) pixel landmarks,
    e.g. a portrait's own landmarks and ``Renderer.target_vertices(frame_landmarks)[0]``."""
    tris = M.triangles().astype(np.int64)
    tris = tris[~np.isin(tris, M.LIPS_INNER).any(axis=1)]
    s = 0.5 * signed_area(np.asarray(source, np.float64)[: M.N_MESH, :2], tris)
    t = 0.5 * signed_area(np.asarray(target, np.float64)[: M.N_MESH, :2], tris)
    flipped = (np.abs(s) >= MIN_SOURCE_AREA) & (np.sign(s) != np.sign(t))
    return Foldover(float(np.abs(t[flipped]).sum()), tuple(tuple(int(v) for v in tri) for tri in tris[flipped]))
