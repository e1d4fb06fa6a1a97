"""Procedural mouth interior: cavity, upper and lower teeth, tongue; shaded from portrait colours.

The interior is a pure function of the target landmarks and the head's rigid motion (no random
numbers), so every frame with the same landmarks gets the same pixels. Upper teeth hang from the
skull (they follow the head's rigid motion, not the upper lip); lower teeth and tongue follow the
jaw (the chin's displacement). The lips occlude both: the layer is visible only inside the target's
inner lip ring. Tooth proportions from average adult dental widths (central incisor ~8.5 mm,
lateral ~6.5 mm, canine ~7.5 mm; interpupillary distance ~63 mm), projected on a circular arch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from thinkdraw.render.geometry import Similarity, between_chains_alpha

# Cumulative tooth boundaries along the dental arch from the midline, in interpupillary distances.
_UPPER_BOUNDS = np.array([0.0, 0.135, 0.238, 0.357, 0.47, 0.58, 0.70, 0.85, 1.0], dtype=np.float32)
_LOWER_BOUNDS = np.array([0.0, 0.085, 0.18, 0.29, 0.40, 0.51, 0.64, 0.80, 1.0], dtype=np.float32)
_ARCH_RADIUS = 0.42
"""Dental arch radius in interpupillary distances (projection foreshortens side teeth)."""


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


def make_style(skin: np.ndarray, lip: np.ndarray, sclera: np.ndarray | None) -> MouthStyle:
    """Mouth colours from the portrait's skin, lip and sclera colours (RGB 0-255)."""
    skin = np.asarray(skin, np.float32)
    lip = np.asarray(lip, np.float32)
    if sclera is None:
        bright = np.full(3, min(255.0, float(skin.mean()) * 1.3), np.float32)
    else:
        bright = np.asarray(sclera, np.float32)
    # brightness from the portrait's whites (sclera), never darker than slightly above the skin;
    # hue fixed to a warm off-white so coloured casts of the sclera estimate do not tint the teeth
    luma = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601 luma weights
    skin_lum = float(skin @ luma)
    lum = float(np.clip(max(float(bright @ luma), 1.3 * skin_lum), 60.0, 240.0))
    # hue: the photo's colour cast (skin chroma, damped) on a slightly warm white, so teeth sit in
    # the same light as the face instead of looking cyan beside orange skin
    cast = np.clip(skin / max(skin_lum, 1.0), 0.2, 3.0) ** 0.45
    tint = (cast * np.array([1.0, 0.98, 0.94])).astype(np.float32)
    teeth = np.clip(lum / float(tint @ luma) * tint, 0, 255)
    gum = np.clip(0.7 * lip + 0.3 * np.array([200.0, 90.0, 100.0]), 0, 255)
    tongue = np.clip(0.75 * lip + 0.25 * np.array([190.0, 80.0, 90.0]), 0, 255) * 0.92
    cavity = np.clip(0.3 * lip * np.array([1.0, 0.6, 0.6]), 0, 255) + np.array([8.0, 2.0, 3.0])
    return MouthStyle(teeth.astype(np.float32), gum.astype(np.float32), tongue.astype(np.float32), cavity.astype(np.float32))


