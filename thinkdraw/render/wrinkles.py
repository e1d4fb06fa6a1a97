"""Landmark-driven FACS appearance changes (wrinkle shading) drawn on a warped frame.

AU4 (brow lowerer) pulls the inner brows together and down; its appearance change is vertical
furrows and bunching between the brows (Ekman, Friesen & Hager 2002, FACS Manual, AU4). The
intensity is derived from the landmark motion (inner-brow gap shrinking relative to the source,
in interpupillary distances), so the renderer stays landmark-driven: zero motion -> zero overlay.
"""

from __future__ import annotations

import numpy as np

from thinkdraw.render.raster import Region, points_region

INNER_BROWS = (55, 285)  # MediaPipe face-mesh inner brow ends (left, right in the image)
FURROW_FULL_IPD = 0.05  # gap shrink (IPDs) that gives full-strength furrows
FURROW_DARKEN = 0.12  # multiplicative darkening at a furrow's centre line at full strength (a soft fold, not a line)
FURROW_BULGE = 0.06  # brightening of the skin bunched between the furrows at full strength
FURROW_SIGMA_IPD = 0.035  # half-width (Gaussian sigma) of a furrow's shadow, IPDs: narrower reads as a pen mark


def brow_gap(lm: np.ndarray, ipd: float) -> float:
    """Inner-brow distance in IPDs. ``lm``: (N, >=2) pixels."""
    return float(np.linalg.norm(lm[INNER_BROWS[0], :2] - lm[INNER_BROWS[1], :2])) / max(ipd, 1e-6)


def furrow_strength(src_gap: float, lm: np.ndarray, ipd_now: float) -> float:
    """0..1 from how far the inner brows moved together relative to the source."""
    return float(np.clip((src_gap - brow_gap(lm, ipd_now)) / FURROW_FULL_IPD, 0.0, 1.0))


def furrow_gain(px: np.ndarray, py: np.ndarray, lm: np.ndarray, ipd: float,
                strength: float) -> np.ndarray:
    """(h, w) multiplicative gain with two vertical glabellar furrows.

    ``px``, ``py``: (h, w) image x and y of the window's pixels; ``lm`` the target landmarks
    (pixels); ``ipd`` the current interpupillary distance (pixels). Furrows run down from the
    inner-brow line at 1/3 and 2/3 of the gap, a little apart at the top (they follow the
    corrugators' pull toward the nose root). Each is a crease: a soft shadow (Gaussian across, FURROW_SIGMA_IPD
    wide) with the bunched skin between the two furrows lit a little (FURROW_BULGE), so it reads
    as folded skin rather than a drawn line.
    """
    a, b = lm[INNER_BROWS[0], :2], lm[INNER_BROWS[1], :2]
    across = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    down = np.array([-across[1], across[0]])
    if down[1] < 0:
        down = -down
    length, sig = 0.17 * ipd, max(FURROW_SIGMA_IPD * ipd, 0.9)
    mid = (a + b) / 2.0
    dark = np.zeros_like(px)
    for f in (1.0 / 3.0, 2.0 / 3.0):
        top = a + f * (b - a) - down * 0.02 * ipd
        rx, ry = px - top[0], py - top[1]
        along = rx * down[0] + ry * down[1]
        # the furrow leans toward the midline as it runs down (spread 0.15 of its length)
        lean = 0.15 * np.clip(along, 0, length) * np.sign(float((mid - top) @ across))
        acr = rx * across[0] + ry * across[1] - lean
        env = np.clip(along / (0.3 * length), 0, 1) * np.clip((length - along) / (0.5 * length), 0, 1)
        dark = np.maximum(dark, env * np.exp(-0.5 * (acr / sig) ** 2))
    rx, ry = px - mid[0], py - mid[1]
    along = rx * down[0] + ry * down[1]
    acr = rx * across[0] + ry * across[1]
    env = np.clip(along / (0.3 * length), 0, 1) * np.clip((length - along) / (0.5 * length), 0, 1)
    bulge = env * np.exp(-0.5 * (acr / (0.6 * sig + 0.06 * float(np.linalg.norm(b - a)))) ** 2) * (1.0 - dark)
    return 1.0 - FURROW_DARKEN * strength * dark + FURROW_BULGE * strength * bulge


