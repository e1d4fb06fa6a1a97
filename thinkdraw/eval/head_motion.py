"""What a head motion moves besides the head (bench and tests of the warp's support mesh).

Hair and head follow the head; neck, collar and shoulders stay (render/warp.py,
``RenderConfig.ring_follow_below``). The measure: how far the backward map of a frame moves the
pixels of two bands, in pixels: the torso (more than 0.45 face heights below the chin, within one
face height sideways) and the hair (0.05-0.25 face heights above the top of the forehead, within
0.3 face heights sideways). A face height runs from the forehead top to the chin on the mesh.
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
