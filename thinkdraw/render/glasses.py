"""Rigid eyeglasses: find a portrait's spectacle frame once, keep it rigid while the face moves.

The mesh warp moves every pixel with the face, so a frame resting on the brows bends into an
arch when the brows rise. Instead the frame is cut out of the portrait once:

* :func:`has_glasses` gates the feature: spectacles put a horizontal band (the bridge) across
  the nose between the inner eye corners, where a bare nose has only smooth shading: a
  consistent row edge (:func:`bridge_score`) and a darker valley (:func:`bridge_dip`);
* :func:`frame_mask` finds the upper frame (top rims, the skin-side strip below them, the
  bridge): thin structures much darker than their surroundings in the image's darkest channel
  (morphological black-hat, Soille, "Morphological Image Analysis", 2nd ed. 2003, sec. 4.4,
  normalised by the local closing so the threshold is a contrast ratio). The darkest channel
  sees black rims and amber/tortoise rims alike (they absorb blue), while shading and wrinkles
  darken all channels by a smaller ratio. Only the band above the eyes is searched: wrinkles and
  bags seen through the lenses lie below the eye line, and the lower rims (on the cheeks, which
  brows do not move) are left to the warp;
* the face plate is the portrait with that mask filled (:func:`face_plate`), and the mesh warps
  the plate, so the brows slide behind where the rim was. The fill is a normalised convolution
  (Knutsson & Westin, "Normalized and differential convolution", CVPR 1993) of the skin-like
  pixels around the frame, overlaid with the fine grain of the skin just above the frame (one
  vertical shift for the whole frame, :func:`_shifted_detail`), so the skin a rising brow
  uncovers is neither a blur nor a copy of the brow. ``cv2.inpaint`` (Telea 2004) was tried first: it
  propagates the lash line and the rim's dark edge into the hole, which then shows as a dark
  smear once the brows move;
* per frame the frame layer (source pixels under the mask, feathered alpha outside it) is moved
  by the head's rigid motion only (:func:`frame_motion`; one ``cv2.warpAffine`` of a small
  window) and composited on top (:func:`composite`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from thinkdraw.face import mesh as M
from thinkdraw.render.geometry import Similarity, fit_similarity
from thinkdraw.render.raster import Region, hull_mask, nearest_kept_rows, normalized_blur

IPD_REF = 64.0
"""Interpupillary distance (pixels) at which :func:`bridge_score` is measured."""
GATE_SCORE = 7.5
"""Bridge score above which a portrait may wear glasses (at IPD_REF: grace_hopper 11.4, astronaut 1.7;
pencil sketches 6-9, which is where the gate is least sure)."""
GATE_DIP = 0.2
"""Bridge band depth above which a portrait may wear glasses (grace_hopper 0.64, astronaut 0.01)."""

FRAME_ANCHORS = (33, 133, 263, 362, 195, 5, 4, 234, 454, 127, 356)
"""Landmarks the frame's rigid motion is fitted to: where spectacles rest (nose dorsum and tip,
the sides of the head at the temples) and the eye corners (held by the canthal tendons). The
renderer's own head fit also uses glabella and forehead points, which the brows drag: with it
the frame would drift ~0.7 px under AU1 and ~1.2 px under AU6 (grace_hopper)."""

_KERNEL_IPD = 0.25  # black-hat structuring element (IPDs): wider than the thickest rim
_RATIO = 0.5  # contrast ratio (1 - I / closing(I)) of frame pixels in the darkest channel
_BLACK = 0.35  # darkest channel below this fraction of the skin's: near-black frame
_RATIO_WEAK = 0.3  # weaker contrast ratio for pixels touching the frame (hysteresis)
_DARK_WEAK = 0.6  # darkest channel below this fraction of the skin's next to the frame: still frame
_GLINT = 1.3  # darkest channel above this multiple of the skin's next to the frame: a glint
_MIN_EXTENT_IPD = 0.3  # a frame piece spans at least this much (IPDs); smaller blobs are skin marks
_BELOW_EYE_LINE_IPD = 0.12  # the search band ends this far below the line through the pupils
_FADE_IPD = 0.08  # the rigid layer fades out over this band (IPDs) above that cut
_MIN_AREA_IPD2 = 0.05  # a frame mask smaller than this (IPD^2) is no frame
_DETAIL_GAIN = 0.8  # share of the skin's fine grain laid over the smooth fill (a brow raise stretches the fill: at full grain the stretch shows as streaks)


@dataclass
class GlassesFrame:
    """The frame layer: a window of the source, its alpha and the core (inpainted) mask."""

    win: Region  # source window holding the layer
    rgb_a: np.ndarray  # (h, w, 4) float32: premultiplied source RGB and alpha (1 on the core)
    core: np.ndarray  # (h, w) uint8 {0, 1}: frame pixels (inpainted in the face plate)
    score: float  # bridge score of the portrait


def _odd(n: float) -> int:
    return max(3, int(n) | 1)


def _bridge_window(lm: np.ndarray, ipd: float, half_height_ipd: float, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) over the nose bridge: the middle half between the inner eye corners
    (landmarks 133, 362), +-``half_height_ipd`` IPD around the bridge point 168, clipped."""
    H, W = shape[:2]
    a, b = lm[133], lm[362]
    cx, half = (a[0] + b[0]) / 2.0, 0.25 * abs(b[0] - a[0])
    cy = lm[168, 1]
    return (max(int(cx - half), 0), max(int(cy - half_height_ipd * ipd), 0),
            min(int(cx + half), W), min(int(cy + half_height_ipd * ipd), H))


