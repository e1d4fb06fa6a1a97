"""Procedural mouth interior: cavity, upper and lower teeth, tongue; shaded from portrait colours.

The interior is a pure function of the target landmarks and the head's rigid motion (no random
numbers), so every frame with the same landmarks gets the same pixels. Upper teeth hang from the
skull (they follow the head's rigid motion, not the upper lip); lower teeth and tongue follow the
jaw (the chin's displacement). The lips occlude both: the layer is visible only inside the target's
inner lip ring. Tooth proportions from average adult dental widths (central incisor ~8.5 mm,
lateral ~6.5 mm, canine ~7.5 mm; interpupillary distance ~63 mm), projected on a circular arch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from matplotlib.path import Path

from thinkdraw.face.rig import GUM_LINE
from thinkdraw.render import focus as FO
from thinkdraw.render.geometry import Similarity, between_chains_alpha, chain_frame
from thinkdraw.utils.curves import smoothstep

# Cumulative tooth boundaries along the dental arch from the midline, in interpupillary distances.
_UPPER_BOUNDS = np.array([0.0, 0.135, 0.238, 0.357, 0.47, 0.58, 0.70, 0.85, 1.0], dtype=np.float32)
_LOWER_BOUNDS = np.array([0.0, 0.085, 0.18, 0.29, 0.40, 0.51, 0.64, 0.80, 1.0], dtype=np.float32)
_ARCH_RADIUS = 0.42
"""Dental arch radius in interpupillary distances (projection foreshortens side teeth)."""
# Fixed per-tooth brightness, midline outward (central incisor, lateral incisor, canine, premolars,
# molars): canines carry thicker dentin and look a little darker and warmer than the incisors.
_TOOTH_TONE = np.array([1.0, 0.975, 0.94, 0.96, 0.95, 0.945, 0.94, 0.94], dtype=np.float32)
# Fixed left/right asymmetry per tooth (no two real teeth match); sign flips with the side.
_TOOTH_SIDE = np.array([0.008, -0.012, 0.01, -0.008, 0.008, -0.006, 0.0, 0.0], dtype=np.float32)
# Per-tooth incisal profile and gum, midline outward (IPD; 1 mm ~ 0.016 IPD at a 63 mm IPD). From
# average adult crown anatomy (e.g. Wheeler's Dental Anatomy): upper lateral incisors ~1 mm shorter
# than the centrals; canines and premolars end in a pointed buccal cusp; interdental papillae reach
# ~2-3 mm from the gingival zenith toward the contact. Contacts are shared by two teeth, so the
# papilla tables are per boundary (index i = the contact on the midline side of tooth i).
_UPPER_SHORT = np.array([0.0, 0.014, 0.002, 0.008, 0.012, 0.016, 0.02, 0.02], dtype=np.float32)
_UPPER_CUSP = np.array([0.0, 0.0, 0.014, 0.008, 0.006, 0.004, 0.004, 0.004], dtype=np.float32)
_UPPER_PAPILLA = np.array([0.036, 0.036, 0.034, 0.032, 0.03, 0.028, 0.025, 0.025, 0.025], dtype=np.float32)
_LOWER_SHORT = np.array([0.0, 0.0, 0.0, 0.004, 0.006, 0.008, 0.01, 0.01], dtype=np.float32)
_LOWER_CUSP = np.array([0.0, 0.0, 0.008, 0.005, 0.005, 0.003, 0.003, 0.003], dtype=np.float32)
_LOWER_PAPILLA = np.array([0.028, 0.028, 0.028, 0.026, 0.024, 0.022, 0.02, 0.02, 0.02], dtype=np.float32)
GUM_ARC = GUM_LINE[1]
"""The upper gum line rises this much times lateral^2 (IPD) toward the canines: the gingival zeniths'
smile arc, face/rig.py's GUM_LINE (how far a raised upper lip can rise), so the two share one line."""
_LOWER_GUM = 0.06
"""Depth of lower gum drawn below the lower crowns (IPD); seen only when the lower lip is pulled down."""
_CORRIDOR = 0.8
"""Light lost at the mouth corners (buccal corridor): the cheeks close around the lateral teeth."""
_SHADOW_WARMTH = np.array([0.0, 0.2, 0.4], np.float32)
"""Extra loss of green and blue per unit of shadow (light bounced off red-pink tissue)."""
_LOWER_ROW = (0.86 * (1.0 - 0.14 * _SHADOW_WARMTH)).astype(np.float32)
"""Lower teeth sit behind and below the upper row (overjet) and get ~15 % less, warmer, light."""

