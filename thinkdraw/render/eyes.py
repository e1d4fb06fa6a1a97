"""Irises that follow gaze: an iris texture completed once per portrait, composited per frame.

Per portrait (once): a "clean plate" of each eye with the iris painted out (:func:`paint_out_iris`:
each row across the eye interpolated between the sclera visible beside the iris; OpenCV's Telea
inpainting, Telea 2004, "An image inpainting technique based on the fast marching method", where no
sclera shows), and an iris texture whose parts hidden under the lids are completed by mirroring
the visible part through the iris centre's horizontal line. Per frame: when an iris landmark moves relative to
where the mesh warp would carry it, the eye opening shows the warped clean plate with the iris
texture at the new place; the lids occlude it (soft mask between the target lid chains).

Shading: the upper lid shadows the top of the eyeball (:func:`lid_shade`). The photo already holds
that shadow: it is divided out of the iris texture once and applied again at the iris's target
place, and the warped opening is re-lit by the change of each pixel's depth below the lid (see
:func:`composite_eye`). (Shading the whole opening on top of the photo darkened every re-composited
eye by up to 28 % under the lid: duller eyes on any expression, and a dlib identity cost.)
"""

from __future__ import annotations

from dataclasses import dataclass

import logging

import cv2
import numpy as np

from thinkdraw.face import mesh
from thinkdraw.render import focus as FO
from thinkdraw.render.geometry import between_chains_alpha
from thinkdraw.render.raster import inpaint, lerp_kept_rows, normalized_blur

log = logging.getLogger(__name__)


@dataclass
class EyeModel:
    """One eye's precomputed data (source pixels)."""

    upper_ids: tuple[int, ...]  # lid chain landmark ids, corner to corner
    lower_ids: tuple[int, ...]
    iris_ids: tuple[int, ...]  # centre then 4 boundary points
    center: np.ndarray  # (2,) source iris centre
    radius: float  # source iris radius, pixels
    x0: int  # iris texture window origin (source pixels)
    y0: int
    texture: np.ndarray  # (h, w, 4) float32 completed iris texture (RGB, the lid's shadow divided out)
    # and its coverage: 0 past the limbus outside the photo's opening (lid skin; the target's eyeball shows)
    src_upper: np.ndarray  # (n, 2) the source's upper lid chain, pixels (corner to corner)
    src_lower: np.ndarray  # (n, 2) the source's lower lid chain, pixels
    tri: int  # mesh triangle containing the source iris centre (-1: none)
    bary: np.ndarray  # (3,) its barycentric coordinates


LIMBUS = 1.12
"""Outer edge of the iris's dark limbal ring in MediaPipe iris radii: inside it, texture the lids
hide is iris (mirrored, or the iris's mean colour); outside it, eyeball (the clean plate). The
blurred edge beyond it is painted out and redrawn to :data:`LIMBUS_OUT`. (Drawn back only to 1.0,
a redrawn iris in place lost the ring's outer half: 3 % brighter eyes, 3.3 levels mean error.)"""
LID_MARGIN = 0.25
"""Band (iris radii) inside each MediaPipe lid chain that is lid margin and lashes, not eyeball."""
LID_SHADE_MIN = 0.72
"""Light left on the eyeball right under the upper lid's margin (ambient occlusion by the lid and lashes)."""
LID_SHADE_DEPTH = 0.6
"""Depth below the margin (iris radii) over which the lid's shadow fades out."""


def lid_shade(below_upper: np.ndarray, iris_r: float) -> np.ndarray:
    """Light factor in [LID_SHADE_MIN, 1] at a distance ``below_upper`` (pixels, >0 under the lid's
    margin) below the upper lid, for an iris of radius ``iris_r`` pixels."""
    depth = np.clip(below_upper / max(LID_SHADE_DEPTH * iris_r, 1.0), 0.0, 1.0)
    return (LID_SHADE_MIN + (1.0 - LID_SHADE_MIN) * depth).astype(np.float32)


def iris_radius(lm: np.ndarray, iris_ids: tuple[int, ...]) -> float:
    c = lm[iris_ids[0], :2]
    return float(np.linalg.norm(lm[list(iris_ids[1:]), :2] - c, axis=1).mean())


