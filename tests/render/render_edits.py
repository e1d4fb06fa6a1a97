"""Synthetic landmark edits for renderer tests (stand-ins for rig output)."""

from __future__ import annotations

import numpy as np

from thinkdraw.face import mesh as M


def ipd(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[468, :2] - lm[473, :2]))


def jaw_drop(lm: np.ndarray, k: float = 1.0) -> np.ndarray:
    """Move the lower lip, chin and jaw down by 0.35 IPD * k (synthetic AU26 without the rig)."""
    lm = np.array(lm, dtype=np.float64)
    mouth_y, chin_y = lm[13, 1], lm[152, 1]
    y = lm[:, 1]
    below = np.clip((y - mouth_y) / (chin_y - mouth_y), 0, 1)
    w = np.where(y > mouth_y + 0.5, 0.6 + 0.4 * below, 0.0)
    w[list(set(M.LIPS_INNER_LOWER[1:-1]) | set(M.LIPS_OUTER_LOWER[1:-1]))] = 1.0
    w[list(M.LIPS_INNER_UPPER) + list(M.LIPS_OUTER_UPPER)] = 0.0
    w[[61, 291, 78, 308]] = 0.5
    xw = np.clip(1 - np.abs(lm[:, 0] - lm[13, 0]) / (0.9 * ipd(lm)), 0, 1)
    lm[:, 1] += w * xw * 0.35 * ipd(lm) * k
    return lm


def close_eyes(lm: np.ndarray) -> np.ndarray:
    """Upper lid chains moved onto the lower lid chains; the lid skin above follows halfway."""
    lm = np.array(lm, dtype=np.float64)
    for up, lo in ((M.RIGHT_EYE_UPPER, M.RIGHT_EYE_LOWER), (M.LEFT_EYE_UPPER, M.LEFT_EYE_LOWER)):
        up, lo = list(up), list(lo)
        d = lm[lo, 1] - lm[up, 1]
        c = lm[up, :2].mean(0)
        w = np.clip(1 - np.linalg.norm(lm[:, :2] - c, axis=1) / (0.35 * ipd(lm)), 0, 1) ** 2
        lm[:, 1] += w * 0.5 * d.max()
        lm[up, 1] = lm[up, 1] - w[up] * 0.5 * d.max() + d * 0.98
    return lm


def gaze(lm: np.ndarray, dx: float) -> np.ndarray:
    """Irises shifted sideways by ``dx`` * 22 % of the eye width."""
    lm = np.array(lm, dtype=np.float64)
    for iris, (o, i) in ((M.RIGHT_IRIS, M.RIGHT_EYE_CORNERS), (M.LEFT_IRIS, M.LEFT_EYE_CORNERS)):
        lm[list(iris), 0] += dx * 0.22 * np.linalg.norm(lm[o, :2] - lm[i, :2])
    return lm


def smile(lm: np.ndarray, k: float = 1.0) -> np.ndarray:
    lm = np.array(lm, dtype=np.float64)
    for c, sx in ((61, -1), (291, 1)):
        w = np.clip(1 - np.linalg.norm(lm[:, :2] - lm[c, :2], axis=1) / (0.45 * ipd(lm)), 0, 1) ** 2
        lm[:, 0] += w * sx * 0.12 * ipd(lm) * k
        lm[:, 1] -= w * 0.12 * ipd(lm) * k
    return lm
