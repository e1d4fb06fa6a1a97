"""What a head motion moves besides the head (bench and tests of the warp's support mesh).

Hair and head follow the head; neck, collar and shoulders stay (render/warp.py,
``RenderConfig.ring_follow_below``). The measure: how far the backward map of a frame moves the
pixels of two bands, in pixels: the torso (more than 0.45 face heights below the chin, within one
face height sideways) and the hair (0.05-0.25 face heights above the top of the forehead, within
0.3 face heights sideways). A face height runs from the forehead top to the chin on the mesh.

A jaw drop is the chin's own motion, not the head's: the skin just under the chin's landmarks (the
mesh's chin point sits above the chin's edge in most photos) should move down with them, and the
neck band below take up the motion (``RenderConfig.chin_carry``). :func:`under_chin_follow` measures
how far it does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from thinkdraw.face import mesh as M


def torso_and_hair_motion(renderer: Any, landmarks: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A Renderer, the portrait's (478, >=2) and a frame's target (478, 2|3) landmarks, pixels ->
    backward-map displacement (px) of the frame's torso pixels (P,) and hair pixels (Q,)."""
    region, mx, my, _, _ = renderer.maps(target)
    d = np.zeros((renderer.H, renderer.W))
    if mx is not None:
        yy, xx = np.mgrid[region.y0 : region.y1, region.x0 : region.x1]
        d[region.slices()] = np.hypot(mx - xx, my - yy)
    chin, top = landmarks[M.CHIN, :2], landmarks[M.FOREHEAD, :2]
    fh = float(np.linalg.norm(chin - top))
    Y, X = np.mgrid[0 : renderer.H, 0 : renderer.W]
    torso = (Y > chin[1] + 0.45 * fh) & (np.abs(X - chin[0]) < fh)
    hair = (Y < top[1] - 0.05 * fh) & (Y > top[1] - 0.25 * fh) & (np.abs(X - top[0]) < 0.3 * fh)
    return d[torso], d[hair]


def under_chin_follow(renderer: Any, target: np.ndarray, below_ipd: tuple[float, float] = (0.05, 0.2),
                      side_ipd: float = 0.15) -> float:
    """How far the skin just under the chin follows the chin in one frame: the backward-map
    vertical displacement (px) of the frame's pixels ``below_ipd`` (IPDs, along the image's y)
    under the target chin point and within ``side_ipd`` of it sideways, as a fraction of the chin
    point's own vertical motion. 1: carried rigidly; near 0: squeezed against the neck (the chin's
    edge stays where it was). ``target``: (478, 2|3) landmarks, pixels; the portrait's own are the
    renderer's. NaN when the chin does not move."""
    t = np.asarray(target, np.float64)[:, :2]
    src_chin = renderer.landmarks[M.CHIN, :2]
    drop = float(t[M.CHIN, 1] - src_chin[1])
    if abs(drop) < 1e-6:
        return float("nan")
    region, mx, my, _, _ = renderer.maps(t)
    if my is None:
        return 0.0
    yy, xx = np.mgrid[region.y0 : region.y1, region.x0 : region.x1]
    ipd = renderer.ipd
    cx, cy = t[M.CHIN]
    band = (yy > cy + below_ipd[0] * ipd) & (yy < cy + below_ipd[1] * ipd) & (np.abs(xx - cx) < side_ipd * ipd)
    if not band.any():
        return float("nan")
    return float(np.mean(yy[band] - my[band]) / drop)