def build_eye(
    image: np.ndarray, lm: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...], iris: tuple[int, ...],
    clean: np.ndarray, tri: int, bary: np.ndarray, sclera_ref: np.ndarray | None = None, window: tuple | None = None,
) -> EyeModel:
    """Precompute one eye; paints the iris out of ``clean`` (H, W, 3 uint8) in place.
    ``sclera_ref``: the other eye's white (3,) RGB (:func:`sclera_sample`), for an eye that shows
    too little of its own (:func:`paint_out_iris`). ``window``: this eye's :func:`eye_window` on
    ``image`` when the caller has it already (else it is analysed here)."""
    H, W = image.shape[:2]
    up, lo, c, r = _eye_geometry(lm, upper, lower, iris)
    pad = int(np.ceil(r * 1.6)) + 2
    x0, y0 = max(int(c[0]) - pad, 0), max(int(c[1]) - pad, 0)
    x1, y1 = min(int(c[0]) + pad + 1, W), min(int(c[1]) + pad + 1, H)
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    opening, below_up, above_lo, _ = between_chains_alpha(up, lo, px, py, feather=0.7)
    # the photo's lid shadow divided out of what the iris texture takes from the photo
    shade = lid_shade(below_up, r)[..., None]
    patch = image[y0:y1, x0:x1].astype(np.float32) / shade
    # the eyeball the photo shows: inside the opening and clear of the lid margins (MediaPipe's
    # chains lie on the lash lines, so the last LID_MARGIN radii inside them are lashes and lid
    # rim; taken as iris they showed as a dark notch under the iris once a wider eye redrew it)
    m = max(LID_MARGIN * r, 0.5)
    seen = (opening > 0.5) & (below_up > m) & (above_lo > m)
    # complete the lid-covered part of the iris by mirroring through the centre line
    my = np.clip(np.round(2 * c[1] - py).astype(int) - y0, 0, y1 - y0 - 1)
    mirror = patch[my, (px - x0).astype(int)]
    mirror_seen = seen[my, (px - x0).astype(int)]
    iris_mean = patch[seen & (np.hypot(px - c[0], py - c[1]) < r)]
    mean = iris_mean.mean(0) if len(iris_mean) else patch.reshape(-1, 3).mean(0)
    paint_out_iris(image, up, lo, c, r, clean, sclera_ref, window)
    # past the iris's edge, hidden texture is bare eyeball (the clean plate), not the iris's mean
    beyond = (np.hypot(px - c[0], py - c[1]) > r * LIMBUS)[..., None]
    hidden = np.where(beyond, clean[y0:y1, x0:x1].astype(np.float32) / shade, mean)
    texture = np.where(seen[..., None], patch, np.where(mirror_seen[..., None], mirror, hidden))
    # ... except outside the photo's opening: that clean plate is lid skin, and the redrawn iris does
    # not carry it along; there the target's own eyeball shows. (Carried, an iris looking up brought
    # the lower lid's skin from under its old place as a pink rim round its lower edge.)
    known = (mirror_seen | ~beyond[..., 0] | (opening > 0.05)).astype(np.float32)  # (seen lies inside the opening)
    # (feathered outward only: the photo's own pixels stay whole, or the clean plate lightens the iris's edge)
    cover = np.maximum(known, cv2.GaussianBlur(known, (0, 0), 0.7)) if min(known.shape) > 2 else known
    texture = np.dstack([texture, cover])
    return EyeModel(upper, lower, iris, c, r, x0, y0, texture.astype(np.float32),
                    up.astype(np.float64), lo.astype(np.float64), tri, bary)


def _eye_geometry(lm: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...],
                  iris: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One eye's (n, 2) upper and lower lid chains, (2,) iris centre and iris radius (at least
    1 px), all in pixels, from (478, >=2) landmarks and the eye's landmark ids."""
    return (lm[list(upper), :2], lm[list(lower), :2], lm[iris[0], :2].astype(np.float64),
            max(iris_radius(lm, iris), 1.0))


LIMBUS_OUT = 1.35
"""Where the limbal ring has faded into the sclera, in MediaPipe iris radii. MediaPipe's iris circle
sits inside the blurred dark edge of the iris: on the registry's 512 px face crops the profile
across it reaches the sclera's level at 1.1-1.3 radii. The clean plate paints out to here (painted
out only to :data:`LIMBUS`, a gaze left a dark crescent of the old iris behind) and a redrawn iris
is drawn out to here, carrying its own soft edge (and, redrawn in place, the photo's pixels)."""
SCLERA_RANGE = (0.8, 1.3)
"""Brightness, relative to the upper quartile of the opening's pixels clear of the iris and the lid
margins, that counts as sclera. The darker ones are lashes, the caruncle's shadow and the limbal
ring's blurred outer edge (taken as sclera, it was carried into the painted-out disk, 20 levels
dark); the brighter ones a glint, kept where it is but not spread."""
MIN_SCLERA_PIXELS = 6
"""Fewer visible sclera pixels than this in an eye (a squint, a small face) and the iris is
inpainted out (Telea) instead."""
SCLERA_FILL_GAIN = (0.7, 1.05)
"""Range of the brightness gain that matches the portrait's sclera colour to the few sclera pixels
of an eye that shows too little of its own (:func:`_sclera_fill`)."""
MAX_SCLERA_TINT = 1.5
"""Tint (brightest over darkest channel of the median colour) up to which what is taken as sclera
is believed; above it, only if the skin under the eye is as tinted (a pink-cast photo: lenna).
The white of the eye is near grey (the astronaut's: 1.1); grace_hopper's "sclera" (3.1, more than
her skin) is lid skin and red rims inside MediaPipe's lid chains of a narrowed, shadowed eye, and
her irises are inpainted out instead."""


