"""The band of face next to the outline, refilled from cheek skin where a head turn stretches it.

In a frontal photo the two outermost rings of face-mesh triangles (from the outline inwards) are seen
nearly edge-on: a 1-2 px strip between the cheek and the ear or the hair. When the head turns, the
side turning towards the camera rotates them to face it, and the piecewise-affine warp magnifies
that strip 4-11x at 20 degrees of yaw. A monotone strip (skin fading into hair or background)
only becomes a soft gradient. A strip that holds a ridge (a crease, the ear's front edge) becomes
a wide ghost copy of it: a second ear, streaks down the jaw. (A wide jaw drop stretches the
lower part of the band too, 2-3x on both sides, with the same streaks on a wrinkled face.)

So, per portrait, each side of the face gets a gate from the strip's own structure: the median
"valley depth" of grey-level profiles across the strip, from each band vertex to the nearest
vertex of the third ring (how far the profile dips below, or rises above, what lies on both sides
of a point; zero for a monotone edge). Per frame, where the band is magnified (and the side's gate
is open), it samples a mirrored position instead: the vertex's distance from its pivot (the third
ring vertex) is measured now, in the target, and laid off from the pivot towards the inside of the
face in the source, so the band shows cheek skin at its natural scale. That skin comes from a
smoothed plate of the face (the large-scale tone of the skin around it, without eyes, brows, lips
and nose, plus its fine grain), because the mirrored cheek would otherwise bring its own folds to
the outline. The blend weight is interpolated across each band triangle from its vertices and
feathered at the outline, so the ear, hair and background beyond the outline stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from thinkdraw.face import mesh as M
from thinkdraw.render.geometry import Similarity
from thinkdraw.render.raster import Region, affine_maps, hull_mask, normalized_blur, points_region, vertex_map
from thinkdraw.render.wrinkles import OUTER_CANTHI, eye_axes

BAND_RINGS = 2  # rings of mesh vertices (from the outline inwards) that may be refilled; the next ring pivots
MAG_START, MAG_FULL = 2.0, 4.0  # a band vertex's largest triangle magnification where the fill starts / is full
RIDGE_OFF, RIDGE_ON = 4.0, 10.0  # median valley depth (grey levels, 0-255) of a side's strip: gate closed / open
TOP_IPD, TOP_RAMP_IPD = 0.35, 0.3  # the fill starts this far above the eye line (IPDs) and ramps in over this
SKIN_SIGMA_IPD = 0.1  # low-pass scale of the skin plate (IPDs)
GRAIN_IPD, GRAIN_GAIN = 0.02, 0.7  # fine skin grain below this scale (IPDs) is kept at this amplitude
FEATHER_IPD = 0.05  # the fill fades out over this distance (IPDs) towards the outline


@lru_cache(maxsize=1)
def mesh_rings() -> np.ndarray:
    """(N_MESH,) int: each face-mesh vertex's edge distance from the face outline (0 on it)."""
    e = M.tessellation_edges()
    n = M.N_MESH
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    d = shortest_path(g, directed=False, unweighted=True, indices=list(M.FACE_OVAL)).min(0)
    return np.where(np.isfinite(d), d, n).astype(np.int64)


def valley_depth(profiles: np.ndarray) -> np.ndarray:
    """Ridge strength of 1-D profiles (K, S): the largest amount by which a sample lies below the
    lower of the highest samples on either side of it, or above the higher of the lowest ones.
    Zero for a monotone profile (an edge), the ridge's height for a line or a crease."""
    def dips(p: np.ndarray) -> np.ndarray:
        left = np.maximum.accumulate(p, axis=1)
        right = np.maximum.accumulate(p[:, ::-1], axis=1)[:, ::-1]
        return (np.minimum(left, right) - p).max(1)

    return np.maximum(dips(profiles), dips(-profiles))