def draw_furrows(out: np.ndarray, lm: np.ndarray, ipd_now: float, strength: float) -> float:
    """Darken AU4 furrows of ``strength`` (:func:`furrow_strength`) on ``out`` (H, W, 3) uint8 in
    place; returns the strength drawn (0 when nothing was)."""
    if strength <= 0.0:
        return 0.0
    H, W = out.shape[:2]
    c = (lm[INNER_BROWS[0], :2] + lm[INNER_BROWS[1], :2]) / 2.0
    r = int(0.3 * ipd_now) + 3
    win = Region(max(int(c[0]) - r, 0), max(int(c[1]) - r, 0), min(int(c[0]) + r, W), min(int(c[1]) + r, H))
    return strength if _shade(out, win, lambda px, py: furrow_gain(px, py, lm, ipd_now, strength)) else 0.0


SHADOW_TINT = np.array([0.8, 1.0, 1.12], np.float32)
"""Per-channel share (R, G, B) of a crease shadow: light scattered under skin keeps shadows warm,
so a fold darkens blue and green more than red (a grey shadow reads as a pencil mark)."""


def _warm(gain: np.ndarray) -> np.ndarray:
    """(h, w) gain -> (h, w, 3): shadows (< 1) tinted warm, highlights (> 1) neutral."""
    d = 1.0 - gain[..., None]
    return np.where(d > 0, 1.0 - d * SHADOW_TINT, 1.0 - d).astype(np.float32)


def _shade(out: np.ndarray, win: Region, gain_of) -> bool:  # noqa: ANN001
    """Multiply the window ``win`` of ``out`` (H, W, 3) uint8 in place by the warm-tinted gain
    ``gain_of(px, py)`` -> (h, w), given the window's pixel grid (px, py: (h, w) float32 image
    x and y). False when the window is empty (off the image)."""
    if win.empty:
        return False
    x0, y0, x1, y1 = win.x0, win.y0, win.x1, win.y1
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    g = gain_of(px, py)
    out[y0:y1, x0:x1] = np.clip(out[y0:y1, x0:x1].astype(np.float32) * _warm(g) + 0.5, 0, 255).astype(np.uint8)
    return True


# AU12 (lip corner puller) with AU6 (cheek raiser) deepens the nasolabial furrow: the skin
# lateral to the line from the nose wing to beyond the lip corner bulges up and out, so the line
# itself darkens (Ekman, Friesen & Hager 2002, FACS Manual, AU12 appearance changes b and c).
NASOLABIAL = ((129, 61, -1.0), (358, 291, 1.0))  # (nose wing, lip corner, image-x side) per side
FOLD_FULL_IPD = 0.06  # lip-corner lift beyond the portrait's own (IPDs) that gives a full fold
FOLD_DARKEN = 0.16  # multiplicative darkening on the fold's centre line at full strength
_FOLD_SAMPLES = 9  # points on each fold curve (polyline for the distance field)


def fold_strength(src_lift: float, lift_now: float) -> float:
    """0..1 from how far the target lifts its lip corners above the portrait's own (IPDs)."""
    return float(np.clip((lift_now - src_lift) / FOLD_FULL_IPD, 0.0, 1.0))