def _eye_window(image: np.ndarray, up: np.ndarray, lo: np.ndarray, c: np.ndarray, r: float):  # noqa: ANN202
    """The window round one eye (to :data:`LIMBUS_OUT` past its iris) and what of it is sclera.

    Returns None for an empty window, else ((x0, y0, x1, y1), pixels (h, w, 3) float32, opening,
    depth below the upper lid (pixels), distance to the iris centre (pixels), ``keep`` (the
    photo's eyeball pixels beside the iris, glints included: left as they are), ``sclera`` (those
    within :data:`SCLERA_RANGE`: what an eyeball fill may take its colour from), and the tint the
    sclera may have at most (:data:`MAX_SCLERA_TINT`, or the skin's under the eye)."""
    H, W = image.shape[:2]
    pad = LIMBUS_OUT * r + 2.0
    pts = np.concatenate([up, lo, [c - pad, c + pad]])
    x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(pts.max(0)).astype(int) + 3, [W, H])
    if x1 <= x0 or y1 <= y0:
        return None
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    opening, below_up, above_lo, _ = between_chains_alpha(up, lo, px, py, feather=0.7)
    d = np.hypot(px - c[0], py - c[1])
    f = image[y0:y1, x0:x1].astype(np.float32)
    lum = f.mean(2)
    m = max(LID_MARGIN * r, 0.5)
    sclera = (opening > 0.5) & (below_up > m) & (above_lo > m) & (d > r * LIMBUS_OUT)
    keep = sclera.copy()
    if sclera.any():  # lashes and the limbal ring's blurred edge are not sclera; a glint is, but
        ref = float(np.percentile(lum[sclera], 75))  # it is not spread into the disk
        keep &= lum > SCLERA_RANGE[0] * ref
        sclera = keep & (lum < SCLERA_RANGE[1] * ref)
    skin_tint = max(MAX_SCLERA_TINT, _tint(f[above_lo < -m - 1.0]))
    return (x0, y0, x1, y1), f, opening, below_up, d, keep, sclera, skin_tint


def eye_window(image: np.ndarray, lm: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...],
               iris: tuple[int, ...]):  # noqa: ANN201
    """:func:`_eye_window` of one eye given (478, >=2) pixel landmarks and the eye's landmark ids
    (:data:`thinkdraw.face.mesh.EYES`). Computed once, it serves both :func:`sclera_sample` and
    :func:`paint_out_iris` (through :func:`build_eye`)."""
    return _eye_window(image, *_eye_geometry(lm, upper, lower, iris))


def sclera_sample(window) -> np.ndarray | None:  # noqa: ANN001
    """(3,) median RGB of the white of one eye, or None when the eye shows too little of it
    (:data:`MIN_SCLERA_PIXELS`) or what it shows is more tinted than sclera can be (lid skin and
    red rims of a narrowed eye). window: the eye's :func:`eye_window`. The colour
    :func:`paint_out_iris` gives the other eye when that one shows too little of its own."""
    if window is None:
        return None
    _, f, _, _, _, _, sclera, skin_tint = window
    if int(sclera.sum()) < MIN_SCLERA_PIXELS or _tint(f[sclera]) > skin_tint:
        return None
    return np.median(f[sclera], 0).astype(np.float32)


def paint_out_iris(image: np.ndarray, up: np.ndarray, lo: np.ndarray, c: np.ndarray, r: float,
                   clean: np.ndarray, sclera_ref: np.ndarray | None = None, window: tuple | None = None) -> None:
    """Paint the iris disk (to :data:`LIMBUS_OUT`) out of ``clean`` (H, W, 3 uint8, in place) with
    bare eyeball, so a gaze that moves the iris away uncovers sclera, not a smudge.

    Across the eye, not inward from all sides: the sclera shows beside the iris, the lids above and
    below it. Each row of the disk is interpolated linearly between the nearest visible sclera to
    its left and right. A row with sclera on one side only takes that side, fading into a Telea
    fill over one iris radius (a dark inner corner stays dark). Rows with none, under the lids,
    take the nearest rows above and below, with the lid's shadow (:func:`lid_shade`) divided out
    and put back at their own depth. The photo's own sclera pixels are left as they are. An eye
    showing too little sclera of its own (a small face, an iris that fills the opening) is filled
    with ``sclera_ref``, the white of the other eye ((3,) RGB, :func:`sclera_sample`) at this eye's
    brightness, under the lid's shadow (:func:`_sclera_fill`); without a believable one, or with
    "sclera" more tinted than the skin below it, the disk is Telea-inpainted.
    (A Telea fill of the whole disk took its colour from the lashes and lid rims wherever the iris
    touches the lids: a pink-grey blot beside the moved iris.)
    up, lo: (n, 2) lid chains, pixels, corner to corner. c: (2,) iris centre; r: iris radius, pixels.
    window: :func:`_eye_window` of this eye on ``image`` if already computed (:func:`eye_window`).
    """
    w = _eye_window(image, up, lo, c, r) if window is None else window
    if w is None:
        return
    (x0, y0, x1, y1), f, opening, below_up, d, keep, sclera, skin_tint = w
    disk = (d < r * LIMBUS_OUT + 0.5) & (opening > 0.05)
    if not disk.any():
        return
    patch = image[y0:y1, x0:x1]
    lum = f.mean(2)
    # the photo's own sclera stays as it is; the rest of the disk takes the fill
    a = (np.clip(r * LIMBUS_OUT + 0.5 - d, 0.0, 1.0) * (opening > 0.05) * ~keep)[..., None]
    n_sclera = int(sclera.sum())
    ref = None if sclera_ref is None else np.asarray(sclera_ref, np.float32)
    if n_sclera < MIN_SCLERA_PIXELS and ref is not None and _tint(ref[None]) <= skin_tint:
        log.debug("eye at (%.0f, %.0f): %d sclera pixels: filled with the other eye's white", c[0], c[1], n_sclera)
        fill = _sclera_fill(ref, lum[sclera], below_up, r)
        clean[y0:y1, x0:x1] = np.clip(f * (1 - a) + fill * a + 0.5, 0, 255).astype(np.uint8)
        return
    telea = inpaint(patch, (disk & ~keep).astype(np.uint8) * 255, max(2.0, r * 0.5))
    if n_sclera < MIN_SCLERA_PIXELS or _tint(f[sclera]) > skin_tint:
        log.debug("eye at (%.0f, %.0f): %d sclera pixels, tint %.2f: iris inpainted", c[0], c[1],
                  n_sclera, _tint(f[sclera]))
        clean[y0:y1, x0:x1] = telea
        return
    smooth_sclera, _ = normalized_blur(f, sclera.astype(np.float32), 0.7)  # denoised, sclera only
    fill, conf = _lerp_across(smooth_sclera, sclera, axis=1, reach=r)
    # rows with no sclera (under the lids): from the rows above and below, with the lid's shadow
    # divided out and put back at each pixel's own depth
    shade = lid_shade(below_up, r)[..., None]
    known = conf > 0
    rows, conf_rows = _lerp_across(np.where(known[..., None], fill / shade, 0.0), known, axis=0, reach=r)
    fill = np.where(known[..., None], fill, rows * shade)
    conf = np.where(known, conf, conf_rows)
    # each row took its own two nearest samples: smooth across rows so the fill has no bands
    # (normalised over the opening: the lerp's values outside it never leak in)
    both, _ = normalized_blur(np.dstack([fill, conf]).astype(np.float32), (opening > 0.5).astype(np.float32),
                              max(0.15 * r, 0.5), sigma_y=max(0.4 * r, 0.7))
    fill, conf = both[..., :3], both[..., 3]
    # far from any sclera on its row (beside a dark inner corner) the Telea fill takes over
    fill = telea + conf[..., None] * (fill - telea.astype(np.float32))
    clean[y0:y1, x0:x1] = np.clip(f * (1 - a) + fill * a + 0.5, 0, 255).astype(np.uint8)


