"""How dark the skin just lateral to the lip corners is: a smile's creases left behind.

A toothy smile creases the skin at each lip corner (the commissure's dimple and the lower end of
the nasolabial furrow). When a render closes that mouth and narrows it back, those creases, if they
are carried along, read as a dark bracket beside each corner. This measures the shadow there,
relative to the skin a little further out, on any frame and its (478, 2|3) landmarks.

Inside the corners, the opening: a toothy photo's mouth narrowed by a render should hide the dark
corridors beside the side teeth, not squeeze them into black wedges (:func:`opening_dark_share`).
"""

from __future__ import annotations

import cv2
import numpy as np

from thinkdraw.face import mesh as M
from thinkdraw.render.mouth import front_teeth_colour, tooth_pixels

NEAR_IPD = (0.02, 0.15)  # distances from a lip corner (IPDs) of the measured skin
REF_IPD = (0.15, 0.30)  # distances of the reference skin
DARK = 0.85  # a pixel darker than this fraction of the reference counts as shadow


def corner_shadow(frame: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """(mean shadow depth, dark share) over both corners of ``frame`` (H, W, 3) uint8 at
    ``landmarks`` (478, 2|3) pixels. Depth: mean of max(0, 1 - lum / ref) over the skin 0.02-0.15
    IPD lateral of each corner, outside the lips; ref: the median luminance 0.15-0.30 IPD out. Dark
    share: the fraction of that skin darker than DARK x ref. 0 / 0 for even skin."""
    lm = np.asarray(landmarks, np.float64)[:, :2]
    ipd = float(np.linalg.norm(lm[M.LEFT_IRIS[0]] - lm[M.RIGHT_IRIS[0]]))
    H, W = frame.shape[:2]
    mid = lm[list(M.MOUTH_CORNERS)].mean(0)
    r = REF_IPD[1] * ipd
    depth, share = [], []
    for ci in M.MOUTH_CORNERS:
        c = lm[ci]
        x0, y0 = max(int(c[0] - r) - 1, 0), max(int(c[1] - r) - 1, 0)
        x1, y1 = min(int(c[0] + r) + 2, W), min(int(c[1] + r) + 2, H)
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        py, px = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        lips = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(lips, [np.round(lm[list(M.LIPS_OUTER)] - (x0, y0)).astype(np.int32)], 1)
        skin = cv2.dilate(lips, np.ones((5, 5), np.uint8)) == 0
        u = (c - mid) / max(float(np.linalg.norm(c - mid)), 1e-6)
        d = np.hypot(px - c[0], py - c[1])
        lateral = (px - c[0]) * u[0] + (py - c[1]) * u[1] >= -0.02 * ipd
        near = skin & lateral & (d >= NEAR_IPD[0] * ipd) & (d <= NEAR_IPD[1] * ipd)
        ref_px = skin & lateral & (d > REF_IPD[0] * ipd) & (d <= r)
        if near.sum() < 4 or ref_px.sum() < 4:
            continue
        lum = frame[y0:y1, x0:x1].astype(np.float64).mean(2)
        ref = max(float(np.median(lum[ref_px])), 1.0)
        depth.append(float(np.clip(1.0 - lum[near] / ref, 0.0, 1.0).mean()))
        share.append(float((lum[near] < DARK * ref).mean()))
    if not depth:
        return 0.0, 0.0
    return float(np.mean(depth)), float(np.mean(share))


OPENING_DARK = 0.35  # a pixel of the mouth opening darker than this fraction of its bright teeth counts as dark
OPENING_MIN_PX = 20  # fewer pixels inside the inner lips than this: no opening to measure


def opening_pixels(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """(N, 3) float32 RGB of the pixels of ``frame`` (H, W, 3) uint8 inside the inner lip ring at
    ``landmarks`` (478, 2|3) pixels, one pixel in from it; None when fewer than OPENING_MIN_PX (the
    lips nearly meet)."""
    lm = np.asarray(landmarks, np.float64)[:, :2]
    ring = np.concatenate([lm[list(M.LIPS_INNER_UPPER)], lm[list(M.LIPS_INNER_LOWER)][::-1]])
    lo = np.maximum(np.floor(ring.min(0)).astype(int) - 1, 0)
    hi = np.minimum(np.ceil(ring.max(0)).astype(int) + 2, (frame.shape[1], frame.shape[0]))
    if np.any(hi - lo < 3):
        return None
    mask = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8)
    cv2.fillPoly(mask, [np.round(ring - lo).astype(np.int32)], 1)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    pix = frame[lo[1] : hi[1], lo[0] : hi[0]][mask > 0].astype(np.float32)
    return pix if len(pix) >= OPENING_MIN_PX else None


def opening_dark_share(frame: np.ndarray, landmarks: np.ndarray) -> float:
    """Share of the mouth opening of ``frame`` (H, W, 3) uint8 at ``landmarks`` (478, 2|3) pixels
    that is dark: pixels inside the inner lip ring (one pixel in from it) whose luminance is below
    OPENING_DARK times the opening's 90th percentile (its teeth, where it shows them). On a toothy
    smile these are the buccal corridors and the gaps between the rows; NaN when the lips (nearly)
    meet."""
    pix = opening_pixels(frame, landmarks)
    if pix is None:
        return float("nan")
    lum = pix.mean(1)
    return float((lum < OPENING_DARK * np.percentile(lum, 90)).mean())


TEETH_MIN_PX = 20  # fewer tooth pixels than this in the opening: no teeth to measure


def teeth_colour(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """(3,) RGB of the teeth ``frame`` (H, W, 3) uint8 shows between its inner lips at
    ``landmarks`` (478, 2|3) pixels: the front teeth's colour (render.mouth.front_teeth_colour) among
    the opening's tooth pixels (render.mouth.tooth_pixels), the rule the renderer reads a photo's
    own teeth by. None when it shows too few."""
    pix = opening_pixels(frame, landmarks)
    if pix is None:
        return None
    teeth, luma = tooth_pixels(pix)
    return front_teeth_colour(teeth, luma) if len(teeth) >= TEETH_MIN_PX else None


def hue_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between the hues of two RGB colours (3,): the L1 distance of their r and g
    chromaticities (r = R / (R + G + B)) in thousandths; 0 for two greys of any brightness."""
    ca, cb = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ca, cb = ca / max(ca.sum(), 1e-6), cb / max(cb.sum(), 1e-6)
    return float(1000.0 * np.abs(ca - cb)[:2].sum())
