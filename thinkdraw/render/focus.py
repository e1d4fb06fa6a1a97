"""The photo's focus, so the parts the renderer draws are no sharper than the photo round them.

The mouth interior is drawn with ~1 px anti-aliased edges. On a soft photo (a phone snapshot, a
JPEG scaled up, a face out of the focal plane) crisp drawn teeth and a crisp cavity edge inside
blurred lips read pasted on, and the relit corners of a narrowed mouth (mouth.corridor_relight)
end on a sharp dark rim. Compositing's rule is to match the plate: measure how blurred the photo's
own edges are, and blur what is drawn by the difference.

Estimator: Zhuo & Sim, "Defocus map estimation from a single image", Pattern Recognition 44(9),
2011. A step edge blurred by a Gaussian of sigma s has a gradient peak proportional to 1/s; blurred
again by sigma0 its peak falls to 1/sqrt(s^2 + sigma0^2). So at an edge the ratio of the two
gradient magnitudes R gives s = sigma0 / sqrt(R^2 - 1) (their eq. 6). We take the median over the
strong edges round the eyes, brows and lips: lashes, iris rims, brow hairs and the lips' borders.
"""

from __future__ import annotations

import cv2
import numpy as np

from thinkdraw.face import mesh as M

RESAMPLE_SIGMA = 0.8
"""What the estimator reads on an edge drawn as this renderer draws it (a step anti-aliased over
1 px): 0.74 px on an ideal step (the 3 x 3 Sobel's own smoothing and the pixel grid), a 1-px ramp
adding ~0.29 in quadrature. A photo reading this or less is as sharp as the drawn parts."""
_SIGMA0 = 1.0
"""The re-blur (pixels) of the estimator."""
_MIN_EDGES = 100
"""Fewer strong edge pixels than this (a tiny or featureless face) give no estimate: no blur."""
_MAX_SIGMA = 8.0
"""Readings are clipped here (pixels): a ratio near 1 is noise, not an edge blurred without bound."""
_PAD_IPD = 0.12
"""Margin (interpupillary distances) round each landmark group's box."""
_CANNY_HIGH = 100.0
"""Canny's upper hysteresis threshold (3 x 3 Sobel of 0-255 grey levels) for the edges measured, the
lower one 0.4 of it. A blurred photo's steepest gradients fall as 1/sigma, so the threshold falls
to half the window's 99th percentile of gradient where that is lower (at 40 / 100 fixed, a sharp
photo blurred by sigma 4 had too few edges left and read as sharp)."""


EYES_AND_LIPS: tuple[tuple[int, ...], ...] = (M.RIGHT_EYE + M.RIGHT_BROW, M.LEFT_EYE + M.LEFT_BROW, M.LIPS_OUTER)
"""Landmark groups whose boxes the photo's focus is read in: each eye with its brow, and the lips."""


def _windows(lm: np.ndarray, ipd: float, shape: tuple[int, int],
             groups: tuple[tuple[int, ...], ...]) -> list[tuple[slice, slice]]:
    """Boxes round each landmark group, padded by _PAD_IPD and clipped to the image."""
    pad = _PAD_IPD * ipd
    h, w = shape
    out = []
    for ids in groups:
        p = lm[list(ids), :2]
        x0, y0 = np.maximum(np.floor(p.min(0) - pad).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(p.max(0) + pad).astype(int), (w, h))
        if x1 - x0 >= 8 and y1 - y0 >= 8:
            out.append((slice(y0, y1), slice(x0, x1)))
    return out


def _gradient(g: np.ndarray) -> np.ndarray:
    return cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))