def bridge_score(image: np.ndarray, lm: np.ndarray, ipd: float) -> float:
    """How strongly a horizontal band crosses the nose bridge (0-255 gradient units).

    Window: the middle half between the inner eye corners (landmarks 133, 362), +-0.25 IPD around
    the bridge point 168. Per row, the 30th percentile across the width of the vertical gradient
    magnitude (a band edge is consistent across the width, skin texture is not); the score is the
    largest row value, measured with the window resampled to IPD_REF. Bare noses score ~2, a bridge ~10+.
    """
    g = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    x0, y0, x1, y1 = _bridge_window(lm, ipd, 0.25, g.shape)
    if x1 - x0 < 3 or y1 - y0 < 4:
        return 0.0
    # measured at a reference scale (IPD_REF pixels between the pupils), so the score does not
    # depend on the photo's resolution: a per-pixel gradient halves when the image is doubled
    k = IPD_REF / max(ipd, 1e-6)
    win = g[y0:y1, x0:x1]
    size = (max(int(round(win.shape[1] * k)), 3), max(int(round(win.shape[0] * k)), 4))
    win = cv2.resize(win, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    win = cv2.GaussianBlur(win, (0, 0), 1.0)
    gy = np.abs(np.diff(win, axis=0))
    return float(np.percentile(gy, 30, axis=1).max())


def bridge_dip(image: np.ndarray, lm: np.ndarray, ipd: float) -> float:
    """Depth of the darkest band across the nose bridge, relative to the skin around it (0-1).

    Row profile (median across the middle half between the inner eye corners, +-0.35 IPD around
    landmark 168) of the darkest channel; the dip is the deepest valley below the lower of the
    maxima above and below it. A bridge (dark, or amber that absorbs blue) is a valley:
    grace_hopper 0.64; a bare nose only shades (astronaut 0.01, its painted version's posterised
    steps 0.08).
    """
    x0, y0, x1, y1 = _bridge_window(lm, ipd, 0.35, image.shape)
    if x1 - x0 < 3 or y1 - y0 < 5:
        return 0.0
    prof = np.median(image[y0:y1, x0:x1].min(2).astype(np.float32), axis=1)
    prof = np.convolve(prof, np.ones(3, np.float32) / 3.0, mode="same")[1:-1]
    above = np.maximum.accumulate(prof)
    below = np.maximum.accumulate(prof[::-1])[::-1]
    depth = np.minimum(above, below) - prof
    return float(depth.max() / max(float(prof.max()), 1.0))


def has_glasses(image: np.ndarray, lm: np.ndarray, ipd: float) -> tuple[bool, float, float]:
    """The gate: (wears glasses, :func:`bridge_score`, :func:`bridge_dip`). Both must pass: a
    consistent horizontal edge across the bridge AND a band darker than the skin around it."""
    score, dip = bridge_score(image, lm, ipd), bridge_dip(image, lm, ipd)
    return score >= GATE_SCORE and dip >= GATE_DIP, score, dip


def _below_pupils(lm: np.ndarray, win: Region) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance (pixels) below the line through the pupils over the image window ``win``
    (its shape), and the unit 'down'."""
    p0, p1 = lm[468], lm[473]
    ex = (p1 - p0) / max(float(np.linalg.norm(p1 - p0)), 1e-6)
    down = np.array([-ex[1], ex[0]]) if ex[0] >= 0 else np.array([ex[1], -ex[0]])
    py, px = np.mgrid[win.y0 : win.y1, win.x0 : win.x1].astype(np.float32)
    return ((px - p0[0]) * down[0] + (py - p0[1]) * down[1]).astype(np.float32), down


def frame_mask(image: np.ndarray, lm: np.ndarray, ipd: float) -> np.ndarray:
    """(H, W) uint8 {0, 1}: the upper spectacle frame (top rims and bridge) in source pixels."""
    H, W = image.shape[:2]
    dark = image.min(2).astype(np.float32)
    se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(_KERNEL_IPD * ipd),) * 2)
    closed = cv2.morphologyEx(dark, cv2.MORPH_CLOSE, se)
    ratio = (closed - dark) / np.maximum(closed, 1.0)
    # search band: brows, eyes and bridge, grown; cut below the pupil line; eye openings out
    ids = list(M.LEFT_BROW) + list(M.RIGHT_BROW) + list(M.LEFT_EYE) + list(M.RIGHT_EYE) + [168, 6, 197]
    band = hull_mask((H, W), lm[ids])
    r = _odd(0.5 * ipd)
    band = cv2.dilate(band, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (r, r)))
    below, down = _below_pupils(lm, Region(0, 0, W, H))
    band &= (below < _BELOW_EYE_LINE_IPD * ipd).astype(np.uint8)
    openings = hull_mask((H, W), lm[list(M.LEFT_EYE)], lm[list(M.RIGHT_EYE)])
    ke = _odd(0.08 * ipd)
    eyes = cv2.dilate(openings, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (ke, ke)))
    # lens interior below each upper lid (lower lid, bags, wrinkles seen through the lens)
    for up in (M.RIGHT_EYE_UPPER, M.LEFT_EYE_UPPER):
        chain = lm[list(up)] - down * (0.03 * ipd)
        deep = chain[::-1] + down * ipd
        cv2.fillPoly(eyes, [np.round(np.concatenate([chain, deep])).astype(np.int32)], 1)
    ok = (band > 0) & (eyes == 0)
    skin = float(np.median(dark[ok])) if ok.any() else 128.0
    # thin dark structures, plus wide near-black parts (cat-eye wings wider than the kernel)
    raw = (((ratio > _RATIO) | (dark < _BLACK * skin)) & ok).astype(np.uint8)
    # keep the long pieces (rims, bridge), drop specks
    n, lab, st, _ = cv2.connectedComponentsWithStats(raw, connectivity=8)
    big = np.flatnonzero(np.maximum(st[:, 2], st[:, 3]) >= _MIN_EXTENT_IPD * ipd)
    big = big[big > 0]
    mask = np.isin(lab, big).astype(np.uint8)
    if not mask.any():
        return mask
    kg = _odd(0.1 * ipd)
    near = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kg, kg)))
    # specular glints on the rim and lens (white in every channel) touching the frame: whole
    # blobs, so a glint is never split between the rigid layer and the moving face
    bright = ((dark > max(_GLINT * skin, 200.0)) & (band > 0) & (openings == 0)).astype(np.uint8)
    n, lab = cv2.connectedComponents(bright, connectivity=8)
    touch = np.unique(lab[(near > 0) & (bright > 0)])
    glint = np.isin(lab, touch[touch > 0])
    # grow into the frame's fainter parts (rim edges, the wing's tip) touching it: hysteresis
    # (Canny 1986) on a lower contrast ratio, within 0.1 IPD of the strong pieces
    weak = (((ratio > _RATIO_WEAK) | (dark < _DARK_WEAK * skin)) & ok & (near > 0)).astype(np.uint8)
    n, lab = cv2.connectedComponents(weak | mask, connectivity=8)
    mask = np.isin(lab, np.unique(lab[mask > 0])).astype(np.uint8) & (weak | mask)
    mask[glint] = 1
    # close small gaps and fill small holes (glints on the rim), then grow 2 px for the
    # anti-aliased rim edge and its contact shadow
    kc = _odd(0.06 * ipd)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kc, kc)))
    inv = (1 - mask).astype(np.uint8)
    n, lab, st, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    small = np.flatnonzero(st[:, 4] < (0.15 * ipd) ** 2 * np.pi)
    mask[np.isin(lab, small[small > 0])] = 1
    keep = glint | (mask & (eyes == 0)).astype(bool)
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    mask[(eyes > 0) & ~keep] = 0
    mask[openings > 0] = 0
    return mask


MASK_MAX_IPD = 2 * IPD_REF
"""Above this interpupillary distance (pixels) the frame mask is found on a copy scaled down to it
and scaled back up: the morphology's kernels grow with the face, so a 12-megapixel portrait would
otherwise take ~10 s to analyse for ~0.5 s at this scale."""


def _frame_mask_scaled(image: np.ndarray, lm: np.ndarray, ipd: float) -> np.ndarray:
    """:func:`frame_mask` at full resolution, computed at most at MASK_MAX_IPD."""
    k = MASK_MAX_IPD / max(ipd, 1e-6)
    if k >= 1.0:
        return frame_mask(image, lm, ipd)
    H, W = image.shape[:2]
    small = cv2.resize(image, (max(int(round(W * k)), 1), max(int(round(H * k)), 1)), interpolation=cv2.INTER_AREA)
    m = frame_mask(small, lm * k, ipd * k).astype(np.float32)
    up = cv2.resize(m, (W, H), interpolation=cv2.INTER_LINEAR) > 0.5
    r = _odd(1.0 / k)  # one small-scale pixel of margin for the upsampled edge
    return cv2.dilate(up.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (r, r)))


def detect(image: np.ndarray, lm: np.ndarray, ipd: float, feather: float = 1.0) -> GlassesFrame | None:
    """The portrait's frame layer, or None when it wears no glasses (gate) or none was found."""
    lm = np.asarray(lm, np.float64)[:, :2]
    ok, score, _ = has_glasses(image, lm, ipd)
    if not ok:
        return None
    mask = _frame_mask_scaled(image, lm, ipd)
    if mask.sum() < _MIN_AREA_IPD2 * ipd * ipd:
        return None
    ys, xs = np.nonzero(mask)
    H, W = mask.shape
    pad = int(np.ceil(3 * feather)) + 2
    win = Region(max(int(xs.min()) - pad, 0), max(int(ys.min()) - pad, 0), min(int(xs.max()) + pad + 1, W),
                 min(int(ys.max()) + pad + 1, H))
    m = mask[win.slices()]
    # where the search band cuts the side rims (the lower rims stay with the warp), the rigid
    # layer fades out over FADE IPDs so the rigid and the warped rim cross-fade instead of
    # tearing apart when the face moves non-rigidly (yaw); the faded part is not inpainted
    below, _ = _below_pupils(lm, win)
    cut = _BELOW_EYE_LINE_IPD * ipd
    fade = max(_FADE_IPD * ipd, 1.0)
    ramp = np.clip((cut - below) / fade, 0.0, 1.0)
    core = (m > 0) & (ramp >= 1.0)
    # alpha: the mask with a ~1 px feathered ramp outside it, times the fade; 1 on the core (the
    # plate equals the source wherever alpha < 1, so a still frame composites to the source)
    dist = cv2.distanceTransform((1 - m).astype(np.uint8), cv2.DIST_L2, 3)
    alpha = (np.clip(1.0 - dist / max(feather + 1.0, 1e-3), 0.0, 1.0) * ramp).astype(np.float32)
    alpha[core] = 1.0
    core = core.astype(np.uint8)
    rgb = image[win.slices()].astype(np.float32)
    rgb_a = np.dstack([rgb * alpha[..., None], alpha]).astype(np.float32)
    return GlassesFrame(win=win, rgb_a=rgb_a, core=core, score=score)


def _shifted_detail(patch: np.ndarray, known: np.ndarray, hole: np.ndarray, ipd: float) -> np.ndarray:
    """(h, w, 3) float32 fine skin detail for the ``hole`` pixels of ``patch``: the known skin minus
    its Gaussian low-pass (sigma 0.02 IPD), translated down by one shift D (the hole's 90th-percentile
    vertical run + 2 px) from above, or up by D from below where the pixel D above is not skin."""
    sg = max(0.02 * ipd, 1.0)
    low, kn = normalized_blur(patch, known, sg, eps=1e-3)
    detail = (patch - low) * ((known > 0) & (kn > 0.5))[..., None]
    out = np.zeros_like(patch)
    ys, xs = np.nonzero(hole)
    if len(ys) == 0:
        return out
    above, below = nearest_kept_rows(hole)
    shift = int(np.percentile((below - above - 1)[ys, xs], 90)) + 2
    h = hole.shape[0]
    todo = np.ones(len(ys), bool)
    for sy in (ys - shift, ys + shift):
        ok = todo & (sy >= 0) & (sy < h)
        ok[ok] &= known[sy[ok], xs[ok]] > 0
        out[ys[ok], xs[ok]] = detail[sy[ok], xs[ok]]
        todo &= ~ok
    return out


def face_plate(image: np.ndarray, frame: GlassesFrame, ipd: float) -> np.ndarray:
    """The portrait with the frame inpainted: what the mesh warps behind the rigid frame."""
    win = frame.win
    pad = int(0.15 * ipd) + 3  # context for the fill
    H, W = image.shape[:2]
    big = Region(max(win.x0 - pad, 0), max(win.y0 - pad, 0), min(win.x1 + pad, W), min(win.y1 + pad, H))
    mask = np.zeros(big.shape, np.uint8)
    mask[win.slices_in(big)] = frame.core * 255
    patch = image[big.slices()].astype(np.float32)
    # known pixels: outside the frame and skin-like (a dark lash line or a leftover rim edge next
    # to the frame would otherwise be smeared into the fill)
    dark = patch.min(2)
    known = (mask == 0).astype(np.float32)
    skin = float(np.median(dark[known > 0])) if known.any() else 128.0
    skin_like = (dark > 0.6 * skin) & (dark < 225.0) & (patch[..., 0] >= patch[..., 2])  # not glint, not blue hair
    # isolated specks (single white hairs, JPEG noise) would be copied into conspicuous dots
    med = cv2.medianBlur(np.ascontiguousarray(image[big.slices()]), 5).astype(np.float32)
    skin_like &= np.abs(patch - med).max(2) < 30.0
    known *= skin_like.astype(np.float32)
    fill = np.zeros_like(patch)
    todo = mask > 0
    for sig in (max(0.06 * ipd, 1.5), max(0.15 * ipd, 3.0), max(0.4 * ipd, 6.0)):
        # wide blurs run at a reduced scale (raster.smooth; a 6000 px portrait: 34 s -> <1 s)
        low, den = normalized_blur(patch, known, sig, eps=0.02)
        ok = todo & (den > 0.02)
        fill[ok] = low[ok]
        todo &= ~ok
    fill[todo] = patch[todo]
    # the smooth fill alone reads as a blurred patch where the brows rise off the rim: add the
    # skin's fine grain (detail below ~0.02 IPD), copied by ONE vertical translation from the skin
    # just above the frame (below it where there is none). One shift for the whole frame keeps the
    # grain continuous across columns; mirroring each column about the rim (tried first) put an
    # upside-down copy of the brow under the rim, and runs of different heights made vertical
    # seams: a ghost of the frame once the brows rose
    m = mask > 0
    fill[m] += _DETAIL_GAIN * _shifted_detail(patch, known, m, ipd)[m]
    out = patch.copy()
    out[m] = fill[m]
    plate = image.copy()
    plate[big.slices()] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return plate


def frame_motion(src_lm: np.ndarray, lm: np.ndarray) -> Similarity:
    """The frame's rigid motion from source to target landmarks (478, 2|3): a similarity fit
    (Umeyama 1991) of :data:`FRAME_ANCHORS`."""
    ids = list(FRAME_ANCHORS)
    return fit_similarity(np.asarray(src_lm)[ids, :2], np.asarray(lm)[ids, :2])


def composite(out: np.ndarray, frame: GlassesFrame, head: Similarity) -> None:
    """Draw the frame layer moved by the head's rigid motion onto ``out`` (in place)."""
    H, W = out.shape[:2]
    win = frame.win
    if head.is_identity():
        tgt, layer = win, frame.rgb_a
    else:
        corners = np.array([[win.x0, win.y0], [win.x1, win.y0], [win.x0, win.y1], [win.x1, win.y1]], np.float64)
        c = head.apply(corners)
        x0, y0 = max(int(np.floor(c[:, 0].min())) - 1, 0), max(int(np.floor(c[:, 1].min())) - 1, 0)
        x1, y1 = min(int(np.ceil(c[:, 0].max())) + 2, W), min(int(np.ceil(c[:, 1].max())) + 2, H)
        if x1 <= x0 or y1 <= y0:
            return
        tgt = Region(x0, y0, x1, y1)
        A = head.scale * head.R
        off = A @ np.array([win.x0, win.y0], np.float64) + head.t - np.array([x0, y0], np.float64)
        Mx = np.hstack([A, off[:, None]]).astype(np.float64)
        layer = cv2.warpAffine(frame.rgb_a, Mx, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    a = layer[..., 3:4]
    cur = out[tgt.slices()].astype(np.float32)
    out[tgt.slices()] = np.clip(cur * (1.0 - a) + layer[..., :3] + 0.5, 0, 255).astype(np.uint8)