LIP_CONTACT_HALF = 0.014
"""Half-width (IPD; ~1 mm) of the dark line where closed lips meet (draw_lip_contact)."""
LIP_CONTACT_MIN_HALF_PX = 0.85
"""Its least half-width (pixels), on a small face. At 0.6 px the line was 1.2 px wide, and where its
centre fell between two pixel rows each row got 60 % of it: two grey rows, not a line (the
astronaut's neutral mouth: 0.86 of the lips' brightness there, against 0.75 on a row's centre)."""
LIP_CONTACT_ALPHA = 0.7
"""Its opacity at the middle of the mouth. Lips closed from a toothy smile are the smile's
stretched, blanched vermilion; without a clear stomion line they read as one pale band (at 0.55
over 0.012 IPD it was barely visible on the astronaut: no mouth, only a pink smear). Darker costs
dlib identity: astronaut neutral 0.296 at the old line, 0.308 here, 0.323 at 0.8 over 0.016 IPD."""
LIP_CONTACT_TAPER = 0.2
"""Share of each half of the mouth (corner to midline) over which the line thins and fades out."""
LIP_CONTACT_SHADE = np.array([0.5, 0.33, 0.35], np.float32)
"""Its colour as a multiple of the portrait's lip colour: the shadow in the lips' contact fold."""


@dataclass(frozen=True)
class MouthStyle:
    """Colours (RGB floats 0-255) and sizes (interpupillary distances) of the interior."""

    teeth: np.ndarray  # off-white, from the portrait's sclera / skin brightness
    gum: np.ndarray  # pink, from the lip colour
    tongue: np.ndarray  # red-pink, from the lip colour
    cavity: np.ndarray  # very dark red-brown
    upper_height: float = 0.17  # visible crown height of the upper central incisor
    lower_height: float = 0.13  # visible crown height of the lower incisors
    upper_drop: float = 0.035  # upper incisal edge below the resting lips' contact line
    lower_show: float = 0.06  # lower incisal edge above the resting lips' contact line (moves with the jaw)
    overbite: float = 0.03  # least vertical overlap of the rows without a jaw drop (normal overbite: 2-3 mm)


LUMA = np.array([0.299, 0.587, 0.114], np.float32)
"""Rec. 601 luma weights."""


TEETH_MAX_SATURATION = 0.3
"""Most HSV saturation of a pixel counted as tooth in an open mouth (tooth_pixels): lips, gums and
tongue measure 0.35-0.6 there, teeth 0.05-0.25."""


def tooth_pixels(pix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The teeth among an open mouth's pixels ``pix`` (N, 3) float32 RGB: the near-grey ones (HSV
    saturation under TEETH_MAX_SATURATION; lips, gums and tongue are red) brighter than half the
    opening's 95th percentile of luma (the cavity is dark). (K, 3) and their (K,) luma."""
    luma = pix @ LUMA
    hi, lo = pix.max(1), pix.min(1)
    grey = ((hi - lo) < TEETH_MAX_SATURATION * np.maximum(hi, 1.0)) & (luma > 0.5 * np.percentile(luma, 95))
    return pix[grey], luma[grey]