def _teeth_row(x: np.ndarray, bounds: np.ndarray, width_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel (tooth-gap shading, incisal-edge rounding in IPD) for arch coordinate ``x`` (IPD)."""
    s = _ARCH_RADIUS * np.arcsin(np.clip(np.abs(x) / _ARCH_RADIUS, 0, 1))
    k = np.clip(np.searchsorted(bounds, s, side="right") - 1, 0, len(bounds) - 2)
    lo, hi = bounds[k], bounds[k + 1]
    t = (s - lo) / (hi - lo)
    # projected distance to the nearest gap, in pixels (foreshortened by the arch)
    fore = np.sqrt(np.clip(1 - (x / _ARCH_RADIUS) ** 2, 0.05, 1))
    gap_px = np.minimum(t, 1 - t) * (hi - lo) * width_px * fore
    gap_shade = 1.0 - 0.2 * np.exp(-((gap_px / 0.5) ** 2))
    rounding = 0.008 * (2 * t - 1) ** 6 * (1.0 + 0.3 * k)
    return gap_shade.astype(np.float32), rounding.astype(np.float32)


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
) -> None:
    """Composite the interior into ``out`` (H, W, 3) uint8 in place, inside the target inner lips.

    inner_upper, inner_lower: (11, 2) target inner lip chains (pixels, corner to corner).
    head: the head's rigid motion source -> target. upper_anchor_src: (2,) source point on the
    lips' contact line at rest (the upper incisal edge hangs just below it). jaw_shift: (2,) target
    displacement of the chin beyond the rigid motion (carries lower teeth and tongue).
    ipd: source interpupillary distance (pixels). strength: 0..1 global opacity.
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
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    alpha, below_up, above_low, gap = between_chains_alpha(inner_upper, inner_lower, px, py, feather=0.8)
    if float(alpha.max()) <= 0.0:
        return
    k = head.scale * ipd  # target pixels per IPD
    # teeth coordinates: head frame (x right, y down), IPD units, origin at the upper incisal edge
    anchor = head.apply(upper_anchor_src[None])[0]
    qx, qy = px - anchor[0], py - anchor[1]
    Rt = head.R
    hx = (qx * Rt[0, 0] + qy * Rt[1, 0]) / k
    hy = (qx * Rt[0, 1] + qy * Rt[1, 1]) / k
    # lower incisal edge: carried by the jaw, but kept 0.03-0.09 IPD above the lower lip's inner
    # edge (the lower lip covers most of the lower teeth unless pulled down)
    down = Rt[:, 1]
    lip_v = float((inner_lower[len(inner_lower) // 2] - anchor) @ down) / k
    jaw_v = float(jaw_shift @ down) / k
    edge_v = float(np.clip(jaw_v - style.lower_show, lip_v - 0.09, lip_v - 0.03))
    lower_anchor = anchor + jaw_shift + (edge_v + style.lower_show - jaw_v) * k * down
    lx = ((px - lower_anchor[0]) * Rt[0, 0] + (py - lower_anchor[1]) * Rt[1, 0]) / k
    ly = ((px - lower_anchor[0]) * Rt[0, 1] + (py - lower_anchor[1]) * Rt[1, 1]) / k

    col = np.empty(px.shape + (3,), np.float32)
    # cavity: darkest at the back centre
    depth = np.clip(1.0 - (hx / 0.35) ** 2, 0, 1)
    col[:] = style.cavity * (1.0 - 0.35 * depth)[..., None]
    # tongue (follows the jaw), rounded top, darker toward the back
    t_top = -style.lower_show - 0.075 + 0.9 * lx**2
    tongue = np.clip((ly - t_top) * k / 1.2, 0, 1)
    t_shade = 0.55 + 0.45 * np.clip((ly - t_top) / 0.08, 0, 1)
    col = col * (1 - tongue[..., None]) + (style.tongue * t_shade[..., None]) * tongue[..., None]
    # lower teeth: from their incisal edge downward
    lgap, lround = _teeth_row(lx, _LOWER_BOUNDS, k)
    l_edge = -style.lower_show - 0.12 * lx**2 + lround
    lower = np.clip((ly - l_edge) * k / 0.9 + 0.5, 0, 1) * np.clip((l_edge + style.lower_height - ly) * k + 0.5, 0, 1)
    lower *= np.abs(lx) < _ARCH_RADIUS * 0.98
    l_shade = lgap * (0.35 + 0.6 * np.clip(1 - (lx / _ARCH_RADIUS) ** 2, 0, 1) ** 0.7)
    col = col * (1 - lower[..., None]) + (style.teeth * (0.92 * l_shade)[..., None]) * lower[..., None]
    # upper teeth: from the gum line down to the incisal edge (hang from the skull)
    ugap, uround = _teeth_row(hx, _UPPER_BOUNDS, k)
    u_edge = style.upper_drop - 0.18 * hx**2 - uround
    gum_line = u_edge - style.upper_height
    upper = np.clip((u_edge - hy) * k / 0.9 + 0.5, 0, 1) * (np.abs(hx) < _ARCH_RADIUS * 0.98)
    gum = np.clip((gum_line - hy) * k / 0.9 + 0.5, 0, 1) * upper
    u_shade = ugap * (0.45 + 0.6 * np.clip(1 - (hx / _ARCH_RADIUS) ** 2, 0, 1) ** 0.7)
    u_shade *= 1.0 - 0.08 * np.clip((hy - (u_edge - 0.03)) / 0.03, 0, 1)  # translucent incisal edge
    tooth_col = style.teeth * u_shade[..., None]
    tooth_col = tooth_col * (1 - gum[..., None]) + style.gum * gum[..., None]
    col = col * (1 - upper[..., None]) + tooth_col * upper[..., None]
    # contact shadow under the lips (ambient occlusion), wider when the mouth is more open
    occl = np.clip(np.minimum(below_up, above_low) / max(0.035 * k, 0.8), 0, 1)
    col *= (0.78 + 0.22 * occl)[..., None]
    a = (alpha * np.float32(strength))[..., None]
    region = out[y0:y1, x0:x1]
    region[:] = np.clip(region * (1 - a) + col * a + 0.5, 0, 255).astype(np.uint8)


def draw_lip_contact(out: np.ndarray, inner_upper: np.ndarray, inner_lower: np.ndarray, lip: np.ndarray,
                     ipd: float, strength: float) -> None:
    """Soft dark line where closed lips meet (the stomion line), in place on ``out``.

    inner_upper/inner_lower: (11, 2) target inner-lip chains; lip: (3,) lip colour; ipd: target
    interpupillary distance (pixels). Fades out as the lips part (gap > 1.5 px).
    """
    if strength <= 0:
        return
    H, W = out.shape[:2]
    mid = (inner_upper + inner_lower) / 2.0
    pts = np.concatenate([inner_upper, inner_lower])
    x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int) - 3, 0)
    x1, y1 = np.minimum(np.ceil(pts.max(0)).astype(int) + 4, [W, H])
    if x1 <= x0 or y1 <= y0:
        return
    py, px = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    half = max(0.012 * ipd, 0.6)
    top = mid - np.array([0.0, half])
    bot = mid + np.array([0.0, half])
    top[0], top[-1], bot[0], bot[-1] = mid[0], mid[-1], mid[0], mid[-1]
    band, _, _, _ = between_chains_alpha(top, bot, px, py, feather=1.0)
    gap = float(np.max(np.linalg.norm(inner_lower - inner_upper, axis=1)))
    a = (band * (0.55 * strength * float(np.clip(1.0 - gap / 3.0, 0.0, 1.0))))[..., None]
    if float(a.max()) <= 0:
        return
    col = np.asarray(lip, np.float32) * np.array([0.55, 0.36, 0.38], np.float32)
    region = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(region * (1 - a) + col * a + 0.5, 0, 255).astype(np.uint8)
