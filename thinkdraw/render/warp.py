"""Mesh-warp renderer: a portrait re-posed to target face landmarks, one backward remap per frame.

The warp mesh is MediaPipe's 468-vertex face mesh with one more row of vertices outside each lip
(:func:`lip_fringe_split`), its three holes (the two eye openings and the mouth opening) closed by
"ladder" triangles between the upper and lower chains (the mouth's on a copy of the inner lip ring
whose source follows the mouth's width: :meth:`Renderer.frame_src`), and two rings of support points
plus points on the image border joined to the face outline by a Delaunay triangulation. Per frame:

1. the head's rigid motion (2-D similarity of stable landmarks, Umeyama 1991) moves the inner
   support ring fully and the outer ring partly, both less below the face (neck, collar); border
   points stay, so hair follows the head while shoulders and background stay still;
2. only triangles with a moved vertex are rasterised in the TARGET (vectorised, raster.py) giving
   each covered pixel its source position (piecewise-affine backward warping); all other pixels
   are the source pixels themselves, so the background never wobbles;
3. one ``cv2.remap`` (bilinear) fills the moved window; the mouth interior (mouth.py) is drawn
   inside the target inner lip ring where the lips part beyond the portrait's own opening, and
   irises that moved relative to the warp are redrawn (eyes.py). Eyelids close by the warp itself:
   the eye-opening ladder collapses and the upper-lid skin above it stretches down over the eye.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from scipy.spatial import Delaunay

from thinkdraw.errors import InputError
from thinkdraw.face import mesh as M
from thinkdraw.face.canonical import canonical_neutral
from thinkdraw.face.rig import RIG_ANCHORS
from thinkdraw.render import eyes as E
from thinkdraw.render import focus as FO
from thinkdraw.render import glasses as GL
from thinkdraw.render import mouth as MO
from thinkdraw.render import sideband as SB
from thinkdraw.render import tone as TN
from thinkdraw.render import wrinkles as WR
from thinkdraw.face.geometry import apply_similarity, similarity_fit
from thinkdraw.render.geometry import Similarity, between_chains_alpha, fit_similarity
from thinkdraw.render.raster import (SQUEEZE_START, MipLevels, Region, backward_map, cull, hull_mask, lerp_kept_rows, normalized_blur,
                                     points_region, remap_filtered, resample_squeezed, smooth, squeeze, window_map)
from thinkdraw.utils.curves import smoothstep
from thinkdraw.utils.logs import get_logger

log = get_logger(__name__)

# Cheek region for the smile-free plate: convex hull per side of mesh points between the
# nasolabial fold and the lower eyelid (image-left side first, mirrored indices second).
_CHEEK_HULLS = (
    (116, 117, 118, 119, 120, 100, 129, 203, 206, 216, 212, 202, 210, 214, 192, 123, 147, 187, 205, 50, 36),
    (345, 346, 347, 348, 349, 329, 358, 423, 426, 436, 432, 422, 430, 434, 416, 352, 376, 411, 425, 280, 266),
)
_CHEEK_IDS = sorted(set(_CHEEK_HULLS[0]) | set(_CHEEK_HULLS[1]) | {61, 291, 57, 287, 129, 358})


@dataclass
class RenderConfig:
    """Renderer settings."""

    ring_scales: tuple[float, ...] = (1.3, 1.85)  # support rings, multiples of the face-oval radius
    ring_follow: tuple[float, ...] = (1.0, 0.45)  # fraction of the head's rigid motion each ring follows
    ring_follow_below: tuple[float, ...] = (0.6, 0.0)  # the same straight below the face (neck, collar, shoulders: the torso stays), blended to ring_follow by cos^2 of the angle from the face's down axis
    chin_carry: tuple[float, ...] = (0.75, 0.0)  # fraction of the face outline's own motion (jaw drop, chin raise; not the head's) each ring follows straight below the face, cos^2 blend to 0 at the sides: the chin and the skin under its landmarks move together, the neck band out to the next ring takes up the motion. Below (1 - g) / (1 - support_min_gap), g = this ring's rest gap over the next one's (0.35), so a pushed ring never passes the next
    ring_points: int = 28  # points per support ring
    border_points: int = 6  # support points per image side (fixed)
    support_min_gap: float = 0.15  # a ring point keeps this fraction of its rest distance outside the face outline (a dropping chin compresses the neck band, never folds it)
    move_eps: float = 1e-3  # vertex displacement (pixels) below which a vertex counts as still
    mouth: bool = True  # draw the mouth interior where the lips part
    mouth_crop: bool = True  # a mouth narrower than the photo's open one shows the middle of the photo's opening, its teeth at their width, darkened toward the corners (Renderer.mouth_crop); False: the whole opening, squeezed
    wrinkles: bool = True  # landmark-driven creases (wrinkles.py): AU4 furrows, AU12 folds, AU1/2 forehead lines, AU6 crow's feet, AU9 nose lines
    eyes: bool = True  # redraw irises that moved (gaze)
    glasses: bool = True  # a detected spectacle frame stays rigid (moves with the head only; glasses.py)
    side_fill: bool = True  # head turns: refill the stretched band next to the face outline with cheek skin where the photo's strip holds a crease or an ear edge (sideband.py)
    match_focus: bool = True  # the drawn parts (mouth interior, lip contact line, relit corners, closing lids) are blurred to the photo's own focus, measured at its edges round the eyes and lips (focus.py); False: drawn ~1 px sharp on any photo
    tone: bool = True  # a black-and-white or toned (sepia, cyanotype) portrait: the mouth interior, lip line and creases are drawn in its tone, not in colour (tone.py)
    mouth_open_px: float = 0.6  # opening beyond the portrait's own (pixels) where the interior starts
    mouth_stretch: float = 0.4  # a toothy photo's lips drawn apart without the jaw (AU10, a broader smile): its own teeth, stretched, fill up to this share more than its opening before the drawn interior takes over (Renderer.mouth_strength)
    mouth_ramp_ipd: float = 0.04  # extra opening (interpupillary distances) to reach full opacity; the photo's own teeth, stretched, and the drawn ones cross-fade over it (at 0.08 a toothy photo's AU26 0.5 showed both rows ghosted through a grey band)
    mouth_clean_reach_ipd: float = 0.04  # teeth/shadow pixels this close (IPDs) to the portrait's opening are painted over when it closes
    lip_tone: float = 0.7  # when the portrait's own open mouth is closed: how far the lower lip's colour goes to the lip colour
    upper_lip_shade: tuple[float, float, float] = (0.17, 0.46, 0.46)  # when the portrait's own open mouth is closed: the upper lip's R, G, B fall toward the meeting line by these fractions at the line, times v^2 (v: 0 at its border, 1 at the line): darker and redder there
    lids: bool = True  # paint lid skin + lash line where the upper lid slid down (blinks, AU43/45)
    eye_supersample: int = 3  # samples per pixel side (odd) where a narrowing eye squeezes its lid margin into a sliver (raster.resample_squeezed; 1 = one sample, the eyes' box still mapped exactly)
    map_step: int = 2  # backward map evaluated every N pixels, interpolated between (1 = exact), at a face of lattice_ipd
    outer_step: int = 4  # lattice step outside the face when the head moves (support mesh is smooth), at a face of lattice_ipd
    lattice_ipd: float = 100.0  # interpupillary distance (px) the two steps above hold for; a bigger face scales them and the lips' exact window (step 1) by ipd / lattice_ipd, rounded: the map is smooth at the scale of the mesh's triangles, which grow with the face, so a 4000 px portrait's map costs about what a 512 px one's does (0: never scale)
    cheek_max: float = 0.85  # opacity of the smile-free cheek plate when the smile is fully removed
    cheek_ramp_ipd: float = 0.05  # lip-corner drop (interpupillary distances) reaching cheek_max
    cheek_sigma_ipd: float = 0.15  # low-pass scale of the cheek plate (IPDs): removes folds and bulges
    cheek_texture: float = 0.7  # amplitude kept of the fine skin texture (below ~0.02 IPD) in the plate
    cheek_edge: float = 40.0  # deviation from the low-pass (0-255) above which a structure is kept, gone by 2x
    commissure_ipd: float = 0.1  # the smile-free plate also covers this far (IPDs, then fading) around each lip corner outside the lips


@dataclass(frozen=True)
class LatticeSteps:
    """Lattice spacings (pixels) of one portrait's backward map (:func:`lattice_steps`)."""

    fine: int  # the face's triangles
    outer: int  # the support mesh, while the head moves
    lips: int  # the window round the lips (1 = exact): a closing mouth's map jumps across the stomion

    @property
    def probe(self) -> int:
        """Spacing at which the map's minification is measured (remap_filtered) and its windows are
        padded: the fine lattice's, at least 2 pixels."""
        return max(self.fine, 2)


def lattice_steps(config: RenderConfig, ipd: float) -> LatticeSteps:
    """``config``'s map steps for a face ``ipd`` pixels between the pupils: scaled by
    ipd / config.lattice_ipd (never below 1x), so the lattice keeps the same spacing relative to the
    face's triangles at every image size."""
    k = max(1.0, ipd / config.lattice_ipd) if config.lattice_ipd > 0 else 1.0
    fine = max(1, int(round(config.map_step * k)))
    return LatticeSteps(fine, max(fine, int(round(config.outer_step * k))), min(fine, max(1, int(round(k)))))


EYE_TRIS_REACH = 0.3
"""How far (IPDs) round an eye's box in the photo the triangles its supersampled window may meet reach."""
SUBNASALE = 2
"""MediaPipe mesh vertex at the base of the nose (columella meets the upper lip)."""
SEAM_SOFT_HALF_PX = 2.0
"""Half-height (pixels) of the band along closed lips' meeting line that is anti-aliased."""
SEAM_SOFT_SIGMA_PX = 1.1
"""Vertical blur (pixels) across that line: about one pixel's step, not a smear of the lips."""


@dataclass
class _MouthSeal:
    """A toothy photo's open mouth painted shut (Renderer._build_mouth_clean), over a window."""

    win: Region  # source pixels the plate covers
    levels: MipLevels  # the painted window (levels.plate, (h, w, 3) uint8) and its prefiltered copies
    mask: np.ndarray  # (h, w) float32 in [0, 1]: where it was painted, feathered


@dataclass
class _FrameWork:
    """What :meth:`Renderer._maps` measured of a frame that :meth:`Renderer.overlay` uses too."""

    eyes: list[tuple[Region, np.ndarray]]  # Renderer.eye_windows, in the frame's paint order
    unposed: tuple[np.ndarray, float]  # Renderer.unposed: (478, 2) landmarks with the head's pose taken out, their IPD