@dataclass
class SideBand:
    """Per-portrait data of the fill (source pixels, face-mesh vertex ids)."""

    band: np.ndarray  # (B,) band vertex ids (rings 0 .. BAND_RINGS-1)
    pivot: np.ndarray  # (B,) each band vertex's nearest vertex of ring BAND_RINGS in the source
    tris: np.ndarray  # (K, 3) face-mesh triangles with a band vertex
    tri_right: np.ndarray  # (K,) bool: the triangle lies on the image-right side of the face
    weight: np.ndarray  # (N_MESH,) static gate per vertex in [0, 1]: the side's ridge gate x the height gate
    gates: tuple[float, float]  # ridge gate of the image-left and image-right side, in [0, 1]
    image: np.ndarray  # (H, W, 3) uint8 the portrait (the renderer's plate; a reference, not a copy)
    landmarks: np.ndarray  # (N_MESH, 2) source pixels
    ipd: float  # source interpupillary distance, pixels
    _skin: tuple[np.ndarray, Region] | None = None

    def skin(self) -> tuple[np.ndarray, Region]:
        """The smoothed skin plate (h, w, 3) uint8 and where it lies in the source; built on first use
        (a still without a turn never needs it: ~1 s on a 6000 px photo)."""
        if self._skin is None:
            self._skin = _skin_plate(self.image, self.landmarks, self.ipd)
        return self._skin


def _skin_plate(image: np.ndarray, lm: np.ndarray, ipd: float) -> tuple[np.ndarray, Region]:
    """The face's skin, smoothed: normalised blur over the face minus eyes, brows, lips and nose,
    plus the fine grain of the photo. (h, w, 3) uint8 and its window."""
    H, W = image.shape[:2]
    win = points_region(lm[: M.N_MESH], W, H, pad=int(0.2 * ipd) + 2)
    patch = image[win.slices()].astype(np.float32)
    off = np.array([win.x0, win.y0])
    face = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillPoly(face, [np.round(lm[list(M.FACE_OVAL)] - off).astype(np.int32)], 1)
    parts = hull_mask(face.shape, *(lm[list(ids)] - off for ids in
                                    (M.LIPS_OUTER, M.RIGHT_EYE, M.LEFT_EYE, M.RIGHT_BROW, M.LEFT_BROW, M.NOSE_HULL)))
    near_parts = cv2.distanceTransform(1 - parts, cv2.DIST_L2, 5) <= max(1, int(0.06 * ipd))  # dilated by 0.06 IPD
    trust = (face * ~near_parts).astype(np.float32) + 1e-3
    low, _ = normalized_blur(patch, trust, SKIN_SIGMA_IPD * ipd)
    src = image[win.slices()]
    grain = patch - cv2.GaussianBlur(src, (0, 0), max(GRAIN_IPD * ipd, 0.6))  # uint8 blur: fast, +-0.5 level
    return np.clip(low + GRAIN_GAIN * grain + 0.5, 0, 255).astype(np.uint8), win


