"""Vectorised triangle rasterisation for backward (target -> source) piecewise-affine warping.

For every output pixel covered by a target triangle we need the source position it comes from.
Within one triangle the target -> source map is affine, so for each (triangle, pixel-in-its-bbox)
candidate pair we compute barycentric coordinates, keep the pairs inside the triangle and scatter
the affine image of the pixel into a dense map. Everything is numpy over flat arrays: no Python
loop over triangles or pixels (Heckbert, "Fundamentals of texture mapping and image warping",
1989, ch. 2: piecewise affine maps on triangles).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_EPS_INSIDE = -1e-4
"""Barycentric tolerance: pixels exactly on a shared edge belong to both triangles (no cracks)."""


def smooth(x: np.ndarray, sigma: float, direct_max: float = 16.0, sigma_y: float | None = None) -> np.ndarray:
    """Gaussian blur (float32 image, (h, w) or (h, w, c)); ``sigma_y``: a different vertical sigma.
    Above ``direct_max`` pixels the blur runs on a copy scaled down to a 4-pixel kernel and is
    scaled back up: the result is smooth at that scale anyway, and a high-resolution portrait's
    wide blurs would otherwise dominate set-up."""
    sy = sigma if sigma_y is None else sigma_y
    if max(sigma, sy) <= direct_max:
        return cv2.GaussianBlur(x, (0, 0), sigma, sigmaY=sy)
    k = 4.0 / max(sigma, sy)
    h, w = x.shape[:2]
    small = cv2.resize(x, (max(int(round(w * k)), 1), max(int(round(h * k)), 1)), interpolation=cv2.INTER_AREA)
    out = cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma * k, sigmaY=sy * k), (w, h), interpolation=cv2.INTER_LINEAR)
    return out.reshape(x.shape)


def normalized_blur(image: np.ndarray, weight: np.ndarray, sigma: float, eps: float = 1e-6,
                    sigma_y: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Normalised convolution (Knutsson & Westin, "Normalized and differential convolution", CVPR
    1993): the Gaussian average of ``image`` (h, w, c) float32 over the pixels ``weight`` (h, w)
    trusts, so what lies outside them (lips, a spectacle rim, the background) never bleeds in.
    Returns (blur(image * weight) / max(blur(weight), eps), blur(weight)); the second is how much
    trusted support each pixel had (callers threshold it). ``sigma_y``: see :func:`smooth`."""
    den = smooth(weight, sigma, sigma_y=sigma_y)
    num = smooth(image * weight[..., None], sigma, sigma_y=sigma_y)
    return num / np.maximum(den, eps)[..., None], den