def _window_map(win: Region, region: Region, mx: np.ndarray | None,
                my: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Source positions (h, w) float32 x, y for the pixels of ``win``: the frame's backward map
    (mx, my over ``region``) where the window overlaps it, identity elsewhere."""
    gx, gy = np.meshgrid(np.arange(win.x0, win.x1, dtype=np.float32), np.arange(win.y0, win.y1, dtype=np.float32))
    if mx is not None:
        ov = win.intersect(region)
        if not ov.empty:
            gx[ov.slices_in(win)], gy[ov.slices_in(win)] = mx[ov.slices_in(region)], my[ov.slices_in(region)]
    return gx, gy


def _paste_map(mx: np.ndarray, my: np.ndarray, region: Region, win: Region, dst: np.ndarray, src: np.ndarray,
               tris: np.ndarray, step: int) -> None:
    """Re-evaluate the backward map (mx, my) of ``region`` inside ``win`` (clipped to the region)
    at lattice ``step`` (1 = exact), in place."""
    win = win.intersect(region)
    if win.empty:
        return
    sl = win.slices_in(region)
    mx[sl], my[sl] = window_map(dst, src, tris, win, step)


def _below_weight(ang: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """(n,) directions (radians, image frame) -> cos^2 of their angle from the face's down axis
    (perpendicular to the line between the eye corners, towards the chin), 0 above the horizontal:
    how much a support point in that direction lies over the neck and torso rather than the head."""
    _, up = WR.eye_axes(lm)
    c = -(np.cos(ang) * up[0] + np.sin(ang) * up[1])
    return np.clip(c, 0.0, 1.0) ** 2


def _silhouette_reach(face: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Face mesh vertices (468, 2) pixels -> the outline's centre (2,), each outline vertex's unit
    direction from it (O, 2) and radius (O,), and the radial reach of the face in that direction
    (O,): the farthest face vertex within half an outline spacing of the direction."""
    ids = np.asarray(M.FACE_OVAL)
    c = face[ids].mean(0)
    rel = face - c
    ang = np.arctan2(rel[:, 1], rel[:, 0])
    rad = np.hypot(rel[:, 0], rel[:, 1])
    near = np.abs((ang[None, :] - ang[ids][:, None] + np.pi) % (2 * np.pi) - np.pi) <= np.pi / len(ids)  # (O, N)
    reach = np.where(near, rad[None, :], 0.0).max(1)
    return c, rel[ids] / np.maximum(rad[ids], 1e-6)[:, None], rad[ids], reach


def _landmarks_of(portrait: Any) -> np.ndarray:
    lm = portrait.landmarks if hasattr(portrait, "landmarks") else portrait
    lm = np.asarray(lm, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] != M.N_LANDMARKS or lm.shape[1] not in (2, 3):
        raise InputError(f"expected (478, 2|3) landmarks, got shape {lm.shape}")
    return lm[:, :2]


def _rest_landmarks(landmarks: np.ndarray, rig: Any = None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The rig's view of the portrait's (478, 3) pixel landmarks (:mod:`thinkdraw.face.rig`): the
    face with its own AUs removed, and the photo's own face where the rig's targets move from
    (``Rig.source_landmarks``). (None, None) for landmarks without depth, or too degenerate to
    fit a head pose to (e.g. all in one point). ``rig``: the caller's Rig on these landmarks (built
    here otherwise)."""
    if landmarks.shape != (M.N_LANDMARKS, 3):
        return None, None
    if rig is None:
        from thinkdraw.face.rig import Rig

        with np.errstate(all="ignore"):  # a degenerate fit gives NaN, answered here
            rig = Rig(landmarks=landmarks)
    elif not np.allclose(rig.portrait_landmarks, landmarks):
        raise InputError("the rig passed to Renderer was built on other landmarks than the portrait's")
    if not (np.isfinite(rig.neutral_landmarks).all() and np.isfinite(rig.source_landmarks).all()):
        return None, None
    return rig.neutral_landmarks, rig.source_landmarks


def _crop_opening(ring: np.ndarray, up: np.ndarray, low: np.ndarray, r: float) -> np.ndarray:
    """The inner lip ring of an open mouth, ``ring`` (R, 2) pixels, its upper and lower lips' chains
    the rows ``up`` and ``low`` (corner to corner, corners shared), moved to the middle ``r`` (0-1]
    of the opening's width: each vertex to the point of its own lip's edge at r times its distance
    along the corner-to-corner axis from the middle, each corner half way between the two lips'
    edges there. (R, 2); r = 1 gives the ring back."""
    a, b = ring[up[0]], ring[up[-1]]
    centre = 0.5 * (a + b)
    e = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
    n = np.array([-e[1], e[0]])
    rel = ring - centre
    along, across = rel @ e, rel @ n

    def edge(chain: np.ndarray, x: np.ndarray) -> np.ndarray:  # the chain's offset across at x along
        xs = np.maximum.accumulate(along[chain])
        return np.interp(x, xs, across[chain])

    out = ring.copy()
    for chain in (up, low):
        x = r * along[chain[1:-1]]
        out[chain[1:-1]] = centre + x[:, None] * e + edge(chain, x)[:, None] * n
    x = r * along[[up[0], up[-1]]]
    mid = 0.5 * (edge(up, x) + edge(low, x))
    out[[up[0], up[-1]]] = centre + x[:, None] * e + mid[:, None] * n
    return out


def _ladder(upper: tuple[int, ...], lower: tuple[int, ...]) -> np.ndarray:
    """Triangles closing the opening between two chains with shared end points (corners)."""
    tris = []
    n = len(upper)
    for i in range(n - 1):
        a, b, c, d = upper[i], upper[i + 1], lower[i + 1], lower[i]
        if b != c:
            tris.append((a, b, c))
        if a != d and c != d:
            tris.append((a, c, d))
    return np.array(tris, dtype=np.int64)


SUBLABIAL_ROW = (43, 106, 182, 83, 18, 313, 406, 335, 273)
"""MediaPipe mesh vertices of the skin row under the lower lip's outer border (the upper edge of
the labiomental groove), one triangle row from LIPS_OUTER_LOWER."""
SUPRALABIAL_ROW = (186, 92, 165, 167, 164, 393, 391, 322, 410)
"""The skin row above the upper lip's outer border, one triangle row from LIPS_OUTER_UPPER."""
LIP_FRINGE_KEEP = 0.4
"""Fraction of each edge from a lip's outer border to the skin row beside it, from the lip, that
keeps its length in pixels (head scale applied) when the target stretches that edge: the lip's
fringe of red past MediaPipe's border and the shadow under an everted lower lip. See
:func:`lip_fringe_split`."""


@functools.cache
def lip_fringe_split() -> tuple[np.ndarray, np.ndarray]:
    """The face mesh with one more row of vertices outside each lip: (F, 3) triangles and the
    (K, 2) rungs (lip border vertex, skin-row vertex) that carry the new vertices, ids M.N_MESH + k.

    Closing a toothy smile raises the lower lip ~0.05 IOD while the skin row under it (vertex 18)
    stays: the triangle row between them stretches 1.5-2.3 times, and with it the photo's red fringe
    and the dark shadow under the everted lip, read as a lower lip twice its height (single_face_0,
    multi_face_3 made sad); the upper lip comes down the same way, and the red MediaPipe leaves
    above its border stretched with the skin above. Each mesh edge from an inner vertex of a lip's
    outer chain to its skin row gets a vertex LIP_FRINGE_KEEP of the way out; the renderer places
    it so that the part next to the lip keeps its length and the skin beyond takes the stretch
    (:meth:`Renderer.target_vertices`). Each triangle with such an edge is cut along the new
    vertices (two cut edges: the corner between them, then the rest as two triangles; one: two
    triangles), keeping its orientation, so no edge is split on one side only.
    """
    tris = M.triangles().astype(np.int64)
    pairs = ((set(M.LIPS_OUTER_LOWER[1:-1]), set(SUBLABIAL_ROW)), (set(M.LIPS_OUTER_UPPER[1:-1]), set(SUPRALABIAL_ROW)))
    edges = {tuple(sorted((int(t[i]), int(t[(i + 1) % 3])))) for t in tris for i in range(3)}
    rungs = sorted((a, b) if a in lip else (b, a) for lip, row in pairs for a, b in edges
                   if (a in lip and b in row) or (b in lip and a in row))
    new_id = {frozenset(r): M.N_MESH + k for k, r in enumerate(rungs)}
    out = []
    for tri in tris:  # once per process, at build time: ~40 of the 852 triangles are cut
        ring: list[int] = []
        cut: list[int] = []
        for i in range(3):
            a, b = int(tri[i]), int(tri[(i + 1) % 3])
            ring.append(a)
            s = new_id.get(frozenset((a, b)))
            if s is not None:
                cut.append(len(ring))
                ring.append(s)
        if not cut:
            out.append(tuple(tri))
            continue
        if len(cut) == 2:  # the vertex between the two cut points is cut off as its own triangle
            i, j = cut
            mid = j - 1 if j - i == 2 else (i - 1) % len(ring)
            out.append((ring[mid - 1], ring[mid], ring[(mid + 1) % len(ring)]))
            ring = ring[:mid] + ring[mid + 1:] if mid else ring[1:]
        s = next(k for k, v in enumerate(ring) if v >= M.N_MESH)  # fan the rest from a cut point
        out.extend((ring[s], ring[(s + k) % len(ring)], ring[(s + k + 1) % len(ring)]) for k in range(1, len(ring) - 1))
    return np.array(out, dtype=np.int64), np.array(rungs, dtype=np.int64)


def _fringe_rest(values: np.ndarray, rungs: np.ndarray) -> np.ndarray:
    """Per-vertex ``values`` (478, ...) (positions, depth) at the rows outside the lips as the photo
    has them: LIP_FRINGE_KEEP of the way along each rung (K, 2) from its lip vertex (:func:`lip_fringe_split`)."""
    a, b = values[rungs[:, 0]], values[rungs[:, 1]]
    return a + LIP_FRINGE_KEEP * (b - a)


def _fill_columns(image: np.ndarray, hole: np.ndarray, smooth_px: float) -> np.ndarray:
    """``image`` (h, w, 3) float32 with the pixels of ``hole`` (h, w bool) filled, column by column,
    by the linear blend of the nearest pixels above and below the hole (the upper lip's colour
    fades into the lower lip's), then blurred along rows by ``smooth_px`` to hide column noise.
    A pixel outside the hole is its own nearest kept pixel, so the blend leaves it as it is."""
    fill, _, _ = lerp_kept_rows(image, hole)
    fill = cv2.GaussianBlur(fill, (0, 0), sigmaX=max(smooth_px, 0.5), sigmaY=0.5)
    return np.where(hole[..., None], fill, image).astype(np.float32)