def _sclera_fill(ref: np.ndarray, own_lum: np.ndarray, below_up: np.ndarray, r: float) -> np.ndarray:
    """(h, w, 3) float32 bare eyeball for an eye that shows too little sclera of its own: the
    other eye's white ``ref`` (3,) at this eye's brightness (the median of the few sclera
    pixels it shows, ``own_lum``, when there are any: one eye is often in shade), under the upper
    lid's shadow at each pixel's depth ``below_up`` (the photo's, as the clean plate must hold).
    (Inpainted instead, such an eye took its colours from the lashes, lid rims and the limbal ring
    round the disk: a pink-brown ghost of the iris wherever a gaze uncovered it.)"""
    gain = 1.0
    if len(own_lum):
        gain = float(np.clip(np.median(own_lum) / max(float(ref.mean()), 1.0), *SCLERA_FILL_GAIN))
    return (ref * gain)[None, None, :] * lid_shade(below_up, r)[..., None]


def _tint(rgb: np.ndarray) -> float:
    """Brightest over darkest channel of the median colour of (n, 3) pixels (1 = grey; inf: none)."""
    if len(rgb) == 0:
        return float("inf")
    med = np.median(rgb, 0)
    return float(med.max() / max(med.min(), 1.0))


def _lerp_across(values: np.ndarray, kept: np.ndarray, axis: int, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Fill (h, w, c) ``values`` outside the (h, w) bool ``kept`` mask by linear interpolation between
    the nearest kept pixels before and after along ``axis`` (1: along rows, 0: along columns), or by
    the one that exists. Returns (filled values, (h, w) confidence): 1 between two kept pixels,
    exp(-distance / reach) past the last one, 0 where the line holds none."""
    if axis == 1:
        out, conf = _lerp_across(values.transpose(1, 0, 2), kept.T, 0, reach)
        return out.transpose(1, 0, 2), conf.T
    out, before, after = lerp_kept_rows(values, ~kept)
    has_b, has_a = before >= 0, after < kept.shape[0]
    idx = np.arange(kept.shape[0])[:, None]
    dist = np.where(has_b, idx - before, after - idx)
    conf = np.where(has_b & has_a, 1.0, np.where(has_b | has_a, np.exp(-dist / max(reach, 1e-3)), 0.0))
    return out, conf.astype(np.float32)


REDRAW_FROM = 0.5
"""Offset (pixels) between the target iris centre and where the warp carries it below which the
warp's own iris stays: the photo's pixels, exactly. Neutralising a smile or AU6/AU7 moves a lower-lid
vertex of the iris's triangle and drifts the warped iris ~0.35 px; the photo's own pixels are
exact for that. (Redrawn, the iris also spilled a dark pixel below the lower lid: lashes inside
MediaPipe's chain taken as iris; now LID_MARGIN keeps lid margins out of the texture and in front
of the redrawn iris.)"""
REDRAW_FULL = 1.5
"""Offset (pixels) from which the redrawn iris replaces the warp's (linear blend in between, so a
gaze ramp never pops)."""
BAND_IRIS_RISE = (1.0, 3.0)
"""Rise of the iris off the lower lid (pixels: its height above the lid's chain, target against the
photo's, at the target's scale) up to which the lower lid's margin under the redrawn iris keeps the
photo's iris edge (a sideways gaze, AU5 or AU7 leave the iris on the lid); past the second it shows
the clean plate there too (linear in between). See :func:`composite_eye`."""


def _height_above(point: np.ndarray, chain: np.ndarray) -> float:
    """Height (pixels) of ``point`` (2,) above the mean of a lid ``chain`` (n, 2, corner to corner),
    measured across the eye (perpendicular to the line between the chain's ends)."""
    axis = chain[-1] - chain[0]
    up = np.array([axis[1], -axis[0]]) / max(float(np.hypot(*axis)), 1e-6)
    up = up if up[1] <= 0 else -up  # image y grows downward
    return float((point - chain.mean(0)) @ up)


def composite_eye(out: np.ndarray, warp_fn, eye: EyeModel, target: np.ndarray, carried: np.ndarray) -> bool:
    """Re-light the eye opening for the target lids and draw the iris at its target place if it
    moved relative to the warp (by REDRAW_FROM px or more). Returns True if anything was drawn.

    out: (H, W, 3) uint8 frame (already warped), modified in place. warp_fn((x0, y0, x1, y1)) ->
    (clean plate warped over that window (h, w, 3), source x (h, w), source y (h, w)): where the
    frame's warp takes each window pixel from. target: (478, 2) target landmarks. carried: (2,)
    where the warp carries the source iris centre.

    The lid's shadow keeps its width below the margin (:func:`lid_shade`), while the warp squeezes
    or stretches the photo's own shadow with the opening: each warped pixel is re-lit by the ratio
    of the shade at its target depth to the shade at the depth it came from. A drooping lid (AU41)
    so brings its full shadow down with it; a still eye is left exactly as it is.
    """
    ct = target[eye.iris_ids[0]]
    offset = float(np.hypot(*(ct - carried)))
    redraw = float(np.clip((offset - REDRAW_FROM) / (REDRAW_FULL - REDRAW_FROM), 0.0, 1.0))
    moved = redraw > 0.0
    H, W = out.shape[:2]
    up, lo = target[list(eye.upper_ids)], target[list(eye.lower_ids)]
    lids = np.concatenate([up, lo])
    x0, y0 = np.maximum(np.floor(lids.min(0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(lids.max(0)).astype(int) + 2, [W, H])
    if x1 <= x0 or y1 <= y0:
        return False
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    opening, below_up, above_lo, _ = between_chains_alpha(up, lo, px, py, 0.7)
    if float(opening.max()) <= 0:
        return False
    rt = max(iris_radius(target, eye.iris_ids), 0.5)
    clean, gx, gy = warp_fn((int(x0), int(y0), int(x1), int(y1)))
    src_open, below_src, _, _ = between_chains_alpha(eye.src_upper, eye.src_lower, gx, gy, 0.7)
    shade = lid_shade(below_up, rt)
    relight = (shade / lid_shade(below_src, eye.radius))[..., None]
    if not moved and float(np.abs(relight - 1.0).max()) < 0.01:
        return False
    region = out[y0:y1, x0:x1].astype(np.float32)
    inside = region * relight
    if moved:
        s = eye.radius / rt
        qx = (eye.center[0] + (px - ct[0]) * s - eye.x0).astype(np.float32)
        qy = (eye.center[1] + (py - ct[1]) * s - eye.y0).astype(np.float32)
        tex = cv2.remap(eye.texture, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        iris = tex[..., :3] * shade[..., None]  # the iris under the target lid gets that lid's shadow
        d = np.hypot(px - ct[0], py - ct[1])
        ia = (np.clip((LIMBUS_OUT * rt - d) / 0.8 + 0.5, 0, 1) * opening * tex[..., 3])[..., None]
        eyeball_lit = clean.astype(np.float32) * relight  # the warped clean plate, re-lit
        redrawn = eyeball_lit * (1 - ia) + iris * ia
        # the lid margins (LID_MARGIN inside each chain, moving with the lids) occlude the eyeball:
        # there the warped photo (lid rim, lashes) stays in front of the redrawn iris
        m = max(LID_MARGIN * rt, 0.5)
        lower = np.clip((above_lo - m) / 0.7 + 0.5, 0.0, 1.0)
        # ... but where it shows the photo's own iris (one resting on the lower lid) and the moved
        # iris does not cover it, it shows the clean plate, or a gaze leaves the iris's old lower
        # arc behind in the band. Under the moved iris the photo's iris edge stays unless the iris
        # rose off the lower lid (by BAND_IRIS_RISE px): then it would show a second, lower edge.
        d_src = np.hypot(gx - eye.center[0], gy - eye.center[1])
        old = np.clip((LIMBUS_OUT * eye.radius - d_src) / 0.8 + 0.5, 0.0, 1.0) * src_open
        lo_r, hi_r = BAND_IRIS_RISE
        rise = _height_above(ct, lo) - _height_above(eye.center, eye.src_lower) * rt / eye.radius
        same = float(np.clip(1.0 - (rise - lo_r) / (hi_r - lo_r), 0.0, 1.0))
        bare = (redraw * old * (1.0 - lower) * (1.0 - ia[..., 0] * same))[..., None]
        inside += bare * (eyeball_lit - inside)
        eyeball = np.minimum(np.clip((below_up - m) / 0.7 + 0.5, 0.0, 1.0), lower)
        inside += (redraw * eyeball)[..., None] * (redrawn - inside)
    a = opening[..., None]
    out[y0:y1, x0:x1] = np.clip(region * (1 - a) + inside * a + 0.5, 0, 255).astype(np.uint8)
    return True


_LID_START = 0.2
"""Upper-lid descent (fraction of the rest opening) where the closed-lid paint starts: below it the
warp's own lid is right. AU6/AU7 lower the margin ~0.1, and a neutralised smile moves it ~0.05."""


@dataclass
class LidModel:
    """One upper lid's precomputed appearance (source pixels, colours RGB 0-255)."""

    upper_ids: tuple[int, ...]
    lower_ids: tuple[int, ...]
    skin: np.ndarray  # (3,) lid skin colour (the band between lid margin and brow)
    lash: np.ndarray  # (3,) lash-line colour (darkest pixels along the margin)
    rest_open: float  # source eye opening (max rung length), pixels


def build_lid(image: np.ndarray, lm: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...],
              brow_lower: tuple[int, ...], ipd: float) -> LidModel:
    """Sample lid-skin and lash colours from the portrait around one eye."""
    H, W = image.shape[:2]
    up = lm[list(upper), :2]
    lo = lm[list(lower), :2]
    # lid skin: between the upper lid and the brow's lower edge (40 % of the way up), plus a
    # little below the lower lid, so the closed lid matches the skin around the eye
    brow = lm[list(brow_lower), :2]
    mid_up = up[2:-2]
    near_brow = brow[np.argmin(np.abs(brow[:, 0][None] - mid_up[:, 0][:, None]), axis=1)]
    skin_pts = np.concatenate([mid_up + 0.4 * (near_brow - mid_up), lo[2:-2] + np.array([0.0, 0.08 * ipd])])
    xs = np.clip(np.round(skin_pts[:, 0]).astype(int), 0, W - 1)
    ys = np.clip(np.round(skin_pts[:, 1]).astype(int), 0, H - 1)
    k = max(1, int(0.03 * ipd))
    vals = np.concatenate([image[max(y - k, 0) : y + k + 1, max(x - k, 0) : x + k + 1].reshape(-1, 3) for x, y in zip(xs, ys)])
    skin = np.median(vals.astype(np.float32), 0)
    # lash colour: darkest quarter of a thin band along the upper margin
    t = np.linspace(0, 1, 5)[:, None, None]
    band = (up[None, 1:-1] + t * np.array([0.0, -0.04 * ipd])).reshape(-1, 2)
    bx = np.clip(np.round(band[:, 0]).astype(int), 0, W - 1)
    by = np.clip(np.round(band[:, 1]).astype(int), 0, H - 1)
    v = image[by, bx].astype(np.float32)
    lum = v.mean(1)
    lash = np.median(v[lum <= np.percentile(lum, 25)], 0)
    rest_open = float(np.max(np.linalg.norm(lo[1:-1] - up[1:-1], axis=1)))
    return LidModel(upper, lower, skin, lash, max(rest_open, 1e-3))


HIDDEN_LID = 0.45  # an eye is hidden (dark lenses) when its lid skin is darker than this share of the cheek below ...
HIDDEN_RANGE = 0.3  # ... and its opening shows less luminance spread than this share (no sclera beside an iris)


def eye_hidden(image: np.ndarray, lm: np.ndarray, lid: LidModel, cheek: int, ipd: float) -> bool:
    """True when the portrait's eye cannot be seen (behind sunglasses): the skin between the lid and
    the brow is far darker than the cheek below on the same side, and the opening is flat (a visible
    eye, even a shadowed one, shows bright sclera beside a dark iris). Nothing is drawn on such an
    eye: a closed lid or a moved iris would be painted on the lens."""
    h, w = image.shape[:2]

    def lum(ys: slice, xs: slice) -> np.ndarray:  # luminance of one window only (a portrait may be 8000 px)
        return image[ys, xs].astype(np.float32).mean(2)

    cx, cy = (int(round(v)) for v in lm[cheek, :2])
    r = max(2, int(0.04 * ipd))
    patch = lum(slice(max(cy - r, 0), cy + r + 1), slice(max(cx - r, 0), cx + r + 1))
    skin = float(np.median(patch)) if patch.size else 0.0
    if skin <= 1.0:
        return False
    up, lo = lm[list(lid.upper_ids), :2], lm[list(lid.lower_ids), :2]
    x0, y0 = np.maximum(np.floor(np.minimum(up.min(0), lo.min(0))).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(np.maximum(up.max(0), lo.max(0))).astype(int) + 1, [w, h])
    if x1 <= x0 or y1 <= y0:
        return False
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    inside = lum(slice(y0, y1), slice(x0, x1))[between_chains_alpha(up, lo, px, py, feather=0.5)[0] > 0.5]
    if inside.size < 4:
        return False
    spread = float(np.percentile(inside, 90) - np.percentile(inside, 10)) / skin
    return float(lid.skin.mean()) < HIDDEN_LID * skin and spread < HIDDEN_RANGE


EYE_REGION = (0.32, 0.16)  # half-width, half-height (IPDs) of the ellipse round an eye whose mesh points a lens pins


def _eye_ellipse(lm: np.ndarray, lid: LidModel, ipd: float, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """(x / a)^2 + (y / b)^2 of points (px, py) in the EYE_REGION ellipse round one eye (along
    its corner-to-corner axis): <= 1 inside."""
    c = lm[list(lid.upper_ids) + list(lid.lower_ids), :2].mean(0)
    ax = lm[lid.upper_ids[-1], :2] - lm[lid.upper_ids[0], :2]
    ax = ax / max(float(np.hypot(*ax)), 1e-6)
    dx, dy = px - c[0], py - c[1]
    u, v = dx * ax[0] + dy * ax[1], dy * ax[0] - dx * ax[1]
    return (u / (EYE_REGION[0] * ipd)) ** 2 + (v / (EYE_REGION[1] * ipd)) ** 2


def eye_region_ids(lm: np.ndarray, lid: LidModel, ipd: float) -> np.ndarray:
    """Mesh landmark ids (no irises) inside the EYE_REGION ellipse round one eye: the points a
    dark lens covers."""
    pts = lm[: mesh.N_MESH, :2]
    return np.nonzero(_eye_ellipse(lm, lid, ipd, pts[:, 0], pts[:, 1]) <= 1.0)[0].astype(np.int64)


def keep_lens(plate: np.ndarray, image: np.ndarray, lm: np.ndarray, lid: LidModel, ipd: float) -> None:
    """Put the portrait's own pixels back into ``plate`` (in place) over one hidden eye's lens
    (the EYE_REGION ellipse, feathered): a spectacle plate fills under the frame with skin, which
    a dark lens must not show where the frame layer's feathered edge lets the plate through."""
    h, w = plate.shape[:2]
    a = EYE_REGION[0] * ipd  # the ellipse's half-width: its box is a square of that half-side
    c = lm[list(lid.upper_ids), :2].mean(0)
    x0, y0 = max(int(c[0] - a) - 2, 0), max(int(c[1] - a) - 2, 0)
    x1, y1 = min(int(c[0] + a) + 3, w), min(int(c[1] + a) + 3, h)
    if x1 <= x0 or y1 <= y0:
        return
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    r = np.sqrt(_eye_ellipse(lm, lid, ipd, px, py))
    alpha = np.clip((1.0 - r) / 0.15, 0.0, 1.0)[..., None]
    win = plate[y0:y1, x0:x1].astype(np.float32)
    plate[y0:y1, x0:x1] = np.clip(win + alpha * (image[y0:y1, x0:x1].astype(np.float32) - win) + 0.5, 0, 255).astype(np.uint8)


LASH_INNER_BARE = 0.2  # closed-lid lash line: fades in over this fraction of the eye width from the inner corner
LASH_OUTER_FADE = 0.05  # ... and fades out only this close to the outer corner (lashes reach the lateral canthus)


def upper_lid_descent(up: np.ndarray, rest_upper: np.ndarray) -> float:
    """How far (pixels) the upper lid margin ``up`` (n, 2) lies below its rest line ``rest_upper``
    (n, 2, same frame), at its lowest inner point, measured across the eye (perpendicular to the
    rest corner-to-corner line, away from the lid's arch). A lower lid pushed up by the cheek (AU6)
    or tightened (AU7) narrows the eye without moving the upper margin: that is not a closing lid."""
    e = rest_upper[-1] - rest_upper[0]
    n = np.array([-e[1], e[0]]) / max(float(np.hypot(*e)), 1e-6)
    # "down" points away from the rest lid's arch (it bulges up over the eyeball from the corner
    # line); the target lower lid cannot orient it, it meets the upper one when the eye is closed
    if float(np.mean((rest_upper[1:-1] - rest_upper[0]) @ n)) > 0:
        n = -n
    return float(np.max((up[1:-1] - rest_upper[1:-1]) @ n))


def draw_lid(out: np.ndarray, lid: LidModel, target: np.ndarray, rest_upper: np.ndarray, scale: float, ipd: float,
             blur: float = 0.0) -> float:
    """Cover the eye where the upper lid slid down below its rest position. Returns the closure
    (the upper lid's descent as a fraction of the rest opening).

    The covered band (between the rest lid line, moved rigidly with the head, and the target lid
    margin) gets the lid-skin colour with a soft convex shading and a lash line along the target
    margin, so a closed eye reads as a closed lid instead of stretched lashes. Only the upper
    lid's own descent counts: an eye narrowed from below (AU6, AU7) keeps its lashes and iris.
    target: (478, 2) pixels. rest_upper: (n, 2) rest upper-lid chain in the target frame.
    blur: Gaussian sigma (pixels) the painted lid is blurred by, edge included, to match the photo's
    focus (focus.added_blur): drawn sharp, a soft photo's blink showed a crisp lid rim and lash line.
    """
    up = target[list(lid.upper_ids)]
    lo = target[list(lid.lower_ids)]
    closure = upper_lid_descent(up, rest_upper) / (lid.rest_open * scale)
    strength = float(np.clip((closure - _LID_START) / 0.25, 0.0, 1.0))
    if strength <= 0:
        return closure
    H, W = out.shape[:2]
    pts = np.concatenate([rest_upper, up, lo])
    pad = int(np.ceil(LID_RING * ipd * scale)) + 2  # the window holds the skin ring the lid's colour is fitted to
    x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(pts.max(0)).astype(int) + pad + 1, [W, H])
    if x1 <= x0 or y1 <= y0:
        return closure
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    thick = max(0.028 * ipd * scale, 0.8)  # lash line half-width (closed-eye lashes ~1.5-2 mm deep)
    ext = max(0.07 * ipd * scale, 2.0)  # cover reaches this far above the rest lid line (lashes)
    top = rest_upper - np.array([0.0, ext])
    bottom = up + np.array([0.0, 0.6 * thick])
    bottom[0], bottom[-1] = up[0], up[-1]
    top[0], top[-1] = up[0], up[-1]
    cover, from_top, to_bottom, span = between_chains_alpha(top, bottom, px, py, feather=1.0)
    region = out[y0:y1, x0:x1].astype(np.float32)
    skin = _lid_skin(region, lid, px, py, cover, up, span, ipd * scale)
    rows, cols = np.nonzero(cover.any(1))[0], np.nonzero(cover.any(0))[0]
    if not len(rows):
        return closure
    # paint the cover's own box only (the wider window was for the skin round it), and the blur's reach
    r = int(np.ceil(3.0 * blur)) if blur >= FO.MIN_BLUR else 0
    r0, c0 = max(rows[0] - r, 0), max(cols[0] - r, 0)
    win = (slice(r0, min(rows[-1] + 1 + r, cover.shape[0])), slice(c0, min(cols[-1] + 1 + r, cover.shape[1])))
    cover, from_top, to_bottom, span, px, py, region, skin = (
        v[win] for v in (cover, from_top, to_bottom, span, px, py, region, skin))
    frac = np.clip(from_top / np.maximum(span, 1e-3), 0, 1)
    shade = 0.96 + 0.05 * np.sin(np.pi * frac) - 0.14 * frac**4  # convex lid, darker at the margin
    col = skin * shade[..., None]
    corners = np.minimum(np.hypot(px - up[0, 0], py - up[0, 1]), np.hypot(px - up[-1, 0], py - up[-1, 1]))
    width = float(np.hypot(*(up[-1] - up[0])))
    taper = np.clip(corners / (0.2 * width), 0, 1)
    # the lash line runs out to the outer canthus but stops short of the inner one: the margin
    # medial to the lacrimal punctum (about its inner sixth) carries no lashes (Gray's Anatomy,
    # "Eyelids"). The chains run outer corner -> inner corner (mesh.RIGHT_EYE_UPPER etc.).
    lash_taper = (np.clip(np.hypot(px - up[-1, 0], py - up[-1, 1]) / (LASH_INNER_BARE * width), 0, 1)
                  * np.clip(np.hypot(px - up[0, 0], py - up[0, 1]) / (LASH_OUTER_FADE * width), 0, 1))
    lash_a = 0.9 * np.exp(-(((to_bottom - 0.6 * thick) / thick) ** 2)) * lash_taper
    # lid crease: the fold of the open eye's upper lid flattens into a faint curved line above the
    # closed margin (about a third of the way up the covered band)
    crease_a = 0.18 * np.exp(-(((frac - 0.3) / 0.08) ** 2)) * taper
    col = col * (1 - crease_a[..., None]) + (col * 0.7) * crease_a[..., None]
    col = col * (1 - lash_a[..., None]) + lid.lash * lash_a[..., None]
    top_fade = np.clip(from_top / ext, 0, 1) ** 1.5  # blend softly into the skin above
    a = cover * top_fade * strength
    paint = col * a[..., None]
    if r:  # colour and coverage blurred together (premultiplied): the rim spreads as a lens spreads it
        a, paint = FO.soft_mask(a.astype(np.float32), blur), FO.soft_mask(paint.astype(np.float32), blur)
    wy, wx = y0 + r0, x0 + c0
    out[wy : wy + region.shape[0], wx : wx + region.shape[1]] = np.clip(region * (1 - a[..., None]) + paint + 0.5, 0, 255).astype(np.uint8)
    return closure


LID_FILL_SIGMA = 0.06  # closed-lid colour: Gaussian reach (IPD) of the skin round the band filled into it
LID_STRAY = 0.2  # closed-lid colour: ring pixels further than this (relative) from the local skin level are not skin
LID_RING = 0.15  # closed-lid colour: taken from the skin up to this far (IPD) round the covered band


def _lid_skin(region: np.ndarray, lid: LidModel, px: np.ndarray, py: np.ndarray, cover: np.ndarray,
              up: np.ndarray, span: np.ndarray, ipd: float) -> np.ndarray:
    """(h, w, 3) float32 closed-lid skin for a window ``region`` (float32) of the frame: ``px``, ``py``
    its pixel grid, ``cover`` the lid's alpha there, ``up`` the target upper-lid chain.

    Colour: the frame's own skin in a ring round the covered band (above the lid line) filled in by
    normalised convolution (Knutsson & Westin 1993), so the lid carries the light falling across the
    eye and continues the skin round it; ring pixels far from the local skin level (brow hair,
    lashes, a glasses frame, a glint) are dropped first. Texture: the high-pass detail of the skin
    one band-height above, shifted down (pores and fine lines instead of a flat patch), without
    its strongest edges (hair, lashes).
    """
    order = np.argsort(up[:, 0])
    ring = (cover <= 0.0) & (py < np.interp(px, up[order, 0], up[order, 1]) - 1.0)  # the skin above the eye
    sigma = max(LID_FILL_SIGMA * ipd, 1.0)
    third = np.full(3, 1.0 / 3.0, np.float32)
    lum = region @ third
    near, _ = normalized_blur(region, ring.astype(np.float32), sigma)
    level = np.maximum(near @ third, 1.0)  # the skin's own level; what strays from it is hair, a frame, a glint
    trust = (ring & (np.abs(lum - level) < LID_STRAY * level)).astype(np.float32)
    near, support = normalized_blur(region, trust, sigma)
    k = np.clip(support / 0.05, 0.0, 1.0)[..., None]
    base = near * k + lid.skin * (1.0 - k)
    base = 0.9 * base + 0.1 * lid.skin
    sigma = max(0.03 * ipd, 0.8)
    detail = region - cv2.GaussianBlur(region, (0, 0), sigma)
    shift = int(round(float(np.median(span[span > 0])) if np.any(span > 0) else 0.0))
    if 0 < shift < detail.shape[0]:
        detail = np.concatenate([detail[:shift], detail[:-shift]], axis=0)  # rows from `shift` above
    detail = detail * np.clip(1.5 - (np.abs(detail) @ third)[..., None] / 16.0, 0.0, 1.0)  # hair, lash, frame edges: dropped
    return (base + 0.8 * detail).astype(np.float32)