def _fold_curve(lm: np.ndarray, ala: int, corner: int, side: float, ipd: float) -> np.ndarray:
    """(S, 2) pixels: quadratic Bezier from beside the nose wing to below-outside the lip corner."""
    a, c = lm[ala, :2], lm[corner, :2]
    down = c - a
    down = down / max(float(np.linalg.norm(down)), 1e-6)
    out = np.array([-down[1], down[0]])
    if out[0] * side < 0:
        out = -out
    p0 = a + out * 0.04 * ipd
    p2 = c + out * 0.07 * ipd + down * 0.07 * ipd
    p1 = (p0 + p2) / 2.0 + out * 0.05 * ipd  # bows out around the cheek
    s = np.linspace(0.0, 1.0, _FOLD_SAMPLES)[:, None]
    return (1 - s) ** 2 * p0 + 2 * (1 - s) * s * p1 + s**2 * p2


def fold_gain(px: np.ndarray, py: np.ndarray, lm: np.ndarray, ipd: float,
              strength: float) -> np.ndarray:
    """(h, w) multiplicative gain (<= 1) darkening both nasolabial folds.

    ``px``, ``py``: (h, w) image x and y of the window's pixels; ``lm`` target landmarks (pixels);
    ``ipd`` current interpupillary distance (pixels). Gaussian across the curve (sigma 0.018 IPD), faded
    in at the nose and out below the lip corner.
    """
    sig = max(0.018 * ipd, 0.7)
    dark = np.zeros_like(px)
    for ala, corner, side in NASOLABIAL:
        q = _fold_curve(lm, ala, corner, side, ipd).astype(np.float32)
        a, ab = q[:-1], q[1:] - q[:-1]  # (S-1, 2) segments
        rx, ry = px[..., None] - a[:, 0], py[..., None] - a[:, 1]
        tt = np.clip((rx * ab[:, 0] + ry * ab[:, 1]) / np.maximum((ab**2).sum(1), 1e-6), 0.0, 1.0)
        d2 = (rx - tt * ab[:, 0]) ** 2 + (ry - tt * ab[:, 1]) ** 2
        k = np.argmin(d2, axis=-1)
        d2min = np.take_along_axis(d2, k[..., None], -1)[..., 0]
        u = (k + np.take_along_axis(tt, k[..., None], -1)[..., 0]) / (len(q) - 1)  # 0 at nose, 1 at end
        env = np.clip(u / 0.25, 0, 1) * np.clip((1.0 - u) / 0.35, 0, 1)
        dark = np.maximum(dark, env * np.exp(-0.5 * d2min / sig**2))
    return 1.0 - FOLD_DARKEN * strength * dark


def draw_folds(out: np.ndarray, lm: np.ndarray, ipd_now: float, strength: float) -> None:
    """Darken the nasolabial folds on ``out`` (H, W, 3) uint8 in place (smile added)."""
    if strength <= 0.0:
        return
    ids = [i for ala, corner, _ in NASOLABIAL for i in (ala, corner)]
    win = points_region(lm[ids, :2], out.shape[1], out.shape[0], pad=int(0.2 * ipd_now) + 3)
    _shade(out, win, lambda px, py: fold_gain(px, py, lm, ipd_now, strength))


# AU1 (inner brow raiser) + AU2 (outer brow raiser) push the forehead skin up into horizontal
# wrinkles across the forehead, curved higher in the middle with AU1 (Ekman, Friesen & Hager
# 2002, FACS Manual, AU1 and AU2 appearance changes).
BROWS_UPPER = ((70, 63, 105, 66, 107), (300, 293, 334, 296, 336))  # upper brow chains per side
EYE_CORNERS = ((33, 133), (263, 362))  # (outer, inner) eye corners per side
BROW_DORSUM = 197  # nose dorsum point: the brow height's pitch reference
BROW_PITCH = 0.3  # brow-height change per unit of dorsum-height change under a nod (rig, pitch +15 deg:
# 0.32 astronaut, 0.29 grace_hopper), so a nod alone draws no forehead lines
FOREHEAD_TOP = 10  # top of the face mesh on the forehead
LINES_FULL_IPD = 0.075  # brow-height gain (IPDs, brow_height) that gives full-strength lines (AU1 1.0: 0.062)
LINES_DARKEN = 0.12  # multiplicative darkening on a line's centre at full strength
LINE_HEIGHTS = (0.3, 0.5, 0.7)  # line heights, fractions of the brow-to-forehead-top distance