def _patch_median(image: np.ndarray, pts: np.ndarray, r: int) -> np.ndarray:
    H, W = image.shape[:2]
    vals = []
    for x, y in np.round(pts).astype(int):  # a handful of sample points, precompute only
        x0, y0 = max(x - r, 0), max(y - r, 0)
        patch = image[y0 : min(y + r + 1, H), x0 : min(x + r + 1, W)].reshape(-1, 3)
        if len(patch):
            vals.append(patch)
    if not vals:
        return np.full(3, 128.0, np.float32)
    return np.median(np.concatenate(vals), axis=0).astype(np.float32)


CROWN_OPENING_IPD = (0.12, 0.15)
"""A photo's opening (IPD) over which its teeth go from their edges to most of their crowns (an upper
central crown shows ~0.17 IPD): its own teeth stretch into lips drawn apart (RenderConfig.mouth_stretch)
only as it shows crowns. Under 0.12 (t1_5, takeo_0, justin_0: ~0.11) a stretched opening smeared the
incisal edges and lip shadow into the drawn row's place."""


def sin_yaw(landmarks: np.ndarray) -> float:
    """Sine of the head's yaw from (478, 3) pixel landmarks (z away from the camera): the z part of
    the face's left-right axis, from a similarity fit (Umeyama 1991) of the canonical face to them
    on the points no AU moves (the rig's pose anchors). Positive when the image-right half of the
    face is turned away from the camera."""
    ids = list(RIG_ANCHORS)
    cam = np.asarray(landmarks, dtype=np.float64)[ids, :3] * np.array([1.0, -1.0, -1.0])  # camera frame
    _, rot, _ = similarity_fit(_canonical_anchors(), cam)
    return float(-rot[2, 0])


@functools.lru_cache(maxsize=1)
def _canonical_anchors() -> np.ndarray:
    return canonical_neutral()[list(RIG_ANCHORS)]


