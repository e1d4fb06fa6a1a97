"""Streaks where a head turn stretches the side of the face (bench and tests of render/sideband.py).

The piecewise-affine warp stretches the strip next to the face outline sideways when the head
turns towards that side, so whatever the strip holds becomes horizontal streaks (a ghost ear).
The measure: vertical over horizontal gradient energy of the grey image inside the band, between
the eye line and the mouth. Skin is about isotropic (~1); a sideways-stretched strip reads 3-6.
"""

from __future__ import annotations

import cv2
import numpy as np

from thinkdraw.face import mesh as M
from thinkdraw.render.raster import hull_mask
from thinkdraw.render.sideband import BAND_RINGS, eye_frame, mesh_rings


def band_mask(source: np.ndarray, target: np.ndarray, ipd: float, right: bool, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the target hull of the band vertices (rings 0-1 from the outline) on one side,
    from 0.1 to 0.9 IPD below the eye line. source, target: (>= N_MESH, 2) face-mesh pixels in the
    photo and in the frame; ipd: source interpupillary distance, pixels; right: the image-right
    side; shape: the frame's (H, W)."""
    lm = np.asarray(source, dtype=np.float64)[: M.N_MESH, :2]
    mid, across, down = eye_frame(lm)
    height = ((lm - mid) @ down) / ipd
    on_side = (((lm - mid) @ across) > 0) == right
    ids = np.nonzero((mesh_rings() < BAND_RINGS) & (height > 0.1) & (height < 0.9) & on_side)[0]
    return hull_mask(shape, np.asarray(target)[ids, :2]) > 0


def streakiness(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean |d/dy| over mean |d/dx| (Sobel) of ``image`` (H, W, 3) uint8 RGB inside ``mask`` (H, W)."""
    g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = np.abs(cv2.Sobel(g, cv2.CV_32F, 1, 0))[mask]
    gy = np.abs(cv2.Sobel(g, cv2.CV_32F, 0, 1))[mask]
    return float(gy.mean() / max(float(gx.mean()), 1e-3)) if mask.any() else float("nan")
