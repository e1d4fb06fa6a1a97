"""Small geometric helpers for the renderer: similarity fits, chain-bounded soft masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Similarity:
    """2-D similarity ``x -> scale * R @ x + t`` (pixels). ``R`` is (2, 2) rotation, ``t`` (2,)."""

    scale: float
    R: np.ndarray
    t: np.ndarray

    def apply(self, pts: np.ndarray) -> np.ndarray:
        """(N, 2) -> (N, 2)."""
        return self.scale * np.asarray(pts, dtype=np.float64) @ self.R.T + self.t

    def is_identity(self, tol: float = 1e-6) -> bool:
        return abs(self.scale - 1.0) < tol and np.allclose(self.R, np.eye(2), atol=tol) and np.allclose(self.t, 0, atol=1e-4)

    @staticmethod
    def identity() -> "Similarity":
        return Similarity(1.0, np.eye(2), np.zeros(2))


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> Similarity:
    """Least-squares similarity mapping ``src`` (N, 2) onto ``dst`` (N, 2).

    Umeyama, "Least-squares estimation of transformation parameters between two point patterns",
    IEEE TPAMI 13(4), 1991 (closed form via SVD of the cross-covariance).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if np.array_equal(src, dst):
        return Similarity.identity()
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    var = (a**2).sum() / len(a)
    cov = b.T @ a / len(a)
    U, S, Vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        d[-1] = -1
    R = U @ np.diag(d) @ Vt
    scale = float((S * d).sum() / max(var, 1e-12))
    t = md - scale * R @ ms
    return Similarity(scale, R, t)


def chain_frame(upper: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame of a corner-to-corner chain: origin (2,), ex (2,) along the corners, ey (2,) 'down'."""
    c0, c1 = upper[0], upper[-1]
    ex = c1 - c0
    n = np.linalg.norm(ex)
    ex = ex / n if n > 1e-9 else np.array([1.0, 0.0])
    if ex[0] < 0:  # keep ey pointing down the image whichever corner comes first
        ex = -ex
    ey = np.array([-ex[1], ex[0]])
    return (c0 + c1) / 2.0, ex, ey


def chain_profile(d: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Height of a chain (n, 2) given in its own frame at abscissae ``u``, and the local slope
    factor 1 / sqrt(1 + slope^2) that turns a vertical offset from the chain into a distance along
    its normal (both float32, shaped like ``u``)."""
    order = np.argsort(d[:, 0], kind="stable")
    x, y = d[order, 0], d[order, 1]
    dx = np.maximum(np.diff(x), 1e-3)
    seg = np.clip(np.diff(y) / dx, -20.0, 20.0)
    vert = np.concatenate([seg[:1], (seg[:-1] + seg[1:]) / 2.0, seg[-1:]])
    height = np.interp(u, x, y).astype(np.float32)
    slope = np.interp(u, x, vert).astype(np.float32)
    return height, (1.0 / np.sqrt(1.0 + slope * slope)).astype(np.float32)


def between_chains_alpha(
    upper: np.ndarray, lower: np.ndarray, px: np.ndarray, py: np.ndarray, feather: float = 0.7,
    along_normal: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Soft mask of the opening between two corner-to-corner chains (eye lids, inner lips).

    upper, lower: (n, 2) pixels, same corners at both ends. px, py: pixel grids (any shape).
    Returns (alpha in [0, 1], v - v_upper, v_lower - v, gap = v_lower - v_upper), float32 pixels
    shaped like px, measured perpendicular to the corner-to-corner axis. Anti-aliased over
    ``feather`` pixels; no polygon fill needed. along_normal: the two distances are taken along
    each chain's local normal instead, so the ramp stays ``feather`` wide where a chain turns steep
    (the mouth interior's lip edge near the corners).
    """
    o, ex, ey = chain_frame(upper)
    du = (upper - o) @ np.stack([ex, ey], 1)
    dl = (lower - o) @ np.stack([ex, ey], 1)
    qx = px - o[0]
    qy = py - o[1]
    u = (qx * ex[0] + qy * ex[1]).astype(np.float32)
    v = (qx * ey[0] + qy * ey[1]).astype(np.float32)
    vu, nu = chain_profile(du, u)
    vl, nl = chain_profile(dl, u)
    u0 = min(du[:, 0].min(), dl[:, 0].min())
    u1 = max(du[:, 0].max(), dl[:, 0].max())
    f = np.float32(max(feather, 1e-3))
    below_upper = v - vu
    above_lower = vl - v
    if along_normal:
        below_upper, above_lower = below_upper * nu, above_lower * nl
    a = np.clip(below_upper / f + 0.5, 0, 1) * np.clip(above_lower / f + 0.5, 0, 1)
    a *= np.clip((u - u0) / f + 0.5, 0, 1) * np.clip((u1 - u) / f + 0.5, 0, 1)
    return a.astype(np.float32), below_upper, above_lower, (vl - vu)
