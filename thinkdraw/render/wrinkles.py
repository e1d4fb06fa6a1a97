"""Landmark-driven FACS appearance changes (wrinkle shading) drawn on a warped frame.

AU4 (brow lowerer) pulls the inner brows together and down; its appearance change is vertical
furrows and bunching between the brows (Ekman, Friesen & Hager 2002, FACS Manual, AU4). The
intensity is derived from the landmark motion (inner-brow gap shrinking relative to the source,
in interpupillary distances), so the renderer stays landmark-driven: zero motion -> zero overlay.
"""

from __future__ import annotations

import numpy as np

INNER_BROWS = (55, 285)  # MediaPipe face-mesh inner brow ends (left, right in the image)
FURROW_FULL_IPD = 0.05  # gap shrink (IPDs) that gives full-strength furrows
FURROW_DARKEN = 0.22  # multiplicative darkening at a furrow's centre line at full strength


def brow_gap(lm: np.ndarray, ipd: float) -> float:
    """Inner-brow distance in IPDs. ``lm``: (N, >=2) pixels."""
    return float(np.linalg.norm(lm[INNER_BROWS[0], :2] - lm[INNER_BROWS[1], :2])) / max(ipd, 1e-6)


def furrow_strength(src_gap: float, lm: np.ndarray, ipd_now: float) -> float:
    """0..1 from how far the inner brows moved together relative to the source."""
    return float(np.clip((src_gap - brow_gap(lm, ipd_now)) / FURROW_FULL_IPD, 0.0, 1.0))


def furrow_gain(shape: tuple[int, int], origin: tuple[int, int], lm: np.ndarray, ipd: float,
                strength: float) -> np.ndarray:
    """(h, w) multiplicative gain (<= 1) with two vertical glabellar furrows.

    ``origin``: (x0, y0) of the window in image pixels; ``lm`` the target landmarks (pixels);
    ``ipd`` the current interpupillary distance (pixels). Furrows run down from the inner-brow
    line at 1/3 and 2/3 of the gap, Gaussian across (sigma 0.012 IPD) and feathered along.
    """
    h, w = shape
    gain = np.ones((h, w), np.float32)
    if strength <= 0.0:
        return gain
    a, b = lm[INNER_BROWS[0], :2], lm[INNER_BROWS[1], :2]
    across = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    down = np.array([-across[1], across[0]])
    if down[1] < 0:
        down = -down
    py, px = np.mgrid[origin[1] : origin[1] + h, origin[0] : origin[0] + w].astype(np.float32)
    length, sig = 0.16 * ipd, max(0.012 * ipd, 0.6)
    dark = np.zeros((h, w), np.float32)
    for f in (1.0 / 3.0, 2.0 / 3.0):
        top = a + f * (b - a) - down * 0.02 * ipd
        rx, ry = px - top[0], py - top[1]
        along = rx * down[0] + ry * down[1]
        acr = rx * across[0] + ry * across[1]
        env = np.clip(along / (0.3 * length), 0, 1) * np.clip((length - along) / (0.5 * length), 0, 1)
        dark = np.maximum(dark, env * np.exp(-0.5 * (acr / sig) ** 2))
    return 1.0 - FURROW_DARKEN * strength * dark


def draw_furrows(out: np.ndarray, lm: np.ndarray, ipd_now: float, src_gap: float) -> float:
    """Darken AU4 furrows on ``out`` (H, W, 3) uint8 in place; returns the strength used."""
    s = furrow_strength(src_gap, lm, ipd_now)
    if s <= 0.0:
        return 0.0
    H, W = out.shape[:2]
    c = (lm[INNER_BROWS[0], :2] + lm[INNER_BROWS[1], :2]) / 2.0
    r = int(0.3 * ipd_now) + 3
    x0, y0 = max(int(c[0]) - r, 0), max(int(c[1]) - r, 0)
    x1, y1 = min(int(c[0]) + r, W), min(int(c[1]) + r, H)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    g = furrow_gain((y1 - y0, x1 - x0), (x0, y0), lm, ipd_now, s)
    out[y0:y1, x0:x1] = np.clip(out[y0:y1, x0:x1].astype(np.float32) * g[..., None] + 0.5, 0, 255).astype(np.uint8)
    return s