def _height_above_eyes(lm: np.ndarray, ids: tuple[int, ...], up: np.ndarray) -> float:
    """Mean height (pixels, along ``up``) of the points ``ids`` above the four eye corners' centre."""
    return float(((lm[list(ids), :2] - lm[list(sum(EYE_CORNERS, ())), :2].mean(0)) @ up).mean())


def brow_height(lm: np.ndarray, ipd: float) -> float:
    """How high the upper brows sit above the eye corners, in IPDs, with the head's pitch taken out.
    ``lm``: (N, >=2) px.

    The corners, not the upper lids, are the reference: a closing lid (a blink, AU43) must not read
    as raised brows. The brows lie in front of the corners, so a nod moves them in the image as
    well; the nose dorsum (in front too, and still under AU1/AU2) moves with it, and BROW_PITCH
    times its height is taken off."""
    _, up = eye_axes(lm)
    h = _height_above_eyes(lm, sum(BROWS_UPPER, ()), up) - BROW_PITCH * _height_above_eyes(lm, (BROW_DORSUM,), up)
    return h / max(ipd, 1e-6)


def lines_strength(src_height: float, lm: np.ndarray, ipd_now: float) -> float:
    """0..1 from how far the brows rose above the portrait's own (AU1/AU2)."""
    return float(np.clip((brow_height(lm, ipd_now) - src_height) / LINES_FULL_IPD, 0.0, 1.0))


def lines_gain(px: np.ndarray, py: np.ndarray, lm: np.ndarray, ipd: float,
               strength: float) -> np.ndarray:
    """(h, w) multiplicative gain (<= 1) with horizontal forehead lines above the brows.

    ``px``, ``py``: (h, w) image x and y of the window's pixels; ``lm`` target landmarks. Lines
    follow the head's roll (brow-to-forehead direction), bow up in the middle, Gaussian across
    (sigma 0.01 IPD) and fade out beyond the brows' outer ends.
    """
    bl, br = lm[list(BROWS_UPPER[0]), :2].mean(0), lm[list(BROWS_UPPER[1]), :2].mean(0)
    mid = (bl + br) / 2.0
    up = lm[FOREHEAD_TOP, :2] - mid
    height = float(np.linalg.norm(up))
    if height < 1e-3:
        return np.ones_like(px)
    up = up / height
    across = np.array([-up[1], up[0]])
    half = 0.5 * float(np.linalg.norm(br - bl)) + 0.1 * ipd
    rx, ry = px - mid[0], py - mid[1]
    along = rx * up[0] + ry * up[1]
    acr = rx * across[0] + ry * across[1]
    xn = np.clip(np.abs(acr) / half, 0.0, 1.0)
    env = np.clip((1.0 - xn) / 0.35, 0.0, 1.0)
    sig = max(0.01 * ipd, 0.6)
    dark = np.zeros_like(px)
    for f in LINE_HEIGHTS:
        centre = f * height + 0.06 * height * (1.0 - xn**2)
        dark = np.maximum(dark, np.exp(-0.5 * ((along - centre) / sig) ** 2))
    return 1.0 - LINES_DARKEN * strength * env * dark


def draw_lines(out: np.ndarray, lm: np.ndarray, ipd_now: float, strength: float) -> float:
    """Darken AU1+AU2 forehead lines of ``strength`` (:func:`lines_strength`) on ``out`` (H, W, 3)
    uint8 in place; returns the strength drawn (0 when nothing was)."""
    if strength <= 0.0:
        return 0.0
    pts = np.concatenate([lm[list(BROWS_UPPER[0]) + list(BROWS_UPPER[1]), :2], lm[[FOREHEAD_TOP], :2]])
    win = points_region(pts, out.shape[1], out.shape[0], pad=int(0.15 * ipd_now) + 3)
    return strength if _shade(out, win, lambda px, py: lines_gain(px, py, lm, ipd_now, strength)) else 0.0