def eye_frame(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Face-centred frame of face-mesh pixels ``lm`` (>= N_MESH, 2): the eye-line midpoint (2,), the
    unit axis across the face towards image right (2,) and the unit axis down the face (2,)."""
    across, up = eye_axes(lm)
    down = -up if up[1] <= 0 else up  # image-down even for a face rolled past 90 degrees
    return (lm[OUTER_CANTHI[0], :2] + lm[OUTER_CANTHI[1], :2]) / 2.0, across, down


def build_side_band(image: np.ndarray, landmarks: np.ndarray, ipd: float) -> SideBand:
    """Precompute the fill for one portrait. image: (H, W, 3) uint8 (the renderer's plate);
    landmarks: (>= N_MESH, 2) source pixels; ipd: interpupillary distance, pixels."""
    lm = np.asarray(landmarks, dtype=np.float64)[: M.N_MESH, :2]
    ring = mesh_rings()
    band = np.nonzero(ring < BAND_RINGS)[0]
    outer = np.nonzero(ring == BAND_RINGS)[0]
    d = np.linalg.norm(lm[band][:, None] - lm[outer][None], axis=2)
    pivot = outer[d.argmin(1)]
    tris = M.triangles().astype(np.int64)
    tris = tris[(ring[tris] < BAND_RINGS).any(1)]
    mid, across, down = eye_frame(lm)
    side_of = ((lm - mid) @ across) > 0  # image-right side of the face
    height = ((lm - mid) @ down) / ipd  # below the eye line, IPDs
    # ridge gate per side, from grey profiles across the strip: 0.3 of its length outside the
    # vertex, to the pivot (lateral vertices of the outline between brow and jaw)
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 0.7)
    ts = np.linspace(-0.3, 1.0, 14)
    pts = lm[band][:, None] * (1 - ts[None, :, None]) + lm[pivot][:, None] * ts[None, :, None]
    prof = cv2.remap(grey, pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
    depth = valley_depth(prof)
    lateral = (np.abs((lm[band] - mid) @ across) > 0.6 * ipd) & (height[band] > -0.3) & (height[band] < 1.2)
    lateral &= ring[band] == 0
    gates = []
    for right in (False, True):
        sel = lateral & (side_of[band] == right)
        med = float(np.median(depth[sel])) if sel.any() else 0.0
        gates.append(float(np.clip((med - RIDGE_OFF) / (RIDGE_ON - RIDGE_OFF), 0.0, 1.0)))
    weight = np.where(side_of, gates[1], gates[0]) * np.clip((height + TOP_IPD) / TOP_RAMP_IPD, 0.0, 1.0)
    weight[ring >= BAND_RINGS] = 0.0  # the fill fades out across the band's inner triangles
    tri_right = side_of[tris].sum(1) >= 2
    return SideBand(band, pivot, tris, tri_right, weight, (gates[0], gates[1]), image, lm, ipd)


def fill_side_band(out: np.ndarray, sb: SideBand, dst: np.ndarray, src: np.ndarray, head: Similarity,
                   ipd: float) -> bool:
    """Refill the magnified band of one frame in place. out: (H, W, 3) uint8 warped frame; dst, src:
    (V >= N_MESH, 2) warp-mesh vertices, target and source pixels; head: the frame's head motion;
    ipd: source interpupillary distance, pixels. Returns whether anything was drawn."""
    if max(sb.gates) <= 0.0:
        return False
    _, aff, ok = affine_maps(dst, src, sb.tris)
    sv = np.linalg.svd(aff[:, :, :2], compute_uv=False)  # source pixels per target pixel
    det = aff[:, 0, 0] * aff[:, 1, 1] - aff[:, 0, 1] * aff[:, 1, 0]
    mag = np.where(ok & (det > 0), 1.0 / np.maximum(sv[:, 1], 1e-6) / head.scale, 0.0)  # folded: turned away
    vmag = np.zeros(M.N_MESH)
    np.maximum.at(vmag, sb.tris.ravel(), np.repeat(mag, 3))
    w = np.clip((vmag - MAG_START) / (MAG_FULL - MAG_START), 0.0, 1.0) * sb.weight
    if not (w[sb.band] > 0.0).any():
        return False
    # mirrored source: the target distance from the pivot, laid off inwards from the pivot (source scale)
    b, p = sb.band, sb.pivot
    reach = np.linalg.norm(dst[b] - dst[p], axis=1) / head.scale
    inward = src[p] - src[b]
    inward /= np.maximum(np.linalg.norm(inward, axis=1), 1e-6)[:, None]
    mirrored = src[: M.N_MESH].copy()
    mirrored[b] = src[p] + inward * reach[:, None]
    drew = False
    for right in (False, True):  # one small window per side (a turn or a jaw drop may fill both)
        tris = sb.tris[(sb.tri_right == right) & (w[sb.tris] > 0.0).any(1)]
        if len(tris):
            drew |= _blend(out, sb, dst[: M.N_MESH], mirrored, w, tris, FEATHER_IPD * ipd * head.scale)
    return drew


def _blend(out: np.ndarray, sb: SideBand, dst: np.ndarray, mirrored: np.ndarray, w: np.ndarray, tris: np.ndarray,
           feather: float) -> bool:
    """Blend the skin plate, sampled at ``mirrored`` (N_MESH, 2) source pixels through triangles ``tris``
    placed at ``dst`` (N_MESH, 2), into ``out`` with per-vertex weight ``w`` (N_MESH,) feathered over
    ``feather`` target pixels towards the face outline."""
    H, W = out.shape[:2]
    win = points_region(dst[np.unique(tris)], W, H, pad=2)
    if win.empty:
        return False
    plate, pwin = sb.skin()
    vals, _ = vertex_map(dst, np.column_stack([mirrored, w]), tris, win)  # (h, w, 3): source x, y; weight
    skin = cv2.remap(plate, vals[..., 0] - np.float32(pwin.x0), vals[..., 1] - np.float32(pwin.y0), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
    line = np.zeros(win.shape, np.uint8)
    cv2.polylines(line, [np.round(dst[list(M.FACE_OVAL)] - [win.x0, win.y0]).astype(np.int32)], True, 1)
    dist = cv2.distanceTransform(1 - line, cv2.DIST_L2, 3)
    a = (vals[..., 2] * np.clip(dist / max(1.0, feather), 0.0, 1.0))[..., None]
    cur = out[win.slices()].astype(np.float32)
    out[win.slices()] = np.clip(cur * (1 - a) + skin.astype(np.float32) * a + 0.5, 0, 255).astype(np.uint8)
    return True