def nearest_kept_rows(hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a (h, w) bool mask: (above, below), each (h, w) int, the nearest row at or above / at or
    below every pixel in its column that is not in ``hole`` (-1 / h where there is none). A pixel
    of the hole lies in the vertical run of hole pixels from ``above + 1`` to ``below - 1``.
    Vectorised over the whole mask: a running max / min of row indices down / up each column."""
    h = hole.shape[0]
    rows = np.arange(h)[:, None]
    above = np.maximum.accumulate(np.where(hole, -1, rows), axis=0)
    below = np.minimum.accumulate(np.where(hole, h, rows)[::-1], axis=0)[::-1]
    return above, below


def lerp_kept_rows(values: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each column of ``values`` (h, w, c) float32 across the ``hole`` (h, w bool): the linear blend
    of the nearest kept pixels above and below (:func:`nearest_kept_rows`), or the one that exists
    (garbage where the column keeps none). A kept pixel is its own nearest, so it keeps its value.
    Returns (blend (h, w, c) float32, above, below)."""
    h, w = hole.shape
    above, below = nearest_kept_rows(hole)
    rows = np.arange(h)[:, None]
    cols = np.broadcast_to(np.arange(w), (h, w))
    up = values[np.clip(above, 0, h - 1), cols]
    lo = values[np.clip(below, 0, h - 1), cols]
    has_up, has_lo = above >= 0, below < h
    da, db = (rows - above).astype(np.float32), (below - rows).astype(np.float32)
    t = np.where(has_up & has_lo, da / np.maximum(da + db, 1.0), np.where(has_up, 0.0, 1.0))  # 0: upper value
    return (up + t[..., None] * (lo - up)).astype(np.float32), above, below


def inpaint(patch: np.ndarray, mask: np.ndarray, radius: float, max_radius: float = 8.0) -> np.ndarray:
    """``cv2.inpaint`` (Telea 2004, "An image inpainting technique based on the fast marching
    method") of the pixels where ``mask`` (h, w uint8) is non-zero in ``patch`` (h, w, 3 uint8).

    Its cost grows with the radius squared: above ``max_radius`` pixels (a high-resolution
    portrait) the fill is computed on a copy scaled down to that radius and scaled back up; only
    masked pixels take the fill, every other pixel stays the source's.
    """
    patch = np.ascontiguousarray(patch)
    if radius <= max_radius:
        return cv2.inpaint(patch, mask, radius, cv2.INPAINT_TELEA)
    k = max_radius / radius
    h, w = mask.shape
    size = (max(int(round(w * k)), 1), max(int(round(h * k)), 1))
    small = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
    small_mask = (cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8) * 255
    fill = cv2.resize(cv2.inpaint(small, small_mask, max_radius, cv2.INPAINT_TELEA), (w, h), interpolation=cv2.INTER_LINEAR)
    out = patch.copy()
    out[mask > 0] = fill[mask > 0]
    return out


@dataclass
class Region:
    """A rectangular window of the image: rows y0:y1, columns x0:x1 (exclusive ends), pixels."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.y1 - self.y0, self.x1 - self.x0)

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    def union(self, other: "Region") -> "Region":
        if self.empty:
            return other
        if other.empty:
            return self
        return Region(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def intersect(self, other: "Region") -> "Region":
        """The window both cover (empty when they do not meet)."""
        return Region(max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1))

    def slices_in(self, outer: "Region") -> tuple[slice, slice]:
        """This window's rows and columns in an array that holds ``outer`` (which contains it)."""
        return slice(self.y0 - outer.y0, self.y1 - outer.y0), slice(self.x0 - outer.x0, self.x1 - outer.x0)


def hull_mask(shape: tuple[int, int], *point_sets: np.ndarray) -> np.ndarray:
    """(h, w) uint8: 1 inside the convex hull of each point set (K, 2) pixels, 0 elsewhere."""
    m = np.zeros(shape, np.uint8)
    for pts in point_sets:
        cv2.fillConvexPoly(m, np.round(cv2.convexHull(np.asarray(pts, np.float32))).astype(np.int32), 1)
    return m


def points_region(points: np.ndarray, width: int, height: int, pad: int = 1) -> Region:
    """Bounding pixel window of ``points`` (N, 2) pixels, padded and clipped to the image."""
    if len(points) == 0:
        return Region(0, 0, 0, 0)
    lo = np.floor(points.min(0)).astype(int) - pad
    hi = np.ceil(points.max(0)).astype(int) + pad + 1
    return Region(max(0, lo[0]), max(0, lo[1]), min(width, hi[0]), min(height, hi[1]))


def affine_maps(dst: np.ndarray, src: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-triangle matrices for target -> barycentric and target -> source.

    dst, src: (N, 2) vertex positions in pixels (target, source; src may carry C >= 2 values per
    vertex); tris: (M, 3) vertex ids. Returns ``bary`` (M, 2, 3) mapping [x, y, 1] to barycentric
    (l1, l2) (l0 = 1 - l1 - l2), ``aff`` (M, C, 3) mapping [x, y, 1] (target) to source (x, y, ...),
    and ``ok`` (M,) bool (non-degenerate).
    """
    d = dst[tris].astype(np.float64)  # (M, 3, 2)
    s = src[tris].astype(np.float64)
    e1 = d[:, 1] - d[:, 0]
    e2 = d[:, 2] - d[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-9
    inv_det = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    # [l1, l2]^T = E^-1 (p - a), E = [e1 e2]
    i00 = e2[:, 1] * inv_det
    i01 = -e2[:, 0] * inv_det
    i10 = -e1[:, 1] * inv_det
    i11 = e1[:, 0] * inv_det
    ax, ay = d[:, 0, 0], d[:, 0, 1]
    bary = np.empty((len(tris), 2, 3))
    bary[:, 0] = np.stack([i00, i01, -(i00 * ax + i01 * ay)], 1)
    bary[:, 1] = np.stack([i10, i11, -(i10 * ax + i11 * ay)], 1)
    # source = s0 + l1 (s1 - s0) + l2 (s2 - s0)
    f1 = s[:, 1] - s[:, 0]
    f2 = s[:, 2] - s[:, 0]
    aff = f1[:, :, None] * bary[:, 0][:, None, :] + f2[:, :, None] * bary[:, 1][:, None, :]
    aff[:, :, 2] += s[:, 0]
    return bary, aff, ok


def signed_area(p: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(F,) twice the signed area of the triangles ``tris`` (F, 3) over the points ``p`` (N, 2+)."""
    a, b, c = p[tris[:, 0]], p[tris[:, 1]], p[tris[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def _folded_first(dst: np.ndarray, src: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Order triangles so those folded over (orientation flipped from source to target) come first.

    Where a fold makes triangles overlap in the target, later writes win in the scatter, so the
    unfolded neighbours cover the fold instead of a mirrored sliver of texture (no tears).
    """
    flipped = np.sign(signed_area(dst, tris)) != np.sign(signed_area(src, tris))
    if not flipped.any():
        return tris
    return np.concatenate([tris[flipped], tris[~flipped]])


def backward_map(
    dst: np.ndarray, src: np.ndarray, tris: np.ndarray, region: Region, step: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Dense backward map over ``region``: (mapx, mapy) float32 arrays of the region's shape.

    Pixels covered by a triangle of ``tris`` in the target get the source position given by that
    triangle's affine map; other pixels map to themselves (identity). Pixel centres are integers.
    ``step`` > 1 evaluates the map exactly on a lattice every ``step`` pixels and interpolates the
    displacement bilinearly in between (the map is continuous, so the error is sub-pixel and
    zero where nothing moves); ``step`` = 1 is exact everywhere.
    """
    if step > 1 and not region.empty:
        return _coarse_map(dst, src, tris, region, step)
    return _exact_map(dst, src, tris, region)


def cull(dst: np.ndarray, tris: np.ndarray, region: Region, pad: float = 1.0) -> np.ndarray:
    """The triangles of ``tris`` (M, 3) whose target box (``dst`` (N, 2) pixels) comes within
    ``pad`` pixels of ``region`` (for a small window of a big mesh; a lattice map at step s looks up
    to s pixels past the window, so pass pad >= s)."""
    d = dst[tris]
    lo, hi = d.min(1), d.max(1)
    keep = ((hi[:, 0] >= region.x0 - pad) & (lo[:, 0] <= region.x1 + pad) &
            (hi[:, 1] >= region.y0 - pad) & (lo[:, 1] <= region.y1 + pad))
    return tris[keep]


def window_map(dst: np.ndarray, src: np.ndarray, tris: np.ndarray, win: Region, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """:func:`backward_map` over a small window ``win`` of a big mesh: only the triangles the
    window's lattice can look up (:func:`cull` with pad = step + 1) are rasterised."""
    return backward_map(dst, src, cull(dst, tris, win, pad=step + 1), win, step)


def supersampled_map(dst: np.ndarray, src: np.ndarray, tris: np.ndarray, win: Region, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`window_map` at k x k points per pixel of ``win`` (k odd): (h * k, w * k) float32
    source x, y. Pixel (x, y)'s samples lie at x + (i - (k - 1) / 2) / k, i = 0..k-1 (and so for y),
    a k x k box over the pixel whose middle sample is the pixel centre; block-average what they
    sample for the pixel's area-weighted colour. A sample the mesh does not cover (past the last
    pixel centre at the image's edge) takes its pixel's middle one."""
    if k < 1 or k % 2 == 0:
        raise ValueError(f"supersampling needs an odd number of samples per side, got {k}")
    h, w = win.shape
    half = (k - 1) // 2
    hit = _cover((dst - np.array([win.x0, win.y0], np.float64)) * k + half, src, cull(dst, tris, win, pad=2),
                 Region(0, 0, w * k, h * k))
    gx, gy = np.meshgrid(((np.arange(w * k) - half) / k + win.x0).astype(np.float32),
                         ((np.arange(h * k) - half) / k + win.y0).astype(np.float32))
    if hit is None:
        return gx, gy
    ix, iy, vals = hit
    gx[iy, ix], gy[iy, ix] = vals[:, 0], vals[:, 1]
    covered = np.zeros(gx.shape, bool)
    covered[iy, ix] = True
    if not covered.all():
        def middle(a: np.ndarray) -> np.ndarray:
            return np.repeat(np.repeat(a[half::k, half::k], k, 0), k, 1)
        gx, gy = np.where(covered, gx, middle(gx)), np.where(covered, gy, middle(gy))
    return gx, gy


def _coarse_map(dst: np.ndarray, src: np.ndarray, tris: np.ndarray, region: Region, step: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = region.shape
    nw, nh = (w - 1) // step + 2, (h - 1) // step + 2
    # lattice in "step" units: evaluate on a scaled copy of the target mesh
    origin = np.array([region.x0, region.y0], dtype=np.float64)
    dst_c = (dst - origin) / step
    src_c = (src - origin) / step  # displacement measured in lattice units, rescaled below
    cx, cy = _exact_map(dst_c, src_c, tris, Region(0, 0, nw, nh))
    gx0, gy0 = np.meshgrid(np.arange(nw, dtype=np.float32), np.arange(nh, dtype=np.float32))
    disp = np.dstack([(cx - gx0) * step, (cy - gy0) * step])
    A = np.array([[1.0 / step, 0, 0], [0, 1.0 / step, 0]])
    full = cv2.warpAffine(disp, A, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    # the pixel grid added by broadcasting: two full-size meshgrids cost more than the warp itself
    return (full[..., 0] + np.arange(region.x0, region.x1, dtype=np.float32)[None, :],
            full[..., 1] + np.arange(region.y0, region.y1, dtype=np.float32)[:, None])


def _exact_map(dst: np.ndarray, src: np.ndarray, tris: np.ndarray, region: Region) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = np.meshgrid(np.arange(region.x0, region.x1, dtype=np.float32), np.arange(region.y0, region.y1, dtype=np.float32))
    hit = _cover(dst, src, tris, region)
    if hit is not None:
        ix, iy, vals = hit
        gx[iy, ix] = vals[:, 0]
        gy[iy, ix] = vals[:, 1]
    return gx, gy


def vertex_map(dst: np.ndarray, values: np.ndarray, tris: np.ndarray, region: Region) -> tuple[np.ndarray, np.ndarray]:
    """Per-vertex ``values`` (N, C >= 2) interpolated linearly across the triangles ``tris`` placed at
    ``dst`` (N, 2) target pixels, over ``region``: (h, w, C) float32 (0 where no triangle covers a
    pixel) and the (h, w) bool coverage. The first two values order folded triangles as source
    positions do in :func:`backward_map`."""
    out = np.zeros((*region.shape, values.shape[1]), np.float32)
    covered = np.zeros(region.shape, bool)
    hit = _cover(dst, values, tris, region)
    if hit is not None:
        ix, iy, vals = hit
        out[iy, ix] = vals
        covered[iy, ix] = True
    return out, covered


def _cover(dst: np.ndarray, values: np.ndarray, tris: np.ndarray,
           region: Region) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The region's pixels whose centres lie inside a triangle of ``tris`` at ``dst`` (N, 2), and
    ``values`` (N, C >= 2) interpolated there: (ix, iy) region-relative columns and rows (P,), and
    (P, C) float32; None when no pixel is covered. Folded triangles (orientation flipped between the
    first two values and ``dst``) are written first, so unfolded ones win where they overlap."""
    if len(tris) == 0 or region.empty:
        return None
    tris = _folded_first(dst, values, tris)
    bary, aff, ok = affine_maps(dst, values, tris)
    d = dst[tris[ok]]
    bary, aff = bary[ok].astype(np.float32), aff[ok].astype(np.float32)
    lo = np.maximum(np.ceil(d.min(1) - 1e-4).astype(np.int64), [region.x0, region.y0])
    hi = np.minimum(np.floor(d.max(1) + 1e-4).astype(np.int64), [region.x1 - 1, region.y1 - 1])
    bw = np.maximum(hi[:, 0] - lo[:, 0] + 1, 0)
    bh = np.maximum(hi[:, 1] - lo[:, 1] + 1, 0)
    counts = bw * bh
    total = int(counts.sum())
    if total == 0:
        return None
    tri = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    start = np.cumsum(counts) - counts
    local = np.arange(total, dtype=np.int64) - np.repeat(start, counts)
    bwt = bw[tri]
    py = (lo[tri, 1] + local // bwt).astype(np.float32)
    px = (lo[tri, 0] + local % bwt).astype(np.float32)
    b = bary[tri]  # (P, 2, 3)
    l1 = b[:, 0, 0] * px + b[:, 0, 1] * py + b[:, 0, 2]
    l2 = b[:, 1, 0] * px + b[:, 1, 1] * py + b[:, 1, 2]
    inside = (l1 >= _EPS_INSIDE) & (l2 >= _EPS_INSIDE) & (l1 + l2 <= 1.0 - _EPS_INSIDE)
    tri, px, py = tri[inside], px[inside], py[inside]
    a = aff[tri]  # (P, C, 3)
    vals = a[:, :, 0] * px[:, None] + a[:, :, 1] * py[:, None] + a[:, :, 2]
    return px.astype(np.int64) - region.x0, py.astype(np.int64) - region.y0, vals


MIP_SIGMAS = (1.0, 2.0, 4.0)
"""Gaussian sigmas (source pixels) of the pre-blurred plates used where the warp minifies: level k
serves a local minification of 2**(k+1) (a box of s source pixels per target pixel is roughly a
Gaussian of sigma s / 2; Williams 1983, "Pyramidal parametrics", the mip-map)."""
MIP_START = 1.5
"""Minification (source pixels per target pixel) below which the plain bilinear sample is kept."""


def minification(mx: np.ndarray, my: np.ndarray, step: int = 1) -> np.ndarray:
    """Local minification of a backward map, on every ``step``-th pixel: ((h-1)//step+1,
    (w-1)//step+1) source pixels per target pixel (1 = no scaling, 4 = four source pixels squeezed
    into one target pixel): the larger of the lengths of the map's x and y derivatives (forward
    differences over ``step`` pixels; the last row/column repeats its neighbour)."""
    ax, ay = mx[::step, ::step], my[::step, ::step]
    dxx, dyx = np.diff(ax, axis=1, append=ax[:, -2:-1]), np.diff(ay, axis=1, append=ay[:, -2:-1])
    dxy, dyy = np.diff(ax, axis=0, append=ax[-2:-1]), np.diff(ay, axis=0, append=ay[-2:-1])
    if ax.shape[1] < 2:
        dxx = dyx = np.zeros_like(ax)
    if ax.shape[0] < 2:
        dxy = dyy = np.zeros_like(ax)
    return np.sqrt(np.maximum(dxx * dxx + dyx * dyx, dxy * dxy + dyy * dyy)) / step


def remap_filtered(plate: np.ndarray, mx: np.ndarray, my: np.ndarray, levels: "MipLevels", step: int = 2) -> np.ndarray:
    """``cv2.remap`` (bilinear) of ``plate`` through (mx, my), prefiltered where the map squeezes
    the source (a dropping chin compresses the neck below it, pressed lips their red): there a
    bilinear sample skips texture and a shadow band turns into a stair-stepped line. Pixels with
    minification s > MIP_START blend the two pre-blurred plates around level log2(s); all others
    are the plain sample, bit for bit. The minification is measured every ``step`` pixels (the map
    is smooth at that scale; the renderer's own lattice step). ``levels``: the plate's
    :class:`MipLevels`."""
    out = cv2.remap(plate, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    coarse = minification(mx, my, step)
    if float(coarse.max()) <= MIP_START:
        return out
    cy, cx = np.nonzero(coarse > MIP_START)
    h, w = mx.shape
    y0, x0 = max(int(cy.min()) * step - step, 0), max(int(cx.min()) * step - step, 0)
    y1, x1 = min(int(cy.max()) * step + 2 * step, h), min(int(cx.max()) * step + 2 * step, w)
    sub = (slice(y0, y1), slice(x0, x1))
    s = cv2.resize(coarse, (coarse.shape[1] * step, coarse.shape[0] * step), interpolation=cv2.INTER_LINEAR)[sub]
    lod = np.where(s > MIP_START, np.clip(np.log2(np.maximum(s, 1.0)), 0.0, float(len(MIP_SIGMAS))), 0.0).astype(np.float32)
    acc = out[sub].astype(np.float32)
    res = acc.copy()
    for k in range(1, int(np.ceil(float(lod.max()))) + 1):
        wk = np.clip(1.0 - np.abs(lod - k), 0.0, 1.0)  # hat weight of level k
        if not wk.any():
            continue
        smp = levels.remap(k, mx[sub], my[sub])
        res += wk[..., None] * (smp.astype(np.float32) - acc)
    out[sub] = np.clip(res + 0.5, 0, 255).astype(np.uint8)
    return out


SQUEEZE_START, SQUEEZE_FULL = 2.0, 3.0
"""Minification (source pixels per target pixel, the largest over a pixel's samples) where the
supersampled colour starts to replace the frame's own sample, and where it has replaced it."""


def squeeze(dst: np.ndarray, src: np.ndarray, tris: np.ndarray) -> float:
    """The largest minification (source pixels per target pixel) inside the triangles ``tris`` (F, 3)
    mapped from ``dst`` (V, 2) back to ``src`` (V, 2): each triangle's map is affine, A = S D^-1
    (S, D: its source and target edge matrices), and squeezes most along A's largest singular value.
    inf where a triangle collapses or folds over (orientation flipped); 0 for no triangles.
    Triangles without source area are left out."""
    d, s = dst[tris], src[tris]
    D = np.stack([d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]], -1)  # (F, 2, 2), edges as columns
    S = np.stack([s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]], -1)
    det_d = D[:, 0, 0] * D[:, 1, 1] - D[:, 0, 1] * D[:, 1, 0]
    det_s = S[:, 0, 0] * S[:, 1, 1] - S[:, 0, 1] * S[:, 1, 0]
    real = np.abs(det_s) > 1e-9
    if not real.any():
        return 0.0
    D, S, det_d, det_s = D[real], S[real], det_d[real], det_s[real]
    if (np.abs(det_d) <= 1e-9).any() or (np.sign(det_d) != np.sign(det_s)).any():
        return float("inf")
    adj = np.stack([np.stack([D[:, 1, 1], -D[:, 0, 1]], -1), np.stack([-D[:, 1, 0], D[:, 0, 0]], -1)], 1)
    A = np.einsum("fij,fjk->fik", S, adj) / det_d[:, None, None]
    f2, det = (A * A).sum((1, 2)), det_s / det_d
    return float(np.sqrt(0.5 * (f2 + np.sqrt(np.maximum(f2 * f2 - 4.0 * det * det, 0.0)))).max())


def resample_squeezed(out: np.ndarray, plate: np.ndarray, levels: "MipLevels", dst: np.ndarray,
                      src: np.ndarray, tris: np.ndarray, win: Region, k: int) -> None:
    """Where the warp squeezes a band of the source into less than a pixel, integrate it over each
    pixel's area instead of point-sampling it: ``out`` (H, W, 3) uint8 frame, modified in place
    inside ``win``, from ``plate`` (H, W, 3) through the mesh (``dst`` (V, 2) target, ``src``
    (V, 2) source pixels, ``tris`` (F, 3) in paint order), sampled k x k times per pixel (k odd).
    The caller picks the window (:func:`squeeze` tells whether the mesh squeezes it at all).

    An eye narrowed to a slit (AU7, AU4 pressing the brow onto the lid) folds its lid margin and
    lashes into a sliver thinner than a pixel; one sample per pixel lands on the lashes in one
    column and on the skin in the next, a dark line broken into stair steps. The window's samples
    (:func:`supersampled_map`) are block-averaged: a box filter over the pixel (supersampling;
    Crow 1981, "A comparison of antialiasing techniques"). Only squeezed pixels change
    (minification ramping from SQUEEZE_START to SQUEEZE_FULL), so a still or merely moved window
    keeps the frame's own sharp sample, bit for bit."""
    win = win.intersect(Region(0, 0, out.shape[1], out.shape[0]))
    if win.empty:
        return
    sx, sy = supersampled_map(dst, src, tris, win, k)
    h, w = win.shape
    minif = (minification(sx, sy) * k).reshape(h, k, w, k).max((1, 3))
    a = np.clip((minif - SQUEEZE_START) / (SQUEEZE_FULL - SQUEEZE_START), 0.0, 1.0)
    if not a.any():
        return
    area = remap_filtered(plate, sx, sy, levels, 1).reshape(h, k, w, k, 3).mean((1, 3), dtype=np.float32)
    cur = out[win.slices()].astype(np.float32)
    out[win.slices()] = np.clip(cur + a[..., None] * (area - cur) + 0.5, 0, 255).astype(np.uint8)


class MipLevels:
    """Pre-blurred copies of one plate (MIP_SIGMAS), each made on first use and only over the box
    of the plate that frames have sampled so far (grown as later frames reach further): on a phone
    photo the squeezed skin is a small part of the image, and blurring all of it three times took
    most of a still's time. Inside the box a level equals the whole plate's blur bit for bit."""

    SLACK = 32
    """Pixels added round a grown box, so a sequence whose samples drift does not re-blur each frame."""

    def __init__(self, plate: np.ndarray) -> None:
        self.plate = plate  # (h, w, C) uint8
        self._levels: dict[int, tuple[tuple[int, int, int, int], np.ndarray]] = {}  # k -> (x0, y0, x1, y1), blurred box

    def remap(self, k: int, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
        """Bilinear sample (border replicated) of level k >= 1 (the plate blurred with sigma
        MIP_SIGMAS[k - 1]) at source pixels (mx, my) (h, w) float32: what ``cv2.remap`` of the whole
        blurred plate gives."""
        k = min(max(k, 1), len(MIP_SIGMAS))
        ph, pw = self.plate.shape[:2]
        # bilinear taps reach floor(x) + 1 (+ 1 for OpenCV's 1/32-pixel rounding); past the plate they clamp
        need = (max(int(np.floor(mx.min())), 0), max(int(np.floor(my.min())), 0),
                min(int(np.floor(mx.max())) + 3, pw), min(int(np.floor(my.max())) + 3, ph))
        have = self._levels.get(k)
        if have is None or not _box_inside(need, have[0]):
            box = need if have is None else (min(need[0], have[0][0]), min(need[1], have[0][1]),
                                             max(need[2], have[0][2]), max(need[3], have[0][3]))
            box = (max(box[0] - self.SLACK, 0), max(box[1] - self.SLACK, 0), min(box[2] + self.SLACK, pw), min(box[3] + self.SLACK, ph))
            have = self._levels[k] = (box, _blur_box(self.plate, box, MIP_SIGMAS[k - 1]))
        (x0, y0, _, _), level = have
        if x0 or y0:  # exact: an integer shift of a float32 toward zero loses no bits
            mx, my = mx - np.float32(x0), my - np.float32(y0)
        return cv2.remap(level, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _box_inside(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]


def _blur_box(plate: np.ndarray, box: tuple[int, int, int, int], sigma: float) -> np.ndarray:
    """``cv2.GaussianBlur(plate, (0, 0), sigma)[box]``, computed on the box plus the kernel's reach
    (OpenCV's 8-bit kernel radius is round(3 sigma)): bit-identical inside the box."""
    x0, y0, x1, y1 = box
    r = int(np.ceil(3.0 * sigma)) + 2
    h, w = plate.shape[:2]
    X0, Y0, X1, Y1 = max(x0 - r, 0), max(y0 - r, 0), min(x1 + r, w), min(y1 + r, h)
    blurred = cv2.GaussianBlur(np.ascontiguousarray(plate[Y0:Y1, X0:X1]), (0, 0), sigma)
    return np.ascontiguousarray(blurred[y0 - Y0 : y1 - Y0, x0 - X0 : x1 - X0])