# AU6 (cheek raiser, orbicularis oculi pars orbitalis) gathers the skin at the outer eye corners
# into crow's-feet wrinkles that radiate from the lateral canthus, and pushes the infraorbital
# skin up (Ekman, Friesen & Hager 2002, FACS Manual, AU6 appearance changes). AU7 (pars palpebralis)
# tightens the lids without them, so the strength comes from the cheek rise, not the lid rise.
OUTER_CANTHI = (33, 263)  # outer eye corners per side (image left, right)
CHEEK_POINTS = ((117, 118, 50), (346, 347, 280))  # cheek-surface points below each eye
CROW_FULL_IPD = 0.05  # cheek rise relative to the outer eye corner (IPDs) that gives full lines
CROW_DARKEN = 0.22  # multiplicative darkening on a line's centre at full strength
CROW_ANGLES = (-28.0, -8.0, 12.0)  # line directions (degrees from the eye's outward axis, + = down)


def eye_axes(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (across: image-left canthus -> image-right canthus, up: toward the forehead)."""
    across = lm[OUTER_CANTHI[1], :2] - lm[OUTER_CANTHI[0], :2]
    across = across / max(float(np.linalg.norm(across)), 1e-6)
    up = np.array([across[1], -across[0]])  # image y points down
    return across, up


def cheek_rise(lm: np.ndarray, ipd: float) -> float:
    """Height of the cheek surface below each eye relative to its outer corner (IPDs, up > 0),
    averaged over both sides. ``lm``: (N, >=2) pixels. Compare values of one face only."""
    _, up = eye_axes(lm)
    h = [float(((lm[list(c), :2] - lm[k, :2]) @ up).mean()) for k, c in zip(OUTER_CANTHI, CHEEK_POINTS)]
    return float(np.mean(h)) / max(ipd, 1e-6)


def crow_strength(src_rise: float, lm: np.ndarray, ipd_now: float) -> float:
    """0..1 from how far the cheeks rose toward the eyes beyond the portrait's own (AU6)."""
    return float(np.clip((cheek_rise(lm, ipd_now) - src_rise) / CROW_FULL_IPD, 0.0, 1.0))


def _ray(px: np.ndarray, py: np.ndarray, start: np.ndarray, outward: np.ndarray, up: np.ndarray,
         deg: float, length: float, fade_out: float) -> tuple[np.ndarray, np.ndarray]:
    """A straight crease from ``start`` (2,) pixels, ``deg`` degrees below ``outward`` (+ = away
    from ``up``), ``length`` pixels long, over the pixel grid (px, py): (envelope, across), each
    shaped like px. The envelope fades in over the first quarter and out over the last
    ``fade_out`` of the length; across is the signed distance from the crease's line (pixels)."""
    th = np.deg2rad(deg)
    d = outward * np.cos(th) - up * np.sin(th)
    rx, ry = px - start[0], py - start[1]
    along = rx * d[0] + ry * d[1]
    env = np.clip(along / (0.25 * length), 0, 1) * np.clip((length - along) / (fade_out * length), 0, 1)
    return env, -rx * d[1] + ry * d[0]


def crow_gain(px: np.ndarray, py: np.ndarray, lm: np.ndarray, ipd: float,
              strength: float, sides: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """(h, w) multiplicative gain (<= 1) with crow's-feet lines fanning out from the outer canthi
    ``sides`` (indices into OUTER_CANTHI; default both).

    Lines start 0.04 IPD beyond the canthus and run 0.2 IPD outward at CROW_ANGLES, thin
    (Gaussian across, sigma 0.009 IPD, at least 0.5 px), strongest in their middle.
    """
    across, up = eye_axes(lm)
    length, sig = 0.2 * ipd, max(0.011 * ipd, 0.6)
    dark = np.zeros_like(px)
    for side in sides:
        k, outward = OUTER_CANTHI[side], (-across, across)[side]
        start = lm[k, :2] + outward * 0.04 * ipd
        for deg in CROW_ANGLES:
            env, acr = _ray(px, py, start, outward, up, deg, length, 0.45)
            dark = np.maximum(dark, env * np.exp(-0.5 * (acr / sig) ** 2))
    return 1.0 - CROW_DARKEN * strength * dark


def draw_crows_feet(out: np.ndarray, lm: np.ndarray, ipd_now: float, strength: float) -> float:
    """Darken AU6 crow's feet of ``strength`` (:func:`crow_strength`) on ``out`` (H, W, 3) uint8 in
    place; returns the strength drawn (0 when nothing was)."""
    if strength <= 0.0:
        return 0.0
    # one window per eye: the lines reach 0.24 IPD (+ their blur) beyond the canthus, outward only
    drawn = False
    for side, k in enumerate(OUTER_CANTHI):
        win = points_region(lm[[k], :2], out.shape[1], out.shape[0], pad=int(0.3 * ipd_now) + 3)
        drawn |= _shade(out, win, lambda px, py, side=side: crow_gain(px, py, lm, ipd_now, strength, (side,)))
    return strength if drawn else 0.0


# AU9 (nose wrinkler, levator labii superioris alaeque nasi) pulls the skin along the sides of the
# nose up toward its root: wrinkles appear along the sides of the nose and across its root, and
# the infraorbital triangle rises (Ekman, Friesen & Hager 2002, FACS Manual, AU9 appearance changes
# a-b). The strength comes from the lateral nasal walls rising against the nasal bone (the dorsum
# does not move). AU6 lifts those walls too, with the cheeks (there the lines are crow's feet, not
# nose lines), so half of the cheek rise is discounted: AU6 alone, and AU6 with AU12, give none.
# Measured on the canonical rig (IPDs of wall rise, cheek rise): AU9 0.049, 0.000; AU6 0.033,
# 0.068; AU6 + AU12 0.035, 0.084; a 20 degree pitch changes the wall rise by 0.003.
NASAL_WALLS = (122, 188, 174, 351, 412, 399)  # upper lateral nasal wall, both sides
NASAL_DORSUM = (6, 197, 195)  # on the nasal bone and cartilage: still under AU9
NOSE_ROOT = (168, 6, 197)  # nasion to mid-dorsum, top to bottom
NOSE_FULL_IPD = 0.045  # wall rise beyond the portrait's own (IPDs) that gives full-strength lines
NOSE_START_IPD = 0.007  # wall rise below which none are drawn (AU1's field reaches the walls by 0.004)
NOSE_DARKEN = 0.13  # multiplicative darkening on a fold's centre line at full strength
NOSE_BULGE = 0.05  # brightening of the skin bunched just above each fold at full strength
NOSE_SIGMA_IPD = 0.013  # half-width (Gaussian sigma) of a fold's shadow, IPDs: narrower reads as a pen mark
NOSE_SIDE_ANGLES = (20.0, 42.0)  # side folds, degrees below the eye line, running outward
NOSE_CHEEK_SHARE = 0.5  # share of the cheek rise (AU6) taken off the wall rise


def nasal_wall_rise(lm: np.ndarray, ipd: float) -> float:
    """Height of the lateral nasal walls relative to the dorsum (IPDs, up > 0). ``lm``: (N, >=2)
    pixels. Compare values of one face only."""
    _, up = eye_axes(lm)
    return float((lm[list(NASAL_WALLS), :2].mean(0) - lm[list(NASAL_DORSUM), :2].mean(0)) @ up) / max(ipd, 1e-6)


def nose_strength(src_wall: float, src_cheek: float, lm: np.ndarray, ipd_now: float) -> float:
    """0..1 from how far the nasal walls rose beyond the portrait's own (AU9), less the share of
    a cheek rise (AU6) beyond the portrait's own that lifts them too. A cheek that falls (a smiling
    photo neutralised) takes nothing off and adds nothing."""
    wall = nasal_wall_rise(lm, ipd_now) - src_wall
    cheek = max(cheek_rise(lm, ipd_now) - src_cheek, 0.0)
    rise = wall - NOSE_CHEEK_SHARE * cheek
    return float(np.clip((rise - NOSE_START_IPD) / (NOSE_FULL_IPD - NOSE_START_IPD), 0.0, 1.0))


def nose_gain(px: np.ndarray, py: np.ndarray, lm: np.ndarray, ipd: float,
              strength: float) -> np.ndarray:
    """(h, w) multiplicative gain with AU9 folds on the nose.

    Across the root: two short creases between the nasion (168) and mid-dorsum (197), bowed up at
    the midline. Along each side: folds that start at the dorsum's edge (0.03 IPD off the midline)
    and run 0.1 IPD outward and down at NOSE_SIDE_ANGLES, the upper one flatter (the skin is
    gathered toward the root). Each is a soft shadow (Gaussian across, NOSE_SIGMA_IPD) with the
    bunched skin just above it lit a little (NOSE_BULGE), faded at both ends, so it reads as folded
    skin rather than a drawn line.
    """
    across, up = eye_axes(lm)
    sig = max(NOSE_SIGMA_IPD * ipd, 0.7)
    top, mid, low = (lm[i, :2] for i in NOSE_ROOT)
    dark = np.zeros_like(px)
    bright = np.zeros_like(px)

    def fold(env: np.ndarray, off: np.ndarray) -> None:  # off: signed distance across, + = below
        np.maximum(dark, env * np.exp(-0.5 * (off / sig) ** 2), out=dark)
        np.maximum(bright, env * np.exp(-0.5 * ((off + 2.0 * sig) / sig) ** 2), out=bright)

    half = 0.05 * ipd
    for f in (0.45, 0.85):  # creases across the root, at fractions of the nasion-to-dorsum run
        c = top + f * (low - top)
        rx, ry = px - c[0], py - c[1]
        acr = rx * across[0] + ry * across[1]
        hgt = rx * up[0] + ry * up[1] - 0.01 * ipd * (1.0 - np.clip(np.abs(acr) / half, 0, 1) ** 2)
        fold(0.7 * np.clip((half - np.abs(acr)) / (0.5 * half), 0, 1), -hgt)
    length = 0.1 * ipd
    for side in (-1.0, 1.0):
        outward = across * side
        for k, deg in enumerate(NOSE_SIDE_ANGLES):
            start = mid + k * 0.4 * (low - mid) + outward * 0.03 * ipd
            env, acr = _ray(px, py, start, outward, up, deg, length, 0.5)
            fold(env, acr if side > 0 else -acr)  # + = below the fold on either side
    return 1.0 - NOSE_DARKEN * strength * dark + NOSE_BULGE * strength * bright * (1.0 - dark)


def draw_nose_lines(out: np.ndarray, lm: np.ndarray, ipd_now: float, strength: float) -> float:
    """Shade AU9 nose folds of ``strength`` (:func:`nose_strength`) on ``out`` (H, W, 3) uint8 in
    place; returns the strength drawn (0 when nothing was)."""
    if strength <= 0.0:
        return 0.0
    win = points_region(lm[list(NOSE_ROOT) + list(NASAL_WALLS), :2], out.shape[1], out.shape[0], pad=int(0.15 * ipd_now) + 3)
    return strength if _shade(out, win, lambda px, py: nose_gain(px, py, lm, ipd_now, strength)) else 0.0