def _edge_sigmas(grey: np.ndarray) -> np.ndarray:
    """Blur readings (pixels) at the strong edges of ``grey`` (h, w) uint8: Canny's edge pixels
    with a gradient at least their median (the stronger half: weak edges are mostly noise)."""
    g = grey.astype(np.float32)
    m0 = _gradient(g)
    high = min(_CANNY_HIGH, 0.5 * float(np.percentile(m0, 99)))
    edges = cv2.Canny(grey, 0.4 * high, high) > 0
    if not edges.any():
        return np.zeros(0, np.float32)
    m1 = _gradient(cv2.GaussianBlur(g, (0, 0), _SIGMA0))
    strong = edges & (m0 >= np.median(m0[edges]))
    r = m0[strong] / np.maximum(m1[strong], 1e-3)
    r = r[r > 1.0]
    return np.minimum(_SIGMA0 / np.sqrt(r * r - 1.0), _MAX_SIGMA)


def photo_blur(image: np.ndarray, landmarks: np.ndarray, ipd: float,
               groups: tuple[tuple[int, ...], ...] = EYES_AND_LIPS) -> float:
    """Gaussian sigma (pixels) of the photo's edges round the eyes and lips (``groups``): the median
    of the readings at their strong edges; RESAMPLE_SIGMA where fewer than _MIN_EDGES were found.
    image: (H, W, 3) uint8 RGB; landmarks: (478, 2|3) pixels; ipd: interpupillary distance (pixels)."""
    img = np.asarray(image)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
    readings = [_edge_sigmas(np.ascontiguousarray(grey[win])) for win in _windows(np.asarray(landmarks), ipd, grey.shape[:2], groups)]
    sig = np.concatenate(readings) if readings else np.zeros(0, np.float32)
    if sig.size < _MIN_EDGES:
        return RESAMPLE_SIGMA
    return float(np.median(sig))


def added_blur(photo_sigma: float, scale: float = 1.0) -> float:
    """Gaussian sigma (target pixels) to blur a drawn part by so its edges read like the photo's,
    where the face is drawn ``scale`` times its size in the photo: what the photo's blur has beyond
    the drawn edges' own, in quadrature (Gaussian blurs add as variances)."""
    s = photo_sigma * scale
    return float(np.sqrt(max(s * s - RESAMPLE_SIGMA * RESAMPLE_SIGMA, 0.0)))


MIN_BLUR = 0.3
"""Added blurs below this (pixels) are not applied: the drawn parts composite exactly as drawn."""


def soft_mask(mask: np.ndarray, blur: float) -> np.ndarray:
    """``mask`` (h, w) float32 coverage blurred by ``blur`` pixels (returned as is below MIN_BLUR).
    The caller leaves a margin of ~3 blur round what it covers."""
    if blur < MIN_BLUR:
        return mask
    return cv2.GaussianBlur(mask, (0, 0), blur, borderType=cv2.BORDER_CONSTANT)


def composite(out: np.ndarray, ys: np.ndarray, xs: np.ndarray, colour: np.ndarray, alpha: np.ndarray,
              blur: float) -> None:
    """In place on ``out`` (H, W, 3) uint8: paint ``colour`` (N, 3) float with coverage ``alpha``
    (N,) at pixels (``ys``, ``xs``) (N,), the layer blurred by ``blur`` pixels as a photo's lens would
    have blurred it: colour and coverage blurred together (premultiplied), so the layer's edge
    spreads over what lies round it and nothing outside the layer leaks in."""
    if len(ys) == 0:
        return
    if blur < MIN_BLUR:
        dst = out[ys, xs]
        out[ys, xs] = np.clip(dst + (colour - dst) * alpha[:, None] + 0.5, 0, 255).astype(np.uint8)
        return
    H, W = out.shape[:2]
    r = int(np.ceil(3.0 * blur))
    y0, x0 = max(int(ys.min()) - r, 0), max(int(xs.min()) - r, 0)
    y1, x1 = min(int(ys.max()) + r + 1, H), min(int(xs.max()) + r + 1, W)
    cover = np.zeros((y1 - y0, x1 - x0), np.float32)
    paint = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    cover[ys - y0, xs - x0] = alpha
    paint[ys - y0, xs - x0] = colour * alpha[:, None]
    cover, paint = soft_mask(cover, blur), soft_mask(paint, blur)
    dst = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(dst * (1.0 - cover[..., None]) + paint + 0.5, 0, 255).astype(np.uint8)