class Renderer:
    """Renders one portrait at any target landmarks. Precomputes once per portrait.

    image: (H, W, 3) uint8 RGB; portrait: an object with ``.landmarks`` (478, 2|3) pixels (e.g.
    :class:`thinkdraw.face.analyze.Portrait`) or the landmark array itself. rig: the caller's
    :class:`thinkdraw.face.rig.Rig` on this portrait, if it has one (the renderer samples the photo
    where that rig's targets move from; without it the renderer builds its own, ~10 ms).
    """

    def __init__(self, image: np.ndarray, portrait: Any, config: RenderConfig | None = None, rig: Any = None) -> None:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"expected an (H, W, 3) uint8 image, got {image.shape} {image.dtype}")
        self.config = config or RenderConfig()
        if self.config.eye_supersample < 1 or (self.config.eye_supersample > 1 and self.config.eye_supersample % 2 == 0):
            raise InputError(f"RenderConfig.eye_supersample must be 1 or an odd number of samples, got {self.config.eye_supersample}")
        self.image = np.ascontiguousarray(image)
        self.H, self.W = image.shape[:2]
        self.landmarks = _landmarks_of(portrait)
        raw = np.asarray(getattr(portrait, "landmarks", portrait), dtype=np.float64)
        self.landmarks3 = raw.copy() if raw.shape[1] > 2 else None  # (478, 3) for head-pose-free measures
        self.depth = None if self.landmarks3 is None else self.landmarks3[:, 2]  # (478,) z, smaller = nearer (paint_order)
        neutral, source = _rest_landmarks(raw, rig)
        if source is not None:  # the mesh samples the photo where the rig's targets move from
            self.landmarks = source[:, :2].copy()
        self._build_mesh()
        self._build_appearance(neutral)
        self._eye_tris = [np.nonzero(self._tris_near(ids, EYE_TRIS_REACH * self.ipd))[0] for ids in self._eye_ids]
        lift = self._own_smile_lift(neutral)
        self.own_smile = max(lift, 0.0)
        # the nasolabial folds deepen from the higher of the photo's and the neutralised face's lip
        # corners: a photo with its mouth open wide has them low, and closing it is no smile
        self.fold_lift = self.src_lift - min(lift, 0.0)

    # ------------------------------------------------------------------ precompute
    def _build_mesh(self) -> None:
        cfg = self.config
        lm = self.landmarks
        face = lm[: M.N_MESH]
        oval = face[list(M.FACE_OVAL)]
        center = oval.mean(0)
        support, follow = [], []
        n = cfg.ring_points
        ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
        # ring radius per direction: the oval's extent in that direction (polar max), scaled
        rel = oval - center
        oang = np.arctan2(rel[:, 1], rel[:, 0])
        orad = np.hypot(rel[:, 0], rel[:, 1])
        order = np.argsort(oang)
        rad = np.interp(ang, oang[order], orad[order], period=2 * np.pi)
        margin = 2.0
        below = _below_weight(ang, lm)
        carry = []
        for s, w, wb, wc in zip(cfg.ring_scales, cfg.ring_follow, cfg.ring_follow_below, cfg.chin_carry):
            ring = center + np.stack([np.cos(ang), np.sin(ang)], 1) * (rad * s)[:, None]
            keep = (ring[:, 0] > margin) & (ring[:, 0] < self.W - 1 - margin) & (ring[:, 1] > margin) & (ring[:, 1] < self.H - 1 - margin)
            support.append(ring[keep])
            follow.append((w + (wb - w) * below)[keep])
            carry.append((wc * below)[keep])
        k = cfg.border_points
        xs = np.linspace(-1.0, self.W, k + 1)
        ys = np.linspace(-1.0, self.H, k + 1)
        border = np.concatenate([
            np.stack([xs, np.full_like(xs, -1.0)], 1), np.stack([xs, np.full_like(xs, float(self.H))], 1),
            np.stack([np.full_like(ys[1:-1], -1.0), ys[1:-1]], 1), np.stack([np.full_like(ys[1:-1], float(self.W)), ys[1:-1]], 1),
        ])
        support.append(border)
        follow.append(np.zeros(len(border)))
        carry.append(np.zeros(len(border)))
        self.carry = np.concatenate(carry)  # (S,) chin_carry per support point
        support_pts = np.concatenate(support)
        self.follow = np.concatenate(follow)
        self.on_ring = np.arange(len(support_pts)) < len(support_pts) - len(border)  # border points never move
        # each support point also follows the non-rigid motion of the face outline in its
        # direction (angular interpolation between the two nearest oval points), so the band
        # between the oval and the first ring moves with the contour instead of folding (yaw)
        sang = np.arctan2(support_pts[:, 1] - center[1], support_pts[:, 0] - center[0])
        so = oang[order]
        pos = np.searchsorted(so, sang) % len(so)
        prev = (pos - 1) % len(so)
        span = (so[pos] - so[prev]) % (2 * np.pi)
        frac = np.where(span > 1e-9, ((sang - so[prev]) % (2 * np.pi)) / np.maximum(span, 1e-9), 0.0)
        oval_ids = np.array(M.FACE_OVAL)[order]
        self.sup_i0, self.sup_i1, self.sup_f = oval_ids[prev], oval_ids[pos], np.clip(frac, 0, 1)
        # the face's vertices, then those of the rows outside the lips (lip_fringe_split), then the
        # mouth hole's own copy of the inner lip ring (its source moves: frame_src), then support
        face_tris, self.rungs = lip_fringe_split()
        self.rung_len = np.hypot(*(face[self.rungs[:, 1]] - face[self.rungs[:, 0]]).T)  # (K,) px, the photo's lip-to-skin-row edges
        self.hole0 = M.N_MESH + len(self.rungs)  # index of the first mouth-hole vertex
        self.hole_of = np.array(sorted(set(M.LIPS_INNER_UPPER) | set(M.LIPS_INNER_LOWER)))  # (R,) the ring vertex each copies
        copy_id = {int(v): self.hole0 + j for j, v in enumerate(self.hole_of)}
        self.hole_chains = tuple(np.searchsorted(self.hole_of, c) for c in (M.LIPS_INNER_UPPER, M.LIPS_INNER_LOWER))  # rows of the ring
        self.sup0 = self.hole0 + len(self.hole_of)  # index of the first support point
        self.src = np.concatenate([face, _fringe_rest(face, self.rungs), face[self.hole_of], support_pts]).astype(np.float64)
        # each support point's rest offset from the outline point in its direction (a distance and
        # an outward unit vector), kept by _keep_support_outside
        rest = support_pts - self._on_outline(face)
        self.sup_gap = np.hypot(rest[:, 0], rest[:, 1])
        self.sup_out = rest / np.maximum(self.sup_gap, 1e-9)[:, None]
        # outside the face: Delaunay of oval + support, keep triangles outside the oval polygon
        ids = np.concatenate([np.array(M.FACE_OVAL), self.sup0 + np.arange(len(support_pts))])
        dl = Delaunay(self.src[ids])
        outer = ids[dl.simplices]
        from matplotlib.path import Path

        cent = self.src[outer].mean(1)
        inside = Path(oval).contains_points(cent)
        outer = outer[~inside]
        holes = [_ladder(tuple(copy_id[v] for v in M.LIPS_INNER_UPPER), tuple(copy_id[v] for v in M.LIPS_INNER_LOWER)),
                 _ladder(M.RIGHT_EYE_UPPER, M.RIGHT_EYE_LOWER),
                 _ladder(M.LEFT_EYE_UPPER, M.LEFT_EYE_LOWER)]
        self.tris = np.concatenate([face_tris, *holes, outer])
        self.n_inner_tris = len(self.tris) - len(outer)  # face mesh + hole ladders come first
        self._outer_ids = np.arange(self.n_inner_tris, len(self.tris))
        _, _, rad, reach = _silhouette_reach(face)
        self.src_reach = np.maximum(reach - rad, 0.0)  # (O,) px the photo's face already stands past each outline vertex
        self.src_oval_radius = float(rad.mean())
        self._index_order = np.arange(len(self.tris))
        self._check_mesh()
        self.n_face = M.N_MESH
        self._eye_ids = [np.array(M.RIGHT_EYE), np.array(M.LEFT_EYE)]
        self._lip_ids = np.array(sorted(set(M.LIPS_OUTER) | set(M.LIPS_INNER_UPPER) | set(M.LIPS_INNER_LOWER)))

    def _tris_near(self, ids: np.ndarray, reach: float) -> np.ndarray:
        """(F,) bool: the triangles with a vertex within ``reach`` px of the photo's box round mesh
        vertices ``ids``: the only ones a window round those vertices can meet, however the face
        moves (the mesh does not tear)."""
        lo, hi = self.src[ids].min(0) - reach, self.src[ids].max(0) + reach
        return ((self.src >= lo) & (self.src <= hi)).all(1)[self.tris].any(1)

    def _check_mesh(self) -> None:
        t = self.tris
        key = np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [0, 2]]]), axis=1)
        _, cnt = np.unique(key, axis=0, return_counts=True)
        n_border = int((cnt == 1).sum())
        expected = 4 * self.config.border_points
        if n_border != expected or cnt.max() > 2:
            log.debug("warp mesh: %d open edges (expected %d), max edge use %d", n_border, expected, cnt.max())

    def _locate(self, p: np.ndarray) -> tuple[int, np.ndarray]:
        """Source triangle containing point ``p`` (2,) and its barycentric coordinates."""
        d = self.src[self.tris]
        e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        q = p - d[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            l1 = (q[:, 0] * e2[:, 1] - q[:, 1] * e2[:, 0]) / det
            l2 = (e1[:, 0] * q[:, 1] - e1[:, 1] * q[:, 0]) / det
        l0 = 1 - l1 - l2
        ok = (np.abs(det) > 1e-9) & (l0 >= -1e-6) & (l1 >= -1e-6) & (l2 >= -1e-6)
        if not ok.any():
            return -1, np.zeros(3)
        i = int(np.argmax(ok))
        return i, np.array([l0[i], l1[i], l2[i]])

    def _build_appearance(self, neutral: np.ndarray | None) -> None:
        lm = self.landmarks
        img = self.image
        self.ipd = float(max(np.linalg.norm(lm[468] - lm[473]), np.linalg.norm(lm[33] - lm[263]) * 0.7, 4.0))
        self.steps = lattice_steps(self.config, self.ipd)
        r = max(1, int(self.ipd * 0.04))
        skin = _patch_median(img, lm[[50, 280, 151, 205, 425]], r)
        lip_pts = np.stack([(lm[0] + lm[13]) / 2, (lm[17] + lm[14]) / 2, (lm[37] + lm[82]) / 2, (lm[267] + lm[312]) / 2,
                            (lm[84] + lm[87]) / 2, (lm[314] + lm[317]) / 2])
        lip = _patch_median(img, lip_pts, max(1, r // 2))
        sclera = self._sclera_colour()
        self.skin, self.lip, self.sclera = skin, lip, sclera
        self.src_open = self._opening(lm)
        self.src_mouth_width = float(np.linalg.norm(lm[M.LIPS_INNER_UPPER[-1], :2] - lm[M.LIPS_INNER_UPPER[0], :2]))  # px, inner corners
        self.crops_mouth = self.config.mouth_crop and self.src_open > 1.0  # lips parted in the photo: a narrower mouth shows its middle (mouth_crop)
        own_teeth = self._own_teeth()
        self.mouth_style = MO.make_style(skin, lip, sclera, own_teeth)
        # how far the photo's own teeth may stretch into lips drawn apart (mouth_strength)
        lo, hi = CROWN_OPENING_IPD
        crowns = 0.0 if own_teeth is None else float(smoothstep((self.src_open / self.ipd - lo) / (hi - lo)))
        self.teeth_stretch = self.config.mouth_stretch * crowns
        self.tone = TN.fit_tone(self.image) if self.config.tone else None
        # how blurred the photo's own edges are (Gaussian sigma, source pixels): drawn parts match it
        self.photo_blur = FO.photo_blur(img, lm, self.ipd) if self.config.match_focus else FO.RESAMPLE_SIGMA
        if FO.added_blur(self.photo_blur) >= FO.MIN_BLUR:
            log.info("soft photo (edges blurred %.1f px): the drawn mouth parts are blurred to match "
                     "(RenderConfig(match_focus=False) to turn off)", self.photo_blur)
        if self.tone is not None:
            log.info("monochrome portrait: the mouth interior, lip line and creases are drawn in its tone")
        # the upper teeth hang from the lips' contact line at rest: the neutralised face's, since a
        # photo's open mouth has its upper lip raised and its jaw dropped (obama2_0's laugh: the
        # middle of its opening lies 0.14 IPD below, and a laugh showed a tall band of gum)
        rest = lm if neutral is None else neutral
        self.upper_anchor = (rest[13, :2] + rest[14, :2]) / 2.0
        self.rest_chin = rest[M.CHIN, :2]  # the jaw's opening is measured from here
        # the photo's yaw: its IPD is foreshortened by cos(yaw); the mouth interior is sized on the true one
        self.src_sin_yaw = sin_yaw(self.landmarks3) if self.landmarks3 is not None else 0.0
        self.ipd_true = self.ipd / float(np.sqrt(1.0 - min(self.src_sin_yaw ** 2, 0.5)))
        self.mouth_clean = self._build_mouth_clean() if self.src_open > 1.0 else None
        self.src_lift = self._corner_lift(lm, Similarity.identity())
        self.src_brow_gap = WR.brow_gap(lm, self.ipd)
        self.src_brow_height = WR.brow_height(lm, self.ipd)
        self.src_cheek_rise = WR.cheek_rise(lm, self.ipd)
        self.src_nasal_rise = WR.nasal_wall_rise(lm, self.ipd)
        # spectacles: the mesh warps a face plate with the frame inpainted; the frame is drawn
        # on top, moved by the head's rigid motion only (see overlay)
        self.glasses = GL.detect(img, lm, self.ipd) if self.config.glasses else None
        self.plate = GL.face_plate(img, self.glasses, self.ipd) if self.glasses is not None else img
        self.plate_mips = MipLevels(self.plate)  # prefiltered copies where a frame squeezes the skin
        if self.glasses is not None:
            log.info("glasses found: the frame moves with the head only (--no-glasses / RenderConfig(glasses=False) to turn off)")
        self._build_fold_plate()
        self.side_band = SB.build_side_band(self.plate, lm, self.ipd) if self.config.side_fill else None
        # eyes: clean plate and iris textures
        self.clean = img.copy()
        self.eyes: list[E.EyeModel] = []
        # an eye that shows too little white of its own is given the other eye's (paint_out_iris)
        windows = [E.eye_window(img, lm, *ids) for ids in M.EYES]  # analysed once, used twice
        whites = [E.sclera_sample(w) for w in windows]
        for (up, lo, iris), other, win in zip(M.EYES, whites[::-1], windows):
            tri, bary = self._locate(lm[iris[0]])
            self.eyes.append(E.build_eye(img, lm, up, lo, iris, self.clean, tri, bary, other, win))
        self.lids = [E.build_lid(img, lm, up, lo, brow, self.ipd) for up, lo, brow in
                     ((M.RIGHT_EYE_UPPER, M.RIGHT_EYE_LOWER, M.RIGHT_BROW_LOWER), (M.LEFT_EYE_UPPER, M.LEFT_EYE_LOWER, M.LEFT_BROW_LOWER))]
        # an eye behind dark lenses gets neither a painted lid nor a moved iris, and the lens over it
        # does not bend: the mesh points round that eye move with the head only (target_vertices)
        hidden = [E.eye_hidden(img, lm, lid, cheek, self.ipd) for lid, cheek in zip(self.lids, M.CHEEKS_BELOW_EYES)]
        if any(hidden):
            log.info("eyes hidden behind dark lenses: %s (their lids and irises are not drawn)",
                     ", ".join(side for side, h in zip(("right", "left"), hidden) if h))
        self.pinned = np.concatenate([np.zeros(0, np.int64)] + [E.eye_region_ids(lm, lid, self.ipd)
                                                                for lid, h in zip(self.lids, hidden) if h])
        if self.glasses is not None and any(hidden):
            self.plate = self.plate.copy()
            for lid, h in zip(self.lids, hidden):
                if h:
                    E.keep_lens(self.plate, img, lm, lid, self.ipd)
            self.plate_mips = MipLevels(self.plate)
        self.eyes = [eye for eye, h in zip(self.eyes, hidden) if not h]
        self.lids = [lid for lid, h in zip(self.lids, hidden) if not h]

    def _build_mouth_clean(self) -> _MouthSeal:
        """The portrait's open mouth painted shut, over a window around the lips: its interior
        (teeth, dark corners) painted with lip, each column of the opening blending from the upper
        lip's colour into the lower lip's; with the painted pixels' feathered mask."""
        lm = self.landmarks
        win = points_region(lm[list(M.LIPS_OUTER)], self.W, self.H, pad=int(0.1 * self.ipd) + 3)
        py, px = np.mgrid[win.y0 : win.y1, win.x0 : win.x1].astype(np.float32)
        inner, _, _, _ = between_chains_alpha(lm[list(M.LIPS_INNER_UPPER)], lm[list(M.LIPS_INNER_LOWER)], px, py, 1.5)
        outer, _, _, _ = between_chains_alpha(lm[list(M.LIPS_OUTER_UPPER)], lm[list(M.LIPS_OUTER_LOWER)], px, py, 1.0)
        patch = self.image[win.slices()]
        f = patch.astype(np.float32)
        lum = f.mean(2)
        sat = f.max(2) - f.min(2)
        lip_lum = float(self.lip.mean())
        lip_sat = float(self.lip.max() - self.lip.min())
        odd = (lum < 0.5 * lip_lum) | ((lum > 0.95 * lip_lum) & (sat < 0.6 * lip_sat))
        # teeth and shadow that spill past the inner contour, but only next to the opening: a lip in
        # shade or with a sheen further out is lip, and stays (inpainted it became a flat grey band)
        opening = (inner > 0.01).astype(np.uint8)
        k = 2 * max(2, int(round(self.config.mouth_clean_reach_ipd * self.ipd))) + 1
        near = cv2.dilate(opening, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
        mask = ((opening > 0) | ((outer > 0.5) & odd & near)).astype(np.uint8)
        # the shaded ring along the opening's edge goes too (a Telea fill carried it inwards as a dotted
        # dark outline of the old opening); each column then blends the lip above into the lip below
        e = max(1, int(round(0.015 * self.ipd)))
        ring = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * e + 1, 2 * e + 1))
        mask = cv2.dilate(mask, ring)
        fill = _fill_columns(f, mask > 0, max(1.0, 0.03 * self.ipd))
        plate = np.clip(fill + 0.5, 0, 255).astype(np.uint8)
        feathered = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.0)
        return _MouthSeal(win, MipLevels(plate), feathered)

    def _between(self, upper: np.ndarray, lower: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The photo's pixels well inside the opening between two chains (upper, lower: (K, 2)
        pixels, e.g. an eye's lids or the inner lips): (P, 3) float32 RGB and their (P,) x, y."""
        reg = points_region(np.concatenate([upper, lower]), self.W, self.H)
        if reg.empty:
            return np.zeros((0, 3), np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32)
        py, px = np.mgrid[reg.y0 : reg.y1, reg.x0 : reg.x1].astype(np.float32)
        a, _, _, _ = between_chains_alpha(upper, lower, px, py)
        sel = a > 0.9
        return self.image[reg.slices()][sel].astype(np.float32), px[sel], py[sel]

    def _sclera_colour(self) -> np.ndarray | None:
        lm = self.landmarks
        vals = []
        for up, lo, iris in M.EYES:
            pix, px, py = self._between(lm[list(up)], lm[list(lo)])
            rr = E.iris_radius(lm, iris)
            vals.append(pix[np.hypot(px - lm[iris[0], 0], py - lm[iris[0], 1]) > rr * 1.15])
        if sum(len(v) for v in vals) < 4:
            return None
        v = np.concatenate(vals)
        lum = v.mean(1)
        bright = v[lum >= np.percentile(lum, 60)]
        return np.median(bright, 0)

    def _own_teeth(self) -> np.ndarray | None:
        """Colour (3,) RGB of the teeth the photo shows between its inner lips (mouth.tooth_pixels),
        their hue the front teeth's (mouth.front_teeth_colour) at the luma of their 90th percentile.
        None when it shows too few (under 30 pixels or 8 % of the opening)."""
        lm = self.landmarks
        if self.src_open <= 1.0:
            return None
        pix, _, _ = self._between(lm[list(M.LIPS_INNER_UPPER)], lm[list(M.LIPS_INNER_LOWER)])
        if len(pix) < 30:
            return None
        teeth, luma = MO.tooth_pixels(pix)
        if len(teeth) < max(30, 0.08 * len(pix)):
            return None
        hue = MO.front_teeth_colour(teeth, luma)
        return (hue * (np.percentile(luma, 90) / max(float(hue @ MO.LUMA), 1.0))).astype(np.float32)

    @staticmethod
    def _opening(lm: np.ndarray) -> float:
        u = lm[list(M.LIPS_INNER_UPPER[1:-1]), :2]
        low = lm[list(M.LIPS_INNER_LOWER[1:-1]), :2]
        return float(np.max(np.linalg.norm(low - u, axis=1)))

    # ------------------------------------------------------------------ per frame
    def target_vertices(self, landmarks: np.ndarray) -> tuple[np.ndarray, Similarity]:
        """Warp-mesh vertices for target landmarks (478, 2|3): (V, 2) pixels and the head motion."""
        t = np.asarray(landmarks, dtype=np.float64)[:, :2]
        anchors = list(M.POSE_ANCHORS)
        head = fit_similarity(self.landmarks[anchors], t[anchors])
        dst = self.src.copy()
        dst[: self.n_face] = t[: self.n_face]
        if len(self.pinned):  # eyes behind dark lenses: the lens moves with the head only
            dst[self.pinned] = head.apply(self.landmarks[self.pinned])
        src_o = self.landmarks[: self.n_face]
        rigid_o = np.zeros_like(src_o)
        gate = 0.0
        if not head.is_identity():
            sup = self.src[self.sup0 :]
            rigid_o = head.apply(src_o) - src_o
            # the outline's non-rigid motion reaches the support points only while the head really
            # moves (expressions alone never move the background), apart from the chin carry below
            gate = float(np.clip((np.abs(rigid_o).max() - 0.5) / 1.5, 0.0, 1.0))
            if gate > 0.0:
                self._outline_to_silhouette(dst, gate)
            dst[self.sup0 :] = sup + self.follow[:, None] * (head.apply(sup) - sup)
        # non-rigid residual of the outline: its motion minus what the rigid fit explains; a jaw drop
        # carries the skin under the chin's landmarks (``carry``), so the chin's edge moves with them
        k = np.minimum(gate * self.follow + self.carry, 1.0)
        if k.any():
            resid = (dst[: self.n_face] - src_o) - rigid_o
            dst[self.sup0 :] += k[:, None] * self._on_outline(resid)
        self._keep_support_outside(dst)
        self._place_lip_fringe(dst, head.scale)
        dst[self.hole0 : self.sup0] = dst[self.hole_of]  # the hole's edge is the lips' inner edge
        return dst, head

    def frame_src(self, landmarks: np.ndarray, head: Similarity) -> np.ndarray:
        """Source positions (V, 2) pixels of the warp mesh's vertices for a frame at target landmarks
        (478, 2|3) with head motion ``head``: the rest ones (``src``, the same array), but for the
        mouth hole's ring while the target mouth is narrower than the photo's open one
        (:meth:`mouth_crop`): it then samples the middle of the photo's opening (_crop_opening)."""
        return self._src_at(self.mouth_crop(landmarks, head))

    def _src_at(self, r: float) -> np.ndarray:
        """:meth:`frame_src` for a mouth crop ``r`` (:meth:`mouth_crop`)."""
        if r >= 1.0:
            return self.src
        src = self.src.copy()
        src[self.hole0 : self.sup0] = _crop_opening(self.src[self.hole0 : self.sup0], *self.hole_chains, r)
        return src

    def mouth_crop(self, landmarks: np.ndarray, head: Similarity) -> float:
        """Share (0, 1] of the photo's mouth opening, across, that a frame at target landmarks
        (478, 2|3) shows: its mouth's corner-to-corner width over the photo's, head pose taken out
        (:meth:`unposed`), when narrower; 1 when not, or when the photo's lips are closed.

        The teeth do not narrow with the lips: lips drawn together over them (AU23, AU18, a smile
        taken away) hide the side teeth and the dark corridors beside them, and the front teeth
        keep their width. Stretched whole into the narrower mouth, the photo's corridors became
        black wedges at the corners (an angry face on a toothy smile, where AU10 raises the upper
        lip beside them)."""
        return self._mouth_crop(*self.unposed(landmarks, head)) if self.crops_mouth else 1.0

    def _mouth_crop(self, unposed: np.ndarray, unposed_ipd: float) -> float:
        """:meth:`mouth_crop` from :meth:`unposed`'s landmarks and IPD."""
        if not self.crops_mouth:
            return 1.0
        a, b = M.LIPS_INNER_UPPER[0], M.LIPS_INNER_UPPER[-1]
        width = float(np.linalg.norm(unposed[b] - unposed[a])) * self.ipd / max(unposed_ipd, 1e-9)
        return float(np.clip(width / max(self.src_mouth_width, 1e-9), 1e-3, 1.0))

    def _place_lip_fringe(self, dst: np.ndarray, scale: float) -> None:
        """The rows outside the lips (:func:`lip_fringe_split`), in place on ``dst`` (V, 2): each
        vertex on its edge from the lip, LIP_FRINGE_KEEP of the way out while the edge is no longer
        than in the photo (times the head's ``scale``); on a stretched edge, that part keeps its
        photo length and the rest, plain skin, takes the stretch."""
        a, b = dst[self.rungs[:, 0]], dst[self.rungs[:, 1]]
        now = np.hypot(*(b - a).T)
        g = LIP_FRINGE_KEEP * np.minimum(1.0, self.rung_len * scale / np.maximum(now, 1e-9))
        dst[M.N_MESH : self.hole0] = a + g[:, None] * (b - a)

    def _on_outline(self, x: np.ndarray) -> np.ndarray:
        """Per-vertex values ``x`` (N, k), N >= n_face, interpolated at each support point's place on the
        face outline (between outline vertices sup_i0 and sup_i1, fraction sup_f): (S, k)."""
        f = self.sup_f[:, None]
        return (1 - f) * x[self.sup_i0] + f * x[self.sup_i1]

    def _keep_support_outside(self, dst: np.ndarray) -> None:
        """Support points (rings) keep at least ``support_min_gap`` of their rest distance outside
        the face outline, measured along their rest direction from it, in place on ``dst`` (V, 2).

        Expressions leave the background still, but a jaw drop moves the chin 30-50 px: past the
        first ring, the triangles of the neck band would turn inside out and leave unmapped pixels
        (a stepped dark seam under the chin). Pushed, the band compresses instead (and the
        prefiltered remap keeps the compressed texture smooth). Border points never move.
        """
        n0 = self.sup0
        now = np.einsum("ij,ij->i", dst[n0:] - self._on_outline(dst), self.sup_out)
        need = self.config.support_min_gap * self.sup_gap
        short = self.on_ring & (now < need)
        if short.any():
            dst[n0:][short] += (need - now)[short, None] * self.sup_out[short]

    def _outline_to_silhouette(self, dst: np.ndarray, amount: float = 1.0) -> None:
        """Where a turned head's own face points reach past its frontal outline (the cheek becomes
        the silhouette on the side turning away, while the outline vertices rotate behind it),
        move the outline vertices out to that silhouette, in place on ``dst`` (V, 2).

        The outline is the boundary between the face and the support mesh around it (hair,
        background): left inside the silhouette, the background band would be squeezed into a hard
        line across the cheek. Radial extent per outline vertex: the farthest face point from the
        face centre within half an outline spacing of its direction (vectorised, no loops).
        Only the reach beyond the photo's own counts (``src_reach``, scaled with the face): in a
        face turned in its photo the nose already stands past the far outline, and the band next
        to it holds the nose; moved out to the nose, the outline dragged that band along (a
        ghost nose beside the face at any head motion).
        ``amount`` in [0, 1] blends the move in (the renderer's head-motion gate).
        """
        ids = np.asarray(M.FACE_OVAL)
        c, unit, rad, reach = _silhouette_reach(dst[: self.n_face])
        own = self.src_reach * (rad.mean() / max(float(self.src_oval_radius), 1e-6))
        grow = reach - own > rad + 0.25
        if grow.any():
            out = c + unit[grow] * (reach - own)[grow, None]
            dst[ids[grow]] += amount * (out - dst[ids[grow]])

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        """One frame: target landmarks (478, 2|3) pixels -> (H, W, 3) uint8 RGB."""
        lm = np.asarray(landmarks, dtype=np.float64)
        if lm.ndim != 2 or lm.shape[0] != M.N_LANDMARKS or lm.shape[1] not in (2, 3):
            raise InputError(f"expected (478, 2|3) landmarks, got shape {lm.shape}")
        if not np.isfinite(lm).all():
            raise InputError("target landmarks contain NaN or infinity")
        region, mx, my, dst, head, work = self._maps(lm)
        out = self.image.copy()
        if mx is not None:
            out[region.slices()] = remap_filtered(self.plate, mx, my, self.plate_mips, self.steps.probe)
        self.overlay(out, lm, region, mx, my, dst, head, work)
        return out

    def maps(self, landmarks: np.ndarray) -> tuple[Region, np.ndarray | None, np.ndarray | None, np.ndarray, Similarity]:
        """The warp of one frame: (region, mapx, mapy, mesh vertices (V, 2), head motion).

        mapx/mapy are (h, w) float32 source positions for the region's pixels (None when nothing
        moved); pixels outside the region are the source pixels themselves.
        """
        return self._maps(landmarks)[:5]

    def _maps(self, landmarks: np.ndarray) -> tuple[Region, np.ndarray | None, np.ndarray | None, np.ndarray, Similarity,
                                                    _FrameWork]:
        """:meth:`maps`, and what :meth:`overlay` needs of it (the squeezed eyes, the unposed face)."""
        lm = np.asarray(landmarks, dtype=np.float64)
        t = lm[:, :2]
        dst, head = self.target_vertices(t)
        unposed = self.unposed(lm, head)
        src = self._src_at(self._mouth_crop(*unposed))
        moved_v = np.hypot(*(dst - src).T) > self.config.move_eps
        moved_t = moved_v[self.tris].any(1)
        order = self.paint_order(lm[:, 2] if lm.shape[1] > 2 else None)
        sel = order[moved_t[order]]
        mt = self.tris[sel]
        if not len(mt):
            return Region(0, 0, 0, 0), None, None, dst, head, _FrameWork([], unposed)
        region = points_region(dst[np.unique(mt)], self.W, self.H)
        if region.empty:
            return region, None, None, dst, head, _FrameWork([], unposed)
        step, outer = self.steps.fine, self.steps.outer
        if outer > step and moved_t[self.n_inner_tris :].any():
            # support triangles move (head motion, or the face outline pulling on them): their
            # map is smooth (large triangles), so it is evaluated on a coarser lattice and the
            # face window is redone at the fine step. The coarse pass leaves the face's own
            # triangles out: they lie inside that window, more than one lattice step from its
            # edge (pad), so no coarse lattice point the frame keeps can fall on one.
            pad = 2 * outer
            mx, my = backward_map(dst, src, mt[sel >= self.n_inner_tris], region, outer)
            face = points_region(dst[: self.n_face], self.W, self.H, pad=pad)
            _paste_map(mx, my, region, face, dst, src, mt, step)
        else:
            mx, my = backward_map(dst, src, mt, region, step)
        eyes = self.eye_windows(dst, order)
        if step > self.steps.lips:
            lips = self.lips_window(dst)
            if lips is not None:
                _paste_map(mx, my, region, lips, dst, src, mt, self.steps.lips)
            for win, ids in eyes:
                _paste_map(mx, my, region, win, dst, src, self.tris[ids[moved_t[ids]]], self.steps.lips)
        return region, mx, my, dst, head, _FrameWork(eyes, unposed)

    def paint_order(self, depth: np.ndarray | None = None) -> np.ndarray:
        """Indices into ``tris`` in the order they are rasterised (later ones win where triangles
        overlap in the target): the support mesh first (it lies behind the face), then the face's
        triangles from far to near by the mean depth of their vertices (``depth`` (478,) target z,
        smaller = nearer the camera; the portrait's own when None). A face turned in its photo
        overlaps itself (the far cheek behind the nose); drawn in index order, hidden triangles
        could land on top of the nose and tear it (painter's algorithm: Newell, Newell & Sancha 1972)."""
        z = self.depth if depth is None else np.asarray(depth, np.float64)
        if z is None or not np.isfinite(z).all():
            return self._index_order
        far_first = np.argsort(-self.mesh_depth(z)[self.tris[: self.n_inner_tris]].mean(1), kind="stable")
        return np.concatenate([self._outer_ids, far_first])

    def mesh_depth(self, depth: np.ndarray) -> np.ndarray:
        """Depth of the face's mesh vertices (the face mesh's, then the rows outside the lips,
        :func:`lip_fringe_split`, then the mouth hole's copy of the inner lip ring): (sup0,) from landmark
        depth ``depth`` (478,)."""
        z = np.asarray(depth, np.float64)
        return np.concatenate([z[: M.N_MESH], _fringe_rest(z, self.rungs), z[self.hole_of]])

    def _moved_box(self, dst: np.ndarray, ids: np.ndarray) -> Region | None:
        """The target box of mesh vertices ``ids`` (padded by a lattice step) when one of them
        moved, else None."""
        if not np.any(np.hypot(*(dst[ids] - self.src[ids]).T) > self.config.move_eps):
            return None
        win = points_region(dst[ids], self.W, self.H, pad=self.steps.probe + 1)
        return None if win.empty else win

    def lips_window(self, dst: np.ndarray) -> Region | None:
        """Where the map is evaluated exactly (every pixel) for mesh vertices ``dst`` (V, 2): the
        target lips' box when a lip vertex moved, else None.

        The mouth-hole ladder collapses when a toothy photo's mouth closes, so the map jumps from
        upper to lower lip across a line of zero width; a lattice interpolated between a vertex on
        each side samples the teeth in between, in 2-px stair steps along the stomion."""
        return self._moved_box(dst, self._lip_ids)

    def eye_windows(self, dst: np.ndarray, order: np.ndarray | None = None) -> list[tuple[Region, np.ndarray]]:
        """The eyes whose lids the warp squeezes (a triangle round them minified by SQUEEZE_START or
        more, or folded) for mesh vertices ``dst`` (V, 2): each one's target box (lid chains, padded
        by a lattice step) and the ids of the triangles round it (into ``tris``), in paint ``order``
        (:meth:`paint_order`; the photo's own when None).

        An eye narrowed to a slit (AU7, AU4 with AU5, a blink on its way) squeezes its lid margin
        and lashes into a sliver; the map jumps across it, and the lattice drew it as a dark line
        broken into 2-px stair steps. These boxes are mapped exactly (:meth:`maps`) and their
        squeezed pixels supersampled (:meth:`overlay`); an eye that only moves keeps the lattice."""
        out = []
        for ids, near in zip(self._eye_ids, self._eye_tris):
            win = self._moved_box(dst, ids)
            if win is not None and squeeze(dst, self.src, cull(dst, self.tris[near], win, pad=2)) >= SQUEEZE_START:
                order = self.paint_order() if order is None else order
                out.append((win, order[np.isin(order, near)]))
        return out

    def exact_windows(self, dst: np.ndarray) -> list[Region]:
        """Windows whose backward map is evaluated at every pixel, not on the lattice: the lips'
        box (:meth:`lips_window`) and the squeezed eyes' (:meth:`eye_windows`)."""
        lips = self.lips_window(dst)
        return ([lips] if lips is not None else []) + [win for win, _ in self.eye_windows(dst)]

    def overlay(self, out: np.ndarray, landmarks: np.ndarray, region: Region, mx: np.ndarray | None,
                my: np.ndarray | None, dst: np.ndarray, head: Similarity, known: _FrameWork | None = None) -> None:
        """Draw the supersampled slits of narrowed eyes, the refilled side band (head turns), mouth
        interior, moved irises, closing lids and a rigid glasses frame onto a warped frame (in place).
        known: what :meth:`_maps` measured of this frame (the squeezed eyes, the unposed face), when it ran."""
        lm = np.asarray(landmarks, dtype=np.float64)  # (478, 2|3)
        t = lm[:, :2]
        if self.config.eye_supersample > 1:
            eyes = known.eyes if known is not None else self.eye_windows(dst, self.paint_order(lm[:, 2] if lm.shape[1] > 2 else None))
            for win, ids in eyes:
                resample_squeezed(out, self.plate, self.plate_mips, dst, self.src, self.tris[ids], win, self.config.eye_supersample)
        # how far the face moved against the portrait's own (smile removed, crease strengths):
        # measured with the head's pose taken out, so a turn or a nod alone changes none
        m, m_ipd = known.unposed if known is not None else self.unposed(landmarks, head)
        if self.side_band is not None:
            SB.fill_side_band(out, self.side_band, dst, self.src, head, self.ipd)
        crop = self._mouth_crop(m, m_ipd)
        blur = FO.added_blur(self.photo_blur, head.scale)  # drawn parts as soft as the photo's own edges
        if crop < 1.0 and mx is not None:  # the warp showed the middle of the photo's opening (frame_src)
            MO.corridor_relight(out, t[list(M.LIPS_INNER_UPPER)], t[list(M.LIPS_INNER_LOWER)], crop, blur)
        if self.config.mouth:
            closing = self._close_mouth(out, t, head, region, mx, my)
            self._soften_folds(out, t, head, region, mx, my, self._smile_removed_at(m))
            if closing > 0:  # after the cheek plate: its edge at the corners folds with the lips too
                self._antialias_lip_seam(out, t, closing)
                MO.draw_lip_contact(out, t[list(M.LIPS_INNER_UPPER)], t[list(M.LIPS_INNER_LOWER)], self.lip,
                                    self.ipd * head.scale, closing, blur)
            self._draw_mouth(out, lm, head, closing, blur)
        if self.config.wrinkles:  # drawn where the face is now
            ipd = self.ipd * head.scale
            WR.draw_furrows(out, t, ipd, WR.furrow_strength(self.src_brow_gap, m, m_ipd))
            WR.draw_folds(out, t, ipd, WR.fold_strength(self.fold_lift, self._corner_lift(m, Similarity.identity())))
            WR.draw_lines(out, t, ipd, WR.lines_strength(self.src_brow_height, m, m_ipd))
            WR.draw_crows_feet(out, t, ipd, WR.crow_strength(self.src_cheek_rise, m, m_ipd))
            WR.draw_nose_lines(out, t, ipd, WR.nose_strength(self.src_nasal_rise, self.src_cheek_rise, m, m_ipd))
        if self.config.eyes:
            self._draw_eyes(out, t, dst, region, mx, my)
        if self.config.lids:
            for lid in self.lids:
                rest = head.apply(self.landmarks[list(lid.upper_ids)])
                E.draw_lid(out, lid, t, rest, head.scale, self.ipd, blur)
        if self.glasses is not None and mx is not None:  # in front of everything the face did
            GL.composite(out, self.glasses, GL.frame_motion(self.landmarks, t))
        if self.tone is not None:  # every drawn part lies on the face, inside its landmarks' box
            pad = int(0.2 * self.ipd * head.scale) + 2
            self.tone.apply(out, points_region(t, self.W, self.H, pad=pad))

    def render_batch(self, landmarks: np.ndarray) -> np.ndarray:
        """(T, 478, 2|3) pixels -> (T, H, W, 3) uint8."""
        lm = np.asarray(landmarks)
        if lm.ndim != 3:
            raise InputError(f"expected (T, 478, 2|3) landmarks, got shape {lm.shape}")
        out = np.empty((len(lm), self.H, self.W, 3), np.uint8)
        for i in range(len(lm)):  # frames are independent; per-frame work is vectorised
            out[i] = self.render(lm[i])
        return out

    def mouth_strength(self, t: np.ndarray, head: Similarity, closing: float = 0.0) -> float:
        """Opacity of the synthetic interior: 0 until the lips part beyond the portrait's opening.
        Past it, a jaw drop (the chin lower than the photo's by more than the overbite: AU26, 27)
        parts the rows of teeth, which only the drawn interior shows; lips drawn apart over still
        teeth (AU10, a broader smile) show more of the photo's own teeth, stretched, up to
        ``config.mouth_stretch`` more than its opening where it shows their crowns (CROWN_OPENING_IPD;
        bald_guys_9's "very happy", 1.32 x: its own white teeth, not a drawn row). Where the
        lips-only plate covers the portrait's own interior (``closing``, from :meth:`_close_mouth`),
        the target's own parting is drawn as on a closed-mouthed portrait, fully from half way into
        the plate (a laughing photo's AU25 0.4 parted the lips 6 px and showed them shut: the
        plate's lip colour filled the gap)."""
        k = self.ipd * head.scale  # target pixels per IPD
        ramp = max(self.config.mouth_ramp_ipd * k, 1e-6)
        opening = self._opening(t) - self.config.mouth_open_px
        src_open = self.src_open * head.scale
        chin = head.apply(self.landmarks[M.CHIN][None, :2])[0]
        jaw = float((t[M.CHIN, :2] - chin) @ head.R[:, 1]) - self.mouth_style.overbite * k
        stretch = min(max(opening - src_open - max(jaw, 0.0), 0.0), self.teeth_stretch * src_open)
        beyond = (opening - src_open - stretch) / ramp
        return float(np.clip(max(beyond, min(2.0 * closing, 1.0) * min(opening / ramp, 1.0)), 0.0, 1.0))

    def _draw_mouth(self, out: np.ndarray, landmarks: np.ndarray, head: Similarity, closing: float = 0.0,
                    blur: float = 0.0) -> None:
        t = landmarks[:, :2]
        strength = self.mouth_strength(t, head, closing)
        if strength <= 0:
            return
        jaw = t[M.CHIN] - head.apply(self.rest_chin[None])[0]
        # the arch is seen under the target's yaw; 2D targets keep the photo's
        yaw = sin_yaw(landmarks) if landmarks.shape[1] > 2 else self.src_sin_yaw
        MO.render_mouth(out, t[list(M.LIPS_INNER_UPPER)], t[list(M.LIPS_INNER_LOWER)], head, self.upper_anchor,
                        jaw, self.ipd_true, self.mouth_style, strength, yaw, blur)

    def _warp_plate(self, plate: np.ndarray, win: Region, region: Region,
                    mx: np.ndarray | None, my: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``plate`` (an image aligned with the source) warped like this frame over a window, and the
        window's source positions x, y (h, w) float32 it was sampled at (see _window_map)."""
        gx, gy = _window_map(win, region, mx, my)
        return cv2.remap(plate, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), gx, gy

    def unposed(self, landmarks: np.ndarray, head: Similarity) -> tuple[np.ndarray, float]:
        """Target landmarks (478, 2|3) with the head's motion taken out, for measuring how far the
        face moved against the portrait's own: ((478, 2) pixels in the portrait's frame, its IPD).
        With depth on both (3D landmarks, as the rig gives) the 3D similarity of the pose anchors
        (Umeyama 1991) is undone, so a turn or a nod changes no measure; with 2D only, the measures
        use the frame as it is and the IPD scaled by the 2D head motion ``head``."""
        lm = np.asarray(landmarks, dtype=np.float64)
        if self.landmarks3 is None or lm.shape[1] < 3:
            return lm[:, :2], self.ipd * head.scale
        anchors = list(M.POSE_ANCHORS)
        s, r, t = similarity_fit(lm[anchors], self.landmarks3[anchors])
        return apply_similarity(lm, s, r, t)[:, :2], self.ipd

    def _corner_lift(self, lm: np.ndarray, head: Similarity) -> float:
        """Mean height of the lip corners relative to the nose base, in source IPDs (higher = more of
        a smile). The nose base is fixed to the skull, so a jaw drop (which lowers the stomion, not
        the corners) does not read as a smile; compare values of one face only."""
        up = -head.R[:, 1]  # the head's "up" direction in the image
        base = lm[SUBNASALE, :2]
        lift = [float((lm[c, :2] - base) @ up) for c in M.MOUTH_CORNERS]
        return float(np.mean(lift)) / (self.ipd * head.scale)

    def _build_fold_plate(self) -> None:
        """Cheek window with the smile texture removed, and its feathered mask.

        A smiling photo keeps its smile in the texture after the rig lowers the lip corners:
        nasolabial folds, cheek bulges and cheek highlights (FACS AU6/AU12 appearance changes,
        Ekman & Friesen 1978). The plate is a low-frequency version of the cheeks plus their fine
        skin texture at reduced amplitude:

            plate = lowpass_skin(sigma_big) + k * (I - lowpass(sigma_small))

        where lowpass_skin is a normalised convolution (Knutsson & Westin 1993) over skin pixels
        only, so lips, eyes and nostrils never bleed into the cheek. The mask covers both cheeks
        between the nasolabial fold and the lower eyelid (convex hulls of mesh points), minus
        eyes, nose and lips, feathered; plus a soft band along each nasolabial line. Used when a
        target lowers the lip corners below the portrait's own smile (see ``_soften_folds`` and
        ``smile_removed``).
        """
        lm = self.landmarks[:, :2].astype(np.float64)
        ipd = self.ipd
        segs = []
        for ala, corner, sign in ((129, 61, -1.0), (358, 291, 1.0)):
            lateral = np.array([sign * 0.06 * ipd, 0.0])
            segs.append((lm[ala] + lateral * 0.5, lm[corner] + lateral + np.array([0.0, 0.08 * ipd])))
        cheeks = [lm[list(ids)] for ids in _CHEEK_HULLS]
        pts = np.concatenate([np.stack(sg) for sg in segs] + cheeks)
        win = points_region(pts, self.W, self.H, pad=int(0.3 * ipd) + 3)
        self.fold_win = win
        self.fold_plate = None
        if win.empty or win.shape[0] < 4 or win.shape[1] < 4:
            return
        py, px = np.mgrid[win.y0 : win.y1, win.x0 : win.x1].astype(np.float32)
        band = np.zeros(px.shape, np.float32)
        for a, b in segs:
            ab = b - a
            tt = np.clip(((px - a[0]) * ab[0] + (py - a[1]) * ab[1]) / max(float(ab @ ab), 1e-6), 0, 1)
            d = np.hypot(px - (a[0] + tt * ab[0]), py - (a[1] + tt * ab[1]))
            band = np.maximum(band, np.exp(-((d / (0.08 * ipd)) ** 2)))
        off = np.array([win.x0, win.y0], np.float64)
        hull = hull_mask(px.shape, *(c - off for c in cheeks))
        # kept out of the cheek mask
        lips = hull_mask(px.shape, lm[list(M.LIPS_OUTER)] - off)
        excl = lips | hull_mask(px.shape, *(lm[list(ids)] - off for ids in (M.RIGHT_EYE, M.LEFT_EYE, M.NOSE_HULL)))
        k = 2 * max(1, int(0.05 * ipd)) + 1
        excl = cv2.dilate(excl, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        feather = max(0.05 * ipd, 1.0)
        keep = 1.0 - smooth(excl.astype(np.float32), feather)  # wide on a big photo: scaled-down blur
        cheek = smooth(hull.astype(np.float32), feather) * keep
        mask = np.clip(np.maximum(band * np.clip(keep * 1.5, 0, 1), cheek), 0.0, 1.0)
        patch = self.image[win.slices()].astype(np.float32)
        skin_w = ((1 - excl) * (hull | (band > 0.3))).astype(np.float32) + 1e-3
        sig_big = max(self.config.cheek_sigma_ipd * ipd, 1.5)
        low, _ = normalized_blur(patch, skin_w, sig_big)
        small = cv2.GaussianBlur(patch, (0, 0), max(0.02 * ipd, 0.6))
        plate = np.clip(low + self.config.cheek_texture * (patch - small), 0, 255)
        # strong local structures (glasses rims, hair strands, moles) are no smile folds: keep them
        dev = np.abs(small - low).max(2)
        keep_edges = np.clip(1.0 - (dev - self.config.cheek_edge) / self.config.cheek_edge, 0.0, 1.0)
        mask *= cv2.GaussianBlur(keep_edges, (0, 0), max(0.02 * ipd, 0.6))
        # at the lip corners a smile's crease is itself the strongest structure: no edge is kept there
        mask = np.maximum(mask, self._commissure_mask(px, py, lips))
        self.fold_plate = np.dstack([plate, mask]).astype(np.float32)

    def _commissure_mask(self, px: np.ndarray, py: np.ndarray, lips: np.ndarray) -> np.ndarray:
        """(h, w) float32 in [0, 1]: the skin just lateral to each lip corner, outside the lips.

        A smile creases it (the commissure's dimple and the lower end of the nasolabial furrow:
        FACS AU12 appearance changes, Ekman, Friesen & Hager 2002). When the mouth narrows back, the
        warp draws those creases out along the new, narrower lips as a dark bracket on each side;
        the smile-free plate replaces them. Flat to ``commissure_ipd`` from the corner, then a
        Gaussian fade; 1-2 px feather at the lips' outline (``lips``: (h, w) uint8 hull of the outer
        lip contour on the same pixels) so the lips stay."""
        lm = self.landmarks
        r = max(self.config.commissure_ipd * self.ipd, 1.0)
        corners = np.zeros(px.shape, np.float32)
        for ci in M.MOUTH_CORNERS:
            d = np.hypot(px - lm[ci, 0], py - lm[ci, 1])
            corners = np.maximum(corners, np.exp(-(np.maximum(d - r, 0.0) / (0.5 * r)) ** 2))
        return corners * (1.0 - np.clip(cv2.GaussianBlur(lips.astype(np.float32), (0, 0), 1.0) * 2.0, 0.0, 1.0))

    def _soften_folds(self, out: np.ndarray, t: np.ndarray, head: Similarity, region: Region,
                      mx: np.ndarray | None, my: np.ndarray | None, w: float) -> None:
        """Fade the portrait's smile texture as far as the target lowers its lip corners: the plate at
        opacity ``w`` (:meth:`smile_removed`)."""
        if self.fold_plate is None:
            return
        if w <= 0.02:
            return
        fw = self.fold_win
        # target window: where the warp moves the cheeks and fold band (their mesh points), padded
        win = points_region(t[_CHEEK_IDS], self.W, self.H, pad=int(0.3 * self.ipd) + 3)
        if win.empty:
            return
        x0, y0, x1, y1 = win.x0, win.y0, win.x1, win.y1
        gx, gy = _window_map(win, region, mx, my)
        warped = cv2.remap(self.fold_plate, gx - float(fw.x0), gy - float(fw.y0), cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        a = warped[..., 3:4] * w
        cur = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = np.clip(cur * (1 - a) + warped[..., :3] * a + 0.5, 0, 255).astype(np.uint8)

    def _own_smile_lift(self, neutral: np.ndarray | None) -> float:
        """How far (IPDs) the photo's own smile lifts its lip corners: its corner lift minus that of
        the ``neutral``ised face (:func:`_rest_landmarks`); negative where the photo's corners sit
        lower than the neutralised face's (a mouth open wide). No neutral face: no limit (inf)."""
        if neutral is None:
            return float("inf")
        lift = self.src_lift - self._corner_lift(neutral, Similarity.identity())
        return lift if np.isfinite(lift) else float("inf")

    def smile_removed(self, landmarks: np.ndarray, head: Similarity | None = None) -> float:
        """Opacity in [0, cheek_max] of the smile-free cheek plate for target landmarks (478, 2|3).

        Proportional to how far the target's lip corners sit below the portrait's own (in IPDs),
        up to as far as the photo's own smile lifted them (``own_smile``), full at
        ``cheek_ramp_ipd``; 0 when the target keeps or adds a smile. A frown on an unsmiling face
        keeps its folds: they are the person's (age, build), not a smile's.
        """
        t = np.asarray(landmarks, dtype=np.float64)[:, :2]
        if head is None:
            head = fit_similarity(self.landmarks[list(M.POSE_ANCHORS)], t[list(M.POSE_ANCHORS)])
        return self._smile_removed_at(self.unposed(landmarks, head)[0])

    def _smile_removed_at(self, unposed: np.ndarray) -> float:
        """:meth:`smile_removed` for landmarks already in the portrait's frame (:meth:`unposed`)."""
        removed = min(self.src_lift - self._corner_lift(unposed, Similarity.identity()), self.own_smile)
        c = self.config
        return float(np.clip(removed / max(c.cheek_ramp_ipd, 1e-6), 0.0, 1.0)) * c.cheek_max

    def _close_mouth(self, out: np.ndarray, t: np.ndarray, head: Similarity, region: Region,
                     mx: np.ndarray | None, my: np.ndarray | None) -> float:
        """Where the target closes the portrait's own open mouth, show the lips-only plate. Returns
        how far it closes (0: not at all, 1: fully), for the seam and contact line drawn after."""
        if self.mouth_clean is None:
            return 0.0
        src_open = self.src_open * head.scale
        # the portrait's own interior (its real teeth) squeezed reads well down to ~40 % of its
        # opening; below that the lips-only plate takes over, fully by 10 %
        ratio = self._opening(t) / max(src_open, 1e-6)
        closing = float(np.clip((0.4 - ratio) / 0.3, 0.0, 1.0))
        if closing <= 0:
            return 0.0
        lips = t[list(M.LIPS_OUTER)]
        win = points_region(lips, self.W, self.H, pad=int(0.08 * self.ipd) + 2)
        if win.empty:
            return 0.0
        seal = self.mouth_clean
        gx, gy = _window_map(win, region, mx, my)
        gx, gy = gx - float(seal.win.x0), gy - float(seal.win.y0)
        # sampled as the frame samples the portrait (prefiltered where the closing lips squeeze it),
        # and only where something was painted: elsewhere the frame's own pixels stay, no window edge
        clean = remap_filtered(seal.levels.plate, gx, gy, seal.levels, self.steps.probe)
        a = closing * cv2.remap(seal.mask, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        cur = out[win.slices()].astype(np.float32)
        cur += a[..., None] * (clean.astype(np.float32) - cur)
        self._tone_lower_lip(cur, t, win, closing)
        self._shade_upper_lip(cur, t, win, closing)
        out[win.slices()] = np.clip(cur + 0.5, 0, 255).astype(np.uint8)
        return closing

    def _antialias_lip_seam(self, out: np.ndarray, t: np.ndarray, closing: float) -> None:
        """Anti-alias the closed lips' meeting line, in place on the frame ``out``.

        Where the target closes the portrait's open mouth, the backward map folds: the pixels just
        above the meeting line sample the upper lip, those just below the lower lip, and everything
        the photo had between them (teeth, the seal plate's blend) is squeezed to nothing. Each pixel
        samples one side, so the line came out as a hard pixel staircase (0.5-2 px steps where the
        line slopes, most visible at a sad mouth's lowered corners). A narrow band along the line is
        blended with a copy blurred across it (vertically: the line is within ~40 deg of horizontal).
        The smile-free cheek plate's edge beside the corners folds the same way, so this runs after it.
        """
        mid = 0.5 * (t[list(M.LIPS_INNER_UPPER), :2] + t[list(M.LIPS_INNER_LOWER), :2])
        h = SEAM_SOFT_HALF_PX
        win = points_region(np.concatenate([mid - [0.0, h], mid + [0.0, h]]), self.W, self.H, pad=3)
        if win.empty:
            return
        py, px = np.mgrid[win.y0 : win.y1, win.x0 : win.x1].astype(np.float32)
        band, _, _, _ = between_chains_alpha(mid - [0.0, h], mid + [0.0, h], px, py, feather=1.0)
        a = band * np.float32(closing)
        if float(a.max()) <= 0.0:
            return
        patch = out[win.slices()].astype(np.float32)
        soft = cv2.GaussianBlur(patch, (1, 0), sigmaX=0.1, sigmaY=SEAM_SOFT_SIGMA_PX)
        out[win.slices()] = np.clip(patch + a[..., None] * (soft - patch) + 0.5, 0, 255).astype(np.uint8)

    def _lip_band(self, t: np.ndarray, win: Region, upper: bool) -> tuple[np.ndarray, ...]:
        """:func:`between_chains_alpha` over the pixels of ``win`` for the red of the upper or lower lip
        of target landmarks ``t`` (478, 2+): between its outer border and its inner edge, the inner
        edge ending at the outer corners (one pair of corners), feathered over max(1.2 px, 0.02 IPD).
        Returns (alpha, distance below the upper chain, distance above the lower chain, gap)."""
        py, px = np.mgrid[win.y0 : win.y1, win.x0 : win.x1].astype(np.float32)
        outer = t[list(M.LIPS_OUTER_UPPER if upper else M.LIPS_OUTER_LOWER), :2]
        inner = t[list(M.LIPS_INNER_UPPER if upper else M.LIPS_INNER_LOWER), :2]
        inner = np.concatenate([outer[:1], inner[1:-1], outer[-1:]])
        chains = (outer, inner) if upper else (inner, outer)  # the upper chain first
        return between_chains_alpha(*chains, px, py, feather=max(1.2, 0.02 * self.ipd))

    def _shade_upper_lip(self, patch: np.ndarray, t: np.ndarray, win: Region, closing: float) -> None:
        """Shade a closed upper lip darker and redder toward the lips' meeting line, in place on
        ``patch`` (float32 RGB).

        A closed upper lip turns down toward its lower edge, into the lower lip's shadow. On 32
        closed-mouth photos (registry and bundled; medians over six bands from the border to the
        line) its brightness relative to the lower lip's falls from 0.82 to 0.50 while its red/green
        ratio rises from 1.69 to 2.54, so its saturation stays near the lower lip's (0.97 -> 0.92).
        A toothy smile's upper lip is stretched thin and lit evenly; closing the mouth stretches
        that band back over the whole lip, flat (0.83 -> 0.69, red/green 1.65 -> 1.77): a grey,
        translucent-looking band above the line. Each channel c of a pixel is scaled by
        1 - shade_c * v^2, v the fraction of the way from the lip's border (0) to the line (1), so
        the pixel's own texture stays.
        """
        shade = np.asarray(self.config.upper_lip_shade, np.float32) * np.float32(closing)
        if float(shade.max()) <= 0.0:
            return
        band, below, _, gap = self._lip_band(t, win, upper=True)
        v = np.clip(below / np.maximum(gap, 1e-3), 0.0, 1.0)
        patch *= 1.0 - (band * v * v)[..., None] * shade

    def _tone_lower_lip(self, patch: np.ndarray, t: np.ndarray, win: Region, closing: float) -> None:
        """Give a closed lower lip the portrait's lip colour, in place on ``patch`` (float32 RGB).

        A smile with teeth stretches the lower lip into a thin, often sheen-bright band; closing the
        mouth stretches that band back over the whole lower lip, where it reads as skin (no visible
        vermilion). The lip's chroma (ratio of each channel to its mean, from the portrait's lip
        colour) is put back while each pixel keeps its own brightness, so shading and the sheen stay.
        """
        band, _, _, _ = self._lip_band(t, win, upper=False)
        lip = np.asarray(self.lip, np.float32)
        # only as far as a pixel lacks the lip's saturation: a lower lip that kept its colour (most
        # wide smiles) is left as it is, where a blanket tint pasted a flat pink shape over it
        sat = patch.max(2) - patch.min(2)
        need = np.clip(1.0 - sat / max(float(lip.max() - lip.min()), 1.0), 0.0, 1.0)
        a = band * need * np.float32(self.config.lip_tone * closing)
        if float(a.max()) <= 0.0:
            return
        lum = patch.mean(2)
        band_lum = float((lum * band).sum() / max(float(band.sum()), 1e-6))
        # each pixel: the lip colour, scaled by its brightness relative to the band's mean
        rel = (lum / max(band_lum, 1.0))[..., None]
        patch += a[..., None] * (lip * rel - patch)

    def _draw_eyes(self, out: np.ndarray, t: np.ndarray, dst: np.ndarray, region: Region,
                   mx: np.ndarray | None, my: np.ndarray | None) -> None:
        def warped_clean(win: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return self._warp_plate(self.clean, Region(*win), region, mx, my)

        for eye in self.eyes:
            if eye.tri < 0:
                continue
            carried = eye.bary @ dst[self.tris[eye.tri]]
            E.composite_eye(out, warped_clean, eye, t, carried)
