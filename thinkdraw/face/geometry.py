"""Frames, similarity alignment and head-pose angles shared by analysis and the rig.

Frames
------
* pixel frame: MediaPipe landmarks scaled to the image: x right, y down (pixels), z = MediaPipe's
  normalised z times the image width (smaller z = nearer the camera).
* camera frame: ``(x, -y, -z)`` of the pixel frame: right-handed, x right, y up, z toward the
  viewer, still in pixels.
* canonical frame (the rig's): a frontal face, x toward the person's LEFT (image right in a
  frontal photo), y up, z toward the viewer, origin at the midpoint between the eye centres
  (mean of each eye's two corners), unit = inter-ocular distance (between those eye centres).

A face in the camera frame is ``p_cam = s * R @ p_can + t`` with the head rotation
``R = Rz(roll) @ Rx(-pitch) @ Ry(-yaw)`` (degrees; yaw > 0 turns to the person's right, pitch > 0
chin up, roll > 0 tilts toward the person's right shoulder, as in :mod:`thinkdraw.motion`).
"""

from __future__ import annotations

import numpy as np

from thinkdraw.face import mesh

RIGHT_EYE_CENTRE_IDX = mesh.RIGHT_EYE_CORNERS
LEFT_EYE_CENTRE_IDX = mesh.LEFT_EYE_CORNERS


def pixel_to_camera(p: np.ndarray) -> np.ndarray:
    """(..., 3) pixel-frame points -> camera frame (x, -y, -z). Its own inverse."""
    out = np.array(p, dtype=np.float64, copy=True)
    out[..., 1:3] *= -1.0
    return out


camera_to_pixel = pixel_to_camera


def eye_centres(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., 478|468, C) -> (right eye centre, left eye centre), each (..., C)."""
    r = p[..., list(RIGHT_EYE_CENTRE_IDX), :].mean(-2)
    l = p[..., list(LEFT_EYE_CENTRE_IDX), :].mean(-2)
    return r, l


def interocular(p: np.ndarray) -> np.ndarray:
    """(..., N, C) -> (...,) distance between the eye centres (in the points' units)."""
    r, l = eye_centres(p)
    return np.linalg.norm(l - r, axis=-1)


def euler_to_matrix(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Degrees (...,) -> (..., 3, 3) ``R = Rz(roll) @ Rx(-pitch) @ Ry(-yaw)``, vectorised."""
    y = np.deg2rad(-np.asarray(yaw, dtype=np.float64))
    x = np.deg2rad(-np.asarray(pitch, dtype=np.float64))
    z = np.deg2rad(np.asarray(roll, dtype=np.float64))
    y, x, z = np.broadcast_arrays(y, x, z)
    cy, sy, cx, sx, cz, sz = np.cos(y), np.sin(y), np.cos(x), np.sin(x), np.cos(z), np.sin(z)
    o, zero = np.ones_like(y), np.zeros_like(y)
    ry = np.stack([np.stack([cy, zero, sy], -1), np.stack([zero, o, zero], -1), np.stack([-sy, zero, cy], -1)], -2)
    rx = np.stack([np.stack([o, zero, zero], -1), np.stack([zero, cx, -sx], -1), np.stack([zero, sx, cx], -1)], -2)
    rz = np.stack([np.stack([cz, -sz, zero], -1), np.stack([sz, cz, zero], -1), np.stack([zero, zero, o], -1)], -2)
    return rz @ rx @ ry


def matrix_to_euler(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(..., 3, 3) rotation -> (yaw, pitch, roll) degrees, inverse of :func:`euler_to_matrix`.

    For ``R = Rz(c) Rx(a) Ry(b)``: ``R[2,1] = sin a``, ``R[2,0] = -cos a sin b``,
    ``R[2,2] = cos a cos b``, ``R[0,1] = -sin c cos a``, ``R[1,1] = cos c cos a``.
    """
    r = np.asarray(r, dtype=np.float64)
    a = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    b = np.arctan2(-r[..., 2, 0], r[..., 2, 2])
    c = np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    return -np.rad2deg(b), -np.rad2deg(a), np.rad2deg(c)


def similarity_fit(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ~ s * R @ src + t`` (Umeyama 1991, IEEE TPAMI 13(4)).

    src, dst: (..., N, 3) batched point sets; weights: (N,) optional.
    Returns s (...,), R (..., 3, 3) proper rotation, t (..., 3).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    w = np.ones(src.shape[-2]) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    mu_s = np.einsum("n,...nc->...c", w, src)
    mu_d = np.einsum("n,...nc->...c", w, dst)
    xs = src - mu_s[..., None, :]
    xd = dst - mu_d[..., None, :]
    cov = np.einsum("n,...ni,...nj->...ij", w, xd, xs)
    u, sig, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    dmat = np.ones(sig.shape)
    dmat[..., -1] = d
    r = u @ (dmat[..., :, None] * vt)
    var_s = np.einsum("n,...nc->...", w, xs**2)
    s = (sig * dmat).sum(-1) / var_s
    t = mu_d - s[..., None] * np.einsum("...ij,...j->...i", r, mu_s)
    return s, r, t


def apply_similarity(p: np.ndarray, s: np.ndarray, r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(..., N, 3) -> s * R @ p + t with batched s (...,), R (..., 3, 3), t (..., 3)."""
    return np.asarray(s)[..., None, None] * np.einsum("...ij,...nj->...ni", r, p) + np.asarray(t)[..., None, :]


def undo_similarity(p: np.ndarray, s: np.ndarray, r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Inverse of :func:`apply_similarity`: (..., N, 3) -> R^T (p - t) / s, batched like it."""
    s, t = np.asarray(s), np.asarray(t)
    return np.einsum("...ji,...nj->...ni", r, p - t[..., None, :]) / s[..., None, None]