def front_teeth_colour(teeth: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """(3,) colour of the front teeth among tooth pixels ``teeth`` (K, 3) with luma ``luma`` (K,)
    (:func:`tooth_pixels`): the median of the brightest quarter, least blurred with the lips and
    least shaded."""
    return np.median(teeth[luma >= np.percentile(luma, 75)], 0)


def make_style(skin: np.ndarray, lip: np.ndarray, sclera: np.ndarray | None,
               own_teeth: np.ndarray | None = None) -> MouthStyle:
    """Mouth colours from the portrait's skin, lip and sclera colours (RGB 0-255) and, when the
    photo shows teeth, their colour ``own_teeth`` (RGB, Renderer._own_teeth): the teeth are never
    drawn darker than the photo's own (a dark face with shaded eyes gave grey teeth beside its own
    bright ones), nor more tinted than them (a ruddy face's cast gave tan teeth beside its own white
    ones)."""
    skin = np.asarray(skin, np.float32)
    lip = np.asarray(lip, np.float32)
    if sclera is None:
        bright = np.full(3, min(255.0, float(skin.mean()) * 1.3), np.float32)
    else:
        bright = np.asarray(sclera, np.float32)
    own = None if own_teeth is None else np.asarray(own_teeth, np.float32)
    own_lum = 0.0 if own is None else float(own @ LUMA)
    # brightness from the portrait's whites (sclera), never darker than slightly above the skin;
    # hue fixed to a warm off-white so coloured casts of the sclera estimate do not tint the teeth
    skin_lum = float(skin @ LUMA)
    lum = float(np.clip(max(float(bright @ LUMA), 1.3 * skin_lum, own_lum), 60.0, 240.0))
    # hue: the photo's colour cast (skin chroma, damped) on a slightly warm white, so teeth sit in
    # the same light as the face instead of looking cyan beside orange skin; or the photo's own
    # teeth where they are the less tinted (lips blur pink into a small opening's teeth)
    cast = np.clip(skin / max(skin_lum, 1.0), 0.2, 3.0) ** 0.35
    tint = (cast * np.array([1.0, 0.98, 0.94])).astype(np.float32)
    if own is not None and own_lum > 1.0 and _saturation(own) < _saturation(tint):
        tint = own
    teeth = np.clip(lum / float(tint @ LUMA) * tint, 0, 255)
    gum = np.clip(0.7 * lip + 0.3 * np.array([200.0, 90.0, 100.0]), 0, 255)
    tongue = np.clip(0.75 * lip + 0.25 * np.array([190.0, 80.0, 90.0]), 0, 255) * 0.92
    cavity = np.clip(0.3 * lip * np.array([1.0, 0.6, 0.6]), 0, 255) + np.array([8.0, 2.0, 3.0])
    return MouthStyle(teeth.astype(np.float32), gum.astype(np.float32), tongue.astype(np.float32), cavity.astype(np.float32))


def _saturation(rgb: np.ndarray) -> float:
    """HSV saturation of one colour (3,)."""
    return float((rgb.max() - rgb.min()) / max(float(rgb.max()), 1e-6))


@dataclass(frozen=True)
class _Opening:
    """Per-pixel geometry of the lips' opening, for the pixels it covers (flat arrays)."""

    ys: np.ndarray  # row / column of each covered pixel in the image
    xs: np.ndarray
    alpha: np.ndarray  # anti-aliased coverage 0..1
    side: np.ndarray  # -1 at one corner, 0 midway, +1 at the other corner
    d_up: np.ndarray  # distance below the upper inner lip (pixels, approximately Euclidean)
    d_lo: np.ndarray  # distance above the lower inner lip (pixels)


@dataclass(frozen=True)
class _Layer:
    """One painted surface on a subset ``sel`` of the opening's pixels: coverage and colour."""

    sel: np.ndarray  # (M,) indices into the opening's pixels
    cover: np.ndarray  # (M,) 0..1
    col: np.ndarray  # (M, 3) RGB float


def _opening(inner_upper: np.ndarray, inner_lower: np.ndarray, box: tuple[int, int, int, int],
             feather: float) -> _Opening | None:
    """Coverage and distances of the pixels in ``box`` (x0, y0, x1, y1) between the inner lips
    (distances along the lips' normals: the anti-aliasing ramp keeps ~1 px where an edge turns steep)."""
    x0, y0, x1, y1 = box
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    a, d_up, d_lo, _ = between_chains_alpha(inner_upper, inner_lower, px, py, feather, along_normal=True)
    idx = np.flatnonzero(a > 0)
    if idx.size == 0:
        return None
    ys, xs = np.divmod(idx, x1 - x0)
    o, ex, _ = chain_frame(inner_upper)
    ends = np.concatenate([inner_upper, inner_lower]) @ ex - float(o @ ex)
    u0, u1 = float(ends.min()), float(ends.max())
    u = (xs + x0 - o[0]) * ex[0] + (ys + y0 - o[1]) * ex[1]
    side = (2.0 * u - (u0 + u1)) / max(u1 - u0, 1e-3)
    return _Opening(ys + y0, xs + x0, a.ravel()[idx], side.astype(np.float32), d_up.ravel()[idx], d_lo.ravel()[idx])


def _corridor(a: np.ndarray) -> np.ndarray:
    """(N, 3) light per colour channel at |side| ``a`` (N,) across the opening (0 middle, 1 corner):
    the buccal corridor's loss (_light), shadows warm (render_mouth)."""
    light = (1.0 - _CORRIDOR * (a * a) * np.sqrt(a))[:, None]
    return light * (1.0 - (1.0 - light) * _SHADOW_WARMTH)


def corridor_relight(out: np.ndarray, inner_upper: np.ndarray, inner_lower: np.ndarray, crop: float,
                     blur: float = 0.0) -> None:
    """Relight the photo's own interior shown in a narrower mouth, inside the target inner lips
    ``inner_upper``, ``inner_lower`` (11, 2) pixels, in ``out`` (H, W, 3) uint8 in place.

    A mouth narrower than the photo's shows the middle ``crop`` (0, 1] of the photo's opening
    (Renderer.mouth_crop): teeth the photo lit from near its middle now reach the corners, where
    the cheeks close round them. Each pixel at |side| s gets the corridor light of s over that of
    crop * s, the light its teeth had in the photo (_light's falloff). The pixels are those whose
    centres the inner lip ring encloses, the ones the warp's mouth hole fills (an anti-aliased
    coverage left a bright column along a blunt corner, half relit). ``blur`` (pixels): that mask
    blurred to the photo's focus (focus.added_blur); sharp, a blurred photo's blunt corners ended
    on a crisp dark rim."""
    if crop >= 1.0:
        return
    H, W = out.shape[:2]
    r = int(np.ceil(3.0 * blur)) if blur >= FO.MIN_BLUR else 0
    ring = np.concatenate([inner_upper, inner_lower[::-1]]).astype(np.float64)
    x0, y0 = np.maximum(np.floor(ring.min(0)).astype(int) - 1 - r, 0)
    x1, y1 = np.minimum(np.ceil(ring.max(0)).astype(int) + 2 + r, (W, H))
    if x1 <= x0 or y1 <= y0:
        return
    ys, xs = (g.ravel() for g in np.mgrid[y0:y1, x0:x1])
    inside = Path(ring).contains_points(np.stack([xs, ys], 1))
    if not inside.any():
        return
    weight = FO.soft_mask(inside.reshape(y1 - y0, x1 - x0).astype(np.float32), blur).ravel() if r else None
    sel = np.flatnonzero(inside if weight is None else weight > 1e-3)
    ys, xs = ys[sel], xs[sel]
    o, ex, _ = chain_frame(np.asarray(inner_upper, np.float64))
    ends = ring @ ex - float(o @ ex)
    u = (xs - o[0]) * ex[0] + (ys - o[1]) * ex[1]
    a = np.abs((2.0 * u - (ends.min() + ends.max())) / max(float(np.ptp(ends)), 1e-3)).clip(0, 1).astype(np.float32)
    gain = _corridor(a) / _corridor(np.float32(crop) * a)
    if weight is not None:
        gain = 1.0 + (gain - 1.0) * weight[sel, None]
    out[ys, xs] = np.clip(out[ys, xs].astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)


def _light(op: _Opening, k: float) -> np.ndarray:
    """Ambient light reaching the interior (0..1): a mouth is lit only through its front opening.

    Buccal corridor: toward the corners the cheeks wrap the lateral teeth and the opening subtends
    ever less of their sky, so light falls roughly as |side|^2.5 (fit to the astronaut's own smile,
    whose teeth lose ~35 % of their brightness two thirds of the way out and ~75 % at the corners).
    Lip overhang: the lips shade a band ~0.05 IPD wide inside their edge, the upper lip more (key
    light from above).
    """
    a = np.abs(op.side)
    corridor = 1.0 - _CORRIDOR * (a * a) * np.sqrt(a)
    ru = 1.0 - np.clip(op.d_up / max(0.045 * k, 1.0), 0, 1)
    rl = 1.0 - np.clip(op.d_lo / max(0.04 * k, 1.0), 0, 1)
    return corridor * (1.0 - 0.3 * ru * ru) * (1.0 - 0.22 * rl * rl)


@dataclass(frozen=True)
class _Teeth:
    """Where each pixel falls on a row of teeth (flat arrays, one entry per pixel)."""

    i: np.ndarray  # tooth index from the midline (0 central incisor, 1 lateral, 2 canine, ...)
    t: np.ndarray  # 0..1 across the tooth, midline side to distal side
    c: np.ndarray  # 2t - 1: -1 .. 1 across the tooth
    width: np.ndarray  # the tooth's projected width, pixels


@dataclass(frozen=True)
class _Arch:
    """Where each pixel's column falls on the dental arch (flat arrays): the arch is a circle of
    radius _ARCH_RADIUS (IPD) through the central incisors, seen under the head's yaw."""

    s: np.ndarray  # arc length from the midline (IPD), indexes the tooth boundaries
    side: np.ndarray  # +1 / -1: which half of the arch (0 on the midline)
    lateral: np.ndarray  # the point's sideways position in the head (IPD): R sin(theta)
    fore: np.ndarray  # foreshortening of the arch surface: cosine of its angle to the image plane
    inside: np.ndarray  # how far inside the arch's silhouette (IPD, along the image row)

    def take(self, sel: np.ndarray) -> "_Arch":
        """The entries ``sel`` of every field."""
        return _Arch(*(getattr(self, f.name)[sel] for f in dataclasses.fields(self)))


def _arch(x: np.ndarray, sin_yaw: float) -> _Arch:
    """Arch coordinates of image column ``x`` (IPD from the incisor midline, head frame).

    A point at angle theta on the arch lies at R sin(theta) sideways and R (1 - cos(theta)) behind
    the incisors; under a yaw psi (sin psi > 0: the image-right half turns away) it projects to
    x = R (sin(theta + psi) - sin psi), so u = x / R + sin psi = sin(theta + psi): theta = asin(u) - psi,
    the silhouettes lie at u = +-1 and the surface is foreshortened by sqrt(1 - u^2). The half
    turned toward the camera shows more teeth, the other fewer and narrower."""
    sin_yaw = float(np.clip(sin_yaw, -0.7, 0.7))
    u = x / _ARCH_RADIUS + np.float32(sin_yaw)
    theta = np.arcsin(np.clip(u, -1, 1)) - np.float32(np.arcsin(sin_yaw))
    return _Arch(_ARCH_RADIUS * np.abs(theta), np.sign(theta), _ARCH_RADIUS * np.sin(theta),
                 np.sqrt(np.clip(1 - u * u, 0.05, 1)), _ARCH_RADIUS * (0.98 - np.abs(u)))


def _teeth_at(arch: _Arch, bounds: np.ndarray, width_px: float) -> _Teeth:
    """Tooth coordinates on the arch: arc length indexes the tooth boundaries."""
    i = np.clip(np.searchsorted(bounds, arch.s, side="right") - 1, 0, len(bounds) - 2)
    lo, hi = bounds[i], bounds[i + 1]
    t = (arch.s - lo) / (hi - lo)
    return _Teeth(i, t, 2 * t - 1, (hi - lo) * width_px * arch.fore)


def _turning(arch: _Arch, k: float) -> np.ndarray:
    """Light on the arch as it turns away from the camera and the frontal key light (Lambert on the
    labial surface, with the mouth's ambient), times a ~3 px fade at the silhouette: the last
    visible teeth recede into the buccal corridor instead of ending on a bright vertical edge."""
    edge = np.clip(arch.inside * k / 3.0, 0, 1)
    return (0.35 + 0.65 * arch.fore) * edge * (2.0 - edge)


def _scallop(teeth: _Teeth, papilla: np.ndarray) -> np.ndarray:
    """How far (IPD) the gum reaches onto the crown at each pixel: 0 at the tooth's gingival zenith,
    ``papilla[j]`` at contact j (the interdental papilla fills the embrasure; ``papilla`` has one
    entry per contact, tooth i lies between contacts i and i + 1).
    The margin is a rounded arch over each crown and comes to a point between them (|c|^1.5)."""
    a = np.abs(teeth.c)
    return np.where(teeth.c < 0, papilla[teeth.i], papilla[teeth.i + 1]) * a * np.sqrt(a)


def _incisal_profile(teeth: _Teeth, short: np.ndarray, cusp: np.ndarray) -> np.ndarray:
    """How far (IPD) the incisal edge sits above the row's common edge: per-tooth crown length
    (lateral incisors ~1 mm shorter than centrals and canines), the canine's and premolars' pointed
    cusp (the edge rises linearly from the cusp tip), and rounded mesial/distal corners."""
    c2 = teeth.c * teeth.c
    corner = 0.006 * (c2 * c2 * c2) * (1.0 + 0.3 * np.minimum(teeth.i, 3))
    return short[teeth.i] + cusp[teeth.i] * np.abs(teeth.c) + corner


def _teeth_row(side: np.ndarray, teeth: _Teeth, neck: np.ndarray) -> np.ndarray:
    """Per-pixel tooth shading on the teeth ``teeth`` (``side``: which half of the arch).

    ``neck``: 0 at the incisal edge .. 1 at the gum line. Shading combines a fixed per-tooth tone,
    the crown's convex labial face (it turns away from the frontal light toward its mesial and
    distal edges) and a thin, soft interproximal line whose contrast fades as the arch turns the
    contacts away from the camera. Crowns taper toward the gum (the neck is ~70 % of the crown's
    width), so the line widens into an embrasure there (the papilla covers most of it).
    """
    i, t, c, width = teeth.i, teeth.t, teeth.c, teeth.width
    n3 = neck * neck * neck
    gap_px = np.minimum(t, 1 - t) * width - 0.15 * n3 * width
    g = np.clip(1.0 - gap_px / 0.8, 0, 1)
    # a photo blurs sub-pixel detail: narrow (small or distant) teeth show fainter contact lines
    contrast = (0.1 + 0.25 * n3) * np.clip(width / 8.0, 0.3, 1.0)
    tone = _TOOTH_TONE[i] + side * _TOOTH_SIDE[i]
    c2 = c * c
    shade = tone * (1.0 - 0.04 * c2 - 0.1 * c2 * c2) * (1.0 - contrast * g * g)
    return shade.astype(np.float32)


def _mix(col: np.ndarray, layer: np.ndarray, w: np.ndarray) -> None:
    """In place: ``col`` (N, 3) <- col over-painted by ``layer`` (N, 3) with coverage ``w`` (N,)."""
    col += (layer - col) * w[:, None]


def _cavity(style: MouthStyle, op: _Opening) -> np.ndarray:
    """Cavity colour (N, 3): palate and throat darkest (furthest from the opening), floor warmer."""
    t = np.clip(op.d_up / np.maximum(op.d_up + op.d_lo, 1.0), 0, 1)  # 0 at the upper lip .. 1 at the lower
    throat = np.clip(1.0 - 2.5 * op.side * op.side, 0, 1) * (1.0 - t)
    shade = (0.55 + 0.45 * t) * (1.0 - 0.3 * throat)
    return style.cavity * shade[:, None]


def _tongue(style: MouthStyle, lx: np.ndarray, ly: np.ndarray, k: float, open_ipd: float) -> _Layer:
    """The tongue in the jaw frame (IPD, lower incisal edge at y=0).

    At rest the tongue tip lies behind the lower incisors, below their edge; the dorsum rises into
    view only as the jaw opens (we then look down onto it), so a slightly open mouth hides it.
    The wet dorsum is lit at its front, darker toward the throat, with a shallow median groove.
    """
    rise = float(np.clip(0.3 * (open_ipd - 0.2), -0.03, 0.22))
    dt = ly + rise - 0.9 * lx * lx  # depth below the dorsum's silhouette
    sel = np.flatnonzero(dt > 0)
    lx, dt = lx[sel], dt[sel]
    cover = np.clip(dt * k / 1.3, 0, 1)
    front = np.clip(dt / 0.12, 0, 1)
    shade = 0.3 + 0.7 * front * (2.0 - front)
    groove = np.clip(1.0 - np.abs(lx) / 0.04, 0, 1)
    shade *= 1.0 - 0.14 * groove * groove * np.clip(dt / 0.03, 0, 1) * (1.0 - 0.6 * front)
    spot = np.clip(1.0 - (lx / 0.14) ** 2 - ((dt - 0.06) / 0.04) ** 2, 0, 1)
    col = style.tongue * shade[:, None]
    _mix(col, np.broadcast_to(np.float32(235.0), col.shape), 0.25 * spot * spot)
    return _Layer(sel, cover, col)


def _enamel_edge(style: MouthStyle) -> np.ndarray:
    """Colour of the translucent incisal enamel: a grey-blue mix of tooth and the dark behind it."""
    cool = np.array([0.9, 0.95, 1.02], np.float32)
    return (0.55 * style.teeth * cool + 0.45 * style.cavity).astype(np.float32)


def _teeth_colour(style: MouthStyle, shade: np.ndarray, cervical: np.ndarray, incisal: np.ndarray) -> np.ndarray:
    """Tooth colour (N, 3): shaded enamel, warmer/darker at the neck, translucent at the edge.

    The enamel thins toward the gum (cervical third), letting the yellower dentin show; the incisal
    edge has no dentin behind it and takes on the dark cavity's colour (translucency).
    """
    col = style.teeth * (shade * (1.0 - 0.1 * cervical))[:, None]
    col *= (1.0 - np.float32(0.06) * cervical[:, None] * np.array([0.0, 0.4, 1.0], np.float32))
    _mix(col, _enamel_edge(style) * shade[:, None], 0.32 * incisal)
    return col


def _gum(col: np.ndarray, style: MouthStyle, past_margin: np.ndarray, past_zenith: np.ndarray, k: float) -> None:
    """In place on tooth colours ``col`` (N, 3): paint the gum where a pixel lies past the gum
    margin (``past_margin`` > 0, IPD, measured from the crown toward the gum), anti-aliased over
    ~1 px; the gum darkens toward where it meets the crown (``past_zenith``: IPD past the
    gingival zenith line)."""
    gum = np.clip(past_margin * k / 0.9 + 0.5, 0, 1)
    gum_shade = 0.8 + 0.2 * np.clip(-past_zenith * k / 3.0 + 1.0, 0, 1)
    _mix(col, style.gum * gum_shade[:, None], gum)


def _upper_teeth(style: MouthStyle, hx: np.ndarray, hy: np.ndarray, k: float, sin_yaw: float) -> _Layer:
    """Upper teeth and gum in the skull frame (IPD, origin on the resting lips' contact line)."""
    arch = _arch(hx, sin_yaw)
    gum_line = style.upper_drop - GUM_ARC * arch.lateral ** 2 - style.upper_height  # gingival zeniths (smile arc)
    # the incisal profile only shortens a crown: the common edge bounds the pixels worth shading
    reach = np.minimum(gum_line + style.upper_height - hy, arch.inside)
    sel = np.flatnonzero(reach * k > -0.5)
    arch = arch.take(sel)
    hy, gum_line = hy[sel], gum_line[sel]
    teeth = _teeth_at(arch, _UPPER_BOUNDS, k)
    neck = np.clip(1.0 - (hy - gum_line) / (0.5 * style.upper_height), 0, 1)
    shade = _teeth_row(arch.side, teeth, neck)
    edge = gum_line + style.upper_height - _incisal_profile(teeth, _UPPER_SHORT, _UPPER_CUSP)
    cover = np.clip((edge - hy) * k / 0.9 + 0.5, 0, 1) * np.clip(arch.inside * k + 0.5, 0, 1)
    v = np.clip((hy - gum_line) / style.upper_height, 0, 1)  # 0 at the gum, 1 at the incisal edge
    cervical = np.clip(1.0 - v / 0.35, 0, 1)
    incisal = np.clip((v - 0.8) / 0.2, 0, 1)
    col = _teeth_colour(style, shade, cervical, incisal)
    # wet enamel mirrors the frontal key light: a broad, faint sheen across the central incisors
    sheen = np.clip(1.0 - (arch.lateral / 0.22) ** 2 - ((v - 0.45) / 0.35) ** 2, 0, 1)
    _mix(col, np.broadcast_to(np.float32(255.0), col.shape), 0.12 * sheen * sheen)
    margin = gum_line + _scallop(teeth, _UPPER_PAPILLA)  # the papillae reach down between crowns
    _gum(col, style, margin - hy, gum_line - hy, k)
    return _Layer(sel, cover, col * _turning(arch, k)[:, None])


def _lower_teeth(style: MouthStyle, lx: np.ndarray, ly: np.ndarray, k: float, sin_yaw: float) -> _Layer:
    """Lower teeth and gum in the jaw frame (IPD, incisal edge at y=0), shaded by the upper row.
    The gum shows below the crowns only when the lower lip is pulled down (AU16)."""
    arch = _arch(lx, sin_yaw)
    base = -0.12 * arch.lateral ** 2
    gum_line = base + style.lower_height  # gingival zeniths
    # the incisal profile only lowers the edge: the common edge bounds the pixels worth shading
    bottom = gum_line + _LOWER_GUM - ly
    reach = np.minimum(np.minimum(ly - base, bottom), arch.inside)
    sel = np.flatnonzero(reach * k > -0.5)
    arch = arch.take(sel)
    ly, base, gum_line, bottom = ly[sel], base[sel], gum_line[sel], bottom[sel]
    teeth = _teeth_at(arch, _LOWER_BOUNDS, k)
    neck = np.clip((ly - base) / (0.5 * style.lower_height) - 1.0, 0, 1)
    shade = _teeth_row(arch.side, teeth, neck)
    edge = base + _incisal_profile(teeth, _LOWER_SHORT, _LOWER_CUSP)
    cover = np.clip((ly - edge) * k / 0.9 + 0.5, 0, 1) * np.clip(bottom * k + 0.5, 0, 1)
    cover *= np.clip(arch.inside * k + 0.5, 0, 1)
    v = np.clip((ly - edge) / style.lower_height, 0, 1)  # 0 at the incisal edge, 1 at the gum
    cervical = np.clip((v - 0.6) / 0.4, 0, 1)
    incisal = np.clip(1.0 - v / 0.18, 0, 1)
    col = _teeth_colour(style, shade, cervical, incisal)
    margin = gum_line - _scallop(teeth, _LOWER_PAPILLA)  # the papillae reach up between crowns
    _gum(col, style, ly - margin, ly - gum_line, k)
    return _Layer(sel, cover, col * (_LOWER_ROW * _turning(arch, k)[:, None]))


def _frame(px: np.ndarray, py: np.ndarray, origin: np.ndarray, R: np.ndarray,
           k: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates -> head frame (x right, y down) in IPD units about ``origin``."""
    qx, qy = px - np.float32(origin[0]), py - np.float32(origin[1])
    r = (R / k).astype(np.float32)
    return qx * r[0, 0] + qy * r[1, 0], qx * r[0, 1] + qy * r[1, 1]


def render_mouth(
    out: np.ndarray,
    inner_upper: np.ndarray,
    inner_lower: np.ndarray,
    head: Similarity,
    upper_anchor_src: np.ndarray,
    jaw_shift: np.ndarray,
    ipd: float,
    style: MouthStyle,
    strength: float,
    sin_yaw: float = 0.0,
    blur: float = 0.0,
) -> None:
    """Composite the interior into ``out`` (H, W, 3) uint8 in place, inside the target inner lips.

    inner_upper, inner_lower: (11, 2) target inner lip chains (pixels, corner to corner).
    head: the head's rigid motion source -> target. upper_anchor_src: (2,) source point on the
    lips' contact line at rest (the upper incisal edge hangs just below it). jaw_shift: (2,) target
    displacement of the chin from its resting place beyond the rigid motion (carries lower teeth
    and tongue).
    ipd: source interpupillary distance (pixels; the true one on a turned face, not its projection).
    strength: 0..1 global opacity. sin_yaw: sine of the head's yaw in the target (> 0 when the
    image-right half of the face turns away from the camera): the arch is seen turned (see _arch).
    blur: Gaussian sigma (pixels) the interior is blurred by, edge included, to match the photo's
    focus (focus.added_blur).
    """
    if strength <= 0:
        return
    H, W = out.shape[:2]
    pts = np.concatenate([inner_upper, inner_lower])
    x0, y0 = np.floor(pts.min(0)).astype(int) - 1
    x1, y1 = np.ceil(pts.max(0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if x1 <= x0 or y1 <= y0:
        return
    # feather ~1 px: the lips' inner edge is anti-aliased like the rest of the (bilinear) warp
    op = _opening(np.asarray(inner_upper, np.float64), np.asarray(inner_lower, np.float64), (x0, y0, x1, y1), 1.0)
    if op is None:
        return
    k = head.scale * ipd  # target pixels per IPD
    px, py = op.xs.astype(np.float32), op.ys.astype(np.float32)
    anchor = head.apply(upper_anchor_src[None])[0]
    Rt = head.R
    hx, hy = _frame(px, py, anchor, Rt, k)
    # lower incisal edge: carried by the jaw, but kept 0.03-0.09 IPD above the lower lip's inner
    # edge (the lower lip covers most of the lower teeth unless pulled down), and never lower than
    # the jaw lets it: without a jaw drop the rows overlap by the overbite, parted teeth being a
    # jaw drop (FACS codes them AU26). A lower lip pulled down (AU16) bares the lower teeth;
    # following the lip, they dropped 0.14 IPD and left a dark band (on grace_hopper a dashed
    # sliver under the upper lateral incisors and canines, shorter than the centrals)
    down = Rt[:, 1]
    mid = len(inner_lower) // 2
    lip_v = float((inner_lower[mid] - anchor) @ down) / k
    jaw_v = float(jaw_shift @ down) / k
    edge_v = float(np.clip(jaw_v - style.lower_show, lip_v - 0.09, lip_v - 0.03))
    edge_v = min(edge_v, jaw_v + style.upper_drop - style.overbite)
    lx, ly = _frame(px, py, anchor + jaw_shift + (edge_v - jaw_v) * k * down, Rt, k)
    open_ipd = float(np.linalg.norm(inner_lower[mid] - inner_upper[mid])) / k

    col = _cavity(style, op)
    # back to front: tongue, lower teeth, upper teeth (they overlap the lower row's edge)
    layers = (_tongue(style, lx, ly, k, open_ipd), _lower_teeth(style, lx, ly, k, sin_yaw),
              _upper_teeth(style, hx, hy, k, sin_yaw))
    for layer in layers:
        col[layer.sel] += (layer.col - col[layer.sel]) * layer.cover[:, None]
    light = _light(op, k)[:, None]
    # shadowed parts are lit by light bounced off lips, cheeks and tongue: shadows turn warm
    col *= light * (1.0 - (1.0 - light) * _SHADOW_WARMTH)
    FO.composite(out, op.ys, op.xs, col, op.alpha * np.float32(strength), blur)


def draw_lip_contact(out: np.ndarray, inner_upper: np.ndarray, inner_lower: np.ndarray, lip: np.ndarray,
                     ipd: float, strength: float, blur: float = 0.0) -> None:
    """Soft dark line where closed lips meet (the stomion line), in place on ``out``.

    inner_upper/inner_lower: (11, 2) target inner-lip chains; lip: (3,) lip colour; ipd: target
    interpupillary distance (pixels). Fades out as the lips part (gap > 1.5 px). blur: Gaussian
    sigma (pixels) the line is blurred by to match the photo's focus (focus.added_blur).
    """
    if strength <= 0:
        return
    H, W = out.shape[:2]
    mid = (inner_upper + inner_lower) / 2.0
    pts = np.concatenate([inner_upper, inner_lower])
    r = int(np.ceil(3.0 * blur)) if blur >= FO.MIN_BLUR else 0
    x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int) - 3 - r, 0)
    x1, y1 = np.minimum(np.ceil(pts.max(0)).astype(int) + 4 + r, [W, H])
    if x1 <= x0 or y1 <= y0:
        return
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    # the line thins and fades over the outer LIP_CONTACT_TAPER of each half toward the corners,
    # where the lips' fold opens out into the commissure (a uniform stroke to the very corner, and
    # down it when the corners drop, reads drawn)
    axis = mid[-1] - mid[0]
    u = np.clip((mid - mid[0]) @ axis / max(float(axis @ axis), 1e-6), 0.0, 1.0)
    w_pt = smoothstep(np.minimum(u, 1.0 - u) / LIP_CONTACT_TAPER)
    half = max(LIP_CONTACT_HALF * ipd, LIP_CONTACT_MIN_HALF_PX) * (0.4 + 0.6 * w_pt)[:, None]
    top = mid - np.array([0.0, 1.0]) * half
    bot = mid + np.array([0.0, 1.0]) * half
    top[0], top[-1], bot[0], bot[-1] = mid[0], mid[-1], mid[0], mid[-1]
    band, _, _, _ = between_chains_alpha(top, bot, px, py, feather=1.0)
    ru = ((px - mid[0, 0]) * axis[0] + (py - mid[0, 1]) * axis[1]) / max(float(axis @ axis), 1e-6)
    fade = smoothstep(np.minimum(ru, 1.0 - ru) / LIP_CONTACT_TAPER)
    gap = float(np.max(np.linalg.norm(inner_lower - inner_upper, axis=1)))
    a = FO.soft_mask(band * fade * np.float32(LIP_CONTACT_ALPHA * strength * float(np.clip(1.0 - gap / 3.0, 0.0, 1.0))),
                     blur)[..., None]
    if float(a.max()) <= 0:
        return
    col = np.asarray(lip, np.float32) * LIP_CONTACT_SHADE
    region = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(region * (1 - a) + col * a + 0.5, 0, 255).astype(np.uint8)
